// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPU cache maintenance of CPU pages (user memory, kernel sg_tables) for
 * streams that do not snoop the CPU caches.  The memory sources point
 * their sync operations here; the engine calls them.
 *
 * vpudom does not call the architecture's cache operations, which are not
 * exported: it asks the DMA API of the VPU device to do what it does for a
 * buffer of its own.  Probe made sure that device's DMA addresses are
 * physical and that it is not coherent whenever one of its streams is not
 * (vpudom_add_block()), so that dma-direct maintains the CPU caches for it
 * (arch_sync_dma_for_device(): clean; arch_sync_dma_for_cpu(): invalidate,
 * unless the device only reads).  Each call maps a range for an instant
 * and unmaps it, with DMA_ATTR_SKIP_CPU_SYNC on the half that must not
 * touch the caches; the sg_table's own DMA fields stay the caller's.
 */
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>

#include "vpudom_priv.h"

/* What the device may do with @m's memory, as the DMA API says it. */
static enum dma_data_direction vpudom_cache_dir(const struct vpudom_mapping *m)
{
	switch (m->prot & (IOMMU_READ | IOMMU_WRITE)) {
	case IOMMU_READ:
		return DMA_TO_DEVICE;
	case IOMMU_WRITE:
		return DMA_FROM_DEVICE;
	default:
		return DMA_BIDIRECTIONAL;
	}
}

/*
 * Maintain @len bytes at @offset into @page through @dev: clean them
 * (@for_cpu false) or invalidate them (@for_cpu true).  An address that
 * is not the physical one means the DMA API bounced the range (swiotlb):
 * the maintenance went to the bounce buffer, not to the memory.
 */
static int vpudom_cache_one(struct device *dev, struct page *page,
			    unsigned long offset, size_t len,
			    enum dma_data_direction dir, bool for_cpu)
{
	unsigned long map_attrs = for_cpu ? DMA_ATTR_SKIP_CPU_SYNC : 0;
	unsigned long unmap_attrs = for_cpu ? 0 : DMA_ATTR_SKIP_CPU_SYNC;
	dma_addr_t addr;

	addr = dma_map_page_attrs(dev, page, offset, len, dir, map_attrs);
	if (dma_mapping_error(dev, addr))
		return -ENOMEM;
	if (addr != page_to_phys(page) + offset) {
		dma_unmap_page_attrs(dev, addr, len, dir,
				     DMA_ATTR_SKIP_CPU_SYNC);
		dev_err_ratelimited(dev, "the DMA API bounces its buffers: vpudom cannot maintain the CPU caches through it\n");
		return -EREMOTEIO;
	}
	dma_unmap_page_attrs(dev, addr, len, dir, unmap_attrs);
	return 0;
}

/* Maintain [@offset, @offset + @length) of @m's buffer through @dev. */
static int vpudom_cache_range(struct vpudom_mapping *m, struct device *dev,
			      u64 offset, u64 length, bool for_cpu)
{
	enum dma_data_direction dir = vpudom_cache_dir(m);
	u64 pos = 0, end = offset + length;
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	for_each_sgtable_sg(&m->sgt, sg, i) {
		u64 from, to;

		if (pos >= end)
			break;
		if (pos + sg->length > offset) {
			from = max(pos, offset) - pos;
			to = min(pos + sg->length, end) - pos;
			ret = vpudom_cache_one(dev, sg_page(sg),
					       sg->offset + from, to - from,
					       dir, for_cpu);
			if (ret)
				return ret;
			cond_resched();
		}
		pos += sg->length;
	}
	return 0;
}

/**
 * vpudom_cache_sync_for_device() - write back the CPU caches over part of
 *	a mapping before the device uses it
 * @m: the mapping; &vpudom_mapping.sgt holds CPU pages
 * @dev: a device whose DMA addresses are physical and that is not
 *	coherent
 * @offset: first byte, from the start of the mapping
 * @length: bytes; @offset + @length within the mapping
 *
 * Return: 0; -ENOMEM or -EREMOTEIO if the DMA API could not map a range
 * of it for @dev at its physical address.
 */
int vpudom_cache_sync_for_device(struct vpudom_mapping *m, struct device *dev,
				 u64 offset, u64 length)
{
	return vpudom_cache_range(m, dev, offset, length, false);
}

/**
 * vpudom_cache_sync_for_cpu() - invalidate the CPU caches over part of a
 *	mapping after the device wrote it
 * @m: the mapping; &vpudom_mapping.sgt holds CPU pages
 * @dev: as for vpudom_cache_sync_for_device()
 * @offset: first byte, from the start of the mapping
 * @length: bytes; @offset + @length within the mapping
 *
 * Nothing is invalidated for a mapping the device may only read.
 *
 * Return: as vpudom_cache_sync_for_device().
 */
int vpudom_cache_sync_for_cpu(struct vpudom_mapping *m, struct device *dev,
			      u64 offset, u64 length)
{
	return vpudom_cache_range(m, dev, offset, length, true);
}
