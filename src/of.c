// SPDX-License-Identifier: GPL-2.0-only
/*
 * Devicetree frontend: a VPU node with one child node per stream.
 *
 * The VPU driver checks the topology its node describes, populates the
 * children and waits, as a component aggregate, until every child is bound
 * to the context driver.  The context driver sets driver_managed_dma, so
 * the IOMMU core attaches no DMA domain the VPU would have to take over.
 * When all are there, each context gets its own domain and the instance is
 * registered; when any of them goes, the whole instance goes.
 */
#include <linux/component.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_device.h>
#include <linux/of_platform.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>

#include "compat.h"
#include "vpudom.h"

/*
 * The reference VPU: the hardware routes an IOVA outside a block's window
 * to another (often secure) stream, so these windows are facts of the
 * silicon, not configuration.
 */
static const struct vpudom_block_desc vpudom_ref_vpu_blocks[] = {
	{ .name = "block0", .window = { 600 * SZ_1M, 3500ULL * SZ_1M - 1 } },
	{ .name = "block1", .window = { 0, 3500ULL * SZ_1M - 1 } },
	{ .name = "block2", .window = { SZ_16M, 600 * SZ_1M - 1 } },
};

static const struct vpudom_hw_desc vpudom_ref_vpu = {
	.name = "ref-vpu",
	.blocks = vpudom_ref_vpu_blocks,
	.nr_blocks = ARRAY_SIZE(vpudom_ref_vpu_blocks),
};

static const struct of_device_id vpudom_vpu_of_match[] = {
	{ .compatible = "vpudom,ref-vpu", .data = &vpudom_ref_vpu },
	{ }
};
MODULE_DEVICE_TABLE(of, vpudom_vpu_of_match);

static const struct of_device_id vpudom_ctx_of_match[] = {
	{ .compatible = "vpudom,ref-vpu-context" },
	{ }
};
MODULE_DEVICE_TABLE(of, vpudom_ctx_of_match);

/**
 * struct vpudom_vpu - state of the VPU driver
 * @hw: the hardware description from the match table
 * @vd: the instance while the aggregate is bound
 */
struct vpudom_vpu {
	const struct vpudom_hw_desc *hw;
	struct vpudom *vd;
};

static int vpudom_vpu_bind(struct device *dev)
{
	struct vpudom_vpu *vpu = dev_get_drvdata(dev);
	struct vpudom *vd;
	int ret;

	vd = vpudom_create(dev, vpu->hw);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	ret = component_bind_all(dev, vd);
	if (ret)
		goto unregister;
	ret = vpudom_register(vd);
	if (ret)
		goto unbind_all;
	vpu->vd = vd;
	return 0;

unbind_all:
	component_unbind_all(dev, vd);
unregister:
	vpudom_unregister(vd);
	dev_err(dev, "refusing the VPU: %d\n", ret);
	return ret;
}

static void vpudom_vpu_unbind(struct device *dev)
{
	struct vpudom_vpu *vpu = dev_get_drvdata(dev);

	/* Detach every domain while the context devices are still bound. */
	vpudom_unregister(vpu->vd);
	component_unbind_all(dev, NULL);
	vpu->vd = NULL;
}

static const struct component_master_ops vpudom_vpu_ops = {
	.bind = vpudom_vpu_bind,
	.unbind = vpudom_vpu_unbind,
};

/*
 * Check what the node describes before creating any device: every block
 * exactly once, each context with exactly one stream.
 */
static int vpudom_vpu_check_topology(struct device *dev,
				     const struct vpudom_hw_desc *hw,
				     struct component_match **match)
{
	struct device_node *child;
	unsigned long seen = 0;
	unsigned int i;
	u32 block;
	int n;

	for_each_available_child_of_node(dev->of_node, child) {
		if (!of_match_node(vpudom_ctx_of_match, child)) {
			/* A stream with a mistyped compatible: say so. */
			if (of_find_property(child, "iommus", NULL))
				dev_warn(dev, "%pOF: has a stream but is no context: compatible is not %s\n",
					 child, vpudom_ctx_of_match[0].compatible);
			continue;
		}
		if (of_property_read_u32(child, "reg", &block) ||
		    block >= hw->nr_blocks) {
			dev_err(dev, "%pOF: no valid block number in reg (%s has %u blocks)\n",
				child, hw->name, hw->nr_blocks);
			goto err_put;
		}
		if (seen & BIT(block)) {
			dev_err(dev, "%pOF: block %s is described twice\n",
				child, hw->blocks[block].name);
			goto err_put;
		}
		n = of_count_phandle_with_args(child, "iommus",
					       "#iommu-cells");
		if (n != 1) {
			dev_err(dev, "%pOF: block %s has %d streams in iommus; a context must have exactly one\n",
				child, hw->blocks[block].name, max(n, 0));
			goto err_put;
		}
		seen |= BIT(block);
		component_match_add_release(dev, match, component_release_of,
					    component_compare_of,
					    of_node_get(child));
	}
	for (i = 0; i < hw->nr_blocks; i++) {
		if (!(seen & BIT(i))) {
			dev_err(dev, "block %s has no context node\n",
				hw->blocks[i].name);
			return -EINVAL;
		}
	}
	return IS_ERR(*match) ? PTR_ERR(*match) : 0;

err_put:
	of_node_put(child);
	return -EINVAL;
}

/*
 * The VPU device imports dma-bufs for its blocks, and vpudom maps the DMA
 * addresses exporters give it into the blocks' domains: importers may not
 * look at the pages behind a dma-buf (CONFIG_DMABUF_DEBUG scrambles them).
 * That is only right while the VPU device's DMA addresses are physical: no
 * IOMMU translates it, no dma-ranges shifts it, and with a full mask
 * nothing is bounced.
 */
static int vpudom_vpu_check_dma(struct device *dev)
{
	const struct bus_dma_region *r;
	int ret;

	if (device_iommu_mapped(dev))
		return dev_err_probe(dev, -EINVAL,
				     "the VPU node itself is behind an IOMMU; its streams belong in the context nodes\n");
	for (r = dev->dma_range_map; r && r->size; r++) {
		if (r->dma_start != r->cpu_start)
			return dev_err_probe(dev, -EINVAL,
					     "dma-ranges shift the VPU's DMA addresses (%pad for %pa); they must be physical\n",
					     &r->dma_start, &r->cpu_start);
	}
	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return dev_err_probe(dev, ret, "cannot set a 64-bit DMA mask\n");
	return 0;
}

static int vpudom_vpu_probe(struct platform_device *pdev)
{
	struct component_match *match = NULL;
	struct device *dev = &pdev->dev;
	struct vpudom_vpu *vpu;
	int ret;

	vpu = devm_kzalloc(dev, sizeof(*vpu), GFP_KERNEL);
	if (!vpu)
		return -ENOMEM;
	vpu->hw = of_device_get_match_data(dev);
	ret = vpudom_vpu_check_dma(dev);
	if (ret)
		return ret;
	ret = vpudom_vpu_check_topology(dev, vpu->hw, &match);
	if (ret)
		return dev_err_probe(dev, ret, "refusing the VPU\n");
	platform_set_drvdata(pdev, vpu);

	ret = component_master_add_with_match(dev, &vpudom_vpu_ops, match);
	if (ret)
		return ret;
	ret = devm_of_platform_populate(dev);
	if (ret) {
		component_master_del(dev, &vpudom_vpu_ops);
		return dev_err_probe(dev, ret, "cannot create the contexts\n");
	}
	return 0;
}

/* The children are depopulated by devres after this. */
static void vpudom_vpu_remove(struct platform_device *pdev)
{
	component_master_del(&pdev->dev, &vpudom_vpu_ops);
}

VPUDOM_REMOVE_WRAPPER(vpudom_vpu_remove)

static struct platform_driver vpudom_vpu_driver = {
	.probe = vpudom_vpu_probe,
	VPUDOM_PLATFORM_REMOVE(vpudom_vpu_remove),
	.driver = {
		.name = "vpudom-vpu",
		.of_match_table = vpudom_vpu_of_match,
	},
};

static int vpudom_ctx_bind(struct device *dev, struct device *master,
			   void *data)
{
	u32 block;

	if (of_property_read_u32(dev->of_node, "reg", &block))
		return -EINVAL;
	return vpudom_add_block(data, block, dev);
}

/*
 * Nothing to undo per context: vpudom_unregister() has already torn down
 * every context of the instance when the aggregate unbinds.
 */
static void vpudom_ctx_unbind(struct device *dev, struct device *master,
			      void *data)
{
}

static const struct component_ops vpudom_ctx_component_ops = {
	.bind = vpudom_ctx_bind,
	.unbind = vpudom_ctx_unbind,
};

static int vpudom_ctx_probe(struct platform_device *pdev)
{
	return component_add(&pdev->dev, &vpudom_ctx_component_ops);
}

static void vpudom_ctx_remove(struct platform_device *pdev)
{
	component_del(&pdev->dev, &vpudom_ctx_component_ops);
}

VPUDOM_REMOVE_WRAPPER(vpudom_ctx_remove)

static struct platform_driver vpudom_ctx_driver = {
	.probe = vpudom_ctx_probe,
	VPUDOM_PLATFORM_REMOVE(vpudom_ctx_remove),
	.driver = {
		.name = "vpudom-context",
		.of_match_table = vpudom_ctx_of_match,
	},
	/* vpudom manages the stream's translation itself. */
	.driver_managed_dma = true,
};

int vpudom_of_register(void)
{
	int ret;

	ret = platform_driver_register(&vpudom_ctx_driver);
	if (ret)
		return ret;
	ret = platform_driver_register(&vpudom_vpu_driver);
	if (ret)
		platform_driver_unregister(&vpudom_ctx_driver);
	return ret;
}

void vpudom_of_unregister(void)
{
	platform_driver_unregister(&vpudom_vpu_driver);
	platform_driver_unregister(&vpudom_ctx_driver);
}
