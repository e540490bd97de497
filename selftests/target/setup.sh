#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Prepare the host for building vpudom and booting the emulated target.
#
#   setup.sh [KERNEL]     KERNEL: 6.1 (default), 6.12 or 7
#   setup.sh --mirror     print the host's Debian mirror and stop
#
# Installs the host packages by name, then fetches from Debian's archive,
# with `apt-get download`, what the target needs into $VPUDOM_CACHE
# (default ~/.cache/vpudom), keyed by the kernel ABI:
#   - the base, always: Debian 12's arm64 6.1 packages, whose busybox is the
#     guest's userspace and whose kernel source gives the kselftest harness,
#     checkpatch and kernel-doc;
#   - 6.1:  Debian 12's arm64 kernel, headers and source;
#   - 6.12: the 6.12 LTS kernel Debian 12 carries (bookworm-security);
#   - 7:    the newest kernel of Debian 13's backports suite, read through a
#           private apt configuration that leaves the host's alone, and a
#           Debian 13 build root for its gcc-14 and C library.
# The mirror is the one the host's apt sources name, read at run time.
#
# Idempotent: a second run installs and downloads nothing.  Prints shell
# assignments for the kernel asked for (KNAME=, ABI=, KDIR=, IMAGE=, ...)
# on stdout; progress goes to stderr, and any failure ends with one line
# "setup: <what> failed; log: <file>".
set -euo pipefail

KNAME=${1:-6.1}
CACHE=${VPUDOM_CACHE:-$HOME/.cache/vpudom}
LOGS=$CACHE/logs
mkdir -p "$LOGS"
log() { echo "setup: $*" >&2; }
# Whatever fails unforeseen still says where.
trap 'echo "setup: failed at line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
# fail <what> <log file>
fail() {
	[ -s "$2" ] && tail -n 15 "$2" | sed 's/^/setup:   /' >&2
	echo "setup: $1 failed; log: $2" >&2
	exit 1
}

# first <path>...: the first that exists.
first() {
	local p
	for p in "$@"; do
		[ -e "$p" ] && { echo "$p"; return 0; }
	done
	return 0
}

# Every host command the project's scripts run, by package.  Nothing is
# left to recommendations: libc6-dev-arm64-cross is only recommended by the
# cross compiler, and the guests run with -nic none, so QEMU needs no
# network boot ROM (ipxe-qemu).
HOST_PKGS="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross
device-tree-compiler dt-schema python3-yaml cpio gzip xz-utils flex bison bc
libelf-dev libssl-dev sparse dwarves kmod make gcc libc6-dev perl git
debootstrap util-linux mount"

case $KNAME in
6.1|6.12|7|--mirror) ;;
*) echo "setup: unknown kernel '$KNAME' (have: 6.1 6.12 7)" >&2; exit 2 ;;
esac

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_update: once per run, and always after the arm64 architecture was
# added, since until then apt knows no arm64 package at all.
apt_updated=0
apt_update() {
	[ $apt_updated = 1 ] && return 0
	log "apt-get update"
	as_root apt-get update -q >"$LOGS/apt-update.log" 2>&1 ||
		fail "apt-get update" "$LOGS/apt-update.log"
	apt_updated=1
}

install_host_pkgs() {
	local missing="" p

	for p in $HOST_PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q ' installed$' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	apt_update
	log "installing host packages:$missing"
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing >"$LOGS/apt-install.log" 2>&1 ||
		fail "installing host packages" "$LOGS/apt-install.log"
}

ensure_arm64_arch() {
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		log "adding the arm64 architecture"
		as_root dpkg --add-architecture arm64
		apt_updated=0
		apt_update
	fi
}

# The host's Debian mirror, from its apt sources (deb822 or one-line).
host_mirror() {
	local m

	m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
	    sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n' |
	    grep -v -e security -e '^$' | head -n1)
	[ -n "$m" ] || m=$(cat /etc/apt/sources.list 2>/dev/null |
	    sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\)[[:space:]].*/\2/p' |
	    grep -v security | head -n1)
	[ -n "$m" ] || { echo "setup: no Debian mirror in the host's apt sources" >&2; exit 1; }
	echo "${m%/}"
}

if [ "$KNAME" = --mirror ]; then
	host_mirror
	exit
fi

# The private apt configuration for Debian 13's backports suite: its own
# source list, lists and package cache under $CACHE/apt-trixie.
APT13_DIR=$CACHE/apt-trixie
apt13_opts() {
	echo "-o Dir::Etc::SourceList=$APT13_DIR/sources.list" \
	     "-o Dir::Etc::SourceParts=/dev/null" \
	     "-o Dir::State::Lists=$APT13_DIR/lists" \
	     "-o Dir::Cache=$APT13_DIR/cache" \
	     "-o APT::Architectures::=amd64 -o APT::Architectures::=arm64"
}
apt13_updated=0
apt13_update() {
	[ $apt13_updated = 1 ] && return 0
	mkdir -p "$APT13_DIR/lists/partial" "$APT13_DIR/cache/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(host_mirror) trixie-backports main" \
		> "$APT13_DIR/sources.list"
	log "apt-get update (Debian 13 backports, private lists)"
	# shellcheck disable=SC2046
	apt-get $(apt13_opts) update -q >"$LOGS/apt13-update.log" 2>&1 ||
		fail "apt-get update of Debian 13 backports" "$LOGS/apt13-update.log"
	apt13_updated=1
}

# apt_for <kernel>: the apt options that reach its suite (none: the host's).
apt_for() {
	[ "$1" = 7 ] && apt13_opts
	return 0
}
update_for() {
	if [ "$1" = 7 ]; then apt13_update; else apt_update; fi
}

# The meta package whose dependency names the kernel ABI.
meta_for() {
	case $1 in
	6.1|7) echo linux-image-arm64:arm64 ;;
	6.12) echo linux-image-6.12-arm64:arm64 ;;
	esac
}

resolve_abi() {
	local k=$1 abi var

	var=VPUDOM_ABI_${k//./_}
	if [ -n "${!var:-}" ]; then
		echo "${!var}"
		return
	fi
	[ "$k" = 7 ] && [ ! -d "$APT13_DIR/lists" ] && apt13_update
	abi=$(apt_abi "$k")
	if [ -z "$abi" ]; then
		update_for "$k"
		abi=$(apt_abi "$k")
	fi
	[ -n "$abi" ] || { echo "setup: cannot resolve the ABI of the $k kernel from $(meta_for "$k")" >&2; exit 1; }
	echo "$abi"
}
apt_abi() {
	# shellcheck disable=SC2046
	apt-cache $(apt_for "$1") depends "$(meta_for "$1")" 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\(.*-arm64\):arm64$/\1/p' | head -n1
}

# The packages of one kernel: image, modules, headers (the arch part, the
# common part and the host's kbuild tools) and, where we build a debug
# kernel, the source.  Image and headers of one ABI, in one step.
pkgs_for() {
	local k=$1 abi=$2 ver=${2%-arm64}

	case $k in
	6.1) echo "linux-image-$abi-unsigned:arm64 linux-headers-$abi:arm64
		linux-headers-$ver-common linux-kbuild-6.1 linux-source-6.1" ;;
	6.12) echo "linux-image-$abi-unsigned:arm64 linux-headers-$abi:arm64
		linux-headers-$ver-common linux-kbuild-$ver linux-source-6.12" ;;
	7) echo "linux-binary-$abi:arm64 linux-modules-$abi:arm64
		linux-headers-$abi:arm64 linux-headers-$ver-common
		linux-kbuild-$ver" ;;
	esac
}

# download <kernel> <dir> <packages...>: into <dir>, updating the lists
# once if the archive moved on since they were fetched.
download() {
	local k=$1 dir=$2 l
	shift 2
	l=$LOGS/download-$k.log
	mkdir -p "$dir"
	# shellcheck disable=SC2046,SC2068
	if ! (cd "$dir" && apt-get $(apt_for "$k") download -q $@) >"$l" 2>&1; then
		update_for "$k"
		# shellcheck disable=SC2046,SC2068
		(cd "$dir" && apt-get $(apt_for "$k") download -q $@) >"$l" 2>&1 ||
			fail "downloading the $k kernel's packages" "$l"
	fi
}

# unpack <dir>: every .deb of <dir>/debs into <dir>/root.
unpack() {
	local d

	rm -rf "$1/root"
	mkdir -p "$1/root"
	for d in "$1"/debs/*.deb; do
		dpkg-deb -x "$d" "$1/root" ||
			{ echo "setup: cannot unpack $d" >&2; exit 1; }
	done
}

# fetch_kernel <kernel> <abi>: download, unpack, make the headers usable
# from the cache, unpack the source.
fetch_kernel() {
	local k=$1 abi=$2 dir=$CACHE/$2 root src

	[ -f "$dir/.unpacked" ] && return 0
	log "downloading the $k kernel ($abi)"
	rm -rf "$dir/debs"
	download "$k" "$dir/debs" $(pkgs_for "$k" "$abi")
	unpack "$dir"
	root=$dir/root
	# The arch headers include the common ones by absolute path.
	sed -i "s|/usr/src/linux-headers-|$root/usr/src/linux-headers-|" \
		"$root/usr/src/linux-headers-$abi/Makefile"
	# modules.dep is made at install, not shipped: make it, for the guest
	# stages to load modules with their dependencies.  Debian 13 keeps the
	# modules under /usr.
	local base=$root
	[ -d "$root/lib/modules/$abi" ] || base=$root/usr
	depmod -b "$base" "$abi" 2>"$LOGS/depmod-$k.log" ||
		fail "depmod of the $k kernel's modules" "$LOGS/depmod-$k.log"
	src=$(first "$root"/usr/src/linux-source-*.tar.xz)
	if [ -n "$src" ]; then
		log "unpacking $(basename "$src")"
		tar -C "$dir" -xf "$src" ||
			{ echo "setup: cannot unpack $src" >&2; exit 1; }
		rm -f "$src"
	fi
	rm -rf "$dir/debs"
	touch "$dir/.unpacked"
}

# The guest's userspace: Debian 12's static busybox.
fetch_busybox() {
	local ver dir

	ver=$(apt-cache policy busybox-static:arm64 | sed -n 's/.*Candidate: //p')
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		apt_update
		ver=$(apt-cache policy busybox-static:arm64 | sed -n 's/.*Candidate: //p')
	fi
	[ -n "$ver" ] && [ "$ver" != "(none)" ] ||
		{ echo "setup: no busybox-static:arm64 in the host's apt lists" >&2; exit 1; }
	dir=$CACHE/busybox-${ver//:/_}
	if [ ! -f "$dir/.unpacked" ]; then
		log "downloading busybox-static:arm64 $ver"
		download busybox "$dir/debs" "busybox-static:arm64=$ver"
		unpack "$dir"
		rm -rf "$dir/debs"
		touch "$dir/.unpacked"
	fi
	BUSYBOX=$dir/root/bin/busybox
}

# The Debian 13 build root 7.x kbuild runs in: its headers need gcc-14 and
# its modpost glibc 2.38.  The bare base plus the compilers, nothing of the
# project's.  pahole gives the modules BTF, as Debian's own have.
BUILDROOT_PKGS=gcc-14-aarch64-linux-gnu,make,sparse,dwarves
ensure_buildroot() {
	local root=$CACHE/buildroot-trixie l=$LOGS/buildroot.log

	BUILDROOT=$root
	[ "$(cat "$root/.ready" 2>/dev/null)" = "$BUILDROOT_PKGS" ] && return 0
	log "making the Debian 13 build root (about a minute, once)"
	as_root rm -rf "$root"
	as_root debootstrap --variant=minbase --include=$BUILDROOT_PKGS \
		trixie "$root" "$(host_mirror)" >"$l" 2>&1 ||
		fail "debootstrap of the Debian 13 build root" "$l"
	as_root rm -rf "$root/var/cache/apt/archives"/*.deb
	echo "$BUILDROOT_PKGS" | as_root tee "$root/.ready" >/dev/null
}

install_host_pkgs
ensure_arm64_arch
fetch_busybox
BASE_ABI=$(resolve_abi 6.1)
fetch_kernel 6.1 "$BASE_ABI"
BASE_KSRC=$CACHE/$BASE_ABI/linux-source-6.1

ABI=$(resolve_abi "$KNAME")
fetch_kernel "$KNAME" "$ABI"
dir=$CACHE/$ABI
BUILDROOT=
[ "$KNAME" = 7 ] && ensure_buildroot
# Debian 13 moved the image and modules under /usr/lib.
image=$(first "$dir/root/boot/vmlinuz-$ABI" "$dir/root/usr/lib/modules/$ABI/vmlinuz")
[ -n "$image" ] || { echo "setup: no kernel image in $dir/root" >&2; exit 1; }
modules=$(first "$dir/root/lib/modules/$ABI" "$dir/root/usr/lib/modules/$ABI")
ksrc=$(first "$dir"/linux-source-*)

cat <<OUT
CACHE=$CACHE
KNAME=$KNAME
ABI=$ABI
KDIR=$dir/root/usr/src/linux-headers-$ABI
IMAGE=$image
MODULES=$modules
KSRC=$ksrc
BUILDROOT=$BUILDROOT
BASE_KSRC=$BASE_KSRC
BUSYBOX=$BUSYBOX
OUT
