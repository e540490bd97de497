#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# `make check`'s second board (dts/vpudom-virt-dt.dts): a VPU whose windows
# come from the devicetree alone must probe as the reference VPU does and
# pass the whole uAPI suite; the two wrong descriptions are refused, each
# with its message.
. /lib/vpudom/tap.sh
. /lib/vpudom/health.sh
. /lib/vpudom/core.sh
. /lib/vpudom/uapi.sh

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
check "DT board: rmmod vpudom" rmmod vpudom
health_end
tap_plan
