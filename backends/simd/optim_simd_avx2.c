/* Optimizers, AVX2: one Adam or SGD (momentum) step on a flat parameter
 * array, 8 parameters at a time.
 *
 * The same float operations in the same order as optim_scalar.c (PyTorch's
 * single-tensor path), no FMA, and the bias corrections computed in double
 * exactly as there: w, m and v are bitwise equal to the scalar kernel. */
#include <immintrin.h>
#include <math.h>

#include "simd.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define INLINE static inline __attribute__((always_inline))

/* Lanes 0 .. rem-1 set (rem in 1..8), for maskload / maskstore. */
INLINE __m256i tail_mask(size_t rem)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Full blocks use plain loads and stores, the one partial block at the end
 * masked ones (lanes m), chosen by `full`. */
INLINE __m256 load(const float *p, int full, __m256i m)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

INLINE void store(float *p, __m256 x, int full, __m256i m)
{
    if (full)
        _mm256_storeu_ps(p, x);
    else
        _mm256_maskstore_ps(p, m, x);
}

typedef struct adam_consts {
    __m256 b1, b2, omb1, omb2, wd, eps, step_size, bc2_sqrt;
} adam_consts;

/* g += wd·w; m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g·g;
 * w -= step_size · m / (sqrt(v)/sqrt(bc2) + eps) */
INLINE void adam_block(const adam_consts *c, const lif_optim_args *a, size_t i, int full,
                       __m256i msk)
{
    __m256 w = load(a->w + i, full, msk);
    __m256 g = _mm256_add_ps(load(a->g + i, full, msk), _mm256_mul_ps(c->wd, w));
    __m256 m = _mm256_add_ps(_mm256_mul_ps(c->b1, load(a->m + i, full, msk)),
                             _mm256_mul_ps(c->omb1, g));
    __m256 v = _mm256_add_ps(_mm256_mul_ps(c->b2, load(a->v + i, full, msk)),
                             _mm256_mul_ps(_mm256_mul_ps(c->omb2, g), g));
    __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(v), c->bc2_sqrt), c->eps);
    w = _mm256_sub_ps(w, _mm256_mul_ps(c->step_size, _mm256_div_ps(m, denom)));
    store(a->m + i, m, full, msk);
    store(a->v + i, v, full, msk);
    store(a->w + i, w, full, msk);
}

typedef struct sgd_consts {
    __m256 lr, wd, mom;
} sgd_consts;

/* g += wd·w; with momentum buf = step 1 ? g : mom·buf + g, g = buf; w -= lr·g */
INLINE void sgd_block(const sgd_consts *c, const lif_optim_args *a, size_t i, int full,
                      __m256i msk, const int momentum, const int first)
{
    __m256 w = load(a->w + i, full, msk);
    __m256 g = _mm256_add_ps(load(a->g + i, full, msk), _mm256_mul_ps(c->wd, w));
    if (momentum) {
        if (!first)
            g = _mm256_add_ps(_mm256_mul_ps(c->mom, load(a->v + i, full, msk)), g);
        store(a->v + i, g, full, msk);
    }
    store(a->w + i, _mm256_sub_ps(w, _mm256_mul_ps(c->lr, g)), full, msk);
}

INLINE void sgd_all(const sgd_consts *c, const lif_optim_args *a, const int momentum,
                    const int first)
{
    size_t i = 0;
    for (; i + 8 <= a->n; i += 8)
        sgd_block(c, a, i, 1, _mm256_setzero_si256(), momentum, first);
    if (i < a->n)
        sgd_block(c, a, i, 0, tail_mask(a->n - i), momentum, first);
}

lif_status lif_optim_simd_avx2(const lif_ctx *ctx, const lif_optim_args *a)
{
    (void)ctx;
    if (a->kind == LIF_OPT_SGD) {
        sgd_consts c = {.lr = _mm256_set1_ps(a->lr), .wd = _mm256_set1_ps(a->weight_decay),
                        .mom = _mm256_set1_ps(a->momentum)};
        if (a->momentum == 0.0f)
            sgd_all(&c, a, 0, 0);
        else if (a->step == 1)
            sgd_all(&c, a, 1, 1);
        else
            sgd_all(&c, a, 1, 0);
        return LIF_OK;
    }
    double bc1 = 1.0 - pow(a->beta1, (double)a->step);
    double bc2 = 1.0 - pow(a->beta2, (double)a->step);
    adam_consts c = {
        .b1 = _mm256_set1_ps(a->beta1), .b2 = _mm256_set1_ps(a->beta2),
        .omb1 = _mm256_set1_ps(1.0f - a->beta1), .omb2 = _mm256_set1_ps(1.0f - a->beta2),
        .wd = _mm256_set1_ps(a->weight_decay), .eps = _mm256_set1_ps(a->eps),
        .step_size = _mm256_set1_ps((float)(a->lr / bc1)),
        .bc2_sqrt = _mm256_set1_ps((float)sqrt(bc2)),
    };
    size_t i = 0;
    for (; i + 8 <= a->n; i += 8)
        adam_block(&c, a, i, 1, _mm256_setzero_si256());
    if (i < a->n)
        adam_block(&c, a, i, 0, tail_mask(a->n - i));
    return LIF_OK;
}
