// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only: a consumer of vpudom's in-kernel API, as the V4L2 driver of a
 * VPU would be.  The module creates a platform device and binds its driver
 * to it; the probe looks the reference VPU up with devm_of_vpudom_get()
 * (device links to the VPU and its contexts) and loads "firmware" into a
 * buffer vpudom_buf_alloc() maps at a fixed IOVA; the remove frees it and
 * records whether the instance was still there.
 *
 * debugfs vpudom_consumer/run takes the name of a test and fails the write
 * with the first unexpected result (logged):
 *
 *   sgt      map a kernel sg_table through a handle, unmap by handle
 *   alloc    allocate and map, fixed IOVAs and their conflicts
 *   dmabuf   dma-bufs of an exporter of the test's own: attached by
 *            vpudom, or by the consumer (as vb2 does) and mapped by DMA
 *            address; a device whose addresses may be bounced, an
 *            exporter whose addresses are not RAM
 *   hold     take the instance without a device link and map a handle
 *            of every kind, for "after"
 *   after    once the instance was revoked: every call says -ENODEV,
 *            and freeing the held handles frees what they hold
 *
 * vpudom_consumer/status shows the driver's state and the exporter's live
 * attachments and buffers.
 */
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/vpudom.h>

#include "compat.h"

VPUDOM_IMPORT_NS_DMA_BUF;

#define CONS_NAME		"vpudom-test-consumer"
/* Block 0 of the reference VPU: IOVAs 0x25800000-0xdabfffff. */
#define CONS_FW_IOVA		0x30000000ULL
#define CONS_FW_SIZE		SZ_64K
#define CONS_ALLOC_IOVA		0x31000000ULL
#define CONS_HOLD_IOVA		0x32000000ULL
/* Block 1's MSI hole, a reserved region of the SMMUv3. */
#define CONS_MSI_IOVA		0x08000000ULL
/* Not RAM on QEMU virt: the PL011's registers. */
#define CONS_NOT_RAM		0x09000000ULL
#define CONS_PAGES		4

/* The test's own dma-buf exporter. */
static atomic_t cons_attachments = ATOMIC_INIT(0);
static atomic_t cons_buffers = ATOMIC_INIT(0);

/**
 * struct cons_exp - a buffer of the test exporter
 * @pages: its pages
 * @bogus: map it at an address that is not RAM
 */
struct cons_exp {
	struct page *pages[CONS_PAGES];
	bool bogus;
};

static int cons_exp_attach(struct dma_buf *dmabuf,
			   struct dma_buf_attachment *attach)
{
	atomic_inc(&cons_attachments);
	return 0;
}

static void cons_exp_detach(struct dma_buf *dmabuf,
			    struct dma_buf_attachment *attach)
{
	atomic_dec(&cons_attachments);
}

static struct sg_table *cons_exp_map(struct dma_buf_attachment *attach,
				     enum dma_data_direction dir)
{
	struct cons_exp *e = attach->dmabuf->priv;
	struct sg_table *sgt;
	int ret;

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table_from_pages(sgt, e->pages, CONS_PAGES, 0,
					CONS_PAGES * PAGE_SIZE, GFP_KERNEL);
	if (ret)
		goto free;
	if (e->bogus) {
		sg_dma_address(sgt->sgl) = CONS_NOT_RAM;
		sg_dma_len(sgt->sgl) = CONS_PAGES * PAGE_SIZE;
		sgt->nents = 1;
		return sgt;
	}
	ret = dma_map_sgtable(attach->dev, sgt, dir, 0);
	if (ret)
		goto free_table;
	return sgt;

free_table:
	sg_free_table(sgt);
free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void cons_exp_unmap(struct dma_buf_attachment *attach,
			   struct sg_table *sgt, enum dma_data_direction dir)
{
	struct cons_exp *e = attach->dmabuf->priv;

	if (!e->bogus)
		dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(sgt);
}

static void cons_exp_release(struct dma_buf *dmabuf)
{
	struct cons_exp *e = dmabuf->priv;
	unsigned int i;

	for (i = 0; i < CONS_PAGES; i++)
		__free_page(e->pages[i]);
	kfree(e);
	atomic_dec(&cons_buffers);
}

static const struct dma_buf_ops cons_exp_ops = {
	.attach = cons_exp_attach,
	.detach = cons_exp_detach,
	.map_dma_buf = cons_exp_map,
	.unmap_dma_buf = cons_exp_unmap,
	.release = cons_exp_release,
};

static struct dma_buf *cons_exp_new(bool bogus)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *dmabuf;
	struct cons_exp *e;
	unsigned int i;

	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return ERR_PTR(-ENOMEM);
	e->bogus = bogus;
	for (i = 0; i < CONS_PAGES; i++) {
		e->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!e->pages[i])
			goto free;
	}
	info.ops = &cons_exp_ops;
	info.size = CONS_PAGES * PAGE_SIZE;
	info.flags = O_RDWR;
	info.priv = e;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		i = CONS_PAGES;
		goto free;
	}
	atomic_inc(&cons_buffers);
	return dmabuf;

free:
	while (i--)
		__free_page(e->pages[i]);
	kfree(e);
	return ERR_PTR(-ENOMEM);
}

/**
 * struct cons_state - the consumer
 * @lock: protects everything below and serialises the tests
 * @pdev: the consumer's device
 * @vd: the instance while the driver is bound (devm)
 * @fw: its firmware buffer while bound
 * @probes: successful probes
 * @removes: removes
 * @remove_ret: what freeing the firmware returned in the last remove
 * @held_vd: the instance "hold" took without a device link
 * @held: the handles "hold" made: sg_table, alloc, dma-buf, attachment
 * @held_pages: the pages of the sg_table handle
 * @held_sgt: that sg_table
 * @held_dmabuf: the dma-buf of the dma-buf and attachment handles
 * @held_attach: the consumer's own attachment to it
 * @held_att_sgt: its mapping
 * @dir: the debugfs directory
 */
static struct cons_state {
	struct mutex lock; /* see above */
	struct platform_device *pdev;
	struct vpudom *vd;
	struct vpudom_buf *fw;
	unsigned int probes;
	unsigned int removes;
	int remove_ret;
	struct vpudom *held_vd;
	struct vpudom_buf *held[4];
	struct page *held_pages[CONS_PAGES];
	struct sg_table held_sgt;
	struct dma_buf *held_dmabuf;
	struct dma_buf_attachment *held_attach;
	struct sg_table *held_att_sgt;
	struct dentry *dir;
} cons = {
	.lock = __MUTEX_INITIALIZER(cons.lock),
	.remove_ret = 1,
};

/* Whether @cond holds; if not, log where, what was expected and what came. */
#define EXPECT(cond, fmt, ...)						\
	cons_report(!!(cond), __func__, __LINE__, fmt, ##__VA_ARGS__)

static __printf(4, 5) bool cons_report(bool ok, const char *fn, int line,
				       const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (ok)
		return true;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("vpudom_consumer: %s:%d: %pV\n", fn, line, &vaf);
	va_end(args);
	return false;
}

/* A handle's result: the error it carries, 0 for a handle. */
static long cons_err(struct vpudom_buf *buf)
{
	return IS_ERR(buf) ? PTR_ERR(buf) : 0;
}

/*
 * Whether a map failed with ERR_PTR(@err); a handle that came instead is
 * freed.
 */
static bool cons_expect_err(struct vpudom_buf *buf, long err, int line)
{
	if (cons_err(buf) == err)
		return true;
	pr_err("vpudom_consumer: line %d: expected %ld, got %ld\n", line, err,
	       cons_err(buf));
	if (!IS_ERR(buf))
		vpudom_buf_free(buf);
	return false;
}

#define EXPECT_ERR(expr, err)	cons_expect_err(expr, err, __LINE__)

/* Every page of @pages, in order, is what @block translates from @iova. */
static int cons_check_phys(struct vpudom *vd, unsigned int block, u64 iova,
			   struct page **pages, unsigned int n)
{
	phys_addr_t phys;
	unsigned int i;

	for (i = 0; i < n; i++) {
		phys = vpudom_iova_to_phys(vd, block, iova + i * PAGE_SIZE);
		if (!EXPECT(phys == page_to_phys(pages[i]),
			    "block %u iova %#llx: %pa, not page %u", block,
			    iova + i * PAGE_SIZE, &phys, i))
			return -EBADE;
	}
	return 0;
}

static void cons_free_pages(struct page **pages, unsigned int n)
{
	while (n--) {
		if (pages[n])
			__free_page(pages[n]);
		pages[n] = NULL;
	}
}

static int cons_alloc_pages(struct page **pages, unsigned int n,
			    struct sg_table *sgt)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!pages[i]) {
			cons_free_pages(pages, i);
			return -ENOMEM;
		}
	}
	ret = sg_alloc_table_from_pages(sgt, pages, n, 0, n * PAGE_SIZE,
					GFP_KERNEL);
	if (ret)
		cons_free_pages(pages, n);
	return ret;
}

static int cons_test_sgt_on(struct vpudom *vd, struct page **pages,
			    struct sg_table *sgt)
{
	const u64 size = CONS_PAGES * PAGE_SIZE;
	struct vpudom_buf *buf;
	u64 iova;
	int ret;

	buf = vpudom_buf_map_sgtable(vd, BIT(2), sgt, IOMMU_READ | IOMMU_WRITE,
				     0, 0);
	if (!EXPECT(!IS_ERR(buf), "map: %ld", cons_err(buf)))
		return -EBADE;
	iova = vpudom_buf_iova(buf);
	ret = cons_check_phys(vd, 2, iova, pages, CONS_PAGES);
	if (ret || vpudom_buf_size(buf) != size || iova < SZ_16M ||
	    iova + size > 600ULL * SZ_1M || vpudom_buf_vaddr(buf)) {
		pr_err("vpudom_consumer: handle at %#llx+%#llx in block2\n",
		       iova, vpudom_buf_size(buf));
		vpudom_buf_free(buf);
		return -EBADE;
	}
	if (!EXPECT(vpudom_buf_free(buf) == 0, "free"))
		return -EBADE;
	if (!EXPECT(!vpudom_iova_to_phys(vd, 2, iova), "still mapped after free"))
		return -EBADE;
	if (!EXPECT(vpudom_unmap(vd, 2, iova, size) == -ENOENT,
		    "range unmap after free"))
		return -EBADE;

	/* Two blocks at one IOVA, both gone with the handle. */
	buf = vpudom_buf_map_sgtable(vd, BIT(1) | BIT(2), sgt, IOMMU_READ, 0, 0);
	if (!EXPECT(!IS_ERR(buf), "map into two blocks: %ld", cons_err(buf)))
		return -EBADE;
	iova = vpudom_buf_iova(buf);
	ret = cons_check_phys(vd, 1, iova, pages, CONS_PAGES) ?:
	      cons_check_phys(vd, 2, iova, pages, CONS_PAGES);
	if (!EXPECT(vpudom_buf_free(buf) == 0 && !ret, "two blocks"))
		return -EBADE;
	if (!EXPECT(!vpudom_iova_to_phys(vd, 1, iova) &&
		    !vpudom_iova_to_phys(vd, 2, iova), "two blocks: still mapped"))
		return -EBADE;

	/* A handle whose mapping went by range: freed all the same. */
	buf = vpudom_buf_map_sgtable(vd, BIT(2), sgt, IOMMU_WRITE, 0, 0);
	if (!EXPECT(!IS_ERR(buf), "map: %ld", cons_err(buf)))
		return -EBADE;
	iova = vpudom_buf_iova(buf);
	if (!EXPECT(vpudom_unmap(vd, 2, iova, size) == size, "range unmap"))
		return -EBADE;
	if (!EXPECT(vpudom_buf_free(buf) == -ENOENT, "free after range unmap"))
		return -EBADE;

	/* Bad arguments. */
	if (!EXPECT_ERR(vpudom_buf_map_sgtable(vd, BIT(2), sgt, 0, 0, 0),
			-EINVAL))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_map_sgtable(vd, 0, sgt, IOMMU_READ, 0, 0),
			-EINVAL))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_map_sgtable(vd, BIT(5), sgt, IOMMU_READ, 0,
					       0), -EINVAL))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_map_sgtable(vd, BIT(2), sgt, IOMMU_READ,
					       BIT(7), 0), -EINVAL))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_map_sgtable(vd, BIT(2), NULL, IOMMU_READ, 0,
					       0), -EINVAL))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_map_sgtable(vd, BIT(2), sgt, IOMMU_READ,
					       VPUDOM_MAP_FIXED, U64_MAX -
					       PAGE_SIZE + 1), -EINVAL))
		return -EBADE;
	if (!EXPECT(vpudom_buf_free(NULL) == 0, "free(NULL)"))
		return -EBADE;
	return 0;
}

static int cons_test_sgt(struct vpudom *vd)
{
	struct page *pages[CONS_PAGES];
	struct sg_table sgt;
	int ret;

	ret = cons_alloc_pages(pages, CONS_PAGES, &sgt);
	if (ret)
		return ret;
	ret = cons_test_sgt_on(vd, pages, &sgt);
	sg_free_table(&sgt);
	cons_free_pages(pages, CONS_PAGES);
	return ret;
}

static int cons_test_alloc(struct vpudom *vd)
{
	const int rw = IOMMU_READ | IOMMU_WRITE;
	struct vpudom_buf *buf, *fixed;
	unsigned long off;
	u8 *va;
	u64 iova;

	buf = vpudom_buf_alloc(vd, BIT(0), SZ_64K, rw, 0, 0);
	if (!EXPECT(!IS_ERR(buf), "alloc: %ld", cons_err(buf)))
		return -EBADE;
	va = vpudom_buf_vaddr(buf);
	iova = vpudom_buf_iova(buf);
	for (off = 0; off < SZ_64K; off += PAGE_SIZE) {
		if (memchr_inv(va + off, 0, PAGE_SIZE) ||
		    vpudom_iova_to_phys(vd, 0, iova + off) !=
		    page_to_phys(vmalloc_to_page(va + off))) {
			pr_err("vpudom_consumer: alloc: offset %#lx not zero or not mapped\n",
			       off);
			vpudom_buf_free(buf);
			return -EBADE;
		}
	}
	if (!EXPECT(vpudom_buf_size(buf) == SZ_64K && iova >= 600ULL * SZ_1M,
		    "alloc at %#llx+%#llx", iova, vpudom_buf_size(buf)))
		return -EBADE;
	if (!EXPECT(vpudom_buf_free(buf) == 0, "free"))
		return -EBADE;
	if (!EXPECT(!vpudom_iova_to_phys(vd, 0, iova), "still mapped"))
		return -EBADE;

	/* At a fixed IOVA, as firmware, and what conflicts with it. */
	fixed = vpudom_buf_alloc(vd, BIT(0), SZ_16K, IOMMU_READ,
				 VPUDOM_MAP_FIXED, CONS_ALLOC_IOVA);
	if (!EXPECT(!IS_ERR(fixed), "fixed: %ld", cons_err(fixed)))
		return -EBADE;
	if (!EXPECT(vpudom_buf_iova(fixed) == CONS_ALLOC_IOVA, "fixed at %#llx",
		    vpudom_buf_iova(fixed)))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_alloc(vd, BIT(0), SZ_16K, rw,
					 VPUDOM_MAP_FIXED, CONS_ALLOC_IOVA),
			-EEXIST))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_alloc(vd, BIT(0), SZ_16K, rw,
					 VPUDOM_MAP_FIXED,
					 CONS_ALLOC_IOVA - SZ_8K), -EEXIST))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_alloc(vd, BIT(1), SZ_16K, rw,
					 VPUDOM_MAP_FIXED, CONS_MSI_IOVA),
			-EADDRINUSE))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_alloc(vd, BIT(0), SZ_16K, rw,
					 VPUDOM_MAP_FIXED, SZ_16M), -ERANGE))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_alloc(vd, BIT(0), SZ_16K, rw,
					 VPUDOM_MAP_FIXED,
					 CONS_ALLOC_IOVA + SZ_1M + 0x800),
			-EINVAL))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_alloc(vd, BIT(0), 0, rw, 0, 0), -EINVAL))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_alloc(vd, BIT(0), 100, rw, 0, 0), -EINVAL))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_alloc(vd, BIT(0), SZ_16K, 0, 0, 0), -EINVAL))
		return -EBADE;
	if (!EXPECT(vpudom_buf_free(fixed) == 0, "free fixed"))
		return -EBADE;
	/* Its IOVA is free again. */
	fixed = vpudom_buf_alloc(vd, BIT(0), SZ_16K, IOMMU_READ,
				 VPUDOM_MAP_FIXED, CONS_ALLOC_IOVA);
	if (!EXPECT(!IS_ERR(fixed), "fixed again: %ld", cons_err(fixed)))
		return -EBADE;
	if (!EXPECT(vpudom_buf_free(fixed) == 0, "free fixed again"))
		return -EBADE;
	return 0;
}

/*
 * A device with a 32-bit DMA mask may be given bounce buffers: its DMA
 * addresses are not taken for the memory.
 */
static bool cons_narrow_refused(struct vpudom *vd, struct sg_table *sgt)
{
	struct platform_device *narrow;
	bool ok;

	narrow = platform_device_register_simple("vpudom-test-narrow", -1,
						 NULL, 0);
	if (IS_ERR(narrow))
		return false;
	ok = EXPECT_ERR(vpudom_buf_map_dma_sgtable(vd, BIT(1), &narrow->dev,
						   sgt, IOMMU_READ, 0, 0),
			-EINVAL);
	platform_device_unregister(narrow);
	return ok;
}

static int cons_test_dmabuf_on(struct vpudom *vd, struct dma_buf *dmabuf)
{
	struct cons_exp *e = dmabuf->priv;
	struct dma_buf_attachment *attach;
	struct vpudom_buf *buf;
	struct sg_table *sgt;
	int before, ret;

	before = atomic_read(&cons_attachments);
	/* vpudom attaches the VPU device. */
	buf = vpudom_buf_map_dmabuf(vd, BIT(2), dmabuf,
				    IOMMU_READ | IOMMU_WRITE, 0, 0);
	if (!EXPECT(!IS_ERR(buf), "map dma-buf: %ld", cons_err(buf)))
		return -EBADE;
	ret = cons_check_phys(vd, 2, vpudom_buf_iova(buf), e->pages,
			      CONS_PAGES);
	if (!ret && atomic_read(&cons_attachments) != before + 1)
		ret = -EBADE;
	if (!EXPECT(vpudom_buf_free(buf) == 0 && !ret, "dma-buf handle"))
		return -EBADE;
	if (!EXPECT(atomic_read(&cons_attachments) == before,
		    "attachment left behind"))
		return -EBADE;
	buf = vpudom_buf_map_dmabuf(vd, BIT(0), dmabuf, IOMMU_READ,
				    VPUDOM_MAP_FIXED, CONS_ALLOC_IOVA);
	if (!EXPECT(!IS_ERR(buf), "map dma-buf read-only: %ld", cons_err(buf)))
		return -EBADE;
	if (!EXPECT(vpudom_buf_iova(buf) == CONS_ALLOC_IOVA, "fixed dma-buf"))
		return -EBADE;
	if (!EXPECT(vpudom_buf_free(buf) == 0, "free read-only"))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_map_dmabuf(vd, BIT(2), NULL, IOMMU_READ, 0,
					      0), -EINVAL))
		return -EBADE;

	/* The consumer's own attachment, mapped as vb2 maps it. */
	attach = dma_buf_attach(dmabuf, &cons.pdev->dev);
	if (!EXPECT(!IS_ERR(attach), "attach: %ld", PTR_ERR(attach)))
		return -EBADE;
	sgt = vpudom_dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		dma_buf_detach(dmabuf, attach);
		pr_err("vpudom_consumer: map attachment: %ld\n", PTR_ERR(sgt));
		return -EBADE;
	}
	buf = vpudom_buf_map_dma_sgtable(vd, BIT(1), attach->dev, sgt,
					 IOMMU_READ | IOMMU_WRITE, 0, 0);
	ret = cons_err(buf);
	if (!ret) {
		ret = cons_check_phys(vd, 1, vpudom_buf_iova(buf), e->pages,
				      CONS_PAGES);
		if (vpudom_buf_free(buf))
			ret = -EBADE;
	}
	if (!ret && !cons_narrow_refused(vd, sgt))
		ret = -EBADE;
	vpudom_dma_buf_unmap_attachment(attach, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(dmabuf, attach);
	if (!EXPECT(!ret, "attachment handle: %d", ret))
		return -EBADE;
	if (!EXPECT(atomic_read(&cons_attachments) == before,
		    "attachment left behind"))
		return -EBADE;
	return 0;
}

static int cons_test_dmabuf(struct vpudom *vd)
{
	struct dma_buf *dmabuf;
	int before, ret;

	dmabuf = cons_exp_new(false);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	ret = cons_test_dmabuf_on(vd, dmabuf);
	dma_buf_put(dmabuf);
	if (ret)
		return ret;

	/* An exporter that hands out an address that is not RAM. */
	dmabuf = cons_exp_new(true);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	before = atomic_read(&cons_attachments);
	ret = 0;
	if (!EXPECT_ERR(vpudom_buf_map_dmabuf(vd, BIT(2), dmabuf, IOMMU_READ,
					      0, 0), -EREMOTEIO) ||
	    !EXPECT(atomic_read(&cons_attachments) == before,
		    "refused dma-buf left attached"))
		ret = -EBADE;
	dma_buf_put(dmabuf);
	return ret;
}

/* Any result of a free, when undoing a test that went wrong. */
#define CONS_ANY	INT_MIN

/* Undo what "hold" made; each free returns @expect. */
static int cons_release_held(int expect)
{
	int ret = 0, r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cons.held); i++) {
		r = vpudom_buf_free(cons.held[i]);
		if (cons.held[i] && expect != CONS_ANY && r != expect) {
			pr_err("vpudom_consumer: held handle %u: free returned %d, not %d\n",
			       i, r, expect);
			ret = -EBADE;
		}
		cons.held[i] = NULL;
	}
	if (cons.held_att_sgt)
		vpudom_dma_buf_unmap_attachment(cons.held_attach,
						cons.held_att_sgt,
						DMA_BIDIRECTIONAL);
	cons.held_att_sgt = NULL;
	if (cons.held_attach)
		dma_buf_detach(cons.held_dmabuf, cons.held_attach);
	cons.held_attach = NULL;
	if (cons.held_dmabuf)
		dma_buf_put(cons.held_dmabuf);
	cons.held_dmabuf = NULL;
	sg_free_table(&cons.held_sgt);
	cons_free_pages(cons.held_pages, CONS_PAGES);
	vpudom_put(cons.held_vd);
	cons.held_vd = NULL;
	return ret;
}

static struct vpudom *cons_lookup(void)
{
	struct device_node *np;
	struct vpudom *vd;

	np = of_find_compatible_node(NULL, NULL, "vpudom,ref-vpu");
	if (!np)
		return ERR_PTR(-ENODEV);
	vd = of_vpudom_get(np);
	of_node_put(np);
	return vd;
}

/* Map a handle of every kind and keep them, for "after". */
static int cons_test_hold(void)
{
	const int rw = IOMMU_READ | IOMMU_WRITE;
	struct vpudom *vd;
	unsigned int i;
	int ret;

	if (cons.held_vd)
		return -EBUSY;
	vd = cons_lookup();
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	cons.held_vd = vd;
	ret = cons_alloc_pages(cons.held_pages, CONS_PAGES, &cons.held_sgt);
	if (ret)
		goto undo;
	cons.held_dmabuf = cons_exp_new(false);
	if (IS_ERR(cons.held_dmabuf)) {
		ret = PTR_ERR(cons.held_dmabuf);
		cons.held_dmabuf = NULL;
		goto undo;
	}
	cons.held_attach = dma_buf_attach(cons.held_dmabuf, &cons.pdev->dev);
	if (IS_ERR(cons.held_attach)) {
		ret = PTR_ERR(cons.held_attach);
		cons.held_attach = NULL;
		goto undo;
	}
	cons.held_att_sgt = vpudom_dma_buf_map_attachment(cons.held_attach,
							  DMA_BIDIRECTIONAL);
	if (IS_ERR(cons.held_att_sgt)) {
		ret = PTR_ERR(cons.held_att_sgt);
		cons.held_att_sgt = NULL;
		goto undo;
	}
	cons.held[0] = vpudom_buf_map_sgtable(vd, BIT(2), &cons.held_sgt, rw,
					      0, 0);
	cons.held[1] = vpudom_buf_alloc(vd, BIT(0), SZ_16K, rw,
					VPUDOM_MAP_FIXED, CONS_HOLD_IOVA);
	cons.held[2] = vpudom_buf_map_dmabuf(vd, BIT(1), cons.held_dmabuf, rw,
					     0, 0);
	cons.held[3] = vpudom_buf_map_dma_sgtable(vd, BIT(2),
						  cons.held_attach->dev,
						  cons.held_att_sgt, rw, 0, 0);
	for (i = 0; i < ARRAY_SIZE(cons.held); i++) {
		if (IS_ERR(cons.held[i])) {
			pr_err("vpudom_consumer: hold: handle %u: %ld\n", i,
			       PTR_ERR(cons.held[i]));
			cons.held[i] = NULL;
			cons_release_held(CONS_ANY);
			return -EBADE;
		}
	}
	memset(vpudom_buf_vaddr(cons.held[1]), 0x5a, SZ_16K);
	return 0;

undo:
	cons_release_held(CONS_ANY);
	return ret;
}

/* The instance was revoked under "hold": everything says so, nothing leaks. */
static int cons_test_after(void)
{
	struct vpudom *vd = cons.held_vd;
	int before, ret;
	u64 iova = 0;
	u8 *va;

	if (!vd)
		return -ENOENT;
	before = atomic_read(&cons_attachments);
	if (!EXPECT(before == 2, "attachments held: %d", before))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_map_sgtable(vd, BIT(2), &cons.held_sgt,
					       IOMMU_READ, 0, 0), -ENODEV))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_alloc(vd, BIT(0), SZ_16K, IOMMU_READ, 0, 0),
			-ENODEV))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_map_dmabuf(vd, BIT(1), cons.held_dmabuf,
					      IOMMU_READ, 0, 0), -ENODEV))
		return -EBADE;
	if (!EXPECT_ERR(vpudom_buf_map_dma_sgtable(vd, BIT(1),
						   cons.held_attach->dev,
						   cons.held_att_sgt,
						   IOMMU_READ, 0, 0), -ENODEV))
		return -EBADE;
	if (!EXPECT(atomic_read(&cons_attachments) == before,
		    "a refused map left an attachment"))
		return -EBADE;
	if (!EXPECT(vpudom_map_sgtable(vd, BIT(2), &cons.held_sgt, IOMMU_READ,
				       0, &iova) == -ENODEV,
		    "map_sgtable after revoke"))
		return -EBADE;
	if (!EXPECT(vpudom_unmap(vd, 0, CONS_HOLD_IOVA, SZ_16K) == -ENODEV,
		    "unmap after revoke"))
		return -EBADE;
	if (!EXPECT(!vpudom_iova_to_phys(vd, 0, CONS_HOLD_IOVA),
		    "iova_to_phys after revoke"))
		return -EBADE;
	/* The allocated buffer is still the consumer's until it frees it. */
	va = vpudom_buf_vaddr(cons.held[1]);
	if (!EXPECT(va[0] == 0x5a && va[SZ_16K - 1] == 0x5a,
		    "allocated buffer changed"))
		return -EBADE;
	/* vpudom's own attachment goes with its handle, the consumer's after. */
	ret = vpudom_buf_free(cons.held[2]);
	cons.held[2] = NULL;
	if (!EXPECT(ret == -ENODEV, "free dma-buf handle: %d", ret))
		return -EBADE;
	if (!EXPECT(atomic_read(&cons_attachments) == before - 1,
		    "vpudom's attachment not detached: %d",
		    atomic_read(&cons_attachments)))
		return -EBADE;
	ret = cons_release_held(-ENODEV);
	if (!EXPECT(atomic_read(&cons_attachments) == 0, "attachments left: %d",
		    atomic_read(&cons_attachments)))
		return -EBADE;
	return ret;
}

static ssize_t cons_run_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	char name[16];
	int ret;

	if (count >= sizeof(name))
		return -EINVAL;
	if (copy_from_user(name, ubuf, count))
		return -EFAULT;
	name[count] = 0;
	strim(name);

	mutex_lock(&cons.lock);
	if (!strcmp(name, "hold"))
		ret = cons_test_hold();
	else if (!strcmp(name, "after"))
		ret = cons_test_after();
	else if (!cons.vd)
		ret = -ENODEV;
	else if (!strcmp(name, "sgt"))
		ret = cons_test_sgt(cons.vd);
	else if (!strcmp(name, "alloc"))
		ret = cons_test_alloc(cons.vd);
	else if (!strcmp(name, "dmabuf"))
		ret = cons_test_dmabuf(cons.vd);
	else
		ret = -EINVAL;
	mutex_unlock(&cons.lock);
	return ret ?: count;
}

static const struct file_operations cons_run_fops = {
	.owner = THIS_MODULE,
	.write = cons_run_write,
	.llseek = noop_llseek,
};

static int cons_status_show(struct seq_file *s, void *unused)
{
	mutex_lock(&cons.lock);
	seq_printf(s, "bound: %d\nprobes: %u\nremoves: %u\nremove_ret: %d\n",
		   !!cons.vd, cons.probes, cons.removes, cons.remove_ret);
	seq_printf(s, "held: %d\nattachments: %d\nbuffers: %d\n",
		   !!cons.held_vd, atomic_read(&cons_attachments),
		   atomic_read(&cons_buffers));
	mutex_unlock(&cons.lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cons_status);

static int cons_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct device_node *np;
	struct vpudom_buf *fw;
	struct vpudom *vd;
	int ret;

	/* Its DMA addresses are physical: vb2 attachments may be mapped. */
	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	np = of_find_compatible_node(NULL, NULL, "vpudom,ref-vpu");
	if (!np)
		return -ENODEV;
	vd = devm_of_vpudom_get(dev, np);
	of_node_put(np);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	/* The firmware, where the VPU boots from. */
	fw = vpudom_buf_alloc(vd, BIT(0), CONS_FW_SIZE, IOMMU_READ,
			      VPUDOM_MAP_FIXED, CONS_FW_IOVA);
	if (IS_ERR(fw))
		return dev_err_probe(dev, PTR_ERR(fw), "firmware buffer\n");
	memset(vpudom_buf_vaddr(fw), 0xa5, CONS_FW_SIZE);

	mutex_lock(&cons.lock);
	cons.vd = vd;
	cons.fw = fw;
	cons.probes++;
	mutex_unlock(&cons.lock);
	return 0;
}

static void cons_remove(struct platform_device *pdev)
{
	mutex_lock(&cons.lock);
	/* 0 only if the instance is still there: unbound before it. */
	cons.remove_ret = vpudom_buf_free(cons.fw);
	cons.fw = NULL;
	cons.vd = NULL;
	cons.removes++;
	mutex_unlock(&cons.lock);
}

VPUDOM_REMOVE_WRAPPER(cons_remove)

static struct platform_driver cons_driver = {
	.probe = cons_probe,
	VPUDOM_PLATFORM_REMOVE(cons_remove),
	.driver = {
		.name = CONS_NAME,
	},
};

static int __init cons_init(void)
{
	int ret;

	cons.dir = debugfs_create_dir("vpudom_consumer", NULL);
	debugfs_create_file("run", 0200, cons.dir, NULL, &cons_run_fops);
	debugfs_create_file("status", 0444, cons.dir, NULL, &cons_status_fops);
	cons.pdev = platform_device_register_simple(CONS_NAME, -1, NULL, 0);
	if (IS_ERR(cons.pdev)) {
		ret = PTR_ERR(cons.pdev);
		goto remove_dir;
	}
	ret = platform_driver_register(&cons_driver);
	if (ret)
		goto unregister_dev;
	return 0;

unregister_dev:
	platform_device_unregister(cons.pdev);
remove_dir:
	debugfs_remove_recursive(cons.dir);
	return ret;
}
module_init(cons_init);

static void __exit cons_exit(void)
{
	platform_driver_unregister(&cons_driver);
	platform_device_unregister(cons.pdev);
	debugfs_remove_recursive(cons.dir);
	mutex_lock(&cons.lock);
	cons_release_held(CONS_ANY);
	mutex_unlock(&cons.lock);
}
module_exit(cons_exit);

MODULE_DESCRIPTION("Test-only: a consumer of vpudom's in-kernel API");
MODULE_LICENSE("GPL");
