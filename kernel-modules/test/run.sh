#!/usr/bin/env bash
# `make test`: builds the modules for Debian's kernel with W=1, runs the
# kernel's checkpatch.pl, boots that kernel in QEMU (TCG, 2 vCPUs) with a
# busybox initramfs that exercises the modules, and checks what the guest
# printed. Nothing is ever loaded into the host's kernel.
set -euo pipefail

module_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091 # the project's env loader, linted where it lives
source "$module_dir/../scripts/env.sh"

# The builds below are independent of any make that called this script
# (its -j, -k or jobserver would only leak in through these variables).
unset MAKEFLAGS MFLAGS MAKELEVEL

"$PROJECT_ROOT/scripts/ensure-packages.sh" linux-headers-amd64 linux-image-amd64 \
  qemu-system-x86 busybox-static cpio make gcc python3 shellcheck

# The kernel ABI (e.g. 6.1.0-56-amd64) both meta-packages point at.
abi_of() {
  dpkg-query -W -f='${Depends}' "$1" | sed -nE 's/^linux-(image|headers)-([^ ,]+).*/\2/p'
}
kver="$(abi_of linux-image-amd64)"
if [[ -z "$kver" || "$kver" != "$(abi_of linux-headers-amd64)" ]]; then
  echo "error: linux-image-amd64 ($kver) and linux-headers-amd64 ($(abi_of linux-headers-amd64)) differ; upgrade both" >&2
  exit 1
fi

work="$RUN_DIR/kernel-modules"
build="$work/build"
build_control="$work/build-control"
initramfs="$work/initramfs"
rm -rf "$build" "$build_control" "$initramfs"
rm -f "$work"/*.log  # a stale log must never pass a check
mkdir -p "$build" "$build_control"

python3 -m unittest discover -s "$module_dir/test" -p 'test_*.py' 2>&1 | tail -n 3

# Lint while the rest runs: checkpatch, shellcheck, and a dry run of the
# install path for Debian's kernel, which builds for real but only prints the
# steps that would change the system (the host kernel has no module support);
# each result is judged by the checker at the end.
(
  "$module_dir/test/checkpatch.sh" "$kver" >"$work/checkpatch.log" 2>&1 || true
  shellcheck "$module_dir/install.sh" "$module_dir"/test/*.sh >"$work/shellcheck.log" 2>&1 || true
  DRY_RUN=1 KVER="$kver" CARNET="$CARNET" "$module_dir/install.sh" install \
    >"$work/install-dry-run.log" 2>&1 || true
) &
lint_pid=$!
trap 'kill "$lint_pid" 2>/dev/null || true' EXIT

# Build a copy under RUN_DIR, so the source tree stays clean and a user's own
# build is never overwritten; the leak check's negative control alongside.
cp "$module_dir"/*.c "$module_dir/Kbuild" "$module_dir/Makefile" "$build/"
cp "$module_dir"/test/leak-control/* "$build_control/"
echo "building for $kver with W=1 (CARNET=$CARNET)"
make -C "$build" KVER="$kver" CARNET="$CARNET" W=1 >"$work/build.log" 2>&1 &
build_pid=$!
make -C "/lib/modules/$kver/build" M="$build_control" modules >"$work/build-control.log" 2>&1 &
build_control_pid=$!
for job in "$build_pid:build.log" "$build_control_pid:build-control.log"; do
  if ! wait "${job%%:*}"; then
    cat "$work/${job#*:}" >&2
    echo "error: build failed, see $work/${job#*:}" >&2
    exit 1
  fi
done

mkdir -p "$initramfs"/{bin,dev,proc,sys,lib/modules/control}
cp /bin/busybox "$initramfs/bin/busybox"
cp "$module_dir/test/guest-init.sh" "$initramfs/init"
cp "$build"/{cpu,ram,procesos}_"$CARNET".ko "$initramfs/lib/modules/"
cp "$build_control/leak_control.ko" "$initramfs/lib/modules/control/"
(cd "$initramfs" && find . | cpio -o -H newc -R 0:0 --quiet) >"$work/initramfs.cpio"

echo "booting $kver in QEMU (TCG, 2 vCPUs)"
rm -f "$work/console.log" "$work/data.log"
status=0
timeout 240 qemu-system-x86_64 \
  -machine q35,accel=tcg -cpu max -smp 2 -m 256 \
  -kernel "/boot/vmlinuz-$kver" -initrd "$work/initramfs.cpio" \
  -append "console=ttyS0 loglevel=4 panic=-1 carnet=$CARNET" \
  -display none -monitor none -nic none -no-reboot \
  -serial "file:$work/console.log" -serial "file:$work/data.log" || status=$?
if [[ $status -ne 0 ]]; then
  echo "error: QEMU exited with status $status (124 = timed out); console in $work/console.log" >&2
  tail -n 30 "$work/console.log" >&2 || true
fi

wait "$lint_pid" || true
python3 "$module_dir/test/check_guest_output.py" --carnet "$CARNET" --kver "$kver" \
  --build-log "$work/build.log" --checkpatch-log "$work/checkpatch.log" \
  --shellcheck-log "$work/shellcheck.log" --install-dry-run-log "$work/install-dry-run.log" \
  --console-log "$work/console.log" "$work/data.log"
