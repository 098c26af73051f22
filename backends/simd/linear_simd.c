/* Linear layer, SIMD backend: supports() and workspace sizes shared by the
 * AVX2 and AVX-512 kernels (no ISA flags here; the kernels are in
 * linear_simd_avx2.c and linear_simd_avx512.c).
 *
 * Dense or event-driven: the event-driven kernels cost about one row
 * addition per input spike, the dense ones a fixed amount per input, so
 * the event-driven ones win below some density. Both run any density
 * (their supports() are the plain ISA checks of backend_simd.c); choosing
 * between dense and event-driven is the ranking module's job
 * (engine/src/rank.c), which holds the measured crossovers. */
#include "simd.h"
#include "linear_simd.h"

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
