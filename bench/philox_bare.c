/* bench/philox_bare.c — the encoders' floor: bare Philox4x32 rounds.
 *
 * The AVX-512 and AVX2 encoders spend most of their time in Philox rounds
 * (two 32 x 32 -> 64 multiplies, two shifts and the XORs of each round on
 * every counter). These loops run nothing but rounds, UNITS states side by
 * side as the encoders do, each Philox word in the low half of a 64-bit
 * lane (so one vpmuludq gives the whole product), and report counter-rounds
 * per second: what the encoders' rounds could reach with no setup, no
 * compare and no output. lif_kernels lists them as philox_rounds/ISA. */
#include <stddef.h>
#include <stdint.h>

#include "philox_bare.h"

enum { UNITS = 5 }; /* as the encoders: five states in flight */

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define M0 0xD2511F53u
#define M1 0xCD9E8D57u

__attribute__((target("avx512f")))
uint64_t lif_bare_philox_avx512(long rounds)
{
    __m512i x[UNITS][4];
    for (int u = 0; u < UNITS; u++)
        for (int j = 0; j < 4; j++)
            x[u][j] = _mm512_set1_epi64(4 * u + j + 1);
    const __m512i m0 = _mm512_set1_epi64(M0), m1 = _mm512_set1_epi64(M1);
    const __m512i k0 = _mm512_set1_epi64(0x9E3779B9), k1 = _mm512_set1_epi64(0xBB67AE85);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 8
        for (int u = 0; u < UNITS; u++) {
            __m512i p0 = _mm512_mul_epu32(x[u][0], m0), p1 = _mm512_mul_epu32(x[u][2], m1);
            x[u][0] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), x[u][1], k0, 0x96);
            x[u][1] = p1;
            x[u][2] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), x[u][3], k1, 0x96);
            x[u][3] = p0;
        }
    }
    __m512i s = _mm512_setzero_si512();
    for (int u = 0; u < UNITS; u++)
        s = _mm512_xor_si512(s, _mm512_xor_si512(x[u][0], x[u][2]));
    return (uint64_t)_mm512_reduce_add_epi64(s); /* keeps the rounds live */
}

__attribute__((target("avx2")))
uint64_t lif_bare_philox_avx2(long rounds)
{
    __m256i x[UNITS][4];
    for (int u = 0; u < UNITS; u++)
        for (int j = 0; j < 4; j++)
            x[u][j] = _mm256_set1_epi64x(4 * u + j + 1);
    const __m256i m0 = _mm256_set1_epi64x(M0), m1 = _mm256_set1_epi64x(M1);
    const __m256i k0 = _mm256_set1_epi64x(0x9E3779B9), k1 = _mm256_set1_epi64x(0xBB67AE85);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 8
        for (int u = 0; u < UNITS; u++) {
            __m256i p0 = _mm256_mul_epu32(x[u][0], m0), p1 = _mm256_mul_epu32(x[u][2], m1);
            x[u][0] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), x[u][1]), k0);
            x[u][1] = p1;
            x[u][2] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), x[u][3]), k1);
            x[u][3] = p0;
        }
    }
    __m256i s = _mm256_setzero_si256();
    for (int u = 0; u < UNITS; u++)
        s = _mm256_xor_si256(s, _mm256_xor_si256(x[u][0], x[u][2]));
    return (uint64_t)_mm256_extract_epi64(s, 0) ^ (uint64_t)_mm256_extract_epi64(s, 3);
}

#else /* no x86: lif_cpu_has never offers these ISAs, so they are never called */
uint64_t lif_bare_philox_avx512(long rounds) { return (uint64_t)rounds; }
uint64_t lif_bare_philox_avx2(long rounds) { return (uint64_t)rounds; }
#endif

double lif_bare_philox_counters(int avx512)
{
    return (avx512 ? 8.0 : 4.0) * UNITS;
}
