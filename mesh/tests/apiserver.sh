# shellcheck shell=bash
# Sourced by run.sh: a real etcd and kube-apiserver on loopback, built from Go
# modules (k8s-tools.sh). apiserver_start leaves KUBECONFIG exported;
# apiserver_stop ends both processes by PID. Ports: etcd 12379/12380, API 16443.

ETCD_CLIENT_PORT=12379
ETCD_PEER_PORT=12380
APISERVER_PORT=16443

apiserver_start() {
  local bin_dir="$1" state_dir="$2"
  rm -rf "$state_dir"
  mkdir -p "$state_dir/pki"
  local pki="$state_dir/pki"
  for port in "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "error: 127.0.0.1:$port is already in use (a previous run left a server?)" >&2
      return 1
    fi
  done

  # Serving certificate for 127.0.0.1, the service-account signing key, and a
  # static token for an admin; authorization is AlwaysAllow.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$pki/serving.key" -out "$pki/serving.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  local token
  token="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  echo "$token,mesh-test-admin,mesh-test-admin,system:masters" >"$pki/tokens.csv"

  "$bin_dir/etcd" --name mesh-test --data-dir "$state_dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "mesh-test=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn >"$state_dir/etcd.log" 2>&1 &
  ETCD_PID=$!

  "$bin_dir/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$pki/serving.crt" --tls-private-key-file "$pki/serving.key" \
    --cert-dir "$pki" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --token-auth-file "$pki/tokens.csv" --authorization-mode AlwaysAllow \
    --service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
    --enable-priority-and-fairness=false \
    >"$state_dir/kube-apiserver.log" 2>&1 &
  APISERVER_PID=$!

  export KUBECONFIG="$state_dir/kubeconfig"
  cat >"$KUBECONFIG" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: mesh-test
    cluster:
      server: https://127.0.0.1:$APISERVER_PORT
      certificate-authority: $pki/serving.crt
users:
  - name: admin
    user:
      token: $token
contexts:
  - name: mesh-test
    context: {cluster: mesh-test, user: admin}
current-context: mesh-test
KUBECONFIG
  chmod 600 "$KUBECONFIG"

  # A loaded 2-core machine may need a minute; the deadline only bounds a hang.
  local deadline=$((SECONDS + 180))
  until "$bin_dir/kubectl" get --raw /readyz >/dev/null 2>&1; do
    if ! kill -0 "$APISERVER_PID" 2>/dev/null || ! kill -0 "$ETCD_PID" 2>/dev/null || ((SECONDS > deadline)); then
      echo "error: kube-apiserver did not become ready; last log lines:" >&2
      tail -n 20 "$state_dir/kube-apiserver.log" "$state_dir/etcd.log" >&2
      return 1
    fi
    sleep 1
  done
}

# The API server first, then etcd; each gets a few seconds to stop on SIGTERM
# (kube-apiserver's graceful shutdown can wait on its watches for minutes) and
# is then killed: its state is a throwaway directory.
apiserver_stop() {
  local pid
  for pid in ${APISERVER_PID:-} ${ETCD_PID:-}; do
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  APISERVER_PID="" ETCD_PID=""
}
