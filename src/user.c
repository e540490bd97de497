// SPDX-License-Identifier: GPL-2.0-only
/*
 * User memory: pinned with FOLL_LONGTERM for as long as it is mapped, and
 * charged to the process's RLIMIT_MEMLOCK as VFIO type1 does (CAP_IPC_LOCK
 * lifts the limit).  Pages are pinned writable only when the device may
 * write them.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <uapi/linux/vpudom.h>

#include "vpudom.h"

/* Pin in chunks: pin_user_pages_fast() takes an int count. */
#define VPUDOM_PIN_CHUNK	BIT(20)

/**
 * vpudom_user_pin() - pin user memory for a mapping
 * @m: the mapping; on success its @sgt and @user are filled in
 * @uaddr: page-aligned start in the current process
 * @length: page-aligned length
 * @write: the device may write the memory
 *
 * Return: 0; -ENOMEM if out of memory or over RLIMIT_MEMLOCK; -EFAULT if
 * the range is not entirely mapped, or not writable and @write.  On failure
 * nothing stays pinned or charged.
 */
int vpudom_user_pin(struct vpudom_mapping *m, u64 uaddr, u64 length,
		    bool write)
{
	unsigned int gup = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	unsigned long npages = length >> PAGE_SHIFT, done = 0;
	struct mm_struct *mm = current->mm;
	struct page **pages;
	long n;
	int ret;

	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return -ENOMEM;
	ret = account_locked_vm(mm, npages, true);
	if (ret)
		goto free_pages;
	if (vpudom_should_fail_pin()) {
		ret = -ENOMEM;
		goto unpin;
	}
	while (done < npages) {
		n = pin_user_pages_fast(uaddr + done * PAGE_SIZE,
					min(npages - done, VPUDOM_PIN_CHUNK),
					gup, pages + done);
		if (n <= 0) {
			ret = n ?: -EFAULT;
			goto unpin;
		}
		done += n;
	}
	ret = sg_alloc_table_from_pages(&m->sgt, pages, npages, 0, length,
					GFP_KERNEL_ACCOUNT);
	if (ret)
		goto unpin;

	mmgrab(mm);
	m->user.mm = mm;
	m->user.pages = pages;
	m->user.npages = npages;
	m->user.dirty = write;
	m->source = VPUDOM_SRC_USER;
	return 0;

unpin:
	unpin_user_pages(pages, done);
	account_locked_vm(mm, npages, false);
free_pages:
	kvfree(pages);
	return ret;
}

/**
 * vpudom_user_release() - unpin and uncharge the memory of a user mapping
 * @m: the mapping, no longer reachable by any device
 */
void vpudom_user_release(struct vpudom_mapping *m)
{
	sg_free_table(&m->sgt);
	unpin_user_pages_dirty_lock(m->user.pages, m->user.npages,
				    m->user.dirty);
	account_locked_vm(m->user.mm, m->user.npages, false);
	mmdrop(m->user.mm);
	kvfree(m->user.pages);
}

/* ioctl(VPUDOM_MAP_USER) */
long vpudom_ioctl_map_user(struct vpudom_ucmd *ucmd)
{
	struct vpudom_map_user *cmd = ucmd->cmd;
	bool fixed = cmd->flags & VPUDOM_MAP_FIXED_IOVA;
	struct vpudom_session *s = ucmd->s;
	struct vpudom_mapping *m;
	int ret;

	ret = vpudom_check_map_args(s->vd, cmd->flags, cmd->blocks, cmd->iova,
				    cmd->length);
	if (ret)
		return ret;
	if (!PAGE_ALIGNED(cmd->user_va))
		return -EINVAL;
	if (cmd->user_va + cmd->length - 1 < cmd->user_va)
		return -EOVERFLOW;

	m = vpudom_session_mapping_new(s, cmd->flags, cmd->blocks,
				       cmd->iova, cmd->length);
	if (IS_ERR(m))
		return PTR_ERR(m);
	ret = vpudom_user_pin(m, cmd->user_va, cmd->length,
			      cmd->flags & VPUDOM_MAP_WRITE);
	if (ret) {
		vpudom_mapping_release(m);
		return ret;
	}
	return vpudom_session_map(ucmd, m, fixed, &cmd->iova);
}
