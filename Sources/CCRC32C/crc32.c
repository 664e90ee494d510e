/*
 * CRC-32 (IEEE 802.3 / zlib, reflected polynomial 0xEDB88320), as S3's x-amz-checksum-crc32.
 *
 * x86-64 with PCLMULQDQ + SSE4.1: carry-less-multiply folding after V. Gopal, E. Ozturk et al.,
 * "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction" (Intel, 2009):
 * fold four 128-bit lanes 64 bytes at a time, fold the four lanes into one, fold 128 -> 64 bits,
 * Barrett-reduce to 32. The structure follows Chromium's third_party/zlib/crc32_simd.c
 * (crc32_sse42_simd_, Copyright 2017 The Chromium Authors, BSD-style licence); the constants are
 * the paper's, recomputed here (see the comment above CRC32_K1). With AVX-512 and VPCLMULQDQ,
 * inputs of 256 bytes or more take the same scheme on 512-bit registers (16 lanes, 256 bytes a
 * step). Short inputs, the < 16-byte tails, and CPUs without those instructions go through
 * slicing-by-8 tables.
 */
#include "ccrc32c.h"
#include "slicing8.h"
#include <pthread.h>
#include <string.h>

static uint32_t crc32_table[8][256];
static pthread_once_t crc32_table_once = PTHREAD_ONCE_INIT;

static void crc32_build_table(void) { crc_slicing8_build(crc32_table, 0xEDB88320u); }

/* `crc` is the inverted running state; returns the inverted state. */
static uint32_t crc32_soft(uint32_t crc, const unsigned char *p, size_t n) {
    pthread_once(&crc32_table_once, crc32_build_table);
    return crc_slicing8((const uint32_t (*)[256])crc32_table, crc, p, n);
}

#if defined(__x86_64__)
#include <immintrin.h>
#include "clmul_fold.h"


/*
 * Bit-reflected folding constants for P(x) = 0x104C11DB7: k(n) = reflect32(x^n mod P) << 1.
 *   k1 = k(4*128+32), k2 = k(4*128-32)   fold a 128-bit lane 512 bits ahead
 *   k3 = k(128+32),   k4 = k(128-32)     fold 128 bits ahead
 *   k5 = k(64)                           fold 96 -> 64 bits
 *   P' = reflect33(P), mu = reflect33(floor(x^64 / P))   Barrett reduction
 * and for the 512-bit kernel, fold 2048 bits ahead, then 384 and 256 bits (128 is k3/k4).
 */
#define CRC32_K1 0x0154442bd4ull
#define CRC32_K2 0x01c6e41596ull
#define CRC32_K3 0x01751997d0ull
#define CRC32_K4 0x00ccaa009eull
#define CRC32_K5 0x0163cd6124ull
#define CRC32_P 0x01db710641ull
#define CRC32_MU 0x01f7011641ull
#define CRC32_K2048P 0x011542778aull
#define CRC32_K2048M 0x01322d1430ull
#define CRC32_K384P 0x003db1ecdcull
#define CRC32_K384M 0x0174359406ull
#define CRC32_K256P 0x00f1da05aaull
#define CRC32_K256M 0x015a546366ull

/* Folds the 128-bit remainder `x1` to 64 bits, then Barrett-reduces it; returns the inverted state. */
__attribute__((target("pclmul,sse4.1"), always_inline))
static inline uint32_t crc32_reduce128(__m128i x1) {
    const __m128i k3k4 = _mm_set_epi64x((long long)CRC32_K4, (long long)CRC32_K3);
    const __m128i k5 = _mm_set_epi64x(0, (long long)CRC32_K5);
    const __m128i poly = _mm_set_epi64x((long long)CRC32_MU, (long long)CRC32_P);
    const __m128i low32 = _mm_set_epi32(0, ~0, 0, ~0);
    __m128i a;

    /* 128 -> 64 bits. */
    a = _mm_clmulepi64_si128(x1, k3k4, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), a);
    a = _mm_srli_si128(x1, 4);
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00);
    x1 = _mm_xor_si128(x1, a);

    /* Barrett reduction to 32 bits. */
    a = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly, 0x10);
    a = _mm_clmulepi64_si128(_mm_and_si128(a, low32), poly, 0x00);
    x1 = _mm_xor_si128(x1, a);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}

static const clmul_fold_constants crc32_fold = {
    CRC32_K1, CRC32_K2, CRC32_K3, CRC32_K4, CRC32_K2048P, CRC32_K2048M, CRC32_K384P, CRC32_K384M, CRC32_K256P, CRC32_K256M,
};

/* `crc` is the inverted state; n >= 64 and n % 16 == 0. Returns the inverted state. */
__attribute__((target("pclmul,sse4.1")))
static uint32_t crc32_pclmul(uint32_t crc, const unsigned char *p, size_t n) {
    return crc32_reduce128(clmul_fold_to128(crc, &p, &n, &crc32_fold));
}

/* The same with VPCLMULQDQ: n >= 256 and n % 16 == 0. */
__attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.1")))
static uint32_t crc32_vpclmul(uint32_t crc, const unsigned char *p, size_t n) {
    return crc32_reduce128(clmul_fold_to128_avx512(crc, &p, &n, &crc32_fold));
}

/* 0 tables, 1 PCLMULQDQ (128-bit), 2 VPCLMULQDQ on AVX-512; computed once. */
static int crc32_level_cache = -1;

static int crc32_have_hw(void) {
    int level = __atomic_load_n(&crc32_level_cache, __ATOMIC_RELAXED);
    if (level < 0) {
        level = 0;
        if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")) {
            level = 1;
            if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") && !crc_avx512_disabled()) level = 2;
        }
        __atomic_store_n(&crc32_level_cache, level, __ATOMIC_RELAXED);
    }
    return level;
}

static uint32_t crc32_kernel(int level, uint32_t crc, const unsigned char *p, size_t n) {
    if (level > crc32_have_hw()) level = crc32_have_hw();
    size_t bulk = n & ~(size_t)15;
    if (level >= 2 && n >= 256) {
        crc = crc32_vpclmul(crc, p, bulk);
    } else if (level >= 1 && n >= 64) {
        crc = crc32_pclmul(crc, p, bulk);
    } else {
        bulk = 0;
    }
    return crc32_soft(crc, p + bulk, n - bulk);
}
#else
static int crc32_have_hw(void) { return 0; }
static uint32_t crc32_kernel(int level, uint32_t crc, const unsigned char *p, size_t n) {
    (void)level;
    return crc32_soft(crc, p, n);
}
#endif

int csvstorm_crc32_hardware(void) { return crc32_have_hw(); }

uint32_t csvstorm_crc32_update(uint32_t crc, const void *data, size_t length) {
    if (length == 0) return crc;
    return ~crc32_kernel(2, ~crc, (const unsigned char *)data, length);
}

uint32_t csvstorm_crc32_update_level(int level, uint32_t crc, const void *data, size_t length) {
    if (length == 0) return crc;
    return ~crc32_kernel(level, ~crc, (const unsigned char *)data, length);
}
