#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build a debug target kernel (KASAN, lockdep, kmemleak, fault injection,
# KUnit, DMABUF_DEBUG) from a cached Debian linux-source tree, cached by the
# hash of the config fragment and the source version.  Prints the build
# directory on stdout; progress and the one-line failure report on stderr,
# the whole output in <build dir>/build.log.
# Usage: build-debug-kernel.sh <linux-source dir> <cache dir>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ksrc=$1
cache=$2
frag=$here/debug.config
hash=$( (cat "$frag"; head -n 5 "$ksrc/Makefile") | sha256sum | cut -c1-16)
out=$cache/debug-$hash
log=$out/build.log
version=$(make -s -C "$ksrc" kernelversion)
make_k() {
	make -C "$ksrc" O="$out" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
		-j"$(nproc)" "$@" >>"$log" 2>&1
}
fail() {
	tail -n 20 "$log" | sed 's/^/debug-kernel:   /' >&2
	echo "debug-kernel: $1 of the $version debug kernel failed; log: $log" >&2
	exit 1
}

if [ -f "$out/.built" ]; then
	echo "$out"
	exit 0
fi
echo "debug-kernel: building $version in $out (a few minutes, once)" >&2
rm -rf "$out"
mkdir -p "$out"
: > "$log"
make_k -s tinyconfig || fail "tinyconfig"
"$ksrc"/scripts/kconfig/merge_config.sh -m -O "$out" "$out/.config" "$frag" \
	>>"$log" 2>&1 || fail "merging the fragment"
make_k -s olddefconfig || fail "olddefconfig"
# Every option the fragment asks for must have survived olddefconfig.
missing=0
while read -r line; do
	case "$line" in
	CONFIG_*=*)
		if ! grep -qx "$line" "$out/.config"; then
			echo "debug-kernel: $line did not stick" | tee -a "$log" >&2
			missing=1
		fi ;;
	"# CONFIG_"*" is not set")
		if ! grep -qx "$line" "$out/.config" &&
		   grep -q "^${line:2:-11}=" "$out/.config"; then
			echo "debug-kernel: '$line' did not stick" | tee -a "$log" >&2
			missing=1
		fi ;;
	esac
done < "$frag"
[ $missing = 0 ] || fail "configuring"
make_k -s Image modules || fail "make Image modules"
touch "$out/.built"
echo "$out"
