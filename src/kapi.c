// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-kernel API, for the driver of the VPU itself: kernel buffers
 * mapped at an IOVA of one or more blocks and unmapped by range.  Beside
 * the ioctl layer, it validates its arguments, describes the memory (the
 * kernel source: the caller's sg_table, which the caller keeps alive and
 * frees) and hands the mapping to the engine (map.c).
 */
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "vpudom_priv.h"

/*
 * The caller owns the memory: there is nothing to give back.  Its pages
 * are CPU pages, which vpudom maintains for non-coherent blocks.
 */
const struct vpudom_source_ops vpudom_source_kernel = {
	.kind = VPUDOM_SRC_KERNEL,
	.sync_for_device = vpudom_cache_sync_for_device,
	.sync_for_cpu = vpudom_cache_sync_for_cpu,
};

/**
 * vpudom_map_sgtable() - map a kernel buffer into one or more blocks
 * @vd: the instance
 * @blocks: mask of block numbers; with more than one bit the buffer is
 *	mapped into all of them at one IOVA, or into none
 * @sgt: the buffer: CPU pages, every segment aligned to the IOMMU page size
 *	in address and length; the caller keeps its scatterlist and pages
 *	alive until unmapped (the sg_table head itself may go)
 * @prot: IOMMU_READ and/or IOMMU_WRITE: what the device may do
 * @flags: %VPUDOM_MAP_FIXED to map at *@iova
 * @iova: the IOVA for %VPUDOM_MAP_FIXED; the IOVA used on success
 *
 * Without %VPUDOM_MAP_FIXED the lowest free IOVA of the common windows is
 * used, aligned to the largest IOMMU page size that is not larger than the
 * buffer, so that large contiguous memory is mapped with block entries.
 *
 * The buffer is mapped cacheable if every block snoops the CPU caches;
 * otherwise non-cacheable, and vpudom writes the CPU caches back over it
 * before mapping and invalidates them after unmapping.  In between, the
 * caller brackets its CPU accesses with vpudom_sync_for_cpu() and
 * vpudom_sync_for_device(), as with the DMA API.
 *
 * Context: process context; may sleep.
 * Return: 0; -EINVAL for bad arguments or alignment; -ERANGE, -EADDRINUSE,
 * -EEXIST for a fixed IOVA outside the windows, over a reserved hole or over
 * a live mapping; -ENOSPC when no IOVA is free; -ENODEV when the instance
 * was unregistered; -ENOMEM; -EREMOTEIO if the DMA API bounces the VPU
 * device's buffers (swiotlb), so that the caches cannot be maintained.
 */
int vpudom_map_sgtable(struct vpudom *vd, unsigned long blocks,
		       struct sg_table *sgt, int prot, unsigned int flags,
		       u64 *iova)
{
	bool fixed = flags & VPUDOM_MAP_FIXED;
	struct vpudom_mapping *m;
	struct scatterlist *sg;
	u64 size = 0;
	unsigned int i;
	int ret;

	if (flags & ~VPUDOM_MAP_FIXED || !prot ||
	    prot & ~(IOMMU_READ | IOMMU_WRITE) || !blocks ||
	    blocks & ~vpudom_all_blocks(vd) || !sgt || !sgt->orig_nents)
		return -EINVAL;
	for_each_sgtable_sg(sgt, sg, i) {
		if (!PAGE_ALIGNED(sg->offset) || !PAGE_ALIGNED(sg->length))
			return -EINVAL;
		size += sg->length;
	}
	if (!size || (fixed && *iova + size - 1 < *iova))
		return -EINVAL;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	m->blocks = blocks;
	m->size = size;
	m->prot = prot;
	m->src = &vpudom_source_kernel;
	/* The head only: the cache maintenance walks the caller's list. */
	m->sgt = *sgt;
	if (fixed)
		m->iova = *iova;
	ret = vpudom_map(vd, m, &m->sgt, fixed, iova);
	if (ret)
		vpudom_mapping_release(m);
	return ret;
}
EXPORT_SYMBOL_GPL(vpudom_map_sgtable);

/**
 * vpudom_unmap() - unmap the kernel's whole mappings in an IOVA range
 * @vd: the instance
 * @block: the block whose IOVAs are meant
 * @iova: first IOVA of the range
 * @length: length of the range in bytes
 *
 * Every mapping made by vpudom_map_sgtable() that lies inside the range is
 * unmapped, from all the blocks it was mapped into; the IOTLB of each
 * domain is synced once.  On return the device can no longer reach the
 * memory and the caller may free it.
 *
 * Context: process context; may sleep.
 * Return: bytes unmapped; -EINVAL for a bad range or one that cuts through a
 * mapping (nothing unmapped); -ENOENT if no mapping lies in the range;
 * -ENODEV when the instance was unregistered (its mappings are gone).
 */
s64 vpudom_unmap(struct vpudom *vd, unsigned int block, u64 iova, u64 length)
{
	if (block >= vd->hw.nr_blocks || !length || iova + length - 1 < iova)
		return -EINVAL;
	return vpudom_unmap_range(vd, block, iova, length, NULL);
}
EXPORT_SYMBOL_GPL(vpudom_unmap);

static int vpudom_sync(struct vpudom *vd, unsigned int block, u64 iova,
		       u64 length, bool for_cpu)
{
	if (block >= vd->hw.nr_blocks || !length || iova + length - 1 < iova)
		return -EINVAL;
	return vpudom_sync_range(vd, block, iova, length, NULL, for_cpu);
}

/**
 * vpudom_sync_for_cpu() - let the CPU read what the device wrote
 * @vd: the instance
 * @block: a block the mapping is in
 * @iova: first IOVA of the range
 * @length: bytes; the range lies inside one mapping of the kernel
 *
 * Invalidates the CPU caches over the range of a mapping vpudom maintains
 * (as dma_sync_single_for_cpu() does for a non-coherent device); does
 * nothing for a
 * cacheable one, or one the device only reads.  Until
 * vpudom_sync_for_device(), the device must not write the range.
 *
 * Context: process context; may sleep.
 * Return: 0; -EINVAL for a bad range or one past the end of the mapping;
 * -ENOENT if no kernel mapping holds @iova; -ENODEV when the instance was
 * unregistered.
 */
int vpudom_sync_for_cpu(struct vpudom *vd, unsigned int block, u64 iova,
			u64 length)
{
	return vpudom_sync(vd, block, iova, length, true);
}
EXPORT_SYMBOL_GPL(vpudom_sync_for_cpu);

/**
 * vpudom_sync_for_device() - give the device what the CPU wrote
 * @vd: the instance
 * @block: a block the mapping is in
 * @iova: first IOVA of the range
 * @length: bytes; the range lies inside one mapping of the kernel
 *
 * Writes the CPU caches back over the range of a mapping vpudom maintains
 * (as dma_sync_single_for_device() does for a non-coherent device); does
 * nothing for a cacheable one.
 *
 * Context: process context; may sleep.
 * Return: as vpudom_sync_for_cpu().
 */
int vpudom_sync_for_device(struct vpudom *vd, unsigned int block, u64 iova,
			   u64 length)
{
	return vpudom_sync(vd, block, iova, length, false);
}
EXPORT_SYMBOL_GPL(vpudom_sync_for_device);

/**
 * vpudom_iova_to_phys() - what an IOVA of a block translates to
 * @vd: the instance
 * @block: block number
 * @iova: the IOVA
 *
 * Return: the physical address, or 0 if @iova is not mapped in @block or
 * the instance is gone.
 */
phys_addr_t vpudom_iova_to_phys(struct vpudom *vd, unsigned int block,
				u64 iova)
{
	phys_addr_t phys;

	if (block >= vd->hw.nr_blocks || vpudom_get_alive(vd))
		return 0;
	phys = iommu_iova_to_phys(vd->ctx[block]->domain, iova);
	up_read(&vd->rwsem);
	return phys;
}
EXPORT_SYMBOL_GPL(vpudom_iova_to_phys);
