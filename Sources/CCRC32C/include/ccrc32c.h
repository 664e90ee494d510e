#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Extends a CRC32C (Castagnoli) over `length` bytes. Start with `crc = 0`.
/// Uses carry-less-multiply folding on x86-64 (VPCLMULQDQ with AVX-512, else PCLMULQDQ) with the
/// SSE4.2 crc32 instruction for short inputs and tails, the ARMv8 CRC instructions on ARM, a
/// table otherwise.
uint32_t csvstorm_crc32c_update(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware path is in use.
int csvstorm_crc32c_hardware(void);

/// The same CRC32C with at most the given kernel (for tests and benchmarks): 0 tables only,
/// 1 the crc32 instruction (SSE4.2 / ARMv8 CRC) in one chain, 2 up to PCLMULQDQ folding,
/// 3 up to VPCLMULQDQ (AVX-512) folding. A kernel the CPU lacks falls back to the next one down;
/// short inputs stay on the single chain at every level above 0.
uint32_t csvstorm_crc32c_update_level(int level, uint32_t crc, const void *data, size_t length);

/// Extends a CRC-32 (IEEE 802.3 / zlib polynomial, as S3's `x-amz-checksum-crc32`) over `length`
/// bytes, with zlib's convention: start with `crc = 0`; updating with `a` then `b` gives the CRC
/// of `a` followed by `b`. On x86-64, carry-less-multiply folding: VPCLMULQDQ on AVX-512 for
/// inputs of 256 bytes or more, PCLMULQDQ from 64 bytes; slicing-by-8 tables otherwise.
uint32_t csvstorm_crc32_update(uint32_t crc, const void *data, size_t length);

/// The same CRC-32 with at most the given kernel (for tests and benchmarks): 0 tables only,
/// 1 up to PCLMULQDQ, 2 up to VPCLMULQDQ. A kernel the CPU lacks falls back to the next one down.
uint32_t csvstorm_crc32_update_level(int level, uint32_t crc, const void *data, size_t length);

/// The kernel `csvstorm_crc32_update` uses for long inputs on this CPU: 0 tables, 1 PCLMULQDQ,
/// 2 VPCLMULQDQ (AVX-512). Non-zero means the carry-less-multiply path is in use.
int csvstorm_crc32_hardware(void);

#ifdef __cplusplus
}
#endif

#endif
