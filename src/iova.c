// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOVA allocator of one context.
 *
 * Live areas and holes sit in a maple tree keyed by IOVA range.  With
 * MT_FLAGS_ALLOC_RANGE the tree keeps the largest gap of every node, so the
 * lowest free range of a size is found by one descent: O(log n) in live
 * areas, as are insertion, removal and lookup.  The bounds of the window are
 * passed to every search, so the allocator never returns an IOVA outside it.
 *
 * Small buffers take the lowest fit and large ones the tightest of the
 * highest free ranges, so that the two do not cut up each other's space;
 * freed small areas stay in the tree for reuse by the next of their size.
 *
 * The tree uses the context's mutex as its external lock, so that node
 * allocation may sleep under it.  Nothing reads it without the mutex (the
 * fault handler defers its lookup to process context), so it does not need
 * RCU mode and its cost on every removal.
 */
#include <linux/align.h>
#include <linux/lockdep.h>
#include <linux/maple_tree.h>
#include <linux/minmax.h>

#include "iova.h"

/*
 * Tree entries that are not areas: one for every hole, one for a freed
 * small area kept for reuse (see the reuse cache below).  Constants, not
 * objects, so that a copy of this file built into a test module knows them
 * in the trees vpudom made: multiples of 8 in the first page, never a
 * kernel pointer nor one of the maple tree's internal entries.
 */
#define VPUDOM_HOLE_ENTRY	((void *)0x100)
#define VPUDOM_CACHED_ENTRY	((void *)0x108)

/**
 * vpudom_iova_is_hole() - whether a tree entry is not an area
 * @entry: what a walk of the tree found
 *
 * Return: true for a hole, and for a freed range kept for reuse: neither
 * is anyone's mapping.
 */
bool vpudom_iova_is_hole(const void *entry)
{
	return entry == VPUDOM_HOLE_ENTRY || entry == VPUDOM_CACHED_ENTRY;
}

void vpudom_iova_init(struct vpudom_iova_space *s,
		      const struct vpudom_range *bounds,
		      u64 granule, struct mutex *lock)
{
	mt_init_flags(&s->mt, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(&s->mt, lock);
	s->lock = lock;
	s->bounds = *bounds;
	s->granule = granule;
	s->mapped = 0;
	s->nr_areas = 0;
	s->high_water = 0;
	s->failures = 0;
	s->has_kernel_only = false;
	s->fixed_seen = false;
	memset(s->nr_cached, 0, sizeof(s->nr_cached));
}

/**
 * vpudom_iova_set_kernel_only() - keep a range of the space for the kernel
 * @s: the space
 * @range: the range; the part outside the bounds is ignored
 *
 * Only vpudom_iova_find_user() and vpudom_iova_kernel_only() know of it:
 * the range stays free for kernel allocations.
 */
void vpudom_iova_set_kernel_only(struct vpudom_iova_space *s,
				 const struct vpudom_range *range)
{
	s->kernel_only.start = max(range->start, s->bounds.start);
	s->kernel_only.last = min(range->last, s->bounds.last);
	s->has_kernel_only = s->kernel_only.start <= s->kernel_only.last;
}

/**
 * vpudom_iova_kernel_only() - whether a range meets the kernel-only range
 * @s: the space
 * @start: first IOVA
 * @last: last IOVA
 * @ko_last: if not NULL and the range meets it, set to the last IOVA of the
 *	kernel-only range
 *
 * Return: true if [@start, @last] overlaps the kernel-only range.
 */
bool vpudom_iova_kernel_only(const struct vpudom_iova_space *s, u64 start,
			     u64 last, u64 *ko_last)
{
	if (!s->has_kernel_only || last < s->kernel_only.start ||
	    start > s->kernel_only.last)
		return false;
	if (ko_last)
		*ko_last = s->kernel_only.last;
	return true;
}

void vpudom_iova_destroy(struct vpudom_iova_space *s)
{
	lockdep_assert_held(s->lock);
	WARN_ON_ONCE(s->nr_areas);
	__mt_destroy(&s->mt);
	memset(s->nr_cached, 0, sizeof(s->nr_cached));
}

static int vpudom_iova_store(struct vpudom_iova_space *s, u64 start, u64 last,
			     void *entry, gfp_t gfp)
{
	MA_STATE(mas, &s->mt, start, last);

	return mas_store_gfp(&mas, entry, gfp);
}

/*
 * The reuse cache.  A small area (VPUDOM_IOVA_CACHE_ORDERS sizes, one
 * granule to 8) is not given back to the free space when it is removed:
 * its tree entry becomes VPUDOM_CACHED_ENTRY and its start goes on a stack
 * of its size.  Both steps replace one slot of a leaf, where giving the
 * range back merges it with the free ranges around it (a node rewrite) and
 * updates the largest gap of every node up to the root.  The next find of
 * that size takes the latest start that suits it, and the insert replaces
 * the slot again.  At most VPUDOM_IOVA_CACHE_DEPTH starts per size, few
 * enough not to steer where other sizes go; every cached range is given
 * back when a search finds nothing (before ENOSPC) and when the last area
 * goes, and a fixed range gives back those it meets.  A space in which a fixed
 * range has been checked (vpudom_iova_check()) caches nothing more.
 */
static int vpudom_iova_cache_order(const struct vpudom_iova_space *s, u64 size)
{
	int order;

	if (!size || size & (size - 1) || size < s->granule)
		return -1;
	order = ilog2(size) - ilog2(s->granule);
	return order < VPUDOM_IOVA_CACHE_ORDERS ? order : -1;
}

/* Take @start off its stack, if it is there. */
static void vpudom_iova_uncache(struct vpudom_iova_space *s, u64 start,
				u64 size)
{
	int order = vpudom_iova_cache_order(s, size);
	unsigned int i;

	if (order < 0)
		return;
	for (i = 0; i < s->nr_cached[order]; i++) {
		if (s->cached[order][i] != start)
			continue;
		s->cached[order][i] = s->cached[order][--s->nr_cached[order]];
		return;
	}
}

/* Give every cached range back to the free space; false if there was none. */
static bool vpudom_iova_drain(struct vpudom_iova_space *s)
{
	unsigned int order, i;
	bool any = false;
	u64 size;

	for (order = 0; order < VPUDOM_IOVA_CACHE_ORDERS; order++) {
		size = s->granule << order;
		for (i = 0; i < s->nr_cached[order]; i++)
			vpudom_iova_store(s, s->cached[order][i],
					  s->cached[order][i] + size - 1, NULL,
					  GFP_KERNEL | __GFP_NOFAIL);
		any |= s->nr_cached[order];
		s->nr_cached[order] = 0;
	}
	return any;
}

/* Give back the cached ranges that meet [@start, @last]. */
static void vpudom_iova_drain_range(struct vpudom_iova_space *s, u64 start,
				    u64 last)
{
	u64 at = start, c_start, c_last;
	void *entry;

	for (;;) {
		MA_STATE(mas, &s->mt, at, at);

		do {
			entry = mas_find(&mas, last);
		} while (entry && entry != VPUDOM_CACHED_ENTRY);
		if (!entry)
			return;
		c_start = mas.index;
		c_last = mas.last;
		vpudom_iova_uncache(s, c_start, c_last - c_start + 1);
		vpudom_iova_store(s, c_start, c_last, NULL,
				  GFP_KERNEL | __GFP_NOFAIL);
		if (c_last >= last)
			return;
		at = c_last + 1;
	}
}

/* The latest cached start that suits the search, if any. */
static bool vpudom_iova_cached_fit(struct vpudom_iova_space *s, u64 size,
				   u64 align, u64 lo, u64 hi, bool user,
				   u64 *start)
{
	int order = vpudom_iova_cache_order(s, size);
	unsigned int i;
	u64 c;

	if (order < 0)
		return false;
	for (i = s->nr_cached[order]; i-- > 0;) {
		c = s->cached[order][i];
		if (c < lo || c > hi || hi - c < size - 1 ||
		    !IS_ALIGNED(c, align) ||
		    (user && vpudom_iova_kernel_only(s, c, c + size - 1, NULL)))
			continue;
		*start = c;
		return true;
	}
	return false;
}

/**
 * vpudom_range_align_in() - shrink a range to the whole granules inside it
 * @r: the range; changed only on success
 * @granule: a power of two
 *
 * A window must hold at least one whole granule: anything less has no IOVA
 * the IOMMU can map, and rounding its end down would wrap below zero.
 *
 * Return: true if at least one whole granule remains.
 */
bool vpudom_range_align_in(struct vpudom_range *r, u64 granule)
{
	u64 mask = granule - 1, start, last;

	if (r->start > r->last)
		return false;
	start = ALIGN(r->start, granule);
	if (start < r->start)
		return false;
	last = r->last;
	if ((last & mask) != mask) {
		/* No granule ends at or below @last. */
		if (last < mask)
			return false;
		last = (last & ~mask) - 1;
	}
	if (start > last)
		return false;
	r->start = start;
	r->last = last;
	return true;
}

/**
 * vpudom_iova_add_hole() - make a range of the space unusable
 * @s: the space
 * @hole: the range; the part outside the bounds is ignored
 *
 * Holes may overlap each other; the union is never handed out.
 *
 * Return: 0 or -ENOMEM.
 */
int vpudom_iova_add_hole(struct vpudom_iova_space *s,
			 const struct vpudom_range *hole)
{
	u64 start = max(hole->start, s->bounds.start);
	u64 last = min(hole->last, s->bounds.last);

	lockdep_assert_held(s->lock);
	if (start > last)
		return 0;
	return vpudom_iova_store(s, start, last, VPUDOM_HOLE_ENTRY, GFP_KERNEL);
}

/**
 * vpudom_iova_busy() - whether any area or hole meets a range
 * @s: the space
 * @start: first IOVA of the range
 * @last: last IOVA of the range
 * @busy_last: if not NULL, set to the last IOVA of the first entry met
 *
 * Return: true if [@start, @last] is not entirely free.
 */
bool vpudom_iova_busy(struct vpudom_iova_space *s, u64 start, u64 last,
		      u64 *busy_last)
{
	MA_STATE(mas, &s->mt, start, start);

	lockdep_assert_held(s->lock);
	if (!mas_find(&mas, last))
		return false;
	if (busy_last)
		*busy_last = mas.last;
	return true;
}

/**
 * vpudom_iova_check() - whether a fixed range may be taken
 * @s: the space
 * @start: first IOVA
 * @last: last IOVA
 *
 * Return: 0 if it is inside the bounds and free; -ERANGE if it is not
 * entirely inside the bounds; -EADDRINUSE if it meets a hole; -EEXIST if it
 * meets a live area.
 */
int vpudom_iova_check(struct vpudom_iova_space *s, u64 start, u64 last)
{
	MA_STATE(mas, &s->mt, start, start);
	bool live = false;
	void *entry;

	lockdep_assert_held(s->lock);
	/*
	 * Where IOVAs are chosen by hand, the reuse cache steps aside for
	 * good: an automatic map must not be handed a range a fixed one just
	 * gave back ahead of the lowest fit.
	 */
	if (!s->fixed_seen) {
		s->fixed_seen = true;
		vpudom_iova_drain(s);
	}
	if (start > last || start < s->bounds.start || last > s->bounds.last)
		return -ERANGE;
	mas_for_each(&mas, entry, last) {
		if (entry == VPUDOM_HOLE_ENTRY)
			return -EADDRINUSE;
		if (entry != VPUDOM_CACHED_ENTRY)
			live = true;
	}
	return live ? -EEXIST : 0;
}

/*
 * The lowest start >= @lo, aligned to @align, if the aligned range fits.
 * @known bytes from @lo are known to be free (the gap search found them):
 * an aligned range inside them needs no look at the tree.
 */
static bool vpudom_iova_fit(struct vpudom_iova_space *s, u64 lo, u64 hi,
			    u64 size, u64 align, u64 known, u64 *start,
			    u64 *busy_last)
{
	u64 cand = ALIGN(lo, align);

	*busy_last = hi;
	if (cand < lo || cand > hi || hi - cand < size - 1)
		return false;
	if (cand - lo > known - size &&
	    vpudom_iova_busy(s, cand, cand + size - 1, busy_last))
		return false;
	*start = cand;
	return true;
}

/*
 * The lowest free aligned range in [@lo, @hi], which the caller has checked
 * can hold @size.  A gap of @size + @align - granule holds an aligned range
 * wherever it is, and finding the lowest one is one descent of the tree (as
 * is a gap of @size when @align is the granule).
 * Only when no gap is that large are the gaps of at least @size walked for
 * one whose aligned start still fits, so that a freed aligned range is found
 * again even in a full window.
 */
static int vpudom_iova_find_low(struct vpudom_iova_space *s, u64 size,
				u64 align, u64 lo, u64 hi, u64 *start)
{
	MA_STATE(mas, &s->mt, 0, 0);
	u64 busy_last, wide = size + align - s->granule;

	if (align > s->granule && wide > size && hi - lo >= wide - 1 &&
	    !mas_empty_area(&mas, lo, hi, wide) &&
	    vpudom_iova_fit(s, mas.index, hi, size, align, wide, start,
			    &busy_last))
		return 0;

	while (hi - lo >= size - 1) {
		mas_reset(&mas);
		if (mas_empty_area(&mas, lo, hi, size))
			break;
		if (vpudom_iova_fit(s, mas.index, hi, size, align, size, start,
				    &busy_last))
			return 0;
		/*
		 * The aligned start fell into the next entry or past @hi:
		 * continue after that entry.
		 */
		if (busy_last >= hi)
			break;
		lo = max(busy_last + 1, (u64)mas.index + s->granule);
	}
	return -ENOSPC;
}

/* The first free IOVA of the free range that ends at @free_last, or @lo. */
static u64 vpudom_iova_free_start(struct vpudom_iova_space *s, u64 lo,
				  u64 free_last)
{
	MA_STATE(mas, &s->mt, free_last, free_last);

	/* Down to 0, not @lo: an entry may reach across @lo. */
	if (!mas_find_rev(&mas, 0))
		return lo;
	return max(lo, (u64)mas.last + 1);
}

/*
 * Of the free ranges in [@lo, @hi] that hold an aligned range of @size at
 * their top end, the smallest among the @best_of highest; 1 takes the
 * highest.  Each range looked at costs two descents of the tree.  Ranges of
 * at least @size in which the aligned range does not fit count towards
 * @best_of too, but the walk goes on down until one fits.
 */
static int vpudom_iova_find_high(struct vpudom_iova_space *s, u64 size,
				 u64 align, u64 lo, u64 hi,
				 unsigned int best_of, u64 *start)
{
	MA_STATE(mas, &s->mt, 0, 0);
	u64 free_start, free_last, cand, len, best = U64_MAX;
	unsigned int seen = 0;

	while (hi - lo >= size - 1) {
		mas_reset(&mas);
		if (mas_empty_area_rev(&mas, lo, hi, size))
			break;
		free_last = min_t(u64, mas.last, hi);
		free_start = vpudom_iova_free_start(s, lo, free_last);
		if (free_last - free_start >= size - 1) {
			cand = ALIGN_DOWN(free_last - size + 1, align);
			len = free_last - free_start + 1;
			if (cand >= free_start && len < best) {
				best = len;
				*start = cand;
				if (len == size)
					break;
			}
		}
		if (++seen >= best_of && best != U64_MAX)
			break;
		if (free_start <= lo)
			break;
		hi = free_start - 1;
		if (hi < lo)
			break;
	}
	return best == U64_MAX ? -ENOSPC : 0;
}

/*
 * The fit policy: small buffers take the lowest fit, so that they pack at
 * the bottom of the window; large ones the tightest of the highest free
 * ranges.  What frees up among the large ones is then a range a later large
 * buffer fits in again, not one that small buffers have cut up; the two
 * meet only when the window is nearly full.
 */
static bool vpudom_iova_is_large(u64 size)
{
	return size >= VPUDOM_IOVA_LARGE;
}

/* As vpudom_iova_find(), choosing among @best_of ranges for a large one. */
static int vpudom_iova_find_in(struct vpudom_iova_space *s, u64 size,
			       u64 align, u64 min, u64 max,
			       unsigned int best_of, u64 *start)
{
	u64 lo = max(min, s->bounds.start);
	u64 hi = min(max, s->bounds.last);

	lockdep_assert_held(s->lock);
	if (!size || lo > hi || hi - lo < size - 1)
		return -ENOSPC;
	if (vpudom_iova_is_large(size))
		return vpudom_iova_find_high(s, size, align, lo, hi, best_of,
					     start);
	return vpudom_iova_find_low(s, size, align, lo, hi, start);
}

static int vpudom_iova_find_user_in(struct vpudom_iova_space *s, u64 size,
				    u64 align, u64 min, u64 max,
				    unsigned int best_of, u64 *start);

/*
 * One space: a cached range of the size if one suits, else the policy's
 * search; if that finds nothing, the cached ranges are given back and it
 * searches again.
 */
static int vpudom_iova_find_one(struct vpudom_iova_space *s, u64 size,
				u64 align, u64 min, u64 max, bool user,
				u64 *start)
{
	u64 lo = max(min, s->bounds.start);
	u64 hi = min(max, s->bounds.last);
	int ret;

	lockdep_assert_held(s->lock);
	if (size && lo <= hi && hi - lo >= size - 1 &&
	    vpudom_iova_cached_fit(s, size, align, lo, hi, user, start))
		return 0;
	for (;;) {
		if (user)
			ret = vpudom_iova_find_user_in(s, size, align, min, max,
						       VPUDOM_IOVA_BEST_OF,
						       start);
		else
			ret = vpudom_iova_find_in(s, size, align, min, max,
						  VPUDOM_IOVA_BEST_OF, start);
		if (ret != -ENOSPC || !vpudom_iova_drain(s))
			return ret;
	}
}

/**
 * vpudom_iova_find() - find a free aligned range of a size
 * @s: the space
 * @size: bytes, a multiple of the granule
 * @align: alignment of the start, a power of two and at least the granule
 * @min: lowest acceptable start, further bounded by the space
 * @max: highest acceptable last IOVA, further bounded by the space
 * @start: the start found
 *
 * A cached range of the size, if one suits.  Otherwise, below
 * VPUDOM_IOVA_LARGE, the lowest fit: one descent of the tree.  From it, the
 * smallest free range among the VPUDOM_IOVA_BEST_OF highest that hold the
 * aligned range, at its top end.  Either way a fit is found if there is
 * one: the cached ranges are given back before -ENOSPC.  Nothing is
 * inserted.
 *
 * Return: 0 and *@start, or -ENOSPC.
 */
int vpudom_iova_find(struct vpudom_iova_space *s, u64 size, u64 align,
		     u64 min, u64 max, u64 *start)
{
	return vpudom_iova_find_one(s, size, align, min, max, false, start);
}

/* As vpudom_iova_find(), never in the kernel-only range. */
static int vpudom_iova_find_user_in(struct vpudom_iova_space *s, u64 size,
				    u64 align, u64 min, u64 max,
				    unsigned int best_of, u64 *start)
{
	const struct vpudom_range *ko = &s->kernel_only;
	bool below, above;
	int ret;

	if (!s->has_kernel_only)
		return vpudom_iova_find_in(s, size, align, min, max, best_of,
					   start);
	below = ko->start > min;
	above = ko->last < max;
	/* Towards the end of the window the policy fills first. */
	if (vpudom_iova_is_large(size)) {
		ret = above ? vpudom_iova_find_in(s, size, align, ko->last + 1,
						  max, best_of, start) :
			      -ENOSPC;
		if (ret && below)
			ret = vpudom_iova_find_in(s, size, align, min,
						  ko->start - 1, best_of,
						  start);
	} else {
		ret = below ? vpudom_iova_find_in(s, size, align, min,
						  ko->start - 1, best_of,
						  start) :
			      -ENOSPC;
		if (ret && above)
			ret = vpudom_iova_find_in(s, size, align, ko->last + 1,
						  max, best_of, start);
	}
	return ret;
}

/**
 * vpudom_iova_find_user() - vpudom_iova_find() for user space: never in the
 *	kernel-only range
 * @s: the space
 * @size: as for vpudom_iova_find()
 * @align: as for vpudom_iova_find()
 * @min: as for vpudom_iova_find()
 * @max: as for vpudom_iova_find()
 * @start: the start found
 *
 * The parts of [@min, @max] below and above the kernel-only range are
 * searched one after the other, first the one the policy fills first.
 *
 * Return: 0 and *@start, or -ENOSPC.
 */
int vpudom_iova_find_user(struct vpudom_iova_space *s, u64 size, u64 align,
			  u64 min, u64 max, u64 *start)
{
	return vpudom_iova_find_one(s, size, align, min, max, true, start);
}

/*
 * Whether an aligned range at @start is in the way in @s (for @user, its
 * kernel-only range too); if so, the first and last IOVA of what is in the
 * way, the lowest such thing.
 */
static bool vpudom_iova_blocked(struct vpudom_iova_space *s, u64 start,
				u64 last, bool user, u64 *b_start, u64 *b_last)
{
	MA_STATE(mas, &s->mt, start, start);
	bool blocked = false;

	lockdep_assert_held(s->lock);
	if (mas_find(&mas, last)) {
		*b_start = mas.index;
		*b_last = mas.last;
		blocked = true;
	}
	if (user && vpudom_iova_kernel_only(s, start, last, NULL) &&
	    (!blocked || s->kernel_only.start < *b_start)) {
		*b_start = s->kernel_only.start;
		*b_last = s->kernel_only.last;
		blocked = true;
	}
	return blocked;
}

/* vpudom_iova_find_common() for several spaces, cached ranges in the way. */
static int vpudom_iova_find_several(struct vpudom_iova_space *const *sp,
				    unsigned int n, u64 size, u64 align,
				    bool user, u64 *start)
{
	u64 lo = 0, hi = U64_MAX, cand, b_start, b_last;
	bool large = vpudom_iova_is_large(size);
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		lo = max(lo, sp[i]->bounds.start);
		hi = min(hi, sp[i]->bounds.last);
	}
	for (;;) {
		/* Only the extreme fit keeps the search below complete. */
		ret = user ? vpudom_iova_find_user_in(sp[0], size, align, lo,
						      hi, 1, &cand) :
			     vpudom_iova_find_in(sp[0], size, align, lo, hi, 1,
						 &cand);
		if (ret)
			return ret;
		for (i = 1; i < n; i++) {
			if (vpudom_iova_blocked(sp[i], cand, cand + size - 1,
						user, &b_start, &b_last))
				break;
		}
		if (i == n) {
			*start = cand;
			return 0;
		}
		/*
		 * Any common fit lies wholly beyond what is in the way: a
		 * fit on its near side would overlap it.
		 */
		if (large) {
			if (b_start <= lo)
				return -ENOSPC;
			hi = b_start - 1;
		} else {
			if (b_last >= hi)
				return -ENOSPC;
			lo = b_last + 1;
		}
	}
}

/**
 * vpudom_iova_find_common() - an aligned range free in several spaces
 * @sp: the spaces
 * @n: how many, at least 1
 * @size: as for vpudom_iova_find()
 * @align: as for vpudom_iova_find()
 * @user: for user space: never in a kernel-only range
 * @start: the start found
 *
 * With one space, vpudom_iova_find() or vpudom_iova_find_user().  With
 * several, the fit the policy would take in the first is checked in the
 * others; while one of them has something in the way, the search goes on
 * past it (below it for a large buffer, which takes the highest fit, above
 * it for a small one), so that a common fit is found if there is one.
 *
 * Return: 0 and *@start, or -ENOSPC.
 */
int vpudom_iova_find_common(struct vpudom_iova_space *const *sp,
			    unsigned int n, u64 size, u64 align, bool user,
			    u64 *start)
{
	bool drained = false;
	unsigned int i;
	int ret;

	if (n == 1)
		return user ? vpudom_iova_find_user(sp[0], size, align, 0,
						    U64_MAX, start) :
			      vpudom_iova_find(sp[0], size, align, 0, U64_MAX,
					       start);
	ret = vpudom_iova_find_several(sp, n, size, align, user, start);
	if (ret != -ENOSPC)
		return ret;
	/* Cached ranges are in the way too: give them back, once. */
	for (i = 0; i < n; i++)
		drained |= vpudom_iova_drain(sp[i]);
	return drained ? vpudom_iova_find_several(sp, n, size, align, user,
						  start) : ret;
}

/**
 * vpudom_iova_insert() - take a range that vpudom_iova_find() or
 *	vpudom_iova_check() said is free
 * @s: the space
 * @start: first IOVA
 * @last: last IOVA
 * @area: what to find there later; never NULL
 *
 * Return: 0 or -ENOMEM.
 */
int vpudom_iova_insert(struct vpudom_iova_space *s, u64 start, u64 last,
		       void *area)
{
	MA_STATE(mas, &s->mt, start, start);
	void *entry;
	int ret;

	lockdep_assert_held(s->lock);
	/*
	 * One descent: the walk finds the free range around @start, or the
	 * cached range that is exactly @start to @last, and the store starts
	 * from the leaf it ended in.  Otherwise (cached ranges in the way, or
	 * a free range split between two leaves) the cached ranges met are
	 * given back, the range is checked entry by entry and the store
	 * starts from the root.
	 */
	entry = mas_walk(&mas);
	if (entry == VPUDOM_CACHED_ENTRY && mas.index == start &&
	    mas.last == last) {
		vpudom_iova_uncache(s, start, last - start + 1);
	} else if (entry || mas.last < last) {
		vpudom_iova_drain_range(s, start, last);
		if (WARN_ON_ONCE(vpudom_iova_busy(s, start, last, NULL)))
			return -EEXIST;
		mas_set_range(&mas, start, last);
	} else {
		mas.index = start;
		mas.last = last;
	}
	ret = mas_store_gfp(&mas, area, GFP_KERNEL);
	if (ret)
		return ret;
	s->nr_areas++;
	s->mapped += last - start + 1;
	s->high_water = max(s->high_water, s->mapped);
	return 0;
}

/**
 * vpudom_iova_remove() - release a range taken by vpudom_iova_insert()
 * @s: the space
 * @start: first IOVA
 * @last: last IOVA
 *
 * Cannot fail: removal must always be possible on unwind and teardown, so
 * the few tree nodes it may need are allocated with __GFP_NOFAIL.  A small
 * area may stay in the tree as a cached range (see the reuse cache): free
 * for every purpose, found again by the next find of its size.
 */
void vpudom_iova_remove(struct vpudom_iova_space *s, u64 start, u64 last)
{
	int order = vpudom_iova_cache_order(s, last - start + 1);
	void *entry = NULL;

	lockdep_assert_held(s->lock);
	/*
	 * A small area is kept for reuse while its size has room; the last
	 * area leaves an empty space behind it, as a new one.
	 */
	if (order >= 0 && !s->fixed_seen && s->nr_areas > 1 &&
	    s->nr_cached[order] < VPUDOM_IOVA_CACHE_DEPTH) {
		s->cached[order][s->nr_cached[order]++] = start;
		entry = VPUDOM_CACHED_ENTRY;
	}
	vpudom_iova_store(s, start, last, entry, GFP_KERNEL | __GFP_NOFAIL);
	s->nr_areas--;
	s->mapped -= last - start + 1;
	if (!s->nr_areas)
		vpudom_iova_drain(s);
}

/**
 * vpudom_iova_retire() - turn an area into a hole for good
 * @s: the space
 * @start: first IOVA of an area taken by vpudom_iova_insert()
 * @last: its last IOVA
 *
 * For an area the IOMMU could not entirely unmap: its IOVAs may still
 * translate, so they are never handed out again.  Cannot fail, as
 * vpudom_iova_remove().
 */
void vpudom_iova_retire(struct vpudom_iova_space *s, u64 start, u64 last)
{
	lockdep_assert_held(s->lock);
	vpudom_iova_store(s, start, last, VPUDOM_HOLE_ENTRY,
			  GFP_KERNEL | __GFP_NOFAIL);
	s->nr_areas--;
	s->mapped -= last - start + 1;
}

/**
 * vpudom_iova_lookup() - the area containing an IOVA
 * @s: the space
 * @iova: the IOVA
 *
 * Return: the area, or NULL if @iova is free or in a hole.
 */
void *vpudom_iova_lookup(struct vpudom_iova_space *s, u64 iova)
{
	MA_STATE(mas, &s->mt, iova, iova);
	void *entry;

	lockdep_assert_held(s->lock);
	entry = mas_walk(&mas);
	return vpudom_iova_is_hole(entry) ? NULL : entry;
}

/**
 * vpudom_iova_largest_free() - the largest free range inside the bounds
 * @s: the space
 *
 * Walks every entry: meant for statistics, not for hot paths.
 *
 * Return: its size in bytes (0 if the space is full).
 */
u64 vpudom_iova_largest_free(struct vpudom_iova_space *s)
{
	MA_STATE(mas, &s->mt, s->bounds.start, s->bounds.start);
	u64 next = s->bounds.start, largest = 0;
	void *entry;

	lockdep_assert_held(s->lock);
	mas_for_each(&mas, entry, s->bounds.last) {
		/* A cached range is free space. */
		if (entry == VPUDOM_CACHED_ENTRY)
			continue;
		if (mas.index > next)
			largest = max(largest, (u64)mas.index - next);
		if (mas.last >= s->bounds.last)
			return largest;
		next = mas.last + 1;
	}
	return max(largest, s->bounds.last - next + 1);
}
