/* LIF neuron, AVX2: the forward recurrence and BPTT over a chunk,
 * vectorised over the B × n neurons of a step.
 *
 * Forward: H and V are BITWISE equal to the scalar kernel (lif_scalar.c):
 * the same float operations in the same order (a division by tau, no FMA).
 * gcc builds this file with -std=c11, which means -ffp-contract=off, and
 * clang is told the same by the pragma below, so no mul+add pair of the
 * intrinsics is fused behind our back.
 *
 * Backward: the ATan surrogate and the recurrence use the scalar kernel's
 * operations in its order, so dX and dV are bitwise equal to it too; the
 * Sigmoid surrogate needs exp, done by exp8() below (≤ 1 ulp measured),
 * so its σ' differs from the scalar kernel's (glibc expf) by a few ulps,
 * at most 4e-5 relative (measured for u in [-20, 20]; the largest where
 * sg -> 1 and 1 - sg cancels, i.e. where σ' < 1e-6 anyway), and dX, dV
 * by float rounding of that. */
#include <immintrin.h>
#include <stdint.h>

#include "avx2_util.h"
#include "simd.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif


/* ------------------------------------------------------------- forward */

typedef struct fwd_consts {
    __m256 tau, vth, vr, reset;  /* vr: 0 for soft reset, as lif_scalar.c's charge() */
} fwd_consts;

/* One block of 8 neurons: H from V and X, then V after the reset. Returns
 * H; the caller stores it. soft and decay are constants at each call site,
 * so each of the four loops below is compiled without these branches. */
INLINE __m256 fwd_block(const fwd_consts *c, __m256 x, __m256 *v, const int soft,
                        const int decay)
{
    __m256 h;
    if (decay)  /* v + (x - (v - vr)) / tau */
        h = _mm256_add_ps(*v, _mm256_div_ps(_mm256_sub_ps(x, _mm256_sub_ps(*v, c->vr)), c->tau));
    else        /* v - (v - vr) / tau + x */
        h = _mm256_add_ps(_mm256_sub_ps(*v, _mm256_div_ps(_mm256_sub_ps(*v, c->vr), c->tau)), x);
    __m256 s = _mm256_cmp_ps(h, c->vth, _CMP_GE_OQ);  /* Θ(0) = 1: equality fires */
    *v = soft ? _mm256_blendv_ps(h, _mm256_sub_ps(h, c->vth), s)
              : _mm256_blendv_ps(h, c->reset, s);
    return h;
}

/* H and V of one step for the N = B·n neurons, which are contiguous in
 * x, v and h whatever n is: no lane is wasted on row ends. */
INLINE void fwd_step(const fwd_consts *c, size_t N, const float *x, float *v, float *h,
                     const int soft, const int decay, uint8_t *fm)
{
    size_t k = 0;
    for (; k + 8 <= N; k += 8) {
        __m256 vv = _mm256_loadu_ps(v + k);
        __m256 hv = fwd_block(c, _mm256_loadu_ps(x + k), &vv, soft, decay);
        _mm256_storeu_ps(h + k, hv);
        _mm256_storeu_ps(v + k, vv);
        if (fm) /* fwd_block's compare again: S = Θ(H - V_th) bit for bit */
            fm[k / 8] = (uint8_t)_mm256_movemask_ps(_mm256_cmp_ps(hv, c->vth, _CMP_GE_OQ));
    }
    if (k < N) {
        __m256i m = tail_mask((int)(N - k));
        __m256 vv = _mm256_maskload_ps(v + k, m);
        __m256 hv = fwd_block(c, _mm256_maskload_ps(x + k, m), &vv, soft, decay);
        _mm256_maskstore_ps(h + k, m, hv);
        _mm256_maskstore_ps(v + k, m, vv);
        if (fm)
            fm[k / 8] = (uint8_t)(_mm256_movemask_ps(_mm256_cmp_ps(hv, c->vth, _CMP_GE_OQ)) &
                                  ((1 << (N - k)) - 1));
    }
}

/* Spike bits of one step from its H: row b's word w holds neurons
 * 64w .. 64w+63, 8 at a time from a movemask of H >= V_th (the compare of
 * fwd_block, so S = Θ(H - V_th) bit for bit). Bits past n and words past
 * the row's last are zero. */
static void pack_step(const float *h, int B, int n, __m256 vth, uint64_t *s, size_t lds)
{
    size_t N = (size_t)B * n;
    for (int b = 0; b < B; b++) {
        const float *hr = h + (size_t)b * n;
        uint64_t *sr = s + (size_t)b * lds;
        for (size_t w = 0; w < lds; w++) {
            uint64_t word = 0;
            int o0 = (int)w * 64, o1 = n < o0 + 64 ? n : o0 + 64;
            for (int o = o0; o < o1; o += 8) {
                int rem = n - o;
                /* a partial block may read into the next row (masked off
                 * below), but not past the call's last row of the step */
                __m256 hv = rem >= 8 || (size_t)b * n + o + 8 <= N
                                ? _mm256_loadu_ps(hr + o)
                                : _mm256_maskload_ps(hr + o, tail_mask(rem));
                unsigned bits = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(hv, vth, _CMP_GE_OQ));
                if (rem < 8)
                    bits &= (1u << rem) - 1;
                word |= (uint64_t)bits << (o - o0);
            }
            sr[w] = word;
        }
    }
}

/* A spike row of 8 words: w, then zeros. */
INLINE void row8(uint64_t *row, uint64_t w)
{
    _mm256_storeu_si256((__m256i *)(void *)row, _mm256_set_epi64x(0, 0, 0, (long long)w));
    _mm256_storeu_si256((__m256i *)(void *)(row + 4), _mm256_setzero_si256());
}

INLINE void fwd_chunk(const lif_lif_fwd_args *a, const fwd_consts *c, const int soft,
                      const int decay)
{
    size_t N = (size_t)a->B * a->n;
    size_t ts = a->tstride ? a->tstride : N;
    size_t sts = a->s_tstride ? a->s_tstride : (size_t)a->B * a->lds;
    /* narrow layers: the bits from the compares as H is made (simd.h) */
    int flat = a->n <= LIF_FLAT_N && N <= LIF_FLAT_MAX;
    uint8_t fm[LIF_FLAT_MAX / 8 + 16];
    for (int t = 0; t < a->Tc; t++) {
        float *h = a->h + (size_t)t * ts;
        fwd_step(c, N, a->x + (size_t)t * ts, a->v, h, soft, decay, flat ? fm : NULL);
        if (flat) {
            lif_flat_rows(fm, a->B, a->n, a->s + (size_t)t * sts, a->lds, row8);
        } else {
            pack_step(h, a->B, a->n, c->vth, a->s + (size_t)t * sts, a->lds);
        }
    }
}

lif_status lif_lif_fwd_simd_avx2(const lif_ctx *ctx, const lif_lif_fwd_args *a)
{
    (void)ctx;
    const lif_neuron *p = a->nrn;
    fwd_consts c = {
        .tau = _mm256_set1_ps(p->tau),
        .vth = _mm256_set1_ps(p->v_threshold),
        .vr = _mm256_set1_ps(p->soft_reset ? 0.0f : p->v_reset),
        .reset = _mm256_set1_ps(p->v_reset),
    };
    if (p->soft_reset)
        p->decay_input ? fwd_chunk(a, &c, 1, 1) : fwd_chunk(a, &c, 1, 0);
    else
        p->decay_input ? fwd_chunk(a, &c, 0, 1) : fwd_chunk(a, &c, 0, 0);
    return LIF_OK;
}

/* ------------------------------------------------------------ backward */

/* exp(x) for float32, Cephes' expf: x = k·ln2 + r with |r| <= ln2/2 (ln2
 * in two parts, so r is exact), a degree-7 polynomial for e^r (FMA), and
 * 2^k put into the exponent field. Measured over every float in
 * [-87.3, 88.3] against the correctly rounded exp: at most 1 ulp (96.6 %
 * exact); the bound promised to callers is 2 ulp. x is clamped to
 * [-87.33, 88.37] so 2^k stays a normal float: below, e^x < 1.2e-38 and
 * 1 + e^x rounds to 1 either way; above, e^x ≥ 2.4e38 and the sigmoid
 * 1/(1 + e^x) is ≤ 4.2e-39 where the exact value is smaller, an absolute
 * error below 5e-39. NaN propagates. */
INLINE __m256 exp8(__m256 x)
{
    /* min/max return their second operand when one is NaN: keep x there */
    x = _mm256_min_ps(_mm256_set1_ps(88.3762626647949f), x);
    x = _mm256_max_ps(_mm256_set1_ps(-87.3365447505531f), x);
    __m256 k = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f),
                                               _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

typedef struct bwd_consts {
    __m256 vth, reset, tau, keep, one;
    __m256 c_atan, half_alpha;  /* ATan: z = (π/2·alpha)·u, σ' = (alpha/2) / (1 + z²) */
    __m256 alpha, neg_alpha;    /* Sigmoid: sg = 1/(1 + e^(-alpha·u)), σ' = alpha·sg·(1 - sg) */
} bwd_consts;

/* σ'(u), u = H - V_th, in lif_scalar.c's operation order. */
INLINE __m256 surrogate8(const bwd_consts *c, __m256 u, const int sigmoid)
{
    if (sigmoid) {
        __m256 e = exp8(_mm256_mul_ps(c->neg_alpha, u));
        __m256 sg = _mm256_div_ps(c->one, _mm256_add_ps(c->one, e));
        return _mm256_mul_ps(_mm256_mul_ps(c->alpha, sg), _mm256_sub_ps(c->one, sg));
    }
    __m256 z = _mm256_mul_ps(c->c_atan, u);
    return _mm256_div_ps(c->half_alpha, _mm256_add_ps(c->one, _mm256_mul_ps(z, z)));
}

/* One block of 8 neurons of one step: dX[t] out, dV[t] -> dV[t-1]. */
INLINE void bwd_block(const bwd_consts *c, __m256 h, __m256 ds, __m256 *dv, __m256 *dx,
                      const int sigmoid, const int soft, const int detach, const int decay)
{
    __m256 spike = _mm256_and_ps(_mm256_cmp_ps(h, c->vth, _CMP_GE_OQ), c->one);
    __m256 sg = surrogate8(c, _mm256_sub_ps(h, c->vth), sigmoid);
    __m256 dvdh;
    if (soft)
        dvdh = detach ? c->one : _mm256_sub_ps(c->one, _mm256_mul_ps(c->vth, sg));
    else if (detach)
        dvdh = _mm256_sub_ps(c->one, spike);
    else
        dvdh = _mm256_add_ps(_mm256_sub_ps(c->one, spike),
                             _mm256_mul_ps(_mm256_sub_ps(c->reset, h), sg));
    __m256 dh = _mm256_add_ps(_mm256_mul_ps(ds, sg), _mm256_mul_ps(*dv, dvdh));
    *dx = decay ? _mm256_div_ps(dh, c->tau) : dh;
    *dv = _mm256_mul_ps(dh, c->keep);
}

INLINE void bwd_chunk(const lif_lif_bwd_args *a, const bwd_consts *c, const int sigmoid,
                      const int soft, const int detach, const int decay)
{
    size_t N = (size_t)a->B * a->n;
    size_t ts = a->tstride ? a->tstride : N;
    for (int t = a->Tc - 1; t >= 0; t--) {
        const float *h = a->h + (size_t)t * ts, *ds = a->ds + (size_t)t * a->ds_tstride;
        float *dx = a->dx + (size_t)t * ts, *dv = a->dv;
        size_t k = 0;
        for (; k + 8 <= N; k += 8) {
            __m256 d = _mm256_loadu_ps(dv + k), x;
            bwd_block(c, _mm256_loadu_ps(h + k), _mm256_loadu_ps(ds + k), &d, &x, sigmoid, soft,
                      detach, decay);
            _mm256_storeu_ps(dx + k, x);
            _mm256_storeu_ps(dv + k, d);
        }
        if (k < N) {
            __m256i m = tail_mask((int)(N - k));
            __m256 d = _mm256_maskload_ps(dv + k, m), x;
            bwd_block(c, _mm256_maskload_ps(h + k, m), _mm256_maskload_ps(ds + k, m), &d, &x,
                      sigmoid, soft, detach, decay);
            _mm256_maskstore_ps(dx + k, m, x);
            _mm256_maskstore_ps(dv + k, m, d);
        }
    }
}

/* The 16 option combinations, each a loop without option branches. */
#define BWD_DECAY(s, so, de)                                                                \
    (p->decay_input ? bwd_chunk(a, &c, s, so, de, 1) : bwd_chunk(a, &c, s, so, de, 0))
#define BWD_DETACH(s, so) (p->detach_reset ? BWD_DECAY(s, so, 1) : BWD_DECAY(s, so, 0))
#define BWD_SOFT(s) (p->soft_reset ? BWD_DETACH(s, 1) : BWD_DETACH(s, 0))

lif_status lif_lif_bwd_simd_avx2(const lif_ctx *ctx, const lif_lif_bwd_args *a)
{
    (void)ctx;
    const lif_neuron *p = a->nrn;
    const float half_pi = 1.57079632679489661923f;
    bwd_consts c = {
        .vth = _mm256_set1_ps(p->v_threshold),
        .reset = _mm256_set1_ps(p->v_reset),
        .tau = _mm256_set1_ps(p->tau),
        .keep = _mm256_set1_ps(1.0f - 1.0f / p->tau),
        .one = _mm256_set1_ps(1.0f),
        .c_atan = _mm256_set1_ps(half_pi * p->alpha),
        .half_alpha = _mm256_set1_ps(p->alpha / 2.0f),
        .alpha = _mm256_set1_ps(p->alpha),
        .neg_alpha = _mm256_set1_ps(-p->alpha),
    };
    if (p->surrogate == LIF_SURR_SIGMOID)
        BWD_SOFT(1);
    else
        BWD_SOFT(0);
    return LIF_OK;
}
