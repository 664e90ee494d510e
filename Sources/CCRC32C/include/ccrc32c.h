#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Extends a CRC32C (Castagnoli) over `length` bytes. Start with `crc = 0`.
/// Uses the SSE4.2 / ARMv8 CRC instructions when the CPU has them, a table otherwise.
uint32_t csvstorm_crc32c_update(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware path is in use.
int csvstorm_crc32c_hardware(void);

/// Extends a CRC-32 (IEEE 802.3 / zlib polynomial, as S3's `x-amz-checksum-crc32`) over `length`
/// bytes, with zlib's convention: start with `crc = 0`; updating with `a` then `b` gives the CRC
/// of `a` followed by `b`. PCLMULQDQ folding on x86-64 CPUs that have it (inputs of 64 bytes or
/// more), slicing-by-8 tables otherwise.
uint32_t csvstorm_crc32_update(uint32_t crc, const void *data, size_t length);

/// The same CRC-32 through the tables only (for tests and benchmarks).
uint32_t csvstorm_crc32_update_portable(uint32_t crc, const void *data, size_t length);

/// 1 when `csvstorm_crc32_update` uses the carry-less-multiply path.
int csvstorm_crc32_hardware(void);

#ifdef __cplusplus
}
#endif

#endif
