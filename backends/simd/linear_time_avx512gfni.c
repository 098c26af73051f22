/* Linear forward with time in the lanes, AVX-512 + GFNI + VBMI (compiled
 * with -mgfni -mavx512vbmi on top of the AVX-512 flags).
 *
 * The dense and skip kernels put 16 inputs in a vector's lanes, so a narrow
 * layer (784 -> 10) spends 16 lanes on every 16-input chunk that has a
 * spike, and an input whose pixel is 0 costs as much as any other. Here a
 * vector holds 16 time steps of one sample and one output:
 *
 *   acc[o][t] = b[o] + Σ_{i fired at t} W[o][i],  t = 16 steps of sample b,
 *
 * one masked add of the broadcast W[o][i] per input i and output o, with
 * the 16-bit mask of the steps at which i fired. An input that never fires
 * in the 16 steps (a background pixel: half of Fashion-MNIST's, four
 * fifths of MNIST's) costs nothing at all, and no lane is idle.
 *
 * The masks come from the row-major spike bits (rows [Tc][B], `step` = B
 * rows per time step): for each word of 64 inputs, the word of 8 steps of a
 * sample is brought together (8 rows' 64-byte pieces, transposed in
 * registers), its bytes reordered so that each qword holds one input byte
 * of the 8 steps (vpermb), and each 8x8 bit matrix transposed
 * (vgf2p8affineqb): a byte per input, a bit per step. Two such halves
 * interleave into 16-bit masks (vpermt2b). Two blocks of 16 steps of a
 * sample share one pass over the inputs that fired in either; with an odd
 * number of blocks (T 100: 7) the first pass takes three, so no block
 * makes a pass alone (lif_kernels, 784 -> 10, T 100: 0.160 -> 0.148 ms at
 * density 0.13, 0.286 -> 0.262 at 0.29).
 *
 * Each output adds its inputs in increasing index order from the bias:
 * the scalar reference kernel's order, so the results are bitwise the
 * scalar kernel's (and the same whatever cut of samples or steps a caller
 * makes). Without the [Tc][B] layout (step 0, or M not a multiple of it)
 * each row is summed alone in the same order. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "simd.h"

enum { TL = 16 };           /* steps per vector */
enum { PAIR_MAX_OUT = 12 }; /* outputs up to which two blocks share a pass (registers) */
enum { TRIPLE_MAX_OUT = 10 }; /* and three (30 accumulators of the 32 zmm) */

static inline __mmask16 lanes16(int n)
{
    return (__mmask16)(n >= 16 ? 0xffffu : n <= 0 ? 0u : (1u << n) - 1u);
}

/* Workspace: Wᵀ (n_in rows of n_out floats, for rows summed alone), the
 * 16-bit step masks of three blocks (a whole number of words of inputs), a
 * 16 x 16 output tile and the list of a block's inputs that fired (32 a
 * store past the count: nw·64 + 16 entries). The blocks read W[o][i] in place: n_out streams. */
size_t lif_linear_fwd_time_workspace(const lif_problem *p)
{
    size_t nw = ((size_t)p->n_in + 63) / 64;
    size_t wt = ((size_t)p->n_in * (size_t)p->n_out * sizeof(float) + 63) / 64 * 64;
    return wt + 3 * nw * 64 * sizeof(uint16_t) + TL * TL * sizeof(float) + 64 +
           (nw * 64 + 16) * sizeof(int32_t);
}

static void transpose_w(const float *w, int n_in, int n_out, float *wt)
{
    for (int i0 = 0; i0 < n_in; i0 += 16) {
        int i1 = i0 + 16 < n_in ? i0 + 16 : n_in;
        for (int o = 0; o < n_out; o++)
            for (int i = i0; i < i1; i++)
                wt[(size_t)i * n_out + o] = w[(size_t)o * n_in + i];
    }
}

/* The 8 x 8 transpose of qwords: g[w] = {r[0] qword w, ..., r[7] qword w}.
 * Three stages of eight shuffles. */
static inline __attribute__((always_inline)) void transpose8q(const __m512i r[8], __m512i g[8])
{
    __m512i a[8], c[8];
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) { /* rows 2k, 2k+1 at even / odd qwords of each 128-bit lane */
        a[2 * k] = _mm512_unpacklo_epi64(r[2 * k], r[2 * k + 1]);
        a[2 * k + 1] = _mm512_unpackhi_epi64(r[2 * k], r[2 * k + 1]);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) /* rows 4h..4h+3 at qwords {q, q + 4} */
#pragma GCC unroll 2
        for (int odd = 0; odd < 2; odd++) {
            __m512i x = a[4 * h + odd], y = a[4 * h + 2 + odd];
            c[4 * h + 2 * odd] = _mm512_shuffle_i64x2(x, y, 0x88);
            c[4 * h + 2 * odd + 1] = _mm512_shuffle_i64x2(x, y, 0xDD);
        }
    const __m512i lo = _mm512_setr_epi64(0, 1, 4, 5, 8, 9, 12, 13);
    const __m512i hi = _mm512_setr_epi64(2, 3, 6, 7, 10, 11, 14, 15);
    static const int sq[4] = {0, 2, 1, 3};
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        g[sq[q]] = _mm512_permutex2var_epi64(c[q], lo, c[4 + q]);
        g[sq[q] + 4] = _mm512_permutex2var_epi64(c[q], hi, c[4 + q]);
    }
}

/* The 16-bit step masks of the nw words of inputs for the nt (1..16)
 * steps whose rows are row0, row0 + rs, row0 + 2 rs, ... (rs words apart):
 * bit t of m[i] = input i fired at step t. Per 8 steps and 8 words: the
 * rows' 64-byte pieces, transposed to a word's 8 steps (transpose8q: a
 * gather per word took a third of the forward), then vpermb puts byte k
 * of the 8 steps in qword k (step l in byte 7 - l, the order
 * vgf2p8affineqb's bit transpose wants), and vpermt2b puts each input's
 * two bytes (steps 0-7, 8-15) side by side. */
static inline void step_masks(const uint64_t *row0, size_t rs, int nt, size_t nw, uint16_t *m)
{
    static const uint8_t perm[64] __attribute__((aligned(64))) = {
#define Q(k) 56 + k, 48 + k, 40 + k, 32 + k, 24 + k, 16 + k, 8 + k, k
        Q(0), Q(1), Q(2), Q(3), Q(4), Q(5), Q(6), Q(7)
#undef Q
    };
    static const uint8_t lo[64] __attribute__((aligned(64))) = {
#define P(i) i, 64 + i
        P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), P(10), P(11), P(12), P(13),
        P(14), P(15), P(16), P(17), P(18), P(19), P(20), P(21), P(22), P(23), P(24), P(25),
        P(26), P(27), P(28), P(29), P(30), P(31)
#undef P
    };
    const __m512i vperm = _mm512_load_si512(perm), vlo = _mm512_load_si512(lo);
    const __m512i vhi = _mm512_add_epi8(vlo, _mm512_set1_epi8(32));
    const __m512i ident = _mm512_set1_epi64((long long)0x8040201008040201ull);
    for (size_t s0 = 0; s0 < nw; s0 += 8) {
        int nws = nw - s0 < 8 ? (int)(nw - s0) : 8;
        __mmask8 kw = (__mmask8)((1u << nws) - 1u);
        __m512i half[2][8];
        for (int h = 0; h < 2; h++) {
            __m512i r[8], g[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                r[j] = 8 * h + j < nt ? _mm512_maskz_loadu_epi64(kw, row0 + (size_t)(8 * h + j) * rs + s0)
                                      : _mm512_setzero_si512();
            transpose8q(r, g);
#pragma GCC unroll 8
            for (int w = 0; w < 8; w++)
                half[h][w] = _mm512_gf2p8affine_epi64_epi8(ident, _mm512_permutexvar_epi8(vperm, g[w]), 0);
        }
        for (int w = 0; w < nws; w++) {
            uint16_t *mw = m + 64 * (s0 + (size_t)w);
            _mm512_storeu_si512((void *)mw, _mm512_permutex2var_epi8(half[0][w], vlo, half[1][w]));
            _mm512_storeu_si512((void *)(mw + 32), _mm512_permutex2var_epi8(half[0][w], vhi, half[1][w]));
        }
    }
}

/* Sample b's steps t0 .. t0+nt-1 in NB (1, 2 or 3, a constant) blocks of
 * 16 steps (nt <= 16·NB): y rows (t0 + t)·step + b. The blocks share one
 * pass over the inputs that fired in any of them, so each W[o][i] is
 * loaded once for all (the loads, not the adds, bound the loop: a
 * broadcast from memory issues about once a cycle here). */
static inline __attribute__((always_inline)) void
time_block(const lif_linear_fwd_args *a, size_t ldy, uint16_t *m, int32_t *ev, float *tile, int b,
           int t0, int nt, int O, int NB)
{
    const int n_in = a->n_in, step = a->step;
    const size_t nw = ((size_t)n_in + 63) / 64, mb = nw * 64; /* masks of a block */
    for (int j = 0; j < NB; j++) {
        const uint64_t *row0 = a->x + ((size_t)(t0 + TL * j) * step + b) * a->ldx;
        int ntj = nt - TL * j < TL ? nt - TL * j : TL;
        step_masks(row0, (size_t)step * a->ldx, ntj, nw, m + j * mb);
    }
    __m512 acc[3][16];
#pragma GCC unroll 3
    for (int j = 0; j < NB; j++)
#pragma GCC unroll 16
        for (int o = 0; o < O; o++)
            acc[j][o] = a->b ? _mm512_set1_ps(a->b[o]) : _mm512_setzero_ps();
    /* the inputs that fired in any of the blocks, in increasing order */
    int ne = 0;
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int i0 = 0; i0 < n_in; i0 += 32) {
        __m512i v = _mm512_loadu_si512((const void *)(m + i0));
        if (NB >= 2)
            v = _mm512_or_si512(v, _mm512_loadu_si512((const void *)(m + mb + i0)));
        if (NB == 3)
            v = _mm512_or_si512(v, _mm512_loadu_si512((const void *)(m + 2 * mb + i0)));
        uint32_t nz = (uint32_t)_mm512_test_epi16_mask(v, v);
        if (n_in - i0 < 32)
            nz &= (1u << (n_in - i0)) - 1u; /* no input past n_in */
        __m512i idx = _mm512_add_epi32(iota, _mm512_set1_epi32(i0));
        _mm512_storeu_si512((void *)(ev + ne), _mm512_maskz_compress_epi32((__mmask16)nz, idx));
        ne += __builtin_popcount(nz & 0xffffu);
        _mm512_storeu_si512((void *)(ev + ne),
                            _mm512_maskz_compress_epi32((__mmask16)(nz >> 16),
                                                        _mm512_add_epi32(idx, _mm512_set1_epi32(16))));
        ne += __builtin_popcount(nz >> 16);
    }
    for (int e = 0; e < ne; e++) {
        int i = ev[e];
        __mmask16 k0 = (__mmask16)m[i], k1 = NB >= 2 ? (__mmask16)m[mb + i] : 0;
        __mmask16 k2 = NB == 3 ? (__mmask16)m[2 * mb + i] : 0;
        const float *wi = a->w + i; /* W[o][i]: O streams, n_in floats apart */
#pragma GCC unroll 16
        for (int o = 0; o < O; o++) {
            __m512 wv = _mm512_set1_ps(wi[(size_t)o * n_in]);
            acc[0][o] = lif_madd16(acc[0][o], k0, wv, o & 1);
            if (NB >= 2)
                acc[1][o] = lif_madd16(acc[1][o], k1, wv, !(o & 1));
            if (NB == 3)
                acc[2][o] = lif_madd16(acc[2][o], k2, wv, o & 1);
        }
    }
#pragma GCC unroll 3
    for (int j = 0; j < NB; j++) {
#pragma GCC unroll 16
        for (int o = 0; o < O; o++)
            _mm512_store_ps(tile + TL * o, acc[j][o]);
        int ntj = nt - TL * j < TL ? nt - TL * j : TL;
        lif_tile_to_rows(tile, TL, O, ntj, a->y + ((size_t)(t0 + TL * j) * step + b) * ldy,
                         (size_t)step * ldy);
    }
}

/* One row alone, the same order: acc[o] from the bias, + W[o][i] for each
 * input that fired, in increasing i. */
static void row_alone(const lif_linear_fwd_args *a, const float *wt, const uint64_t *x, float *y)
{
    const int n_in = a->n_in, O = a->n_out;
    __mmask16 mo = lanes16(O);
    __m512 acc = a->b ? _mm512_maskz_loadu_ps(mo, a->b) : _mm512_setzero_ps();
    for (int w = 0; w * 64 < n_in; w++) {
        uint64_t bits = x[w];
        if (n_in - 64 * w < 64)
            bits &= ~0ull >> (64 - (n_in - 64 * w));
        while (bits) {
            int i = 64 * w + __builtin_ctzll(bits);
            bits &= bits - 1;
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(mo, wt + (size_t)i * O));
        }
    }
    _mm512_mask_storeu_ps(y, mo, acc);
}

static inline __attribute__((always_inline)) void
time_all(const lif_linear_fwd_args *a, size_t ldy, uint16_t *m, int32_t *ev, float *tile, int O)
{
    int B = a->nb > 0 && a->nb < a->step ? a->nb : a->step, Tc = a->M / a->step;
    int nblk = (Tc + TL - 1) / TL;
    for (int b = 0; b < B; b++) {
        int t0 = 0;
        if (O <= TRIPLE_MAX_OUT && nblk >= 3 && nblk % 2 == 1) {
            /* an odd number of blocks: three in the first pass, then pairs,
             * rather than a last block alone */
            time_block(a, ldy, m, ev, tile, b, t0, Tc - t0 < 3 * TL ? Tc - t0 : 3 * TL, O, 3);
            t0 += 3 * TL;
        }
        if (O <= PAIR_MAX_OUT) /* two blocks at a time: 2·O accumulators */
            for (; Tc - t0 > TL; t0 += 2 * TL)
                time_block(a, ldy, m, ev, tile, b, t0, Tc - t0 < 2 * TL ? Tc - t0 : 2 * TL, O, 2);
        for (; t0 < Tc; t0 += TL)
            time_block(a, ldy, m, ev, tile, b, t0, Tc - t0 < TL ? Tc - t0 : TL, O, 1);
    }
}

lif_status lif_linear_fwd_simd_avx512_time(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    size_t ldy = a->ldy ? a->ldy : (size_t)a->n_out;
    const size_t nw = ((size_t)a->n_in + 63) / 64;
    char *ws = lif_ctx_ws(ctx, 0);
    float *wt = (float *)(void *)ws;
    uint16_t *m = (uint16_t *)(void *)(ws + ((size_t)a->n_in * (size_t)a->n_out * sizeof(float) + 63) / 64 * 64);
    float *tile = (float *)(void *)((char *)m + 3 * nw * 64 * sizeof(uint16_t));
    tile = (float *)(void *)(((uintptr_t)tile + 63) & ~(uintptr_t)63);
    int32_t *ev = (int32_t *)(void *)(tile + TL * TL);
    if (a->step <= 0 || a->M % a->step != 0) {
        transpose_w(a->w, a->n_in, a->n_out, wt);
        for (int r = 0; r < a->M; r++)
            row_alone(a, wt, a->x + (size_t)r * a->ldx, a->y + (size_t)r * ldy);
        return LIF_OK;
    }
    switch (a->n_out) {
#define TIME_CASE(n) case n: time_all(a, ldy, m, ev, tile, n); break;
    TIME_CASE(1) TIME_CASE(2) TIME_CASE(3) TIME_CASE(4) TIME_CASE(5) TIME_CASE(6)
    TIME_CASE(7) TIME_CASE(8) TIME_CASE(9) TIME_CASE(10) TIME_CASE(11) TIME_CASE(12)
    TIME_CASE(13) TIME_CASE(14) TIME_CASE(15) TIME_CASE(16)
#undef TIME_CASE
    default: break;
    }
    return LIF_OK;
}
