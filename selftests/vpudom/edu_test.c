// SPDX-License-Identifier: GPL-2.0-only
/*
 * Real DMA through the SMMU: QEMU edu devices are the blocks of a test VPU
 * (selftests/edu), mapped through the normal uAPI.  A block's device copies
 * between two IOVAs; the data shows whether the SMMU translated the way the
 * mappings say, and the SMMU's event log shows the faults.
 *
 * The blocks, windows and usable ranges come from the ioctls
 * (vpu_describe()): the fixture runs for blocks 0, 1 and 2 and skips those
 * the VPU lacks; the tests that need two blocks sharing IOVAs find them.
 * Only edu_kernel_only_range is about the edu VPU's own description.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/klog.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "vpudom_utils.h"

#define EDU_COPY	"/sys/kernel/debug/vpudom_edu/copy"
/* The most one transfer may move (see selftests/edu/vpudom_edu.c). */
#define EDU_MAX		4095

/* The device node of the edu VPU, found through debugfs. */
static const char *edu_dev(void)
{
	static char dev[64];
	char path[128], line[128];
	int i;

	for (i = 0; i < 8; i++) {
		FILE *f;

		snprintf(path, sizeof(path), DEBUGFS "/vpudom%d/info", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (!strcmp(line, "hardware: edu-vpu\n")) {
				fclose(f);
				snprintf(dev, sizeof(dev), "/dev/vpudom%d", i);
				return dev;
			}
		}
		fclose(f);
	}
	return NULL;
}

/* Ask block @b's device to copy @len bytes from @src to @dst. */
static int edu_copy(unsigned int b, __u64 src, __u64 dst, __u64 len)
{
	char cmd[96];
	int fd = open(EDU_COPY, O_WRONLY), n, ret = 0;

	if (fd < 0)
		return -errno;
	n = snprintf(cmd, sizeof(cmd), "copy %u %llx %llx %llx", b,
		     (unsigned long long)src, (unsigned long long)dst,
		     (unsigned long long)len);
	if (write(fd, cmd, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/* Ask block @b's device to read @len bytes at @src into its buffer. */
static int edu_fetch(unsigned int b, __u64 src, __u64 len)
{
	char cmd[64];
	int fd = open(EDU_COPY, O_WRONLY), n, ret = 0;

	if (fd < 0)
		return -errno;
	n = snprintf(cmd, sizeof(cmd), "fetch %u %llx %llx", b,
		     (unsigned long long)src, (unsigned long long)len);
	if (write(fd, cmd, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * SMMU translation faults (event 0x10) in the kernel log, for stream @sid
 * (any if negative) at input address @iova (any if 0).  The SMMUv3 driver
 * prints each event as four words: the first holds the stream ID in its
 * upper half, the third the input address.  It rate-limits them (10 in
 * 5 s), so callers that need their fault logged wait for a fresh window.
 */
static int smmu_faults(long sid, __u64 iova)
{
	static char log[1 << 20];
	unsigned long long w[4];
	int n, count = 0, i;
	char *p, *q;

	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);
	if (n < 0)
		return -1;
	log[n] = 0;
	for (p = log; (p = strstr(p, "event 0x10 received")); p++) {
		q = p;
		for (i = 0; i < 4; i++) {
			q = strstr(q + 1, "\t0x");
			if (!q || sscanf(q + 1, "%llx", &w[i]) != 1)
				break;
		}
		if (i < 4)
			continue;
		if ((sid < 0 || (long)(w[0] >> 32) == sid) && (!iova || w[2] == iova))
			count++;
	}
	return count;
}

/*
 * The SMMU driver logs events from its event-queue thread, after the
 * transfer: wait up to 5 s for the count to pass @before.
 */
static int smmu_faults_after(long sid, __u64 iova, int before)
{
	int i, n = smmu_faults(sid, iova);

	for (i = 0; i < 50 && n <= before; i++) {
		usleep(100000);
		n = smmu_faults(sid, iova);
	}
	return n;
}

FIXTURE(edu) {
	int fd;
	__u8 *a, *b, *c;	/* three 16 KiB buffers */
	struct vpu v;
	__u64 first;		/* first usable IOVA of the block */
	__u64 last;		/* last usable IOVA of the block */
};

/* The block, by number; a VPU with fewer blocks skips. */
FIXTURE_VARIANT(edu) {
	unsigned int block;
};

FIXTURE_VARIANT_ADD(edu, block0) {
	.block = 0,
};

FIXTURE_VARIANT_ADD(edu, block1) {
	.block = 1,
};

FIXTURE_VARIANT_ADD(edu, block2) {
	.block = 2,
};

static __u8 *buffer(void)
{
	return mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
}

FIXTURE_SETUP(edu)
{
	const struct vpu_block *vb;
	const char *dev = edu_dev();
	int i;

	if (!dev)
		SKIP(return, "no edu VPU (QEMU edu devices and vpudom_edu.ko)");
	self->fd = open(dev, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vpu_describe(self->fd, &self->v));
	if (variant->block >= self->v.nr_blocks)
		SKIP(return, "the edu VPU has %u blocks", self->v.nr_blocks);
	vb = &self->v.b[variant->block];
	ASSERT_LT(0, vb->nr_usable);
	self->first = vb->usable[0].start;
	self->last = vb->usable[vb->nr_usable - 1].last;
	self->a = buffer();
	self->b = buffer();
	self->c = buffer();
	ASSERT_NE(MAP_FAILED, self->a);
	ASSERT_NE(MAP_FAILED, self->b);
	ASSERT_NE(MAP_FAILED, self->c);
	for (i = 0; i < 4 * (int)PAGE_SZ; i++)
		self->a[i] = (__u8)(i * 7 + 3);
}

FIXTURE_TEARDOWN(edu)
{
	if (self->fd > 0)
		close(self->fd);
}

#define BLK	blk(variant->block)
#define SID	(self->v.b[variant->block].info.sid)

/* The data arrives, every size up to the device buffer, at both edges. */
TEST_F(edu, copy_at_window_edges)
{
	static const __u64 sizes[] = { 1, 64, EDU_MAX - 1, EDU_MAX };
	const __u64 src = self->first, dst = self->last + 1 - 4 * PAGE_SZ;
	unsigned int i;

	ASSERT_TRUE(vpu_usable(&self->v.b[variant->block], dst, 4 * PAGE_SZ));

	ASSERT_EQ(0, _test_map_fixed(self->fd, VPUDOM_MAP_READ, BLK, self->a,
				     4 * PAGE_SZ, src));
	ASSERT_EQ(0, _test_map_fixed(self->fd, VPUDOM_MAP_WRITE, BLK, self->b,
				     4 * PAGE_SZ, dst));
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(self->b, 0, 4 * PAGE_SZ);
		/* From the first usable page to the last usable page. */
		ASSERT_EQ(0, edu_copy(variant->block, src, dst + 3 * PAGE_SZ,
				      sizes[i]));
		EXPECT_EQ(0, memcmp(self->b + 3 * PAGE_SZ, self->a, sizes[i]));
		EXPECT_EQ(0, self->b[3 * PAGE_SZ + sizes[i]]);
	}
	/* A bad request is refused, not passed on to the device. */
	EXPECT_EQ(-EINVAL, edu_copy(variant->block, src, dst, EDU_MAX + 1));
	EXPECT_EQ(-EINVAL, edu_copy(variant->block, src, dst, 0));
	EXPECT_EQ(-EINVAL, edu_copy(self->v.nr_blocks, src, dst, 64));
}

/*
 * After unmap the device's write faults and memory stays as it was; the
 * IOVA mapped again to another buffer is what the device then reaches (a
 * stale IOTLB entry would still reach the old one).
 */
TEST_F(edu, unmap_faults_remap_reaches_new_page)
{
	__u64 src = 0, dst = 0;
	int before;

	ASSERT_EQ(0, _test_map_user(self->fd, VPUDOM_MAP_READ, BLK, self->a,
				    PAGE_SZ, &src));
	ASSERT_EQ(0, _test_map_user(self->fd, VPUDOM_MAP_WRITE, BLK, self->b,
				    PAGE_SZ, &dst));
	memset(self->b, 0, PAGE_SZ);
	ASSERT_EQ(0, edu_copy(variant->block, src, dst, 256));
	ASSERT_EQ(0, memcmp(self->b, self->a, 256));

	ASSERT_EQ(0, _test_unmap(self->fd, variant->block, dst, PAGE_SZ, NULL));
	memset(self->b, 0x5a, PAGE_SZ);
	/* A fresh window of the SMMU driver's rate limit: this one is logged. */
	sleep(6);
	before = smmu_faults(SID, dst);
	ASSERT_EQ(0, edu_copy(variant->block, src, dst, 256));
	EXPECT_EQ(0x5a, self->b[0]);
	EXPECT_EQ(0x5a, self->b[255]);
	/* The event names this block's stream and the unmapped IOVA. */
	EXPECT_LT(before, smmu_faults_after(SID, dst,
					    before));

	memset(self->c, 0, PAGE_SZ);
	ASSERT_EQ(0, _test_map_fixed(self->fd, VPUDOM_MAP_WRITE, BLK, self->c,
				     PAGE_SZ, dst));
	ASSERT_EQ(0, edu_copy(variant->block, src, dst, 256));
	EXPECT_EQ(0, memcmp(self->c, self->a, 256));
	EXPECT_EQ(0x5a, self->b[0]);
}

/*
 * One unmap of several mappings a page apart, with another session's
 * mappings in the gaps: vpudom invalidates them with one IOTLB sync over
 * the whole span.  Every page the device reached before (so that the
 * SMMU's IOTLB holds it) is out of its reach afterwards, and what lies in
 * the gaps still works.
 */
TEST_F(edu, unmap_of_mappings_apart)
{
	const __u64 dst = self->last + 1 - 8 * PAGE_SZ;
	__u64 src = 0, unmapped = 0;
	const char *dev = edu_dev();
	int fd2, i;

	ASSERT_TRUE(vpu_usable(&self->v.b[variant->block], dst, 8 * PAGE_SZ));
	fd2 = open(dev, O_RDWR);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, _test_map_user(self->fd, VPUDOM_MAP_READ, BLK, self->a,
				    PAGE_SZ, &src));
	memset(self->b, 0, 4 * PAGE_SZ);
	memset(self->c, 0, 4 * PAGE_SZ);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, _test_map_fixed(self->fd, VPUDOM_MAP_WRITE, BLK,
					     self->b + i * PAGE_SZ, PAGE_SZ,
					     dst + 2 * i * PAGE_SZ));
		ASSERT_EQ(0, _test_map_fixed(fd2, VPUDOM_MAP_WRITE, BLK,
					     self->c + i * PAGE_SZ, PAGE_SZ,
					     dst + (2 * i + 1) * PAGE_SZ));
	}
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, edu_copy(variant->block, src, dst + i * PAGE_SZ,
				      64));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, memcmp(self->b + i * PAGE_SZ, self->a, 64));
		ASSERT_EQ(0, memcmp(self->c + i * PAGE_SZ, self->a, 64));
	}

	/* Only this session's four mappings go. */
	ASSERT_EQ(0, _test_unmap(self->fd, variant->block, dst, 7 * PAGE_SZ,
				 &unmapped));
	EXPECT_EQ(4 * PAGE_SZ, unmapped);
	memset(self->b, 0x5a, 4 * PAGE_SZ);
	memset(self->c, 0, 4 * PAGE_SZ);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, edu_copy(variant->block, src, dst + i * PAGE_SZ,
				      64));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0x5a, self->b[i * PAGE_SZ]);
		EXPECT_EQ(0x5a, self->b[i * PAGE_SZ + 63]);
		EXPECT_EQ(0, memcmp(self->c + i * PAGE_SZ, self->a, 64));
	}
	close(fd2);
}

/* The device cannot write through a read-only mapping. */
TEST_F(edu, write_to_read_only_faults)
{
	__u64 src = 0, dst = 0;

	ASSERT_EQ(0, _test_map_user(self->fd, VPUDOM_MAP_READ, BLK, self->a,
				    PAGE_SZ, &src));
	memset(self->b, 0x33, PAGE_SZ);
	ASSERT_EQ(0, _test_map_user(self->fd, VPUDOM_MAP_READ, BLK, self->b,
				    PAGE_SZ, &dst));
	ASSERT_EQ(0, edu_copy(variant->block, src, dst, 128));
	EXPECT_EQ(0x33, self->b[0]);
	EXPECT_EQ(0x33, self->b[127]);
	/* The device still works through the good mappings. */
	memset(self->c, 0, PAGE_SZ);
	ASSERT_EQ(0, _test_unmap(self->fd, variant->block, dst, PAGE_SZ, NULL));
	ASSERT_EQ(0, _test_map_fixed(self->fd, VPUDOM_MAP_WRITE, BLK, self->c,
				     PAGE_SZ, dst));
	ASSERT_EQ(0, edu_copy(variant->block, src, dst, 128));
	EXPECT_EQ(0, memcmp(self->c, self->a, 128));
}

/*
 * A read at an IOVA outside every mapping faults: the SMMU reports it for
 * this block's stream and that IOVA.
 */
TEST_F(edu, unmapped_iova_faults)
{
	const __u64 nowhere = self->first + 64 * PAGE_SZ;
	int before;

	sleep(6);
	before = smmu_faults(SID, nowhere);
	ASSERT_EQ(0, edu_fetch(variant->block, nowhere, 64));
	EXPECT_LT(before, smmu_faults_after(SID,
					    nowhere, before));
}

/*
 * A block cannot reach an IOVA mapped only in another block's domain, even
 * one usable in its own.
 */
TEST(edu_other_block_faults)
{
	const char *dev = edu_dev();
	__u8 *a = buffer(), *b = buffer();
	unsigned int p, q;
	struct vpu v;
	__u64 x = 0;
	int fd;

	if (!dev)
		SKIP(return, "no edu VPU");
	fd = open(dev, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vpu_describe(fd, &v));
	if (vpu_meeting(&v, 2 * PAGE_SZ, &p, &q, &x))
		SKIP(return, "no two blocks of the edu VPU share usable IOVAs");
	memset(a, 0x11, PAGE_SZ);
	memset(b, 0x77, PAGE_SZ);
	/* Block q reads a at x; b is writable at x + 1 page, but only in p. */
	ASSERT_EQ(0, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(q), a, PAGE_SZ, x));
	ASSERT_EQ(0, _test_map_fixed(fd, VPUDOM_MAP_WRITE, blk(p), b, PAGE_SZ,
				     x + PAGE_SZ));
	ASSERT_EQ(0, edu_copy(q, x, x + PAGE_SZ, 64));
	EXPECT_EQ(0x77, b[0]);
	/* Block p itself reaches it. */
	ASSERT_EQ(0, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(p), a, PAGE_SZ, x));
	ASSERT_EQ(0, edu_copy(p, x, x + PAGE_SZ, 64));
	EXPECT_EQ(0x11, b[0]);
	close(fd);
}

/*
 * Block 1 of the edu VPU keeps 2048-2112 MiB for the kernel: sessions do
 * not see it in the usable ranges, cannot map a fixed IOVA into it (not
 * even through another block whose window holds it) and map right around
 * it.
 */
TEST(edu_kernel_only_range)
{
	const __u64 ko = MIB(2048), ko_end = MIB(2112);
	const char *dev = edu_dev();
	const struct vpu_block *b1;
	__u8 *a = buffer();
	struct vpu v;
	unsigned int i;
	int fd, below = 0, above = 0;

	if (!dev)
		SKIP(return, "no edu VPU");
	fd = open(dev, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vpu_describe(fd, &v));
	ASSERT_LT(1, v.nr_blocks);
	b1 = &v.b[1];
	/* Block 1's usable ranges stop right below it and resume above. */
	for (i = 0; i < b1->nr_usable; i++) {
		EXPECT_TRUE(b1->usable[i].last < ko || b1->usable[i].start >= ko_end);
		below += b1->usable[i].last == ko - 1;
		above += b1->usable[i].start == ko_end;
	}
	EXPECT_EQ(1, below);
	EXPECT_EQ(1, above);
	EXPECT_EQ(-EACCES, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(1), a,
					   PAGE_SZ, ko));
	EXPECT_EQ(-EACCES, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(1), a,
					   2 * PAGE_SZ, ko - PAGE_SZ));
	EXPECT_EQ(-EACCES, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(1), a,
					   PAGE_SZ, ko_end - PAGE_SZ));
	EXPECT_EQ(-EACCES, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(0) | blk(1),
					   a, PAGE_SZ, ko));
	/* Block 0 alone has no kernel-only range. */
	EXPECT_EQ(0, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(0), a, PAGE_SZ, ko));
	EXPECT_EQ(0, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(1), a, PAGE_SZ,
				     ko - PAGE_SZ));
	EXPECT_EQ(0, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(1), a, PAGE_SZ,
				     ko_end));
	EXPECT_EQ(0, _test_unmap_all(fd, NULL));
	close(fd);
}

/* One buffer at one IOVA in two blocks: both devices reach it there. */
TEST(edu_two_blocks_one_iova)
{
	const char *dev = edu_dev();
	__u8 *a = buffer(), *b1 = buffer(), *b2 = buffer();
	__u64 src = 0, d1 = 0, d2 = 0;
	unsigned int p, q;
	struct vpu v;
	int fd, i;

	if (!dev)
		SKIP(return, "no edu VPU");
	fd = open(dev, O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < (int)PAGE_SZ; i++)
		a[i] = (__u8)(i ^ 0x5c);
	ASSERT_EQ(0, vpu_describe(fd, &v));
	if (vpu_meeting(&v, PAGE_SZ, &p, &q, &src))
		SKIP(return, "no two blocks of the edu VPU share usable IOVAs");
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, blk(p) | blk(q), a,
				    PAGE_SZ, &src));
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_WRITE, blk(p), b1, PAGE_SZ, &d1));
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_WRITE, blk(q), b2, PAGE_SZ, &d2));
	ASSERT_EQ(0, edu_copy(p, src, d1, EDU_MAX));
	ASSERT_EQ(0, edu_copy(q, src, d2, EDU_MAX));
	EXPECT_EQ(0, memcmp(b1, a, EDU_MAX));
	EXPECT_EQ(0, memcmp(b2, a, EDU_MAX));
	close(fd);
}

/*
 * A read-only device mapping of private memory the CPU writes afterwards:
 * the device reads what the CPU wrote.  The source is untouched when
 * mapped, so its pages are the shared zero page until written; a pin that
 * keeps the page it found (6.1 without a COW break) reads zeroes.
 */
TEST(edu_read_only_map_sees_later_cpu_writes)
{
	const char *dev = edu_dev();
	__u8 *a, *b = buffer();
	__u64 src = 0, dst = 0;
	int fd, i;

	if (!dev)
		SKIP(return, "no edu VPU");
	a = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	fd = open(dev, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, a[0]);	/* read: the zero page is mapped */
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, blk(0), a, PAGE_SZ,
				    &src));
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_WRITE, blk(0), b, PAGE_SZ,
				    &dst));
	for (i = 0; i < (int)PAGE_SZ; i++)
		a[i] = (__u8)(i * 13 + 1);
	memset(b, 0, PAGE_SZ);
	ASSERT_EQ(0, edu_copy(0, src, dst, EDU_MAX));
	EXPECT_EQ(0, memcmp(b, a, EDU_MAX));
	close(fd);
	munmap(a, PAGE_SZ);
}

/* Hundreds of faulting reads leave the system working and correct. */
TEST(edu_fault_storm)
{
	const char *dev = edu_dev();
	__u8 *a = buffer(), *b = buffer();
	__u64 src = 0, dst = 0, at;
	int fd, i, before = smmu_faults(-1, 0);
	struct vpu v;

	if (!dev)
		SKIP(return, "no edu VPU");
	fd = open(dev, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vpu_describe(fd, &v));
	/* Nothing is mapped: every block faults, inside its window or not. */
	for (i = 0; i < 200; i++) {
		at = v.b[i % v.nr_blocks].usable[0].start + (i % 64) * PAGE_SZ;
		ASSERT_EQ(0, edu_fetch(i % v.nr_blocks, at, 64));
	}
	EXPECT_LT(before, smmu_faults_after(-1, 0, before));
	memset(a, 0xc3, PAGE_SZ);
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, blk(0), a, PAGE_SZ, &src));
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_WRITE, blk(0), b, PAGE_SZ, &dst));
	ASSERT_EQ(0, edu_copy(0, src, dst, EDU_MAX));
	EXPECT_EQ(0, memcmp(a, b, EDU_MAX));
	close(fd);
}

/* References on a module, from sysfs, or -1. */
static long module_refcnt(const char *name)
{
	char path[96];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/*
 * The frontend's module goes while a session of its VPU is open, with a
 * mapping: everything is revoked, every ioctl says ENODEV, and close is
 * clean and gives vpudom's module reference back.  The instance must not
 * read the frontend's description, which left with its module.
 */
TEST(edu_frontend_module_gone)
{
	const char *dev = edu_dev();
	struct vpudom_iova_range r[4];
	struct vpudom_block_info bi[3];
	struct vpudom_info info = {
		.size = sizeof(info),
		.num_blocks = 3,
		.blocks_uptr = (__u64)(uintptr_t)bi,
	};
	__u8 *a = buffer();
	__u64 iova = 0;
	long pins = pins_held(), refs = module_refcnt("vpudom");
	__u32 num = 4;
	int fd;

	if (!dev)
		SKIP(return, "no edu VPU");
	fd = open(dev, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(refs + 1, module_refcnt("vpudom"));
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, blk(2), a, PAGE_SZ, &iova));
	EXPECT_EQ(pins + 1, pins_held());
	ASSERT_EQ(0, system("rmmod vpudom_edu"));
	EXPECT_EQ(pins, pins_held());
	EXPECT_EQ(-ENODEV, _ioctl(fd, VPUDOM_INFO, &info));
	EXPECT_EQ(-ENODEV, _test_ranges(fd, 2, r, &num));
	EXPECT_EQ(-ENODEV, _test_map_user(fd, VPUDOM_MAP_READ, blk(2), a, PAGE_SZ, &iova));
	EXPECT_EQ(-ENODEV, _test_unmap(fd, 2, iova, PAGE_SZ, NULL));
	EXPECT_EQ(-ENODEV, _test_unmap_all(fd, NULL));
	/* The edu module held one reference of its own. */
	EXPECT_EQ(refs, module_refcnt("vpudom"));
	close(fd);
	EXPECT_EQ(refs - 1, module_refcnt("vpudom"));
	EXPECT_EQ(pins, pins_held());
	/* Back as it was, for whatever runs next. */
	ASSERT_EQ(0, system("insmod /lib/vpudom/vpudom_edu.ko"));
	EXPECT_TRUE(!!edu_dev());
}

TEST_HARNESS_MAIN
