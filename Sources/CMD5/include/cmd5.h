#ifndef CMD5_H
#define CMD5_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// MD5 (RFC 1321) as the S3 emulator computes ETags: a scalar block function, the final
/// padding, and multi-buffer kernels that advance several independent MD5 states at once, one
/// per SIMD lane (AVX2: 8 lanes, AVX-512: 16), chosen at run time from the CPU's features.
///
/// A state is four words, `csvstorm_md5_init` sets it; blocks are 64 bytes.

/// The most lanes `csvstorm_md5_mb_blocks` takes: 16 (AVX-512F), 8 (AVX2) or 1 (neither).
int csvstorm_md5_mb_width(void);

/// Sets `state` to MD5's initial value.
void csvstorm_md5_init(uint32_t state[4]);

/// Advances one state over `blocks` whole 64-byte blocks.
void csvstorm_md5_blocks(uint32_t state[4], const void *data, size_t blocks);

/// Pads the `tail_length` (< 64) bytes left after the whole blocks of a message of
/// `total_length` bytes, finishes the state and writes the 16-byte digest.
void csvstorm_md5_final(uint32_t state[4], const void *tail, size_t tail_length, uint64_t total_length,
                        uint8_t digest[16]);

/// Advances `lanes` independent states, lane `i` over `blocks` blocks at `data[i]`, all in one
/// pass with SIMD. `lanes` is 1...`csvstorm_md5_mb_width()`; below that width the unused
/// lanes compute nothing that is kept.
void csvstorm_md5_mb_blocks(uint32_t *const states[], const uint8_t *const data[], int lanes, size_t blocks);

/// The same with an explicit kernel (tests and benchmarks): `width` 16 (AVX-512), 8 (AVX2)
/// or 1 (scalar, lane after lane). Returns 0, computing nothing, when the CPU lacks it.
int csvstorm_md5_mb_blocks_width(int width, uint32_t *const states[], const uint8_t *const data[], int lanes,
                                 size_t blocks);

#ifdef __cplusplus
}
#endif

#endif
