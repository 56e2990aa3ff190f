#!/usr/bin/env bash
# The monitored Ubuntu VMs (22.04/24.04) and the load balancer in front of them.
#
#   vm-setup.sh cloud   (default, from a workstation with gcloud) creates an
#       instance template whose startup script runs `vm-setup.sh node`, a managed
#       instance group of VM_COUNT VMs (default 1, the one VM the spec measures:
#       records do not say which VM read them, so the dashboard would draw
#       several as one line), autohealing on GET /healthz, and a global HTTP
#       load balancer that sends traffic only to agents whose /readyz is 200
#       (modules loaded and readable), so Locust loads the VMs through one
#       address; prints that address.
#   vm-setup.sh node    (on the VM, as root) builds and loads the kernel modules
#       with kernel-modules/install.sh, installs Docker, and runs the agent's
#       container on port AGENT_VM_PORT, reading the host's /proc.
#
# Configuration (environment or .env): GCP_PROJECT (cloud), GCP_REGION,
# GCP_ZONE, VM_PREFIX, VM_COUNT, VM_MACHINE_TYPE, VM_IMAGE_FAMILY, CARNET,
# DOCKERHUB_USERNAME, IMAGE_TAG, AGENT_VM_PORT.
# DRY_RUN=1 prints every command instead of running it.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
source "$SCRIPT_DIR/env.sh"
# shellcheck source=mesh/deploy-lib.sh
source "$PROJECT_ROOT/mesh/deploy-lib.sh"

GCP_ZONE="${GCP_ZONE:-us-central1-a}"
VM_PREFIX="${VM_PREFIX:-so1-monitor}"
VM_COUNT="${VM_COUNT:-1}"
VM_MACHINE_TYPE="${VM_MACHINE_TYPE:-e2-medium}"
VM_IMAGE_FAMILY="${VM_IMAGE_FAMILY:-ubuntu-2404-lts-amd64}"
DOCKERHUB_USERNAME="${DOCKERHUB_USERNAME:-so1fase2}"
IMAGE_TAG="${IMAGE_TAG:-$(default_image_tag)}"
AGENT_VM_PORT="${AGENT_VM_PORT:-8080}"
AGENT_IMAGE="docker.io/$DOCKERHUB_USERNAME/so1-agent:$IMAGE_TAG"

require_pinned_tag
require_published_image "$AGENT_IMAGE"
if ! [[ "$VM_COUNT" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: VM_COUNT must be a positive integer (got '$VM_COUNT')" >&2
  exit 2
fi

node_setup() {
  require_vars CARNET
  if [[ "$DRY_RUN" != 1 && $EUID -ne 0 ]]; then
    echo "error: vm-setup.sh node installs kernel modules and Docker: run it as root" >&2
    exit 1
  fi
  echo "== kernel modules (CARNET=$CARNET): /proc/cpu_$CARNET, /proc/ram_$CARNET, /proc/procesos_$CARNET"
  run env CARNET="$CARNET" "$PROJECT_ROOT/kernel-modules/install.sh" install
  echo "== Docker and the agent's container"
  run "$PROJECT_ROOT/scripts/ensure-packages.sh" docker.io
  run systemctl enable --now docker
  run docker pull "$AGENT_IMAGE"
  if [[ "$DRY_RUN" == 1 ]] || docker container inspect so1-agent >/dev/null 2>&1; then
    run docker rm -f so1-agent
  fi
  # The host's /proc read-only at /host/proc: the modules' files, and the
  # kernel's own figures for the agent's fallback, are the VM's, not the container's.
  run docker run -d --name so1-agent --restart unless-stopped \
    -p "$AGENT_VM_PORT:8080" -v /proc:/host/proc:ro \
    -e AGENT_ADDR=:8080 -e AGENT_CARNET="$CARNET" -e AGENT_PROC_ROOT=/host/proc \
    -e AGENT_REQUIRE_MODULES=true "$AGENT_IMAGE"
  echo "agent: http://$(hostname -I 2>/dev/null | awk '{print $1}'):$AGENT_VM_PORT/api/metrics"
}

cloud_setup() {
  require_vars GCP_PROJECT CARNET
  require_tools gcloud tar base64
  local template="$VM_PREFIX-template-$IMAGE_TAG" group="$VM_PREFIX-group"
  local health_check="$VM_PREFIX-healthz" ready_check="$VM_PREFIX-readyz" backend="$VM_PREFIX-backend"
  local url_map="$VM_PREFIX-lb" proxy="$VM_PREFIX-proxy" rule="$VM_PREFIX-http"
  local bundle_dir="$RUN_DIR/vm-setup"
  mkdir -p "$bundle_dir"

  echo "== the VM's startup script: unpack the project files it needs, run \`vm-setup.sh node\`"
  # The sources travel in instance metadata (well under its 256 KiB limit), so a
  # VM that the group recreates sets itself up again with no access to the repository.
  run tar -czf "$bundle_dir/bundle.tgz" -C "$PROJECT_ROOT" \
    --exclude='*.ko' --exclude='*.o' --exclude='.run' \
    kernel-modules scripts/vm-setup.sh scripts/env.sh scripts/ensure-packages.sh \
    mesh/deploy-lib.sh .env.example
  run_pipe "base64 -w0 $(printf %q "$bundle_dir/bundle.tgz") > $(printf %q "$bundle_dir/bundle.b64")"
  cat >"$bundle_dir/startup.sh" <<STARTUP
#!/bin/bash
# Startup script of the $VM_PREFIX VMs, written by scripts/vm-setup.sh.
set -euo pipefail
mkdir -p /opt/so1-fase2 && cd /opt/so1-fase2
curl -fsS -H 'Metadata-Flavor: Google' \\
  'http://metadata.google.internal/computeMetadata/v1/instance/attributes/so1-bundle' | base64 -d | tar -xz
apt-get update -q
apt-get install -y -q build-essential "linux-headers-\$(uname -r)"
CARNET=$CARNET DOCKERHUB_USERNAME=$DOCKERHUB_USERNAME IMAGE_TAG=$IMAGE_TAG AGENT_VM_PORT=$AGENT_VM_PORT \\
  scripts/vm-setup.sh node
STARTUP
  echo "wrote $bundle_dir/startup.sh"

  echo "== instance template and managed instance group ($VM_COUNT x $VM_MACHINE_TYPE, $VM_IMAGE_FAMILY)"
  run gcloud config set project "$GCP_PROJECT"
  run gcloud compute instance-templates create "$template" \
    --machine-type "$VM_MACHINE_TYPE" --image-family "$VM_IMAGE_FAMILY" --image-project ubuntu-os-cloud \
    --tags "$VM_PREFIX" \
    --metadata-from-file "startup-script=$bundle_dir/startup.sh,so1-bundle=$bundle_dir/bundle.b64"
  run gcloud compute health-checks create http "$health_check" \
    --port "$AGENT_VM_PORT" --request-path /healthz --check-interval 10s --timeout 5s \
    --healthy-threshold 2 --unhealthy-threshold 3
  # The group recreates a VM whose /healthz (the agent process) keeps failing;
  # the delay covers the first boot's module build and image pull. A VM whose
  # modules are missing is not recreated, only taken out of the load balancer
  # (its /readyz check, below).
  run gcloud compute instance-groups managed create "$group" --zone "$GCP_ZONE" \
    --template "$template" --size "$VM_COUNT" \
    --health-check "$health_check" --initial-delay 600
  run gcloud compute instance-groups managed set-named-ports "$group" --zone "$GCP_ZONE" \
    --named-ports "http:$AGENT_VM_PORT"

  echo "== HTTP load balancer: health check /readyz, backend service, URL map, proxy, forwarding rule"
  run gcloud compute health-checks create http "$ready_check" \
    --port "$AGENT_VM_PORT" --request-path /readyz --check-interval 10s --timeout 5s \
    --healthy-threshold 2 --unhealthy-threshold 3
  # Google's health checkers and load balancer reach the VMs from these ranges.
  run gcloud compute firewall-rules create "$VM_PREFIX-allow-lb" --network default \
    --allow "tcp:$AGENT_VM_PORT" --source-ranges 130.211.0.0/22,35.191.0.0/16 \
    --target-tags "$VM_PREFIX"
  run gcloud compute backend-services create "$backend" --global --protocol HTTP \
    --port-name http --health-checks "$ready_check" --timeout 30s
  run gcloud compute backend-services add-backend "$backend" --global \
    --instance-group "$group" --instance-group-zone "$GCP_ZONE" \
    --balancing-mode UTILIZATION --max-utilization 0.8
  run gcloud compute url-maps create "$url_map" --default-service "$backend"
  run gcloud compute target-http-proxies create "$proxy" --url-map "$url_map"
  run gcloud compute forwarding-rules create "$rule" --global \
    --target-http-proxy "$proxy" --ports 80
  local address
  address="$(capture 198.51.100.20 gcloud compute forwarding-rules describe "$rule" --global \
    --format 'value(IPAddress)')"
  echo "LB_ADDRESS=$address"
  echo "agents behind the load balancer: http://$address/api/metrics (Locust collect: --host http://$address)"
}

case "${1:-cloud}" in
  cloud) cloud_setup ;;
  node) node_setup ;;
  *) echo "usage: $0 [cloud|node]" >&2; exit 2 ;;
esac
