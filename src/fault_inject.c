// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection: fault points for fault-injection tests, built only with
 * CONFIG_FAULT_INJECTION: one before pinning user memory, one before each
 * iommu_map.  They take part in fail-nth (/proc/<pid>/task/<tid>/fail-nth)
 * like failslab does, and can be driven by probability through
 * debugfs vpudom/fail_pin and vpudom/fail_map.  A third, vpudom/fail_unmap,
 * makes an unmap leave a mapping's pages in the page table, as a short
 * iommu_unmap() would.
 */
#include <linux/fault-inject.h>
#include <linux/sched.h>

#include "vpudom_priv.h"

static DECLARE_FAULT_ATTR(vpudom_fail_pin);
static DECLARE_FAULT_ATTR(vpudom_fail_map);
static DECLARE_FAULT_ATTR(vpudom_fail_unmap);

bool vpudom_should_fail_pin(void)
{
	return should_fail(&vpudom_fail_pin, 1);
}

bool vpudom_should_fail_map(void)
{
	return should_fail(&vpudom_fail_map, 1);
}

/*
 * Never through fail-nth: a short unmap leaks the mapping's memory on
 * purpose, which the fail-nth sweeps would rightly take for a leak.
 */
bool vpudom_should_fail_unmap(void)
{
	if (current->fail_nth)
		return false;
	return should_fail(&vpudom_fail_unmap, 1);
}

void vpudom_fault_debugfs_init(struct dentry *root)
{
	fault_create_debugfs_attr("fail_pin", root, &vpudom_fail_pin);
	fault_create_debugfs_attr("fail_map", root, &vpudom_fail_map);
	fault_create_debugfs_attr("fail_unmap", root, &vpudom_fail_unmap);
}
