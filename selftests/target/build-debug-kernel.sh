#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the debug target kernel (KASAN, lockdep, kmemleak, fault injection,
# KUnit) from the cached linux-source-6.1, cached by the hash of the config
# fragment and the source version.  Prints the build directory on stdout.
# Usage: build-debug-kernel.sh <linux-source dir> <cache dir>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ksrc=$1
cache=$2
frag=$here/debug.config
hash=$( (cat "$frag"; head -n 5 "$ksrc/Makefile") | sha256sum | cut -c1-16)
out=$cache/debug-$hash
make_k() {
	make -C "$ksrc" O="$out" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
		-j"$(nproc)" "$@"
}

if [ -f "$out/.built" ]; then
	echo "$out"
	exit 0
fi
echo "debug-kernel: building in $out (a few minutes, once)" >&2
mkdir -p "$out"
make_k -s tinyconfig >&2
"$ksrc"/scripts/kconfig/merge_config.sh -m -O "$out" "$out/.config" "$frag" >&2
make_k -s olddefconfig >&2
# Every option the fragment asks for must have survived olddefconfig.
missing=0
while read -r line; do
	case "$line" in
	CONFIG_*=*)
		if ! grep -qx "$line" "$out/.config"; then
			echo "debug-kernel: $line did not stick" >&2
			missing=1
		fi ;;
	esac
done < "$frag"
[ $missing = 0 ] || exit 1
make_k -s Image modules >&2
touch "$out/.built"
echo "$out"
