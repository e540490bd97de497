#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`: boot a Debian arm64 kernel (VPUDOM_KERNEL, default 6.1)
# with vpudom, the bench module and VFIO from the Debian package, run the
# benchmark in the guest and print its table; twice, with and without
# KASLR (tables in $WORK/bench.txt, consoles in $WORK/bench-*.log).
#   VPUDOM_BENCH_REPS=N    repetitions per row (default 7, at most 9)
#   VPUDOM_BENCH_QUICK=1   the smoke run of `make check`
#   VPUDOM_BENCH_LIVE=N    live mappings per path of the live row, run in
#                          the nokaslr boot only (default 1000000; the
#                          smoke: 10000, in both boots)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

VPUDOM_CMD="make bench"
vpudom_setup "${VPUDOM_KERNEL:-6.1}" || vpudom_die "setup failed (see the setup: lines above)"
vpudom_prepare bench-$KNAME "$KDIR" vpudom-virt-bench.dts "$VPUDOM_TOP/selftests/bench"
mapfile -t vfio < <(vpudom_vfio_modules "$BUILD")
vpudom_initramfs "$WORK/bench.cpio.gz" bench "$BUILD/vpudom.ko" \
	"$BUILD/bench/vpudom_bench.ko" "$BUILD/progs/vpudom_bench" "${vfio[@]}" \
	"$BUILD/vfio.order" || vpudom_die "packing the initramfs failed"
append="loglevel=4 vpudom_bench_reps=${VPUDOM_BENCH_REPS:-7}"
# The live row: a million live mappings on each of four paths take minutes
# under TCG, and memory does not depend on KASLR: the nokaslr boot alone
# runs it.  The smoke runs it small in both (--quick).
live="vpudom_bench_live=${VPUDOM_BENCH_LIVE:-1000000}"
if [ -n "${VPUDOM_BENCH_QUICK:-}" ]; then
	append="$append vpudom_bench_quick=1"
	live=""
fi

# bench_boot <name> <extra kernel arguments>: one boot, its table in
# $WORK/bench-<name>.txt; any complaint of the kernel or an unfinished run
# ends make bench.
bench_boot() {
	local name=$1 log=$WORK/bench-$1.log txt=$WORK/bench-$1.txt
	local t0=$SECONDS
	vpudom_boot "$IMAGE" "$DTB" "$WORK/bench.cpio.gz" "$log" 1800 \
		"$append $2" >/dev/null || true
	sed -n 's/\r$//; /^vpudom-bench: begin/,/^vpudom-bench: end/p' "$log" |
		sed '1d;$d' | grep -Ev '^\[ *[0-9]+\.[0-9]+\]' > "$txt" || true
	# A benchmark of a kernel that complained measures nothing.
	if grep -Eq 'BUG:|WARNING:|Oops|Internal error' "$log"; then
		grep -E -A 12 'BUG:|WARNING:|Oops|Internal error' "$log" | head -n 40 >&2
		vpudom_die "the guest kernel reported a problem; console log: $log"
	fi
	grep -q '^vpudom-guest: exit 0' "$log" && grep -q '^bench: done' "$txt" ||
		vpudom_die "the benchmark did not complete; console log: $log"
	echo "boot $1: $((SECONDS - t0)) s" >> "$txt"
}

# Twice: as booted by default, and with nokaslr.  QEMU's Cortex-A57 lacks
# E0PD, so with KASLR the kernel forces KPTI on and every syscall pays
# emulated TLB maintenance, which the user-path rows feel and the kernel
# rows do not; the second run shows how much.
echo "Booting $ABI on QEMU virt (SMMUv3) for the benchmark, twice (KASLR, nokaslr)..."
bench_boot kaslr ""
bench_boot nokaslr "nokaslr $live"
{
	echo "==== booted with KASLR (KPTI forced on by the emulated CPU) ===="
	cat "$WORK/bench-kaslr.txt"
	echo
	echo "==== booted with nokaslr (no KPTI) ===="
	cat "$WORK/bench-nokaslr.txt"
} | tee "$WORK/bench.txt"
