// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault reporting: the IOMMU fault handler of every context, which counts
 * and traces a stream's faults, and the work that reports the last one
 * with what it hit (a mapping, a hole) or the nearest mapping, for the
 * kernel log and debugfs.  Fault injection, the test facility, is in
 * fault_inject.c.
 */
#include <linux/iommu.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "vpudom_priv.h"
#include "trace.h"

/**
 * vpudom_fault_handler() - record an IOMMU fault of a stream
 * @domain: the context's domain
 * @dev: the context's device
 * @iova: the faulting IOVA
 * @flags: IOMMU_FAULT_READ / IOMMU_FAULT_WRITE
 * @token: the context
 *
 * Called by IOMMU drivers that report context faults (arm-smmu, qcom),
 * possibly in interrupt context: the fault is counted and traced here, and
 * reported with what it hit from process context.
 *
 * Return: %VPUDOM_FAULT_UNHANDLED: the fault is recorded, not handled, so
 * that the IOMMU driver prints its own report (arm-smmu's "Unhandled
 * context fault" with the fault registers) as it does without a handler.
 */
int vpudom_fault_handler(struct iommu_domain *domain, struct device *dev,
			 unsigned long iova, int flags, void *token)
{
	struct vpudom_ctx *ctx = token;

	atomic64_inc(&ctx->faults);
	atomic64_set(&ctx->fault_iova, iova);
	atomic_set(&ctx->fault_flags, flags);
	trace_vpudom_fault(ctx->vd->id, ctx->index, ctx->sid, iova, flags);
	schedule_work(&ctx->fault_work);
	return VPUDOM_FAULT_UNHANDLED;
}

/* The nearest mapping below @iova (or above it, if @up), past any holes. */
static struct vpudom_mapping *vpudom_mapping_near(struct vpudom_ctx *ctx,
						  u64 iova, bool up)
{
	void *entry;

	MA_STATE(mas, &ctx->iova.mt, iova, iova);

	do {
		entry = up ? mas_find(&mas, ULONG_MAX) : mas_find_rev(&mas, 0);
	} while (entry && vpudom_iova_is_hole(entry));
	return entry;
}

/* "first-last prot owner" of a mapping, appended at @buf + @at. */
static void vpudom_fault_mapping(char *buf, size_t len, int at,
				 const char *what,
				 const struct vpudom_mapping *m)
{
	char owner[TASK_COMM_LEN + 12];

	if (m->owner)
		snprintf(owner, sizeof(owner), "%d/%s",
			 to_smapping(m)->pid, to_smapping(m)->comm);
	else
		strscpy(owner, "kernel", sizeof(owner));
	snprintf(buf + at, len - at, "%s %#llx-%#llx %c%c owner %s", what,
		 m->iova, m->iova + m->size - 1,
		 m->prot & IOMMU_READ ? 'r' : '-',
		 m->prot & IOMMU_WRITE ? 'w' : '-', owner);
}

/*
 * Describe where @iova fell: into a mapping (its access or a stale IOTLB
 * was wrong), into a hole (which), or into free space (the nearest mapping,
 * the buffer a device overran most likely).
 */
static void vpudom_fault_where(struct vpudom_ctx *ctx, u64 iova, int flags,
			       char *buf, size_t len)
{
	struct vpudom_mapping *m, *below, *above;
	unsigned int i;
	int at;

	lockdep_assert_held(&ctx->lock);
	at = scnprintf(buf, len, "%s at %#llx: ",
		       flags & IOMMU_FAULT_WRITE ? "write" : "read", iova);
	m = vpudom_iova_lookup(&ctx->iova, iova);
	if (m) {
		vpudom_fault_mapping(buf, len, at, "inside mapping", m);
		return;
	}
	for (i = 0; i < ctx->nr_holes; i++) {
		const struct vpudom_hole *h = &ctx->holes[i];

		if (iova >= h->range.start && iova <= h->range.last) {
			snprintf(buf + at, len - at, "in the %s hole %#llx-%#llx",
				 vpudom_hole_name(h->kind), h->range.start,
				 h->range.last);
			return;
		}
	}
	if (iova < ctx->iova.bounds.start || iova > ctx->iova.bounds.last)
		at += scnprintf(buf + at, len - at, "outside the window, ");
	else
		at += scnprintf(buf + at, len - at, "unmapped, ");
	below = vpudom_mapping_near(ctx, iova, false);
	above = vpudom_mapping_near(ctx, iova, true);
	if (below && above &&
	    above->iova - iova < iova - (below->iova + below->size - 1))
		below = NULL;
	m = below ?: above;
	if (m)
		vpudom_fault_mapping(buf, len, at, "nearest mapping", m);
	else
		snprintf(buf + at, len - at, "no mapping in the stream");
}

/**
 * vpudom_fault_work() - report the last fault of a context
 * @work: the context's fault work
 *
 * Faults that come faster than this runs are counted, not each reported.
 */
void vpudom_fault_work(struct work_struct *work)
{
	struct vpudom_ctx *ctx = container_of(work, struct vpudom_ctx,
					      fault_work);
	u64 iova = atomic64_read(&ctx->fault_iova);
	int flags = atomic_read(&ctx->fault_flags);

	mutex_lock(&ctx->lock);
	vpudom_fault_where(ctx, iova, flags, ctx->last_fault,
			   sizeof(ctx->last_fault));
	dev_err_ratelimited(ctx->dev, "%s: stream %#x: %s fault %lld: %s\n",
			    ctx->vd->name, ctx->sid, ctx->desc->name,
			    (long long)atomic64_read(&ctx->faults),
			    ctx->last_fault);
	mutex_unlock(&ctx->lock);
}
