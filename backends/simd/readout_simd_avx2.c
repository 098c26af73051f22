/* Readout, AVX2: spike counts over a chunk, and the loss (rates, dL/dS,
 * argmax) of a batch.
 *
 * spike_count gives exactly the scalar kernel's counts: each spike adds
 * 1.0f to the running count in t order (a lane without a spike adds +0.0f,
 * which changes nothing but a -0.0f count).
 * loss: rate, dL/dS and the argmax are the scalar kernel's operations per
 * element, so bitwise equal to it; the MSE loss sums the same exact
 * double terms in another order (differs by double rounding, ~1e-16
 * relative); CE uses the scalar kernel's double exp/log per element. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "avx2_util.h"
#include "simd.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif


/* ---------------------------------------------------------- spike count */

/* A unit is 8 neurons of one row (fewer at the row's end). Its count
 * stays in a register over the Tc steps: the unit's 8 bits of the row's
 * word are spread to 8 lanes (lane j tests bit j) and 1.0f is added where
 * set. Four units run side by side so that four chains of dependent adds
 * overlap. */
#define UNITS 4

lif_status lif_spike_count_simd_avx2(const lif_ctx *ctx, const lif_spike_count_args *a)
{
    (void)ctx;
    const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256 one = _mm256_set1_ps(1.0f);
    int n = a->n, per_row = (n + 7) / 8;
    size_t row_step = a->s_tstride ? a->s_tstride : (size_t)a->B * a->lds; /* words between steps */
    int nu = a->B * per_row;
    for (int u0 = 0; u0 < nu; u0 += UNITS) {
        float *cnt[UNITS];
        const uint64_t *s[UNITS];
        int shift[UNITS], rem[UNITS];
        unsigned valid[UNITS];
        __m256 c[UNITS];
        for (int j = 0; j < UNITS; j++) {
            int u = u0 + j < nu ? u0 + j : u0, b = u / per_row, o = u % per_row * 8;
            /* a unit past the last is a copy of the first with no lanes */
            rem[j] = u0 + j < nu ? (n - o < 8 ? n - o : 8) : 0;
            valid[j] = (1u << rem[j]) - 1;  /* bits past n are not features */
            cnt[j] = a->count + (size_t)b * n + o;
            s[j] = a->s + (size_t)b * a->lds + o / 64;
            shift[j] = o % 64;
            c[j] = rem[j] == 8 ? _mm256_loadu_ps(cnt[j])
                               : _mm256_maskload_ps(cnt[j], tail_mask(rem[j]));
        }
        for (size_t r = 0; r < (size_t)a->Tc * row_step; r += row_step)
            for (int j = 0; j < UNITS; j++) {
                unsigned byte = (unsigned)(s[j][r] >> shift[j]) & valid[j];
                __m256i hit = _mm256_cmpeq_epi32(
                    _mm256_and_si256(_mm256_set1_epi32((int)byte), sel), sel);
                c[j] = _mm256_add_ps(c[j], _mm256_and_ps(_mm256_castsi256_ps(hit), one));
            }
        for (int j = 0; j < UNITS; j++) {
            if (rem[j] == 8)
                _mm256_storeu_ps(cnt[j], c[j]);
            else if (rem[j] > 0)
                _mm256_maskstore_ps(cnt[j], tail_mask(rem[j]), c[j]);
        }
    }
    return LIF_OK;
}

/* ----------------------------------------------------------------- loss */

/* Maximum of the 8 lanes. */
INLINE float hmax8(__m256 x)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

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

lif_status lif_loss_simd_avx2(const lif_ctx *ctx, const lif_loss_args *a)
{
    (void)ctx;
    int n = a->n;
    const __m256 T = _mm256_set1_ps((float)a->T), one = _mm256_set1_ps(1.0f);
    const __m256 two = _mm256_set1_ps(2.0f), Bn = _mm256_set1_ps((float)(a->B * n));
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256d sum = _mm256_setzero_pd();  /* MSE: Σ (double)d·d, exact terms */
    double total = 0.0;
    int correct = 0;
    for (int b = 0; b < a->B; b++) {
        const float *c = a->count + (size_t)b * n;
        float *rate = a->rate ? a->rate + (size_t)b * n : NULL;
        float *ds = a->ds ? a->ds + (size_t)b * n : NULL;
        int label = a->labels[b];
        /* rates (count / T, as the scalar kernel) and their maximum; tail
         * lanes read 0 and are masked out of the maximum with -inf */
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        for (int o = 0; o < n; o += 8) {
            __m256i m = tail_mask(n - o < 8 ? n - o : 8);
            __m256 r = _mm256_div_ps(_mm256_maskload_ps(c + o, m), T);
            if (rate)
                _mm256_maskstore_ps(rate + o, m, r);
            vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), r,
                                                        _mm256_castsi256_ps(m)));
        }
        float maxr = hmax8(vmax);
        /* the first neuron at the maximum, as the scalar's "r > maxr" scan */
        int best = 0;
        for (int o = 0; o < n; o += 8) {
            __m256i m = tail_mask(n - o < 8 ? n - o : 8);
            __m256 r = _mm256_div_ps(_mm256_maskload_ps(c + o, m), T);
            unsigned eq = (unsigned)_mm256_movemask_ps(_mm256_and_ps(
                _mm256_cmp_ps(r, _mm256_set1_ps(maxr), _CMP_EQ_OQ), _mm256_castsi256_ps(m)));
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
        for (int o = 0; o < n; o += 8) {
            __m256i m = tail_mask(n - o < 8 ? n - o : 8);
            __m256 hot = _mm256_and_ps(
                _mm256_castsi256_ps(_mm256_cmpeq_epi32(iota, _mm256_set1_epi32(label - o))), one);
            __m256 d = _mm256_sub_ps(_mm256_div_ps(_mm256_maskload_ps(c + o, m), T), hot);
            d = _mm256_and_ps(d, _mm256_castsi256_ps(m));  /* tail lanes: 0 */
            __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(d));
            __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));
            sum = _mm256_add_pd(sum, _mm256_add_pd(_mm256_mul_pd(lo, lo), _mm256_mul_pd(hi, hi)));
            if (ds)
                _mm256_maskstore_ps(ds + o, m,
                                    _mm256_div_ps(_mm256_div_ps(_mm256_mul_ps(two, d), Bn), T));
        }
    }
    if (a->kind == LIF_LOSS_CE) {
        *a->loss = total / a->B;
    } else {
        double s[4];
        _mm256_storeu_pd(s, sum);
        *a->loss = (s[0] + s[1] + s[2] + s[3]) / ((double)a->B * n);
    }
    *a->correct = correct;
    return LIF_OK;
}
