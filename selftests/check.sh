#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make check`: the static stage, then a guest stage on each kernel of the
# matrix: Debian's own (stock) kernel, and a debug kernel built from the
# same version's source where Debian ships it.  Each stage prints TAP; the
# run ends with one line "N passed, N failed, N skipped" and fails if
# anything failed.
#
#   VPUDOM_KERNELS   kernels to test (default "6.1 6.12 7")
#   VPUDOM_STAGES    stages (default "static stock debug"): "stock" and
#                    "debug" mean that stage on every chosen kernel that has
#                    it; "stock-6.12", "debug-6.1", ... name one.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/selftests/target/lib.sh"
kernels=${VPUDOM_KERNELS:-$VPUDOM_ALL_KERNELS}
passed=0
failed=0
skipped=0

for k in $kernels; do
	case " $VPUDOM_ALL_KERNELS " in
	*" $k "*) ;;
	*) echo "check: unknown kernel '$k' in VPUDOM_KERNELS (have: $VPUDOM_ALL_KERNELS)" >&2
	   exit 2 ;;
	esac
done

# The stage list, "stock" and "debug" expanded over the chosen kernels.
stages=""
for s in ${VPUDOM_STAGES:-static stock debug}; do
	case $s in
	static) stages="$stages static" ;;
	stock) for k in $kernels; do stages="$stages stock-$k"; done ;;
	debug)
		for k in $kernels; do
			case " $VPUDOM_DEBUG_KERNELS " in
			*" $k "*) stages="$stages debug-$k" ;;
			esac
		done ;;
	stock-*|debug-*) stages="$stages $s" ;;
	*) echo "check: unknown stage '$s' in VPUDOM_STAGES" >&2; exit 2 ;;
	esac
done

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

# Prepare every kernel first, so that a download failure is reported as
# such, once, and its stages do not run.
ready=""
for k in $kernels; do
	if bash "$top/selftests/target/setup.sh" "$k" >/dev/null; then
		ready="$ready $k"
	else
		echo "not ok - setup of the $k kernel (see the setup: lines above)"
		failed=$((failed + 1))
	fi
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
total=$SECONDS
for stage in $stages; do
	k=${stage#*-}
	if [ "$stage" != static ] && [[ " $ready " != *" $k "* ]]; then
		echo "# stage $stage: not run, its kernel is not set up"
		continue
	fi
	echo "# stage: $stage"
	start=$SECONDS
	case $stage in
	static) bash "$top/selftests/static/run.sh" $ready | tee "$out" ;;
	*) bash "$top/selftests/target/guest-check.sh" "${stage%%-*}" "$k" | tee "$out" ;;
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

echo "# make check took $((SECONDS - total)) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
