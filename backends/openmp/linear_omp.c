/* OpenMP kernels of the linear layer.
 *
 * linear_fwd, linear_bwd_x: contiguous blocks of the M = Tc*B rows (pointer
 * offsets, the full row strides); a row's result does not depend on the cut.
 * The forward cuts whole steps when the rows are [Tc][B] (`step`) and
 * passes `step` on for those parts; a kernel that takes a cut of samples
 * (LIF_KERNEL_SAMPLE_CUT, the time-lanes forward) gets the samples of the
 * other sample-cut ops instead (fwd_part with `samples`).
 * Blocks end on cache lines of the output rows where M allows.
 *
 * linear_bwd_w: on wide layers (n_out >= LIF_OMP_WIDE) contiguous blocks
 *   of 16 outputs (dY's columns from o0 with the full row stride, dW's rows,
 *   db); on narrow ones blocks of 64 inputs, one a thread (bwd_w_in_part:
 *   each thread reads only its words of the spike rows). Each element of dW still sums its rows
 *   in the order of the args' `step` from its old value, as one call of the
 *   inner kernel does (the kernel tests hold every weight-gradient kernel to
 *   any output cut and to an input cut at a word: cut_linear_bwd_w in
 *   tests/test_kernels.c), so there is nothing to reduce, no rounding changes, and
 *   the result is bitwise the inner kernel's alone for any thread count.
 *
 * Minimum work per part, in units of M·n_in·max(n_out, 16): one-thread
 * costs of the AVX-512 kernels at the reference shape (6400 x 784 x 10,
 * density 0.29, 80M units): linear_fwd 0.9 ms (0.011 ns a unit), linear_bwd_w
 * 0.58 ms (0.007 ns), linear_bwd_x 6.5 ms (0.08 ns). */
#include <omp.h>
#include <string.h>

#include "openmp.h"

#define MIN_FWD 4194304.0    /* ~45 us */
#define MIN_BWD_X 524288.0   /* ~45 us */
#define MIN_BWD_W 4194304.0  /* ~30 us */

static double linear_units(int M, int n_in, int n_out)
{
    return (double)M * n_in * (n_out > 16 ? n_out : 16);
}

typedef struct cut {
    const void *a;
    const lif_omp_state *s;
    long gran;
    size_t ld;              /* the output's (fwd) or dY's (bwd) row stride, resolved */
    int samples;            /* linear_fwd: parts are samples of every step (nb), not rows */
} cut;

/* ---- linear_fwd ---- */

/* Rows [lo, hi) of M; or, with u->samples, samples [lo, hi) of every step
 * (for a kernel that takes a sample cut). */
static lif_status fwd_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_linear_fwd_args *a = u->a;
    long lo, hi;
    lif_omp_range(u->samples ? a->step : a->M, np, i, u->gran, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    lif_linear_fwd_args pa = *a;
    if (u->samples) {
        pa.nb = (int)(hi - lo);
    } else {
        pa.M = (int)(hi - lo);
        /* a part of whole steps keeps the [Tc][B] layout */
        pa.step = a->step > 0 && lo % a->step == 0 && (hi - lo) % a->step == 0 ? a->step : 0;
    }
    pa.x = a->x + (size_t)lo * a->ldx;
    pa.y = a->y + (size_t)lo * u->ld;
    pa.ldy = u->ld;
    return u->s->k->run.linear_fwd(c, &pa);
}

lif_status lif_linear_fwd_omp(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    const lif_omp_state *s = ctx->state;
    lif_status st = lif_omp_check_ctx(ctx, s, "linear_fwd");
    if (st != LIF_OK)
        return st;
    if ((s->k->flags & LIF_KERNEL_SAMPLE_CUT) && a->step > 0 && a->M % a->step == 0 &&
        a->nb == 0) {
        /* the samples of the encoder's and the neuron's cuts, on the same
         * threads */
        lif_omp_split sp = lif_omp_split_samples(s, ctx->nthreads,
                                                 linear_units(a->M, a->n_in, a->n_out), MIN_FWD,
                                                 a->step);
        cut u = {.a = a, .s = s, .ld = a->ldy ? a->ldy : (size_t)a->n_out,
                 .gran = lif_omp_sample_gran(a->step, sp.parts), .samples = 1};
        return lif_omp_run_parts(ctx, s, sp, fwd_part, &u, "linear_fwd");
    }
    lif_omp_split sp = lif_omp_split_work(s, ctx->nthreads, linear_units(a->M, a->n_in, a->n_out), MIN_FWD,
                           a->M);
    cut u = {.a = a, .s = s, .ld = a->ldy ? a->ldy : (size_t)a->n_out};
    u.gran = lif_omp_gran((long)u.ld, a->M, sp.parts);
    if (a->step > 0 && a->M % a->step == 0)
        u.gran = a->step; /* rows [Tc][B]: parts of whole steps keep the layout */
    return lif_omp_run_parts(ctx, s, sp, fwd_part, &u, "linear_fwd");
}

/* ---- linear_bwd_x ---- */

static lif_status bwd_x_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_linear_bwd_x_args *a = u->a;
    long lo, hi;
    lif_omp_range(a->M, np, i, u->gran, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    lif_linear_bwd_x_args pa = *a;
    pa.M = (int)(hi - lo);
    pa.dy = a->dy + (size_t)lo * u->ld;
    pa.lddy = u->ld;
    pa.dx = a->dx + (size_t)lo * (size_t)a->n_in;
    return u->s->k->run.linear_bwd_x(c, &pa);
}

lif_status lif_linear_bwd_x_omp(const lif_ctx *ctx, const lif_linear_bwd_x_args *a)
{
    const lif_omp_state *s = ctx->state;
    lif_status st = lif_omp_check_ctx(ctx, s, "linear_bwd_x");
    if (st != LIF_OK)
        return st;
    lif_omp_split sp = lif_omp_split_work(s, ctx->nthreads, linear_units(a->M, a->n_in, a->n_out), MIN_BWD_X,
                           a->M);
    cut u = {.a = a, .s = s, .ld = a->lddy ? a->lddy : (size_t)a->n_out,
             .gran = lif_omp_gran(a->n_in, a->M, sp.parts)};
    return lif_omp_run_parts(ctx, s, sp, bwd_x_part, &u, "linear_bwd_x");
}

/* ---- linear_bwd_w ---- */

/* The inner kernel on one part, in the order of a->step: at once when it
 * follows `step`, else one call per step, last first. */
static lif_status inner_bwd_w(const lif_omp_state *s, const lif_ctx *c,
                              const lif_linear_bwd_w_args *a, size_t lddy)
{
    if ((s->k->flags & LIF_KERNEL_STEP_ORDER) || a->step <= 0 || a->step >= a->M)
        return s->k->run.linear_bwd_w(c, a);
    lif_linear_bwd_w_args pa = *a;
    pa.M = a->step;
    pa.step = 0;
    for (int s0 = a->M - a->step; s0 >= 0; s0 -= a->step) {
        pa.dy = a->dy + (size_t)s0 * lddy;
        pa.x = a->x + (size_t)s0 * a->ldx;
        lif_status st = s->k->run.linear_bwd_w(c, &pa);
        if (st != LIF_OK)
            return st;
    }
    return LIF_OK;
}

/* outputs [lo, hi) of part i: blocks of 16 on wide layers, single outputs
 * on narrow ones */
static lif_status bwd_w_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_linear_bwd_w_args *a = u->a;
    long lo, hi;
    lif_omp_range(a->n_out, np, i, u->gran, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    lif_linear_bwd_w_args pa = *a;
    pa.n_out = (int)(hi - lo);
    pa.dy = a->dy + lo;
    pa.lddy = u->ld;
    pa.dw = a->dw + (size_t)lo * (size_t)a->n_in;
    pa.db = a->db ? a->db + lo : NULL;
    return inner_bwd_w(u->s, c, &pa, u->ld);
}

/* Narrow layers: blocks of 64 inputs (whole words of the spike rows). Each
 * part runs the inner kernel on its inputs' columns of dW, copied into the
 * thread's own bytes (dW rows are n_in long and the args have no row
 * stride for it) and back; the bias gradient in part 0 only. Every element
 * is still summed by one call in the order of `step`, so the result is
 * bitwise the inner kernel's alone. An output cut would make each thread
 * read every spike and, for the skip kernel, list every chunk's rows again
 * (measured: no gain at all from a second thread at MNIST density). */
size_t lif_omp_bwd_w_extra(const lif_problem *p)
{
    if (p->n_out >= LIF_OMP_WIDE || p->n_in <= 64 || p->threads <= 1)
        return 0;
    return ((size_t)p->n_out * (size_t)p->n_in * sizeof(float) + 63) / 64 * 64;
}

static lif_status bwd_w_in_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_linear_bwd_w_args *a = u->a;
    long nw = (a->n_in + 63) / 64, lo, hi;
    lif_omp_range(nw, np, i, 1, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    int i0 = (int)lo * 64, i1 = hi * 64 < a->n_in ? (int)hi * 64 : a->n_in, ni = i1 - i0;
    float *cols = (float *)(void *)((char *)c->ws + u->s->extra_off);
    for (int o = 0; o < a->n_out; o++)
        memcpy(cols + (size_t)o * ni, a->dw + (size_t)o * a->n_in + i0, (size_t)ni * sizeof(float));
    lif_linear_bwd_w_args pa = *a;
    pa.n_in = ni;
    pa.x = a->x + lo;
    pa.dw = cols;
    pa.db = i == 0 ? a->db : NULL;
    lif_status st = inner_bwd_w(u->s, c, &pa, u->ld);
    for (int o = 0; o < a->n_out; o++)
        memcpy(a->dw + (size_t)o * a->n_in + i0, cols + (size_t)o * ni, (size_t)ni * sizeof(float));
    return st;
}

lif_status lif_linear_bwd_w_omp(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
{
    const lif_omp_state *s = ctx->state;
    lif_status st = lif_omp_check_ctx(ctx, s, "linear_bwd_w");
    if (st != LIF_OK)
        return st;
    if (a->step > 0 && a->M % a->step)
        return lif_error(LIF_ERR_INVALID_ARG, "linear_bwd_w/openmp: step %d does not divide M = %d",
                         a->step, a->M);
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    double units = linear_units(a->M, a->n_in, a->n_out);
    long gran = s->wide ? 16 : 1;
    /* Wide layers: up to LIF_OMP_PARTS_PER_THREAD parts a thread for
     * balance; narrow ones: one part a thread (every part reads all of x). */
    /* The dense AVX-512 kernel sums 5 outputs a pass: where the outputs
     * split into equal runs of whole passes, an output cut balances
     * exactly, where whole words of inputs leave 7 against 6 of 13
     * (784 -> 10, 2 threads: 0.190 against 0.207 ms a batch, lif_kernels
     * LIF_BENCH_THREADS=2, density 0.29; 0.345 on one thread). The AVX2
     * dense kernel's passes (4, 3, 3) do not split so (0.61 against 0.57
     * ms), and the skip kernel would list every chunk's rows in each part. */
    int out_cut = 0;
    if (!s->wide && strcmp(s->k->backend, "simd") == 0 && strcmp(s->k->variant, "avx512") == 0) {
        lif_omp_split t = lif_omp_split_work(s, ctx->nthreads, units, MIN_BWD_W, a->n_out);
        out_cut = t.threads > 1 && a->n_out % (5 * t.threads) == 0;
    }
    if (!s->wide && a->n_in > 64 && !out_cut &&
        s->slice - s->extra_off >= (size_t)a->n_out * (size_t)a->n_in * sizeof(float)) {
        lif_omp_split sp = lif_omp_split_work(s, ctx->nthreads, units, MIN_BWD_W,
                                              (a->n_in + 63) / 64);
        if (sp.threads > 1) {
            sp.parts = sp.threads; /* one part a thread: each part copies its columns */
            cut u = {.a = a, .s = s, .ld = lddy};
            return lif_omp_run_parts(ctx, s, sp, bwd_w_in_part, &u, "linear_bwd_w");
        }
    }
    if (out_cut)
        gran = 5;
    lif_omp_split sp = lif_omp_split_work(s, ctx->nthreads, units, MIN_BWD_W,
                                          (a->n_out + gran - 1) / gran);
    if (!s->wide)
        sp.parts = sp.threads;
    cut u = {.a = a, .s = s, .ld = lddy, .gran = gran};
    return lif_omp_run_parts(ctx, s, sp, bwd_w_part, &u, "linear_bwd_w");
}
