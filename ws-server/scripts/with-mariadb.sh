#!/usr/bin/env bash
# Usage: scripts/with-mariadb.sh NAME PORT COMMAND...
# Runs COMMAND against a private MariaDB ($RUN_DIR/NAME on 127.0.0.1:PORT),
# started for it and stopped afterwards, also when COMMAND fails.
set -euo pipefail
name="$1" port="$2"
shift 2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$here/../scripts/env.sh"
export MARIADB_DIR="$RUN_DIR/$name" DB_PORT="$port" DB_HOST=127.0.0.1
trap '"$PROJECT_ROOT/scripts/mariadb.sh" down >/dev/null || true' EXIT
"$PROJECT_ROOT/scripts/mariadb.sh" up >&2
cd "$here"
"$@"
