#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Real DMA through the SMMU: the edu devices become a test VPU and the edu
# selftests drive them through the uAPI.  Sourced by check.sh after tap.sh
# and uapi.sh (whose runner it shares).

edu_run() {
	local before

	before=$(ls -d /sys/kernel/debug/vpudom/vpudom*/ | wc -l)
	if ! insmod /lib/vpudom/vpudom_edu.ko; then
		not_ok "edu: the edu devices assemble into a VPU" "$(dmesg | tail -n 20)"
		return
	fi
	if grep -q '^hardware: edu-vpu$' /sys/kernel/debug/vpudom/*/info &&
	   [ "$(ls -d /sys/kernel/debug/vpudom/vpudom*/ | wc -l)" -eq $((before + 1)) ]; then
		ok "edu: three edu devices assemble into a VPU, each on its own stream"
	else
		not_ok "edu: three edu devices assemble into a VPU, each on its own stream" \
			"$(cat /sys/kernel/debug/vpudom/vpudom*/info)" "$(dmesg | tail -n 20)"
	fi
	# PCI devices under QEMU's dma-coherent PCIe host, behind its coherent
	# SMMUv3: the one VPU here whose mappings are cacheable.
	check "edu: its blocks snoop the CPU caches (cache coherent)" \
		sh -c "[ \$(grep -l '^hardware: edu-vpu\$' $D/*/info | xargs grep -c ' cache coherent\$') -eq 3 ]"
	kselftest_run edu /lib/vpudom/edu_test
	check "edu: rmmod vpudom_edu" rmmod vpudom_edu
	# Sessions of the edu VPU, open when its module went, are all closed.
	check "edu: no reference on vpudom left behind" \
		sh -c '[ "$(cat /sys/module/vpudom/refcnt)" -eq 0 ]'
}
