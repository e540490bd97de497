#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`: boot Debian's arm64 kernel with vpudom, the bench module and
# VFIO from the Debian package; run the benchmark in the guest and print
# its table (kept in $WORK/bench.txt, console in $WORK/bench.log).
#   VPUDOM_BENCH_REPS=N    repetitions per row (default 7, at most 9)
#   VPUDOM_BENCH_QUICK=1   the smoke run of `make check`
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vpudom_setup
build=$(vpudom_build stock "$STOCK_KDIR" "$VPUDOM_TOP/selftests/bench")
vpudom_build_tests "$build/progs"
vpudom_dtb vpudom-virt.dts "$WORK/bench.dtb"
mapfile -t vfio < <(vpudom_vfio_modules)
vpudom_initramfs "$WORK/bench.cpio.gz" bench "$build/vpudom.ko" \
	"$build/bench/vpudom_bench.ko" "$build/progs/vpudom_bench" "${vfio[@]}"
append="loglevel=4 vpudom_bench_reps=${VPUDOM_BENCH_REPS:-7}"
[ -n "${VPUDOM_BENCH_QUICK:-}" ] && append="$append vpudom_bench_quick=1"
echo "Booting $ABI on QEMU virt (SMMUv3) for the benchmark; this takes a few minutes..."
vpudom_boot "$STOCK_IMAGE" "$WORK/bench.dtb" "$WORK/bench.cpio.gz" \
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
