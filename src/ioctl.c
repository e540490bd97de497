// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ioctl layer: /dev/vpudom<N>, one per instance.  Each open file is a
 * session that owns its mappings.  This file decodes every ioctl (the
 * table, indexed by command number and checked at build time, as iommufd
 * does; see include/uapi/linux/vpudom.h for the format and the errno
 * table), validates its arguments, makes the mapping object, has a memory
 * source fill it (user.c, dmabuf.c) and hands it to the mapping engine
 * (map.c).  Nothing below calls back into this file.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/iommu.h>
#include <uapi/linux/vpudom.h>

#include "vpudom_priv.h"

/**
 * struct vpudom_ucmd - one ioctl call
 * @s: the session
 * @ubuffer: the caller's struct
 * @user_size: its size as the caller knows it
 * @cmd: the kernel's copy
 * @size: the size of the kernel's struct
 */
struct vpudom_ucmd {
	struct vpudom_session *s;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
	u32 size;
};

static unsigned int max_mappings = 65536;
module_param(max_mappings, uint, 0644);
MODULE_PARM_DESC(max_mappings,
		 "Most mappings one open file may hold (default 65536)");

/* Numbers of session mappings; 64 bits never wrap. */
static atomic64_t vpudom_mapping_ids = ATOMIC64_INIT(0);

static unsigned long max_map_bytes = SZ_1G;
module_param(max_map_bytes, ulong, 0644);
MODULE_PARM_DESC(max_map_bytes,
		 "Longest single mapping user space may make, in bytes (default 1 GiB)");

/* Copy the kernel's struct back, as much of it as the caller knows. */
static int vpudom_respond(struct vpudom_ucmd *ucmd)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min(ucmd->user_size, ucmd->size)))
		return -EFAULT;
	return 0;
}

/**
 * vpudom_session_map() - map a session's mapping and tell the caller
 * @ucmd: the call; its struct has an @iova field, at @iova
 * @m: the mapping, its memory acquired; released here on failure
 * @fixed: map at @m->iova
 * @iova: the struct's @iova field, set to the IOVA used
 *
 * A mapping the caller cannot learn the IOVA of is unmapped again: that
 * mapping only, found by its id.
 *
 * Return: 0, the error of vpudom_map(), or -EFAULT.
 */
static long vpudom_session_map(struct vpudom_ucmd *ucmd,
			       struct vpudom_mapping *m, bool fixed, u64 *iova)
{
	unsigned long blocks = m->blocks;
	u64 id = m->id;
	int ret;

	ret = vpudom_map(ucmd->s->vd, m, &m->sgt, fixed, iova);
	if (ret) {
		vpudom_mapping_release(m);
		return ret;
	}
	/*
	 * From here on @m may be gone: another thread may have unmapped it,
	 * and mapped something else at its IOVA, which must stay.
	 */
	if (!vpudom_respond(ucmd))
		return 0;
	vpudom_unmap_id(ucmd->s->vd, blocks, *iova, ucmd->s, id);
	return -EFAULT;
}

/**
 * vpudom_check_map_args() - the checks every map ioctl starts with
 * @vd: the instance
 * @flags: enum vpudom_map_flags
 * @blocks: block mask
 * @iova: the fixed IOVA, if VPUDOM_MAP_FIXED_IOVA
 * @length: length
 *
 * Ranges only: nothing is looked up or acquired yet.  A fixed IOVA is
 * checked against the hardware windows here, before memory is pinned.
 *
 * Return: 0, -EOPNOTSUPP, -EINVAL, -EOVERFLOW, -EFBIG (@length over
 * max_map_bytes), -ERANGE or -EACCES (see vpudom_check_fixed()).
 */
static int vpudom_check_map_args(struct vpudom *vd, u32 flags, u64 blocks,
				 u64 iova, u64 length)
{
	if (flags & ~(VPUDOM_MAP_READ | VPUDOM_MAP_WRITE |
		      VPUDOM_MAP_FIXED_IOVA))
		return -EOPNOTSUPP;
	if (!(flags & (VPUDOM_MAP_READ | VPUDOM_MAP_WRITE)) || !length ||
	    !PAGE_ALIGNED(length))
		return -EINVAL;
	if (flags & VPUDOM_MAP_FIXED_IOVA) {
		if (!PAGE_ALIGNED(iova))
			return -EINVAL;
		if (iova + length - 1 < iova)
			return -EOVERFLOW;
	}
	if (!blocks || blocks & ~(u64)vpudom_all_blocks(vd))
		return -EINVAL;
	if (length > READ_ONCE(max_map_bytes))
		return -EFBIG;
	if (flags & VPUDOM_MAP_FIXED_IOVA)
		return vpudom_check_fixed(vd, blocks, iova, length);
	return 0;
}

/**
 * vpudom_session_mapping_new() - a mapping object for a session
 * @s: the session
 * @flags: enum vpudom_map_flags
 * @blocks: block mask
 * @iova: the fixed IOVA, if VPUDOM_MAP_FIXED_IOVA
 * @length: length
 *
 * Counts against the session's max_mappings, and is charged to the
 * current user (vpudom_user_charge()), until released with
 * vpudom_mapping_release().
 *
 * Return: the mapping, ERR_PTR(-EMFILE), ERR_PTR(-EDQUOT) or
 * ERR_PTR(-ENOMEM).
 */
static struct vpudom_mapping *
vpudom_session_mapping_new(struct vpudom_session *s, u32 flags, u64 blocks,
			   u64 iova, u64 length)
{
	struct vpudom_smapping *sm;
	struct vpudom_mapping *m;
	struct vpudom_user *u;
	u64 bytes;
	int ret;

	if (check_mul_overflow(length, (u64)hweight64(blocks), &bytes))
		return ERR_PTR(-EDQUOT);
	if (atomic_inc_return(&s->nr_mappings) > max_mappings) {
		ret = -EMFILE;
		goto uncount;
	}
	u = vpudom_user_charge(bytes);
	if (IS_ERR(u)) {
		ret = PTR_ERR(u);
		goto uncount;
	}
	sm = vpudom_smapping_alloc();
	if (!sm) {
		ret = -ENOMEM;
		goto uncharge;
	}
	sm->acct = u;
	sm->pid = task_tgid_nr(current);
	get_task_comm(sm->comm, current);
	m = &sm->m;
	m->owner = s;
	m->id = atomic64_inc_return(&vpudom_mapping_ids);
	m->blocks = blocks;
	m->size = length;
	m->iova = iova;
	m->prot = (flags & VPUDOM_MAP_READ ? IOMMU_READ : 0) |
		  (flags & VPUDOM_MAP_WRITE ? IOMMU_WRITE : 0);
	return m;

uncharge:
	vpudom_user_uncharge(u, bytes);
uncount:
	atomic_dec(&s->nr_mappings);
	return ERR_PTR(ret);
}

/*
 * ioctl(VPUDOM_INFO).  The answer is gathered under the instance lock and
 * copied out after it is dropped: a copy to user memory can wait forever on
 * a fault (userfaultfd, FUSE), and must not hold up unbind meanwhile.
 */
static long vpudom_ioctl_info(struct vpudom_ucmd *ucmd)
{
	struct vpudom_block_info bi[VPUDOM_MAX_BLOCKS] = {};
	struct vpudom_info *cmd = ucmd->cmd;
	struct vpudom *vd = ucmd->s->vd;
	unsigned int i, n = vd->hw.nr_blocks;
	int ret;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	/* The instance's own: the device reference and the description copy. */
	strscpy(cmd->out_device, dev_name(vd->dev), sizeof(cmd->out_device));
	strscpy(cmd->out_hardware, vd->hw.name, sizeof(cmd->out_hardware));
	if (cmd->num_blocks < n) {
		cmd->num_blocks = n;
		return vpudom_respond(ucmd) ?: -EMSGSIZE;
	}
	ret = vpudom_get_alive(vd);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		struct vpudom_ctx *ctx = vd->ctx[i];

		strscpy(bi[i].name, ctx->desc->name, sizeof(bi[i].name));
		bi[i].index = i;
		bi[i].sid = ctx->sid;
		bi[i].window_start = ctx->desc->window.start;
		bi[i].window_last = ctx->desc->window.last;
		bi[i].pgsize_bitmap = ctx->pgsize_bitmap;
	}
	up_read(&vd->rwsem);
	if (copy_to_user(u64_to_user_ptr(cmd->blocks_uptr), bi,
			 array_size(n, sizeof(bi[0]))))
		return -EFAULT;
	cmd->num_blocks = n;
	return vpudom_respond(ucmd);
}

/*
 * The usable ranges of @ctx as a session sees them: without the kernel-only
 * range, which may split one of them in two.  @out holds
 * VPUDOM_MAX_RANGES + 1 entries.
 */
static unsigned int vpudom_user_ranges(struct vpudom_ctx *ctx,
				       struct vpudom_range *out)
{
	const struct vpudom_range *k = &ctx->iova.kernel_only;
	unsigned int i, n = 0;

	for (i = 0; i < ctx->nr_usable; i++) {
		const struct vpudom_range *u = &ctx->usable[i];

		if (!ctx->iova.has_kernel_only || u->last < k->start ||
		    u->start > k->last) {
			out[n++] = *u;
			continue;
		}
		if (u->start < k->start) {
			out[n].start = u->start;
			out[n++].last = k->start - 1;
		}
		if (u->last > k->last) {
			out[n].start = k->last + 1;
			out[n++].last = u->last;
		}
	}
	return n;
}

/* ioctl(VPUDOM_IOVA_RANGES); copies out unlocked, as INFO does. */
static long vpudom_ioctl_iova_ranges(struct vpudom_ucmd *ucmd)
{
	struct vpudom_range ranges[VPUDOM_MAX_RANGES + 1];
	struct vpudom_iova_range r[VPUDOM_MAX_RANGES + 1];
	struct vpudom_iova_ranges *cmd = ucmd->cmd;
	struct vpudom *vd = ucmd->s->vd;
	unsigned int i, n;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->block >= vd->hw.nr_blocks)
		return -EINVAL;
	ret = vpudom_get_alive(vd);
	if (ret)
		return ret;
	n = vpudom_user_ranges(vd->ctx[cmd->block], ranges);
	up_read(&vd->rwsem);
	if (cmd->num_ranges < n) {
		cmd->num_ranges = n;
		return vpudom_respond(ucmd) ?: -EMSGSIZE;
	}
	for (i = 0; i < n; i++) {
		r[i].start = ranges[i].start;
		r[i].last = ranges[i].last;
	}
	if (copy_to_user(u64_to_user_ptr(cmd->ranges_uptr), r,
			 array_size(n, sizeof(r[0]))))
		return -EFAULT;
	cmd->num_ranges = n;
	return vpudom_respond(ucmd);
}

/* ioctl(VPUDOM_MAP_USER) */
static long vpudom_ioctl_map_user(struct vpudom_ucmd *ucmd)
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

/* ioctl(VPUDOM_MAP_DMABUF) */
static long vpudom_ioctl_map_dmabuf(struct vpudom_ucmd *ucmd)
{
	struct vpudom_map_dmabuf *cmd = ucmd->cmd;
	struct vpudom_session *s = ucmd->s;
	bool fixed = cmd->flags & VPUDOM_MAP_FIXED_IOVA;
	struct vpudom_mapping *m;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ret = vpudom_check_map_args(s->vd, cmd->flags, cmd->blocks, cmd->iova,
				    cmd->length);
	if (ret)
		return ret;
	if (!PAGE_ALIGNED(cmd->offset))
		return -EINVAL;
	if (cmd->offset + cmd->length - 1 < cmd->offset)
		return -EOVERFLOW;

	m = vpudom_session_mapping_new(s, cmd->flags, cmd->blocks,
				       cmd->iova, cmd->length);
	if (IS_ERR(m))
		return PTR_ERR(m);
	ret = vpudom_dmabuf_import(s, m, cmd->fd, cmd->offset, cmd->length);
	if (ret) {
		vpudom_mapping_release(m);
		return ret;
	}
	return vpudom_session_map(ucmd, m, fixed, &cmd->iova);
}

/* ioctl(VPUDOM_UNMAP) */
static long vpudom_ioctl_unmap(struct vpudom_ucmd *ucmd)
{
	struct vpudom_unmap *cmd = ucmd->cmd;
	struct vpudom_session *s = ucmd->s;
	s64 ret;

	if (cmd->flags & ~VPUDOM_UNMAP_ALL || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->flags & VPUDOM_UNMAP_ALL) {
		if (cmd->block || cmd->iova || cmd->length)
			return -EINVAL;
		ret = vpudom_unmap_owner(s->vd, s);
	} else {
		if (!cmd->length || !PAGE_ALIGNED(cmd->iova) ||
		    !PAGE_ALIGNED(cmd->length))
			return -EINVAL;
		if (cmd->iova + cmd->length - 1 < cmd->iova)
			return -EOVERFLOW;
		if (cmd->block >= s->vd->hw.nr_blocks)
			return -EINVAL;
		ret = vpudom_unmap_range(s->vd, cmd->block, cmd->iova,
					 cmd->length, s);
	}
	if (ret < 0)
		return ret;
	cmd->length = ret;
	return vpudom_respond(ucmd);
}

/* ioctl(VPUDOM_SYNC) */
static long vpudom_ioctl_sync(struct vpudom_ucmd *ucmd)
{
	struct vpudom_sync *cmd = ucmd->cmd;
	struct vpudom_session *s = ucmd->s;

	if (cmd->flags & ~(VPUDOM_SYNC_BEGIN_CPU | VPUDOM_SYNC_END_CPU) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	if (hweight32(cmd->flags) != 1 || !cmd->length ||
	    !PAGE_ALIGNED(cmd->iova) || !PAGE_ALIGNED(cmd->length))
		return -EINVAL;
	if (cmd->iova + cmd->length - 1 < cmd->iova)
		return -EOVERFLOW;
	if (cmd->block >= s->vd->hw.nr_blocks)
		return -EINVAL;
	return vpudom_sync_range(s->vd, cmd->block, cmd->iova, cmd->length, s,
				 cmd->flags & VPUDOM_SYNC_BEGIN_CPU);
}

union vpudom_ucmd_buffer {
	struct vpudom_info info;
	struct vpudom_iova_ranges iova_ranges;
	struct vpudom_map_user map_user;
	struct vpudom_map_dmabuf map_dmabuf;
	struct vpudom_unmap unmap;
	struct vpudom_sync sync;
};

/**
 * struct vpudom_ioctl_op - one entry of the ioctl table
 * @size: size of the kernel's struct
 * @min_size: size of its first version, up to its last mandatory field
 * @execute: the handler
 *
 * Every ioctl of vpudom is _IO(VPUDOM_TYPE, nr), its size in the struct:
 * the entry at nr - VPUDOM_CMD_BASE is the whole of its description.
 */
struct vpudom_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	long (*execute)(struct vpudom_ucmd *ucmd);
};

/*
 * An entry sits at its command number, so the table cannot get out of
 * order; the build fails if the struct does not fit the union the ioctl is
 * copied into.
 */
#define VPUDOM_IOCTL_OP(_ioctl, _fn, _struct, _last)			\
	[_IOC_NR(_ioctl) - VPUDOM_CMD_BASE] = {				\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union vpudom_ucmd_buffer) < \
					  sizeof(_struct)),		\
		.min_size = offsetofend(_struct, _last),		\
		.execute = _fn,						\
	}

static const struct vpudom_ioctl_op vpudom_ioctl_ops[] = {
	VPUDOM_IOCTL_OP(VPUDOM_INFO, vpudom_ioctl_info, struct vpudom_info,
			blocks_uptr),
	VPUDOM_IOCTL_OP(VPUDOM_IOVA_RANGES, vpudom_ioctl_iova_ranges,
			struct vpudom_iova_ranges, ranges_uptr),
	VPUDOM_IOCTL_OP(VPUDOM_MAP_USER, vpudom_ioctl_map_user,
			struct vpudom_map_user, iova),
	VPUDOM_IOCTL_OP(VPUDOM_MAP_DMABUF, vpudom_ioctl_map_dmabuf,
			struct vpudom_map_dmabuf, iova),
	VPUDOM_IOCTL_OP(VPUDOM_UNMAP, vpudom_ioctl_unmap, struct vpudom_unmap,
			length),
	VPUDOM_IOCTL_OP(VPUDOM_SYNC, vpudom_ioctl_sync, struct vpudom_sync,
			length),
};

static long vpudom_fops_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	struct vpudom_session *s = filp->private_data;
	const struct vpudom_ioctl_op *op;
	union vpudom_ucmd_buffer buf;
	struct vpudom_ucmd ucmd = {
		.s = s,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (nr < VPUDOM_CMD_BASE ||
	    nr - VPUDOM_CMD_BASE >= ARRAY_SIZE(vpudom_ioctl_ops))
		return -ENOTTY;
	op = &vpudom_ioctl_ops[nr - VPUDOM_CMD_BASE];
	/* A gap in the table, or another type, size or direction. */
	if (!op->execute || cmd != _IO(VPUDOM_TYPE, nr))
		return -ENOTTY;
	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	ucmd.size = op->size;
	ret = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;
	/* A hint only: every handler checks again under the instance lock. */
	if (READ_ONCE(s->vd->dead))
		return -ENODEV;
	return op->execute(&ucmd);
}

static int vpudom_fops_open(struct inode *inode, struct file *filp)
{
	struct vpudom *vd = container_of(filp->private_data, struct vpudom,
					 misc);
	struct vpudom_session *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	/* misc_open() holds misc_mtx: vd cannot be unregistered meanwhile. */
	kref_get(&vd->kref);
	s->vd = vd;
	atomic_set(&s->nr_mappings, 0);
	mutex_init(&s->lock);
	INIT_LIST_HEAD(&s->dmabufs);
	filp->private_data = s;
	return stream_open(inode, filp);
}

static int vpudom_fops_release(struct inode *inode, struct file *filp)
{
	struct vpudom_session *s = filp->private_data;

	/*
	 * -ENODEV: the instance is gone, and its mappings out of every page
	 * table; but the unbind may still be releasing them, unlocked, and
	 * they point at @s until then.
	 */
	vpudom_unmap_owner(s->vd, s);
	wait_var_event(&s->nr_mappings, !atomic_read(&s->nr_mappings));
	WARN_ON_ONCE(!list_empty(&s->dmabufs));
	mutex_destroy(&s->lock);
	vpudom_put(s->vd);
	kfree(s);
	return 0;
}

static const struct file_operations vpudom_fops = {
	.owner = THIS_MODULE,
	.open = vpudom_fops_open,
	.release = vpudom_fops_release,
	.unlocked_ioctl = vpudom_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	/* No .llseek: stream_open() at open makes the file unseekable. */
};

/**
 * vpudom_cdev_register() - create /dev/vpudom<N> for an instance
 * @vd: the instance, with every block present
 *
 * Return: 0 or the error of misc_register().
 */
int vpudom_cdev_register(struct vpudom *vd)
{
	vd->misc.minor = MISC_DYNAMIC_MINOR;
	vd->misc.name = vd->name;
	vd->misc.fops = &vpudom_fops;
	vd->misc.parent = vd->dev;
	return misc_register(&vd->misc);
}

/**
 * vpudom_cdev_unregister() - remove /dev/vpudom<N>
 * @vd: the instance
 *
 * Open files keep their sessions (and a reference on @vd) until closed.
 */
void vpudom_cdev_unregister(struct vpudom *vd)
{
	misc_deregister(&vd->misc);
}
