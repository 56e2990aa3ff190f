#!/usr/bin/env bash
# The mesh/ tests: render every overlay x split component, check the rendered
# objects against the project's own rules (Go) and the generic ones
# (kube-score), have a real kube-apiserver accept every object (server-side dry
# run), run the deploy scripts in DRY_RUN mode, and lint the shell scripts and
# the GitHub workflows.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

MESH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$MESH_DIR/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
GATEWAY_API_VERSION=v1.2.1 # the Gateway API range Linkerd 2.18 supports: 1.1.1 - 1.2.1

"$ROOT/scripts/ensure-packages.sh" openssl shellcheck ca-certificates || exit 1
bin_dir="$("$MESH_DIR/tests/k8s-tools.sh")" || { echo "error: building the Kubernetes tools failed" >&2; exit 1; }
KUBECTL="$bin_dir/kubectl"
kube_score="$("$MESH_DIR/tests/kube-score-tool.sh")" || { echo "error: building kube-score failed" >&2; exit 1; }
work="$RUN_DIR/mesh-test"
rm -rf "$work"
mkdir -p "$work/rendered"

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $* [${SECONDS}s]"; }
fail() { failed=$((failed + 1)); echo "FAIL $* [${SECONDS}s]"; }

# --- render ------------------------------------------------------------------
# One variant per overlay x component, each committed under variants/.
for overlay_dir in "$MESH_DIR"/overlays/*/; do
  for component_dir in "$MESH_DIR"/components/*/; do
    variant="$(basename "$overlay_dir")-$(basename "$component_dir")"
    if [[ ! -f "$MESH_DIR/variants/$variant/kustomization.yaml" ]]; then
      fail "render $variant: variants/$variant/kustomization.yaml is missing"
    elif "$KUBECTL" kustomize "$MESH_DIR/variants/$variant" >"$work/rendered/$variant.yaml" 2>"$work/render-$variant.err"; then
      pass "render $variant"
    else
      fail "render $variant: $(cat "$work/render-$variant.err")"
      rm -f "$work/rendered/$variant.yaml"
    fi
  done
done

# --- policy: the project's rules (Go), the generic ones (kube-score) ------------
if (cd "$MESH_DIR/tools/k8s" && RENDERED_DIR="$work/rendered" go test -count=1 -v -skip KubeScore ./policy >"$work/policy.log" 2>&1); then
  pass "policy checks (Go): $(grep -c -- '--- PASS' "$work/policy.log") test cases on every rendered variant"
else
  fail "policy:"
  cat "$work/policy.log"
fi
if (cd "$MESH_DIR/tools/k8s" && RENDERED_DIR="$work/rendered" KUBE_SCORE="$kube_score" \
  go test -count=1 -v -run KubeScore ./policy >"$work/kube-score.log" 2>&1); then
  pass "kube-score (tools/kube-score/checks.conf): $(grep -c -- '--- PASS' "$work/kube-score.log") test cases on every rendered variant and mesh/local-cluster"
else
  fail "kube-score:"
  cat "$work/kube-score.log"
fi

# --- the TrafficSplit CRD against the published v1alpha2 types (Go) ------------
if (cd "$MESH_DIR/tests/smi-crd" && go test -count=1 ./... >"$work/smi-crd.log" 2>&1); then
  pass "the TrafficSplit CRD matches smi-sdk-go v0.5.0's v1alpha2 types field by field"
else
  fail "the TrafficSplit CRD against smi-sdk-go's v1alpha2 types:"
  cat "$work/smi-crd.log"
fi

# --- a real API server ---------------------------------------------------------
# shellcheck source=mesh/tests/apiserver.sh
source "$MESH_DIR/tests/apiserver.sh"
trap apiserver_stop EXIT
kubectl_() { "$KUBECTL" --cache-dir "$work/kube-cache" "$@"; }
if apiserver_start "$bin_dir" "$work/apiserver"; then
  pass "kube-apiserver and etcd are up"
  gateway_dir="$(go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  if kubectl_ apply -f "$gateway_dir/config/crd/standard/" -f "$MESH_DIR/tests/crds/" >"$work/crds.log" 2>&1 &&
    kubectl_ wait --for condition=established --timeout 120s \
      crd/httproutes.gateway.networking.k8s.io crd/trafficsplits.split.smi-spec.io >>"$work/crds.log" 2>&1; then
    pass "Gateway API $GATEWAY_API_VERSION and SMI TrafficSplit CRDs established"
  else
    fail "CRDs: $(cat "$work/crds.log")"
  fi

  # The namespace is created for real: dry-run objects in a namespace that does
  # not exist are rejected by the NamespaceLifecycle admission plugin.
  kubectl_ apply -f "$MESH_DIR/base/namespace.yaml" >/dev/null
  for rendered in "$work"/rendered/*.yaml; do
    variant="$(basename "$rendered" .yaml)"
    if kubectl_ apply --dry-run=server -f "$rendered" >"$work/dry-run-$variant.log" 2>&1; then
      pass "apiserver accepts $variant ($(grep -c 'created (server dry run)\|configured (server dry run)\|unchanged (server dry run)' "$work/dry-run-$variant.log") objects)"
    else
      fail "apiserver rejects $variant:"
      cat "$work/dry-run-$variant.log"
    fi
  done

  # The Secrets, created for real by the command the manual gives, twice (the
  # second run updates): every key holds its value, in its own Secret, and no value is printed.
  secret_password="test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  secret_ok=1
  for attempt in 1 2; do
    if ! KUBECTL="$KUBECTL" DB_HOST=127.0.0.1 DB_PORT=3306 DB_USER=monitor DB_NAME=monitor \
      DB_PASSWORD="$secret_password-$attempt" DB_MIGRATE_USER=monitor_migrate \
      DB_MIGRATE_PASSWORD="$secret_password-migrate-$attempt" INGEST_TOKEN="$secret_password-token-$attempt" \
      DB_READ_USER=monitor_read DB_READ_PASSWORD="$secret_password-read-$attempt" \
      "$MESH_DIR/secrets/create-secrets.sh" >"$work/secret.log" 2>&1 ||
      grep -qF "$secret_password" "$work/secret.log"; then
      secret_ok=0
    fi
  done
  stored="$(kubectl_ -n so1-fase2 get secret db-credentials -o 'jsonpath={.data.DB_PASSWORD}' | base64 -d)"
  keys="$(kubectl_ -n so1-fase2 get secret db-credentials -o 'jsonpath={.data}')"
  stored_migrate="$(kubectl_ -n so1-fase2 get secret db-migrate-credentials -o 'jsonpath={.data.DB_MIGRATE_PASSWORD}' | base64 -d)"
  migrate_keys="$(kubectl_ -n so1-fase2 get secret db-migrate-credentials -o 'jsonpath={.data}')"
  read_user="$(kubectl_ -n so1-fase2 get secret db-read-credentials -o 'jsonpath={.data.DB_USER}' | base64 -d)"
  read_password="$(kubectl_ -n so1-fase2 get secret db-read-credentials -o 'jsonpath={.data.DB_PASSWORD}' | base64 -d)"
  stored_token="$(kubectl_ -n so1-fase2 get secret ingest-token -o 'jsonpath={.data.INGEST_TOKEN}' | base64 -d)"
  token_keys="$(kubectl_ -n so1-fase2 get secret ingest-token -o 'jsonpath={.data}')"
  if ((secret_ok)) && [[ "$stored" == "$secret_password-2" && "$keys" == *DB_HOST*DB_NAME*DB_PASSWORD*DB_PORT*DB_USER* &&
    "$keys" != *MIGRATE* && "$stored_migrate" == "$secret_password-migrate-2" &&
    "$migrate_keys" == *DB_MIGRATE_PASSWORD*DB_MIGRATE_USER* && "$keys" != *INGEST_TOKEN* &&
    "$stored_token" == "$secret_password-token-2" && "$token_keys" != *DB_* &&
    "$read_user" == monitor_read && "$read_password" == "$secret_password-read-2" ]]; then
    pass "create-secrets.sh creates and updates db-credentials, db-read-credentials, db-migrate-credentials and ingest-token without printing a value"
  else
    fail "create-secrets.sh: $(cat "$work/secret.log")"
  fi

  # The server really validates: the mistakes the manual warns about are refused.
  if ! kubectl_ create namespace so1_fase2 --dry-run=server >"$work/bad-namespace.log" 2>&1 &&
    grep -q "RFC 1123" "$work/bad-namespace.log"; then
    pass "apiserver rejects the namespace name so1_fase2 (RFC 1123)"
  else
    fail "apiserver accepted so1_fase2: $(cat "$work/bad-namespace.log")"
  fi
  sed 's/weight: 500/weight: "500m"/' "$MESH_DIR/components/smi-trafficsplit/trafficsplit.yaml" >"$work/bad-split.yaml"
  if ! kubectl_ apply -n so1-fase2 --dry-run=server -f "$work/bad-split.yaml" >"$work/bad-split.log" 2>&1; then
    pass "apiserver rejects a v1alpha1-style TrafficSplit weight (\"500m\")"
  else
    fail "apiserver accepted a string TrafficSplit weight"
  fi
  sed 's/weight: 50$/weight: 1000001/' "$MESH_DIR/components/httproute-split/httproute.yaml" >"$work/bad-route.yaml"
  if ! kubectl_ apply -n so1-fase2 --dry-run=server -f "$work/bad-route.yaml" >"$work/bad-route.log" 2>&1; then
    pass "apiserver rejects an HTTPRoute backend weight above the Gateway API maximum"
  else
    fail "apiserver accepted an HTTPRoute weight of 1000001"
  fi

  # The two splits never together: with one split's object stored, cluster-up.sh's
  # check refuses the other split and lets the same one through (re-running it).
  # shellcheck source=mesh/deploy-lib.sh
  source "$MESH_DIR/deploy-lib.sh"
  split_check() { # split_check SPLIT WANT-STATUS: run refuse_other_split against this API server
    (DRY_RUN=0 refuse_other_split "$1" so1-fase2) >"$work/split-check.log" 2>&1 # $KUBECTL, this API server
    [[ $? == "$2" ]]
  }
  for stored in smi-trafficsplit httproute-split; do
    other=httproute-split object=trafficsplit.yaml
    [[ "$stored" == httproute-split ]] && other=smi-trafficsplit object=httproute.yaml
    if kubectl_ apply -n so1-fase2 -f "$MESH_DIR/components/$stored/$object" >"$work/split-apply.log" 2>&1 &&
      split_check "$other" 2 && grep -q "already holds the other split" "$work/split-check.log" &&
      split_check "$stored" 0; then
      pass "with the $stored split stored, cluster-up.sh refuses SPLIT=$other and accepts SPLIT=$stored"
    else
      fail "the split check with $stored stored: $(cat "$work/split-apply.log" "$work/split-check.log")"
    fi
    kubectl_ delete -n so1-fase2 -f "$MESH_DIR/components/$stored/$object" --ignore-not-found >/dev/null 2>&1
  done
else
  fail "kube-apiserver did not start"
fi
apiserver_stop
trap - EXIT
unset KUBECONFIG

# --- deploy scripts in DRY_RUN mode, shellcheck, actionlint --------------------
if KUBECTL="$KUBECTL" bash "$MESH_DIR/tests/scripts-dry-run.sh" >"$work/scripts.log" 2>&1; then
  pass "deploy scripts print the expected commands in DRY_RUN mode ($(grep -c '^ok ' "$work/scripts.log") checks)"
else
  fail "deploy scripts in DRY_RUN mode:"
  cat "$work/scripts.log"
fi
scripts=("$ROOT/scripts/cluster-up.sh" "$ROOT/scripts/vm-setup.sh" "$ROOT/scripts/cloudrun-deploy.sh"
  "$MESH_DIR"/tests/*.sh "$MESH_DIR"/secrets/*.sh)
if (cd "$ROOT" && shellcheck -x "${scripts[@]}") >"$work/shellcheck.log" 2>&1; then
  pass "shellcheck: ${#scripts[@]} scripts clean"
else
  fail "shellcheck:"
  cat "$work/shellcheck.log"
fi
if (cd "$ROOT" && "$bin_dir/actionlint" -shellcheck "$(command -v shellcheck)" \
  .github/workflows/ci.yml .github/workflows/images.yml) >"$work/actionlint.log" 2>&1; then
  pass "actionlint: ci.yml and images.yml clean"
else
  fail "actionlint:"
  cat "$work/actionlint.log"
fi

# actionlint knows the actions' inputs: a misspelt one must be reported.
mkdir -p "$work/actionlint-bad/.github/workflows"
sed 's/^          file: /          dockerfile: /' "$ROOT/.github/workflows/images.yml" >"$work/actionlint-bad/.github/workflows/images.yml"
if ! (cd "$work/actionlint-bad" && "$bin_dir/actionlint" .github/workflows/images.yml) >"$work/actionlint-bad.log" 2>&1 &&
  grep -q 'input "dockerfile" is not defined' "$work/actionlint-bad.log"; then
  pass "actionlint reports an unknown docker/build-push-action input"
else
  fail "actionlint missed an unknown input: $(cat "$work/actionlint-bad.log")"
fi
echo "mesh: $passed passed, $failed failed"
((failed == 0))
