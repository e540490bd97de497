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
 * The tree uses the context's mutex as its external lock, so that node
 * allocation may sleep under it.  Nothing reads it without the mutex (the
 * fault handler defers its lookup to process context), so it does not need
 * RCU mode and its cost on every removal.
 */
#include <linux/align.h>
#include <linux/lockdep.h>
#include <linux/maple_tree.h>
#include <linux/minmax.h>

#include "vpudom_priv.h"

/*
 * Stands in the tree for every hole.  Aligned so that the maple tree does
 * not mistake it for one of its internal entries.
 */
static const struct { u64 unused; } vpudom_hole_marker __aligned(8);
#define VPUDOM_HOLE_ENTRY ((void *)&vpudom_hole_marker)

bool vpudom_iova_is_hole(const void *entry)
{
	return entry == VPUDOM_HOLE_ENTRY;
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
}

static int vpudom_iova_store(struct vpudom_iova_space *s, u64 start, u64 last,
			     void *entry, gfp_t gfp)
{
	MA_STATE(mas, &s->mt, start, last);

	return mas_store_gfp(&mas, entry, gfp);
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
	if (start > last || start < s->bounds.start || last > s->bounds.last)
		return -ERANGE;
	mas_for_each(&mas, entry, last) {
		if (vpudom_iova_is_hole(entry))
			return -EADDRINUSE;
		live = true;
	}
	return live ? -EEXIST : 0;
}

/* The lowest start >= @lo, aligned to @align, if the aligned range fits. */
static bool vpudom_iova_fit(struct vpudom_iova_space *s, u64 lo, u64 hi,
			    u64 size, u64 align, u64 *start, u64 *busy_last)
{
	u64 cand = ALIGN(lo, align);

	*busy_last = hi;
	if (cand < lo || cand > hi || hi - cand < size - 1)
		return false;
	if (vpudom_iova_busy(s, cand, cand + size - 1, busy_last))
		return false;
	*start = cand;
	return true;
}

/**
 * vpudom_iova_find() - find the lowest free aligned range of a size
 * @s: the space
 * @size: bytes, a multiple of the granule
 * @align: alignment of the start, a power of two and at least the granule
 * @min: lowest acceptable start, further bounded by the space
 * @max: highest acceptable last IOVA, further bounded by the space
 * @start: the start found
 *
 * First a gap of @size + @align - granule is looked for: any such gap holds
 * an aligned range, and finding it is one descent of the tree.  Only when no
 * gap is that large are the gaps of at least @size walked for one whose
 * aligned start still fits, so that a freed aligned range is found again
 * even in a full window.  Nothing is inserted.
 *
 * Return: 0 and *@start, or -ENOSPC.
 */
int vpudom_iova_find(struct vpudom_iova_space *s, u64 size, u64 align,
		     u64 min, u64 max, u64 *start)
{
	MA_STATE(mas, &s->mt, 0, 0);
	u64 lo = max(min, s->bounds.start);
	u64 hi = min(max, s->bounds.last);
	u64 busy_last, wide = size + align - s->granule;

	lockdep_assert_held(s->lock);
	if (!size || lo > hi || hi - lo < size - 1)
		return -ENOSPC;

	if (align > s->granule && wide > size && hi - lo >= wide - 1 &&
	    !mas_empty_area(&mas, lo, hi, wide) &&
	    vpudom_iova_fit(s, mas.index, hi, size, align, start, &busy_last))
		return 0;

	while (hi - lo >= size - 1) {
		mas_reset(&mas);
		if (mas_empty_area(&mas, lo, hi, size))
			break;
		if (vpudom_iova_fit(s, mas.index, hi, size, align, start,
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
 * The lowest fit is found first; if it meets the kernel-only range, no fit
 * lies wholly below that range, so the search goes on above it.
 *
 * Return: 0 and *@start, or -ENOSPC.
 */
int vpudom_iova_find_user(struct vpudom_iova_space *s, u64 size, u64 align,
			  u64 min, u64 max, u64 *start)
{
	u64 ko_last;
	int ret;

	ret = vpudom_iova_find(s, size, align, min, max, start);
	if (ret || !vpudom_iova_kernel_only(s, *start, *start + size - 1,
					    &ko_last))
		return ret;
	if (ko_last >= max)
		return -ENOSPC;
	return vpudom_iova_find(s, size, align, ko_last + 1, max, start);
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
	int ret;

	lockdep_assert_held(s->lock);
	if (WARN_ON_ONCE(vpudom_iova_busy(s, start, last, NULL)))
		return -EEXIST;
	ret = vpudom_iova_store(s, start, last, area, GFP_KERNEL);
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
 * the few tree nodes it may need are allocated with __GFP_NOFAIL.
 */
void vpudom_iova_remove(struct vpudom_iova_space *s, u64 start, u64 last)
{
	lockdep_assert_held(s->lock);
	vpudom_iova_store(s, start, last, NULL, GFP_KERNEL | __GFP_NOFAIL);
	s->nr_areas--;
	s->mapped -= last - start + 1;
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
		if (mas.index > next)
			largest = max(largest, (u64)mas.index - next);
		if (mas.last >= s->bounds.last)
			return largest;
		next = mas.last + 1;
	}
	return max(largest, s->bounds.last - next + 1);
}
