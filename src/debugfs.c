// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs: vpudom/<instance>/info and vpudom/<instance>/<block>/{ranges,
 * mappings,stats}.  Text tables for people; the format is documented in
 * docs/ABI/debugfs-vpudom.
 */
#include <linux/debugfs.h>
#include <linux/iommu.h>
#include <linux/seq_file.h>

#include "vpudom_priv.h"

struct dentry *vpudom_debugfs_root;

static void vpudom_seq_range(struct seq_file *s, const char *what,
			     const struct vpudom_range *r)
{
	seq_printf(s, "%-9s0x%016llx-0x%016llx", what, r->start, r->last);
}

static int info_show(struct seq_file *s, void *unused)
{
	struct vpudom *vd = s->private;
	unsigned int i;

	down_read(&vd->rwsem);
	seq_printf(s, "instance: %s\ndevice:   %s\nhardware: %s\nblocks:   %u\n",
		   vd->name, dev_name(vd->dev), vd->hw.name,
		   vd->hw.nr_blocks);
	for (i = 0; !vd->dead && i < vd->hw.nr_blocks; i++) {
		struct vpudom_ctx *ctx = vd->ctx[i];

		seq_printf(s, "block %u %-8s stream 0x%x device %s cache %s\n",
			   i, ctx->desc->name, ctx->sid, dev_name(ctx->dev),
			   ctx->coherent ? "coherent" : "non-coherent");
	}
	up_read(&vd->rwsem);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(info);

static int ranges_show(struct seq_file *s, void *unused)
{
	struct vpudom_ctx *ctx = s->private;
	unsigned int i;

	vpudom_seq_range(s, "window", &ctx->desc->window);
	seq_putc(s, '\n');
	vpudom_seq_range(s, "aperture", &ctx->aperture);
	seq_putc(s, '\n');
	for (i = 0; i < ctx->nr_holes; i++) {
		vpudom_seq_range(s, "hole", &ctx->holes[i].range);
		seq_printf(s, " %s\n", vpudom_hole_name(ctx->holes[i].kind));
	}
	for (i = 0; i < ctx->nr_usable; i++) {
		vpudom_seq_range(s, "usable", &ctx->usable[i]);
		seq_putc(s, '\n');
	}
	if (ctx->iova.has_kernel_only) {
		vpudom_seq_range(s, "kernel", &ctx->iova.kernel_only);
		seq_putc(s, '\n');
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ranges);

/* Who maintains a mapping's caches, by enum vpudom_maint. */
static const char * const vpudom_maint_names[] = {
	[VPUDOM_MAINT_NONE] = "none",
	[VPUDOM_MAINT_VPUDOM] = "vpudom",
	[VPUDOM_MAINT_EXPORTER] = "exporter",
};

static int mappings_show(struct seq_file *s, void *unused)
{
	struct vpudom_ctx *ctx = s->private;
	struct vpudom_mapping *m;
	void *entry;

	MA_STATE(mas, &ctx->iova.mt, 0, 0);

	seq_puts(s, "first              last               size               prot cache  sync     blocks source  owner\n");
	mutex_lock(&ctx->lock);
	mas_for_each(&mas, entry, ULONG_MAX) {
		if (vpudom_iova_is_hole(entry))
			continue;
		m = entry;
		/* One being mapped or unmapped is not there for its owner. */
		if (m->state != VPUDOM_MAPPING_LIVE)
			continue;
		seq_printf(s, "0x%016llx 0x%016llx 0x%016llx %c%c   %-6s %-8s 0x%04lx %-7s ",
			   m->iova, m->iova + m->size - 1, m->size,
			   m->prot & IOMMU_READ ? 'r' : '-',
			   m->prot & IOMMU_WRITE ? 'w' : '-',
			   m->prot & IOMMU_CACHE ? "cached" : "nc",
			   vpudom_maint_names[vpudom_maint_kind(m)], m->blocks,
			   vpudom_source_name(m));
		if (m->owner)
			seq_printf(s, "%d/%s\n", to_smapping(m)->pid,
				   to_smapping(m)->comm);
		else
			seq_puts(s, "kernel\n");
	}
	mutex_unlock(&ctx->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mappings);

static int stats_show(struct seq_file *s, void *unused)
{
	struct vpudom_ctx *ctx = s->private;
	struct vpudom_iova_space *sp = &ctx->iova;
	u64 usable = 0, largest, free;
	unsigned int i;

	for (i = 0; i < ctx->nr_usable; i++)
		usable += ctx->usable[i].last - ctx->usable[i].start + 1;
	mutex_lock(&ctx->lock);
	largest = vpudom_iova_largest_free(sp);
	free = usable - sp->mapped;
	seq_printf(s, "stream:          0x%x\n", ctx->sid);
	seq_printf(s, "iommu_group:     %d\n", iommu_group_id(ctx->group));
	seq_printf(s, "page_sizes:      0x%lx\n", ctx->pgsize_bitmap);
	seq_printf(s, "usable_bytes:    %llu\n", usable);
	seq_printf(s, "mappings:        %llu\n", sp->nr_areas);
	seq_printf(s, "mapped_bytes:    %llu\n", sp->mapped);
	seq_printf(s, "high_water:      %llu\n", sp->high_water);
	seq_printf(s, "free_bytes:      %llu\n", free);
	seq_printf(s, "largest_free:    %llu\n", largest);
	/* How much of the free space a single allocation cannot use. */
	seq_printf(s, "fragmentation:   %llu%%\n",
		   free ? div64_u64((free - largest) * 100, free) : 0);
	seq_printf(s, "alloc_failures:  %llu\n", sp->failures);
	seq_printf(s, "last_fault:      %s\n",
		   ctx->last_fault[0] ? ctx->last_fault : "none");
	mutex_unlock(&ctx->lock);
	seq_printf(s, "faults:          %lld\n",
		   (long long)atomic64_read(&ctx->faults));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

void vpudom_debugfs_add(struct vpudom *vd)
{
	unsigned int i;

	vd->debugfs = debugfs_create_dir(vd->name, vpudom_debugfs_root);
	debugfs_create_file("info", 0444, vd->debugfs, vd, &info_fops);
	for (i = 0; i < vd->hw.nr_blocks; i++) {
		struct vpudom_ctx *ctx = vd->ctx[i];

		ctx->debugfs = debugfs_create_dir(ctx->desc->name, vd->debugfs);
		debugfs_create_file("ranges", 0444, ctx->debugfs, ctx,
				    &ranges_fops);
		debugfs_create_file("mappings", 0444, ctx->debugfs, ctx,
				    &mappings_fops);
		debugfs_create_file("stats", 0444, ctx->debugfs, ctx,
				    &stats_fops);
	}
}

/* Waits for readers: the contexts may be freed afterwards. */
void vpudom_debugfs_remove(struct vpudom *vd)
{
	debugfs_remove_recursive(vd->debugfs);
	vd->debugfs = NULL;
}
