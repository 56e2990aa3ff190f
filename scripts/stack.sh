#!/usr/bin/env bash
# The local stack: every service as a plain process, started and stopped by PID.
#
#   scripts/stack.sh up       start what is not running, in order, each waited
#                             for until ready: MariaDB, agent, route 1, route 2,
#                             nginx (the ingress and 50/50 split), ws-server,
#                             dashboard; then print the URLs. Idempotent.
#   scripts/stack.sh load     the main job on a running stack: Locust collect,
#                             Locust replay, the summary (locust/summary.py),
#                             then go-agent's routecompare (table + SVG chart)
#   scripts/stack.sh load-through URL ROUTES
#                             the same job with only the agent started, replayed
#                             to URL, the routes compared from ROUTES
#                             (python=METRICS_URL,node=METRICS_URL)
#   scripts/stack.sh down     stop every process `up` started (whole process
#                             groups, by PID); MariaDB keeps its data
#   scripts/stack.sh status   what runs, by PID; exit 1 when something is down
#   scripts/stack.sh urls     print the URLs
#   scripts/stack.sh start|stop NAME   one service (agent, route1, route2,
#                             ingress, ws, dashboard), e.g. to cut a route
#
# State lives in $RUN_DIR/stack/: <name>.pid ("PID START_TIME", so a reused PID
# is never mistaken for ours), <name>.log, and nginx's generated config.
# Configured by .env (scripts/env.sh): the *_PORT variables, DB_*, CARNET, and
# STACK_READY_TIMEOUT (seconds per service, default 300: a first start may
# install dependencies). Load: COLLECT_USERS, COLLECT_RATE, COLLECT_TIME,
# COLLECT_MAX_RECORDS, REPLAY_USERS, REPLAY_RATE, RECORDS_FILE, LOCUST_WORKERS (>0:
# both phases distributed, a master and that many local workers), LOCUST_EXPECT_WORKERS
# (>0: distributed, the master waits for that many workers, some started elsewhere),
# LOCUST_MASTER_BIND_HOST, LOCUST_MASTER_PORT (see locust/run-phase.sh).
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

STACK_DIR="$RUN_DIR/stack"
READY_TIMEOUT="${STACK_READY_TIMEOUT:-300}"
SERVICES=(agent route1 route2 ingress ws dashboard)
mkdir -p "$STACK_DIR"

die() { echo "stack.sh: $*" >&2; exit 1; }

# What each service is: its command, environment and readiness URL.
service_port() {
  case "$1" in
    agent) echo "$AGENT_PORT" ;; route1) echo "$ROUTE1_PORT" ;; route2) echo "$ROUTE2_PORT" ;;
    ingress) echo "$INGRESS_PORT" ;; ws) echo "$WS_PORT" ;; dashboard) echo "$DASHBOARD_PORT" ;;
  esac
}

ready_url() {
  local port
  port="$(service_port "$1")"
  case "$1" in
    ingress) echo "http://127.0.0.1:$port/ingress/healthz" ;;
    dashboard) echo "http://127.0.0.1:$port/healthz" ;;
    *) echo "http://127.0.0.1:$port/readyz" ;;
  esac
}

db_env=(DB_HOST=127.0.0.1 "DB_PORT=$DB_PORT" "DB_USER=$DB_USER" "DB_PASSWORD=$DB_PASSWORD" "DB_NAME=$DB_NAME")

# Sets SERVICE_ENV, the service's environment (exported before it starts, never on its
# command line, where `ps` would show the passwords), and COMMAND, its command line.
service_command() {
  local make=(make --no-print-directory -C)
  case "$1" in
    agent) SERVICE_ENV=("AGENT_ADDR=127.0.0.1:$AGENT_PORT" "AGENT_CARNET=$CARNET")
      COMMAND=("${make[@]}" "$PROJECT_ROOT/go-agent" run) ;;
    route1) SERVICE_ENV=("PORT=$ROUTE1_PORT" "${db_env[@]}") COMMAND=("${make[@]}" "$PROJECT_ROOT/route1-python" run) ;;
    route2) SERVICE_ENV=("PORT=$ROUTE2_PORT" "${db_env[@]}") COMMAND=("${make[@]}" "$PROJECT_ROOT/route2-node" run) ;;
    ingress) SERVICE_ENV=()
      COMMAND=(nginx -p "$STACK_DIR/nginx" -c "$STACK_DIR/nginx/nginx.conf" -e "$STACK_DIR/nginx/error.log") ;;
    # ws-server only reads: its own user, SELECT only. ROUTE_METRICS_URLS: the page's
    # route comparison, from both routes' /metrics, as routecompare reads them.
    ws) SERVICE_ENV=("PORT=$WS_PORT" "${db_env[@]}" "DB_USER=$DB_READ_USER" "DB_PASSWORD=$DB_READ_PASSWORD"
      "CORS_ORIGINS=http://127.0.0.1:$DASHBOARD_PORT,http://localhost:$DASHBOARD_PORT"
      "ROUTE_METRICS_URLS=python=http://127.0.0.1:$ROUTE1_PORT/metrics,node=http://127.0.0.1:$ROUTE2_PORT/metrics")
      COMMAND=("${make[@]}" "$PROJECT_ROOT/ws-server" run) ;;
    dashboard) SERVICE_ENV=("PORT=$DASHBOARD_PORT" HOST=127.0.0.1 "WS_URL=http://127.0.0.1:$WS_PORT")
      COMMAND=("${make[@]}" "$PROJECT_ROOT/web-dashboard" run) ;;
  esac
}

service_folder() {
  case "$1" in
    agent) echo go-agent ;; route1) echo route1-python ;; route2) echo route2-node ;;
    ws) echo ws-server ;; dashboard) echo web-dashboard ;;
  esac
}

# --- processes, by PID -------------------------------------------------------

start_time() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }

# The PID of a running service of ours, or failure.
service_pid() {
  local file="$STACK_DIR/$1.pid" pid started
  [[ -f "$file" ]] || return 1
  read -r pid started <"$file" || return 1
  [[ -n "$pid" && -n "$started" && "$(start_time "$pid")" == "$started" ]] || return 1
  echo "$pid"
}

answers() { curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null; }

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() {
  local name="$1" pid="$2" url log="$STACK_DIR/$1.log" deadline
  url="$(ready_url "$name")"
  deadline=$((SECONDS + READY_TIMEOUT))
  while ! answers "$url"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "--- last lines of $log:" >&2
      tail -n 25 "$log" >&2 || true
      die "$name exited before it was ready (log: $log)"
    fi
    if ((SECONDS >= deadline)); then
      echo "--- last lines of $log:" >&2
      tail -n 25 "$log" >&2 || true
      die "$name did not answer $url within ${READY_TIMEOUT}s (log: $log; raise STACK_READY_TIMEOUT for a slow first start)"
    fi
    sleep 0.3
  done
}

start_service() {
  local name="$1" pid folder
  if pid="$(service_pid "$name")"; then
    wait_ready "$name" "$pid"
    echo "$name already running (pid $pid)"
    return 0
  fi
  folder="$(service_folder "$name")"
  if [[ -n "$folder" ]] && ! make --no-print-directory -n -C "$PROJECT_ROOT/$folder" run >/dev/null 2>&1; then
    die "$name cannot start: $folder has no Makefile with a 'run' target (the $folder component has not landed)"
  fi
  if port_taken "$(service_port "$name")"; then
    die "$name cannot start: port $(service_port "$name") is taken by a process this stack did not start; set it in .env"
  fi
  [[ "$name" == ingress ]] && write_nginx_conf
  local log="$STACK_DIR/$name.log"
  service_command "$name"
  # setsid: the service leads its own process group, so `down` stops it with
  # everything it spawned (make's child, nginx's workers, ...).
  (
    for setting in "${SERVICE_ENV[@]}"; do export "${setting?}"; done
    exec setsid "${COMMAND[@]}" </dev/null >>"$log" 2>&1
  ) &
  pid=$!
  echo "$pid $(start_time "$pid")" >"$STACK_DIR/$name.pid"
  echo "starting $name (pid $pid, log $log)"
  wait_ready "$name" "$pid"
  echo "$name ready on $(ready_url "$name")"
}

# Stops services: SIGTERM to every process group first, then waits for all
# (they shut down in parallel), SIGKILL for a group still alive after 10 s.
stop_services() {
  local name pid names=() pids=()
  for name in "$@"; do
    if pid="$(service_pid "$name")"; then
      # The service leads its process group (setsid): signal the whole group.
      kill -TERM -- "-$pid" 2>/dev/null || true
      names+=("$name")
      pids+=("$pid")
    else
      rm -f "$STACK_DIR/$name.pid"
    fi
  done
  local i failed=0
  for i in "${!names[@]}"; do
    name="${names[i]}"
    pid="${pids[i]}"
    for _ in $(seq 1 100); do
      group_alive "$pid" || break
      sleep 0.1
    done
    if group_alive "$pid"; then
      echo "$name (group $pid) ignored SIGTERM for 10 s; sending SIGKILL" >&2
      kill -KILL -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do group_alive "$pid" || break; sleep 0.1; done
    fi
    if group_alive "$pid"; then
      echo "stack.sh: $name (process group $pid) is still alive" >&2
      failed=1
      continue
    fi
    rm -f "$STACK_DIR/$name.pid"
    echo "$name stopped"
  done
  return "$failed"
}

group_alive() { pgrep -g "$1" >/dev/null 2>&1; }

# --- nginx, the ingress ------------------------------------------------------

write_nginx_conf() {
  # envsubst (gettext-base) fills in the template.
  "$PROJECT_ROOT/scripts/ensure-packages.sh" nginx gettext-base
  local dir="$STACK_DIR/nginx"
  mkdir -p "$dir/temp"
  local user_line=""
  [[ $EUID -eq 0 ]] && user_line="user root;"
  # shellcheck disable=SC2016 # envsubst's list of the names it may replace, not expansions
  NGINX_USER_LINE="$user_line" NGINX_DIR="$dir" ROUTE1_PORT="$ROUTE1_PORT" ROUTE2_PORT="$ROUTE2_PORT" \
    INGRESS_PORT="$INGRESS_PORT" WS_PORT="$WS_PORT" \
    envsubst '${NGINX_USER_LINE} ${NGINX_DIR} ${ROUTE1_PORT} ${ROUTE2_PORT} ${INGRESS_PORT} ${WS_PORT}' \
    <"$PROJECT_ROOT/scripts/ingress-nginx.conf.template" >"$dir/nginx.conf"
  nginx -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" 2>&1 \
    || die "the generated nginx config $dir/nginx.conf is invalid"
}

# --- commands ----------------------------------------------------------------

print_urls() {
  cat <<EOF
  dashboard  http://127.0.0.1:$DASHBOARD_PORT
  ingress    http://127.0.0.1:$INGRESS_PORT/api/metrics   (nginx, round robin over both routes)
  route 1    http://127.0.0.1:$ROUTE1_PORT   (python; /metrics for Prometheus)
  route 2    http://127.0.0.1:$ROUTE2_PORT   (node; /metrics for Prometheus)
  agent      http://127.0.0.1:$AGENT_PORT/api/metrics
  ws-server  http://127.0.0.1:$WS_PORT   (socket.io)
  MariaDB    127.0.0.1:$DB_PORT, database $DB_NAME   (scripts/mariadb.sh sql)
  logs       $STACK_DIR/*.log
EOF
}

cmd_up() {
  "$PROJECT_ROOT/scripts/ensure-packages.sh" curl procps
  "$PROJECT_ROOT/scripts/mariadb.sh" up
  for name in "${SERVICES[@]}"; do
    start_service "$name"
  done
  echo "the stack is up:"
  print_urls
}

cmd_down() {
  local failed=0
  stop_services "${SERVICES[@]}" || failed=1
  # The database last: the services above no longer write to it.
  "$PROJECT_ROOT/scripts/mariadb.sh" down || failed=1
  return "$failed"
}

cmd_status() {
  local down=0 pid
  "$PROJECT_ROOT/scripts/mariadb.sh" status || down=1
  for name in "${SERVICES[@]}"; do
    if pid="$(service_pid "$name")" && answers "$(ready_url "$name")"; then
      echo "$name running (pid $pid) on $(ready_url "$name")"
    elif [[ -n "${pid:-}" ]]; then
      echo "$name running (pid $pid) but not ready: $(ready_url "$name")"
      down=1
    else
      echo "$name not running"
      down=1
    fi
    pid=""
  done
  return "$down"
}

# run_job WHERE ROUTES CHART TITLE: Locust collect against the agent, replay to
# $INGRESS_URL (run-phase.sh's default: this stack's ingress), the summary, and
# routecompare over ROUTES (name=metrics URL,...), drawn to CHART.
run_job() {
  local where="$1" routes="$2" chart="$3" title="$4"
  make --no-print-directory -C "$PROJECT_ROOT/locust" deps
  local mode=""
  if [[ "${LOCUST_WORKERS:-0}" -gt 0 || "${LOCUST_EXPECT_WORKERS:-0}" -gt 0 ]]; then
    mode=-distributed
    echo "== distributed: a Locust master for each phase, ${LOCUST_EXPECT_WORKERS:-$LOCUST_WORKERS} workers (${LOCUST_WORKERS:-0} local)"
  fi
  echo "== collect: ${COLLECT_USERS:-300} users, spawn ${COLLECT_RATE:-1}/s, ${COLLECT_TIME:-3m}, against the agent (progress every ${PROGRESS_INTERVAL:-5} s)"
  "$PROJECT_ROOT/locust/run-phase.sh" "collect$mode"
  echo "== replay: ${REPLAY_USERS:-150} users, spawn ${REPLAY_RATE:-1}/s, every record once, through $where (progress every ${PROGRESS_INTERVAL:-5} s)"
  local status=0 replay_started
  replay_started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  "$PROJECT_ROOT/locust/run-phase.sh" "replay$mode" || status=$?
  "$PROJECT_ROOT/locust/.venv/bin/python" "$PROJECT_ROOT/locust/summary.py" || status=1
  echo
  echo "== route comparison (the routes' own Prometheus metrics since they started; rows stored since the replay began)"
  make --no-print-directory -s -C "$PROJECT_ROOT/go-agent" routecompare || status=1
  "$PROJECT_ROOT/go-agent/bin/routecompare" -mode local -routes "$routes" -db -since "$replay_started" -svg "$chart" \
    -title "$title, replay of $(date -u -d "$replay_started" '+%Y-%m-%d %H:%M') UTC" || status=1
  echo "chart: $chart"
  return "$status"
}

cmd_load() {
  cmd_status >/dev/null || die "the stack is not (fully) up; run: scripts/stack.sh up"
  local status=0
  run_job "the ingress" "python=http://127.0.0.1:$ROUTE1_PORT/metrics,node=http://127.0.0.1:$ROUTE2_PORT/metrics" \
    "$RUN_DIR/routecompare.svg" "Route comparison" || status=$?
  echo
  echo "the stack stays up; dashboard: http://127.0.0.1:$DASHBOARD_PORT   (stop it: scripts/stack.sh down)"
  return "$status"
}

# cmd_load_through URL ROUTES: the same job against another entry point, with only
# this stack's agent running (scripts/local-cluster.sh load: the cluster's).
cmd_load_through() {
  start_service agent
  INGRESS_URL="$1" run_job "$1" "$2" "$RUN_DIR/routecompare-through.svg" "Route comparison through $1"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  load) cmd_load ;;
  load-through)
    [[ $# -eq 3 ]] || die "usage: $0 load-through URL python=METRICS_URL,node=METRICS_URL"
    cmd_load_through "$2" "$3"
    ;;
  urls) print_urls ;;
  start | stop)
    [[ " ${SERVICES[*]} " == *" ${2:-} "* ]] || die "usage: $0 $1 ${SERVICES[*]// /|}"
    if [[ "$1" == start ]]; then start_service "$2"; else stop_services "$2"; fi
    ;;
  *)
    echo "usage: $0 up|load|load-through URL ROUTES|down|status|urls|start NAME|stop NAME" >&2
    exit 2
    ;;
esac
