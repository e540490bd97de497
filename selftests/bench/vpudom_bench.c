// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only: the kernel side of `make bench`.
 *
 * Three ways a kernel driver can put an sg_table behind a stream of the
 * emulated SMMUv3:
 *   vpudom - vpudom_map_sgtable() + vpudom_unmap(), block 0 of the reference
 *            VPU;
 *   dma    - dma_map_sgtable() + dma_unmap_sgtable() on a QEMU edu device
 *            bound to this driver, in the DMA domain the kernel gives it
 *            (Debian: strict invalidation);
 *   floor  - iommu_map_sg() + iommu_unmap() on block 0's own domain at the
 *            IOVA vpudom picks for the buffer: no allocator, no bookkeeping.
 * Besides: allocator scaling, fill ratio, page-table pages per mapping and
 * the live mappings whose memory the user side measures.
 *
 * The user side (vpudom_bench) drives it through one debugfs file: write a
 * command, read back its result line.  Statistics are the user side's.
 *
 *   sg <vpudom|dma|floor> <bytes> <scattered|contig> <iters>  -> ns <total>
 *   scale <vpudom|dma|alloc> <live> <iters> <reps>  -> ns <total> per rep
 *   fill <seed>         -> first <maps> <bytes> churn <maps> <bytes>
 *   pt <vpudom|dma> <bytes> <scattered|contig> -> alloc <bytes> free <bytes>
 *   batch <k> <contig|apart>  -> vpudom <ns> <syncs> dma <ns> <syncs>
 *                  k one-page mappings, side by side or a page apart,
 *                  unmapped by one vpudom_unmap() of their span, then k
 *                  DMA API pages unmapped one by one: the time and the
 *                  SMMUv3 command-queue submissions (one per IOTLB sync)
 *   hold <vpudom|dma> <count>                                 -> held <count>
 *   release                                                   -> released
 *   parts <iters> [<live>]  -> alloc <ns> lock <ns> find <ns>
 *                     insert_remove <ns> lookup <ns>: vpudom's pieces, one
 *                     at a time, with <live> one-page mappings in block 0
 *   threads <1|2> <same|apart|dma> <iters>                  -> ns <wall>
 *                  one-page map + unmap through vpudom by each of 1 or 2
 *                  threads started together, into one block or each into
 *                  its own, or (dma) through the DMA API on the edu
 *                  device; the wall time until the last is done
 *   decode <vpudom|dma> <4k|1080p> <frames> <seed> <sessions>
 *                  -> median <ns> p99 <ns> sessions <n> frag <percent>
 *                  a video decoder's trace (below): ns per frame, how many
 *                  sessions fit at once (at most <sessions> are tried), and
 *                  for vpudom the share of free IOVA space outside the
 *                  largest free range afterwards
 *   live <vpudom|dma> <count>          -> held <count> ns <total> in <where>
 *                  <count> live one-page mappings (at most one path's at a
 *                  time): vpudom's in block 0 of the large VPU of the
 *                  bench board ("/vpu-live"), or, on a board without it,
 *                  in block 1 of the reference VPU; the DMA API's on the
 *                  edu device with its DMA mask raised to 40 bits, so that
 *                  more than 4 GiB of IOVA space holds them
 *   live pairs <iters>                 -> ns <total>
 *                  one-page map + unmap beside the live mappings
 *   live release                       -> released <count> ns <total>
 *   ptcount <start|read|stop>          -> counting | alloc <bytes> free <bytes>
 *                  count the io-pgtable allocator's pages from "start" on,
 *                  whoever maps (the user side's VPUDOM_MAP_USER and VFIO
 *                  maps too) until "stop"
 *
 * Buffers: "scattered" is order-0 pages in shuffled order, one sg entry
 * each, so that no two neighbours are physically adjacent by chance;
 * "contig" is 2 MiB-aligned 2 MiB chunks, one sg entry each.
 */
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/completion.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>
#include <linux/vpudom.h>

#include "compat.h"
#include "vpudom_priv.h"

/* The allocator alone, for "scale alloc": a copy built into this module. */
#include "iova.c"

/* Each measurement has a block of its own, untouched by the others. */
#define BENCH_BLOCK_TIME	0	/* sg rows, scaling, held mappings */
#define BENCH_BLOCK_PT		1	/* page-table pages: fresh tables */
#define BENCH_BLOCK_FILL	2	/* fill ratio */
#define BENCH_MAX_LIVE		100000
#define BENCH_MAX_BYTES		SZ_64M
/* Fill sizes: log-uniform from one page to 2^BENCH_FILL_MAX_ORDER pages. */
#define BENCH_FILL_MAX_ORDER	12
#define BENCH_FILL_MAX_PAGES	BIT(BENCH_FILL_MAX_ORDER)
#define BENCH_RESULT_LEN	256
#define BENCH_MAX_REPS		9
#define BENCH_CMD_LEN		128
#define BENCH_BATCH_MAX		1024
#define BENCH_PROT		(IOMMU_READ | IOMMU_WRITE)
/* The live row: its most mappings, the DMA mask for them, unmap step. */
#define BENCH_LIVE_MAX		2000000
#define BENCH_LIVE_DMA_BITS	40
#define BENCH_LIVE_UNMAP_STEP	SZ_64M

enum bench_path {
	BENCH_VPUDOM,
	BENCH_DMA,
	BENCH_FLOOR,
	BENCH_ALLOC,
};

static const char * const bench_path_names[] = {
	[BENCH_VPUDOM] = "vpudom",
	[BENCH_DMA] = "dma",
	[BENCH_FLOOR] = "floor",
	[BENCH_ALLOC] = "alloc",
};

/**
 * struct bench_buf - the buffer of the sg rows, kept while rows repeat
 * @size: bytes; 0 when there is none
 * @contig: 2 MiB chunks rather than scattered pages
 * @order: allocation order of @pages
 * @pages: the allocations
 * @nr: how many
 * @sgt: one entry per allocation
 */
struct bench_buf {
	u64 size;
	bool contig;
	unsigned int order;
	struct page **pages;
	unsigned int nr;
	struct sg_table sgt;
};

/**
 * struct bench - the benchmark's state
 * @lock: serialises commands and the PCI driver; protects all below
 * @pdev: the edu device of the DMA API path
 * @vd: the reference VPU (reference held), looked up on first use
 * @buf: the buffer of the sg and pt commands
 * @page: the page of one-page mappings
 * @one: @page as a one-entry sg_table
 * @many: @page BENCH_FILL_MAX_PAGES times, for fill mappings of any size
 * @held: DMA addresses of live DMA API mappings
 * @nr_held: how many
 * @nr_held_vpudom: live vpudom mappings made by "hold" or "scale"
 * @live_vd: the large VPU of the live row (reference held), or NULL
 * @live_path: whose mappings the live row holds (BENCH_VPUDOM, BENCH_DMA)
 * @live_nr: how many
 * @live_block: the block of its vpudom mappings, in @live_vd or @vd
 * @live_addr: the DMA addresses of its DMA API mappings
 * @ptcount: the io-pgtable allocator's kprobes of "ptcount", registered
 *	while @ptcount_on
 * @ptcount_on: see @ptcount
 * @result: the last command's result
 * @dir: the debugfs directory
 * @records: a slab cache like vpudom's of kernel mapping records, for the
 *	time of the record's allocation alone
 */
struct bench {
	struct mutex lock; /* see above */
	struct pci_dev *pdev;
	struct vpudom *vd;
	struct bench_buf buf;
	struct page *page;
	struct sg_table one;
	struct sg_table many;
	dma_addr_t *held;
	unsigned int nr_held;
	unsigned int nr_held_vpudom;
	struct vpudom *live_vd;
	enum bench_path live_path;
	unsigned int live_nr;
	unsigned int live_block;
	dma_addr_t *live_addr;
	struct kprobe ptcount[2];
	bool ptcount_on;
	char result[BENCH_RESULT_LEN];
	struct dentry *dir;
	struct kmem_cache *records;
};

static struct bench bench = {
	.lock = __MUTEX_INITIALIZER(bench.lock),
};

/* xorshift64*: reproducible random numbers from a seed. */
static u64 bench_rand(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static struct vpudom_ctx *bench_ctx(unsigned int block)
{
	return bench.vd->ctx[block];
}

/* Unmap every kernel mapping of a block of @vd, with one IOTLB sync. */
static void bench_clear_block_of(struct vpudom *vd, unsigned int block)
{
	const struct vpudom_range *b = &vd->ctx[block]->iova.bounds;

	vpudom_unmap(vd, block, b->start, b->last - b->start + 1);
}

/* The same, in the reference VPU. */
static void bench_clear_block(unsigned int block)
{
	bench_clear_block_of(bench.vd, block);
}

static void bench_buf_free(struct bench_buf *b)
{
	unsigned int i;

	if (!b->pages)
		return;
	sg_free_table(&b->sgt);
	for (i = 0; i < b->nr; i++)
		__free_pages(b->pages[i], b->order);
	kvfree(b->pages);
	memset(b, 0, sizeof(*b));
}

/* Make bench.buf a buffer of @size bytes and the layout asked for. */
static int bench_buf_get(u64 size, bool contig)
{
	struct bench_buf *b = &bench.buf;
	u64 chunk, seed = size;
	struct scatterlist *sg;
	unsigned int i, j, n;
	int ret;

	if (b->pages && b->size == size && b->contig == contig)
		return 0;
	bench_buf_free(b);
	if (!size || size > BENCH_MAX_BYTES || !PAGE_ALIGNED(size))
		return -EINVAL;
	b->order = contig ? get_order(SZ_2M) : 0;
	chunk = PAGE_SIZE << b->order;
	n = DIV_ROUND_UP(size, chunk);
	b->pages = kvcalloc(n, sizeof(*b->pages), GFP_KERNEL);
	if (!b->pages)
		return -ENOMEM;
	for (b->nr = 0; b->nr < n; b->nr++) {
		b->pages[b->nr] = alloc_pages(GFP_KERNEL | __GFP_NOWARN,
					      b->order);
		if (!b->pages[b->nr]) {
			ret = -ENOMEM;
			goto free_pages;
		}
	}
	/* Fisher-Yates; swap() evaluates its arguments twice: pick j first. */
	for (i = n - 1; !contig && i > 0; i--) {
		j = bench_rand(&seed) % (i + 1);
		swap(b->pages[i], b->pages[j]);
	}
	ret = sg_alloc_table(&b->sgt, n, GFP_KERNEL);
	if (ret)
		goto free_pages;
	for_each_sgtable_sg(&b->sgt, sg, i)
		sg_set_page(sg, b->pages[i], min(chunk, size - i * chunk), 0);
	b->size = size;
	b->contig = contig;
	return 0;

free_pages:
	while (b->nr)
		__free_pages(b->pages[--b->nr], b->order);
	kvfree(b->pages);
	b->pages = NULL;
	return ret;
}

/* One map + unmap through vpudom; returns the IOVA it used. */
static int bench_vpudom_once(struct sg_table *sgt, u64 size, u64 *iova)
{
	s64 unmapped;
	int ret;

	ret = vpudom_map_sgtable(bench.vd, BIT(BENCH_BLOCK_TIME), sgt,
				 BENCH_PROT, 0, iova);
	if (ret)
		return ret;
	unmapped = vpudom_unmap(bench.vd, BENCH_BLOCK_TIME, *iova, size);
	if (unmapped != size)
		return unmapped < 0 ? unmapped : -EIO;
	return 0;
}

static int bench_dma_once(struct sg_table *sgt)
{
	int ret;

	ret = dma_map_sgtable(&bench.pdev->dev, sgt, DMA_BIDIRECTIONAL, 0);
	if (ret)
		return ret;
	dma_unmap_sgtable(&bench.pdev->dev, sgt, DMA_BIDIRECTIONAL, 0);
	return 0;
}

static int bench_floor_once(struct iommu_domain *domain, u64 iova,
			    struct sg_table *sgt, u64 size)
{
	ssize_t mapped;

	mapped = vpudom_iommu_map_sg(domain, iova, sgt->sgl, sgt->orig_nents,
				     BENCH_PROT);
	if (mapped != size) {
		if (mapped > 0)
			iommu_unmap(domain, iova, mapped);
		return mapped < 0 ? mapped : -EIO;
	}
	if (iommu_unmap(domain, iova, size) != size)
		return -EIO;
	return 0;
}

/* @iters map + unmap of @sgt (@size bytes) by @path; *@ns the total. */
static int bench_loop(enum bench_path path, struct sg_table *sgt, u64 size,
		      u32 iters, u64 *ns)
{
	struct iommu_domain *domain = bench_ctx(BENCH_BLOCK_TIME)->domain;
	u64 iova = 0, t0;
	int ret = 0;
	u32 i;

	if (path == BENCH_DMA && !bench.pdev)
		return -ENODEV;
	/* The floor maps where vpudom would: same tables, same entries. */
	if (path == BENCH_FLOOR) {
		ret = bench_vpudom_once(sgt, size, &iova);
		if (ret)
			return ret;
	}
	t0 = ktime_get_ns();
	for (i = 0; i < iters && !ret; i++) {
		switch (path) {
		case BENCH_VPUDOM:
			ret = bench_vpudom_once(sgt, size, &iova);
			break;
		case BENCH_DMA:
			ret = bench_dma_once(sgt);
			break;
		case BENCH_FLOOR:
			ret = bench_floor_once(domain, iova, sgt, size);
			break;
		default:
			ret = -EINVAL;
		}
	}
	*ns = ktime_get_ns() - t0;
	return ret;
}

/* Make @count live one-page mappings by @path. */
static int bench_populate(enum bench_path path, unsigned int count)
{
	dma_addr_t addr;
	unsigned int i;
	u64 iova;
	int ret;

	if (path == BENCH_DMA && !bench.pdev)
		return -ENODEV;
	if (count > BENCH_MAX_LIVE - bench.nr_held_vpudom - bench.nr_held)
		return -E2BIG;
	for (i = 0; i < count; i++) {
		if (path == BENCH_VPUDOM) {
			ret = vpudom_map_sgtable(bench.vd,
						 BIT(BENCH_BLOCK_TIME),
						 &bench.one, BENCH_PROT, 0,
						 &iova);
			if (ret)
				return ret;
			bench.nr_held_vpudom++;
		} else {
			addr = dma_map_page(&bench.pdev->dev, bench.page, 0,
					    PAGE_SIZE, DMA_BIDIRECTIONAL);
			ret = dma_mapping_error(&bench.pdev->dev, addr);
			if (ret)
				return ret;
			bench.held[bench.nr_held++] = addr;
		}
		if (!(i % 1024))
			cond_resched();
	}
	return 0;
}

static void bench_depopulate(void)
{
	if (bench.nr_held_vpudom)
		bench_clear_block(BENCH_BLOCK_TIME);
	bench.nr_held_vpudom = 0;
	while (bench.nr_held) {
		dma_unmap_page(&bench.pdev->dev, bench.held[--bench.nr_held],
			       PAGE_SIZE, DMA_BIDIRECTIONAL);
		if (!(bench.nr_held % 1024))
			cond_resched();
	}
}

/*
 * The allocator alone: find + insert + remove of one page with @live
 * one-page areas packed at the bottom of block 0's bounds, so that every
 * allocation has to get past all of them.
 */
/* Append " <ns>" to the result. */
static void bench_result_add(u64 ns)
{
	size_t len = strlen(bench.result);

	snprintf(bench.result + len, sizeof(bench.result) - len, " %llu", ns);
}

/*
 * The allocator alone: find + insert + remove of one page with @live
 * one-page areas packed at the bottom of block 0's bounds, so that every
 * allocation has to get past all of them.
 */
static int bench_alloc_only(unsigned int live, u32 iters, u32 reps)
{
	struct vpudom_iova_space s;
	struct mutex lock; /* the space's external lock */
	u64 start, lo, hi, t0;
	unsigned int i, rep;
	int ret = 0;

	mutex_init(&lock);
	vpudom_iova_init(&s, &bench_ctx(BENCH_BLOCK_TIME)->iova.bounds,
			 PAGE_SIZE, &lock);
	lo = s.bounds.start;
	hi = s.bounds.last;
	mutex_lock(&lock);
	for (i = 0; i < live && !ret; i++) {
		ret = vpudom_iova_find(&s, PAGE_SIZE, PAGE_SIZE, lo, hi,
				       &start);
		if (!ret)
			ret = vpudom_iova_insert(&s, start,
						 start + PAGE_SIZE - 1, &bench);
	}
	for (rep = 0; rep < reps && !ret; rep++) {
		t0 = ktime_get_ns();
		for (i = 0; i < iters; i++) {
			ret = vpudom_iova_find(&s, PAGE_SIZE, PAGE_SIZE, lo, hi,
					       &start);
			if (ret)
				break;
			ret = vpudom_iova_insert(&s, start,
						 start + PAGE_SIZE - 1, &bench);
			if (ret)
				break;
			vpudom_iova_remove(&s, start, start + PAGE_SIZE - 1);
		}
		bench_result_add(ktime_get_ns() - t0);
	}
	/* The packed areas are nobody's: they go with the tree. */
	s.nr_areas = 0;
	vpudom_iova_destroy(&s);
	mutex_unlock(&lock);
	mutex_destroy(&lock);
	return ret;
}

/* "scale": @reps timings of @iters map + unmap with @live live mappings. */
static int bench_scale(enum bench_path path, unsigned int live, u32 iters,
		       u32 reps)
{
	unsigned int rep;
	int ret;
	u64 ns;

	if (!reps || reps > BENCH_MAX_REPS)
		return -EINVAL;
	strscpy(bench.result, "ns", sizeof(bench.result));
	if (path == BENCH_ALLOC)
		return bench_alloc_only(live, iters, reps);
	if (path != BENCH_VPUDOM && path != BENCH_DMA)
		return -EINVAL;
	if (bench.nr_held || bench.nr_held_vpudom)
		return -EBUSY;
	ret = bench_populate(path, live);
	for (rep = 0; rep < reps && !ret; rep++) {
		ret = bench_loop(path, &bench.one, PAGE_SIZE, iters, &ns);
		bench_result_add(ns);
	}
	bench_depopulate();
	return ret;
}

/* A one-page-per-entry view of @n entries of bench.many. */
static struct sg_table bench_many_view(unsigned int n)
{
	struct sg_table view = bench.many;

	view.orig_nents = n;
	view.nents = n;
	return view;
}

/**
 * struct bench_area - a live mapping of the fill test
 * @iova: where
 * @size: bytes
 */
struct bench_area {
	u64 iova;
	u64 size;
};

/* Map random sizes into the fill block until ENOSPC. */
static int bench_fill_until_full(struct bench_area *live, unsigned int *nr,
				 u64 *mapped, u64 *seed)
{
	struct sg_table view;
	unsigned int order;
	u64 pages, iova;
	int ret;

	while (*nr < BENCH_MAX_LIVE) {
		order = bench_rand(seed) % (BENCH_FILL_MAX_ORDER + 1);
		pages = BIT(order) + bench_rand(seed) % BIT(order);
		pages = min_t(u64, pages, BENCH_FILL_MAX_PAGES);
		view = bench_many_view(pages);
		ret = vpudom_map_sgtable(bench.vd, BIT(BENCH_BLOCK_FILL), &view,
					 BENCH_PROT, 0, &iova);
		if (ret == -ENOSPC)
			return 0;
		if (ret)
			return ret;
		live[*nr].iova = iova;
		live[*nr].size = pages * PAGE_SIZE;
		*mapped += pages * PAGE_SIZE;
		(*nr)++;
		cond_resched();
	}
	return -E2BIG;
}

/*
 * Fill ratio: random sizes until the first ENOSPC; then unmap a random
 * half and fill again, which is where fragmentation shows.
 */
static int bench_fill(u64 seed)
{
	unsigned int nr = 0, i, first_nr;
	struct bench_area *live;
	u64 mapped = 0, first;
	s64 unmapped;
	int ret;

	live = kvcalloc(BENCH_MAX_LIVE, sizeof(*live), GFP_KERNEL);
	if (!live)
		return -ENOMEM;
	seed = seed * 0x9e3779b97f4a7c15ULL | 1;	/* spread small seeds */
	ret = bench_fill_until_full(live, &nr, &mapped, &seed);
	if (ret)
		goto clear;
	first = mapped;
	first_nr = nr;
	for (i = 0; i < nr;) {
		if (bench_rand(&seed) & 1) {
			i++;
			continue;
		}
		unmapped = vpudom_unmap(bench.vd, BENCH_BLOCK_FILL,
					live[i].iova, live[i].size);
		if (unmapped != live[i].size) {
			ret = unmapped < 0 ? unmapped : -EIO;
			goto clear;
		}
		mapped -= live[i].size;
		live[i] = live[--nr];
	}
	ret = bench_fill_until_full(live, &nr, &mapped, &seed);
	if (!ret)
		snprintf(bench.result, sizeof(bench.result),
			 "first %u %llu churn %u %llu\n", first_nr, first, nr,
			 mapped);
clear:
	bench_clear_block(BENCH_BLOCK_FILL);
	kvfree(live);
	return ret;
}

/* Page-table bytes the io-pgtable code allocates and frees while counted. */
static atomic64_t bench_pt_alloc;
static atomic64_t bench_pt_free;

/* __arm_lpae_alloc_pages(size_t size, gfp_t gfp, cfg) */
static int bench_pt_alloc_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic64_add(regs_get_kernel_argument(regs, 0), &bench_pt_alloc);
	return 0;
}

/* __arm_lpae_free_pages(void *pages, size_t size, cfg) */
static int bench_pt_free_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic64_add(regs_get_kernel_argument(regs, 1), &bench_pt_free);
	return 0;
}

/*
 * Page-table bytes allocated to map a buffer of @size bytes and freed to
 * unmap it, counted at the io-pgtable allocator.  vpudom maps into a block
 * nothing else touches, the DMA API into the edu device's domain.
 */
static int bench_pt(enum bench_path path, u64 size, bool contig)
{
	/* A kprobe remembers its address: each registration needs a new one. */
	struct kprobe kp_alloc = {
		.symbol_name = "__arm_lpae_alloc_pages",
		.pre_handler = bench_pt_alloc_pre,
	};
	struct kprobe kp_free = {
		.symbol_name = "__arm_lpae_free_pages",
		.pre_handler = bench_pt_free_pre,
	};
	struct kprobe *kps[] = { &kp_alloc, &kp_free };
	struct sg_table *sgt = &bench.buf.sgt;
	u64 iova, alloc;
	s64 unmapped;
	int ret;

	if (path != BENCH_VPUDOM && path != BENCH_DMA)
		return -EINVAL;
	if (path == BENCH_DMA && !bench.pdev)
		return -ENODEV;
	/* Its kprobes would count twice beside those of "ptcount". */
	if (bench.ptcount_on)
		return -EBUSY;
	ret = bench_buf_get(size, contig);
	if (ret)
		return ret;
	ret = register_kprobes(kps, ARRAY_SIZE(kps));
	if (ret) {
		snprintf(bench.result, sizeof(bench.result),
			 "unavailable %d\n", ret);
		return 0;
	}
	atomic64_set(&bench_pt_alloc, 0);
	atomic64_set(&bench_pt_free, 0);
	if (path == BENCH_VPUDOM) {
		ret = vpudom_map_sgtable(bench.vd, BIT(BENCH_BLOCK_PT), sgt,
					 BENCH_PROT, 0, &iova);
		if (ret)
			goto unregister;
		alloc = atomic64_read(&bench_pt_alloc);
		unmapped = vpudom_unmap(bench.vd, BENCH_BLOCK_PT, iova, size);
		if (unmapped != size)
			ret = unmapped < 0 ? unmapped : -EIO;
	} else {
		ret = dma_map_sgtable(&bench.pdev->dev, sgt,
				      DMA_BIDIRECTIONAL, 0);
		if (ret)
			goto unregister;
		alloc = atomic64_read(&bench_pt_alloc);
		dma_unmap_sgtable(&bench.pdev->dev, sgt, DMA_BIDIRECTIONAL, 0);
	}
	if (!ret)
		snprintf(bench.result, sizeof(bench.result),
			 "alloc %llu free %lld\n", alloc,
			 (long long)atomic64_read(&bench_pt_free));
unregister:
	unregister_kprobes(kps, ARRAY_SIZE(kps));
	return ret;
}

/* Command-queue submissions of the SMMUv3 driver while counted. */
static atomic64_t bench_syncs;

static int bench_sync_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic64_inc(&bench_syncs);
	return 0;
}

/*
 * "batch": @k one-page mappings at fixed IOVAs from the bottom of block 1's
 * first usable range (only "pt" uses the block, and leaves it empty),
 * side by side or, if @apart, a page apart, unmapped by one
 * vpudom_unmap() of their span; then @k pages mapped through the DMA API
 * and unmapped one by one, as a driver with @k buffers does.  Counted:
 * the SMMUv3 driver's command-queue submissions (its own function, where
 * the iotlb_sync of the SMMU v2 driver has the same name).  An IOTLB sync
 * submits its TLB invalidations with a CMD_SYNC at the end, whether the
 * caller asked for it or an unmap's gather met a range disjoint from the
 * one it held; only a batch of 64 commands is submitted without one.
 */
static int bench_batch(unsigned int k, bool apart)
{
	struct kprobe kp = {
		.symbol_name = "arm_smmu_cmdq_issue_cmdlist",
		.pre_handler = bench_sync_pre,
	};
	u64 stride = apart ? 2 * PAGE_SIZE : PAGE_SIZE, base, iova, t0;
	u64 ns[2] = { 0 }, syncs[2] = { 0 };
	dma_addr_t *addr = NULL;
	unsigned int i, mapped = 0;
	s64 unmapped;
	int ret;

	if (!k || k > BENCH_BATCH_MAX)
		return -EINVAL;
	ret = register_kprobe(&kp);
	if (ret) {
		snprintf(bench.result, sizeof(bench.result),
			 "unavailable %d\n", ret);
		return 0;
	}
	base = bench_ctx(BENCH_BLOCK_PT)->usable[0].start;
	if (bench_ctx(BENCH_BLOCK_PT)->usable[0].last - base <
	    (k - 1) * stride + PAGE_SIZE - 1) {
		ret = -ENOSPC;
		goto clear;
	}
	/*
	 * Take the kprobe once before timing: under TCG its first hit costs
	 * the translation of the code just patched, some 150 us, which the
	 * first side timed would otherwise pay alone.
	 */
	iova = base;
	ret = vpudom_map_sgtable(bench.vd, BIT(BENCH_BLOCK_PT), &bench.one,
				 BENCH_PROT, VPUDOM_MAP_FIXED, &iova);
	if (ret)
		goto clear;
	unmapped = vpudom_unmap(bench.vd, BENCH_BLOCK_PT, base, PAGE_SIZE);
	if (unmapped != PAGE_SIZE) {
		ret = unmapped < 0 ? unmapped : -EIO;
		goto clear;
	}
	for (i = 0; i < k; i++) {
		iova = base + i * stride;
		ret = vpudom_map_sgtable(bench.vd, BIT(BENCH_BLOCK_PT),
					 &bench.one, BENCH_PROT,
					 VPUDOM_MAP_FIXED, &iova);
		if (ret)
			goto clear;
	}
	atomic64_set(&bench_syncs, 0);
	t0 = ktime_get_ns();
	unmapped = vpudom_unmap(bench.vd, BENCH_BLOCK_PT, base,
				(k - 1) * stride + PAGE_SIZE);
	ns[0] = ktime_get_ns() - t0;
	syncs[0] = atomic64_read(&bench_syncs);
	if (unmapped != (s64)k * PAGE_SIZE) {
		ret = unmapped < 0 ? unmapped : -EIO;
		goto clear;
	}
	if (bench.pdev) {
		addr = kcalloc(k, sizeof(*addr), GFP_KERNEL);
		if (!addr) {
			ret = -ENOMEM;
			goto clear;
		}
		for (; mapped < k; mapped++) {
			addr[mapped] = dma_map_page(&bench.pdev->dev,
						    bench.page, 0, PAGE_SIZE,
						    DMA_BIDIRECTIONAL);
			ret = dma_mapping_error(&bench.pdev->dev,
						addr[mapped]);
			if (ret)
				goto clear;
		}
		atomic64_set(&bench_syncs, 0);
		t0 = ktime_get_ns();
		while (mapped)
			dma_unmap_page(&bench.pdev->dev, addr[--mapped],
				       PAGE_SIZE, DMA_BIDIRECTIONAL);
		ns[1] = ktime_get_ns() - t0;
		syncs[1] = atomic64_read(&bench_syncs);
	}
	snprintf(bench.result, sizeof(bench.result),
		 "vpudom %llu %llu dma %llu %llu\n", ns[0], syncs[0], ns[1],
		 syncs[1]);
clear:
	while (mapped)
		dma_unmap_page(&bench.pdev->dev, addr[--mapped], PAGE_SIZE,
			       DMA_BIDIRECTIONAL);
	kfree(addr);
	if (ret)
		bench_clear_block(BENCH_BLOCK_PT);
	unregister_kprobe(&kp);
	return ret;
}

/*
 * "ptcount": the page-table pages of whatever is mapped between "start" and
 * "read", counted at the io-pgtable allocator as "pt" counts them; the
 * user side wraps its own maps (VPUDOM_MAP_USER, VFIO) in it as well as
 * the module's.
 */
static int bench_ptcount(const char *what)
{
	struct kprobe *kp = bench.ptcount;
	int ret;

	if (!strcmp(what, "start")) {
		if (bench.ptcount_on)
			return -EBUSY;
		/* A kprobe remembers its address: each registration needs a new one. */
		memset(bench.ptcount, 0, sizeof(bench.ptcount));
		kp[0].symbol_name = "__arm_lpae_alloc_pages";
		kp[0].pre_handler = bench_pt_alloc_pre;
		kp[1].symbol_name = "__arm_lpae_free_pages";
		kp[1].pre_handler = bench_pt_free_pre;
		atomic64_set(&bench_pt_alloc, 0);
		atomic64_set(&bench_pt_free, 0);
		ret = register_kprobe(&kp[0]);
		if (!ret) {
			ret = register_kprobe(&kp[1]);
			if (ret)
				unregister_kprobe(&kp[0]);
		}
		if (ret) {
			snprintf(bench.result, sizeof(bench.result),
				 "unavailable %d\n", ret);
			return 0;
		}
		bench.ptcount_on = true;
		snprintf(bench.result, sizeof(bench.result), "counting\n");
	} else if (!strcmp(what, "read")) {
		if (!bench.ptcount_on)
			return -EINVAL;
		snprintf(bench.result, sizeof(bench.result),
			 "alloc %lld free %lld\n",
			 (long long)atomic64_read(&bench_pt_alloc),
			 (long long)atomic64_read(&bench_pt_free));
	} else if (!strcmp(what, "stop")) {
		if (bench.ptcount_on) {
			unregister_kprobe(&kp[1]);
			unregister_kprobe(&kp[0]);
			bench.ptcount_on = false;
		}
		snprintf(bench.result, sizeof(bench.result), "stopped\n");
	} else {
		return -EINVAL;
	}
	return 0;
}

/* The instance and block of the live row's vpudom mappings. */
static struct vpudom *bench_live_vpu(unsigned int *block)
{
	struct device_node *np;
	struct vpudom *vd;

	if (!bench.live_vd) {
		np = of_find_node_by_path("/vpu-live");
		if (np) {
			vd = of_vpudom_get(np);
			of_node_put(np);
			if (!IS_ERR(vd))
				bench.live_vd = vd;
		}
	}
	*block = bench.live_vd ? 0 : BENCH_BLOCK_PT;
	return bench.live_vd ?: bench.vd;
}

/*
 * Unmap the live row's vpudom mappings a step of IOVA space at a time, so
 * that no one call holds the block for a million of them; a step without
 * any is -ENOENT.  Every one is 4 KiB, so no step boundary cuts one.
 */
static int bench_live_unmap_vpudom(struct vpudom *vd, unsigned int block)
{
	const struct vpudom_range *b = &vd->ctx[block]->iova.bounds;
	u64 at, len;
	s64 unmapped;

	for (at = b->start; bench.live_nr && at <= b->last; at += len) {
		len = min_t(u64, BENCH_LIVE_UNMAP_STEP, b->last - at + 1);
		unmapped = vpudom_unmap(vd, block, at, len);
		if (unmapped == -ENOENT)
			continue;
		if (unmapped < 0)
			return unmapped;
		bench.live_nr -= min_t(u64, unmapped >> PAGE_SHIFT,
				       bench.live_nr);
		cond_resched();
	}
	return bench.live_nr ? -EIO : 0;
}

/* Tear the live row down; its first error, if any. */
static int bench_live_release(void)
{
	struct device *dev = bench.pdev ? &bench.pdev->dev : NULL;
	struct vpudom *vd;
	unsigned int block;
	int ret = 0;

	if (bench.live_path == BENCH_VPUDOM && bench.live_nr) {
		vd = bench_live_vpu(&block);
		ret = bench_live_unmap_vpudom(vd, block);
		/* Whatever the steps missed goes with one unmap of the block. */
		if (ret) {
			bench_clear_block_of(vd, block);
			bench.live_nr = 0;
		}
	}
	if (bench.live_addr && dev) {
		while (bench.live_nr) {
			dma_unmap_page(dev, bench.live_addr[--bench.live_nr],
				       PAGE_SIZE, DMA_BIDIRECTIONAL);
			if (!(bench.live_nr % 1024))
				cond_resched();
		}
		kvfree(bench.live_addr);
		bench.live_addr = NULL;
		/* The other rows measure a 32-bit device, as probed. */
		if (dev)
			ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(32)) ?: ret;
	}
	return ret;
}

/* "live <path> <count>": @count live one-page mappings by @path. */
static int bench_live(enum bench_path path, unsigned int count)
{
	struct vpudom *vd = NULL;
	const char *where = "edu/40-bit";
	unsigned int i, block = 0;
	dma_addr_t addr;
	u64 iova, t0;
	int ret = 0;

	if (bench.live_nr || bench.live_addr)
		return -EBUSY;
	if (!count || count > BENCH_LIVE_MAX)
		return -EINVAL;
	if (path == BENCH_VPUDOM) {
		vd = bench_live_vpu(&block);
		where = vd == bench.vd ? "ref-vpu/block1" : "vpu-live/block0";
	} else if (path == BENCH_DMA) {
		if (!bench.pdev)
			return -ENODEV;
		bench.live_addr = kvmalloc_array(count, sizeof(*bench.live_addr),
						 GFP_KERNEL);
		if (!bench.live_addr)
			return -ENOMEM;
		ret = dma_set_mask_and_coherent(&bench.pdev->dev,
						DMA_BIT_MASK(BENCH_LIVE_DMA_BITS));
		if (ret)
			goto release;
	} else {
		return -EINVAL;
	}
	bench.live_path = path;
	t0 = ktime_get_ns();
	for (i = 0; i < count; i++) {
		if (path == BENCH_VPUDOM) {
			ret = vpudom_map_sgtable(vd, BIT(block), &bench.one,
						 BENCH_PROT, 0, &iova);
			if (ret)
				goto release;
		} else {
			addr = dma_map_page(&bench.pdev->dev, bench.page, 0,
					    PAGE_SIZE, DMA_BIDIRECTIONAL);
			ret = dma_mapping_error(&bench.pdev->dev, addr);
			if (ret)
				goto release;
			bench.live_addr[i] = addr;
		}
		bench.live_nr++;
		if (!(i % 1024))
			cond_resched();
	}
	snprintf(bench.result, sizeof(bench.result), "held %u ns %llu in %s\n",
		 count, ktime_get_ns() - t0, where);
	return 0;

release:
	bench_live_release();
	return ret;
}

/* "live pairs <iters>": one-page map + unmap beside the live mappings. */
static int bench_live_pairs(u32 iters, u64 *ns)
{
	struct vpudom *vd;
	unsigned int block;
	dma_addr_t addr;
	s64 unmapped;
	u64 iova, t0;
	int ret = 0;
	u32 i;

	if (!bench.live_nr)
		return -EINVAL;
	vd = bench_live_vpu(&block);
	t0 = ktime_get_ns();
	for (i = 0; i < iters && !ret; i++) {
		if (bench.live_path == BENCH_DMA) {
			addr = dma_map_page(&bench.pdev->dev, bench.page, 0,
					    PAGE_SIZE, DMA_BIDIRECTIONAL);
			ret = dma_mapping_error(&bench.pdev->dev, addr);
			if (!ret)
				dma_unmap_page(&bench.pdev->dev, addr, PAGE_SIZE,
					       DMA_BIDIRECTIONAL);
			continue;
		}
		ret = vpudom_map_sgtable(vd, BIT(block), &bench.one, BENCH_PROT,
					 0, &iova);
		if (ret)
			break;
		unmapped = vpudom_unmap(vd, block, iova, PAGE_SIZE);
		if (unmapped != PAGE_SIZE)
			ret = unmapped < 0 ? unmapped : -EIO;
	}
	*ns = ktime_get_ns() - t0;
	return ret;
}

static int bench_parse_path(const char *name, enum bench_path *path)
{
	int i = match_string(bench_path_names, ARRAY_SIZE(bench_path_names),
			     name);

	if (i < 0)
		return -EINVAL;
	*path = i;
	return 0;
}

static int bench_parse_layout(const char *name, bool *contig)
{
	if (!strcmp(name, "scattered"))
		*contig = false;
	else if (!strcmp(name, "contig"))
		*contig = true;
	else
		return -EINVAL;
	return 0;
}

/* The reference VPU, looked up once; its blocks are what the bench uses. */
static int bench_get_vpu(void)
{
	struct device_node *np;
	struct vpudom *vd;

	if (bench.vd)
		return 0;
	np = of_find_compatible_node(NULL, NULL, "vpudom,ref-vpu");
	if (!np)
		return -ENODEV;
	vd = of_vpudom_get(np);
	of_node_put(np);
	if (IS_ERR(vd))
		return PTR_ERR(vd);
	if (vpudom_nr_blocks(vd) <= BENCH_BLOCK_FILL) {
		vpudom_put(vd);
		return -ENODEV;
	}
	bench.vd = vd;
	return 0;
}

/*
 * "parts": what each piece of vpudom's map + unmap costs on its own, so
 * that the difference to the floor can be accounted for.  Runs on block 0's
 * live context, under its locks, with @live one-page mappings there (which
 * shows the pieces that grow with them).
 */
static int bench_parts(u32 iters, unsigned int live)
{
	struct vpudom_ctx *ctx = bench_ctx(BENCH_BLOCK_TIME);
	struct vpudom *vd = bench.vd;
	u64 iova = 0, t0, t[5];
	struct vpudom_mapping *m;
	u32 i;
	int ret;

	if (bench.nr_held || bench.nr_held_vpudom)
		return -EBUSY;
	ret = bench_populate(BENCH_VPUDOM, live);
	if (ret)
		goto depopulate;

	t0 = ktime_get_ns();
	for (i = 0; i < iters; i++) {
		m = kmem_cache_zalloc(bench.records, GFP_KERNEL);
		if (!m) {
			ret = -ENOMEM;
			goto depopulate;
		}
		kmem_cache_free(bench.records, m);
	}
	t[0] = ktime_get_ns() - t0;
	t0 = ktime_get_ns();
	for (i = 0; i < iters; i++) {
		down_read(&vd->rwsem);
		mutex_lock(&ctx->lock);
		mutex_unlock(&ctx->lock);
		up_read(&vd->rwsem);
	}
	t[1] = ktime_get_ns() - t0;
	down_read(&vd->rwsem);
	mutex_lock(&ctx->lock);
	t0 = ktime_get_ns();
	for (i = 0; i < iters && !ret; i++)
		ret = vpudom_iova_find(&ctx->iova, PAGE_SIZE, PAGE_SIZE, 0,
				       U64_MAX, &iova);
	t[2] = ktime_get_ns() - t0;
	t0 = ktime_get_ns();
	for (i = 0; i < iters && !ret; i++) {
		ret = vpudom_iova_insert(&ctx->iova, iova,
					 iova + PAGE_SIZE - 1, &bench);
		if (!ret)
			vpudom_iova_remove(&ctx->iova, iova,
					   iova + PAGE_SIZE - 1);
	}
	t[3] = ktime_get_ns() - t0;
	t0 = ktime_get_ns();
	for (i = 0; i < iters; i++)
		vpudom_iova_lookup(&ctx->iova, iova);
	t[4] = ktime_get_ns() - t0;
	mutex_unlock(&ctx->lock);
	up_read(&vd->rwsem);
	if (!ret)
		snprintf(bench.result, sizeof(bench.result),
			 "alloc %llu lock %llu find %llu insert_remove %llu lookup %llu\n",
			 div_u64(t[0], iters), div_u64(t[1], iters),
			 div_u64(t[2], iters), div_u64(t[3], iters),
			 div_u64(t[4], iters));
depopulate:
	bench_depopulate();
	return ret;
}

/*
 * One thread of "threads": @iters one-page map + unmap into @block, or
 * through the DMA API on the edu device if @dma.
 */
struct bench_thread {
	struct task_struct *task;
	struct completion done;
	unsigned int block;
	bool dma;
	u32 iters;
	int ret;
};

static int bench_thread_dma(struct bench_thread *t)
{
	struct device *dev = &bench.pdev->dev;
	dma_addr_t addr;
	u32 i;

	for (i = 0; i < t->iters; i++) {
		addr = dma_map_page(dev, bench.page, 0, PAGE_SIZE,
				    DMA_BIDIRECTIONAL);
		if (dma_mapping_error(dev, addr))
			return -ENOMEM;
		dma_unmap_page(dev, addr, PAGE_SIZE, DMA_BIDIRECTIONAL);
	}
	return 0;
}

static int bench_thread_fn(void *data)
{
	struct bench_thread *t = data;
	s64 unmapped;
	u64 iova;
	u32 i;

	if (t->dma) {
		t->ret = bench_thread_dma(t);
		complete(&t->done);
		return 0;
	}
	for (i = 0; i < t->iters; i++) {
		t->ret = vpudom_map_sgtable(bench.vd, BIT(t->block), &bench.one,
					    BENCH_PROT, 0, &iova);
		if (t->ret)
			break;
		unmapped = vpudom_unmap(bench.vd, t->block, iova, PAGE_SIZE);
		if (unmapped != PAGE_SIZE) {
			t->ret = unmapped < 0 ? unmapped : -EIO;
			break;
		}
	}
	complete(&t->done);
	return 0;
}

/*
 * "threads": @nr threads (1 or 2) started together, all into block
 * BENCH_BLOCK_TIME or each into a block of its own, or all through the
 * DMA API on the one edu device (@dma: the peer, whose domain has no lock
 * around its IOMMU calls); *@ns the wall time until the last is done.
 */
static int bench_threads(unsigned int nr, bool apart, bool dma, u32 iters,
			 u64 *ns)
{
	static const unsigned int blocks[] = { BENCH_BLOCK_TIME, BENCH_BLOCK_PT };
	struct bench_thread t[ARRAY_SIZE(blocks)];
	unsigned int i, made;
	u64 start;
	int ret = 0;

	if (!nr || nr > ARRAY_SIZE(t))
		return -EINVAL;
	if (dma && !bench.pdev)
		return -ENODEV;
	for (made = 0; made < nr; made++) {
		t[made].block = apart ? blocks[made] : BENCH_BLOCK_TIME;
		t[made].dma = dma;
		t[made].iters = iters;
		t[made].ret = 0;
		init_completion(&t[made].done);
		t[made].task = kthread_create(bench_thread_fn, &t[made],
					      "vpudom_bench/%u", made);
		if (IS_ERR(t[made].task)) {
			ret = PTR_ERR(t[made].task);
			break;
		}
	}
	if (ret) {
		/* Started, they stop at once: no iteration asked of them. */
		for (i = 0; i < made; i++) {
			t[i].iters = 0;
			wake_up_process(t[i].task);
			wait_for_completion(&t[i].done);
		}
		return ret;
	}
	start = ktime_get_ns();
	for (i = 0; i < nr; i++)
		wake_up_process(t[i].task);
	for (i = 0; i < nr; i++)
		wait_for_completion(&t[i].done);
	*ns = ktime_get_ns() - start;
	for (i = 0; i < nr; i++)
		ret = ret ?: t[i].ret;
	return ret;
}

/*
 * "decode": what a video decoder asks of its IOMMU.  A session maps its
 * reference frames, motion-vector and metadata buffers when it starts and
 * keeps them; then, per frame, it maps a bitstream buffer (4 KiB-2 MiB)
 * and a metadata buffer (4-16 KiB), decodes, and unmaps both.  Every
 * buffer is its own sg_table (the DMA API writes its addresses into it) of
 * the one bench page, so no memory but the tables is needed.
 */
#define BENCH_DEC_REFS		17
#define BENCH_DEC_MAX_FRAMES	200000
#define BENCH_DEC_MAX_SESSIONS	32

struct bench_dec_buf {
	struct sg_table sgt;
	u64 size;
	u64 iova;
	bool mapped;
};

/* A session's long-lived buffers: frames, motion vectors, metadata. */
struct bench_dec_session {
	struct bench_dec_buf buf[3 * BENCH_DEC_REFS];
	unsigned int nr;
};

static int bench_sg_init(struct sg_table *sgt, unsigned int n);

static int bench_dec_map(enum bench_path path, struct bench_dec_buf *b)
{
	int ret;

	if (path == BENCH_VPUDOM)
		ret = vpudom_map_sgtable(bench.vd, BIT(BENCH_BLOCK_TIME),
					 &b->sgt, BENCH_PROT, 0, &b->iova);
	else
		ret = dma_map_sgtable(&bench.pdev->dev, &b->sgt,
				      DMA_BIDIRECTIONAL, 0);
	b->mapped = !ret;
	return ret;
}

static int bench_dec_unmap(enum bench_path path, struct bench_dec_buf *b)
{
	s64 unmapped;

	if (!b->mapped)
		return 0;
	b->mapped = false;
	if (path == BENCH_DMA) {
		dma_unmap_sgtable(&bench.pdev->dev, &b->sgt, DMA_BIDIRECTIONAL,
				  0);
		return 0;
	}
	unmapped = vpudom_unmap(bench.vd, BENCH_BLOCK_TIME, b->iova, b->size);
	if (unmapped != b->size)
		return unmapped < 0 ? unmapped : -EIO;
	return 0;
}

static int bench_dec_buf_init(struct bench_dec_buf *b, u64 size)
{
	b->size = PAGE_ALIGN(size);
	b->mapped = false;
	return bench_sg_init(&b->sgt, b->size >> PAGE_SHIFT);
}

/* Unmap and free a session's buffers; the first error, if any. */
static int bench_dec_session_end(enum bench_path path,
				 struct bench_dec_session *s)
{
	int ret = 0, r;

	while (s->nr) {
		r = bench_dec_unmap(path, &s->buf[--s->nr]);
		ret = ret ?: r;
		sg_free_table(&s->buf[s->nr].sgt);
	}
	return ret;
}

/* Map a session's long-lived buffers for a frame of @frame bytes. */
static int bench_dec_session_start(enum bench_path path,
				   struct bench_dec_session *s, u64 frame)
{
	static const unsigned int div[] = { 1, 16, 0 };
	unsigned int kind, i;
	int ret;

	s->nr = 0;
	for (kind = 0; kind < 3; kind++) {
		for (i = 0; i < BENCH_DEC_REFS; i++) {
			struct bench_dec_buf *b = &s->buf[s->nr];

			/* frame, its motion vectors, 16 KiB of metadata */
			ret = bench_dec_buf_init(b, div[kind] ?
						 frame / div[kind] : SZ_16K);
			if (ret)
				return ret;
			s->nr++;
			ret = bench_dec_map(path, b);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* @frames frames of one session: per-frame ns into @ns. */
static int bench_dec_frames(enum bench_path path, u32 frames, u64 *seed,
			    u64 *ns)
{
	struct bench_dec_buf bits, meta;
	unsigned int order;
	u64 t, pages;
	u32 f;
	int ret = 0;

	for (f = 0; f < frames && !ret; f++) {
		/* Log-uniform 4 KiB-2 MiB bitstream, 4-16 KiB metadata. */
		order = bench_rand(seed) % 10;
		pages = BIT(order) + bench_rand(seed) % BIT(order);
		ret = bench_dec_buf_init(&bits, min_t(u64, pages, 512) * PAGE_SIZE);
		if (ret)
			break;
		ret = bench_dec_buf_init(&meta, (1 + bench_rand(seed) % 4) *
					 PAGE_SIZE);
		if (ret) {
			sg_free_table(&bits.sgt);
			break;
		}
		t = ktime_get_ns();
		ret = bench_dec_map(path, &bits) ?: bench_dec_map(path, &meta);
		ret = bench_dec_unmap(path, &meta) ?: ret;
		ret = bench_dec_unmap(path, &bits) ?: ret;
		ns[f] = ktime_get_ns() - t;
		sg_free_table(&meta.sgt);
		sg_free_table(&bits.sgt);
		cond_resched();
	}
	return ret;
}

/* How many sessions' long-lived buffers fit at once (at most @max). */
static int bench_dec_sessions(enum bench_path path, u64 frame,
			      unsigned int max, unsigned int *fit)
{
	struct bench_dec_session *s;
	unsigned int n;
	int ret = 0, r;

	s = kvcalloc(max, sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	for (n = 0; n < max; n++) {
		ret = bench_dec_session_start(path, &s[n], frame);
		/* Out of IOVA space: ENOSPC from vpudom, ENOMEM from the DMA API. */
		if (ret == -ENOSPC || ret == -ENOMEM) {
			ret = bench_dec_session_end(path, &s[n]);
			break;
		}
		if (ret) {
			n++;
			break;
		}
	}
	*fit = n;
	while (n--) {
		r = bench_dec_session_end(path, &s[n]);
		ret = ret ?: r;
	}
	kvfree(s);
	return ret;
}

/* Share of the free IOVA space of the decoder's block outside its largest free range. */
static unsigned int bench_dec_frag(void)
{
	struct vpudom_ctx *ctx = bench_ctx(BENCH_BLOCK_TIME);
	u64 usable = 0, free, largest;
	unsigned int i;

	mutex_lock(&ctx->lock);
	for (i = 0; i < ctx->nr_usable; i++)
		usable += ctx->usable[i].last - ctx->usable[i].start + 1;
	free = usable - ctx->iova.mapped;
	largest = vpudom_iova_largest_free(&ctx->iova);
	mutex_unlock(&ctx->lock);
	return free ? div64_u64((free - largest) * 100, free) : 0;
}

static int bench_decode(enum bench_path path, u64 frame, u32 frames,
			u64 seed, unsigned int max_sessions)
{
	struct bench_dec_session *s;
	unsigned int fit, frag = 0;
	u64 *ns;
	int ret, r;

	if (!frames || frames > BENCH_DEC_MAX_FRAMES || !max_sessions ||
	    max_sessions > BENCH_DEC_MAX_SESSIONS)
		return -EINVAL;
	ns = kvmalloc_array(frames, sizeof(*ns), GFP_KERNEL);
	s = kvzalloc(sizeof(*s), GFP_KERNEL);
	if (!ns || !s) {
		ret = -ENOMEM;
		goto free;
	}
	ret = bench_dec_session_start(path, s, frame);
	if (!ret)
		ret = bench_dec_frames(path, frames, &seed, ns);
	if (!ret && path == BENCH_VPUDOM)
		frag = bench_dec_frag();
	r = bench_dec_session_end(path, s);
	ret = ret ?: r;
	if (!ret)
		ret = bench_dec_sessions(path, frame, max_sessions, &fit);
	if (!ret) {
		sort(ns, frames, sizeof(*ns), bench_cmp_u64, NULL);
		snprintf(bench.result, sizeof(bench.result),
			 "median %llu p99 %llu sessions %u frag %u\n",
			 ns[frames / 2], ns[frames - 1 - frames / 100], fit,
			 frag);
	}
free:
	kvfree(s);
	kvfree(ns);
	return ret;
}

static int bench_run(char *cmd)
{
	char verb[16], name[16], layout[16];
	enum bench_path path;
	u64 size, ns = 0, seed;
	u32 iters, count, reps;
	bool contig;
	int ret;

	ret = bench_get_vpu();
	if (ret)
		return ret;
	if (sscanf(cmd, "%15s", verb) != 1)
		return -EINVAL;
	bench.result[0] = '\0';
	if (!strcmp(verb, "sg")) {
		if (sscanf(cmd, "sg %15s %llu %15s %u", name, &size, layout,
			   &iters) != 4 || bench_parse_path(name, &path) ||
		    path == BENCH_ALLOC || bench_parse_layout(layout, &contig))
			return -EINVAL;
		ret = bench_buf_get(size, contig);
		if (!ret)
			ret = bench_loop(path, &bench.buf.sgt, size, iters, &ns);
	} else if (!strcmp(verb, "scale")) {
		if (sscanf(cmd, "scale %15s %u %u %u", name, &count, &iters,
			   &reps) != 4 || bench_parse_path(name, &path) ||
		    count > BENCH_MAX_LIVE)
			return -EINVAL;
		ret = bench_scale(path, count, iters, reps);
		if (!ret)
			strlcat(bench.result, "\n", sizeof(bench.result));
		return ret;
	} else if (!strcmp(verb, "fill")) {
		if (sscanf(cmd, "fill %llu", &seed) != 1)
			return -EINVAL;
		return bench_fill(seed);
	} else if (!strcmp(verb, "pt")) {
		if (sscanf(cmd, "pt %15s %llu %15s", name, &size, layout) != 3 ||
		    bench_parse_path(name, &path) ||
		    bench_parse_layout(layout, &contig))
			return -EINVAL;
		return bench_pt(path, size, contig);
	} else if (!strcmp(verb, "batch")) {
		if (sscanf(cmd, "batch %u %15s", &count, layout) != 2 ||
		    (strcmp(layout, "contig") && strcmp(layout, "apart")))
			return -EINVAL;
		return bench_batch(count, !strcmp(layout, "apart"));
	} else if (!strcmp(verb, "hold")) {
		if (sscanf(cmd, "hold %15s %u", name, &count) != 2 ||
		    bench_parse_path(name, &path) ||
		    (path != BENCH_VPUDOM && path != BENCH_DMA))
			return -EINVAL;
		ret = bench_populate(path, count);
		if (ret) {
			bench_depopulate();
			return ret;
		}
		snprintf(bench.result, sizeof(bench.result), "held %u\n",
			 count);
		return 0;
	} else if (!strcmp(verb, "parts")) {
		count = 0;
		if (sscanf(cmd, "parts %u %u", &iters, &count) < 1 || !iters)
			return -EINVAL;
		return bench_parts(iters, count);
	} else if (!strcmp(verb, "threads")) {
		if (sscanf(cmd, "threads %u %15s %u", &count, layout,
			   &iters) != 3 || !iters ||
		    (strcmp(layout, "same") && strcmp(layout, "apart") &&
		     strcmp(layout, "dma")))
			return -EINVAL;
		ret = bench_threads(count, !strcmp(layout, "apart"),
				    !strcmp(layout, "dma"), iters, &ns);
	} else if (!strcmp(verb, "decode")) {
		if (sscanf(cmd, "decode %15s %15s %u %llu %u", name, layout,
			   &iters, &seed, &count) != 5 ||
		    bench_parse_path(name, &path) ||
		    (path != BENCH_VPUDOM && path != BENCH_DMA) ||
		    (strcmp(layout, "4k") && strcmp(layout, "1080p")))
			return -EINVAL;
		/* NV12-like frames: 12 MiB at 4K, 3 MiB at 1080p. */
		return bench_decode(path, strcmp(layout, "4k") ? 3 * SZ_1M :
				    12 * SZ_1M, iters, seed, count);
	} else if (!strcmp(verb, "live")) {
		ret = sscanf(cmd, "live %15s %u", name, &count);
		if (ret < 1)
			return -EINVAL;
		/* "live release" has no count, the others one. */
		if (!strcmp(name, "release")) {
			if (ret != 1)
				return -EINVAL;
			count = bench.live_nr;
			ns = ktime_get_ns();
			ret = bench_live_release();
			if (!ret)
				snprintf(bench.result, sizeof(bench.result),
					 "released %u ns %llu\n", count,
					 ktime_get_ns() - ns);
			return ret;
		}
		if (ret != 2)
			return -EINVAL;
		if (strcmp(name, "pairs")) {
			if (bench_parse_path(name, &path))
				return -EINVAL;
			return bench_live(path, count);
		}
		if (!count)
			return -EINVAL;
		ret = bench_live_pairs(count, &ns);
	} else if (!strcmp(verb, "ptcount")) {
		if (sscanf(cmd, "ptcount %15s", name) != 1)
			return -EINVAL;
		return bench_ptcount(name);
	} else if (!strcmp(verb, "release")) {
		bench_depopulate();
		snprintf(bench.result, sizeof(bench.result), "released\n");
		return 0;
	} else {
		return -EINVAL;
	}
	if (!ret)
		snprintf(bench.result, sizeof(bench.result), "ns %llu\n", ns);
	return ret;
}

static ssize_t bench_cmd_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char cmd[BENCH_CMD_LEN];
	int ret;

	if (len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = '\0';
	mutex_lock(&bench.lock);
	ret = bench_run(cmd);
	if (ret) {
		bench.result[0] = '\0';
		pr_info("vpudom_bench: \"%s\" failed: %d\n", strim(cmd), ret);
	}
	mutex_unlock(&bench.lock);
	return ret ?: len;
}

static ssize_t bench_cmd_read(struct file *file, char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	char result[BENCH_RESULT_LEN];

	mutex_lock(&bench.lock);
	strscpy(result, bench.result, sizeof(result));
	mutex_unlock(&bench.lock);
	return simple_read_from_buffer(ubuf, len, ppos, result,
				       strlen(result));
}

static const struct file_operations bench_cmd_fops = {
	.owner = THIS_MODULE,
	.write = bench_cmd_write,
	.read = bench_cmd_read,
	.llseek = default_llseek,
};

static int bench_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int ret;

	mutex_lock(&bench.lock);
	/* One device is the DMA API path; others are not this driver's. */
	if (bench.pdev) {
		ret = -ENODEV;
		goto unlock;
	}
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(32));
	if (ret)
		goto unlock;
	bench.pdev = pdev;
unlock:
	mutex_unlock(&bench.lock);
	return ret;
}

static void bench_remove(struct pci_dev *pdev)
{
	mutex_lock(&bench.lock);
	if (bench.pdev == pdev) {
		if (bench.live_addr)
			bench_live_release();
		while (bench.nr_held)
			dma_unmap_page(&pdev->dev, bench.held[--bench.nr_held],
				       PAGE_SIZE, DMA_BIDIRECTIONAL);
		bench.pdev = NULL;
	}
	mutex_unlock(&bench.lock);
}

static const struct pci_device_id bench_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },	/* QEMU edu */
	{ }
};
MODULE_DEVICE_TABLE(pci, bench_ids);

static struct pci_driver bench_driver = {
	.name = "vpudom_bench",
	.id_table = bench_ids,
	.probe = bench_probe,
	.remove = bench_remove,
};

static int bench_sg_init(struct sg_table *sgt, unsigned int n)
{
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	ret = sg_alloc_table(sgt, n, GFP_KERNEL);
	if (ret)
		return ret;
	for_each_sgtable_sg(sgt, sg, i)
		sg_set_page(sg, bench.page, PAGE_SIZE, 0);
	return 0;
}

static int __init bench_init(void)
{
	int ret;

	bench.held = vmalloc(array_size(BENCH_MAX_LIVE, sizeof(*bench.held)));
	if (!bench.held)
		return -ENOMEM;
	bench.page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!bench.page) {
		ret = -ENOMEM;
		goto free_held;
	}
	ret = bench_sg_init(&bench.one, 1);
	if (ret)
		goto free_page;
	ret = bench_sg_init(&bench.many, BENCH_FILL_MAX_PAGES);
	if (ret)
		goto free_one;
	bench.records = KMEM_CACHE(vpudom_mapping, 0);
	if (!bench.records) {
		ret = -ENOMEM;
		goto free_many;
	}
	ret = pci_register_driver(&bench_driver);
	if (ret)
		goto destroy_records;
	bench.dir = debugfs_create_dir("vpudom_bench", NULL);
	debugfs_create_file("cmd", 0600, bench.dir, NULL, &bench_cmd_fops);
	return 0;

destroy_records:
	kmem_cache_destroy(bench.records);
free_many:
	sg_free_table(&bench.many);
free_one:
	sg_free_table(&bench.one);
free_page:
	__free_page(bench.page);
free_held:
	vfree(bench.held);
	return ret;
}

static void __exit bench_exit(void)
{
	debugfs_remove_recursive(bench.dir);
	mutex_lock(&bench.lock);
	bench_ptcount("stop");
	if (bench.vd)
		bench_live_release();
	if (bench.live_vd) {
		vpudom_put(bench.live_vd);
		bench.live_vd = NULL;
	}
	if (bench.vd) {
		bench_depopulate();
		vpudom_put(bench.vd);
		bench.vd = NULL;
	}
	bench_buf_free(&bench.buf);
	mutex_unlock(&bench.lock);
	pci_unregister_driver(&bench_driver);
	kmem_cache_destroy(bench.records);
	sg_free_table(&bench.many);
	sg_free_table(&bench.one);
	__free_page(bench.page);
	vfree(bench.held);
}

module_init(bench_init);
module_exit(bench_exit);

MODULE_DESCRIPTION("Test-only: vpudom against the DMA API and the bare IOMMU API");
MODULE_LICENSE("GPL");
