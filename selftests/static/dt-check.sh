#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Static devicetree checks, reported as TAP: one test point per binding
# schema in dts/bindings/ and one per board tree in dts/.
#
#   dt-check.sh <repo-root> <workdir> <virt.dts>
#
# <virt.dts> is QEMU's virt board tree, decompiled:
#
#   qemu-system-aarch64 -M virt,iommu=smmuv3,dumpdtb=virt.dtb \
#       -cpu cortex-a57 -smp 2 -m 1024 -nographic
#   dtc -I dtb -O dts -o virt.dts virt.dtb
#
# A schema passes if dt-doc-validate accepts it and its examples compile
# without warnings and pass dt-validate.  A board tree passes if it compiles
# without warnings, except those dtc raises against QEMU's own tree, and if
# dt-validate against our schemas reports exactly the errors listed for it
# in expected_errors() below.  Board nodes are not checked against the core
# schemas: they are QEMU's business, not ours.  Everything generated goes
# to <workdir>.
set -euo pipefail

usage() {
	echo "usage: $0 <repo-root> <workdir> <virt.dts>" >&2
	exit 2
}

[ $# -eq 3 ] || usage
[ -d "$1/dts/bindings" ] || usage
[ -f "$3" ] || usage

root=$(cd "$1" && pwd)
bindings=$root/dts/bindings
mkdir -p "$2"
work=$(cd "$2" && pwd)

# dtc flags for the examples in the schemas, as the kernel's
# dt_binding_check uses them.
example_dtc_flags=(
	-Wno-avoid_unnecessary_addr_size
	-Wno-graph_child_address
	-Wno-interrupt_provider
	-Wno-unique_unit_address
	-Wunique_unit_address_if_enabled
)

# Extra dtc flags for a board tree.
dtc_flags() {
	case $1 in
	# Deliberately describes one block twice.
	vpudom-virt-test.dts) echo -Wno-unit_address_vs_reg ;;
	esac
}

# Schema errors a board tree must produce, one extended regex per line,
# matched against dt-validate's message without the file name.
expected_errors() {
	case $1 in
	vpudom-virt-test.dts)
		echo '^vpu-two-streams: context@1:iommus: .* is too long$'
		echo "^vpu-mistyped: context@2:compatible:0: 'vpudom,ref-vpu-context' was expected$"
		echo "^vpu-mistyped: context@2:compatible:0: 'vpudon,ref-vpu-context' is not one of "
		;;
	vpudom-virt-dt.dts)
		echo "^vpu-nowindow: context@1: 'vpudom,iova-window' is a required property$"
		;;
	esac
}

for cmd in dtc dt-doc-validate dt-extract-example dt-mk-schema dt-validate; do
	if ! command -v "$cmd" >/dev/null; then
		echo "TAP version 13"
		echo "Bail out! $cmd not found"
		exit 1
	fi
done

shopt -s nullglob
mapfile -t schemas < <(find "$bindings" -name '*.yaml' | sort)
boards=()
for dts in "$root"/dts/*.dts; do
	# QEMU's tree, if someone decompiled it there, is not a board of ours.
	[ "$(basename "$dts")" = virt.dts ] || boards+=("$dts")
done

# dtc looks for virt.dts next to the including file first, then in the -i
# directories.  Give it a copy of its own so the name always fits.
mkdir -p "$work/board" "$work/examples" "$work/dtb"
cp "$3" "$work/board/virt.dts"

n=0
failed=0

# result <test-status> <description> <log>
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
	[ -s "$3" ] && sed 's/^/# /' "$3"
	return 0
}

# run <log> <command...>: run a command, appending its output to <log>;
# fail if it fails or prints anything at all.
run() {
	local log=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if [ -n "$out" ]; then
		printf '%s\n' "$out" >>"$log"
		[ $rc = 0 ] && rc=1
	fi
	[ $rc = 0 ] || echo "$1 failed" >>"$log"
	return $rc
}

# dt-mk-schema skips a schema it cannot use with no more than a message, so
# any message means the processed schema is incomplete.
processed=$work/processed-schema.json
schema_log=$work/processed-schema.log
: >"$schema_log"
schema_rc=0
run "$schema_log" dt-mk-schema -j -o "$processed" "$bindings" || schema_rc=1

echo "TAP version 13"
echo "1..$((${#schemas[@]} + ${#boards[@]}))"

if [ $schema_rc != 0 ]; then
	echo "# dt-mk-schema $(dt-mk-schema --version):"
	sed 's/^/# /' "$schema_log"
fi

check_schema() {
	local yaml=$1 log=$2 name ex
	name=$(basename "$yaml" .yaml)
	ex=$work/examples/$name.example

	run "$log" dt-doc-validate -u "$bindings" "$yaml" || return 1
	if [ $schema_rc != 0 ]; then
		echo "examples not checked: no processed schema" >>"$log"
		return 1
	fi
	dt-extract-example "$yaml" >"$ex.dts" 2>>"$log" || return 1
	run "$log" dtc -I dts -O dtb "${example_dtc_flags[@]}" \
		-o "$ex.dtb" "$ex.dts" || return 1
	run "$log" dt-validate -u "$bindings" -s "$processed" \
		-l "$bindings/" "$ex.dtb" || return 1
}

check_board() {
	local dts=$1 log=$2 name dtb out rc=0 re line seen=
	local -a flags
	name=$(basename "$dts")
	dtb=$work/dtb/${name%.dts}.dtb
	read -r -a flags <<<"$(dtc_flags "$name")"

	# Warnings about QEMU's tree are not ours to fix.
	out=$(dtc -I dts -O dtb "${flags[@]}" -i "$work/board" \
		-i "$root/dts" -o "$dtb" "$dts" 2>&1) || rc=$?
	[ $rc = 0 ] && out=$(grep -Ev '(^|/)virt\.dts:[0-9]' <<<"$out" || true)
	if [ $rc != 0 ] || [ -n "$out" ]; then
		printf '%s\n' "$out" >>"$log"
		echo "dtc failed" >>"$log"
		return 1
	fi

	if [ $schema_rc != 0 ]; then
		echo "not validated: no processed schema" >>"$log"
		return 1
	fi

	# Every node with one of our compatibles must match a schema,
	# or the check below proves nothing about it.
	out=$(dt-validate -m -u "$bindings" -s "$processed" "$dtb" 2>&1 |
	      grep -E "failed to match any schema with compatible: .*'vpudom," ||
	      true)
	if [ -n "$out" ]; then
		printf '%s\n' "$out" >>"$log"
		rc=1
	fi

	# Only our schemas: any message is an error, and each one must
	# be expected.  dt-validate's exit status says nothing.
	out=$(dt-validate -u "$bindings" -s "$processed" -l "$bindings/" \
		"$dtb" 2>&1)
	while IFS= read -r line; do
		case $line in "" | $'\t'*) continue ;; esac
		line=${line#"$dtb: "}
		while IFS= read -r re; do
			[ -n "$re" ] && grep -Eq -- "$re" <<<"$line" && break
		done < <(expected_errors "$name")
		if [ -n "$re" ]; then
			echo "expected schema error: $line" >>"$log"
			seen+=$line$'\n'
		else
			echo "schema error: $line" >>"$log"
			rc=1
		fi
	done <<<"$out"
	while IFS= read -r re; do
		[ -z "$re" ] && continue
		if ! grep -Eq -- "$re" <<<"$seen"; then
			echo "missing expected schema error: $re" >>"$log"
			rc=1
		fi
	done < <(expected_errors "$name")
	return $rc
}

for yaml in "${schemas[@]}"; do
	log=$work/examples/$(basename "$yaml" .yaml).log
	: >"$log"
	rc=0
	check_schema "$yaml" "$log" || rc=1
	result $rc "schema ${yaml#"$root/"}" "$log"
done

for dts in "${boards[@]}"; do
	log=$work/dtb/$(basename "$dts" .dts).log
	: >"$log"
	rc=0
	check_board "$dts" "$log" || rc=1
	result $rc "board ${dts#"$root/"}" "$log"
done

[ $failed = 0 ]
