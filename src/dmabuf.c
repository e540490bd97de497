// SPDX-License-Identifier: GPL-2.0-only
/*
 * dma-buf memory.  The VPU device itself imports the buffer.  Probe made
 * sure its DMA addresses are physical (no IOMMU, no dma-ranges shift, a
 * full mask), so the addresses an exporter maps for it are what the
 * context domains then map; the pages behind them are never looked at, as
 * the dma-buf rules require.  An address that is not RAM is refused.  The
 * attachment lives as long as the mapping.
 */
#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <uapi/linux/vpudom.h>

#include "compat.h"
#include "vpudom.h"

VPUDOM_IMPORT_NS_DMA_BUF;

static enum dma_data_direction vpudom_dmabuf_dir(int prot)
{
	if ((prot & (IOMMU_READ | IOMMU_WRITE)) == (IOMMU_READ | IOMMU_WRITE))
		return DMA_BIDIRECTIONAL;
	return prot & IOMMU_WRITE ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
}

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

static int vpudom_dmabuf_attach(struct vpudom *vd, struct vpudom_mapping *m,
				int fd, u64 offset, u64 length)
{
	enum dma_data_direction dir = vpudom_dmabuf_dir(m->prot);
	struct dma_buf_attachment *attach;
	struct dma_buf *buf;
	struct sg_table *sgt;
	unsigned int count;
	int ret;

	buf = dma_buf_get(fd);
	if (IS_ERR(buf))
		return -EBADF;
	if (offset + length > buf->size) {
		ret = -EINVAL;
		goto put_buf;
	}
	attach = dma_buf_attach(buf, vd->dev);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		goto put_buf;
	}
	sgt = vpudom_dma_buf_map_attachment(attach, dir);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto detach;
	}
	ret = vpudom_dmabuf_walk(sgt, offset, length, NULL, &count);
	if (ret)
		goto unmap_attachment;
	ret = sg_alloc_table(&m->sgt, count, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto unmap_attachment;
	vpudom_dmabuf_walk(sgt, offset, length, m->sgt.sgl, &count);

	m->dmabuf.buf = buf;
	m->dmabuf.attach = attach;
	m->dmabuf.sgt = sgt;
	m->source = VPUDOM_SRC_DMABUF;
	return 0;

unmap_attachment:
	vpudom_dma_buf_unmap_attachment(attach, sgt, dir);
detach:
	dma_buf_detach(buf, attach);
put_buf:
	dma_buf_put(buf);
	return ret;
}

/**
 * vpudom_dmabuf_release() - detach a dma-buf mapping from its buffer
 * @m: the mapping, no longer reachable by any device
 */
void vpudom_dmabuf_release(struct vpudom_mapping *m)
{
	sg_free_table(&m->sgt);
	vpudom_dma_buf_unmap_attachment(m->dmabuf.attach, m->dmabuf.sgt,
					vpudom_dmabuf_dir(m->prot));
	dma_buf_detach(m->dmabuf.buf, m->dmabuf.attach);
	dma_buf_put(m->dmabuf.buf);
}

/* ioctl(VPUDOM_MAP_DMABUF) */
long vpudom_ioctl_map_dmabuf(struct vpudom_ucmd *ucmd)
{
	struct vpudom_map_dmabuf *cmd = ucmd->cmd;
	struct vpudom_session *s = ucmd->s;
	bool fixed = cmd->flags & VPUDOM_MAP_FIXED_IOVA;
	struct vpudom_mapping *m;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ret = vpudom_check_map_args(s->vd, cmd->flags, cmd->blocks, cmd->iova,
				    cmd->length);
	if (ret)
		return ret;
	if (!PAGE_ALIGNED(cmd->offset))
		return -EINVAL;
	if (cmd->offset + cmd->length - 1 < cmd->offset)
		return -EOVERFLOW;

	m = vpudom_session_mapping_new(s, cmd->flags, cmd->blocks,
				       cmd->iova, cmd->length);
	if (IS_ERR(m))
		return PTR_ERR(m);
	ret = vpudom_dmabuf_attach(s->vd, m, cmd->fd, cmd->offset,
				   cmd->length);
	if (ret) {
		vpudom_mapping_release(m);
		return ret;
	}
	return vpudom_session_map(ucmd, m, fixed, &cmd->iova);
}
