#!/usr/bin/env bash
# Builds the Kubernetes tools into the user's cache directory, from Go modules:
# - from the module in mesh/tools/k8s (Kubernetes v1.37.2): kube-apiserver,
#   kubectl (with its built-in kustomize), kube-controller-manager,
#   kube-scheduler, kubelet, kube-proxy, and etcd;
# - at pinned versions, each with its own go.mod: containerd, ctr and the runc
#   shim (containerd 2: kubelet 1.36+ needs it), CoreDNS, kube-router (the
#   NetworkPolicy controller of scripts/local-cluster.sh), actionlint.
# The set is reused while the module's go.mod/go.sum and the pinned versions
# are unchanged, so only a fresh machine pays the long compile.
# Prints the directory that holds the binaries.
set -euo pipefail

MESH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ACTIONLINT_VERSION=v1.7.12
CONTAINERD_VERSION=v2.4.2
COREDNS_VERSION=v1.15.0
KUBE_ROUTER_VERSION=v2.1.0
K8S_COMMANDS=(kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy)
module_dir="$MESH_DIR/tools/k8s"
stamp="$({ cat "$module_dir/go.mod" "$module_dir/go.sum"
  echo "$ACTIONLINT_VERSION $CONTAINERD_VERSION $COREDNS_VERSION $KUBE_ROUTER_VERSION"; } | sha256sum | cut -c1-16)"
bin_dir="${XDG_CACHE_HOME:-$HOME/.cache}/so1-fase2/k8s-$stamp"
tmp="$bin_dir.tmp"

missing() { local b; for b in "$@"; do [[ -x "$bin_dir/$b" || -x "$tmp/$b" ]] || return 0; done; return 1; }

mkdir -p "$tmp"
if missing "${K8S_COMMANDS[@]}" etcd; then
  echo "building ${K8S_COMMANDS[*]} and etcd from Go modules (once; several minutes)" >&2
  (cd "$module_dir" && go build -o "$tmp/" "${K8S_COMMANDS[@]/#/k8s.io/kubernetes/cmd/}" ./cmd/etcd)
fi
# Static binaries: no cgo (containerd's btrfs snapshotter, which needs it, is not used).
if missing containerd ctr containerd-shim-runc-v2; then
  echo "building containerd $CONTAINERD_VERSION" >&2
  CGO_ENABLED=0 GOBIN="$tmp" go install \
    "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
fi
if missing coredns; then
  echo "building CoreDNS $COREDNS_VERSION" >&2
  CGO_ENABLED=0 GOBIN="$tmp" go install "github.com/coredns/coredns@$COREDNS_VERSION"
fi
if missing kube-router; then
  echo "building kube-router $KUBE_ROUTER_VERSION" >&2
  CGO_ENABLED=0 GOBIN="$tmp" go install "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
fi
if missing actionlint; then
  GOBIN="$tmp" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
# Publish the finished set in one step, so an interrupted build is never reused.
mkdir -p "$bin_dir"
if compgen -G "$tmp/*" >/dev/null; then mv "$tmp"/* "$bin_dir/"; fi
rmdir "$tmp"
echo "$bin_dir"
