/* LIF neuron, AVX-512: the forward recurrence and BPTT over a chunk.
 *
 * Both work on the B·n neurons of a step as one flat array, 16 at a time;
 * forward then packs each row's spike bits from a compare of H with V_th,
 * whose 16-bit mask is directly the bits of 16 neurons.
 *
 * Same numerics as lif_simd_avx2.c: forward H and V (and backward with the
 * ATan surrogate) are bitwise equal to the scalar kernel, no FMA, division
 * by tau; the Sigmoid surrogate uses exp16() (≤ 2 ulp, see there). */
#include <immintrin.h>
#include <stdint.h>

#include "simd.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define INLINE static inline __attribute__((always_inline))

/* Lanes 0 .. rem-1 (rem >= 16: all). */
INLINE __mmask16 lanes(size_t rem) { return rem >= 16 ? 0xffff : (__mmask16)((1u << rem) - 1); }

/* ------------------------------------------------------------- forward */

typedef struct fwd_consts {
    __m512 tau, vth, vr, reset;  /* vr: 0 for soft reset, as lif_scalar.c's charge() */
} fwd_consts;

/* Up to 16 neurons (lanes km): H stored, V updated in place. soft and
 * decay are constants at each call site. */
INLINE __mmask16 fwd_block(const fwd_consts *c, __mmask16 km, const float *x, float *v, float *h,
                           const int soft, const int decay)
{
    __m512 xv = _mm512_maskz_loadu_ps(km, x), vv = _mm512_maskz_loadu_ps(km, v), hv;
    if (decay)  /* v + (x - (v - vr)) / tau */
        hv = _mm512_add_ps(vv, _mm512_div_ps(_mm512_sub_ps(xv, _mm512_sub_ps(vv, c->vr)), c->tau));
    else        /* v - (v - vr) / tau + x */
        hv = _mm512_add_ps(_mm512_sub_ps(vv, _mm512_div_ps(_mm512_sub_ps(vv, c->vr), c->tau)), xv);
    __mmask16 s = _mm512_cmp_ps_mask(hv, c->vth, _CMP_GE_OQ);  /* Θ(0) = 1 */
    vv = soft ? _mm512_mask_sub_ps(hv, s, hv, c->vth) : _mm512_mask_mov_ps(hv, s, c->reset);
    _mm512_mask_storeu_ps(h, km, hv);
    _mm512_mask_storeu_ps(v, km, vv);
    return s & km;
}

/* Spike bits of one step from its H: the 16-bit compare mask of H >= V_th
 * (fwd_block's compare, so S = Θ(H - V_th) bit for bit) is directly the
 * bits of 16 neurons. Bits past n and words past the row's last are 0. */
static void pack_step(const float *h, int B, int n, __m512 vth, uint64_t *s, size_t lds)
{
    size_t N = (size_t)B * n;
    for (int b = 0; b < B; b++) {
        const float *hr = h + (size_t)b * n;
        uint64_t *sr = s + (size_t)b * lds;
        for (size_t w = 0; w < lds; w++) {
            uint64_t word = 0;
            int o0 = (int)w * 64, o1 = n < o0 + 64 ? n : o0 + 64;
            for (int o = o0; o < o1; o += 16) {
                /* a partial block may read into the next row (not compared),
                 * but not past the call's last row of the step */
                __mmask16 km = lanes((size_t)(n - o));
                __mmask16 ld = (size_t)b * n + o + 16 <= N ? 0xffff : km;
                __m512 hv = _mm512_maskz_loadu_ps(ld, hr + o);
                word |= (uint64_t)_mm512_mask_cmp_ps_mask(km, hv, vth, _CMP_GE_OQ) << (o - o0);
            }
            sr[w] = word;
        }
    }
}

/* A spike row of 8 words: w, then zeros. */
INLINE void row8(uint64_t *row, uint64_t w)
{
    _mm512_storeu_si512((void *)row, _mm512_maskz_set1_epi64(1, (long long)w));
}

/* H and V of the N = B·n neurons of a step as one flat array (no lane is
 * wasted on row ends, n = 10 included), then the bits row by row. */
INLINE void fwd_chunk(const lif_lif_fwd_args *a, const fwd_consts *c, const int soft,
                      const int decay)
{
    size_t N = (size_t)a->B * a->n;
    size_t ts = a->tstride ? a->tstride : N;
    size_t sts = a->s_tstride ? a->s_tstride : (size_t)a->B * a->lds;
    /* narrow layers: the bits straight from fwd_block's compares (reading
     * H back right after its masked stores stalled on store forwarding) */
    int flat = a->n <= LIF_FLAT_N && N <= LIF_FLAT_MAX;
    uint16_t fm[LIF_FLAT_MAX / 16 + 8];
    for (int t = 0; t < a->Tc; t++) {
        const float *x = a->x + (size_t)t * ts;
        float *h = a->h + (size_t)t * ts;
        for (size_t k = 0; k < N; k += 16) {
            __mmask16 m = fwd_block(c, lanes(N - k), x + k, a->v + k, h + k, soft, decay);
            if (flat)
                fm[k / 16] = (uint16_t)m;
        }
        if (flat) {
            lif_flat_rows((uint8_t *)fm, a->B, a->n, a->s + (size_t)t * sts, a->lds, row8);
        } else {
            pack_step(h, a->B, a->n, c->vth, a->s + (size_t)t * sts, a->lds);
        }
    }
}

lif_status lif_lif_fwd_simd_avx512(const lif_ctx *ctx, const lif_lif_fwd_args *a)
{
    (void)ctx;
    const lif_neuron *p = a->nrn;
    fwd_consts c = {
        .tau = _mm512_set1_ps(p->tau),
        .vth = _mm512_set1_ps(p->v_threshold),
        .vr = _mm512_set1_ps(p->soft_reset ? 0.0f : p->v_reset),
        .reset = _mm512_set1_ps(p->v_reset),
    };
    if (p->soft_reset)
        p->decay_input ? fwd_chunk(a, &c, 1, 1) : fwd_chunk(a, &c, 1, 0);
    else
        p->decay_input ? fwd_chunk(a, &c, 0, 1) : fwd_chunk(a, &c, 0, 0);
    return LIF_OK;
}

/* ------------------------------------------------------------ backward */

/* exp(x), float32: the same Cephes scheme as exp8() in lif_simd_avx2.c
 * (range reduction by ln2 in two parts, degree-7 polynomial with FMA,
 * clamp to [-87.33, 88.37]), but 2^k applied with scalef; ≤ 1 ulp measured
 * over [-87.3, 88.3], NaN propagates. */
INLINE __m512 exp16(__m512 x)
{
    /* min/max return their second operand when one is NaN: keep x there */
    x = _mm512_min_ps(_mm512_set1_ps(88.3762626647949f), x);
    x = _mm512_max_ps(_mm512_set1_ps(-87.3365447505531f), x);
    __m512 k = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f),
                                                    _mm512_set1_ps(0.5f)),
                                    _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(y, k);  /* y · 2^k */
}

typedef struct bwd_consts {
    __m512 vth, reset, tau, keep, one;
    __m512 c_atan, half_alpha;  /* ATan: z = (π/2·alpha)·u, σ' = (alpha/2) / (1 + z²) */
    __m512 alpha, neg_alpha;    /* Sigmoid: sg = 1/(1 + e^(-alpha·u)), σ' = alpha·sg·(1 - sg) */
} bwd_consts;

/* σ'(u), u = H - V_th, in lif_scalar.c's operation order. */
INLINE __m512 surrogate16(const bwd_consts *c, __m512 u, const int sigmoid)
{
    if (sigmoid) {
        __m512 e = exp16(_mm512_mul_ps(c->neg_alpha, u));
        __m512 sg = _mm512_div_ps(c->one, _mm512_add_ps(c->one, e));
        return _mm512_mul_ps(_mm512_mul_ps(c->alpha, sg), _mm512_sub_ps(c->one, sg));
    }
    __m512 z = _mm512_mul_ps(c->c_atan, u);
    return _mm512_div_ps(c->half_alpha, _mm512_add_ps(c->one, _mm512_mul_ps(z, z)));
}

/* Up to 16 neurons (lanes km) of one step: dX[t] out, dV[t] -> dV[t-1]. */
INLINE void bwd_block(const bwd_consts *c, __mmask16 km, const float *h, const float *ds,
                      float *dv, float *dx, const int sigmoid, const int soft, const int detach,
                      const int decay)
{
    __m512 hv = _mm512_maskz_loadu_ps(km, h), d = _mm512_maskz_loadu_ps(km, dv);
    __m512 spike = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(hv, c->vth, _CMP_GE_OQ), c->one);
    __m512 sg = surrogate16(c, _mm512_sub_ps(hv, c->vth), sigmoid);
    __m512 dvdh;
    if (soft)
        dvdh = detach ? c->one : _mm512_sub_ps(c->one, _mm512_mul_ps(c->vth, sg));
    else if (detach)
        dvdh = _mm512_sub_ps(c->one, spike);
    else
        dvdh = _mm512_add_ps(_mm512_sub_ps(c->one, spike),
                             _mm512_mul_ps(_mm512_sub_ps(c->reset, hv), sg));
    __m512 dh = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(km, ds), sg),
                              _mm512_mul_ps(d, dvdh));
    _mm512_mask_storeu_ps(dx, km, decay ? _mm512_div_ps(dh, c->tau) : dh);
    _mm512_mask_storeu_ps(dv, km, _mm512_mul_ps(dh, c->keep));
}

INLINE void bwd_chunk(const lif_lif_bwd_args *a, const bwd_consts *c, const int sigmoid,
                      const int soft, const int detach, const int decay)
{
    size_t N = (size_t)a->B * a->n;
    size_t ts = a->tstride ? a->tstride : N;
    for (int t = a->Tc - 1; t >= 0; t--) {
        const float *h = a->h + (size_t)t * ts, *ds = a->ds + (size_t)t * a->ds_tstride;
        float *dx = a->dx + (size_t)t * ts;
        for (size_t k = 0; k < N; k += 16)
            bwd_block(c, lanes(N - k), h + k, ds + k, a->dv + k, dx + k, sigmoid, soft, detach,
                      decay);
    }
}

/* The 16 option combinations, each a loop without option branches. */
#define BWD_DECAY(s, so, de)                                                                \
    (p->decay_input ? bwd_chunk(a, &c, s, so, de, 1) : bwd_chunk(a, &c, s, so, de, 0))
#define BWD_DETACH(s, so) (p->detach_reset ? BWD_DECAY(s, so, 1) : BWD_DECAY(s, so, 0))
#define BWD_SOFT(s) (p->soft_reset ? BWD_DETACH(s, 1) : BWD_DETACH(s, 0))

lif_status lif_lif_bwd_simd_avx512(const lif_ctx *ctx, const lif_lif_bwd_args *a)
{
    (void)ctx;
    const lif_neuron *p = a->nrn;
    const float half_pi = 1.57079632679489661923f;
    bwd_consts c = {
        .vth = _mm512_set1_ps(p->v_threshold),
        .reset = _mm512_set1_ps(p->v_reset),
        .tau = _mm512_set1_ps(p->tau),
        .keep = _mm512_set1_ps(1.0f - 1.0f / p->tau),
        .one = _mm512_set1_ps(1.0f),
        .c_atan = _mm512_set1_ps(half_pi * p->alpha),
        .half_alpha = _mm512_set1_ps(p->alpha / 2.0f),
        .alpha = _mm512_set1_ps(p->alpha),
        .neg_alpha = _mm512_set1_ps(-p->alpha),
    };
    if (p->surrogate == LIF_SURR_SIGMOID)
        BWD_SOFT(1);
    else
        BWD_SOFT(0);
    return LIF_OK;
}
