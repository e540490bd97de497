#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The uAPI selftests (vpudom_test, kselftest harness): each of its results
# becomes one of ours.  Sourced by check.sh after tap.sh.

uapi_run() {
	local line name="" n=0 plan

	/lib/vpudom/vpudom_test > /tmp/vpudom_test.log 2>&1
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' /tmp/vpudom_test.log)
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
		"ok "*"# SKIP"*) skip "uapi: $name" "${line#*# SKIP }" ;;
		"ok "*) ok "uapi: $name" ;;
		*) not_ok "uapi: $name" "$(sed -n "/#  RUN *${name} /,/ok [0-9]* /p" /tmp/vpudom_test.log | head -n 40)" ;;
		esac
	done < /tmp/vpudom_test.log
	if [ -z "$plan" ] || [ "$n" -ne "$plan" ]; then
		not_ok "uapi: every test reported" "plan ${plan:-none}, saw $n" \
			"$(tail -n 30 /tmp/vpudom_test.log)"
	fi
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
