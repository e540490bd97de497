// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vpudom uAPI on any VPU: the ioctl envelope, the map and unmap
 * contract per block, and the lifetime of sessions and instances.  Every
 * test ends with nothing pinned and nothing mapped.
 *
 * The blocks, windows and usable ranges come from VPUDOM_INFO and
 * VPUDOM_IOVA_RANGES (vpu_describe()), never from a table here: the tests
 * that are about those answers check them against what else knows them
 * (debugfs, the IOMMU's reserved regions in sysfs, the devicetree).  A
 * test that needs blocks of some shape (two whose windows meet, two that
 * do not) skips, saying so, on a VPU that has none; the fixture runs for
 * blocks 0, 1 and 2 and skips those the VPU lacks.  Facts of the reference
 * VPU alone are checked only on it (reference_vpu).
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
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "vpudom_utils.h"

/*
 * The VPU under test, as its ioctls describe it.  Each test runs in a
 * process of its own, so each describes it afresh.
 */
static struct vpu vpu;

static const struct vpu *vpu_get(void)
{
	int fd;

	if (vpu.nr_blocks)
		return &vpu;
	fd = open(vpudom_dev(), O_RDWR);
	if (fd < 0)
		return NULL;
	if (vpu_describe(fd, &vpu))
		vpu.nr_blocks = 0;
	close(fd);
	return vpu.nr_blocks ? &vpu : NULL;
}

/* The name of block @i, as the ioctls and debugfs call it. */
#define BNAME(v, i)	((v)->b[i].info.name)

/* The value of "<key>: <value>" in a block's debugfs stats, or -1. */
static long long block_stat(const char *block, const char *key)
{
	char path[160], line[160];
	long long val = -1;
	size_t k = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), DEBUGFS "/%s/%s/stats", vpudom_inst(),
		 block);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ':')
			val = strtoll(line + k + 1, NULL, 0);
	fclose(f);
	return val;
}

/*
 * Ranges of one kind ("window", "aperture", "hole", "usable") in a
 * block's debugfs ranges; with @kind "hole", @why gets each hole's
 * reason ("zero", "msi", "carve-out", ...).  Returns how many.
 */
static int debugfs_ranges(const char *block, const char *kind,
			  struct vpudom_iova_range *r, char (*why)[16], int max)
{
	char path[160], line[160], k[16], w[16];
	unsigned long long a, b;
	int n = 0, got;
	FILE *f;

	snprintf(path, sizeof(path), DEBUGFS "/%s/%s/ranges", vpudom_inst(),
		 block);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		w[0] = '\0';
		got = sscanf(line, "%15s %llx-%llx %15s", k, &a, &b, w);
		if (got < 3 || strcmp(k, kind) || n == max)
			continue;
		r[n].start = a;
		r[n].last = b;
		if (why)
			memcpy(why[n], w, sizeof(w));
		n++;
	}
	fclose(f);
	return n;
}

/* Take @h out of the ascending ranges @r (@n of them, room for @max). */
static void ranges_subtract(struct vpudom_iova_range *r, unsigned int *n,
			    unsigned int max, __u64 start, __u64 last)
{
	unsigned int i, j;

	for (i = 0; i < *n; i++) {
		struct vpudom_iova_range c = r[i];

		if (last < c.start || start > c.last)
			continue;
		if (start > c.start && last < c.last && *n < max) {
			/* Split in two. */
			for (j = *n; j > i + 1; j--)
				r[j] = r[j - 1];
			(*n)++;
			r[i].last = start - 1;
			r[i + 1].start = last + 1;
			r[i + 1].last = c.last;
			i++;
		} else if (start > c.start) {
			r[i].last = start - 1;
		} else if (last < c.last) {
			r[i].start = last + 1;
		} else {
			for (j = i; j + 1 < *n; j++)
				r[j] = r[j + 1];
			(*n)--;
			i--;
		}
	}
}

/*
 * The usable ranges of block @i worked out here, from the uAPI's
 * definition and sources other than vpudom's own answer: the window (the
 * block's info) within the IOMMU aperture, each rounded to the smallest
 * page size; less IOVA 0's page, the IOMMU group's reserved regions as
 * sysfs lists them, and the carve-outs (only debugfs knows those).
 */
static int expected_usable(const struct vpu *v, unsigned int i,
			   struct vpudom_iova_range *r, unsigned int max)
{
	const struct vpudom_block_info *bi = &v->b[i].info;
	__u64 g = bi->pgsize_bitmap & -bi->pgsize_bitmap;
	struct vpudom_iova_range ap, h[16];
	char why[16][16], path[128], type[32];
	unsigned long long a, b;
	unsigned int n = 1;
	int nh, j;
	FILE *f;

	if (!g || debugfs_ranges(BNAME(v, i), "aperture", &ap, NULL, 1) != 1)
		return -1;
	r[0].start = bi->window_start > ap.start ? bi->window_start : ap.start;
	r[0].last = bi->window_last < ap.last ? bi->window_last : ap.last;
	r[0].start = (r[0].start + g - 1) & ~(g - 1);
	r[0].last = ((r[0].last + 1) & ~(g - 1)) - 1;
	if (r[0].start > r[0].last)
		return 0;
	ranges_subtract(r, &n, max, 0, g - 1);
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%lld/reserved_regions",
		 block_stat(BNAME(v, i), "iommu_group"));
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%llx %llx %31s", &a, &b, type) == 3)
		ranges_subtract(r, &n, max, a & ~(g - 1), b | (g - 1));
	fclose(f);
	nh = debugfs_ranges(BNAME(v, i), "hole", h, why, 16);
	for (j = 0; j < nh; j++)
		if (!strcmp(why[j], "carve-out"))
			ranges_subtract(r, &n, max, h[j].start, h[j].last);
	return n;
}

/*
 * A devicetree property of a context device as big-endian 32-bit cells:
 * how many, or -1 if the device has no node or the node no property.
 */
static int of_cells(const char *dev, const char *prop, __u32 *cells, int max)
{
	char path[192];
	unsigned char raw[64];
	int fd, n, i;

	snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/of_node/%s",
		 dev, prop);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, raw, sizeof(raw));
	close(fd);
	if (n < 0 || n % 4)
		return -1;
	for (i = 0; i < n / 4 && i < max; i++)
		cells[i] = (__u32)raw[4 * i] << 24 | raw[4 * i + 1] << 16 |
			   raw[4 * i + 2] << 8 | raw[4 * i + 3];
	return n / 4;
}

/*
 * Block @i's line in debugfs info, "block <i> <name> stream <sid> device
 * <dev>": 0 and its fields, or -1.
 */
static int debugfs_block(unsigned int i, char *name, unsigned int *sid,
			 char *dev)
{
	char path[128], line[256];
	unsigned int idx;
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), DEBUGFS "/%s/info", vpudom_inst());
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "block %u %15s stream %x device %63s", &idx,
			   name, sid, dev) == 4 && idx == i) {
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

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

/*
 * VPUDOM_INFO against debugfs (names, streams, page sizes, windows) and,
 * for a VPU from the devicetree, against the context nodes: the stream in
 * `iommus`, the window in `vpudom,iova-window` where the node gives one.
 */
TEST(info)
{
	struct vpudom_block_info bi[VPU_MAX_BLOCKS + 1];
	struct vpudom_info cmd = {
		.size = sizeof(cmd),
		.blocks_uptr = (__u64)(uintptr_t)bi,
	};
	struct vpudom_iova_range win;
	char name[64], bname[16], dev[64], count[16];
	unsigned int i, nr, sid;
	__u32 cells[4];
	int fd = open(vpudom_dev(), O_RDWR);

	ASSERT_LE(0, fd);
	debugfs_info("blocks", count, sizeof(count));
	nr = strtoul(count, NULL, 10);
	ASSERT_LT(0, nr);
	ASSERT_GE(VPU_MAX_BLOCKS, nr);
	memset(bi, 0xa5, sizeof(bi));
	/* Too small: the count needed, and nothing written. */
	cmd.num_blocks = nr - 1;
	EXPECT_EQ(-EMSGSIZE, _ioctl(fd, VPUDOM_INFO, &cmd));
	EXPECT_EQ(nr, cmd.num_blocks);
	EXPECT_EQ(0xa5a5a5a5, bi[0].index);
	cmd.num_blocks = nr + 1;
	ASSERT_EQ(0, _ioctl(fd, VPUDOM_INFO, &cmd));
	EXPECT_EQ(nr, cmd.num_blocks);
	for (i = 0; i < nr; i++) {
		ASSERT_EQ(0, debugfs_block(i, bname, &sid, dev));
		EXPECT_STREQ(bname, bi[i].name);
		EXPECT_EQ(i, bi[i].index);
		EXPECT_EQ(sid, bi[i].sid);
		EXPECT_EQ(block_stat(bname, "page_sizes"), bi[i].pgsize_bitmap);
		EXPECT_NE(0, bi[i].pgsize_bitmap & PAGE_SZ);
		ASSERT_EQ(1, debugfs_ranges(bname, "window", &win, NULL, 1));
		EXPECT_EQ(win.start, bi[i].window_start);
		EXPECT_EQ(win.last, bi[i].window_last);
		EXPECT_LE(bi[i].window_start, bi[i].window_last);
		/* The stream: the cell after the IOMMU's phandle. */
		if (of_cells(dev, "iommus", cells, 4) >= 2)
			EXPECT_EQ(cells[1], bi[i].sid);
		/* vpudom,iova-window: the first IOVA and the size, 64 bits each. */
		if (of_cells(dev, "vpudom,iova-window", cells, 4) == 4) {
			__u64 first = (__u64)cells[0] << 32 | cells[1];
			__u64 size = (__u64)cells[2] << 32 | cells[3];

			EXPECT_EQ(first, bi[i].window_start);
			EXPECT_EQ(first + size - 1, bi[i].window_last);
		}
	}
	/* The entry past the last block is not the kernel's to write. */
	EXPECT_EQ(0xa5a5a5a5, bi[nr].index);
	/* Which VPU this is: what debugfs says of it. */
	debugfs_info("device", name, sizeof(name));
	EXPECT_STREQ(name, cmd.out_device);
	debugfs_info("hardware", name, sizeof(name));
	EXPECT_STREQ(name, cmd.out_hardware);
	EXPECT_NE(0, strlen(cmd.out_hardware));
	close(fd);
}

/*
 * The reference VPU's windows are facts of its silicon (src/of.c): on it,
 * and only on it, they must be exactly these.
 */
TEST(reference_vpu)
{
	static const __u64 win[3][2] = {
		{ MIB(600), MIB(3500) - 1 },
		{ 0, MIB(3500) - 1 },
		{ MIB(16), MIB(600) - 1 },
	};
	const struct vpu *v = vpu_get();
	char name[16];
	unsigned int i;

	ASSERT_NE(NULL, v);
	if (strcmp(v->hardware, "ref-vpu"))
		SKIP(return, "not the reference VPU: hardware %s", v->hardware);
	ASSERT_EQ(3, v->nr_blocks);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "block%u", i);
		EXPECT_STREQ(name, v->b[i].info.name);
		EXPECT_EQ(win[i][0], v->b[i].info.window_start);
		EXPECT_EQ(win[i][1], v->b[i].info.window_last);
		EXPECT_NE(0, v->b[i].info.pgsize_bitmap & SZ_2M);
	}
}

/* A caller built before the names existed gets what it asked for, no more. */
TEST(info_without_names)
{
	struct vpudom_block_info bi[VPU_MAX_BLOCKS];
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
	u.cmd.num_blocks = VPU_MAX_BLOCKS;
	u.cmd.__reserved = 0;
	u.cmd.blocks_uptr = (__u64)(uintptr_t)bi;
	ASSERT_EQ(0, _ioctl(fd, VPUDOM_INFO, &u.cmd));
	ASSERT_NE(NULL, vpu_get());
	EXPECT_EQ(vpu_get()->nr_blocks, u.cmd.num_blocks);
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
	struct vpu v;
	__u64 first;		/* first usable IOVA of the block */
	__u64 last;		/* last usable IOVA of the block */
};

/* The block, by number; a VPU with fewer blocks skips. */
FIXTURE_VARIANT(vpudom) {
	unsigned int block;
};

FIXTURE_VARIANT_ADD(vpudom, block0) {
	.block = 0,
};

FIXTURE_VARIANT_ADD(vpudom, block1) {
	.block = 1,
};

FIXTURE_VARIANT_ADD(vpudom, block2) {
	.block = 2,
};

FIXTURE_SETUP(vpudom)
{
	const struct vpu_block *b;

	self->pins = pins_held();
	self->fd = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vpu_describe(self->fd, &self->v));
	if (variant->block >= self->v.nr_blocks)
		SKIP(return, "the VPU has %u blocks", self->v.nr_blocks);
	b = &self->v.b[variant->block];
	ASSERT_LT(0, b->nr_usable);
	self->first = b->usable[0].start;
	self->last = b->usable[b->nr_usable - 1].last;
	self->len = 8 * SZ_1M;
	self->buf = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(vpudom)
{
	unsigned int i;

	close(self->fd);
	munmap(self->buf, self->len);
	/* Leak check: nothing pinned, charged or mapped any more. */
	EXPECT_EQ(self->pins, pins_held());
	EXPECT_EQ(0, user_acct(0, "mappings"));
	EXPECT_EQ(0, user_acct(0, "bytes"));
	for (i = 0; i < self->v.nr_blocks; i++)
		EXPECT_EQ(0, debugfs_mappings(BNAME(&self->v, i)));
}

#define BLK	blk(variant->block)
#define B	(&self->v.b[variant->block])
#define RW	(VPUDOM_MAP_READ | VPUDOM_MAP_WRITE)

/*
 * The block's usable ranges: exactly those worked out from the window and
 * the IOMMU's reserved regions (expected_usable()), and those debugfs
 * lists; EMSGSIZE and the count when the array is too small.
 */
TEST_F(vpudom, iova_ranges_exact)
{
	struct vpudom_iova_range r[VPU_MAX_RANGES], want[VPU_MAX_RANGES];
	struct vpudom_iova_range dbg[VPU_MAX_RANGES];
	int nwant, ndbg, i;
	__u32 n = 0;

	nwant = expected_usable(&self->v, variant->block, want, VPU_MAX_RANGES);
	ASSERT_LT(0, nwant);
	memset(r, 0xa5, sizeof(r));
	EXPECT_EQ(-EMSGSIZE, _test_ranges(self->fd, variant->block, r, &n));
	EXPECT_EQ(nwant, n);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, r[0].start);
	n = VPU_MAX_RANGES;
	ASSERT_EQ(0, _test_ranges(self->fd, variant->block, r, &n));
	ASSERT_EQ(nwant, n);
	ndbg = debugfs_ranges(BNAME(&self->v, variant->block), "usable", dbg,
			      NULL, VPU_MAX_RANGES);
	EXPECT_EQ(nwant, ndbg);
	for (i = 0; i < nwant; i++) {
		EXPECT_EQ(want[i].start, r[i].start);
		EXPECT_EQ(want[i].last, r[i].last);
		if (i < ndbg) {
			EXPECT_EQ(dbg[i].start, r[i].start);
			EXPECT_EQ(dbg[i].last, r[i].last);
		}
		TH_LOG("usable 0x%llx-0x%llx", (unsigned long long)r[i].start,
		       (unsigned long long)r[i].last);
	}
	n = VPU_MAX_RANGES;
	EXPECT_EQ(-EINVAL, _test_ranges(self->fd, self->v.nr_blocks, r, &n));
}

TEST_F(vpudom, map_argument_errors)
{
	char *b = self->buf;
	__u64 iova = self->first;
	unsigned int nr = self->v.nr_blocks;

	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, 0, BLK, b, PAGE_SZ, NULL));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, BLK, b, 0, NULL));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, BLK, b, PAGE_SZ + 1, NULL));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, BLK, b + 8, PAGE_SZ, NULL));
	EXPECT_EQ(-EINVAL, _test_map_fixed(self->fd, RW, BLK, b, PAGE_SZ, iova + 512));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, 0, b, PAGE_SZ, NULL));
	EXPECT_EQ(-EINVAL, _test_map_user(self->fd, RW, blk(nr), b, PAGE_SZ, NULL));
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
	EXPECT_EQ(-EINVAL, _test_unmap(self->fd, nr, iova, PAGE_SZ, NULL));
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
	EXPECT_EQ(0, debugfs_mappings(B->info.name));
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
	EXPECT_TRUE(debugfs_has(B->info.name, iova, "r-"));
	EXPECT_EQ(0, _test_unmap(self->fd, variant->block, iova, 4 * PAGE_SZ, NULL));
	munmap(ro, 4 * PAGE_SZ);
}

/*
 * The errno of a fixed map over the hole at @iova: a reserved hole
 * (debugfs lists it) EADDRINUSE; otherwise it can only be a kernel-only
 * range, EACCES.
 */
static int hole_errno(const char *block, __u64 iova)
{
	struct vpudom_iova_range h[16];
	int n = debugfs_ranges(block, "hole", h, NULL, 16), i;

	for (i = 0; i < n; i++)
		if (iova >= h[i].start && iova <= h[i].last)
			return -EADDRINUSE;
	return -EACCES;
}

TEST_F(vpudom, fixed_iova_edges)
{
	const struct vpu_block *vb = B;
	const __u64 p = PAGE_SZ, first = self->first, last = self->last;
	const __u64 ws = vb->info.window_start, wl = vb->info.window_last;
	char *b = self->buf;
	__u64 n, mapped = 0, hs, hl;
	unsigned int i;
	int err;

	/* Exactly the first and the last usable pages. */
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, p, first));
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, p, last + 1 - p));
	mapped = first == last + 1 - p ? 1 : 2;
	/* Outside the window, or straddling either of its edges. */
	if (ws) {
		EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, b, p, ws - p));
		EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, b, 2 * p,
						   ws - p));
	}
	if (wl + 1) {
		EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, b, p, wl + 1));
		EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, b, 2 * p,
						   wl + 1 - p));
	}
	/*
	 * Every hole of the window (IOVA 0, the IOMMU's reserved regions,
	 * carve-outs: what lies between the usable ranges): refused over it
	 * and over either of its edges; the pages right next to it map.
	 */
	for (i = 0; i <= vb->nr_usable; i++) {
		hs = i ? vb->usable[i - 1].last + 1 : ws;
		hl = i < vb->nr_usable ? vb->usable[i].start - 1 : wl;
		if ((i && hs == 0) || hs > hl || (i == vb->nr_usable && hs > wl))
			continue;
		err = hole_errno(vb->info.name, hs);
		TH_LOG("hole 0x%llx-0x%llx: %d", (unsigned long long)hs,
		       (unsigned long long)hl, err);
		EXPECT_EQ(err, _test_map_fixed(self->fd, RW, BLK, b, p, hs));
		EXPECT_EQ(err, _test_map_fixed(self->fd, RW, BLK, b, p, hl + 1 - p));
		if (hs > ws) {
			EXPECT_EQ(err, _test_map_fixed(self->fd, RW, BLK, b, 2 * p,
						       hs - p));
			if (hs - p != first && hs - p != last + 1 - p) {
				ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b,
							     p, hs - p));
				mapped++;
			}
		}
		if (hl < wl) {
			EXPECT_EQ(err, _test_map_fixed(self->fd, RW, BLK, b, 2 * p,
						       hl + 1 - p));
			if (hl + 1 != first && hl + 1 != last + 1 - p) {
				ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b,
							     p, hl + 1));
				mapped++;
			}
		}
	}
	ASSERT_EQ(0, _test_unmap_all(self->fd, &n));
	EXPECT_EQ(mapped * p, n);
}

/*
 * A fixed IOVA outside the window is refused before any memory is looked
 * at: from an address that is not mapped, ERANGE and not EFAULT.
 */
TEST_F(vpudom, fixed_iova_checked_before_pin)
{
	void *nowhere = (void *)(uintptr_t)(1ULL << 46);
	const __u64 end = B->info.window_last + 1;

	ASSERT_NE(0, end);
	EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, nowhere, PAGE_SZ,
					   end));
	EXPECT_EQ(-ERANGE, _test_map_fixed(self->fd, RW, BLK, nowhere,
					   2 * PAGE_SZ, end - PAGE_SZ));
	EXPECT_EQ(-EFAULT, _test_map_fixed(self->fd, RW, BLK, nowhere, PAGE_SZ,
					   self->first));
	EXPECT_EQ(self->pins, pins_held());
}

TEST_F(vpudom, fixed_iova_overlaps)
{
	const struct vpudom_iova_range *r = vpu_largest(B);
	const __u64 p = PAGE_SZ, x = r->start + 64 * PAGE_SZ;
	char *b = self->buf;
	__u64 n;

	ASSERT_LE(x + 6 * p - 1, r->last);
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
			/* Inside one usable range: no hole, not IOVA 0. */
			EXPECT_TRUE(vpu_usable(B, iova, sizes[i]));
			EXPECT_NE(0, iova);
			/* Aligned to the largest page size that fits. */
			EXPECT_EQ(0, iova % vpu_align(B, sizes[i]));
			EXPECT_TRUE(debugfs_has(B->info.name, iova, "user"));
		}
	}
	ASSERT_EQ(0, _test_unmap_all(self->fd, &n));
	EXPECT_EQ(total, n);
}

TEST_F(vpudom, unmap_rules)
{
	const struct vpudom_iova_range *r = vpu_largest(B);
	const __u64 p = PAGE_SZ, x = r->start + 256 * PAGE_SZ;
	char *b = self->buf;
	__u64 n;

	ASSERT_LE(x + 13 * p - 1, r->last);
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, 4 * p, x));
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, 4 * p, x + 4 * p));
	ASSERT_EQ(0, _test_map_fixed(self->fd, RW, BLK, b, 4 * p, x + 8 * p));
	/* A cut through a mapping unmaps nothing. */
	EXPECT_EQ(-EINVAL, _test_unmap(self->fd, variant->block, x + 4 * p, p, NULL));
	EXPECT_EQ(-EINVAL, _test_unmap(self->fd, variant->block, x, 6 * p, NULL));
	EXPECT_EQ(3, debugfs_mappings(B->info.name));
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
	const unsigned int nr = self->v.nr_blocks;
	__u64 iova = 0;
	unsigned int i;

	for (i = 0; i < nr; i++)
		ASSERT_EQ(0, _test_map_user(self->fd, RW, blk(i), self->buf,
					    SZ_1M, &iova));
	ASSERT_EQ(0, _test_map_user(self->fd, RW, BLK, self->buf, 2 * SZ_1M, &iova));
	EXPECT_EQ(self->pins + (nr + 2) * 256, pins_held());
	EXPECT_EQ(nr + 1, user_acct(0, "mappings"));
	EXPECT_EQ((nr + 2) * SZ_1M, user_acct(0, "bytes"));
	close(self->fd);
	EXPECT_EQ(self->pins, pins_held());
	EXPECT_EQ(0, user_acct(0, "mappings"));
	for (i = 0; i < nr; i++)
		EXPECT_EQ(0, debugfs_mappings(BNAME(&self->v, i)));
	/* A new open works. */
	self->fd = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, _test_map_user(self->fd, RW, BLK, self->buf, PAGE_SZ, &iova));
}

TEST(same_iova_in_two_blocks)
{
	const struct vpu *v = vpu_get();
	int fd = open(vpudom_dev(), O_RDWR);
	long pins = pins_held();
	char *b = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	unsigned int b1, b2;
	__u64 n, x = 0;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, v);
	if (vpu_meeting(v, 4 * PAGE_SZ, &b1, &b2, &x))
		SKIP(return, "no two blocks of the VPU share usable IOVAs");
	/* One IOVA, two blocks, two mappings, each with its own rights. */
	ASSERT_EQ(0, _test_map_fixed(fd, RW, blk(b1), b, 4 * PAGE_SZ, x));
	ASSERT_EQ(0, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(b2), b, 4 * PAGE_SZ, x));
	EXPECT_TRUE(debugfs_has(BNAME(v, b1), x, "rw"));
	EXPECT_TRUE(debugfs_has(BNAME(v, b2), x, "r-"));
	ASSERT_EQ(0, _test_unmap(fd, b1, x, 4 * PAGE_SZ, &n));
	EXPECT_FALSE(debugfs_has(BNAME(v, b1), x, "user"));
	EXPECT_TRUE(debugfs_has(BNAME(v, b2), x, "user"));
	ASSERT_EQ(0, _test_unmap(fd, b2, x, 4 * PAGE_SZ, &n));
	EXPECT_EQ(4 * PAGE_SZ, n);
	close(fd);
	munmap(b, 4 * PAGE_SZ);
	EXPECT_EQ(pins, pins_held());
}

TEST(several_blocks_all_or_nothing)
{
	const struct vpu *v = vpu_get();
	int fd = open(vpudom_dev(), O_RDWR);
	long pins = pins_held();
	char *b = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	unsigned int b1, b2;
	__u64 iova = 0, n = 0, x = 0, mask;
	char owner[32];

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, v);
	if (vpu_meeting(v, 4 * PAGE_SZ, &b1, &b2, &x))
		SKIP(return, "no two blocks of the VPU share usable IOVAs");
	mask = blk(b1) | blk(b2);
	snprintf(owner, sizeof(owner), "0x%04llx user", (unsigned long long)mask);
	/* The lowest IOVA usable in both blocks, mapped in both. */
	ASSERT_EQ(0, _test_map_user(fd, RW, mask, b, 4 * PAGE_SZ, &iova));
	EXPECT_EQ(x, iova);
	EXPECT_TRUE(debugfs_has(BNAME(v, b1), iova, owner));
	EXPECT_TRUE(debugfs_has(BNAME(v, b2), iova, owner));
	EXPECT_EQ(pins + 4, pins_held());
	/* Unmapping through one block takes it out of both. */
	ASSERT_EQ(0, _test_unmap(fd, b2, iova, 4 * PAGE_SZ, &n));
	EXPECT_EQ(4 * PAGE_SZ, n);
	EXPECT_EQ(0, debugfs_mappings(BNAME(v, b1)));

	/* Taken in one block: mapped in none. */
	ASSERT_EQ(0, _test_map_fixed(fd, RW, blk(b2), b, PAGE_SZ, x + PAGE_SZ));
	EXPECT_EQ(-EEXIST, _test_map_fixed(fd, RW, mask, b, 4 * PAGE_SZ, x));
	EXPECT_EQ(0, debugfs_mappings(BNAME(v, b1)));
	EXPECT_EQ(1, debugfs_mappings(BNAME(v, b2)));
	ASSERT_EQ(0, _test_unmap_all(fd, &n));
	EXPECT_EQ(PAGE_SZ, n);
	close(fd);
	munmap(b, 4 * PAGE_SZ);
	EXPECT_EQ(pins, pins_held());
}

/*
 * A page usable in block @in and outside block @out's window (the first
 * or the last page of one of @in's usable ranges): 0, or -ENOENT.
 */
static int usable_outside(const struct vpu *v, unsigned int *in,
			  unsigned int *out, __u64 *x)
{
	unsigned int i, j, k, e;
	__u64 c[2];

	for (i = 0; i < v->nr_blocks; i++)
		for (k = 0; k < v->b[i].nr_usable; k++) {
			c[0] = v->b[i].usable[k].start;
			c[1] = v->b[i].usable[k].last + 1 - PAGE_SZ;
			for (j = 0; j < v->nr_blocks; j++)
				for (e = 0; e < 2; e++)
					if (j != i && !vpu_in_window(&v->b[j], c[e], PAGE_SZ)) {
						*in = i;
						*out = j;
						*x = c[e];
						return 0;
					}
		}
	return -ENOENT;
}

/*
 * A page usable in one block and outside another's window: a fixed map
 * into both is ERANGE, and maps in neither.
 */
TEST(several_blocks_outside_one_window)
{
	const struct vpu *v = vpu_get();
	int fd = open(vpudom_dev(), O_RDWR);
	char *b = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	unsigned int i, j;
	__u64 x = 0;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, v);
	if (usable_outside(v, &i, &j, &x))
		SKIP(return, "every block's usable IOVAs are in every window");
	TH_LOG("0x%llx: usable in %s, outside %s's window",
	       (unsigned long long)x, BNAME(v, i), BNAME(v, j));
	EXPECT_EQ(-ERANGE, _test_map_fixed(fd, RW, blk(i) | blk(j), b, PAGE_SZ, x));
	EXPECT_EQ(0, debugfs_mappings(BNAME(v, i)));
	EXPECT_EQ(0, debugfs_mappings(BNAME(v, j)));
	/* The block whose window holds it takes it alone. */
	EXPECT_EQ(0, _test_map_fixed(fd, RW, blk(i), b, PAGE_SZ, x));
	EXPECT_EQ(0, _test_unmap_all(fd, NULL));
	close(fd);
	munmap(b, PAGE_SZ);
}

/* Blocks that share no usable IOVA: an automatic map into both, ENOSPC. */
TEST(several_blocks_windows_apart)
{
	const struct vpu *v = vpu_get();
	int fd = open(vpudom_dev(), O_RDWR);
	char *b = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	unsigned int i, j;
	__u64 iova = 0;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, v);
	for (i = 0; i < v->nr_blocks; i++)
		for (j = i + 1; j < v->nr_blocks; j++)
			if (vpu_common(v, blk(i) | blk(j), PAGE_SZ, &iova))
				goto apart;
	SKIP(return, "every two blocks of the VPU share usable IOVAs");
apart:
	EXPECT_EQ(-ENOSPC, _test_map_user(fd, RW, blk(i) | blk(j), b, PAGE_SZ,
					  &iova));
	EXPECT_EQ(0, debugfs_mappings(BNAME(v, i)));
	EXPECT_EQ(0, debugfs_mappings(BNAME(v, j)));
	close(fd);
	munmap(b, PAGE_SZ);
}

TEST(sessions_are_private)
{
	const struct vpu *v = vpu_get();
	int fd1 = open(vpudom_dev(), O_RDWR), fd2 = open(vpudom_dev(), O_RDWR);
	char *b = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	__u64 iova = 0, n = 0;

	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, _test_map_user(fd1, RW, blk(0), b, 4 * PAGE_SZ, &iova));
	EXPECT_EQ(-ENOENT, _test_unmap(fd2, 0, iova, 4 * PAGE_SZ, NULL));
	ASSERT_EQ(0, _test_unmap_all(fd2, &n));
	EXPECT_EQ(0, n);
	/* The IOVA is taken for everyone, seen or not. */
	EXPECT_EQ(-EEXIST, _test_map_fixed(fd2, RW, blk(0), b, PAGE_SZ, iova));
	close(fd2);
	EXPECT_EQ(1, debugfs_mappings(BNAME(v, 0)));
	ASSERT_EQ(0, _test_unmap(fd1, 0, iova, 4 * PAGE_SZ, &n));
	EXPECT_EQ(4 * PAGE_SZ, n);
	close(fd1);
	munmap(b, 4 * PAGE_SZ);
}

/*
 * How many @chunk-byte maps fit in @b, each at the lowest free IOVA
 * aligned as the allocator aligns it: packed from the aligned start of
 * each usable range.
 */
static unsigned int chunks_that_fit(const struct vpu_block *b, __u64 chunk)
{
	__u64 align = vpu_align(b, chunk), start;
	unsigned int i, n = 0;

	for (i = 0; i < b->nr_usable; i++) {
		start = (b->usable[i].start + align - 1) & ~(align - 1);
		if (start < b->usable[i].start || start > b->usable[i].last)
			continue;
		n += (b->usable[i].last - start + 1) / chunk;
	}
	return n;
}

/*
 * Fill the window of the block with the fewest usable IOVAs, free one
 * mapping, and fit the same size again, at the same place.
 */
TEST(fill_window_until_enospc)
{
	const size_t chunk = 32 * SZ_1M;
	const struct vpu *v = vpu_get();
	int fd = open(vpudom_dev(), O_RDWR), ret, i, n = 0;
	long pins = pins_held();
	__u64 iova[48], again = 0, bytes = 0;
	unsigned int blk_i = 0, j, want = ~0u, fit;
	char *b;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, v);
	for (j = 0; j < v->nr_blocks; j++) {
		fit = chunks_that_fit(&v->b[j], chunk);
		if (fit < want) {
			want = fit;
			blk_i = j;
		}
	}
	if (!want || want >= ARRAY_SIZE(iova))
		SKIP(return, "no block takes between 1 and %zu maps of 32 MiB (the fewest: %u)",
		     ARRAY_SIZE(iova) - 1, want);
	TH_LOG("%s: %u maps of 32 MiB fit", BNAME(v, blk_i), want);
	b = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, b);
	for (;;) {
		ASSERT_GT(ARRAY_SIZE(iova), n);
		ret = _test_map_user(fd, VPUDOM_MAP_READ, blk(blk_i), b, chunk,
				     &iova[n]);
		if (ret)
			break;
		EXPECT_TRUE(vpu_usable(&v->b[blk_i], iova[n], chunk));
		n++;
	}
	EXPECT_EQ(-ENOSPC, ret);
	EXPECT_EQ(want, n);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, _test_unmap(fd, blk_i, iova[n / 2], chunk, &bytes));
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, blk(blk_i), b, chunk,
				    &again));
	EXPECT_EQ(iova[n / 2], again);
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, _test_unmap(fd, blk_i, iova[i], chunk, NULL));
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
	const struct vpu *v = vpu_get();
	int fd1 = open(vpudom_dev(), O_RDWR), fd2 = open(vpudom_dev(), O_RDWR);
	char *b = mmap(NULL, 64 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	char old_n[32] = "", old_b[32] = "", cap[32];
	unsigned int b1 = 0, b2 = 0, in = 1;
	__u64 iova = 0, mask = blk(0);
	int i;

	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(NULL, v);
	/* Two blocks if two share IOVAs, else block 0 alone. */
	if (!vpu_meeting(v, 32 * PAGE_SZ, &b1, &b2, &iova)) {
		mask = blk(b1) | blk(b2);
		in = 2;
	}
	ASSERT_EQ(0, set_param("max_user_mappings", "8\n", old_n, sizeof(old_n)));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, _test_map_user(i & 1 ? fd2 : fd1, VPUDOM_MAP_READ,
					    blk(i % v->nr_blocks), b, PAGE_SZ,
					    &iova));
	EXPECT_EQ(8, user_acct(0, "mappings"));
	EXPECT_EQ(8 * PAGE_SZ, user_acct(0, "bytes"));
	EXPECT_EQ(-EDQUOT, _test_map_user(fd1, VPUDOM_MAP_READ, 1, b, PAGE_SZ, &iova));
	EXPECT_EQ(-EDQUOT, _test_map_user(fd2, VPUDOM_MAP_READ, 1, b, PAGE_SZ, &iova));
	close(fd2);
	EXPECT_EQ(4, user_acct(0, "mappings"));
	ASSERT_EQ(0, set_param("max_user_mappings", old_n, NULL, 0));

	/* 4 pages are held; 32 more in @in blocks reach the cap exactly. */
	snprintf(cap, sizeof(cap), "%lu\n", (4 + 32 * in) * PAGE_SZ);
	ASSERT_EQ(0, set_param("max_user_bytes", cap, old_b, sizeof(old_b)));
	EXPECT_EQ(0, _test_map_user(fd1, VPUDOM_MAP_READ, mask, b,
				    32 * PAGE_SZ, &iova));
	EXPECT_EQ((4 + 32 * in) * PAGE_SZ, user_acct(0, "bytes"));
	EXPECT_EQ(-EDQUOT, _test_map_user(fd1, VPUDOM_MAP_READ, 1, b, PAGE_SZ, &iova));
	EXPECT_EQ(0, _test_unmap(fd1, b1, iova, 32 * PAGE_SZ, NULL));
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
	const struct vpu *v = vpu_get();
	long pins = pins_held();
	char *b = mmap(NULL, 16 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	__u64 iova = 0;
	int i, fd;

	ASSERT_NE(NULL, v);
	for (i = 0; i < 2000; i++) {
		fd = open(vpudom_dev(), O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, _test_map_user(fd, RW, blk(i % v->nr_blocks), b,
					    (1 + i % 16) * PAGE_SZ, &iova));
		if (i & 1)
			ASSERT_EQ(0, _test_unmap(fd, i % v->nr_blocks, iova,
						 (1 + i % 16) * PAGE_SZ, NULL));
		close(fd);
	}
	EXPECT_EQ(pins, pins_held());
	EXPECT_EQ(0, user_acct(0, "mappings"));
	for (i = 0; i < (int)v->nr_blocks; i++)
		EXPECT_EQ(0, debugfs_mappings(BNAME(v, i)));
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
	const struct vpu *v = vpu_get();
	struct vpudom_map_dmabuf cmd = {
		.size = sizeof(cmd),
		.flags = RW,
		.length = 16 * PAGE_SZ,
	};
	unsigned int last;
	int fd, memfd = -1, dev, buf;
	long pins = pins_held();
	unsigned long ino;
	__u64 n;

	ASSERT_NE(NULL, v);
	/* The last block: the one the uAPI's bit tests least. */
	last = v->nr_blocks - 1;
	cmd.blocks = blk(last);
	dev = open("/dev/udmabuf", O_RDWR);
	if (dev < 0)
		SKIP(return, "no /dev/udmabuf: no dma-buf exporter in this kernel");
	fd = open(vpudom_dev(), O_RDWR);
	ASSERT_LE(0, fd);
	buf = vpu_udmabuf(dev, 32 * PAGE_SZ, &memfd);
	ASSERT_LE(0, buf);
	ino = dmabuf_ino(buf);

	cmd.fd = buf;
	cmd.offset = 4 * PAGE_SZ;
	ASSERT_EQ(0, _ioctl(fd, VPUDOM_MAP_DMABUF, &cmd));
	EXPECT_TRUE(vpu_usable(&v->b[last], cmd.iova, cmd.length));
	EXPECT_TRUE(debugfs_has(BNAME(v, last), cmd.iova, "dma-buf"));
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
	EXPECT_EQ(0, _test_unmap(fd, last, cmd.iova, 4 * PAGE_SZ, NULL));
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
	EXPECT_EQ(0, debugfs_mappings(BNAME(v, last)));
}

#define VPU_DRV	"/sys/bus/platform/drivers/vpudom-vpu"

/* Whether the VPU under test is a devicetree VPU bound to vpudom-vpu. */
static int vpu_of_bound(const struct vpu *v)
{
	char path[160];

	snprintf(path, sizeof(path), VPU_DRV "/%s", v->device);
	return !access(path, F_OK);
}

/* Write the VPU's device name to vpudom-vpu's @what (bind, unbind). */
static int vpu_drv_write(const struct vpu *v, const char *what)
{
	char path[160];
	int s, ret = 0;
	ssize_t len = strlen(v->device);

	snprintf(path, sizeof(path), VPU_DRV "/%s", what);
	s = open(path, O_WRONLY);
	if (s < 0)
		return -errno;
	if (write(s, v->device, len) != len)
		ret = -errno;
	close(s);
	return ret;
}

/* Unbinding the VPU revokes every mapping; the session only can close. */
TEST(unbind_revokes)
{
	const struct vpu *v = vpu_get();
	long pins = pins_held();
	int fd = open(vpudom_dev(), O_RDWR), s, i;
	char *b = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct vpudom_info info = { .size = sizeof(info) };
	__u64 iova = 0;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, v);
	if (!vpu_of_bound(v))
		SKIP(return, "%s is not bound to vpudom-vpu", v->device);
	for (i = 0; i < (int)v->nr_blocks; i++)
		ASSERT_EQ(0, _test_map_user(fd, RW, blk(i), b, 4 * PAGE_SZ, &iova));
	EXPECT_EQ(pins + 4 * v->nr_blocks, pins_held());
	ASSERT_EQ(0, vpu_drv_write(v, "unbind"));
	/* Revoked at once: nothing stays pinned behind the open file. */
	EXPECT_EQ(pins, pins_held());
	EXPECT_EQ(-ENODEV, _test_map_user(fd, RW, 1, b, PAGE_SZ, &iova));
	EXPECT_EQ(-ENODEV, _test_unmap(fd, 0, iova, 4 * PAGE_SZ, NULL));
	EXPECT_EQ(-ENODEV, _test_unmap_all(fd, NULL));
	EXPECT_EQ(-ENODEV, _ioctl(fd, VPUDOM_INFO, &info));

	/* Bound again while the old file is open: the same device comes back. */
	ASSERT_EQ(0, vpu_drv_write(v, "bind"));
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
	*(int *)data = vpu_drv_write(&vpu, "unbind");
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
	const struct vpu *v = vpu_get();
	unsigned int i;
	int uffd, fd, s;

	ASSERT_NE(NULL, v);
	if (!vpu_of_bound(v))
		SKIP(return, "%s is not bound to vpudom-vpu", v->device);
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
			call.arg.info.num_blocks = v->nr_blocks;
			call.arg.info.blocks_uptr = (__u64)(uintptr_t)page;
		} else {
			call.arg.ranges.size = sizeof(call.arg.ranges);
			call.arg.ranges.block = v->nr_blocks - 1;
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

		ASSERT_EQ(0, vpu_drv_write(v, "bind"));
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
	const struct vpu *v = vpu_get();
	pthread_t mapper;
	__u64 iova, n = 0;
	int uffd, fd;

	ASSERT_NE(NULL, v);
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
	call.arg->blocks = blk(0);
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
	ASSERT_EQ(0, _test_map_user(fd, VPUDOM_MAP_READ, blk(0), b, PAGE_SZ, &iova));
	/* The lowest free IOVA, where the stalled map went too. */
	EXPECT_TRUE(debugfs_has(BNAME(v, 0), iova, "user"));

	/* The page goes: the stalled copy fails, and the map rolls back. */
	ASSERT_EQ(0, munmap(page, PAGE_SZ));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WAKE, &reg.range));
	ASSERT_EQ(0, pthread_join(mapper, NULL));
	EXPECT_EQ(-EFAULT, call.ret);

	/* b's mapping is intact, and it is the only one left. */
	EXPECT_TRUE(debugfs_has(BNAME(v, 0), iova, "user"));
	EXPECT_EQ(-EEXIST, _test_map_fixed(fd, VPUDOM_MAP_READ, blk(0), a, PAGE_SZ, iova));
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
	int udev, dbuf;
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
		dbuf = vpu_udmabuf(udev, 4 * PAGE_SZ, NULL);
		ASSERT_LE(0, dbuf);
		mdb.fd = dbuf;
		ASSERT_EQ(0, _ioctl(fd, VPUDOM_MAP_DMABUF, &mdb));
		EXPECT_EQ(-EXDEV, _test_sync(fd, VPUDOM_SYNC_BEGIN_CPU, 2,
					     mdb.iova, PAGE_SZ));
		EXPECT_EQ(0, _test_unmap_all(fd, NULL));
		close(dbuf);
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
	char pid[64], info[4096], path[128], *line, *end;
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
	snprintf(path, sizeof(path), DEBUGFS "/%s/info", vpudom_inst());
	fd = open(path, O_RDONLY);
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

/*
 * A map that fails after the clean invalidates nothing: no device saw it.
 * A fixed map over a live mapping passes the window check made before
 * pinning and is refused under the locks, after the clean.
 */
TEST_F(cache, failed_map_invalidates_nothing)
{
	char *buf = mmap(NULL, 8 * PAGE_SZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	__u64 iova;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, _test_map_user(self->fd, RW, 1 << 1, buf, 4 * PAGE_SZ,
				    &iova));
	cache_reset(self->tracing);
	EXPECT_EQ(-EEXIST, _test_map_fixed(self->fd, RW, 1 << 1,
					   buf + 4 * PAGE_SZ, 4 * PAGE_SZ,
					   iova));
	EXPECT_EQ(self->coherent ? 0 : 4 * PAGE_SZ,
		  cache_bytes(self->tracing, false));
	EXPECT_EQ(0, cache_bytes(self->tracing, true));
	ASSERT_EQ(0, _test_unmap(self->fd, 1, iova, 4 * PAGE_SZ, NULL));
	munmap(buf, 8 * PAGE_SZ);
}

TEST_HARNESS_MAIN
