#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make fresh`: the README's contract, proven on a bare Debian 12 root.
#
# Makes (once, cached) a minimal Debian 12 root with debootstrap, then for
# each run unpacks it anew, gives it the host's apt sources (a Debian 12
# machine's own) and a clean clone of this repository's HEAD, and runs
# inside it (chroot with /proc, /sys and /dev) exactly what the README tells
# a new user to run:
#   apt-get update && apt-get install --no-install-recommends make
#   make run
#   make check      with VPUDOM_KERNELS=6.1 VPUDOM_STAGES="static stock"
# then builds the module as a distribution would, against Debian 12's amd64
# headers: `make KERNEL_SRC=...`, and `dkms add/build/install`.
# The cache keeps only the bare base (VPUDOM_CACHE/fresh): whatever the
# commands install or download inside the root is gone with it.
# Prints TAP and one line "N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/lib.sh"

CACHE=${VPUDOM_CACHE:-$HOME/.cache/vpudom}
FRESH=$CACHE/fresh
mkdir -p "$FRESH"
n=0
failed=0
passed=0
point() {	# point <status> <description> [log file]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		passed=$((passed + 1))
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2${3:+ (log: $3)}"
		[ -n "${3:-}" ] && tail -n 30 "$3" | sed 's/^/# /'
	fi
}
finish() {
	echo "1..$n"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

echo "TAP version 13"
# The host's mirror and the host's own tools for making the root.
mirror=$(bash "$VPUDOM_TARGET/setup.sh" --mirror 2>"$FRESH/mirror.log")
point $? "the host's Debian mirror, from its apt sources" "$FRESH/mirror.log"
[ -n "$mirror" ] || finish
if ! command -v debootstrap >/dev/null; then
	as_root apt-get install -y -q --no-install-recommends debootstrap \
		>"$FRESH/debootstrap-install.log" 2>&1
	point $? "install debootstrap on the host" "$FRESH/debootstrap-install.log"
fi

# The bare base, once: nothing of the project's in it.
base=$FRESH/bookworm-minbase.tar
if [ ! -f "$base" ]; then
	tmp=$(mktemp -d "$FRESH/base.XXXXXX")
	as_root debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" \
		>"$FRESH/debootstrap.log" 2>&1 &&
		as_root tar -C "$tmp/root" -cf "$base.part" . &&
		mv "$base.part" "$base"
	point $? "debootstrap a minimal Debian 12 root" "$FRESH/debootstrap.log"
	as_root rm -rf "$tmp"
	[ -f "$base" ] || finish
fi

# A new root for this run, with the host's apt sources and name service
# configuration, and a clean clone of HEAD.
root=$FRESH/root
as_root rm -rf "$root"
mkdir -p "$root"
log=$FRESH/prepare.log
{
	as_root tar -C "$root" -xf "$base" &&
	as_root rm -f "$root/etc/apt/sources.list" &&
	as_root cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/" &&
	{ [ ! -f /etc/apt/sources.list ] ||
	  as_root cp /etc/apt/sources.list "$root/etc/apt/sources.list"; } &&
	as_root cp -L /etc/resolv.conf "$root/etc/resolv.conf" &&
	git clone -q --no-local "$VPUDOM_TOP" "$root/root/vpudom"
} >"$log" 2>&1
point $? "a new bare root with the host's apt sources and a clean clone of HEAD" "$log"
[ -d "$root/root/vpudom" ] || finish
echo "# clone of $(git -C "$VPUDOM_TOP" rev-parse --short HEAD) in $root"

# in_root <log> <command>: run a shell command in the bare root as a new
# user's root shell would, with /proc, /sys and /dev, in a mount namespace
# of its own so that nothing stays mounted.
in_root() {
	local l=$1
	shift
	as_root unshare -m bash -c '
		root=$1; shift
		mount -t proc proc "$root/proc" &&
		mount --rbind /sys "$root/sys" &&
		mount --rbind /dev "$root/dev" || exit 1
		exec chroot "$root" env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			bash -c "cd /root/vpudom && $1"' fresh-root "$root" "$*" \
		</dev/null >"$l" 2>&1
}

start=$SECONDS
in_root "$FRESH/readme-prereq.log" \
	"apt-get update -q && apt-get install -y -q --no-install-recommends make"
point $? "README: apt-get install make" "$FRESH/readme-prereq.log"

in_root "$FRESH/make-run.log" "make run"
st=$?
# It shows the blocks and the edu devices' copy through the SMMU.
grep -q '^block 0 ' "$FRESH/make-run.log" &&
	grep -q '^usable ' "$FRESH/make-run.log" &&
	grep -q 'the three edu devices are the blocks' "$FRESH/make-run.log" &&
	grep -q 'vpudom unloaded cleanly' "$FRESH/make-run.log" || st=1
point $st "README: make run shows the blocks, their ranges and the edu copy" \
	"$FRESH/make-run.log"
echo "# make run took $((SECONDS - start)) s in the bare root"

start=$SECONDS
in_root "$FRESH/make-check.log" \
	"VPUDOM_KERNELS=6.1 VPUDOM_STAGES='static stock' make check"
st=$?
summary=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$FRESH/make-check.log" | tail -n 1)
case $summary in
*" passed, 0 failed"*) ;;
*) st=1 ;;
esac
point $st "README: make check (static, stock-6.1): $summary" "$FRESH/make-check.log"
echo "# make check took $((SECONDS - start)) s in the bare root"

# As a distribution builds it: Debian 12's amd64 headers, Yocto's
# KERNEL_SRC, DKMS.
in_root "$FRESH/headers.log" \
	"apt-get install -y -q --no-install-recommends linux-headers-amd64 dkms"
point $? "install Debian 12's amd64 headers and dkms" "$FRESH/headers.log"
kver=$(ls "$root/usr/src" | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | tail -n1)
in_root "$FRESH/kernel-src.log" \
	"make KERNEL_SRC=/lib/modules/$kver/build && test -f vpudom.ko && make clean && test -z \"\$(git status --porcelain --ignored)\""
point $? "make KERNEL_SRC=<$kver headers> builds; make clean leaves the clone clean" \
	"$FRESH/kernel-src.log"
in_root "$FRESH/dkms.log" \
	"dkms add . && dkms build vpudom/0.1 -k $kver && dkms install vpudom/0.1 -k $kver && modinfo -k $kver vpudom | grep -E '^(filename|vermagic):'"
st=$?
grep -q "^filename: *.*/updates/dkms/vpudom.ko" "$FRESH/dkms.log" || st=1
point $st "dkms add, build and install against $kver" "$FRESH/dkms.log"

[ -n "${VPUDOM_FRESH_KEEP:-}" ] || as_root rm -rf "$root"
finish
