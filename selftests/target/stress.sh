#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make stress`: the concurrency stress on the debug kernel (VPUDOM_KERNEL:
# 6.1, the default, or 6.12) for
# VPUDOM_STRESS_SECONDS (default 600), unbinding and rebinding the VPU all
# along, then the leak checks and the kernel log scan.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

seconds=${VPUDOM_STRESS_SECONDS:-600}
VPUDOM_CMD="make stress"
case " $VPUDOM_DEBUG_KERNELS " in
*" ${VPUDOM_KERNEL:-6.1} "*) ;;
*) vpudom_die "no debug kernel for ${VPUDOM_KERNEL} (VPUDOM_KERNEL: one of $VPUDOM_DEBUG_KERNELS)" ;;
esac
vpudom_setup "${VPUDOM_KERNEL:-6.1}" || vpudom_die "setup failed (see the setup: lines above)"
vpudom_debug_kernel || vpudom_die "the debug kernel did not build (see above)"
vpudom_prepare stress-$KNAME "$DEBUG_KDIR" vpudom-virt.dts
vpudom_initramfs "$WORK/stress.cpio.gz" stress "$BUILD/vpudom.ko" \
	"$BUILD/progs/vpudom_stress" || vpudom_die "packing the initramfs failed"
echo "Stressing vpudom on the debug kernel for $seconds s..."
vpudom_boot "$DEBUG_IMAGE" "$DTB" "$WORK/stress.cpio.gz" \
	"$WORK/stress.log" $((seconds + 600)) \
	"loglevel=4 vpudom_stress_seconds=$seconds" >/dev/null || true
sed -n 's/\r$//; s/^vpudom-tap: //p' "$WORK/stress.log"
passed=$(grep -c '^vpudom-tap: ok ' "$WORK/stress.log" || true)
failed=$(grep -c '^vpudom-tap: not ok ' "$WORK/stress.log" || true)
grep -q '^vpudom-guest: exit 0' "$WORK/stress.log" || failed=$((failed + 1))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
