#!/usr/bin/env bash
# Creates or updates the Secret `db-credentials` in namespace so1-fase2 from
# DB_HOST, DB_PORT, DB_USER, DB_PASSWORD and DB_NAME (environment, or .env via
# scripts/env.sh). The values go to kubectl on standard input, never in argv,
# a file or the output. DRY_RUN=1 prints the commands only.
set -euo pipefail
PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/env.sh
source "$PROJECT_ROOT/scripts/env.sh"
# shellcheck source=mesh/deploy-lib.sh
source "$PROJECT_ROOT/mesh/deploy-lib.sh"

NAMESPACE="${NAMESPACE:-so1-fase2}"
KUBECTL="${KUBECTL:-kubectl}"
require_vars DB_HOST DB_PORT DB_USER DB_PASSWORD DB_NAME
require_tools "$KUBECTL"

# The template lists the keys; each gets its value from the variable of that name.
env_body() {
  local key
  while IFS= read -r key; do
    printf '%s=%s\n' "$key" "${!key}"
  done < <(sed -n 's/^\([A-Z_]*\)=$/\1/p' "$PROJECT_ROOT/mesh/secrets/db-credentials.env.template")
}

apply_secret() {
  env_body | "$KUBECTL" -n "$NAMESPACE" create secret generic db-credentials \
    --from-env-file=/dev/stdin --dry-run=client -o yaml | "$KUBECTL" apply -f -
}
run_masked "$KUBECTL -n $NAMESPACE create secret generic db-credentials --from-env-file=/dev/stdin (DB_HOST=$DB_HOST DB_PORT=$DB_PORT DB_USER=$DB_USER DB_NAME=$DB_NAME DB_PASSWORD=<hidden>) | $KUBECTL apply -f -" -- apply_secret
