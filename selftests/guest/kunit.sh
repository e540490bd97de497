#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Load the KUnit module (debug kernel) and report each of its cases.
# Sourced by check.sh after tap.sh.

FI=/sys/kernel/debug

# Let failslab and fail_page_alloc fail the sleeping allocations of every
# order that a task asks for through fail-nth, without stack dumps.
fault_injection_on() {
	local a
	for a in failslab fail_page_alloc; do
		echo N > $FI/$a/ignore-gfp-wait
		echo 0 > $FI/$a/verbose
	done
	echo 0 > $FI/fail_page_alloc/min-order
}

kunit_run() {
	local before n=0 line

	if [ ! -e /lib/vpudom/vpudom_kunit.ko ]; then
		skip "KUnit suites vpudom_iova and vpudom_kapi" "no KUnit in this kernel"
		return
	fi
	fault_injection_on
	before=$(dmesg | wc -l)
	if ! insmod /lib/vpudom/vpudom_kunit.ko; then
		not_ok "insmod vpudom_kunit"
		return
	fi
	dmesg | tail -n +$((before + 1)) | sed 's/^\[[^]]*\] *//' > /tmp/kunit.log
	rmmod vpudom_kunit
	# kapi_fault_report's last report on block0, as debugfs shows it.
	check "kunit: debugfs last_fault shows the last fault reported" \
		grep -qx 'last_fault:      write at 0x80000000: unmapped, no mapping in the stream' \
		"$(ref_instance)/block0/stats"
	# Each case, then each suite: "ok 1 - name" or "not ok 1 - name".
	while read -r line; do
		case $line in
		"ok "*|"not ok "*) ;;
		*) continue ;;
		esac
		n=$((n + 1))
		name=$(echo "$line" | sed -E 's/^(not )?ok [0-9]+ (- )?//')
		case $line in
		"ok "*"# SKIP"*) skip "kunit: ${name%% #*}" "${name#*# SKIP}" ;;
		"ok "*) ok "kunit: $name" ;;
		*) not_ok "kunit: $name" "$(grep -B30 "not ok.*$name" /tmp/kunit.log | grep -E '#|Expected|EXPECTATION|ASSERTION' | tail -n 30)" ;;
		esac
	done < /tmp/kunit.log
	grep 'injection points' /tmp/kunit.log | sed 's/^/# /'
	# 21 cases in 2 suites: a line each, and one per suite.
	if [ $n -ne 23 ]; then
		not_ok "kunit: every case reported" "saw $n results, expected 23" "$(cat /tmp/kunit.log | head -n 80)"
	fi
}
