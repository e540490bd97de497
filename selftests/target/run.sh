#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make run`: boot a Debian arm64 kernel (VPUDOM_KERNEL: 6.1, the default,
# 6.12 or 7) on QEMU virt with an SMMUv3 and the reference VPU in the DT,
# load vpudom, show what it manages, unload.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

VPUDOM_CMD="make run"
vpudom_setup "${VPUDOM_KERNEL:-6.1}" || vpudom_die "setup failed (see the setup: lines above)"
vpudom_prepare run-$KNAME "$KDIR" vpudom-virt.dts "$VPUDOM_TOP/selftests/edu"
vpudom_initramfs "$WORK/run.cpio.gz" run "$BUILD/vpudom.ko" \
	"$BUILD/edu/vpudom_edu.ko" "$BUILD/progs/vpudom_demo" \
	"$BUILD/progs/vpudomctl" || vpudom_die "packing the initramfs failed"
echo "Booting $ABI on QEMU virt (SMMUv3) with vpudom..."
vpudom_boot "$IMAGE" "$DTB" "$WORK/run.cpio.gz" \
	"$WORK/run.log" 300 "quiet" | grep -v '^vpudom-guest: kernel' || true
grep -q '^vpudom-guest: exit 0' "$WORK/run.log" ||
	vpudom_die "the guest did not finish cleanly; console log: $WORK/run.log"
