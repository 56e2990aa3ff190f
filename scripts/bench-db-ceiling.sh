#!/usr/bin/env bash
# The database's ceiling for the route benchmarks: a raw single-row insert loop
# straight into MariaDB (mariadb-slap, C, no HTTP, no validation, no ORM), into
# the same table with the same unique key, from CONCURRENCY connections.
# Prints one JSON line: {"concurrency":C,"rows":N,"seconds":S,"rows_per_s":R}
#
# Env: DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME (the bench's instance),
#      CONCURRENCY (default 150), ROWS (default 30000).
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

CONCURRENCY="${CONCURRENCY:-150}"
ROWS="${ROWS:-30000}"
for name in CONCURRENCY ROWS; do
  [[ "${!name}" =~ ^[1-9][0-9]*$ ]] || { echo "bench-db-ceiling.sh: $name must be a positive integer" >&2; exit 2; }
done

# mariadb-slap gives each connection ROWS / CONCURRENCY queries, rounded down.
rows_sent=$(( ROWS / CONCURRENCY * CONCURRENCY ))
(( rows_sent > 0 )) || { echo "bench-db-ceiling.sh: ROWS must be at least CONCURRENCY" >&2; exit 2; }

insert="INSERT INTO metric_records (record_id, route, total_ram, ram_libre, uso_ram,\
 porcentaje_ram, porcentaje_cpu_uso, porcentaje_cpu_libre, procesos_corriendo, total_procesos,\
 procesos_durmiendo, procesos_zombie, procesos_parados, hora) VALUES (UUID(), 'python', 2072,\
 110477312, 1530, 73.84, 22, 78, 3, 233, 226, 2, 2, UTC_TIMESTAMP())"

output="$(mariadb-slap --no-defaults --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USER" \
  --password="$DB_PASSWORD" --create-schema="$DB_NAME" --concurrency="$CONCURRENCY" \
  --number-of-queries="$ROWS" --iterations=1 --query="$insert" 2>&1)" \
  || { echo "$output" >&2; echo "bench-db-ceiling.sh: mariadb-slap failed" >&2; exit 1; }

seconds="$(awk '/Average number of seconds to run all queries/ {print $(NF-1)}' <<<"$output")"
[[ -n "$seconds" ]] || { echo "$output" >&2; echo "bench-db-ceiling.sh: no timing in mariadb-slap's output" >&2; exit 1; }
# mariadb-slap prints 3 decimals; a run shorter than that cannot be measured.
awk -v c="$CONCURRENCY" -v n="$rows_sent" -v s="$seconds" 'BEGIN {
  if (s <= 0) { print "bench-db-ceiling.sh: run too short to time; raise ROWS" > "/dev/stderr"; exit 1 }
  printf "{\"concurrency\":%d,\"rows\":%d,\"seconds\":%.3f,\"rows_per_s\":%.1f}\n", c, n, s, n / s }'
