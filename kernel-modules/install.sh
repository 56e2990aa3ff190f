#!/usr/bin/env bash
# Installs the three monitor modules on an Ubuntu 22.04/24.04 (or Debian) VM
# for the running kernel, loads them, and keeps them loaded across reboots.
#
#   sudo ./install.sh install      headers + build + /lib/modules/$(uname -r)/extra
#                                  + depmod + /etc/modules-load.d + modprobe
#   sudo ./install.sh uninstall    unload, remove every installed .ko, the
#                                  modules-load.d entry, and run depmod
#   ./install.sh status            what is installed and loaded
#
# Environment: CARNET (default 202000000) names the modules and /proc files;
# DRY_RUN=1 prints every command that changes the system instead of running it
# (the build itself, in a scratch folder, still runs when the headers exist);
# KVER (default: uname -r) exists for that dry run against another kernel.
# After a kernel upgrade, run `install` again under the new kernel.
set -euo pipefail

CARNET="${CARNET:-202000000}"
DRY_RUN="${DRY_RUN:-0}"
KVER="${KVER:-$(uname -r)}"
MODULES_LOAD_CONF=/etc/modules-load.d/so1-monitor.conf
module_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_dir=""

die() {
  echo "error: $*" >&2
  exit 1
}

# Runs a command that changes the system, or only prints it under DRY_RUN=1.
run() {
  if [[ "$DRY_RUN" == 1 ]]; then
    echo "+ $*"
  else
    "$@"
  fi
}

require_root() {
  [[ "$DRY_RUN" == 1 || $EUID -eq 0 ]] || die "run as root (sudo $0 $1), or with DRY_RUN=1"
}

module_names() {
  printf '%s\n' "cpu_$CARNET" "ram_$CARNET" "procesos_$CARNET"
}

# Module names from the modules-load.d entry, so that uninstall removes what
# install put there, whatever CARNET is now.
installed_module_names() {
  [[ -f "$MODULES_LOAD_CONF" ]] && grep -Ev '^[[:space:]]*(#|$)' "$MODULES_LOAD_CONF"
  return 0
}

install_packages() {
  local wanted=(build-essential kmod "linux-headers-$KVER") missing=() pkg
  for pkg in "${wanted[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

# The compiler the kernel was built with, e.g. "x86_64-linux-gnu-gcc-12" on
# Ubuntu 22.04's HWE kernels, where the default gcc is 11 and the headers'
# Makefile names gcc-12: install that gcc-N when it is missing.
kernel_compiler() {
  local config="/lib/modules/$KVER/build/include/config/auto.conf" text
  [[ -r "$config" ]] || return 0
  text="$(sed -nE 's/^CONFIG_CC_VERSION_TEXT="?([^ "]+).*/\1/p' "$config")"
  [[ "$text" =~ gcc-[0-9]+$ ]] && echo "$text"
  return 0
}

install_kernel_compiler() {
  local compiler
  compiler="$(kernel_compiler)"
  [[ -n "$compiler" ]] || return 0
  command -v "$compiler" >/dev/null && return 0
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y "gcc-${compiler##*gcc-}"
}

do_install() {
  require_root install
  [[ "$CARNET" =~ ^[A-Za-z0-9]+$ ]] || die "CARNET must be letters and digits only, got '$CARNET'"
  install_packages
  install_kernel_compiler

  # Build in a scratch copy so that the checkout gets no root-owned files.
  build_dir="$(mktemp -d)"
  trap 'rm -rf "$build_dir"' EXIT
  cp "$module_dir"/*.c "$module_dir/Kbuild" "$module_dir/Makefile" "$build_dir/"
  local make_args=(-C "$build_dir" KVER="$KVER" CARNET="$CARNET") compiler
  compiler="$(kernel_compiler)"
  [[ -n "$compiler" ]] && make_args+=(CC="$compiler")
  if [[ "$DRY_RUN" == 1 && ! -d "/lib/modules/$KVER/build" ]]; then
    echo "+ make ${make_args[*]}"
  else
    make "${make_args[@]}"
  fi

  local name extra="/lib/modules/$KVER/extra"
  run install -d -m 0755 "$extra"
  while read -r name; do
    run install -m 0644 "$build_dir/$name.ko" "$extra/$name.ko"
  done < <(module_names)
  run depmod -a "$KVER"

  if [[ "$DRY_RUN" == 1 ]]; then
    echo "+ write $MODULES_LOAD_CONF: $(module_names | tr '\n' ' ')"
  else
    {
      echo "# so1 monitor modules (kernel-modules/install.sh); loaded at every boot."
      module_names
    } >"$MODULES_LOAD_CONF"
  fi

  # Reload, so a reinstall takes effect now rather than at the next boot.
  while read -r name; do
    if [[ -d "/sys/module/$name" ]]; then
      run modprobe -r "$name"
    fi
    run modprobe "$name" || die "modprobe $name failed; with Secure Boot on, unsigned modules are refused (see README.md)"
  done < <(module_names)

  if [[ "$DRY_RUN" != 1 ]]; then
    while read -r name; do
      [[ -r "/proc/$name" ]] || die "/proc/$name is missing after modprobe"
      printf '/proc/%s: %s' "$name" "$(cat "/proc/$name")"
      echo
    done < <(module_names)
  fi
  echo "installed for $KVER: $(module_names | tr '\n' ' ')"
}

do_uninstall() {
  require_root uninstall
  local names=() name ko kernels=()
  mapfile -t names < <({ installed_module_names; module_names; } | sort -u)
  for name in "${names[@]}"; do
    if [[ -d "/sys/module/$name" ]]; then
      run modprobe -r "$name"
    fi
    for ko in /lib/modules/*/extra/"$name".ko; do
      [[ -e "$ko" ]] || continue
      run rm -f "$ko"
      kernels+=("$(basename "$(dirname "$(dirname "$ko")")")")
    done
  done
  if [[ -f "$MODULES_LOAD_CONF" ]]; then
    run rm -f "$MODULES_LOAD_CONF"
  fi
  if [[ ${#kernels[@]} -gt 0 ]]; then
    while read -r name; do
      run depmod -a "$name"
    done < <(printf '%s\n' "${kernels[@]}" | sort -u)
  fi
  echo "uninstalled: ${names[*]}"
}

do_status() {
  local name
  echo "kernel $KVER; $MODULES_LOAD_CONF: $(installed_module_names | tr '\n' ' ')"
  while read -r name; do
    printf '%-24s file:%-4s loaded:%-4s /proc:%s\n' "$name" \
      "$([[ -e /lib/modules/$KVER/extra/$name.ko ]] && echo yes || echo no)" \
      "$([[ -d /sys/module/$name ]] && echo yes || echo no)" \
      "$([[ -e /proc/$name ]] && echo yes || echo no)"
  done < <(module_names)
}

case "${1:-}" in
  install) do_install ;;
  uninstall) do_uninstall ;;
  status) do_status ;;
  *)
    echo "usage: $0 install|uninstall|status   (env: CARNET, DRY_RUN=1)" >&2
    exit 2
    ;;
esac
