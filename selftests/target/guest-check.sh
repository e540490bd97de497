#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# One guest stage of `make check`: build vpudom and its test modules for a
# target kernel, boot the test board, print the guest's TAP.
# Usage: guest-check.sh stock|debug
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel=$1
vpudom_setup
case $kernel in
stock)
	kdir=$STOCK_KDIR
	image=$STOCK_IMAGE
	extra=("$VPUDOM_TOP/selftests/edu" "$VPUDOM_TOP/selftests/bench")
	limit=300
	;;
debug)
	vpudom_debug_kernel
	kdir=$DEBUG_KDIR
	image=$DEBUG_IMAGE
	extra=("$VPUDOM_TOP/selftests/kunit" "$VPUDOM_TOP/selftests/edu"
		"$VPUDOM_TOP/selftests/bench")
	limit=900
	;;
*)
	echo "usage: $0 stock|debug" >&2
	exit 2
	;;
esac

log=$WORK/check-$kernel.log
echo "TAP version 13"
if ! build=$(vpudom_build "$kernel" "$kdir" "${extra[@]}" 2>"$WORK/build-$kernel.err"); then
	echo "not ok 1 - build vpudom for the $kernel kernel"
	sed 's/^/# /' "$WORK/build-$kernel.err"
	echo "1..1"
	exit 1
fi
if ! vpudom_build_tests "$build/progs" 2>"$WORK/build-$kernel.err"; then
	echo "not ok 1 - build the selftest programs"
	sed 's/^/# /' "$WORK/build-$kernel.err"
	echo "1..1"
	exit 1
fi
files=("$build/vpudom.ko" "$build/edu/vpudom_edu.ko" "$build/progs/vpudom_test"
	"$build/progs/vpudom_demo" "$build/progs/edu_test"
	"$build/progs/vpudom_fail_nth" "$build/progs/vpudom_stress"
	"$build/bench/vpudom_bench.ko" "$build/progs/vpudom_bench")
[ -e "$build/kunit/vpudom_kunit.ko" ] && files+=("$build/kunit/vpudom_kunit.ko")
# The stock kernel has VFIO as modules; the debug kernel has it built in.
[ "$kernel" = stock ] && mapfile -t -O "${#files[@]}" files < <(vpudom_vfio_modules)
vpudom_dtb vpudom-virt-test.dts "$WORK/check.dtb"
vpudom_initramfs "$WORK/check-$kernel.cpio.gz" check "${files[@]}"
vpudom_boot "$image" "$WORK/check.dtb" "$WORK/check-$kernel.cpio.gz" "$log" \
	"$limit" "loglevel=4" >/dev/null || true

# The guest's own TAP, then whether the guest got to its end.
sed -n 's/\r$//; s/^vpudom-tap: //p' "$log" | grep -v '^1\.\.'
n=$(sed -n 's/^vpudom-tap: \([not ]*ok\) \([0-9]*\).*/\2/p' "$log" | tail -n1)
n=$((${n:-0} + 1))
if grep -q '^vpudom-guest: exit 0' "$log"; then
	echo "ok $n - $kernel guest ran to the end"
else
	echo "not ok $n - $kernel guest ran to the end (console log: $log)"
	tail -n 40 "$log" | sed 's/^/# /'
fi
echo "1..$n"
