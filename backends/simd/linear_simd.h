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
 * blocks (at most a step, so the order stays steps last to first) whose
 * spike rows and dY rows fit in LIF_BWD_W_L1 bytes; every word (or byte
 * group) and output block of a block reads them from L1, and the rows
 * LIF_BWD_W_AHEAD blocks on are fetched meanwhile. Before, each pass (a
 * word or byte group, an output block) went over all M rows: 26 (AVX-512)
 * or 99 (AVX2) passes over 0.9 MB at the reference shape, more than the
 * L2, and half of it written by the other core at two threads. Measured
 * (AMD Zen 5 guest, 2026-12-03, 784 -> 10, T 100, b 64), AVX-512: lif
 * train's weight gradient 0.373 -> 0.356 ms a call on one thread,
 * 0.282-0.298 -> 0.265-0.278 at two threads in a spell of slow traffic
 * between the vCPUs; lif bench --threads 2 alternated 3x: 1-4 % faster
 * training, one thread the same. On hot data (lif_kernels: the same batch
 * again and again) it is 5-7 % slower: the blocks' starts and ends. AVX2
 * (LIF_MAX_CPU_ISA=avx2): lif train's weight gradient 0.97-1.01 -> 0.93-0.94
 * ms a call, lif_kernels the same. */
#define LIF_BWD_W_L1 32768
#define LIF_BWD_W_AHEAD 2

/* Rows a block (of a step of st rows): dY rows count only where a row is a
 * line or less (a wide layer's pass reads a few floats of each). */
static inline int lif_bwd_w_block_rows(size_t ldx, size_t lddy, int st)
{
    size_t dyrow = lddy <= 16 ? lddy * sizeof(float) : 0;
    size_t fit = LIF_BWD_W_L1 / (ldx * sizeof(uint64_t) + dyrow);
    return fit < 16 ? (st < 16 ? st : 16) : fit > (size_t)st ? st : (int)fit;
}

/* Rows [r0, r1) of block k of the sum order: steps of st rows last to
 * first, nbs blocks of rb rows a step, first to last. */
static inline void lif_bwd_w_rows(int M, int st, int rb, int nbs, int k, int *r0, int *r1)
{
    int s0 = M - st - k / nbs * st, b0 = s0 + k % nbs * rb;
    *r0 = b0;
    *r1 = b0 + rb < s0 + st ? b0 + rb : s0 + st;
}

/* Rows [*r0, *r1) of block k (of nbs a step, rb rows each), after
 * prefetching the rows of block k + LIF_BWD_W_AHEAD (of nblk). */
static inline void lif_bwd_w_block(const lif_linear_bwd_w_args *a, size_t lddy, int st, int rb,
                                   int nbs, int k, int *r0, int *r1)
{
    int nblk = a->M / st * nbs;
    lif_bwd_w_rows(a->M, st, rb, nbs, k, r0, r1);
    if (k + LIF_BWD_W_AHEAD < nblk) {
        int p0, p1;
        lif_bwd_w_rows(a->M, st, rb, nbs, k + LIF_BWD_W_AHEAD, &p0, &p1);
        const char *x = (const char *)(a->x + (size_t)p0 * a->ldx);
        const char *xe = (const char *)(a->x + (size_t)p1 * a->ldx);
        for (const char *c = (const char *)((uintptr_t)x & ~(uintptr_t)63); c < xe; c += 64)
            __builtin_prefetch(c, 0, 3);
        if (lddy <= 16) {
            const char *d = (const char *)(a->dy + (size_t)p0 * lddy);
            const char *de = (const char *)(a->dy + (size_t)p1 * lddy);
            for (const char *c = (const char *)((uintptr_t)d & ~(uintptr_t)63); c < de; c += 64)
                __builtin_prefetch(c, 0, 3);
        }
    }
}

#endif
