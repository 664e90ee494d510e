/*
 * Carry-less-multiply folding shared by CRC-32 (crc32.c) and CRC-32C (crc32c.c), x86-64 only:
 * Intel's "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ". Each file gives its
 * polynomial's constants (computed from the polynomial; see there) and finishes the folded 128
 * bits its own way (Barrett reduction for CRC-32, the crc32 instruction for CRC-32C).
 */
#ifndef CSVSTORM_CLMUL_FOLD_H
#define CSVSTORM_CLMUL_FOLD_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

/* A bit-reflected polynomial's folding constants: k(n) = reflect32(x^n mod P) << 1. */
typedef struct {
    uint64_t k1, k2;         /* fold a 128-bit lane 512 bits ahead: k(4*128+32), k(4*128-32) */
    uint64_t k3, k4;         /* fold 128 bits ahead: k(128+32), k(128-32) */
    uint64_t k2048p, k2048m; /* fold 2048 bits ahead (the 512-bit kernel's main loop) */
    uint64_t k384p, k384m;   /* collapse a ZMM's lanes: 384 and 256 bits ahead */
    uint64_t k256p, k256m;
} clmul_fold_constants;

/* One 128-bit fold: `x` moved forward by the distance `k` encodes, added to `next`. */
__attribute__((target("pclmul,sse4.1"), always_inline))
static inline __m128i clmul_fold128(__m128i x, __m128i k, __m128i next) {
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x11), _mm_clmulepi64_si128(x, k, 0x00)), next);
}

/* Four 128-bit lanes at once (three-way XOR in one vpternlogq). */
__attribute__((target("avx512f,vpclmulqdq"), always_inline))
static inline __m512i clmul_fold512(__m512i x, __m512i k, __m512i next) {
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x11), _mm512_clmulepi64_epi128(x, k, 0x00), next, 0x96);
}

/* Folds the bytes at `*p` (`*n` >= 64; the inverted CRC `crc` XORed into the first four) into
 * 128 bits, with four independent lanes 512 bits apart; leaves `*p`, `*n` at the fewer than 16
 * bytes not folded. */
__attribute__((target("pclmul,sse4.1"), always_inline))
static inline __m128i clmul_fold_to128(uint32_t crc, const unsigned char **pp, size_t *np, const clmul_fold_constants *c) {
    const unsigned char *p = *pp;
    size_t n = *np;
    const __m128i k1k2 = _mm_set_epi64x((long long)c->k2, (long long)c->k1);
    const __m128i k3k4 = _mm_set_epi64x((long long)c->k4, (long long)c->k3);
    __m128i x1 = _mm_loadu_si128((const __m128i_u *)(p + 0));
    __m128i x2 = _mm_loadu_si128((const __m128i_u *)(p + 16));
    __m128i x3 = _mm_loadu_si128((const __m128i_u *)(p + 32));
    __m128i x4 = _mm_loadu_si128((const __m128i_u *)(p + 48));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
    p += 64;
    n -= 64;
    while (n >= 64) {
        x1 = clmul_fold128(x1, k1k2, _mm_loadu_si128((const __m128i_u *)(p + 0)));
        x2 = clmul_fold128(x2, k1k2, _mm_loadu_si128((const __m128i_u *)(p + 16)));
        x3 = clmul_fold128(x3, k1k2, _mm_loadu_si128((const __m128i_u *)(p + 32)));
        x4 = clmul_fold128(x4, k1k2, _mm_loadu_si128((const __m128i_u *)(p + 48)));
        p += 64;
        n -= 64;
    }
    /* The four lanes into one, then any remaining 16-byte blocks. */
    x1 = clmul_fold128(x1, k3k4, x2);
    x1 = clmul_fold128(x1, k3k4, x3);
    x1 = clmul_fold128(x1, k3k4, x4);
    while (n >= 16) {
        x1 = clmul_fold128(x1, k3k4, _mm_loadu_si128((const __m128i_u *)p));
        p += 16;
        n -= 16;
    }
    *pp = p;
    *np = n;
    return x1;
}

/* The same with VPCLMULQDQ on 512-bit registers (`*n` >= 256): four ZMM accumulators (16
 * lanes) fold 2048 bits ahead per 256 bytes, collapse to one ZMM, fold 64 bytes at a time,
 * then its four 128-bit lanes into one, then 16-byte blocks. */
__attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.1"), always_inline))
static inline __m128i clmul_fold_to128_avx512(uint32_t crc, const unsigned char **pp, size_t *np,
                                              const clmul_fold_constants *c) {
    const unsigned char *p = *pp;
    size_t n = *np;
    const __m512i k2048 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)c->k2048m, (long long)c->k2048p));
    const __m512i k512 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)c->k2, (long long)c->k1));
    /* Lane 0 moves 384 bits ahead, lane 1 256, lane 2 128; lane 3 stays. */
    const __m512i klanes = _mm512_set_epi64(0, 0, (long long)c->k4, (long long)c->k3, (long long)c->k256m,
                                            (long long)c->k256p, (long long)c->k384m, (long long)c->k384p);
    const __m128i k3k4 = _mm_set_epi64x((long long)c->k4, (long long)c->k3);
    __m512i x0 = _mm512_loadu_si512((const void *)(p + 0));
    __m512i x1 = _mm512_loadu_si512((const void *)(p + 64));
    __m512i x2 = _mm512_loadu_si512((const void *)(p + 128));
    __m512i x3 = _mm512_loadu_si512((const void *)(p + 192));
    x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)crc)));
    p += 256;
    n -= 256;
    while (n >= 256) {
        x0 = clmul_fold512(x0, k2048, _mm512_loadu_si512((const void *)(p + 0)));
        x1 = clmul_fold512(x1, k2048, _mm512_loadu_si512((const void *)(p + 64)));
        x2 = clmul_fold512(x2, k2048, _mm512_loadu_si512((const void *)(p + 128)));
        x3 = clmul_fold512(x3, k2048, _mm512_loadu_si512((const void *)(p + 192)));
        p += 256;
        n -= 256;
    }
    x0 = clmul_fold512(x0, k512, x1);
    x0 = clmul_fold512(x0, k512, x2);
    x0 = clmul_fold512(x0, k512, x3);
    while (n >= 64) {
        x0 = clmul_fold512(x0, k512, _mm512_loadu_si512((const void *)p));
        p += 64;
        n -= 64;
    }
    x0 = clmul_fold512(x0, klanes, _mm512_maskz_mov_epi64(0xC0, x0));
    __m128i x = _mm_xor_si128(_mm_xor_si128(_mm512_extracti32x4_epi32(x0, 0), _mm512_extracti32x4_epi32(x0, 1)),
                              _mm_xor_si128(_mm512_extracti32x4_epi32(x0, 2), _mm512_extracti32x4_epi32(x0, 3)));
    while (n >= 16) {
        x = clmul_fold128(x, k3k4, _mm_loadu_si128((const __m128i_u *)p));
        p += 16;
        n -= 16;
    }
    *pp = p;
    *np = n;
    return x;
}

#endif
