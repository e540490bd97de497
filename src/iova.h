/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IOVA allocator (iova.c): one bounded IOVA space per context, kept in
 * a maple tree of live areas and holes.  It knows nothing of mappings,
 * sessions or users: an area is an opaque pointer, and the caller holds
 * the lock it named at vpudom_iova_init().
 */
#ifndef _VPUDOM_IOVA_H
#define _VPUDOM_IOVA_H

#include <linux/maple_tree.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/types.h>
#include <linux/vpudom.h>

/* Freed areas of the granule times 1 to 8 kept for reuse, 4 of each size. */
#define VPUDOM_IOVA_CACHE_ORDERS	4
#define VPUDOM_IOVA_CACHE_DEPTH		4

/**
 * struct vpudom_iova_space - bounded IOVA allocator of one context
 * @mt: live areas and holes by IOVA range; gap-tracking (MT_FLAGS_ALLOC_RANGE)
 *	so that a free range is found in O(log n)
 * @bounds: window ∩ aperture, without IOVA 0
 * @granule: smallest unit of allocation (the smallest IOMMU page size, at
 *	least PAGE_SIZE)
 * @mapped: bytes in live areas
 * @nr_areas: number of live areas
 * @high_water: largest @mapped seen
 * @failures: allocations refused for lack of space
 * @kernel_only: the range only the kernel may take, within @bounds
 * @has_kernel_only: @kernel_only is set
 * @cached: starts of freed small areas kept in the tree for reuse, one
 *	stack per size (the granule times 1, 2, 4 and 8)
 * @nr_cached: how many starts each stack holds
 * @fixed_seen: a fixed range has been checked here: nothing is cached
 * @lock: the lock that protects all of the above, the tree's external lock
 *
 * All members are protected by the lock passed to vpudom_iova_init().
 */
struct vpudom_iova_space {
	struct maple_tree mt;
	struct vpudom_range bounds;
	u64 granule;
	u64 mapped;
	u64 nr_areas;
	u64 high_water;
	u64 failures;
	struct vpudom_range kernel_only;
	bool has_kernel_only;
	u64 cached[VPUDOM_IOVA_CACHE_ORDERS][VPUDOM_IOVA_CACHE_DEPTH];
	u8 nr_cached[VPUDOM_IOVA_CACHE_ORDERS];
	bool fixed_seen;
	struct mutex *lock; /* the context's, see above */
};

/*
 * iova.c: the allocator engine, with no knowledge of mappings or users.
 * Buffers of VPUDOM_IOVA_LARGE bytes or more are placed from the top of the
 * window, in the tightest of the VPUDOM_IOVA_BEST_OF highest free ranges
 * that hold them; smaller ones take the lowest fit.
 */
#define VPUDOM_IOVA_LARGE	SZ_512K
#define VPUDOM_IOVA_BEST_OF	16
void vpudom_iova_init(struct vpudom_iova_space *s,
		      const struct vpudom_range *bounds,
		      u64 granule, struct mutex *lock);
void vpudom_iova_destroy(struct vpudom_iova_space *s);
bool vpudom_range_align_in(struct vpudom_range *r, u64 granule);
int vpudom_iova_add_hole(struct vpudom_iova_space *s,
			 const struct vpudom_range *hole);
int vpudom_iova_check(struct vpudom_iova_space *s, u64 start, u64 last);
bool vpudom_iova_busy(struct vpudom_iova_space *s, u64 start, u64 last,
		      u64 *busy_last);
int vpudom_iova_find(struct vpudom_iova_space *s, u64 size, u64 align,
		     u64 min, u64 max, u64 *start);
void vpudom_iova_set_kernel_only(struct vpudom_iova_space *s,
				 const struct vpudom_range *range);
bool vpudom_iova_kernel_only(const struct vpudom_iova_space *s, u64 start,
			     u64 last, u64 *ko_last);
int vpudom_iova_find_user(struct vpudom_iova_space *s, u64 size, u64 align,
			  u64 min, u64 max, u64 *start);
int vpudom_iova_find_common(struct vpudom_iova_space *const *sp,
			    unsigned int n, u64 size, u64 align, bool user,
			    u64 *start);
int vpudom_iova_insert(struct vpudom_iova_space *s, u64 start, u64 last,
		       void *area);
void vpudom_iova_remove(struct vpudom_iova_space *s, u64 start, u64 last);
void vpudom_iova_retire(struct vpudom_iova_space *s, u64 start, u64 last);
void *vpudom_iova_lookup(struct vpudom_iova_space *s, u64 iova);
u64 vpudom_iova_largest_free(struct vpudom_iova_space *s);
bool vpudom_iova_is_hole(const void *entry);

#endif /* _VPUDOM_IOVA_H */
