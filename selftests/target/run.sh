#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make run`: boot Debian's arm64 kernel on QEMU virt with an SMMUv3 and the
# reference VPU in the DT, load vpudom, show what it manages, unload.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vpudom_setup
build=$(vpudom_build stock "$STOCK_KDIR" "$VPUDOM_TOP/selftests/edu")
vpudom_dtb vpudom-virt.dts "$WORK/run.dtb"
vpudom_build_tests "$build/progs"
vpudom_initramfs "$WORK/run.cpio.gz" run "$build/vpudom.ko" \
	"$build/edu/vpudom_edu.ko" "$build/progs/vpudom_demo"
echo "Booting $ABI on QEMU virt (SMMUv3) with vpudom..."
vpudom_boot "$STOCK_IMAGE" "$WORK/run.dtb" "$WORK/run.cpio.gz" \
	"$WORK/run.log" 300 "quiet" | grep -v '^vpudom-guest: kernel' || true
if ! grep -q '^vpudom-guest: exit 0' "$WORK/run.log"; then
	echo "make run: the guest did not finish cleanly; console log: $WORK/run.log" >&2
	exit 1
fi
