/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vpudom tracepoints: every map, unmap and fault, with the instance, the
 * blocks and the IOVA range, and for a map its memory attributes and who
 * maintains the CPU caches for it.  Formats: docs/ABI/trace-vpudom.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vpudom

#if !defined(_VPUDOM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VPUDOM_TRACE_H

#include <linux/iommu.h>
#include <linux/tracepoint.h>

#include "vpudom_priv.h"

/* Let user-space tools decode the sources by name too. */
TRACE_DEFINE_ENUM(VPUDOM_SRC_KERNEL);
TRACE_DEFINE_ENUM(VPUDOM_SRC_USER);
TRACE_DEFINE_ENUM(VPUDOM_SRC_DMABUF);
TRACE_DEFINE_ENUM(VPUDOM_MAINT_NONE);
TRACE_DEFINE_ENUM(VPUDOM_MAINT_VPUDOM);
TRACE_DEFINE_ENUM(VPUDOM_MAINT_EXPORTER);

#define vpudom_show_prot(prot)						\
	__print_flags(prot, "|", { IOMMU_READ, "READ" },		\
		      { IOMMU_WRITE, "WRITE" }, { IOMMU_CACHE, "CACHE" }, \
		      { IOMMU_NOEXEC, "NOEXEC" }, { IOMMU_MMIO, "MMIO" },	\
		      { IOMMU_PRIV, "PRIV" })

#define vpudom_show_source(source)					\
	__print_symbolic(source, { VPUDOM_SRC_KERNEL, "kernel" },	\
			 { VPUDOM_SRC_USER, "user" },			\
			 { VPUDOM_SRC_DMABUF, "dma-buf" })

#define vpudom_show_maint(maint)					\
	__print_symbolic(maint, { VPUDOM_MAINT_NONE, "none" },		\
			 { VPUDOM_MAINT_VPUDOM, "vpudom" },		\
			 { VPUDOM_MAINT_EXPORTER, "exporter" })

TRACE_EVENT(vpudom_map,
	    TP_PROTO(int id, unsigned long blocks, u64 iova, u64 size,
		     int prot, int source, int maint),
	    TP_ARGS(id, blocks, iova, size, prot, source, maint),
	    TP_STRUCT__entry(__field(int, id)
			     __field(unsigned long, blocks)
			     __field(u64, iova)
			     __field(u64, size)
			     __field(int, prot)
			     __field(int, source)
			     __field(int, maint)),
	    TP_fast_assign(__entry->id = id;
			   __entry->blocks = blocks;
			   __entry->iova = iova;
			   __entry->size = size;
			   __entry->prot = prot;
			   __entry->source = source;
			   __entry->maint = maint;),
	    TP_printk("vpudom%d blocks=%#lx iova=%#llx size=%#llx prot=%s source=%s sync=%s",
		      __entry->id, __entry->blocks, __entry->iova,
		      __entry->size, vpudom_show_prot(__entry->prot),
		      vpudom_show_source(__entry->source),
		      vpudom_show_maint(__entry->maint))
);

TRACE_EVENT(vpudom_unmap,
	    TP_PROTO(int id, unsigned long blocks, u64 iova, u64 size),
	    TP_ARGS(id, blocks, iova, size),
	    TP_STRUCT__entry(__field(int, id)
			     __field(unsigned long, blocks)
			     __field(u64, iova)
			     __field(u64, size)),
	    TP_fast_assign(__entry->id = id;
			   __entry->blocks = blocks;
			   __entry->iova = iova;
			   __entry->size = size;),
	    TP_printk("vpudom%d blocks=%#lx iova=%#llx size=%#llx",
		      __entry->id, __entry->blocks, __entry->iova,
		      __entry->size)
);

TRACE_EVENT(vpudom_fault,
	    TP_PROTO(int id, unsigned int block, u32 sid, u64 iova,
		     int flags),
	    TP_ARGS(id, block, sid, iova, flags),
	    TP_STRUCT__entry(__field(int, id)
			     __field(unsigned int, block)
			     __field(u32, sid)
			     __field(u64, iova)
			     __field(int, flags)),
	    TP_fast_assign(__entry->id = id;
			   __entry->block = block;
			   __entry->sid = sid;
			   __entry->iova = iova;
			   __entry->flags = flags;),
	    TP_printk("vpudom%d block=%u sid=%#x iova=%#llx flags=%#x",
		      __entry->id, __entry->block, __entry->sid,
		      __entry->iova, __entry->flags)
);

#endif /* _VPUDOM_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
