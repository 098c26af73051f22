/* OpenMP kernels cut by samples: encode, lif_fwd, lif_bwd, spike_count.
 *
 * A part is a contiguous block of samples [b0, b1): pointer offsets b0·n
 * (floats) or b0·ld (bit rows), B = b1 - b0, and the whole batch's step
 * strides, so every sample is computed exactly as in one call (the kernel
 * tests' sample cuts). Blocks of float rows end on cache lines where the
 * batch allows (16 / gcd(n, 16) samples).
 *
 * Minimum work per part, in units of the op (sample·step·input for the
 * encoder, neuron·step for the others): a part should cost well over the
 * few microseconds a parallel region costs. One-thread costs of the SIMD
 * kernels (AVX-512, bench/lif_kernels, reference shape T 100, B 64,
 * 784 -> 10): encode 0.63 ms for 5.0M units (0.13 ns each), lif_fwd 0.10
 * ms for 64k (1.6 ns), lif_bwd 15 us for 64k (0.23 ns), spike_count 6 us
 * for 64k (0.09 ns). A fork/join of 2 threads measured 2-6 us here; the
 * minimums below give parts of about 25-50 us. lif_fwd's part must be
 * larger: split at the reference shape (64k units, 2 threads), it took
 * 0.079 ms against 0.069 ms on one thread (Intel Xeon kind, 2026-12-02,
 * LIF_BENCH_THREADS=1|2 bench/lif_kernels): the recurrence streams H and
 * V, and the halves contend for what one thread has alone. Since then the
 * LIF forward got 4x faster (its spike bits from the compares), and on one
 * thread it read every sample's input current, half of it written by the
 * other thread's linear forward: split by the same samples (16k units a
 * part, with lif_bwd and the spike counts), a training step at 2 threads
 * ran 1-2 % faster (AMD Zen 5 guest, 2026-12-03, lif bench --threads 1,2
 * alternated 4x: 1.78-1.83x one thread against 1.75-1.80x on Fashion-MNIST;
 * 150-152k against 147-150k images/s at MNIST density), inference 1-3 %
 * faster. In a spell where the host made traffic between the vCPUs slow
 * (two threads at 1.26-1.31x), training still gained 1-2 % and inference
 * lost 2.5 % (three more joins a pass). */
#include "openmp.h"

#define MIN_ENCODE 262144.0      /* ~35 us */
#define MIN_LIF_FWD 16384.0      /* ~4 us (see below): the reference shape (64k) splits */
#define MIN_LIF_BWD 16384.0      /* ~4 us here */
#define MIN_SPIKE_COUNT 16384.0  /* ~1.5 us, but it reads the spikes lif_fwd wrote on
                                  * the same threads */

typedef struct cut {
    const void *a;          /* the op's arguments */
    const lif_omp_state *s;
    long gran;              /* samples per granule */
    size_t ts, ss;          /* the whole batch's step strides (resolved) */
} cut;

/* ---- encode ---- */

static lif_status encode_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_encode_args *a = u->a;
    long lo, hi;
    lif_omp_range(a->B, np, i, u->gran, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    lif_encode_args pa = *a;
    pa.pixels = a->pixels + (size_t)lo * (size_t)a->n_in;
    pa.ids = a->ids + lo;
    pa.B = (int)(hi - lo);
    pa.dst = a->dst + (size_t)lo * a->ld;
    pa.dst_tstride = u->ts;
    return u->s->k->run.encode(c, &pa);
}

lif_status lif_encode_omp(const lif_ctx *ctx, const lif_encode_args *a)
{
    const lif_omp_state *s = ctx->state;
    lif_status st = lif_omp_check_ctx(ctx, s, "encode");
    if (st != LIF_OK)
        return st;
    double units = (double)a->B * a->Tc * a->n_in;
    lif_omp_split sp = lif_omp_split_samples(s, ctx->nthreads, units, MIN_ENCODE, a->B);
    cut u = {.a = a, .s = s, .gran = lif_omp_sample_gran(a->B, sp.parts),
             .ts = a->dst_tstride ? a->dst_tstride : (size_t)a->B * a->ld};
    return lif_omp_run_parts(ctx, s, sp, encode_part, &u, "encode");
}

/* ---- lif_fwd ---- */

static lif_status lif_fwd_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_lif_fwd_args *a = u->a;
    long lo, hi;
    lif_omp_range(a->B, np, i, u->gran, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    size_t off = (size_t)lo * (size_t)a->n;
    lif_lif_fwd_args pa = *a;
    pa.B = (int)(hi - lo);
    pa.x = a->x + off;
    pa.v = a->v + off;
    pa.h = a->h + off;
    pa.s = a->s + (size_t)lo * a->lds;
    pa.tstride = u->ts;
    pa.s_tstride = u->ss;
    return u->s->k->run.lif_fwd(c, &pa);
}

lif_status lif_lif_fwd_omp(const lif_ctx *ctx, const lif_lif_fwd_args *a)
{
    const lif_omp_state *s = ctx->state;
    lif_status st = lif_omp_check_ctx(ctx, s, "lif_fwd");
    if (st != LIF_OK)
        return st;
    double units = (double)a->B * a->Tc * a->n;
    lif_omp_split sp = lif_omp_split_samples(s, ctx->nthreads, units, MIN_LIF_FWD, a->B);
    cut u = {.a = a, .s = s, .gran = lif_omp_sample_gran(a->B, sp.parts),
             .ts = a->tstride ? a->tstride : (size_t)a->B * (size_t)a->n,
             .ss = a->s_tstride ? a->s_tstride : (size_t)a->B * a->lds};
    return lif_omp_run_parts(ctx, s, sp, lif_fwd_part, &u, "lif_fwd");
}

/* ---- lif_bwd ---- */

static lif_status lif_bwd_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_lif_bwd_args *a = u->a;
    long lo, hi;
    lif_omp_range(a->B, np, i, u->gran, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    size_t off = (size_t)lo * (size_t)a->n;
    lif_lif_bwd_args pa = *a;
    pa.B = (int)(hi - lo);
    pa.h = a->h + off;
    pa.ds = a->ds + off;  /* ds_tstride as given (0: one [B, n] for every step) */
    pa.dv = a->dv + off;
    pa.dx = a->dx + off;
    pa.tstride = u->ts;
    return u->s->k->run.lif_bwd(c, &pa);
}

lif_status lif_lif_bwd_omp(const lif_ctx *ctx, const lif_lif_bwd_args *a)
{
    const lif_omp_state *s = ctx->state;
    lif_status st = lif_omp_check_ctx(ctx, s, "lif_bwd");
    if (st != LIF_OK)
        return st;
    double units = (double)a->B * a->Tc * a->n;
    lif_omp_split sp = lif_omp_split_samples(s, ctx->nthreads, units, MIN_LIF_BWD, a->B);
    cut u = {.a = a, .s = s, .gran = lif_omp_sample_gran(a->B, sp.parts),
             .ts = a->tstride ? a->tstride : (size_t)a->B * (size_t)a->n};
    return lif_omp_run_parts(ctx, s, sp, lif_bwd_part, &u, "lif_bwd");
}

/* ---- spike_count ---- */

static lif_status spike_count_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_spike_count_args *a = u->a;
    long lo, hi;
    lif_omp_range(a->B, np, i, u->gran, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    lif_spike_count_args pa = *a;
    pa.B = (int)(hi - lo);
    pa.s = a->s + (size_t)lo * a->lds;
    pa.count = a->count + (size_t)lo * (size_t)a->n;
    pa.s_tstride = u->ss;
    return u->s->k->run.spike_count(c, &pa);
}

lif_status lif_spike_count_omp(const lif_ctx *ctx, const lif_spike_count_args *a)
{
    const lif_omp_state *s = ctx->state;
    lif_status st = lif_omp_check_ctx(ctx, s, "spike_count");
    if (st != LIF_OK)
        return st;
    double units = (double)a->B * a->Tc * a->n;
    lif_omp_split sp = lif_omp_split_samples(s, ctx->nthreads, units, MIN_SPIKE_COUNT, a->B);
    cut u = {.a = a, .s = s, .gran = lif_omp_sample_gran(a->B, sp.parts),
             .ss = a->s_tstride ? a->s_tstride : (size_t)a->B * a->lds};
    return lif_omp_run_parts(ctx, s, sp, spike_count_part, &u, "spike_count");
}
