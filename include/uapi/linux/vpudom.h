/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vpudom - per-stream IOMMU domains for VPUs whose IOVA selects the stream
 *
 * User API of /dev/vpudom<N>, one character device per VPU instance.
 */
#ifndef _UAPI_LINUX_VPUDOM_H
#define _UAPI_LINUX_VPUDOM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VPUDOM_TYPE	0xBE

/**
 * DOC: General ioctl format
 *
 * The ioctl interface follows iommufd.  Every ioctl passes a struct whose
 * first field, @size, holds the size of the struct as user space knows it;
 * the kernel copies it with copy_struct_from_user(), so that the struct can
 * grow at its end:
 *
 * - @size smaller than the struct's first version: EINVAL;
 * - @size larger than the kernel knows, with only zeroes past the end it
 *   knows: accepted as if exact; with anything else there: E2BIG.
 *
 * Flags the kernel does not know and non-zero ``__reserved`` fields are
 * refused with EOPNOTSUPP.  Arguments are then checked for ranges and
 * overflow, then the objects they name are looked up, then the work is
 * done; nothing changes when an ioctl fails.
 *
 * Each open file is a session: it owns the mappings it makes, can neither
 * see nor unmap the mappings of another session, and closing it unmaps
 * everything it still owns.
 *
 * Errors common to every ioctl:
 *
 * ============ =========================================================
 * ENOTTY       unknown ioctl number
 * EFAULT       the argument, or an array it points to, is not accessible;
 *              a map whose answer cannot be written back is undone (that
 *              mapping only, not whatever another thread mapped at its
 *              IOVA since)
 * EINVAL       @size below the first version of the struct
 * E2BIG        @size larger than known, with non-zero bytes past the end
 * EOPNOTSUPP   unknown flag, or a non-zero ``__reserved`` field
 * ENODEV       the VPU was unbound; only close() is left to do
 * ============ =========================================================
 *
 * Errors of the mapping ioctls:
 *
 * ============ =========================================================
 * EINVAL       no access flag; zero length; IOVA, length, address or
 *              offset not aligned to the page size; no block, or a block
 *              that does not exist; an unmap range that cuts through a
 *              mapping
 * EOVERFLOW    address + length or IOVA + length wraps around
 * ERANGE       a fixed IOVA range not entirely inside every usable window
 *              (checked against the blocks' hardware windows before any
 *              memory is pinned or attached, and again when mapping)
 * EADDRINUSE   a fixed IOVA range over a reserved hole (an IOMMU reserved
 *              region such as the MSI window, a carve-out, IOVA 0), or
 *              over the IOVAs of a mapping the IOMMU could not entirely
 *              unmap (kept out of use, its memory leaked, until the VPU
 *              is unbound)
 * EACCES       a fixed IOVA range over a block's kernel-only range (kept
 *              by the hardware description for the in-kernel API;
 *              checked before any memory is pinned or attached)
 * EEXIST       a fixed IOVA range over a live mapping
 * ENOSPC       no IOVA range of the length is free in every block asked
 *              for (the blocks' windows may not even meet)
 * EFBIG        @length longer than one mapping may be (module parameter
 *              max_map_bytes, default 1 GiB); nothing is allocated
 * EFAULT       the user range is not entirely mapped in the process, or
 *              the device may write to it and it is read-only, or it is
 *              a shared mapping of a file other than shmem (tmpfs, memfd,
 *              SysV shm) and hugetlbfs: the device must not write the
 *              page cache behind the filesystem
 * ENOMEM       out of memory, or the pinned pages would take the locked
 *              memory of the calling user (shared by all its processes,
 *              sessions, io_uring and iommufd) over the caller's
 *              RLIMIT_MEMLOCK (CAP_IPC_LOCK lifts that limit)
 * EMFILE       the session holds the most mappings allowed (module
 *              parameter max_mappings)
 * EDQUOT       the calling user would hold, through all its sessions of
 *              every VPU, more mappings than max_user_mappings (default
 *              65536) or more IOVA bytes than max_user_bytes (default
 *              2 GiB; a mapping counts once in each block it is in);
 *              dma-buf mappings count too
 * ENOENT       unmap: no mapping of this session in the range
 * EBADF        map of a dma-buf: the fd is not a dma-buf
 * EREMOTEIO    map of a dma-buf: the exporter gave the VPU an address that
 *              is not RAM
 * ============ =========================================================
 */

enum {
	VPUDOM_CMD_BASE = 0x80,
	VPUDOM_CMD_INFO = VPUDOM_CMD_BASE,
	VPUDOM_CMD_IOVA_RANGES,
	VPUDOM_CMD_MAP_USER,
	VPUDOM_CMD_MAP_DMABUF,
	VPUDOM_CMD_UNMAP,
	VPUDOM_CMD_SYNC,
};

/**
 * struct vpudom_block_info - one block of the VPU
 * @name: the block's name, NUL-terminated
 * @index: the block number, the bit of the block in block masks
 * @sid: the stream ID its DMA is issued on
 * @window_start: first IOVA of the block's hardware window
 * @window_last: last IOVA of the window (inclusive)
 * @pgsize_bitmap: page sizes of the block's IOMMU domain
 */
struct vpudom_block_info {
	char name[16];
	__u32 index;
	__u32 sid;
	__aligned_u64 window_start;
	__aligned_u64 window_last;
	__aligned_u64 pgsize_bitmap;
};

/**
 * struct vpudom_info - ioctl(VPUDOM_INFO)
 * @size: sizeof(struct vpudom_info)
 * @flags: must be 0
 * @num_blocks: in: entries in the array at @blocks_uptr; out: the number
 *	of blocks of the VPU
 * @__reserved: must be 0
 * @blocks_uptr: user pointer to an array of struct vpudom_block_info
 * @out_device: the VPU's device name, as sysfs and the kernel log know it
 *	("vpu", "0000:00:01.0", ...), NUL-terminated, cut to fit
 * @out_hardware: the name of its hardware description ("ref-vpu"; "dt"
 *	for a VPU whose windows come from the devicetree alone),
 *	NUL-terminated, cut to fit
 *
 * Describes the VPU and its blocks.  If @num_blocks is too small, it is set
 * to the number needed and the ioctl fails with EMSGSIZE, writing nothing
 * into the array.  @out_device and @out_hardware tell several
 * /dev/vpudom<N> apart; a caller built before they existed passes the
 * shorter struct and gets the rest as before.
 */
struct vpudom_info {
	__u32 size;
	__u32 flags;
	__u32 num_blocks;
	__u32 __reserved;
	__aligned_u64 blocks_uptr;
	char out_device[64];
	char out_hardware[32];
};

#define VPUDOM_INFO _IO(VPUDOM_TYPE, VPUDOM_CMD_INFO)

/**
 * struct vpudom_iova_range - an inclusive range of IOVAs
 * @start: first IOVA
 * @last: last IOVA
 */
struct vpudom_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct vpudom_iova_ranges - ioctl(VPUDOM_IOVA_RANGES)
 * @size: sizeof(struct vpudom_iova_ranges)
 * @flags: must be 0
 * @block: the block number
 * @num_ranges: in: entries in the array at @ranges_uptr; out: the number
 *	of usable ranges of the block
 * @ranges_uptr: user pointer to an array of struct vpudom_iova_range
 *
 * The IOVAs the block can map: its window ∩ its domain's aperture − the
 * IOMMU's reserved regions − carve-outs − IOVA 0 − the block's kernel-only
 * range, if its hardware description has one, in ascending order.  If
 * @num_ranges is too small, it is set to the number needed and the ioctl
 * fails with EMSGSIZE, writing nothing into the array.  EINVAL for a block
 * that does not exist.
 */
struct vpudom_iova_ranges {
	__u32 size;
	__u32 flags;
	__u32 block;
	__u32 num_ranges;
	__aligned_u64 ranges_uptr;
};

#define VPUDOM_IOVA_RANGES _IO(VPUDOM_TYPE, VPUDOM_CMD_IOVA_RANGES)

/**
 * enum vpudom_map_flags - flags of the mapping ioctls
 * @VPUDOM_MAP_READ: the device may read the memory
 * @VPUDOM_MAP_WRITE: the device may write the memory
 * @VPUDOM_MAP_FIXED_IOVA: map at the IOVA given in @iova instead of one
 *	vpudom picks
 */
enum vpudom_map_flags {
	VPUDOM_MAP_READ = 1 << 0,
	VPUDOM_MAP_WRITE = 1 << 1,
	VPUDOM_MAP_FIXED_IOVA = 1 << 2,
};

/**
 * struct vpudom_map_user - ioctl(VPUDOM_MAP_USER)
 * @size: sizeof(struct vpudom_map_user)
 * @flags: enum vpudom_map_flags; at least one of READ and WRITE
 * @blocks: mask of block numbers; with several bits the memory is mapped
 *	into every one of them at one IOVA, or into none
 * @user_va: page-aligned start of the memory in the calling process
 * @length: page-aligned length in bytes
 * @iova: in, with VPUDOM_MAP_FIXED_IOVA: the page-aligned IOVA to use;
 *	out: the IOVA used
 *
 * Pins the memory (writable only if the device may write; then only
 * anonymous, shmem and hugetlbfs memory) for as long as it is mapped and
 * charges it to the locked memory of the calling user, against the
 * caller's RLIMIT_MEMLOCK.  Without VPUDOM_MAP_FIXED_IOVA vpudom picks an
 * IOVA in the common usable ranges, aligned to the largest IOMMU page size
 * not larger than @length: the lowest free one for a buffer under 512 KiB,
 * one from the top of the window for a larger one.
 */
struct vpudom_map_user {
	__u32 size;
	__u32 flags;
	__aligned_u64 blocks;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define VPUDOM_MAP_USER _IO(VPUDOM_TYPE, VPUDOM_CMD_MAP_USER)

/**
 * struct vpudom_map_dmabuf - ioctl(VPUDOM_MAP_DMABUF)
 * @size: sizeof(struct vpudom_map_dmabuf)
 * @flags: enum vpudom_map_flags; at least one of READ and WRITE
 * @fd: the dma-buf
 * @__reserved: must be 0
 * @blocks: mask of block numbers, as for VPUDOM_MAP_USER
 * @offset: page-aligned offset into the dma-buf
 * @length: page-aligned length; @offset + @length within the dma-buf
 * @iova: in, with VPUDOM_MAP_FIXED_IOVA: the IOVA to use; out: the IOVA used
 *
 * The session attaches the VPU to a dma-buf once: every mapping of it in the
 * session shares that attachment, which lives as long as the last of them
 * (a dma-buf mapping is charged to the user like any other).  The VPU
 * device's DMA addresses are physical (probe refuses a VPU node behind an
 * IOMMU or shifted by dma-ranges), so the addresses the exporter gives it
 * are mapped as they are; one that is not RAM is refused (EREMOTEIO).
 */
struct vpudom_map_dmabuf {
	__u32 size;
	__u32 flags;
	__s32 fd;
	__u32 __reserved;
	__aligned_u64 blocks;
	__aligned_u64 offset;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define VPUDOM_MAP_DMABUF _IO(VPUDOM_TYPE, VPUDOM_CMD_MAP_DMABUF)

/**
 * enum vpudom_unmap_flags - flags of VPUDOM_UNMAP
 * @VPUDOM_UNMAP_ALL: unmap every mapping of the session; @block, @iova and
 *	@length must be 0
 */
enum vpudom_unmap_flags {
	VPUDOM_UNMAP_ALL = 1 << 0,
};

/**
 * struct vpudom_unmap - ioctl(VPUDOM_UNMAP)
 * @size: sizeof(struct vpudom_unmap)
 * @flags: enum vpudom_unmap_flags
 * @block: the block whose IOVAs @iova and @length name
 * @__reserved: must be 0
 * @iova: first IOVA of the range
 * @length: in: length of the range; out: bytes unmapped
 *
 * Unmaps every mapping of the session that lies entirely inside the range,
 * from every block it is mapped into.  A range that cuts through one of the
 * session's mappings unmaps nothing (EINVAL); one that holds none fails with
 * ENOENT.  When the ioctl returns, the device can no longer reach the
 * memory.
 */
struct vpudom_unmap {
	__u32 size;
	__u32 flags;
	__u32 block;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define VPUDOM_UNMAP _IO(VPUDOM_TYPE, VPUDOM_CMD_UNMAP)

/**
 * enum vpudom_sync_flags - flags of VPUDOM_SYNC; exactly one is given
 * @VPUDOM_SYNC_BEGIN_CPU: the CPU is about to access the range: what the
 *	device wrote becomes visible to it (the CPU caches are invalidated)
 * @VPUDOM_SYNC_END_CPU: the CPU is done with the range: what it wrote
 *	becomes visible to the device (the CPU caches are written back)
 */
enum vpudom_sync_flags {
	VPUDOM_SYNC_BEGIN_CPU = 1 << 0,
	VPUDOM_SYNC_END_CPU = 1 << 1,
};

/**
 * struct vpudom_sync - ioctl(VPUDOM_SYNC)
 * @size: sizeof(struct vpudom_sync)
 * @flags: enum vpudom_sync_flags: exactly one
 * @block: a block the mapping is in
 * @__reserved: must be 0
 * @iova: first IOVA of the range, page-aligned
 * @length: page-aligned length; the range lies inside one mapping of the
 *	session
 *
 * A block that does not snoop the CPU caches (no ``dma-coherent``, or an
 * IOMMU without coherent access) maps user memory non-cacheable, and
 * vpudom maintains the CPU caches for it: written back when it is mapped,
 * invalidated when it is unmapped.  In between, the device owns the memory,
 * as with the kernel's DMA API: a process that reads what the device wrote,
 * or writes what the device will read, brackets those accesses with
 * VPUDOM_SYNC_BEGIN_CPU and VPUDOM_SYNC_END_CPU.  On a block that snoops
 * the CPU caches (debugfs shows the mapping "cached") the call does
 * nothing, so portable code always makes it.  A dma-buf's caches are its
 * exporter's business: use DMA_BUF_IOCTL_SYNC on the dma-buf.
 *
 * Errors, besides the common ones:
 *
 * ============ =========================================================
 * EINVAL       not exactly one flag; zero length; IOVA or length not
 *              page-aligned; a block that does not exist; the range goes
 *              past the end of the mapping that holds @iova
 * EOVERFLOW    @iova + @length wraps around
 * ENOENT       no mapping of this session holds @iova in @block
 * EXDEV        the mapping is of a dma-buf: its exporter maintains it
 *              (DMA_BUF_IOCTL_SYNC)
 * ============ =========================================================
 */
struct vpudom_sync {
	__u32 size;
	__u32 flags;
	__u32 block;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define VPUDOM_SYNC _IO(VPUDOM_TYPE, VPUDOM_CMD_SYNC)

#endif /* _UAPI_LINUX_VPUDOM_H */
