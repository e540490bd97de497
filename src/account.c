// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-user accounting of what sessions hold.  Every mapping made through
 * /dev/vpudom<N> is charged to the user who made it, across every instance,
 * session, process and mm of that user: its count and its IOVA bytes
 * against the max_user_mappings and max_user_bytes limits, and the pages a
 * user mapping pins against RLIMIT_MEMLOCK in the user's locked_vm, the
 * counter io_uring, iommufd and VFIO charge too.  A forked child, an exec()
 * or an fd passed to another process starts from the same totals.  Kernel
 * mappings are not charged.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>

#include "compat.h"
#include "vpudom_priv.h"

static unsigned int max_user_mappings = 65536;
module_param(max_user_mappings, uint, 0644);
MODULE_PARM_DESC(max_user_mappings,
		 "Most mappings one user may hold through every session (default 65536)");

static unsigned long max_user_bytes = SZ_2G;
module_param(max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes,
		 "Most IOVA bytes one user may hold, counted in each block a mapping is in (default 2 GiB)");

/* Users with anything charged, by uid; both under vpudom_users_lock. */
static DEFINE_MUTEX(vpudom_users_lock);
static DEFINE_XARRAY(vpudom_users);

/* The user of the current task, with a reference; NULL if out of memory. */
static struct vpudom_user *vpudom_user_get(void)
{
	struct user_struct *user = current_user();
	unsigned long key = __kuid_val(user->uid);
	struct vpudom_user *u;

	mutex_lock(&vpudom_users_lock);
	u = xa_load(&vpudom_users, key);
	if (u) {
		u->refs++;
		goto unlock;
	}
	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	if (!u)
		goto unlock;
	u->uid = user->uid;
	u->user = get_uid(user);
	u->refs = 1;
	if (xa_err(xa_store(&vpudom_users, key, u, GFP_KERNEL_ACCOUNT))) {
		free_uid(u->user);
		kfree(u);
		u = NULL;
	}
unlock:
	mutex_unlock(&vpudom_users_lock);
	return u;
}

static void vpudom_user_put(struct vpudom_user *u)
{
	struct user_struct *user = NULL;

	mutex_lock(&vpudom_users_lock);
	if (!--u->refs) {
		xa_erase(&vpudom_users, __kuid_val(u->uid));
		user = u->user;
		WARN_ON_ONCE(atomic_long_read(&u->nr_mappings) ||
			     atomic64_read(&u->bytes) ||
			     atomic_long_read(&u->pinned));
		kfree(u);
	}
	mutex_unlock(&vpudom_users_lock);
	if (user)
		free_uid(user);
}

/**
 * vpudom_user_charge() - charge one more mapping to the current user
 * @bytes: IOVA bytes it takes, summed over its blocks
 *
 * Return: the user, with a reference for the mapping; ERR_PTR(-EDQUOT) if
 * the user would hold more than max_user_mappings mappings or
 * max_user_bytes bytes; ERR_PTR(-ENOMEM).
 */
struct vpudom_user *vpudom_user_charge(u64 bytes)
{
	struct vpudom_user *u;

	if (bytes > max_user_bytes)
		return ERR_PTR(-EDQUOT);
	u = vpudom_user_get();
	if (!u)
		return ERR_PTR(-ENOMEM);
	if (atomic_long_inc_return(&u->nr_mappings) > max_user_mappings)
		goto uncharge_mapping;
	if (atomic64_add_return(bytes, &u->bytes) > max_user_bytes)
		goto uncharge_bytes;
	return u;

uncharge_bytes:
	atomic64_sub(bytes, &u->bytes);
uncharge_mapping:
	atomic_long_dec(&u->nr_mappings);
	vpudom_user_put(u);
	return ERR_PTR(-EDQUOT);
}

/**
 * vpudom_user_uncharge() - undo vpudom_user_charge()
 * @u: the user
 * @bytes: as charged
 */
void vpudom_user_uncharge(struct vpudom_user *u, u64 bytes)
{
	atomic64_sub(bytes, &u->bytes);
	atomic_long_dec(&u->nr_mappings);
	vpudom_user_put(u);
}

/**
 * vpudom_user_charge_pinned() - charge pinned pages to RLIMIT_MEMLOCK
 * @u: the user of the mapping
 * @npages: pages about to be pinned
 * @charged: set to the pages charged, to give to
 *	vpudom_user_uncharge_pinned()
 *
 * The pages go to @u's locked_vm, unless the caller has CAP_IPC_LOCK
 * (nothing is charged then, as iommufd and io_uring do).  A kernel built
 * without any other user of locked_vm has no such counter: there the
 * user's own count here is the total.
 *
 * Return: 0, or -ENOMEM if the user's locked_vm would exceed the caller's
 * RLIMIT_MEMLOCK (nothing charged then).
 */
int vpudom_user_charge_pinned(struct vpudom_user *u, unsigned long npages,
			      unsigned long *charged)
{
	atomic_long_t *locked_vm = vpudom_user_locked_vm(u->user);
	unsigned long limit, cur;

	*charged = 0;
	if (capable(CAP_IPC_LOCK))
		return 0;
	if (!locked_vm)
		locked_vm = &u->pinned;
	limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(locked_vm);
	do {
		if (npages > limit || cur > limit - npages)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(locked_vm, &cur, cur + npages));
	if (locked_vm != &u->pinned)
		atomic_long_add(npages, &u->pinned);
	*charged = npages;
	return 0;
}

/**
 * vpudom_user_uncharge_pinned() - undo vpudom_user_charge_pinned()
 * @u: the user
 * @charged: the pages it charged
 */
void vpudom_user_uncharge_pinned(struct vpudom_user *u, unsigned long charged)
{
	atomic_long_t *locked_vm = vpudom_user_locked_vm(u->user);

	atomic_long_sub(charged, &u->pinned);
	if (locked_vm)
		atomic_long_sub(charged, locked_vm);
}

static int users_show(struct seq_file *s, void *unused)
{
	struct vpudom_user *u;
	unsigned long key;

	seq_puts(s, "uid        mappings   bytes                pinned\n");
	mutex_lock(&vpudom_users_lock);
	xa_for_each(&vpudom_users, key, u)
		seq_printf(s, "%-10u %-10ld %-20lld %ld\n",
			   from_kuid_munged(&init_user_ns, u->uid),
			   atomic_long_read(&u->nr_mappings),
			   (long long)atomic64_read(&u->bytes),
			   atomic_long_read(&u->pinned));
	mutex_unlock(&vpudom_users_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(users);

/**
 * vpudom_account_debugfs_init() - create vpudom/users
 * @root: the vpudom debugfs directory
 */
void vpudom_account_debugfs_init(struct dentry *root)
{
	debugfs_create_file("users", 0444, root, NULL, &users_fops);
}
