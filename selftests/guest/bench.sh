#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`, guest side: vpudom and its peers, then the benchmark.
. /lib/vpudom/peers.sh

insmod $L/vpudom.ko || exit 1
peers_setup || exit 1
# Unknown kernel parameters reach /init as environment variables.
args="--reps ${vpudom_bench_reps:-7}"
[ -n "$vpudom_bench_quick" ] && args="--quick"
# The live row's mappings per path, where this boot runs it.
[ -n "$vpudom_bench_live" ] && args="$args --live $vpudom_bench_live"
echo "vpudom-bench: begin"
$L/vpudom_bench $args
rc=$?
echo "vpudom-bench: end"
peers_teardown || rc=1
rmmod vpudom || rc=1
exit $rc
