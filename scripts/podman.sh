#!/usr/bin/env bash
# podman with the project's settings (scripts/containers/): runc, cgroupfs,
# ulimits under this machine's hard limits, Docker Hub as the short-name
# registry. Installs podman and runc when missing.
# Usage: scripts/podman.sh ARGS... (the same arguments as podman)
set -euo pipefail
scripts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v slirp4netns >/dev/null; then
  "$scripts_dir/ensure-packages.sh" podman runc slirp4netns containernetworking-plugins uidmap
fi
export CONTAINERS_CONF="$scripts_dir/containers/containers.conf"
export CONTAINERS_REGISTRIES_CONF="$scripts_dir/containers/registries.conf"
exec podman "$@"
