// SPDX-License-Identifier: GPL-2.0-only
/*
 * VPU instances and their contexts.
 *
 * A frontend creates an instance for its VPU device, adds one context per
 * block from the block's own device, and registers the instance once every
 * block is there.  Each context gets its own unmanaged IOMMU domain and an
 * IOVA space made of the block's hardware window, clipped to the domain's
 * aperture, minus the device's reserved regions, the block's carve-outs and
 * IOVA 0.
 */
#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/idr.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "compat.h"
#include "vpudom_priv.h"

/* Protects vpudom_instances and vpudom::registered. */
DEFINE_MUTEX(vpudom_instances_lock);
static LIST_HEAD(vpudom_instances);
static DEFINE_IDA(vpudom_ida);

static const char * const vpudom_hole_names[] = {
	[VPUDOM_HOLE_ZERO] = "zero",
	[VPUDOM_HOLE_RESV] = "reserved",
	[VPUDOM_HOLE_MSI] = "msi",
	[VPUDOM_HOLE_DIRECT] = "direct",
	[VPUDOM_HOLE_CARVEOUT] = "carve-out",
};

const char *vpudom_hole_name(enum vpudom_hole_kind kind)
{
	return vpudom_hole_names[kind];
}

static int vpudom_hole_cmp(const void *a, const void *b)
{
	const struct vpudom_hole *ha = a, *hb = b;

	if (ha->range.start != hb->range.start)
		return ha->range.start < hb->range.start ? -1 : 1;
	return 0;
}

/* Round a range outwards to the granule; false if it wraps. */
static bool vpudom_round_out(struct vpudom_range *r, u64 granule)
{
	r->start = round_down(r->start, granule);
	if ((r->last & (granule - 1)) != granule - 1) {
		r->last = round_up(r->last, granule) - 1;
		if (r->last == U64_MAX)
			return false;
	}
	return true;
}

static int vpudom_ctx_add_hole(struct vpudom_ctx *ctx,
			       const struct vpudom_range *bounds,
			       u64 start, u64 last, enum vpudom_hole_kind kind)
{
	struct vpudom_hole *hole;
	struct vpudom_range r = { .start = start, .last = last };

	if (start > last || !vpudom_round_out(&r, ctx->iova.granule)) {
		dev_err(ctx->dev, "%s: invalid %s region %#llx-%#llx\n",
			ctx->desc->name, vpudom_hole_name(kind), start, last);
		return -EINVAL;
	}
	r.start = max(r.start, bounds->start);
	r.last = min(r.last, bounds->last);
	if (r.start > r.last)
		return 0;
	if (ctx->nr_holes == VPUDOM_MAX_HOLES) {
		dev_err(ctx->dev, "%s: more than %d reserved ranges in the window\n",
			ctx->desc->name, VPUDOM_MAX_HOLES);
		return -E2BIG;
	}
	hole = &ctx->holes[ctx->nr_holes++];
	hole->range = r;
	hole->kind = kind;
	return 0;
}

static enum vpudom_hole_kind vpudom_resv_kind(enum iommu_resv_type type)
{
	switch (type) {
	case IOMMU_RESV_MSI:
	case IOMMU_RESV_SW_MSI:
		return VPUDOM_HOLE_MSI;
	case IOMMU_RESV_DIRECT:
	case IOMMU_RESV_DIRECT_RELAXABLE:
		return VPUDOM_HOLE_DIRECT;
	default:
		return VPUDOM_HOLE_RESV;
	}
}

/*
 * The IOVAs a context may ever use: its window inside the domain's
 * aperture, shrunk to whole granules.  Sets the allocator's granule.
 */
static int vpudom_ctx_bounds(struct vpudom_ctx *ctx,
			     struct vpudom_range *bounds)
{
	const struct vpudom_block_desc *desc = ctx->desc;
	u64 granule;

	granule = max_t(u64, PAGE_SIZE, 1ULL << __ffs(ctx->pgsize_bitmap));
	bounds->start = max(desc->window.start, ctx->aperture.start);
	bounds->last = min(desc->window.last, ctx->aperture.last);
	if (!vpudom_range_align_in(bounds, granule)) {
		dev_err(ctx->dev, "%s: window %#llx-%#llx holds no whole %#llx-byte page inside the IOMMU aperture %#llx-%#llx\n",
			desc->name, desc->window.start, desc->window.last,
			granule, ctx->aperture.start, ctx->aperture.last);
		return -EINVAL;
	}
	ctx->iova.granule = granule;
	return 0;
}

/*
 * The holes of a context inside @bounds: IOVA 0, the block's carve-outs and
 * the IOMMU's reserved regions of its device, sorted by address.
 */
static int vpudom_ctx_find_holes(struct vpudom_ctx *ctx,
				 const struct vpudom_range *bounds)
{
	const struct vpudom_block_desc *desc = ctx->desc;
	struct iommu_resv_region *region;
	LIST_HEAD(resv);
	unsigned int i;
	int ret = 0;

	if (!bounds->start)
		ret = vpudom_ctx_add_hole(ctx, bounds, 0, ctx->iova.granule - 1,
					  VPUDOM_HOLE_ZERO);
	for (i = 0; !ret && i < desc->nr_carveouts; i++)
		ret = vpudom_ctx_add_hole(ctx, bounds,
					  desc->carveouts[i].start,
					  desc->carveouts[i].last,
					  VPUDOM_HOLE_CARVEOUT);
	/*
	 * The group's regions are the device's own: the group has no other
	 * device.  The per-device call is not exported to modules on 6.1.
	 */
	if (!ret)
		ret = iommu_get_group_resv_regions(ctx->group, &resv);
	list_for_each_entry(region, &resv, list) {
		if (ret || !region->length)
			break;
		ret = vpudom_ctx_add_hole(ctx, bounds, region->start,
					  region->start + region->length - 1,
					  vpudom_resv_kind(region->type));
	}
	iommu_put_resv_regions(ctx->dev, &resv);
	if (ret)
		return ret;
	sort(ctx->holes, ctx->nr_holes, sizeof(ctx->holes[0]),
	     vpudom_hole_cmp, NULL);
	return 0;
}

/* The usable ranges of a context: @bounds without its sorted holes. */
static int vpudom_ctx_find_usable(struct vpudom_ctx *ctx,
				  const struct vpudom_range *bounds)
{
	u64 cursor = bounds->start;
	unsigned int i;

	for (i = 0; i < ctx->nr_holes; i++) {
		const struct vpudom_range *h = &ctx->holes[i].range;

		if (h->start > cursor) {
			ctx->usable[ctx->nr_usable].start = cursor;
			ctx->usable[ctx->nr_usable++].last = h->start - 1;
		}
		if (h->last >= bounds->last) {
			cursor = 0;
			break;
		}
		cursor = max(cursor, h->last + 1);
	}
	if (cursor && cursor <= bounds->last) {
		ctx->usable[ctx->nr_usable].start = cursor;
		ctx->usable[ctx->nr_usable++].last = bounds->last;
	}
	if (!ctx->nr_usable) {
		dev_err(ctx->dev, "%s: reserved regions cover the whole window\n",
			ctx->desc->name);
		return -EINVAL;
	}
	return 0;
}

/*
 * Work out the holes and usable ranges of a context and seed its allocator
 * with the holes.
 */
static int vpudom_ctx_init_space(struct vpudom_ctx *ctx)
{
	struct vpudom_range bounds;
	unsigned int i;
	int ret;

	ret = vpudom_ctx_bounds(ctx, &bounds);
	if (ret)
		return ret;
	ret = vpudom_ctx_find_holes(ctx, &bounds);
	if (ret)
		return ret;
	ret = vpudom_ctx_find_usable(ctx, &bounds);
	if (ret)
		return ret;

	vpudom_iova_init(&ctx->iova, &bounds, ctx->iova.granule, &ctx->lock);
	if (ctx->desc->kernel_only)
		vpudom_iova_set_kernel_only(&ctx->iova, ctx->desc->kernel_only);
	mutex_lock(&ctx->lock);
	for (i = 0; !ret && i < ctx->nr_holes; i++)
		ret = vpudom_iova_add_hole(&ctx->iova, &ctx->holes[i].range);
	if (ret)
		vpudom_iova_destroy(&ctx->iova);
	mutex_unlock(&ctx->lock);
	return ret;
}

static int vpudom_count_dev(struct device *dev, void *data)
{
	(*(unsigned int *)data)++;
	return 0;
}

/*
 * The IOMMU group of a block's device, referenced, if the device may be a
 * context: translated, by exactly one stream, alone in its group.
 */
static struct iommu_group *vpudom_ctx_group(struct device *dev,
					    const struct vpudom_block_desc *desc)
{
	struct iommu_fwspec *fwspec = dev_iommu_fwspec_get(dev);
	struct iommu_group *group;
	unsigned int nr_devs = 0;

	if (!fwspec) {
		dev_err(dev, "%s: not translated by an IOMMU\n", desc->name);
		return ERR_PTR(-ENODEV);
	}
	if (fwspec->num_ids != 1) {
		dev_err(dev, "%s: has %u streams; a context must have exactly one\n",
			desc->name, fwspec->num_ids);
		return ERR_PTR(-EINVAL);
	}
	group = iommu_group_get(dev);
	if (!group) {
		dev_err(dev, "%s: has no IOMMU group\n", desc->name);
		return ERR_PTR(-ENODEV);
	}
	iommu_group_for_each_dev(group, &nr_devs, vpudom_count_dev);
	if (nr_devs != 1) {
		dev_err(dev, "%s: shares IOMMU group %d with %u other devices, so its stream would share their translation\n",
			desc->name, iommu_group_id(group), nr_devs - 1);
		iommu_group_put(group);
		return ERR_PTR(-EINVAL);
	}
	return group;
}

/*
 * Whether the stream snoops the CPU caches, judged as the DMA API and VFIO
 * judge it: its device is dma-coherent (dev_is_dma_coherent(), from the
 * DT's "dma-coherent" or ACPI's _CCA: what dma-direct and dma-iommu go by)
 * and its IOMMU reports IOMMU_CAP_CACHE_COHERENCY (arm-smmu-v3: the SMMU
 * is coherent).  A stream that does not is maintained through the DMA API
 * of the VPU device, which then must not be coherent itself: the DMA API
 * skips the maintenance of a coherent device.
 */
static int vpudom_ctx_coherency(struct vpudom_ctx *ctx)
{
	struct device *vpu = ctx->vd->dev;

	ctx->coherent = dev_is_dma_coherent(ctx->dev) &&
			device_iommu_capable(ctx->dev,
					     IOMMU_CAP_CACHE_COHERENCY);
	if (!ctx->coherent && dev_is_dma_coherent(vpu)) {
		dev_err(ctx->dev, "%s: does not snoop the CPU caches, but the VPU device %s is dma-coherent: vpudom cannot maintain the caches through it\n",
			ctx->desc->name, dev_name(vpu));
		return -EINVAL;
	}
	return 0;
}

/*
 * Take the context's group from the DMA API, and attach an unmanaged
 * domain of its own to the device, its faults reported to vpudom.
 */
static int vpudom_ctx_attach(struct vpudom_ctx *ctx)
{
	const char *name = ctx->desc->name;
	struct device *dev = ctx->dev;
	int ret;

	ret = iommu_group_claim_dma_owner(ctx->group, ctx);
	if (ret) {
		dev_err(dev, "%s: IOMMU group %d is in use by another driver\n",
			name, iommu_group_id(ctx->group));
		return ret;
	}
	ctx->domain = vpudom_domain_alloc(dev);
	if (IS_ERR(ctx->domain)) {
		ret = PTR_ERR(ctx->domain);
		dev_err(dev, "%s: cannot allocate an IOMMU domain: %d\n",
			name, ret);
		goto release_owner;
	}
	ret = iommu_attach_device(ctx->domain, dev);
	if (ret) {
		dev_err(dev, "%s: cannot attach its IOMMU domain: %d\n",
			name, ret);
		goto free_domain;
	}
	iommu_set_fault_handler(ctx->domain, vpudom_fault_handler, ctx);
	ctx->pgsize_bitmap = ctx->domain->pgsize_bitmap;
	if (ctx->domain->geometry.force_aperture) {
		ctx->aperture.start = ctx->domain->geometry.aperture_start;
		ctx->aperture.last = ctx->domain->geometry.aperture_end;
	} else {
		ctx->aperture.start = 0;
		ctx->aperture.last = U64_MAX;
	}
	return 0;

free_domain:
	iommu_domain_free(ctx->domain);
release_owner:
	iommu_group_release_dma_owner(ctx->group);
	return ret;
}

/* Undo vpudom_ctx_attach(). */
static void vpudom_ctx_detach(struct vpudom_ctx *ctx)
{
	iommu_detach_device(ctx->domain, ctx->dev);
	iommu_domain_free(ctx->domain);
	/* No fault can be reported any more: let the last report finish. */
	cancel_work_sync(&ctx->fault_work);
	iommu_group_release_dma_owner(ctx->group);
}

static struct vpudom_ctx *vpudom_ctx_create(struct vpudom *vd,
					    unsigned int block,
					    struct device *dev)
{
	const struct vpudom_block_desc *desc = &vd->hw.blocks[block];
	struct iommu_group *group;
	struct vpudom_ctx *ctx;
	int ret;

	group = vpudom_ctx_group(dev, desc);
	if (IS_ERR(group))
		return ERR_CAST(group);
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx) {
		ret = -ENOMEM;
		goto put_group;
	}
	ctx->vd = vd;
	ctx->index = block;
	ctx->desc = desc;
	ctx->dev = get_device(dev);
	ctx->group = group;
	ctx->sid = dev_iommu_fwspec_get(dev)->ids[0];
	mutex_init(&ctx->lock);
	atomic64_set(&ctx->faults, 0);
	INIT_WORK(&ctx->fault_work, vpudom_fault_work);

	ret = vpudom_ctx_coherency(ctx);
	if (ret)
		goto free_ctx;
	ret = vpudom_ctx_attach(ctx);
	if (ret)
		goto free_ctx;
	ret = vpudom_ctx_init_space(ctx);
	if (ret)
		goto detach;
	return ctx;

detach:
	vpudom_ctx_detach(ctx);
free_ctx:
	put_device(ctx->dev);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
put_group:
	iommu_group_put(group);
	return ERR_PTR(ret);
}

/* Called with every mapping of @ctx gone and the instance revoked. */
static void vpudom_ctx_destroy(struct vpudom_ctx *ctx)
{
	vpudom_ctx_detach(ctx);
	mutex_lock(&ctx->lock);
	vpudom_iova_destroy(&ctx->iova);
	mutex_unlock(&ctx->lock);
	iommu_group_put(ctx->group);
	put_device(ctx->dev);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
}

/* Free what vpudom_hw_copy() made, complete or not. */
static void vpudom_hw_free(struct vpudom *vd)
{
	unsigned int i;

	for (i = 0; i < vd->hw.nr_blocks; i++) {
		kfree(vd->blocks[i].name);
		kfree(vd->blocks[i].carveouts);
		kfree(vd->blocks[i].kernel_only);
	}
	kfree(vd->hw.name);
}

/*
 * Copy the frontend's description, names, carve-outs and kernel-only
 * ranges included: the instance outlives the frontend (an open file keeps
 * it) and the frontend's tables may be in a module that is gone by then.
 */
static int vpudom_hw_copy(struct vpudom *vd, const struct vpudom_hw_desc *hw)
{
	unsigned int i;

	vd->hw.blocks = vd->blocks;
	vd->hw.name = kstrdup(hw->name, GFP_KERNEL);
	if (!vd->hw.name)
		return -ENOMEM;
	for (i = 0; i < hw->nr_blocks; i++) {
		const struct vpudom_block_desc *from = &hw->blocks[i];
		struct vpudom_block_desc *to = &vd->blocks[i];

		/* Counted first, so that vpudom_hw_free() sees this block. */
		vd->hw.nr_blocks = i + 1;
		to->window = from->window;
		to->name = kstrdup(from->name, GFP_KERNEL);
		if (!to->name)
			return -ENOMEM;
		if (from->kernel_only) {
			to->kernel_only = kmemdup(from->kernel_only,
						  sizeof(*from->kernel_only),
						  GFP_KERNEL);
			if (!to->kernel_only)
				return -ENOMEM;
		}
		if (!from->nr_carveouts)
			continue;
		to->carveouts = kmemdup(from->carveouts,
					array_size(from->nr_carveouts,
						   sizeof(*from->carveouts)),
					GFP_KERNEL);
		if (!to->carveouts)
			return -ENOMEM;
		to->nr_carveouts = from->nr_carveouts;
	}
	return 0;
}

/**
 * vpudom_create() - start assembling a VPU instance
 * @dev: the VPU device; its driver owns the instance until
 *	vpudom_unregister()
 * @hw: the hardware description; copied, so it need only live until this
 *	returns
 *
 * Every instance created, assembled or not, ends with vpudom_unregister().
 *
 * Context: process context; may sleep.
 * Return: the instance, or ERR_PTR(-EINVAL) for a bad description or
 * ERR_PTR(-ENOMEM).
 */
struct vpudom *vpudom_create(struct device *dev,
			     const struct vpudom_hw_desc *hw)
{
	struct vpudom *vd;
	unsigned int i;
	int id, ret;

	if (!hw->nr_blocks || hw->nr_blocks > VPUDOM_MAX_BLOCKS) {
		dev_err(dev, "%s: %u blocks; between 1 and %d are supported\n",
			hw->name, hw->nr_blocks, VPUDOM_MAX_BLOCKS);
		return ERR_PTR(-EINVAL);
	}
	for (i = 0; i < hw->nr_blocks; i++) {
		if (hw->blocks[i].window.start > hw->blocks[i].window.last) {
			dev_err(dev, "%s: block %s has an empty window\n",
				hw->name, hw->blocks[i].name);
			return ERR_PTR(-EINVAL);
		}
	}

	vd = kzalloc(sizeof(*vd), GFP_KERNEL);
	if (!vd)
		return ERR_PTR(-ENOMEM);
	ret = vpudom_hw_copy(vd, hw);
	if (ret)
		goto free_hw;
	id = ida_alloc(&vpudom_ida, GFP_KERNEL);
	if (id < 0) {
		ret = id;
		goto free_hw;
	}
	kref_init(&vd->kref);
	init_rwsem(&vd->rwsem);
	INIT_LIST_HEAD(&vd->node);
	vd->id = id;
	snprintf(vd->name, sizeof(vd->name), "vpudom%d", id);
	vd->dev = get_device(dev);
	return vd;

free_hw:
	vpudom_hw_free(vd);
	kfree(vd);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(vpudom_create);

/**
 * vpudom_add_block() - give a block of an instance its context device
 * @vd: an instance not yet registered
 * @block: block number
 * @ctx_dev: the device that issues the block's DMA: behind an IOMMU, with
 *	exactly one stream and an IOMMU group of its own, and bound to a
 *	driver with driver_managed_dma set
 *
 * Allocates and attaches the block's IOMMU domain and works out its usable
 * IOVA ranges and whether the block snoops the CPU caches (dma-coherent
 * and an IOMMU with IOMMU_CAP_CACHE_COHERENCY): its mappings are cacheable
 * then, and vpudom maintains the CPU caches for them otherwise.
 *
 * Context: process context; may sleep.
 * Return: 0, or -EINVAL for a bad block number or topology or a block that
 * does not snoop the CPU caches of a dma-coherent VPU device, -EEXIST if the
 * block has a context already, -ENODEV if @ctx_dev has no IOMMU, -ENOMEM.
 */
int vpudom_add_block(struct vpudom *vd, unsigned int block,
		     struct device *ctx_dev)
{
	struct vpudom_ctx *ctx;

	if (WARN_ON_ONCE(vd->registered))
		return -EBUSY;
	if (block >= vd->hw.nr_blocks) {
		dev_err(ctx_dev, "block %u does not exist on %s\n", block,
			vd->hw.name);
		return -EINVAL;
	}
	if (vd->ctx[block]) {
		dev_err(ctx_dev, "block %s already has a context (%s)\n",
			vd->hw.blocks[block].name, dev_name(vd->ctx[block]->dev));
		return -EEXIST;
	}
	ctx = vpudom_ctx_create(vd, block, ctx_dev);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	vd->ctx[block] = ctx;
	return 0;
}
EXPORT_SYMBOL_GPL(vpudom_add_block);

/**
 * vpudom_register() - publish an instance whose blocks are all there
 * @vd: the instance
 *
 * Creates /dev/vpudom<id> and the debugfs directory.
 *
 * Context: process context; may sleep.
 * Return: 0, -ENODEV if a block has no context, or the error of creating
 * the character device.
 */
int vpudom_register(struct vpudom *vd)
{
	unsigned int i;
	int ret;

	for (i = 0; i < vd->hw.nr_blocks; i++) {
		if (!vd->ctx[i]) {
			dev_err(vd->dev, "block %s has no context; refusing the VPU\n",
				vd->hw.blocks[i].name);
			return -ENODEV;
		}
	}
	ret = vpudom_cdev_register(vd);
	if (ret) {
		dev_err(vd->dev, "cannot create /dev/%s: %d\n", vd->name, ret);
		return ret;
	}
	mutex_lock(&vpudom_instances_lock);
	list_add_tail(&vd->node, &vpudom_instances);
	vd->registered = true;
	mutex_unlock(&vpudom_instances_lock);
	vpudom_debugfs_add(vd);
	for (i = 0; i < vd->hw.nr_blocks; i++)
		dev_info(vd->dev, "%s: block %s: stream %#x, window %#llx-%#llx, %u usable ranges\n",
			 vd->name, vd->hw.blocks[i].name, vd->ctx[i]->sid,
			 vd->hw.blocks[i].window.start,
			 vd->hw.blocks[i].window.last, vd->ctx[i]->nr_usable);
	return 0;
}
EXPORT_SYMBOL_GPL(vpudom_register);

/**
 * vpudom_unregister() - revoke and tear down an instance
 * @vd: an instance from vpudom_create(), registered or not
 *
 * Every mapping is unmapped and released, every domain detached and freed.
 * Consumers still holding the instance get -ENODEV from then on; the
 * memory goes with the last vpudom_put().  The instance number is free
 * again at once, so a VPU bound again gets the same /dev/vpudom<N>.
 *
 * Context: process context; may sleep.
 */
void vpudom_unregister(struct vpudom *vd)
{
	LIST_HEAD(dead);
	unsigned int i;

	mutex_lock(&vpudom_instances_lock);
	if (vd->registered)
		list_del_init(&vd->node);
	mutex_unlock(&vpudom_instances_lock);
	if (vd->registered) {
		vpudom_cdev_unregister(vd);
		vpudom_debugfs_remove(vd);
	}
	/*
	 * The number only names the device node and the debugfs directory,
	 * both gone now: a rebound VPU gets it back even while files of
	 * this instance are still open.
	 */
	ida_free(&vpudom_ida, vd->id);

	down_write(&vd->rwsem);
	vd->dead = true;
	vpudom_revoke_locked(vd, &dead);
	for (i = 0; i < vd->hw.nr_blocks; i++) {
		if (vd->ctx[i])
			vpudom_ctx_destroy(vd->ctx[i]);
		vd->ctx[i] = NULL;
	}
	up_write(&vd->rwsem);
	/* Out of reach of every device now: give the memory back unlocked. */
	vpudom_release_mappings(vd, &dead);
	vpudom_put(vd);
}
EXPORT_SYMBOL_GPL(vpudom_unregister);

static void vpudom_release(struct kref *kref)
{
	struct vpudom *vd = container_of(kref, struct vpudom, kref);

	put_device(vd->dev);
	vpudom_hw_free(vd);
	kfree(vd);
}

/**
 * vpudom_put() - drop a reference taken by of_vpudom_get()
 * @vd: the instance, or NULL
 */
void vpudom_put(struct vpudom *vd)
{
	if (vd)
		kref_put(&vd->kref, vpudom_release);
}
EXPORT_SYMBOL_GPL(vpudom_put);

/**
 * of_vpudom_get() - find the instance of a VPU device node
 * @np: the VPU's node
 *
 * Nothing ties the caller to the instance's devices: a driver bound to a
 * device should use devm_of_vpudom_get(), which does.
 *
 * Context: process context; may sleep.
 * Return: the instance with a reference for vpudom_put(), or
 * ERR_PTR(-EPROBE_DEFER) if it is not registered (yet).
 */
struct vpudom *of_vpudom_get(struct device_node *np)
{
	struct vpudom *vd, *found = ERR_PTR(-EPROBE_DEFER);

	mutex_lock(&vpudom_instances_lock);
	list_for_each_entry(vd, &vpudom_instances, node) {
		if (vd->dev->of_node == np) {
			kref_get(&vd->kref);
			found = vd;
			break;
		}
	}
	mutex_unlock(&vpudom_instances_lock);
	return found;
}
EXPORT_SYMBOL_GPL(of_vpudom_get);

static void vpudom_devm_put(void *vd)
{
	vpudom_put(vd);
}

/*
 * The devices whose unbinding takes @vd down: the VPU device, if a driver
 * is bound to it (a frontend may use a device no driver binds), and every
 * context device.  Referenced; 0 devices if @vd is gone.
 */
static unsigned int vpudom_suppliers(struct vpudom *vd,
				     struct device **devs)
{
	unsigned int i, n = 0;

	if (vpudom_get_alive(vd))
		return 0;
	if (READ_ONCE(vd->dev->driver))
		devs[n++] = get_device(vd->dev);
	for (i = 0; i < vd->hw.nr_blocks; i++)
		devs[n++] = get_device(vd->ctx[i]->dev);
	up_read(&vd->rwsem);
	return n;
}

/* A managed link from @consumer to @supplier, a device of @vd. */
static int vpudom_link_one(struct vpudom *vd, struct device *consumer,
			   struct device *supplier)
{
	struct device_link *link;

	link = device_link_add(consumer, supplier, DL_FLAG_AUTOREMOVE_CONSUMER);
	if (!link) {
		dev_err(consumer, "%s: cannot link to %s\n", vd->name,
			dev_name(supplier));
		return -EINVAL;
	}
	/* Made while the supplier unbinds: it would not wait for @consumer. */
	if (READ_ONCE(link->status) == DL_STATE_SUPPLIER_UNBIND)
		return -EPROBE_DEFER;
	return 0;
}

/*
 * Link @consumer to every device of @vd, so that the driver core unbinds
 * @consumer before any of them.  The links are managed: the driver core
 * drops them when @consumer unbinds or fails its probe.
 */
static int vpudom_link_consumer(struct vpudom *vd, struct device *consumer)
{
	struct device *devs[VPUDOM_MAX_BLOCKS + 1];
	unsigned int i, n;
	int ret = 0;

	n = vpudom_suppliers(vd, devs);
	if (!n)
		return -EPROBE_DEFER;
	for (i = 0; i < n; i++) {
		if (!ret)
			ret = vpudom_link_one(vd, consumer, devs[i]);
		put_device(devs[i]);
	}
	return ret;
}

/**
 * devm_of_vpudom_get() - find the instance of a VPU device node for a
 *	consumer, and make the consumer depend on it
 * @consumer: the consumer's device, being probed
 * @np: the VPU's node (e.g. from a phandle of the consumer's node)
 *
 * As of_vpudom_get(), and device links are added from @consumer to the
 * VPU device and to every context device of the instance, so that the
 * driver core unbinds @consumer before any device whose unbinding would
 * revoke the instance.  The links are managed
 * (%DL_FLAG_AUTOREMOVE_CONSUMER): the driver core drops them when
 * @consumer unbinds or its probe fails.  The reference is dropped by devres
 * when @consumer unbinds.  Nothing reprobes @consumer when the VPU binds
 * again.
 *
 * Context: process context, from @consumer's probe; may sleep.
 * Return: the instance, or ERR_PTR(-EPROBE_DEFER) if it is not registered
 * (yet) or is being unbound, ERR_PTR(-EINVAL) if a link cannot be made
 * (@consumer is a supplier of the VPU), ERR_PTR(-ENOMEM).
 */
struct vpudom *devm_of_vpudom_get(struct device *consumer,
				  struct device_node *np)
{
	struct vpudom *vd;
	int ret;

	vd = of_vpudom_get(np);
	if (IS_ERR(vd))
		return vd;
	ret = devm_add_action_or_reset(consumer, vpudom_devm_put, vd);
	if (ret)
		return ERR_PTR(ret);
	ret = vpudom_link_consumer(vd, consumer);
	if (ret)
		return ERR_PTR(ret);
	return vd;
}
EXPORT_SYMBOL_GPL(devm_of_vpudom_get);

/**
 * vpudom_nr_blocks() - how many blocks an instance has
 * @vd: the instance
 *
 * Return: the number of blocks; block numbers run from 0 to this - 1.
 */
unsigned int vpudom_nr_blocks(struct vpudom *vd)
{
	return vd->hw.nr_blocks;
}
EXPORT_SYMBOL_GPL(vpudom_nr_blocks);

/**
 * vpudom_block_by_name() - look up a block by the name the hardware
 *	table gives it
 * @vd: the instance
 * @name: block name
 *
 * Return: the block number, or -ENOENT.
 */
int vpudom_block_by_name(struct vpudom *vd, const char *name)
{
	unsigned int i;

	for (i = 0; i < vd->hw.nr_blocks; i++)
		if (!strcmp(vd->hw.blocks[i].name, name))
			return i;
	return -ENOENT;
}
EXPORT_SYMBOL_GPL(vpudom_block_by_name);
