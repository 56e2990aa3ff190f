#!/usr/bin/env bash
# Runs a command with the project's configuration in its environment: .env
# through scripts/env.sh (RUN_DIR absolute, DB_*, ports), the environment winning.
# Usage: scripts/with-env.sh COMMAND [ARG...]
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec "$@"
