/* The ranking module: among the kernels that can run a problem (their
 * supports() said yes), which one is expected to be fastest.
 *
 * This is the "estimate": an ordered list per op, read top to bottom like
 * oneDNN's implementation lists, plus the measured dense-vs-event density
 * crossovers. It holds every speed judgement of the engine; supports()
 * holds none. The autotuner replaces these estimates with timings on the
 * machine at hand; what is written here is what runs without it.
 *
 * A rank is a number, higher is faster. Kernels with no rule get rank 1:
 * above the scalar reference (0), below every kernel with an estimate. */
#include <string.h>

#include "lif/backend.h"

/* Density assumed when the plan has not measured it yet: Poisson-encoded
 * images fire at about the mean pixel (MNIST 0.13, Fashion-MNIST 0.29). */
#define ASSUMED_DENSITY 0.2f

/* Event-driven linear kernels cost about one row addition per input spike,
 * the dense ones a fixed amount per input, so the event-driven ones win
 * below a density and lose above it. Crossovers measured on the project's
 * machine (AMD Zen 5 guest, one thread) with M = 6400 rows of 784 inputs,
 * n_out 10 and 400, for narrow layers (n_out <= 16: one zmm / two ymm per
 * row) and wide ones:
 *
 * - forward, AVX-512, n_out 10: dense ~0.55 ms at any density; event-driven
 *   (bench/lif_kernels, encoded MNIST-like images) 0.48-0.50 ms at 0.13 and
 *   0.88 ms at 0.29: crossover ~0.15.
 * - forward, AVX2, n_out 10 (T100 b64): table-driven 0.18 / 0.32 / 0.44 /
 *   0.53 ms at density 0.02 / 0.13 / 0.29 / 0.50, event-driven 0.14 /
 *   0.66-0.79 / 1.1 / 1.8, dense 1.2 at any: the event kernel's crossover
 *   (against the table) ~0.03, interpolated.
 * - forward, AVX2 time-lanes (narrow layers, 2026-12-03): 0.143 / 0.365 /
 *   0.69 / 1.13 ms at density 0.02 / 0.13 / 0.29 / 0.50 against the table
 *   kernel's 0.164 / 0.298 / 0.42 / 0.51 and event-driven 0.157 at 0.02;
 *   in lif bench (whole steps, synthetic images) at 0.01 / 0.03 / 0.06 / 0.10:
 *   inference 213k / 145k / 105k / 77k images/s, against the event-driven
 *   kernel's 185k / 119k / 79k / 58k and the table's 183k / 130k / 101k /
 *   79k: first below ~0.08, and above the event-driven kernel for narrow
 *   layers at every density measured. (On Fashion-MNIST thinned to density
 *   0.13, whose lit pixels are fewer and brighter than the synthetic
 *   images', it beat the table by 6 % in training; the synthetic images
 *   decide.)
 * - weight gradient, AVX2: event-driven 0.25 ms at 0.02 and 1.3-1.4 at 0.13,
 *   dense 1.0 at any density: crossover ~0.09, interpolated. AVX-512: ~0.04.
 *
 * - narrow layers, AVX-512, the skip kernels (dense sums over the nonzero
 *   16-input chunks only; bench/lif_kernels, T100 b64 784 -> 10, medians of
 *   3): forward 0.34 / 0.56 / 0.85 / 1.12 ms at density 0.02 / 0.13 / 0.29 /
 *   0.50 against dense 0.68 / 0.63 / 0.60 / 0.72 and event-driven 0.31 /
 *   0.61 / 1.03 / 1.91; weight gradient 0.17 / 0.37 / 0.72 / 0.84 against
 *   dense 0.64 / 0.56 / 0.55 / 0.70 and event-driven 0.49 / 0.88 / 1.35 /
 *   2.24. Crossovers: skip below ~0.2 for both, the event-driven forward
 *   below ~0.05 (AMD Zen 5 guest, 2026-12-02). The time-lanes forward
 *   (AVX-512 + GFNI + VBMI, narrow layers): 0.12 / 0.24 / 0.52 / 0.70 ms
 *   at the same densities, against 0.25 / 0.59 / 0.64 / 0.61 for the best
 *   other: first below ~0.4. AVX2 weight gradient, skip
 *   kernel (dY broadcast once per 64-row block, 2026-12-03): 0.20 / 0.57 /
 *   1.02 / 1.41 ms against dense 0.99 / 0.99 / 1.00 / 0.99 and event-driven
 *   0.29 / 1.06 / 2.13 / 3.45: skip below ~0.27 (on real Fashion-MNIST,
 *   density 0.28, dense still wins: 25.4k against 24.8k images/s in lif
 *   bench), and above the event-driven kernel at every density measured
 *   (lif bench training at 0.005 / 0.01: 153k / 135k images/s against
 *   124k / 108k): the skip kernel now ranks above it (where it runs:
 *   n_out <= 12), and the event-driven one keeps its crossover against
 *   the dense kernel.
 *
 * Above its crossover an event-driven kernel ranks just below the dense
 * kernel of its ISA (it still beats the other ISA's kernels' fallbacks). */
typedef struct crossover {
    float narrow, wide;     /* max density for n_out <= 16, and wider */
} crossover;

typedef struct rule {
    int op;                 /* a lif_op, or -1: any op */
    const char *backend;
    const char *variant;    /* NULL: any variant of the backend */
    double rank;
    crossover x;            /* event-driven kernels only; {0, 0}: none */
    const char *basis;
} rule;

#define ANY_OP (-1)

/* First matching rule wins. */
static const rule rules[] = {
    /* OpenMP composes: its kernels run the best other kernel on each
     * thread's part and call it directly at one thread, so they rank above
     * every kernel they wrap. Measured at one thread (reference step, 784
     * -> 10, T 100, B 64, Fashion-MNIST, medians of 7 alternated runs):
     * training 1.82 vs 1.81 ms for simd alone, inference 1.25 vs 1.24 ms;
     * each op within 3 % of its simd kernel (bench/lif_kernels) */
    {ANY_OP, "openmp", NULL, 30, {0, 0},
     "OpenMP: the op split over the plan's threads with SIMD kernels inside"},
    /* oneDNN (backends/onednn/). bf16: it runs only problems that asked for
     * reduced precision (-amp), and only it does, so it ranks first there.
     * float32: below every SIMD kernel until measured otherwise, so that
     * `auto` never picks it (and openmp's inner selection neither);
     * --backend onednn,... uses it. To measure on a quiet machine, at 1
     * and 2 threads: lif bench --backend simd,openmp,onednn on the
     * reference recipe (784 -> 10, T 100, b 64: skinny N = 10 products,
     * where the event-driven SIMD kernels are expected to win) and on
     * --hidden 1000 (784 -> 1000 -> 10: wide products, GEMM territory);
     * then per op build/bench/lif_kernels --benchmark_filter=onednn. Where
     * oneDNN wins, a rule above the simd rows goes here for that op and
     * width (n_out), e.g. {LIF_OP_LINEAR_BWD_X, "onednn", "f32", 25, ...}
     * with a width condition. */
    {ANY_OP, "onednn", "bf16", 40, {0, 0},
     "oneDNN bf16 matmul: the only kernel for reduced precision (-amp)"},
    {ANY_OP, "onednn", "f32", 5, {0, 0},
     "oneDNN f32 matmul: not measured faster than SIMD yet (see rank.c)"},
    /* linear forward: event-driven below its crossover, else dense; on AVX2
     * the table-driven kernel sits between them for narrow layers */
    {LIF_OP_LINEAR_FWD, "simd", "avx512_time", 24, {0.40f, 0.40f},
     "AVX-512 time-lanes forward: no lane idle, silent inputs free: fastest below density 0.4"},
    {LIF_OP_LINEAR_FWD, "simd", "avx512_event", 22, {0.05f, 0.40f},
     "AVX-512 event-driven: fastest at very low input density"},
    {LIF_OP_LINEAR_FWD, "simd", "avx512_skip", 21, {0.20f, 0.20f},
     "AVX-512 dense sums over a row's nonzero chunks only: fastest at low input density"},
    {LIF_OP_LINEAR_FWD, "simd", "avx2_time", 13, {0.08f, 0.08f},
     "AVX2 time-lanes forward: silent inputs free: fastest at very low input density"},
    {LIF_OP_LINEAR_FWD, "simd", "avx2_event", 12, {0.03f, 0.50f},
     "AVX2 event-driven: fastest at low input density"},
    {LIF_OP_LINEAR_FWD, "simd", "avx2_table", 11, {0, 0},
     "AVX2 table-driven: faster than AVX2 dense on narrow layers"},
    /* weight gradient: event-driven below its crossover, else dense */
    {LIF_OP_LINEAR_BWD_W, "simd", "avx512_skip", 23, {0.20f, 0.20f},
     "AVX-512 dense sums over the rows where a chunk has a spike: fastest at low input density"},
    {LIF_OP_LINEAR_BWD_W, "simd", "avx512_event", 22, {0.04f, 0.40f},
     "AVX-512 event-driven: fastest at low input density"},
    {LIF_OP_LINEAR_BWD_W, "simd", "avx2_event", 12, {0.09f, 0.50f},
     "AVX2 event-driven: fastest at low input density"},
    {LIF_OP_LINEAR_BWD_W, "simd", "avx2_skip", 13, {0.25f, 0.25f},
     "AVX2 dense sums over the rows where a chunk has a spike: fastest at low input density"},
    /* every op: the widest vector ISA first, the scalar reference last */
    {ANY_OP, "simd", "avx512", 20, {0, 0}, "AVX-512: the widest vectors"},
    {ANY_OP, "simd", "avx2", 10, {0, 0}, "AVX2: 256-bit vectors"},
    {ANY_OP, "scalar", "ref", 0, {0, 0}, "the scalar reference: last resort"},
};

static const rule *find_rule(const lif_kernel_i *k)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const rule *r = &rules[i];
        if ((r->op == ANY_OP || r->op == (int)k->op) && strcmp(r->backend, k->backend) == 0 &&
            (!r->variant || strcmp(r->variant, k->variant) == 0))
            return r;
    }
    return NULL;
}

double lif_kernel_rank(const lif_kernel_i *k, const lif_problem *p, const char **basis)
{
    const char *dummy;
    if (!basis)
        basis = &dummy;
    const rule *r = find_rule(k);
    if (!r) {
        *basis = "no estimate for this kernel: ranked above the scalar reference only";
        return 1.0;
    }
    *basis = r->basis;
    if (r->x.narrow > 0.0f) {
        float d = p->density > 0.0f ? p->density : ASSUMED_DENSITY;
        float max = p->n_out <= 16 ? r->x.narrow : r->x.wide;
        if (d > max) {
            /* just below the dense kernel of the same ISA */
            *basis = "input density above the measured event-driven crossover: "
                     "the dense kernel is expected faster";
            return (double)((int)r->rank / 10 * 10) - 1.0;
        }
    }
    return r->rank;
}
