#ifndef CSVSTORM_CSYSTEM_EXTRAS_H
#define CSVSTORM_CSYSTEM_EXTRAS_H

#include <stddef.h>
#include <stdint.h>

/// What Swift's Glibc module does not export: O_DIRECT, Linux native AIO, mallopt.
///
/// Direct (O_DIRECT) file writes submitted asynchronously with Linux native AIO
/// (io_setup/io_submit/io_getevents), so the thread that submits them does not wait for the
/// device. Elsewhere every function fails with -ENOSYS and callers write synchronously.
///
/// Native AIO is asynchronous for O_DIRECT writes only inside the file's current size (ext4,
/// XFS: a write that extends the file completes inside io_submit), so a file is first given
/// its final size with csvstorm_dio_preallocate.

#ifdef __cplusplus
extern "C" {
#endif

/// The O_DIRECT open flag (0 where there is none).
int csvstorm_dio_open_flag(void);

/// Gives the file at least `length` bytes (fallocate, else ftruncate). 0 or -errno.
int csvstorm_dio_preallocate(int fd, int64_t length);

/// A new AIO context for up to `depth` writes in flight. 0 or -errno.
int csvstorm_dio_setup(unsigned depth, uint64_t *context);

/// Waits for every write in flight, then frees the context. 0 or -errno.
int csvstorm_dio_destroy(uint64_t context);

/// Submits a write of `length` bytes at `buffer` (aligned, and to stay valid until its
/// completion is reaped) to `offset` of `fd`; `tag` comes back with the completion.
/// 0 or -errno.
int csvstorm_dio_submit_write(uint64_t context, int fd, const void *buffer, size_t length, int64_t offset, uint64_t tag);

/// Reaps between `minimum` and `maximum` completions (waits until `minimum` have come):
/// for each, its tag and its result (bytes written, or -errno). Returns how many, or -errno.
int csvstorm_dio_reap(uint64_t context, int minimum, int maximum, uint64_t *tags, int64_t *results);

/// Keeps freed buffers of up to `largest` bytes in malloc's heaps instead of returning them to
/// the kernel (mallopt M_MMAP_THRESHOLD, and M_TRIM_THRESHOLD to `retained`): a server that
/// receives into short-lived 256 KiB buffers otherwise maps, faults in, zeroes and unmaps each
/// one. 0 on success, -1 where not supported (not glibc).
int csvstorm_malloc_keep_buffers(size_t largest, size_t retained);

#ifdef __cplusplus
}
#endif

#endif
