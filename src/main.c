// SPDX-License-Identifier: GPL-2.0-only
/*
 * vpudom - per-stream IOMMU domains for VPUs whose IOVA selects the stream
 */
#include <linux/debugfs.h>
#include <linux/module.h>

#include "vpudom_priv.h"

static int __init vpudom_init(void)
{
	int ret;

	ret = vpudom_mapping_caches_init();
	if (ret)
		return ret;
	vpudom_debugfs_root = debugfs_create_dir("vpudom", NULL);
	vpudom_fault_debugfs_init(vpudom_debugfs_root);
	vpudom_account_debugfs_init(vpudom_debugfs_root);
	ret = vpudom_of_register();
	if (ret)
		goto remove_debugfs;
	return 0;

remove_debugfs:
	debugfs_remove_recursive(vpudom_debugfs_root);
	vpudom_mapping_caches_exit();
	return ret;
}
module_init(vpudom_init);

static void __exit vpudom_exit(void)
{
	vpudom_of_unregister();
	debugfs_remove_recursive(vpudom_debugfs_root);
	vpudom_mapping_caches_exit();
}
module_exit(vpudom_exit);

MODULE_DESCRIPTION("Per-stream IOMMU domains for VPUs whose IOVA selects the stream");
MODULE_AUTHOR("vpudom developers");
MODULE_LICENSE("GPL");
