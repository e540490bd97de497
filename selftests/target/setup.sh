#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Prepare the host for building vpudom and booting the emulated target.
# Idempotent: a second run installs and downloads nothing.  Everything it
# fetches comes from Debian's archive; everything it keeps lives in
# $VPUDOM_CACHE (default ~/.cache/vpudom), keyed by the kernel ABI.
#
# Prints shell assignments (ABI=..., STOCK_KDIR=..., ...) on stdout for the
# caller to eval; progress goes to stderr.
set -euo pipefail

CACHE=${VPUDOM_CACHE:-$HOME/.cache/vpudom}
log() { echo "setup: $*" >&2; }

HOST_PKGS="qemu-system-arm gcc-aarch64-linux-gnu device-tree-compiler cpio flex
bison bc libelf-dev libssl-dev sparse dt-schema kmod xz-utils python3-yaml make
gcc perl"
HOST_CMDS="qemu-system-aarch64 aarch64-linux-gnu-gcc dtc fdtget cpio flex bison bc
sparse dt-validate dt-doc-validate depmod xz make gcc perl"

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_update() {
	[ $apt_updated = 1 ] && return 0
	log "apt-get update"
	as_root apt-get update -qq >&2
	apt_updated=1
}

install_host_pkgs() {
	local missing=0 c
	for c in $HOST_CMDS; do
		command -v "$c" >/dev/null 2>&1 || missing=1
	done
	dpkg -s libelf-dev libssl-dev python3-yaml >/dev/null 2>&1 || missing=1
	[ $missing = 0 ] && return 0
	apt_update
	log "installing host packages"
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $HOST_PKGS >&2
}

ensure_arm64_arch() {
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		log "adding the arm64 architecture"
		as_root dpkg --add-architecture arm64
		apt_update
	fi
}

resolve_abi() {
	local abi
	if [ -n "${VPUDOM_ABI:-}" ]; then
		echo "$VPUDOM_ABI"
		return
	fi
	abi=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
	      sed -n 's/.*Depends: linux-image-\(.*-arm64\):arm64$/\1/p' | head -n1)
	if [ -z "$abi" ]; then
		apt_update
		abi=$(apt-cache depends linux-image-arm64:arm64 |
		      sed -n 's/.*Depends: linux-image-\(.*-arm64\):arm64$/\1/p' | head -n1)
	fi
	[ -n "$abi" ] || { log "cannot resolve the arm64 kernel ABI"; exit 1; }
	echo "$abi"
}

# Download the target packages for one ABI (image and headers in one
# step, so they always match) and unpack them into $root.
fetch_target() {
	local abi=$1 dir debs root pkgs d

	dir=$CACHE/$abi
	root=$dir/root
	[ -f "$dir/.unpacked" ] && return 0
	debs=$dir/debs
	mkdir -p "$debs"
	pkgs="linux-image-$abi-unsigned:arm64 linux-headers-$abi:arm64
	      linux-headers-${abi%-arm64}-common linux-kbuild-6.1
	      busybox-static:arm64 linux-source-6.1"
	log "downloading target packages for $abi"
	# shellcheck disable=SC2086
	if ! (cd "$debs" && apt-get download -q $pkgs >&2); then
		apt_update
		# shellcheck disable=SC2086
		(cd "$debs" && apt-get download -q $pkgs >&2)
	fi
	rm -rf "$root"
	mkdir -p "$root"
	for d in "$debs"/*.deb; do
		dpkg-deb -x "$d" "$root"
	done
	# The arch headers include the common ones by absolute path.
	sed -i "s|/usr/src/linux-headers-|$root/usr/src/linux-headers-|" \
		"$root/usr/src/linux-headers-$abi/Makefile"
	log "unpacking linux-source-6.1"
	tar -C "$dir" -xf "$root"/usr/src/linux-source-6.1.tar.xz
	touch "$dir/.unpacked"
}

install_host_pkgs
ensure_arm64_arch
ABI=$(resolve_abi)
fetch_target "$ABI"

dir=$CACHE/$ABI
cat <<OUT
CACHE=$CACHE
ABI=$ABI
TARGET_ROOT=$dir/root
STOCK_KDIR=$dir/root/usr/src/linux-headers-$ABI
STOCK_IMAGE=$(ls "$dir"/root/boot/vmlinuz-"$ABI")
STOCK_MODULES=$dir/root/lib/modules/$ABI
KSRC=$dir/linux-source-6.1
BUSYBOX=$dir/root/bin/busybox
OUT
