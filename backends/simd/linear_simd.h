/* backends/simd/linear_simd.h — what the linear kernels of every ISA share
 * (internal; no intrinsics here, so any file may include it). */
#ifndef LIF_LINEAR_SIMD_H
#define LIF_LINEAR_SIMD_H

#include <stddef.h>
#include <stdint.h>

#include "lif/backend.h"

/* Floats per row of the transposed weights (Wᵀ, dWᵀ) in the event-driven
 * kernels' workspace: n_out rounded up to 16, so each row is whole zmm (or
 * pairs of ymm) and every row starts 64-byte aligned. */
static inline size_t lif_linear_simd_stride(int n_out)
{
    return ((size_t)n_out + 15) / 16 * 16;
}

/* The bits of a row's last word that hold inputs (of n_in): the bits past
 * n_in are the producer's to leave as they are (backend.h), so the
 * event-driven kernels mask them off before decoding. */
#define LAST_WORD_MASK(n_in) ((n_in) % 64 ? ~0ull >> (64 - (n_in) % 64) : ~0ull)

/* Writes the indices of the set bits of a row of nw words to ev, in
 * increasing order; returns how many. */
static inline int lif_linear_simd_events(const uint64_t *x, size_t nw, int32_t *ev)
{
    int n = 0;
    for (size_t w = 0; w < nw; w++) {
        uint64_t bits = x[w];
        while (bits) {
            ev[n++] = (int32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
            bits &= bits - 1;
        }
    }
    return n;
}

/* Copies the transposed gradient dWᵀ (n_in rows of stride s) back into
 * dw [n_out, n_in], 16 inputs at a time so both sides stay in cache. The
 * event-driven weight-gradient kernels of every ISA end with this. */
static inline void lif_linear_simd_fold(const float *gt, size_t s, int n_in, int n_out,
                                        float *dw)
{
    for (int i0 = 0; i0 < n_in; i0 += 16) {
        int i1 = i0 + 16 < n_in ? i0 + 16 : n_in;
        for (int o = 0; o < n_out; o++)
            for (int i = i0; i < i1; i++)
                dw[(size_t)o * n_in + i] = gt[(size_t)i * s + o];
    }
}

/* The dense weight gradients' row blocks. The rows of the sum go in
 * blocks whose spike rows and dY rows fit in LIF_BWD_W_L1 bytes: whole
 * steps where a step fits (their rows in the sum's order, steps last to
 * first), else pieces of a step; every word (or byte group) and output
 * block of a block reads them from L1, and the rows LIF_BWD_W_AHEAD blocks
 * on are fetched meanwhile. Before, each pass (a word or byte group, an
 * output block) went over all M rows: 26 (AVX-512) or 99 (AVX2) passes
 * over 0.9 MB at the reference shape, more than the L2, and half of it
 * written by the other core at two threads. Measured (AMD Zen 5 guest,
 * 2026-12-03, 784 -> 10, T 100, b 64), with blocks of one step: AVX-512,
 * lif train's weight gradient 0.373 -> 0.356 ms a call on one thread,
 * 0.282-0.298 -> 0.265-0.278 at two threads in a spell of slow traffic
 * between the vCPUs; lif bench --threads 2 alternated 3x: 1-4 % faster
 * training, one thread the same; on hot data (lif_kernels: the same batch
 * again and again) 5-7 % slower, the blocks' starts and ends. AVX2
 * (LIF_MAX_CPU_ISA=avx2): lif train's weight gradient 0.97-1.01 -> 0.93-0.94
 * ms a call, lif_kernels the same. Blocks of whole steps (3 at the
 * reference shape, against 1): AVX-512 0.342 -> 0.327 ms a call in lif
 * train (0.36-0.37 before any blocks). */
#define LIF_BWD_W_L1 32768
#define LIF_BWD_W_AHEAD 2

typedef struct lif_bwd_w_blocks {
    int M, st;      /* rows, rows a step */
    int spb;        /* whole steps a block (0: pieces of a step) */
    int rb, nbs;    /* pieces: rows a piece, pieces a step */
    int n;          /* blocks */
} lif_bwd_w_blocks;

/* A block: ns steps, rows [r0 - j·st, r1 - j·st) of the j-th (j < ns). */
typedef struct lif_bwd_w_blk {
    int r0, r1, ns, st;
} lif_bwd_w_blk;

static inline lif_bwd_w_blocks lif_bwd_w_plan(const lif_linear_bwd_w_args *a, size_t lddy)
{
    lif_bwd_w_blocks p = {.M = a->M, .st = a->step > 0 ? a->step : a->M};
    /* dY rows count only where a row is a line or less (a wide layer's
     * pass reads a few floats of each) */
    size_t dyrow = lddy <= 16 ? lddy * sizeof(float) : 0;
    size_t fit = LIF_BWD_W_L1 / (a->ldx * sizeof(uint64_t) + dyrow);
    if (fit < 16)
        fit = 16;
    int steps = p.M / p.st;
    if (fit >= (size_t)p.st) {
        p.spb = (int)(fit / (size_t)p.st);
        p.n = (steps + p.spb - 1) / p.spb;
    } else {
        p.rb = (int)fit;
        p.nbs = (p.st + p.rb - 1) / p.rb;
        p.n = steps * p.nbs;
    }
    return p;
}

static inline lif_bwd_w_blk lif_bwd_w_rows(const lif_bwd_w_blocks *p, int k)
{
    lif_bwd_w_blk b = {.st = p->st};
    if (p->spb) {
        int steps = p->M / p->st, i0 = k * p->spb;
        b.r0 = p->M - p->st - i0 * p->st;
        b.r1 = b.r0 + p->st;
        b.ns = steps - i0 < p->spb ? steps - i0 : p->spb;
    } else {
        int s0 = p->M - p->st - k / p->nbs * p->st;
        b.r0 = s0 + k % p->nbs * p->rb;
        b.r1 = b.r0 + p->rb < s0 + p->st ? b.r0 + p->rb : s0 + p->st;
        b.ns = 1;
    }
    return b;
}

/* Every cache line of [p, e) towards L1. */
static inline void lif_prefetch_lines(const void *p, const void *e)
{
    for (const char *c = (const char *)((uintptr_t)p & ~(uintptr_t)63); c < (const char *)e;
         c += 64)
        __builtin_prefetch(c, 0, 3);
}

/* Block k, after prefetching the rows of block k + LIF_BWD_W_AHEAD. */
static inline lif_bwd_w_blk lif_bwd_w_block(const lif_linear_bwd_w_args *a, size_t lddy,
                                            const lif_bwd_w_blocks *p, int k)
{
    if (k + LIF_BWD_W_AHEAD < p->n) {
        lif_bwd_w_blk f = lif_bwd_w_rows(p, k + LIF_BWD_W_AHEAD);
        for (int j = 0; j < f.ns; j++) {
            size_t p0 = (size_t)(f.r0 - j * p->st), p1 = (size_t)(f.r1 - j * p->st);
            lif_prefetch_lines(a->x + p0 * a->ldx, a->x + p1 * a->ldx);
            if (lddy <= 16)
                lif_prefetch_lines(a->dy + p0 * lddy, a->dy + p1 * lddy);
        }
    }
    return lif_bwd_w_rows(p, k);
}

#endif
