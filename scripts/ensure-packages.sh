#!/usr/bin/env bash
# Installs the named Debian packages when any is missing; a no-op otherwise.
# Serialised with a lock so that parallel test targets never fight over dpkg.
# Usage: scripts/ensure-packages.sh PACKAGE...
set -euo pipefail

missing=()
for pkg in "$@"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $EUID -ne 0 ]]; then
  echo "error: missing Debian packages: ${missing[*]}" >&2
  echo "       install them as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi

exec 9>/var/lock/so1-ensure-packages.lock
flock 9
echo "installing Debian packages: ${missing[*]}" >&2
# The project runs its own instances (MariaDB, nginx, node_exporter) on private
# ports; keep the packages from starting their system services on 3306, 80, 9100.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt_get=(apt-get -o DPkg::Lock::Timeout=600 -q)
# Refresh the package lists when they are older than a day, or absent.
if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 -print -quit 2>/dev/null)" ]]; then
  "${apt_get[@]}" update >&2
fi
if ! "${apt_get[@]}" install -y --no-install-recommends "${missing[@]}" >&2; then
  "${apt_get[@]}" update >&2
  "${apt_get[@]}" install -y --no-install-recommends "${missing[@]}" >&2
fi
