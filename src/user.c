// SPDX-License-Identifier: GPL-2.0-only
/*
 * The user memory source: pages of a process, pinned with FOLL_LONGTERM
 * for as long as they are mapped, and charged to the locked_vm of the user
 * who mapped them against RLIMIT_MEMLOCK, as iommufd and io_uring do
 * (CAP_IPC_LOCK lifts the limit): the pins belong to the file, which
 * outlives the process, its mm and exec(), and may be passed on.  Pages
 * are pinned writable only when the device may write them, and then only
 * anonymous, shmem and hugetlbfs memory: the device must not write the
 * page cache of a file behind its filesystem's back.  Before 6.2, a
 * read-only pin of private writable memory breaks copy-on-write first, so
 * that the device reads the page the process goes on writing.
 */
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <uapi/linux/vpudom.h>

#include "compat.h"
#include "vpudom_priv.h"

/* Pages pinned per hold of the mmap_lock. */
#define VPUDOM_PIN_BATCH	512UL

/*
 * Whether the memory of @vma may be pinned for the device: for writing,
 * a shared mapping must be of shmem (tmpfs, memfd, SysV shm) or hugetlbfs;
 * a private mapping of a file is copied on write into anonymous memory.
 */
static bool vpudom_vma_pinnable(struct vm_area_struct *vma, bool write)
{
	if (!write || !(vma->vm_flags & VM_SHARED) || !vma->vm_file)
		return true;
	return shmem_file(vma->vm_file) || is_vm_hugetlb_page(vma);
}

/*
 * Whether a pin of @vma with @gup must break copy-on-write first: a
 * read-only pin of a private mapping the process can write, on kernels
 * whose read-only long-term pins may keep a page the process then copies
 * away from.  Pinning for write breaks COW; the device still only reads.
 */
static bool vpudom_vma_cow_break(struct vm_area_struct *vma, unsigned int gup)
{
	return !VPUDOM_RO_LONGTERM_PIN_RELIABLE && !(gup & FOLL_WRITE) &&
	       !(vma->vm_flags & VM_SHARED) && (vma->vm_flags & VM_WRITE);
}

/*
 * Pin up to @npages pages at @uaddr, after checking under the same hold of
 * the mmap_lock that every VMA they are in may be pinned.  A batch stops
 * where the VMAs change between needing a COW break and not.
 *
 * Return: pages pinned (at least 1), or -errno.
 */
static long vpudom_pin_batch(struct mm_struct *mm, unsigned long uaddr,
			     unsigned long npages, unsigned int gup,
			     struct page **pages)
{
	unsigned long addr = uaddr, end = uaddr + npages * PAGE_SIZE;
	struct vm_area_struct *vma;
	bool cow = false;
	long n;

	mmap_read_lock(mm);
	while (addr < end) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr ||
		    !vpudom_vma_pinnable(vma, gup & FOLL_WRITE)) {
			n = -EFAULT;
			goto unlock;
		}
		if (addr == uaddr) {
			cow = vpudom_vma_cow_break(vma, gup);
		} else if (vpudom_vma_cow_break(vma, gup) != cow) {
			npages = (addr - uaddr) >> PAGE_SHIFT;
			break;
		}
		addr = vma->vm_end;
	}
	n = vpudom_pin_user_pages(uaddr, npages, gup | (cow ? FOLL_WRITE : 0),
				  pages);
	if (!n)
		n = -EFAULT;
unlock:
	mmap_read_unlock(mm);
	return n;
}

/**
 * vpudom_user_pin() - pin user memory for a mapping
 * @m: the mapping, charged to its user; on success its @sgt and @user are
 *	filled in
 * @uaddr: page-aligned start in the current process
 * @length: page-aligned length, at most max_map_bytes
 * @write: the device may write the memory
 *
 * The pages are charged first, then the page array is allocated, then the
 * memory is pinned in batches.
 *
 * Return: 0; -ENOMEM if out of memory or over RLIMIT_MEMLOCK; -EFAULT if
 * the range is not entirely mapped, or @write and it is read-only or a
 * shared mapping of a file other than shmem and hugetlbfs; -EINTR if a
 * fatal signal came.  On failure nothing stays pinned or charged.
 */
int vpudom_user_pin(struct vpudom_mapping *m, u64 uaddr, u64 length,
		    bool write)
{
	unsigned int gup = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	struct vpudom_smapping *sm = to_smapping(m);
	unsigned long npages = length >> PAGE_SHIFT, done = 0, charged;
	struct mm_struct *mm = current->mm;
	struct page **pages;
	long n;
	int ret;

	ret = vpudom_user_charge_pinned(sm->acct, npages, &charged);
	if (ret)
		return ret;
	/* Most mappings of a decoder are one page: no arrays for those. */
	if (npages == 1)
		pages = &sm->user.one;
	else
		pages = kvmalloc_array(npages, sizeof(*pages),
				       GFP_KERNEL_ACCOUNT);
	if (!pages) {
		ret = -ENOMEM;
		goto uncharge;
	}
	if (vpudom_should_fail_pin()) {
		ret = -ENOMEM;
		goto unpin;
	}
	while (done < npages) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto unpin;
		}
		n = vpudom_pin_batch(mm, uaddr + done * PAGE_SIZE,
				     min(npages - done, VPUDOM_PIN_BATCH), gup,
				     pages + done);
		if (n < 0) {
			ret = n;
			goto unpin;
		}
		done += n;
		cond_resched();
	}
	if (npages == 1) {
		sg_init_table(&sm->user.sg, 1);
		sg_set_page(&sm->user.sg, pages[0], PAGE_SIZE, 0);
		m->sgt.sgl = &sm->user.sg;
		m->sgt.nents = 1;
		m->sgt.orig_nents = 1;
	} else {
		ret = sg_alloc_table_from_pages(&m->sgt, pages, npages, 0,
						length, GFP_KERNEL_ACCOUNT);
		if (ret)
			goto unpin;
	}

	sm->user.pages = pages;
	sm->user.npages = npages;
	sm->user.charged = charged;
	sm->user.dirty = write;
	m->src = &vpudom_source_user;
	return 0;

unpin:
	unpin_user_pages(pages, done);
	if (pages != &sm->user.one)
		kvfree(pages);
uncharge:
	vpudom_user_uncharge_pinned(sm->acct, charged);
	return ret;
}

/* Unpin and uncharge the memory of a mapping no device can reach. */
static void vpudom_user_release(struct vpudom_mapping *m)
{
	struct vpudom_smapping *sm = to_smapping(m);

	if (m->sgt.sgl != &sm->user.sg)
		sg_free_table(&m->sgt);
	unpin_user_pages_dirty_lock(sm->user.pages, sm->user.npages,
				    sm->user.dirty);
	vpudom_user_uncharge_pinned(sm->acct, sm->user.charged);
	if (sm->user.pages != &sm->user.one)
		kvfree(sm->user.pages);
}

/* Pinned pages are CPU pages: vpudom maintains them for its devices. */
const struct vpudom_source_ops vpudom_source_user = {
	.kind = VPUDOM_SRC_USER,
	.release = vpudom_user_release,
	.sync_for_device = vpudom_cache_sync_for_device,
	.sync_for_cpu = vpudom_cache_sync_for_cpu,
};
