#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# fail-nth sweeps of the uAPI sequences (debug kernel).  Sourced by check.sh
# after tap.sh, kunit.sh (fault_injection_on) and uapi.sh (kselftest_run).

failnth_run() {
	if [ ! -e /proc/self/task/$$/fail-nth ]; then
		skip "fail-nth sweeps of the uAPI" "no fault injection in this kernel"
		return
	fi
	fault_injection_on
	kselftest_run fail-nth /lib/vpudom/vpudom_fail_nth
	grep 'injection points' /tmp/fail-nth.log | sed 's/^# *//' | while read -r l; do
		tap "# $l"
	done
}
