# shellcheck shell=bash
# Sourced by scripts/cluster-up.sh, scripts/vm-setup.sh and
# scripts/cloudrun-deploy.sh: the DRY_RUN switch they share.
# With DRY_RUN=1 every command is printed ("+ cmd args", shell-quoted) and not
# run; secrets are never printed, in either mode.

DRY_RUN="${DRY_RUN:-0}"

# run CMD ARGS...: print the command, then run it unless DRY_RUN=1.
run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  [[ "$DRY_RUN" == 1 ]] || "$@"
}

# run_masked SHOWN -- CMD ARGS...: like run, but prints SHOWN instead of the
# command line (for commands that carry a password).
run_masked() {
  local shown="$1"
  shift 2
  printf '+ %s\n' "$shown"
  [[ "$DRY_RUN" == 1 ]] || "$@"
}

# run_pipe "PIPELINE": print and run a pipeline given as one string; used only
# with constant strings whose variables the caller has already quoted.
run_pipe() {
  printf '+ %s\n' "$1"
  [[ "$DRY_RUN" == 1 ]] || bash -o pipefail -c "$1"
}

# capture PLACEHOLDER CMD ARGS...: print the command and echo its output; in
# DRY_RUN mode echo PLACEHOLDER instead (the command is only printed).
capture() {
  local placeholder="$1"
  shift
  printf '+' >&2
  printf ' %q' "$@" >&2
  printf '\n' >&2
  if [[ "$DRY_RUN" == 1 ]]; then
    echo "$placeholder"
  else
    "$@"
  fi
}

# require_tools TOOL...: fail early, with the list, when a CLI is missing
# (skipped in DRY_RUN mode, which runs nothing).
require_tools() {
  [[ "$DRY_RUN" == 1 ]] && return 0
  local missing=() tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    echo "error: missing command-line tools: ${missing[*]}" >&2
    return 1
  fi
}

# require_vars VAR...: fail with the names of the unset or empty variables.
require_vars() {
  local missing=() var
  for var in "$@"; do
    [[ -n "${!var:-}" ]] || missing+=("$var")
  done
  if ((${#missing[@]})); then
    echo "error: set ${missing[*]} (environment or .env)" >&2
    return 1
  fi
}

# require_pinned_tag: IMAGE_TAG names one build (a version or a git SHA);
# `latest` moves under a running deployment. Exits 2 otherwise.
require_pinned_tag() {
  if [[ "$IMAGE_TAG" == latest ]]; then
    echo "error: IMAGE_TAG must be a pinned tag (a version or a git SHA), not latest" >&2
    exit 2
  fi
}
