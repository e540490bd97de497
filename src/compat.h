/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Differences between the kernels vpudom builds against, in one place.
 * Each shim names the upstream change it covers.  `make check` compiles
 * every branch: the 6.1 side with Debian 12's 6.1, the newer side with the
 * 6.12 LTS and Debian 13's 7.x (the 6.13 namespace change only with 7.x).
 */
#ifndef _VPUDOM_COMPAT_H
#define _VPUDOM_COMPAT_H

#include <linux/err.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/platform_device.h>
#include <linux/sched/user.h>
#include <linux/version.h>

/*
 * The one place vpudom tests the kernel version: no feature macro exists
 * for any change below.
 */
#define VPUDOM_KERNEL_SINCE(a, b, c)	(KERNEL_VERSION(a, b, c) <= LINUX_VERSION_CODE)

/*
 * 6.11, "iommu: Add iommu_paging_domain_alloc() interface": domains are
 * allocated for a device and failures come back as ERR_PTR; 6.13,
 * "iommu: Remove iommu_domain_alloc()", drops the per-bus call.
 */
static inline struct iommu_domain *vpudom_domain_alloc(struct device *dev)
{
#if VPUDOM_KERNEL_SINCE(6, 11, 0)
	return iommu_paging_domain_alloc(dev);
#else
	struct iommu_domain *domain = iommu_domain_alloc(dev->bus);

	return domain ?: ERR_PTR(-ENOMEM);
#endif
}

/*
 * 6.3, "iommu: Add a gfp parameter to iommu_map()" and "iommu: Add a gfp
 * parameter to iommu_map_sg()": the caller says how page tables are
 * allocated.  vpudom always maps from process context.
 */
static inline int vpudom_iommu_map(struct iommu_domain *domain, u64 iova,
				   phys_addr_t paddr, size_t size, int prot)
{
#if VPUDOM_KERNEL_SINCE(6, 3, 0)
	return iommu_map(domain, iova, paddr, size, prot, GFP_KERNEL);
#else
	return iommu_map(domain, iova, paddr, size, prot);
#endif
}

static inline ssize_t vpudom_iommu_map_sg(struct iommu_domain *domain,
					  u64 iova, struct scatterlist *sg,
					  unsigned int nents, int prot)
{
#if VPUDOM_KERNEL_SINCE(6, 3, 0)
	return iommu_map_sg(domain, iova, sg, nents, prot, GFP_KERNEL);
#else
	return iommu_map_sg(domain, iova, sg, nents, prot);
#endif
}

/*
 * 6.11, "platform: Make platform_driver::remove() return void": before it,
 * .remove returns int (6.3-6.10 also offer .remove_new; the int callback,
 * which every kernel before 6.11 has, serves them all).  Drivers write a
 * void remove function and name it with VPUDOM_PLATFORM_REMOVE();
 * VPUDOM_REMOVE_WRAPPER() wraps it where an int is wanted and expands to
 * nothing elsewhere.
 */
#if VPUDOM_KERNEL_SINCE(6, 11, 0)
#define VPUDOM_PLATFORM_REMOVE(fn)	.remove = fn
#define VPUDOM_REMOVE_WRAPPER(fn)
#else
#define VPUDOM_PLATFORM_REMOVE(fn)	.remove = fn##_int
#define VPUDOM_REMOVE_WRAPPER(fn)					\
	static int fn##_int(struct platform_device *pdev)		\
	{								\
		fn(pdev);						\
		return 0;						\
	}
#endif

/*
 * 6.2, "dma-buf: Move dma_buf_map_attachment() to dynamic locking
 * specification": an importer that does not hold the reservation lock
 * calls the _unlocked variants.
 */
#if VPUDOM_KERNEL_SINCE(6, 2, 0)
#define vpudom_dma_buf_map_attachment	dma_buf_map_attachment_unlocked
#define vpudom_dma_buf_unmap_attachment	dma_buf_unmap_attachment_unlocked
#else
#define vpudom_dma_buf_map_attachment	dma_buf_map_attachment
#define vpudom_dma_buf_unmap_attachment	dma_buf_unmap_attachment
#endif

/*
 * A feature test, not a version: struct user_struct has its locked_vm, the
 * RLIMIT_MEMLOCK count io_uring, iommufd, VFIO, AF_XDP and secretmem share,
 * only when one of them is built (the condition of include/linux/sched/
 * user.h on 6.1 to 7.x; a tinyconfig debug kernel has none).  Without it
 * nothing else charges a user's pins, and vpudom's own per-user count is
 * the whole of them: NULL tells the caller to use it.
 */
#if defined(CONFIG_NET) || defined(CONFIG_IO_URING) || \
	defined(CONFIG_VFIO_PCI_ZDEV_KVM) || IS_ENABLED(CONFIG_IOMMUFD) || \
	defined(CONFIG_SECRETMEM)
static inline atomic_long_t *vpudom_user_locked_vm(struct user_struct *user)
{
	return &user->locked_vm;
}
#else
static inline atomic_long_t *vpudom_user_locked_vm(struct user_struct *user)
{
	return NULL;
}
#endif

/*
 * 6.5, "mm/gup: remove vmas parameter from pin_user_pages()": the caller,
 * holding the mmap_lock, no longer passes an array for the VMAs.
 */
static inline long vpudom_pin_user_pages(unsigned long start,
					 unsigned long nr_pages,
					 unsigned int gup_flags,
					 struct page **pages)
{
#if VPUDOM_KERNEL_SINCE(6, 5, 0)
	return pin_user_pages(start, nr_pages, gup_flags, pages);
#else
	return pin_user_pages(start, nr_pages, gup_flags, pages, NULL);
#endif
}

/*
 * 6.2, "mm/gup: reliable R/O long-term pinning in COW mappings": before it,
 * a read-only FOLL_LONGTERM pin of a private writable mapping may pin a
 * page the process later replaces by copy-on-write (the shared zero page of
 * untouched memory, a file's page-cache page), and the device goes on
 * reading the old page.  Such pins must break COW first.
 */
#define VPUDOM_RO_LONGTERM_PIN_RELIABLE	VPUDOM_KERNEL_SINCE(6, 2, 0)

/*
 * 6.13, "module: Convert symbol namespace to string literal": namespaces
 * are named by strings.
 */
#if VPUDOM_KERNEL_SINCE(6, 13, 0)
#define VPUDOM_IMPORT_NS_DMA_BUF	MODULE_IMPORT_NS("DMA_BUF")
#else
#define VPUDOM_IMPORT_NS_DMA_BUF	MODULE_IMPORT_NS(DMA_BUF)
#endif

#endif /* _VPUDOM_COMPAT_H */
