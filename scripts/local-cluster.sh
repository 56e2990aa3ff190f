#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, every part a plain process
# started and stopped by PID, all state under $CLUSTER_DIR (default
# $RUN_DIR/cluster):
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
#   kube-proxy (Kubernetes v1.37.2), containerd 2 with runc, kube-router for
#   NetworkPolicies (all built from Go modules by mesh/tests/k8s-tools.sh, runc
#   and the CNI plugins from Debian), and CoreDNS as a pod.
#
#   scripts/local-cluster.sh up          start (idempotent); waits until the node and CoreDNS are Ready
#   scripts/local-cluster.sh down        stop everything, unmount, delete the bridge and the iptables rules
#   scripts/local-cluster.sh status      exit 0 when the API answers and the node is Ready
#   scripts/local-cluster.sh kubeconfig  print the admin kubeconfig's path
#   scripts/local-cluster.sh deploy      build the images, load them, start the host's MariaDB on
#                                        172.18.0.1 too, apply the `local` variant, the entry point
#                                        and the dashboard, wait for every pod
#   scripts/local-cluster.sh load        the main job through the cluster: Locust (on the host)
#                                        collects from the agent and replays through the entry point,
#                                        then the summary and the route comparison, as `make up` prints them;
#                                        the dashboard pod shows the rows at http://127.0.0.1:30088/
#   scripts/local-cluster.sh load-images IMAGE...   copy podman images into containerd
#
# Network: the pods live on the bridge so1-k8s0, 172.18.0.0/24, whose gateway
# 172.18.0.1 is this host, as kind's docker network shows the host to its pods
# (mesh/overlays/local/database.yaml points there). Services: 172.19.0.0/16.
# The API server, the kubelet and the database listen on 172.18.0.1.
#
# What this machine forces (measured; see docs/manual.md, "The cluster on one machine"):
# cgroup v1 without systemd (kubelet: cgroupfs, failCgroupV1: false); root cannot
# lower an oom_score_adj (containerd: restrict_oom_score_adj; kubelet and
# kube-proxy: 0); no image registry (images are imported, kubelet never
# garbage-collects them).
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=mesh/deploy-lib.sh
source "$PROJECT_ROOT/mesh/deploy-lib.sh"

CLUSTER_DIR="${CLUSTER_DIR:-$RUN_DIR/cluster}"
case "$CLUSTER_DIR" in /*) ;; *) CLUSTER_DIR="$PROJECT_ROOT/$CLUSTER_DIR" ;; esac
NODE_NAME=so1-node
BRIDGE=so1-k8s0
HOST_IP=172.18.0.1
POD_CIDR=172.18.0.0/24
SERVICE_CIDR=172.19.0.0/16
API_SERVICE_IP=172.19.0.1
DNS_SERVICE_IP=172.19.0.10
API_PORT=6443
ETCD_CLIENT_PORT=12479
ETCD_PEER_PORT=12480
PAUSE_IMAGE=registry.k8s.io/pause:3.10
# Bounded waits; each failure names what it waited for and shows the log.
START_TIMEOUT_S="${CLUSTER_START_TIMEOUT_S:-240}"

PKI="$CLUSTER_DIR/pki"
LOGS="$CLUSTER_DIR/logs"
PIDS="$CLUSTER_DIR/pids"
CONTAINERD_SOCK="$CLUSTER_DIR/containerd/containerd.sock"
KUBELET_DIR="$CLUSTER_DIR/kubelet"
ADMIN_KUBECONFIG="$CLUSTER_DIR/admin.kubeconfig"
# Stopped in reverse order.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy kube-router)

die() { echo "local-cluster.sh: $*" >&2; exit 1; }
log() { echo "local-cluster: $*" >&2; }

tools() { BIN="$("$PROJECT_ROOT/mesh/tests/k8s-tools.sh")"; }
kubectl_() { "$BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

pid_of() {
  local file="$PIDS/$1.pid" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# host_ip_is_local: 172.18.0.1 is this host's (on the bridge). Every part talks
# to it; were it not local, that traffic would leave the machine.
host_ip_is_local() {
  ip -4 -o addr show dev "$BRIDGE" 2>/dev/null | grep -q " inet $HOST_IP/"
}

# start NAME CMD ARGS...: run in its own session, log to $LOGS/NAME.log.
start() {
  local name="$1"
  shift
  pid_of "$name" >/dev/null && return 0
  host_ip_is_local || die "$HOST_IP is not on bridge $BRIDGE: not starting $name"
  setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$PIDS/$name.pid"
}

# wait_for WHAT CMD...: until CMD succeeds, or fail after START_TIMEOUT_S naming WHAT.
wait_for() {
  local what="$1" deadline=$((SECONDS + START_TIMEOUT_S)) name
  shift
  until "$@" >/dev/null 2>&1; do
    for name in "${COMPONENTS[@]}"; do
      if [[ -f "$PIDS/$name.pid" ]] && ! pid_of "$name" >/dev/null; then
        tail -n 30 "$LOGS/$name.log" >&2
        die "$name exited while waiting for $what (log: $LOGS/$name.log)"
      fi
    done
    ((SECONDS < deadline)) || die "timed out after ${START_TIMEOUT_S}s waiting for $what (logs: $LOGS/)"
    sleep 1
  done
}

# --- certificates ---------------------------------------------------------------
# cert NAME SUBJECT [SANS]: a key and a certificate signed by the cluster CA.
cert() {
  local name="$1" subject="$2" sans="${3:-}"
  [[ -f "$PKI/$name.crt" ]] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n%s\n' \
    "${sans:+subjectAltName=$sans}" >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 30 \
    -out "$PKI/$name.crt" -extfile "$PKI/$name.ext" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

kubeconfig() { # kubeconfig NAME CERT: a kubeconfig for the client certificate CERT
  local file="$CLUSTER_DIR/$1.kubeconfig" cert="$2"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: so1-local
    cluster:
      server: https://$HOST_IP:$API_PORT
      certificate-authority: $PKI/ca.crt
users:
  - name: $1
    user:
      client-certificate: $PKI/$cert.crt
      client-key: $PKI/$cert.key
contexts:
  - name: so1-local
    context: {cluster: so1-local, user: $1}
current-context: so1-local
EOF
  chmod 600 "$file"
}

make_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  if [[ ! -f "$PKI/ca.crt" ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=so1-local-ca \
      -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  cert apiserver /CN=kube-apiserver \
    "IP:$HOST_IP,IP:$API_SERVICE_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
  cert admin "/O=system:masters/CN=so1-local-admin"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert controller-manager /CN=system:kube-controller-manager
  cert scheduler /CN=system:kube-scheduler
  cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "IP:$HOST_IP,DNS:$NODE_NAME"
  cert kube-proxy /CN=system:kube-proxy
  cert kube-router /CN=system:kube-router
  kubeconfig admin admin
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kubelet kubelet
  kubeconfig kube-proxy kube-proxy
  kubeconfig kube-router kube-router
}

# --- network ----------------------------------------------------------------------
make_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$HOST_IP/${POD_CIDR#*/}" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  host_ip_is_local || die "bridge $BRIDGE exists without $HOST_IP; delete it (ip link del $BRIDGE) and retry"
  # Pod-to-pod traffic on the bridge must cross iptables: Service DNAT replies and NetworkPolicies.
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1
  mkdir -p "$CLUSTER_DIR/cni/net.d"
  cat >"$CLUSTER_DIR/cni/net.d/10-so1-local.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "so1-local",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$CLUSTER_DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$HOST_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# --- the parts ---------------------------------------------------------------------
start_control_plane() {
  start etcd "$BIN/etcd" --name so1-local --data-dir "$CLUSTER_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "so1-local=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" --log-level warn
  start kube-apiserver "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address "$HOST_IP" --advertise-address "$HOST_IP" --secure-port "$API_PORT" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" --client-ca-file "$PKI/ca.crt" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction --allow-privileged=true \
    --service-cluster-ip-range "$SERVICE_CIDR" --cert-dir "$PKI/apiserver-generated"
  wait_for "kube-apiserver /readyz" kubectl_ get --raw /readyz
  start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR"
  start kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" --authorization-kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false
}

start_containerd() {
  mkdir -p "$CLUSTER_DIR/containerd"
  cat >"$CLUSTER_DIR/containerd/config.toml" <<EOF
version = 3
root = "$CLUSTER_DIR/containerd/root"
state = "$CLUSTER_DIR/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$PAUSE_IMAGE"
[plugins.'io.containerd.cri.v1.runtime']
  # Root here cannot lower an oom_score_adj: clamp kubelet's -998/-997 to our own.
  restrict_oom_score_adj = true
  enable_selinux = false
  # The pods' network namespaces under the cluster dir, where down unmounts them with the rest.
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$CLUSTER_DIR/cni/net.d"
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
EOF
  # The shim is found on PATH.
  start containerd env PATH="$BIN:$PATH" "$BIN/containerd" --config "$CLUSTER_DIR/containerd/config.toml"
  wait_for "containerd's socket" "$BIN/ctr" --address "$CONTAINERD_SOCK" version
}

start_kubelet() {
  mkdir -p "$KUBELET_DIR"
  cat >"$CLUSTER_DIR/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $HOST_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
maxPods: 40
# The images were imported, not pulled: nothing could pull them back.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2%}
EOF
  start kubelet "$BIN/kubelet" --config "$CLUSTER_DIR/kubelet-config.yaml" --kubeconfig "$CLUSTER_DIR/kubelet.kubeconfig" \
    --root-dir "$KUBELET_DIR" --node-ip "$HOST_IP" --hostname-override "$NODE_NAME"
}

start_node_network() {
  start kube-proxy "$BIN/kube-proxy" --kubeconfig "$CLUSTER_DIR/kube-proxy.kubeconfig" --hostname-override "$NODE_NAME" \
    --proxy-mode iptables --cluster-cidr "$POD_CIDR" --oom-score-adj 0 --conntrack-max-per-core 0 \
    --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256
  kubectl_ apply -f "$PROJECT_ROOT/mesh/local-cluster/kube-router-rbac.yaml" >/dev/null
  start kube-router "$BIN/kube-router" --kubeconfig "$CLUSTER_DIR/kube-router.kubeconfig" --hostname-override "$NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --service-cluster-ip-range "$SERVICE_CIDR" --health-port 0 --metrics-port 0
}

load_images() { # IMAGE...: podman's image store -> containerd's k8s.io namespace
  local image
  for image in "$@"; do
    "$PROJECT_ROOT/scripts/podman.sh" save --format oci-archive "$image" |
      "$BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io images import --no-unpack=false - >/dev/null ||
      die "could not load $image into containerd"
  done
}

# The sandbox image, built here from Kubernetes' own pause.c (no registry to pull it from).
pause_image() {
  "$PROJECT_ROOT/scripts/podman.sh" image exists "$PAUSE_IMAGE" && return 0
  local src work
  src="$(cd "$PROJECT_ROOT/mesh/tools/k8s" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"
  work="$(mktemp -d)"
  gcc -Os -static -o "$work/pause" "$src"
  tar -C "$work" -cf "$work/pause.tar" pause
  "$PROJECT_ROOT/scripts/podman.sh" import --quiet --change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535' \
    "$work/pause.tar" "$PAUSE_IMAGE" >/dev/null
  rm -rf "$work"
}

coredns_image() {
  local image
  image="localhost/so1-local/coredns:$(basename "$BIN")"
  if ! "$PROJECT_ROOT/scripts/podman.sh" image exists "$image"; then
    local work
    work="$(mktemp -d)"
    cp "$BIN/coredns" "$work/"
    printf 'FROM gcr.io/distroless/static-debian12:nonroot\nCOPY coredns /coredns\nENTRYPOINT ["/coredns"]\n' >"$work/Containerfile"
    "$PROJECT_ROOT/scripts/base-images.sh" >/dev/null
    "$PROJECT_ROOT/scripts/podman.sh" build --pull=never --quiet -t "$image" "$work" >/dev/null
    rm -rf "$work"
  fi
  echo "$image"
}

# The entry point's nginx: Debian's, in an image of its own (mesh/local-cluster/entry.yaml).
entry_image() {
  local image=localhost/so1-local/entry-nginx:bookworm
  if ! "$PROJECT_ROOT/scripts/podman.sh" image exists "$image"; then
    log "building $image (Debian's nginx-light)"
    # shellcheck disable=SC2016 # the hook is run by mmdebstrap, with $1 the new root
    mmdebstrap --quiet --variant=minbase --include=nginx-light --aptopt='APT::Install-Recommends "false"' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/*' bookworm - |
      "$PROJECT_ROOT/scripts/podman.sh" import --quiet - "$image" >/dev/null
  fi
  echo "$image"
}

node_ready() {
  [[ "$(kubectl_ get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

up() {
  [[ $EUID -eq 0 ]] || die "run as root (it creates a bridge, iptables rules and mounts)"
  "$PROJECT_ROOT/scripts/ensure-packages.sh" runc containernetworking-plugins iptables ipset conntrack openssl gcc libc6-dev mmdebstrap
  tools
  mkdir -p "$LOGS" "$PIDS"
  make_pki
  make_bridge
  start_control_plane
  start_containerd
  pause_image
  load_images "$PAUSE_IMAGE"
  start_kubelet
  wait_for "node $NODE_NAME to register" kubectl_ get node "$NODE_NAME"
  start_node_network
  wait_for "node $NODE_NAME to be Ready" node_ready
  local coredns
  coredns="$(coredns_image)"
  load_images "$coredns"
  sed "s|@COREDNS_IMAGE@|$coredns|; s|@DNS_SERVICE_IP@|$DNS_SERVICE_IP|" "$PROJECT_ROOT/mesh/local-cluster/coredns.yaml" |
    kubectl_ apply -f - >/dev/null
  wait_for "CoreDNS to be Available" kubectl_ -n kube-system wait --for condition=Available --timeout 5s deployment/coredns
  echo "cluster up: node $NODE_NAME Ready"
  echo "  API server  https://$HOST_IP:$API_PORT   (KUBECONFIG=$ADMIN_KUBECONFIG)"
  echo "  kubelet     https://$HOST_IP:10250"
  echo "  DNS         $DNS_SERVICE_IP (CoreDNS), Services $SERVICE_CIDR, pods $POD_CIDR on $BRIDGE"
  echo "  logs        $LOGS/"
}

# kill_pods: every process in kubelet's cgroups (the cgroupfs driver puts each
# pod under kubepods/), which outlive kubelet, containerd and their shims.
# Returns 1, naming them, when some outlive 20 s of SIGKILL (a container still
# being created when down began can take that long), so that down still stops
# the rest before it fails.
kill_pods() {
  local procs=(/sys/fs/cgroup/pids/kubepods) pids
  [[ -d "${procs[0]}" ]] || return 0
  for _ in $(seq 1 200); do
    pids="$(find "${procs[0]}" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')"
    [[ -z "${pids// /}" ]] && return 0
    # shellcheck disable=SC2086 # a list of PIDs
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  log "pods' processes still alive after 20 s of SIGKILL: $pids"
  return 1
}

# Everything `up` made that outlives a process: the pods' processes, mounts
# under the cluster dir, kube-proxy's and kube-router's iptables rules and
# ipsets (each tool's own cleanup), kubelet's cgroups, the bridge. The state
# (certificates, etcd, images) stays for the next `up`.
down() {
  tools
  local name pid status=0
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    name="${COMPONENTS[i]}"
    # kubelet is stopped by now and cannot restart them.
    if [[ "$name" == containerd ]]; then kill_pods || status=1; fi
    pid="$(pid_of "$name")" || { rm -f "$PIDS/$name.pid"; continue; }
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$PIDS/$name.pid"
  done
  pkill -KILL -f "containerd-shim-runc-v2 .*$CONTAINERD_SOCK" 2>/dev/null || true
  local mount
  while read -r mount; do umount -l "$mount" 2>/dev/null || true; done < <(awk -v dir="$CLUSTER_DIR/" \
    'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r)
  "$BIN/kube-proxy" --cleanup >>"$LOGS/kube-proxy.log" 2>&1 || true
  "$BIN/kube-router" --cleanup-config >>"$LOGS/kube-router.log" 2>&1 || true
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
  # kubelet's cgroups (cgroupfs driver), empty once the pods are gone.
  find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/unified/kubepods -depth -type d -exec rmdir {} + 2>/dev/null || true
  if ((status)); then
    kill_pods || die "cluster down, but some pods' processes outlived it (see above)"
  fi
  echo "cluster down: no process, mount or bridge left (state kept in $CLUSTER_DIR)"
}

# The database stays outside the cluster, as the spec says: the host's MariaDB
# (scripts/mariadb.sh, the .env one unless MARIADB_DIR says otherwise), listening
# where mesh/overlays/local/database.yaml sends the pods: $HOST_IP:3307.
ensure_database() {
  local mariadb="$PROJECT_ROOT/scripts/mariadb.sh"
  [[ "$DB_PORT" == 3307 ]] ||
    die "mesh/overlays/local/database.yaml sends the pods to $HOST_IP:3307, but DB_PORT is $DB_PORT"
  export MARIADB_BIND_ADDRESS="${CLUSTER_DB_BIND:-127.0.0.1,$HOST_IP}"
  export MARIADB_CLIENT_HOSTS="127.0.0.1 localhost ${HOST_IP%.*}.%"
  if "$mariadb" status >/dev/null 2>&1 && ! (exec 3<>"/dev/tcp/$HOST_IP/$DB_PORT") 2>/dev/null; then
    log "restarting MariaDB so that it listens on $HOST_IP too (its data stays)"
    "$mariadb" down >&2
  fi
  # The table is the migration Job's to make, as on Cloud SQL (apply_with_migrations).
  MARIADB_MIGRATE=0 "$mariadb" up >&2
}

VARIANT="${CLUSTER_VARIANT:-local-smi-trafficsplit}"
NAMESPACE=so1-fase2
DEPLOYMENTS=(route1-python route2-node ws-server)
# Where the host reaches the cluster: the entry point and the dashboard (NodePorts).
ENTRY_URL=http://127.0.0.1:30080
DASHBOARD_URL=http://127.0.0.1:30088

deploy() {
  tools
  node_ready || die "the cluster is not up: run scripts/local-cluster.sh up"
  "$PROJECT_ROOT/scripts/images.sh" build >&2
  local tag name image
  tag="$("$PROJECT_ROOT/scripts/images.sh" tag)"
  local dashboard_image=""
  while read -r name image; do
    [[ " ${DEPLOYMENTS[*]} " == *" ${name#so1-} "* ]] && load_images "$image"
    [[ "$name" == so1-web-dashboard ]] && dashboard_image="$image"
  done < <("$PROJECT_ROOT/scripts/images.sh" list)
  [[ -n "$dashboard_image" ]] || die "scripts/images.sh list names no so1-web-dashboard image"
  load_images "$dashboard_image"
  ensure_database
  # Linkerd cannot run here; its split's CRD makes the variant's TrafficSplit an
  # object the API server checks and stores, which nothing acts on.
  kubectl_ apply -f "$PROJECT_ROOT/mesh/tests/crds/" >/dev/null
  kubectl_ wait --for condition=established --timeout 60s crd/trafficsplits.split.smi-spec.io >/dev/null
  # The variant as it is; only the image names and tags are this build's, and
  # ws-server admits the dashboard's origin (as scripts/cluster-up.sh does with
  # the Cloud Run URL).
  local dir="$CLUSTER_DIR/deploy"
  mkdir -p "$dir"
  {
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "resources: [$(realpath --relative-to "$dir" "$PROJECT_ROOT/mesh/variants/$VARIANT")]"
    echo "images:"
    for name in "${DEPLOYMENTS[@]}"; do
      printf '  - {name: docker.io/so1fase2/so1-%s, newName: docker.io/%s/so1-%s, newTag: "%s"}\n' \
        "$name" "${DOCKERHUB_USERNAME:-so1fase2}" "$name" "$tag"
    done
    echo "configMapGenerator:"
    echo "  - {name: ws-server, namespace: $NAMESPACE, behavior: merge, literals: [CORS_ORIGINS=$DASHBOARD_URL]}"
  } >"$dir/kustomization.yaml"
  kubectl_ apply -f "$PROJECT_ROOT/mesh/base/namespace.yaml" >/dev/null
  DB_HOST=database DB_PORT=3306 KUBECONFIG="$ADMIN_KUBECONFIG" KUBECTL="$BIN/kubectl" \
    "$PROJECT_ROOT/mesh/secrets/create-secrets.sh" >/dev/null
  KUBECTL="$BIN/kubectl" KUBECONFIG="$ADMIN_KUBECONFIG" apply_with_migrations "$NAMESPACE" "$dir" >/dev/null
  local entry
  entry="$(entry_image)"
  load_images "$entry"
  sed "s|@ENTRY_IMAGE@|$entry|" "$PROJECT_ROOT/mesh/local-cluster/entry.yaml" | kubectl_ apply -f - >/dev/null
  sed "s|@DASHBOARD_IMAGE@|$dashboard_image|" "$PROJECT_ROOT/mesh/local-cluster/dashboard.yaml" | kubectl_ apply -f - >/dev/null
  for name in "${DEPLOYMENTS[@]}"; do
    wait_for "deployment $name to roll out" kubectl_ -n "$NAMESPACE" rollout status "deployment/$name" --timeout 5s
  done
  wait_for "the entry point to roll out" kubectl_ -n ingress-nginx rollout status deployment/entry-nginx --timeout 5s
  wait_for "the dashboard to roll out" kubectl_ -n web-dashboard rollout status deployment/web-dashboard --timeout 5s
  echo "deployed $VARIANT with images tagged $tag:"
  kubectl_ get pods -A -o wide
  echo "entry point: $ENTRY_URL/api/metrics (POST), $ENTRY_URL/socket.io/"
  echo "dashboard:   $DASHBOARD_URL/"
}

service_ip() { # service_ip NAME: the ClusterIP of Service NAME, which outlives its pods
  kubectl_ -n "$NAMESPACE" get service "$1" -o jsonpath='{.spec.clusterIP}'
}

# The main job of `make up`, with its knobs and output, through the cluster's
# entry point; the routes compared from their /metrics through each route's
# Service (one pod each here; a pod replaced mid-run keeps the address).
cluster_load() {
  tools
  node_ready || die "the cluster is not up: run make cluster-up"
  DB_HOST="$HOST_IP" "$PROJECT_ROOT/scripts/stack.sh" load-through "$ENTRY_URL" \
    "python=http://$(service_ip route1-python):8080/metrics,node=http://$(service_ip route2-node):8080/metrics"
  echo "the rows, live: $DASHBOARD_URL/ (the dashboard pod)"
}

status() {
  tools
  node_ready && echo "node $NODE_NAME Ready (KUBECONFIG=$ADMIN_KUBECONFIG)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  deploy) deploy ;;
  load) cluster_load ;;
  kubeconfig) echo "$ADMIN_KUBECONFIG" ;;
  load-images)
    shift
    tools
    load_images "$@"
    ;;
  *)
    echo "usage: scripts/local-cluster.sh up|down|status|kubeconfig|deploy|load|load-images IMAGE..." >&2
    exit 2
    ;;
esac
