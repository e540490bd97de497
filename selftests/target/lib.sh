#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Shared by run.sh and check.sh: build vpudom for a target kernel, make the
# device tree and the initramfs, boot the emulated target.  Source it.

VPUDOM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VPUDOM_TARGET=$VPUDOM_TOP/selftests/target
# The board: memory size and CPUs are in the dumped DT, so every boot of a
# given DT must use the same values.
# Three edu PCI devices are DMA engines behind the SMMU, each on its own
# stream; dma_mask, or the device silently masks addresses to 28 bits.
QEMU_MACHINE=(-M virt,iommu=smmuv3 -cpu cortex-a57 -smp 2 -m 2048
	-device edu,dma_mask=0xffffffff -device edu,dma_mask=0xffffffff
	-device edu,dma_mask=0xffffffff)
CROSS=aarch64-linux-gnu-

# Fetch what is missing and set ABI, STOCK_KDIR, STOCK_IMAGE, KSRC, BUSYBOX...
vpudom_setup() {
	eval "$(bash "$VPUDOM_TARGET/setup.sh")"
	WORK=${VPUDOM_WORK:-$CACHE/work}
	mkdir -p "$WORK"
}

# The debug kernel, built once per config fragment: sets DEBUG_KDIR.
vpudom_debug_kernel() {
	DEBUG_KDIR=$(bash "$VPUDOM_TARGET/build-debug-kernel.sh" "$KSRC" "$CACHE")
	DEBUG_IMAGE=$DEBUG_KDIR/arch/arm64/boot/Image
}

# vpudom_build <name> <kernel build dir> <dir of extra module sources>...
# Builds vpudom (and any test modules) in a copy of the tree, so that one
# checkout builds for several kernels.  Prints the build directory.
vpudom_build() {
	local name=$1 kdir=$2 out
	shift 2
	out=$WORK/build-$name
	mkdir -p "$out"
	cp -a "$VPUDOM_TOP/Kbuild" "$VPUDOM_TOP/src" "$VPUDOM_TOP/include" "$out/"
	make -s -C "$kdir" M="$out" ARCH=arm64 CROSS_COMPILE=$CROSS \
		modules >"$out/build.log" 2>&1 || {
		cat "$out/build.log" >&2
		return 1
	}
	local extra
	for extra in "$@"; do
		local dst=$out/$(basename "$extra")
		mkdir -p "$dst"
		cp -a "$extra"/. "$dst/"
		cp "$out/Module.symvers" "$dst/"
		make -s -C "$kdir" M="$dst" ARCH=arm64 CROSS_COMPILE=$CROSS \
			KBUILD_EXTRA_SYMBOLS="$out/Module.symvers" \
			VPUDOM_SRC="$out" modules >"$dst/build.log" 2>&1 || {
			cat "$dst/build.log" >&2
			return 1
		}
	done
	echo "$out"
}

# vpudom_build_tests <out dir>: the static arm64 test programs.
vpudom_build_tests() {
	mkdir -p "$1"
	make -s -C "$VPUDOM_TOP/selftests/vpudom" OUTPUT="$1" CC=${CROSS}gcc \
		LDFLAGS=-static KSELFTEST_DIR="$KSRC/tools/testing/selftests" \
		>"$1/build.log" 2>&1 || {
		cat "$1/build.log" >&2
		return 1
	}
}

# vpudom_board_dts <dir>: QEMU's own board DT, dumped with the machine
# options every boot uses (memory and CPUs are in it) and decompiled to
# <dir>/virt.dts.  Prints the path.
vpudom_board_dts() {
	qemu-system-aarch64 "${QEMU_MACHINE[@]}" -nographic \
		-machine dumpdtb="$1/board.dtb" >/dev/null 2>&1
	dtc -q -I dtb -O dts -o "$1/virt.dts" "$1/board.dtb"
	echo "$1/virt.dts"
}

# vpudom_dtb <dts name> <output dtb>: the board's DT plus our nodes.
vpudom_dtb() {
	local dts=$1 dtb=$2 dir
	dir=$(mktemp -d "$WORK/dt.XXXXXX")
	vpudom_board_dts "$dir" >/dev/null
	dtc -q -I dts -O dtb -i "$dir" -i "$VPUDOM_TOP/dts" -o "$dtb" \
		"$VPUDOM_TOP/dts/$dts"
	rm -rf "$dir"
}

# vpudom_initramfs <out.cpio.gz> <mode> <file>...: busybox, our /init, the
# guest test scripts and the given files (modules, programs) in /lib/vpudom.
vpudom_initramfs() {
	local out=$1 mode=$2 root
	shift 2
	root=$(mktemp -d "$WORK/initramfs.XXXXXX")
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,lib/vpudom,usr/bin,usr/sbin}
	cp "$BUSYBOX" "$root/bin/busybox"
	cp "$VPUDOM_TARGET/init" "$root/init"
	cp "$VPUDOM_TOP"/selftests/guest/*.sh "$root/lib/vpudom/"
	echo "$mode" > "$root/etc/vpudom-mode"
	[ $# -gt 0 ] && cp "$@" "$root/lib/vpudom/"
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

# vpudom_vfio_modules: VFIO from the Debian kernel package, in load order
# (the debug kernel has it built in).
vpudom_vfio_modules() {
	local d=$STOCK_MODULES/kernel/drivers/vfio m
	for m in vfio.ko vfio_iommu_type1.ko vfio_virqfd.ko pci/vfio-pci-core.ko \
		pci/vfio-pci.ko; do
		[ -e "$d/$m" ] && echo "$d/$m"
	done
	return 0
}
