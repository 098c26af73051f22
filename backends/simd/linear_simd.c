/* Linear layer, SIMD backend: supports() and workspace sizes shared by the
 * AVX2 and AVX-512 kernels (no ISA flags here; the kernels are in
 * linear_simd_avx2.c and linear_simd_avx512.c).
 *
 * Dense or event-driven: the event-driven kernels cost about one row
 * addition per input spike, the dense ones a fixed amount per input, so
 * the event-driven ones win below a density and decline above it (they
 * sit above the dense ones by priority). The crossovers below were
 * measured on this project's machine (AMD Zen 5 guest, one thread) with
 * M = 6400 rows of 784 inputs, n_out 10 and 400 (see the tables below). */
#include "simd.h"
#include "linear_simd.h"

/* Density assumed when the plan has not measured it yet: Poisson-encoded
 * images fire at about the mean pixel (MNIST 0.13, Fashion-MNIST 0.29). */
#define ASSUMED_DENSITY 0.2f

/* Measured crossovers (dense faster above), per ISA and width: narrow
 * layers (n_out <= 16, one zmm / two ymm per row) and wide ones. At n_out
 * 10 the AVX-512 dense forward runs ~0.55 ms per 6400x784 rows at any
 * density; the AVX-512 event-driven forward (bench/lif_kernels, encoded
 * MNIST-like images) 0.48-0.50 ms at 0.13 and 0.88 ms at 0.29, so its
 * crossover is ~0.15. AVX2, n_out 10 (bench/lif_kernels, T100 b64): the
 * table-driven forward (priority 11, between dense and event) runs 0.18 /
 * 0.32 / 0.44 / 0.53 ms at density 0.02 / 0.13 / 0.29 / 0.50, the
 * event-driven one 0.14 / 0.66-0.79 / 1.1 / 1.8, dense 1.2 at any: the
 * event kernel's crossover is ~0.03 (interpolated). The AVX2 event weight
 * gradient runs 0.25 ms at 0.02 and 1.3-1.4 at 0.13, the dense one 1.0 at
 * any density: crossover ~0.09 (interpolated). */
typedef struct crossover {
    float max;
    const char *why;
} crossover;

static const crossover FWD_AVX2[2] = {
    {0.03f, "input density > 0.03 with n_out <= 16: the table-driven AVX2 kernel is faster"},
    {0.50f, "input density > 0.50 with n_out > 16: the dense AVX2 kernel is faster"}};
static const crossover FWD_AVX512[2] = {
    {0.15f, "input density > 0.15 with n_out <= 16: the dense AVX-512 kernel is faster"},
    {0.40f, "input density > 0.40 with n_out > 16: the dense AVX-512 kernel is faster"}};
static const crossover BWD_AVX2[2] = {
    {0.09f, "input density > 0.09 with n_out <= 16: the dense AVX2 kernel is faster"},
    {0.50f, "input density > 0.50 with n_out > 16: the dense AVX2 kernel is faster"}};
static const crossover BWD_AVX512[2] = {
    {0.04f, "input density > 0.04 with n_out <= 16: the dense AVX-512 kernel is faster"},
    {0.40f, "input density > 0.40 with n_out > 16: the dense AVX-512 kernel is faster"}};

static int sparse_enough(const lif_problem *p, const crossover c[2], const char **why)
{
    float d = p->density > 0.0f ? p->density : ASSUMED_DENSITY;
    const crossover *x = &c[p->n_out > 16];
    if (d > x->max) {
        *why = x->why;
        return 0;
    }
    return 1;
}

int lif_linear_fwd_simd_avx2_event_supports(const lif_problem *p, const char **why)
{
    return lif_simd_supports_avx2(p, why) && sparse_enough(p, FWD_AVX2, why);
}

int lif_linear_fwd_simd_avx512_event_supports(const lif_problem *p, const char **why)
{
    return lif_simd_supports_avx512(p, why) && sparse_enough(p, FWD_AVX512, why);
}

int lif_linear_bwd_w_simd_avx2_event_supports(const lif_problem *p, const char **why)
{
    return lif_simd_supports_avx2(p, why) && sparse_enough(p, BWD_AVX2, why);
}

int lif_linear_bwd_w_simd_avx512_event_supports(const lif_problem *p, const char **why)
{
    return lif_simd_supports_avx512(p, why) && sparse_enough(p, BWD_AVX512, why);
}

/* Wᵀ or dWᵀ (n_in rows of n_out padded to 16 floats, plus a zero row) +
 * two rows' event lists (with slack: the decoders store whole vectors /
 * groups of four, the sum pads to a multiple of eight). */
size_t lif_linear_simd_event_workspace(const lif_problem *p)
{
    return ((size_t)p->n_in + 1) * lif_linear_simd_stride(p->n_out) * sizeof(float) +
           2 * ((size_t)p->n_in + 32) * sizeof(int32_t);
}

/* The table-driven AVX2 forward: narrow layers only (rows of 16 floats). */
int lif_linear_fwd_simd_avx2_table_supports(const lif_problem *p, const char **why)
{
    if (!lif_simd_supports_avx2(p, why))
        return 0;
    if (p->n_out > 16) {
        *why = "n_out > 16: the table-driven forward handles rows of at most 16 outputs";
        return 0;
    }
    return 1;
}

/* 32 partial sums of 16 floats per 5-bit chunk of the input (13 chunks a
 * word), plus a tile of LIF_SIMD_TABLE_ROWS rows of Y (16 floats each). */
size_t lif_linear_simd_table_workspace(const lif_problem *p)
{
    size_t nw = ((size_t)p->n_in + 63) / 64;
    /* n_out <= 10: chunk tables of 8 floats and byte tables of 2 */
    size_t tabs = p->n_out <= 10 ? nw * (LIF_SIMD_TABLE_CHUNKS * 32 * 8 + 8 * 256 * 2)
                                 : nw * LIF_SIMD_TABLE_CHUNKS * 32 * 16;
    return (tabs + LIF_SIMD_TABLE_ROWS * 16) * sizeof(float);
}
