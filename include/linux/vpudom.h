/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vpudom - per-stream IOMMU domains for VPUs whose IOVA selects the stream
 *
 * In-kernel API for the media part of a VPU driver and for frontends that
 * assemble a VPU instance from their own devices.
 */
#ifndef _LINUX_VPUDOM_H
#define _LINUX_VPUDOM_H

#include <linux/types.h>

struct device;
struct device_node;
struct dma_buf;
struct sg_table;
struct vpudom;
struct vpudom_buf;

/* The most blocks (streams) one VPU may have. */
#define VPUDOM_MAX_BLOCKS	8

/**
 * struct vpudom_range - an inclusive range of IOVAs
 * @start: first IOVA
 * @last: last IOVA (inclusive, so that a range may end at U64_MAX)
 */
struct vpudom_range {
	u64 start;
	u64 last;
};

/**
 * struct vpudom_block_desc - one functional block of a VPU, as the hardware
 *	defines it
 * @name: short name, used in debugfs and the uAPI
 * @window: IOVAs the block may use; an IOVA outside is routed to another
 *	stream by the hardware
 * @carveouts: IOVA ranges inside @window that firmware or the hardware use
 *	on their own and that vpudom must never hand out
 * @nr_carveouts: number of entries in @carveouts
 * @kernel_only: optional IOVA range inside @window that only the in-kernel
 *	API (the media driver) may use: user sessions get no automatic IOVA
 *	from it and cannot map a fixed IOVA into it; NULL for none
 */
struct vpudom_block_desc {
	const char *name;
	struct vpudom_range window;
	const struct vpudom_range *carveouts;
	unsigned int nr_carveouts;
	const struct vpudom_range *kernel_only;
};

/**
 * struct vpudom_hw_desc - the blocks of one VPU hardware generation
 * @name: hardware name, shown in debugfs
 * @blocks: one descriptor per block, indexed by block number
 * @nr_blocks: number of blocks, at most %VPUDOM_MAX_BLOCKS
 */
struct vpudom_hw_desc {
	const char *name;
	const struct vpudom_block_desc *blocks;
	unsigned int nr_blocks;
};

/* Map flags */
/* Map at the IOVA passed in, not at an allocated one. */
#define VPUDOM_MAP_FIXED	BIT(0)

/* Assembling an instance (frontends). */
struct vpudom *vpudom_create(struct device *dev,
			     const struct vpudom_hw_desc *hw);
int vpudom_add_block(struct vpudom *vd, unsigned int block,
		     struct device *ctx_dev);
int vpudom_register(struct vpudom *vd);
void vpudom_unregister(struct vpudom *vd);

/* Finding an instance and holding it (consumers). */
struct vpudom *of_vpudom_get(struct device_node *np);
struct vpudom *devm_of_vpudom_get(struct device *consumer,
				  struct device_node *np);
void vpudom_put(struct vpudom *vd);
int vpudom_block_by_name(struct vpudom *vd, const char *name);
unsigned int vpudom_nr_blocks(struct vpudom *vd);

/* Mappings. */
int vpudom_map_sgtable(struct vpudom *vd, unsigned long blocks,
		       struct sg_table *sgt, int prot, unsigned int flags,
		       u64 *iova);
s64 vpudom_unmap(struct vpudom *vd, unsigned int block, u64 iova,
		 u64 length);
int vpudom_sync_for_cpu(struct vpudom *vd, unsigned int block, u64 iova,
			u64 length);
int vpudom_sync_for_device(struct vpudom *vd, unsigned int block, u64 iova,
			   u64 length);
phys_addr_t vpudom_iova_to_phys(struct vpudom *vd, unsigned int block,
				u64 iova);

/* Mappings named by a handle (see docs/kernel-api.md). */
struct vpudom_buf *vpudom_buf_map_sgtable(struct vpudom *vd,
					  unsigned long blocks,
					  struct sg_table *sgt, int prot,
					  unsigned int flags, u64 iova);
struct vpudom_buf *vpudom_buf_map_dma_sgtable(struct vpudom *vd,
					      unsigned long blocks,
					      struct device *dma_dev,
					      struct sg_table *sgt, int prot,
					      unsigned int flags, u64 iova);
struct vpudom_buf *vpudom_buf_map_dmabuf(struct vpudom *vd,
					 unsigned long blocks,
					 struct dma_buf *dmabuf, int prot,
					 unsigned int flags, u64 iova);
struct vpudom_buf *vpudom_buf_alloc(struct vpudom *vd, unsigned long blocks,
				    u64 size, int prot, unsigned int flags,
				    u64 iova);
int vpudom_buf_free(struct vpudom_buf *buf);
u64 vpudom_buf_iova(const struct vpudom_buf *buf);
u64 vpudom_buf_size(const struct vpudom_buf *buf);
void *vpudom_buf_vaddr(const struct vpudom_buf *buf);

#endif /* _LINUX_VPUDOM_H */
