# SPDX-License-Identifier: GPL-2.0-only
#
# vpudom: user targets.  Kbuild itself reads ./Kbuild.
#
#   make                      build for the running kernel
#                             (/lib/modules/$(uname -r)/build)
#   make KDIR=<kernel build dir> [ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-]
#                             build for another kernel (Yocto's KERNEL_SRC=
#                             works too)
#   make modules_install [INSTALL_MOD_PATH=<root>]
#   make clean                remove what a build left; fetches nothing
#   make vpudomctl [CC=...]   the command-line tool (user space)
#   make install [DESTDIR=<root>] [PREFIX=/usr/local]
#                             vpudomctl and the uAPI header, for a board's
#                             root file system
#
# The emulated target (Debian's arm64 kernels in QEMU, fetched into
# $(VPUDOM_CACHE) on first use):
#   make run                  boot it with vpudom loaded (VPUDOM_KERNEL=6.1,
#                             6.12 or 7)
#   make check                every test on every kernel of the matrix
#                             (VPUDOM_KERNELS, VPUDOM_STAGES)
#   make fresh                make run and make check in a bare Debian 12 root
#   make bench                vpudom against the DMA API, VFIO and the bare
#                             IOMMU API (VPUDOM_BENCH_REPS, default 7)
#   make stress               concurrency stress on the debug kernel
#                             (VPUDOM_STRESS_SECONDS, default 600)

VPUDOM_CACHE ?= $(HOME)/.cache/vpudom
export VPUDOM_CACHE

# Command-line variables (ARCH, CROSS_COMPILE, O, CC, INSTALL_MOD_PATH,
# MODLIB, ...) reach kbuild by themselves.
KERNEL_SRC ?= /lib/modules/$(shell uname -r)/build
KDIR ?= $(KERNEL_SRC)

all: modules

modules modules_install:
	@test -f "$(KDIR)/Makefile" || { \
		echo "vpudom: no kernel build tree at $(KDIR)." >&2; \
		echo "vpudom: install the running kernel's headers (Debian: linux-headers-$$(uname -r))," >&2; \
		echo "vpudom: or name one with KDIR=<kernel build dir>.  make run / make check build for" >&2; \
		echo "vpudom: the emulated target by themselves." >&2; \
		exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

clean:
	@if [ -f "$(KDIR)/Makefile" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	find $(CURDIR) \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.o.d' \) \
		-not -path '*/.git/*' -delete
	rm -f Module.symvers modules.order selftests/vpudom/vpudom_test vpudomctl

# vpudomctl needs only the C library and the uAPI header.
VPUDOMCTL ?= vpudomctl
PREFIX ?= /usr/local

vpudomctl:
	$(CC) -O2 -Wall -Wextra $(CFLAGS) -I$(CURDIR)/include/uapi \
		-o $(VPUDOMCTL) $(CURDIR)/src/tools/vpudomctl.c $(LDFLAGS)

install: vpudomctl
	install -D -m 0755 $(VPUDOMCTL) $(DESTDIR)$(PREFIX)/bin/vpudomctl
	install -D -m 0644 include/uapi/linux/vpudom.h \
		$(DESTDIR)$(PREFIX)/include/linux/vpudom.h

run:
	bash selftests/target/run.sh

check:
	bash selftests/check.sh

fresh:
	bash selftests/target/fresh.sh

stress:
	bash selftests/target/stress.sh

bench:
	bash selftests/target/bench.sh

.PHONY: all modules modules_install clean vpudomctl install run check fresh \
	stress bench
