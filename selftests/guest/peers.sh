#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The peers vpudom is measured against: the first QEMU edu device goes to
# the vpudom_bench module (the DMA API path), the second to vfio-pci (the
# VFIO path).  Sourced by bench.sh and check.sh.
#
# vfio_iommu_type1 refuses a group without interrupt remapping, which the
# virt board's GICv2m does not do; nothing here uses interrupts, so the
# emulated target allows it.

L=/lib/vpudom
EDU_ID="0x1234 0x11e8"

# The edu devices, in bus order.
edu_devices() {
	local d p

	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor") $(cat "$d/device")" = "$EDU_ID" ] &&
			basename "$d"
	done
}

# Load VFIO: the kernel package's modules, in the order the host read from
# its modules.dep (vfio.order; empty where the kernel has VFIO built in).
vfio_load() {
	local m

	for m in $(cat $L/vfio.order 2>/dev/null); do
		grep -q "^$(echo "$m" | tr - _) " /proc/modules && continue
		insmod "$L/$m.ko" || return 1
	done
	echo 1 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
}

vfio_unload() {
	local m

	for m in $(sed -n '1!G;h;$p' $L/vfio.order 2>/dev/null); do
		grep -q "^$(echo "$m" | tr - _) " /proc/modules && { rmmod "$m" || return 1; }
	done
	return 0
}

# peers_setup: vpudom loaded; afterwards vpudom_bench and VFIO are ready.
# Every edu device is claimed for its peer (or for none) before any driver
# comes, so that each binds to the one meant for it.
peers_setup() {
	local d p

	PEER_ALL=$(edu_devices)
	set -- $PEER_ALL
	if [ $# -lt 2 ]; then
		echo "peers: need two edu devices, have $#"
		return 1
	fi
	PEER_DMA=$1
	PEER_VFIO=$2
	for d in $PEER_ALL; do
		p=/sys/bus/pci/devices/$d
		[ -e "$p/driver" ] && echo "$d" > "$p/driver/unbind"
		echo none > "$p/driver_override"
	done
	echo vpudom_bench > "/sys/bus/pci/devices/$PEER_DMA/driver_override"
	echo vfio-pci > "/sys/bus/pci/devices/$PEER_VFIO/driver_override"
	vfio_load || { echo "peers: cannot load VFIO"; return 1; }
	insmod $L/vpudom_bench.ko || { echo "peers: insmod vpudom_bench failed"; return 1; }
	for d in $PEER_DMA $PEER_VFIO; do
		[ -e "/sys/bus/pci/devices/$d/driver" ] ||
			echo "$d" > /sys/bus/pci/drivers_probe
	done
	[ -e "/sys/bus/pci/drivers/vpudom_bench/$PEER_DMA" ] ||
		{ echo "peers: $PEER_DMA not bound to vpudom_bench"; return 1; }
	[ -e "/sys/bus/pci/drivers/vfio-pci/$PEER_VFIO" ] ||
		{ echo "peers: $PEER_VFIO not bound to vfio-pci"; return 1; }
}

peers_teardown() {
	local d p ret=0

	lsmod | grep -q '^vpudom_bench ' && { rmmod vpudom_bench || ret=1; }
	for d in $PEER_ALL; do
		p=/sys/bus/pci/devices/$d
		[ -e "$p/driver" ] && echo "$d" > "$p/driver/unbind"
		echo > "$p/driver_override"
	done
	vfio_unload || ret=1
	return $ret
}

# bench_smoke: make check's run of the benchmark, tiny counts.
bench_smoke() {
	local out

	if ! out=$(peers_setup 2>&1); then
		not_ok "bench: DMA API and VFIO peers set up" "$out" "$(dmesg | tail -n 20)"
		peers_teardown >/dev/null 2>&1
		return
	fi
	ok "bench: DMA API and VFIO peers set up"
	if out=$($L/vpudom_bench --quick 2>&1) &&
	   ! echo "$out" | grep -q 'n/a'; then
		ok "bench: smoke run of every row"
	else
		not_ok "bench: smoke run of every row" "$out" "$(dmesg | tail -n 20)"
	fi
	check "bench: peers torn down" peers_teardown
}
