/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the vpudom selftests: each _test_*() helper makes one call and
 * returns 0 or -errno, so that tests can pin the exact errno.
 */
#ifndef _VPUDOM_UTILS_H
#define _VPUDOM_UTILS_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/udmabuf.h>
#include <linux/vpudom.h>

#define PAGE_SZ		4096UL
#define SZ_1M		0x100000UL
#define SZ_2M		0x200000UL
#define MIB(x)		((unsigned long long)(x) * SZ_1M)
#define DEBUGFS		"/sys/kernel/debug/vpudom"

/*
 * A dma-buf of @size bytes from udmabuf (/dev/udmabuf open as @udev), over
 * a memfd sealed against shrinking: its fd, or -errno.  The memfd goes to
 * *@memfd if the caller wants it, and is closed otherwise.
 */
static inline int vpu_udmabuf(int udev, __u64 size, int *memfd)
{
	struct udmabuf_create create = {
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.size = size,
	};
	int mfd, buf;

	mfd = memfd_create("vpudom", MFD_ALLOW_SEALING);
	if (mfd < 0)
		return -errno;
	create.memfd = mfd;
	if (ftruncate(mfd, size) || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK))
		buf = -1;
	else
		buf = ioctl(udev, UDMABUF_CREATE, &create);
	if (buf < 0)
		buf = -errno;
	if (buf >= 0 && memfd)
		*memfd = mfd;
	else
		close(mfd);
	return buf;
}

static inline const char *vpudom_dev(void)
{
	const char *dev = getenv("VPUDOM_DEV");

	return dev ? dev : "/dev/vpudom0";
}

/* The instance name of vpudom_dev() ("vpudom0"), its debugfs directory. */
static inline const char *vpudom_inst(void)
{
	const char *dev = vpudom_dev(), *slash = strrchr(dev, '/');

	return slash ? slash + 1 : dev;
}

/* The block mask of one block. */
static inline __u64 blk(unsigned int block)
{
	return 1ULL << block;
}

static inline int _ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int _test_map_user(int fd, __u32 flags, __u64 blocks,
				 const void *va, __u64 length, __u64 *iova)
{
	struct vpudom_map_user cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.blocks = blocks,
		.user_va = (__u64)(uintptr_t)va,
		.length = length,
		.iova = iova && (flags & VPUDOM_MAP_FIXED_IOVA) ? *iova : 0,
	};
	int ret = _ioctl(fd, VPUDOM_MAP_USER, &cmd);

	if (!ret && iova)
		*iova = cmd.iova;
	return ret;
}

static inline int _test_map_fixed(int fd, __u32 flags, __u64 blocks,
				  const void *va, __u64 length, __u64 iova)
{
	return _test_map_user(fd, flags | VPUDOM_MAP_FIXED_IOVA, blocks, va,
			      length, &iova);
}

static inline int _test_unmap(int fd, __u32 block, __u64 iova, __u64 length,
			      __u64 *unmapped)
{
	struct vpudom_unmap cmd = {
		.size = sizeof(cmd),
		.block = block,
		.iova = iova,
		.length = length,
	};
	int ret = _ioctl(fd, VPUDOM_UNMAP, &cmd);

	if (!ret && unmapped)
		*unmapped = cmd.length;
	return ret;
}

static inline int _test_unmap_all(int fd, __u64 *unmapped)
{
	struct vpudom_unmap cmd = {
		.size = sizeof(cmd),
		.flags = VPUDOM_UNMAP_ALL,
	};
	int ret = _ioctl(fd, VPUDOM_UNMAP, &cmd);

	if (!ret && unmapped)
		*unmapped = cmd.length;
	return ret;
}

static inline int _test_ranges(int fd, __u32 block,
			       struct vpudom_iova_range *r, __u32 *num)
{
	struct vpudom_iova_ranges cmd = {
		.size = sizeof(cmd),
		.block = block,
		.num_ranges = *num,
		.ranges_uptr = (__u64)(uintptr_t)r,
	};
	int ret = _ioctl(fd, VPUDOM_IOVA_RANGES, &cmd);

	*num = cmd.num_ranges;
	return ret;
}

/* A counter from /proc/vmstat, or -1. */
static inline long vmstat_counter(const char *name)
{
	char key[64];
	long val;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2) {
		if (!strcmp(key, name)) {
			fclose(f);
			return val;
		}
	}
	fclose(f);
	return -1;
}

/*
 * Pages pinned and not yet released, system-wide.  The counters are folded
 * from per-CPU deltas lazily; writing stat_refresh (root only) folds them
 * now, so that the difference is exact.
 */
static inline long pins_held(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			perror("stat_refresh");
		close(fd);
	}
	return vmstat_counter("nr_foll_pin_acquired") -
	       vmstat_counter("nr_foll_pin_released");
}

/* VmLck, in KiB, from an open /proc/<pid>/status. */
static inline long vm_locked_kb_fd(int fd)
{
	char buf[4096], *p;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "VmLck:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

/* VmLck of this process, in KiB. */
static inline long vm_locked_kb(void)
{
	int fd = open("/proc/self/status", O_RDONLY);
	long kb = vm_locked_kb_fd(fd);

	close(fd);
	return kb;
}

/* The value of "<key>: <value>" in the instance's debugfs info, or "". */
static inline void debugfs_info(const char *key, char *value, size_t len)
{
	char line[256], *v;
	size_t k = strlen(key);
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), DEBUGFS "/%s/info", vpudom_inst());
	f = fopen(path, "r");
	value[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, k) || line[k] != ':')
			continue;
		v = line + k + 1 + strspn(line + k + 1, " ");
		v[strcspn(v, "\n")] = '\0';
		snprintf(value, len, "%s", v);
	}
	if (f)
		fclose(f);
}

/*
 * A column of the user's line in debugfs vpudom/users ("mappings",
 * "bytes" or "pinned"): 0 when the user holds nothing and has no line;
 * -1 if the file cannot be read.
 */
static inline long long user_acct(unsigned int uid, const char *what)
{
	unsigned long long val[3];
	char line[256];
	unsigned int u;
	long long ret = 0;
	int col = !strcmp(what, "mappings") ? 0 : !strcmp(what, "bytes") ? 1 : 2;
	FILE *f = fopen(DEBUGFS "/users", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %llu %llu %llu", &u, &val[0], &val[1],
			   &val[2]) == 4 && u == uid)
			ret = val[col];
	fclose(f);
	return ret;
}

/* Read a vpudom module parameter into @old and write @val to it. */
static inline int set_param(const char *name, const char *val, char *old,
			    size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/vpudom/parameters/%s", name);
	f = fopen(path, "r+");
	if (!f)
		return -1;
	if (old && !fgets(old, len, f)) {
		fclose(f);
		return -1;
	}
	rewind(f);
	fputs(val, f);
	return fclose(f);
}

/* Live mappings of a block of the instance, as debugfs lists them. */
static inline int debugfs_mappings(const char *block)
{
	char path[128], line[256];
	int n = -1;
	FILE *f;

	snprintf(path, sizeof(path), DEBUGFS "/%s/%s/mappings", vpudom_inst(),
		 block);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* Whether debugfs lists a mapping at @iova in @block, with @what in it. */
static inline int debugfs_has(const char *block, __u64 iova, const char *what)
{
	char path[128], line[256], first[32];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), DEBUGFS "/%s/%s/mappings", vpudom_inst(),
		 block);
	snprintf(first, sizeof(first), "0x%016llx", (unsigned long long)iova);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, first, strlen(first)) && strstr(line, what))
			found = 1;
	fclose(f);
	return found;
}

/*
 * What a VPU is, as its ioctls describe it: the tests take the blocks,
 * windows and usable ranges from here, never from a table of their own,
 * so that they run on any SoC.  Whether the answers are right is checked
 * against other sources (debugfs, the IOMMU's reserved regions in sysfs,
 * the devicetree) by the tests that are about them.
 */
#define VPU_MAX_BLOCKS	8	/* VPUDOM_MAX_BLOCKS of the kernel */
#define VPU_MAX_RANGES	16

struct vpu_block {
	struct vpudom_block_info info;
	struct vpudom_iova_range usable[VPU_MAX_RANGES];
	unsigned int nr_usable;
};

struct vpu {
	char device[64];
	char hardware[32];
	unsigned int nr_blocks;
	struct vpu_block b[VPU_MAX_BLOCKS];
};

/* Describe the VPU behind @fd into @v: 0 or -errno. */
static inline int vpu_describe(int fd, struct vpu *v)
{
	struct vpudom_info info = {
		.size = sizeof(info),
		.num_blocks = VPU_MAX_BLOCKS,
	};
	struct vpudom_block_info bi[VPU_MAX_BLOCKS];
	unsigned int i;
	int ret;

	memset(v, 0, sizeof(*v));
	info.blocks_uptr = (__u64)(uintptr_t)bi;
	ret = _ioctl(fd, VPUDOM_INFO, &info);
	if (ret)
		return ret;
	if (!info.num_blocks || info.num_blocks > VPU_MAX_BLOCKS)
		return -ERANGE;
	memcpy(v->device, info.out_device, sizeof(v->device));
	memcpy(v->hardware, info.out_hardware, sizeof(v->hardware));
	v->device[sizeof(v->device) - 1] = '\0';
	v->hardware[sizeof(v->hardware) - 1] = '\0';
	v->nr_blocks = info.num_blocks;
	for (i = 0; i < v->nr_blocks; i++) {
		__u32 n = VPU_MAX_RANGES;

		v->b[i].info = bi[i];
		ret = _test_ranges(fd, i, v->b[i].usable, &n);
		if (ret)
			return ret;
		v->b[i].nr_usable = n;
	}
	return 0;
}

/* Whether [@iova, @iova + @len) lies in one usable range of @b. */
static inline int vpu_usable(const struct vpu_block *b, __u64 iova, __u64 len)
{
	unsigned int i;

	for (i = 0; i < b->nr_usable; i++)
		if (iova >= b->usable[i].start && len &&
		    iova + len - 1 >= iova && iova + len - 1 <= b->usable[i].last)
			return 1;
	return 0;
}

/* Whether [@iova, @iova + @len) lies in @b's window. */
static inline int vpu_in_window(const struct vpu_block *b, __u64 iova,
				__u64 len)
{
	return iova >= b->info.window_start && len && iova + len - 1 >= iova &&
	       iova + len - 1 <= b->info.window_last;
}

/*
 * The lowest IOVA where @len bytes are usable in every block of @mask:
 * 0 and @iova, or -ENOSPC.  The lowest such IOVA is the start of a usable
 * range of one of the blocks.
 */
static inline int vpu_common(const struct vpu *v, __u64 mask, __u64 len,
			     __u64 *iova)
{
	unsigned int i, j, k;
	__u64 best = 0;
	int found = 0;

	for (i = 0; i < v->nr_blocks; i++) {
		if (!(mask & blk(i)))
			continue;
		for (j = 0; j < v->b[i].nr_usable; j++) {
			__u64 at = v->b[i].usable[j].start;

			for (k = 0; k < v->nr_blocks; k++)
				if ((mask & blk(k)) && !vpu_usable(&v->b[k], at, len))
					break;
			if (k == v->nr_blocks && (!found || at < best)) {
				best = at;
				found = 1;
			}
		}
	}
	if (!found)
		return -ENOSPC;
	*iova = best;
	return 0;
}

/*
 * Two blocks @a < @b where @len bytes are usable in both, and the lowest
 * such IOVA: 0, or -ENOSPC if no two blocks of the VPU share usable IOVAs.
 */
static inline int vpu_meeting(const struct vpu *v, __u64 len, unsigned int *a,
			      unsigned int *b, __u64 *iova)
{
	for (*a = 0; *a < v->nr_blocks; (*a)++)
		for (*b = *a + 1; *b < v->nr_blocks; (*b)++)
			if (!vpu_common(v, blk(*a) | blk(*b), len, iova))
				return 0;
	return -ENOSPC;
}

/* The largest usable range of @b. */
static inline const struct vpudom_iova_range *
vpu_largest(const struct vpu_block *b)
{
	const struct vpudom_iova_range *r = &b->usable[0];
	unsigned int i;

	for (i = 1; i < b->nr_usable; i++)
		if (b->usable[i].last - b->usable[i].start > r->last - r->start)
			r = &b->usable[i];
	return r;
}

/* The largest page size of @b's domain not above @len (the allocator's). */
static inline __u64 vpu_align(const struct vpu_block *b, __u64 len)
{
	__u64 a = 0, bit;

	for (bit = 1; bit && bit <= len; bit <<= 1)
		if (b->info.pgsize_bitmap & bit)
			a = bit;
	return a ? a : PAGE_SZ;
}

/*
 * A fixed IOVA for @len bytes in @b that automatic maps are least likely
 * to take: the middle of its largest usable range, aligned to 2 MiB (small
 * buffers go to the bottom of a window, large ones to the top).  0 if no
 * range holds @len.
 */
static inline __u64 vpu_quiet_iova(const struct vpu_block *b, __u64 len)
{
	const struct vpudom_iova_range *best = NULL, *r;
	__u64 mid;
	unsigned int i;

	for (i = 0; i < b->nr_usable; i++) {
		r = &b->usable[i];
		if (!best || r->last - r->start > best->last - best->start)
			best = r;
	}
	if (!best || best->last - best->start + 1 < len)
		return 0;
	mid = (best->start + (best->last - best->start) / 2) & ~(MIB(2) - 1);
	if (mid < best->start || mid + len - 1 > best->last)
		mid = best->start;
	return mid;
}

#endif /* _VPUDOM_UTILS_H */
