#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`: boot a Debian arm64 kernel (VPUDOM_KERNEL, default 6.1) with vpudom, the bench module and
# VFIO from the Debian package; run the benchmark in the guest and print
# its table (kept in $WORK/bench.txt, console in $WORK/bench.log).
#   VPUDOM_BENCH_REPS=N    repetitions per row (default 7, at most 9)
#   VPUDOM_BENCH_QUICK=1   the smoke run of `make check`
set -euo pipefail
. "$(dirname "$0")/lib.sh"

VPUDOM_CMD="make bench"
vpudom_setup "${VPUDOM_KERNEL:-6.1}" || vpudom_die "setup failed (see the setup: lines above)"
vpudom_prepare bench-$KNAME "$KDIR" vpudom-virt.dts "$VPUDOM_TOP/selftests/bench"
mapfile -t vfio < <(vpudom_vfio_modules "$BUILD")
vpudom_initramfs "$WORK/bench.cpio.gz" bench "$BUILD/vpudom.ko" \
	"$BUILD/bench/vpudom_bench.ko" "$BUILD/progs/vpudom_bench" "${vfio[@]}" \
	"$BUILD/vfio.order" || vpudom_die "packing the initramfs failed"
append="loglevel=4 vpudom_bench_reps=${VPUDOM_BENCH_REPS:-7}"
[ -n "${VPUDOM_BENCH_QUICK:-}" ] && append="$append vpudom_bench_quick=1"
echo "Booting $ABI on QEMU virt (SMMUv3) for the benchmark; this takes a few minutes..."
vpudom_boot "$IMAGE" "$DTB" "$WORK/bench.cpio.gz" \
	"$WORK/bench.log" 1800 "$append" >/dev/null || true
sed -n 's/\r$//; /^vpudom-bench: begin/,/^vpudom-bench: end/p' "$WORK/bench.log" |
	sed '1d;$d' | grep -Ev '^\[ *[0-9]+\.[0-9]+\]' > "$WORK/bench.txt" || true
cat "$WORK/bench.txt"
# A benchmark of a kernel that complained measures nothing.
if grep -Eq 'BUG:|WARNING:|Oops|Internal error' "$WORK/bench.log"; then
	echo "make bench: the guest kernel reported a problem; console log: $WORK/bench.log" >&2
	grep -E -A 12 'BUG:|WARNING:|Oops|Internal error' "$WORK/bench.log" | head -n 40 >&2
	exit 1
fi
if ! grep -q '^vpudom-guest: exit 0' "$WORK/bench.log" ||
   ! grep -q '^bench: done' "$WORK/bench.txt"; then
	echo "make bench: the benchmark did not complete; console log: $WORK/bench.log" >&2
	exit 1
fi
