/* Linear layer, AVX-512 kernels (compiled with -mavx512f/bw/vl/dq -mfma).
 *
 * Dense kernels take opmasks straight from the spike bits: 16 bits of a row
 * are the kmask of a 16-float chunk, so a masked add is "add the weights of
 * the inputs that fired" without expanding anything.
 *   fwd    y[r][o] = b[o] + dot(x[r], W[o]): 2 rows x 8 outputs of zmm
 *          accumulators over chunks of 16 inputs, reduced at the end.
 *   bwd_w  dW[o][i..i+63] += dY[r][o] for the rows whose bit i is set: 5
 *          outputs x 4 chunks (one 64-bit word) of accumulators over a
 *          block of rows that stays in L1, from and back to dW; per element
 *          the sum runs in row order from dW's old value, the scalar
 *          kernel's order, so results are bitwise equal.
 * Event-driven kernels only touch the inputs that fired:
 *   fwd    adds rows of Wᵀ (workspace, rows padded to 16 floats) to a
 *          register accumulator initialised with the bias. Narrow layers
 *          (n_out <= 16): the row's events are decoded as byte offsets,
 *          visiting only its nonzero 16-bit chunks, one row ahead of the
 *          sum, and summed in eight accumulators (not the scalar order:
 *          equal within float rounding; exact for 1/64 weights).
 *   bwd_w  adds dY[r] into rows of dWᵀ (workspace, initialised from dW) and
 *          transposes back: again the scalar order, bitwise equal.
 * Wide layers (n_out > 16) walk the outputs in blocks of up to 16 zmm. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "simd.h"
#include "linear_simd.h"

/* ---------------------------------------------------------------- helpers */

/* Mask of the first n lanes (n <= 0: none, n >= 16: all). */
static inline __mmask16 first_lanes(int n)
{
    return (__mmask16)(n >= 16 ? 0xffffu : n <= 0 ? 0u : (1u << n) - 1u);
}

/* The 16 spike bits of inputs 16c .. 16c+15 of a row. */
static inline __mmask16 chunk_bits(const uint64_t *x, int c)
{
    return (__mmask16)(x[c >> 2] >> (16 * (c & 3)));
}

/* Indices of the set bits of a row of nw words, in increasing order, into
 * ev (which has 16 ints of slack); returns how many. Branch-free: each 16
 * bits compress an index vector; a full vector is stored and the write
 * position advances by the popcount. */
static inline int events(const uint64_t *x, size_t nw, uint64_t last, int32_t *ev)
{
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_set1_epi32(16);
    int n = 0;
    for (size_t w = 0; w < nw; w++) {
        uint64_t bits = w + 1 < nw ? x[w] : x[w] & last; /* no bit past n_in */
        for (int c = 0; c < 4; c++) {
            __mmask16 k = (__mmask16)(bits >> (16 * c));
            _mm512_storeu_si512((void *)(ev + n), _mm512_maskz_compress_epi32(k, idx));
            n += __builtin_popcount((unsigned)k);
            idx = _mm512_add_epi32(idx, step);
        }
    }
    return n;
}

/* As events(), but writes byte offsets of the rows of Wᵀ (index · 64, rows
 * of 16 floats), so that the sum loop adds them to the base as they are,
 * and visits only the nonzero 16-bit chunks of the row: Poisson-encoded
 * images leave most chunks empty (the background never fires), and the
 * compress is the costly step. The chunks of 16 words at a time are tested
 * at once (vptestmw) into a 64-bit mask that a tzcnt loop walks. */
static inline int event_offsets(const uint64_t *x, size_t nw, uint64_t last, int32_t *ev)
{
    const __m512i iota = _mm512_setr_epi32(0, 64, 128, 192, 256, 320, 384, 448, 512, 576, 640,
                                           704, 768, 832, 896, 960);
    int n = 0;
    size_t wl = (nw - 1) / 16 * 16; /* the block holding the row's last word */
    uint64_t tail[16];
    memset(tail, 0, sizeof tail);
    memcpy(tail, x + wl, (nw - wl) * sizeof *x); /* stays inside the row */
    tail[nw - wl - 1] &= last;                   /* no bit past n_in */
    for (size_t w0 = 0; w0 < nw; w0 += 16) {
        const uint64_t *src = w0 == wl ? tail : x + w0;
        __m512i v0 = _mm512_loadu_si512((const void *)src);
        __m512i v1 = _mm512_loadu_si512((const void *)(src + 8));
        uint64_t nz = (uint64_t)_mm512_test_epi16_mask(v0, v0) |
                      (uint64_t)_mm512_test_epi16_mask(v1, v1) << 32;
        const unsigned char *chunks = (const unsigned char *)src; /* little-endian */
        int base = (int)w0 * 64 * 64; /* byte offset of input 64·w0's row */
        while (nz) {
            int c = __builtin_ctzll(nz);
            nz &= nz - 1;
            __m512i off = _mm512_add_epi32(iota, _mm512_set1_epi32(base + c * 16 * 64));
            uint16_t k;
            memcpy(&k, chunks + 2 * c, sizeof k); /* bits 16c..16c+15 of the block */
            _mm512_storeu_si512((void *)(ev + n), _mm512_maskz_compress_epi32((__mmask16)k, off));
            n += __builtin_popcount((unsigned)k);
        }
    }
    return n;
}

/* Σ of the rows of Wᵀ at byte offsets ev[0..ne-1] from wt, plus b: eight
 * accumulators (events e mod 8) keep eight adds in flight. The list is
 * padded to a multiple of 8 with the offset of a zero row (zrow), so the
 * loop has no remainder (one less mispredicted exit per row). */
static inline __m512 sum_rows(const char *wt, int32_t *ev, int ne, int32_t zrow, __m512 b)
{
    __m512 acc[8];
    acc[0] = b;
    for (int j = 1; j < 8; j++)
        acc[j] = _mm512_setzero_ps();
    _mm256_storeu_si256((__m256i *)(void *)(ev + ne), _mm256_set1_epi32(zrow));
    for (int e = 0; e < ne; e += 8)
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            acc[j] = _mm512_add_ps(acc[j], _mm512_load_ps((const float *)(wt + ev[e + j])));
    __m512 s0 = _mm512_add_ps(acc[0], acc[1]), s1 = _mm512_add_ps(acc[2], acc[3]);
    __m512 s2 = _mm512_add_ps(acc[4], acc[5]), s3 = _mm512_add_ps(acc[6], acc[7]);
    return _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3));
}

/* ------------------------------------------- narrow layers: skip silent chunks
 *
 * A 16-input chunk whose 16 bits are all 0 adds nothing (a masked add with an
 * empty mask leaves its accumulator as it is), so skipping it changes no bit.
 * Poisson-encoded images leave many chunks silent at every step (the
 * background never fires: on Fashion-MNIST about 23 % of a row's chunks, on
 * MNIST more), and a silent row of a hidden layer is silent whole. For
 * n_out <= 16 the kernels below visit only a row's nonzero chunks, keeping
 * every output of the row (forward) or every output of the chunk (weight
 * gradient) in registers. */

/* Bit j of the result: chunk 4·w0 + j (inputs 64·w0 + 16j ..) of the row has
 * a spike; words w0 .. min(nw, w0 + 16) - 1 are read, none past nw. */
static inline uint64_t nonzero_chunks(const uint64_t *x, size_t w0, size_t nw)
{
    size_t n = nw - w0 < 16 ? nw - w0 : 16;
    __mmask8 m0 = (__mmask8)(n >= 8 ? 0xffu : (1u << n) - 1u);
    __mmask8 m1 = (__mmask8)(n >= 16 ? 0xffu : n > 8 ? (1u << (n - 8)) - 1u : 0u);
    __m512i v0 = _mm512_maskz_loadu_epi64(m0, x + w0);
    __m512i v1 = _mm512_maskz_loadu_epi64(m1, x + w0 + 8);
    return (uint64_t)_mm512_test_epi16_mask(v0, v0) |
           (uint64_t)_mm512_test_epi16_mask(v1, v1) << 32;
}

/* Lane o of the result: the sum of the 16 lanes of acc[o] (o < O; lanes
 * O.. are 0), added in the tree of GCC's _mm512_reduce_add_ps (halves, then
 * quarters, then lanes 0+2 and 1+3, then 0+1), so each lane has the bits
 * that reduce_add would give it, for 16 accumulators at a time. */
static inline __attribute__((always_inline)) __m512 hsum16(const __m512 *acc, int O)
{
    __m512 a[16], w[8], u[4], z[2];
#pragma GCC unroll 16
    for (int o = 0; o < 16; o++)
        a[o] = o < O ? acc[o] : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++) /* [lo256 + hi256 of a[2p] | of a[2p+1]] */
        w[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) /* quarter j: 4 lanes of a[4q + j] */
        u[q] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * q], w[2 * q + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(w[2 * q], w[2 * q + 1], _MM_SHUFFLE(3, 1, 3, 1)));
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) /* quarter j: 2 lanes of a[8h + j], 2 of a[8h + 4 + j] */
        z[h] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * h], u[2 * h + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(u[2 * h], u[2 * h + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    /* quarter j: the sums of a[j], a[4 + j], a[8 + j], a[12 + j] */
    __m512 s = _mm512_add_ps(_mm512_shuffle_ps(z[0], z[1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_ps(z[0], z[1], _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(order, s);
}

/* y[o] = b[o] + dot(x, W[o]) for the O (<= 16) outputs of one row. */
static inline __attribute__((always_inline)) void
fwd_narrow_row(const lif_linear_fwd_args *a, const uint64_t *x, float *y, __m512 b, int O)
{
    __m512 acc[16];
#pragma GCC unroll 16
    for (int o = 0; o < O; o++)
        acc[o] = _mm512_setzero_ps();
    const int n_in = a->n_in, nc = (n_in + 15) / 16;
    const size_t nw = ((size_t)n_in + 63) / 64;
    const int part = n_in % 16 ? nc - 1 : -1; /* a last chunk past W's rows' ends */
    for (size_t w0 = 0; w0 < nw; w0 += 16) {
        uint64_t m = nonzero_chunks(x, w0, nw);
        int c0 = (int)w0 * 4;
        if (nc - c0 < 64)
            m &= (1ull << (nc - c0)) - 1; /* no chunk past n_in */
        while (m) {
            int c = c0 + __builtin_ctzll(m);
            m &= m - 1;
            __mmask16 k = chunk_bits(x, c);
            const float *w = a->w + 16 * c;
            if (__builtin_expect(c == part, 0)) {
                k &= first_lanes(n_in - 16 * c);
#pragma GCC unroll 16
                for (int o = 0; o < O; o++)
                    acc[o] = _mm512_mask_add_ps(acc[o], k, acc[o],
                                                _mm512_maskz_loadu_ps(k, w + (size_t)o * n_in));
            } else {
#pragma GCC unroll 16
                for (int o = 0; o < O; o++)
                    acc[o] = _mm512_mask_add_ps(acc[o], k, acc[o],
                                                _mm512_loadu_ps(w + (size_t)o * n_in));
            }
        }
    }
    _mm512_mask_storeu_ps(y, first_lanes(O), _mm512_add_ps(b, hsum16(acc, O)));
}

static inline __attribute__((always_inline)) void
fwd_narrow(const lif_linear_fwd_args *a, size_t ldy, int O)
{
    __m512 b = a->b ? _mm512_maskz_loadu_ps(first_lanes(O), a->b) : _mm512_setzero_ps();
    for (int r = 0; r < a->M; r++)
        fwd_narrow_row(a, a->x + (size_t)r * a->ldx, a->y + (size_t)r * ldy, b, O);
}

/* Rows per block of the narrow weight gradient: its row lists live on the
 * stack. */
enum { BWD_ROWS = 256 };

/* dW[o][16c ..] += dY[r][o] over the rows r of the list (in its order)
 * whose chunk c has a spike: O (<= 16) outputs in registers. */
static inline __attribute__((always_inline)) void
bwd_w_narrow_chunk(const lif_linear_bwd_w_args *a, size_t lddy, int c, const int32_t *rows,
                   int n, int O)
{
    const int n_in = a->n_in;
    __mmask16 valid = first_lanes(n_in - 16 * c);
    float *dw = a->dw + 16 * c;
    __m512 acc[16];
#pragma GCC unroll 16
    for (int o = 0; o < O; o++)
        acc[o] = _mm512_maskz_loadu_ps(valid, dw + (size_t)o * n_in);
    for (int e = 0; e < n; e++) {
        int r = rows[e];
        __mmask16 k = chunk_bits(a->x + (size_t)r * a->ldx, c) & valid;
        const float *dy = a->dy + (size_t)r * lddy;
#pragma GCC unroll 16
        for (int o = 0; o < O; o++)
            acc[o] = lif_madd16(acc[o], k, _mm512_set1_ps(dy[o]), o & 1);
    }
#pragma GCC unroll 16
    for (int o = 0; o < O; o++)
        _mm512_mask_storeu_ps(dw + (size_t)o * n_in, valid, acc[o]);
}

/* The weight gradient of a narrow layer, in blocks of BWD_ROWS rows of the
 * summation order: per block, each row's nonzero chunks (a 64-bit mask per
 * 1024 inputs), then per chunk the rows where it has a spike, in order, and
 * the chunk's O x 16 elements summed over them. Each element still adds
 * its rows in the order of `step` from its old value, minus the rows that
 * add nothing: bitwise the dense kernel's results. */
static inline __attribute__((always_inline)) void
bwd_w_narrow(const lif_linear_bwd_w_args *a, size_t lddy, int O)
{
    const int n_in = a->n_in, nc = (n_in + 15) / 16;
    const size_t nw = ((size_t)n_in + 63) / 64;
    int32_t ord[BWD_ROWS] __attribute__((aligned(64)));
    int32_t rows[BWD_ROWS + 16];
    uint64_t rm[BWD_ROWS] __attribute__((aligned(64)));
    for (int k0 = 0; k0 < a->M; k0 += BWD_ROWS) {
        int nk = a->M - k0 < BWD_ROWS ? a->M - k0 : BWD_ROWS;
        for (int k = 0; k < nk; k++)
            ord[k] = lif_bwd_w_row(a, k0 + k);
        for (int k = nk; k < BWD_ROWS; k++)
            ord[k] = 0;
        for (size_t w0 = 0; w0 < nw; w0 += 16) {
            for (int k = 0; k < nk; k++)
                rm[k] = nonzero_chunks(a->x + (size_t)ord[k] * a->ldx, w0, nw);
            for (int k = nk; k < BWD_ROWS; k++)
                rm[k] = 0;
            int c0 = (int)w0 * 4, c1 = nc - c0 < 64 ? nc : c0 + 64;
            for (int c = c0; c < c1; c++) {
                /* the rows of the block whose chunk c has a spike, in order */
                const __m512i bit = _mm512_set1_epi64((long long)(1ull << (c - c0)));
                int n = 0;
                for (int k = 0; k < nk; k += 16) {
                    __mmask16 f = (__mmask16)(_mm512_test_epi64_mask(_mm512_load_si512(rm + k), bit) |
                                              _mm512_test_epi64_mask(_mm512_load_si512(rm + k + 8), bit) << 8);
                    __m512i idx = _mm512_load_si512(ord + k);
                    _mm512_storeu_si512(rows + n, _mm512_maskz_compress_epi32(f, idx));
                    n += __builtin_popcount((unsigned)f);
                }
                if (n)
                    bwd_w_narrow_chunk(a, lddy, c, rows, n, O);
            }
        }
    }
}

#define NARROW_CASES(call)                                                                  \
    case 1: call(1); break; case 2: call(2); break; case 3: call(3); break;                 \
    case 4: call(4); break; case 5: call(5); break; case 6: call(6); break;                 \
    case 7: call(7); break; case 8: call(8); break; case 9: call(9); break;                 \
    case 10: call(10); break; case 11: call(11); break; case 12: call(12); break;           \
    case 13: call(13); break; case 14: call(14); break; case 15: call(15); break;           \
    case 16: call(16); break; default: break

/* ---------------------------------------------------------- dense forward */

/* R rows x O outputs of accumulators, chunks of 16 inputs: each chunk of
 * W[o] is loaded once and masked-added into the R rows' accumulators. */
static inline __attribute__((always_inline)) void
fwd_block(const lif_linear_fwd_args *a, size_t ldy, int r0, int o0, int R, int O)
{
    __m512 acc[4][5];
    const float *w = a->w + (size_t)o0 * a->n_in;
    const uint64_t *x = a->x + (size_t)r0 * a->ldx;
    int n_in = a->n_in, nc = (n_in + 15) / 16;
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 5
        for (int o = 0; o < O; o++)
            acc[r][o] = _mm512_setzero_ps();
    for (int c = 0; c < nc; c++) {
        __mmask16 k[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            k[r] = chunk_bits(x + (size_t)r * a->ldx, c);
        __mmask16 valid = first_lanes(n_in - 16 * c); /* stay inside W */
#pragma GCC unroll 5
        for (int o = 0; o < O; o++) {
            __m512 wv = _mm512_maskz_loadu_ps(valid, w + (size_t)o * n_in + 16 * c);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                acc[r][o] = lif_madd16(acc[r][o], k[r], wv, (r + o) & 1);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        float *y = a->y + (size_t)(r0 + r) * ldy + o0;
#pragma GCC unroll 5
        for (int o = 0; o < O; o++)
            y[o] = (a->b ? a->b[o0 + o] : 0.0f) + _mm512_reduce_add_ps(acc[r][o]);
    }
}

/* One pass of rows r0..r0+R-1 over all outputs, 5 at a time. */
static inline __attribute__((always_inline)) void
fwd_rows(const lif_linear_fwd_args *a, size_t ldy, int r0, int R)
{
    int o = 0;
    for (; o + 5 <= a->n_out; o += 5)
        fwd_block(a, ldy, r0, o, R, 5);
    switch (a->n_out - o) {
    case 4: fwd_block(a, ldy, r0, o, R, 4); break;
    case 3: fwd_block(a, ldy, r0, o, R, 3); break;
    case 2: fwd_block(a, ldy, r0, o, R, 2); break;
    case 1: fwd_block(a, ldy, r0, o, R, 1); break;
    default: break;
    }
}

lif_status lif_linear_fwd_simd_avx512(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    (void)ctx;
    size_t ldy = a->ldy ? a->ldy : (size_t)a->n_out;
    int r = 0;
    for (; r + 4 <= a->M; r += 4)
        fwd_rows(a, ldy, r, 4);
    switch (a->M - r) {
    case 3: fwd_rows(a, ldy, r, 3); break;
    case 2: fwd_rows(a, ldy, r, 2); break;
    case 1: fwd_rows(a, ldy, r, 1); break;
    default: break;
    }
    return LIF_OK;
}

/* ---------------------------------------------------- event-driven forward */

/* Wᵀ into ws: row i holds W[0..n_out-1][i], zero-padded to s floats. */
static void transpose_w(const float *w, int n_in, int n_out, size_t s, float *wt)
{
    for (int i = 0; i < n_in; i++) {
        float *row = wt + (size_t)i * s;
        for (size_t o = (size_t)n_out; o < s; o++)
            row[o] = 0.0f;
    }
    /* blocks of 16 inputs keep both sides' lines in cache */
    for (int i0 = 0; i0 < n_in; i0 += 16) {
        int i1 = i0 + 16 < n_in ? i0 + 16 : n_in;
        for (int o = 0; o < n_out; o++)
            for (int i = i0; i < i1; i++)
                wt[(size_t)i * s + o] = w[(size_t)o * n_in + i];
    }
}

/* Wide rows: nb (1..16, a constant after inlining) zmm of outputs per pass
 * over the row's events. */
#define WIDE_NB 16

static inline __attribute__((always_inline)) void
fwd_event_wide_block(const float *wt, size_t s, const int32_t *ev, int ne, const float *b,
                     float *y, int o0, int nb, int n_out)
{
    __m512 acc[WIDE_NB];
#pragma GCC unroll 16
    for (int j = 0; j < nb; j++) {
        __mmask16 m = first_lanes(n_out - o0 - 16 * j);
        acc[j] = b ? _mm512_maskz_loadu_ps(m, b + o0 + 16 * j) : _mm512_setzero_ps();
    }
    for (int e = 0; e < ne; e++) {
        const float *row = wt + (size_t)ev[e] * s + o0;
#pragma GCC unroll 16
        for (int j = 0; j < nb; j++)
            acc[j] = _mm512_add_ps(acc[j], _mm512_load_ps(row + 16 * j));
    }
#pragma GCC unroll 16
    for (int j = 0; j < nb; j++)
        _mm512_mask_storeu_ps(y + o0 + 16 * j, first_lanes(n_out - o0 - 16 * j), acc[j]);
}

lif_status lif_linear_fwd_simd_avx512_event(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    int n_in = a->n_in, n_out = a->n_out;
    size_t ldy = a->ldy ? a->ldy : (size_t)n_out;
    size_t s = lif_linear_simd_stride(n_out);
    float *wt = lif_ctx_ws(ctx, 0);
    int32_t *ev = (int32_t *)(wt + (size_t)(n_in + 1) * s);
    transpose_w(a->w, n_in, n_out, s, wt);
    size_t nw = ((size_t)n_in + 63) / 64;
    uint64_t last = LAST_WORD_MASK(n_in);

    if (n_out <= 16) {
        /* one zmm per row of Wᵀ. Row r+1's events are decoded before row r
         * is summed: the loads of an event list then come well after its
         * vector stores (a dword load from a pending zmm store would stall
         * on store forwarding), and the decode overlaps the sum. */
        __mmask16 m = first_lanes(n_out);
        __m512 b = a->b ? _mm512_maskz_loadu_ps(m, a->b) : _mm512_setzero_ps();
        int32_t *cur = ev, *next = ev + n_in + 32;
        int32_t zrow = n_in * 64; /* Wᵀ's zero row past the last input */
        _mm512_store_ps(wt + (size_t)n_in * s, _mm512_setzero_ps());
        int ne = a->M > 0 ? event_offsets(a->x, nw, last, cur) : 0;
        for (int r = 0; r < a->M; r++) {
            int ne_next = r + 1 < a->M ? event_offsets(a->x + (size_t)(r + 1) * a->ldx, nw, last, next) : 0;
            _mm512_mask_storeu_ps(a->y + (size_t)r * ldy, m,
                                  sum_rows((const char *)wt, cur, ne, zrow, b));
            int32_t *tmp = cur;
            cur = next, next = tmp, ne = ne_next;
        }
        return LIF_OK;
    }
    int nblk = (int)(s / 16);
    for (int r = 0; r < a->M; r++) {
        int ne = events(a->x + (size_t)r * a->ldx, nw, last, ev);
        float *y = a->y + (size_t)r * ldy;
        /* blocks of 16, then 8, 4, 2, 1 zmm: constant sizes stay in registers */
        int j = 0;
        for (; j + 16 <= nblk; j += 16)
            fwd_event_wide_block(wt, s, ev, ne, a->b, y, 16 * j, 16, n_out);
        for (int nb = 8; nb >= 1; nb /= 2)
            if (nblk - j >= nb) {
                switch (nb) {
                case 8: fwd_event_wide_block(wt, s, ev, ne, a->b, y, 16 * j, 8, n_out); break;
                case 4: fwd_event_wide_block(wt, s, ev, ne, a->b, y, 16 * j, 4, n_out); break;
                case 2: fwd_event_wide_block(wt, s, ev, ne, a->b, y, 16 * j, 2, n_out); break;
                default: fwd_event_wide_block(wt, s, ev, ne, a->b, y, 16 * j, 1, n_out); break;
                }
                j += nb;
            }
    }
    return LIF_OK;
}

/* --------------------------------------------------- dense weight gradient */

/* Outputs o0..o0+O-1 x inputs 64*wd .. 64*wd+16*C-1 (the first C chunks
 * of word wd: 4, or the last word's chunks that hold inputs) of the rows
 * of block `rows`, in row order, from and back to dW. */
static inline __attribute__((always_inline)) void
bwd_w_block(const lif_linear_bwd_w_args *a, size_t lddy, int o0, int O, size_t wd, int C,
            lif_bwd_w_blk rows)
{
    __m512 acc[5][4];
    int i0 = (int)wd * 64;
    __mmask16 valid[4];
#pragma GCC unroll 4
    for (int c = 0; c < C; c++) {
        valid[c] = first_lanes(a->n_in - i0 - 16 * c);
    }
#pragma GCC unroll 5
    for (int o = 0; o < O; o++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++)
            acc[o][c] = _mm512_maskz_loadu_ps(valid[c],
                                              a->dw + (size_t)(o0 + o) * a->n_in + i0 + 16 * c);
    const uint64_t *x = a->x + wd;
    const float *dy = a->dy + o0;
    for (int j = 0; j < rows.ns; j++)
    for (int r = rows.r0 - j * rows.st; r < rows.r1 - j * rows.st; r++) {
        const uint16_t *kb = (const uint16_t *)(const void *)(x + (size_t)r * a->ldx);
        /* no early skip of empty rows: at low density it mispredicts */
        __m512 g[5];
#pragma GCC unroll 5
        for (int o = 0; o < O; o++)
            g[o] = _mm512_set1_ps(dy[(size_t)r * lddy + o]);
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            __mmask16 k;
            __asm__("kmovw %1, %0" : "=k"(k) : "m"(kb[c])); /* a load, not a shift and a move */
#pragma GCC unroll 5
            for (int o = 0; o < O; o++)
                acc[o][c] = lif_madd16(acc[o][c], k, g[o], (o + c) & 1);
        }
    }
#pragma GCC unroll 5
    for (int o = 0; o < O; o++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++)
            _mm512_mask_storeu_ps(a->dw + (size_t)(o0 + o) * a->n_in + i0 + 16 * c, valid[c],
                                  acc[o][c]);
}

/* Every output of word wd's first C chunks, 5 outputs a pass. */
static inline __attribute__((always_inline)) void
bwd_w_outputs(const lif_linear_bwd_w_args *a, size_t lddy, size_t wd, int C, lif_bwd_w_blk rows)
{
    int o = 0;
    for (; o + 5 <= a->n_out; o += 5)
        bwd_w_block(a, lddy, o, 5, wd, C, rows);
    switch (a->n_out - o) {
    case 4: bwd_w_block(a, lddy, o, 4, wd, C, rows); break;
    case 3: bwd_w_block(a, lddy, o, 3, wd, C, rows); break;
    case 2: bwd_w_block(a, lddy, o, 2, wd, C, rows); break;
    case 1: bwd_w_block(a, lddy, o, 1, wd, C, rows); break;
    default: break;
    }
}

/* db[o] += Σ_r dY[r][o], in the order of `step` (as the scalar kernel);
 * rows of dY lddy floats apart. */
static void bias_grad(const float *dy, size_t lddy, int M, int step, int n_out, float *db)
{
    int st = step > 0 ? step : M;
    for (int o0 = 0; o0 < n_out; o0 += 16) {
        __mmask16 m = first_lanes(n_out - o0);
        __m512 acc = _mm512_maskz_loadu_ps(m, db + o0);
        for (int s0 = M - st; s0 >= 0; s0 -= st)
        for (int r = s0; r < s0 + st; r++)
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, dy + (size_t)r * lddy + o0));
        _mm512_mask_storeu_ps(db + o0, m, acc);
    }
}

lif_status lif_linear_bwd_w_simd_avx512(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
{
    (void)ctx;
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    size_t nw = ((size_t)a->n_in + 63) / 64;
    lif_bwd_w_blocks bp = lif_bwd_w_plan(a, lddy);
    for (int k = 0; k < bp.n; k++) {
        lif_bwd_w_blk rows = lif_bwd_w_block(a, lddy, &bp, k);
        for (size_t wd = 0; wd < nw; wd++) {
            /* the last word: only its chunks that hold inputs (784: 1 of 4) */
            int left = a->n_in - (int)wd * 64, C = left >= 64 ? 4 : (left + 15) / 16;
            switch (C) {
            case 4: bwd_w_outputs(a, lddy, wd, 4, rows); break;
            case 3: bwd_w_outputs(a, lddy, wd, 3, rows); break;
            case 2: bwd_w_outputs(a, lddy, wd, 2, rows); break;
            default: bwd_w_outputs(a, lddy, wd, 1, rows); break;
            }
        }
    }
    if (a->db)
        bias_grad(a->dy, lddy, a->M, a->step, a->n_out, a->db);
    return LIF_OK;
}

/* ---------------------------------------------- event-driven weight gradient */

static inline __attribute__((always_inline)) void
bwd_w_event_wide_block(float *gt, size_t s, const int32_t *ev, int ne, const float *dy,
                       int o0, int nb, int n_out)
{
    __m512 g[WIDE_NB];
#pragma GCC unroll 16
    for (int j = 0; j < nb; j++)
        g[j] = _mm512_maskz_loadu_ps(first_lanes(n_out - o0 - 16 * j), dy + o0 + 16 * j);
    for (int e = 0; e < ne; e++) {
        float *row = gt + (size_t)ev[e] * s + o0;
#pragma GCC unroll 16
        for (int j = 0; j < nb; j++)
            _mm512_store_ps(row + 16 * j, _mm512_add_ps(_mm512_load_ps(row + 16 * j), g[j]));
    }
}

lif_status lif_linear_bwd_w_simd_avx512_event(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
{
    int n_in = a->n_in, n_out = a->n_out;
    size_t lddy = a->lddy ? a->lddy : (size_t)n_out;
    size_t s = lif_linear_simd_stride(n_out);
    float *gt = lif_ctx_ws(ctx, 0);  /* dWᵀ, starts as the transpose of dW */
    int32_t *ev = (int32_t *)(gt + (size_t)n_in * s);
    transpose_w(a->dw, n_in, n_out, s, gt);
    size_t nw = ((size_t)n_in + 63) / 64;
    uint64_t last = LAST_WORD_MASK(n_in);

    if (n_out <= 16) {
        __mmask16 m = first_lanes(n_out);
        for (int k = 0; k < a->M; k++) {
            int r = lif_bwd_w_row(a, k); /* steps last to first */
            int ne = events(a->x + (size_t)r * a->ldx, nw, last, ev);
            __m512 g = _mm512_maskz_loadu_ps(m, a->dy + (size_t)r * lddy);
            /* a row's events are distinct inputs: the updates are independent */
            for (int e = 0; e < ne; e++) {
                float *row = gt + (size_t)ev[e] * s;
                _mm512_store_ps(row, _mm512_add_ps(_mm512_load_ps(row), g));
            }
        }
    } else {
        int nblk = (int)(s / 16);
        for (int k = 0; k < a->M; k++) {
            int r = lif_bwd_w_row(a, k); /* steps last to first */
            int ne = events(a->x + (size_t)r * a->ldx, nw, last, ev);
            const float *dy = a->dy + (size_t)r * lddy;
            int j = 0;
            for (; j + 16 <= nblk; j += 16)
                bwd_w_event_wide_block(gt, s, ev, ne, dy, 16 * j, 16, n_out);
            for (int nb = 8; nb >= 1; nb /= 2)
                if (nblk - j >= nb) {
                    switch (nb) {
                    case 8: bwd_w_event_wide_block(gt, s, ev, ne, dy, 16 * j, 8, n_out); break;
                    case 4: bwd_w_event_wide_block(gt, s, ev, ne, dy, 16 * j, 4, n_out); break;
                    case 2: bwd_w_event_wide_block(gt, s, ev, ne, dy, 16 * j, 2, n_out); break;
                    default: bwd_w_event_wide_block(gt, s, ev, ne, dy, 16 * j, 1, n_out); break;
                    }
                    j += nb;
                }
        }
    }
    lif_linear_simd_fold(gt, s, n_in, n_out, a->dw);
    if (a->db)
        bias_grad(a->dy, lddy, a->M, a->step, n_out, a->db);
    return LIF_OK;
}

/* ------------------------------------------------------ gradient to input */

/* dX[r][i] = Σ_o dY[r][o] W[o][i]: 4 rows x 2 chunks of 16 inputs. */
lif_status lif_linear_bwd_x_simd_avx512(const lif_ctx *ctx, const lif_linear_bwd_x_args *a)
{
    (void)ctx;
    int n_in = a->n_in, n_out = a->n_out;
    size_t lddy = a->lddy ? a->lddy : (size_t)n_out;
    for (int r0 = 0; r0 < a->M; r0 += 4) {
        int R = a->M - r0 < 4 ? a->M - r0 : 4;
        for (int i0 = 0; i0 < n_in; i0 += 32) {
            __mmask16 m0 = first_lanes(n_in - i0);
            __mmask16 m1 = first_lanes(n_in - i0 - 16);
            __m512 acc[4][2];
            for (int r = 0; r < 4; r++)
                acc[r][0] = acc[r][1] = _mm512_setzero_ps();
            for (int o = 0; o < n_out; o++) {
                const float *w = a->w + (size_t)o * n_in + i0;
                __m512 w0 = _mm512_maskz_loadu_ps(m0, w), w1 = _mm512_maskz_loadu_ps(m1, w + 16);
                for (int r = 0; r < 4; r++) {
                    /* rows past M reuse the last row: computed, never stored */
                    int rr = r < R ? r : R - 1;
                    __m512 g = _mm512_set1_ps(a->dy[(size_t)(r0 + rr) * lddy + o]);
                    acc[r][0] = _mm512_fmadd_ps(g, w0, acc[r][0]);
                    acc[r][1] = _mm512_fmadd_ps(g, w1, acc[r][1]);
                }
            }
            for (int r = 0; r < R; r++) {
                float *dx = a->dx + (size_t)(r0 + r) * n_in + i0;
                _mm512_mask_storeu_ps(dx, m0, acc[r][0]);
                _mm512_mask_storeu_ps(dx + 16, m1, acc[r][1]);
            }
        }
    }
    return LIF_OK;
}

/* ------------------------------------------- narrow layers: entry points */

lif_status lif_linear_fwd_simd_avx512_skip(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    (void)ctx;
    size_t ldy = a->ldy ? a->ldy : (size_t)a->n_out;
#define FWD_NARROW(O) fwd_narrow(a, ldy, O)
    switch (a->n_out) { NARROW_CASES(FWD_NARROW); }
#undef FWD_NARROW
    return LIF_OK;
}

lif_status lif_linear_bwd_w_simd_avx512_skip(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
{
    (void)ctx;
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
#define BWD_NARROW(O) bwd_w_narrow(a, lddy, O)
    switch (a->n_out) { NARROW_CASES(BWD_NARROW); }
#undef BWD_NARROW
    if (a->db)
        bias_grad(a->dy, lddy, a->M, a->step, a->n_out, a->db);
    return LIF_OK;
}
