#!/usr/bin/env bash
# Creates or updates, in namespace so1-fase2, the Secrets `db-credentials` (DB_HOST,
# DB_PORT, DB_USER, DB_PASSWORD, DB_NAME: the routes), `db-read-credentials` (the same
# keys with DB_READ_USER's name and password: ws-server, SELECT only),
# `db-migrate-credentials` (DB_MIGRATE_USER, DB_MIGRATE_PASSWORD: the migration Job
# only) and `ingest-token` (INGEST_TOKEN: the routes only), each with the keys of its
# template here, from the environment, or .env via scripts/env.sh. The values go to
# kubectl on standard input, never in argv, a file or the output. DRY_RUN=1 prints the
# commands only.
set -euo pipefail
PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/env.sh
source "$PROJECT_ROOT/scripts/env.sh"
# shellcheck source=mesh/deploy-lib.sh
source "$PROJECT_ROOT/mesh/deploy-lib.sh"

NAMESPACE="${NAMESPACE:-so1-fase2}"
KUBECTL="${KUBECTL:-kubectl}"
require_vars DB_HOST DB_PORT DB_USER DB_PASSWORD DB_NAME DB_READ_USER DB_READ_PASSWORD DB_MIGRATE_USER \
  DB_MIGRATE_PASSWORD INGEST_TOKEN
require_tools "$KUBECTL"

# env_body SECRET: each key its template lists, with the value of the variable the
# template names after it (KEY=VARIABLE), or of the variable of the key's own name (KEY=).
env_body() {
  local key source
  while IFS='=' read -r key source; do
    source="${source:-$key}"
    printf '%s=%s\n' "$key" "${!source}"
  done < <(grep -E '^[A-Z_]+=[A-Z_]*$' "$PROJECT_ROOT/mesh/secrets/$1.env.template")
}

apply_secret() { # apply_secret SECRET
  env_body "$1" | "$KUBECTL" -n "$NAMESPACE" create secret generic "$1" \
    --from-env-file=/dev/stdin --dry-run=client -o yaml | "$KUBECTL" apply -f -
}
run_masked "$KUBECTL -n $NAMESPACE create secret generic db-credentials --from-env-file=/dev/stdin (DB_HOST=$DB_HOST DB_PORT=$DB_PORT DB_USER=$DB_USER DB_NAME=$DB_NAME DB_PASSWORD=<hidden>) | $KUBECTL apply -f -" -- apply_secret db-credentials
run_masked "$KUBECTL -n $NAMESPACE create secret generic db-read-credentials --from-env-file=/dev/stdin (DB_HOST=$DB_HOST DB_PORT=$DB_PORT DB_USER=$DB_READ_USER DB_NAME=$DB_NAME DB_PASSWORD=<hidden>) | $KUBECTL apply -f -" -- apply_secret db-read-credentials
run_masked "$KUBECTL -n $NAMESPACE create secret generic db-migrate-credentials --from-env-file=/dev/stdin (DB_MIGRATE_USER=$DB_MIGRATE_USER DB_MIGRATE_PASSWORD=<hidden>) | $KUBECTL apply -f -" -- apply_secret db-migrate-credentials
run_masked "$KUBECTL -n $NAMESPACE create secret generic ingest-token --from-env-file=/dev/stdin (INGEST_TOKEN=<hidden>) | $KUBECTL apply -f -" -- apply_secret ingest-token
