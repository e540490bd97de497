// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency stress of the vpudom uAPI, bounded in time:
 *
 *   vpudom_stress <seconds> [unbind]
 *
 * Threads map and unmap on every block through several sessions, race
 * fixed maps of one IOVA (exactly one may win), unmap everything under
 * each other, read debugfs, close files under ioctls, fork with an open
 * session, and unmap memory whose user mapping is already gone.  With
 * "unbind", one more thread unbinds and rebinds the VPU all along: every
 * ioctl then either works or fails with ENODEV, and sessions reopen.
 * Every errno is checked against what its race allows; at the end nothing
 * may stay pinned, charged or mapped.  Prints TAP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "vpudom_utils.h"

#define NR_MAPPERS	4
#define BUF_PAGES	64

static atomic_int stop;
static atomic_long ops, unexpected, race_rounds, race_violations;
static __u8 *buf;
/* The VPU under test, and the fixed IOVA of block 1 the racers fight for. */
static struct vpu vpu;
static __u64 race_iova;
static int unbinding;
static char last_error[256];
/* What each thread is doing, reported if it does not stop in time. */
static const char *doing_fn[32], *doing_what[32];
static __thread int me_idx;

static void set_doing(const char *fn, const char *what)
{
	__atomic_store_n(&doing_fn[me_idx], fn, __ATOMIC_RELAXED);
	__atomic_store_n(&doing_what[me_idx], what, __ATOMIC_RELAXED);
}

#define at(what) set_doing(__func__, what)
/* The session mapper 1 and the unmap-all thread share. */
static int shared_fd = -1;

static void bad(const char *what, int err)
{
	atomic_fetch_add(&unexpected, 1);
	snprintf(last_error, sizeof(last_error), "%s: %s", what, strerror(-err));
}

/* A session that survives unbinds: reopened after ENODEV. */
static int reopen(int fd)
{
	if (fd >= 0)
		close(fd);
	while (!atomic_load(&stop)) {
		fd = open(vpudom_dev(), O_RDWR);
		if (fd >= 0)
			return fd;
		usleep(10000);
	}
	return -1;
}

static unsigned int rnd(unsigned int *seed, unsigned int n)
{
	return rand_r(seed) % n;
}

static void *mapper(void *arg)
{
	unsigned int seed = (uintptr_t)arg, pages;
	bool shared = seed == 1 && !unbinding;
	int fd = shared ? shared_fd : reopen(-1), ret;
	__u64 blocks, iova;

	while (!atomic_load(&stop) && fd >= 0) {
		/* One or two blocks; 0|2 have no common window. */
		blocks = blk(rnd(&seed, 3));
		if (!rnd(&seed, 4))
			blocks = blk(1) | blk(2);
		pages = 1 + rnd(&seed, 16);
		at("map");
		ret = _test_map_user(fd, VPUDOM_MAP_READ | VPUDOM_MAP_WRITE,
				     blocks, buf + rnd(&seed, BUF_PAGES - 16) * PAGE_SZ,
				     pages * PAGE_SZ, &iova);
		atomic_fetch_add(&ops, 1);
		if (ret == -ENODEV && unbinding) {
			at("reopen");
			fd = reopen(fd);
			continue;
		}
		if (ret) {
			bad("map", ret);
			continue;
		}
		at("unmap");
		ret = _test_unmap(fd, __builtin_ctzll(blocks), iova,
				  pages * PAGE_SZ, NULL);
		/* An unmap-all of this session may have come first. */
		if (ret && ret != -ENOENT && !(ret == -ENODEV && unbinding))
			bad("unmap", ret);
	}
	if (fd >= 0 && !shared)
		close(fd);
	return NULL;
}

/*
 * Map and unmap everything, on the session mapper 1 uses too (its own
 * session once unbinds begin), so that unmap-all races that mapper's maps.
 */
static void *unmapper(void *arg)
{
	int fd = unbinding ? reopen(-1) : shared_fd, ret;
	__u64 n;

	while (!atomic_load(&stop) && fd >= 0) {
		at("map");
		ret = _test_map_user(fd, VPUDOM_MAP_READ, blk(0), buf, PAGE_SZ, NULL);
		if (ret && !(ret == -ENODEV && unbinding))
			bad("map for unmap-all", ret);
		at("unmap-all");
		ret = _test_unmap_all(fd, &n);
		atomic_fetch_add(&ops, 2);
		if (ret == -ENODEV && unbinding)
			fd = reopen(fd);
		else if (ret)
			bad("unmap-all", ret);
	}
	if (fd >= 0 && unbinding)
		close(fd);
	return NULL;
}

/* Two threads map the same fixed IOVA at once: exactly one may win. */
static pthread_barrier_t race_start, race_done;
static int race_ret[2];
/*
 * Whether this is the last round, decided once by the judge before the
 * start barrier: if each thread read stop itself after the barrier, one
 * could leave while the others wait at the next barrier for ever.
 */
static int round_stop;

static void *racer(void *arg)
{
	int me = (int)(uintptr_t)arg, fd = reopen(-1);

	/* Every round starts at the barrier, so all three leave together. */
	for (;;) {
		at("start barrier");
		pthread_barrier_wait(&race_start);
		if (round_stop)
			break;
		at("map");
		race_ret[me] = fd < 0 ? -ENODEV :
			_test_map_fixed(fd, VPUDOM_MAP_READ, blk(1), buf,
					4 * PAGE_SZ, race_iova);
		at("mapped barrier");
		pthread_barrier_wait(&race_done);
		/* Both unmap: only the winner's unmap finds its mapping. */
		at("unmap");
		if (fd >= 0)
			_test_unmap(fd, 1, race_iova, 4 * PAGE_SZ, NULL);
		at("done barrier");
		pthread_barrier_wait(&race_done);
		at("reopen");
		if (race_ret[me] == -ENODEV && unbinding)
			fd = reopen(fd);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *race_judge(void *arg)
{
	int a, b;

	for (;;) {
		round_stop = atomic_load(&stop);
		at("start barrier");
		pthread_barrier_wait(&race_start);
		if (round_stop)
			break;
		at("done barrier");
		pthread_barrier_wait(&race_done);
		a = race_ret[0];
		b = race_ret[1];
		atomic_fetch_add(&race_rounds, 1);
		if (!((!a && b == -EEXIST) || (a == -EEXIST && !b) ||
		      (unbinding && (a == -ENODEV || b == -ENODEV))))
			atomic_fetch_add(&race_violations, 1);
		pthread_barrier_wait(&race_done);
	}
	return NULL;
}

static void *debugfs_reader(void *arg)
{
	static const char * const files[] = { "mappings", "stats", "ranges" };
	char path[128], chunk[4096];
	unsigned int i = 0;
	int fd;

	while (!atomic_load(&stop)) {
		snprintf(path, sizeof(path), DEBUGFS "/vpudom0/block%u/%s",
			 i % 3, files[i % 3]);
		at("read");
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			while (read(fd, chunk, sizeof(chunk)) > 0)
				;
			close(fd);
		}
		i++;
	}
	return NULL;
}

/* Close a file while another thread uses it; fork with a session open. */
static void *closer(void *arg)
{
	__u8 *mem;
	__u64 iova;
	pid_t pid;
	int fd, st;

	while (!atomic_load(&stop)) {
		at("open");
		fd = open(vpudom_dev(), O_RDWR);
		if (fd < 0) {
			usleep(10000);
			continue;
		}
		at("map");
		_test_map_user(fd, VPUDOM_MAP_READ, blk(2), buf, 8 * PAGE_SZ, &iova);
		at("fork");
		pid = fork();
		if (!pid) {
			/* The child shares the session; its own mm is charged. */
			_test_map_user(fd, VPUDOM_MAP_READ, blk(0), buf, PAGE_SZ, &iova);
			_exit(0);
		}
		/* User memory unmapped while the device mapping lives. */
		mem = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (mem != MAP_FAILED &&
		    !_test_map_user(fd, VPUDOM_MAP_WRITE, blk(1), mem, 4 * PAGE_SZ, &iova)) {
			munmap(mem, 4 * PAGE_SZ);
			_test_unmap(fd, 1, iova, 4 * PAGE_SZ, NULL);
		} else if (mem != MAP_FAILED) {
			munmap(mem, 4 * PAGE_SZ);
		}
		at("waitpid");
		if (pid > 0)
			waitpid(pid, &st, 0);
		at("close");
		close(fd);
		atomic_fetch_add(&ops, 4);
	}
	return NULL;
}

/*
 * One thread opens and closes a file over and over while another makes
 * ioctls on whatever that file number is: an ioctl holds its file, so a
 * close under it must be harmless.  The number may already be closed
 * (EBADF) or be another file by then (ENOTTY, or a vpudom session of
 * another thread, whose map and unmap work).
 */
static atomic_int churn_fd = -1;

static void *churn_opener(void *arg)
{
	int fd;

	while (!atomic_load(&stop)) {
		fd = open(vpudom_dev(), O_RDWR);
		if (fd < 0) {
			usleep(10000);
			continue;
		}
		atomic_store(&churn_fd, fd);
		usleep(200);
		atomic_store(&churn_fd, -1);
		close(fd);
	}
	return NULL;
}

static void *churn_user(void *arg)
{
	__u64 iova = 0;
	int fd, ret;

	while (!atomic_load(&stop)) {
		fd = atomic_load(&churn_fd);
		if (fd < 0)
			continue;
		at("ioctls");
		ret = _test_map_user(fd, VPUDOM_MAP_READ, blk(0), buf, PAGE_SZ, &iova);
		if (!ret)
			ret = _test_unmap(fd, 0, iova, PAGE_SZ, NULL);
		atomic_fetch_add(&ops, 1);
		if (ret && ret != -EBADF && ret != -ENOTTY && ret != -ENOENT &&
		    !(ret == -ENODEV && unbinding))
			bad("ioctl racing close", ret);
	}
	return NULL;
}

struct start {
	void *(*fn)(void *arg);
	void *arg;
	int idx;
};

static void *thread_main(void *p)
{
	struct start *st = p;

	me_idx = st->idx;
	at("running");
	st->fn(st->arg);
	at("done");
	return NULL;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, s, strlen(s)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static atomic_long rebinds;

static void *unbinder(void *arg)
{
	const char *drv = "/sys/bus/platform/drivers/vpudom-vpu";
	char path[128];
	int ret;

	while (!atomic_load(&stop)) {
		usleep(300000);
		at("unbind");
		snprintf(path, sizeof(path), "%s/unbind", drv);
		ret = write_str(path, "vpu");
		if (ret)
			bad("unbind", ret);
		usleep(50000);
		at("bind");
		snprintf(path, sizeof(path), "%s/bind", drv);
		ret = write_str(path, "vpu");
		if (ret)
			bad("bind", ret);
		atomic_fetch_add(&rebinds, 1);
	}
	return NULL;
}

static void spawn(pthread_t *t, struct start *st, int idx,
		  void *(*fn)(void *), void *arg)
{
	st->fn = fn;
	st->arg = arg;
	st->idx = idx;
	pthread_create(t, NULL, thread_main, st);
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 10, i, n = 0, fails = 0;
	pthread_t t[NR_MAPPERS + 10];
	struct start st[NR_MAPPERS + 10];
	struct timespec deadline;
	long long charged;
	long pins;

	unbinding = argc > 2 && !strcmp(argv[2], "unbind");
	signal(SIGPIPE, SIG_IGN);
	buf = mmap(NULL, BUF_PAGES * PAGE_SZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	/*
	 * What is pinned and charged before: an earlier test may have left a
	 * mapping the IOMMU could not unmap, which keeps its pages and its
	 * charge for good.
	 */
	pins = pins_held();
	charged = user_acct(0, "mappings");
	shared_fd = open(vpudom_dev(), O_RDWR);
	if (shared_fd < 0) {
		perror(vpudom_dev());
		return 1;
	}
	if (vpu_describe(shared_fd, &vpu) || vpu.nr_blocks < 3) {
		fprintf(stderr, "%s: not a VPU with three blocks\n",
			vpudom_dev());
		return 1;
	}
	race_iova = vpu_quiet_iova(&vpu.b[1], 4 * PAGE_SZ);
	pthread_barrier_init(&race_start, NULL, 3);
	pthread_barrier_init(&race_done, NULL, 3);

	for (i = 0; i < NR_MAPPERS; i++)
		spawn(&t[n], &st[n], n, mapper, (void *)(uintptr_t)(i + 1)), n++;
	spawn(&t[n], &st[n], n, unmapper, NULL), n++;
	spawn(&t[n], &st[n], n, racer, (void *)0), n++;
	spawn(&t[n], &st[n], n, racer, (void *)1), n++;
	spawn(&t[n], &st[n], n, race_judge, NULL), n++;
	spawn(&t[n], &st[n], n, debugfs_reader, NULL), n++;
	spawn(&t[n], &st[n], n, closer, NULL), n++;
	spawn(&t[n], &st[n], n, churn_opener, NULL), n++;
	spawn(&t[n], &st[n], n, churn_user, NULL), n++;
	if (unbinding)
		spawn(&t[n], &st[n], n, unbinder, NULL), n++;

	sleep(seconds);
	atomic_store(&stop, 1);
	/* Every thread must stop within a minute; name the ones that do not. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 60;
	for (i = 0; i < n; i++) {
		if (pthread_timedjoin_np(t[i], NULL, &deadline)) {
			printf("TAP version 13\n1..1\n");
			printf("not ok 1 - every thread stops\n");
			for (i = 0; i < n; i++)
				printf("# thread %d: %s: %s\n", i,
				       doing_fn[i], doing_what[i]);
			fflush(stdout);
			_exit(1);
		}
	}
	close(shared_fd);

	printf("TAP version 13\n1..4\n");
	printf("# %ld operations, %ld fixed-IOVA races, %ld rebinds in %d s\n",
	       atomic_load(&ops), atomic_load(&race_rounds),
	       atomic_load(&rebinds), seconds);
	if (atomic_load(&unexpected)) {
		printf("not ok 1 - every error is one its race allows\n# %ld, last: %s\n",
		       atomic_load(&unexpected), last_error);
		fails++;
	} else {
		printf("ok 1 - every error is one its race allows\n");
	}
	if (atomic_load(&race_violations) || !atomic_load(&race_rounds)) {
		printf("not ok 2 - racing fixed maps of one IOVA: exactly one wins\n");
		printf("# %ld of %ld rounds had not one winner\n",
		       atomic_load(&race_violations), atomic_load(&race_rounds));
		fails++;
	} else {
		printf("ok 2 - racing fixed maps of one IOVA: exactly one wins\n");
	}
	if (pins_held() != pins || user_acct(0, "mappings") != charged) {
		printf("not ok 3 - nothing pinned or charged afterwards\n");
		printf("# pins %ld -> %ld, mappings charged to root %lld -> %lld\n",
		       pins, pins_held(), charged, user_acct(0, "mappings"));
		fails++;
	} else {
		printf("ok 3 - nothing pinned or charged afterwards\n");
	}
	for (i = 0; i < (int)vpu.nr_blocks; i++)
		if (debugfs_mappings(vpu.b[i].info.name))
			break;
	if (i < (int)vpu.nr_blocks) {
		printf("not ok 4 - nothing mapped afterwards\n");
		fails++;
	} else {
		printf("ok 4 - nothing mapped afterwards\n");
	}
	return fails ? 1 : 0;
}
