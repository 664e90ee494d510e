// SHA-256 (FIPS 180-4): portable C, SHA-NI (the SHA extensions' two-rounds instruction, the
// sequence Intel documents for them), and a 16-lane AVX-512 multi-buffer kernel (one message
// per 32-bit lane, as ISA-L crypto's sha256_mb does). Written here from the standard.
#include "cdigest.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include "transpose.h"
#endif

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

void csvstorm_sha256_init(uint32_t state[8]) {
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(state, initial, sizeof initial);
}

// ---- portable ----

static inline uint32_t ror32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void sha256_portable(uint32_t state[8], const uint8_t *p, size_t blocks) {
    for (size_t n = 0; n < blocks; n++, p += 64) {
        uint32_t w[64];
        for (int t = 0; t < 16; t++) w[t] = load_be32(p + 4 * t);
        for (int t = 16; t < 64; t++) {
            uint32_t s0 = ror32(w[t - 15], 7) ^ ror32(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = ror32(w[t - 2], 17) ^ ror32(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int t = 0; t < 64; t++) {
            uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + K256[t] + w[t];
            uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}

#if defined(__x86_64__)

// ---- SHA-NI: one message, or several interleaved ----
//
// The sequence Intel documents for the SHA extensions. The two-rounds instruction takes longer
// to give its result than to accept the next one, and each round depends on the last, so one
// message leaves the unit idle some cycles. Independent messages fill them: the rounds of `N`
// messages are issued side by side (the compiler keeps each lane's state in its own registers;
// the loops over lanes are unrolled).

#define SHA256_NI_LANES(N)                                                                                        \
    __attribute__((target("sha,sse4.1,ssse3"))) static void sha256_ni_x##N(uint32_t *const states[],             \
                                                                        const uint8_t *const data[], size_t blocks) { \
        const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);                       \
        __m128i state0[N], state1[N];                                                                              \
        const uint8_t *p[N];                                                                                       \
        for (int l = 0; l < N; l++) {                                                                              \
            __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&states[l][0]), 0xB1);              \
            __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&states[l][4]), 0x1B);             \
            state0[l] = _mm_alignr_epi8(tmp, efgh, 8);                                                             \
            state1[l] = _mm_blend_epi16(efgh, tmp, 0xF0);                                                          \
            p[l] = data[l];                                                                                        \
        }                                                                                                          \
        for (size_t n = 0; n < blocks; n++) {                                                                      \
            __m128i abef[N], cdgh[N], msg[N][4];                                                                   \
            for (int l = 0; l < N; l++) {                                                                          \
                abef[l] = state0[l];                                                                               \
                cdgh[l] = state1[l];                                                                               \
            }                                                                                                      \
            for (int i = 0; i < 16; i++) {                                                                         \
                const __m128i k = _mm_loadu_si128((const __m128i *)&K256[4 * i]);                                  \
                for (int l = 0; l < N; l++) {                                                                      \
                    __m128i m;                                                                                     \
                    if (i < 4) {                                                                                   \
                        m = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p[l] + 16 * i)), mask);             \
                    } else {                                                                                       \
                        m = _mm_sha256msg1_epu32(msg[l][i & 3], msg[l][(i + 1) & 3]);                              \
                        m = _mm_add_epi32(m, _mm_alignr_epi8(msg[l][(i + 3) & 3], msg[l][(i + 2) & 3], 4));        \
                        m = _mm_sha256msg2_epu32(m, msg[l][(i + 3) & 3]);                                          \
                    }                                                                                              \
                    msg[l][i & 3] = m;                                                                             \
                    __m128i wk = _mm_add_epi32(m, k);                                                              \
                    state1[l] = _mm_sha256rnds2_epu32(state1[l], state0[l], wk);                                   \
                    state0[l] = _mm_sha256rnds2_epu32(state0[l], state1[l], _mm_shuffle_epi32(wk, 0x0E));          \
                }                                                                                                  \
            }                                                                                                      \
            for (int l = 0; l < N; l++) {                                                                          \
                state0[l] = _mm_add_epi32(state0[l], abef[l]);                                                     \
                state1[l] = _mm_add_epi32(state1[l], cdgh[l]);                                                     \
                p[l] += 64;                                                                                        \
            }                                                                                                      \
        }                                                                                                          \
        for (int l = 0; l < N; l++) {                                                                              \
            __m128i feba = _mm_shuffle_epi32(state0[l], 0x1B);                                                     \
            __m128i dchg = _mm_shuffle_epi32(state1[l], 0xB1);                                                     \
            _mm_storeu_si128((__m128i *)&states[l][0], _mm_blend_epi16(feba, dchg, 0xF0));                        \
            _mm_storeu_si128((__m128i *)&states[l][4], _mm_alignr_epi8(dchg, feba, 8));                            \
        }                                                                                                          \
    }

SHA256_NI_LANES(1)
SHA256_NI_LANES(2)
SHA256_NI_LANES(3)
SHA256_NI_LANES(4)

static void sha256_ni(uint32_t state[8], const uint8_t *p, size_t blocks) {
    uint32_t *const states[1] = {state};
    const uint8_t *const data[1] = {p};
    sha256_ni_x1(states, data, blocks);
}

/// `lanes` messages, `width` (1...4) at a time interleaved, the last group narrower.
static void sha256_ni_groups(int width, uint32_t *const states[], const uint8_t *const data[], int lanes, size_t blocks) {
    int i = 0;
    while (i < lanes) {
        int n = lanes - i < width ? lanes - i : width;
        switch (n) {
        case 4: sha256_ni_x4(states + i, data + i, blocks); break;
        case 3: sha256_ni_x3(states + i, data + i, blocks); break;
        case 2: sha256_ni_x2(states + i, data + i, blocks); break;
        default: sha256_ni_x1(states + i, data + i, blocks); break;
        }
        i += n;
    }
}

// ---- AVX-512, 16 lanes ----

#define XOR3(x, y, z) _mm512_ternarylogic_epi32(x, y, z, 0x96)
#define CH(e, f, g) _mm512_ternarylogic_epi32(e, f, g, 0xCA)
#define MAJ(a, b, c) _mm512_ternarylogic_epi32(a, b, c, 0xE8)

__attribute__((target("avx512f,avx512bw"))) static void sha256_avx512(uint32_t *const states[], const uint8_t *const data[],
                                                                      int lanes, size_t blocks) {
    const uint8_t *src[16];
    uint32_t words[8][16];
    cdigest_gather_lanes(states, data, lanes, 16, 8, src, &words[0][0]);
    __m512i H[8];
    for (int j = 0; j < 8; j++) H[j] = _mm512_loadu_si512(words[j]);
    const __m512i bswap = _mm512_broadcast_i32x4(_mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3));
    for (size_t n = 0; n < blocks; n++) {
        __m512i W[16];
        size_t offset = n * 64;
        for (int i = 0; i < 16; i++) W[i] = _mm512_loadu_si512(src[i] + offset);
        cdigest_transpose16(W);
        for (int i = 0; i < 16; i++) W[i] = _mm512_shuffle_epi8(W[i], bswap);
        __m512i a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
        for (int t = 0; t < 64; t++) {
            __m512i w;
            if (t < 16) {
                w = W[t];
            } else {
                __m512i w15 = W[(t - 15) & 15], w2 = W[(t - 2) & 15];
                __m512i s0 = XOR3(_mm512_ror_epi32(w15, 7), _mm512_ror_epi32(w15, 18), _mm512_srli_epi32(w15, 3));
                __m512i s1 = XOR3(_mm512_ror_epi32(w2, 17), _mm512_ror_epi32(w2, 19), _mm512_srli_epi32(w2, 10));
                w = _mm512_add_epi32(_mm512_add_epi32(W[t & 15], s0), _mm512_add_epi32(W[(t - 7) & 15], s1));
                W[t & 15] = w;
            }
            __m512i t1 = _mm512_add_epi32(_mm512_add_epi32(h, _mm512_set1_epi32((int)K256[t])), w);
            t1 = _mm512_add_epi32(t1, XOR3(_mm512_ror_epi32(e, 6), _mm512_ror_epi32(e, 11), _mm512_ror_epi32(e, 25)));
            t1 = _mm512_add_epi32(t1, CH(e, f, g));
            __m512i t2 = _mm512_add_epi32(XOR3(_mm512_ror_epi32(a, 2), _mm512_ror_epi32(a, 13), _mm512_ror_epi32(a, 22)),
                                          MAJ(a, b, c));
            h = g;
            g = f;
            f = e;
            e = _mm512_add_epi32(d, t1);
            d = c;
            c = b;
            b = a;
            a = _mm512_add_epi32(t1, t2);
        }
        H[0] = _mm512_add_epi32(H[0], a);
        H[1] = _mm512_add_epi32(H[1], b);
        H[2] = _mm512_add_epi32(H[2], c);
        H[3] = _mm512_add_epi32(H[3], d);
        H[4] = _mm512_add_epi32(H[4], e);
        H[5] = _mm512_add_epi32(H[5], f);
        H[6] = _mm512_add_epi32(H[6], g);
        H[7] = _mm512_add_epi32(H[7], h);
    }
    for (int j = 0; j < 8; j++) _mm512_storeu_si512(words[j], H[j]);
    cdigest_scatter_states(states, lanes, 16, 8, &words[0][0]);
}

static int has_sha_ni(void) {
    return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
}
static int has_avx512bw(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && !csvstorm_digest_avx512_disabled();
}
#else
static int has_sha_ni(void) { return 0; }
static int has_avx512bw(void) { return 0; }
#endif

int csvstorm_sha256_mb_width(void) { return has_avx512bw() ? 16 : 1; }

int csvstorm_sha256_hardware(void) { return has_sha_ni(); }

void csvstorm_sha256_blocks(uint32_t state[8], const void *data, size_t blocks) {
#if defined(__x86_64__)
    if (has_sha_ni()) {
        sha256_ni(state, (const uint8_t *)data, blocks);
        return;
    }
#endif
    sha256_portable(state, (const uint8_t *)data, blocks);
}

void csvstorm_sha256_final(uint32_t state[8], const void *tail, size_t tail_length, uint64_t total_length,
                           uint8_t digest[32]) {
    uint8_t block[128];
    memset(block, 0, sizeof block);
    if (tail_length > 63) tail_length = 63;
    if (tail_length > 0) memcpy(block, tail, tail_length);
    block[tail_length] = 0x80;
    size_t blocks = tail_length < 56 ? 1 : 2;
    uint64_t bits = total_length * 8;
    for (int i = 0; i < 8; i++) block[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    csvstorm_sha256_blocks(state, block, blocks);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)state[i];
    }
}

void csvstorm_sha256_mb_blocks(uint32_t *const states[], const uint8_t *const data[], int lanes, size_t blocks) {
#if defined(__x86_64__)
    if (lanes >= 2 && has_avx512bw()) {
        sha256_avx512(states, data, lanes, blocks);
        return;
    }
#endif
    for (int i = 0; i < lanes; i++) csvstorm_sha256_blocks(states[i], data[i], blocks);
}

int csvstorm_sha256_ni_interleave(void) {
    static int cached = 0;
    int value = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (value == 0) {
        const char *setting = getenv("CSVSTORM_SHA256_NI_LANES");
        value = setting != NULL ? atoi(setting) : 4;
        if (value < 1 || value > 4) value = 4;
        __atomic_store_n(&cached, value, __ATOMIC_RELAXED);
    }
    return value;
}

void csvstorm_sha256_ni_mb_blocks(uint32_t *const states[], const uint8_t *const data[], int lanes, size_t blocks) {
#if defined(__x86_64__)
    if (has_sha_ni()) {
        sha256_ni_groups(csvstorm_sha256_ni_interleave(), states, data, lanes, blocks);
        return;
    }
#endif
    for (int i = 0; i < lanes; i++) sha256_portable(states[i], data[i], blocks);
}

int csvstorm_sha256_blocks_kind(int kind, uint32_t *const states[], const uint8_t *const data[], int lanes,
                                size_t blocks) {
    if (lanes < 1 || lanes > 16) return 0;
    switch (kind) {
    case 0:
        for (int i = 0; i < lanes; i++) sha256_portable(states[i], data[i], blocks);
        return 1;
#if defined(__x86_64__)
    case 1:
    case 2:
    case 3:
    case 4:
        if (!has_sha_ni()) return 0;
        sha256_ni_groups(kind, states, data, lanes, blocks);
        return 1;
    case 16:
        if (!has_avx512bw()) return 0;
        sha256_avx512(states, data, lanes, blocks);
        return 1;
#endif
    default:
        return 0;
    }
}
