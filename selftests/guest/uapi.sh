#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The uAPI selftests (vpudom_test, kselftest harness): each of its results
# becomes one of ours.  Sourced by check.sh after tap.sh.

# kselftest_run <prefix> <program>: each result of a kselftest-harness
# program becomes one of ours.
kselftest_run() {
	local prefix=$1 prog=$2 line name="" n=0 plan log=/tmp/$1.log

	$prog > $log 2>&1
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' $log)
	while read -r line; do
		case $line in
		"#  RUN "*)
			# "#  RUN           fixture.variant.test ..."
			name=$(echo "$line" | sed -E 's/^#  RUN +([^ ]+) .*/\1/')
			continue ;;
		"ok "*|"not ok "*) ;;
		*) continue ;;
		esac
		n=$((n + 1))
		case $line in
		"ok "*"# SKIP"*) skip "$prefix: $name" "${line#*# SKIP }" ;;
		"ok "*) ok "$prefix: $name" ;;
		*) not_ok "$prefix: $name" "$(sed -n "/#  RUN *${name} /,/ok [0-9]* /p" $log | head -n 40)" ;;
		esac
	done < $log
	if [ -z "$plan" ] || [ "$n" -ne "$plan" ]; then
		not_ok "$prefix: every test reported" "plan ${plan:-none}, saw $n" \
			"$(tail -n 30 $log)"
	fi
}

uapi_run() {
	kselftest_run uapi /lib/vpudom/vpudom_test
}

# The module cannot go while a file of it is open.
uapi_rmmod_busy() {
	exec 3</dev/vpudom0
	if rmmod vpudom 2>/dev/null; then
		not_ok "rmmod refused while /dev/vpudom0 is open"
		insmod /lib/vpudom/vpudom.ko
	else
		ok "rmmod refused while /dev/vpudom0 is open"
	fi
	exec 3<&-
}

# The uAPI guide's example (docs/uapi.md), compiled from the guide as it
# stands, run on the reference VPU: what the guide says it prints.
uapi_example_run() {
	local dev out

	dev=/dev/$(basename "$(ref_instance)")
	out=$(/lib/vpudom/uapi_example "$dev" 2>&1)
	expect_lines "docs/uapi.md: the worked example compiles, runs and prints what the guide says" \
		$? "$out" \
		'^block 1 block1 stream 0x1901: 0x1000-0x7ffffff 0x8100000-0xdabfffff$' \
		'^mapped 1048576 bytes at IOVA 0x25700000 in blocks 1 and 2$' \
		'^first byte 0xa5$' \
		'^unmapped 1048576 bytes$'
}
