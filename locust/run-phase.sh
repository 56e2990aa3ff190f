#!/usr/bin/env bash
# Runs one Locust phase with the spec's numbers, overridable by env:
#   run-phase.sh collect              agent -> $RECORDS_FILE
#   run-phase.sh replay               $RECORDS_FILE -> ingress, one process
#   run-phase.sh replay-distributed   the same with a master and $LOCUST_WORKERS workers
# Expects scripts/env.sh to be sourced (the Makefile and scripts/stack.sh do).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
LOCUST="$PWD/.venv/bin/locust"
[[ -x "$LOCUST" ]] || { echo "run-phase.sh: $LOCUST missing; run: make -C locust deps" >&2; exit 1; }
: "${RUN_DIR:?source scripts/env.sh first}"

RECORDS_FILE="${RECORDS_FILE:-$RUN_DIR/records.json}"
STATS_DIR="${LOCUST_STATS_DIR:-$RUN_DIR/locust}"
mkdir -p "$STATS_DIR"
common=(--headless --only-summary --loglevel "${LOCUST_LOGLEVEL:-INFO}" --records-file "$RECORDS_FILE")

case "${1:-}" in
  collect)
    exec "$LOCUST" -f collect.py "${common[@]}" \
      --host "${AGENT_URL:-http://127.0.0.1:$AGENT_PORT}" \
      --users "${COLLECT_USERS:-300}" --spawn-rate "${COLLECT_RATE:-1}" --run-time "${COLLECT_TIME:-3m}" \
      --max-records "${COLLECT_MAX_RECORDS:-0}" --csv "$STATS_DIR/collect"
    ;;
  replay | replay-distributed)
    replay=("${common[@]}" -f replay.py
      --host "${INGRESS_URL:-http://127.0.0.1:$INGRESS_PORT}"
      --users "${REPLAY_USERS:-150}" --spawn-rate "${REPLAY_RATE:-1}"
      # A safety net only: the replay stops by itself once every record is sent.
      --run-time "${REPLAY_TIME_LIMIT:-1h}"
      --summary-file "${REPLAY_SUMMARY:-$RUN_DIR/replay-summary.json}" --csv "$STATS_DIR/replay")
    if [[ "$1" == replay ]]; then
      exec "$LOCUST" "${replay[@]}"
    fi
    workers="${LOCUST_WORKERS:-2}"
    master_port="${LOCUST_MASTER_PORT:-5557}"
    worker_pids=()
    stop_workers() {
      for pid in "${worker_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
      for pid in "${worker_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    }
    trap stop_workers EXIT
    for i in $(seq 1 "$workers"); do
      "$LOCUST" -f replay.py --worker --master-host 127.0.0.1 --master-port "$master_port" \
        --loglevel "${LOCUST_LOGLEVEL:-INFO}" >"$STATS_DIR/worker-$i.log" 2>&1 &
      worker_pids+=("$!")
    done
    "$LOCUST" "${replay[@]}" --master --master-bind-host 127.0.0.1 --master-bind-port "$master_port" \
      --expect-workers "$workers" --expect-workers-max-wait 60
    ;;
  *)
    echo "usage: $0 collect|replay|replay-distributed" >&2
    exit 2
    ;;
esac
