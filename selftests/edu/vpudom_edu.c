// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only: QEMU's edu PCI devices as the blocks of a VPU.
 *
 * Each edu has its own requester ID and so its own SMMU stream.  Three of
 * them become a test VPU with the reference windows (and a kernel-only
 * range in block1), assembled through vpudom's in-kernel API exactly as a
 * real frontend would.  debugfs
 * vpudom_edu/copy then makes a block's device copy between two IOVAs
 * through its 4 KiB device buffer: real DMA through the real SMMU model.
 *
 *   echo "copy <block> <src iova> <dst iova> <len>" > .../vpudom_edu/copy
 *   echo "fetch <block> <src iova> <len>" > .../vpudom_edu/copy
 *
 * A request outside the device buffer is refused, never passed on: the
 * emulated device aborts QEMU on one.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/iopoll.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>
#include <linux/vpudom.h>

#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_CNT		0x90
#define EDU_DMA_CMD		0x98
#define EDU_CMD_START		BIT(0)
#define EDU_CMD_TO_RAM		BIT(1)
#define EDU_BUF_ADDR		0x40000
#define EDU_BUF_SIZE		SZ_4K
/*
 * QEMU 7.2's edu takes a transfer that ends exactly at the end of its
 * buffer for one that overflows it, and aborts: one byte less is the most.
 */
#define EDU_MAX_LEN		(EDU_BUF_SIZE - 1)
#define EDU_NR_BLOCKS		3

/* Kept for the kernel, to prove that sessions stay out of it. */
static const struct vpudom_range edu_kernel_only = {
	2048ULL * SZ_1M, 2112ULL * SZ_1M - 1
};

static const struct vpudom_block_desc edu_blocks[EDU_NR_BLOCKS] = {
	{ .name = "block0", .window = { 600 * SZ_1M, 3500ULL * SZ_1M - 1 } },
	{ .name = "block1", .window = { 0, 3500ULL * SZ_1M - 1 },
	  .kernel_only = &edu_kernel_only },
	{ .name = "block2", .window = { SZ_16M, 600 * SZ_1M - 1 } },
};

static const struct vpudom_hw_desc edu_hw = {
	.name = "edu-vpu",
	.blocks = edu_blocks,
	.nr_blocks = EDU_NR_BLOCKS,
};

/**
 * struct edu_vpu - the test VPU
 * @lock: protects everything below and serialises device copies
 * @pdev: the VPU device (it has no IOMMU, as a real VPU parent)
 * @edu: the devices, in probe order: block n is @edu[n]
 * @bar: their registers
 * @nr: devices bound
 * @vd: the vpudom instance once all blocks are bound
 * @dir: debugfs directory
 */
static struct edu_vpu {
	struct mutex lock; /* see above */
	struct platform_device *pdev;
	struct pci_dev *edu[EDU_NR_BLOCKS];
	void __iomem *bar[EDU_NR_BLOCKS];
	unsigned int nr;
	struct vpudom *vd;
	struct dentry *dir;
} edu_vpu = {
	.lock = __MUTEX_INITIALIZER(edu_vpu.lock),
};

/* One transfer; the device raises no error, a fault just moves nothing. */
static int edu_dma(void __iomem *bar, u64 src, u64 dst, u64 len, u32 cmd)
{
	u64 busy;

	writeq(src, bar + EDU_DMA_SRC);
	writeq(dst, bar + EDU_DMA_DST);
	writeq(len, bar + EDU_DMA_CNT);
	writeq(cmd | EDU_CMD_START, bar + EDU_DMA_CMD);
	/* The device completes a transfer about 100 ms later. */
	return readq_poll_timeout(bar + EDU_DMA_CMD, busy,
				  !(busy & EDU_CMD_START), 1000, 2000000);
}

static ssize_t edu_copy_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	unsigned int block;
	u64 src, dst = 0, len;
	char buf[96], op[8];
	void __iomem *bar;
	int n, ret;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = 0;
	n = sscanf(buf, "%7s %u %llx %llx %llx", op, &block, &src, &dst, &len);
	if (n == 4 && !strcmp(op, "fetch")) {
		len = dst;
		dst = 0;
	} else if (n != 5 || strcmp(op, "copy")) {
		return -EINVAL;
	}
	if (!len || len > EDU_MAX_LEN || block >= EDU_NR_BLOCKS)
		return -EINVAL;

	mutex_lock(&edu_vpu.lock);
	if (!edu_vpu.vd) {
		ret = -ENODEV;
		goto unlock;
	}
	bar = edu_vpu.bar[block];
	ret = edu_dma(bar, src, EDU_BUF_ADDR, len, 0);
	if (!ret && !strcmp(op, "copy"))
		ret = edu_dma(bar, EDU_BUF_ADDR, dst, len, EDU_CMD_TO_RAM);
unlock:
	mutex_unlock(&edu_vpu.lock);
	return ret ?: count;
}

static const struct file_operations edu_copy_fops = {
	.owner = THIS_MODULE,
	.write = edu_copy_write,
	.llseek = noop_llseek,
};

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vpudom *vd;
	unsigned int i;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), "vpudom_edu");
	if (ret)
		return ret;
	pci_set_master(pdev);

	mutex_lock(&edu_vpu.lock);
	if (edu_vpu.nr == EDU_NR_BLOCKS) {
		ret = -EBUSY;
		goto unlock;
	}
	edu_vpu.edu[edu_vpu.nr] = pdev;
	edu_vpu.bar[edu_vpu.nr] = pcim_iomap_table(pdev)[0];
	edu_vpu.nr++;
	if (edu_vpu.nr < EDU_NR_BLOCKS)
		goto unlock;

	vd = vpudom_create(&edu_vpu.pdev->dev, &edu_hw);
	if (IS_ERR(vd)) {
		ret = PTR_ERR(vd);
		goto forget;
	}
	for (i = 0; i < EDU_NR_BLOCKS && !ret; i++)
		ret = vpudom_add_block(vd, i, &edu_vpu.edu[i]->dev);
	if (!ret)
		ret = vpudom_register(vd);
	if (ret) {
		vpudom_unregister(vd);
		goto forget;
	}
	edu_vpu.vd = vd;
	goto unlock;

forget:
	edu_vpu.nr--;
unlock:
	mutex_unlock(&edu_vpu.lock);
	return ret;
}

static void edu_remove(struct pci_dev *pdev)
{
	unsigned int i, j;

	mutex_lock(&edu_vpu.lock);
	/* Any block going takes the whole VPU down. */
	if (edu_vpu.vd) {
		vpudom_unregister(edu_vpu.vd);
		edu_vpu.vd = NULL;
	}
	for (i = 0; i < edu_vpu.nr; i++) {
		if (edu_vpu.edu[i] != pdev)
			continue;
		for (j = i; j + 1 < edu_vpu.nr; j++) {
			edu_vpu.edu[j] = edu_vpu.edu[j + 1];
			edu_vpu.bar[j] = edu_vpu.bar[j + 1];
		}
		edu_vpu.nr--;
		break;
	}
	mutex_unlock(&edu_vpu.lock);
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = "vpudom_edu",
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
	/* vpudom gives each device its own domain. */
	.driver_managed_dma = true,
};

static int __init edu_init(void)
{
	int ret;

	edu_vpu.pdev = platform_device_register_simple("vpudom-edu-vpu", -1,
						       NULL, 0);
	if (IS_ERR(edu_vpu.pdev))
		return PTR_ERR(edu_vpu.pdev);
	edu_vpu.dir = debugfs_create_dir("vpudom_edu", NULL);
	debugfs_create_file("copy", 0200, edu_vpu.dir, NULL, &edu_copy_fops);
	ret = pci_register_driver(&edu_driver);
	if (ret) {
		debugfs_remove_recursive(edu_vpu.dir);
		platform_device_unregister(edu_vpu.pdev);
	}
	return ret;
}
module_init(edu_init);

static void __exit edu_exit(void)
{
	pci_unregister_driver(&edu_driver);
	debugfs_remove_recursive(edu_vpu.dir);
	platform_device_unregister(edu_vpu.pdev);
}
module_exit(edu_exit);

MODULE_DESCRIPTION("Test-only: QEMU edu devices as the blocks of a vpudom VPU");
MODULE_LICENSE("GPL");
