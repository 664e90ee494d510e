#define _GNU_SOURCE
#include "csystem_extras.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
int csvstorm_malloc_keep_buffers(size_t largest, size_t retained) {
    // Setting either threshold turns off glibc's dynamic adjustment of both.
    if (mallopt(M_MMAP_THRESHOLD, (int)largest) != 1) return -1;
    if (mallopt(M_TRIM_THRESHOLD, (int)retained) != 1) return -1;
    return 0;
}
#else
int csvstorm_malloc_keep_buffers(size_t largest, size_t retained) { (void)largest; (void)retained; return -1; }
#endif

#if defined(__linux__)
#include <linux/aio_abi.h>
#include <sys/syscall.h>

int csvstorm_dio_open_flag(void) { return O_DIRECT; }

int csvstorm_dio_preallocate(int fd, int64_t length) {
    if (fallocate(fd, 0, 0, (off_t)length) == 0) return 0;
    if (ftruncate(fd, (off_t)length) == 0) return 0;
    return -errno;
}

int csvstorm_dio_setup(unsigned depth, uint64_t *context) {
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, depth, &ctx) != 0) return -errno;
    *context = (uint64_t)ctx;
    return 0;
}

int csvstorm_dio_destroy(uint64_t context) {
    return syscall(SYS_io_destroy, (aio_context_t)context) == 0 ? 0 : -errno;
}

int csvstorm_dio_submit_write(uint64_t context, int fd, const void *buffer, size_t length, int64_t offset, uint64_t tag) {
    // The kernel copies the control block during io_submit: it may live on the stack.
    struct iocb cb;
    memset(&cb, 0, sizeof cb);
    cb.aio_data = tag;
    cb.aio_lio_opcode = IOCB_CMD_PWRITE;
    cb.aio_fildes = (uint32_t)fd;
    cb.aio_buf = (uint64_t)(uintptr_t)buffer;
    cb.aio_nbytes = length;
    cb.aio_offset = offset;
    struct iocb *list[1] = {&cb};
    for (;;) {
        long n = syscall(SYS_io_submit, (aio_context_t)context, 1L, list);
        if (n == 1) return 0;
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? -errno : -EAGAIN;
    }
}

int csvstorm_dio_reap(uint64_t context, int minimum, int maximum, uint64_t *tags, int64_t *results) {
    struct io_event events[16];
    if (maximum > 16) maximum = 16;
    if (minimum > maximum) minimum = maximum;
    int got = 0;
    for (;;) {
        long n = syscall(SYS_io_getevents, (aio_context_t)context, (long)(minimum > got ? minimum - got : 0),
                         (long)(maximum - got), events + got, NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return got > 0 ? got : -errno;
        }
        got += (int)n;
        if (got >= minimum) break;
    }
    for (int i = 0; i < got; i++) {
        tags[i] = events[i].data;
        results[i] = events[i].res;
    }
    return got;
}

#else

int csvstorm_dio_open_flag(void) { return 0; }
int csvstorm_dio_preallocate(int fd, int64_t length) { (void)fd; (void)length; return -ENOSYS; }
int csvstorm_dio_setup(unsigned depth, uint64_t *context) { (void)depth; (void)context; return -ENOSYS; }
int csvstorm_dio_destroy(uint64_t context) { (void)context; return -ENOSYS; }
int csvstorm_dio_submit_write(uint64_t context, int fd, const void *buffer, size_t length, int64_t offset, uint64_t tag) {
    (void)context; (void)fd; (void)buffer; (void)length; (void)offset; (void)tag;
    return -ENOSYS;
}
int csvstorm_dio_reap(uint64_t context, int minimum, int maximum, uint64_t *tags, int64_t *results) {
    (void)context; (void)minimum; (void)maximum; (void)tags; (void)results;
    return -ENOSYS;
}

#endif
