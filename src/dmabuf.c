// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dma-buf source.  The VPU device itself imports the buffer.  Probe made
 * sure its DMA addresses are physical (no IOMMU, no dma-ranges shift, a
 * full mask), so the addresses an exporter maps for it are what the
 * context domains then map; the pages behind them are never looked at, as
 * the dma-buf rules require.  An address that is not RAM is refused.  A
 * session attaches the VPU once to each dma-buf it maps, and every mapping
 * of that dma-buf in the session shares the attachment, mapped
 * bidirectionally once; it lives as long as the last of them.
 */
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-direction.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <uapi/linux/vpudom.h>

#include "compat.h"
#include "vpudom_priv.h"

VPUDOM_IMPORT_NS_DMA_BUF;

/*
 * Build @m->sgt from the part [@offset, @offset + @length) of the
 * attachment's mapping, by DMA address only, checking that each address is
 * RAM.  With @out NULL, only count the segments.
 */
static int vpudom_dmabuf_walk(struct sg_table *src, u64 offset, u64 length,
			      struct scatterlist *out, unsigned int *count)
{
	u64 pos = 0, end = offset + length;
	struct scatterlist *sg;
	unsigned int i;

	*count = 0;
	for_each_sgtable_dma_sg(src, sg, i) {
		dma_addr_t daddr = sg_dma_address(sg);
		u64 len = sg_dma_len(sg), from, to;

		if (pos + len > offset && pos < end) {
			from = max(pos, offset) - pos;
			to = min(pos + len, end) - pos;
			if (!PAGE_ALIGNED(daddr + from) || !PAGE_ALIGNED(to - from))
				return -EINVAL;
			if (!pfn_valid(PHYS_PFN(daddr + from)) ||
			    !pfn_valid(PHYS_PFN(daddr + to - 1)))
				return -EREMOTEIO;
			if (out) {
				sg_set_page(out, pfn_to_page(PHYS_PFN(daddr + from)),
					    to - from, 0);
				out = sg_next(out);
			}
			(*count)++;
		}
		pos += len;
	}
	return pos < end ? -EINVAL : 0;
}

/**
 * vpudom_dmabuf_sgt() - the memory of part of an importer's mapping, found
 *	by DMA address only
 * @dma: the importer's mapping of a dma-buf; its DMA addresses must be
 *	physical (see vpudom_dma_is_phys())
 * @offset: first byte of the part
 * @length: bytes in the part
 * @out: an empty table, filled in with the part's memory on success
 *
 * The pages of @dma are never looked at: each address is checked to be RAM
 * and turned into its page.
 *
 * Context: process context; may sleep.
 * Return: 0; -EINVAL if the part is not inside the mapping or not
 * page-aligned in it; -EREMOTEIO if an address of it is not RAM; -ENOMEM.
 */
int vpudom_dmabuf_sgt(struct sg_table *dma, u64 offset, u64 length,
		      struct sg_table *out)
{
	unsigned int count;
	int ret;

	if (!length || offset + length < offset)
		return -EINVAL;
	ret = vpudom_dmabuf_walk(dma, offset, length, NULL, &count);
	if (ret)
		return ret;
	ret = sg_alloc_table(out, count, GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret;
	vpudom_dmabuf_walk(dma, offset, length, out->sgl, &count);
	return 0;
}

/**
 * vpudom_dma_shift() - the first dma-ranges region that moves a device's
 *	DMA addresses away from the physical ones
 * @dev: the device
 *
 * Return: that region, or NULL if none does.
 */
const struct bus_dma_region *vpudom_dma_shift(struct device *dev)
{
	const struct bus_dma_region *r;

	for (r = dev->dma_range_map; r && r->size; r++)
		if (r->dma_start != r->cpu_start)
			return r;
	return NULL;
}

/**
 * vpudom_dma_is_phys() - whether a device's DMA addresses are physical
 * @dev: the device that imports a dma-buf
 *
 * No IOMMU translates it, no dma-ranges shift it, and its mask covers every
 * address, so that nothing is bounced: what an exporter maps for it is the
 * memory itself.
 *
 * Return: true if so.
 */
bool vpudom_dma_is_phys(struct device *dev)
{
	return !device_iommu_mapped(dev) &&
	       dma_get_mask(dev) == DMA_BIT_MASK(64) && !vpudom_dma_shift(dev);
}

/**
 * struct vpudom_dmabuf_att - the VPU's attachment to one dma-buf, shared by
 *	the mappings of one session
 * @node: entry in the session's list of attachments
 * @buf: the dma-buf (reference held)
 * @attach: the VPU device's attachment
 * @sgt: the attachment's mapping, bidirectional: the mappings that share it
 *	may differ in access
 * @refs: mappings that use it; under the session's lock
 */
struct vpudom_dmabuf_att {
	struct list_head node;
	struct dma_buf *buf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	unsigned int refs;
};

/* A new attachment of the VPU to @buf, whose reference it takes over. */
static struct vpudom_dmabuf_att *vpudom_dmabuf_att_new(struct vpudom *vd,
						       struct dma_buf *buf)
{
	struct vpudom_dmabuf_att *att;
	int ret;

	att = kzalloc(sizeof(*att), GFP_KERNEL_ACCOUNT);
	if (!att)
		return ERR_PTR(-ENOMEM);
	att->attach = dma_buf_attach(buf, vd->dev);
	if (IS_ERR(att->attach)) {
		ret = PTR_ERR(att->attach);
		goto free_att;
	}
	att->sgt = vpudom_dma_buf_map_attachment(att->attach,
						 DMA_BIDIRECTIONAL);
	if (IS_ERR(att->sgt)) {
		ret = PTR_ERR(att->sgt);
		goto detach;
	}
	att->buf = buf;
	att->refs = 1;
	return att;

detach:
	dma_buf_detach(buf, att->attach);
free_att:
	kfree(att);
	return ERR_PTR(ret);
}

/*
 * The session's attachment to the dma-buf of @fd, made if it has none,
 * with a reference for one mapping.
 */
static struct vpudom_dmabuf_att *vpudom_dmabuf_att_get(struct vpudom_session *s,
						       int fd)
{
	struct vpudom_dmabuf_att *att;
	struct dma_buf *buf;

	buf = dma_buf_get(fd);
	if (IS_ERR(buf))
		return ERR_PTR(-EBADF);
	mutex_lock(&s->lock);
	list_for_each_entry(att, &s->dmabufs, node) {
		if (att->buf == buf) {
			att->refs++;
			mutex_unlock(&s->lock);
			dma_buf_put(buf);
			return att;
		}
	}
	att = vpudom_dmabuf_att_new(s->vd, buf);
	if (IS_ERR(att))
		dma_buf_put(buf);
	else
		list_add(&att->node, &s->dmabufs);
	mutex_unlock(&s->lock);
	return att;
}

/* Drop one mapping's reference; the last one detaches. */
static void vpudom_dmabuf_att_put(struct vpudom_session *s,
				  struct vpudom_dmabuf_att *att)
{
	mutex_lock(&s->lock);
	if (--att->refs) {
		mutex_unlock(&s->lock);
		return;
	}
	list_del(&att->node);
	mutex_unlock(&s->lock);
	vpudom_dma_buf_unmap_attachment(att->attach, att->sgt,
					DMA_BIDIRECTIONAL);
	dma_buf_detach(att->buf, att->attach);
	dma_buf_put(att->buf);
	kfree(att);
}

/**
 * vpudom_dmabuf_import() - give a session's mapping the memory of a dma-buf
 * @s: the session; it shares one attachment per dma-buf among its mappings
 * @m: the mapping; on success its @sgt and @dmabuf are filled in
 * @fd: the dma-buf's file descriptor
 * @offset: page-aligned offset into the dma-buf
 * @length: page-aligned length, @offset + @length not wrapping
 *
 * Return: 0; -EBADF if @fd is not a dma-buf; -EINVAL if the range is not
 * inside the buffer or not page-aligned in the exporter's mapping;
 * -EREMOTEIO if an address of it is not RAM; -ENOMEM or the exporter's
 * error.  On failure nothing stays attached.
 */
int vpudom_dmabuf_import(struct vpudom_session *s, struct vpudom_mapping *m,
			 int fd, u64 offset, u64 length)
{
	struct vpudom_dmabuf_att *att;
	int ret;

	att = vpudom_dmabuf_att_get(s, fd);
	if (IS_ERR(att))
		return PTR_ERR(att);
	if (offset + length > att->buf->size) {
		ret = -EINVAL;
		goto put_att;
	}
	ret = vpudom_dmabuf_sgt(att->sgt, offset, length, &m->sgt);
	if (ret)
		goto put_att;

	to_smapping(m)->dmabuf.att = att;
	m->src = &vpudom_source_dmabuf;
	return 0;

put_att:
	vpudom_dmabuf_att_put(s, att);
	return ret;
}

/*
 * Give up a mapping's share of its session's attachment: no device can
 * reach the mapping, and its session is still open.
 */
static void vpudom_dmabuf_release(struct vpudom_mapping *m)
{
	sg_free_table(&m->sgt);
	vpudom_dmabuf_att_put(m->owner, to_smapping(m)->dmabuf.att);
}

/*
 * No sync operations: the exporter maintains a dma-buf's caches for the
 * VPU device it was attached to (at map_attachment, and at
 * DMA_BUF_IOCTL_SYNC through begin/end_cpu_access).
 */
const struct vpudom_source_ops vpudom_source_dmabuf = {
	.kind = VPUDOM_SRC_DMABUF,
	.release = vpudom_dmabuf_release,
};
