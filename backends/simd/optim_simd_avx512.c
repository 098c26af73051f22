/* Optimizers, AVX-512: one Adam or SGD (momentum) step on a flat parameter
 * array, 16 parameters at a time (the last block masked).
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

/* Lanes 0 .. rem-1 (rem >= 16: all). */
INLINE __mmask16 lanes(size_t rem) { return rem >= 16 ? 0xffff : (__mmask16)((1u << rem) - 1); }

typedef struct adam_consts {
    __m512 b1, b2, omb1, omb2, wd, eps, step_size, bc2_sqrt;
} adam_consts;

/* g += wd·w; m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g·g;
 * w -= step_size · m / (sqrt(v)/sqrt(bc2) + eps) */
INLINE void adam_block(const adam_consts *c, const lif_optim_args *a, size_t i, __mmask16 k)
{
    __m512 w = _mm512_maskz_loadu_ps(k, a->w + i);
    __m512 g = _mm512_add_ps(_mm512_maskz_loadu_ps(k, a->g + i), _mm512_mul_ps(c->wd, w));
    __m512 m = _mm512_add_ps(_mm512_mul_ps(c->b1, _mm512_maskz_loadu_ps(k, a->m + i)),
                             _mm512_mul_ps(c->omb1, g));
    __m512 v = _mm512_add_ps(_mm512_mul_ps(c->b2, _mm512_maskz_loadu_ps(k, a->v + i)),
                             _mm512_mul_ps(_mm512_mul_ps(c->omb2, g), g));
    __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(v), c->bc2_sqrt), c->eps);
    w = _mm512_sub_ps(w, _mm512_mul_ps(c->step_size, _mm512_div_ps(m, denom)));
    _mm512_mask_storeu_ps(a->m + i, k, m);
    _mm512_mask_storeu_ps(a->v + i, k, v);
    _mm512_mask_storeu_ps(a->w + i, k, w);
}

typedef struct sgd_consts {
    __m512 lr, wd, mom;
} sgd_consts;

/* g += wd·w; with momentum buf = step 1 ? g : mom·buf + g, g = buf; w -= lr·g */
INLINE void sgd_all(const sgd_consts *c, const lif_optim_args *a, const int momentum,
                    const int first)
{
    for (size_t i = 0; i < a->n; i += 16) {
        __mmask16 k = lanes(a->n - i);
        __m512 w = _mm512_maskz_loadu_ps(k, a->w + i);
        __m512 g = _mm512_add_ps(_mm512_maskz_loadu_ps(k, a->g + i), _mm512_mul_ps(c->wd, w));
        if (momentum) {
            if (!first)
                g = _mm512_add_ps(_mm512_mul_ps(c->mom, _mm512_maskz_loadu_ps(k, a->v + i)), g);
            _mm512_mask_storeu_ps(a->v + i, k, g);
        }
        _mm512_mask_storeu_ps(a->w + i, k, _mm512_sub_ps(w, _mm512_mul_ps(c->lr, g)));
    }
}

lif_status lif_optim_simd_avx512(const lif_ctx *ctx, const lif_optim_args *a)
{
    (void)ctx;
    if (a->kind == LIF_OPT_SGD) {
        sgd_consts c = {.lr = _mm512_set1_ps(a->lr), .wd = _mm512_set1_ps(a->weight_decay),
                        .mom = _mm512_set1_ps(a->momentum)};
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
        .b1 = _mm512_set1_ps(a->beta1), .b2 = _mm512_set1_ps(a->beta2),
        .omb1 = _mm512_set1_ps(1.0f - a->beta1), .omb2 = _mm512_set1_ps(1.0f - a->beta2),
        .wd = _mm512_set1_ps(a->weight_decay), .eps = _mm512_set1_ps(a->eps),
        .step_size = _mm512_set1_ps((float)(a->lr / bc1)),
        .bc2_sqrt = _mm512_set1_ps((float)sqrt(bc2)),
    };
    for (size_t i = 0; i < a->n; i += 16)
        adam_block(&c, a, i, lanes(a->n - i));
    return LIF_OK;
}
