/* OpenMP kernels of the loss and the optimizer.
 *
 * loss: B x classes values, a microsecond: one inner call on the calling
 * thread, no parallel region.
 * optim: elementwise, so any cut gives the same bits; contiguous blocks of
 * 16 parameters (64 bytes: no cache line is shared). The AVX-512 Adam step
 * takes ~0.4 ns a parameter (3 us for 784 x 10 + 10), so a part has at least
 * 64k parameters (~25 us): the reference layer's step stays on one thread,
 * a 784 x 200 one splits. */
#include "openmp.h"

#define MIN_OPTIM 65536.0

lif_status lif_loss_omp(const lif_ctx *ctx, const lif_loss_args *a)
{
    const lif_omp_state *s = ctx->state;
    lif_status st = lif_omp_check_ctx(ctx, s, "loss");
    if (st != LIF_OK)
        return st;
    lif_ctx c = lif_omp_inner_ctx(ctx, s, 0);
    return s->k->run.loss(&c, a);
}

typedef struct cut {
    const lif_optim_args *a;
    const lif_omp_state *s;
} cut;

static lif_status optim_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_optim_args *a = u->a;
    long lo, hi;
    lif_omp_range((long)a->n, np, i, 16, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    lif_optim_args pa = *a;
    pa.n = (size_t)(hi - lo);
    pa.w = a->w + lo;
    pa.g = a->g + lo;
    pa.m = a->m ? a->m + lo : NULL;
    pa.v = a->v ? a->v + lo : NULL;
    return u->s->k->run.optim(c, &pa);
}

lif_status lif_optim_omp(const lif_ctx *ctx, const lif_optim_args *a)
{
    const lif_omp_state *s = ctx->state;
    lif_status st = lif_omp_check_ctx(ctx, s, "optim");
    if (st != LIF_OK)
        return st;
    lif_omp_split sp = lif_omp_split_work(s, ctx->nthreads, (double)a->n, MIN_OPTIM, (long)((a->n + 15) / 16));
    cut u = {.a = a, .s = s};
    return lif_omp_run_parts(ctx, s, sp, optim_part, &u, "optim");
}
