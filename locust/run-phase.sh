#!/usr/bin/env bash
# Runs one Locust phase with the spec's numbers, overridable by env:
#   run-phase.sh collect              agent -> $RECORDS_FILE, one process
#   run-phase.sh replay               $RECORDS_FILE -> ingress, one process
#   run-phase.sh collect-distributed  collect by a master and $LOCUST_WORKERS local workers
#   run-phase.sh replay-distributed   replay by a master and $LOCUST_WORKERS local workers
#   run-phase.sh worker PHASE...      one worker of each PHASE (collect, replay) in turn, for a
#                                     master on $LOCUST_MASTER_HOST:$LOCUST_MASTER_PORT (another machine)
# Distributed: the master listens on $LOCUST_MASTER_BIND_HOST (127.0.0.1; 0.0.0.0 or an
# address of this machine for workers elsewhere) port $LOCUST_MASTER_PORT (5557), and waits
# up to $LOCUST_EXPECT_WORKERS_MAX_WAIT s (60) for $LOCUST_EXPECT_WORKERS workers (default:
# $LOCUST_WORKERS; set it higher, or LOCUST_WORKERS=0, when workers run on other machines).
# Expects scripts/env.sh to be sourced (the Makefile and scripts/stack.sh do); a worker does not.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
LOCUST="$PWD/.venv/bin/locust"
[[ -x "$LOCUST" ]] || { echo "run-phase.sh: $LOCUST missing; run: make -C locust deps" >&2; exit 1; }
loglevel=(--loglevel "${LOCUST_LOGLEVEL:-INFO}")
master_port="${LOCUST_MASTER_PORT:-5557}"

# A worker of each phase given, one after the other: a worker exits when its master quits,
# and the next one waits (up to 5 minutes, Locust's own retries) for the next master.
if [[ "${1:-}" == worker ]]; then
  shift
  [[ $# -gt 0 ]] || { echo "usage: $0 worker collect|replay..." >&2; exit 2; }
  for phase in "$@"; do
    [[ "$phase" == collect || "$phase" == replay ]] || { echo "run-phase.sh: no phase $phase" >&2; exit 2; }
    echo "run-phase.sh: $phase worker for the master on ${LOCUST_MASTER_HOST:-127.0.0.1}:$master_port" >&2
    "$LOCUST" -f "$phase.py" --worker --master-host "${LOCUST_MASTER_HOST:-127.0.0.1}" \
      --master-port "$master_port" "${loglevel[@]}"
  done
  exit 0
fi

: "${RUN_DIR:?source scripts/env.sh first}"
RECORDS_FILE="${RECORDS_FILE:-$RUN_DIR/records.json}"
STATS_DIR="${LOCUST_STATS_DIR:-$RUN_DIR/locust}"
mkdir -p "$STATS_DIR"
common=(--headless --only-summary "${loglevel[@]}" --records-file "$RECORDS_FILE")

phase="${1:-}"
case "$phase" in
  collect | collect-distributed)
    file=collect.py
    args=("${common[@]}" -f collect.py
      --host "${AGENT_URL:-http://127.0.0.1:$AGENT_PORT}"
      --users "${COLLECT_USERS:-300}" --spawn-rate "${COLLECT_RATE:-1}" --run-time "${COLLECT_TIME:-3m}"
      --max-records "${COLLECT_MAX_RECORDS:-0}" --csv "$STATS_DIR/collect"
      --summary-file "${COLLECT_SUMMARY:-$RUN_DIR/collect-summary.json}")
    ;;
  replay | replay-distributed)
    file=replay.py
    args=("${common[@]}" -f replay.py
      --host "${INGRESS_URL:-http://127.0.0.1:$INGRESS_PORT}"
      --users "${REPLAY_USERS:-150}" --spawn-rate "${REPLAY_RATE:-1}"
      # A safety net only: the replay stops by itself once every record is sent.
      --run-time "${REPLAY_TIME_LIMIT:-1h}"
      --summary-file "${REPLAY_SUMMARY:-$RUN_DIR/replay-summary.json}" --csv "$STATS_DIR/replay")
    ;;
  *)
    echo "usage: $0 collect|replay|collect-distributed|replay-distributed|worker PHASE..." >&2
    exit 2
    ;;
esac

if [[ "$phase" != *-distributed ]]; then
  exec "$LOCUST" "${args[@]}"
fi

workers="${LOCUST_WORKERS:-2}"
expect="${LOCUST_EXPECT_WORKERS:-$workers}"
[[ "$expect" -ge 1 ]] || { echo "run-phase.sh: $phase needs at least one worker (LOCUST_WORKERS or LOCUST_EXPECT_WORKERS)" >&2; exit 2; }
worker_pids=()
stop_workers() {
  for pid in "${worker_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${worker_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_workers EXIT
bind_host="${LOCUST_MASTER_BIND_HOST:-127.0.0.1}"
# The local workers reach the master where it listens (any interface: the loopback one).
local_master="$bind_host"
[[ "$bind_host" == 0.0.0.0 || "$bind_host" == "*" || "$bind_host" == "::" ]] && local_master=127.0.0.1
for i in $(seq 1 "$workers"); do
  "$LOCUST" -f "$file" --worker --master-host "$local_master" --master-port "$master_port" \
    "${loglevel[@]}" >"$STATS_DIR/${phase%-distributed}-worker-$i.log" 2>&1 &
  worker_pids+=("$!")
done
echo "run-phase.sh: $phase master on $bind_host:$master_port, waiting for $expect workers ($workers local)" >&2
"$LOCUST" "${args[@]}" --master --master-bind-host "$bind_host" --master-bind-port "$master_port" \
  --expect-workers "$expect" --expect-workers-max-wait "${LOCUST_EXPECT_WORKERS_MAX_WAIT:-60}"
