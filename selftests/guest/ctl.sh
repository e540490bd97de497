#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# vpudomctl, the tool for the people who debug a VPU, run as they would:
# what it lists must be what debugfs says, a file and a dma-buf it maps
# must show up with their owner, and it must see a fault as it happens.
# Sourced by check.sh after tap.sh and core.sh (for ref_instance).

CTL=/lib/vpudom/vpudomctl

# ctl_ranges_of <vpudomctl list output> <block>: "hole|usable first-last"
# lines of one block, as the tool derived them from the ioctls.
ctl_ranges_of() {
	awk -v b="$2" '
		$1 == "block" { on = ($3 == b ":") ; next }
		on && ($1 == "hole" || $1 == "usable") { print $1, $2 }' "$1"
}

# Normalise "kind 0x<a>-0x<b>" to "kind a b" with no leading zeros.
ctl_norm() {
	sed -n 's/^\(hole\|usable\) *0x0*\([0-9a-f]*\)-0x0*\([0-9a-f]*\).*/\1 \2 \3/p'
}

ctl_list() {
	local inst dev b ok_all=1 diffs=""

	inst=$(ref_instance)
	dev=/dev/$(basename "$inst")
	if ! $CTL -d "$dev" list > /tmp/ctl.list 2>&1; then
		not_ok "vpudomctl list" "$(cat /tmp/ctl.list)"
		return
	fi
	check "vpudomctl list: the VPU's device and hardware names" \
		grep -q "^$dev: device vpu, hardware ref-vpu, 3 blocks\$" /tmp/ctl.list
	check "vpudomctl list: block0 on stream 0x1900 with 4K|2M|1G pages" \
		grep -q '^  block 0 block0: stream 0x1900, page sizes 4K|2M|1G$' /tmp/ctl.list
	for b in block0 block1 block2; do
		ctl_ranges_of /tmp/ctl.list "$b" | ctl_norm > /tmp/ctl.a
		grep -E '^(hole|usable) ' "$inst/$b/ranges" | ctl_norm > /tmp/ctl.b
		if [ ! -s /tmp/ctl.a ] || ! cmp -s /tmp/ctl.a /tmp/ctl.b; then
			ok_all=0
			diffs="$diffs
$b: vpudomctl:
$(cat /tmp/ctl.a)
debugfs:
$(cat /tmp/ctl.b)"
		fi
	done
	if [ $ok_all = 1 ]; then
		ok "vpudomctl list: every block's holes and usable ranges are debugfs's"
	else
		not_ok "vpudomctl list: every block's holes and usable ranges are debugfs's" "$diffs"
	fi
}

# A file and a dma-buf, mapped, seen with their owner, unmapped.
ctl_map() {
	local inst dev out

	inst=$(ref_instance)
	dev=/dev/$(basename "$inst")
	dd if=/dev/urandom of=/tmp/ctl.bin bs=4096 count=5 2>/dev/null
	out=$($CTL -d "$dev" map -b 0x6 /tmp/ctl.bin 2>&1)
	expect_lines "vpudomctl map: a file into blocks 1 and 2, shown with its owner, unmapped" \
		$? "$out" \
		'^mapped /tmp/ctl.bin \(20480 bytes\) at IOVA 0x[0-9a-f]+ in blocks 0x6$' \
		'^debugfs block1: 0x[0-9a-f]+ .* r- +nc +vpudom +0x0006 +user +[0-9]+/vpudomctl$' \
		'^unmapped 20480 bytes$'
	# While a mapping is held, `mappings` shows it with its owner.
	$CTL -d "$dev" map -b 0x1 -t 4 /tmp/ctl.bin > /tmp/ctl.held 2>&1 &
	sleep 2
	$CTL -d "$dev" mappings > /tmp/ctl.maps 2>&1
	wait
	check "vpudomctl mappings: a held mapping appears with its owner" \
		grep -Eq '^    0x[0-9a-f]+ .* user +[0-9]+/vpudomctl$' /tmp/ctl.maps
	if [ ! -e /dev/udmabuf ]; then
		skip "vpudomctl map-dmabuf: a dma-buf made of a file" "no udmabuf in this kernel"
		return
	fi
	out=$($CTL -d "$dev" map-dmabuf -b 0x1 /tmp/ctl.bin 2>&1)
	expect_lines "vpudomctl map-dmabuf: a dma-buf made of a file, shown with its owner" \
		$? "$out" \
		'^mapped /tmp/ctl.bin \(20480 bytes, dma-buf\) at IOVA 0x[0-9a-f]+ in blocks 0x1$' \
		'^debugfs block0: 0x[0-9a-f]+ .* rw +nc +exporter +0x0001 +dma-buf +[0-9]+/vpudomctl$' \
		'^unmapped 20480 bytes$'
}

# ctl_faults_start / ctl_faults_check around something that reports a
# fault through the IOMMU core (KUnit's fault accounting case does).
ctl_faults_start() {
	[ -e /lib/vpudom/vpudom_kunit.ko ] || return 0
	$CTL faults -n 1 -t 120 > /tmp/ctl.faults 2>&1 &
	CTL_FAULTS_PID=$!
	sleep 1
}

ctl_faults_check() {
	if [ -z "${CTL_FAULTS_PID:-}" ]; then
		skip "vpudomctl faults: follows a fault as it is reported" \
			"nothing reports a fault here (no KUnit; SMMUv3 faults reach only the log)"
		return
	fi
	wait "$CTL_FAULTS_PID"
	if grep -Eq 'vpudom_fault: vpudom[0-9]+ block=[0-9]+ sid=0x[0-9a-f]+ iova=0x30000000' /tmp/ctl.faults &&
	   grep -q '^seen: 1$' /tmp/ctl.faults; then
		ok "vpudomctl faults: follows a fault as it is reported"
	else
		not_ok "vpudomctl faults: follows a fault as it is reported" "$(cat /tmp/ctl.faults)"
	fi
}

# The map and unmap events a vpudomctl map leaves, in their documented
# format (docs/ABI/trace-vpudom): prot and source by name.
ctl_trace() {
	local t=/sys/kernel/tracing dev

	dev=/dev/$(basename "$(ref_instance)")
	[ -e $t/events/vpudom ] || t=/sys/kernel/debug/tracing
	echo > $t/trace
	echo 1 > $t/events/vpudom/vpudom_map/enable
	echo 1 > $t/events/vpudom/vpudom_unmap/enable
	$CTL -d "$dev" map -b 0x4 /tmp/ctl.bin > /dev/null 2>&1
	echo 0 > $t/events/vpudom/vpudom_map/enable
	echo 0 > $t/events/vpudom/vpudom_unmap/enable
	grep -E 'vpudom_(map|unmap):' $t/trace > /tmp/ctl.trace
	check "trace: vpudom_map names prot, source and who maintains the caches" \
		grep -Eq 'vpudom_map: vpudom[0-9]+ blocks=0x4 iova=0x[0-9a-f]+ size=0x5000 prot=READ source=user sync=vpudom$' /tmp/ctl.trace
	check "trace: vpudom_unmap of the same range" \
		grep -Eq 'vpudom_unmap: vpudom[0-9]+ blocks=0x4 iova=0x[0-9a-f]+ size=0x5000$' /tmp/ctl.trace
}
