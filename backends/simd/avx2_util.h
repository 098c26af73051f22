/* backends/simd/avx2_util.h — small helpers shared by the *_avx2.c files
 * (include only from files compiled with -mavx2). */
#ifndef LIF_SIMD_AVX2_UTIL_H
#define LIF_SIMD_AVX2_UTIL_H

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))

/* Lanes 0 .. rem-1 set (rem in 0..8), for maskload / maskstore. */
INLINE __m256i tail_mask(int rem)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#endif
