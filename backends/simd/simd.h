/* backends/simd/simd.h — the SIMD backend's kernels (internal).
 *
 * Files named *_avx2.c are compiled with -mavx2 -mfma, *_avx512.c with
 * -mavx512f -mavx512bw -mavx512vl -mavx512dq, and nothing else gets ISA
 * flags, so one binary runs on any x86-64: every kernel's supports() checks
 * lif_cpu_has() before the plan may call it. */
#ifndef LIF_SIMD_H
#define LIF_SIMD_H

#include <stdint.h>

#include "lif/backend.h"
#include "lif/cpu.h"

/* supports() helpers: accept only when the CPU (and LIF_MAX_CPU_ISA) allow. */
int lif_simd_supports_avx2(const lif_problem *p, const char **why);
int lif_simd_supports_avx512(const lif_problem *p, const char **why);

/* ---- masked accumulation on both kinds of FP pipe ----
 *
 * acc + v where mask k is set, acc elsewhere. With `fma` set it is issued
 * as acc + v·1.0 (a merge-masked vfmadd231ps): one rounding of the same
 * exact sum, so the result is bitwise the add's (also for ±0, inf, NaN),
 * but it runs on the FMA pipes instead of the FP-add pipes. Kernels whose
 * inner loop is a stream of masked adds alternate the two (`fma` = a
 * constant after unrolling): on Zen 5 that measured 1.41x on the dense
 * weight gradient (bench/lif_kernels, 2026-12-03). */
#if defined(__AVX512F__)
#include <immintrin.h>
static inline __attribute__((always_inline)) __m512 lif_madd16(__m512 acc, __mmask16 k, __m512 v,
                                                               int fma)
{
    return fma ? _mm512_mask3_fmadd_ps(v, _mm512_set1_ps(1.0f), acc, k)
               : _mm512_mask_add_ps(acc, k, acc, v);
}
#endif

/* ---- LIF forward: spike rows from the flat compare masks ----
 *
 * The forward kernels compute H for the B·n neurons of a step as one flat
 * array and keep each block's compare mask (bit k: neuron k fired) in fm.
 * Row b's n bits start at bit b·n: lif_flat_row gives them (n <= LIF_FLAT_N;
 * 8 bytes readable from the row's first byte), and the kernel stores them
 * as word 0 of the row, 0 in its other words. (Reading H back right after
 * the kernel's own stores to pack the bits stalled on store forwarding:
 * 90 % of the AVX-512 forward, bench/lif_kernels 2026-12-03.) */
enum { LIF_FLAT_N = 56, LIF_FLAT_MAX = 16384 };

static inline uint64_t lif_flat_row(const uint8_t *fm, int b, int n)
{
    size_t bit = (size_t)b * (size_t)n;
    uint64_t w;
    __builtin_memcpy(&w, fm + bit / 8, sizeof w);
    return (w >> (bit & 7)) & ((1ull << n) - 1);
}

/* The B rows of a step from fm (B·n bits; fm has 8 bytes of room past
 * them, which this zeroes): word 0 of row b (lds words apart from the
 * next) is lif_flat_row, its other words 0. Rows of 8 words go out
 * through `row8` (the ISA's vector stores, inlined). */
static inline __attribute__((always_inline)) void
lif_flat_rows(uint8_t *fm, int B, int n, uint64_t *s, size_t lds,
              void (*row8)(uint64_t *row, uint64_t w))
{
    __builtin_memset(fm + ((size_t)B * (size_t)n + 7) / 8, 0, 8);
    for (int b = 0; b < B; b++) {
        uint64_t w = lif_flat_row(fm, b, n), *sr = s + (size_t)b * lds;
        if (lds == 8) {
            row8(sr, w);
        } else {
            sr[0] = w;
            for (size_t k = 1; k < lds; k++)
                sr[k] = 0;
        }
    }
}

/* ---- kernel declarations: encoder ---- */

/* Poisson encoder: Philox4x32-10 on 4 (AVX2) / 8 (AVX-512) time steps of one
 * group of eight inputs at once; spikes equal lif_encode_scalar_ref's bit
 * for bit. */
lif_status lif_encode_simd_avx2(const lif_ctx *ctx, const lif_encode_args *a);
lif_status lif_encode_simd_avx512(const lif_ctx *ctx, const lif_encode_args *a);

/* ---- kernel declarations: neuron, readout, optimizer ---- */

/* LIF forward (H, V, spikes bitwise equal to lif_lif_fwd_scalar_ref) and
 * BPTT (bitwise equal with ATan; with Sigmoid a vector expf of ≤ 1 ulp
 * puts σ' within a few ulp), vectorised over the B·n neurons of a step
 * (lif_simd_<isa>.c). */
lif_status lif_lif_fwd_simd_avx2(const lif_ctx *ctx, const lif_lif_fwd_args *a);
lif_status lif_lif_fwd_simd_avx512(const lif_ctx *ctx, const lif_lif_fwd_args *a);
lif_status lif_lif_bwd_simd_avx2(const lif_ctx *ctx, const lif_lif_bwd_args *a);
lif_status lif_lif_bwd_simd_avx512(const lif_ctx *ctx, const lif_lif_bwd_args *a);
/* Spike counts (exact) and the loss (readout_simd_<isa>.c). */
lif_status lif_spike_count_simd_avx2(const lif_ctx *ctx, const lif_spike_count_args *a);
lif_status lif_spike_count_simd_avx512(const lif_ctx *ctx, const lif_spike_count_args *a);
lif_status lif_loss_simd_avx2(const lif_ctx *ctx, const lif_loss_args *a);
lif_status lif_loss_simd_avx512(const lif_ctx *ctx, const lif_loss_args *a);
/* Adam and SGD, bitwise equal to lif_optim_scalar_ref (optim_simd_<isa>.c). */
lif_status lif_optim_simd_avx2(const lif_ctx *ctx, const lif_optim_args *a);
lif_status lif_optim_simd_avx512(const lif_ctx *ctx, const lif_optim_args *a);
/* Their supports(): the ISA, then the options they implement (neuron_simd.c). */
int lif_simd_supports_neuron_avx2(const lif_problem *p, const char **why);
int lif_simd_supports_neuron_avx512(const lif_problem *p, const char **why);
int lif_simd_supports_loss_avx2(const lif_problem *p, const char **why);
int lif_simd_supports_loss_avx512(const lif_problem *p, const char **why);
int lif_simd_supports_optim_avx2(const lif_problem *p, const char **why);
int lif_simd_supports_optim_avx512(const lif_problem *p, const char **why);

/* ---- kernel declarations: linear (dense and event-driven) ---- */

/* Dense: opmasks from the spike bits (AVX-512) or a bits->0/1-float table
 * and FMA (AVX2), register-blocked. Event-driven: one row of Wᵀ / dWᵀ
 * (workspace) per input spike; they run any density, and choosing between
 * dense and event-driven (from the input density) is the ranking module's
 * job (engine/src/rank.c). */
lif_status lif_linear_fwd_simd_avx2(const lif_ctx *ctx, const lif_linear_fwd_args *a);
lif_status lif_linear_fwd_simd_avx512(const lif_ctx *ctx, const lif_linear_fwd_args *a);
lif_status lif_linear_fwd_simd_avx2_event(const lif_ctx *ctx, const lif_linear_fwd_args *a);
lif_status lif_linear_fwd_simd_avx512_event(const lif_ctx *ctx, const lif_linear_fwd_args *a);
/* Narrow layers (n_out <= 16): the dense kernels' sums, bitwise, visiting
 * only the 16-input chunks of a row that hold a spike. */
lif_status lif_linear_fwd_simd_avx512_skip(const lif_ctx *ctx, const lif_linear_fwd_args *a);
/* Narrow layers: 16 time steps of a sample in the lanes (AVX-512 + GFNI +
 * VBMI), bitwise the scalar kernel's sums. */
lif_status lif_linear_fwd_simd_avx512_time(const lif_ctx *ctx, const lif_linear_fwd_args *a);
size_t lif_linear_fwd_time_workspace(const lif_problem *p);
int lif_simd_supports_time_avx512(const lif_problem *p, const char **why);
int lif_simd_supports_narrow_avx512(const lif_problem *p, const char **why);
/* Narrow layers, AVX2: 8 time steps of a sample in the lanes, bitwise the
 * scalar kernel's sums. */
lif_status lif_linear_fwd_simd_avx2_time(const lif_ctx *ctx, const lif_linear_fwd_args *a);
size_t lif_linear_fwd_time_avx2_workspace(const lif_problem *p);
int lif_simd_supports_time_avx2(const lif_problem *p, const char **why);
/* Narrow layers (n_out <= 16), AVX2: per-chunk tables of partial sums of
 * Wᵀ rows (workspace), one lookup per 5 inputs (13 chunks a 64-bit word)
 * at any density. */
#define LIF_SIMD_TABLE_CHUNKS 13
#define LIF_SIMD_TABLE_ROWS 64 /* rows of Y per tile (workspace) */
lif_status lif_linear_fwd_simd_avx2_table(const lif_ctx *ctx, const lif_linear_fwd_args *a);
int lif_linear_fwd_simd_avx2_table_supports(const lif_problem *p, const char **why);
size_t lif_linear_simd_table_workspace(const lif_problem *p);
lif_status lif_linear_bwd_w_simd_avx2(const lif_ctx *ctx, const lif_linear_bwd_w_args *a);
lif_status lif_linear_bwd_w_simd_avx512(const lif_ctx *ctx, const lif_linear_bwd_w_args *a);
lif_status lif_linear_bwd_w_simd_avx2_event(const lif_ctx *ctx, const lif_linear_bwd_w_args *a);
lif_status lif_linear_bwd_w_simd_avx512_event(const lif_ctx *ctx, const lif_linear_bwd_w_args *a);
lif_status lif_linear_bwd_w_simd_avx512_skip(const lif_ctx *ctx, const lif_linear_bwd_w_args *a);
lif_status lif_linear_bwd_w_simd_avx2_skip(const lif_ctx *ctx, const lif_linear_bwd_w_args *a);
int lif_simd_supports_narrow_avx2(const lif_problem *p, const char **why);
lif_status lif_linear_bwd_x_simd_avx2(const lif_ctx *ctx, const lif_linear_bwd_x_args *a);
lif_status lif_linear_bwd_x_simd_avx512(const lif_ctx *ctx, const lif_linear_bwd_x_args *a);
size_t lif_linear_simd_event_workspace(const lif_problem *p);

/* The time-lanes forwards' output: tile[stride·o + t] (output o of step t,
 * o < O, t < nt) to the rows y0 + t·row_stride (plain C, any ISA). */
static inline void lif_tile_to_rows(const float *tile, int stride, int O, int nt, float *y0,
                                    size_t row_stride)
{
    for (int t = 0; t < nt; t++) {
        float *y = y0 + (size_t)t * row_stride;
        for (int o = 0; o < O; o++)
            y[o] = tile[stride * o + t];
    }
}

#endif
