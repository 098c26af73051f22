/* Linear layer, AVX2+FMA kernels (compiled with -mavx2 -mfma).
 *
 * Dense kernels turn each byte of spike bits into eight 0/1 floats with a
 * 256-entry table, then multiply-add: x·w is exact (0 or w), so an FMA is
 * the same as adding the weight of an input that fired.
 *   fwd    y[r][o] = b[o] + dot(x[r], W[o]): 2 rows x 5 outputs of ymm
 *          accumulators over chunks of 8 inputs, reduced at the end.
 *   bwd_w  dW[o][i..i+23] += dY[r][o] x[r][i..]: 4 outputs x 3 chunks of
 *          accumulators over a block of rows that stays in L1
 *          (linear_simd.h), from and back to dW; per element the sum runs
 *          in row order from dW's old value (the scalar order: bitwise).
 *          A third of the sums are a lane mask ANDed with dY and an add
 *          (a second table gives the masks), so that the FP-add pipes take
 *          part of what the two FMA pipes did alone.
 * Event-driven kernels only touch the inputs that fired (see the AVX-512
 * file): forward adds rows of Wᵀ (workspace, rows padded to 16 floats) to
 * register accumulators started from the bias; the weight gradient adds
 * dY[r] into rows of dWᵀ (workspace, started from dW) and transposes back.
 * Both keep the scalar kernel's order, so they are bitwise equal to it. */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "simd.h"
#include "linear_simd.h"

/* ---------------------------------------------------------------- helpers */

/* BITS[v][j] = bit j of v, as 0.0f or 1.0f. */
#define B8_(v) {(float)((v) & 1), (float)((v) >> 1 & 1), (float)((v) >> 2 & 1),     \
                (float)((v) >> 3 & 1), (float)((v) >> 4 & 1), (float)((v) >> 5 & 1), \
                (float)((v) >> 6 & 1), (float)((v) >> 7 & 1)}
#define B32_(v) B8_(v), B8_(v + 1), B8_(v + 2), B8_(v + 3)
#define B16_(v) B32_(v), B32_(v + 4), B32_(v + 8), B32_(v + 12)
#define B64_(v) B16_(v), B16_(v + 16), B16_(v + 32), B16_(v + 48)
static const float BITS[256][8] __attribute__((aligned(32))) = {
    B64_(0), B64_(64), B64_(128), B64_(192)};
#undef B8_
/* MASKS[v][j] = bit j of v as a lane mask (all ones or zero). */
#define B8_(v) {-((v) & 1), -((v) >> 1 & 1), -((v) >> 2 & 1), -((v) >> 3 & 1), \
                -((v) >> 4 & 1), -((v) >> 5 & 1), -((v) >> 6 & 1), -((v) >> 7 & 1)}
static const int32_t MASKS[256][8] __attribute__((aligned(32))) = {
    B64_(0), B64_(64), B64_(128), B64_(192)};

/* Lane mask (sign bits) of the first n lanes (n <= 0: none, n >= 8: all). */
static inline __m256i first_lanes(int n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Byte c of a row of spike bits (inputs 8c .. 8c+7). */
static inline unsigned byte_of(const uint64_t *x, int c)
{
    return (unsigned)(x[c >> 3] >> (8 * (c & 7))) & 0xffu;
}

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Indices of the set bits of a row of nw words, in increasing order, into
 * ev (which has 16 ints of slack); returns how many. Four indices are
 * written per step whether or not that many bits are left (the extra ones
 * land in the slack and are overwritten), so the loop branches once per
 * four events instead of once per event. */
static inline int events(const uint64_t *x, size_t nw, uint64_t last, int32_t *ev)
{
    int n = 0;
    for (size_t w = 0; w < nw; w++) {
        uint64_t bits = w + 1 < nw ? x[w] : x[w] & last; /* no bit past n_in */
        int cnt = __builtin_popcountll(bits), base = (int)(w * 64);
        int32_t *p = ev + n;
        /* | 2^63: defined ctz once bits runs out (the index is then unused) */
        for (int j = 0; j < cnt; j += 4) {
            p[j] = base + __builtin_ctzll(bits | 1ull << 63), bits &= bits - 1;
            p[j + 1] = base + __builtin_ctzll(bits | 1ull << 63), bits &= bits - 1;
            p[j + 2] = base + __builtin_ctzll(bits | 1ull << 63), bits &= bits - 1;
            p[j + 3] = base + __builtin_ctzll(bits | 1ull << 63), bits &= bits - 1;
        }
        n += cnt;
    }
    return n;
}

/* offs[v] = the byte offsets (bit index · 64: rows of 16 floats) of the set
 * bits of byte v, in increasing order, then zeros. */
static void byte_offsets(int32_t offs[256][8])
{
    for (int v = 0; v < 256; v++) {
        int n = 0;
        for (int j = 0; j < 8; j++)
            if (v >> j & 1)
                offs[v][n++] = j * 64;
        while (n < 8)
            offs[v][n++] = 0;
    }
}

/* As events(), but writes byte offsets of the rows of Wᵀ (index · 64, rows
 * of 16 floats), so that the sum adds them to the base as they are, and
 * visits only the nonzero bytes of the row (Poisson-encoded images leave
 * most of them empty: the background never fires): 32 bytes at a time are
 * tested at once into a mask that a tzcnt loop walks; each byte stores its
 * eight table offsets plus its base and advances by its popcount. ev needs
 * 8 ints of slack. */
static inline int event_offsets(const uint64_t *x, size_t nw, uint64_t last,
                                const int32_t offs[256][8], int32_t *ev)
{
    int n = 0;
    size_t wl = (nw - 1) / 4 * 4; /* the group holding the row's last word */
    uint64_t tail[4] = {0, 0, 0, 0};
    memcpy(tail, x + wl, (nw - wl) * sizeof *x); /* stays inside the row */
    tail[nw - wl - 1] &= last;                   /* no bit past n_in */
    for (size_t w0 = 0; w0 < nw; w0 += 4) {
        const uint64_t *src = w0 == wl ? tail : x + w0;
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)src);
        unsigned nz = ~(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256()));
        const unsigned char *bytes = (const unsigned char *)src; /* little-endian */
        int base = (int)w0 * 64 * 64; /* byte offset of input 64·w0's row */
        while (nz) {
            int c = __builtin_ctz(nz);
            nz &= nz - 1;
            unsigned k = bytes[c];
            __m256i off = _mm256_add_epi32(_mm256_load_si256((const __m256i *)(const void *)offs[k]),
                                           _mm256_set1_epi32(base + c * 8 * 64));
            _mm256_storeu_si256((__m256i *)(void *)(ev + n), off);
            n += __builtin_popcount(k);
        }
    }
    return n;
}

/* y0, y1 += Σ of the rows of Wᵀ (two ymm each) at byte offsets
 * ev[0..ne-1] from wt: four accumulator pairs (events e mod 4) keep eight
 * adds in flight. The list is padded to a multiple of 4 with the offset of
 * a zero row (zrow), so the loop has no remainder. */
static inline void sum_rows(const char *wt, int32_t *ev, int ne, int32_t zrow, __m256 *y0,
                            __m256 *y1)
{
    __m256 a0[4], a1[4];
    a0[0] = *y0, a1[0] = *y1;
    for (int j = 1; j < 4; j++)
        a0[j] = a1[j] = _mm256_setzero_ps();
    _mm_storeu_si128((__m128i *)(void *)(ev + ne), _mm_set1_epi32(zrow));
    for (int e = 0; e < ne; e += 4)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const float *row = (const float *)(const void *)(wt + ev[e + j]);
            a0[j] = _mm256_add_ps(a0[j], _mm256_load_ps(row));
            a1[j] = _mm256_add_ps(a1[j], _mm256_load_ps(row + 8));
        }
    *y0 = _mm256_add_ps(_mm256_add_ps(a0[0], a0[1]), _mm256_add_ps(a0[2], a0[3]));
    *y1 = _mm256_add_ps(_mm256_add_ps(a1[0], a1[1]), _mm256_add_ps(a1[2], a1[3]));
}

/* ---------------------------------------------------------- dense forward */

static inline __attribute__((always_inline)) void
fwd_block(const lif_linear_fwd_args *a, size_t ldy, int r0, int o0, int R, int O)
{
    __m256 acc[2][5];
    const float *w = a->w + (size_t)o0 * a->n_in;
    const uint64_t *x = a->x + (size_t)r0 * a->ldx;
    int n_in = a->n_in, nc = n_in / 8;
#pragma GCC unroll 2
    for (int r = 0; r < R; r++)
#pragma GCC unroll 5
        for (int o = 0; o < O; o++)
            acc[r][o] = _mm256_setzero_ps();
    for (int c = 0; c < nc; c++) {
        __m256 xv[2];
#pragma GCC unroll 2
        for (int r = 0; r < R; r++)
            xv[r] = _mm256_load_ps(BITS[byte_of(x + (size_t)r * a->ldx, c)]);
#pragma GCC unroll 5
        for (int o = 0; o < O; o++) {
            __m256 wv = _mm256_loadu_ps(w + (size_t)o * n_in + 8 * c);
#pragma GCC unroll 2
            for (int r = 0; r < R; r++)
                acc[r][o] = _mm256_fmadd_ps(xv[r], wv, acc[r][o]);
        }
    }
    if (n_in % 8) { /* last partial chunk: masked loads stay inside W */
        __m256i m = first_lanes(n_in % 8);
        __m256 xv[2];
#pragma GCC unroll 2
        for (int r = 0; r < R; r++)
            xv[r] = _mm256_load_ps(BITS[byte_of(x + (size_t)r * a->ldx, nc)]);
#pragma GCC unroll 5
        for (int o = 0; o < O; o++) {
            __m256 wv = _mm256_maskload_ps(w + (size_t)o * n_in + 8 * nc, m);
#pragma GCC unroll 2
            for (int r = 0; r < R; r++)
                acc[r][o] = _mm256_fmadd_ps(xv[r], wv, acc[r][o]);
        }
    }
#pragma GCC unroll 2
    for (int r = 0; r < R; r++) {
        float *y = a->y + (size_t)(r0 + r) * ldy + o0;
#pragma GCC unroll 5
        for (int o = 0; o < O; o++)
            y[o] = (a->b ? a->b[o0 + o] : 0.0f) + hsum(acc[r][o]);
    }
}

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

lif_status lif_linear_fwd_simd_avx2(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    (void)ctx;
    size_t ldy = a->ldy ? a->ldy : (size_t)a->n_out;
    int r = 0;
    for (; r + 2 <= a->M; r += 2)
        fwd_rows(a, ldy, r, 2);
    if (r < a->M)
        fwd_rows(a, ldy, r, 1);
    return LIF_OK;
}

/* ---------------------------------------------------- event-driven forward */

/* Wᵀ into ws: row i holds W[0..n_out-1][i], zero-padded to s floats. */
static void transpose_w(const float *w, int n_in, int n_out, size_t s, float *wt)
{
    for (int i = 0; i < n_in; i++)
        for (size_t o = (size_t)n_out; o < s; o++)
            wt[(size_t)i * s + o] = 0.0f;
    for (int i0 = 0; i0 < n_in; i0 += 16) {
        int i1 = i0 + 16 < n_in ? i0 + 16 : n_in;
        for (int o = 0; o < n_out; o++)
            for (int i = i0; i < i1; i++)
                wt[(size_t)i * s + o] = w[(size_t)o * n_in + i];
    }
}

/* nb (a constant after inlining) ymm of outputs o0.. of one row. */
static inline __attribute__((always_inline)) void
fwd_event_wide_block(const float *wt, size_t s, const int32_t *ev, int ne, const float *b,
                     float *y, int o0, int nb, int n_out)
{
    __m256 acc[12];
#pragma GCC unroll 12
    for (int j = 0; j < nb; j++)
        acc[j] = b ? _mm256_maskload_ps(b + o0 + 8 * j, first_lanes(n_out - o0 - 8 * j))
                   : _mm256_setzero_ps();
    for (int e = 0; e < ne; e++) {
        const float *row = wt + (size_t)ev[e] * s + o0;
#pragma GCC unroll 12
        for (int j = 0; j < nb; j++)
            acc[j] = _mm256_add_ps(acc[j], _mm256_load_ps(row + 8 * j));
    }
#pragma GCC unroll 12
    for (int j = 0; j < nb; j++)
        _mm256_maskstore_ps(y + o0 + 8 * j, first_lanes(n_out - o0 - 8 * j), acc[j]);
}

lif_status lif_linear_fwd_simd_avx2_event(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    int n_in = a->n_in, n_out = a->n_out;
    size_t ldy = a->ldy ? a->ldy : (size_t)n_out;
    size_t s = lif_linear_simd_stride(n_out);
    float *wt = lif_ctx_ws(ctx, 0);
    int32_t *ev = (int32_t *)(wt + ((size_t)n_in + 1) * s);
    transpose_w(a->w, n_in, n_out, s, wt);
    size_t nw = ((size_t)n_in + 63) / 64;
    uint64_t last = LAST_WORD_MASK(n_in);

    if (n_out <= 16) {
        /* two ymm per row of Wᵀ (one cache line). Row r+1's events are
         * decoded before row r is summed: the dword loads of an event list
         * then come well after its vector stores (loading from a pending
         * ymm store stalls on store forwarding), and the decode overlaps
         * the sum. */
        __m256i m0 = first_lanes(n_out), m1 = first_lanes(n_out - 8);
        __m256 b0 = a->b ? _mm256_maskload_ps(a->b, m0) : _mm256_setzero_ps();
        __m256 b1 = a->b ? _mm256_maskload_ps(a->b + 8, m1) : _mm256_setzero_ps();
        int32_t offs[256][8] __attribute__((aligned(32)));
        byte_offsets(offs);
        int32_t *cur = ev, *next = ev + n_in + 32;
        int32_t zrow = n_in * 64; /* Wᵀ's zero row past the last input */
        _mm256_store_ps(wt + (size_t)n_in * s, _mm256_setzero_ps());
        _mm256_store_ps(wt + (size_t)n_in * s + 8, _mm256_setzero_ps());
        int ne = a->M > 0 ? event_offsets(a->x, nw, last, offs, cur) : 0;
        for (int r = 0; r < a->M; r++) {
            int ne_next = r + 1 < a->M ? event_offsets(a->x + (size_t)(r + 1) * a->ldx, nw, last, offs, next) : 0;
            __m256 y0 = b0, y1 = b1;
            sum_rows((const char *)wt, cur, ne, zrow, &y0, &y1);
            float *y = a->y + (size_t)r * ldy;
            _mm256_maskstore_ps(y, m0, y0);
            if (n_out > 8)
                _mm256_maskstore_ps(y + 8, m1, y1);
            int32_t *tmp = cur;
            cur = next, next = tmp, ne = ne_next;
        }
        return LIF_OK;
    }
    int nblk = (int)(s / 8);  /* even */
    for (int r = 0; r < a->M; r++) {
        int ne = events(a->x + (size_t)r * a->ldx, nw, last, ev);
        float *y = a->y + (size_t)r * ldy;
        int j = 0;
        for (; j + 12 <= nblk; j += 12)
            fwd_event_wide_block(wt, s, ev, ne, a->b, y, 8 * j, 12, n_out);
        for (int nb = 8; nb >= 2; nb /= 2)
            if (nblk - j >= nb) {
                switch (nb) {
                case 8: fwd_event_wide_block(wt, s, ev, ne, a->b, y, 8 * j, 8, n_out); break;
                case 4: fwd_event_wide_block(wt, s, ev, ne, a->b, y, 8 * j, 4, n_out); break;
                default: fwd_event_wide_block(wt, s, ev, ne, a->b, y, 8 * j, 2, n_out); break;
                }
                j += nb;
            }
    }
    return LIF_OK;
}

/* ------------------------------------------ table-driven forward (narrow) */

/* For n_out <= 16 (rows of 16 floats): each word of the input is cut into
 * 13 chunks of 5 bits (inputs 64w+5c .. 64w+5c+4; the last chunk has 4),
 * and each chunk gets a table of its 32 partial sums, tab[w][c][v] =
 * Σ_{j in v} Wᵀ[64w+5c+j] (workspace; a word's tables are 26 KB,
 * L1-resident); a row of Y is the sum of one entry per chunk: 13 two-ymm
 * loads and adds per 64 inputs at any density (nibbles took 16, and the
 * loads bound the loop). Rows go in tiles of TROWS whose Y (16 floats per
 * row, from the bias) stays in L1 while the tables stream through word by
 * word; a zero word is skipped. Not the scalar order (equal within float
 * rounding; exact for 1/64 weights). */
enum { TROWS = LIF_SIMD_TABLE_ROWS, TCH = LIF_SIMD_TABLE_CHUNKS, TBITS = 5 };

/* Byte offset in a word's tables of chunk c's entry for the word x:
 * c·2 KB + ((x >> 5c) & 31)·64, as one shift and one mask. */
#define TAB_OFF(x, c)                                                                      \
    ((size_t)(c) * 2048 + ((5 * (c) < 6 ? (size_t)((x) << (6 - 5 * (c)))                  \
                                        : (size_t)((x) >> (5 * (c) - 6))) & 0x7c0))

/* Entry 0 (zero) and the single-input entries 1, 2, 4, 8, 16 of the table
 * for chunk c of input word w: outputs 0 .. width-1 of Wᵀ rows, zero past
 * n_out and n_in. The sums of the other patterns are built from these. */
static void table_seed(float *t, int width, const lif_linear_fwd_args *a, size_t w, int c)
{
    memset(t, 0, (size_t)width * sizeof(float));
    for (int j = 0; j < TBITS; j++) {
        float *e = t + (width << j);
        size_t i = 64 * w + TBITS * (size_t)c + (size_t)j;
        for (int o = 0; o < width; o++)
            e[o] = o < a->n_out && i < (size_t)a->n_in && TBITS * c + j < 64
                       ? a->w[(size_t)o * a->n_in + i] : 0.0f;
    }

/* n_out <= 10: outputs 0..7 from 5-bit chunk tables of 8 floats (32 B
 * entries, 13 KB a word) and outputs 8, 9 from byte tables of 2 floats (8 B
 * entries, 256 a byte, 16 KB a word): 13 ymm and 8 two-float loads per row
 * word instead of 26 ymm ones. */
#define TAB8_OFF(x, c)                                                                     \
    ((size_t)(c) * 1024 + ((5 * (c) < 5 ? (size_t)((x) << (5 - 5 * (c)))                  \
                                        : (size_t)((x) >> (5 * (c) - 5))) & 0x3e0))
#define TAB2_OFF(x, k)                                                                     \
    ((size_t)(k) * 2048 + (((k) == 0 ? (size_t)((x) << 3) : (size_t)((x) >> (8 * (k) - 3))) & 0x7f8))

}

static void fwd_table10(const lif_linear_fwd_args *a, size_t ldy, float *ws)
{
    int n_in = a->n_in, n_out = a->n_out;
    size_t nw = ((size_t)n_in + 63) / 64;
    float *ta = ws;                     /* [nw][TCH][32][8] */
    float *tb = ta + nw * TCH * 32 * 8; /* [nw][8 bytes][256][2] */
    float *yt = tb + nw * 8 * 256 * 2;  /* [TROWS][16] */
    for (size_t w = 0; w < nw; w++) {
        for (int c = 0; c < TCH; c++) {
            float *t = ta + (w * TCH + (size_t)c) * 32 * 8;
            table_seed(t, 8, a, w, c);
            for (int v = 3; v < 32; v++)
                if (v & (v - 1))
                    _mm256_store_ps(t + 8 * v, _mm256_add_ps(_mm256_load_ps(t + 8 * (v & (v - 1))),
                                                             _mm256_load_ps(t + 8 * (v & -v))));
        }
        for (int k = 0; k < 8; k++) {
            float *t = tb + (w * 8 + (size_t)k) * 256 * 2;
            t[0] = t[1] = 0.0f;
            for (int j = 0; j < 8; j++) {
                size_t i = 64 * w + 8 * (size_t)k + (size_t)j;
                for (int o = 8; o < 10; o++)
                    t[(2 << j) + o - 8] = o < n_out && i < (size_t)n_in ? a->w[(size_t)o * n_in + i] : 0.0f;
            }
            /* entries base + v = entry v + input j's pair, base = 2^j: four
             * entries (8 floats) per ymm from base 4 on */
            for (int v = 3; v < 4; v++)
                for (int o = 0; o < 2; o++)
                    t[2 * v + o] = t[2 * (v - 2) + o] + t[4 + o];
            for (int base = 4; base < 256; base *= 2) {
                __m256 p = _mm256_castpd_ps(_mm256_broadcast_sd((const double *)(const void *)(t + 2 * base)));
                for (int v = 0; v < base; v += 4)
                    _mm256_store_ps(t + 2 * (base + v), _mm256_add_ps(_mm256_load_ps(t + 2 * v), p));
            }
        }
    }
    __m256i m0 = first_lanes(n_out), m1 = first_lanes(n_out - 8);
    __m256 b0 = a->b ? _mm256_maskload_ps(a->b, m0) : _mm256_setzero_ps();
    __m256 b1 = a->b ? _mm256_maskload_ps(a->b + 8, m1) : _mm256_setzero_ps();
    const int hi = n_out > 8;
    for (int r0 = 0; r0 < a->M; r0 += TROWS) {
        int R = a->M - r0 < TROWS ? a->M - r0 : TROWS;
        for (int r = 0; r < R; r++) {
            _mm256_store_ps(yt + 16 * r, b0);
            _mm256_store_ps(yt + 16 * r + 8, b1);
        }
        for (size_t w = 0; w < nw; w++) {
            const char *tw = (const char *)(ta + w * TCH * 32 * 8);
            const char *tv = (const char *)(tb + w * 8 * 256 * 2);
            const uint64_t *x = a->x + (size_t)r0 * a->ldx + w;
            for (int r = 0; r < R; r++) {
                uint64_t xw = x[(size_t)r * a->ldx];
                if (!xw)
                    continue;
                __m256 s[4];
#pragma GCC unroll 16
                for (int c = 0; c < TCH; c++) {
                    __m256 e = _mm256_load_ps((const float *)(const void *)(tw + TAB8_OFF(xw, c)));
                    s[c & 3] = c < 4 ? e : _mm256_add_ps(s[c & 3], e);
                }
                float *y = yt + 16 * r;
                __m256 t0 = _mm256_add_ps(_mm256_add_ps(s[0], s[1]), _mm256_add_ps(s[2], s[3]));
                _mm256_store_ps(y, _mm256_add_ps(_mm256_load_ps(y), t0));
                if (hi) {
                    __m128 h[2];
#pragma GCC unroll 8
                    for (int k = 0; k < 8; k++) {
                        __m128 e = _mm_castsi128_ps(_mm_loadl_epi64(
                            (const __m128i *)(const void *)(tv + TAB2_OFF(xw, k))));
                        h[k & 1] = k < 2 ? e : _mm_add_ps(h[k & 1], e);
                    }
                    _mm_store_ps(y + 8, _mm_add_ps(_mm_load_ps(y + 8), _mm_add_ps(h[0], h[1])));
                }
            }
        }
        for (int r = 0; r < R; r++)
            memcpy(a->y + (size_t)(r0 + r) * ldy, yt + 16 * r, (size_t)n_out * sizeof(float));
    }
}

lif_status lif_linear_fwd_simd_avx2_table(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    size_t ldy = a->ldy ? a->ldy : (size_t)a->n_out;
    if (a->n_out <= 10) {
        fwd_table10(a, ldy, lif_ctx_ws(ctx, 0));
        return LIF_OK;
    }
    int n_in = a->n_in, n_out = a->n_out;
    size_t nw = ((size_t)n_in + 63) / 64;
    float *tab = lif_ctx_ws(ctx, 0);       /* [nw][TCH][32 patterns][16 floats] */
    float *yt = tab + nw * TCH * 32 * 16;  /* [TROWS][16] */
    for (size_t w = 0; w < nw; w++)
        for (int c = 0; c < TCH; c++) {
            float *t = tab + (w * TCH + (size_t)c) * 32 * 16;
            table_seed(t, 16, a, w, c);
            for (int v = 3; v < 32; v++) {
                if (!(v & (v - 1)))
                    continue;
                const float *lo = t + 16 * (v & -v), *hi = t + 16 * (v & (v - 1));
                _mm256_store_ps(t + 16 * v, _mm256_add_ps(_mm256_load_ps(hi), _mm256_load_ps(lo)));
                _mm256_store_ps(t + 16 * v + 8, _mm256_add_ps(_mm256_load_ps(hi + 8), _mm256_load_ps(lo + 8)));
            }
        }
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256i m0 = first_lanes(n_out), m1 = first_lanes(n_out - 8);
    __m256 b0 = a->b ? _mm256_maskload_ps(a->b, m0) : _mm256_setzero_ps();
    __m256 b1 = a->b ? _mm256_maskload_ps(a->b + 8, m1) : _mm256_setzero_ps();
    for (int r0 = 0; r0 < a->M; r0 += TROWS) {
        int R = a->M - r0 < TROWS ? a->M - r0 : TROWS;
        for (int r = 0; r < R; r++) {
            _mm256_store_ps(yt + 16 * r, b0);
            _mm256_store_ps(yt + 16 * r + 8, b1);
        }
        for (size_t w = 0; w < nw; w++) {
            const char *tw = (const char *)(tab + w * TCH * 32 * 16);
            const uint64_t *x = a->x + (size_t)r0 * a->ldx + w;
            for (int r = 0; r < R; r++) {
                uint64_t xw = x[(size_t)r * a->ldx];
                if (!xw)
                    continue;
                __m256 s0[4], s1[4];
#pragma GCC unroll 16
                for (int c = 0; c < TCH; c++) {
                    const float *e = (const float *)(const void *)(tw + TAB_OFF(xw, c));
                    if (c < 4) {
                        s0[c] = _mm256_load_ps(e);
                        s1[c] = _mm256_load_ps(e + 8);
                    } else if (c & 2) {
                        s0[c & 3] = _mm256_add_ps(s0[c & 3], _mm256_load_ps(e));
                        s1[c & 3] = _mm256_add_ps(s1[c & 3], _mm256_load_ps(e + 8));
                    } else {
                        /* 1·e + s is exactly e + s: half the sums go to the FMA
                         * pipes, which plain adds leave idle */
                        s0[c & 3] = _mm256_fmadd_ps(_mm256_load_ps(e), one, s0[c & 3]);
                        s1[c & 3] = _mm256_fmadd_ps(_mm256_load_ps(e + 8), one, s1[c & 3]);
                    }
                }
                float *y = yt + 16 * r;
                __m256 t0 = _mm256_add_ps(_mm256_add_ps(s0[0], s0[1]), _mm256_add_ps(s0[2], s0[3]));
                __m256 t1 = _mm256_add_ps(_mm256_add_ps(s1[0], s1[1]), _mm256_add_ps(s1[2], s1[3]));
                _mm256_store_ps(y, _mm256_add_ps(_mm256_load_ps(y), t0));
                _mm256_store_ps(y + 8, _mm256_add_ps(_mm256_load_ps(y + 8), t1));
            }
        }
        for (int r = 0; r < R; r++)
            memcpy(a->y + (size_t)(r0 + r) * ldy, yt + 16 * r, (size_t)n_out * sizeof(float));
    }
    return LIF_OK;
}

/* --------------------------------------------------- dense weight gradient */

/* Outputs o0..o0+O-1 x inputs 8c0 .. 8(c0+C)-1 (bytes c0..c0+C-1 of the
 * rows of block `rows`, all in word c0/8): C·O accumulators, C ≤ 3 and C·O ≤ 12, so that
 * with the C input chunks and one broadcast they fit the 16 ymm registers.
 * Per row: C table loads and O broadcasts feed C·O FMAs (3 x 4: 7 loads for
 * 12 FMAs; the former 2 chunks x 5 outputs took 7 for 10). */
/* Accumulator k = o·C + c sums by mask, AND and add when MIX_ADD(k), else
 * by FMA with the 0/1 floats: the same value (x·dY is exactly dY or a zero,
 * and a zero added leaves a sum that is not -0 unchanged). Zen 5 has two FMA
 * and two FP-add pipes: at 3 x 4, 8 FMAs and 4 AND + add a row (4 cycles of
 * the four pipes) against 12 FMAs (6 cycles of two). lif_kernels (AVX2, 784
 * -> 10, alternated 5x): 1.03-1.05 -> 0.97-0.99 ms; one in two (k % 2) was
 * slower, one in four no faster. */
#define MIX_ADD(k) ((k) % 3 == 2)
static inline __attribute__((always_inline)) void
bwd_w_block(const lif_linear_bwd_w_args *a, size_t lddy, int o0, int O, int c0, int C,
            lif_bwd_w_blk rows)
{
    __m256 acc[12];
    int n_in = a->n_in, i0 = 8 * c0;
    __m256i valid[3];
#pragma GCC unroll 3
    for (int c = 0; c < C; c++)
        valid[c] = first_lanes(n_in - i0 - 8 * c);
#pragma GCC unroll 12
    for (int o = 0; o < O; o++)
#pragma GCC unroll 3
        for (int c = 0; c < C; c++)
            acc[o * C + c] = _mm256_maskload_ps(a->dw + (size_t)(o0 + o) * n_in + i0 + 8 * c, valid[c]);
    int sh = 8 * (c0 & 7);
    size_t ldx = a->ldx;
    for (int j = 0; j < rows.ns; j++) {
    int r0 = rows.r0 - j * rows.st;
    const uint64_t *x = a->x + (c0 >> 3) + (size_t)r0 * ldx;
    const float *dy = a->dy + o0 + (size_t)r0 * lddy;
    for (int r = rows.r1 - rows.r0; r > 0; r--, x += ldx, dy += lddy) {
        uint64_t bits = *x >> sh;
        /* no early skip of empty rows: at low density it mispredicts */
        __m256 xc[3], xm[3];
#pragma GCC unroll 3
        for (int c = 0; c < C; c++) {
            xc[c] = _mm256_load_ps(BITS[bits >> 8 * c & 0xff]);
            xm[c] = _mm256_load_ps((const float *)MASKS[bits >> 8 * c & 0xff]);
        }
#pragma GCC unroll 12
        for (int o = 0; o < O; o++) {
            __m256 g = _mm256_broadcast_ss(dy + o);
#pragma GCC unroll 3
            for (int c = 0; c < C; c++) {
                if (MIX_ADD(o * C + c))
                    acc[o * C + c] = _mm256_add_ps(acc[o * C + c], _mm256_and_ps(xm[c], g));
                else
                    acc[o * C + c] = _mm256_fmadd_ps(xc[c], g, acc[o * C + c]);
            }
        }
    }
    }
#pragma GCC unroll 12
    for (int o = 0; o < O; o++)
#pragma GCC unroll 3
        for (int c = 0; c < C; c++)
            _mm256_maskstore_ps(a->dw + (size_t)(o0 + o) * n_in + i0 + 8 * c, valid[c], acc[o * C + c]);
}

/* All outputs for chunks c0 .. c0+C-1, in blocks of at most 12 / C. */
static inline __attribute__((always_inline)) void
bwd_w_chunks(const lif_linear_bwd_w_args *a, size_t lddy, int c0, int C, lif_bwd_w_blk rows)
{
    int omax = 12 / C, n_out = a->n_out;
    /* n blocks of near-equal size (10 outputs at C = 3: 4, 3, 3) */
    int nb = (n_out + omax - 1) / omax;
    for (int k = 0, o = 0; k < nb; k++) {
        int O = (n_out - o) / (nb - k);
        if ((n_out - o) % (nb - k))
            O++;
        switch (O) {
#define BWD_CASE(n) case n: if ((n) * C <= 12) bwd_w_block(a, lddy, o, n, c0, C, rows); break;
        BWD_CASE(1) BWD_CASE(2) BWD_CASE(3) BWD_CASE(4) BWD_CASE(5) BWD_CASE(6)
        BWD_CASE(7) BWD_CASE(8) BWD_CASE(9) BWD_CASE(10) BWD_CASE(11) BWD_CASE(12)
#undef BWD_CASE
        default: break;
        }
        o += O;
    }
}

/* db[o] += Σ_r dY[r][o], in the order of `step` (as the scalar kernel);
 * rows of dY lddy floats apart. */
static void bias_grad(const float *dy, size_t lddy, int M, int step, int n_out, float *db)
{
    int st = step > 0 ? step : M;
    for (int o0 = 0; o0 < n_out; o0 += 8) {
        __m256i m = first_lanes(n_out - o0);
        __m256 acc = _mm256_maskload_ps(db + o0, m);
        for (int s0 = M - st; s0 >= 0; s0 -= st)
        for (int r = s0; r < s0 + st; r++)
            acc = _mm256_add_ps(acc, _mm256_maskload_ps(dy + (size_t)r * lddy + o0, m));
        _mm256_maskstore_ps(db + o0, m, acc);
    }
}

lif_status lif_linear_bwd_w_simd_avx2(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
{
    (void)ctx;
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    /* bytes of each word in groups of 3, 3, 2 (a group stays in one word) */
    int nc = (a->n_in + 7) / 8;
    lif_bwd_w_blocks bp = lif_bwd_w_plan(a, lddy);
    for (int k = 0; k < bp.n; k++) {
        lif_bwd_w_blk rows = lif_bwd_w_block(a, lddy, &bp, k);
        for (int c0 = 0; c0 < nc;) {
            int left = nc - c0, inword = 8 - (c0 & 7);
            int C = left < inword ? left : inword;
            C = C > 3 ? 3 : C;
            switch (C) {
            case 3: bwd_w_chunks(a, lddy, c0, 3, rows); break;
            case 2: bwd_w_chunks(a, lddy, c0, 2, rows); break;
            default: bwd_w_chunks(a, lddy, c0, 1, rows); break;
            }
            c0 += C;
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
    __m256 g[12];
#pragma GCC unroll 12
    for (int j = 0; j < nb; j++)
        g[j] = _mm256_maskload_ps(dy + o0 + 8 * j, first_lanes(n_out - o0 - 8 * j));
    for (int e = 0; e < ne; e++) {
        float *row = gt + (size_t)ev[e] * s + o0;
#pragma GCC unroll 12
        for (int j = 0; j < nb; j++)
            _mm256_store_ps(row + 8 * j, _mm256_add_ps(_mm256_load_ps(row + 8 * j), g[j]));
    }
}

lif_status lif_linear_bwd_w_simd_avx2_event(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
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
        __m256i m0 = first_lanes(n_out), m1 = first_lanes(n_out - 8);
        for (int k = 0; k < a->M; k++) {
            int r = lif_bwd_w_row(a, k); /* steps last to first */
            int ne = events(a->x + (size_t)r * a->ldx, nw, last, ev);
            const float *dy = a->dy + (size_t)r * lddy;
            __m256 g0 = _mm256_maskload_ps(dy, m0), g1 = _mm256_maskload_ps(dy + 8, m1);
            /* a row's events are distinct inputs: the updates are independent */
            for (int e = 0; e < ne; e++) {
                float *row = gt + (size_t)ev[e] * s;
                _mm256_store_ps(row, _mm256_add_ps(_mm256_load_ps(row), g0));
                _mm256_store_ps(row + 8, _mm256_add_ps(_mm256_load_ps(row + 8), g1));
            }
        }
    } else {
        int nblk = (int)(s / 8);
        for (int k = 0; k < a->M; k++) {
            int r = lif_bwd_w_row(a, k); /* steps last to first */
            int ne = events(a->x + (size_t)r * a->ldx, nw, last, ev);
            const float *dy = a->dy + (size_t)r * lddy;
            int j = 0;
            for (; j + 12 <= nblk; j += 12)
                bwd_w_event_wide_block(gt, s, ev, ne, dy, 8 * j, 12, n_out);
            for (int nb = 8; nb >= 2; nb /= 2)
                if (nblk - j >= nb) {
                    switch (nb) {
                    case 8: bwd_w_event_wide_block(gt, s, ev, ne, dy, 8 * j, 8, n_out); break;
                    case 4: bwd_w_event_wide_block(gt, s, ev, ne, dy, 8 * j, 4, n_out); break;
                    default: bwd_w_event_wide_block(gt, s, ev, ne, dy, 8 * j, 2, n_out); break;
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

/* dX[r][i] = Σ_o dY[r][o] W[o][i]: 4 rows x 2 chunks of 8 inputs. */
lif_status lif_linear_bwd_x_simd_avx2(const lif_ctx *ctx, const lif_linear_bwd_x_args *a)
{
    (void)ctx;
    int n_in = a->n_in, n_out = a->n_out;
    size_t lddy = a->lddy ? a->lddy : (size_t)n_out;
    for (int r0 = 0; r0 < a->M; r0 += 4) {
        int R = a->M - r0 < 4 ? a->M - r0 : 4;
        for (int i0 = 0; i0 < n_in; i0 += 16) {
            __m256i m0 = first_lanes(n_in - i0), m1 = first_lanes(n_in - i0 - 8);
            __m256 acc[4][2];
            for (int r = 0; r < 4; r++)
                acc[r][0] = acc[r][1] = _mm256_setzero_ps();
            for (int o = 0; o < n_out; o++) {
                const float *w = a->w + (size_t)o * n_in + i0;
                __m256 w0 = _mm256_maskload_ps(w, m0), w1 = _mm256_maskload_ps(w + 8, m1);
                for (int r = 0; r < 4; r++) {
                    /* rows past M reuse the last row: computed, never stored */
                    int rr = r < R ? r : R - 1;
                    __m256 g = _mm256_broadcast_ss(a->dy + (size_t)(r0 + rr) * lddy + o);
                    acc[r][0] = _mm256_fmadd_ps(g, w0, acc[r][0]);
                    acc[r][1] = _mm256_fmadd_ps(g, w1, acc[r][1]);
                }
            }
            for (int r = 0; r < R; r++) {
                float *dx = a->dx + (size_t)(r0 + r) * n_in + i0;
                _mm256_maskstore_ps(dx, m0, acc[r][0]);
                _mm256_maskstore_ps(dx + 8, m1, acc[r][1]);
            }
        }
    }
    return LIF_OK;
}

/* ------------------------------- narrow weight gradient: skip silent chunks
 *
 * As the AVX-512 skip kernel: per block of BWD_ROWS rows of the summation
 * order, each row's nonzero 8-input chunks (a bit per byte of the row, 32
 * bytes at a time), then per chunk the rows where it has a spike, in
 * order, and its O x 8 elements summed over them in registers (O <= 12).
 * A skipped row would only have added 0·dY: the sums are the scalar
 * kernel's, which adds a row only where the input fired.
 *
 * A broadcast load (vbroadcastss) issues about once a cycle here, so O of
 * them per row held the FMAs to half their rate: each block's dY rows are
 * broadcast once into dyb (BWD_ROWS x O ymm, in L1) and every chunk's FMAs
 * read them as plain loads. */

enum { BWD_ROWS = 64 };

/* PERM8[m] = the lanes of the set bits of m, first to last (the rest 0). */
static int32_t PERM8[256][8] __attribute__((aligned(32)));
static void perm8_init(void)
{
    for (int m = 0; m < 256; m++) {
        int n = 0;
        for (int j = 0; j < 8; j++)
            if (m >> j & 1)
                PERM8[m][n++] = j;
        while (n < 8)
            PERM8[m][n++] = 0;
    }
}

/* Chunk c over the listed rows: ks[e] is a row's place in the block (its
 * dY broadcasts at dyb + ks[e]·O), ord[ks[e]] the row. */
static inline __attribute__((always_inline)) void
bwd_w_skip_chunk(const lif_linear_bwd_w_args *a, int c, const int32_t *ks, int n,
                 const int32_t *ord, const __m256 *dyb, int O)
{
    const int n_in = a->n_in;
    __m256i valid = first_lanes(n_in - 8 * c);
    float *dw = a->dw + 8 * c;
    __m256 acc[12];
#pragma GCC unroll 12
    for (int o = 0; o < O; o++)
        acc[o] = _mm256_maskload_ps(dw + (size_t)o * n_in, valid);
    for (int e = 0; e < n; e++) {
        int k = ks[e];
        __m256 xc = _mm256_load_ps(BITS[byte_of(a->x + (size_t)ord[k] * a->ldx, c)]);
        const __m256 *g = dyb + (size_t)k * O;
#pragma GCC unroll 12
        for (int o = 0; o < O; o++)
            acc[o] = _mm256_fmadd_ps(xc, g[o], acc[o]);
    }
#pragma GCC unroll 12
    for (int o = 0; o < O; o++)
        _mm256_maskstore_ps(dw + (size_t)o * n_in, valid, acc[o]);
}

static inline __attribute__((always_inline)) void
bwd_w_skip(const lif_linear_bwd_w_args *a, size_t lddy, int O)
{
    const int n_in = a->n_in, nc = (n_in + 7) / 8;
    const size_t nw = ((size_t)n_in + 63) / 64;
    const uint64_t last = LAST_WORD_MASK(n_in);
    int32_t ord[BWD_ROWS] __attribute__((aligned(32)));
    int32_t ks[BWD_ROWS + 8];
    uint32_t rm[BWD_ROWS] __attribute__((aligned(32)));
    __m256 dyb[BWD_ROWS * 12];
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int k0 = 0; k0 < a->M; k0 += BWD_ROWS) {
        int nk = a->M - k0 < BWD_ROWS ? a->M - k0 : BWD_ROWS;
        for (int k = 0; k < nk; k++) {
            int r = lif_bwd_w_row(a, k0 + k);
            ord[k] = r;
            const float *dy = a->dy + (size_t)r * lddy;
#pragma GCC unroll 12
            for (int o = 0; o < O; o++)
                dyb[(size_t)k * O + o] = _mm256_broadcast_ss(dy + o);
        }
        for (int k = nk; k < BWD_ROWS; k++)
            ord[k] = 0;
        for (size_t w0 = 0; w0 < nw; w0 += 4) { /* 32 chunks: words w0 .. w0+3 */
            size_t nwb = nw - w0 < 4 ? nw - w0 : 4;
            /* the block's words in one masked load, the last word of the
             * row cut at n_in (no stores to reload: that stalled) */
            __m256i lanes = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)nwb),
                                               _mm256_setr_epi64x(0, 1, 2, 3));
            __m256i cut = _mm256_set1_epi64x(-1);
            if (w0 + nwb == nw)
                cut = _mm256_blendv_epi8(cut, _mm256_set1_epi64x((long long)last),
                                         _mm256_cmpeq_epi64(_mm256_set1_epi64x((long long)(nwb - 1)),
                                                            _mm256_setr_epi64x(0, 1, 2, 3)));
            for (int k = 0; k < nk; k++) {
                const uint64_t *x = a->x + (size_t)ord[k] * a->ldx + w0;
                __m256i v = _mm256_and_si256(_mm256_maskload_epi64((const long long *)(const void *)x, lanes), cut);
                rm[k] = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256()));
            }
            for (int k = nk; k < BWD_ROWS; k++)
                rm[k] = 0;
            int c0 = (int)w0 * 8, c1 = nc - c0 < 32 ? nc : c0 + 32;
            for (int c = c0; c < c1; c++) {
                const __m256i bit = _mm256_set1_epi32((int)(1u << (c - c0)));
                int n = 0;
                for (int k = 0; k < nk; k += 8) {
                    __m256i hit = _mm256_cmpeq_epi32(
                        _mm256_and_si256(_mm256_load_si256((const __m256i *)(const void *)(rm + k)), bit), bit);
                    unsigned f = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(hit));
                    __m256i idx = _mm256_add_epi32(iota, _mm256_set1_epi32(k));
                    __m256i p = _mm256_load_si256((const __m256i *)(const void *)PERM8[f]);
                    _mm256_storeu_si256((__m256i *)(void *)(ks + n), _mm256_permutevar8x32_epi32(idx, p));
                    n += __builtin_popcount(f);
                }
                if (n)
                    bwd_w_skip_chunk(a, c, ks, n, ord, dyb, O);
            }
        }
    }
}

lif_status lif_linear_bwd_w_simd_avx2_skip(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
{
    (void)ctx;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, perm8_init);
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    switch (a->n_out) {
#define SKIP_CASE(n) case n: bwd_w_skip(a, lddy, n); break;
    SKIP_CASE(1) SKIP_CASE(2) SKIP_CASE(3) SKIP_CASE(4) SKIP_CASE(5) SKIP_CASE(6)
    SKIP_CASE(7) SKIP_CASE(8) SKIP_CASE(9) SKIP_CASE(10) SKIP_CASE(11) SKIP_CASE(12)
#undef SKIP_CASE
    default: break;
    }
    if (a->db)
        bias_grad(a->dy, lddy, a->M, a->step, a->n_out, a->db);
    return LIF_OK;
}

/* ------------------------------------ forward with time in the lanes (AVX2)
 *
 * The AVX-512 time-lanes forward (linear_time_avx512gfni.c) on AVX2: a ymm
 * holds 8 time steps of one sample and one output,
 *
 *   acc[o][t] = b[o] + Σ_{i fired at t} W[o][i],
 *
 * one FMA per input i that fired in the 8 steps and output o: the 0/1
 * floats of i's step bits (BITS) times the broadcast W[o][i], which adds
 * W[o][i] exactly where i fired. Silent inputs cost nothing, which pays
 * at low density (MNIST digits: four fifths of the pixels are 0).
 *
 * Two windows of 8 steps share each broadcast, outputs go 5 at a time:
 * 10 accumulators, two step vectors and the weight fill 13 of the 16 ymm,
 * and 5 broadcast loads (about one a cycle) feed 10 FMAs.
 *
 * Step bits. For a word of 64 inputs and 8 steps, the 8 row words are
 * byte-transposed (SSE unpacks: qword k = byte k of the 8 steps) and each
 * 8 x 8 bit block transposed in place (three masked swaps), giving a byte
 * per input, a bit per step, in input order.
 *
 * Each output adds its inputs in increasing index order from the bias: the
 * scalar kernel's order (an FMA by 1.0 is the add, by 0.0 adds nothing),
 * so the sums are bitwise the scalar kernel's. Rows not in the [Tc][B]
 * layout are summed one by one in the same order. */

enum { TW = 8, TOB = 5 }; /* steps per vector, outputs per pass */

/* Workspace: the step bits of two windows (a byte per input, whole words),
 * the list of inputs that fired (16 ints of slack) and a tile of 8 steps x
 * 5 outputs (64-byte aligned). */
size_t lif_linear_fwd_time_avx2_workspace(const lif_problem *p)
{
    size_t n = ((size_t)p->n_in + 63) / 64 * 64;
    return 2 * n + (n + 16) * sizeof(int32_t) + TOB * TW * sizeof(float) + 64;
}

int lif_simd_supports_time_avx2(const lif_problem *p, const char **why)
{
    if (!lif_simd_supports_avx2(p, why))
        return 0;
    if (p->n_out > 16) {
        *why = "n_out > 16: the AVX2 time-lanes forward is for narrow layers";
        return 0;
    }
    return 1;
}

/* 8 x 8 bit transpose of each qword: bit 8r + c <-> bit 8c + r. */
static inline __m256i transpose_bits8(__m256i x)
{
    __m256i t;
    t = _mm256_and_si256(_mm256_xor_si256(x, _mm256_srli_epi64(x, 7)),
                         _mm256_set1_epi64x(0x00AA00AA00AA00AAll));
    x = _mm256_xor_si256(x, _mm256_xor_si256(t, _mm256_slli_epi64(t, 7)));
    t = _mm256_and_si256(_mm256_xor_si256(x, _mm256_srli_epi64(x, 14)),
                         _mm256_set1_epi64x(0x0000CCCC0000CCCCll));
    x = _mm256_xor_si256(x, _mm256_xor_si256(t, _mm256_slli_epi64(t, 14)));
    t = _mm256_and_si256(_mm256_xor_si256(x, _mm256_srli_epi64(x, 28)),
                         _mm256_set1_epi64x(0x00000000F0F0F0F0ll));
    return _mm256_xor_si256(x, _mm256_xor_si256(t, _mm256_slli_epi64(t, 28)));
}

/* m[i] (i < 64 nw): bit s = input i fired at step s, for the nt (1..8)
 * rows row0, row0 + rs, ... (rs words apart). */
static void time_masks8(const uint64_t *row0, size_t rs, int nt, size_t nw, uint8_t *m)
{
    for (size_t w = 0; w < nw; w++) {
        __m128i q[8];
        for (int s = 0; s < 8; s++)
            q[s] = s < nt ? _mm_loadl_epi64((const __m128i *)(const void *)(row0 + (size_t)s * rs + w))
                          : _mm_setzero_si128();
        /* byte transpose: qword k of v = byte k of q[0..7] */
        __m128i t0 = _mm_unpacklo_epi8(q[0], q[1]), t1 = _mm_unpacklo_epi8(q[2], q[3]);
        __m128i t2 = _mm_unpacklo_epi8(q[4], q[5]), t3 = _mm_unpacklo_epi8(q[6], q[7]);
        __m128i u0 = _mm_unpacklo_epi16(t0, t1), u1 = _mm_unpackhi_epi16(t0, t1);
        __m128i u2 = _mm_unpacklo_epi16(t2, t3), u3 = _mm_unpackhi_epi16(t2, t3);
        __m256i lo = _mm256_set_m128i(_mm_unpackhi_epi32(u0, u2), _mm_unpacklo_epi32(u0, u2));
        __m256i hi = _mm256_set_m128i(_mm_unpackhi_epi32(u1, u3), _mm_unpacklo_epi32(u1, u3));
        _mm256_storeu_si256((__m256i *)(void *)(m + 64 * w), transpose_bits8(lo));
        _mm256_storeu_si256((__m256i *)(void *)(m + 64 * w + 32), transpose_bits8(hi));
    }
}

/* Outputs o0 .. o0+O-1 (O <= 5, a constant) of sample b over the listed
 * inputs, for the NB windows whose step bits are m0 and m1. */
static inline __attribute__((always_inline)) void
time_pass(const lif_linear_fwd_args *a, size_t ldy, const uint8_t *m0, const uint8_t *m1,
          const int32_t *ev, int ne, float *tile, int b, int t0, int nt, int o0, int O, int NB)
{
    const int n_in = a->n_in, step = a->step;
    __m256 acc[2][TOB];
#pragma GCC unroll 5
    for (int o = 0; o < O; o++)
        acc[0][o] = acc[1][o] = a->b ? _mm256_set1_ps(a->b[o0 + o]) : _mm256_setzero_ps();
    const float *w0 = a->w + (size_t)o0 * n_in; /* W[o][i]: O streams */
    for (int e = 0; e < ne; e++) {
        int i = ev[e];
        __m256 x0 = _mm256_load_ps(BITS[m0[i]]);
        __m256 x1 = NB == 2 ? _mm256_load_ps(BITS[m1[i]]) : x0;
#pragma GCC unroll 5
        for (int o = 0; o < O; o++) {
            __m256 wv = _mm256_broadcast_ss(w0 + (size_t)o * n_in + i);
            acc[0][o] = _mm256_fmadd_ps(x0, wv, acc[0][o]);
            if (NB == 2)
                acc[1][o] = _mm256_fmadd_ps(x1, wv, acc[1][o]);
        }
    }
#pragma GCC unroll 2
    for (int j = 0; j < NB; j++) {
#pragma GCC unroll 5
        for (int o = 0; o < O; o++)
            _mm256_store_ps(tile + TW * o, acc[j][o]);
        int ntj = nt - TW * j < TW ? nt - TW * j : TW;
        lif_tile_to_rows(tile, TW, O, ntj, a->y + ((size_t)(t0 + TW * j) * step + b) * ldy + o0,
                         (size_t)step * ldy);
    }
}

/* Sample b, steps t0 .. t0+nt-1 (nt <= 8·NB) in NB (1 or 2) windows. */
static inline __attribute__((always_inline)) void
time_block(const lif_linear_fwd_args *a, size_t ldy, uint8_t *m, int32_t *ev, float *tile,
            int b, int t0, int nt, int NB)
{
    const int n_in = a->n_in, n_out = a->n_out, step = a->step;
    const size_t nw = ((size_t)n_in + 63) / 64, mb = nw * 64;
    for (int j = 0; j < NB; j++) {
        int ntj = nt - TW * j < TW ? nt - TW * j : TW;
        time_masks8(a->x + ((size_t)(t0 + TW * j) * step + b) * a->ldx, (size_t)step * a->ldx,
                    ntj, nw, m + j * mb);
    }
    /* the inputs that fired in either window, in increasing order */
    int ne = 0;
    for (int i0 = 0; i0 < n_in; i0 += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(m + i0));
        if (NB == 2)
            v = _mm256_or_si256(v, _mm256_loadu_si256((const __m256i *)(const void *)(m + mb + i0)));
        uint32_t nz = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256()));
        if (n_in - i0 < 32)
            nz &= (1u << (n_in - i0)) - 1u; /* no input past n_in */
        while (nz) {
            ev[ne++] = i0 + __builtin_ctz(nz);
            nz &= nz - 1;
        }
    }
    for (int o0 = 0; o0 < n_out; o0 += TOB) {
        switch (n_out - o0 < TOB ? n_out - o0 : TOB) {
        case 5: time_pass(a, ldy, m + 0, m + mb, ev, ne, tile, b, t0, nt, o0, 5, NB); break;
        case 4: time_pass(a, ldy, m + 0, m + mb, ev, ne, tile, b, t0, nt, o0, 4, NB); break;
        case 3: time_pass(a, ldy, m + 0, m + mb, ev, ne, tile, b, t0, nt, o0, 3, NB); break;
        case 2: time_pass(a, ldy, m + 0, m + mb, ev, ne, tile, b, t0, nt, o0, 2, NB); break;
        default: time_pass(a, ldy, m + 0, m + mb, ev, ne, tile, b, t0, nt, o0, 1, NB); break;
        }
    }
}

lif_status lif_linear_fwd_simd_avx2_time(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    size_t ldy = a->ldy ? a->ldy : (size_t)a->n_out;
    const int n_in = a->n_in, n_out = a->n_out;
    const size_t n = ((size_t)n_in + 63) / 64 * 64;
    char *ws = lif_ctx_ws(ctx, 0);
    int32_t *ev = (int32_t *)(void *)(ws + 2 * n);
    if (a->step <= 0 || a->M % a->step != 0) {
        /* rows alone, the same order: from the bias, + W[o][i] per input
         * that fired, in increasing i */
        for (int r = 0; r < a->M; r++) {
            int ne = lif_linear_simd_events(a->x + (size_t)r * a->ldx, n / 64, ev);
            while (ne > 0 && ev[ne - 1] >= n_in)
                ne--; /* no input past n_in */
            float *y = a->y + (size_t)r * ldy;
            for (int o = 0; o < n_out; o++) {
                const float *wo = a->w + (size_t)o * n_in;
                float s = a->b ? a->b[o] : 0.0f;
                for (int e = 0; e < ne; e++)
                    s += wo[ev[e]];
                y[o] = s;
            }
        }
        return LIF_OK;
    }
    uint8_t *m = (uint8_t *)ws;
    float *tile = (float *)(void *)(((uintptr_t)(ev + n + 16) + 63) & ~(uintptr_t)63);
    int B = a->nb > 0 && a->nb < a->step ? a->nb : a->step, Tc = a->M / a->step;
    for (int b = 0; b < B; b++) {
        int t0 = 0;
        for (; Tc - t0 > TW; t0 += 2 * TW)
            time_block(a, ldy, m, ev, tile, b, t0, Tc - t0 < 2 * TW ? Tc - t0 : 2 * TW, 2);
        if (t0 < Tc)
            time_block(a, ldy, m, ev, tile, b, t0, Tc - t0, 1);
    }
    return LIF_OK;
}
