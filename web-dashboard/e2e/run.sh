#!/usr/bin/env bash
# End-to-end, under scripts/with-test-mariadb.sh (the Makefile's test-e2e, which
# starts and stops a private MariaDB with an empty table): the real ws-server, the built dashboard served
# by `make run` twice (once with WS_URL: the browser connects to ws-server
# directly; once with WS_UPSTREAM: the dashboard proxies /socket.io/), and
# Debian's chromium driven by playwright-core. Every process started here is
# stopped on exit, also on failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$here/../scripts/env.sh"

[[ -n "${MARIADB_DIR:-}" ]] || { echo "e2e: run through make test-e2e (scripts/with-test-mariadb.sh)" >&2; exit 2; }
export WS_E2E_PORT="${WS_E2E_PORT:-18190}" DASHBOARD_E2E_PORT="${DASHBOARD_E2E_PORT:-18188}"
export DASHBOARD_PROXY_E2E_PORT="${DASHBOARD_PROXY_E2E_PORT:-18189}"
# The routes' /metrics stand-in (e2e/routeMetricsFixture.mjs, started by the comparison test).
export ROUTE_METRICS_E2E_PORT="${ROUTE_METRICS_E2E_PORT:-18501}"
export ROUTECOMPARE="$PROJECT_ROOT/go-agent/bin/routecompare"
export E2E_ARTIFACTS="$RUN_DIR/artifacts"
export E2E_LOGS="$RUN_DIR/test-dashboard-logs"
logs="$E2E_LOGS"
mkdir -p "$E2E_ARTIFACTS" "$logs"

[[ -f "$PROJECT_ROOT/ws-server/Makefile" ]] || { echo "e2e: ws-server/ is missing" >&2; exit 1; }
"$PROJECT_ROOT/scripts/ensure-packages.sh" chromium curl
# The comparison test checks the page against the real routecompare.
make -s -C "$PROJECT_ROOT/go-agent" routecompare

pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 ]]; then
    echo "e2e failed; server logs in $logs:" >&2
    tail -n 20 "$logs"/*.log >&2 || true
  fi
  exit "$status"
}
trap cleanup EXIT

# setsid: each server gets a process group of its own, stopped as a whole.
PORT="$WS_E2E_PORT" CORS_ORIGINS="http://127.0.0.1:$DASHBOARD_E2E_PORT,http://127.0.0.1:$DASHBOARD_PROXY_E2E_PORT" \
  ROUTE_METRICS_INTERVAL_MS=500 \
  ROUTE_METRICS_URLS="python=http://127.0.0.1:$ROUTE_METRICS_E2E_PORT/python/metrics,node=http://127.0.0.1:$ROUTE_METRICS_E2E_PORT/node/metrics" \
  setsid make -s -C "$PROJECT_ROOT/ws-server" run >"$logs/ws-server.log" 2>&1 &
pids+=($!)
PORT="$DASHBOARD_E2E_PORT" WS_URL="http://127.0.0.1:$WS_E2E_PORT" \
  setsid make -s -C "$here" run >"$logs/web-dashboard.log" 2>&1 &
pids+=($!)
PORT="$DASHBOARD_PROXY_E2E_PORT" WS_URL='' WS_UPSTREAM="http://127.0.0.1:$WS_E2E_PORT" \
  setsid make -s -C "$here" run >"$logs/web-dashboard-proxy.log" 2>&1 &
pids+=($!)

wait_for() {
  local url="$1"
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "e2e: a server exited before $url answered" >&2; return 1; }
    done
    sleep 0.1
  done
  echo "e2e: $url did not answer within 30 s" >&2
  return 1
}
wait_for "http://127.0.0.1:$WS_E2E_PORT/readyz"
wait_for "http://127.0.0.1:$DASHBOARD_E2E_PORT/healthz"
wait_for "http://127.0.0.1:$DASHBOARD_PROXY_E2E_PORT/healthz"

cd "$here"
node --test --test-concurrency=1 --test-timeout=60000 e2e/
