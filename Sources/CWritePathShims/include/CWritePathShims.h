// C shims for writepath: each exists because Swift cannot import the macro, ioctl or kernel
// struct it wraps. Every symbol is prefixed `wp_`. Return values follow the kernel convention:
// 0 or a positive value on success, -errno on failure, unless stated otherwise.
#ifndef WRITEPATH_SHIMS_H
#define WRITEPATH_SHIMS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h> /* ssize_t */
struct rusage;

/// open(2) flags that the Glibc module hides behind _GNU_SOURCE.
int wp_o_direct(void);
int wp_o_dsync(void);
int wp_o_excl(void);

/// The ioctl BLKSSZGET: logical block size of a block device in bytes.
int wp_blk_logical_block_size(int fd, uint32_t *bytes);
/// The ioctl BLKPBSZGET: physical block size of a block device in bytes.
int wp_blk_physical_block_size(int fd, uint32_t *bytes);
/// The ioctl BLKGETSIZE64: size of a block device in bytes.
int wp_blk_size_bytes(int fd, uint64_t *bytes);

/// statx(STATX_DIOALIGN): O_DIRECT memory and offset alignment in bytes.
/// Returns 0 and sets both when the kernel and filesystem report them, 1 when they do not
/// (kernel < 6.1 or a filesystem without the field), or -errno.
int wp_statx_dio_alignment(int fd, uint32_t *mem_align, uint32_t *offset_align);

/// getrusage(RUSAGE_THREAD): CPU use of the calling thread only.
int wp_thread_rusage(struct rusage *usage);

/// fallocate(2) with mode 0 (allocate, extend the file size).
int wp_fallocate(int fd, uint64_t offset, uint64_t length);

/// setxattr/fgetxattr on an open file; -errno on failure (ENOTSUP where the filesystem lacks them).
int wp_fsetxattr(int fd, const char *name, const void *value, size_t size);
ssize_t wp_fgetxattr(int fd, const char *name, void *value, size_t size);

/// Count the pages of [offset, offset+length) of an open file that are resident in the page
/// cache (mmap + mincore). Returns the number of resident pages, or -errno.
int64_t wp_resident_pages(int fd, uint64_t offset, uint64_t length, uint64_t *total_pages);

/// The calling thread's kernel thread id.
int wp_gettid(void);

/// IORING_SETUP_* and IORING_FEAT_* values from liburing's copy of io_uring.h, exposed as
/// functions so that the engine can name them even where the Swift importer cannot.
uint32_t wp_ioring_setup_single_issuer(void);
uint32_t wp_ioring_setup_defer_taskrun(void);
uint32_t wp_ioring_setup_coop_taskrun(void);
uint32_t wp_ioring_setup_sqpoll(void);
uint32_t wp_ioring_setup_submit_all(void);
uint32_t wp_ioring_fsync_datasync(void);

/// IORING_SETUP_SQE128 and IORING_SETUP_CQE32 (Linux 5.19): 128-byte submission entries, which
/// carry an NVMe command, and 32-byte completions, which carry its result (io_uring_cmd).
uint32_t wp_ioring_setup_sqe128(void);
uint32_t wp_ioring_setup_cqe32(void);

/// The ioctl NVME_IOCTL_ID on an NVMe device (block or generic char): the namespace id it
/// addresses, or -errno (ENOTTY: not an NVMe device).
int wp_nvme_namespace_id(int fd);
/// The NVMe admin command Identify Namespace (opcode 0x06, CNS 0, NVM command set) through the
/// ioctl NVME_IOCTL_ADMIN_CMD into `data` (4096 bytes): 0, the NVMe status (positive) when the
/// controller refused the command, or -errno.
int wp_nvme_identify_namespace(int fd, uint32_t nsid, void *data);
/// Fills the 128-byte submission entry `sqe` (a ring set up with SQE128) with an NVMe I/O command
/// for IORING_OP_URING_CMD: `opcode` (0x01 write, 0x02 read, 0x00 flush) on namespace `nsid`,
/// starting at logical block `slba`, `blocks` logical blocks long (0 for a flush), from `buffer`
/// of `length` bytes. `file` is the fd, or the registered file's index when `fixed_file`.
/// `iov` non-NULL: the vectored command (NVME_URING_CMD_IO_VEC) with this one-entry iovec, else
/// NVME_URING_CMD_IO. `buffer_index` >= 0: the registered buffer (IORING_URING_CMD_FIXED).
/// user_data is left for the caller.
void wp_prep_nvme_io(
    void *sqe, int file, int fixed_file, uint8_t opcode, uint32_t nsid, uint64_t slba, uint32_t blocks, void *buffer,
    uint32_t length, void *iov, int buffer_index);

/// The git commit writepath was built from (set by Package.swift), or "unknown".
const char *wp_git_commit(void);

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `crc` (start with 0). Uses the SSE4.2
/// crc32 instruction when the CPU has it, else a table.
uint32_t wp_crc32c(uint32_t crc, const void *data, size_t length);

/// The CPUs the calling thread may run on (sched_getaffinity), at most `capacity` of them,
/// ascending: how many were written, or -errno.
int wp_thread_allowed_cpus(int *cpus, int capacity);
/// Restricts the calling thread to `count` CPUs (sched_setaffinity): 0 or -errno.
int wp_set_thread_cpus(const int *cpus, int count);
/// How many io_uring io-wq worker threads of the calling thread exist now (threads of this
/// process named `iou-wrk-<tid>`, the tid in the initial PID namespace), or -errno when
/// /proc/self/task cannot be read. Inside a PID namespace, where that tid is not visible, it
/// counts every worker of the process (the same finding for one job per process).
int wp_iowq_workers_of_current_thread(void);

/// Whether the CPU says a hypervisor is present (CPUID leaf 1, ECX bit 31): 1, writing the
/// hypervisor's 12-character signature from leaf 0x40000000 (e.g. "KVMKVMKVM") NUL-terminated
/// into `signature`; 0 when none is present; -1 on a CPU without CPUID (not x86).
int wp_cpuid_hypervisor(char signature[13]);

#endif
