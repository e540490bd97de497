/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vpudom's objects, shared by its layers: instances, contexts, sessions,
 * mappings, and the interface between the memory sources and the mapping
 * engine.  The allocator has its own header, iova.h.
 *
 * Lock order, outermost first:
 *   vpudom_instances_lock -> vpudom::rwsem -> vpudom_ctx::lock (in ascending
 *   block order when several are held)
 *   vpudom_session::lock -> dma_resv (a session's dma-buf attachments;
 *   under no other lock of vpudom: attached before a map takes its locks,
 *   detached after the unmap or the revoke dropped them)
 *   mm::mmap_lock (pinning) and vpudom_users_lock (account.c) are leaves:
 *   nothing else is taken under them, and they are taken under no lock of
 *   vpudom.
 *
 * The maple tree of a context uses vpudom_ctx::lock as its external lock.
 *
 * mm::mmap_lock and dma_resv are never taken under vpudom::rwsem or a
 * context lock: pinning and every copy to or from user memory take the
 * mmap_lock (and a fault there may wait forever on userfaultfd or FUSE),
 * dma-buf attach, map, unmap and detach take the reservation lock.  So
 * memory is pinned or attached before vpudom_map() takes the locks and
 * released (unpin, mmdrop, detach) after an unmap or the revoke has
 * dropped them, and ioctls gather their answers under the lock and copy
 * them out after.
 */
#ifndef _VPUDOM_PRIV_H
#define _VPUDOM_PRIV_H

#include <linux/errno.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/maple_tree.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/vpudom.h>
#include <linux/wait_bit.h>

#include "iova.h"
#include <linux/workqueue.h>

struct bus_dma_region;
struct dentry;
struct vpudom_dmabuf_att;
struct vpudom_buf;
struct iommu_domain;
struct iommu_group;
struct seq_file;
struct user_struct;

/* Holes a context may have: reserved regions plus carve-outs plus IOVA 0. */
#define VPUDOM_MAX_HOLES	16
/* Usable ranges: the window split by at most VPUDOM_MAX_HOLES holes. */
#define VPUDOM_MAX_RANGES	(VPUDOM_MAX_HOLES + 1)
/*
 * What the fault handler returns: not handled, only recorded.  arm-smmu
 * prints its own report (registers included) only for this value, the one
 * report_iommu_fault() returns when no handler is installed.
 */
#define VPUDOM_FAULT_UNHANDLED	(-ENOSYS)
/* A fault report: direction, IOVA, and what is there or nearest. */
#define VPUDOM_FAULT_REPORT_LEN	160

/**
 * enum vpudom_hole_kind - why an IOVA range inside a window is not usable
 * @VPUDOM_HOLE_ZERO: IOVA 0, never handed out
 * @VPUDOM_HOLE_RESV: a reserved region of the IOMMU (iommu_get_resv_regions)
 * @VPUDOM_HOLE_MSI: the IOMMU's MSI window (a reserved region too)
 * @VPUDOM_HOLE_DIRECT: a direct-mapped region firmware relies on
 * @VPUDOM_HOLE_CARVEOUT: a carve-out of the hardware description
 */
enum vpudom_hole_kind {
	VPUDOM_HOLE_ZERO,
	VPUDOM_HOLE_RESV,
	VPUDOM_HOLE_MSI,
	VPUDOM_HOLE_DIRECT,
	VPUDOM_HOLE_CARVEOUT,
};

/**
 * struct vpudom_hole - a range of a window that is never allocated
 * @range: the IOVAs, clipped to the window
 * @kind: where it comes from
 */
struct vpudom_hole {
	struct vpudom_range range;
	enum vpudom_hole_kind kind;
};

/**
 * struct vpudom_ctx - one stream (SID) of a VPU instance
 * @vd: the instance
 * @index: block number
 * @desc: the block, as the hardware table describes it
 * @dev: the stream's own device (reference held)
 * @group: its IOMMU group (reference held)
 * @domain: the unmanaged domain attached to @dev
 * @sid: stream ID read back from the device's fwspec
 * @coherent: the stream snoops the CPU caches: its device is dma-coherent
 *	(what the DMA API goes by) and its IOMMU reports
 *	IOMMU_CAP_CACHE_COHERENCY.  Mappings only in coherent contexts get
 *	IOMMU_CACHE; others are non-cacheable and vpudom maintains the CPU
 *	caches for them.  Set at creation, never changed.
 * @pgsize_bitmap: page sizes @domain supports
 * @aperture: @domain's aperture
 * @holes: reserved ranges inside the window
 * @nr_holes: number of @holes
 * @usable: window ∩ aperture − @holes, sorted
 * @nr_usable: number of @usable
 * @lock: protects @iova, every mapping's presence in this context and its
 *	&vpudom_mapping.state; not held around the IOMMU calls on @domain
 * @iova: the allocator
 * @faults: IOMMU faults reported for this stream
 * @fault_iova: IOVA of the last fault
 * @fault_flags: IOMMU_FAULT_* flags of the last fault
 * @fault_work: reports the last fault with what it hit or the nearest
 *	mapping; the fault handler may run in interrupt context, where @lock
 *	cannot be taken
 * @last_fault: that report, for debugfs; protected by @lock, empty until
 *	the first fault
 * @debugfs: the context's debugfs directory
 */
struct vpudom_ctx {
	struct vpudom *vd;
	unsigned int index;
	const struct vpudom_block_desc *desc;
	struct device *dev;
	struct iommu_group *group;
	struct iommu_domain *domain;
	u32 sid;
	bool coherent;
	unsigned long pgsize_bitmap;
	struct vpudom_range aperture;
	struct vpudom_hole holes[VPUDOM_MAX_HOLES];
	unsigned int nr_holes;
	struct vpudom_range usable[VPUDOM_MAX_RANGES];
	unsigned int nr_usable;
	struct mutex lock; /* see above */
	struct vpudom_iova_space iova;
	atomic64_t faults;
	atomic64_t fault_iova;
	atomic_t fault_flags;
	struct work_struct fault_work;
	char last_fault[VPUDOM_FAULT_REPORT_LEN];
	struct dentry *debugfs;
};

/**
 * struct vpudom - one VPU instance
 * @kref: held by the frontend until vpudom_unregister() and by every
 *	consumer that looked the instance up
 * @dev: the VPU device (the frontend's; reference held)
 * @hw: the instance's own copy of the hardware description: the
 *	frontend's may go with its module while files are still open
 * @blocks: the blocks of @hw; their names and carve-outs are copies too
 * @id: instance number
 * @name: "vpudom<id>"
 * @rwsem: taken for read by every operation on mappings, for write to
 *	revoke; protects @dead and the lifetime of @ctx
 * @dead: revoked by vpudom_unregister(); operations return -ENODEV
 * @registered: published by vpudom_register()
 * @ctx: contexts by block number; all present once registered
 * @node: entry in the list of instances
 * @debugfs: the instance's debugfs directory
 * @misc: the character device /dev/vpudom<id>, while registered
 */
struct vpudom {
	struct kref kref;
	struct device *dev;
	struct vpudom_hw_desc hw;
	struct vpudom_block_desc blocks[VPUDOM_MAX_BLOCKS];
	int id;
	/* "vpudom" and the decimal id, whatever its size. */
	char name[sizeof("vpudom") + 11];
	struct rw_semaphore rwsem;
	bool dead;
	bool registered;
	struct vpudom_ctx *ctx[VPUDOM_MAX_BLOCKS];
	struct list_head node;
	struct dentry *debugfs;
	struct miscdevice misc;
};

/**
 * struct vpudom_user - what one user holds through every session
 * @uid: the user, key of the table of users
 * @user: its user_struct (reference held): pinned pages are charged to
 *	its locked_vm
 * @refs: one per mapping charged to the user; under vpudom_users_lock
 * @nr_mappings: mappings charged, for max_user_mappings
 * @bytes: IOVA bytes charged (a mapping's length once for each block it
 *	is in), for max_user_bytes
 * @pinned: pages charged to @user->locked_vm
 */
struct vpudom_user {
	kuid_t uid;
	struct user_struct *user;
	unsigned int refs;
	atomic_long_t nr_mappings;
	atomic64_t bytes;
	atomic_long_t pinned;
};

/**
 * struct vpudom_session - an open file of /dev/vpudom<N>
 * @vd: the instance (reference held)
 * @nr_mappings: mappings the session owns, for the max_mappings limit; a
 *	mapping points at its session until released, so close waits for 0
 * @lock: protects @dmabufs and their reference counts; taken under no
 *	other lock of vpudom, and holds dma-buf reservation locks (attach,
 *	detach)
 * @dmabufs: the session's attachments to dma-bufs, one per dma-buf
 */
struct vpudom_session {
	struct vpudom *vd;
	atomic_t nr_mappings;
	struct mutex lock; /* see above */
	struct list_head dmabufs;
};

/*
 * A mapping of @s is released: the last one lets a close waiting in
 * vpudom_fops_release() go on.  wake_up_var() only hashes the address, so
 * @s may be freed as soon as the count is seen at 0.
 */
static inline void vpudom_session_mapping_gone(struct vpudom_session *s)
{
	if (atomic_dec_and_test(&s->nr_mappings))
		wake_up_var(&s->nr_mappings);
}

/**
 * enum vpudom_source - where the memory of a mapping comes from
 * @VPUDOM_SRC_KERNEL: a kernel sg_table (in-kernel API)
 * @VPUDOM_SRC_USER: pinned pages of a process
 * @VPUDOM_SRC_DMABUF: a dma-buf the VPU is attached to
 */
enum vpudom_source {
	VPUDOM_SRC_KERNEL,
	VPUDOM_SRC_USER,
	VPUDOM_SRC_DMABUF,
};

/**
 * enum vpudom_maint - who keeps the CPU caches and a mapping's memory in
 *	agreement
 * @VPUDOM_MAINT_NONE: nobody needs to: cacheable in coherent contexts
 * @VPUDOM_MAINT_VPUDOM: vpudom, through its source's sync operations, on
 *	map, unmap and at the explicit sync points
 * @VPUDOM_MAINT_EXPORTER: the dma-buf's exporter (DMA_BUF_IOCTL_SYNC)
 */
enum vpudom_maint {
	VPUDOM_MAINT_NONE,
	VPUDOM_MAINT_VPUDOM,
	VPUDOM_MAINT_EXPORTER,
};

struct vpudom_mapping;

/**
 * struct vpudom_source_ops - a memory source, as the mapping engine sees it
 * @kind: which source it is
 * @release: give back the memory of a mapping that no device can reach
 *	any more (NULL: nothing to give back).  Called without any lock of
 *	vpudom held: it may take an mmap_lock or a reservation lock.
 * @sync_for_device: write back the CPU caches over [@offset, @offset +
 *	@length) of a mapping's &vpudom_mapping.sgt, through the DMA API of
 *	@dev, before the
 *	device reads or writes it (NULL: someone else maintains the memory,
 *	as a dma-buf's exporter does).  Takes no lock.
 * @sync_for_cpu: invalidate the CPU caches over that range through @dev,
 *	after the device wrote it; NULL exactly when @sync_for_device is.
 *
 * A source fills in a mapping's &vpudom_mapping.sgt (or hands the engine
 * the caller's sg_table) and sets &vpudom_mapping.src once it holds the
 * memory; the engine calls back only through these operations.  The
 * engine calls the sync operations only for a mapping it maintains
 * (&vpudom_mapping.maintained): on map, on unmap and at the explicit sync
 * points.
 */
struct vpudom_source_ops {
	enum vpudom_source kind;
	void (*release)(struct vpudom_mapping *m);
	int (*sync_for_device)(struct vpudom_mapping *m, struct device *dev,
			       u64 offset, u64 length);
	int (*sync_for_cpu)(struct vpudom_mapping *m, struct device *dev,
			    u64 offset, u64 length);
};

extern const struct vpudom_source_ops vpudom_source_kernel;
extern const struct vpudom_source_ops vpudom_source_user;
extern const struct vpudom_source_ops vpudom_source_dmabuf;

/**
 * enum vpudom_mapping_state - where a mapping is in its life
 * @VPUDOM_MAPPING_RESERVED: its IOVA is taken in every tree of its blocks,
 *	and its domains are being mapped, outside the context locks
 * @VPUDOM_MAPPING_LIVE: mapped; the only state unmaps, syncs and debugfs
 *	see
 * @VPUDOM_MAPPING_DYING: an unmap took it; its domains are being
 *	unmapped outside the context locks, and its IOVA stays taken until
 *	their IOTLBs are synced
 *
 * The IOMMU calls run without the context locks (the io-pgtable formats
 * take concurrent changes of disjoint ranges, as the DMA API relies on),
 * so that two threads can map into one block at once.  The instance lock
 * is held for read throughout, so a revoke never meets the two passing
 * states.
 */
enum vpudom_mapping_state {
	VPUDOM_MAPPING_RESERVED,
	VPUDOM_MAPPING_LIVE,
	VPUDOM_MAPPING_DYING,
};

/**
 * struct vpudom_mapping - one buffer mapped into one or more contexts at
 *	one IOVA: the mapping engine's record, all a kernel mapping has
 * @iova: first IOVA
 * @size: length in bytes
 * @blocks: mask of the contexts it is mapped into
 * @src: the source of its memory; NULL until the source holds it
 * @owner: the session that may see and unmap it (NULL: the kernel)
 * @kbuf: the handle of the in-kernel API the mapping was made through; it
 *	holds a reference on it, so that what the handle owns outlives the
 *	mapping.  NULL for a session's mapping and one made by
 *	vpudom_map_sgtable()
 * @id: number unique to the mapping for the module's lifetime, so that a
 *	rollback finds this mapping and not one made later at its IOVA
 * @dead_node: entry in the list of mappings an unmap is taking down
 * @sgt: what is mapped: CPU pages.  User and dma-buf mappings own it; a
 *	kernel mapping holds a copy of the caller's sg_table head, whose
 *	scatterlist the caller keeps until it unmaps
 * @prot: IOMMU_READ / IOMMU_WRITE, and IOMMU_CACHE when every context of
 *	@blocks is coherent (set by the engine when it maps)
 * @stuck: the blocks whose IOMMU did not unmap all of it: their IOVAs are
 *	retired, and its memory is never released
 * @maintained: the mapping is non-cacheable and vpudom maintains the CPU
 *	caches for it through its source's sync operations (set by the
 *	engine when it maps)
 * @session: the record is the @m of a &struct vpudom_smapping
 * @state: where it is in its life, &enum vpudom_mapping_state; changed
 *	under the locks of all of @blocks
 *
 * Records come from the engine's own slab caches (vpudom_mapping_alloc(),
 * vpudom_smapping_alloc()): 96 bytes for a kernel mapping on every kernel,
 * where a kmalloc of the old single record took 192.
 */
struct vpudom_mapping {
	u64 iova;
	u64 size;
	unsigned long blocks;
	const struct vpudom_source_ops *src;
	struct vpudom_session *owner;
	struct vpudom_buf *kbuf;
	u64 id;
	struct list_head dead_node;
	struct sg_table sgt;
	int prot;
	u8 stuck;
	bool maintained;
	bool session;
	u8 state;
};

/**
 * struct vpudom_smapping - a session's mapping: the engine's record and
 *	what only a session's mapping has
 * @m: the engine's record; @m.owner is the session
 * @acct: the user it is charged to (reference held)
 * @pid: thread group of the task that made it
 * @comm: its command name
 * @user: the pinned pages of a user mapping
 * @user.pages: the pages, pinned; @user.one for a one-page mapping
 * @user.npages: how many
 * @user.charged: pages charged to @acct's locked_vm
 * @user.dirty: the device may have written them
 * @user.one: the page of a one-page mapping
 * @user.sg: the scatterlist of a one-page mapping, which @m.sgt then
 *	points at: a one-page mapping allocates neither array
 * @dmabuf: the dma-buf of a dma-buf mapping
 * @dmabuf.att: the session's attachment to it (reference held)
 */
struct vpudom_smapping {
	struct vpudom_mapping m;
	struct vpudom_user *acct;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	union {
		struct {
			struct page **pages;
			unsigned long npages;
			unsigned long charged;
			bool dirty;
			struct page *one;
			struct scatterlist sg;
		} user;
		struct {
			struct vpudom_dmabuf_att *att;
		} dmabuf;
	};
};

static inline struct vpudom_smapping *
to_smapping(const struct vpudom_mapping *m)
{
	WARN_ON_ONCE(!m->session);
	return container_of(m, struct vpudom_smapping, m);
}

/* core.c: instances */
extern struct mutex vpudom_instances_lock;
extern struct dentry *vpudom_debugfs_root;

/* core.c */
const char *vpudom_hole_name(enum vpudom_hole_kind kind);

/* map.c: the mapping engine */
int vpudom_mapping_caches_init(void);
void vpudom_mapping_caches_exit(void);
struct vpudom_mapping *vpudom_mapping_alloc(void);
struct vpudom_smapping *vpudom_smapping_alloc(void);
void vpudom_lock_blocks(struct vpudom *vd, unsigned long blocks);
void vpudom_unlock_blocks(struct vpudom *vd, unsigned long blocks);
unsigned long vpudom_all_blocks(struct vpudom *vd);
u64 vpudom_mapping_iova_bytes(const struct vpudom_mapping *m);
int vpudom_check_fixed(struct vpudom *vd, unsigned long blocks, u64 iova,
		       u64 length);
int vpudom_get_alive(struct vpudom *vd);
int vpudom_map(struct vpudom *vd, struct vpudom_mapping *m,
	       struct sg_table *sgt, bool fixed, u64 *iova);
s64 vpudom_unmap_range(struct vpudom *vd, unsigned int block, u64 iova,
		       u64 length, struct vpudom_session *owner);
s64 vpudom_unmap_owner(struct vpudom *vd, struct vpudom_session *owner);
int vpudom_sync_range(struct vpudom *vd, unsigned int block, u64 iova,
		      u64 length, struct vpudom_session *owner, bool for_cpu);
s64 vpudom_unmap_id(struct vpudom *vd, unsigned long blocks, u64 iova,
		    struct vpudom_session *owner, u64 id);
void vpudom_revoke_locked(struct vpudom *vd, struct list_head *dead);
void vpudom_release_mappings(struct vpudom *vd, struct list_head *dead);
void vpudom_mapping_release(struct vpudom_mapping *m);
const char *vpudom_source_name(const struct vpudom_mapping *m);
int vpudom_maint_kind(const struct vpudom_mapping *m);

/* cache.c: CPU cache maintenance of CPU pages for non-coherent streams */
int vpudom_cache_sync_for_device(struct vpudom_mapping *m, struct device *dev,
				 u64 offset, u64 length);
int vpudom_cache_sync_for_cpu(struct vpudom_mapping *m, struct device *dev,
			      u64 offset, u64 length);

/* fault_report.c: IOMMU faults of the streams */
int vpudom_fault_handler(struct iommu_domain *domain, struct device *dev,
			 unsigned long iova, int flags, void *token);
void vpudom_fault_work(struct work_struct *work);

/* account.c */
struct vpudom_user *vpudom_user_charge(u64 bytes);
void vpudom_user_uncharge(struct vpudom_user *u, u64 bytes);
int vpudom_user_charge_pinned(struct vpudom_user *u, unsigned long npages,
			      unsigned long *charged);
void vpudom_user_uncharge_pinned(struct vpudom_user *u,
				 unsigned long charged);
void vpudom_account_debugfs_init(struct dentry *root);

/* ioctl.c: the ioctl layer */
int vpudom_cdev_register(struct vpudom *vd);
void vpudom_cdev_unregister(struct vpudom *vd);

/* user.c: the user memory source */
int vpudom_user_pin(struct vpudom_mapping *m, u64 uaddr, u64 length,
		    bool write);

/* dmabuf.c: the dma-buf source */
int vpudom_dmabuf_import(struct vpudom_session *s, struct vpudom_mapping *m,
			 int fd, u64 offset, u64 length);
int vpudom_dmabuf_sgt(struct sg_table *dma, u64 offset, u64 length,
		      struct sg_table *out);
const struct bus_dma_region *vpudom_dma_shift(struct device *dev);
bool vpudom_dma_is_phys(struct device *dev);

/* fault_inject.c: fault points for fault-injection tests */
#ifdef CONFIG_FAULT_INJECTION
bool vpudom_should_fail_pin(void);
bool vpudom_should_fail_map(void);
bool vpudom_should_fail_unmap(void);
void vpudom_fault_debugfs_init(struct dentry *root);
#else
static inline bool vpudom_should_fail_pin(void)
{
	return false;
}

static inline bool vpudom_should_fail_map(void)
{
	return false;
}

static inline bool vpudom_should_fail_unmap(void)
{
	return false;
}

static inline void vpudom_fault_debugfs_init(struct dentry *root)
{
}
#endif

/* debugfs.c */
void vpudom_debugfs_add(struct vpudom *vd);
void vpudom_debugfs_remove(struct vpudom *vd);

/* of.c */
int vpudom_of_register(void);
void vpudom_of_unregister(void);

#endif /* _VPUDOM_PRIV_H */
