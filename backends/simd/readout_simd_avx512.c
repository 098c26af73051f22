/* Readout, AVX-512: spike counts over a chunk, and the loss (rates, dL/dS,
 * argmax) of a batch.
 *
 * spike_count: 16 bits of a row's spike word are an opmask, and a masked
 * add puts 1.0f on the lanes that spiked, so the counts are exactly the
 * scalar kernel's (the same float additions, in t order).
 * loss: as lif_simd_avx2.c's — rate, dL/dS and argmax bitwise equal to the
 * scalar kernel, the MSE sum in another order of exact double terms, CE
 * with the scalar kernel's double exp/log. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "simd.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define INLINE static inline __attribute__((always_inline))

/* Lanes 0 .. rem-1 (rem >= 16: all, rem <= 0: none). */
INLINE __mmask16 lanes(int rem)
{
    return rem >= 16 ? 0xffff : rem <= 0 ? 0 : (__mmask16)((1u << rem) - 1);
}

/* ---------------------------------------------------------- spike count */

/* A unit is 16 neurons of one row (fewer at the row's end). Its count
 * stays in a register over the Tc steps; four units run side by side so
 * that four chains of dependent adds overlap (n = 10: four rows). */
#define UNITS 4

lif_status lif_spike_count_simd_avx512(const lif_ctx *ctx, const lif_spike_count_args *a)
{
    (void)ctx;
    const __m512 one = _mm512_set1_ps(1.0f);
    int n = a->n, per_row = (n + 15) / 16;
    size_t row_step = a->s_tstride ? a->s_tstride : (size_t)a->B * a->lds; /* words between steps */
    int nu = a->B * per_row;
    for (int u0 = 0; u0 < nu; u0 += UNITS) {
        float *cnt[UNITS];
        const uint64_t *s[UNITS];
        int shift[UNITS];
        __mmask16 k[UNITS];
        __m512 c[UNITS];
        for (int j = 0; j < UNITS; j++) {
            int u = u0 + j < nu ? u0 + j : u0, b = u / per_row, o = u % per_row * 16;
            /* a unit past the last is a copy of the first with no lanes */
            k[j] = u0 + j < nu ? lanes(n - o) : 0;
            cnt[j] = a->count + (size_t)b * n + o;
            s[j] = a->s + (size_t)b * a->lds + o / 64;
            shift[j] = o % 64;
            c[j] = _mm512_maskz_loadu_ps(k[j], cnt[j]);
        }
        for (size_t r = 0; r < (size_t)a->Tc * row_step; r += row_step)
            for (int j = 0; j < UNITS; j++) {
                /* bits past n are not features (the words may be padding) */
                __mmask16 hit = (__mmask16)(s[j][r] >> shift[j]) & k[j];
                c[j] = _mm512_mask_add_ps(c[j], hit, c[j], one);
            }
        for (int j = 0; j < UNITS; j++)
            _mm512_mask_storeu_ps(cnt[j], k[j], c[j]);
    }
    return LIF_OK;
}

/* ----------------------------------------------------------------- loss */

/* The CE terms of one sample: the scalar kernel's double arithmetic. */
static double ce_row(const lif_loss_args *a, const float *c, int label, float maxr, float *ds)
{
    int n = a->n;
    double z = 0.0;
    for (int o = 0; o < n; o++)
        z += exp((double)(c[o] / (float)a->T - maxr));
    double logz = log(z) + maxr;
    if (ds)
        for (int o = 0; o < n; o++) {
            double pr = exp(c[o] / (float)a->T - logz);
            double g = (pr - (o == label)) / a->B;
            ds[o] = (float)(g / a->T);
        }
    return logz - c[label] / (float)a->T;
}

lif_status lif_loss_simd_avx512(const lif_ctx *ctx, const lif_loss_args *a)
{
    (void)ctx;
    int n = a->n;
    const __m512 T = _mm512_set1_ps((float)a->T), one = _mm512_set1_ps(1.0f);
    const __m512 two = _mm512_set1_ps(2.0f), Bn = _mm512_set1_ps((float)(a->B * n));
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512d sum = _mm512_setzero_pd();  /* MSE: Σ (double)d·d, exact terms */
    double total = 0.0;
    int correct = 0;
    for (int b = 0; b < a->B; b++) {
        const float *c = a->count + (size_t)b * n;
        float *rate = a->rate ? a->rate + (size_t)b * n : NULL;
        float *ds = a->ds ? a->ds + (size_t)b * n : NULL;
        int label = a->labels[b];
        /* rates (count / T, as the scalar kernel) and their maximum */
        __m512 vmax = _mm512_set1_ps(-INFINITY);
        for (int o = 0; o < n; o += 16) {
            __mmask16 m = lanes(n - o);
            __m512 r = _mm512_div_ps(_mm512_maskz_loadu_ps(m, c + o), T);
            if (rate)
                _mm512_mask_storeu_ps(rate + o, m, r);
            vmax = _mm512_mask_max_ps(vmax, m, vmax, r);
        }
        float maxr = _mm512_reduce_max_ps(vmax);
        /* the first neuron at the maximum, as the scalar's "r > maxr" scan */
        int best = 0;
        for (int o = 0; o < n; o += 16) {
            __mmask16 m = lanes(n - o);
            __m512 r = _mm512_div_ps(_mm512_maskz_loadu_ps(m, c + o), T);
            unsigned eq = _mm512_mask_cmp_ps_mask(m, r, _mm512_set1_ps(maxr), _CMP_EQ_OQ);
            if (eq) {
                best = o + __builtin_ctz(eq);
                break;
            }
        }
        correct += best == label;
        if (a->kind == LIF_LOSS_CE) {
            total += ce_row(a, c, label, maxr, ds);
            continue;
        }
        /* MSE: d = rate - onehot; ds = 2·d / (B·n) / T */
        for (int o = 0; o < n; o += 16) {
            __mmask16 m = lanes(n - o);
            __m512 hot = _mm512_maskz_mov_ps(
                _mm512_cmpeq_epi32_mask(iota, _mm512_set1_epi32(label - o)), one);
            __m512 d = _mm512_maskz_sub_ps(m, _mm512_div_ps(_mm512_maskz_loadu_ps(m, c + o), T),
                                           hot);  /* tail lanes: 0 */
            __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(d));
            __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(d, 1));
            sum = _mm512_add_pd(sum, _mm512_add_pd(_mm512_mul_pd(lo, lo), _mm512_mul_pd(hi, hi)));
            if (ds)
                _mm512_mask_storeu_ps(ds + o, m,
                                      _mm512_div_ps(_mm512_div_ps(_mm512_mul_ps(two, d), Bn), T));
        }
    }
    if (a->kind == LIF_LOSS_CE)
        *a->loss = total / a->B;
    else
        *a->loss = _mm512_reduce_add_pd(sum) / ((double)a->B * n);
    *a->correct = correct;
    return LIF_OK;
}
