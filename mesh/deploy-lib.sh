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

# default_image_tag: the short SHA of the checked-out commit, the tag that
# .github/workflows/images.yml publishes for every push to main (a release
# tag v1.2.3 also publishes 1.2.3 and 1.2).
default_image_tag() {
  git -C "$PROJECT_ROOT" rev-parse --short=7 HEAD
}

# require_published_image IMAGE...: each docker.io/USER/REPO:TAG exists on
# Docker Hub (its tags API; DOCKERHUB_API overrides the address), or exit 2
# naming it: a deployment of a tag the workflow never published would only
# show ImagePullBackOff. DRY_RUN prints the check instead.
require_published_image() {
  local image api="${DOCKERHUB_API:-https://hub.docker.com}" path status
  require_tools curl || exit 2
  for image in "$@"; do
    path="${image#docker.io/}"
    if [[ "$DRY_RUN" == 1 ]]; then
      echo "+ check that $image is published on Docker Hub"
      continue
    fi
    status="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 \
      "$api/v2/namespaces/${path%%/*}/repositories/$(basename "${path%:*}")/tags/${path##*:}" 2>&1)" || status="none ($status)"
    case "$status" in
      200) ;;
      404)
        echo "error: $image is not published on Docker Hub. The images workflow publishes the short SHA" >&2
        echo "       of every push to main (and 1.2.3 for a tag v1.2.3): push the commit and wait for it," >&2
        echo "       or set IMAGE_TAG to a published tag." >&2
        exit 2
        ;;
      *)
        echo "error: could not check that $image is published on Docker Hub (answer: $status)" >&2
        exit 2
        ;;
    esac
  done
}

# require_pinned_tag: IMAGE_TAG names one build (a version or a git SHA);
# `latest` moves under a running deployment. Exits 2 otherwise.
require_pinned_tag() {
  if [[ -z "$IMAGE_TAG" || "$IMAGE_TAG" == latest ]]; then
    echo "error: IMAGE_TAG must be a pinned tag (a version or a git SHA), not latest" >&2
    exit 2
  fi
}

# The Linkerd and linkerd-smi releases the mesh manifests are written for:
# Linkerd 2.19 (its edge release edge-25.10.7; Kubernetes 1.29 - 1.34, Gateway
# API 1.1.1 - 1.2.1) and linkerd-smi v0.2.4 (for Linkerd 2.13 and later).
LINKERD_VERSION=edge-25.10.7
LINKERD_SMI_VERSION=v0.2.4

# require_linkerd_versions SPLIT: the linkerd CLI on PATH is LINKERD_VERSION
# and, for the SMI split, its smi extension is LINKERD_SMI_VERSION; exits 2
# naming the command that installs the pinned one. Checked in DRY_RUN mode too
# when a linkerd CLI is there (it only prints versions).
require_linkerd_versions() {
  local split="$1" client smi
  if ! command -v linkerd >/dev/null 2>&1; then
    [[ "$DRY_RUN" == 1 ]] && return 0
    echo "error: no linkerd CLI on PATH; install $LINKERD_VERSION:" >&2
    echo "       curl --proto '=https' --tlsv1.2 -sSfL https://run.linkerd.io/install-edge | LINKERD2_VERSION=$LINKERD_VERSION sh" >&2
    exit 2
  fi
  client="$(linkerd version --client --short 2>&1)" || true
  if [[ "$client" != "$LINKERD_VERSION" ]]; then
    echo "error: the linkerd CLI is '$client'; these manifests are written for $LINKERD_VERSION (Linkerd 2.19):" >&2
    echo "       curl --proto '=https' --tlsv1.2 -sSfL https://run.linkerd.io/install-edge | LINKERD2_VERSION=$LINKERD_VERSION sh" >&2
    exit 2
  fi
  [[ "$split" == smi-trafficsplit ]] || return 0
  smi="$(linkerd smi version 2>&1)" || true
  if [[ "$smi" != "$LINKERD_SMI_VERSION" ]]; then
    echo "error: linkerd smi is '$smi'; the TrafficSplit split is written for linkerd-smi $LINKERD_SMI_VERSION:" >&2
    echo "       curl -sL https://linkerd.github.io/linkerd-smi/install | LINKERD_SMI_VERSION=$LINKERD_SMI_VERSION sh" >&2
    exit 2
  fi
}

# refuse_other_split SPLIT NAMESPACE: exits 2 when the other split's object is
# in NAMESPACE. Never both: linkerd-smi turns a TrafficSplit into a
# ServiceProfile, which takes precedence over an HTTPRoute on the same Service,
# so the HTTPRoute's weights would be silently ignored. Uses $KUBECTL (default
# kubectl) against the current cluster; DRY_RUN prints the check instead.
refuse_other_split() {
  local split="$1" namespace="$2" other found
  case "$split" in
    smi-trafficsplit) other=httproutes.gateway.networking.k8s.io ;;
    httproute-split) other=trafficsplits.split.smi-spec.io ;;
    *) echo "error: unknown split '$split'" >&2; exit 2 ;;
  esac
  if [[ "$DRY_RUN" == 1 ]]; then
    echo "+ check that no $other exists in namespace $namespace"
    return 0
  fi
  # A kind the cluster does not know (its CRD not installed) holds no object.
  found="$("${KUBECTL:-kubectl}" -n "$namespace" get "$other" -o name 2>/dev/null)" || found=""
  if [[ -n "$found" ]]; then
    echo "error: SPLIT=$split, but namespace $namespace already holds the other split: $found" >&2
    echo "       linkerd-smi's ServiceProfile would override an HTTPRoute on the same Service; delete it first:" >&2
    echo "       kubectl -n $namespace delete $found" >&2
    exit 2
  fi
}

# apply_with_migrations NAMESPACE KUSTOMIZE_DIR: the table first, then the routes. The
# previous migration Job goes (a Job's template cannot change), everything but the
# routes (app.kubernetes.io/component=ingest) is applied, the Job db-migrate must
# complete within 5 minutes (its log is shown when it fails), then everything is
# applied. Uses $KUBECTL (default kubectl); DRY_RUN prints the commands.
apply_with_migrations() {
  local namespace="$1" dir="$2" kubectl="${KUBECTL:-kubectl}"
  run "$kubectl" -n "$namespace" delete job db-migrate --ignore-not-found --wait=true
  run "$kubectl" apply -k "$dir" -l 'app.kubernetes.io/component!=ingest'
  if ! run "$kubectl" -n "$namespace" wait --for=condition=complete job/db-migrate --timeout=300s; then
    echo "error: the migration Job db-migrate did not complete within 5 minutes; its pods and log:" >&2
    "$kubectl" -n "$namespace" get pods -l app.kubernetes.io/name=db-migrate -o wide >&2 || true
    "$kubectl" -n "$namespace" logs job/db-migrate --tail=50 >&2 || true
    exit 1
  fi
  run "$kubectl" apply -k "$dir"
}
