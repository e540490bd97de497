// SPDX-License-Identifier: GPL-2.0-only
/*
 * Devicetree frontend: a VPU node with one child node per stream.
 *
 * Each block's IOVA window is a fact of the silicon: for a VPU the driver
 * knows (a compatible with a table below) it comes from the table, and a
 * window the DT gives too (vpudom,iova-window on the context node) must
 * agree with it; for the generic "vpudom,vpu" every context node gives its
 * window, so a new SoC needs no code.
 *
 * The VPU driver checks the topology its node describes, waits (deferring
 * its probe, saying why) until the IOMMU of every context is there,
 * populates the children and waits, as a component aggregate, until every
 * child is bound to the context driver.  The context driver sets driver_managed_dma, so
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
#include "vpudom_priv.h"

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

/**
 * struct vpudom_of_vpu - what a VPU compatible implies
 * @hw: the hardware table, or NULL: every context node gives its window
 * @context: the compatible of its context nodes
 */
struct vpudom_of_vpu {
	const struct vpudom_hw_desc *hw;
	const char *context;
};

static const struct vpudom_of_vpu vpudom_of_ref_vpu = {
	.hw = &vpudom_ref_vpu,
	.context = "vpudom,ref-vpu-context",
};

static const struct vpudom_of_vpu vpudom_of_dt_vpu = {
	.context = "vpudom,vpu-context",
};

static const struct of_device_id vpudom_vpu_of_match[] = {
	{ .compatible = "vpudom,ref-vpu", .data = &vpudom_of_ref_vpu },
	{ .compatible = "vpudom,vpu", .data = &vpudom_of_dt_vpu },
	{ }
};
MODULE_DEVICE_TABLE(of, vpudom_vpu_of_match);

static const struct of_device_id vpudom_ctx_of_match[] = {
	{ .compatible = "vpudom,ref-vpu-context" },
	{ .compatible = "vpudom,vpu-context" },
	{ }
};
MODULE_DEVICE_TABLE(of, vpudom_ctx_of_match);

/**
 * struct vpudom_vpu - state of the VPU driver
 * @of: what the VPU's compatible implies
 * @hw: the hardware description: the table's, or one built from the DT
 * @vd: the instance while the aggregate is bound
 */
struct vpudom_vpu {
	const struct vpudom_of_vpu *of;
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
 * The window a context node gives: vpudom,iova-window = /bits/ 64 <first
 * size>.  Return: 1 and @window, 0 if the node gives none, -EINVAL (and a
 * message naming the node) if what it gives is not a window.
 */
static int vpudom_of_window(struct device *dev, struct device_node *np,
			    struct vpudom_range *window)
{
	u64 cells[2];

	if (!of_find_property(np, "vpudom,iova-window", NULL))
		return 0;
	if (of_property_count_u64_elems(np, "vpudom,iova-window") != 2 ||
	    of_property_read_u64_array(np, "vpudom,iova-window", cells, 2)) {
		dev_err(dev, "%pOF: vpudom,iova-window must be two 64-bit cells, the first IOVA and the size\n",
			np);
		return -EINVAL;
	}
	if (!cells[1] || cells[0] + (cells[1] - 1) < cells[0]) {
		dev_err(dev, "%pOF: vpudom,iova-window %#llx+%#llx is empty or wraps\n",
			np, cells[0], cells[1]);
		return -EINVAL;
	}
	window->start = cells[0];
	window->last = cells[0] + (cells[1] - 1);
	return 1;
}

/*
 * The description of a VPU whose context nodes give their windows: one
 * block per context, named after its number.  Numbers that are missing or
 * repeated are left to the topology check, which names them.
 */
static const struct vpudom_hw_desc *vpudom_of_hw_desc(struct device *dev,
						      const char *context)
{
	struct vpudom_block_desc *blocks;
	struct vpudom_hw_desc *hw;
	struct device_node *child;
	unsigned int nr = 0;
	u32 block;
	int ret;

	hw = devm_kzalloc(dev, sizeof(*hw), GFP_KERNEL);
	blocks = devm_kcalloc(dev, VPUDOM_MAX_BLOCKS, sizeof(*blocks),
			      GFP_KERNEL);
	if (!hw || !blocks)
		return ERR_PTR(-ENOMEM);
	for_each_available_child_of_node(dev->of_node, child) {
		if (!of_device_is_compatible(child, context))
			continue;
		if (of_property_read_u32(child, "reg", &block) ||
		    block >= VPUDOM_MAX_BLOCKS) {
			dev_err(dev, "%pOF: no valid block number in reg (at most %d blocks)\n",
				child, VPUDOM_MAX_BLOCKS);
			goto err_put;
		}
		ret = vpudom_of_window(dev, child, &blocks[block].window);
		if (ret <= 0) {
			if (!ret)
				dev_err(dev, "%pOF: a context of a %s VPU must give its vpudom,iova-window\n",
					child, "vpudom,vpu");
			goto err_put;
		}
		blocks[block].name = devm_kasprintf(dev, GFP_KERNEL, "block%u",
						    block);
		if (!blocks[block].name) {
			of_node_put(child);
			return ERR_PTR(-ENOMEM);
		}
		nr = max(nr, block + 1);
	}
	if (!nr) {
		dev_err(dev, "no %s context node\n", context);
		return ERR_PTR(-EINVAL);
	}
	hw->name = "dt";
	hw->blocks = blocks;
	hw->nr_blocks = nr;
	return hw;

err_put:
	of_node_put(child);
	return ERR_PTR(-EINVAL);
}

/*
 * A window the DT gives for a block of a known VPU must be the table's:
 * the hardware decides it, and two sources that disagree are a mistake.
 */
static int vpudom_of_check_window(struct device *dev, struct device_node *np,
				  const struct vpudom_hw_desc *hw,
				  unsigned int block)
{
	const struct vpudom_range *table = &hw->blocks[block].window;
	struct vpudom_range dt;
	int ret;

	ret = vpudom_of_window(dev, np, &dt);
	if (ret <= 0)
		return ret;
	if (dt.start != table->start || dt.last != table->last) {
		dev_err(dev, "%pOF: vpudom,iova-window %#llx-%#llx conflicts with block %s of %s, %#llx-%#llx\n",
			np, dt.start, dt.last, hw->blocks[block].name,
			hw->name, table->start, table->last);
		return -EINVAL;
	}
	return 0;
}

/*
 * Check what the node describes before creating any device: every block
 * exactly once, each context with exactly one stream and, where the DT
 * gives a window too, the table's.
 */
static int vpudom_vpu_check_topology(struct device *dev,
				     const struct vpudom_vpu *vpu,
				     struct component_match **match)
{
	const struct vpudom_hw_desc *hw = vpu->hw;
	struct device_node *child;
	unsigned long seen = 0;
	unsigned int i;
	u32 block;
	int n;

	for_each_available_child_of_node(dev->of_node, child) {
		if (!of_device_is_compatible(child, vpu->of->context)) {
			/* A stream with a mistyped compatible: say so. */
			if (of_find_property(child, "iommus", NULL))
				dev_warn(dev, "%pOF: has a stream but is no context: compatible is not %s\n",
					 child, vpu->of->context);
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
		if (vpu->of->hw && vpudom_of_check_window(dev, child, hw, block))
			goto err_put;
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
 * The contexts are only created once the IOMMU each names in iommus has a
 * driver: until then the VPU's probe defers, and dev_err_probe() records
 * why (debugfs devices_deferred; 6.12 and later print it when the driver
 * core's deferred probe timeout expires).  An IOMMU still missing when the
 * driver core stops waiting (driver_deferred_probe_check_state(), as
 * of_iommu does for its own devices) never comes: the VPU is refused,
 * naming it, instead of waiting in silence.
 */
static int vpudom_vpu_check_suppliers(struct device *dev,
				      const struct vpudom_vpu *vpu)
{
	struct platform_device *iommu;
	struct of_phandle_args args;
	struct device_node *child;
	bool ready;
	int ret;

	for_each_available_child_of_node(dev->of_node, child) {
		if (!of_device_is_compatible(child, vpu->of->context))
			continue;
		/* The topology check has made sure there is exactly one. */
		if (of_parse_phandle_with_args(child, "iommus", "#iommu-cells",
					       0, &args))
			continue;
		iommu = of_find_device_by_node(args.np);
		/* Advisory: an IOMMU driver registers its IOMMU in probe. */
		ready = iommu && READ_ONCE(iommu->dev.driver);
		if (iommu)
			put_device(&iommu->dev);
		if (ready) {
			of_node_put(args.np);
			continue;
		}
		ret = driver_deferred_probe_check_state(dev);
		if (ret == -EPROBE_DEFER)
			dev_err_probe(dev, ret, "%pOF: waiting for its IOMMU %pOF\n",
				      child, args.np);
		else
			dev_err(dev, "%pOF: its IOMMU %pOF never came: no driver bound to it when the deferred probe timeout expired\n",
				child, args.np);
		of_node_put(args.np);
		of_node_put(child);
		return ret;
	}
	return 0;
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
	r = vpudom_dma_shift(dev);
	if (r)
		return dev_err_probe(dev, -EINVAL,
				     "dma-ranges shift the VPU's DMA addresses (%pad for %pa); they must be physical\n",
				     &r->dma_start, &r->cpu_start);
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
	vpu->of = of_device_get_match_data(dev);
	vpu->hw = vpu->of->hw ?: vpudom_of_hw_desc(dev, vpu->of->context);
	if (IS_ERR(vpu->hw))
		return dev_err_probe(dev, PTR_ERR(vpu->hw), "refusing the VPU\n");
	ret = vpudom_vpu_check_dma(dev);
	if (ret)
		return ret;
	ret = vpudom_vpu_check_topology(dev, vpu, &match);
	if (ret)
		return dev_err_probe(dev, ret, "refusing the VPU\n");
	ret = vpudom_vpu_check_suppliers(dev, vpu);
	if (ret)
		return ret;
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
