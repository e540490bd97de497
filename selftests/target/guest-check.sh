#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# One guest stage of `make check`: build vpudom and its test modules for a
# target kernel (W=1 and sparse, any diagnostic fails the stage), boot the
# test board, print the guest's TAP.
# Usage: guest-check.sh stock|debug <kernel: 6.1, 6.12 or 7>
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=$1
vpudom_setup "$2"
stage=$flavour-$KNAME
extra=("$VPUDOM_TOP/selftests/edu" "$VPUDOM_TOP/selftests/bench"
	"$VPUDOM_TOP/selftests/consumer")
case $flavour in
stock)
	kdir=$KDIR
	image=$IMAGE
	limit=420
	;;
debug)
	vpudom_debug_kernel
	kdir=$DEBUG_KDIR
	image=$DEBUG_IMAGE
	extra=("$VPUDOM_TOP/selftests/kunit" "${extra[@]}")
	limit=1200
	;;
*)
	echo "usage: $0 stock|debug <kernel>" >&2
	exit 2
	;;
esac

# Sparse 0.6.4, the newest Debian has, cannot parse the __typeof_unqual__
# of 7.x headers (their kbuild would switch it off with a warning).
VPUDOM_KFLAGS=(W=1)
[ "$KNAME" = 7 ] || VPUDOM_KFLAGS+=(C=2)

log=$WORK/check-$stage.log
n=0
echo "TAP version 13"
echo "# $stage: $ABI, image $image"
if ! build=$(vpudom_build "$stage" "$kdir" "${extra[@]}" 2>"$WORK/build-$stage.err"); then
	echo "not ok 1 - build vpudom and its test modules for $stage"
	sed 's/^/# /' "$WORK/build-$stage.err"
	echo "1..1"
	exit 1
fi
diag=$(vpudom_build_diagnostics "$build")
n=$((n + 1))
if [ -z "$diag" ]; then
	echo "ok $n - $stage: vpudom and test modules build clean (${VPUDOM_KFLAGS[*]})"
else
	echo "not ok $n - $stage: vpudom and test modules build clean (${VPUDOM_KFLAGS[*]})"
	echo "$diag" | head -n 40 | sed 's/^/# /'
fi
if [ "$KNAME" = 7 ]; then
	n=$((n + 1))
	echo "ok $n - $stage: sparse # SKIP no Debian sparse parses 7.x headers (__typeof_unqual__)"
fi
if ! vpudom_build_tests "$build/progs" 2>"$WORK/build-$stage.err"; then
	echo "not ok $((n + 1)) - build the selftest programs"
	sed 's/^/# /' "$WORK/build-$stage.err"
	echo "1..$((n + 1))"
	exit 1
fi
files=("$build/vpudom.ko" "$build/edu/vpudom_edu.ko" "$build/progs/vpudom_test"
	"$build/progs/vpudom_demo" "$build/progs/vpudomctl" "$build/progs/uapi_example"
	"$build/progs/edu_test"
	"$build/progs/vpudom_fail_nth" "$build/progs/vpudom_stress"
	"$build/bench/vpudom_bench.ko" "$build/progs/vpudom_bench"
	"$build/consumer/vpudom_consumer.ko")
[ -e "$build/kunit/vpudom_kunit.ko" ] && files+=("$build/kunit/vpudom_kunit.ko")
# The stock kernels have VFIO as modules; the debug kernels have it built in.
if [ "$flavour" = stock ]; then
	mapfile -t -O "${#files[@]}" files < <(vpudom_vfio_modules "$build")
	files+=("$build/vfio.order")
fi
# guest_tap <console log> <what>: the guest's TAP numbered after the points
# so far, then whether the guest got to its end; advances n.
guest_tap() {
	local log=$1 what=$2 g
	sed -n 's/\r$//; s/^vpudom-tap: //p' "$log" | grep -v '^1\.\.' |
		awk -v base="$n" '
			/^(not )?ok [0-9]+/ { i = ($1 == "not") ? 3 : 2; $i = $i + base }
			{ print }'
	g=$(sed -n 's/^vpudom-tap: \([not ]*ok\) \([0-9]*\).*/\2/p' "$log" | tail -n1)
	n=$((n + ${g:-0} + 1))
	if grep -q '^vpudom-guest: exit 0' "$log"; then
		echo "ok $n - $what ran to the end"
	else
		echo "not ok $n - $what ran to the end (console log: $log)"
		tail -n 40 "$log" | sed 's/^/# /'
	fi
}

vpudom_dtb vpudom-virt-test.dts "$WORK/check-$stage.dtb"
vpudom_initramfs "$WORK/check-$stage.cpio.gz" check "${files[@]}"
vpudom_boot "$image" "$WORK/check-$stage.dtb" "$WORK/check-$stage.cpio.gz" \
	"$log" "$limit" "loglevel=4" >/dev/null || true
guest_tap "$log" "$stage guest"

# The second board, on Debian's kernels: a VPU described by the DT alone.
if [ "$flavour" = stock ]; then
	vpudom_dtb vpudom-virt-dt.dts "$WORK/check-$stage-dt.dtb"
	vpudom_initramfs "$WORK/check-$stage-dt.cpio.gz" dt "$build/vpudom.ko" \
		"$build/progs/vpudom_test" "$build/progs/vpudom_demo"
	vpudom_boot "$image" "$WORK/check-$stage-dt.dtb" \
		"$WORK/check-$stage-dt.cpio.gz" "$WORK/check-$stage-dt.log" \
		"$limit" "loglevel=4" >/dev/null || true
	guest_tap "$WORK/check-$stage-dt.log" "$stage DT board guest"
fi
echo "1..$n"
