/*
 * What crc32.c (CRC-32) and crc32c.c (CRC-32C) share besides the folding in clmul_fold.h:
 * slicing-by-8 tables for a reflected polynomial (the portable path, short inputs, tails) and
 * the CSVSTORM_NO_AVX512 switch.
 */
#ifndef CSVSTORM_SLICING8_H
#define CSVSTORM_SLICING8_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Fills `table` for the reflected polynomial `poly` (table[0] is the byte-at-a-time table). */
static inline void crc_slicing8_build(uint32_t table[8][256], uint32_t poly) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ poly : (c >> 1);
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
    }
}

/* `crc` is the inverted running state; returns the inverted state. */
static inline uint32_t crc_slicing8(const uint32_t table[8][256], uint32_t crc, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        w ^= crc;
        crc = table[7][w & 0xFF] ^ table[6][(w >> 8) & 0xFF] ^ table[5][(w >> 16) & 0xFF] ^ table[4][(w >> 24) & 0xFF] ^
              table[3][(w >> 32) & 0xFF] ^ table[2][(w >> 40) & 0xFF] ^ table[1][(w >> 48) & 0xFF] ^ table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xFF];
    return crc;
}

/* CSVSTORM_NO_AVX512 (set, and not "0") keeps the 512-bit paths off, as in CDigest: for CPUs
 * that lower their clock under AVX-512. */
__attribute__((unused)) static int crc_avx512_disabled(void) {
    const char *setting = getenv("CSVSTORM_NO_AVX512");
    return setting != NULL && strcmp(setting, "0") != 0;
}

#endif
