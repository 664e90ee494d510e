/*
 * CRC-32 (IEEE 802.3 / zlib, reflected polynomial 0xEDB88320), as S3's x-amz-checksum-crc32.
 *
 * x86-64 with PCLMULQDQ + SSE4.1: carry-less-multiply folding after V. Gopal, E. Ozturk et al.,
 * "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction" (Intel, 2009):
 * fold four 128-bit lanes 64 bytes at a time, fold the four lanes into one, fold 128 -> 64 bits,
 * Barrett-reduce to 32. The structure follows Chromium's third_party/zlib/crc32_simd.c
 * (crc32_sse42_simd_, Copyright 2017 The Chromium Authors, BSD-style licence); the constants are
 * the paper's, recomputed here (see the comment at `k1k2`). Everything else, and CPUs without
 * those instructions, goes through slicing-by-8 tables.
 */
#include "ccrc32c.h"
#include <pthread.h>
#include <string.h>

static uint32_t crc32_table[8][256];
static pthread_once_t crc32_table_once = PTHREAD_ONCE_INIT;

static void crc32_build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : (c >> 1);
        crc32_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++)
            crc32_table[t][i] = (crc32_table[t - 1][i] >> 8) ^ crc32_table[0][crc32_table[t - 1][i] & 0xFF];
    }
}

/* `crc` is the inverted running state; returns the inverted state. */
static uint32_t crc32_soft(uint32_t crc, const unsigned char *p, size_t n) {
    pthread_once(&crc32_table_once, crc32_build_table);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        w ^= crc;
        crc = crc32_table[7][w & 0xFF] ^ crc32_table[6][(w >> 8) & 0xFF] ^
              crc32_table[5][(w >> 16) & 0xFF] ^ crc32_table[4][(w >> 24) & 0xFF] ^
              crc32_table[3][(w >> 32) & 0xFF] ^ crc32_table[2][(w >> 40) & 0xFF] ^
              crc32_table[1][(w >> 48) & 0xFF] ^ crc32_table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ crc32_table[0][(crc ^ *p++) & 0xFF];
    return crc;
}

#if defined(__x86_64__)
#include <immintrin.h>

/*
 * Bit-reflected folding constants for P(x) = 0x104C11DB7: k(n) = reflect32(x^n mod P) << 1.
 *   k1 = k(4*128+32), k2 = k(4*128-32)   fold a 128-bit lane 512 bits ahead
 *   k3 = k(128+32),   k4 = k(128-32)     fold 128 bits ahead
 *   k5 = k(64)                           fold 96 -> 64 bits
 *   P' = reflect33(P), mu = reflect33(floor(x^64 / P))   Barrett reduction
 */
#define CRC32_K1 0x0154442bd4ull
#define CRC32_K2 0x01c6e41596ull
#define CRC32_K3 0x01751997d0ull
#define CRC32_K4 0x00ccaa009eull
#define CRC32_K5 0x0163cd6124ull
#define CRC32_P 0x01db710641ull
#define CRC32_MU 0x01f7011641ull

/* `crc` is the inverted state; n >= 64 and n % 16 == 0. Returns the inverted state. */
__attribute__((target("pclmul,sse4.1")))
static uint32_t crc32_pclmul(uint32_t crc, const unsigned char *p, size_t n) {
    const __m128i k1k2 = _mm_set_epi64x((long long)CRC32_K2, (long long)CRC32_K1);
    const __m128i k3k4 = _mm_set_epi64x((long long)CRC32_K4, (long long)CRC32_K3);
    const __m128i k5 = _mm_set_epi64x(0, (long long)CRC32_K5);
    const __m128i poly = _mm_set_epi64x((long long)CRC32_MU, (long long)CRC32_P);
    const __m128i low32 = _mm_set_epi32(0, ~0, 0, ~0);

    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 0));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(p + 48));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
    p += 64;
    n -= 64;

    /* Four independent lanes, each folded 512 bits forward onto the next 64 bytes. */
    while (n >= 64) {
        __m128i a1 = _mm_clmulepi64_si128(x1, k1k2, 0x00);
        __m128i a2 = _mm_clmulepi64_si128(x2, k1k2, 0x00);
        __m128i a3 = _mm_clmulepi64_si128(x3, k1k2, 0x00);
        __m128i a4 = _mm_clmulepi64_si128(x4, k1k2, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k1k2, 0x11);
        x2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
        x3 = _mm_clmulepi64_si128(x3, k1k2, 0x11);
        x4 = _mm_clmulepi64_si128(x4, k1k2, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, a1), _mm_loadu_si128((const __m128i *)(p + 0)));
        x2 = _mm_xor_si128(_mm_xor_si128(x2, a2), _mm_loadu_si128((const __m128i *)(p + 16)));
        x3 = _mm_xor_si128(_mm_xor_si128(x3, a3), _mm_loadu_si128((const __m128i *)(p + 32)));
        x4 = _mm_xor_si128(_mm_xor_si128(x4, a4), _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64;
        n -= 64;
    }

    /* Fold the four lanes into one, then any remaining 16-byte blocks. */
    __m128i a;
    a = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), a), x2);
    a = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), a), x3);
    a = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), a), x4);
    while (n >= 16) {
        a = _mm_clmulepi64_si128(x1, k3k4, 0x00);
        x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), a),
                           _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }

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

static int crc32_have_hw(void) {
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

static uint32_t crc32_dispatch(uint32_t crc, const unsigned char *p, size_t n) {
    if (n >= 64 && crc32_have_hw()) {
        size_t bulk = n & ~(size_t)15;
        crc = crc32_pclmul(crc, p, bulk);
        p += bulk;
        n -= bulk;
    }
    return crc32_soft(crc, p, n);
}
#else
static int crc32_have_hw(void) { return 0; }
static uint32_t crc32_dispatch(uint32_t crc, const unsigned char *p, size_t n) { return crc32_soft(crc, p, n); }
#endif

int csvstorm_crc32_hardware(void) { return crc32_have_hw(); }

uint32_t csvstorm_crc32_update(uint32_t crc, const void *data, size_t length) {
    if (length == 0) return crc;
    return ~crc32_dispatch(~crc, (const unsigned char *)data, length);
}

/* The table path alone, for tests and benchmarks. */
uint32_t csvstorm_crc32_update_portable(uint32_t crc, const void *data, size_t length) {
    if (length == 0) return crc;
    return ~crc32_soft(~crc, (const unsigned char *)data, length);
}
