// SPDX-License-Identifier: GPL-2.0-only
/*
 * vpudomctl: look at what vpudom manages, for the people who bring up and
 * debug a VPU.  Everything it shows comes from the uAPI (blocks, windows,
 * usable ranges: the holes are the window less the usable ranges), from
 * debugfs (mappings with their owners, statistics) and from the
 * vpudom_fault trace event.  It can also map a file, or a dma-buf made from
 * one, for a quick test.
 *
 * Needs only the C library and include/uapi/linux/vpudom.h: `make vpudomctl`
 * (CC= for a board) builds it, `make install` installs it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/udmabuf.h>
#include <linux/vpudom.h>

#define DEBUGFS		"/sys/kernel/debug/vpudom"
#define MAX_BLOCKS	64
#define MAX_RANGES	64
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const tracefs_roots[] = {
	"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
};

static void print_usage(void)
{
	fputs("usage: vpudomctl [-d /dev/vpudomN] COMMAND\n"
	      "  list                   instances, blocks, windows, holes, usable ranges\n"
	      "  mappings               every block's mappings, owners and statistics\n"
	      "  faults [-n N] [-t S]   follow IOMMU faults (stop after N, or S seconds)\n"
	      "  map [-b MASK] [-w] [-t S] FILE\n"
	      "                         map FILE's pages (read-only, or read-write with\n"
	      "                         -w) into the blocks of MASK (default 1), show the\n"
	      "                         mapping, hold it S seconds (default 0), unmap\n"
	      "  map-dmabuf [-b MASK] [-t S] FILE\n"
	      "                         the same through a dma-buf holding FILE's bytes\n"
	      "                         (made with /dev/udmabuf)\n"
	      "Without -d, list and mappings cover every /dev/vpudom<N>, map uses the\n"
	      "first.\n", stderr);
	exit(2);
}

/* The instance names (vpudom<N>) present, from /dev, sorted by number. */
static int instances(int ids[], int max)
{
	struct dirent *e;
	int n = 0, i, j, id;
	DIR *d = opendir("/dev");

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		if (sscanf(e->d_name, "vpudom%d", &id) == 1)
			ids[n++] = id;
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			id = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = id;
		}
	return n;
}

static int get_info(int fd, struct vpudom_block_info *blocks, __u32 *n,
		    struct vpudom_info *out)
{
	struct vpudom_info info = {
		.size = sizeof(info),
		.num_blocks = MAX_BLOCKS,
		.blocks_uptr = (uintptr_t)blocks,
	};

	if (ioctl(fd, VPUDOM_INFO, &info))
		return -errno;
	*n = info.num_blocks;
	if (out)
		*out = info;
	return 0;
}

static int get_ranges(int fd, __u32 block, struct vpudom_iova_range *r,
		      __u32 *n)
{
	struct vpudom_iova_ranges q = {
		.size = sizeof(q),
		.block = block,
		.num_ranges = MAX_RANGES,
		.ranges_uptr = (uintptr_t)r,
	};

	if (ioctl(fd, VPUDOM_IOVA_RANGES, &q))
		return -errno;
	*n = q.num_ranges;
	return 0;
}

static void print_range(const char *kind, __u64 first, __u64 last)
{
	printf("    %-7s 0x%010llx-0x%010llx %8llu KiB\n", kind,
	       (unsigned long long)first, (unsigned long long)last,
	       (unsigned long long)((last - first) / 1024 + 1));
}

static void page_sizes(__u64 bitmap, char *buf, size_t len)
{
	static const char *const names[] = { "4K", "16K", "64K", "2M", "32M",
					      "512M", "1G" };
	static const int shifts[] = { 12, 14, 16, 21, 25, 29, 30 };
	size_t used = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(shifts); i++) {
		if (bitmap & (1ULL << shifts[i]))
			used += snprintf(buf + used, len - used, "%s%s",
					 used ? "|" : "", names[i]);
		if (used >= len)
			break;
	}
}

/* One instance: its blocks, and for each its window, holes and ranges. */
static int list_one(const char *dev)
{
	struct vpudom_block_info blocks[MAX_BLOCKS];
	struct vpudom_iova_range r[MAX_RANGES];
	__u32 nb = 0, nr = 0, b, i;
	struct vpudom_info info;
	char sizes[64];
	__u64 next;
	int fd, ret;

	fd = open(dev, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "vpudomctl: %s: %s\n", dev, strerror(errno));
		return 1;
	}
	ret = get_info(fd, blocks, &nb, &info);
	if (ret) {
		fprintf(stderr, "vpudomctl: %s: VPUDOM_INFO: %s\n", dev,
			strerror(-ret));
		close(fd);
		return 1;
	}
	printf("%s: device %s, hardware %s, %u blocks\n", dev, info.out_device,
	       info.out_hardware, nb);
	for (b = 0; b < nb; b++) {
		struct vpudom_block_info *bi = &blocks[b];

		page_sizes(bi->pgsize_bitmap, sizes, sizeof(sizes));
		printf("  block %u %s: stream 0x%x, page sizes %s\n", bi->index,
		       bi->name, bi->sid, sizes);
		print_range("window", bi->window_start, bi->window_last);
		ret = get_ranges(fd, bi->index, r, &nr);
		if (ret) {
			printf("    (VPUDOM_IOVA_RANGES: %s)\n", strerror(-ret));
			continue;
		}
		/* What of the window is not usable is a hole. */
		next = bi->window_start;
		for (i = 0; i < nr; i++) {
			if (r[i].start > next)
				print_range("hole", next, r[i].start - 1);
			next = r[i].last + 1;
		}
		if (nr && r[nr - 1].last < bi->window_last)
			print_range("hole", r[nr - 1].last + 1,
				    bi->window_last);
		for (i = 0; i < nr; i++)
			print_range("usable", r[i].start, r[i].last);
	}
	close(fd);
	return 0;
}

static int cat(const char *path, const char *indent)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		printf("%s%s", indent, line);
	fclose(f);
	return 0;
}

/* One instance's blocks, as debugfs shows them. */
static int mappings_one(int id)
{
	char dir[128], path[512];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), DEBUGFS "/vpudom%d", id);
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "vpudomctl: %s: %s (is debugfs mounted, and are you root?)\n",
			dir, strerror(errno));
		return 1;
	}
	printf("vpudom%d\n", id);
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s/mappings", dir, e->d_name);
		if (e->d_name[0] == '.' || access(path, R_OK))
			continue;
		printf("  %s\n", e->d_name);
		cat(path, "    ");
		snprintf(path, sizeof(path), "%s/%s/stats", dir, e->d_name);
		cat(path, "    ");
	}
	closedir(d);
	return 0;
}

/* for_each: run @fn on the instance named by @dev, or on all. */
static int for_each(const char *dev, int (*fn)(int id))
{
	int ids[64], n, i, ret = 0, id;

	if (dev) {
		if (sscanf(dev, "/dev/vpudom%d", &id) != 1) {
			fprintf(stderr, "vpudomctl: %s is not /dev/vpudom<N>\n",
				dev);
			return 2;
		}
		return fn(id);
	}
	n = instances(ids, 64);
	if (!n) {
		fprintf(stderr, "vpudomctl: no /dev/vpudom<N>: is vpudom loaded?\n");
		return 1;
	}
	for (i = 0; i < n; i++)
		ret |= fn(ids[i]);
	return ret;
}

static int list_id(int id)
{
	char dev[32];

	snprintf(dev, sizeof(dev), "/dev/vpudom%d", id);
	return list_one(dev);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Follow the vpudom_fault trace event: print each, up to @count / @secs. */
static int follow_faults(long count, double secs)
{
	char enable[128], pipe[128], buf[4096];
	const char *root = NULL;
	double end = secs > 0 ? now() + secs : 0;
	long seen = 0;
	unsigned int i;
	int fd, ret;

	for (i = 0; i < ARRAY_SIZE(tracefs_roots); i++) {
		snprintf(enable, sizeof(enable),
			 "%s/events/vpudom/vpudom_fault/enable",
			 tracefs_roots[i]);
		if (!access(enable, W_OK)) {
			root = tracefs_roots[i];
			break;
		}
	}
	if (!root) {
		fprintf(stderr, "vpudomctl: no vpudom_fault event in tracefs\n");
		return 1;
	}
	snprintf(pipe, sizeof(pipe), "%s/trace_pipe", root);
	fd = open(pipe, O_RDONLY | O_NONBLOCK);
	ret = fd < 0 ? -errno : write_file(enable, "1");
	if (ret) {
		fprintf(stderr, "vpudomctl: %s: %s\n", fd < 0 ? pipe : enable,
			strerror(-ret));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	printf("following the vpudom_fault trace event\n");
	fflush(stdout);
	while (!count || seen < count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wait = end ? (int)((end - now()) * 1000) : 1000;
		ssize_t n;
		char *line, *save;

		if (end && wait <= 0)
			break;
		if (poll(&p, 1, wait > 1000 ? 1000 : wait) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (!strstr(line, "vpudom_fault:"))
				continue;
			printf("%s\n", line);
			seen++;
		}
		fflush(stdout);
	}
	write_file(enable, "0");
	close(fd);
	printf("seen: %ld\n", seen);
	return 0;
}

/* A memfd holding @len bytes of @fd, made a dma-buf by /dev/udmabuf. */
static int udmabuf_of(int fd, size_t len)
{
	struct udmabuf_create create = { .size = len };
	char buf[65536];
	int mfd, u, buf_fd = -1;
	ssize_t n;

	mfd = memfd_create("vpudomctl", MFD_ALLOW_SEALING);
	if (mfd < 0 || ftruncate(mfd, len))
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(mfd, buf, n) != n)
			goto out;
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK))
		goto out;
	u = open("/dev/udmabuf", O_RDWR);
	if (u < 0)
		goto out;
	create.memfd = mfd;
	buf_fd = ioctl(u, UDMABUF_CREATE, &create);
	close(u);
out:
	if (buf_fd < 0)
		fprintf(stderr, "vpudomctl: cannot make a dma-buf: %s\n",
			strerror(errno));
	if (mfd >= 0)
		close(mfd);
	return buf_fd;
}

/* The debugfs line of the mapping at @iova in the lowest block of @mask. */
static void show_mapping(int id, __u64 mask, __u64 iova)
{
	struct vpudom_block_info blocks[MAX_BLOCKS];
	char path[160], line[256];
	__u32 nb = 0, b;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/dev/vpudom%d", id);
	fd = open(path, O_RDWR);
	if (fd < 0 || get_info(fd, blocks, &nb, NULL)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	for (b = 0; b < nb && !(mask & (1ULL << blocks[b].index)); b++)
		;
	if (b == nb)
		return;
	snprintf(path, sizeof(path), DEBUGFS "/vpudom%d/%s/mappings", id,
		 blocks[b].name);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char first[32];

		if (sscanf(line, "%31s", first) == 1 &&
		    strtoull(first, NULL, 16) == iova)
			printf("debugfs %s: %s", blocks[b].name, line);
	}
	fclose(f);
}

/* map and map-dmabuf: map FILE, show it, hold it, unmap it. */
static int map_file(const char *dev, int argc, char **argv, int dmabuf)
{
	unsigned long long mask = 1;
	long page = sysconf(_SC_PAGESIZE);
	double hold = 0;
	int write = 0, fd, vfd, id, opt, ret = 1;
	struct vpudom_unmap un = { .size = sizeof(un) };
	struct stat st;
	size_t len;
	void *va = MAP_FAILED;
	__u64 iova;

	optind = 1;
	while ((opt = getopt(argc, argv, "b:wt:")) != -1) {
		switch (opt) {
		case 'b':
			mask = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			write = 1;
			break;
		case 't':
			hold = atof(optarg);
			break;
		default:
			print_usage();
		}
	}
	if (optind != argc - 1 || !mask)
		print_usage();
	fd = open(argv[optind], write ? O_RDWR : O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "vpudomctl: %s: %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	len = (st.st_size + page - 1) / page * page;
	if (!len) {
		fprintf(stderr, "vpudomctl: %s is empty\n", argv[optind]);
		goto close_file;
	}
	vfd = open(dev, O_RDWR);
	if (vfd < 0 || sscanf(dev, "/dev/vpudom%d", &id) != 1) {
		fprintf(stderr, "vpudomctl: %s: %s\n", dev, strerror(errno));
		goto close_file;
	}
	if (dmabuf) {
		struct vpudom_map_dmabuf m = {
			.size = sizeof(m),
			.flags = VPUDOM_MAP_READ | VPUDOM_MAP_WRITE,
			.blocks = mask,
			.length = len,
		};

		m.fd = udmabuf_of(fd, len);
		if (m.fd < 0)
			goto close_dev;
		ret = ioctl(vfd, VPUDOM_MAP_DMABUF, &m);
		close(m.fd);
		iova = m.iova;
	} else {
		struct vpudom_map_user m = {
			.size = sizeof(m),
			.flags = VPUDOM_MAP_READ | (write ? VPUDOM_MAP_WRITE : 0),
			.blocks = mask,
			.length = len,
		};

		va = mmap(NULL, len, PROT_READ | (write ? PROT_WRITE : 0),
			  MAP_SHARED, fd, 0);
		if (va == MAP_FAILED) {
			perror("vpudomctl: mmap");
			goto close_dev;
		}
		m.user_va = (uintptr_t)va;
		ret = ioctl(vfd, VPUDOM_MAP_USER, &m);
		iova = m.iova;
	}
	if (ret) {
		fprintf(stderr, "vpudomctl: %s: %s\n",
			dmabuf ? "VPUDOM_MAP_DMABUF" : "VPUDOM_MAP_USER",
			strerror(errno));
		ret = 1;
		goto unmap_va;
	}
	printf("mapped %s (%zu bytes%s) at IOVA 0x%llx in blocks 0x%llx\n",
	       argv[optind], len, dmabuf ? ", dma-buf" : "",
	       (unsigned long long)iova, mask);
	show_mapping(id, mask, iova);
	fflush(stdout);
	if (hold > 0)
		usleep((useconds_t)(hold * 1e6));
	un.block = __builtin_ctzll(mask);
	un.iova = iova;
	un.length = len;
	if (ioctl(vfd, VPUDOM_UNMAP, &un)) {
		perror("vpudomctl: VPUDOM_UNMAP");
		ret = 1;
	} else {
		printf("unmapped %llu bytes\n", (unsigned long long)un.length);
	}
unmap_va:
	if (va != MAP_FAILED)
		munmap(va, len);
close_dev:
	close(vfd);
close_file:
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	const char *dev = NULL, *cmd;
	int ids[64];
	char first[32];

	if (argc > 2 && !strcmp(argv[1], "-d")) {
		dev = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		print_usage();
	cmd = argv[1];
	if (!strcmp(cmd, "list"))
		return for_each(dev, list_id);
	if (!strcmp(cmd, "mappings"))
		return for_each(dev, mappings_one);
	if (!strcmp(cmd, "faults")) {
		long count = 0;
		double secs = 0;
		int opt;

		optind = 1;
		while ((opt = getopt(argc - 1, argv + 1, "n:t:")) != -1) {
			if (opt == 'n')
				count = atol(optarg);
			else if (opt == 't')
				secs = atof(optarg);
			else
				print_usage();
		}
		return follow_faults(count, secs);
	}
	if (!strcmp(cmd, "map") || !strcmp(cmd, "map-dmabuf")) {
		if (!dev) {
			if (!instances(ids, 64)) {
				fprintf(stderr, "vpudomctl: no /dev/vpudom<N>\n");
				return 1;
			}
			snprintf(first, sizeof(first), "/dev/vpudom%d", ids[0]);
			dev = first;
		}
		return map_file(dev, argc - 1, argv + 1,
				!strcmp(cmd, "map-dmabuf"));
	}
	print_usage();
	return 2;
}
