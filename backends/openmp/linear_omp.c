/* OpenMP kernels of the linear layer.
 *
 * linear_fwd, linear_bwd_x: contiguous blocks of the M = Tc*B rows (pointer
 * offsets, the full row strides); a row's result does not depend on the cut.
 * Blocks end on cache lines of the output rows where M allows.
 *
 * linear_bwd_w, the reduction over rows:
 *   wide layers (n_out >= LIF_OMP_WIDE): contiguous blocks of 16 outputs
 *     (dY's columns from o0 with the full row stride, dW's rows, db): each
 *     element of dW still sums its rows in order from its old value, as one
 *     call does (the kernel tests hold every weight-gradient kernel to any
 *     output cut), so there is nothing to reduce and no rounding changes.
 *   narrow layers: NB = clamp(M / 512, 1, 16) fixed row blocks, [j·M/NB,
 *     (j+1)·M/NB), numbered and bounded by M alone. Block j's dW and db go
 *     into a zeroed partial (the inner kernel accumulates into it), then
 *     dW += partial_0 + partial_1 + ... + partial_{NB-1}, element by element
 *     in block order. The threads take the blocks dynamically, each block's
 *     partial at a place fixed by its number in the workspace slices
 *     (ceil(NB / threads) partials a slice); after one barrier every thread
 *     adds all NB partials, in block order, over its own range of
 *     elements. One thread streams the blocks through a single partial. Any thread count gives the same sums in the
 *     same order. With NB = 1 the inner kernel accumulates straight into dW
 *     (as the simd kernel alone does).
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
} cut;

/* ---- linear_fwd ---- */

static lif_status fwd_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_linear_fwd_args *a = u->a;
    long lo, hi;
    lif_omp_range(a->M, np, i, u->gran, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    lif_linear_fwd_args pa = *a;
    pa.M = (int)(hi - lo);
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
    lif_omp_split sp = lif_omp_split_work(s, ctx->nthreads, linear_units(a->M, a->n_in, a->n_out), MIN_FWD,
                           a->M);
    cut u = {.a = a, .s = s, .ld = a->ldy ? a->ldy : (size_t)a->n_out};
    u.gran = lif_omp_gran((long)u.ld, a->M, sp.parts);
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

static int n_blocks(long M)
{
    long nb = M / LIF_OMP_BLOCK_ROWS;
    return nb < 1 ? 1 : nb > LIF_OMP_MAX_BLOCKS ? LIF_OMP_MAX_BLOCKS : (int)nb;
}

/* Bytes of one partial (dW, then db), a multiple of 64. */
static size_t partial_bytes(int n_in, int n_out)
{
    size_t b = ((size_t)n_out * (size_t)n_in + (size_t)n_out) * sizeof(float);
    return (b + 63) / 64 * 64;
}

/* Each thread holds the partials of its share of the blocks of the largest
 * M (ceil(NB / threads); one when serial, which streams them). */
size_t lif_linear_bwd_w_omp_extra(const lif_problem *p)
{
    int nb = n_blocks((long)p->Tc * p->B), t = p->threads > 1 ? p->threads : 1;
    if (p->n_out >= LIF_OMP_WIDE || nb < 2)
        return 0;
    return (size_t)((nb + t - 1) / t) * partial_bytes(p->n_in, p->n_out);
}

/* wide: outputs [lo, hi) of part i */
static lif_status bwd_w_wide_part(const lif_ctx *c, int i, int np, const void *arg)
{
    const cut *u = arg;
    const lif_linear_bwd_w_args *a = u->a;
    long lo, hi;
    lif_omp_range(a->n_out, np, i, 16, &lo, &hi);
    if (lo >= hi)
        return LIF_OK;
    lif_linear_bwd_w_args pa = *a;
    pa.n_out = (int)(hi - lo);
    pa.dy = a->dy + lo;
    pa.lddy = u->ld;
    pa.dw = a->dw + (size_t)lo * (size_t)a->n_in;
    pa.db = a->db ? a->db + lo : NULL;
    return u->s->k->run.linear_bwd_w(c, &pa);
}

/* Block j of nb: its rows into the zeroed partial p (dW, then db). */
static lif_status block_into(const lif_omp_state *s, const lif_ctx *c,
                             const lif_linear_bwd_w_args *a, size_t lddy, int j, int nb,
                             float *p)
{
    long r0 = (long)a->M * j / nb, r1 = (long)a->M * (j + 1) / nb;
    size_t nw = (size_t)a->n_out * (size_t)a->n_in;
    memset(p, 0, (nw + (a->db ? (size_t)a->n_out : 0)) * sizeof *p);
    lif_linear_bwd_w_args pa = *a;
    pa.M = (int)(r1 - r0);
    pa.dy = a->dy + (size_t)r0 * lddy;
    pa.lddy = lddy;
    pa.x = a->x + (size_t)r0 * a->ldx;
    pa.dw = p;
    pa.db = a->db ? p + nw : NULL;
    return s->k->run.linear_bwd_w(c, &pa);
}

/* dst[e] += src[e] for e in [lo, hi) of the concatenation dW | db. */
static void add_range(const lif_linear_bwd_w_args *a, const float *src, long lo, long hi)
{
    long nw = (long)a->n_out * a->n_in, m = hi < nw ? hi : nw;
    float *dw = a->dw;
    for (long e = lo; e < m; e++)
        dw[e] += src[e];
    for (long e = lo > nw ? lo : nw; e < hi; e++)
        a->db[e - nw] += src[e];
}

/* Partial `slot` of thread tid's slice. */
static float *partial_of(const lif_ctx *ctx, const lif_omp_state *s, size_t pbytes, int tid,
                         int slot)
{
    return (float *)(void *)((char *)lif_ctx_ws(ctx, tid) + s->inner_ws + (size_t)slot * pbytes);
}

lif_status lif_linear_bwd_w_omp(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
{
    const lif_omp_state *s = ctx->state;
    lif_status st = lif_omp_check_ctx(ctx, s, "linear_bwd_w");
    if (st != LIF_OK)
        return st;
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    double units = linear_units(a->M, a->n_in, a->n_out);
    if (s->wide) {
        lif_omp_split sp = lif_omp_split_work(s, ctx->nthreads, units, MIN_BWD_W, (a->n_out + 15) / 16);
        cut u = {.a = a, .s = s, .ld = lddy};
        return lif_omp_run_parts(ctx, s, sp, bwd_w_wide_part, &u, "linear_bwd_w");
    }
    int nb = n_blocks(a->M);
    if (nb == 1) {
        lif_ctx c = lif_omp_inner_ctx(ctx, s, 0);
        return s->k->run.linear_bwd_w(&c, a);
    }
    size_t pbytes = partial_bytes(a->n_in, a->n_out);
    if (!ctx->ws || ctx->ws_stride < s->inner_ws + pbytes)
        return lif_error(LIF_ERR_INVALID_ARG,
                         "linear_bwd_w/openmp: M = %d rows (%d blocks) need %zu bytes of "
                         "workspace a thread, the problem booked %zu (M > its Tc*B?)",
                         a->M, nb, s->inner_ws + pbytes, ctx->ws ? ctx->ws_stride : 0);
    long E = (long)a->n_out * a->n_in + (a->db ? a->n_out : 0);
    int np = lif_omp_parts(s, ctx->nthreads, units, MIN_BWD_W, nb);
    if (np == 1) {
        lif_ctx c = lif_omp_inner_ctx(ctx, s, 0);
        float *p = partial_of(ctx, s, pbytes, 0, 0);
        for (int j = 0; j < nb; j++) {
            if ((st = block_into(s, &c, a, lddy, j, nb, p)) != LIF_OK)
                return st;
            add_range(a, p, 0, E);
        }
        return LIF_OK;
    }
    /* The threads take the blocks dynamically (the next free thread the
     * next block); block j's partial has a place fixed by j: slot j / nt of
     * slice j % nt, over all nt = ctx->nthreads slices (each holds at least
     * ceil(NB / threads) partials of the problem's largest M). After a
     * barrier, every thread adds all of them, in block order, over its own
     * range of elements. (Slices holding fewer partials than a call needs
     * take several passes.) */
    int nt = ctx->nthreads;
    long cap = (long)nt * (long)((ctx->ws_stride - s->inner_ws) / pbytes);
    lif_omp_err e = {.st = LIF_OK};
    int next = 0;
#pragma omp parallel num_threads(np)
    {
        int tid = omp_get_thread_num(), team = omp_get_num_threads();
        lif_ctx c = lif_omp_inner_ctx(ctx, s, tid);
        long lo, hi;
        lif_omp_range(E, team, tid, 16, &lo, &hi);
        for (int base = 0; base < nb; base += (int)cap) {
            int end = nb - base < cap ? nb : base + (int)cap;
            for (;;) {
                int j;
#pragma omp atomic capture
                j = next++;
                if (j >= end)
                    break;
                int q = j - base;
                lif_status r = block_into(s, &c, a, lddy, j, nb,
                                          partial_of(ctx, s, pbytes, q % nt, q / nt));
                if (r != LIF_OK)
                    lif_omp_err_note(&e, j, r);
            }
#pragma omp barrier
            for (int q = 0; q < end - base; q++)
                add_range(a, partial_of(ctx, s, pbytes, q % nt, q / nt), lo, hi);
#pragma omp single
            next = end;
        }
    }
    return lif_omp_err_raise(&e, "linear_bwd_w");
}
