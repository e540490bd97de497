// SPDX-License-Identifier: GPL-2.0-only
/*
 * The user side of `make bench`: vpudom against the DMA API, VFIO type1 and
 * the bare IOMMU API on one emulated SMMUv3, in one run.
 *
 *   vpudom_bench [--quick] [--reps N]
 *                [--live N]
 *                [--only pt|memory|live|kernel|user|batch|scale|fill|threads|decode]
 *
 * Kernel-path rows are run by the vpudom_bench module through
 * /sys/kernel/debug/vpudom_bench/cmd; user-path rows here, through
 * /dev/vpudom<N> and through VFIO on the edu device bound to vfio-pci.
 * Every row is measured in repetitions whose paths run interleaved, in an
 * order that rotates, and reports the median and the spread (max - min, in
 * % of the median).  Only ratios between rows of one run mean anything: the
 * SMMU and the CPU are emulated.
 *
 * --quick is the smoke test of `make check`: every row, tiny counts.  Both
 * exit non-zero if any measurement fails.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>
#include <linux/vpudom.h>

#define KCMD		"/sys/kernel/debug/vpudom_bench/cmd"
#define DEBUGFS		"/sys/kernel/debug/vpudom"
#define PAGE_SZ		4096ULL
#define SZ_2M		(2ULL << 20)
#define MAX_REPS	9
#define NR_SIZES	4
/* Where VFIO maps: any 2 MiB-aligned IOVA clear of the MSI window. */
#define VFIO_IOVA	0x100000000ULL
/* The block the user rows use (the kernel rows use it too, one at a time). */
#define UBLOCK		0
/* The memory row's live mappings. */
#define MEMORY_LIVE	20000
/* The live row: at most, and in the smoke. */
#define LIVE_MAX	2000000
#define LIVE_QUICK	1000
#define VFIO_ENTRY_LIMIT "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"

static const unsigned long long sizes[NR_SIZES] = {
	4096, 64 << 10, 2 << 20, 16 << 20,
};

static const char * const size_names[NR_SIZES] = { "4K", "64K", "2M", "16M" };

static struct {
	bool quick;
	int reps;
	/* What one repetition of a row should take, so that it is timeable. */
	double target_ns;
	int vpu_fd;
	int vfio_container;
	int vfio_group_fd;
	int group;
	int failed;
	const char *only;
	/* Live mappings of the live row, per path; 0: not run. */
	unsigned int live;
} opt = {
	.reps = 7,
	.target_ns = 30e6,
	.vpu_fd = -1,
	.vfio_container = -1,
	.vfio_group_fd = -1,
	.group = -1,
};

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stdout, "bench: error: ");
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	opt.failed++;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/**
 * struct samples - one row's repetitions of one path
 * @v: per-operation time (or value) of each repetition
 * @n: how many
 */
struct samples {
	double v[MAX_REPS];
	int n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const struct samples *s)
{
	double v[MAX_REPS];

	if (!s->n)
		return 0;
	memcpy(v, s->v, sizeof(v));
	qsort(v, s->n, sizeof(v[0]), cmp_double);
	return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

static double spread(const struct samples *s)
{
	double lo = s->v[0], hi = s->v[0], m = median(s);
	int i;

	for (i = 1; i < s->n; i++) {
		lo = s->v[i] < lo ? s->v[i] : lo;
		hi = s->v[i] > hi ? s->v[i] : hi;
	}
	return m > 0 ? (hi - lo) / m * 100 : 0;
}

/* "12.34 (5%)": median in µs and spread; "n/a" without measurements. */
static const char *fmt_us(char *buf, const struct samples *s)
{
	if (!s->n)
		return memcpy(buf, "n/a", sizeof("n/a"));
	sprintf(buf, "%.2f (%.0f%%)", median(s) / 1e3, spread(s));
	return buf;
}

/* median(@a) / median(@b): for rows whose paths are not run side by side. */
static const char *fmt_ratio(char *buf, const struct samples *a,
			     const struct samples *b)
{
	if (!a->n || !b->n || median(b) <= 0)
		return memcpy(buf, "n/a", sizeof("n/a"));
	sprintf(buf, "%.2fx", median(a) / median(b));
	return buf;
}

/*
 * The median of @a->v[i] / @b->v[i]: the ratio paired within each
 * repetition, where both paths ran back to back, so that a slow moment of
 * the host weighs on both sides of one ratio rather than on one median.
 */
static const char *fmt_paired(char *buf, const struct samples *a,
			      const struct samples *b)
{
	struct samples r = { 0 };
	int i;

	for (i = 0; i < a->n && i < b->n; i++)
		if (b->v[i] > 0)
			r.v[r.n++] = a->v[i] / b->v[i];
	if (!r.n || a->n != b->n)
		return memcpy(buf, "n/a", sizeof("n/a"));
	sprintf(buf, "%.2fx", median(&r));
	return buf;
}

/* One command to the kernel module; its result line in @out. */
static int kcmd(char *out, size_t len, const char *fmt, ...)
{
	char cmd[128];
	va_list ap;
	ssize_t n;
	int fd;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fd = open(KCMD, O_RDWR);
	if (fd < 0) {
		fail("%s: %s", KCMD, strerror(errno));
		return -1;
	}
	if (write(fd, cmd, strlen(cmd)) < 0) {
		fail("kernel \"%s\": %s", cmd, strerror(errno));
		close(fd);
		return -1;
	}
	n = pread(fd, out, len - 1, 0);
	close(fd);
	if (n <= 0) {
		fail("kernel \"%s\": no result", cmd);
		return -1;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* A kernel command that answers "ns <total>": the total, or -1. */
static double kcmd_ns(const char *fmt, ...)
{
	char cmd[128], out[256];
	unsigned long long ns;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (kcmd(out, sizeof(out), "%s", cmd))
		return -1;
	if (sscanf(out, "ns %llu", &ns) != 1) {
		fail("kernel \"%s\": bad result \"%s\"", cmd, out);
		return -1;
	}
	return ns;
}

/* How many iterations make one repetition last opt.target_ns. */
static unsigned int calibrate(double one_ns, unsigned int max)
{
	double n = one_ns > 0 ? opt.target_ns / one_ns : 1;

	if (n < 1)
		return 1;
	return n > max ? max : (unsigned int)n;
}

/*
 * The same for one path of a row, each path on its own: @run(@arg, n)
 * times n iterations and returns ns per iteration (< 0 on failure).  A
 * first guess from one iteration, refined on a tenth of the target.
 */
static int calibrate_path(double (*run)(void *arg, unsigned int n), void *arg,
			  unsigned int max, unsigned int *iters)
{
	double t = run(arg, 1);
	unsigned int n;

	if (t < 0)
		return -1;
	n = calibrate(t * 10, max);
	t = run(arg, n);
	if (t < 0)
		return -1;
	*iters = calibrate(t, max);
	return 0;
}

/* Slab memory in bytes, with every CPU's counter deltas folded in. */
static long long slab_bytes(void)
{
	long long total = 0, kb;
	char line[256];
	FILE *f;
	int fd;

	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			; /* EINVAL when a counter is negative: still folded */
		close(fd);
	}
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SReclaimable: %lld kB", &kb) == 1 ||
		    sscanf(line, "SUnreclaim: %lld kB", &kb) == 1)
			total += kb * 1024;
	fclose(f);
	return total;
}

static long long read_debugfs_u64(const char *path, const char *key)
{
	char line[256];
	long long v = -1;
	size_t klen = strlen(key);
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen))
			v = strtoll(line + klen, NULL, 0);
	fclose(f);
	return v;
}

/* ---- the user path: vpudom ioctls and VFIO type1 ---- */

/* Whether a debugfs info file has the line "<key> <value>" (any spaces). */
static bool info_has(const char *path, const char *key, const char *value)
{
	size_t klen = strlen(key);
	char line[256], *v;
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen))
			continue;
		v = line + klen + strspn(line + klen, " ");
		v[strcspn(v, "\n")] = '\0';
		found = !strcmp(v, value);
	}
	fclose(f);
	return found;
}

/*
 * The instance whose debugfs info has "<key> <value>", opened; its
 * debugfs name, which is its device node's, in @name.
 */
static int open_vpu_by(const char *key, const char *value, char *name,
		       size_t len)
{
	char path[512];
	struct dirent *de;
	bool found = false;
	DIR *d;

	d = opendir(DEBUGFS);
	if (!d)
		return -1;
	while (!found && (de = readdir(d))) {
		if (strncmp(de->d_name, "vpudom", 6))
			continue;
		snprintf(path, sizeof(path), DEBUGFS "/%s/info", de->d_name);
		found = info_has(path, key, value);
		if (found)
			snprintf(name, len, "%s", de->d_name);
	}
	closedir(d);
	if (!found)
		return -1;
	snprintf(path, sizeof(path), "/dev/%s", name);
	return open(path, O_RDWR);
}

/* The instance of the reference VPU. */
static int open_vpu(char *name, size_t len)
{
	return open_vpu_by("hardware:", "ref-vpu", name, len);
}

static int vpu_map_in(int fd, unsigned int block, void *va,
		      unsigned long long len, unsigned long long *iova)
{
	struct vpudom_map_user cmd = {
		.size = sizeof(cmd),
		.flags = VPUDOM_MAP_READ | VPUDOM_MAP_WRITE,
		.blocks = 1ULL << block,
		.user_va = (uintptr_t)va,
		.length = len,
	};

	if (ioctl(fd, VPUDOM_MAP_USER, &cmd))
		return -errno;
	*iova = cmd.iova;
	return 0;
}

/* Unmap the session's whole mappings in a range: bytes unmapped, or -errno. */
static long long vpu_unmap_in(int fd, unsigned int block,
			      unsigned long long iova, unsigned long long len)
{
	struct vpudom_unmap cmd = {
		.size = sizeof(cmd),
		.block = block,
		.iova = iova,
		.length = len,
	};

	return ioctl(fd, VPUDOM_UNMAP, &cmd) ? -errno : (long long)cmd.length;
}

static int vpu_map(void *va, unsigned long long len, unsigned long long *iova)
{
	return vpu_map_in(opt.vpu_fd, UBLOCK, va, len, iova);
}

static int vpu_unmap(unsigned long long iova, unsigned long long len)
{
	long long ret = vpu_unmap_in(opt.vpu_fd, UBLOCK, iova, len);

	return ret < 0 ? ret : 0;
}

static int vpu_unmap_all(void)
{
	struct vpudom_unmap cmd = {
		.size = sizeof(cmd),
		.flags = VPUDOM_UNMAP_ALL,
	};

	return ioctl(opt.vpu_fd, VPUDOM_UNMAP, &cmd) ? -errno : 0;
}

static int vfio_map(void *va, unsigned long long iova, unsigned long long len)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = len,
	};

	return ioctl(opt.vfio_container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

static int vfio_unmap(unsigned long long iova, unsigned long long len)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = len,
	};

	if (ioctl(opt.vfio_container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	return unmap.size == len ? 0 : -EIO;
}

/* The IOMMU group of the device vfio-pci drives, or -1. */
static int vfio_find_group(void)
{
	const char *drv = "/sys/bus/pci/drivers/vfio-pci";
	char path[512], link[512];
	struct dirent *de;
	int group = -1;
	ssize_t n;
	DIR *d;

	d = opendir(drv);
	if (!d)
		return -1;
	while (group < 0 && (de = readdir(d))) {
		if (de->d_name[0] != '0')
			continue;
		snprintf(path, sizeof(path), "%s/%s/iommu_group", drv,
			 de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		group = atoi(strrchr(link, '/') + 1);
	}
	closedir(d);
	return group;
}

static int vfio_open(void)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64];

	opt.group = vfio_find_group();
	if (opt.group < 0)
		return -1;
	opt.vfio_container = open("/dev/vfio/vfio", O_RDWR);
	if (opt.vfio_container < 0)
		return -1;
	if (ioctl(opt.vfio_container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(opt.vfio_container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU))
		return -1;
	snprintf(path, sizeof(path), "/dev/vfio/%d", opt.group);
	opt.vfio_group_fd = open(path, O_RDWR);
	if (opt.vfio_group_fd < 0)
		return -1;
	if (ioctl(opt.vfio_group_fd, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -1;
	if (ioctl(opt.vfio_group_fd, VFIO_GROUP_SET_CONTAINER,
		  &opt.vfio_container) ||
	    ioctl(opt.vfio_container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return -1;
	return 0;
}

/*
 * A buffer of @len bytes, 2 MiB-aligned, faulted in; with @thp backed by
 * transparent huge pages if the kernel gives them, else by 4 KiB pages.
 */
static void *user_buf(unsigned long long len, bool thp, void **base,
		      size_t *maplen)
{
	unsigned long long span = ((len + SZ_2M - 1) & ~(SZ_2M - 1)) + SZ_2M;
	char *p, *a;

	p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + SZ_2M - 1) & ~(SZ_2M - 1));
	madvise(a, span - SZ_2M, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(a, 0x5a, span - SZ_2M);
	*base = p;
	*maplen = span;
	return a;
}

/* Bytes of the mapping that holds @va backed by huge pages, from smaps. */
static long long thp_backed(void *va)
{
	unsigned long lo, hi, target = (uintptr_t)va;
	char line[256];
	bool in = false;
	long long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = target >= lo && target < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %lld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* ---- sections ---- */

static void print_header(void)
{
	char type[64] = "unknown", line[64];
	struct utsname u;
	FILE *f;

	uname(&u);
	f = popen("cat /sys/bus/pci/drivers/vpudom_bench/*/iommu_group/type 2>/dev/null", "r");
	if (f) {
		if (fgets(line, sizeof(line), f))
			sscanf(line, "%63s", type);
		pclose(f);
	}
	printf("vpudom bench: kernel %s %s, QEMU virt with an emulated SMMUv3\n",
	       u.release, u.machine);
	printf("DMA API peer: edu device, default domain type %s%s\n", type,
	       strcmp(type, "DMA") ? "" : " (strict invalidation)");
	printf("VFIO peer: %s\n", opt.vfio_container >= 0 ?
	       "edu device on vfio-pci, type1v2 container" : "n/a (no vfio-pci device)");
	printf("%d repetitions per row; cells are median (spread = (max - min) / median)\n",
	       opt.reps);
	printf("each path calibrated to %.0f ms per repetition; vpudom's ratios to its peers\n"
	       "in the kernel and user rows are the median of the ratios paired within each\n"
	       "repetition\n", opt.target_ns / 1e6);
}

/*
 * Where vpudom's time over the floor goes, for the smallest row: each
 * piece of a map + unmap timed alone by the module, against the measured
 * difference.  @row: the 4K contig row, vpudom, DMA API, floor.
 */
/* The medians of vpudom's pieces with @live mappings in block 0; 0 or -1. */
static int parts_at(unsigned int live, double v[5])
{
	static const char * const keys[] = {
		"alloc", "lock", "find", "insert_remove", "lookup",
	};
	struct samples part[5] = { 0 };
	char out[256], *at;
	int rep, k;

	for (rep = 0; rep < opt.reps; rep++) {
		if (kcmd(out, sizeof(out), "parts %u %u",
			 opt.quick ? 100 : 10000, live))
			return -1;
		for (k = 0; k < 5; k++) {
			at = strstr(out, keys[k]);
			if (!at) {
				fail("parts: bad result \"%s\"", out);
				return -1;
			}
			part[k].v[part[k].n++] = strtod(at + strlen(keys[k]), NULL);
		}
	}
	for (k = 0; k < 5; k++)
		v[k] = median(&part[k]);
	return 0;
}

static void section_parts(const struct samples *row)
{
	double v[5], sum, over;

	if (parts_at(0, v))
		return;
	/*
	 * A map + unmap takes: one mapping record; the instance and block
	 * locks twice; one find; one insert and one remove; the unmap's two
	 * walks of its range, each at least a lookup.
	 */
	v[1] *= 2;
	v[4] *= 2;
	sum = v[0] + v[1] + v[2] + v[3] + v[4];
	over = median(&row[0]) - median(&row[2]);
	printf("\n[kernel] vpudom over the floor, 4K contig row, ns per map + unmap\n");
	printf("%-44s %8.0f\n", "measured: vpudom - floor", over);
	printf("%-44s %8.0f\n", "measured: DMA API - floor", median(&row[1]) - median(&row[2]));
	printf("%-44s %8.0f\n", "  mapping record: slab alloc + free", v[0]);
	printf("%-44s %8.0f\n", "  instance rwsem + block mutex, map and unmap", v[1]);
	printf("%-44s %8.0f\n", "  IOVA lowest-fit search (maple tree gaps)", v[2]);
	printf("%-44s %8.0f\n", "  IOVA insert + remove (maple tree stores)", v[3]);
	printf("%-44s %8.0f\n", "  unmap's range walks (2 lookups)", v[4]);
	printf("%-44s %8.0f (%.0f%% of the measured difference)\n",
	       "  sum of the pieces", sum, over > 0 ? sum / over * 100 : 0);
}

/* One path of a kernel sg_table row. */
struct sg_row {
	const char *path;
	unsigned long long size;
	const char *layout;
};

/* @n map + unmap of a kernel sg row: ns per pair, or -1. */
static double sg_run(void *arg, unsigned int n)
{
	const struct sg_row *r = arg;
	double t = kcmd_ns("sg %s %llu %s %u", r->path, r->size, r->layout, n);

	return t < 0 ? -1 : t / n;
}

/* Kernel sg_table rows. */
static void section_kernel(void)
{
	static const char * const paths[] = { "vpudom", "dma", "floor" };
	char a[32], b[32], c[32], r1[16], r2[16];
	struct samples small[3] = { 0 };
	int s, l, rep, k, p;

	printf("\n[kernel] sg_table map + unmap, us per pair\n");
	printf("%-5s %-10s %-16s %-16s %-16s %-9s %-9s\n", "size", "memory",
	       "vpudom", "DMA API", "floor", "vs DMA", "vs floor");
	for (s = 0; s < NR_SIZES; s++) {
		for (l = 0; l < 2; l++) {
			const char *layout = l ? "contig" : "scattered";
			struct samples st[3] = { 0 };
			struct sg_row row[3];
			unsigned int iters[3];
			double t;

			/* Warm up every path, then calibrate each on its own. */
			for (p = 2; p >= 0; p--) {
				row[p] = (struct sg_row){ paths[p], sizes[s], layout };
				if (sg_run(&row[p], 1) < 0)
					return;
			}
			for (p = 0; p < 3; p++)
				if (calibrate_path(sg_run, &row[p], 20000, &iters[p]))
					return;
			for (rep = 0; rep < opt.reps; rep++) {
				for (k = 0; k < 3; k++) {
					p = (rep + k) % 3;
					t = sg_run(&row[p], iters[p]);
					if (t < 0)
						return;
					st[p].v[st[p].n++] = t;
				}
			}
			if (!s && l)
				memcpy(small, st, sizeof(small));
			printf("%-5s %-10s %-16s %-16s %-16s %-9s %-9s\n",
			       size_names[s], layout, fmt_us(a, &st[0]),
			       fmt_us(b, &st[1]), fmt_us(c, &st[2]),
			       fmt_paired(r1, &st[0], &st[1]),
			       fmt_paired(r2, &st[0], &st[2]));
		}
	}
	section_parts(small);
}

/* One user-path repetition: @iters map + unmap; time per pair, or -1. */
static double user_rep(bool vfio, void *va, unsigned long long len,
		       unsigned int iters)
{
	unsigned long long iova = 0;
	unsigned int i;
	double t0 = now_ns();
	int ret;

	for (i = 0; i < iters; i++) {
		if (vfio) {
			ret = vfio_map(va, VFIO_IOVA, len);
			if (!ret)
				ret = vfio_unmap(VFIO_IOVA, len);
		} else {
			ret = vpu_map(va, len, &iova);
			if (!ret)
				ret = vpu_unmap(iova, len);
		}
		if (ret) {
			fail("%s map/unmap of %llu bytes: %s",
			     vfio ? "VFIO" : "vpudom", len, strerror(-ret));
			return -1;
		}
	}
	return (now_ns() - t0) / iters;
}

/* One path of a user row. */
struct user_row {
	bool vfio;
	void *va;
	unsigned long long len;
};

static double user_run(void *arg, unsigned int n)
{
	const struct user_row *r = arg;

	return user_rep(r->vfio, r->va, r->len, n);
}

/* User memory rows: MAP_USER + UNMAP against VFIO MAP_DMA + UNMAP_DMA. */
static void section_user(void)
{
	char a[32], b[32], r[16];
	int s, l, rep, k;

	printf("\n[user] map + unmap of user memory, us per pair\n");
	printf("%-5s %-10s %-16s %-16s %-9s\n", "size", "memory", "vpudom",
	       "VFIO type1", "vs VFIO");
	for (s = 0; s < NR_SIZES; s++) {
		for (l = 0; l < 2; l++) {
			struct samples st[2] = { 0 };
			struct user_row row[2];
			bool thp = l;
			unsigned int iters[2];
			long long huge;
			size_t maplen;
			void *base, *va;
			double t;

			va = user_buf(sizes[s], thp, &base, &maplen);
			if (!va) {
				fail("no memory for %llu bytes", sizes[s]);
				return;
			}
			huge = thp_backed(va);
			/* Each path calibrated on its own. */
			t = 0;
			for (k = 0; k < 2 && t >= 0; k++) {
				row[k] = (struct user_row){ k, va, sizes[s] };
				if (k && opt.vfio_container < 0)
					break;
				t = calibrate_path(user_run, &row[k], 20000,
						   &iters[k]);
			}
			for (rep = 0; rep < opt.reps && t >= 0; rep++) {
				for (k = 0; k < 2; k++) {
					bool vfio = (rep + k) % 2;

					if (vfio && opt.vfio_container < 0)
						continue;
					t = user_rep(vfio, va, sizes[s],
						     iters[vfio]);
					if (t < 0)
						break;
					st[vfio].v[st[vfio].n++] = t;
				}
			}
			printf("%-5s %-10s %-16s %-16s %-9s%s\n", size_names[s],
			       thp ? "THP" : "4K pages", fmt_us(a, &st[0]),
			       fmt_us(b, &st[1]), fmt_paired(r, &st[0], &st[1]),
			       thp && huge <= 0 ? "  (no huge page backing!)" :
			       !thp && huge > 0 ? "  (huge pages despite NOHUGEPAGE!)" : "");
			munmap(base, maplen);
			if (t < 0)
				return;
		}
	}
}

/* Allocator scaling: allocate + free with N live mappings in one window. */
/*
 * Where a map + unmap grows with the live mappings: vpudom's pieces timed
 * alone with @lo and with @hi one-page mappings in block 0.
 */
static void section_scale_parts(unsigned int lo, unsigned int hi)
{
	static const char * const names[] = {
		"mapping record: slab alloc + free",
		"rwsem + block mutex (once)",
		"IOVA find (4 KiB)",
		"IOVA insert + remove",
		"IOVA lookup (once)",
	};
	double a[5], b[5];
	int k;

	if (parts_at(lo, a) || parts_at(hi, b))
		return;
	printf("\n[scale] vpudom's pieces with %u and %u live mappings, ns\n",
	       lo, hi);
	printf("%-34s %-10u %-10u %-8s\n", "piece", lo, hi, "growth");
	for (k = 0; k < 5; k++)
		printf("%-34s %-10.0f %-10.0f %+.0f\n", names[k], a[k], b[k],
		       b[k] - a[k]);
}

static void section_scale(void)
{
	static const unsigned int full[] = { 1, 1000, 10000, 100000 };
	static const unsigned int quick[] = { 1, 100, 1000 };
	static const char * const paths[] = { "alloc", "vpudom", "dma" };
	const unsigned int *lives = opt.quick ? quick : full;
	unsigned int nr = opt.quick ? 3 : 4, i, p, iters[3];
	struct samples st[4][3] = { 0 };
	char cell[3][32], rel[3][16], vs[16];

	printf("\n[scale] allocate + free of 4 KiB with N live 4 KiB mappings in the window, us\n");
	printf("%-7s %-16s %-8s %-16s %-8s %-16s %-8s %-9s\n", "live",
	       "allocator", "vs N=1", "vpudom map", "vs N=1", "DMA API map",
	       "vs N=1", "vs DMA");
	for (p = 0; p < 3; p++)
		iters[p] = calibrate(kcmd_ns("scale %s 1 1 1", paths[p]), 20000);
	for (i = 0; i < nr; i++) {
		for (p = 0; p < 3; p++) {
			char out[256], *tok, *save;
			int rep;

			if (kcmd(out, sizeof(out), "scale %s %u %u %d", paths[p],
				 lives[i], iters[p], opt.reps))
				return;
			tok = strtok_r(out, "\n\t ", &save);
			for (rep = 0; rep < opt.reps; rep++) {
				tok = strtok_r(NULL, "\n\t ", &save);
				if (!tok) {
					fail("scale: short result");
					return;
				}
				st[i][p].v[st[i][p].n++] = strtod(tok, NULL) / iters[p];
			}
		}
		for (p = 0; p < 3; p++) {
			fmt_us(cell[p], &st[i][p]);
			fmt_ratio(rel[p], &st[i][p], &st[0][p]);
		}
		printf("%-7u %-16s %-8s %-16s %-8s %-16s %-8s %-9s\n", lives[i],
		       cell[0], rel[0], cell[1], rel[1], cell[2], rel[2],
		       fmt_ratio(vs, &st[i][1], &st[i][2]));
	}
	section_scale_parts(lives[0], lives[nr - 1]);
}

/*
 * Two threads mapping at once: one-page map + unmap through vpudom by one
 * thread, by two into one block, and by two each into its own block,
 * interleaved within each repetition.  Throughput: operations per wall
 * second, against one thread's.
 */
static void section_threads(void)
{
	static const char * const names[] = {
		"vpudom: 1 thread, block0", "vpudom: 2 threads, both block0",
		"vpudom: 2 threads, block0 and block1",
		"DMA API: 1 thread, edu device", "DMA API: 2 threads, edu device",
	};
	static const char * const cmds[] = {
		"threads 1 same %u", "threads 2 same %u", "threads 2 apart %u",
		"threads 1 dma %u", "threads 2 dma %u",
	};
	static const int threads[] = { 1, 2, 2, 1, 2 };
	/* The one-thread row each row's throughput is measured against. */
	static const int base[] = { 0, 0, 0, 3, 3 };
	struct samples per_op[5] = { 0 }, ratio[5] = { 0 };
	unsigned int iters[5], r;
	double ns, tput[5];
	char cell[32];
	int rep;

	/*
	 * Each path calibrated on its own, on 100 operations (one alone is
	 * mostly thread start-up): one repetition of each lasts opt.target_ns.
	 */
	for (r = 0; r < 5; r++) {
		ns = kcmd_ns(r < 3 ? "threads 1 same 100" : "threads 1 dma 100");
		if (ns <= 0)
			return;
		iters[r] = calibrate(ns / 100 * threads[r], 20000);
	}
	printf("\n[threads] one-page map + unmap by 1 or 2 kthreads, each path calibrated\n"
	       "          to the same duration; vpudom against the DMA API on one device\n");
	printf("%-38s %-16s %s\n", "", "wall ns per op",
	       "throughput vs 1 thread (paired per repetition)");
	for (rep = 0; rep < opt.reps; rep++) {
		for (r = 0; r < 5; r++) {
			ns = kcmd_ns(cmds[r], iters[r]);
			if (ns <= 0)
				return;
			per_op[r].v[per_op[r].n++] = ns / (iters[r] * threads[r]);
			tput[r] = iters[r] * threads[r] / ns;
		}
		for (r = 0; r < 5; r++)
			ratio[r].v[ratio[r].n++] = tput[r] / tput[base[r]];
	}
	for (r = 0; r < 5; r++) {
		snprintf(cell, sizeof(cell), "%.0f", median(&per_op[r]));
		printf("%-38s %-16s %.2fx\n", names[r], cell, median(&ratio[r]));
	}
}

/*
 * A video decoder's trace, through vpudom and through the DMA API: per
 * frame, map + unmap of a bitstream and a metadata buffer while a session's
 * 17 reference frames, motion vectors and metadata stay mapped.  The ratio
 * is paired within each repetition; afterwards, how many sessions fit at
 * once, and how fragmented vpudom's window is after a long run.
 */
static void section_decode(void)
{
	static const char * const res[] = { "1080p", "4k" };
	unsigned int frames = opt.quick ? 200 : 20000, long_run = 100000;
	/* The smoke only needs the count to work: two sessions are enough. */
	unsigned int tries = opt.quick ? 2 : 32;
	struct samples med[2][2] = { 0 }, p99[2][2] = { 0 }, ratio[2] = { 0 };
	unsigned int fit[2][2] = { 0 }, frag = 0, f, r;
	unsigned long long m, p;
	char out[256];
	int rep, path;

	printf("\n[decode] per frame: map + unmap of a bitstream (4 KiB-2 MiB) and\n"
	       "         metadata (4-16 KiB) beside a session's 17 frames, motion\n"
	       "         vectors and metadata; %u frames a run\n", frames);
	printf("%-7s %-8s %-12s %-12s %-10s %s\n", "video", "path",
	       "median us", "p99 us", "vs DMA", "sessions at once");
	for (r = 0; r < 2; r++) {
		for (rep = 0; rep < opt.reps; rep++) {
			for (path = 0; path < 2; path++) {
				if (kcmd(out, sizeof(out), "decode %s %s %u %d %u",
					 path ? "dma" : "vpudom", res[r], frames,
					 rep + 1, tries))
					return;
				if (sscanf(out, "median %llu p99 %llu sessions %u frag %u",
					   &m, &p, &fit[r][path], &f) != 4) {
					fail("decode: bad result \"%s\"", out);
					return;
				}
				med[r][path].v[med[r][path].n++] = m / 1e3;
				p99[r][path].v[p99[r][path].n++] = p / 1e3;
			}
			ratio[r].v[ratio[r].n++] = med[r][0].v[rep] / med[r][1].v[rep];
		}
		for (path = 0; path < 2; path++) {
			char ratio_cell[16] = "";

			if (!path)
				snprintf(ratio_cell, sizeof(ratio_cell), "%.2fx",
					 median(&ratio[r]));
			printf("%-7s %-8s %-12.1f %-12.1f %-10s %u%s\n", res[r],
			       path ? "DMA API" : "vpudom", median(&med[r][path]),
			       median(&p99[r][path]), ratio_cell, fit[r][path],
			       fit[r][path] >= tries ? " (the most tried)" : "");
		}
	}
	if (opt.quick)
		return;
	if (kcmd(out, sizeof(out), "decode vpudom 4k %u 7 1", long_run) ||
	    sscanf(out, "median %llu p99 %llu sessions %u frag %u", &m, &p,
		   &f, &frag) != 4) {
		fail("decode: long run failed");
		return;
	}
	printf("vpudom after %u 4k frames: %u%% of the free IOVA space lies\n"
	       "outside the largest free range\n", long_run, frag);
}

/*
 * Fill ratio of a window under random sizes (block 2).  Where the second
 * ENOSPC comes depends on when the draws ask for 16 MiB, so one seed says
 * little about a policy: nine, and their median and minimum.
 */
static void section_fill(char *vpu)
{
	char path[512], out[256];
	unsigned int seeds = opt.quick ? 1 : 9, i;
	unsigned long long m1, b1, m2, b2;
	double first[9], churn[9];
	long long usable;

	snprintf(path, sizeof(path), DEBUGFS "/%s/block2/stats", vpu);
	usable = read_debugfs_u64(path, "usable_bytes:");
	printf("\n[fill] random sizes, log-uniform 4 KiB..16 MiB, into block2 (%lld MiB usable)\n",
	       usable >> 20);
	printf("%-6s %-26s %-26s\n", "seed", "at first ENOSPC",
	       "after freeing half, refill");
	if (usable <= 0) {
		fail("%s: no usable_bytes", path);
		return;
	}
	for (i = 1; i <= seeds; i++) {
		if (kcmd(out, sizeof(out), "fill %u", i))
			return;
		if (sscanf(out, "first %llu %llu churn %llu %llu", &m1, &b1,
			   &m2, &b2) != 4) {
			fail("fill: bad result \"%s\"", out);
			return;
		}
		first[i - 1] = 100.0 * b1 / usable;
		churn[i - 1] = 100.0 * b2 / usable;
		printf("%-6u %5.1f%% in %-5llu maps     %5.1f%% in %-5llu maps\n",
		       i, first[i - 1], m1, churn[i - 1], m2);
	}
	qsort(first, seeds, sizeof(first[0]), cmp_double);
	qsort(churn, seeds, sizeof(churn[0]), cmp_double);
	printf("%-6s %5.1f%% (min %5.1f%%)       %5.1f%% (min %5.1f%%)\n",
	       "median", first[seeds / 2], first[0], churn[seeds / 2], churn[0]);
}

/* Page-table pages per mapped MiB. */
static void section_pt(void)
{
	static const char * const paths[] = { "vpudom", "dma" };
	unsigned long long size = opt.quick ? 4ULL << 20 : 64ULL << 20;
	unsigned long long alloc, freed;
	char out[256];
	int p, l, warm;

	printf("\n[page tables] io-pgtable pages per mapped MiB (%llu MiB buffer)\n",
	       size >> 20);
	printf("%-8s %-10s %-14s %-14s\n", "path", "memory", "pages/MiB",
	       "freed by unmap");
	for (p = 0; p < 2; p++) {
		for (l = 0; l < 2; l++) {
			const char *layout = l ? "contig" : "scattered";

			/* The first map also builds the upper levels. */
			for (warm = 0; warm < 2; warm++)
				if (kcmd(out, sizeof(out), "pt %s %llu %s",
					 paths[p], size, layout))
					return;
			if (!strncmp(out, "unavailable", 11)) {
				printf("%-8s %-10s n/a: no kprobe on io-pgtable: error %s\n",
				       paths[p], layout, out + 12);
				continue;
			}
			if (sscanf(out, "alloc %llu free %llu", &alloc,
				   &freed) != 2) {
				fail("pt: bad result \"%s\"", out);
				return;
			}
			printf("%-8s %-10s %-14.3f %llu of %llu\n",
			       p ? "DMA API" : "vpudom", layout,
			       (double)alloc / PAGE_SZ / (size >> 20),
			       freed / PAGE_SZ, alloc / PAGE_SZ);
		}
	}
}

/* Kernel memory per live mapping: slab growth over N live 4 KiB maps. */
static void section_memory(void)
{
	unsigned int n = opt.quick ? 1000 : MEMORY_LIVE, i;
	/*
	 * Slab growth can come out negative on a debug kernel (KASAN's
	 * quarantine drains meanwhile): what counts is that it was measured.
	 */
	long long before, after, per[4] = { 0 };
	bool have[4] = { false };
	static const char * const kpaths[] = { "vpudom", "dma" };
	char out[256];
	size_t maplen;
	void *base;
	char *va;
	int p;

	for (p = 0; p < 2; p++) {
		before = slab_bytes();
		if (kcmd(out, sizeof(out), "hold %s %u", kpaths[p], n))
			return;
		after = slab_bytes();
		if (kcmd(out, sizeof(out), "release"))
			return;
		per[p] = (after - before) / n;
		have[p] = true;
	}

	va = user_buf(n * PAGE_SZ, false, &base, &maplen);
	if (!va) {
		fail("no memory for %u pages", n);
		return;
	}
	for (p = 0; p < 2; p++) {
		unsigned long long iova;
		int ret = 0;

		if (p && opt.vfio_container < 0)
			break;
		before = slab_bytes();
		for (i = 0; i < n && !ret; i++)
			ret = p ? vfio_map(va + i * PAGE_SZ,
					   VFIO_IOVA + i * PAGE_SZ, PAGE_SZ) :
				  vpu_map(va + i * PAGE_SZ, PAGE_SZ, &iova);
		after = slab_bytes();
		if (p)
			ret = ret ?: vfio_unmap(VFIO_IOVA, n * PAGE_SZ);
		else
			ret = vpu_unmap_all() ?: ret;
		if (ret) {
			fail("memory: %s: %s", p ? "VFIO" : "vpudom",
			     strerror(-ret));
			break;
		}
		per[2 + p] = (after - before) / n;
		have[2 + p] = true;
	}
	munmap(base, maplen);

	printf("\n[memory] slab bytes per live 4 KiB mapping (%u live)\n", n);
	printf("%-8s %-10s %-10s\n", "path", "vpudom", "peer");
	if (!have[0] || !have[1] || !have[2])
		return;
	printf("%-8s %-10lld %-10lld (DMA API)\n", "kernel", per[0], per[1]);
	if (have[3])
		printf("%-8s %-10lld %-10lld (VFIO type1)\n", "user", per[2],
		       per[3]);
	else
		printf("%-8s %-10lld n/a\n", "user", per[2]);
}

/*
 * Batched unmaps: k one-page mappings unmapped by one vpudom_unmap() of
 * their span against k DMA API unmaps; the IOTLB syncs the SMMUv3 driver
 * issued for them (a kprobe counts them) and the time per mapping.
 */
static void section_batch(void)
{
	static const unsigned int full[] = { 1, 16, 256 };
	static const char * const layouts[] = { "contig", "apart" };
	unsigned int nr = opt.quick ? 2 : 3, i, l;
	unsigned long long ns_v, sy_v, ns_d, sy_d;
	char out[256];
	int rep;

	printf("\n[batch] one vpudom_unmap() of k one-page mappings (side by side, or a\n"
	       "        page apart) against k DMA API unmaps: IOTLB syncs (SMMUv3 command-\n"
	       "        queue submissions, each ending in a CMD_SYNC), us per mapping\n");
	printf("%-6s %-8s %-14s %-16s %-14s %-16s\n", "k", "layout",
	       "vpudom syncs", "vpudom us/map", "DMA API syncs", "DMA API us/map");
	for (i = 0; i < nr; i++) {
		for (l = 0; l < 2; l++) {
			struct samples v = { 0 }, d = { 0 };
			char cv[32], cd[32];

			for (rep = 0; rep < opt.reps; rep++) {
				if (kcmd(out, sizeof(out), "batch %u %s",
					 full[i], layouts[l]))
					return;
				if (!strncmp(out, "unavailable", 11)) {
					printf("(no kprobe on the SMMUv3 command queue: %s)\n",
					       out);
					return;
				}
				if (sscanf(out, "vpudom %llu %llu dma %llu %llu",
					   &ns_v, &sy_v, &ns_d, &sy_d) != 4) {
					fail("batch: bad result \"%s\"", out);
					return;
				}
				v.v[v.n++] = (double)ns_v / full[i];
				d.v[d.n++] = (double)ns_d / full[i];
			}
			fmt_us(cv, &v);
			fmt_us(cd, &d);
			printf("%-6u %-8s %-14llu %-16s %-14llu %-16s\n",
			       full[i], layouts[l], sy_v, cv, sy_d, cd);
		}
	}
}

/* ---- 1 M live mappings: memory by slab cache, page tables, time ---- */

/* Distinct pages the user mappings pin, round-robin: one page pinned a
 * million times would take GUP_PIN_COUNTING_BIAS (1024) per pin into its
 * reference count and overflow it.
 */
#define LIVE_POOL	1024
/* One-page map + unmap pairs timed beside the live mappings. */
#define LIVE_PAIRS	1000
/* Teardown in steps of IOVA space, so that no one call unmaps them all. */
#define LIVE_STEP	(64ULL << 20)
/* Where VFIO's live mappings go: clear of the other rows' VFIO_IOVA. */
#define LIVE_VFIO_IOVA	0x1000000000ULL	/* 64 GiB */
#define SLAB_MAX	1024
#define NR_LIVE		4

/* One cache of /proc/slabinfo: its objects in use and its slabs' bytes. */
struct slab_cache {
	char name[64];
	long long objs;
	long long bytes;
	unsigned int objsize;
};

struct slab_snap {
	struct slab_cache c[SLAB_MAX];
	int n;
};

static int slab_snap(struct slab_snap *s)
{
	/*
	 * name active num objsize objperslab pagesperslab : tunables 0 0 0 :
	 * slabdata active_slabs num_slabs sharedavail
	 */
	static const char fmt[] =
		"%63s %lld %lld %u %u %u : tunables %*u %*u %*u : slabdata %*u %lld";
	long long active, num, slabs;
	unsigned int size, per, pages;
	char line[512], name[64];
	FILE *f = fopen("/proc/slabinfo", "r");

	s->n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && s->n < SLAB_MAX) {
		if (sscanf(line, fmt, name, &active, &num, &size, &per, &pages,
			   &slabs) != 7)
			continue;
		snprintf(s->c[s->n].name, sizeof(s->c[s->n].name), "%s", name);
		s->c[s->n].objs = active;
		s->c[s->n].bytes = slabs * pages * PAGE_SZ;
		s->c[s->n].objsize = size;
		s->n++;
	}
	fclose(f);
	return s->n ? 0 : -1;
}

static const struct slab_cache *slab_find(const struct slab_snap *s,
					  const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].name, name))
			return &s->c[i];
	return NULL;
}

/* What one path of the live row measured. */
struct live_path {
	const char *name;
	bool have;
	char where[48];
	double map_ns;		/* per map, filling from 0 to n live */
	double pair_ns;		/* per map + unmap pair with n live */
	long long pt_alloc;	/* io-pgtable bytes allocated by the n maps, or -1 */
	long long pt_all;	/* ... by everything up to the teardown */
	long long pt_freed;	/* ... freed by the end of the teardown */
	long long slab;		/* meminfo slab growth with n live */
	long long slab_left;	/* ... left after the teardown */
	struct slab_snap before, held;
};

static struct live_path live[NR_LIVE] = {
	{ .name = "vpudom kernel" }, { .name = "DMA API" },
	{ .name = "vpudom user" }, { .name = "VFIO type1" },
};

/* Before a path fills: count page tables, note the slab. */
static void live_begin(struct live_path *lp, long long *meminfo)
{
	char out[256];

	lp->pt_alloc = -1;
	if (kcmd(out, sizeof(out), "ptcount start") ||
	    strncmp(out, "counting", 8))
		kcmd(out, sizeof(out), "ptcount stop");
	slab_snap(&lp->before);
	*meminfo = slab_bytes();
}

/* With the mappings live: the slab and the page tables they took. */
static void live_held(struct live_path *lp, long long meminfo)
{
	long long freed;
	char out[256];

	lp->slab = slab_bytes() - meminfo;
	slab_snap(&lp->held);
	if (!kcmd(out, sizeof(out), "ptcount read") &&
	    sscanf(out, "alloc %lld free %lld", &lp->pt_alloc, &freed) != 2)
		lp->pt_alloc = -1;
}

/* After the teardown: what it freed, what stayed. */
static void live_end(struct live_path *lp, long long meminfo)
{
	char out[256];

	lp->pt_all = -1;
	lp->pt_freed = -1;
	if (lp->pt_alloc >= 0 && !kcmd(out, sizeof(out), "ptcount read") &&
	    sscanf(out, "alloc %lld free %lld", &lp->pt_all, &lp->pt_freed) != 2)
		lp->pt_all = -1;
	kcmd(out, sizeof(out), "ptcount stop");
	lp->slab_left = slab_bytes() - meminfo;
}

/* The kernel paths, by the module: vpudom_map_sgtable(), dma_map_page(). */
static int live_kernel(struct live_path *lp, const char *path, unsigned int n)
{
	unsigned long long ns, count;
	long long meminfo;
	char out[256];
	double t;
	int ret;

	live_begin(lp, &meminfo);
	if (kcmd(out, sizeof(out), "live %s %u", path, n))
		goto end;
	if (sscanf(out, "held %llu ns %llu in %47s", &count, &ns, lp->where) != 3) {
		fail("live: bad result \"%s\"", out);
		kcmd(out, sizeof(out), "live release");
		goto end;
	}
	lp->map_ns = (double)ns / n;
	live_held(lp, meminfo);
	t = kcmd_ns("live pairs %u", opt.quick ? 100 : LIVE_PAIRS);
	lp->pair_ns = t / (opt.quick ? 100 : LIVE_PAIRS);
	ret = kcmd(out, sizeof(out), "live release");
	lp->have = t >= 0 && !ret;
end:
	live_end(lp, meminfo);
	return lp->have ? 0 : -1;
}

/* A sysfs parameter: its old value in @old; raised to at least @want. */
static int param_raise(const char *path, unsigned long long want,
		       unsigned long long *old)
{
	FILE *f = fopen(path, "r+");
	int ret = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%llu", old) == 1) {
		rewind(f);
		ret = fprintf(f, "%llu\n", want > *old ? want : *old) > 0 ? 0 : -1;
	}
	return fclose(f) ? -1 : ret;
}

static void param_restore(const char *path, unsigned long long old)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%llu\n", old);
		fclose(f);
	}
}

/*
 * vpudom's own limits on a user's mappings: one session, one user, a
 * user's IOVA bytes; raised for the row, restored after.
 */
static const char * const vpu_limits[] = {
	"/sys/module/vpudom/parameters/max_mappings",
	"/sys/module/vpudom/parameters/max_user_mappings",
	"/sys/module/vpudom/parameters/max_user_bytes",
};

/*
 * The user paths, here: @n VPUDOM_MAP_USER, or @n VFIO_IOMMU_MAP_DMA
 * (@vfio), of the pages of @pool in turn.  vpudom maps into @block of the
 * instance open as @fd.
 */
static int live_user(struct live_path *lp, bool vfio, int fd,
		     unsigned int block, char *pool, unsigned int n)
{
	unsigned long long iova = 0, lo = ~0ULL, hi = 0, at, len, gone = 0;
	unsigned int pairs = opt.quick ? 100 : LIVE_PAIRS, i, done = 0;
	long long meminfo, r;
	double t0;
	int ret = 0;

	live_begin(lp, &meminfo);
	t0 = now_ns();
	for (; done < n && !ret; done++) {
		char *va = pool + (done % LIVE_POOL) * PAGE_SZ;

		if (vfio) {
			ret = vfio_map(va, LIVE_VFIO_IOVA + done * PAGE_SZ, PAGE_SZ);
			continue;
		}
		ret = vpu_map_in(fd, block, va, PAGE_SZ, &iova);
		lo = !ret && iova < lo ? iova : lo;
		hi = !ret && iova > hi ? iova : hi;
	}
	if (ret) {
		done--;
		fail("live: %s map %u of %u: %s", lp->name, done + 1, n,
		     strerror(-ret));
		goto teardown;
	}
	lp->map_ns = (now_ns() - t0) / n;
	live_held(lp, meminfo);
	t0 = now_ns();
	for (i = 0; i < pairs && !ret; i++) {
		if (vfio) {
			at = LIVE_VFIO_IOVA + (unsigned long long)n * PAGE_SZ;
			ret = vfio_map(pool, at, PAGE_SZ) ?:
			      vfio_unmap(at, PAGE_SZ);
			continue;
		}
		ret = vpu_map_in(fd, block, pool, PAGE_SZ, &iova);
		if (!ret) {
			r = vpu_unmap_in(fd, block, iova, PAGE_SZ);
			ret = r < 0 ? r : 0;
		}
	}
	lp->pair_ns = (now_ns() - t0) / pairs;
	if (ret)
		fail("live: %s map + unmap with %u live: %s", lp->name, n,
		     strerror(-ret));
teardown:
	if (vfio) {
		lo = LIVE_VFIO_IOVA;
		hi = LIVE_VFIO_IOVA + (done - 1ULL) * PAGE_SZ;
	}
	for (at = lo; done && at <= hi; at += LIVE_STEP) {
		len = hi + PAGE_SZ - at < LIVE_STEP ? hi + PAGE_SZ - at : LIVE_STEP;
		if (vfio) {
			r = vfio_unmap(at, len);
			r = r ? r : (long long)len;
		} else {
			r = vpu_unmap_in(fd, block, at, len);
		}
		if (r == -ENOENT)
			continue;
		if (r < 0) {
			fail("live: %s unmap: %s", lp->name, strerror(-r));
			ret = ret ?: r;
			break;
		}
		gone += r;
	}
	if (!ret && gone != done * PAGE_SZ) {
		fail("live: %s unmapped %llu of %llu bytes", lp->name, gone,
		     done * PAGE_SZ);
		ret = -EIO;
	}
	lp->have = !ret;
	live_end(lp, meminfo);
	return ret;
}

/* Aliases of a merged slab cache: the other names of its sysfs directory. */
static void slab_aliases(const char *name, char *out, size_t len)
{
	char path[512], target[256], t2[256];
	struct dirent *de;
	size_t used = 0;
	ssize_t k;
	DIR *d;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s", name);
	k = readlink(path, target, sizeof(target) - 1);
	if (k <= 0)
		return;	/* a directory: not merged */
	target[k] = '\0';
	d = opendir("/sys/kernel/slab");
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, name))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s", de->d_name);
		k = readlink(path, t2, sizeof(t2) - 1);
		if (k <= 0)
			continue;
		t2[k] = '\0';
		if (strcmp(t2, target) || used + strlen(de->d_name) + 3 >= len)
			continue;
		used += snprintf(out + used, len - used, "%s%s",
				 used ? ", " : "", de->d_name);
	}
	closedir(d);
}

/* A cache's growth on one path, bytes and objects per mapping; false if n/a. */
static bool live_growth(const struct live_path *lp, const char *name,
			unsigned int n, double *bytes, double *objs)
{
	const struct slab_cache *a, *b;

	if (!lp->have)
		return false;
	a = slab_find(&lp->before, name);
	b = slab_find(&lp->held, name);
	if (!b)
		return false;
	*bytes = (double)(b->bytes - (a ? a->bytes : 0)) / n;
	*objs = (double)(b->objs - (a ? a->objs : 0)) / n;
	return true;
}

/* Whether a cache is in one of the held snapshots before path @p's. */
static bool live_seen(int p, const char *name)
{
	while (p--)
		if (live[p].have && slab_find(&live[p].held, name))
			return true;
	return false;
}

static void live_print(unsigned int n)
{
	static struct {
		char name[64];
		char aliases[200];
	} merged[32];
	double bytes, objs, sum[NR_LIVE] = { 0 };
	char pt[32], freed[48], cell[32];
	int p, q, i, nm = 0;

	printf("\n[live] %u live 4 KiB mappings, one path at a time; user mappings pin a\n"
	       "       pool of %d pages in turn.  map: us per map, filling up to %u live;\n"
	       "       pair: us per map + unmap beside them; pt/map: io-pgtable pages\n"
	       "       per mapping; pt freed: of all the pages allocated, those the\n"
	       "       teardown freed; slab: bytes per mapping (meminfo), and what the\n"
	       "       teardown left\n",
	       n, LIVE_POOL, n);
	printf("%-14s %-16s %-8s %-8s %-9s %-15s %-8s %-8s\n", "path", "in", "map",
	       "pair", "pt/map", "pt freed", "slab", "left");
	for (p = 0; p < NR_LIVE; p++) {
		struct live_path *lp = &live[p];

		if (!lp->have) {
			printf("%-14s n/a\n", lp->name);
			continue;
		}
		if (lp->pt_alloc < 0 || lp->pt_all < 0) {
			snprintf(pt, sizeof(pt), "n/a");
			snprintf(freed, sizeof(freed), "n/a");
		} else {
			snprintf(pt, sizeof(pt), "%.5f",
				 (double)lp->pt_alloc / PAGE_SZ / n);
			snprintf(freed, sizeof(freed), "%lld of %lld",
				 lp->pt_freed / (long long)PAGE_SZ,
				 lp->pt_all / (long long)PAGE_SZ);
		}
		printf("%-14s %-16s %-8.2f %-8.2f %-9s %-15s %-8.1f %-8.1f\n",
		       lp->name, lp->where, lp->map_ns / 1e3, lp->pair_ns / 1e3,
		       pt, freed, (double)lp->slab / n,
		       (double)lp->slab_left / n);
	}

	printf("\n[live] slab growth per live mapping, by cache: bytes (objects)\n");
	printf("%-20s %-6s", "cache", "size");
	for (p = 0; p < NR_LIVE; p++)
		printf(" %-15s", live[p].name);
	printf("\n");
	/* Every cache that grew or shrank by a byte per mapping on some path. */
	for (p = 0; p < NR_LIVE; p++) {
		for (i = 0; live[p].have && i < live[p].held.n; i++) {
			const struct slab_cache *c = &live[p].held.c[i];
			bool show = false;

			if (live_seen(p, c->name))
				continue;
			for (q = 0; q < NR_LIVE; q++) {
				if (!live_growth(&live[q], c->name, n, &bytes, &objs))
					continue;
				sum[q] += bytes;
				show |= bytes >= 1 || bytes <= -1;
			}
			if (!show)
				continue;
			printf("%-20s %-6u", c->name, c->objsize);
			for (q = 0; q < NR_LIVE; q++) {
				if (live_growth(&live[q], c->name, n, &bytes, &objs))
					snprintf(cell, sizeof(cell), "%.1f (%.3f)",
						 bytes, objs);
				else
					snprintf(cell, sizeof(cell), "n/a");
				printf(" %-15s", cell);
			}
			printf("\n");
			if (nm < 32) {
				slab_aliases(c->name, merged[nm].aliases,
					     sizeof(merged[nm].aliases));
				snprintf(merged[nm].name, sizeof(merged[nm].name),
					 "%s", c->name);
				nm += !!merged[nm].aliases[0];
			}
		}
	}
	printf("%-20s %-6s", "all caches", "");
	for (q = 0; q < NR_LIVE; q++) {
		if (live[q].have)
			snprintf(cell, sizeof(cell), "%.1f", sum[q]);
		else
			snprintf(cell, sizeof(cell), "n/a");
		printf(" %-15s", cell);
	}
	printf("\n");
	/* SLUB merges caches of alike objects: name what each one holds. */
	for (i = 0; i < nm; i++)
		printf("  %s, merged: also %s\n", merged[i].name,
		       merged[i].aliases);
}

/*
 * The live row: @n live one-page mappings on each path in turn, each torn
 * down before the next begins.
 */
static void section_live(unsigned int n)
{
	unsigned long long old[3];
	bool raised[3] = { false };
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	unsigned int block = 2, k;
	char name[256];
	size_t maplen;
	void *base;
	char *pool;
	int fd;

	live_kernel(&live[0], "vpudom", n);
	live_kernel(&live[1], "dma", n);

	/* Both pin: charged to RLIMIT_MEMLOCK unless CAP_IPC_LOCK, as here. */
	if (setrlimit(RLIMIT_MEMLOCK, &unlimited))
		printf("bench: cannot raise RLIMIT_MEMLOCK: %s\n", strerror(errno));
	pool = user_buf(LIVE_POOL * PAGE_SZ, false, &base, &maplen);
	if (!pool) {
		fail("live: no memory for %d pages", LIVE_POOL);
		goto print;
	}
	/* The large VPU's block 1, or else the reference VPU's block 2. */
	fd = open_vpu_by("device:", "vpu-live", name, sizeof(name));
	if (fd >= 0)
		block = 1;
	else
		fd = dup(opt.vpu_fd);
	for (k = 0; k < 3; k++)
		raised[k] = !param_raise(vpu_limits[k], k < 2 ? n + 1 :
					 (n + 1ULL) * PAGE_SZ, &old[k]);
	if (fd >= 0) {
		snprintf(live[2].where, sizeof(live[2].where), "%s/block%u",
			 block == 1 ? "vpu-live" : "ref-vpu", block);
		live_user(&live[2], false, fd, block, pool, n);
		close(fd);
	}
	for (k = 0; k < 3; k++)
		if (raised[k])
			param_restore(vpu_limits[k], old[k]);
	if (opt.vfio_container >= 0) {
		snprintf(live[3].where, sizeof(live[3].where), "container");
		live_user(&live[3], true, -1, 0, pool, n);
	}
	munmap(base, maplen);
print:
	live_print(n);
}

static bool want(const char *section)
{
	return !opt.only || !strcmp(opt.only, section);
}

int main(int argc, char **argv)
{
	unsigned long long old_limit;
	char vpu[256];
	bool raised;
	long live_n = 0;
	int i, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			opt.quick = true;
			opt.reps = 3;
			opt.target_ns = 1e6;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			opt.reps = atoi(argv[++i]);
			if (opt.reps < 1 || opt.reps > MAX_REPS) {
				fprintf(stderr, "--reps: 1..%d\n", MAX_REPS);
				return 2;
			}
		} else if (!strcmp(argv[i], "--live") && i + 1 < argc) {
			live_n = strtol(argv[++i], NULL, 0);
			if (live_n < 1 || live_n > LIVE_MAX) {
				fprintf(stderr, "--live: 1..%d\n", LIVE_MAX);
				return 2;
			}
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			opt.only = argv[++i];
		} else {
			fprintf(stderr,
				"usage: %s [--quick] [--reps N] [--live N] [--only SECTION]\n",
				argv[0]);
			return 2;
		}
	}
	/* --quick runs the live row too, small. */
	opt.live = live_n ? live_n : opt.quick ? LIVE_QUICK : 0;
	opt.vpu_fd = open_vpu(vpu, sizeof(vpu));
	if (opt.vpu_fd < 0) {
		printf("bench: error: no reference VPU under %s\n", DEBUGFS);
		return 1;
	}
	/*
	 * VFIO type1 limits a container's mappings to dma_entry_limit (65535
	 * by default), read when the container is set up: raised for it, then
	 * put back.
	 */
	raised = opt.live && !param_raise(VFIO_ENTRY_LIMIT, opt.live + 1 +
					  MEMORY_LIVE, &old_limit);
	ret = vfio_open();
	if (raised)
		param_restore(VFIO_ENTRY_LIMIT, old_limit);
	if (ret) {
		if (opt.vfio_container >= 0)
			close(opt.vfio_container);
		opt.vfio_container = -1;
		printf("bench: VFIO unavailable (group %d): its columns are n/a\n",
		       opt.group);
	}
	print_header();
	/* Page tables first: block1 and the DMA domain are still untouched. */
	if (want("pt"))
		section_pt();
	if (want("memory"))
		section_memory();
	if (want("live") && opt.live)
		section_live(opt.live);
	else if (want("live"))
		printf("\n[live] not run in this boot (--live N; make bench: the nokaslr boot)\n");
	if (want("kernel"))
		section_kernel();
	if (want("user"))
		section_user();
	if (want("batch"))
		section_batch();
	if (want("scale"))
		section_scale();
	if (want("fill"))
		section_fill(vpu);
	if (want("threads"))
		section_threads();
	if (want("decode"))
		section_decode();
	printf("\nbench: %s\n", opt.failed ? "FAILED" : "done");
	return opt.failed ? 1 : 0;
}
