#ifndef CDIGEST_H
#define CDIGEST_H

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

/// 1 when the environment variable CSVSTORM_NO_AVX512 is set (to anything but "0"): the
/// kernels then use AVX2 and SHA-NI only, for CPUs that lower their clock under AVX-512.
int csvstorm_digest_avx512_disabled(void);

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

/// SHA-256 (FIPS 180-4) of request bodies whose signed `x-amz-content-sha256` is checked: the
/// same shapes as the MD5 functions above. A state is eight words; blocks are 64 bytes.

/// The most lanes `csvstorm_sha256_mb_blocks` advances in one SIMD pass: 16 (AVX-512F and
/// AVX-512BW) or 1.
int csvstorm_sha256_mb_width(void);

/// 1 when `csvstorm_sha256_blocks` uses the CPU's SHA extensions (SHA-NI), 0 when portable C.
int csvstorm_sha256_hardware(void);

void csvstorm_sha256_init(uint32_t state[8]);

/// Advances one state over `blocks` whole blocks (SHA-NI when present).
void csvstorm_sha256_blocks(uint32_t state[8], const void *data, size_t blocks);

/// Pads the `tail_length` (< 64) bytes after the whole blocks of a `total_length`-byte message
/// and writes the 32-byte digest.
void csvstorm_sha256_final(uint32_t state[8], const void *tail, size_t tail_length, uint64_t total_length,
                           uint8_t digest[32]);

/// Advances `lanes` (1...16) states, lane `i` over `blocks` blocks at `data[i]`: one AVX-512
/// pass when the CPU has it, else lane after lane.
void csvstorm_sha256_mb_blocks(uint32_t *const states[], const uint8_t *const data[], int lanes, size_t blocks);

/// How many messages `csvstorm_sha256_ni_mb_blocks` interleaves: 4, or the environment
/// variable CSVSTORM_SHA256_NI_LANES (1...4) when set (to measure against one at a time).
int csvstorm_sha256_ni_interleave(void);

/// Advances `lanes` states, lane `i` over `blocks` blocks at `data[i]`, with SHA-NI, the rounds
/// of four messages at a time interleaved (one message leaves the SHA unit idle while each
/// round waits for the last: 1.2-1.3 times one message's speed on a Sapphire Rapids core); lane
/// after lane in portable C without SHA-NI. Cheaper than a 16-lane AVX-512 pass below about
/// twelve lanes.
void csvstorm_sha256_ni_mb_blocks(uint32_t *const states[], const uint8_t *const data[], int lanes, size_t blocks);

/// A chosen implementation (tests, benchmarks): `kind` 0 portable C, 1 SHA-NI (single lane
/// at a time), 2...4 SHA-NI with that many messages interleaved, 16 AVX-512 lanes. Returns 0,
/// computing nothing, when the CPU lacks it.
int csvstorm_sha256_blocks_kind(int kind, uint32_t *const states[], const uint8_t *const data[], int lanes,
                                size_t blocks);

#ifdef __cplusplus
}
#endif

#endif
