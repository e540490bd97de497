#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# TAP for the guest's shell tests.  Every line the host counts starts with
# "vpudom-tap: " so that kernel messages on the console cannot be mistaken
# for results.

tap_n=0
tap_fail=0

tap() {
	echo "vpudom-tap: $*"
}

# ok <description>
ok() {
	tap_n=$((tap_n + 1))
	tap "ok $tap_n - $*"
}

# not_ok <description> [diagnostic lines...]
not_ok() {
	local desc=$1
	shift
	tap_n=$((tap_n + 1))
	tap_fail=$((tap_fail + 1))
	tap "not ok $tap_n - $desc"
	for l in "$@"; do
		printf '%s\n' "$l" | while IFS= read -r x; do
			tap "# $x"
		done
	done
}

# skip <description> <reason>
skip() {
	tap_n=$((tap_n + 1))
	tap "ok $tap_n - $1 # SKIP $2"
}

# check <description> <command...>: ok if the command succeeds.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc" "command: $*" "$out"
	fi
}

# same <description> <expected file> <actual file>
same() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1" "expected:" "$(cat "$2")" "got:" "$(cat "$3")"
	fi
}

# expect_lines <description> <exit status> <output> <ERE>...: ok if the
# command exited 0 and every ERE matches a line of its output.
expect_lines() {
	local desc=$1 why=$2 out=$3 p
	shift 3
	[ "$why" = 0 ] || why="exit status $why"
	if [ "$why" = 0 ]; then
		for p in "$@"; do
			printf '%s\n' "$out" | grep -Eq "$p" ||
				{ why="no line matches $p"; break; }
		done
	fi
	if [ "$why" = 0 ]; then
		ok "$desc"
	else
		not_ok "$desc" "$why" "$out"
	fi
}

tap_plan() {
	tap "1..$tap_n"
}
