#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The static stage of `make check`, as TAP: checkpatch --strict and
# kernel-doc on every C file, then the devicetree checks.  The kernel's
# scripts come from the newest Debian kernel source of the run (6.12's when
# it is among the kernels given, else 6.1's), never from this tree.  The
# W=1 and sparse builds are part of each kernel's guest stage.
# Usage: run.sh [kernel...]
set -uo pipefail
. "$(dirname "$0")/../target/lib.sh"

scripts_from=6.1
case " $* " in *" 6.12 "*) scripts_from=6.12 ;; esac
vpudom_setup "$scripts_from" >/dev/null || exit 1
cd "$VPUDOM_TOP"
n=0
failed=0
point() {	# point <status> <description> [diagnostics file]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		failed=1
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && sed 's/^/# /' "$3" | head -n 60
	fi
}

echo "TAP version 13"
echo "# checkpatch and kernel-doc of $(basename "$KSRC")"
mapfile -t cfiles < <(git ls-files -co --exclude-standard -- '*.c' '*.h' | sort)
out=$WORK/static
mkdir -p "$out"

for f in "${cfiles[@]}"; do
	# compat.h is the one file whose job is to test the kernel version,
	# and its shims expand to nothing (their argument unused) where the
	# kernel needs none.
	ignore=()
	[ "$f" = src/compat.h ] &&
		ignore=(--ignore LINUX_VERSION_CODE,MACRO_ARG_UNUSED)
	# report_iommu_fault() callers (arm-smmu) print their own report only
	# when the handler returns -ENOSYS: vpudom.h names that value once.
	[ "$f" = src/vpudom.h ] && ignore=(--ignore ENOSYS)
	perl "$KSRC/scripts/checkpatch.pl" --no-tree --strict --file --quiet \
		--show-types "${ignore[@]}" "$f" > "$out/checkpatch.txt" 2>&1
	point $? "checkpatch --strict $f" "$out/checkpatch.txt"
done

# kernel-doc: every documented item complete and well-formed.
perl "$KSRC/scripts/kernel-doc" -none "${cfiles[@]}" > "$out/kdoc.txt" 2>&1
[ -s "$out/kdoc.txt" ] && st=1 || st=0
point $st "kernel-doc on every C file" "$out/kdoc.txt"

"$VPUDOM_TOP/selftests/static/dt-check.sh" "$VPUDOM_TOP" "$out/dt" \
	"$(vpudom_board_dts "$out")" > "$out/dt.tap"
dt_st=$?
while IFS= read -r line; do
	case $line in
	"ok "*) point 0 "dt: ${line#ok * - }" ;;
	"not ok "*) point 1 "dt: ${line#not ok * - }" ;;
	"# "*) echo "$line" ;;
	esac
done < "$out/dt.tap"
[ $dt_st = 0 ] || failed=1
echo "1..$n"
exit $failed
