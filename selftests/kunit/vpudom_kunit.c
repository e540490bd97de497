// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of vpudom.
 *
 * vpudom_iova: the allocator engine on a private space, built into this
 * module from vpudom's own source.
 * vpudom_kapi: the exported in-kernel API on the real contexts of the
 * reference VPU (the /vpu node), checked with iommu_iova_to_phys(), and
 * the cache maintenance it asks the DMA API for, counted with kprobes.
 */
#include <kunit/test.h>
#include <linux/dma-direction.h>
#include <linux/iommu.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "vpudom_priv.h"
/* The allocator under test, compiled into this module. */
#include "iova.c"

struct iova_fixture {
	struct mutex lock; /* the space's external lock */
	struct vpudom_iova_space s;
	u64 token[64];
};

static int iova_init(struct kunit *test)
{
	struct vpudom_range bounds = { SZ_1G, 2ULL * SZ_1G + SZ_1G - 1 };
	struct iova_fixture *f;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	vpudom_iova_init(&f->s, &bounds, SZ_4K, &f->lock);
	test->priv = f;
	return 0;
}

static void iova_exit(struct kunit *test)
{
	struct iova_fixture *f = test->priv;
	void *entry;

	MA_STATE(mas, &f->s.mt, 0, 0);

	/*
	 * A case that failed an assertion died holding the lock: its space
	 * is left as it is.
	 */
	if (!mutex_trylock(&f->lock))
		return;
	/* Take whatever a test left, so the tree can be destroyed empty. */
	mas_for_each(&mas, entry, ULONG_MAX) {
		unsigned long start = mas.index, last = mas.last;

		if (vpudom_iova_is_hole(entry))
			continue;
		/* The removal changes the tree under this walk. */
		mas_pause(&mas);
		vpudom_iova_remove(&f->s, start, last);
	}
	vpudom_iova_destroy(&f->s);
	mutex_unlock(&f->lock);
	mutex_destroy(&f->lock);
}

static int check(struct iova_fixture *f, u64 start, u64 last)
{
	return vpudom_iova_check(&f->s, start, last);
}

/* Allocate and insert, as the mapping engine does. */
static int iova_take(struct iova_fixture *f, u64 size, u64 align, u64 *start)
{
	int ret = vpudom_iova_find(&f->s, size, align, 0, U64_MAX, start);

	if (ret)
		return ret;
	return vpudom_iova_insert(&f->s, *start, *start + size - 1,
				  &f->token[0]);
}

static void iova_bounds_and_exhaustion(struct kunit *test)
{
	struct vpudom_range bounds = { SZ_1M, SZ_1M + 16 * SZ_4K - 1 };
	struct iova_fixture *f = test->priv;
	u64 start, seen = 0;
	int i;

	mutex_lock(&f->lock);
	/* A space of 16 pages instead of the fixture's. */
	vpudom_iova_destroy(&f->s);
	vpudom_iova_init(&f->s, &bounds, SZ_4K, &f->lock);
	for (i = 0; i < 16; i++) {
		KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), 0);
		KUNIT_EXPECT_GE(test, start, bounds.start);
		KUNIT_EXPECT_LE(test, start + SZ_4K - 1, bounds.last);
		KUNIT_EXPECT_EQ(test, seen & BIT_ULL((start - SZ_1M) / SZ_4K), 0ULL);
		seen |= BIT_ULL((start - SZ_1M) / SZ_4K);
	}
	KUNIT_EXPECT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), -ENOSPC);
	KUNIT_EXPECT_EQ(test, f->s.nr_areas, 16ULL);
	KUNIT_EXPECT_EQ(test, vpudom_iova_largest_free(&f->s), 0ULL);

	/* Free one in the middle: the same size fits again, right there. */
	vpudom_iova_remove(&f->s, SZ_1M + 7 * SZ_4K, SZ_1M + 8 * SZ_4K - 1);
	KUNIT_EXPECT_EQ(test, vpudom_iova_largest_free(&f->s), (u64)SZ_4K);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, (u64)SZ_1M + 7 * SZ_4K);
	KUNIT_EXPECT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), -ENOSPC);
	mutex_unlock(&f->lock);
}

static void iova_alignment(struct kunit *test)
{
	struct iova_fixture *f = test->priv;
	const u64 top = 3ULL * SZ_1G;
	u64 a, b, c;

	mutex_lock(&f->lock);
	/* A small area takes the bottom, a large one the top. */
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &a), 0);
	KUNIT_EXPECT_EQ(test, a, (u64)SZ_1G);
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(&f->s, top - SZ_4K, top - 1,
						 &f->token[1]), 0);
	/* A page at the very top pushes the next 2 MiB one a whole 2 MiB down. */
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_2M, SZ_2M, &b), 0);
	KUNIT_EXPECT_TRUE(test, IS_ALIGNED(b, SZ_2M));
	KUNIT_EXPECT_EQ(test, b, top - 2 * SZ_2M);
	/* Unaligned sizes keep the alignment of their page size. */
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_2M + SZ_4K, SZ_2M, &c), 0);
	KUNIT_EXPECT_EQ(test, c, top - 4 * SZ_2M);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_1M - SZ_4K, SZ_4K, &c), 0);
	KUNIT_EXPECT_EQ(test, c, top - SZ_1M);
	/* Small ones still fill up from the bottom. */
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &c), 0);
	KUNIT_EXPECT_EQ(test, c, (u64)SZ_1G + SZ_4K);
	/* 1 GiB alignment: only the second GiB of the space qualifies. */
	vpudom_iova_remove(&f->s, top - SZ_4K, top - 1);
	vpudom_iova_remove(&f->s, top - SZ_1M, top - SZ_4K - 1);
	vpudom_iova_remove(&f->s, top - 4 * SZ_2M, top - 3 * SZ_2M + SZ_4K - 1);
	vpudom_iova_remove(&f->s, b, b + SZ_2M - 1);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_1G, SZ_1G, &a), 0);
	KUNIT_EXPECT_EQ(test, a, 2ULL * SZ_1G);
	KUNIT_EXPECT_EQ(test, iova_take(f, SZ_1G, SZ_1G, &a), -ENOSPC);
	mutex_unlock(&f->lock);
}

/*
 * A full space with aligned holes that are exactly the request's size: the
 * wide search fails, the walk must still find them.
 */
static void iova_exact_aligned_gap(struct kunit *test)
{
	struct iova_fixture *f = test->priv;
	u64 start, i;

	mutex_lock(&f->lock);
	/* The fixture's 2 GiB hold 1024 areas of 2 MiB. */
	for (i = 0; i < 1024; i++)
		KUNIT_ASSERT_EQ(test, iova_take(f, SZ_2M, SZ_2M, &start), 0);
	KUNIT_EXPECT_EQ(test, iova_take(f, SZ_2M, SZ_2M, &start), -ENOSPC);
	vpudom_iova_remove(&f->s, SZ_1G + 300 * SZ_2M,
			   SZ_1G + 301 * SZ_2M - 1);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_2M, SZ_2M, &start), 0);
	KUNIT_EXPECT_EQ(test, start, (u64)SZ_1G + 300 * SZ_2M);
	/* A 4 KiB-misaligned gap of 2 MiB cannot hold a 2 MiB-aligned area. */
	vpudom_iova_remove(&f->s, SZ_1G + 10 * SZ_2M, SZ_1G + 11 * SZ_2M - 1);
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(&f->s, SZ_1G + 10 * SZ_2M,
						 SZ_1G + 10 * SZ_2M + SZ_4K - 1,
						 &f->token[1]), 0);
	KUNIT_EXPECT_EQ(test, iova_take(f, SZ_2M, SZ_2M, &start), -ENOSPC);
	KUNIT_EXPECT_EQ(test, iova_take(f, SZ_1M, SZ_1M, &start), 0);
	KUNIT_EXPECT_EQ(test, start, (u64)SZ_1G + 10 * SZ_2M + SZ_1M);
	mutex_unlock(&f->lock);
}

static void iova_holes_and_fixed(struct kunit *test)
{
	struct vpudom_range hole = { SZ_1G + SZ_4M, SZ_1G + SZ_4M + SZ_1M - 1 };
	struct vpudom_range top_hole = { 3ULL * SZ_1G - SZ_16M - SZ_1M,
					 3ULL * SZ_1G - SZ_16M - 1 };
	struct iova_fixture *f = test->priv;
	const u64 lo = SZ_1G, hi = 3ULL * SZ_1G - 1;
	u64 start, base = SZ_1G + SZ_256M;
	void *area;
	int i;

	mutex_lock(&f->lock);
	KUNIT_ASSERT_EQ(test, vpudom_iova_add_hole(&f->s, &hole), 0);
	KUNIT_ASSERT_EQ(test, vpudom_iova_add_hole(&f->s, &top_hole), 0);

	/* Fixed ranges: edges of the bounds. */
	KUNIT_EXPECT_EQ(test, check(f, lo - SZ_4K, lo + SZ_4K - 1), -ERANGE);
	KUNIT_EXPECT_EQ(test, check(f, hi - SZ_4K + 1, hi + SZ_4K), -ERANGE);
	KUNIT_EXPECT_EQ(test, check(f, hi - SZ_4K + 1, hi), 0);
	KUNIT_EXPECT_EQ(test, check(f, hole.start - SZ_4K, hole.start), -EADDRINUSE);
	KUNIT_EXPECT_EQ(test, check(f, hole.last, hole.last + SZ_4K), -EADDRINUSE);

	/*
	 * Allocations never land in a hole: small ones past the one at the
	 * bottom, large ones past the one at the top.
	 */
	for (i = 0; i < 40; i++) {
		u64 size = i % 2 ? SZ_1M : SZ_512K - SZ_4K;
		const struct vpudom_range *h = i % 2 ? &top_hole : &hole;

		KUNIT_ASSERT_EQ(test, iova_take(f, size, SZ_4K, &start), 0);
		KUNIT_EXPECT_TRUE(test, start + size - 1 < h->start ||
				  start > h->last);
	}
	KUNIT_EXPECT_NULL(test, vpudom_iova_lookup(&f->s, hole.start));
	KUNIT_EXPECT_NULL(test, vpudom_iova_lookup(&f->s, top_hole.start));
	KUNIT_EXPECT_PTR_EQ(test, vpudom_iova_lookup(&f->s, hole.last + 1),
			    &f->token[0]);
	KUNIT_EXPECT_PTR_EQ(test, vpudom_iova_lookup(&f->s, top_hole.start - 1),
			    &f->token[0]);

	/* Every shape of overlap with a live area. */
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(&f->s, base, base + SZ_64K - 1, &f->token[2]), 0);
	KUNIT_EXPECT_EQ(test, check(f, base, base + SZ_64K - 1), -EEXIST);
	KUNIT_EXPECT_EQ(test, check(f, base + SZ_4K, base + SZ_8K - 1), -EEXIST);
	KUNIT_EXPECT_EQ(test, check(f, base - SZ_4K, base + SZ_64K), -EEXIST);
	KUNIT_EXPECT_EQ(test, check(f, base - SZ_4K, base), -EEXIST);
	KUNIT_EXPECT_EQ(test, check(f, base + SZ_64K - 1, base + SZ_64K + SZ_4K - 1), -EEXIST);
	KUNIT_EXPECT_EQ(test, check(f, base - SZ_4K, base - 1), 0);
	KUNIT_EXPECT_EQ(test, check(f, base + SZ_64K, base + SZ_64K + SZ_4K - 1), 0);

	/* Lookup: every byte inside finds the area; the ends do not leak. */
	area = &f->token[2];
	KUNIT_EXPECT_PTR_EQ(test, vpudom_iova_lookup(&f->s, base), area);
	KUNIT_EXPECT_PTR_EQ(test, vpudom_iova_lookup(&f->s, base + SZ_64K - 1), area);
	KUNIT_EXPECT_NULL(test, vpudom_iova_lookup(&f->s, base + SZ_64K));
	KUNIT_EXPECT_NULL(test, vpudom_iova_lookup(&f->s, base - 1));
	KUNIT_EXPECT_EQ(test, f->s.high_water, (u64)30 * SZ_1M - 20 * SZ_4K + SZ_64K);
	mutex_unlock(&f->lock);
}

/* Rounding a window inwards: one whole granule is the least it may hold. */
static void iova_window_granules(struct kunit *test)
{
	static const struct {
		struct vpudom_range in, out;
		u64 granule;
		bool ok;
	} cases[] = {
		/* Less than a granule: refused, never a wrapped 64-bit window. */
		{ { 0x1000, 0x1fff }, {}, SZ_64K, false },
		{ { 0x0, 0xffe }, {}, SZ_4K, false },
		{ { 0x1000, 0x1ffe }, {}, SZ_4K, false },
		{ { 0x1001, 0x2ffe }, {}, SZ_4K, false },
		{ { U64_MAX - 0xffe, U64_MAX }, {}, SZ_4K, false },
		{ { 0x2000, 0x1000 }, {}, SZ_4K, false },
		/* Exactly one granule: taken as it is. */
		{ { 0x10000, 0x1ffff }, { 0x10000, 0x1ffff }, SZ_64K, true },
		{ { 0x0, 0xfff }, { 0x0, 0xfff }, SZ_4K, true },
		{ { U64_MAX - 0xfff, U64_MAX }, { U64_MAX - 0xfff, U64_MAX }, SZ_4K, true },
		/* Ragged edges round inwards. */
		{ { 0x10001, 0x3fffe }, { 0x20000, 0x2ffff }, SZ_64K, true },
		{ { 0x0, U64_MAX }, { 0x0, U64_MAX }, SZ_4K, true },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vpudom_range r = cases[i].in;

		KUNIT_EXPECT_EQ_MSG(test, vpudom_range_align_in(&r, cases[i].granule),
				    cases[i].ok, "case %u", i);
		if (!cases[i].ok)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, r.start, cases[i].out.start, "case %u", i);
		KUNIT_EXPECT_EQ_MSG(test, r.last, cases[i].out.last, "case %u", i);
	}
}

/*
 * A kernel-only range: user allocations go around it, whatever their size
 * and alignment, and run out rather than enter it; kernel allocations and
 * fixed checks still take it.
 */
static void iova_kernel_only(struct kunit *test)
{
	struct vpudom_range ko = { SZ_1G + SZ_2M, SZ_1G + SZ_4M - 1 };
	struct iova_fixture *f = test->priv;
	u64 start;

	mutex_lock(&f->lock);
	vpudom_iova_set_kernel_only(&f->s, &ko);
	KUNIT_EXPECT_TRUE(test, vpudom_iova_kernel_only(&f->s, ko.start,
							ko.start, NULL));
	KUNIT_EXPECT_FALSE(test, vpudom_iova_kernel_only(&f->s, SZ_1G,
							 ko.start - 1, NULL));
	/*
	 * Capped 2 MiB above it, a large buffer's highest fit covers it:
	 * the kernel takes it, a session finds 2 MiB on either side, too
	 * little.
	 */
	KUNIT_EXPECT_EQ(test, vpudom_iova_find_user(&f->s, SZ_4M, SZ_2M, 0,
						    ko.last + SZ_2M, &start),
			-ENOSPC);
	KUNIT_ASSERT_EQ(test, vpudom_iova_find(&f->s, SZ_4M, SZ_2M, 0,
					       ko.last + SZ_2M, &start), 0);
	KUNIT_EXPECT_EQ(test, start, ko.start);
	/* Capped at its end, a session's large buffer goes below it. */
	KUNIT_ASSERT_EQ(test, vpudom_iova_find_user(&f->s, SZ_2M, SZ_2M, 0,
						    ko.last, &start), 0);
	KUNIT_EXPECT_EQ(test, start, (u64)SZ_1G);
	/* A small one takes the lowest fit: below it while that lasts. */
	KUNIT_ASSERT_EQ(test, vpudom_iova_find_user(&f->s, SZ_256K, SZ_4K, 0,
						    U64_MAX, &start), 0);
	KUNIT_EXPECT_EQ(test, start, (u64)SZ_1G);
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(&f->s, SZ_1G, ko.start - 1,
						 &f->token[0]), 0);
	/* Now only above it, up to the end; and nothing if capped at it. */
	KUNIT_ASSERT_EQ(test, vpudom_iova_find_user(&f->s, SZ_4K, SZ_4K, 0,
						    U64_MAX, &start), 0);
	KUNIT_EXPECT_EQ(test, start, ko.last + 1);
	KUNIT_EXPECT_EQ(test, vpudom_iova_find_user(&f->s, SZ_4K, SZ_4K, 0,
						    ko.last, &start), -ENOSPC);
	KUNIT_EXPECT_EQ(test, vpudom_iova_find_user(&f->s, SZ_1M, SZ_4K, 0,
						    ko.last, &start), -ENOSPC);
	KUNIT_ASSERT_EQ(test, vpudom_iova_find(&f->s, SZ_4K, SZ_4K, 0, ko.last,
					       &start), 0);
	KUNIT_EXPECT_EQ(test, start, ko.start);
	/* The range is free for a fixed kernel map. */
	KUNIT_EXPECT_EQ(test, check(f, ko.start, ko.last), 0);
	vpudom_iova_remove(&f->s, SZ_1G, ko.start - 1);
	mutex_unlock(&f->lock);
}

/*
 * Large buffers (from VPUDOM_IOVA_LARGE) fill the window from the top,
 * small ones from the bottom; a freed large range goes to the large buffer
 * that fits it most tightly, not to the highest free range.
 */
static void iova_policy_large_small(struct kunit *test)
{
	struct iova_fixture *f = test->priv;
	const u64 top = 3ULL * SZ_1G;
	u64 start, small_max = 0, large_min = U64_MAX;
	int i;

	mutex_lock(&f->lock);
	for (i = 0; i < 64; i++) {
		u64 size = i % 3 ? SZ_4K << (i % 7) : SZ_512K << (i % 5);
		u64 align = size >= SZ_2M ? SZ_2M : SZ_4K;

		KUNIT_ASSERT_EQ(test, iova_take(f, size, align, &start), 0);
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(start, align));
		if (size >= VPUDOM_IOVA_LARGE)
			large_min = min(large_min, start);
		else
			small_max = max(small_max, start + size - 1);
	}
	KUNIT_EXPECT_LT(test, small_max, (u64)SZ_1G + SZ_16M);
	KUNIT_EXPECT_GT(test, large_min, top - SZ_256M);
	mutex_unlock(&f->lock);
}

/*
 * A large buffer takes the free range that holds it most tightly among the
 * highest ones, not simply the highest; when nothing fits, ENOSPC, and a
 * freed range is found again.
 */
static void iova_tightest_fit(struct kunit *test)
{
	struct iova_fixture *f = test->priv;
	const u64 top = 3ULL * SZ_1G;
	u64 start;

	mutex_lock(&f->lock);
	/* Free from the top down: 8 MiB, then 3 MiB, then 5 MiB. */
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(&f->s, SZ_1G, top - SZ_32M - SZ_8M - 1,
						 &f->token[1]), 0);
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(&f->s, top - SZ_32M - 3 * SZ_1M,
						 top - SZ_16M - SZ_4M - 1,
						 &f->token[2]), 0);
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(&f->s, top - SZ_16M - SZ_1M,
						 top - SZ_8M - 1, &f->token[3]), 0);
	KUNIT_ASSERT_EQ(test, iova_take(f, 3 * SZ_1M, SZ_2M, &start), 0);
	KUNIT_EXPECT_EQ(test, start, top - SZ_16M - SZ_4M);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4M, SZ_2M, &start), 0);
	KUNIT_EXPECT_EQ(test, start, top - SZ_32M - SZ_8M);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_8M, SZ_2M, &start), 0);
	KUNIT_EXPECT_EQ(test, start, top - SZ_8M);
	/* What is left is the last 1 MiB of the 5 MiB range. */
	KUNIT_EXPECT_EQ(test, iova_take(f, SZ_2M, SZ_2M, &start), -ENOSPC);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_1M, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, top - SZ_32M - SZ_4M);
	KUNIT_EXPECT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), -ENOSPC);
	KUNIT_EXPECT_EQ(test, vpudom_iova_largest_free(&f->s), 0ULL);
	/* Recovery: a freed range is found again, by a large or a small one. */
	vpudom_iova_remove(&f->s, top - SZ_32M - SZ_8M, top - SZ_32M - SZ_4M - 1);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4M, SZ_2M, &start), 0);
	KUNIT_EXPECT_EQ(test, start, top - SZ_32M - SZ_8M);
	vpudom_iova_remove(&f->s, start, start + SZ_4M - 1);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, top - SZ_32M - SZ_8M);
	mutex_unlock(&f->lock);
}

/* How many freed ranges the tree keeps for reuse. */
static unsigned int iova_nr_cached(struct iova_fixture *f)
{
	unsigned int n = 0;
	void *entry;

	MA_STATE(mas, &f->s.mt, 0, 0);

	mas_for_each(&mas, entry, ULONG_MAX)
		n += entry == VPUDOM_CACHED_ENTRY;
	return n;
}

/*
 * Small freed areas stay in the tree for reuse: the latest of a size is
 * found first; they are free space for the statistics, a lookup and a
 * fixed range, after which nothing is cached; all are given back before
 * ENOSPC, and a session never gets one in its kernel-only range.
 */
static void iova_reuse_cache(struct kunit *test)
{
	struct vpudom_range bounds = { SZ_1M, SZ_1M + 16 * SZ_4K - 1 };
	struct vpudom_range ko = { SZ_1M + 9 * SZ_4K, SZ_1M + 10 * SZ_4K - 1 };
	struct iova_fixture *f = test->priv;
	u64 start, page[16];
	int i;

	mutex_lock(&f->lock);
	vpudom_iova_destroy(&f->s);
	vpudom_iova_init(&f->s, &bounds, SZ_4K, &f->lock);
	vpudom_iova_set_kernel_only(&f->s, &ko);
	for (i = 0; i < 16; i++) {
		KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &page[i]), 0);
		KUNIT_ASSERT_EQ(test, page[i], (u64)SZ_1M + i * SZ_4K);
	}
	/* The latest freed first, where the lowest fit would take page 0. */
	vpudom_iova_remove(&f->s, page[0], page[0] + SZ_4K - 1);
	vpudom_iova_remove(&f->s, page[2], page[2] + SZ_4K - 1);
	KUNIT_EXPECT_EQ(test, iova_nr_cached(f), 2U);
	KUNIT_EXPECT_EQ(test, f->s.nr_areas, 14ULL);
	KUNIT_EXPECT_EQ(test, vpudom_iova_largest_free(&f->s), (u64)SZ_4K);
	KUNIT_EXPECT_NULL(test, vpudom_iova_lookup(&f->s, page[2]));
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, page[2]);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, page[0]);
	KUNIT_EXPECT_EQ(test, iova_nr_cached(f), 0U);

	/* Two cached pages side by side are given back for 8 KiB. */
	vpudom_iova_remove(&f->s, page[3], page[3] + SZ_4K - 1);
	vpudom_iova_remove(&f->s, page[4], page[4] + SZ_4K - 1);
	KUNIT_EXPECT_EQ(test, vpudom_iova_largest_free(&f->s), (u64)SZ_8K);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_8K, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, page[3]);
	KUNIT_EXPECT_EQ(test, iova_nr_cached(f), 0U);

	/* A session never gets a cached page of the kernel-only range. */
	vpudom_iova_remove(&f->s, page[9], page[9] + SZ_4K - 1);
	KUNIT_EXPECT_EQ(test, vpudom_iova_find_user(&f->s, SZ_4K, SZ_4K, 0,
						    U64_MAX, &start), -ENOSPC);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, page[9]);

	/*
	 * A fixed range is free over cached pages and takes them; from the
	 * first fixed range on, nothing is cached any more.
	 */
	vpudom_iova_remove(&f->s, page[5], page[5] + SZ_4K - 1);
	vpudom_iova_remove(&f->s, page[6], page[6] + SZ_4K - 1);
	KUNIT_EXPECT_EQ(test, iova_nr_cached(f), 2U);
	KUNIT_EXPECT_EQ(test, check(f, page[5], page[6] + SZ_4K - 1), 0);
	KUNIT_EXPECT_EQ(test, iova_nr_cached(f), 0U);
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(&f->s, page[5],
						 page[6] + SZ_4K - 1,
						 &f->token[1]), 0);
	KUNIT_EXPECT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), -ENOSPC);
	vpudom_iova_remove(&f->s, page[8], page[8] + SZ_4K - 1);
	vpudom_iova_remove(&f->s, page[7], page[7] + SZ_4K - 1);
	KUNIT_EXPECT_EQ(test, iova_nr_cached(f), 0U);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, page[7]);
	mutex_unlock(&f->lock);
}

/*
 * At most VPUDOM_IOVA_CACHE_DEPTH freed areas of a size stay cached, and
 * none once the last area is gone.
 */
static void iova_reuse_cache_depth(struct kunit *test)
{
	struct iova_fixture *f = test->priv;
	const unsigned int n = VPUDOM_IOVA_CACHE_DEPTH + 4;
	u64 start, page[VPUDOM_IOVA_CACHE_DEPTH + 5];
	unsigned int i;

	mutex_lock(&f->lock);
	for (i = 0; i <= n; i++)
		KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &page[i]), 0);
	for (i = 0; i < n; i++)
		vpudom_iova_remove(&f->s, page[i], page[i] + SZ_4K - 1);
	KUNIT_EXPECT_EQ(test, iova_nr_cached(f), (unsigned int)VPUDOM_IOVA_CACHE_DEPTH);
	KUNIT_EXPECT_EQ(test, f->s.nr_areas, 1ULL);
	KUNIT_EXPECT_EQ(test, vpudom_iova_largest_free(&f->s),
			2ULL * SZ_1G - (n + 1) * SZ_4K);
	/* The latest of the cached first, then the lowest fit. */
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, page[VPUDOM_IOVA_CACHE_DEPTH - 1]);
	for (i = 1; i < VPUDOM_IOVA_CACHE_DEPTH; i++)
		KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, page[0]);
	KUNIT_ASSERT_EQ(test, iova_take(f, SZ_4K, SZ_4K, &start), 0);
	KUNIT_EXPECT_EQ(test, start, page[VPUDOM_IOVA_CACHE_DEPTH]);
	/* The last area leaves nothing cached behind. */
	for (i = 0; i <= VPUDOM_IOVA_CACHE_DEPTH; i++)
		vpudom_iova_remove(&f->s, page[i], page[i] + SZ_4K - 1);
	KUNIT_EXPECT_EQ(test, iova_nr_cached(f), (unsigned int)VPUDOM_IOVA_CACHE_DEPTH);
	vpudom_iova_remove(&f->s, page[n], page[n] + SZ_4K - 1);
	KUNIT_EXPECT_EQ(test, iova_nr_cached(f), 0U);
	KUNIT_EXPECT_EQ(test, vpudom_iova_largest_free(&f->s), 2ULL * SZ_1G);
	mutex_unlock(&f->lock);
}

/* xorshift64*, as the bench's fill row draws its sizes. */
static u64 iova_rand(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

struct iova_live {
	u64 start;
	u64 size;
};

#define IOVA_FILL_MAX	1024

/*
 * Sizes log-uniform from 4 KiB to 16 MiB, aligned as the SMMUv3's page
 * sizes make the mapping engine align them, until the first ENOSPC.
 * Return: the bytes taken.
 */
static u64 iova_fill_random(struct kunit *test, struct iova_fixture *f,
			    struct iova_live *live, unsigned int *nr, u64 *seed)
{
	u64 pages, size, start, bytes = 0;
	unsigned int order;

	for (;;) {
		KUNIT_ASSERT_LT(test, *nr, IOVA_FILL_MAX);
		order = iova_rand(seed) % 13;
		pages = BIT_ULL(order) + iova_rand(seed) % BIT_ULL(order);
		size = min_t(u64, pages, SZ_16M / SZ_4K) * SZ_4K;
		if (iova_take(f, size, size >= SZ_2M ? SZ_2M : SZ_4K, &start))
			return bytes;
		live[(*nr)++] = (struct iova_live){ start, size };
		bytes += size;
	}
}

static int iova_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * The bench's fill row on a model of its window (block 2 of the reference
 * VPU, with the SMMUv3's MSI hole): fill with random sizes until ENOSPC,
 * free a random half, fill again.  Lowest fit for every size left 82% of
 * the window mapped at the second ENOSPC (median of these nine seeds);
 * keeping large buffers apart from small ones, over 90%.
 */
static void iova_fill_after_churn(struct kunit *test)
{
	struct vpudom_range bounds = { SZ_16M, 600ULL * SZ_1M - 1 };
	struct vpudom_range msi = { SZ_128M, SZ_128M + SZ_1M - 1 };
	const u64 usable = 583ULL * SZ_1M;
	struct iova_fixture *f = test->priv;
	unsigned int nr, i, n;
	u64 churn[9], seed, mapped;
	struct iova_live *live;

	live = kunit_kcalloc(test, IOVA_FILL_MAX, sizeof(*live), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, live);
	mutex_lock(&f->lock);
	vpudom_iova_destroy(&f->s);
	vpudom_iova_init(&f->s, &bounds, SZ_4K, &f->lock);
	KUNIT_ASSERT_EQ(test, vpudom_iova_add_hole(&f->s, &msi), 0);
	for (n = 0; n < ARRAY_SIZE(churn); n++) {
		seed = (n + 1) * 0x9e3779b97f4a7c15ULL | 1;
		nr = 0;
		mapped = iova_fill_random(test, f, live, &nr, &seed);
		KUNIT_EXPECT_GE_MSG(test, mapped * 100, usable * 90,
				    "seed %u", n + 1);
		for (i = 0; i < nr;) {
			if (iova_rand(&seed) & 1) {
				i++;
				continue;
			}
			vpudom_iova_remove(&f->s, live[i].start,
					   live[i].start + live[i].size - 1);
			mapped -= live[i].size;
			live[i] = live[--nr];
		}
		mapped += iova_fill_random(test, f, live, &nr, &seed);
		churn[n] = mapped * 1000 / usable;
		kunit_info(test, "seed %u: %llu.%llu%% after churn, %u areas\n",
			   n + 1, churn[n] / 10, churn[n] % 10, nr);
		while (nr--)
			vpudom_iova_remove(&f->s, live[nr].start,
					   live[nr].start + live[nr].size - 1);
	}
	sort(churn, ARRAY_SIZE(churn), sizeof(churn[0]), iova_cmp_u64, NULL);
	KUNIT_EXPECT_GE(test, churn[ARRAY_SIZE(churn) / 2], 900ULL);
	mutex_unlock(&f->lock);
}

/*
 * Several spaces: the common fit is found past whatever is in the way in
 * any of them, downwards for a large buffer and upwards for a small one,
 * and a session's never enters a kernel-only range of any.
 */
static void iova_common_fit(struct kunit *test)
{
	struct vpudom_range bounds = { SZ_1G, 2ULL * SZ_1G + SZ_1G - 1 };
	struct vpudom_range ko = { SZ_1G + SZ_1M, SZ_1G + SZ_2M - 1 };
	struct iova_fixture *f = test->priv;
	struct vpudom_iova_space *sp[2], *s2;
	const u64 top = 3ULL * SZ_1G;
	u64 start;

	s2 = kunit_kzalloc(test, sizeof(*s2), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s2);
	sp[0] = &f->s;
	sp[1] = s2;
	mutex_lock(&f->lock);
	vpudom_iova_init(s2, &bounds, SZ_4K, &f->lock);
	vpudom_iova_set_kernel_only(s2, &ko);
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(s2, top - SZ_64M, top - 1,
						 &f->token[1]), 0);
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(s2, SZ_1G, SZ_1G + SZ_1M - 1,
						 &f->token[2]), 0);
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(&f->s, top - SZ_64M - SZ_4M,
						 top - SZ_64M - 1,
						 &f->token[3]), 0);
	/* Large: below s2's top 64 MiB and below the first's 4 MiB there. */
	KUNIT_ASSERT_EQ(test, vpudom_iova_find_common(sp, 2, SZ_4M, SZ_2M,
						      false, &start), 0);
	KUNIT_EXPECT_EQ(test, start, top - SZ_64M - SZ_8M);
	/* Small: above s2's first MiB; a session's above its kernel-only MiB. */
	KUNIT_ASSERT_EQ(test, vpudom_iova_find_common(sp, 2, SZ_4K, SZ_4K,
						      false, &start), 0);
	KUNIT_EXPECT_EQ(test, start, ko.start);
	KUNIT_ASSERT_EQ(test, vpudom_iova_find_common(sp, 2, SZ_4K, SZ_4K,
						      true, &start), 0);
	KUNIT_EXPECT_EQ(test, start, ko.last + 1);
	/* One space alone: its own policy. */
	KUNIT_ASSERT_EQ(test, vpudom_iova_find_common(sp, 1, SZ_4M, SZ_2M,
						      false, &start), 0);
	KUNIT_EXPECT_EQ(test, start, top - SZ_4M);
	/* No common fit at all. */
	KUNIT_ASSERT_EQ(test, vpudom_iova_insert(s2, SZ_1G + SZ_2M,
						 top - SZ_64M - 1,
						 &f->token[4]), 0);
	KUNIT_EXPECT_EQ(test, vpudom_iova_find_common(sp, 2, SZ_1M, SZ_4K,
						      true, &start), -ENOSPC);
	KUNIT_EXPECT_EQ(test, vpudom_iova_find_common(sp, 2, SZ_2M, SZ_2M,
						      false, &start), -ENOSPC);
	KUNIT_ASSERT_EQ(test, vpudom_iova_find_common(sp, 2, SZ_1M, SZ_4K,
						      false, &start), 0);
	KUNIT_EXPECT_EQ(test, start, ko.start);
	vpudom_iova_remove(s2, top - SZ_64M, top - 1);
	vpudom_iova_remove(s2, SZ_1G, SZ_1G + SZ_1M - 1);
	vpudom_iova_remove(s2, SZ_1G + SZ_2M, top - SZ_64M - 1);
	vpudom_iova_destroy(s2);
	mutex_unlock(&f->lock);
}

static struct kunit_case iova_cases[] = {
	KUNIT_CASE(iova_bounds_and_exhaustion),
	KUNIT_CASE(iova_alignment),
	KUNIT_CASE(iova_exact_aligned_gap),
	KUNIT_CASE(iova_holes_and_fixed),
	KUNIT_CASE(iova_window_granules),
	KUNIT_CASE(iova_kernel_only),
	KUNIT_CASE(iova_policy_large_small),
	KUNIT_CASE(iova_tightest_fit),
	KUNIT_CASE(iova_fill_after_churn),
	KUNIT_CASE(iova_common_fit),
	KUNIT_CASE(iova_reuse_cache),
	KUNIT_CASE(iova_reuse_cache_depth),
	{}
};

static struct kunit_suite iova_suite = {
	.name = "vpudom_iova",
	.init = iova_init,
	.exit = iova_exit,
	.test_cases = iova_cases,
};

/* The in-kernel API on the real contexts of the reference VPU. */
struct kapi_fixture {
	struct vpudom *vd;
	struct page *pages[16];
	struct page *huge;		/* 2 MiB, physically contiguous */
	struct sg_table sgt;		/* the 16 scattered pages */
	struct sg_table huge_sgt;	/* @huge, several times over */
};

static int kapi_init(struct kunit *test)
{
	struct kapi_fixture *f;
	struct device_node *np;
	struct scatterlist *sg;
	int i;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	np = of_find_node_by_path("/vpu");
	f->vd = np ? of_vpudom_get(np) : ERR_PTR(-ENODEV);
	of_node_put(np);
	if (IS_ERR(f->vd))
		return PTR_ERR(f->vd);
	for (i = 0; i < ARRAY_SIZE(f->pages); i++) {
		f->pages[i] = alloc_page(GFP_KERNEL);
		if (!f->pages[i])
			return -ENOMEM;
	}
	if (sg_alloc_table_from_pages(&f->sgt, f->pages, ARRAY_SIZE(f->pages),
				      0, ARRAY_SIZE(f->pages) * PAGE_SIZE,
				      GFP_KERNEL))
		return -ENOMEM;
	f->huge = alloc_pages(GFP_KERNEL | __GFP_NOWARN, get_order(SZ_2M));
	if (!f->huge)
		return -ENOMEM;
	/* 32 MiB made of the same 2 MiB block, for filling windows. */
	if (sg_alloc_table(&f->huge_sgt, 16, GFP_KERNEL))
		return -ENOMEM;
	for_each_sgtable_sg(&f->huge_sgt, sg, i)
		sg_set_page(sg, f->huge, SZ_2M, 0);
	test->priv = f;
	return 0;
}

static void kapi_exit(struct kunit *test)
{
	struct kapi_fixture *f = test->priv;
	int i;

	if (!f)
		return;
	if (f->huge_sgt.sgl)
		sg_free_table(&f->huge_sgt);
	if (f->huge)
		__free_pages(f->huge, get_order(SZ_2M));
	if (f->sgt.sgl)
		sg_free_table(&f->sgt);
	for (i = 0; i < ARRAY_SIZE(f->pages); i++)
		if (f->pages[i])
			__free_page(f->pages[i]);
	if (!IS_ERR_OR_NULL(f->vd))
		vpudom_put(f->vd);
}

static struct vpudom_ctx *kapi_ctx(struct kapi_fixture *f, unsigned int b)
{
	return f->vd->ctx[b];
}

/* Map the scattered buffer read-only at a fixed IOVA. */
static int map_fixed(struct kapi_fixture *f, unsigned long blocks, u64 iova)
{
	return vpudom_map_sgtable(f->vd, blocks, &f->sgt, IOMMU_READ,
				  VPUDOM_MAP_FIXED, &iova);
}

static int map_auto(struct kapi_fixture *f, unsigned long blocks, u64 *iova)
{
	return vpudom_map_sgtable(f->vd, blocks, &f->sgt, IOMMU_READ, 0, iova);
}

/* Every page of the scattered buffer translates, from @iova on. */
static void expect_translates(struct kunit *test, unsigned int block, u64 iova)
{
	struct kapi_fixture *f = test->priv;
	int i;

	for (i = 0; i < ARRAY_SIZE(f->pages); i++)
		KUNIT_EXPECT_EQ(test, vpudom_iova_to_phys(f->vd, block, iova + i * PAGE_SIZE),
				page_to_phys(f->pages[i]));
}

static void expect_unmapped(struct kunit *test, unsigned int block, u64 iova, u64 size)
{
	struct kapi_fixture *f = test->priv;
	u64 off;

	for (off = 0; off < size; off += PAGE_SIZE)
		KUNIT_EXPECT_EQ(test, vpudom_iova_to_phys(f->vd, block, iova + off), 0);
}

static void kapi_map_each_block(struct kunit *test)
{
	struct kapi_fixture *f = test->priv;
	const u64 size = ARRAY_SIZE(f->pages) * PAGE_SIZE;
	unsigned int b;
	u64 iova;

	KUNIT_ASSERT_EQ(test, vpudom_nr_blocks(f->vd), 3U);
	for (b = 0; b < 3; b++) {
		const struct vpudom_range *w = &f->vd->hw.blocks[b].window;

		KUNIT_ASSERT_EQ(test, vpudom_map_sgtable(f->vd, BIT(b), &f->sgt,
							 IOMMU_READ | IOMMU_WRITE,
							 0, &iova), 0);
		KUNIT_EXPECT_GE(test, iova, w->start);
		KUNIT_EXPECT_LE(test, iova + size - 1, w->last);
		KUNIT_EXPECT_NE(test, iova, 0ULL);
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(iova, SZ_4K));
		expect_translates(test, b, iova);
		KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, b, iova, size), (s64)size);
		expect_unmapped(test, b, iova, size);
		KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, b, iova, size), -ENOENT);
	}
	KUNIT_EXPECT_EQ(test, vpudom_block_by_name(f->vd, "block2"), 2);
	KUNIT_EXPECT_EQ(test, vpudom_block_by_name(f->vd, "nope"), -ENOENT);
}

static void kapi_bad_arguments(struct kunit *test)
{
	struct kapi_fixture *f = test->priv;
	u64 iova = SZ_32M + SZ_2K;

	KUNIT_EXPECT_EQ(test, vpudom_map_sgtable(f->vd, BIT(0), &f->sgt, 0, 0, &iova), -EINVAL);
	KUNIT_EXPECT_EQ(test, vpudom_map_sgtable(f->vd, BIT(0), &f->sgt, IOMMU_CACHE, 0, &iova),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, vpudom_map_sgtable(f->vd, 0, &f->sgt, IOMMU_READ, 0, &iova), -EINVAL);
	KUNIT_EXPECT_EQ(test, map_auto(f, BIT(3), &iova), -EINVAL);
	KUNIT_EXPECT_EQ(test, vpudom_map_sgtable(f->vd, BIT(0), &f->sgt, IOMMU_READ, BIT(7), &iova),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, map_fixed(f, BIT(2), iova), -EINVAL);
	KUNIT_EXPECT_EQ(test, map_fixed(f, BIT(2), U64_MAX - SZ_4K + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 3, SZ_32M, SZ_4K), -EINVAL);
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 2, SZ_32M, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 2, U64_MAX, 2), -EINVAL);
}

static void kapi_fixed(struct kunit *test)
{
	struct kapi_fixture *f = test->priv;
	const u64 size = ARRAY_SIZE(f->pages) * PAGE_SIZE;
	const u64 first = SZ_16M, last_page = 600ULL * SZ_1M - size;
	u64 iova;

	/* Exactly at the first and the last usable pages of block2. */
	iova = first;
	KUNIT_ASSERT_EQ(test, map_fixed(f, BIT(2), iova), 0);
	expect_translates(test, 2, first);
	iova = last_page;
	KUNIT_ASSERT_EQ(test, map_fixed(f, BIT(2), iova), 0);
	expect_translates(test, 2, last_page);

	/* Outside, straddling either edge, over the MSI hole, overlapping. */
	KUNIT_EXPECT_EQ(test, map_fixed(f, BIT(2), first - size), -ERANGE);
	KUNIT_EXPECT_EQ(test, map_fixed(f, BIT(2), first - PAGE_SIZE), -ERANGE);
	KUNIT_EXPECT_EQ(test, map_fixed(f, BIT(2), last_page + PAGE_SIZE), -ERANGE);
	KUNIT_EXPECT_EQ(test, map_fixed(f, BIT(2), 0x8000000 - PAGE_SIZE), -EADDRINUSE);
	KUNIT_EXPECT_EQ(test, map_fixed(f, BIT(2), first + PAGE_SIZE), -EEXIST);
	KUNIT_EXPECT_EQ(test, map_fixed(f, BIT(1), 0), -EADDRINUSE);
	/* The old mapping is intact. */
	expect_translates(test, 2, first);

	/* A cut through a mapping is refused and leaves it whole. */
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 2, first, PAGE_SIZE), -EINVAL);
	expect_translates(test, 2, first);
	/* One range over both mappings takes both, with the exact count. */
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 2, first, 600ULL * SZ_1M - first),
			(s64)(2 * size));
	expect_unmapped(test, 2, first, size);
	expect_unmapped(test, 2, last_page, size);
}

static void kapi_multi_block(struct kunit *test)
{
	struct kapi_fixture *f = test->priv;
	const u64 size = ARRAY_SIZE(f->pages) * PAGE_SIZE;
	u64 iova, iova2;

	/* One buffer, one IOVA, two streams. */
	KUNIT_ASSERT_EQ(test, vpudom_map_sgtable(f->vd, BIT(1) | BIT(2), &f->sgt,
						 IOMMU_READ, 0, &iova), 0);
	KUNIT_EXPECT_GE(test, iova, (u64)SZ_16M);
	KUNIT_EXPECT_LE(test, iova + size - 1, 600ULL * SZ_1M - 1);
	expect_translates(test, 1, iova);
	expect_translates(test, 2, iova);
	/* The same IOVA is taken in both now. */
	iova2 = iova;
	KUNIT_EXPECT_EQ(test, map_fixed(f, BIT(1), iova2), -EEXIST);
	/* Unmapping through either block takes it out of both. */
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 2, iova, size), (s64)size);
	expect_unmapped(test, 1, iova, size);
	expect_unmapped(test, 2, iova, size);

	/* Disjoint windows share no IOVA. */
	KUNIT_EXPECT_EQ(test, map_auto(f, BIT(0) | BIT(2), &iova), -ENOSPC);

	/* Same IOVA in two blocks, two independent mappings. */
	iova = SZ_32M;
	KUNIT_ASSERT_EQ(test, map_fixed(f, BIT(1), iova), 0);
	KUNIT_ASSERT_EQ(test, map_fixed(f, BIT(2), iova), 0);
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 1, iova, size), (s64)size);
	expect_translates(test, 2, iova);
	expect_unmapped(test, 1, iova, size);
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 2, iova, size), (s64)size);

	/* Fixed into two blocks, taken in one: nothing is mapped anywhere. */
	iova = SZ_64M;
	KUNIT_ASSERT_EQ(test, map_fixed(f, BIT(2), iova), 0);
	iova2 = SZ_64M;
	KUNIT_EXPECT_EQ(test, map_fixed(f, BIT(1) | BIT(2), iova2), -EEXIST);
	expect_unmapped(test, 1, SZ_64M, size);
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 2, iova, size), (s64)size);
}

/*
 * A map into two blocks that fails at any allocation, in vpudom, the maple
 * tree or the IOMMU page tables, leaves nothing mapped in either block and
 * the IOVA free.  The guest enables failslab and fail_page_alloc for
 * sleeping allocations of every order before loading this module.
 */
static void kapi_failed_map_leaves_nothing(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	struct kapi_fixture *f = test->priv;
	const u64 size = ARRAY_SIZE(f->pages) * PAGE_SIZE;
	/* 1 GiB up: no page table of any earlier test covers it. */
	const u64 at = SZ_1G + SZ_16M;
	int n, ret, failed = 0;
	u64 iova;

	for (n = 1; n < 200; n++) {
		iova = at;
		current->fail_nth = n;
		ret = vpudom_map_sgtable(f->vd, BIT(0) | BIT(1), &f->sgt,
					 IOMMU_READ, VPUDOM_MAP_FIXED, &iova);
		current->fail_nth = 0;
		if (!ret)
			break;
		failed++;
		KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
		expect_unmapped(test, 0, at, size);
		expect_unmapped(test, 1, at, size);
		KUNIT_EXPECT_EQ(test, kapi_ctx(f, 0)->iova.nr_areas, 0ULL);
		KUNIT_EXPECT_EQ(test, kapi_ctx(f, 1)->iova.nr_areas, 0ULL);
	}
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "map never succeeded");
	KUNIT_EXPECT_GT_MSG(test, failed, 0,
			    "no injection point was hit: fault injection not set up");
	kunit_info(test, "a two-block map has %d injection points\n", failed);
	expect_translates(test, 0, at);
	expect_translates(test, 1, at);
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 0, at, size), (s64)size);
#else
	kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
#endif
}

/* Fill block2 with 32 MiB buffers, free one, and fit it again. */
static void kapi_exhaustion_and_blocks(struct kunit *test)
{
	struct kapi_fixture *f = test->priv;
	const u64 size = 16 * SZ_2M;
	u64 iova[32], again;
	int n = 0, i, ret;

	for (;;) {
		KUNIT_ASSERT_LT(test, n, (int)ARRAY_SIZE(iova));
		ret = vpudom_map_sgtable(f->vd, BIT(2), &f->huge_sgt,
					 IOMMU_READ, 0, &iova[n]);
		if (ret)
			break;
		/* 2 MiB-aligned IOVA for 2 MiB-aligned memory. */
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(iova[n], SZ_2M));
		KUNIT_EXPECT_EQ(test, vpudom_iova_to_phys(f->vd, 2, iova[n] + SZ_2M + 0x1234),
				page_to_phys(f->huge) + 0x1234);
		KUNIT_EXPECT_TRUE(test, iova[n] + size - 1 < 0x8000000 || iova[n] > 0x80fffff);
		n++;
	}
	KUNIT_EXPECT_EQ(test, ret, -ENOSPC);
	/*
	 * 16, 48 and 80 MiB below the MSI hole at 128 MiB; above it, from
	 * 130 MiB (129 MiB rounded up to 2 MiB) to 578 MiB, 14 more.
	 */
	KUNIT_EXPECT_EQ(test, n, 3 + 14);
	KUNIT_EXPECT_GE(test, kapi_ctx(f, 2)->iova.failures, 1ULL);
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 2, iova[7], size), (s64)size);
	KUNIT_ASSERT_EQ(test, vpudom_map_sgtable(f->vd, BIT(2), &f->huge_sgt,
						 IOMMU_READ, 0, &again), 0);
	KUNIT_EXPECT_EQ(test, again, iova[7]);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 2, iova[i], size), (s64)size);
	KUNIT_EXPECT_EQ(test, kapi_ctx(f, 2)->iova.nr_areas, 0ULL);
}

/* An IOMMU that reports context faults has them counted per stream. */
static void kapi_fault_accounting(struct kunit *test)
{
	struct kapi_fixture *f = test->priv;
	struct vpudom_ctx *ctx = kapi_ctx(f, 0);
	s64 before = atomic64_read(&ctx->faults);

	/* Recorded, not handled: the IOMMU driver prints its own report. */
	KUNIT_EXPECT_EQ(test, report_iommu_fault(ctx->domain, ctx->dev, 0x30000000,
						 IOMMU_FAULT_WRITE), VPUDOM_FAULT_UNHANDLED);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->faults), before + 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&kapi_ctx(f, 1)->faults), 0LL);
	flush_work(&ctx->fault_work);
}

/* Report a fault on @block and return what the context recorded of it. */
static const char *fault_report(struct kunit *test, unsigned int block,
				u64 iova, int flags)
{
	struct kapi_fixture *f = test->priv;
	struct vpudom_ctx *ctx = kapi_ctx(f, block);
	char *seen = kunit_kzalloc(test, VPUDOM_FAULT_REPORT_LEN, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, seen);
	KUNIT_EXPECT_EQ(test, report_iommu_fault(ctx->domain, ctx->dev, iova, flags),
			VPUDOM_FAULT_UNHANDLED);
	flush_work(&ctx->fault_work);
	mutex_lock(&ctx->lock);
	strscpy(seen, ctx->last_fault, VPUDOM_FAULT_REPORT_LEN);
	mutex_unlock(&ctx->lock);
	return seen;
}

/* The report names the mapping hit or nearest, with its owner, or the hole. */
static void kapi_fault_report(struct kunit *test)
{
	struct kapi_fixture *f = test->priv;
	const u64 size = ARRAY_SIZE(f->pages) * PAGE_SIZE;
	const u64 at = 0x80000000;

	KUNIT_ASSERT_EQ(test, map_fixed(f, BIT(0), at), 0);
	KUNIT_EXPECT_STREQ(test, fault_report(test, 0, at + SZ_4K, IOMMU_FAULT_WRITE),
			   "write at 0x80001000: inside mapping 0x80000000-0x8000ffff r- owner kernel");
	KUNIT_EXPECT_STREQ(test, fault_report(test, 0, at + size + SZ_16K, IOMMU_FAULT_READ),
			   "read at 0x80014000: unmapped, nearest mapping 0x80000000-0x8000ffff r- owner kernel");
	KUNIT_EXPECT_STREQ(test, fault_report(test, 0, at - SZ_4K, IOMMU_FAULT_READ),
			   "read at 0x7ffff000: unmapped, nearest mapping 0x80000000-0x8000ffff r- owner kernel");
	KUNIT_EXPECT_STREQ(test, fault_report(test, 0, SZ_4K, IOMMU_FAULT_READ),
			   "read at 0x1000: outside the window, nearest mapping 0x80000000-0x8000ffff r- owner kernel");
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 0, at, size), (s64)size);
	KUNIT_EXPECT_STREQ(test, fault_report(test, 0, at, IOMMU_FAULT_WRITE),
			   "write at 0x80000000: unmapped, no mapping in the stream");
	KUNIT_EXPECT_STREQ(test, fault_report(test, 1, 0x8000000 + SZ_4K, IOMMU_FAULT_WRITE),
			   "write at 0x8001000: in the msi hole 0x8000000-0x80fffff");
}

#if defined(CONFIG_KPROBES) && defined(CONFIG_ARM64)
/*
 * Bytes the test's own thread hands to arm64's dma-direct maintenance:
 * arch_sync_dma_for_device() cleans, arch_sync_dma_for_cpu() invalidates
 * unless the direction is DMA_TO_DEVICE.  x1 is the size, x2 the direction.
 */
static struct task_struct *cache_task;
static atomic64_t cache_cleaned, cache_invalidated;

static int cache_clean_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (current == cache_task)
		atomic64_add(regs->regs[1], &cache_cleaned);
	return 0;
}

static int cache_inval_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (current == cache_task && regs->regs[2] != DMA_TO_DEVICE)
		atomic64_add(regs->regs[1], &cache_invalidated);
	return 0;
}

static struct kprobe cache_kp_clean = {
	.symbol_name = "arch_sync_dma_for_device",
	.pre_handler = cache_clean_pre,
};

static struct kprobe cache_kp_inval = {
	.symbol_name = "arch_sync_dma_for_cpu",
	.pre_handler = cache_inval_pre,
};

/* Expect @clean and @inval bytes since the last call, and start again. */
static void expect_cache(struct kunit *test, u64 clean, u64 inval)
{
	KUNIT_EXPECT_EQ(test, (u64)atomic64_xchg(&cache_cleaned, 0), clean);
	KUNIT_EXPECT_EQ(test, (u64)atomic64_xchg(&cache_invalidated, 0), inval);
}

/*
 * The test board's reference VPU does not snoop the CPU caches: a kernel
 * sg_table is mapped non-cacheable, cleaned on map, invalidated on unmap
 * and over exactly the range of each sync call.
 */
static void kapi_cache_maintenance(struct kunit *test)
{
	struct kapi_fixture *f = test->priv;
	const u64 size = ARRAY_SIZE(f->pages) * PAGE_SIZE;
	struct vpudom_ctx *ctx = kapi_ctx(f, 1);
	struct vpudom_mapping *m;
	u64 iova;

	KUNIT_ASSERT_FALSE(test, ctx->coherent);
	cache_task = current;
	atomic64_set(&cache_cleaned, 0);
	atomic64_set(&cache_invalidated, 0);
	KUNIT_ASSERT_EQ(test, register_kprobe(&cache_kp_clean), 0);
	if (register_kprobe(&cache_kp_inval)) {
		unregister_kprobe(&cache_kp_clean);
		KUNIT_FAIL(test, "no kprobe on arch_sync_dma_for_cpu");
		return;
	}
	KUNIT_EXPECT_EQ(test, vpudom_map_sgtable(f->vd, BIT(1), &f->sgt,
						 IOMMU_READ | IOMMU_WRITE, 0,
						 &iova), 0);
	expect_cache(test, size, 0);
	mutex_lock(&ctx->lock);
	m = vpudom_iova_lookup(&ctx->iova, iova);
	KUNIT_EXPECT_TRUE(test, m && m->maintained);
	KUNIT_EXPECT_EQ(test, m ? m->prot : 0, IOMMU_READ | IOMMU_WRITE);
	mutex_unlock(&ctx->lock);
	KUNIT_EXPECT_EQ(test, vpudom_sync_for_cpu(f->vd, 1, iova + PAGE_SIZE,
						  2 * PAGE_SIZE), 0);
	expect_cache(test, 0, 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, vpudom_sync_for_device(f->vd, 1, iova,
						     4 * PAGE_SIZE), 0);
	expect_cache(test, 4 * PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, vpudom_sync_for_device(f->vd, 1, iova + PAGE_SIZE,
						     size), -EINVAL);
	KUNIT_EXPECT_EQ(test, vpudom_sync_for_cpu(f->vd, 1, iova + size,
						  PAGE_SIZE), -ENOENT);
	KUNIT_EXPECT_EQ(test, vpudom_sync_for_cpu(f->vd, 3, iova, PAGE_SIZE),
			-EINVAL);
	expect_cache(test, 0, 0);
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 1, iova, size), (s64)size);
	expect_cache(test, 0, size);
	/* Read by the device only: nothing to invalidate, ever. */
	KUNIT_EXPECT_EQ(test, map_auto(f, BIT(1), &iova), 0);
	expect_cache(test, size, 0);
	KUNIT_EXPECT_EQ(test, vpudom_sync_for_cpu(f->vd, 1, iova, size), 0);
	KUNIT_EXPECT_EQ(test, vpudom_unmap(f->vd, 1, iova, size), (s64)size);
	expect_cache(test, 0, 0);
	unregister_kprobe(&cache_kp_inval);
	unregister_kprobe(&cache_kp_clean);
	cache_task = NULL;
}
#else
static void kapi_cache_maintenance(struct kunit *test)
{
	kunit_skip(test, "counts arm64's dma-direct calls with kprobes");
}
#endif

static struct kunit_case kapi_cases[] = {
	KUNIT_CASE(kapi_cache_maintenance),
	KUNIT_CASE(kapi_map_each_block),
	KUNIT_CASE(kapi_bad_arguments),
	KUNIT_CASE(kapi_fixed),
	KUNIT_CASE(kapi_multi_block),
	KUNIT_CASE(kapi_failed_map_leaves_nothing),
	KUNIT_CASE(kapi_exhaustion_and_blocks),
	KUNIT_CASE(kapi_fault_accounting),
	KUNIT_CASE(kapi_fault_report),
	{}
};

static struct kunit_suite kapi_suite = {
	.name = "vpudom_kapi",
	.init = kapi_init,
	.exit = kapi_exit,
	.test_cases = kapi_cases,
};

kunit_test_suites(&iova_suite, &kapi_suite);

MODULE_DESCRIPTION("KUnit tests of vpudom");
MODULE_LICENSE("GPL");
