#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make check`: the static stage, then the guest stage on Debian's kernel
# and on the debug kernel.  Each stage prints TAP; the run ends with one
# line "N passed, N failed, N skipped" and fails if anything failed.
#
# VPUDOM_STAGES picks stages (default: "static stock debug").
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
stages=${VPUDOM_STAGES:-static stock debug}
passed=0
failed=0
skipped=0

# Count the results of a stage's TAP.
count() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*"# SKIP"*) skipped=$((skipped + 1)) ;;
		"ok "*) passed=$((passed + 1)) ;;
		"not ok "*) failed=$((failed + 1)) ;;
		esac
	done
}

# Prepare first, so that a download or build failure is reported as such.
if ! bash "$top/selftests/target/setup.sh" >/dev/null; then
	echo "not ok 1 - setup: host packages and target kernel"
	failed=1
	stages=""
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for stage in $stages; do
	echo "# stage: $stage"
	start=$SECONDS
	case $stage in
	static) bash "$top/selftests/static/run.sh" | tee "$out" ;;
	stock|debug) bash "$top/selftests/target/guest-check.sh" "$stage" | tee "$out" ;;
	*) echo "not ok - unknown stage $stage" | tee "$out" ;;
	esac
	rc=${PIPESTATUS[0]}
	before=$failed
	count < "$out"
	# A stage that died, or said nothing, has failed even if no test did.
	if ! grep -q '^1\.\.[0-9]' "$out"; then
		echo "not ok - stage $stage printed no plan"
		failed=$((failed + 1))
	elif [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
		echo "not ok - stage $stage exited with $rc"
		failed=$((failed + 1))
	fi
	echo "# stage $stage took $((SECONDS - start)) s"
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
