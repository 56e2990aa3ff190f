#!/usr/bin/env bash
# Runs the kernel's scripts/checkpatch.pl on the module sources.
# Debian ships checkpatch.pl in no headers or kbuild package, only inside the
# kernel source tarball of linux-source-<major.minor>; the three files it needs
# are extracted once and cached under RUN_DIR.
# Usage: test/checkpatch.sh [KVER]   (default: the ABI of linux-headers-amd64)
set -euo pipefail

module_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091 # the project's env loader, linted where it lives
source "$module_dir/../scripts/env.sh"

kver="${1:-}"
if [[ -z "$kver" ]]; then
  "$PROJECT_ROOT/scripts/ensure-packages.sh" linux-headers-amd64
  kver="$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | sed -nE 's/^linux-headers-([^ ,]+).*/\1/p')"
fi
series="$(cut -d. -f1-2 <<<"$kver")"
cache="$RUN_DIR/kernel-modules/checkpatch-$series"

if [[ ! -f "$cache/scripts/checkpatch.pl" ]]; then
  "$PROJECT_ROOT/scripts/ensure-packages.sh" "linux-source-$series" perl
  tarball="/usr/src/linux-source-$series.tar.xz"
  rm -rf "$cache.tmp"
  mkdir -p "$cache.tmp"
  echo "extracting checkpatch.pl from $tarball (once)" >&2
  tar -xJf "$tarball" -C "$cache.tmp" --strip-components=1 --occurrence=1 \
    "linux-source-$series/scripts/checkpatch.pl" \
    "linux-source-$series/scripts/spelling.txt" \
    "linux-source-$series/scripts/const_structs.checkpatch"
  rm -rf "$cache"
  mv "$cache.tmp" "$cache"
fi

cd "$module_dir"
perl "$cache/scripts/checkpatch.pl" --no-tree --strict -f ./*.c
