#!/usr/bin/env bash
# Builds kube-apiserver, kubectl (with its built-in kustomize) and etcd from the
# Go module in mesh/tools/k8s, and actionlint, into the user's cache directory.
# A build is reused while the module's go.sum (or actionlint's version) is
# unchanged, so only a fresh machine pays the long compile.
# Prints the directory that holds the binaries.
set -euo pipefail

MESH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ACTIONLINT_VERSION=v1.7.12
module_dir="$MESH_DIR/tools/k8s"
stamp="$(cat "$module_dir/go.mod" "$module_dir/go.sum" | sha256sum | cut -c1-16)"
bin_dir="${XDG_CACHE_HOME:-$HOME/.cache}/so1-fase2/k8s-$stamp-actionlint-$ACTIONLINT_VERSION"

if [[ ! -x "$bin_dir/kube-apiserver" || ! -x "$bin_dir/kubectl" || ! -x "$bin_dir/etcd" ]]; then
  echo "building kube-apiserver, kubectl and etcd from Go modules (once; several minutes)" >&2
  mkdir -p "$bin_dir.tmp"
  (cd "$module_dir" && go build -o "$bin_dir.tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl ./cmd/etcd)
fi
if [[ ! -x "$bin_dir/actionlint" && ! -x "$bin_dir.tmp/actionlint" ]]; then
  mkdir -p "$bin_dir.tmp"
  GOBIN="$bin_dir.tmp" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
# Publish the finished set in one step, so an interrupted build is never reused.
if [[ -d "$bin_dir.tmp" ]]; then
  mkdir -p "$bin_dir"
  mv "$bin_dir.tmp"/* "$bin_dir/"
  rmdir "$bin_dir.tmp"
fi
echo "$bin_dir"
