/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as S3's x-amz-checksum-crc32c.
 *
 * x86-64: the SSE4.2 crc32 instruction is exact but one chain of it is latency-bound (3 cycles
 * per 8 bytes). Inputs of CRC32C_FOLD_MIN bytes or more are instead folded with carry-less
 * multiplies, as crc32.c does for CRC-32 (V. Gopal, E. Ozturk et al., "Fast CRC Computation for
 * Generic Polynomials Using PCLMULQDQ Instruction", Intel, 2009): four 128-bit lanes folded
 * 512 bits ahead per 64 bytes (PCLMULQDQ), or sixteen lanes folded 2048 bits ahead per 256 bytes
 * (VPCLMULQDQ on AVX-512), then collapsed to one 128-bit value. Instead of Barrett reduction, the
 * folded 128 bits are fed through two crc32 instructions from a zero state (their result is that
 * value times x^32 mod P, i.e. its CRC), and the < 16-byte tail through crc32 as well. Shorter
 * inputs stay on the single crc32 chain; CPUs without SSE4.2 use slicing-by-8 tables.
 */
#include "ccrc32c.h"
#include "slicing8.h"
#include <pthread.h>
#include <string.h>

static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_table_once = PTHREAD_ONCE_INIT;

static void crc32c_build_table(void) { crc_slicing8_build(crc32c_table, 0x82F63B78u); }

/* `crc` is the inverted running state; returns the inverted state. */
static uint32_t crc32c_soft(uint32_t crc, const unsigned char *p, size_t n) {
    pthread_once(&crc32c_table_once, crc32c_build_table);
    return crc_slicing8((const uint32_t (*)[256])crc32c_table, crc, p, n);
}


#if defined(__x86_64__)
#include <immintrin.h>
#include "clmul_fold.h"

/*
 * Bit-reflected folding constants for P(x) = 0x11EDC6F41: k(n) = reflect32(x^n mod P) << 1,
 * computed exactly as crc32.c's (the same script gives crc32.c's constants for 0x104C11DB7).
 *   K1 = k(4*128+32), K2 = k(4*128-32)     fold a 128-bit lane 512 bits ahead
 *   K3 = k(128+32),   K4 = k(128-32)       fold 128 bits ahead
 *   K2048P/M = k(2048 +- 32)               fold 2048 bits ahead (512-bit kernel)
 *   K384P/M, K256P/M = k(384 +- 32), k(256 +- 32)   collapse a ZMM's four lanes
 */
#define CRC32C_K1 0x00740eef02ull
#define CRC32C_K2 0x009e4addf8ull
#define CRC32C_K3 0x00f20c0dfeull
#define CRC32C_K4 0x014cd00bd6ull
#define CRC32C_K2048P 0x00dcb17aa4ull
#define CRC32C_K2048M 0x00b9e02b86ull
#define CRC32C_K384P 0x001c291d04ull
#define CRC32C_K384M 0x01d82c63daull
#define CRC32C_K256P 0x01384aa63aull
#define CRC32C_K256M 0x00ba4fc28eull

/*
 * Shortest inputs for each folding kernel, measured (clang -O2, Xeon with AVX-512): PCLMULQDQ
 * folding breaks even with the single chain at about 112 bytes and is 1.5x faster at 128;
 * VPCLMULQDQ beats PCLMULQDQ from 256 bytes. Shorter inputs take the single chain.
 */
#define CRC32C_FOLD_MIN 128
#define CRC32C_FOLD512_MIN 256

/* One chain of the crc32 instruction. `crc` is the inverted state; returns the inverted state. */
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

/* The CRC (from a zero state) of the folded 128 bits `x`: x * x^32 mod P, bit-reflected. */
__attribute__((target("pclmul,sse4.2"), always_inline))
static inline uint32_t crc32c_reduce128(__m128i x) {
    uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(x));
    return (uint32_t)_mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(x, 1));
}

static const clmul_fold_constants crc32c_fold = {
    CRC32C_K1, CRC32C_K2, CRC32C_K3, CRC32C_K4, CRC32C_K2048P, CRC32C_K2048M, CRC32C_K384P, CRC32C_K384M, CRC32C_K256P, CRC32C_K256M,
};

/* `crc` is the inverted state; n >= 64 (any length). Returns the inverted state. */
__attribute__((target("pclmul,sse4.2")))
static uint32_t crc32c_pclmul(uint32_t crc, const unsigned char *p, size_t n) {
    __m128i x = clmul_fold_to128(crc, &p, &n, &crc32c_fold);
    return crc32c_sse42(crc32c_reduce128(x), p, n);
}

/* The same with VPCLMULQDQ: n >= 256 (any length). */
__attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.2")))
static uint32_t crc32c_vpclmul(uint32_t crc, const unsigned char *p, size_t n) {
    __m128i x = clmul_fold_to128_avx512(crc, &p, &n, &crc32c_fold);
    return crc32c_sse42(crc32c_reduce128(x), p, n);
}

/* 0 tables, 1 crc32 (SSE4.2), 2 PCLMULQDQ folding, 3 VPCLMULQDQ on AVX-512; computed once. */
static int crc32c_level_cache = -1;

static int crc32c_have_hw(void) {
    int level = __atomic_load_n(&crc32c_level_cache, __ATOMIC_RELAXED);
    if (level < 0) {
        level = 0;
        if (__builtin_cpu_supports("sse4.2")) {
            level = 1;
            if (__builtin_cpu_supports("pclmul")) {
                level = 2;
                if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") && !crc_avx512_disabled()) level = 3;
            }
        }
        __atomic_store_n(&crc32c_level_cache, level, __ATOMIC_RELAXED);
    }
    return level;
}

/* `crc` is the inverted state; returns the inverted state. */
static uint32_t crc32c_kernel(int level, uint32_t crc, const unsigned char *p, size_t n) {
    int have = crc32c_have_hw();
    if (level > have) level = have;
    if (level >= 3 && n >= CRC32C_FOLD512_MIN) return crc32c_vpclmul(crc, p, n);
    if (level >= 2 && n >= CRC32C_FOLD_MIN) return crc32c_pclmul(crc, p, n);
    if (level >= 1) return crc32c_sse42(crc, p, n);
    return crc32c_soft(crc, p, n);
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

static uint32_t crc32c_arm(uint32_t crc, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        crc = __crc32cd(crc, w);
        p += 8;
        n -= 8;
    }
    while (n--) crc = __crc32cb(crc, *p++);
    return crc;
}
static int crc32c_have_hw(void) { return 1; }
static uint32_t crc32c_kernel(int level, uint32_t crc, const unsigned char *p, size_t n) {
    return level >= 1 ? crc32c_arm(crc, p, n) : crc32c_soft(crc, p, n);
}
#else
static int crc32c_have_hw(void) { return 0; }
static uint32_t crc32c_kernel(int level, uint32_t crc, const unsigned char *p, size_t n) {
    (void)level;
    return crc32c_soft(crc, p, n);
}
#endif

int csvstorm_crc32c_hardware(void) { return crc32c_have_hw() != 0; }

uint32_t csvstorm_crc32c_update(uint32_t crc, const void *data, size_t length) {
    if (length == 0) return crc;
    return ~crc32c_kernel(3, ~crc, (const unsigned char *)data, length);
}

uint32_t csvstorm_crc32c_update_level(int level, uint32_t crc, const void *data, size_t length) {
    if (length == 0) return crc;
    return ~crc32c_kernel(level, ~crc, (const unsigned char *)data, length);
}
