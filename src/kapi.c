// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-kernel API, for the driver of the VPU itself.  Beside the ioctl
 * layer, it validates its arguments, describes the memory and hands the
 * mapping to the engine (map.c).  It owns the kernel sources: a caller's
 * sg_table (mapped and unmapped by range, or through a handle), a dma-buf
 * by the DMA addresses of an attachment (the caller's own, or one vpudom
 * makes for the VPU device), and buffers it allocates itself.
 *
 * A handle (struct vpudom_buf) owns what vpudom acquired for it (the
 * allocated pages, the attachment, the page view of a dma-buf) and names
 * its mapping by IOVA and id.  The handle and its mapping each hold a
 * reference on it: a revoke releases the mapping without the handle, and
 * what the handle owns goes with whichever of the two is released last.
 */
#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/iommu.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "vpudom_priv.h"

VPUDOM_IMPORT_NS_DMA_BUF;

/**
 * enum vpudom_buf_kind - what a handle maps
 * @VPUDOM_BUF_SGTABLE: the caller's sg_table of CPU pages
 * @VPUDOM_BUF_DMA: a table the caller DMA-mapped (its own dma-buf
 *	attachment), by DMA address
 * @VPUDOM_BUF_DMABUF: a dma-buf vpudom attached the VPU device to
 * @VPUDOM_BUF_ALLOC: pages vpudom allocated, with a CPU mapping
 */
enum vpudom_buf_kind {
	VPUDOM_BUF_SGTABLE,
	VPUDOM_BUF_DMA,
	VPUDOM_BUF_DMABUF,
	VPUDOM_BUF_ALLOC,
};

/**
 * struct vpudom_buf - a handle of the in-kernel API: one mapping and what
 *	vpudom holds for it
 * @ref: one for the handle, until vpudom_buf_free(), and one for the
 *	mapping, until the engine releases it (unmap, failed map or revoke)
 * @vd: the instance (reference held)
 * @kind: what is mapped
 * @blocks: the blocks the mapping is in
 * @iova: its IOVA
 * @size: its length in bytes
 * @id: the mapping's &vpudom_mapping.id: a later mapping at the same IOVA
 *	is never taken for this one
 * @sgt: what is mapped, as CPU pages, for every kind but
 *	%VPUDOM_BUF_SGTABLE (the caller's table)
 * @pages: the pages of %VPUDOM_BUF_ALLOC
 * @npages: how many
 * @vaddr: their CPU mapping
 * @dmabuf: the dma-buf of %VPUDOM_BUF_DMABUF (reference held)
 * @attach: the VPU device's attachment to it
 * @dma_sgt: that attachment's mapping
 * @dir: its direction, from the access the device is given
 *
 * Nothing changes after the map: no lock.
 */
struct vpudom_buf {
	struct kref ref;
	struct vpudom *vd;
	enum vpudom_buf_kind kind;
	unsigned long blocks;
	u64 iova;
	u64 size;
	u64 id;
	struct sg_table sgt;
	struct page **pages;
	unsigned long npages;
	void *vaddr;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *dma_sgt;
	enum dma_data_direction dir;
};

/* Ids of kernel mappings; 0 is never used. */
static atomic64_t vpudom_kernel_ids = ATOMIC64_INIT(0);

/* Give back what a handle owns, once neither it nor its mapping is left. */
static void vpudom_buf_destroy(struct kref *ref)
{
	struct vpudom_buf *buf = container_of(ref, struct vpudom_buf, ref);
	unsigned long i;

	switch (buf->kind) {
	case VPUDOM_BUF_SGTABLE:
		break;
	case VPUDOM_BUF_DMA:
		sg_free_table(&buf->sgt);
		break;
	case VPUDOM_BUF_DMABUF:
		sg_free_table(&buf->sgt);
		if (buf->dma_sgt)
			vpudom_dma_buf_unmap_attachment(buf->attach,
							buf->dma_sgt,
							buf->dir);
		if (buf->attach)
			dma_buf_detach(buf->dmabuf, buf->attach);
		dma_buf_put(buf->dmabuf);
		break;
	case VPUDOM_BUF_ALLOC:
		sg_free_table(&buf->sgt);
		if (buf->vaddr)
			vunmap(buf->vaddr);
		for (i = 0; i < buf->npages && buf->pages[i]; i++)
			__free_page(buf->pages[i]);
		kvfree(buf->pages);
		break;
	}
	vpudom_put(buf->vd);
	kfree(buf);
}

static void vpudom_buf_put(struct vpudom_buf *buf)
{
	kref_put(&buf->ref, vpudom_buf_destroy);
}

/* A mapping of a handle is gone: drop its reference on the handle. */
static void vpudom_kernel_release(struct vpudom_mapping *m)
{
	if (m->kbuf)
		vpudom_buf_put(m->kbuf);
}

/*
 * CPU pages: the caller's sg_table, or pages vpudom allocated.  The caller
 * owns the former, a handle the latter.  vpudom maintains the CPU caches
 * over them for non-coherent blocks.
 */
const struct vpudom_source_ops vpudom_source_kernel = {
	.kind = VPUDOM_SRC_KERNEL,
	.release = vpudom_kernel_release,
	.sync_for_device = vpudom_cache_sync_for_device,
	.sync_for_cpu = vpudom_cache_sync_for_cpu,
};

/*
 * A dma-buf, by the DMA addresses of an attachment; the exporter keeps
 * the memory, and a handle the attachment.
 */
static const struct vpudom_source_ops vpudom_source_kernel_dmabuf = {
	.kind = VPUDOM_SRC_DMABUF,
	.release = vpudom_kernel_release,
};

/* The checks every map of the in-kernel API starts with. */
static int vpudom_kapi_check(struct vpudom *vd, unsigned long blocks,
			     int prot, unsigned int flags)
{
	if (flags & ~VPUDOM_MAP_FIXED || !prot ||
	    prot & ~(IOMMU_READ | IOMMU_WRITE) || !blocks ||
	    blocks & ~vpudom_all_blocks(vd))
		return -EINVAL;
	return 0;
}

/* The length of a caller's sg_table of CPU pages, each segment aligned. */
static int vpudom_sgt_size(struct sg_table *sgt, u64 *size)
{
	struct scatterlist *sg;
	unsigned int i;

	*size = 0;
	if (!sgt || !sgt->orig_nents)
		return -EINVAL;
	for_each_sgtable_sg(sgt, sg, i) {
		if (!PAGE_ALIGNED(sg->offset) || !PAGE_ALIGNED(sg->length))
			return -EINVAL;
		*size += sg->length;
	}
	return *size ? 0 : -EINVAL;
}

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
 * Without %VPUDOM_MAP_FIXED vpudom picks a free IOVA of the common windows
 * (the lowest one for a buffer under 512 KiB, one from the top for a
 * larger one), aligned to the largest IOMMU page size that is not larger
 * than the buffer, so that large contiguous memory is mapped with block
 * entries.
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
	u64 size;
	int ret;

	ret = vpudom_kapi_check(vd, blocks, prot, flags) ?:
	      vpudom_sgt_size(sgt, &size);
	if (ret)
		return ret;
	if (fixed && *iova + size - 1 < *iova)
		return -EINVAL;

	m = vpudom_mapping_alloc();
	if (!m)
		return -ENOMEM;
	m->blocks = blocks;
	m->size = size;
	m->prot = prot;
	m->id = atomic64_inc_return(&vpudom_kernel_ids);
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
 * nothing for a cacheable one, or one the device only reads.  Until
 * vpudom_sync_for_device(), the device must not write the range.
 *
 * Context: process context; may sleep.
 * Return: 0; -EINVAL for a bad range or one past the end of the mapping;
 * -ENOENT if no kernel mapping holds @iova; -EXDEV if the mapping is a
 * dma-buf's (its exporter maintains it); -ENODEV when the instance was
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

/*
 * A new handle of @kind on @vd, with the handle's own reference.  Checks
 * the arguments every handle's map has, and that the instance is still
 * there (the engine checks again under its lock), so that nothing is
 * acquired for an instance that is gone.
 */
static struct vpudom_buf *vpudom_buf_new(struct vpudom *vd,
					 enum vpudom_buf_kind kind,
					 unsigned long blocks, int prot,
					 unsigned int flags)
{
	struct vpudom_buf *buf;
	int ret;

	ret = vpudom_kapi_check(vd, blocks, prot, flags);
	if (ret)
		return ERR_PTR(ret);
	if (READ_ONCE(vd->dead))
		return ERR_PTR(-ENODEV);
	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	kref_init(&buf->ref);
	kref_get(&vd->kref);
	buf->vd = vd;
	buf->kind = kind;
	buf->blocks = blocks;
	buf->id = atomic64_inc_return(&vpudom_kernel_ids);
	return buf;
}

/*
 * Map @sgt, the memory of @buf, into its blocks: at @iova with
 * %VPUDOM_MAP_FIXED, else where the allocator puts it.  The mapping takes a
 * reference on @buf.  On failure the handle's own reference is dropped
 * too, so that everything acquired for it goes.
 */
static struct vpudom_buf *vpudom_buf_map(struct vpudom_buf *buf,
					 const struct vpudom_source_ops *src,
					 struct sg_table *sgt, int prot,
					 unsigned int flags, u64 iova)
{
	bool fixed = flags & VPUDOM_MAP_FIXED;
	struct vpudom_mapping *m;
	int ret;

	ret = vpudom_sgt_size(sgt, &buf->size);
	if (ret)
		goto put;
	if (fixed && iova + buf->size - 1 < iova) {
		ret = -EINVAL;
		goto put;
	}
	m = vpudom_mapping_alloc();
	if (!m) {
		ret = -ENOMEM;
		goto put;
	}
	m->blocks = buf->blocks;
	m->size = buf->size;
	m->prot = prot;
	m->id = buf->id;
	if (fixed)
		m->iova = iova;
	kref_get(&buf->ref);
	m->kbuf = buf;
	m->src = src;
	/* The head only: the cache maintenance walks the caller's list. */
	m->sgt = *sgt;
	ret = vpudom_map(buf->vd, m, &m->sgt, fixed, &buf->iova);
	if (ret) {
		vpudom_mapping_release(m);
		goto put;
	}
	return buf;

put:
	vpudom_buf_put(buf);
	return ERR_PTR(ret);
}

/**
 * vpudom_buf_map_sgtable() - map a kernel buffer and return its handle
 * @vd: the instance
 * @blocks: mask of block numbers; with more than one bit the buffer is
 *	mapped into all of them at one IOVA, or into none
 * @sgt: the buffer: CPU pages, every segment page-aligned in address and
 *	length; the caller keeps it alive until vpudom_buf_free() returns
 * @prot: IOMMU_READ and/or IOMMU_WRITE: what the device may do
 * @flags: %VPUDOM_MAP_FIXED to map at @iova
 * @iova: the IOVA for %VPUDOM_MAP_FIXED, ignored otherwise
 *
 * As vpudom_map_sgtable(), but the mapping is named by the handle:
 * vpudom_buf_iova() tells where it is, vpudom_buf_free() unmaps it.
 *
 * Context: process context; may sleep.
 * Return: the handle; ERR_PTR(-EINVAL) for bad arguments or alignment;
 * ERR_PTR(-ERANGE), ERR_PTR(-EADDRINUSE), ERR_PTR(-EEXIST) for a fixed IOVA
 * outside the windows, over a reserved hole or over a live mapping;
 * ERR_PTR(-ENOSPC) when no IOVA is free; ERR_PTR(-ENODEV) when the instance
 * was unregistered; ERR_PTR(-ENOMEM).
 */
struct vpudom_buf *vpudom_buf_map_sgtable(struct vpudom *vd,
					  unsigned long blocks,
					  struct sg_table *sgt, int prot,
					  unsigned int flags, u64 iova)
{
	struct vpudom_buf *buf;

	buf = vpudom_buf_new(vd, VPUDOM_BUF_SGTABLE, blocks, prot, flags);
	if (IS_ERR(buf))
		return buf;
	return vpudom_buf_map(buf, &vpudom_source_kernel, sgt, prot, flags,
			      iova);
}
EXPORT_SYMBOL_GPL(vpudom_buf_map_sgtable);

/**
 * vpudom_buf_map_dma_sgtable() - map memory another device has DMA-mapped,
 *	by its DMA addresses
 * @vd: the instance
 * @blocks: mask of block numbers, as for vpudom_buf_map_sgtable()
 * @dma_dev: the device @sgt is mapped for; its DMA addresses must be
 *	physical: no IOMMU, no dma-ranges offset, a 64-bit DMA mask
 * @sgt: a DMA-mapped table, every DMA segment page-aligned: a dma-buf
 *	attachment's mapping (what vb2_dma_sg_plane_desc() gives for a
 *	DMABUF plane of a queue whose device is @dma_dev), or any other; the
 *	caller keeps it mapped until vpudom_buf_free() returns
 * @prot: IOMMU_READ and/or IOMMU_WRITE: what the device may do
 * @flags: %VPUDOM_MAP_FIXED to map at @iova
 * @iova: the IOVA for %VPUDOM_MAP_FIXED, ignored otherwise
 *
 * Every DMA segment of @sgt is mapped, in order, found by its DMA address
 * alone: the pages of @sgt are never looked at, as the dma-buf rules
 * require of an importer.  The mapping is the source of a dma-buf: cache
 * maintenance stays with the exporter (or with whoever mapped @sgt).
 *
 * Context: process context; may sleep.
 * Return: the handle; as vpudom_buf_map_sgtable(), and ERR_PTR(-EINVAL)
 * also if @dma_dev's DMA addresses are not physical or a segment is not
 * page-aligned, ERR_PTR(-EREMOTEIO) if an address is not RAM.
 */
struct vpudom_buf *vpudom_buf_map_dma_sgtable(struct vpudom *vd,
					      unsigned long blocks,
					      struct device *dma_dev,
					      struct sg_table *sgt, int prot,
					      unsigned int flags, u64 iova)
{
	struct vpudom_buf *buf;
	struct scatterlist *sg;
	unsigned int i;
	u64 size = 0;
	int ret;

	if (!dma_dev || IS_ERR_OR_NULL(sgt))
		return ERR_PTR(-EINVAL);
	if (!vpudom_dma_is_phys(dma_dev)) {
		dev_err(dma_dev, "%s: cannot map memory by this device's DMA addresses: they are not physical\n",
			vd->name);
		return ERR_PTR(-EINVAL);
	}
	for_each_sgtable_dma_sg(sgt, sg, i)
		size += sg_dma_len(sg);
	buf = vpudom_buf_new(vd, VPUDOM_BUF_DMA, blocks, prot, flags);
	if (IS_ERR(buf))
		return buf;
	ret = vpudom_dmabuf_sgt(sgt, 0, size, &buf->sgt);
	if (ret) {
		vpudom_buf_put(buf);
		return ERR_PTR(ret);
	}
	return vpudom_buf_map(buf, &vpudom_source_kernel_dmabuf, &buf->sgt,
			      prot, flags, iova);
}
EXPORT_SYMBOL_GPL(vpudom_buf_map_dma_sgtable);

/**
 * vpudom_buf_map_dmabuf() - attach the VPU to a dma-buf and map it
 * @vd: the instance
 * @blocks: mask of block numbers, as for vpudom_buf_map_sgtable()
 * @dmabuf: the dma-buf; the handle holds a reference on it
 * @prot: IOMMU_READ and/or IOMMU_WRITE: what the device may do, and the
 *	direction the attachment is mapped in
 * @flags: %VPUDOM_MAP_FIXED to map at @iova
 * @iova: the IOVA for %VPUDOM_MAP_FIXED, ignored otherwise
 *
 * The VPU device (the instance's, whose DMA addresses are physical) is
 * attached to @dmabuf, the attachment mapped and the whole buffer mapped
 * by its DMA addresses.  The attachment is the handle's: it goes with
 * vpudom_buf_free().  Cache maintenance stays with the exporter.
 *
 * Context: process context; may sleep; takes @dmabuf's reservation lock.
 * Return: the handle; as vpudom_buf_map_dma_sgtable(), or the exporter's
 * error.
 */
struct vpudom_buf *vpudom_buf_map_dmabuf(struct vpudom *vd,
					 unsigned long blocks,
					 struct dma_buf *dmabuf, int prot,
					 unsigned int flags, u64 iova)
{
	struct dma_buf_attachment *attach;
	struct vpudom_buf *buf;
	struct sg_table *sgt;
	int ret;

	if (IS_ERR_OR_NULL(dmabuf))
		return ERR_PTR(-EINVAL);
	if (!vpudom_dma_is_phys(vd->dev)) {
		dev_err(vd->dev, "%s: cannot import dma-bufs: the VPU device's DMA addresses are not physical\n",
			vd->name);
		return ERR_PTR(-EINVAL);
	}
	buf = vpudom_buf_new(vd, VPUDOM_BUF_DMABUF, blocks, prot, flags);
	if (IS_ERR(buf))
		return buf;
	get_dma_buf(dmabuf);
	buf->dmabuf = dmabuf;
	if (prot == IOMMU_READ)
		buf->dir = DMA_TO_DEVICE;
	else if (prot == IOMMU_WRITE)
		buf->dir = DMA_FROM_DEVICE;
	else
		buf->dir = DMA_BIDIRECTIONAL;
	attach = dma_buf_attach(dmabuf, vd->dev);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		goto put;
	}
	buf->attach = attach;
	sgt = vpudom_dma_buf_map_attachment(attach, buf->dir);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto put;
	}
	buf->dma_sgt = sgt;
	ret = vpudom_dmabuf_sgt(sgt, 0, dmabuf->size, &buf->sgt);
	if (ret)
		goto put;
	return vpudom_buf_map(buf, &vpudom_source_kernel_dmabuf, &buf->sgt,
			      prot, flags, iova);

put:
	vpudom_buf_put(buf);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(vpudom_buf_map_dmabuf);

/**
 * vpudom_buf_alloc() - allocate a buffer for the VPU and map it
 * @vd: the instance
 * @blocks: mask of block numbers, as for vpudom_buf_map_sgtable()
 * @size: bytes, a multiple of PAGE_SIZE
 * @prot: IOMMU_READ and/or IOMMU_WRITE: what the device may do
 * @flags: %VPUDOM_MAP_FIXED to map at @iova (firmware the VPU expects at
 *	an address of its own)
 * @iova: the IOVA for %VPUDOM_MAP_FIXED, ignored otherwise
 *
 * For the driver's internal buffers: firmware, working memory.  The buffer
 * is zeroed pages, not physically contiguous, mapped contiguously at
 * vpudom_buf_vaddr() for the CPU and at vpudom_buf_iova() for the device.
 * vpudom_buf_free() unmaps and frees it.
 *
 * Context: process context; may sleep.
 * Return: the handle; as vpudom_buf_map_sgtable(), and ERR_PTR(-EINVAL)
 * also for a size that is 0 or not page-aligned.
 */
struct vpudom_buf *vpudom_buf_alloc(struct vpudom *vd, unsigned long blocks,
				    u64 size, int prot, unsigned int flags,
				    u64 iova)
{
	unsigned long npages = size >> PAGE_SHIFT, i;
	struct vpudom_buf *buf;
	struct page **pages;
	int ret = -ENOMEM;

	if (!size || !PAGE_ALIGNED(size) || npages > UINT_MAX)
		return ERR_PTR(-EINVAL);
	buf = vpudom_buf_new(vd, VPUDOM_BUF_ALLOC, blocks, prot, flags);
	if (IS_ERR(buf))
		return buf;
	pages = kvcalloc(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		goto put;
	buf->pages = pages;
	buf->npages = npages;
	for (i = 0; i < npages; i++) {
		pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!pages[i])
			goto put;
	}
	buf->vaddr = vmap(pages, npages, VM_MAP, PAGE_KERNEL);
	if (!buf->vaddr)
		goto put;
	ret = sg_alloc_table_from_pages(&buf->sgt, pages, npages, 0, size,
					GFP_KERNEL);
	if (ret)
		goto put;
	return vpudom_buf_map(buf, &vpudom_source_kernel, &buf->sgt, prot,
			      flags, iova);

put:
	vpudom_buf_put(buf);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(vpudom_buf_alloc);

/**
 * vpudom_buf_free() - unmap a handle's buffer and free the handle
 * @buf: a handle from vpudom_buf_map_*() or vpudom_buf_alloc(), or NULL
 *
 * The mapping is unmapped from every block it is in, the IOTLBs synced;
 * then what vpudom acquired for the handle is given back: the allocated
 * buffer, the VPU's dma-buf attachment.  The caller's own memory (its
 * sg_tables, its attachments) is the caller's again on return.  If the
 * instance was unregistered meanwhile, the mapping is gone already and the
 * IOMMU is not touched, but the handle and what it owns are freed all the
 * same: the call never fails to free.
 *
 * Context: process context; may sleep.
 * Return: 0 if the mapping was unmapped now; -ENODEV if the instance was
 * unregistered (the revoke unmapped it); -ENOENT if vpudom_unmap() took it
 * down by range.
 */
int vpudom_buf_free(struct vpudom_buf *buf)
{
	s64 ret;

	if (!buf)
		return 0;
	ret = vpudom_unmap_id(buf->vd, buf->blocks, buf->iova, NULL, buf->id);
	vpudom_buf_put(buf);
	return ret < 0 ? ret : 0;
}
EXPORT_SYMBOL_GPL(vpudom_buf_free);

/**
 * vpudom_buf_iova() - where a handle's buffer is mapped
 * @buf: the handle
 *
 * Return: the first IOVA, the same in every block of the mapping.
 */
u64 vpudom_buf_iova(const struct vpudom_buf *buf)
{
	return buf->iova;
}
EXPORT_SYMBOL_GPL(vpudom_buf_iova);

/**
 * vpudom_buf_size() - the length of a handle's mapping
 * @buf: the handle
 *
 * Return: bytes mapped.
 */
u64 vpudom_buf_size(const struct vpudom_buf *buf)
{
	return buf->size;
}
EXPORT_SYMBOL_GPL(vpudom_buf_size);

/**
 * vpudom_buf_vaddr() - the CPU address of a buffer vpudom_buf_alloc() made
 * @buf: the handle
 *
 * Return: the kernel virtual address of the whole buffer, valid until
 * vpudom_buf_free(), also after the instance was unregistered; NULL for a
 * handle of memory the caller mapped.
 */
void *vpudom_buf_vaddr(const struct vpudom_buf *buf)
{
	return buf->vaddr;
}
EXPORT_SYMBOL_GPL(vpudom_buf_vaddr);
