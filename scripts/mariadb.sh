#!/usr/bin/env bash
# The project's private MariaDB: a local stand-in for Cloud SQL.
#
#   scripts/mariadb.sh up      install if missing, initialise, start, create the
#                              database and users, then `migrate` (MARIADB_MIGRATE=0: not;
#                              the local cluster's migration Job does it instead)
#   scripts/mariadb.sh migrate route 1's Alembic migrations (the table's only definition)
#                              applied to DB_NAME as the server's root user, by socket
#   scripts/mariadb.sh down    stop by PID; the data stays for the next `up`
#   scripts/mariadb.sh kill    SIGKILL the server (for outage tests)
#   scripts/mariadb.sh status  exit 0 when it answers
#   scripts/mariadb.sh sql     run the SQL on stdin against DB_NAME, print TSV
#
# Configured by .env (see .env.example): DB_PORT, DB_NAME, DB_USER,
# DB_PASSWORD (the routes' user: SELECT and INSERT), DB_READ_USER and DB_READ_PASSWORD (ws-server's:
# SELECT only), DB_MIGRATE_USER and DB_MIGRATE_PASSWORD (the
# migrations' user: DDL on DB_NAME, for a migration run from elsewhere), MARIADB_MAX_CONNECTIONS, MARIADB_BACK_LOG, MARIADB_DIR
# (default $RUN_DIR/mariadb) so that tests can run an instance of their own,
# and, for clients outside this machine's loopback (a kind cluster),
# MARIADB_BIND_ADDRESS (default 127.0.0.1; a comma-separated list binds several) and MARIADB_CLIENT_HOSTS (the hosts
# the application user may connect from, default "127.0.0.1 localhost").
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

MARIADB_DIR="${MARIADB_DIR:-$RUN_DIR/mariadb}"
case "$MARIADB_DIR" in /*) ;; *) MARIADB_DIR="$PROJECT_ROOT/$MARIADB_DIR" ;; esac
MARIADB_BIND_ADDRESS="${MARIADB_BIND_ADDRESS:-127.0.0.1}"
MARIADB_CLIENT_HOSTS="${MARIADB_CLIENT_HOSTS:-127.0.0.1 localhost}"
DATA_DIR="$MARIADB_DIR/data"
SOCKET="$MARIADB_DIR/mysqld.sock"
PID_FILE="$MARIADB_DIR/mysqld.pid"
LOG_FILE="$MARIADB_DIR/error.log"

die() { echo "mariadb.sh: $*" >&2; exit 1; }

for name in DB_NAME DB_USER DB_READ_USER DB_MIGRATE_USER; do
  [[ "${!name}" =~ ^[A-Za-z0-9_]{1,64}$ ]] || die "$name must be letters, digits or _ (got '${!name}')"
done
[[ "$DB_PORT" =~ ^[0-9]+$ ]] || die "DB_PORT must be a number (got '$DB_PORT')"
[[ -n "$DB_PASSWORD" ]] || die "DB_PASSWORD is empty"
[[ -n "${DB_MIGRATE_PASSWORD:-}" ]] || die "DB_MIGRATE_PASSWORD is empty"
[[ -n "${DB_READ_PASSWORD:-}" ]] || die "DB_READ_PASSWORD is empty"
for host in $MARIADB_CLIENT_HOSTS; do
  [[ "$host" =~ ^[A-Za-z0-9.%_:-]{1,255}$ ]] || die "MARIADB_CLIENT_HOSTS: '$host' is not a host name, address or pattern"
done

admin() { mariadb --no-defaults --socket="$SOCKET" -u root "$@"; }

server_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

answers() { mariadb-admin --no-defaults --socket="$SOCKET" -u root --connect-timeout=2 ping >/dev/null 2>&1; }

install_if_missing() {
  if ! command -v mariadbd >/dev/null || ! command -v mariadb >/dev/null; then
    "$PROJECT_ROOT/scripts/ensure-packages.sh" mariadb-server mariadb-client
  fi
}

initialise() {
  [[ -d "$DATA_DIR/mysql" ]] && return 0
  mkdir -p "$DATA_DIR"
  echo "initialising MariaDB data dir $DATA_DIR" >&2
  mariadb-install-db --no-defaults --datadir="$DATA_DIR" --user="$(id -un)" \
    --auth-root-authentication-method=socket --auth-root-socket-user="$(id -un)" \
    --skip-test-db >"$MARIADB_DIR/install.log" 2>&1 \
    || { cat "$MARIADB_DIR/install.log" >&2; rm -rf "$DATA_DIR"; die "mariadb-install-db failed"; }
}

start() {
  if server_pid >/dev/null; then return 0; fi
  local address
  for address in ${MARIADB_BIND_ADDRESS//,/ }; do
    if (exec 3<>"/dev/tcp/$address/$DB_PORT") 2>/dev/null; then
      die "$address:$DB_PORT is taken by another process; set DB_PORT in .env"
    fi
  done
  setsid mariadbd --no-defaults --datadir="$DATA_DIR" --socket="$SOCKET" \
    --pid-file="$PID_FILE" --log-error="$LOG_FILE" --user="$(id -un)" \
    --bind-address="$MARIADB_BIND_ADDRESS" --port="$DB_PORT" \
    --max-connections="$MARIADB_MAX_CONNECTIONS" --back-log="$MARIADB_BACK_LOG" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --default-time-zone=+00:00 --sql-mode=STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION \
    --innodb-buffer-pool-size=256M --skip-name-resolve \
    </dev/null >>"$MARIADB_DIR/stdout.log" 2>&1 &
  for _ in $(seq 1 300); do
    answers && return 0
    sleep 0.1
  done
  tail -n 20 "$LOG_FILE" >&2 || true
  die "MariaDB did not answer within 30 s (log: $LOG_FILE)"
}

sql_string() {
  local quoted="${1//\\/\\\\}"
  printf "'%s'" "${quoted//\'/\\\'}"
}

# user_statements USER PASSWORD PRIVILEGES HOST: the user, its password and these
# privileges on DB_NAME, and no others (a data dir of an older version granted more).
user_statements() {
  printf '%s\n' "CREATE USER IF NOT EXISTS '$1'@'$4' IDENTIFIED BY $(sql_string "$2");" \
    "ALTER USER '$1'@'$4' IDENTIFIED BY $(sql_string "$2");" \
    "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '$1'@'$4';" \
    "GRANT $3 ON \`$DB_NAME\`.* TO '$1'@'$4';"
}

# The database and three users per client host: the routes' (SELECT and INSERT: a record is
# never changed or removed), ws-server's
# (SELECT only) and the migrations' (the table's DDL too). Run again, it resets their
# passwords and grants.
provision() {
  local host statements="CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
  for host in $MARIADB_CLIENT_HOSTS; do
    statements+="
$(user_statements "$DB_USER" "$DB_PASSWORD" "SELECT, INSERT" "$host")
$(user_statements "$DB_READ_USER" "$DB_READ_PASSWORD" "SELECT" "$host")
$(user_statements "$DB_MIGRATE_USER" "$DB_MIGRATE_PASSWORD" "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, REFERENCES" "$host")"
  done
  admin <<<"$statements"
}

# Alembic through route 1's Makefile, as the root user over the socket (no password
# anywhere); its output is shown only when it fails.
migrate() {
  admin <<<"CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
  local output
  if ! output="$(DB_SOCKET="$SOCKET" DB_MIGRATE_USER=root DB_MIGRATE_PASSWORD='' \
      make --no-print-directory -s -C "$PROJECT_ROOT/route1-python" migrate 2>&1)"; then
    printf '%s\n' "$output" >&2
    die "the migrations failed on database $DB_NAME"
  fi
}

cmd="${1:-}"
case "$cmd" in
  up)
    mkdir -p "$MARIADB_DIR"
    install_if_missing
    initialise
    start
    provision
    [[ "${MARIADB_MIGRATE:-1}" == 0 ]] || migrate
    echo "MariaDB ready on $MARIADB_BIND_ADDRESS:$DB_PORT, database $DB_NAME, user $DB_USER (pid $(server_pid))"
    ;;
  down)
    pid="$(server_pid)" || { echo "MariaDB is not running"; exit 0; }
    kill -TERM "$pid"
    for _ in $(seq 1 600); do
      kill -0 "$pid" 2>/dev/null || { echo "MariaDB stopped"; exit 0; }
      sleep 0.1
    done
    die "MariaDB (pid $pid) did not stop within 60 s"
    ;;
  kill)
    pid="$(server_pid)" || { echo "MariaDB is not running"; exit 0; }
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    echo "MariaDB killed"
    ;;
  status)
    if pid="$(server_pid)" && answers; then
      echo "MariaDB running on $MARIADB_BIND_ADDRESS:$DB_PORT (pid $pid, data $DATA_DIR)"
    else
      echo "MariaDB not running (data $DATA_DIR)"
      exit 1
    fi
    ;;
  migrate)
    server_pid >/dev/null || die "MariaDB is not running; run: scripts/mariadb.sh up"
    migrate
    echo "database $DB_NAME migrated to head"
    ;;
  sql)
    server_pid >/dev/null || die "MariaDB is not running; run: scripts/mariadb.sh up"
    admin --batch --skip-column-names "$DB_NAME"
    ;;
  *)
    echo "usage: $0 up|down|kill|status|migrate|sql" >&2
    exit 2
    ;;
esac
