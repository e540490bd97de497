#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Shared by run.sh, check.sh, bench.sh and stress.sh: set up a target
# kernel, build vpudom for it, make the device tree and the initramfs, boot
# the emulated target.  Source it.

VPUDOM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VPUDOM_TARGET=$VPUDOM_TOP/selftests/target
# The kernels of the matrix, by short name: Debian 12's 6.1, the 6.12 LTS
# Debian 12 carries, the newest 7.x of Debian 13's backports suite.  The
# debug kernels are built from the sources of the first two.
VPUDOM_ALL_KERNELS="6.1 6.12 7"
VPUDOM_DEBUG_KERNELS="6.1 6.12"
# The board: memory size and CPUs are in the dumped DT, so every boot of a
# given DT must use the same values.  No network card: nothing uses one,
# and QEMU's default card needs a boot ROM from another package.
# Three edu PCI devices are DMA engines behind the SMMU, each on its own
# stream; dma_mask, or the device silently masks addresses to 28 bits.
QEMU_MACHINE=(-M virt,iommu=smmuv3 -cpu cortex-a57 -smp 2 -m 2048 -nic none
	-device edu,dma_mask=0xffffffff -device edu,dma_mask=0xffffffff
	-device edu,dma_mask=0xffffffff)
CROSS=aarch64-linux-gnu-

# vpudom_setup [kernel]: fetch what is missing and set KNAME, ABI, KDIR,
# IMAGE, MODULES, KSRC, BUILDROOT, BASE_KSRC, BUSYBOX and WORK.
vpudom_setup() {
	local vars

	vars=$(bash "$VPUDOM_TARGET/setup.sh" "${1:-6.1}") || return 1
	eval "$vars"
	WORK=${VPUDOM_WORK:-$CACHE/work}
	mkdir -p "$WORK"
}

# The debug kernel of $KNAME, built once per config fragment and source:
# sets DEBUG_KDIR and DEBUG_IMAGE.
vpudom_debug_kernel() {
	[ -n "$KSRC" ] || {
		echo "no kernel source for $KNAME: no debug kernel" >&2
		return 1
	}
	DEBUG_KDIR=$(bash "$VPUDOM_TARGET/build-debug-kernel.sh" "$KSRC" "$CACHE") ||
		return 1
	DEBUG_IMAGE=$DEBUG_KDIR/arch/arm64/boot/Image
}

# vpudom_kmake <kernel build dir> <make arguments...>: kbuild for arm64,
# inside the Debian 13 build root when the kernel needs one (its paths are
# the same there: the cache and the work directory are bind-mounted).
vpudom_kmake() {
	local kdir=$1
	shift
	if [ -z "$BUILDROOT" ]; then
		make -C "$kdir" ARCH=arm64 CROSS_COMPILE=$CROSS "$@"
		return
	fi
	local ns=(unshare -m)
	[ "$(id -u)" = 0 ] || ns=(unshare -rm)
	"${ns[@]}" bash -c '
		root=$1 cache=$2 work=$3
		shift 3
		for d in "$cache" "$work"; do
			mkdir -p "$root$d" && mount --bind "$d" "$root$d" || exit 1
		done
		mount -t proc proc "$root/proc" || exit 1
		exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/tmp LC_ALL=C.UTF-8 make "$@"' \
		vpudom-kmake "$BUILDROOT" "$CACHE" "$WORK" -C "$kdir" ARCH=arm64 \
		CROSS_COMPILE=$CROSS "$@"
}

# vpudom_build <name> <kernel build dir> <dir of extra module sources>...
# Builds vpudom (and any test modules) in a copy of the tree, so that one
# checkout builds for several kernels, with the kbuild arguments in the
# array VPUDOM_KFLAGS (e.g. W=1 C=2).  Prints the build directory; on a
# failure, the compiler's output goes to stderr.  Each module's output is
# kept in its build.log.
vpudom_build() {
	local name=$1 kdir=$2 out extra dst
	shift 2
	out=$WORK/build-$name
	rm -rf "$out"
	mkdir -p "$out"
	cp -a "$VPUDOM_TOP/Kbuild" "$VPUDOM_TOP/src" "$VPUDOM_TOP/include" "$out/"
	vpudom_kmake "$kdir" -s M="$out" "${VPUDOM_KFLAGS[@]}" modules \
		>"$out/build.log" 2>&1 || {
		cat "$out/build.log" >&2
		return 1
	}
	for extra in "$@"; do
		dst=$out/$(basename "$extra")
		mkdir -p "$dst"
		cp -a "$extra"/. "$dst/"
		cp "$out/Module.symvers" "$dst/"
		vpudom_kmake "$kdir" -s M="$dst" "${VPUDOM_KFLAGS[@]}" \
			KBUILD_EXTRA_SYMBOLS="$out/Module.symvers" \
			VPUDOM_SRC="$out" modules >"$dst/build.log" 2>&1 || {
			cat "$dst/build.log" >&2
			return 1
		}
	done
	echo "$out"
}
VPUDOM_KFLAGS=()

# vpudom_build_diagnostics <build dir>: every compiler or checker message
# of a build, one per line; nothing when the build was clean.
vpudom_build_diagnostics() {
	cat "$1"/build.log "$1"/*/build.log 2>/dev/null |
		grep -E 'warning|error|sparse|note:' | grep -v 'Skipping BTF' || true
}

# For make run, bench and stress: any failure ends the command with one
# line naming what failed and where its log is.  VPUDOM_CMD names it.
vpudom_die() {
	echo "${VPUDOM_CMD:-vpudom}: $*" >&2
	exit 1
}

# vpudom_prepare <name> <kernel build dir> <dts> [extra module dirs...]:
# vpudom and the extra modules for the kernel, the guest programs and the
# board's DT; sets BUILD and DTB.
vpudom_prepare() {
	local name=$1 kdir=$2 dts=$3
	shift 3
	BUILD=$(vpudom_build "$name" "$kdir" "$@" 2>"$WORK/build-$name.err") ||
		vpudom_die "building vpudom for $ABI failed; log: $WORK/build-$name.err"
	vpudom_build_tests "$BUILD/progs" 2>/dev/null ||
		vpudom_die "building the guest programs failed; log: $BUILD/progs/build.log"
	DTB=$WORK/$name.dtb
	vpudom_dtb "$dts" "$DTB" 2>"$WORK/$name-dtb.log" ||
		vpudom_die "making the device tree failed; log: $WORK/$name-dtb.log"
}

# vpudom_build_tests <out dir>: the static arm64 test programs, with the
# kselftest harness of the base kernel's source, and vpudomctl.
vpudom_build_tests() {
	mkdir -p "$1"
	{ make -s -C "$VPUDOM_TOP/selftests/vpudom" OUTPUT="$1" CC=${CROSS}gcc \
		LDFLAGS=-static KSELFTEST_DIR="$BASE_KSRC/tools/testing/selftests" &&
	  make -s -C "$VPUDOM_TOP" vpudomctl VPUDOMCTL="$1/vpudomctl" \
		CC=${CROSS}gcc LDFLAGS=-static; } >"$1/build.log" 2>&1 || {
		cat "$1/build.log" >&2
		return 1
	}
}

# vpudom_board_dts <dir>: QEMU's own board DT, dumped with the machine
# options every boot uses (memory and CPUs are in it) and decompiled to
# <dir>/virt.dts.  Prints the path.
vpudom_board_dts() {
	qemu-system-aarch64 "${QEMU_MACHINE[@]}" -nographic \
		-machine dumpdtb="$1/board.dtb" >"$1/dumpdtb.log" 2>&1 &&
		[ -s "$1/board.dtb" ] || {
		echo "QEMU could not dump its board DT:" >&2
		cat "$1/dumpdtb.log" >&2
		return 1
	}
	dtc -q -I dtb -O dts -o "$1/virt.dts" "$1/board.dtb" || return 1
	echo "$1/virt.dts"
}

# vpudom_dtb <dts name> <output dtb>: the board's DT plus our nodes.
vpudom_dtb() {
	local dts=$1 dtb=$2 dir
	dir=$(mktemp -d "$WORK/dt.XXXXXX")
	vpudom_board_dts "$dir" >/dev/null &&
		dtc -q -I dts -O dtb -i "$dir" -i "$VPUDOM_TOP/dts" -o "$dtb" \
			"$VPUDOM_TOP/dts/$dts"
	local rc=$?
	rm -rf "$dir"
	return $rc
}

# vpudom_initramfs <out.cpio.gz> <mode> <file>...: busybox, our /init, the
# guest test scripts and the given files (modules, programs) in /lib/vpudom.
# Compressed modules are unpacked: busybox's insmod takes plain ELF.
vpudom_initramfs() {
	local out=$1 mode=$2 root f
	shift 2
	root=$(mktemp -d "$WORK/initramfs.XXXXXX")
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,lib/vpudom,usr/bin,usr/sbin}
	cp "$BUSYBOX" "$root/bin/busybox"
	cp "$VPUDOM_TARGET/init" "$root/init"
	cp "$VPUDOM_TOP"/selftests/guest/*.sh "$root/lib/vpudom/"
	echo "$mode" > "$root/etc/vpudom-mode"
	for f in "$@"; do
		case $f in
		*.ko.xz) xz -dc "$f" > "$root/lib/vpudom/$(basename "$f" .xz)" ;;
		*.ko.zst) zstd -qdc "$f" > "$root/lib/vpudom/$(basename "$f" .zst)" ;;
		*) cp "$f" "$root/lib/vpudom/" ;;
		esac || return 1
	done
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
	rm -rf "$root"
}

# vpudom_boot <kernel image> <dtb> <initramfs> <log> <timeout s> [append]
# The guest powers off when done; its console goes to <log> and stdout.
vpudom_boot() {
	local image=$1 dtb=$2 initrd=$3 log=$4 limit=$5 append=${6:-}
	timeout --foreground "$limit" qemu-system-aarch64 "${QEMU_MACHINE[@]}" \
		-nographic -no-reboot -dtb "$dtb" -kernel "$image" \
		-initrd "$initrd" \
		-append "console=ttyAMA0 panic=-1 rdinit=/init $append" \
		</dev/null 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}

# vpudom_vfio_modules <out dir>: VFIO from the kernel package (none where
# the kernel has it built in), with every module vfio-pci depends on, in
# load order from modules.dep; their names, in that order, go to
# <out dir>/vfio.order for the guest.  Prints the module files.
vpudom_vfio_modules() {
	local order=$1/vfio.order dep=$MODULES/modules.dep
	: > "$order"
	[ -d "$MODULES/kernel/drivers/vfio" ] || return 0
	[ -f "$dep" ] || { echo "no $dep: cannot order the VFIO modules" >&2; return 1; }
	# vfio_iommu_type1 is no dependency: VFIO requests it at run time.
	awk -v want="vfio_iommu_type1 vfio-pci" '
		{ sub(":", "", $1); deps[$1] = $0; sub("^[^ ]* ?", "", deps[$1]) }
		function base(p) { sub(".*/", "", p); sub("\\.ko.*", "", p); return p }
		function visit(m,   n, i, a) {
			if (seen[m]++) return
			n = split(deps[m], a, " ")
			for (i = n; i >= 1; i--) visit(a[i])
			print m
		}
		END {
			n = split(want, w, " ")
			for (i = 1; i <= n; i++)
				for (m in deps) if (base(m) == w[i]) visit(m)
		}' "$dep" | while read -r m; do
		echo "$MODULES/$m"
		m=${m##*/}
		echo "${m%%.ko*}" >> "$order"
	done
}
