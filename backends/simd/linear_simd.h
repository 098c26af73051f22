/* backends/simd/linear_simd.h — what the linear kernels of every ISA share
 * (internal; no intrinsics here, so any file may include it). */
#ifndef LIF_LINEAR_SIMD_H
#define LIF_LINEAR_SIMD_H

#include <stddef.h>
#include <stdint.h>

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

#endif
