#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# `make check`, guest side: every guest test, then the kernel health checks.
. /lib/vpudom/tap.sh
. /lib/vpudom/health.sh
. /lib/vpudom/core.sh
. /lib/vpudom/kunit.sh
. /lib/vpudom/ctl.sh
. /lib/vpudom/uapi.sh
. /lib/vpudom/edu.sh
. /lib/vpudom/consumer.sh
. /lib/vpudom/failnth.sh
. /lib/vpudom/stress.sh
. /lib/vpudom/peers.sh

health_start
core_probe
core_topology
core_supplier_waiting
ctl_faults_start
kunit_run
ctl_faults_check
ctl_list
ctl_map
ctl_trace
uapi_example_run
uapi_run
core_supplier_refused
edu_run
consumer_run
failnth_run
stress_run 10
stress_run 10 unbind
uapi_rmmod_busy
core_cycles
bench_smoke
rmmod vpudom 2>/dev/null
health_end
tap_plan
