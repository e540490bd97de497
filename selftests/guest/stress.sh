#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Concurrency stress, bounded in time.  Sourced by check.sh after tap.sh;
# also the guest side of `make stress` (run as its own mode, see below).

# stress_run <seconds> [unbind]: one run of vpudom_stress, its TAP ours.
stress_run() {
	local line what="stress ${2:-sessions} ${1}s"

	/lib/vpudom/vpudom_stress "$@" > /tmp/stress.log 2>&1
	while read -r line; do
		case $line in
		"ok "*) ok "$what: ${line#ok * - }" ;;
		"not ok "*) not_ok "$what: ${line#not ok * - }" "$(grep '^#' /tmp/stress.log)" ;;
		"# "*) tap "$line" ;;
		esac
	done < /tmp/stress.log
	grep -q '^1\.\.4$' /tmp/stress.log ||
		not_ok "$what: ran to the end" "$(tail -n 20 /tmp/stress.log)"
}

# As its own guest mode (`make stress`): one long run with unbinds.
if [ "${0##*/}" = stress.sh ]; then
	. /lib/vpudom/tap.sh
	. /lib/vpudom/health.sh
	health_start
	check "insmod vpudom" insmod /lib/vpudom/vpudom.ko
	stress_run "${vpudom_stress_seconds:-600}" unbind
	check "rmmod vpudom" rmmod vpudom
	health_end
	tap_plan
fi
