#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest tests of the per-SID core: probe, topology checks, usable ranges,
# load/unload and unbind/bind cycles.  Sourced by check.sh after tap.sh.

D=/sys/kernel/debug/vpudom
L=/lib/vpudom
VPU_DRV=/sys/bus/platform/drivers/vpudom-vpu

# The instance directory of the reference VPU (the /vpu node).
ref_instance() {
	grep -l '^device:   vpu$' "$D"/*/info 2>/dev/null | head -n1 | xargs -r dirname
}

expect_ranges() {
	case $1 in
	block0) cat <<'R'
window   0x0000000025800000-0x00000000dabfffff
aperture 0x0000000000000000-0x0000ffffffffffff
usable   0x0000000025800000-0x00000000dabfffff
R
	;;
	block1) cat <<'R'
window   0x0000000000000000-0x00000000dabfffff
aperture 0x0000000000000000-0x0000ffffffffffff
hole     0x0000000000000000-0x0000000000000fff zero
hole     0x0000000008000000-0x00000000080fffff msi
usable   0x0000000000001000-0x0000000007ffffff
usable   0x0000000008100000-0x00000000dabfffff
R
	;;
	block2) cat <<'R'
window   0x0000000001000000-0x00000000257fffff
aperture 0x0000000000000000-0x0000ffffffffffff
hole     0x0000000008000000-0x00000000080fffff msi
usable   0x0000000001000000-0x0000000007ffffff
usable   0x0000000008100000-0x00000000257fffff
R
	;;
	esac
}

# REF_CACHE: what the reference VPU's blocks are, "coherent" (the DT
# board's) or "non-coherent" (the test board's, the default).
core_probe() {
	local inst sid b n group groups="" dev

	check "insmod vpudom" insmod $L/vpudom.ko
	inst=$(ref_instance)
	if [ -z "$inst" ]; then
		not_ok "reference VPU registered" "$(ls $D)" "$(dmesg | grep -i vpu)"
		return
	fi
	ok "reference VPU registered as $(basename "$inst")"
	check "reference VPU has 3 blocks" grep -qx 'blocks:   3' "$inst/info"

	n=0
	for b in block0 block1 block2; do
		sid=$(printf '0x%x' $((0x1900 + n)))
		check "$b: stream $sid from its own DT node, cache ${REF_CACHE:-non-coherent}" \
			grep -Eq "^block $n $b +stream $sid device vpu:context@$n cache ${REF_CACHE:-non-coherent}\$" "$inst/info"
		group=$(sed -n 's/^iommu_group: *//p' "$inst/$b/stats")
		dev=$(ls /sys/kernel/iommu_groups/"$group"/devices 2>/dev/null)
		if [ "$dev" = "vpu:context@$n" ]; then
			ok "$b: IOMMU group $group holds only its context"
		else
			not_ok "$b: IOMMU group $group holds only its context" "devices: $dev"
		fi
		groups="$groups $group"
		expect_ranges $b > /tmp/expect
		same "$b: window, holes and usable ranges exact" /tmp/expect "$inst/$b/ranges"
		check "$b: no mapping at probe" \
			sh -c "[ \$(wc -l < '$inst/$b/mappings') -eq 1 ]"
		check "$b: no fault at probe (debugfs last_fault)" \
			grep -qx 'last_fault:      none' "$inst/$b/stats"
		n=$((n + 1))
	done
	n=$(echo $groups | tr ' ' '\n' | sort -u | wc -l)
	check "three distinct IOMMU groups ($groups )" [ "$n" -eq 3 ]
	# QEMU's SMMUv3 sets IDR0.COHACC, as its DT node says: the driver
	# would warn if the two disagreed.
	check "SMMUv3: IDR0.COHACC as its DT node's dma-coherent" \
		sh -c "! dmesg | grep -q 'IDR0.COHACC overridden'"
}

# The test DT has one broken VPU per topology rule.
core_topology() {
	dmesg > /tmp/dmesg
	check "missing block refused" \
		grep -q 'vpu-missing: block block2 has no context node' /tmp/dmesg
	check "duplicated block refused" \
		grep -q 'vpu-duplicate: /vpu-duplicate/context@2: block block1 is described twice' /tmp/dmesg
	check "context with two streams refused" \
		grep -q 'vpu-two-streams: /vpu-two-streams/context@1: block block1 has 2 streams' /tmp/dmesg
	check "stream shared by two contexts refused" \
		grep -q 'vpu-shared-stream:context@2: block2: not translated by an IOMMU' /tmp/dmesg
	check "context with a mistyped compatible named" \
		grep -q 'vpu-mistyped: /vpu-mistyped/context@2: has a stream but is no context: compatible is not vpudom,ref-vpu-context' /tmp/dmesg
	check "VPU with a mistyped context refused" \
		grep -q 'vpu-mistyped: block block2 has no context node' /tmp/dmesg
	check "only the reference VPU is registered" \
		sh -c "[ \$(ls -d $D/vpudom*/ | wc -l) -eq 1 ]"
}

# The VPU whose block 1 is behind an IOMMU that never comes (/iommu-absent)
# must not wait in silence: while the driver core waits, devices_deferred
# says what for; once its deferred probe timeout expires (10 s after
# late_initcall), the VPU is refused with a message naming the IOMMU.
NOIOMMU_WAIT='/vpu-noiommu/context@1: waiting for its IOMMU /iommu-absent'
NOIOMMU_GONE='vpu-noiommu: /vpu-noiommu/context@1: its IOMMU /iommu-absent never came'

core_supplier_waiting() {
	local deferred=/sys/kernel/debug/devices_deferred

	# The driver core puts the driver's name before the reason.
	if grep -q "^vpu-noiommu	vpudom-vpu: $NOIOMMU_WAIT\$" $deferred 2>/dev/null; then
		ok "VPU waiting for a context's IOMMU says so in devices_deferred"
	elif dmesg | grep -q "$NOIOMMU_GONE"; then
		ok "VPU waiting for a context's IOMMU says so in devices_deferred (the timeout had already expired: refused, naming it)"
	else
		not_ok "VPU waiting for a context's IOMMU says so in devices_deferred" \
			"$(cat $deferred 2>&1)" "$(dmesg | grep -i noiommu)"
	fi
}

core_supplier_refused() {
	local i

	for i in $(seq 30); do
		dmesg | grep -q "$NOIOMMU_GONE" && break
		sleep 1
	done
	check "VPU whose context's IOMMU never comes refused, naming it, at the deferred probe timeout" \
		sh -c "dmesg | grep -q '$NOIOMMU_GONE'"
	check "... and no longer listed as deferred" \
		sh -c "! grep -q '^vpu-noiommu' /sys/kernel/debug/devices_deferred"
}

core_cycles() {
	local i bad=""

	check "rmmod vpudom" rmmod vpudom
	check "debugfs gone after rmmod" sh -c "[ ! -e $D ]"
	for i in 1 2 3 4 5; do
		insmod $L/vpudom.ko || bad="$bad insmod$i"
		[ -n "$(ref_instance)" ] || bad="$bad probe$i"
		rmmod vpudom || bad="$bad rmmod$i"
		[ ! -e $D ] || bad="$bad debugfs$i"
	done
	if [ -z "$bad" ]; then ok "5 insmod/rmmod cycles"; else not_ok "5 insmod/rmmod cycles" "$bad"; fi

	insmod $L/vpudom.ko
	bad=""
	for i in 1 2 3 4 5; do
		echo vpu > $VPU_DRV/unbind || bad="$bad unbind$i"
		[ -z "$(ref_instance)" ] || bad="$bad still-there$i"
		[ ! -e /sys/bus/platform/devices/vpu:context@0 ] || bad="$bad children$i"
		echo vpu > $VPU_DRV/bind || bad="$bad bind$i"
		[ -n "$(ref_instance)" ] || bad="$bad probe$i"
	done
	if [ -z "$bad" ]; then ok "5 unbind/bind cycles of the VPU"; else not_ok "5 unbind/bind cycles of the VPU" "$bad"; fi
	inst=$(ref_instance)
	for b in block0 block1 block2; do
		expect_ranges $b > /tmp/expect
		same "$b: ranges exact after rebind" /tmp/expect "$inst/$b/ranges"
	done
}
