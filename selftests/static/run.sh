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
	# when the handler returns -ENOSYS: vpudom_priv.h names that value once.
	[ "$f" = src/vpudom_priv.h ] && ignore=(--ignore ENOSYS)
	perl "$KSRC/scripts/checkpatch.pl" --no-tree --strict --file --quiet \
		--show-types "${ignore[@]}" "$f" > "$out/checkpatch.txt" 2>&1
	point $? "checkpatch --strict $f" "$out/checkpatch.txt"
done

# kernel-doc: every documented item complete and well-formed.
perl "$KSRC/scripts/kernel-doc" -none "${cfiles[@]}" > "$out/kdoc.txt" 2>&1
[ -s "$out/kdoc.txt" ] && st=1 || st=0
point $st "kernel-doc on every C file" "$out/kdoc.txt"

# Kconfig, for an in-tree build: the kernel's own kconfig, on a minimal
# tree that sources ours, must offer VPUDOM with every dependency and not
# without any one of them, and select what vpudom links against.
kconfig_case() {	# kconfig_case <name> <CONFIG_ lines...>: prints the result
	local d=$out/kconfig/$1
	shift
	mkdir -p "$d"
	printf '%s\n' "$@" CONFIG_VPUDOM=m > "$d/defconfig"
	(cd "$out/kconfig" && KCONFIG_CONFIG="$d/.config" srctree="$out/kconfig" \
		"$KDIR/scripts/kconfig/conf" --defconfig="$d/defconfig" Kconfig) \
		>"$d/log" 2>&1 || { cat "$d/log"; return; }
	grep -E '^CONFIG_(VPUDOM|DMA_SHARED_BUFFER)=' "$d/.config" | tr '\n' ' '
}
rm -rf "$out/kconfig"
mkdir -p "$out/kconfig"
printf '%s\n' 'mainmenu "vpudom Kconfig check"' \
	'config MODULES' '	def_bool y' '	modules' \
	'config 64BIT' '	bool "64BIT"' 'config OF' '	bool "OF"' \
	'config IOMMU_API' '	bool "IOMMU_API"' 'config DMA_SHARED_BUFFER' '	bool' \
	"source \"$VPUDOM_TOP/Kconfig\"" > "$out/kconfig/Kconfig"
{
	echo "all: $(kconfig_case all CONFIG_64BIT=y CONFIG_OF=y CONFIG_IOMMU_API=y)"
	echo "no OF: $(kconfig_case no-of CONFIG_64BIT=y CONFIG_IOMMU_API=y)"
	echo "no IOMMU_API: $(kconfig_case no-iommu CONFIG_64BIT=y CONFIG_OF=y)"
	echo "no 64BIT: $(kconfig_case no-64bit CONFIG_OF=y CONFIG_IOMMU_API=y)"
} > "$out/kconfig.txt"
printf '%s\n' "all: CONFIG_DMA_SHARED_BUFFER=y CONFIG_VPUDOM=m " "no OF: " \
	"no IOMMU_API: " "no 64BIT: " > "$out/kconfig.want"
cmp -s "$out/kconfig.txt" "$out/kconfig.want"
point $? "Kconfig: VPUDOM needs IOMMU_API, OF and 64BIT, selects DMA_SHARED_BUFFER" \
	"$out/kconfig.txt"

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
