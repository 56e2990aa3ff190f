#!/usr/bin/env bash
# Builds kube-score (the `tool` of the module mesh/tools/kube-score, which pins
# its version) into the user's cache directory, the way k8s-tools.sh builds the
# Kubernetes tools: keyed by the module's go.mod and go.sum, reused while they
# are unchanged, published in one step. A folder of its own, so that bumping
# kube-score never invalidates the long Kubernetes build.
# Prints the path of the binary.
set -euo pipefail

module_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools/kube-score" && pwd)"
stamp="$(cat "$module_dir/go.mod" "$module_dir/go.sum" | sha256sum | cut -c1-16)"
bin_dir="${XDG_CACHE_HOME:-$HOME/.cache}/so1-fase2/kube-score-$stamp"
if [[ ! -x "$bin_dir/kube-score" ]]; then
  echo "building kube-score from $module_dir (once; about a minute)" >&2
  tmp="$bin_dir.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  (cd "$module_dir" && go build -o "$tmp/" github.com/zegl/kube-score/cmd/kube-score)
  # Publish in one step, so an interrupted build is never reused.
  rm -rf "$bin_dir"
  mv "$tmp" "$bin_dir"
fi
echo "$bin_dir/kube-score"
