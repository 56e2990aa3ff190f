# shellcheck shell=bash
# Sourced by every script: loads the project's configuration.
# `.env` is created from `.env.example` on first run (with generated database
# passwords and ingest token); a variable already set in the environment wins over the file.
# After sourcing, PROJECT_ROOT and an absolute RUN_DIR are exported.

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PROJECT_ROOT

project_env_init() {
  local env_file="$PROJECT_ROOT/.env"
  if [[ ! -f "$env_file" ]]; then
    cp "$PROJECT_ROOT/.env.example" "$env_file"
    chmod 600 "$env_file"
  fi
  # Each password is generated when empty, or appended when an older .env lacks it.
  local secret generated
  for secret in DB_PASSWORD DB_READ_PASSWORD DB_MIGRATE_PASSWORD INGEST_TOKEN; do
    generated="$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
    if grep -qE "^$secret=\$" "$env_file"; then
      sed -i "s/^$secret=\$/$secret=${generated}/" "$env_file"
    elif ! grep -qE "^$secret=" "$env_file"; then
      printf '%s=%s\n' "$secret" "$generated" >>"$env_file"
    fi
  done
  local line key value
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^[[:space:]]*# || ! "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && continue
    key="${line%%=*}"
    value="${line#*=}"
    if [[ -z "${!key+x}" ]]; then
      export "$key=$value"
    fi
  done <"$env_file"
  # An .env made before the migration and read-only users existed names neither.
  export DB_MIGRATE_USER="${DB_MIGRATE_USER:-${DB_USER:-monitor}_migrate}"
  export DB_READ_USER="${DB_READ_USER:-${DB_USER:-monitor}_read}"
  case "$RUN_DIR" in
    /*) ;;
    *) RUN_DIR="$PROJECT_ROOT/$RUN_DIR" ;;
  esac
  export RUN_DIR
  mkdir -p "$RUN_DIR"
}

project_env_init
# shellcheck source=scripts/test-ports.sh
source "$PROJECT_ROOT/scripts/test-ports.sh"
