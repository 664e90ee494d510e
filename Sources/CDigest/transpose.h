/*
 * What the multi-buffer kernels (md5.c, sha256.c) share: gathering the lanes' states and data,
 * and word transposes (each lane's 64-byte block is loaded as a row; after the transpose,
 * vector i holds word i of every lane). x86-64 only.
 */
#ifndef CDIGEST_TRANSPOSE_H
#define CDIGEST_TRANSPOSE_H

#include <immintrin.h>
#include <stdint.h>

/* A `width`-lane kernel's inputs from `lanes` (<= width) messages: the data pointers (lanes past
 * `lanes` read lane 0's data; what they compute is dropped) and the states' words transposed to
 * `words[j * width + i]` = word j of lane i (zero past `lanes`). */
static inline void cdigest_gather_lanes(uint32_t *const states[], const uint8_t *const data[], int lanes, int width,
                                        int state_words, const uint8_t *src[], uint32_t *words) {
    for (int i = 0; i < width; i++) {
        src[i] = i < lanes ? data[i] : data[0];
        for (int j = 0; j < state_words; j++) words[j * width + i] = i < lanes ? states[i][j] : 0;
    }
}

/* The inverse for the states: word j of lane i back from `words[j * width + i]`. */
static inline void cdigest_scatter_states(uint32_t *const states[], int lanes, int width, int state_words,
                                          const uint32_t *words) {
    for (int i = 0; i < lanes; i++)
        for (int j = 0; j < state_words; j++) states[i][j] = words[j * width + i];
}

// Transposes 8 rows of 8 words: out[i] = word i of every row.
__attribute__((target("avx2"), always_inline)) static inline void cdigest_transpose8(__m256i r[8]) {
    __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

// Transposes 16 rows of 16 words: out[i] = word i of every row.
__attribute__((target("avx512f"), always_inline)) static inline void cdigest_transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    // r[4g + j] now holds, per 128-bit lane q, word 4q + j of rows 4g...4g+3.
    for (int j = 0; j < 4; j++) {
        t[j] = _mm512_shuffle_i32x4(r[j], r[4 + j], 0x88);      // q = 0, 2 of rows 0-3 | 4-7
        t[4 + j] = _mm512_shuffle_i32x4(r[j], r[4 + j], 0xdd);  // q = 1, 3
        t[8 + j] = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0x88);
        t[12 + j] = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0xdd);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);           // word j (q = 0)
        r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);       // word 8 + j (q = 2)
        r[4 + j] = _mm512_shuffle_i32x4(t[4 + j], t[12 + j], 0x88);  // word 4 + j (q = 1)
        r[12 + j] = _mm512_shuffle_i32x4(t[4 + j], t[12 + j], 0xdd); // word 12 + j (q = 3)
    }
}

#endif
