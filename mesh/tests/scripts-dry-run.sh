#!/usr/bin/env bash
# Runs scripts/cluster-up.sh, scripts/vm-setup.sh and scripts/cloudrun-deploy.sh
# with DRY_RUN=1 and checks the commands they print: every step the manual
# describes, in the right order, with this run's values, and never a password.
# KUBECTL (from run.sh) renders the kustomization cluster-up.sh writes.
set -uo pipefail
MESH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$MESH_DIR/.." && pwd)"
KUBECTL="${KUBECTL:-kubectl}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failures=0
ok() { echo "ok $*"; }
not_ok() { echo "not ok $*"; failures=$((failures + 1)); }

# expect NAME FILE FIXED-STRING...: every string occurs in FILE.
expect() {
  local name="$1" file="$2"
  shift 2
  local s
  for s in "$@"; do
    if grep -qF -- "$s" "$file"; then ok "$name: $s"; else not_ok "$name: missing: $s"; fi
  done
}
# before NAME FILE FIRST SECOND: FIRST's first line comes before SECOND's.
before() {
  local a b
  a="$(grep -nF -- "$3" "$2" | head -n1 | cut -d: -f1)"
  b="$(grep -nF -- "$4" "$2" | head -n1 | cut -d: -f1)"
  if [[ -n "$a" && -n "$b" && "$a" -lt "$b" ]]; then ok "$1: '$3' before '$4'"; else not_ok "$1: '$3' must come before '$4'"; fi
}
# fails NAME WANT-STATUS CMD...: the command exits with WANT-STATUS.
fails() {
  local name="$1" want="$2"
  shift 2
  "$@" >"$work/fails.out" 2>&1
  local status=$?
  if [[ "$status" == "$want" ]]; then ok "$name (exit $status)"; else not_ok "$name: exit $status, want $want: $(head -c 300 "$work/fails.out")"; fi
}

export DRY_RUN=1 RUN_DIR="$work/run" GCP_PROJECT=demo-project DOCKERHUB_USERNAME=testuser \
  IMAGE_TAG=abc1234 DB_USER=monitor DB_NAME=monitor DB_PASSWORD=NeverPrintThisPassword42 \
  DB_MIGRATE_PASSWORD=NeverPrintThisMigratePassword43 INGEST_TOKEN=NeverPrintThisToken44 \
  DB_READ_USER=monitor_read DB_READ_PASSWORD=NeverPrintThisReadPassword45 \
  CARNET=202012345

# --- cluster-up.sh -------------------------------------------------------------
out="$work/cluster-up.out"
DASHBOARD_URL=https://dash.example.test SPLIT=httproute-split "$ROOT/scripts/cluster-up.sh" >"$out" 2>&1 || not_ok "cluster-up.sh exited $?"
expect cluster-up "$out" \
  "+ gcloud container clusters create so1-fase2 " "--workload-pool demo-project.svc.id.goog" \
  "+ gcloud container clusters get-credentials so1-fase2" \
  "+ kubectl apply --server-side -f " "gateway-api@v1.2.1/config/crd/standard/" \
  "+ linkerd install --crds | kubectl apply" "+ linkerd install | kubectl apply -f -" \
  "+ linkerd viz install | kubectl apply -f -" "+ linkerd check" \
  "+ helm upgrade --install ingress-nginx" 'controller.podAnnotations.linkerd\\.io/inject=enabled' \
  "+ gcloud sql instances create so1-fase2-mysql --database-version=MYSQL_8_0" "--no-assign-ip" \
  "+ gcloud sql databases create monitor" "--password=<hidden>" \
  "--role roles/cloudsql.client" "demo-project.svc.id.goog\\[so1-fase2/so1-fase2-app\\]" \
  "create secret generic db-credentials" "DB_HOST=127.0.0.1 DB_PORT=3306" \
  "create secret generic db-migrate-credentials" "create secret generic ingest-token" \
  "create secret generic db-read-credentials" "DB_USER=monitor_read" "gcloud sql users create monitor_read" \
  "+ kubectl -n so1-fase2 delete job db-migrate --ignore-not-found" \
  "+ kubectl apply -k $work/run/cluster-up/kustomization -l app.kubernetes.io/component\\!=ingest" \
  "+ kubectl -n so1-fase2 wait --for=condition=complete job/db-migrate --timeout=300s" \
  "+ kubectl apply -k $work/run/cluster-up/kustomization" \
  "rollout status deployment/route1-python" "rollout status deployment/route2-node" \
  "rollout status deployment/ws-server" "INGRESS_ADDRESS="
before cluster-up "$out" "gateway-api@v1.2.1" "+ linkerd install --crds"
before cluster-up "$out" "+ linkerd install | kubectl" "+ helm upgrade --install ingress-nginx"
before cluster-up "$out" "create secret generic db-credentials" "+ kubectl apply -k"
if grep -q "linkerd smi install" "$out"; then not_ok "cluster-up: linkerd-smi installed for the HTTPRoute split"; else ok "cluster-up: no linkerd-smi for the HTTPRoute split"; fi
if grep -qE 'NeverPrintThis(Migrate|Read)?Password4[235]|NeverPrintThisToken44' "$out"; then not_ok "cluster-up printed a password or the token"; else ok "cluster-up never prints a password or the token"; fi

# The kustomization it wrote renders, with this run's images and values.
rendered="$work/cluster-up.rendered.yaml"
if "$KUBECTL" kustomize "$work/run/cluster-up/kustomization" >"$rendered" 2>"$work/kustomize.err"; then
  ok "cluster-up: its kustomization renders"
  expect cluster-up-overlay "$rendered" \
    "image: docker.io/testuser/so1-route1-python:abc1234" \
    "image: docker.io/testuser/so1-route2-node:abc1234" \
    "image: docker.io/testuser/so1-ws-server:abc1234" \
    "INSTANCE_CONNECTION_NAME: demo-project:us-central1:so1-fase2-mysql" \
    "iam.gke.io/gcp-service-account: so1-fase2-sql@demo-project.iam.gserviceaccount.com" \
    "CORS_ORIGINS: https://dash.example.test" "kind: HTTPRoute" "restartPolicy: Always"
  if grep -qE "so1fase2/|PROJECT_ID" "$rendered"; then not_ok "cluster-up-overlay: a placeholder survived: $(grep -E 'so1fase2/|PROJECT_ID' "$rendered" | head -n3)"; else ok "cluster-up-overlay: no placeholder left"; fi
else
  not_ok "cluster-up: its kustomization does not render: $(cat "$work/kustomize.err")"
fi

# The default split is SMI's TrafficSplit.
out="$work/cluster-up-smi.out"
env -u SPLIT "$ROOT/scripts/cluster-up.sh" >"$out" 2>&1 || not_ok "cluster-up.sh with the default SPLIT exited $?"
expect cluster-up-smi "$out" "+ linkerd smi install | kubectl apply -f -" "+ linkerd smi check" \
  "check that no httproutes.gateway.networking.k8s.io exists in namespace so1-fase2"
before cluster-up-smi "$out" "check that no httproutes" "+ kubectl apply -k"
if "$KUBECTL" kustomize "$work/run/cluster-up/kustomization" >"$work/smi.rendered.yaml" &&
  grep -q "kind: TrafficSplit" "$work/smi.rendered.yaml" && ! grep -q "kind: HTTPRoute" "$work/smi.rendered.yaml"; then
  ok "cluster-up-smi: applies the TrafficSplit and no HTTPRoute"
else
  not_ok "cluster-up-smi: its kustomization must hold a TrafficSplit and no HTTPRoute"
fi

# The linkerd CLI's versions: a fake CLI on PATH prints the versions it is given.
# shellcheck source=mesh/deploy-lib.sh
source "$MESH_DIR/deploy-lib.sh"
fake_bin="$work/fake-bin"
mkdir -p "$fake_bin"
fake_linkerd() { # fake_linkerd CLIENT_VERSION SMI_VERSION
  printf '#!/bin/sh\ncase "$*" in\n  "version --client --short") echo %s ;;\n  "smi version") echo %s ;;\n  *) exit 1 ;;\nesac\n' "$1" "$2" >"$fake_bin/linkerd"
  chmod +x "$fake_bin/linkerd"
}
fake_linkerd "$LINKERD_VERSION" "$LINKERD_SMI_VERSION"
fails "cluster-up accepts linkerd $LINKERD_VERSION with linkerd-smi $LINKERD_SMI_VERSION" 0 env PATH="$fake_bin:$PATH" "$ROOT/scripts/cluster-up.sh"
fake_linkerd edge-25.4.4 "$LINKERD_SMI_VERSION"
fails "cluster-up refuses another linkerd CLI (edge-25.4.4)" 2 env PATH="$fake_bin:$PATH" "$ROOT/scripts/cluster-up.sh"
expect "cluster-up's linkerd version hint" "$work/fails.out" "'edge-25.4.4'" "LINKERD2_VERSION=$LINKERD_VERSION sh"
fake_linkerd "$LINKERD_VERSION" v0.2.1
fails "cluster-up refuses another linkerd-smi (v0.2.1) for the SMI split" 2 env PATH="$fake_bin:$PATH" "$ROOT/scripts/cluster-up.sh"
expect "cluster-up's linkerd-smi version hint" "$work/fails.out" "'v0.2.1'" "LINKERD_SMI_VERSION=$LINKERD_SMI_VERSION sh"
fails "cluster-up ignores linkerd-smi's version for the HTTPRoute split" 0 env PATH="$fake_bin:$PATH" SPLIT=httproute-split "$ROOT/scripts/cluster-up.sh"

fails "cluster-up rejects IMAGE_TAG=latest" 2 env IMAGE_TAG=latest "$ROOT/scripts/cluster-up.sh"
fails "cluster-up rejects an unknown SPLIT" 2 env SPLIT=istio "$ROOT/scripts/cluster-up.sh"
fails "cluster-up needs GCP_PROJECT" 1 env -u GCP_PROJECT "$ROOT/scripts/cluster-up.sh"

# --- vm-setup.sh -----------------------------------------------------------------
out="$work/vm-cloud.out"
VM_COUNT=3 "$ROOT/scripts/vm-setup.sh" cloud >"$out" 2>&1 || not_ok "vm-setup.sh cloud exited $?"
expect vm-setup-cloud "$out" \
  "+ gcloud compute instance-templates create so1-monitor-template-abc1234" \
  "--image-family ubuntu-2404-lts-amd64" "startup-script=$work/run/vm-setup/startup.sh" \
  "+ gcloud compute health-checks create http so1-monitor-healthz --port 8080 --request-path /healthz" \
  "+ gcloud compute instance-groups managed create so1-monitor-group" "--size 3" \
  "--named-ports http:8080" \
  "+ gcloud compute firewall-rules create so1-monitor-allow-lb" \
  "+ gcloud compute backend-services create so1-monitor-backend --global --protocol HTTP" \
  "+ gcloud compute health-checks create http so1-monitor-readyz --port 8080 --request-path /readyz" \
  "--health-check so1-monitor-healthz --initial-delay 600" "--health-checks so1-monitor-readyz" \
  "+ gcloud compute backend-services add-backend so1-monitor-backend" \
  "+ gcloud compute url-maps create so1-monitor-lb --default-service so1-monitor-backend" \
  "+ gcloud compute target-http-proxies create so1-monitor-proxy --url-map so1-monitor-lb" \
  "+ gcloud compute forwarding-rules create so1-monitor-http --global --target-http-proxy so1-monitor-proxy --ports 80" \
  "LB_ADDRESS="
before vm-setup-cloud "$out" "health-checks create" "backend-services create"
expect vm-setup-startup "$work/run/vm-setup/startup.sh" "scripts/vm-setup.sh node" "CARNET=202012345" "IMAGE_TAG=abc1234"
out="$work/vm-node.out"
"$ROOT/scripts/vm-setup.sh" node >"$out" 2>&1 || not_ok "vm-setup.sh node exited $?"
expect vm-setup-node "$out" \
  "+ env CARNET=202012345 $ROOT/kernel-modules/install.sh install" \
  "+ docker run -d --name so1-agent --restart unless-stopped -p 8080:8080" \
  "-e AGENT_CARNET=202012345" "docker.io/testuser/so1-agent:abc1234"
before vm-setup-node "$out" "kernel-modules/install.sh" "+ docker run"
out="$work/vm-default.out"
"$ROOT/scripts/vm-setup.sh" cloud >"$out" 2>&1 || not_ok "vm-setup.sh cloud (default VM_COUNT) exited $?"
expect "vm-setup-cloud (default: one VM)" "$out" "--size 1 "
fails "vm-setup rejects VM_COUNT=0" 2 env VM_COUNT=0 "$ROOT/scripts/vm-setup.sh" cloud
fails "vm-setup rejects an unknown mode" 2 "$ROOT/scripts/vm-setup.sh" everything

# --- cloudrun-deploy.sh --------------------------------------------------------------
service_files=("$MESH_DIR/tests/fixtures/cloudrun-service.yaml")
if [[ -f "$ROOT/web-dashboard/cloudrun/service.yaml" ]]; then
  service_files+=("$ROOT/web-dashboard/cloudrun/service.yaml")
else
  echo "note: web-dashboard/cloudrun/service.yaml does not exist yet; only the fixture is deployed"
fi
for service_file in "${service_files[@]}"; do
  out="$work/cloudrun.out"
  SERVICE_FILE="$service_file" WS_UPSTREAM=http://203.0.113.10 "$ROOT/scripts/cloudrun-deploy.sh" >"$out" 2>&1 ||
    not_ok "cloudrun-deploy.sh with $service_file exited $?: $(cat "$out")"
  expect "cloudrun ($(basename "$(dirname "$service_file")"))" "$out" \
    "+ gcloud run services replace $work/run/cloudrun/service.yaml --region us-central1" \
    "--member allUsers --role roles/run.invoker" "DASHBOARD_URL="
  expect "cloudrun rendered ($(basename "$(dirname "$service_file")"))" "$work/run/cloudrun/service.yaml" \
    "image: docker.io/testuser/so1-web-dashboard:abc1234" "- name: WS_UPSTREAM" 'value: "http://203.0.113.10"'
  if grep -q "name: WS_URL" "$work/run/cloudrun/service.yaml"; then
    not_ok "cloudrun rendered ($(basename "$(dirname "$service_file")")) still sets WS_URL"
  fi
done
expect "cloudrun timeout (web-dashboard)" "$ROOT/web-dashboard/cloudrun/service.yaml" "timeoutSeconds: 3600"
fails "cloudrun-deploy rejects a WS_UPSTREAM that is no URL" 2 env WS_UPSTREAM=ingress "$ROOT/scripts/cloudrun-deploy.sh"
fails "cloudrun-deploy rejects an https WS_UPSTREAM" 2 env WS_UPSTREAM=https://203.0.113.10 "$ROOT/scripts/cloudrun-deploy.sh"
fails "cloudrun-deploy rejects WS_UPSTREAM with a path" 2 env WS_UPSTREAM=http://203.0.113.10/socket.io "$ROOT/scripts/cloudrun-deploy.sh"
fails "cloudrun-deploy names WS_UPSTREAM when given only WS_URL" 2 env -u WS_UPSTREAM WS_URL=http://203.0.113.10 "$ROOT/scripts/cloudrun-deploy.sh"
expect "cloudrun-deploy's WS_URL hint" "$work/fails.out" "takes WS_UPSTREAM" "WS_UPSTREAM=http://203.0.113.10"
fails "cloudrun-deploy rejects IMAGE_TAG=latest" 2 env WS_UPSTREAM=http://203.0.113.10 IMAGE_TAG=latest "$ROOT/scripts/cloudrun-deploy.sh"

# --- image tags ------------------------------------------------------------------
# Every deploy checks its images are published; without IMAGE_TAG it takes the
# short SHA of this commit, the tag the images workflow publishes for a push to main.
expect cluster-up-published "$work/cluster-up.out" "+ check that docker.io/testuser/so1-route1-python:abc1234 is published" \
  "+ check that docker.io/testuser/so1-route2-node:abc1234 is published" "+ check that docker.io/testuser/so1-ws-server:abc1234 is published"
expect vm-setup-published "$work/vm-cloud.out" "+ check that docker.io/testuser/so1-agent:abc1234 is published"
short_sha="$(git -C "$ROOT" rev-parse --short=7 HEAD)"
env -u IMAGE_TAG WS_UPSTREAM=http://203.0.113.10 "$ROOT/scripts/cloudrun-deploy.sh" >"$work/cloudrun-default-tag.out" 2>&1 ||
  not_ok "cloudrun-deploy.sh without IMAGE_TAG exited $?"
expect cloudrun-default-tag "$work/cloudrun-default-tag.out" "+ check that docker.io/testuser/so1-web-dashboard:$short_sha is published"
# A tag Docker Hub does not have stops the deploy before any command, naming the image
# (Docker Hub is out of reach here: a local server answers its tags API with 404).
fake_hub_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 -m http.server --bind 127.0.0.1 --directory "$work" "$fake_hub_port" >/dev/null 2>&1 &
fake_hub=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$fake_hub_port") 2>/dev/null && break; sleep 0.1; done
fails "cloudrun-deploy stops on an unpublished tag" 2 env DRY_RUN=0 DOCKERHUB_API="http://127.0.0.1:$fake_hub_port" \
  WS_UPSTREAM=http://203.0.113.10 IMAGE_TAG=0000000 "$ROOT/scripts/cloudrun-deploy.sh"
expect "unpublished tag message" "$work/fails.out" "docker.io/testuser/so1-web-dashboard:0000000 is not published on Docker Hub"
if grep -q "^+ gcloud" "$work/fails.out"; then not_ok "cloudrun-deploy ran gcloud before the tag check"; fi
kill "$fake_hub"

echo "$failures failed"
((failures == 0))
