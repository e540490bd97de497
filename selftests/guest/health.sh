#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Kernel health checks run at the end of every guest test run.

# What in the kernel log means a test run is not clean.
SPLAT='BUG:|WARNING:|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|lock held when returning|blocked for more than|Oops|Internal error|kmemleak: .* new suspected'

health_start() {
	if [ -e /sys/kernel/debug/kmemleak ]; then
		# Forget what boot left behind: only the tests' leaks count.
		echo scan > /sys/kernel/debug/kmemleak
		echo clear > /sys/kernel/debug/kmemleak
	fi
}

health_end() {
	if [ -e /sys/kernel/debug/kmemleak ]; then
		# Objects younger than 5 s are never reported; scan twice, as
		# kmemleak's documentation suggests, to avoid transient ones.
		sleep 6
		echo scan > /sys/kernel/debug/kmemleak
		echo scan > /sys/kernel/debug/kmemleak
		cat /sys/kernel/debug/kmemleak > /tmp/kmemleak
		if [ -s /tmp/kmemleak ]; then
			not_ok "kmemleak: no leak after the tests" \
				"$(head -n 60 /tmp/kmemleak)"
		else
			ok "kmemleak: no leak after the tests"
		fi
	else
		skip "kmemleak: no leak after the tests" "no kmemleak in this kernel"
	fi
	dmesg > /tmp/dmesg
	if grep -Eq "$SPLAT" /tmp/dmesg; then
		not_ok "kernel log: no KASAN, lockdep, WARN or BUG report" \
			"$(grep -E -B2 -A25 "$SPLAT" /tmp/dmesg | head -n 80)"
	else
		ok "kernel log: no KASAN, lockdep, WARN or BUG report"
	fi
}
