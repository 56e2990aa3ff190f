#!/usr/bin/env bash
# Usage: scripts/with-test-mariadb.sh NAME COMMAND [ARG...]
# Runs COMMAND with a private MariaDB of its own: data in $RUN_DIR/test-NAME-mariadb, on
# 127.0.0.1:$TEST_<NAME>_DB_PORT (scripts/test-ports.sh), the migrations applied and the
# table metric_records empty (so that no test needs more than INSERT to start clean). COMMAND
# gets DB_HOST, DB_PORT and MARIADB_DIR, so that `scripts/mariadb.sh sql|kill|up` reach
# the same server. The server is stopped afterwards, also when COMMAND fails; COMMAND's
# exit status is this script's.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[[ $# -ge 2 ]] || { echo "usage: with-test-mariadb.sh NAME COMMAND [ARG...]" >&2; exit 2; }
name="$1"
shift
port_variable="TEST_$(tr 'a-z-' 'A-Z_' <<<"$name")_DB_PORT"
[[ -n "${!port_variable:-}" ]] || { echo "with-test-mariadb.sh: no $port_variable in scripts/test-ports.sh" >&2; exit 2; }
export MARIADB_DIR="$RUN_DIR/test-$name-mariadb" DB_HOST=127.0.0.1 DB_PORT="${!port_variable}"
trap '"$PROJECT_ROOT/scripts/mariadb.sh" down >/dev/null || true' EXIT
"$PROJECT_ROOT/scripts/mariadb.sh" up >/dev/null
"$PROJECT_ROOT/scripts/mariadb.sh" sql <<<'TRUNCATE TABLE metric_records;' >/dev/null
"$@"
