#define _GNU_SOURCE
#include "CWritePathShims.h"
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/nvme_ioctl.h>
#include <linux/stat.h>
#include <linux/time_types.h>
#include <liburing/io_uring.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

int wp_o_direct(void) { return O_DIRECT; }
int wp_o_dsync(void) { return O_DSYNC; }
int wp_o_excl(void) { return O_EXCL; }

int wp_blk_logical_block_size(int fd, uint32_t *bytes) {
    int v = 0;
    if (ioctl(fd, BLKSSZGET, &v) != 0) return -errno;
    *bytes = (uint32_t)v;
    return 0;
}

int wp_blk_physical_block_size(int fd, uint32_t *bytes) {
    unsigned int v = 0;
    if (ioctl(fd, BLKPBSZGET, &v) != 0) return -errno;
    *bytes = v;
    return 0;
}

int wp_blk_size_bytes(int fd, uint64_t *bytes) {
    uint64_t v = 0;
    if (ioctl(fd, BLKGETSIZE64, &v) != 0) return -errno;
    *bytes = v;
    return 0;
}

#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U
#endif

int wp_statx_dio_alignment(int fd, uint32_t *mem_align, uint32_t *offset_align) {
    struct statx stx = {0};
    long r = syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx);
    if (r != 0) return -errno;
    if (!(stx.stx_mask & STATX_DIOALIGN)) return 1;
    /* 0 alignment means the file does not support O_DIRECT at all. */
    *mem_align = stx.stx_dio_mem_align;
    *offset_align = stx.stx_dio_offset_align;
    return 0;
}

int wp_thread_rusage(struct rusage *usage) {
    return getrusage(RUSAGE_THREAD, usage) == 0 ? 0 : -errno;
}

int wp_fallocate(int fd, uint64_t offset, uint64_t length) {
    return fallocate(fd, 0, (off_t)offset, (off_t)length) == 0 ? 0 : -errno;
}

int wp_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0) == 0 ? 0 : -errno;
}

ssize_t wp_fgetxattr(int fd, const char *name, void *value, size_t size) {
    ssize_t r = fgetxattr(fd, name, value, size);
    return r >= 0 ? r : -errno;
}

int64_t wp_resident_pages(int fd, uint64_t offset, uint64_t length, uint64_t *total_pages) {
    long page = sysconf(_SC_PAGESIZE);
    uint64_t start = offset - (offset % (uint64_t)page);
    uint64_t len = length + (offset - start);
    uint64_t pages = (len + (uint64_t)page - 1) / (uint64_t)page;
    *total_pages = pages;
    if (pages == 0) return 0;
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)start);
    if (map == MAP_FAILED) return -errno;
    unsigned char *vec = malloc(pages);
    if (!vec) { munmap(map, len); return -ENOMEM; }
    int64_t resident = 0;
    if (mincore(map, len, vec) != 0) {
        resident = -errno;
    } else {
        for (uint64_t i = 0; i < pages; i++) resident += (vec[i] & 1);
    }
    free(vec);
    munmap(map, len);
    return resident;
}

int wp_gettid(void) { return (int)syscall(SYS_gettid); }

uint32_t wp_ioring_setup_single_issuer(void) { return IORING_SETUP_SINGLE_ISSUER; }
uint32_t wp_ioring_setup_defer_taskrun(void) { return IORING_SETUP_DEFER_TASKRUN; }
uint32_t wp_ioring_setup_coop_taskrun(void) { return IORING_SETUP_COOP_TASKRUN; }
uint32_t wp_ioring_setup_sqpoll(void) { return IORING_SETUP_SQPOLL; }
uint32_t wp_ioring_setup_submit_all(void) { return IORING_SETUP_SUBMIT_ALL; }
uint32_t wp_ioring_fsync_datasync(void) { return IORING_FSYNC_DATASYNC; }
uint32_t wp_ioring_setup_sqe128(void) { return IORING_SETUP_SQE128; }
uint32_t wp_ioring_setup_cqe32(void) { return IORING_SETUP_CQE32; }

/* The NVMe command sits in the second half of a 128-byte entry (sqe->cmd: 80 bytes). */
_Static_assert(sizeof(struct io_uring_sqe) == 64, "io_uring_sqe is 64 bytes");
_Static_assert(sizeof(struct nvme_uring_cmd) <= 80, "nvme_uring_cmd fits in an SQE128 entry's command area");

int wp_nvme_namespace_id(int fd) {
    int r = ioctl(fd, NVME_IOCTL_ID);
    return r < 0 ? -errno : r;
}

int wp_nvme_identify_namespace(int fd, uint32_t nsid, void *data) {
    struct nvme_admin_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.opcode = 0x06; /* Identify */
    cmd.nsid = nsid;
    cmd.addr = (uint64_t)(uintptr_t)data;
    cmd.data_len = 4096;
    cmd.cdw10 = 0; /* CNS 0: Identify Namespace */
    cmd.cdw11 = 0; /* CSI 0: NVM command set */
    int r = ioctl(fd, NVME_IOCTL_ADMIN_CMD, &cmd);
    return r < 0 ? -errno : r;
}

void wp_prep_nvme_io(
    void *entry, int file, int fixed_file, uint8_t opcode, uint32_t nsid, uint64_t slba, uint32_t blocks, void *buffer,
    uint32_t length, void *iov, int buffer_index) {
    struct io_uring_sqe *sqe = entry;
    memset(sqe, 0, 128);
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = file;
    if (fixed_file) sqe->flags = IOSQE_FIXED_FILE;
    sqe->cmd_op = iov ? NVME_URING_CMD_IO_VEC : NVME_URING_CMD_IO;
    if (buffer_index >= 0) {
        sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
        sqe->buf_index = (uint16_t)buffer_index;
    }
    struct nvme_uring_cmd *cmd = (struct nvme_uring_cmd *)sqe->cmd;
    cmd->opcode = opcode;
    cmd->nsid = nsid;
    if (blocks > 0) {
        cmd->cdw10 = (uint32_t)(slba & 0xffffffffu); /* starting LBA, low and high dwords */
        cmd->cdw11 = (uint32_t)(slba >> 32);
        cmd->cdw12 = blocks - 1;                     /* number of logical blocks, 0-based */
        if (iov) {
            struct iovec *v = iov;
            v->iov_base = buffer;
            v->iov_len = length;
            cmd->addr = (uint64_t)(uintptr_t)v;
            cmd->data_len = 1; /* the vectored command's data_len counts iovecs */
        } else {
            cmd->addr = (uint64_t)(uintptr_t)buffer;
            cmd->data_len = length;
        }
    }
}

#if __has_include("git_commit.h")
#include "git_commit.h"
#endif
#ifndef WP_GIT_COMMIT
#define WP_GIT_COMMIT "unknown"
#endif
const char *wp_git_commit(void) { return WP_GIT_COMMIT; }

/* CRC-32C: reflected polynomial 0x82F63B78. */
static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : (c >> 1);
        crc32c_table[i] = c;
    }
}

static uint32_t crc32c_sw(uint32_t crc, const unsigned char *p, size_t n) {
    pthread_once(&crc32c_once, crc32c_init_table);
    while (n--) crc = crc32c_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t wp_crc32c(uint32_t crc, const void *data, size_t length) {
    crc = ~crc;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) return ~crc32c_hw(crc, (const unsigned char *)data, length);
#endif
    return ~crc32c_sw(crc, (const unsigned char *)data, length);
}

#include <dirent.h>
#include <sched.h>
#include <stdio.h>

int wp_thread_allowed_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < capacity; cpu++)
        if (CPU_ISSET(cpu, &set)) cpus[n++] = cpu;
    return n;
}

int wp_set_thread_cpus(const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++)
        if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE) CPU_SET(cpus[i], &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

/* The io-wq workers of the process: each one's owner id (the N of its name `iou-wrk-N`), at
 * most `capacity` of them; also every thread id of the process, to tell in which PID namespace
 * the names are numbered. Returns the count of workers, or -errno. */
static int wp_scan_tasks(long *owners, int capacity, long *tids, int tid_capacity, int *tid_count) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -errno;
    int n = 0;
    *tid_count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (*tid_count < tid_capacity) tids[(*tid_count)++] = strtol(e->d_name, NULL, 10);
        char path[64], comm[32] = {0};
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f) continue;  /* the thread ended meanwhile */
        if (fgets(comm, sizeof comm, f) && strncmp(comm, "iou-wrk-", 8) == 0 && n < capacity)
            owners[n++] = strtol(comm + 8, NULL, 10);
        fclose(f);
    }
    closedir(d);
    return n;
}

int wp_iowq_workers_of_current_thread(void) {
    enum { cap = 1024 };
    static __thread long owners[cap], tids[cap];
    int tid_count = 0;
    int n = wp_scan_tasks(owners, cap, tids, cap, &tid_count);
    if (n <= 0) return n;
    /* The kernel names a worker after its owner's id in the initial PID namespace. Where the
     * names match the ids this /proc shows (the host), count this thread's workers. Inside a
     * PID namespace (containers, unshare --pid) the names are ids this process cannot see, and
     * its own global id is unknown: then every worker of the process counts, so the finding is
     * the same as on the host for one job per process. */
    long self = (long)syscall(SYS_gettid);
    int named_here = 0, mine = 0;
    for (int i = 0; i < n; i++) {
        if (owners[i] == self) mine++;
        for (int j = 0; j < tid_count && !named_here; j++)
            if (owners[i] == tids[j]) named_here = 1;
    }
    return named_here ? mine : n;
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

int wp_cpuid_hypervisor(char signature[13]) {
    memset(signature, 0, 13);
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 31))) return 0;  /* the "hypervisor present" bit */
    __cpuid(0x40000000, a, b, c, d);
    memcpy(signature, &b, 4);
    memcpy(signature + 4, &c, 4);
    memcpy(signature + 8, &d, 4);
    return 1;
#else
    return -1;
#endif
}
