# SPDX-License-Identifier: GPL-2.0-only
#
# vpudom: user targets.  Kbuild itself reads ./Kbuild.
#
#   make                      build for the emulated target (Debian arm64 6.1
#                             headers, fetched into $(VPUDOM_CACHE) on first use)
#   make KDIR=<kernel build dir> ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
#                             build for a real SoC kernel
#   make modules_install [INSTALL_MOD_PATH=<root>]
#   make run                  boot the emulated target with vpudom loaded
#   make check                every test: static checks, then the guests
#   make bench                vpudom against the DMA API, VFIO and the bare
#                             IOMMU API in the emulated target
#                             (VPUDOM_BENCH_REPS, default 7)
#   make stress               concurrency stress on the debug kernel
#                             (VPUDOM_STRESS_SECONDS, default 600)
#   make clean

VPUDOM_CACHE ?= $(HOME)/.cache/vpudom
export VPUDOM_CACHE

SETUP := selftests/target/setup.sh

ifeq ($(KDIR),)
# The emulated target: resolve (and if needed fetch) the cached headers.
KBUILD_ARGS = -C "$$(bash $(SETUP) | sed -n 's/^STOCK_KDIR=//p')" \
	ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
else
KBUILD_ARGS = -C $(KDIR) $(if $(ARCH),ARCH=$(ARCH)) \
	$(if $(CROSS_COMPILE),CROSS_COMPILE=$(CROSS_COMPILE))
endif

all: modules

modules modules_install clean:
	$(MAKE) $(KBUILD_ARGS) M=$(CURDIR) $(if $(INSTALL_MOD_PATH),INSTALL_MOD_PATH=$(INSTALL_MOD_PATH)) $@

setup:
	bash $(SETUP) >/dev/null

run:
	bash selftests/target/run.sh

check:
	bash selftests/check.sh

stress:
	bash selftests/target/stress.sh

bench:
	bash selftests/target/bench.sh

.PHONY: all modules modules_install clean setup run check stress bench
