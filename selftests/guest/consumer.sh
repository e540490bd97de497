#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The in-kernel API as a media driver uses it: vpudom_consumer binds to a
# device of its own, looks the reference VPU up with devm_of_vpudom_get()
# (device links to the VPU and its contexts), maps through handles, and is
# unbound before the VPU or a context goes.  Sourced by check.sh after
# tap.sh and core.sh.

CONS=/sys/kernel/debug/vpudom_consumer
CONS_DEV=/sys/bus/platform/devices/vpudom-test-consumer
CONS_DRV=/sys/bus/platform/drivers/vpudom-test-consumer
CTX_DRV=/sys/bus/platform/drivers/vpudom-context

# cons_status <key>: a value of the module's status file.
cons_status() {
	sed -n "s/^$1: //p" $CONS/status
}

# cons_run <test> <description>
cons_run() {
	if echo "$1" > $CONS/run 2>/tmp/cons.err; then
		ok "consumer: $2"
	else
		not_ok "consumer: $2" "$(cat /tmp/cons.err)" \
			"$(dmesg | grep vpudom_consumer | tail -n 10)"
	fi
}

# cons_mappings: the live mappings of the reference VPU, every block.
cons_mappings() {
	cat "$(ref_instance)"/block*/mappings | grep -c '^0x' || true
}

# cons_unbound_first <what> <removes before>: the consumer was unbound
# before the instance went, and freed its firmware while it was there.
cons_unbound_first() {
	if [ ! -e $CONS_DEV/driver ] && [ "$(cons_status removes)" = $(($2 + 1)) ] &&
	   [ "$(cons_status remove_ret)" = 0 ]; then
		ok "consumer: unbound before $1 (its firmware freed while the instance was there)"
	else
		not_ok "consumer: unbound before $1 (its firmware freed while the instance was there)" \
			"$(cat $CONS/status)" "$(ls $CONS_DEV)"
	fi
}

consumer_run() {
	local s removes

	if ! insmod $L/vpudom_consumer.ko; then
		not_ok "consumer: the test consumer loads" "$(dmesg | tail -n 20)"
		return
	fi
	check "consumer: bound to the VPU (devm_of_vpudom_get, firmware at a fixed IOVA)" \
		sh -c "[ -e $CONS_DEV/driver ] && grep -qx 'bound: 1' $CONS/status"
	for s in vpu vpu:context@0 vpu:context@1 vpu:context@2; do
		check "consumer: managed device link to $s, active" \
			grep -qx active "/sys/class/devlink/platform:$s--platform:vpudom-test-consumer/status"
	done
	check "consumer: firmware mapped at 0x30000000 in block0, by the kernel" \
		grep -Eq '^0x0000000030000000 .* kernel$' "$(ref_instance)/block0/mappings"
	cons_run sgt "sg_table map -> handle -> unmap by handle, two blocks, range unmap, bad arguments"
	cons_run alloc "alloc and map: zeroed, CPU and IOVA views agree; fixed IOVA; EEXIST, EADDRINUSE, ERANGE, EINVAL"
	cons_run dmabuf "dma-buf: attached by vpudom, the consumer's own attachment by DMA address, an address that is not RAM"
	check "consumer: every test dma-buf released, none attached" \
		sh -c "[ \"\$(sed -n 's/^buffers: //p' $CONS/status)\" = 0 ] &&
		       [ \"\$(sed -n 's/^attachments: //p' $CONS/status)\" = 0 ]"

	# Unbinding the VPU under the bound consumer.
	cons_run hold "a handle of every kind held without a device link"
	removes=$(cons_status removes)
	check "consumer: unbind the VPU" sh -c "echo vpu > $VPU_DRV/unbind"
	cons_unbound_first "the VPU" "$removes"
	cons_run after "after the revoke: every call -ENODEV, held handles freed, attachments gone"
	check "consumer: no dma-buf left" \
		sh -c "[ \"\$(sed -n 's/^buffers: //p' $CONS/status)\" = 0 ]"
	echo vpu > $VPU_DRV/bind
	check "consumer: VPU binds again" [ -n "$(ref_instance)" ]
	check "consumer: binds again to the new instance" \
		sh -c "echo vpudom-test-consumer > $CONS_DRV/bind && grep -qx 'bound: 1' $CONS/status"
	cons_run sgt "maps on the new instance"

	# A context going takes the instance down too.
	removes=$(cons_status removes)
	check "consumer: unbind context 1" sh -c "echo vpu:context@1 > $CTX_DRV/unbind"
	cons_unbound_first "a context" "$removes"
	echo vpu:context@1 > $CTX_DRV/bind
	check "consumer: context 1 binds again, the VPU with it" [ -n "$(ref_instance)" ]
	check "consumer: binds again" \
		sh -c "echo vpudom-test-consumer > $CONS_DRV/bind && grep -qx 'bound: 1' $CONS/status"

	check "consumer: rmmod vpudom_consumer" rmmod vpudom_consumer
	check "consumer: no mapping left" [ "$(cons_mappings)" = 0 ]
	check "consumer: no reference on vpudom left behind" \
		sh -c '[ "$(cat /sys/module/vpudom/refcnt)" -eq 0 ]'
}
