// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vpudom uAPI against the reference VPU: the ioctl envelope, the map and
 * unmap contract per block, and the lifetime of sessions and instances.
 * Every test ends with nothing pinned and nothing mapped.
 *
 * Runs as root (it reads debugfs and drops to an unprivileged user where it
 * needs one).  VPUDOM_DEV names the device (default /dev/vpudom0).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/udmabuf.h>
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "vpudom_utils.h"

static const char * const block_names[] = { "block0", "block1", "block2" };

/* Every uAPI struct, with room past its end for the length tests. */
union ucmd {
	struct vpudom_info info;
	struct vpudom_iova_ranges ranges;
	struct vpudom_map_user map_user;
	struct vpudom_map_dmabuf map_dmabuf;
	struct vpudom_unmap unmap;
	struct vpudom_sync sync;
	__u8 raw[256];
};

TEST(unknown_ioctl_and_null_argument)
{
	int fd = open(vpudom_dev(), O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, _ioctl(fd, _IO(VPUDOM_TYPE, 0x7f), NULL));
	EXPECT_EQ(-ENOTTY, _ioctl(fd, _IO(VPUDOM_TYPE, VPUDOM_CMD_SYNC + 1), NULL));
	EXPECT_EQ(-ENOTTY, _ioctl(fd, _IO('x', VPUDOM_CMD_INFO), NULL));
	EXPECT_EQ(-EFAULT, _ioctl(fd, VPUDOM_INFO, NULL));
	EXPECT_EQ(-EFAULT, _ioctl(fd, VPUDOM_IOVA_RANGES, NULL));
	EXPECT_EQ(-EFAULT, _ioctl(fd, VPUDOM_MAP_USER, NULL));
	EXPECT_EQ(-EFAULT, _ioctl(fd, VPUDOM_MAP_DMABUF, NULL));
	EXPECT_EQ(-EFAULT, _ioctl(fd, VPUDOM_UNMAP, NULL));
	EXPECT_EQ(-EFAULT, _ioctl(fd, VPUDOM_UNMAP, (void *)8));
	EXPECT_EQ(-EFAULT, _ioctl(fd, VPUDOM_SYNC, NULL));
	close(fd);
}

/*
 * An ioctl with @size below its first version @first (EINVAL), at its
 * first version and exact (both the same result), larger with a zero tail
 * (the same again) and with a non-zero tail (E2BIG).  The command is one
 * that fails with @exact when sent exact, so that nothing changes state.
 */
static void length_test(struct __test_metadata *_metadata,
			unsigned long ioctl_nr, union ucmd *cmd, __u32 first,
			__u32 ksize, int exact)
{
	int fd = open(vpudom_dev(), O_RDWR);
	__u32 *size = &cmd->info.size;
	union ucmd orig = *cmd;

	ASSERT_LE(0, fd);
	ASSERT_LE(ksize + 16, sizeof(cmd->raw));
	*size = first - 1;
	EXPECT_EQ(-EINVAL, _ioctl(fd, ioctl_nr, cmd));
	*size = 4;
	EXPECT_EQ(-EINVAL, _ioctl(fd, ioctl_nr, cmd));
	/* A reply (EMSGSIZE and a count) changes the struct: start over. */
	*cmd = orig;
	*size = first;
	EXPECT_EQ(exact, _ioctl(fd, ioctl_nr, cmd));
	*cmd = orig;
	*size = ksize;
	EXPECT_EQ(exact, _ioctl(fd, ioctl_nr, cmd));
	*cmd = orig;
	*size = ksize + 16;
	EXPECT_EQ(exact, _ioctl(fd, ioctl_nr, cmd));
	*cmd = orig;
	*size = ksize + 16;
	cmd->raw[ksize + 15] = 1;
	EXPECT_EQ(-E2BIG, _ioctl(fd, ioctl_nr, cmd));
	*cmd = orig;
	*size = ksize + 16;
	cmd->raw[ksize] = 1;
	EXPECT_EQ(-E2BIG, _ioctl(fd, ioctl_nr, cmd));
	close(fd);
}

TEST(length_info)
{
	union ucmd cmd = { .info.num_blocks = 0 };

	/* The first version ended at blocks_uptr; the names came after. */
	length_test(_metadata, VPUDOM_INFO, &cmd,
		    offsetof(struct vpudom_info, out_device), sizeof(cmd.info),
		    -EMSGSIZE);
}

TEST(length_iova_ranges)
{
	union ucmd cmd = { .ranges.num_ranges = 0 };

	length_test(_metadata, VPUDOM_IOVA_RANGES, &cmd, sizeof(cmd.ranges),
		    sizeof(cmd.ranges), -EMSGSIZE);
}

TEST(length_map_user)
{
	union ucmd cmd = { .map_user.flags = VPUDOM_MAP_READ };

	length_test(_metadata, VPUDOM_MAP_USER, &cmd, sizeof(cmd.map_user),
		    sizeof(cmd.map_user), -EINVAL);
}

TEST(length_map_dmabuf)
{
	union ucmd cmd = { .map_dmabuf.flags = VPUDOM_MAP_READ };

	length_test(_metadata, VPUDOM_MAP_DMABUF, &cmd, sizeof(cmd.map_dmabuf),
		    sizeof(cmd.map_dmabuf), -EINVAL);
}

TEST(length_unmap)
{
	union ucmd cmd = { .unmap.length = 0 };

	length_test(_metadata, VPUDOM_UNMAP, &cmd, sizeof(cmd.unmap),
		    sizeof(cmd.unmap), -EINVAL);
}

TEST(length_sync)
{
	union ucmd cmd = { .sync.length = 0 };

	length_test(_metadata, VPUDOM_SYNC, &cmd, sizeof(cmd.sync),
		    sizeof(cmd.sync), -EINVAL);
}

TEST(unknown_flags_and_reserved_fields)
{
	struct vpudom_info info = { .size = sizeof(info), .num_blocks = 0 };
	struct vpudom_iova_ranges ranges = { .size = sizeof(ranges) };
	struct vpudom_map_dmabuf mdb = {
		.size = sizeof(mdb), .flags = VPUDOM_MAP_READ, .fd = -1,
		.blocks = 1, .length = PAGE_SZ,
	};
	struct vpudom_unmap unmap = { .size = sizeof(unmap) };
	char *page = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int fd = open(vpudom_dev(), O_RDWR);

	ASSERT_LE(0, fd);
	info.flags = 1;
	EXPECT_EQ(-EOPNOTSUPP, _ioctl(fd, VPUDOM_INFO, &info));
	info.flags = 0;
	info.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, _ioctl(fd, VPUDOM_INFO, &info));
	ranges.flags = 1u << 31;
	EXPECT_EQ(-EOPNOTSUPP, _ioctl(fd, VPUDOM_IOVA_RANGES, &ranges));
	EXPECT_EQ(-EOPNOTSUPP, _test_map_user(fd, VPUDOM_MAP_READ | (1u << 31), 1,
					      page, PAGE_SZ, NULL));
	EXPECT_EQ(-EOPNOTSUPP, _test_map_user(fd, VPUDOM_MAP_READ | (1u << 3), 1,
					      page, PAGE_SZ, NULL));
	mdb.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, _ioctl(fd, VPUDOM_MAP_DMABUF, &mdb));
	mdb.__reserved = 0;
	mdb.flags |= 1u << 30;
	EXPECT_EQ(-EOPNOTSUPP, _ioctl(fd, VPUDOM_MAP_DMABUF, &mdb));
	unmap.flags = 1u << 1;
	EXPECT_EQ(-EOPNOTSUPP, _ioctl(fd, VPUDOM_UNMAP, &unmap));
	unmap.flags = 0;
	unmap.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, _ioctl(fd, VPUDOM_UNMAP, &unmap));
	/* Unmap-all takes no range. */
	unmap.__reserved = 0;
	unmap.flags = VPUDOM_UNMAP_ALL;
	unmap.length = PAGE_SZ;
	EXPECT_EQ(-EINVAL, _ioctl(fd, VPUDOM_UNMAP, &unmap));
	close(fd);
	munmap(page, PAGE_SZ);
}

TEST(info)
{
	struct vpudom_block_info bi[4];
	struct vpudom_info cmd = {
		.size = sizeof(cmd),
		.num_blocks = 2,
		.blocks_uptr = (__u64)(uintptr_t)bi,
	};
	static const __u64 win[3][2] = {
		{ MIB(600), MIB(3500) - 1 },
		{ 0, MIB(3500) - 1 },
		{ MIB(16), MIB(600) - 1 },
	};
	int fd = open(vpudom_dev(), O_RDWR), i;
	char name[64];

	ASSERT_LE(0, fd);
	memset(bi, 0xa5, sizeof(bi));
	/* Too small: the count needed, and nothing written. */
	EXPECT_EQ(-EMSGSIZE, _ioctl(fd, VPUDOM_INFO, &cmd));
	EXPECT_EQ(3, cmd.num_blocks);
	EXPECT_EQ(0xa5a5a5a5, bi[0].index);
	cmd.num_blocks = 4;
	ASSERT_EQ(0, _ioctl(fd, VPUDOM_INFO, &cmd));
	EXPECT_EQ(3, cmd.num_blocks);
	for (i = 0; i < 3; i++) {
		EXPECT_STREQ(block_names[i], bi[i].name);
		EXPECT_EQ(i, bi[i].index);
		EXPECT_EQ(0x1900 + i, bi[i].sid);
		EXPECT_EQ(win[i][0], bi[i].window_start);
		EXPECT_EQ(win[i][1], bi[i].window_last);
		EXPECT_NE(0, bi[i].pgsize_bitmap & PAGE_SZ);
		EXPECT_NE(0, bi[i].pgsize_bitmap & SZ_2M);
	}
	/* The fourth entry is not the kernel's to write. */
	EXPECT_EQ(0xa5a5a5a5, bi[3].index);
	/* Which VPU this is: what debugfs says of it. */
	debugfs_info("device", name, sizeof(name));
	EXPECT_STREQ(name, cmd.out_device);
	debugfs_info("hardware", name, sizeof(name));
	EXPECT_STREQ(name, cmd.out_hardware);
	EXPECT_NE(0, strlen(cmd.out_hardware));
	close(fd);
}

/* A caller built before the names existed gets what it asked for, no more. */
TEST(info_without_names)
{
	struct vpudom_block_info bi[4];
	struct {
		struct vpudom_info cmd;
		char past[8];
	} u;
	size_t old = offsetof(struct vpudom_info, out_device);
	int fd = open(vpudom_dev(), O_RDWR);

	ASSERT_LE(0, fd);
	memset(&u, 0x5a, sizeof(u));
	u.cmd.size = old;
	u.cmd.flags = 0;
	u.cmd.num_blocks = 4;
	u.cmd.__reserved = 0;
	u.cmd.blocks_uptr = (__u64)(uintptr_t)bi;
	ASSERT_EQ(0, _ioctl(fd, VPUDOM_INFO, &u.cmd));
	EXPECT_EQ(3, u.cmd.num_blocks);
	/* Not a byte written past the size the caller gave. */
	EXPECT_EQ(0x5a, (unsigned char)u.cmd.out_device[0]);
	EXPECT_EQ(0x5a, (unsigned char)u.past[0]);
	close(fd);
}

FIXTURE(vpudom) {
	int fd;
	void *buf;
	size_t len;
	long pins;
};

FIXTURE_VARIANT(vpudom) {
	unsigned int block;
	__u64 first;		/* first usable IOVA */
	__u64 last;		/* last usable IOVA */
	int msi;		/* the MSI hole is inside the window */
	__u64 win_first;	/* first IOVA of the window */
};

FIXTURE_VARIANT_ADD(vpudom, block0) {
	.block = 0, .first = MIB(600), .last = MIB(3500) - 1, .msi = 0,
	.win_first = MIB(600),
};

FIXTURE_VARIANT_ADD(vpudom, block1) {
	.block = 1, .first = PAGE_SZ, .last = MIB(3500) - 1, .msi = 1,
	.win_first = 0,
};

FIXTURE_VARIANT_ADD(vpudom, block2) {
	.block = 2, .first = MIB(16), .last = MIB(600) - 1, .msi = 1,
	.win_first = MIB(16),
};

FIXTURE_SETUP(vpudom)
{
	self->pins = pins_held();
	self->fd = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, self->fd);
	self->len = 8 * SZ_1M;
	self->buf = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(vpudom)
{
	int i;

	close(self->fd);
	munmap(self->buf, self->len);
	/* Leak check: nothing pinned, charged or mapped any more. */
	EXPECT_EQ(self->pins, pins_held());
	EXPECT_EQ(0, user_acct(0, "mappings"));
	EXPECT_EQ(0, user_acct(0, "bytes"));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, debugfs_mappings(block_names[i]));
}

#define BLK	blk(variant->block)
#define RW	(VPUDOM_MAP_READ | VPUDOM_MAP_WRITE)

TEST_F(vpudom, iova_ranges_exact)
{
	struct vpudom_iova_range r[4];
	__u32 n = 0;

	memset(r, 0xa5, sizeof(r));
	EXPECT_EQ(-EMSGSIZE, _test_ranges(self->fd, variant->block, r, &n));
	EXPECT_EQ(variant->msi ? 2 : 1, n);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, r[0].start);
	n = 4;
	ASSERT_EQ(0, _test_ranges(self->fd, variant->block, r, &n));
	ASSERT_EQ(variant->msi ? 2 : 1, n);
	EXPECT_EQ(variant->first, r[0].start);
	if (variant->msi) {
		EXPECT_EQ(MSI_START - 1, r[0].last);
		EXPECT_EQ(MSI_LAST + 1, r[1].start);
		EXPECT_EQ(variant->last, r[1].last);
	} else {
		EXPECT_EQ(variant->last, r[0].last);
	}
	n = 4;
	EXPECT_EQ(-EINVAL, _test_ranges(self->fd, 3, r, &n));
}

TEST_F(vpudom, map_argument_errors)
{
	char *b = self->buf;
	__u64 iova = variant->first;

	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, 0, BLK, b, PAGE_SZ, NULL));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, BLK, b, 0, NULL));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, BLK, b, PAGE_SZ + 1, NULL));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, BLK, b + 8, PAGE_SZ, NULL));
	EXPECT_EQ(-EINVAL, _test_map_fixed(self->fd, RW, BLK, b, PAGE_SZ, iova + 512));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, 0, b, PAGE_SZ, NULL));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, 1ULL << 3, b, PAGE_SZ, NULL));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, BLK | (1ULL << 40), b,
					  PAGE_SZ, NULL));
	/* Wrapping, never a warning. */
	EXPECT_EQ(-EOVERFLOW, _test_map_user(self->fd, RW, BLK,
					     (void *)(uintptr_t)(0ULL - PAGE_SZ),
					     2 * PAGE_SZ, NULL));
	EXPECT_EQ(-EOVERFLOW, _test_map_fixed(self->fd, RW, BLK, b, 2 * PAGE_SZ,
					      0ULL - PAGE_SZ));
	/* Beyond the process's address space. */
	EXPECT_EQ(-EFAULT, _test_map_user(self->fd, RW, BLK,
					  (void *)(uintptr_t)(1ULL << 60),
					  PAGE_SZ, NULL));
	EXPECT_EQ(-EINVAL, _test_unmap(self->fd, variant->block, iova, 0, NULL));
	EXPECT_EQ(-EINVAL, _test_unmap(self->fd, variant->block, iova + 1, PAGE_SZ, NULL));
	EXPECT_EQ(-EOVERFLOW, _test_unmap(self->fd, variant->block, 0ULL - PAGE_SZ,
					  2 * PAGE_SZ, NULL));
	EXPECT_EQ(-EINVAL, _test_unmap(self->fd, 3, iova, PAGE_SZ, NULL));
	EXPECT_EQ(self->pins, pins_held());
}

TEST_F(vpudom, unmapped_user_range)
{
	char *b = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, munmap(b + 2 * PAGE_SZ, PAGE_SZ));
	EXPECT_EQ(-EFAULT, _test_map_user(self->fd, RW, BLK, b, 4 * PAGE_SZ, NULL));
	/* Nothing stays pinned, charged or mapped. */
	EXPECT_EQ(self->pins, pins_held());
	EXPECT_EQ(0, user_acct(0, "mappings"));
	EXPECT_EQ(0, debugfs_mappings(block_names[variant->block]));
	munmap(b, 4 * PAGE_SZ);
}

TEST_F(vpudom, read_only_memory)
{
	__u64 iova = 0;
	char *ro = mmap(NULL, 4 * PAGE_SZ, PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, _test_map_user(self->fd, VPUDOM_MAP_WRITE, BLK, ro,
					  4 * PAGE_SZ, &iova));
	EXPECT_EQ(-EFAULT, _test_map_user(self->fd, RW, BLK, ro, 4 * PAGE_SZ, &iova));
	EXPECT_EQ(self->pins, pins_held());
	ASSERT_EQ(0, _test_map_user(self->fd, VPUDOM_MAP_READ, BLK, ro,
				    4 * PAGE_SZ, &iova));
	EXPECT_TRUE(debugfs_has(block_names[variant->block], iova, "r-"));
	EXPECT_EQ(0, _test_unmap(self->fd, variant->block, iova, 4 * PAGE_SZ, NULL));
	munmap(ro, 4 * PAGE_SZ);
}

TEST_F(vpudom, fixed_iova_edges)
{
	const __u64 p = PAGE_SZ, first = variant->first, last = variant->last;
	char *b = self->buf;
	__u64 n;

	/* Exactly the first and the last usable pages. */
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, p, first));
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, p, last + 1 - p));
	/* Outside, or straddling either edge of the window. */
	if (variant->win_first) {
		EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, b, p,
						   variant->win_first - p));
	}
	EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, b, 2 * p,
					   last + 1 - p));
	EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, b, p, last + 1));
	if (variant->win_first) {
		EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, b, 2 * p,
						   variant->win_first - p));
	} else {
		/* IOVA 0 is never handed out. */
		EXPECT_EQ(-EADDRINUSE, _test_map_fixed(self->fd, RW, BLK, b, p, 0));
	}
	/* Over the SMMUv3 MSI window, and straddling its edges. */
	if (variant->msi) {
		EXPECT_EQ(-EADDRINUSE, _test_map_fixed(self->fd, RW, BLK, b, p, MSI_START));
		EXPECT_EQ(-EADDRINUSE, _test_map_fixed(self->fd, RW, BLK, b, 2 * p,
						       MSI_START - p));
		EXPECT_EQ(-EADDRINUSE, _test_map_fixed(self->fd, RW, BLK, b, 2 * p,
						       MSI_LAST + 1 - p));
		ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, p, MSI_START - p));
		ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, p, MSI_LAST + 1));
	}
	ASSERT_EQ(0, _test_unmap_all(self->fd, &n));
	EXPECT_EQ((variant->msi ? 4 : 2) * p, n);
}

/*
 * A fixed IOVA outside the window is refused before any memory is looked
 * at: from an address that is not mapped, ERANGE and not EFAULT.
 */
TEST_F(vpudom, fixed_iova_checked_before_pin)
{
	void *nowhere = (void *)(uintptr_t)(1ULL << 46);

	EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, nowhere, PAGE_SZ,
					   variant->last + 1));
	EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, nowhere,
					   2 * PAGE_SZ, variant->last + 1 - PAGE_SZ));
	EXPECT_EQ(-EFAULT, _test_map_fixed(self->fd, RW, BLK, nowhere, PAGE_SZ,
					   variant->first));
	EXPECT_EQ(self->pins, pins_held());
}

TEST_F(vpudom, fixed_iova_overlaps)
{
	const __u64 p = PAGE_SZ, x = variant->first + 64 * PAGE_SZ;
	char *b = self->buf;
	__u64 n;

	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, 4 * p, x));
	/* Same, inside, covering, over the start, over the end. */
	EXPECT_EQ(-EEXIST, _test_map_fixed(self->fd, RW, BLK, b, 4 * p, x));
	EXPECT_EQ(-EEXIST, _test_map_fixed(self->fd, RW, BLK, b, p, x + p));
	EXPECT_EQ(-EEXIST, _test_map_fixed(self->fd, RW, BLK, b, 6 * p, x - p));
	EXPECT_EQ(-EEXIST, _test_map_fixed(self->fd, RW, BLK, b, 2 * p, x - p));
	EXPECT_EQ(-EEXIST, _test_map_fixed(self->fd, RW, BLK, b, 2 * p, x + 3 * p));
	/* Right next to it on both sides is free. */
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, p, x - p));
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, p, x + 4 * p));
	/* The first mapping is intact: exactly its bytes come back. */
	ASSERT_EQ(0, _test_unmap(self->fd, variant->block, x, 4 * p, &n));
	EXPECT_EQ(4 * p, n);
	ASSERT_EQ(0, _test_unmap_all(self->fd, &n));
	EXPECT_EQ(2 * p, n);
}

TEST_F(vpudom, automatic_iova)
{
	static const __u64 sizes[] = {
		PAGE_SZ, 3 * PAGE_SZ, 64 * 1024, SZ_1M, SZ_2M, 2 * SZ_2M, 5 * PAGE_SZ,
	};
	char *b = self->buf;
	__u64 iova = 0, n = 0, total = 0;
	unsigned int i, r;

	for (r = 0; r < 3; r++) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			ASSERT_EQ(0, _test_map_user(self->fd, RW, BLK, b, sizes[i], &iova));
			total += sizes[i];
			EXPECT_LE(variant->first, iova);
			EXPECT_GE(variant->last, iova + sizes[i] - 1);
			EXPECT_NE(0, iova);
			if (variant->msi) {
				EXPECT_TRUE(iova + sizes[i] - 1 < MSI_START ||
					    iova > MSI_LAST);
			}
			/* Aligned to the largest page size that fits. */
			EXPECT_EQ(0, iova % (sizes[i] >= SZ_2M ? SZ_2M : PAGE_SZ));
			EXPECT_TRUE(debugfs_has(block_names[variant->block], iova, "user"));
		}
	}
	ASSERT_EQ(0, _test_unmap_all(self->fd, &n));
	EXPECT_EQ(total, n);
}

TEST_F(vpudom, unmap_rules)
{
	const __u64 p = PAGE_SZ, x = variant->first + 256 * PAGE_SZ;
	char *b = self->buf;
	__u64 n;

	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, 4 * p, x));
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, 4 * p, x + 4 * p));
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, 4 * p, x + 8 * p));
	/* A cut through a mapping unmaps nothing. */
	EXPECT_EQ(-EINVAL, _test_unmap(self->fd, variant->block, x + 4 * p, p, NULL));
	EXPECT_EQ(-EINVAL, _test_unmap(self->fd, variant->block, x, 6 * p, NULL));
	EXPECT_EQ(3, debugfs_mappings(block_names[variant->block]));
	/* Nothing there. */
	EXPECT_EQ(-ENOENT, _test_unmap(self->fd, variant->block, x + 12 * p, p, NULL));
	/* One range over three whole mappings, with room around them. */
	ASSERT_EQ(0, _test_unmap(self->fd, variant->block, x - p, 14 * p, &n));
	EXPECT_EQ(12 * p, n);
	EXPECT_EQ(-ENOENT, _test_unmap(self->fd, variant->block, x, 12 * p, NULL));
}

TEST_F(vpudom, munmap_while_mapped)
{
	char *b = mmap(NULL, 16 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	__u64 iova = 0, n = 0;

	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, _test_map_user(self->fd, RW, BLK, b, 16 * PAGE_SZ, &iova));
	EXPECT_EQ(self->pins + 16, pins_held());
	ASSERT_EQ(0, munmap(b, 16 * PAGE_SZ));
	/* The pins keep the pages; the unmap later releases them. */
	ASSERT_EQ(0, _test_unmap(self->fd, variant->block, iova, 16 * PAGE_SZ, &n));
	EXPECT_EQ(16 * PAGE_SZ, n);
	EXPECT_EQ(self->pins, pins_held());
}

TEST_F(vpudom, close_with_live_mappings)
{
	__u64 iova = 0;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, _test_map_user(self->fd, RW, blk(i), self->buf,
					    SZ_1M, &iova));
	ASSERT_EQ(0, _test_map_user(self->fd, RW, BLK, self->buf, 2 * SZ_1M, &iova));
	EXPECT_EQ(self->pins + 5 * 256, pins_held());
	EXPECT_EQ(4, user_acct(0, "mappings"));
	EXPECT_EQ(5 * SZ_1M, user_acct(0, "bytes"));
	close(self->fd);
	EXPECT_EQ(self->pins, pins_held());
	EXPECT_EQ(0, user_acct(0, "mappings"));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, debugfs_mappings(block_names[i]));
	/* A new open works. */
	self->fd = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, _test_map_user(self->fd, RW, BLK, self->buf, PAGE_SZ, &iova));
}

TEST(same_iova_in_two_blocks)
{
	int fd = open(vpudom_dev(), O_RDWR);
	long pins = pins_held();
	char *b = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	__u64 n;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, _test_map_fixed(fd, RW, 1 << 1, b, 4 * PAGE_SZ, MIB(32)));
	ASSERT_EQ(0, _test_map_fixed(fd, VPUDOM_MAP_READ, 1 << 2, b, 4 * PAGE_SZ, MIB(32)));
	EXPECT_TRUE(debugfs_has("block1", MIB(32), "rw"));
	EXPECT_TRUE(debugfs_has("block2", MIB(32), "r-"));
	ASSERT_EQ(0, _test_unmap(fd, 1, MIB(32), 4 * PAGE_SZ, &n));
	EXPECT_FALSE(debugfs_has("block1", MIB(32), "user"));
	EXPECT_TRUE(debugfs_has("block2", MIB(32), "user"));
	ASSERT_EQ(0, _test_unmap(fd, 2, MIB(32), 4 * PAGE_SZ, &n));
	EXPECT_EQ(4 * PAGE_SZ, n);
	close(fd);
	munmap(b, 4 * PAGE_SZ);
	EXPECT_EQ(pins, pins_held());
}

TEST(several_blocks_all_or_nothing)
{
	int fd = open(vpudom_dev(), O_RDWR);
	long pins = pins_held();
	char *b = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	__u64 iova = 0, n = 0;

	ASSERT_LE(0, fd);
	/* One IOVA from the intersection of the windows, in both blocks. */
	ASSERT_EQ(0, _test_map_user(fd, RW, 0x6, b, 4 * PAGE_SZ, &iova));
	EXPECT_LE(MIB(16), iova);
	EXPECT_GT(MIB(600), iova);
	EXPECT_TRUE(debugfs_has("block1", iova, "0x0006 user"));
	EXPECT_TRUE(debugfs_has("block2", iova, "0x0006 user"));
	EXPECT_EQ(pins + 4, pins_held());
	/* Unmapping through one block takes it out of both. */
	ASSERT_EQ(0, _test_unmap(fd, 2, iova, 4 * PAGE_SZ, &n));
	EXPECT_EQ(4 * PAGE_SZ, n);
	EXPECT_EQ(0, debugfs_mappings("block1"));

	/* Taken in one block: mapped in none. */
	ASSERT_EQ(0, _test_map_fixed(fd, RW, 1 << 2, b, PAGE_SZ, MIB(64) + PAGE_SZ));
	EXPECT_EQ(-EEXIST, _test_map_fixed(fd, RW, 0x6, b, 4 * PAGE_SZ, MIB(64)));
	EXPECT_EQ(0, debugfs_mappings("block1"));
	EXPECT_EQ(1, debugfs_mappings("block2"));
	/* Inside one window but not the other. */
	EXPECT_EQ(-ERANGE, _test_map_fixed(fd, RW, 0x3, b, PAGE_SZ, MIB(32)));
	EXPECT_EQ(0, debugfs_mappings("block1"));
	/* Windows that do not meet. */
	EXPECT_EQ(-ENOSPC, _test_map_user(fd, RW, 0x5, b, PAGE_SZ, &iova));
	ASSERT_EQ(0, _test_unmap_all(fd, &n));
	EXPECT_EQ(PAGE_SZ, n);
	close(fd);
	munmap(b, 4 * PAGE_SZ);
	EXPECT_EQ(pins, pins_held());
}

TEST(sessions_are_private)
{
	int fd1 = open(vpudom_dev(), O_RDWR), fd2 = open(vpudom_dev(), O_RDWR);
	char *b = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	__u64 iova = 0, n = 0;

	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, _test_map_user(fd1, RW, 1 << 1, b, 4 * PAGE_SZ, &iova));
	EXPECT_EQ(-ENOENT, _test_unmap(fd2, 1, iova, 4 * PAGE_SZ, NULL));
	ASSERT_EQ(0, _test_unmap_all(fd2, &n));
	EXPECT_EQ(0, n);
	/* The IOVA is taken for everyone, seen or not. */
	EXPECT_EQ(-EEXIST, _test_map_fixed(fd2, RW, 1 << 1, b, PAGE_SZ, iova));
	close(fd2);
	EXPECT_EQ(1, debugfs_mappings("block1"));
	ASSERT_EQ(0, _test_unmap(fd1, 1, iova, 4 * PAGE_SZ, &n));
	EXPECT_EQ(4 * PAGE_SZ, n);
	close(fd1);
	munmap(b, 4 * PAGE_SZ);
}

/* Fill block2's window, free one mapping, and fit the same size again. */
TEST(fill_window_until_enospc)
{
	const size_t chunk = 32 * SZ_1M;
	int fd = open(vpudom_dev(), O_RDWR), n = 0, ret, i;
	long pins = pins_held();
	__u64 iova[32], again = 0, bytes = 0;
	char *b = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	ASSERT_LE(0, fd);
	ASSERT_NE(MAP_FAILED, b);
	for (;;) {
		ASSERT_GT(32, n);
		ret = _test_map_user(fd, VPUDOM_MAP_READ, 1 << 2, b, chunk, &iova[n]);
		if (ret)
			break;
		EXPECT_LE(MIB(16), iova[n]);
		EXPECT_GE(MIB(600), iova[n] + chunk);
		EXPECT_TRUE(iova[n] + chunk - 1 < MSI_START || iova[n] > MSI_LAST);
		n++;
	}
	EXPECT_EQ(-ENOSPC, ret);
	/* 16..112 MiB below the MSI hole, 130..578 MiB above it */
	EXPECT_EQ(3 + 14, n);
	ASSERT_EQ(0, _test_unmap(fd, 2, iova[5], chunk, &bytes));
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, 1 << 2, b, chunk, &again));
	EXPECT_EQ(iova[5], again);
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, _test_unmap(fd, 2, iova[i], chunk, NULL));
	close(fd);
	munmap(b, chunk);
	EXPECT_EQ(pins, pins_held());
}

/*
 * An unprivileged process is held to RLIMIT_MEMLOCK.  The pages are charged
 * to the user, not to the process: VmLck does not move.
 */
TEST(rlimit_memlock)
{
	int fd = open(vpudom_dev(), O_RDWR), status;
	long pins = pins_held();
	pid_t pid;

	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit rl = { 64 * 1024, 64 * 1024 };
		/* Opened as root: a setuid() process may not open it again. */
		int st = open("/proc/self/status", O_RDONLY);
		char *b = mmap(NULL, SZ_1M, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		__u64 iova = 0, n = 0;

		if (b == MAP_FAILED || st < 0 || setrlimit(RLIMIT_MEMLOCK, &rl) ||
		    setgid(65534) || setuid(65534) || !geteuid())
			_exit(10);
		if (_test_map_user(fd, RW, 1, b, SZ_1M, &iova) != -ENOMEM)
			_exit(11);
		if (_test_map_user(fd, RW, 1, b, 32 * 1024, &iova))
			_exit(13);
		if (vm_locked_kb_fd(st) != 0)
			_exit(14);
		/* 32 KiB more would be 64 KiB: still allowed, then no more. */
		if (_test_map_user(fd, RW, 1, b, 32 * 1024, &iova))
			_exit(15);
		if (_test_map_user(fd, RW, 1, b, PAGE_SZ, &iova) != -ENOMEM)
			_exit(16);
		if (_test_unmap_all(fd, &n) || n != 64 * 1024)
			_exit(17);
		/* Uncharged: the whole limit is there again. */
		if (_test_map_user(fd, RW, 1, b, 64 * 1024, &iova))
			_exit(18);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(16, user_acct(65534, "pinned"));
	close(fd);
	EXPECT_EQ(pins, pins_held());
	EXPECT_EQ(0, user_acct(65534, "pinned"));
	EXPECT_EQ(0, user_acct(65534, "mappings"));
}

/* Map one page from a forked child of the caller, through @fd. */
static int map_in_child(int fd, char *b)
{
	__u64 iova = 0;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(-_test_map_user(fd, RW, 1, b, PAGE_SZ, &iova));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return -WEXITSTATUS(status);
}

/*
 * The pins belong to the file, which outlives the process and its mm: a
 * forked child (or an exec(), or an fd passed on) starts from the user's
 * total, not from zero.  CAP_IPC_LOCK lifts the limit.
 */
TEST(memlock_charged_to_user)
{
	int fd1 = open(vpudom_dev(), O_RDWR), fd2 = open(vpudom_dev(), O_RDWR);
	long pins = pins_held();
	int status;
	pid_t pid;

	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit rl = { 64 * 1024, 64 * 1024 };
		char *b = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		__u64 iova = 0;

		if (b == MAP_FAILED || setrlimit(RLIMIT_MEMLOCK, &rl) ||
		    setgid(65534) || setuid(65534) || !geteuid())
			_exit(10);
		if (_test_map_user(fd1, RW, 1, b, 64 * 1024, &iova))
			_exit(11);
		/* Another process, another session, the same user: refused. */
		if (map_in_child(fd2, b) != -ENOMEM)
			_exit(12);
		if (map_in_child(fd1, b) != -ENOMEM)
			_exit(13);
		if (_test_unmap(fd1, 0, iova, 64 * 1024, NULL))
			_exit(14);
		if (map_in_child(fd2, b))
			_exit(15);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, user_acct(65534, "pinned"));
	close(fd2);
	EXPECT_EQ(0, user_acct(65534, "pinned"));

	/* Root has CAP_IPC_LOCK: nothing charged, no limit. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit rl = { 0, 0 };
		char *b = mmap(NULL, SZ_1M, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		__u64 iova = 0;

		if (b == MAP_FAILED || setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(10);
		if (_test_map_user(fd1, RW, 1, b, SZ_1M, &iova))
			_exit(11);
		if (user_acct(0, "pinned") != 0)
			_exit(12);
		_exit(_test_unmap(fd1, 0, iova, SZ_1M, NULL) ? 13 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(fd1);
	EXPECT_EQ(pins, pins_held());
}

/*
 * One map is at most max_map_bytes long: a huge length is refused before
 * anything is allocated or pinned, and never warns.
 */
TEST(map_length_cap)
{
	int fd = open(vpudom_dev(), O_RDWR);
	char old[32] = "";
	char *b = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	long pins = pins_held();
	__u64 iova = 0;

	ASSERT_LE(0, fd);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(-EFBIG, _test_map_user(fd, RW, 1, b, 1ULL << 62, &iova));
	EXPECT_EQ(-EFBIG, _test_map_user(fd, RW, 1, b, 1ULL << 40, &iova));
	ASSERT_EQ(0, set_param("max_map_bytes", "8192\n", old, sizeof(old)));
	EXPECT_EQ(-EFBIG, _test_map_user(fd, RW, 1, b, 3 * PAGE_SZ, &iova));
	EXPECT_EQ(0, _test_map_user(fd, RW, 1, b, 2 * PAGE_SZ, &iova));
	ASSERT_EQ(0, set_param("max_map_bytes", old, NULL, 0));
	EXPECT_EQ(0, _test_unmap_all(fd, NULL));
	close(fd);
	munmap(b, 4 * PAGE_SZ);
	EXPECT_EQ(pins, pins_held());
}

/*
 * Writable pins only of anonymous, shmem and hugetlbfs memory: the device
 * must not write a file's page cache behind its filesystem (ramfs is not
 * shmem).  Read-only pins, and private file mappings, are fine.
 */
TEST(writable_file_pins)
{
	const char *dir = "/tmp/vpudom-ramfs";
	int fd = open(vpudom_dev(), O_RDWR), file, memfd;
	long pins = pins_held();
	char *shared, *priv, *shm;
	__u64 iova = 0;

	ASSERT_LE(0, fd);
	mkdir(dir, 0700);
	ASSERT_EQ(0, mount("ramfs", dir, "ramfs", 0, NULL));
	file = open("/tmp/vpudom-ramfs/f", O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, file);
	ASSERT_EQ(0, ftruncate(file, 4 * PAGE_SZ));
	shared = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_POPULATE, file, 0);
	ASSERT_NE(MAP_FAILED, shared);
	priv = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_POPULATE, file, 0);
	ASSERT_NE(MAP_FAILED, priv);
	memfd = memfd_create("vpudom", 0);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, 4 * PAGE_SZ));
	shm = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_POPULATE, memfd, 0);
	ASSERT_NE(MAP_FAILED, shm);

	EXPECT_EQ(-EFAULT, _test_map_user(fd, RW, 1, shared, 4 * PAGE_SZ, &iova));
	EXPECT_EQ(-EFAULT, _test_map_user(fd, VPUDOM_MAP_WRITE, 1, shared,
					  PAGE_SZ, &iova));
	EXPECT_EQ(pins, pins_held());
	EXPECT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, 1, shared,
				    4 * PAGE_SZ, &iova));
	EXPECT_EQ(0, _test_map_user(fd, RW, 1, priv, 4 * PAGE_SZ, &iova));
	EXPECT_EQ(0, _test_map_user(fd, RW, 1, shm, 4 * PAGE_SZ, &iova));
	EXPECT_EQ(0, _test_unmap_all(fd, NULL));
	close(fd);
	munmap(shared, 4 * PAGE_SZ);
	munmap(priv, 4 * PAGE_SZ);
	munmap(shm, 4 * PAGE_SZ);
	close(file);
	close(memfd);
	EXPECT_EQ(0, umount(dir));
	rmdir(dir);
	EXPECT_EQ(pins, pins_held());
}

/*
 * Every session of a user shares the user's limits on mappings and on
 * IOVA bytes (a mapping counts once per block it is in).
 */
TEST(per_user_limits)
{
	int fd1 = open(vpudom_dev(), O_RDWR), fd2 = open(vpudom_dev(), O_RDWR);
	char *b = mmap(NULL, 64 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	char old_n[32] = "", old_b[32] = "";
	__u64 iova = 0;
	int i;

	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, set_param("max_user_mappings", "8\n", old_n, sizeof(old_n)));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, _test_map_user(i & 1 ? fd2 : fd1, VPUDOM_MAP_READ,
					    blk(i % 3), b, PAGE_SZ, &iova));
	EXPECT_EQ(8, user_acct(0, "mappings"));
	EXPECT_EQ(8 * PAGE_SZ, user_acct(0, "bytes"));
	EXPECT_EQ(-EDQUOT, _test_map_user(fd1, VPUDOM_MAP_READ, 1, b, PAGE_SZ, &iova));
	EXPECT_EQ(-EDQUOT, _test_map_user(fd2, VPUDOM_MAP_READ, 1, b, PAGE_SZ, &iova));
	close(fd2);
	EXPECT_EQ(4, user_acct(0, "mappings"));
	ASSERT_EQ(0, set_param("max_user_mappings", old_n, NULL, 0));

	/* 4 pages are held; 32 more in two blocks makes 68 of 68. */
	ASSERT_EQ(0, set_param("max_user_bytes", "278528\n", old_b, sizeof(old_b)));
	EXPECT_EQ(0, _test_map_user(fd1, VPUDOM_MAP_READ, blk(0) | blk(1), b,
				    32 * PAGE_SZ, &iova));
	EXPECT_EQ(68 * PAGE_SZ, user_acct(0, "bytes"));
	EXPECT_EQ(-EDQUOT, _test_map_user(fd1, VPUDOM_MAP_READ, 1, b, PAGE_SZ, &iova));
	EXPECT_EQ(0, _test_unmap(fd1, 0, iova, 32 * PAGE_SZ, NULL));
	EXPECT_EQ(0, _test_map_user(fd1, VPUDOM_MAP_READ, 1, b, PAGE_SZ, &iova));
	ASSERT_EQ(0, set_param("max_user_bytes", old_b, NULL, 0));
	close(fd1);
	munmap(b, 64 * PAGE_SZ);
	EXPECT_EQ(0, user_acct(0, "mappings"));
	EXPECT_EQ(0, user_acct(0, "bytes"));
}

TEST(max_mappings_per_session)
{
	const char *param = "/sys/module/vpudom/parameters/max_mappings";
	int fd = open(vpudom_dev(), O_RDWR), i;
	char old[32] = "", *b = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	FILE *f = fopen(param, "r+");
	__u64 iova = 0;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	rewind(f);
	fprintf(f, "8\n");
	fclose(f);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, 1, b, PAGE_SZ, &iova));
	EXPECT_EQ(-EMFILE, _test_map_user(fd, VPUDOM_MAP_READ, 1, b, PAGE_SZ, &iova));
	EXPECT_EQ(0, _test_unmap(fd, 0, iova, PAGE_SZ, NULL));
	EXPECT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, 1, b, PAGE_SZ, &iova));
	f = fopen(param, "w");
	ASSERT_NE(NULL, f);
	fputs(old, f);
	fclose(f);
	close(fd);
	munmap(b, PAGE_SZ);
}

TEST(open_map_close_cycles)
{
	long pins = pins_held();
	char *b = mmap(NULL, 16 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	__u64 iova = 0;
	int i, fd;

	for (i = 0; i < 2000; i++) {
		fd = open(vpudom_dev(), O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, _test_map_user(fd, RW, blk(i % 3), b,
					    (1 + i % 16) * PAGE_SZ, &iova));
		if (i & 1)
			ASSERT_EQ(0, _test_unmap(fd, i % 3, iova,
						 (1 + i % 16) * PAGE_SZ, NULL));
		close(fd);
	}
	EXPECT_EQ(pins, pins_held());
	EXPECT_EQ(0, user_acct(0, "mappings"));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, debugfs_mappings(block_names[i]));
	munmap(b, 16 * PAGE_SZ);
}

/* The inode number of a dma-buf, which names it in dma_buf/bufinfo. */
static unsigned long dmabuf_ino(int buf)
{
	struct stat st;

	return fstat(buf, &st) ? 0 : st.st_ino;
}

/*
 * Devices attached to the dma-buf of inode @buf_ino, from debugfs
 * dma_buf/bufinfo: the line of the buffer holds its inode number and
 * "Total <n> devices attached" closes its entry.  -1 if not found.
 */
static int dmabuf_attachments(unsigned long buf_ino)
{
	char line[256], ino[32];
	int n = -1, mine = 0;
	FILE *f;

	snprintf(ino, sizeof(ino), "\t%08lu\t", buf_ino);
	f = fopen("/sys/kernel/debug/dma_buf/bufinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, ino))
			mine = 1;
		else if (mine && sscanf(line, "Total %d devices attached", &n) == 1)
			break;
	}
	fclose(f);
	return n;
}

/* A dma-buf from udmabuf, where the kernel has it. */
TEST(dmabuf)
{
	struct udmabuf_create create = { .flags = UDMABUF_FLAGS_CLOEXEC };
	struct vpudom_map_dmabuf cmd = {
		.size = sizeof(cmd),
		.flags = RW,
		.blocks = 1 << 2,
		.length = 16 * PAGE_SZ,
	};
	int fd, memfd, dev, buf;
	long pins = pins_held();
	unsigned long ino;
	__u64 n;

	dev = open("/dev/udmabuf", O_RDWR);
	if (dev < 0)
		SKIP(return, "no /dev/udmabuf: no dma-buf exporter in this kernel");
	fd = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, fd);
	memfd = memfd_create("vpudom", MFD_ALLOW_SEALING);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, 32 * PAGE_SZ));
	ASSERT_EQ(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK));
	create.memfd = memfd;
	create.size = 32 * PAGE_SZ;
	buf = ioctl(dev, UDMABUF_CREATE, &create);
	ASSERT_LE(0, buf);
	ino = dmabuf_ino(buf);

	cmd.fd = buf;
	cmd.offset = 4 * PAGE_SZ;
	ASSERT_EQ(0, _ioctl(fd, VPUDOM_MAP_DMABUF, &cmd));
	EXPECT_LE(MIB(16), cmd.iova);
	EXPECT_TRUE(debugfs_has("block2", cmd.iova, "dma-buf"));
	/* Charged to the user like any mapping. */
	EXPECT_EQ(1, user_acct(0, "mappings"));
	EXPECT_EQ(16 * PAGE_SZ, user_acct(0, "bytes"));
	EXPECT_EQ(1, dmabuf_attachments(ino));
	/* A second mapping of the buffer shares the session's attachment. */
	cmd.offset = 0;
	cmd.length = 4 * PAGE_SZ;
	cmd.flags = VPUDOM_MAP_READ;
	ASSERT_EQ(0, _ioctl(fd, VPUDOM_MAP_DMABUF, &cmd));
	EXPECT_EQ(1, dmabuf_attachments(ino));
	EXPECT_EQ(0, _test_unmap(fd, 2, cmd.iova, 4 * PAGE_SZ, NULL));
	EXPECT_EQ(1, dmabuf_attachments(ino));
	cmd.length = 16 * PAGE_SZ;
	cmd.flags = RW;
	/* Not page-aligned; past the end; not a dma-buf. */
	cmd.offset = 100;
	EXPECT_EQ(-EINVAL, _ioctl(fd, VPUDOM_MAP_DMABUF, &cmd));
	cmd.offset = 24 * PAGE_SZ;
	EXPECT_EQ(-EINVAL, _ioctl(fd, VPUDOM_MAP_DMABUF, &cmd));
	cmd.offset = 0;
	cmd.fd = memfd;
	EXPECT_EQ(-EBADF, _ioctl(fd, VPUDOM_MAP_DMABUF, &cmd));
	cmd.fd = -1;
	EXPECT_EQ(-EBADF, _ioctl(fd, VPUDOM_MAP_DMABUF, &cmd));
	/* The mapping outlives the fds; closing the session releases it. */
	close(buf);
	close(memfd);
	ASSERT_EQ(0, _test_unmap_all(fd, &n));
	EXPECT_EQ(16 * PAGE_SZ, n);
	EXPECT_EQ(0, user_acct(0, "mappings"));
	/* Released with its last mapping (and the buffer with it). */
	EXPECT_EQ(-1, dmabuf_attachments(ino));
	close(fd);
	close(dev);
	EXPECT_EQ(pins, pins_held());
	EXPECT_EQ(0, debugfs_mappings("block2"));
}

/* Unbinding the VPU revokes every mapping; the session only can close. */
TEST(unbind_revokes)
{
	const char *drv = "/sys/bus/platform/drivers/vpudom-vpu";
	char path[128];
	long pins = pins_held();
	int fd = open(vpudom_dev(), O_RDWR), s, i;
	char *b = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct vpudom_info info = { .size = sizeof(info) };
	__u64 iova = 0;

	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, _test_map_user(fd, RW, blk(i), b, 4 * PAGE_SZ, &iova));
	EXPECT_EQ(pins + 12, pins_held());
	snprintf(path, sizeof(path), "%s/unbind", drv);
	s = open(path, O_WRONLY);
	ASSERT_LE(0, s);
	ASSERT_EQ(3, write(s, "vpu", 3));
	close(s);
	/* Revoked at once: nothing stays pinned behind the open file. */
	EXPECT_EQ(pins, pins_held());
	EXPECT_EQ(-ENODEV, _test_map_user(fd, RW, 1, b, PAGE_SZ, &iova));
	EXPECT_EQ(-ENODEV, _test_unmap(fd, 0, iova, 4 * PAGE_SZ, NULL));
	EXPECT_EQ(-ENODEV, _test_unmap_all(fd, NULL));
	EXPECT_EQ(-ENODEV, _ioctl(fd, VPUDOM_INFO, &info));

	/* Bound again while the old file is open: the same device comes back. */
	snprintf(path, sizeof(path), "%s/bind", drv);
	s = open(path, O_WRONLY);
	ASSERT_LE(0, s);
	ASSERT_EQ(3, write(s, "vpu", 3));
	close(s);
	for (i = 0; i < 50 && access(vpudom_dev(), F_OK); i++)
		usleep(20000);
	s = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, _test_map_user(s, RW, 1, b, PAGE_SZ, &iova));
	EXPECT_EQ(-ENODEV, _test_map_user(fd, RW, 1, b, PAGE_SZ, &iova));
	close(s);
	close(fd);
	munmap(b, 4 * PAGE_SZ);
	EXPECT_EQ(pins, pins_held());
}

/* An ioctl whose output array sits on a page only userfaultfd can fill. */
struct stalled_call {
	int fd;
	unsigned long cmd;
	union ucmd arg;
	int ret;
};

static void *stalled_call_run(void *data)
{
	struct stalled_call *c = data;

	c->ret = _ioctl(c->fd, c->cmd, &c->arg);
	return NULL;
}

static void *unbind_vpu(void *data)
{
	int s = open("/sys/bus/platform/drivers/vpudom-vpu/unbind", O_WRONLY);

	*(int *)data = s >= 0 && write(s, "vpu", 3) == 3 ? 0 : -errno;
	if (s >= 0)
		close(s);
	return NULL;
}

/* Wait up to @ms for a thread; 0 once joined, -ETIMEDOUT otherwise. */
static int join_within(pthread_t t, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return -pthread_timedjoin_np(t, NULL, &ts);
}

/*
 * INFO and IOVA_RANGES copy their answer to a page whose fault userfaultfd
 * holds: while the copy waits, unbinding the VPU must complete, so the copy
 * may not hold the instance lock.  The fault is resolved afterwards.
 */
TEST(unbind_while_copy_to_user_stalls)
{
	const unsigned long cmds[] = { VPUDOM_INFO, VPUDOM_IOVA_RANGES };
	struct uffdio_api api = { .api = UFFD_API };
	struct stalled_call call;
	struct uffd_msg msg;
	unsigned int i;
	int uffd, fd, s;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		SKIP(return, "no userfaultfd in this kernel (errno %d)", errno);
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	for (i = 0; i < 2; i++) {
		char *page = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct uffdio_register reg = {
			.range = { (__u64)(uintptr_t)page, PAGE_SZ },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		struct uffdio_zeropage zero = { .range = reg.range };
		struct pollfd pfd = { .fd = uffd, .events = POLLIN };
		pthread_t caller, unbinder;
		int unbound = 1;

		ASSERT_NE(MAP_FAILED, page);
		ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
		fd = open(vpudom_dev(), O_RDWR);
		ASSERT_LE(0, fd);
		memset(&call, 0, sizeof(call));
		call.fd = fd;
		call.cmd = cmds[i];
		if (cmds[i] == VPUDOM_INFO) {
			call.arg.info.size = sizeof(call.arg.info);
			call.arg.info.num_blocks = 3;
			call.arg.info.blocks_uptr = (__u64)(uintptr_t)page;
		} else {
			call.arg.ranges.size = sizeof(call.arg.ranges);
			call.arg.ranges.block = 1;
			call.arg.ranges.num_ranges = 8;
			call.arg.ranges.ranges_uptr = (__u64)(uintptr_t)page;
		}
		ASSERT_EQ(0, pthread_create(&caller, NULL, stalled_call_run, &call));
		/* The copy is stuck in the kernel once its fault is queued. */
		ASSERT_EQ(1, poll(&pfd, 1, 5000));
		ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
		ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);

		ASSERT_EQ(0, pthread_create(&unbinder, NULL, unbind_vpu, &unbound));
		EXPECT_EQ(0, join_within(unbinder, 3000)) {
			TH_LOG("%s: unbind waits for a stalled copy to user",
			       i ? "IOVA_RANGES" : "INFO");
		}
		/* Let the copy finish, and with it the unbind if it waited. */
		ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zero));
		ASSERT_EQ(0, join_within(caller, 5000));
		pthread_join(unbinder, NULL);
		EXPECT_EQ(0, unbound);
		/* Gathered before the unbind, or refused after it. */
		EXPECT_TRUE(call.ret == 0 || call.ret == -ENODEV);
		close(fd);

		s = open("/sys/bus/platform/drivers/vpudom-vpu/bind", O_WRONLY);
		ASSERT_LE(0, s);
		ASSERT_EQ(3, write(s, "vpu", 3));
		close(s);
		for (s = 0; s < 50 && access(vpudom_dev(), F_OK); s++)
			usleep(20000);
		ASSERT_EQ(0, access(vpudom_dev(), F_OK));
		munmap(page, PAGE_SZ);
	}
	close(uffd);
}

/* A map whose struct may live on a page that goes away meanwhile. */
struct remote_map {
	int fd;
	struct vpudom_map_user *arg;
	int ret;
};

static void *remote_map_run(void *data)
{
	struct remote_map *c = data;

	c->ret = _ioctl(c->fd, VPUDOM_MAP_USER, c->arg);
	return NULL;
}

/*
 * A map whose answer cannot be written back is rolled back, and only that
 * mapping: here its answer waits on a write-protected page while another
 * thread of the session unmaps it and maps another buffer at its IOVA;
 * then the page goes, the copy fails with EFAULT, and the other mapping
 * must survive the rollback.
 */
TEST(efault_rollback_spares_a_later_mapping)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct pollfd pfd = { .events = POLLIN };
	struct remote_map call = {};
	struct uffdio_register reg = {
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	struct uffd_msg msg;
	long pins = pins_held();
	char *a = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	char *b = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	char *page = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	pthread_t mapper;
	__u64 iova, n = 0;
	int uffd, fd;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(MAP_FAILED, page);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		SKIP(return, "no userfaultfd in this kernel (errno %d)", errno);
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	reg.range.start = (__u64)(uintptr_t)page;
	reg.range.len = PAGE_SZ;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		SKIP(return, "no userfaultfd write-protect here (errno %d)", errno);
	fd = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, fd);

	/* The ioctl's struct lives on the page, readable, not writable. */
	call.fd = fd;
	call.arg = (struct vpudom_map_user *)page;
	memset(call.arg, 0, sizeof(*call.arg));
	call.arg->size = sizeof(*call.arg);
	call.arg->flags = VPUDOM_MAP_READ;
	call.arg->blocks = blk(1);
	call.arg->user_va = (__u64)(uintptr_t)a;
	call.arg->length = PAGE_SZ;
	wp.range = reg.range;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));
	ASSERT_EQ(0, pthread_create(&mapper, NULL, remote_map_run, &call));
	pfd.fd = uffd;
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_TRUE(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);

	/* Mapped, its answer stalled: take it down, map b there instead. */
	ASSERT_EQ(0, _test_unmap_all(fd, &n));
	ASSERT_EQ(PAGE_SZ, n);
	iova = 0;
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, blk(1), b, PAGE_SZ, &iova));
	/* The lowest free IOVA, where the stalled map went too. */
	EXPECT_TRUE(debugfs_has("block1", iova, "user"));

	/* The page goes: the stalled copy fails, and the map rolls back. */
	ASSERT_EQ(0, munmap(page, PAGE_SZ));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WAKE, &reg.range));
	ASSERT_EQ(0, pthread_join(mapper, NULL));
	EXPECT_EQ(-EFAULT, call.ret);

	/* b's mapping is intact, and it is the only one left. */
	EXPECT_TRUE(debugfs_has("block1", iova, "user"));
	EXPECT_EQ(-EEXIST, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(1), a, PAGE_SZ, iova));
	EXPECT_EQ(0, _test_unmap_all(fd, &n));
	EXPECT_EQ(PAGE_SZ, n);
	close(fd);
	close(uffd);
	EXPECT_EQ(pins, pins_held());
	munmap(a, PAGE_SZ);
	munmap(b, PAGE_SZ);
}

static int _test_sync(int fd, __u32 flags, __u32 block, __u64 iova,
		      __u64 length)
{
	struct vpudom_sync cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.block = block,
		.iova = iova,
		.length = length,
	};

	return _ioctl(fd, VPUDOM_SYNC, &cmd);
}

/* VPUDOM_SYNC's errors, in the order it checks them. */
TEST(sync_errors)
{
	struct udmabuf_create create = { .flags = UDMABUF_FLAGS_CLOEXEC };
	struct vpudom_map_dmabuf mdb = {
		.size = sizeof(mdb), .flags = RW, .blocks = 1 << 2,
		.length = 4 * PAGE_SZ,
	};
	struct vpudom_sync cmd = {
		.size = sizeof(cmd), .flags = VPUDOM_SYNC_END_CPU, .block = 1,
		.length = PAGE_SZ,
	};
	char *buf = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int fd = open(vpudom_dev(), O_RDWR), other = open(vpudom_dev(), O_RDWR);
	int udev, memfd, dbuf;
	__u64 iova;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, other);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, _test_map_user(fd, RW, 1 << 1, buf, 4 * PAGE_SZ, &iova));
	cmd.iova = iova;
	cmd.flags = 1u << 2;
	EXPECT_EQ(-EOPNOTSUPP, _ioctl(fd, VPUDOM_SYNC, &cmd));
	cmd.flags = VPUDOM_SYNC_END_CPU;
	cmd.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, _ioctl(fd, VPUDOM_SYNC, &cmd));
	EXPECT_EQ(-EINVAL, _test_sync(fd, 0, 1, iova, PAGE_SZ));
	EXPECT_EQ(-EINVAL, _test_sync(fd, VPUDOM_SYNC_BEGIN_CPU |
				      VPUDOM_SYNC_END_CPU, 1, iova, PAGE_SZ));
	EXPECT_EQ(-EINVAL, _test_sync(fd, VPUDOM_SYNC_END_CPU, 1, iova, 0));
	EXPECT_EQ(-EINVAL, _test_sync(fd, VPUDOM_SYNC_END_CPU, 1, iova + 1,
				      PAGE_SZ));
	EXPECT_EQ(-EINVAL, _test_sync(fd, VPUDOM_SYNC_END_CPU, 1, iova, 100));
	EXPECT_EQ(-EOVERFLOW, _test_sync(fd, VPUDOM_SYNC_END_CPU, 1,
					 -PAGE_SZ, 2 * PAGE_SZ));
	EXPECT_EQ(-EINVAL, _test_sync(fd, VPUDOM_SYNC_END_CPU, 3, iova,
				      PAGE_SZ));
	/* Another block's IOVA space, another session: no such mapping. */
	EXPECT_EQ(-ENOENT, _test_sync(fd, VPUDOM_SYNC_END_CPU, 0, iova,
				      PAGE_SZ));
	EXPECT_EQ(-ENOENT, _test_sync(other, VPUDOM_SYNC_END_CPU, 1, iova,
				      PAGE_SZ));
	/* Past the mapping's end. */
	EXPECT_EQ(-EINVAL, _test_sync(fd, VPUDOM_SYNC_BEGIN_CPU, 1,
				      iova + PAGE_SZ, 4 * PAGE_SZ));
	/* The whole mapping and a part of it. */
	EXPECT_EQ(0, _test_sync(fd, VPUDOM_SYNC_BEGIN_CPU, 1, iova,
				4 * PAGE_SZ));
	EXPECT_EQ(0, _test_sync(fd, VPUDOM_SYNC_END_CPU, 1, iova + PAGE_SZ,
				3 * PAGE_SZ));
	EXPECT_EQ(0, _test_unmap_all(fd, NULL));
	EXPECT_EQ(-ENOENT, _test_sync(fd, VPUDOM_SYNC_END_CPU, 1, iova,
				      PAGE_SZ));

	/* A dma-buf is its exporter's to maintain. */
	udev = open("/dev/udmabuf", O_RDWR);
	if (udev >= 0) {
		memfd = memfd_create("vpudom", MFD_ALLOW_SEALING);
		ASSERT_LE(0, memfd);
		ASSERT_EQ(0, ftruncate(memfd, 4 * PAGE_SZ));
		ASSERT_EQ(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK));
		create.memfd = memfd;
		create.size = 4 * PAGE_SZ;
		dbuf = ioctl(udev, UDMABUF_CREATE, &create);
		ASSERT_LE(0, dbuf);
		mdb.fd = dbuf;
		ASSERT_EQ(0, _ioctl(fd, VPUDOM_MAP_DMABUF, &mdb));
		EXPECT_EQ(-EXDEV, _test_sync(fd, VPUDOM_SYNC_BEGIN_CPU, 2,
					     mdb.iova, PAGE_SZ));
		EXPECT_EQ(0, _test_unmap_all(fd, NULL));
		close(dbuf);
		close(memfd);
		close(udev);
	}
	close(other);
	close(fd);
	munmap(buf, 4 * PAGE_SZ);
}

/*
 * The CPU cache maintenance vpudom asks the DMA API for, counted where
 * arm64's dma-direct does it: a kprobe event on arch_sync_dma_for_device()
 * (clean) and one on arch_sync_dma_for_cpu() (invalidate, unless the
 * direction is DMA_TO_DEVICE), filtered to this process.  QEMU models no
 * caches, so the data cannot show a missing clean; the calls can.
 */
#define KPROBE_GROUP	"vpudom_test"
/* arm64: x0 the physical address, x1 the size, x2 the direction. */
#define PROBE_CLEAN	"p:" KPROBE_GROUP "/clean arch_sync_dma_for_device size=%x1\n"
#define PROBE_INVAL	"p:" KPROBE_GROUP "/inval arch_sync_dma_for_cpu size=%x1 dir=%x2\n"
#define DMA_TO_DEVICE	1

FIXTURE(cache) {
	char tracing[64];
	int fd;
	int coherent;
};

static int write_file(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | flags), ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -errno;
	close(fd);
	return ret;
}

static int tracing_write(const char *tracing, const char *file,
			 const char *text, int flags)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", tracing, file);
	return write_file(path, text, flags);
}

/*
 * Bytes this process had cleaned (@inval false) or invalidated since the
 * trace was last emptied.
 */
static unsigned long long cache_bytes(const char *tracing, bool inval)
{
	unsigned long long sum = 0, size, dir;
	char path[160], line[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", tracing);
	f = fopen(path, "r");
	if (!f)
		return ~0ULL;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' ||
		    !strstr(line, inval ? " inval: " : " clean: "))
			continue;
		p = strstr(line, "size=");
		if (!p || sscanf(p, "size=%llx", &size) != 1)
			continue;
		p = strstr(line, "dir=");
		if (inval && p && sscanf(p, "dir=%llx", &dir) == 1 &&
		    dir == DMA_TO_DEVICE)
			continue;
		sum += size;
	}
	fclose(f);
	return sum;
}

static void cache_reset(const char *tracing)
{
	tracing_write(tracing, "trace", "", O_TRUNC);
}

FIXTURE_SETUP(cache)
{
	char pid[64], info[4096], *line, *end;
	ssize_t n;
	int fd;

	snprintf(self->tracing, sizeof(self->tracing), "/sys/kernel/tracing");
	if (access("/sys/kernel/tracing/kprobe_events", W_OK))
		snprintf(self->tracing, sizeof(self->tracing),
			 "/sys/kernel/debug/tracing");
	if (access("/sys/kernel/debug/tracing/kprobe_events", W_OK) &&
	    access("/sys/kernel/tracing/kprobe_events", W_OK))
		SKIP(return, "no kprobe events in this kernel");
	/* What block1 is: pinned per board by the guest scripts. */
	fd = open(DEBUGFS "/vpudom0/info", O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, info, sizeof(info) - 1);
	close(fd);
	ASSERT_LT(0, n);
	info[n] = 0;
	line = strstr(info, "\nblock 1 ");
	ASSERT_NE(NULL, line);
	end = strchr(line + 1, '\n');
	if (end)
		*end = 0;
	self->coherent = !!strstr(line, " cache coherent");
	ASSERT_EQ(0, tracing_write(self->tracing, "kprobe_events", PROBE_CLEAN,
				   O_APPEND));
	ASSERT_EQ(0, tracing_write(self->tracing, "kprobe_events", PROBE_INVAL,
				   O_APPEND));
	snprintf(pid, sizeof(pid), "common_pid == %d\n", getpid());
	ASSERT_EQ(0, tracing_write(self->tracing, "events/" KPROBE_GROUP "/filter", pid, 0));
	ASSERT_EQ(0, tracing_write(self->tracing, "events/" KPROBE_GROUP "/enable", "1\n", 0));
	self->fd = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(cache)
{
	if (!self->tracing[0])
		return;
	tracing_write(self->tracing, "events/" KPROBE_GROUP "/enable", "0\n", 0);
	tracing_write(self->tracing, "kprobe_events", "-:" KPROBE_GROUP "/clean\n", O_APPEND);
	tracing_write(self->tracing, "kprobe_events", "-:" KPROBE_GROUP "/inval\n", O_APPEND);
	if (self->fd > 0)
		close(self->fd);
}

/*
 * Non-coherent block: cleaned on map, invalidated on unmap, each sync point
 * over its range exactly, and shown "nc vpudom".  Coherent block: cached,
 * and nothing maintained at all.
 */
TEST_F(cache, user_memory_maintenance)
{
	const unsigned long len = 64 * PAGE_SZ, part = 8 * PAGE_SZ;
	unsigned long long want = self->coherent ? 0 : len;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 iova;

	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0x5a, len);
	cache_reset(self->tracing);
	ASSERT_EQ(0, _test_map_user(self->fd, RW, 1 << 1, buf, len, &iova));
	EXPECT_EQ(want, cache_bytes(self->tracing, false));
	EXPECT_EQ(0, cache_bytes(self->tracing, true));
	EXPECT_TRUE(debugfs_has("block1", iova, self->coherent ?
				" rw   cached none " : " rw   nc     vpudom "));
	cache_reset(self->tracing);
	/* Begin CPU access: invalidate what the device may have written. */
	EXPECT_EQ(0, _test_sync(self->fd, VPUDOM_SYNC_BEGIN_CPU, 1,
				iova + part, part));
	EXPECT_EQ(self->coherent ? 0 : part, cache_bytes(self->tracing, true));
	EXPECT_EQ(0, cache_bytes(self->tracing, false));
	cache_reset(self->tracing);
	/* End CPU access: write back what the CPU wrote. */
	EXPECT_EQ(0, _test_sync(self->fd, VPUDOM_SYNC_END_CPU, 1,
				iova + part, 2 * part));
	EXPECT_EQ(self->coherent ? 0 : 2 * part, cache_bytes(self->tracing, false));
	EXPECT_EQ(0, cache_bytes(self->tracing, true));
	cache_reset(self->tracing);
	ASSERT_EQ(0, _test_unmap(self->fd, 1, iova, len, NULL));
	EXPECT_EQ(want, cache_bytes(self->tracing, true));
	EXPECT_EQ(0, cache_bytes(self->tracing, false));

	/* A buffer the device only reads: cleaned, never invalidated. */
	cache_reset(self->tracing);
	ASSERT_EQ(0, _test_map_user(self->fd, VPUDOM_MAP_READ, 1 << 1, buf,
				    len, &iova));
	EXPECT_EQ(want, cache_bytes(self->tracing, false));
	EXPECT_TRUE(debugfs_has("block1", iova, self->coherent ?
				" r-   cached none " : " r-   nc     vpudom "));
	cache_reset(self->tracing);
	EXPECT_EQ(0, _test_sync(self->fd, VPUDOM_SYNC_BEGIN_CPU, 1, iova,
				len));
	ASSERT_EQ(0, _test_unmap(self->fd, 1, iova, len, NULL));
	EXPECT_EQ(0, cache_bytes(self->tracing, true));
	munmap(buf, len);
}

/* A map that fails after the clean invalidates nothing: no device saw it. */
TEST_F(cache, failed_map_invalidates_nothing)
{
	char *buf = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	__u64 iova = MSI_START;

	ASSERT_NE(MAP_FAILED, buf);
	cache_reset(self->tracing);
	/* Block 1's MSI window is a hole: refused under the locks. */
	EXPECT_EQ(-EADDRINUSE, _test_map_fixed(self->fd, RW, 1 << 1, buf,
					       4 * PAGE_SZ, iova));
	EXPECT_EQ(self->coherent ? 0 : 4 * PAGE_SZ, cache_bytes(self->tracing, false));
	EXPECT_EQ(0, cache_bytes(self->tracing, true));
	munmap(buf, 4 * PAGE_SZ);
}

TEST_HARNESS_MAIN
