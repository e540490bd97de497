#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make run`: boot a Debian arm64 kernel (VPUDOM_KERNEL: 6.1, the default,
# 6.12 or 7) on QEMU virt with an SMMUv3 and the reference VPU in the DT,
# load vpudom, show what it manages, unload.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

die() { echo "make run: $*" >&2; exit 1; }

vpudom_setup "${VPUDOM_KERNEL:-6.1}" || die "setup failed (see the setup: lines above)"
build=$(vpudom_build run-$KNAME "$KDIR" "$VPUDOM_TOP/selftests/edu" 2>/dev/null) ||
	die "building vpudom for $ABI failed; log: $WORK/build-run-$KNAME/build.log"
vpudom_build_tests "$build/progs" 2>/dev/null ||
	die "building the test programs failed; log: $build/progs/build.log"
vpudom_dtb vpudom-virt.dts "$WORK/run.dtb" 2>"$WORK/run-dtb.log" ||
	die "making the device tree failed; log: $WORK/run-dtb.log"
vpudom_initramfs "$WORK/run.cpio.gz" run "$build/vpudom.ko" \
	"$build/edu/vpudom_edu.ko" "$build/progs/vpudom_demo" \
	"$build/progs/vpudomctl" ||
	die "packing the initramfs failed"
echo "Booting $ABI on QEMU virt (SMMUv3) with vpudom..."
vpudom_boot "$IMAGE" "$WORK/run.dtb" "$WORK/run.cpio.gz" \
	"$WORK/run.log" 300 "quiet" | grep -v '^vpudom-guest: kernel' || true
grep -q '^vpudom-guest: exit 0' "$WORK/run.log" ||
	die "the guest did not finish cleanly; console log: $WORK/run.log"
