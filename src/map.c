// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mapping engine: puts a buffer into one or several contexts at one
 * IOVA, all or nothing, and takes mappings down with one IOTLB sync per
 * domain per operation.  The trees change under the context locks, the
 * page tables without them (enum vpudom_mapping_state).  It is called by
 * the ioctl layer (ioctl.c) and the in-kernel API (kapi.c), calls the
 * allocator (iova.c) and the IOMMU API, and knows nothing of where the
 * memory comes from beyond the sg_table it is handed and the source's
 * operations (struct vpudom_source_ops), which give the memory back.
 */
#include <linux/iommu.h>
#include <linux/kmemleak.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "vpudom_priv.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* The records of kernel mappings, and those of sessions' mappings. */
static struct kmem_cache *vpudom_mapping_cache;
static struct kmem_cache *vpudom_smapping_cache;

int vpudom_mapping_caches_init(void)
{
	vpudom_mapping_cache = KMEM_CACHE(vpudom_mapping, 0);
	if (!vpudom_mapping_cache)
		return -ENOMEM;
	/* A session's records are charged to its memory cgroup. */
	vpudom_smapping_cache = KMEM_CACHE(vpudom_smapping, SLAB_ACCOUNT);
	if (!vpudom_smapping_cache) {
		kmem_cache_destroy(vpudom_mapping_cache);
		return -ENOMEM;
	}
	return 0;
}

/* At module unload: every record is freed by then, abandoned ones too. */
void vpudom_mapping_caches_exit(void)
{
	kmem_cache_destroy(vpudom_smapping_cache);
	kmem_cache_destroy(vpudom_mapping_cache);
}

/* A zeroed record for a kernel mapping, or NULL. */
struct vpudom_mapping *vpudom_mapping_alloc(void)
{
	return kmem_cache_zalloc(vpudom_mapping_cache, GFP_KERNEL);
}

/* A zeroed record for a session's mapping, or NULL. */
struct vpudom_smapping *vpudom_smapping_alloc(void)
{
	struct vpudom_smapping *sm;

	sm = kmem_cache_zalloc(vpudom_smapping_cache, GFP_KERNEL_ACCOUNT);
	if (sm)
		sm->m.session = true;
	return sm;
}

static void vpudom_mapping_free(struct vpudom_mapping *m)
{
	if (m->session)
		kmem_cache_free(vpudom_smapping_cache, to_smapping(m));
	else
		kmem_cache_free(vpudom_mapping_cache, m);
}

static const char * const vpudom_source_names[] = {
	[VPUDOM_SRC_KERNEL] = "kernel",
	[VPUDOM_SRC_USER] = "user",
	[VPUDOM_SRC_DMABUF] = "dma-buf",
};

const char *vpudom_source_name(const struct vpudom_mapping *m)
{
	return vpudom_source_names[m->src ? m->src->kind : VPUDOM_SRC_KERNEL];
}

unsigned long vpudom_all_blocks(struct vpudom *vd)
{
	return GENMASK(vd->hw.nr_blocks - 1, 0);
}

/* IOVA bytes a mapping takes: its length in each of its blocks. */
u64 vpudom_mapping_iova_bytes(const struct vpudom_mapping *m)
{
	return m->size * hweight_long(m->blocks);
}

/**
 * vpudom_check_fixed() - whether a fixed IOVA range fits the hardware
 *	windows, checked before any memory is acquired
 * @vd: the instance
 * @blocks: the blocks, all present in @vd's hardware description
 * @iova: first IOVA
 * @length: length, not 0 and not wrapping
 *
 * The window of the hardware description is a superset of the usable
 * space: vpudom_map() checks the aperture, holes and live mappings again.
 *
 * Return: 0; -ERANGE if the range is not inside every block's window;
 * -EACCES if it meets a block's kernel-only range.
 */
int vpudom_check_fixed(struct vpudom *vd, unsigned long blocks, u64 iova,
		       u64 length)
{
	u64 last = iova + length - 1;
	unsigned int i;

	for_each_set_bit(i, &blocks, VPUDOM_MAX_BLOCKS) {
		const struct vpudom_range *w = &vd->hw.blocks[i].window;

		if (iova < w->start || last > w->last)
			return -ERANGE;
	}
	for_each_set_bit(i, &blocks, VPUDOM_MAX_BLOCKS) {
		const struct vpudom_range *k = vd->hw.blocks[i].kernel_only;

		if (k && iova <= k->last && last >= k->start)
			return -EACCES;
	}
	return 0;
}

/* Lock the contexts of @blocks in ascending block order. */
void vpudom_lock_blocks(struct vpudom *vd, unsigned long blocks)
{
	unsigned int i;

	for_each_set_bit(i, &blocks, VPUDOM_MAX_BLOCKS)
		mutex_lock_nested(&vd->ctx[i]->lock, i);
}

void vpudom_unlock_blocks(struct vpudom *vd, unsigned long blocks)
{
	unsigned int i;

	for_each_set_bit(i, &blocks, VPUDOM_MAX_BLOCKS)
		mutex_unlock(&vd->ctx[i]->lock);
}

/* The largest page size all of @blocks support that fits in @size. */
static u64 vpudom_map_align(struct vpudom *vd, unsigned long blocks,
			    u64 size, u64 granule)
{
	unsigned long pgsizes = ULONG_MAX;
	unsigned int i;

	for_each_set_bit(i, &blocks, VPUDOM_MAX_BLOCKS)
		pgsizes &= vd->ctx[i]->pgsize_bitmap;
	pgsizes &= GENMASK_ULL(__fls(size), 0);
	if (!pgsizes)
		return granule;
	return max_t(u64, granule, 1ULL << __fls(pgsizes));
}

/*
 * One IOVA free in every context of @blocks, placed by the allocator's
 * policy.  For @user, a context's kernel-only range is in the way too.
 */
static int vpudom_find_common(struct vpudom *vd, unsigned long blocks,
			      u64 size, u64 align, bool user, u64 *iova)
{
	struct vpudom_iova_space *sp[VPUDOM_MAX_BLOCKS];
	unsigned int i, n = 0;

	for_each_set_bit(i, &blocks, VPUDOM_MAX_BLOCKS)
		sp[n++] = &vd->ctx[i]->iova;
	return vpudom_iova_find_common(sp, n, size, align, user, iova);
}

/*
 * Undo the first @size bytes of a map in block @i.  If the IOMMU unmaps
 * less, the device may still reach the memory: @m is marked stuck, and its
 * memory is never released.
 */
static void vpudom_unwind_map(struct vpudom *vd, unsigned int i,
			      struct vpudom_mapping *m, u64 size)
{
	if (iommu_unmap(vd->ctx[i]->domain, m->iova, size) == size)
		return;
	WARN_ONCE(1, "%s: %s: short unmap of %#llx-%#llx; leaking its memory\n",
		  vd->name, vd->ctx[i]->desc->name, m->iova, m->iova + size - 1);
	m->stuck |= BIT(i);
}

/*
 * Choose where @m goes: its fixed IOVA, checked in every context of its
 * blocks, or one free in all of them, where the allocator's fit policy
 * puts it.  A session's mapping never takes IOVAs of a kernel-only range.
 */
static int vpudom_place(struct vpudom *vd, struct vpudom_mapping *m,
			bool fixed, u64 granule)
{
	u64 last = m->iova + m->size - 1;
	bool user = m->owner;
	unsigned int i;
	int ret;

	if (!fixed) {
		ret = vpudom_find_common(vd, m->blocks, m->size,
					 vpudom_map_align(vd, m->blocks,
							  m->size, granule),
					 user, &m->iova);
		if (ret)
			for_each_set_bit(i, &m->blocks, VPUDOM_MAX_BLOCKS)
				vd->ctx[i]->iova.failures++;
		return ret;
	}
	for_each_set_bit(i, &m->blocks, VPUDOM_MAX_BLOCKS) {
		ret = vpudom_iova_check(&vd->ctx[i]->iova, m->iova, last);
		if (ret)
			return ret;
		if (user && vpudom_iova_kernel_only(&vd->ctx[i]->iova, m->iova,
						    last, NULL))
			return -EACCES;
	}
	return 0;
}

/*
 * Take @m's IOVAs out of the trees of @blocks again: retired for good in
 * a block whose IOMMU may still translate part of them.
 */
static void vpudom_remove_areas(struct vpudom *vd, struct vpudom_mapping *m,
				unsigned long blocks)
{
	u64 last = m->iova + m->size - 1;
	unsigned int i;

	for_each_set_bit(i, &blocks, VPUDOM_MAX_BLOCKS) {
		lockdep_assert_held(&vd->ctx[i]->lock);
		if (m->stuck & BIT(i))
			vpudom_iova_retire(&vd->ctx[i]->iova, m->iova, last);
		else
			vpudom_iova_remove(&vd->ctx[i]->iova, m->iova, last);
	}
}

/* Enter @m at its IOVA in the tree of every context of its blocks, or none. */
static int vpudom_insert_areas(struct vpudom *vd, struct vpudom_mapping *m)
{
	u64 last = m->iova + m->size - 1;
	unsigned long done = 0;
	unsigned int i;
	int ret;

	for_each_set_bit(i, &m->blocks, VPUDOM_MAX_BLOCKS) {
		ret = vpudom_iova_insert(&vd->ctx[i]->iova, m->iova, last, m);
		if (ret) {
			vpudom_remove_areas(vd, m, done);
			return ret;
		}
		done |= BIT(i);
	}
	return 0;
}

/*
 * Map @sgt at @m->iova in the domain of every block of @m, or in none.
 * Without the context locks: the trees hold @m's IOVA, reserved.
 */
static int vpudom_map_domains(struct vpudom *vd, struct vpudom_mapping *m,
			      struct sg_table *sgt)
{
	unsigned long done = 0;
	ssize_t mapped;
	unsigned int i;

	lockdep_assert_held_read(&vd->rwsem);
	for_each_set_bit(i, &m->blocks, VPUDOM_MAX_BLOCKS) {
		if (vpudom_should_fail_map())
			mapped = -ENOMEM;
		else
			mapped = vpudom_iommu_map_sg(vd->ctx[i]->domain,
						     m->iova, sgt->sgl,
						     sgt->orig_nents, m->prot);
		if (mapped != m->size) {
			if (mapped > 0)
				vpudom_unwind_map(vd, i, m, mapped);
			for_each_set_bit(i, &done, VPUDOM_MAX_BLOCKS)
				vpudom_unwind_map(vd, i, m, m->size);
			return mapped < 0 ? mapped : -EIO;
		}
		done |= BIT(i);
	}
	return 0;
}

/* Who maintains the CPU caches for @m: enum vpudom_maint. */
int vpudom_maint_kind(const struct vpudom_mapping *m)
{
	if (m->prot & IOMMU_CACHE)
		return VPUDOM_MAINT_NONE;
	return m->maintained ? VPUDOM_MAINT_VPUDOM : VPUDOM_MAINT_EXPORTER;
}

/*
 * The memory attributes of @m, from the contexts it goes into: cacheable
 * (IOMMU_CACHE, as dma_info_to_prot() gives a coherent device) only if
 * every one of them snoops the CPU caches.  Otherwise it is non-cacheable
 * in all of them, so that they all see the memory the same way, and vpudom
 * cleans the CPU caches now and invalidates them at unmap, unless its
 * source leaves that to someone else (a dma-buf's exporter).
 */
static int vpudom_map_attrs(struct vpudom *vd, struct vpudom_mapping *m)
{
	unsigned int i;

	for_each_set_bit(i, &m->blocks, VPUDOM_MAX_BLOCKS)
		if (!vd->ctx[i]->coherent)
			break;
	if (i >= VPUDOM_MAX_BLOCKS) {
		m->prot |= IOMMU_CACHE;
		return 0;
	}
	if (!m->src->sync_for_device)
		return 0;
	m->maintained = true;
	return m->src->sync_for_device(m, vd->dev, 0, m->size);
}

/*
 * vpudom_reserve_locked() - take the IOVA of a mapping in its contexts
 * @vd: the instance, held for read and alive
 * @m: the mapping: @blocks, @size, @prot, @src and @owner filled in, and
 *	@iova if @fixed; every context of @blocks locked
 * @fixed: map at @m->iova instead of allocating one
 *
 * On success the mapping is in every context's tree, reserved: its
 * domains are for the caller to map, without the locks.  On failure it is
 * in none of them.
 *
 * Return: 0; -ERANGE, -EADDRINUSE or -EEXIST for a fixed IOVA outside a
 * window, over a hole or over another mapping; -EACCES for a session's
 * fixed IOVA in a kernel-only range; -ENOSPC if no IOVA is free in all the
 * contexts; -EINVAL for a size or fixed IOVA off the granule; -ENOMEM.
 */
static int vpudom_reserve_locked(struct vpudom *vd, struct vpudom_mapping *m,
				 bool fixed)
{
	u64 granule = 0;
	unsigned int i;
	int ret;

	lockdep_assert_held_read(&vd->rwsem);
	for_each_set_bit(i, &m->blocks, VPUDOM_MAX_BLOCKS) {
		lockdep_assert_held(&vd->ctx[i]->lock);
		granule = max(granule, vd->ctx[i]->iova.granule);
	}
	if (!IS_ALIGNED(m->size, granule) ||
	    (fixed && !IS_ALIGNED(m->iova, granule)))
		return -EINVAL;

	ret = vpudom_place(vd, m, fixed, granule);
	if (ret)
		return ret;
	m->state = VPUDOM_MAPPING_RESERVED;
	return vpudom_insert_areas(vd, m);
}

/*
 * A mapping some IOMMU could not entirely unmap: the device may still reach
 * its memory, so the memory stays pinned or attached, forever (iommufd does
 * the same).  Only the owner's count is given back.
 */
static void vpudom_mapping_abandon(struct vpudom_mapping *m)
{
	const void *rec = m->session ? (void *)to_smapping(m) : (void *)m;
	size_t size = m->session ? sizeof(struct vpudom_smapping) :
				   sizeof(*m);
	void *kept;

	if (m->owner)
		vpudom_session_mapping_gone(m->owner);
	m->owner = NULL;
	/*
	 * Deliberately kept: what it holds must never be freed.  No tree
	 * points at the record any more (its IOVAs are retired), so a copy
	 * outside the caches keeps it, and the caches can still be
	 * destroyed at module unload.  The copy cannot fail: nothing may
	 * be given back if it did.
	 */
	kept = kmemdup(rec, size, GFP_KERNEL | __GFP_NOFAIL);
	kmemleak_not_leak(kept);
	vpudom_mapping_free(m);
}

/**
 * vpudom_mapping_release() - give back what a mapping holds and free it
 * @m: a mapping that is in no tree and no page table, or never was; or
 *	one an IOMMU could not entirely unmap (stuck), which is abandoned
 *
 * Called without the instance lock or any context lock: releasing user
 * pages may take the owner's mmap_lock, releasing a dma-buf its
 * reservation lock.
 */
void vpudom_mapping_release(struct vpudom_mapping *m)
{
	if (m->stuck) {
		vpudom_mapping_abandon(m);
		return;
	}
	if (m->src && m->src->release)
		m->src->release(m);
	if (m->session && to_smapping(m)->acct)
		vpudom_user_uncharge(to_smapping(m)->acct,
				     vpudom_mapping_iova_bytes(m));
	if (m->owner)
		vpudom_session_mapping_gone(m->owner);
	vpudom_mapping_free(m);
}

/*
 * Release mappings the device can no longer reach, each once invalidated
 * if vpudom maintains it: whatever the CPU caches hold of it may be older
 * than what the device wrote.  A stuck mapping stays with the device.
 */
static void vpudom_release_list(struct vpudom *vd, struct list_head *dead)
{
	struct vpudom_mapping *m, *next;

	list_for_each_entry_safe(m, next, dead, dead_node) {
		list_del(&m->dead_node);
		if (m->maintained && !m->stuck)
			WARN_ON_ONCE(m->src->sync_for_cpu(m, vd->dev, 0,
							  m->size));
		vpudom_mapping_release(m);
	}
}

/*
 * The widest gap between two mappings of one unmap that still goes into
 * one IOTLB invalidation, in granules.  An IOMMU driver's gather syncs as
 * soon as a range it is handed is disjoint from the one it holds (SMMUv3:
 * a CMD_SYNC round trip each); covering a gap this small instead costs at
 * most as many more TLBI commands, without a range-invalidation feature,
 * and only drops translations that are walked again.
 */
#define VPUDOM_GATHER_GAP	16

/*
 * Before @iova is unmapped into @gather: if it starts a little above the
 * range gathered so far, widen that range over the gap, so that the
 * driver sees one range and syncs once at the end rather than here.  A
 * driver that does not use the gather's range leaves it empty; nothing
 * is widened then.
 */
static void vpudom_gather_bridge(struct iommu_iotlb_gather *gather, u64 iova,
				 u64 granule)
{
	u64 next = (u64)gather->end + 1;

	if (!gather->end || iova <= next ||
	    iova - next > VPUDOM_GATHER_GAP * granule)
		return;
	iommu_iotlb_gather_add_range(gather, next, iova - next);
}

/*
 * Take every mapping on @dead (dying) out of its contexts' page tables and
 * sync each touched IOTLB once: afterwards the device can no longer reach
 * the memory.  Mappings a few pages apart share that sync
 * (vpudom_gather_bridge()).  Without the context locks, or with them (a
 * revoke): the trees keep the IOVAs taken until vpudom_drop_areas().
 *
 * Return: the bytes unmapped.
 */
static u64 vpudom_unmap_domains(struct vpudom *vd, struct list_head *dead)
{
	struct iommu_iotlb_gather gather[VPUDOM_MAX_BLOCKS];
	unsigned long touched = 0;
	struct vpudom_mapping *m;
	bool injected;
	unsigned int i;
	u64 bytes = 0;

	lockdep_assert_held(&vd->rwsem);
	for (i = 0; i < vd->hw.nr_blocks; i++)
		iommu_iotlb_gather_init(&gather[i]);
	list_for_each_entry(m, dead, dead_node) {
		for_each_set_bit(i, &m->blocks, VPUDOM_MAX_BLOCKS) {
			struct vpudom_ctx *ctx = vd->ctx[i];

			vpudom_gather_bridge(&gather[i], m->iova,
					     ctx->iova.granule);
			injected = vpudom_should_fail_unmap();
			if (!injected &&
			    iommu_unmap_fast(ctx->domain, m->iova, m->size,
					     &gather[i]) == m->size)
				continue;
			/* Parts may still translate: keep IOVA and memory. */
			dev_err(ctx->dev, "%s: %s: short unmap of %#llx-%#llx; leaking its memory\n",
				vd->name, ctx->desc->name, m->iova,
				m->iova + m->size - 1);
			WARN_ON_ONCE(!injected);
			m->stuck |= BIT(i);
		}
		touched |= m->blocks;
		bytes += m->size;
		trace_vpudom_unmap(vd->id, m->blocks, m->iova, m->size);
	}
	for_each_set_bit(i, &touched, VPUDOM_MAX_BLOCKS)
		iommu_iotlb_sync(vd->ctx[i]->domain, &gather[i]);
	return bytes;
}

/*
 * The IOTLBs are synced: give the IOVAs of the mappings on @dead back to
 * their trees, or retire them where an IOMMU may still translate them.
 * Every context of every mapping is locked; the caller releases the
 * mappings once the locks are dropped.
 */
static void vpudom_drop_areas(struct vpudom *vd, struct list_head *dead)
{
	struct vpudom_mapping *m;

	list_for_each_entry(m, dead, dead_node)
		vpudom_remove_areas(vd, m, m->blocks);
}

/*
 * Take down the mappings an unmap collected, dying, under the locks of
 * @locked, which it holds: the domains without the locks, then the trees
 * with them.  Returns with @locked dropped.
 */
static u64 vpudom_take_down(struct vpudom *vd, unsigned long locked,
			    struct list_head *dead)
{
	u64 bytes;

	vpudom_unlock_blocks(vd, locked);
	if (list_empty(dead))
		return 0;
	bytes = vpudom_unmap_domains(vd, dead);
	vpudom_lock_blocks(vd, locked);
	vpudom_drop_areas(vd, dead);
	vpudom_unlock_blocks(vd, locked);
	return bytes;
}

/* @m leaves for @dead: no other unmap, sync or debugfs sees it now. */
static void vpudom_collect(struct vpudom_mapping *m, struct list_head *dead)
{
	m->state = VPUDOM_MAPPING_DYING;
	list_add_tail(&m->dead_node, dead);
}

/*
 * Collect the owner's whole mappings inside [@iova, @last] of @block onto
 * @dead.  Nothing is collected if the range cuts through one of them, or if
 * one of them is also in a block outside @locked (-EAGAIN: the caller must
 * hold every block's lock to collect them).
 */
static int vpudom_collect_range(struct vpudom *vd, unsigned int block,
				u64 iova, u64 last,
				struct vpudom_session *owner,
				unsigned long locked, struct list_head *dead)
{
	struct vpudom_ctx *ctx = vd->ctx[block];
	struct vpudom_mapping *m;
	unsigned long spans = 0;
	void *entry;

	MA_STATE(mas, &ctx->iova.mt, iova, iova);

	lockdep_assert_held(&ctx->lock);
	mas_for_each(&mas, entry, last) {
		if (vpudom_iova_is_hole(entry))
			continue;
		m = entry;
		if (m->owner != owner || m->state != VPUDOM_MAPPING_LIVE)
			continue;
		if (m->iova < iova || m->iova + m->size - 1 > last)
			return -EINVAL;
		spans |= m->blocks;
	}
	if (!spans)
		return -ENOENT;
	if (spans & ~locked)
		return -EAGAIN;
	mas_set(&mas, iova);
	mas_for_each(&mas, entry, last) {
		if (vpudom_iova_is_hole(entry))
			continue;
		m = entry;
		if (m->owner == owner && m->state == VPUDOM_MAPPING_LIVE)
			vpudom_collect(m, dead);
	}
	return 0;
}

/*
 * Collect every mapping of @blocks owned by @owner, or every mapping at all
 * if @any, onto @dead.  A mapping in several blocks is collected once, from
 * its lowest block.
 */
static void vpudom_collect_all(struct vpudom *vd, unsigned long blocks,
			       struct vpudom_session *owner, bool any,
			       struct list_head *dead)
{
	struct vpudom_mapping *m;
	unsigned int i;
	void *entry;

	for_each_set_bit(i, &blocks, VPUDOM_MAX_BLOCKS) {
		MA_STATE(mas, &vd->ctx[i]->iova.mt, 0, 0);

		lockdep_assert_held(&vd->ctx[i]->lock);
		mas_for_each(&mas, entry, ULONG_MAX) {
			if (vpudom_iova_is_hole(entry))
				continue;
			m = entry;
			if (m->state != VPUDOM_MAPPING_LIVE)
				continue;
			if ((any || m->owner == owner) && __ffs(m->blocks) == i)
				vpudom_collect(m, dead);
		}
	}
}

/**
 * vpudom_unmap_range() - unmap an owner's whole mappings in a range
 * @vd: the instance
 * @block: the block whose IOVA space the range is in
 * @iova: first IOVA of the range
 * @length: bytes in the range, not 0, not wrapping
 * @owner: only this owner's mappings are seen (NULL: the kernel's)
 *
 * A mapping that is in several blocks leaves all of them.  The mappings of
 * other owners are invisible: they neither count nor block.
 *
 * Return: bytes unmapped; -EINVAL if the range cuts through a mapping
 * (nothing is unmapped then); -ENOENT if it holds no mapping; -ENODEV if
 * the instance is gone.
 */
s64 vpudom_unmap_range(struct vpudom *vd, unsigned int block, u64 iova,
		       u64 length, struct vpudom_session *owner)
{
	unsigned long locked = BIT(block);
	LIST_HEAD(dead);
	s64 ret;

	ret = vpudom_get_alive(vd);
	if (ret)
		return ret;
	/*
	 * Most mappings are in one block: its lock is enough.  A mapping in
	 * several blocks needs all of theirs, taken in ascending order, so
	 * start again holding them; the check is repeated under them.
	 */
	vpudom_lock_blocks(vd, locked);
	ret = vpudom_collect_range(vd, block, iova, iova + length - 1, owner,
				   locked, &dead);
	if (ret == -EAGAIN) {
		vpudom_unlock_blocks(vd, locked);
		locked = vpudom_all_blocks(vd);
		vpudom_lock_blocks(vd, locked);
		ret = vpudom_collect_range(vd, block, iova, iova + length - 1,
					   owner, locked, &dead);
	}
	if (!ret)
		ret = vpudom_take_down(vd, locked, &dead);
	else
		vpudom_unlock_blocks(vd, locked);
	up_read(&vd->rwsem);
	vpudom_release_list(vd, &dead);
	return ret;
}

/**
 * vpudom_unmap_id() - unmap one mapping, if it is still there
 * @vd: the instance
 * @blocks: the blocks it was mapped into
 * @iova: its IOVA
 * @owner: its owner
 * @id: its &vpudom_mapping.id
 *
 * Undoes a map by object, not by range: if another thread of the owner
 * unmapped the mapping meanwhile and mapped something else at its IOVA,
 * that other mapping stays.
 *
 * Return: bytes unmapped; -ENOENT if the mapping is gone already; -ENODEV
 * if the instance is gone.
 */
s64 vpudom_unmap_id(struct vpudom *vd, unsigned long blocks, u64 iova,
		    struct vpudom_session *owner, u64 id)
{
	struct vpudom_mapping *m;
	LIST_HEAD(dead);
	s64 ret;

	ret = vpudom_get_alive(vd);
	if (ret)
		return ret;
	vpudom_lock_blocks(vd, blocks);
	m = vpudom_iova_lookup(&vd->ctx[__ffs(blocks)]->iova, iova);
	if (m && m->owner == owner && m->id == id && m->iova == iova &&
	    m->blocks == blocks && m->state == VPUDOM_MAPPING_LIVE) {
		vpudom_collect(m, &dead);
		ret = vpudom_take_down(vd, blocks, &dead);
	} else {
		vpudom_unlock_blocks(vd, blocks);
		ret = -ENOENT;
	}
	up_read(&vd->rwsem);
	vpudom_release_list(vd, &dead);
	return ret;
}

/**
 * vpudom_unmap_owner() - unmap every mapping of an owner
 * @vd: the instance
 * @owner: the session
 *
 * Return: bytes unmapped, or -ENODEV if the instance is gone (and with it
 * every mapping).
 */
s64 vpudom_unmap_owner(struct vpudom *vd, struct vpudom_session *owner)
{
	unsigned long all = vpudom_all_blocks(vd);
	LIST_HEAD(dead);
	s64 ret;

	ret = vpudom_get_alive(vd);
	if (ret)
		return ret;
	vpudom_lock_blocks(vd, all);
	vpudom_collect_all(vd, all, owner, false, &dead);
	ret = vpudom_take_down(vd, all, &dead);
	up_read(&vd->rwsem);
	vpudom_release_list(vd, &dead);
	return ret;
}

/**
 * vpudom_revoke_locked() - unmap every mapping of an instance
 * @vd: the instance, held for write
 * @dead: where the unmapped mappings go
 *
 * The device can no longer reach any of them on return.  The caller
 * releases them with vpudom_release_mappings() once it has dropped the
 * write lock: unpinning and dma-buf detach take mm and reservation locks,
 * which must never be waited for under the instance lock.
 */
void vpudom_revoke_locked(struct vpudom *vd, struct list_head *dead)
{
	unsigned long blocks = 0;
	unsigned int i;

	lockdep_assert_held_write(&vd->rwsem);
	for (i = 0; i < vd->hw.nr_blocks; i++)
		if (vd->ctx[i])
			blocks |= BIT(i);
	/* No map or unmap is under way: they hold the instance for read. */
	vpudom_lock_blocks(vd, blocks);
	vpudom_collect_all(vd, blocks, NULL, true, dead);
	vpudom_unmap_domains(vd, dead);
	vpudom_drop_areas(vd, dead);
	vpudom_unlock_blocks(vd, blocks);
}

/**
 * vpudom_release_mappings() - release the mappings vpudom_revoke_locked()
 *	took down
 * @vd: the instance
 * @dead: the list; empty on return
 *
 * Context: no instance or context lock held.
 */
void vpudom_release_mappings(struct vpudom *vd, struct list_head *dead)
{
	vpudom_release_list(vd, dead);
}

/**
 * vpudom_get_alive() - hold an instance for an operation
 * @vd: the instance
 *
 * Return: 0 with @vd->rwsem held for read, or -ENODEV if it was
 * unregistered.
 */
int vpudom_get_alive(struct vpudom *vd)
{
	down_read(&vd->rwsem);
	if (vd->dead) {
		up_read(&vd->rwsem);
		return -ENODEV;
	}
	return 0;
}

/**
 * vpudom_map() - map a prepared mapping
 * @vd: the instance
 * @m: the mapping: every field but @iova filled in, and @iova too if @fixed
 * @sgt: the buffer
 * @fixed: map at @m->iova
 * @iova: the IOVA used, on success
 *
 * Sets @m's memory attributes from its contexts (vpudom_map_attrs()) and,
 * for a mapping vpudom maintains, writes back the CPU caches over it before
 * any device can reach it.  On success @m belongs to the trees: the caller
 * must not touch it again, since another thread may unmap and free it at
 * once.
 *
 * The IOVA is taken under the context locks, the domains are mapped
 * without them, and the mapping becomes live under them again: only then
 * can an unmap see it.
 *
 * Return: as vpudom_reserve_locked(), or -ENODEV if the instance is gone,
 * the error of the source's sync_for_device operation, or the IOMMU
 * driver's error (-EIO for a short map).
 */
int vpudom_map(struct vpudom *vd, struct vpudom_mapping *m,
	       struct sg_table *sgt, bool fixed, u64 *iova)
{
	unsigned long blocks = m->blocks;
	int ret;

	ret = vpudom_get_alive(vd);
	if (ret)
		return ret;
	ret = vpudom_map_attrs(vd, m);
	if (ret) {
		/* Nothing reached a device: there is nothing to invalidate. */
		m->maintained = false;
		up_read(&vd->rwsem);
		return ret;
	}
	/* The IOVA under the locks, the page tables without them. */
	vpudom_lock_blocks(vd, blocks);
	ret = vpudom_reserve_locked(vd, m, fixed);
	vpudom_unlock_blocks(vd, blocks);
	if (ret)
		goto out;
	ret = vpudom_map_domains(vd, m, sgt);

	vpudom_lock_blocks(vd, blocks);
	if (ret) {
		vpudom_remove_areas(vd, m, blocks);
	} else {
		m->state = VPUDOM_MAPPING_LIVE;
		*iova = m->iova;
		trace_vpudom_map(vd->id, m->blocks, m->iova, m->size, m->prot,
				 m->src->kind, vpudom_maint_kind(m));
	}
	vpudom_unlock_blocks(vd, blocks);
out:
	up_read(&vd->rwsem);
	return ret;
}

/**
 * vpudom_sync_range() - hand part of a mapping to the CPU or back to the
 *	device
 * @vd: the instance
 * @block: a block the mapping is in
 * @iova: first IOVA of the range
 * @length: bytes, not 0, not wrapping
 * @owner: whose mapping (NULL: the kernel's)
 * @for_cpu: before the CPU reads what the device wrote (invalidate), or
 *	after the CPU wrote what the device will read (write back)
 *
 * The range must lie inside one mapping of @owner.  A coherent mapping
 * needs nothing and gets nothing.  The block's lock is held meanwhile: it
 * keeps the mapping from being unmapped under the maintenance.
 *
 * Return: 0; -ENOENT if no mapping of @owner holds @iova; -EINVAL if the
 * range goes past the end of that mapping; -EXDEV if its memory is
 * maintained by someone else (a dma-buf: its exporter, through
 * DMA_BUF_IOCTL_SYNC); -ENODEV if the instance is gone; or the source's
 * error.
 */
int vpudom_sync_range(struct vpudom *vd, unsigned int block, u64 iova,
		      u64 length, struct vpudom_session *owner, bool for_cpu)
{
	struct vpudom_ctx *ctx;
	struct vpudom_mapping *m;
	int ret;

	ret = vpudom_get_alive(vd);
	if (ret)
		return ret;
	ctx = vd->ctx[block];
	mutex_lock(&ctx->lock);
	m = vpudom_iova_lookup(&ctx->iova, iova);
	if (!m || m->owner != owner || m->state != VPUDOM_MAPPING_LIVE)
		ret = -ENOENT;
	else if (iova + length - 1 > m->iova + m->size - 1)
		ret = -EINVAL;
	else if (!m->src->sync_for_cpu)
		ret = -EXDEV;
	else if (m->maintained && for_cpu)
		ret = m->src->sync_for_cpu(m, vd->dev, iova - m->iova, length);
	else if (m->maintained)
		ret = m->src->sync_for_device(m, vd->dev, iova - m->iova,
					      length);
	mutex_unlock(&ctx->lock);
	up_read(&vd->rwsem);
	return ret;
}
