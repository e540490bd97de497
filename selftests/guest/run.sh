#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# `make run`: load vpudom, show what it manages, unload.
D=/sys/kernel/debug/vpudom
L=/lib/vpudom

insmod $L/vpudom.ko || exit 1
for inst in "$D"/vpudom*/; do
	echo
	echo "==== $(basename "$inst") ===="
	cat "$inst/info"
	for blk in "$inst"*/; do
		b=$(basename "$blk")
		echo
		echo "-- $b: $(grep '^stream:' "$blk/stats" | tr -s ' ')," \
		     "$(grep '^iommu_group:' "$blk/stats" | tr -s ' ')"
		cat "$blk/ranges"
	done
done
echo
echo "==== vpudomctl list: the same, through the uAPI ===="
$L/vpudomctl list || exit 1
echo
echo "==== the uAPI: map one buffer into two blocks ===="
$L/vpudom_demo || exit 1
echo
echo "==== real DMA: QEMU edu devices as a test VPU ===="
insmod $L/vpudom_edu.ko || exit 1
edu=$(grep -l '^hardware: edu-vpu$' $D/*/info | xargs dirname | xargs basename)
echo "the three edu devices are the blocks of $edu:"
grep '^block ' $D/$edu/info
$L/vpudom_demo --edu /dev/$edu || exit 1
rmmod vpudom_edu || exit 1
echo
rmmod vpudom || exit 1
if [ -e $D ]; then
	echo "vpudom: debugfs still present after rmmod"
	exit 1
fi
echo "vpudom unloaded cleanly"
