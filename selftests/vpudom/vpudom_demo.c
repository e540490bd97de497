// SPDX-License-Identifier: GPL-2.0-only
/*
 * A worked example of the vpudom uAPI: open the VPU, list its blocks and
 * their usable IOVA ranges, map one buffer into the first two blocks that
 * share usable IOVAs (block 0 alone if none do) at one IOVA, show it in
 * debugfs, unmap it.  It knows no window: what it maps where comes from
 * the VPU's answers, so it runs on any SoC.  It needs only the uAPI header
 * and the C library (`make -C selftests/vpudom demo`).
 *
 * With --edu <device>: on the test VPU made of QEMU edu devices, have
 * block 0's device copy a message from one mapped buffer to another.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vpudom.h>

static void show(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	fclose(f);
}

static int map(int fd, __u32 flags, void *buf, __u64 *iova)
{
	struct vpudom_map_user m = {
		.size = sizeof(m),
		.flags = flags,
		.blocks = 1,
		.user_va = (uintptr_t)buf,
		.length = 4096,
	};

	if (ioctl(fd, VPUDOM_MAP_USER, &m)) {
		perror("VPUDOM_MAP_USER");
		return -1;
	}
	*iova = m.iova;
	return 0;
}

static int edu_demo(const char *dev)
{
	const char *msg = "hello from block0's DMA engine, through the SMMU";
	char *a, *b, cmd[96];
	__u64 src, dst;
	int fd, ctl, n;

	fd = open(dev, O_RDWR);
	ctl = open("/sys/kernel/debug/vpudom_edu/copy", O_WRONLY);
	a = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (fd < 0 || ctl < 0 || a == MAP_FAILED) {
		perror(dev);
		return 1;
	}
	b = a + 4096;
	memcpy(a, msg, strlen(msg) + 1);
	if (map(fd, VPUDOM_MAP_READ, a, &src) ||
	    map(fd, VPUDOM_MAP_WRITE, b, &dst))
		return 1;
	printf("buffer A at IOVA 0x%llx (read), buffer B at IOVA 0x%llx (write)\n",
	       (unsigned long long)src, (unsigned long long)dst);
	n = snprintf(cmd, sizeof(cmd), "copy 0 %llx %llx %zx",
		     (unsigned long long)src, (unsigned long long)dst,
		     strlen(msg) + 1);
	if (write(ctl, cmd, n) != n) {
		perror("copy");
		return 1;
	}
	printf("the device copied A to B; B now reads: \"%s\"\n", b);
	close(ctl);
	close(fd);
	return strcmp(a, b) != 0;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/vpudom0";
	struct vpudom_block_info blocks[8];
	struct vpudom_info info = {
		.size = sizeof(info),
		.num_blocks = 8,
		.blocks_uptr = (uintptr_t)blocks,
	};
	struct vpudom_map_user map = { .size = sizeof(map) };
	struct vpudom_unmap unmap = { .size = sizeof(unmap) };
	const char *inst = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	const size_t len = 1 << 20;
	unsigned int i, j;
	char *buf, path[160];
	int fd, ret = -1;

	if (argc > 2 && !strcmp(argv[1], "--edu"))
		return edu_demo(argv[2]);
	fd = open(dev, O_RDWR);
	if (fd < 0 || ioctl(fd, VPUDOM_INFO, &info)) {
		perror(dev);
		return 1;
	}
	for (i = 0; i < info.num_blocks; i++) {
		struct vpudom_iova_range r[8];
		struct vpudom_iova_ranges q = {
			.size = sizeof(q),
			.block = i,
			.num_ranges = 8,
			.ranges_uptr = (uintptr_t)r,
		};

		if (ioctl(fd, VPUDOM_IOVA_RANGES, &q)) {
			perror("VPUDOM_IOVA_RANGES");
			return 1;
		}
		printf("%s: stream 0x%x, window 0x%llx-0x%llx, usable:", blocks[i].name,
		       blocks[i].sid, (unsigned long long)blocks[i].window_start,
		       (unsigned long long)blocks[i].window_last);
		for (j = 0; j < q.num_ranges; j++)
			printf(" 0x%llx-0x%llx", (unsigned long long)r[j].start,
			       (unsigned long long)r[j].last);
		printf("\n");
	}

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	map.flags = VPUDOM_MAP_READ | VPUDOM_MAP_WRITE;
	map.user_va = (uintptr_t)buf;
	map.length = len;
	/*
	 * The kernel finds an IOVA usable in every block asked for, or says
	 * ENOSPC: try the pairs of blocks in order, then block 0 alone.
	 */
	for (i = 0; ret && i < info.num_blocks; i++) {
		for (j = i + 1; ret && j < info.num_blocks; j++) {
			map.blocks = (1ULL << i) | (1ULL << j);
			ret = ioctl(fd, VPUDOM_MAP_USER, &map);
			if (ret && errno != ENOSPC) {
				perror("VPUDOM_MAP_USER");
				return 1;
			}
		}
	}
	if (ret) {
		map.blocks = 1;
		if (ioctl(fd, VPUDOM_MAP_USER, &map)) {
			perror("VPUDOM_MAP_USER");
			return 1;
		}
	}
	printf("\nmapped 1 MiB at IOVA 0x%llx into", (unsigned long long)map.iova);
	for (i = 0; i < info.num_blocks; i++)
		if (map.blocks & (1ULL << i))
			printf(" %s", blocks[i].name);
	printf("\n");
	for (i = 0; i < info.num_blocks; i++) {
		if (!(map.blocks & (1ULL << i)))
			continue;
		snprintf(path, sizeof(path),
			 "/sys/kernel/debug/vpudom/%s/%s/mappings", inst,
			 blocks[i].name);
		printf("\n%s:\n", path);
		show(path);
		unmap.block = i;
	}

	unmap.iova = map.iova;
	unmap.length = len;
	if (ioctl(fd, VPUDOM_UNMAP, &unmap)) {
		perror("VPUDOM_UNMAP");
		return 1;
	}
	printf("\nunmapped %llu bytes from every block\n",
	       (unsigned long long)unmap.length);
	close(fd);
	return 0;
}
