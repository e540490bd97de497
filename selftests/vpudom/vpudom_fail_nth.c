// SPDX-License-Identifier: GPL-2.0-only
/*
 * fail-nth sweeps of the vpudom uAPI: for each ioctl sequence, fail the
 * 1st, 2nd, ... Nth fault-injection point the calling thread reaches
 * (failslab, fail_page_alloc, vpudom's fail_pin and fail_map) until the
 * sequence runs without one.  After every run: nothing pinned, charged or
 * mapped.  The kernel log is checked by the caller at the end.
 *
 * Needs a kernel with fault injection, failslab and fail_page_alloc set to
 * fail sleeping allocations of every order (ignore-gfp-wait N,
 * min-order 0), and root.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "vpudom_utils.h"

#define MAX_POINTS	2000

static int fail_nth_fd(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	return open(path, O_RDWR);
}

/* Arm the nth injection point for this thread. */
static int fail_nth_set(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(fd, buf, len, 0) == len ? 0 : -1;
}

/* What is left of the count: 0 once the nth point failed. */
static int fail_nth_left(int fd)
{
	char buf[16] = "";

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return -1;
	return atoi(buf);
}

struct sweep {
	__u8 *buf;		/* 16 pages */
	int dmabuf;		/* a udmabuf, or -1 */
	__u64 fixed_iova;	/* a fixed IOVA of block 1 for 16 pages */
};

typedef void (*sequence_fn)(struct sweep *sw);

static void seq_open_close(struct sweep *sw)
{
	int fd = open(vpudom_dev(), O_RDWR);

	if (fd >= 0)
		close(fd);
}

static void seq_info_ranges(struct sweep *sw)
{
	struct vpudom_block_info bi[3];
	struct vpudom_info info = {
		.size = sizeof(info),
		.num_blocks = 3,
		.blocks_uptr = (__u64)(uintptr_t)bi,
	};
	struct vpudom_iova_range r[4];
	int fd = open(vpudom_dev(), O_RDWR);
	__u32 b, n;

	if (fd < 0)
		return;
	_ioctl(fd, VPUDOM_INFO, &info);
	for (b = 0; b < 3; b++) {
		n = 4;
		_test_ranges(fd, b, r, &n);
	}
	close(fd);
}

static void seq_map_auto_unmap(struct sweep *sw)
{
	int fd = open(vpudom_dev(), O_RDWR);
	__u64 iova = 0;

	if (fd < 0)
		return;
	if (!_test_map_user(fd, VPUDOM_MAP_READ | VPUDOM_MAP_WRITE, blk(0),
			    sw->buf, 16 * PAGE_SZ, &iova))
		_test_unmap(fd, 0, iova, 16 * PAGE_SZ, NULL);
	close(fd);
}

static void seq_map_fixed_unmap(struct sweep *sw)
{
	int fd = open(vpudom_dev(), O_RDWR);

	if (fd < 0)
		return;
	if (!_test_map_fixed(fd, VPUDOM_MAP_READ, blk(1), sw->buf,
			     16 * PAGE_SZ, sw->fixed_iova))
		_test_unmap(fd, 1, sw->fixed_iova, 16 * PAGE_SZ, NULL);
	close(fd);
}

static void seq_map_two_blocks(struct sweep *sw)
{
	int fd = open(vpudom_dev(), O_RDWR);
	__u64 iova = 0;

	if (fd < 0)
		return;
	if (!_test_map_user(fd, VPUDOM_MAP_WRITE, blk(1) | blk(2), sw->buf,
			    16 * PAGE_SZ, &iova))
		_test_unmap(fd, 2, iova, 16 * PAGE_SZ, NULL);
	close(fd);
}

static void seq_map_dmabuf(struct sweep *sw)
{
	struct vpudom_map_dmabuf cmd = {
		.size = sizeof(cmd),
		.flags = VPUDOM_MAP_READ | VPUDOM_MAP_WRITE,
		.fd = sw->dmabuf,
		.blocks = blk(2),
		.length = 8 * PAGE_SZ,
	};
	int fd = open(vpudom_dev(), O_RDWR);

	if (fd < 0)
		return;
	if (!_ioctl(fd, VPUDOM_MAP_DMABUF, &cmd))
		_test_unmap(fd, 2, cmd.iova, 8 * PAGE_SZ, NULL);
	close(fd);
}

static void seq_unmap_all(struct sweep *sw)
{
	int fd = open(vpudom_dev(), O_RDWR);
	__u64 iova = 0, n = 0;

	if (fd < 0)
		return;
	_test_map_user(fd, VPUDOM_MAP_READ, blk(0), sw->buf, 4 * PAGE_SZ, &iova);
	_test_map_user(fd, VPUDOM_MAP_READ, blk(2), sw->buf, 4 * PAGE_SZ, &iova);
	_test_unmap_all(fd, &n);
	close(fd);
}

static void seq_close_with_mappings(struct sweep *sw)
{
	int fd = open(vpudom_dev(), O_RDWR), b;
	__u64 iova = 0;

	if (fd < 0)
		return;
	for (b = 0; b < 3; b++)
		_test_map_user(fd, VPUDOM_MAP_READ, blk(b), sw->buf,
			       4 * PAGE_SZ, &iova);
	close(fd);
}

FIXTURE(fail_nth) {
	struct sweep sw;
	struct vpu v;
	int nth;
	long pins;
	long long charged_mappings;
	long long charged_bytes;
};

FIXTURE_VARIANT(fail_nth) {
	const char *name;
	sequence_fn fn;
	int dmabuf;
};

FIXTURE_VARIANT_ADD(fail_nth, open_close) {
	.name = "open_close", .fn = seq_open_close,
};

FIXTURE_VARIANT_ADD(fail_nth, info_ranges) {
	.name = "info_ranges", .fn = seq_info_ranges,
};

FIXTURE_VARIANT_ADD(fail_nth, map_auto_unmap) {
	.name = "map_auto_unmap", .fn = seq_map_auto_unmap,
};

FIXTURE_VARIANT_ADD(fail_nth, map_fixed_unmap) {
	.name = "map_fixed_unmap", .fn = seq_map_fixed_unmap,
};

FIXTURE_VARIANT_ADD(fail_nth, map_two_blocks) {
	.name = "map_two_blocks", .fn = seq_map_two_blocks,
};

FIXTURE_VARIANT_ADD(fail_nth, map_dmabuf) {
	.name = "map_dmabuf", .fn = seq_map_dmabuf, .dmabuf = 1,
};

FIXTURE_VARIANT_ADD(fail_nth, unmap_all) {
	.name = "unmap_all", .fn = seq_unmap_all,
};

FIXTURE_VARIANT_ADD(fail_nth, close_with_mappings) {
	.name = "close_with_mappings", .fn = seq_close_with_mappings,
};

FIXTURE_SETUP(fail_nth)
{
	int dev;

	self->nth = fail_nth_fd();
	if (self->nth < 0)
		SKIP(return, "no fail-nth: kernel without fault injection");
	self->sw.dmabuf = -1;
	dev = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, vpu_describe(dev, &self->v));
	close(dev);
	if (self->v.nr_blocks < 2)
		SKIP(return, "the sequences use two blocks; this VPU has one");
	self->sw.fixed_iova = vpu_quiet_iova(&self->v.b[1], 16 * PAGE_SZ);
	ASSERT_NE(0, self->sw.fixed_iova);
	self->sw.buf = mmap(NULL, 16 * PAGE_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sw.buf);
	if (variant->dmabuf) {
		dev = open("/dev/udmabuf", O_RDWR);
		if (dev < 0)
			SKIP(return, "no /dev/udmabuf");
		self->sw.dmabuf = vpu_udmabuf(dev, 8 * PAGE_SZ, NULL);
		ASSERT_LE(0, self->sw.dmabuf);
		close(dev);
	}
	/*
	 * What is pinned and charged before: a mapping the IOMMU could not
	 * unmap (short_unmap_keeps_pages) keeps both for good.
	 */
	self->pins = pins_held();
	self->charged_mappings = user_acct(0, "mappings");
	self->charged_bytes = user_acct(0, "bytes");
}

FIXTURE_TEARDOWN(fail_nth)
{
	if (self->sw.dmabuf >= 0)
		close(self->sw.dmabuf);
	if (self->nth >= 0)
		close(self->nth);
}

TEST_F(fail_nth, sweep)
{
	int n, b, failed_runs = 0;

	/* The sequence must work without injection first. */
	variant->fn(&self->sw);
	for (n = 1; n < MAX_POINTS; n++) {
		ASSERT_EQ(0, fail_nth_set(self->nth, n));
		variant->fn(&self->sw);
		if (fail_nth_left(self->nth) > 0) {
			/* The nth point was never reached: done. */
			ASSERT_EQ(0, fail_nth_set(self->nth, 0));
			break;
		}
		failed_runs++;
		/* Whatever failed, nothing may stay behind. */
		ASSERT_EQ(self->pins, pins_held()) TH_LOG("point %d", n);
		ASSERT_EQ(self->charged_mappings, user_acct(0, "mappings"))
			TH_LOG("point %d", n);
		ASSERT_EQ(self->charged_bytes, user_acct(0, "bytes"))
			TH_LOG("point %d", n);
		for (b = 0; b < self->v.nr_blocks; b++)
			ASSERT_EQ(0, debugfs_mappings(self->v.b[b].info.name))
				TH_LOG("point %d", n);
	}
	ASSERT_LT(n, MAX_POINTS);
	EXPECT_LT(0, failed_runs) TH_LOG("no injection point reached");
	printf("# fail-nth %s: %d injection points\n", variant->name,
	       failed_runs);
	/* The harness ends each test with _exit(): flush now. */
	fflush(stdout);
}

#define FAIL_UNMAP	DEBUGFS "/fail_unmap"

static int write_attr(const char *attr, const char *val)
{
	char path[128];
	int fd, n = strlen(val), ret = 0;

	snprintf(path, sizeof(path), FAIL_UNMAP "/%s", attr);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * An unmap that the IOMMU does not complete (fail_unmap leaves the pages
 * in the page table): the device may still reach the memory, so it stays
 * pinned, and the IOVA is never handed out again; the session no longer
 * sees the mapping.
 */
TEST(short_unmap_keeps_pages)
{
	long pins = pins_held();
	__u8 *buf = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	__u64 iova = 0, n = 0;
	struct vpu v;
	int fd;

	if (access(FAIL_UNMAP, F_OK))
		SKIP(return, "no vpudom fail_unmap (CONFIG_FAULT_INJECTION_DEBUG_FS)");
	ASSERT_NE(MAP_FAILED, buf);
	fd = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vpu_describe(fd, &v));
	if (v.nr_blocks < 2)
		SKIP(return, "uses block 1; this VPU has one block");
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ | VPUDOM_MAP_WRITE,
				    blk(1), buf, 4 * PAGE_SZ, &iova));
	ASSERT_EQ(pins + 4, pins_held());

	ASSERT_EQ(0, write_attr("verbose", "0"));
	ASSERT_EQ(0, write_attr("interval", "1"));
	ASSERT_EQ(0, write_attr("times", "1"));
	ASSERT_EQ(0, write_attr("probability", "100"));
	EXPECT_EQ(0, _test_unmap(fd, 1, iova, 4 * PAGE_SZ, &n));
	ASSERT_EQ(0, write_attr("probability", "0"));
	EXPECT_EQ(4 * PAGE_SZ, n);

	/* Gone for the session, still pinned, its IOVA never reused. */
	EXPECT_EQ(0, debugfs_mappings(v.b[1].info.name));
	EXPECT_EQ(pins + 4, pins_held());
	EXPECT_EQ(-EADDRINUSE, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(1), buf,
					       PAGE_SZ, iova));
	close(fd);
	munmap(buf, 4 * PAGE_SZ);
	/* Leaked on purpose, for as long as the kernel runs. */
	EXPECT_EQ(pins + 4, pins_held());
}

TEST_HARNESS_MAIN
