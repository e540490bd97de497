#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# `make check`'s second board (dts/vpudom-virt-dt.dts): a VPU whose windows
# come from the devicetree alone, unlike the reference VPU's, must probe
# with exactly the DT's windows and pass the whole uAPI suite, which takes
# them from the ioctls; the two wrong descriptions are refused, each with
# its message.
. /lib/vpudom/tap.sh
. /lib/vpudom/health.sh
. /lib/vpudom/core.sh
. /lib/vpudom/uapi.sh

# This board's windows (the DT's) and the holes QEMU's SMMUv3 puts in
# them: what core_probe compares each block's debugfs ranges with.
expect_ranges() {
	case $1 in
	block0) cat <<'R'
window   0x0000000000000000-0x000000000fffffff
aperture 0x0000000000000000-0x0000ffffffffffff
hole     0x0000000000000000-0x0000000000000fff zero
hole     0x0000000008000000-0x00000000080fffff msi
usable   0x0000000000001000-0x0000000007ffffff
usable   0x0000000008100000-0x000000000fffffff
R
	;;
	block1) cat <<'R'
window   0x0000000004000000-0x0000000047ffffff
aperture 0x0000000000000000-0x0000ffffffffffff
hole     0x0000000008000000-0x00000000080fffff msi
usable   0x0000000004000000-0x0000000007ffffff
usable   0x0000000008100000-0x0000000047ffffff
R
	;;
	block2) cat <<'R'
window   0x0000000100000000-0x0000000107ffffff
aperture 0x0000000000000000-0x0000ffffffffffff
usable   0x0000000100000000-0x0000000107ffffff
R
	;;
	esac
}

health_start
# Its blocks are dma-coherent behind a coherent SMMUv3: mapped cacheable.
REF_CACHE=coherent
core_probe
dmesg > /tmp/dmesg
check "DT board: the VPU's description is the DT's" \
	grep -qx 'hardware: dt' "$(ref_instance)/info"
check "DT board: a DT window that conflicts with the driver's table refused" \
	grep -q 'vpu-conflict: /vpu-conflict/context@0: vpudom,iova-window 0x20000000-0x20ffffff conflicts with block block0 of ref-vpu, 0x25800000-0xdabfffff' /tmp/dmesg
check "DT board: a DT-described context without a window refused" \
	grep -q 'vpu-nowindow: /vpu-nowindow/context@1: a context of a vpudom,vpu VPU must give its vpudom,iova-window' /tmp/dmesg
check "DT board: only the DT-described VPU is registered" \
	sh -c "[ \$(ls -d $D/vpudom*/ | wc -l) -eq 1 ]"
uapi_run
# The demo knows no window either: a 1 MiB buffer goes to the top of what
# blocks 0 and 1 share (64-256 MiB here), as large buffers do.
check "DT board: vpudom_demo maps into the two blocks that share IOVAs" \
	sh -c '/lib/vpudom/vpudom_demo | grep -qx "mapped 1 MiB at IOVA 0xff00000 into block0 block1"'
check "DT board: rmmod vpudom" rmmod vpudom
health_end
tap_plan
