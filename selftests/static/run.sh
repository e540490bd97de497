#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The static stage of `make check`, as TAP: checkpatch --strict, sparse, W=1
# and kernel-doc on every C file, then the devicetree checks.  The kernel's
# scripts come from the cached linux-source-6.1, never from this tree.
set -uo pipefail
. "$(dirname "$0")/../target/lib.sh"

vpudom_setup >/dev/null
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
mapfile -t cfiles < <(git ls-files -co --exclude-standard -- '*.c' '*.h' | sort)
out=$WORK/static
mkdir -p "$out"

for f in "${cfiles[@]}"; do
	# compat.h is the one file whose job is to test the kernel version.
	ignore=()
	[ "$f" = src/compat.h ] && ignore=(--ignore LINUX_VERSION_CODE)
	perl "$KSRC/scripts/checkpatch.pl" --no-tree --strict --file --quiet \
		--show-types "${ignore[@]}" "$f" > "$out/checkpatch.txt" 2>&1
	point $? "checkpatch --strict $f" "$out/checkpatch.txt"
done

# kernel-doc: every documented item complete and well-formed.
perl "$KSRC/scripts/kernel-doc" -none "${cfiles[@]}" > "$out/kdoc.txt" 2>&1
[ -s "$out/kdoc.txt" ] && st=1 || st=0
point $st "kernel-doc on every C file" "$out/kdoc.txt"

# One build with W=1 and sparse on every file (C=2), for the Debian kernel;
# any compiler or sparse diagnostic fails it.  The KUnit tests are built too.
rm -rf "$out/build"
mkdir -p "$out/build"
cp -a Kbuild src include "$out/build/"
make -s -C "$STOCK_KDIR" M="$out/build" ARCH=arm64 \
	CROSS_COMPILE=aarch64-linux-gnu- W=1 C=2 modules > "$out/w1.txt" 2>&1
st=$?
grep -E 'warning|error|sparse' "$out/w1.txt" | grep -v 'Skipping BTF' > "$out/w1-diag.txt"
[ -s "$out/w1-diag.txt" ] && st=1
point $st "W=1 and sparse clean (vpudom)" "$out/w1.txt"

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
