/* The OpenMP backend: every op split over the plan's threads, with the best
 * kernel of the other backends inside each part (SIMD where the CPU has it).
 *
 * Partitions (each thread calls the inner kernel on its part, through the
 * strides of the argument structs; thread i's inner workspace is carved
 * from its own slice lif_ctx_ws(ctx, i)):
 *   encode, lif_fwd, lif_bwd, spike_count   contiguous blocks of samples, one
 *                                           a thread, block i on thread i
 *   linear_fwd                              the same blocks of samples when the
 *                                           inner kernel takes a sample cut
 *                                           (LIF_KERNEL_SAMPLE_CUT: the
 *                                           time-lanes forward), so the spikes
 *                                           the encoder wrote are read on the
 *                                           core that wrote them; else
 *   linear_fwd, linear_bwd_x                contiguous blocks of rows (M = Tc*B)
 *   linear_bwd_w                            contiguous blocks of 16 outputs from
 *                                           64 outputs, else of 64 inputs:
 *                                           each element of dW summed by one
 *                                           thread in the args' `step` order
 *   optim                                   contiguous blocks of 16 parameters
 *   loss                                    one call on the calling thread
 * Every cut is bitwise free (the kernel tests hold each kernel to it):
 * results are bitwise the same for any thread count, and the same as the
 * inner kernel's alone. With one part a thread, part i runs on thread i;
 * with more, the parts are taken dynamically, by whichever
 * thread is free first.
 *
 * A problem too small to pay for a parallel region runs on the calling
 * thread. The minimum work per part of each op is in its file, with the
 * measurement it comes from. LIF_OPENMP_SPLIT=all (read at init) splits
 * every problem that has at least two pieces, whatever its size (the
 * kernel tests use it to run the parallel paths on small shapes; results
 * do not change). With one thread no parallel region is entered at all:
 * the inner kernel runs directly. */
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openmp.h"
#include "lif/topology.h"

#define INNER_LIST "auto,-openmp"

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

lif_problem lif_omp_sub(const lif_problem *p)
{
    lif_problem q = *p;
    q.threads = 1;
    q.bind = LIF_BIND_NONE;
    return q;
}

/* The inner kernel k's workspace for every part shape it will be handed:
 * the whole problem (parts are smaller in B or M), and for linear_bwd_w's
 * output blocks and input blocks each width a block can have (a kernel may
 * need more for a narrower block, as the AVX2 table-driven forward does). */
static size_t inner_ws(const lif_kernel_i *k, const lif_problem *p)
{
    if (!k->workspace)
        return 0;
    lif_problem q = lif_omp_sub(p);
    size_t ws = k->workspace(&q);
    if (p->op == LIF_OP_LINEAR_BWD_W) {
        for (int w = 1; w < p->n_out; w++) {
            q.n_out = w;
            size_t b = k->workspace(&q);
            ws = b > ws ? b : ws;
        }
        q.n_out = p->n_out;
        for (int n = 64; n < p->n_in; n += 64) { /* narrow layers' blocks of inputs */
            q.n_in = n;
            size_t b = k->workspace(&q);
            ws = b > ws ? b : ws;
        }
    }
    return round64(ws);
}

/* Which inner kernel init() will select, without selecting it (that would
 * print dispatch lines twice): the best candidate of the other backends;
 * under LIF_FORCE_KERNEL or the plan's forced kernels, any candidate may be
 * chosen, so the most any of them needs. */
static size_t inner_ws_bound(const lif_problem *p)
{
    lif_problem q = lif_omp_sub(p);
    lif_candidate c[64];
    size_t n = 0;
    if (lif_kernel_candidates(&q, INNER_LIST, c, 64, &n) != LIF_OK || n == 0)
        return 0; /* init() will fail with the reason */
    size_t m = lif_kernel_forcing(p) ? (n < 64 ? n : 64) : 1, ws = 0;
    for (size_t i = 0; i < m; i++) {
        size_t b = inner_ws(c[i].kernel, p);
        ws = b > ws ? b : ws;
    }
    return ws;
}

size_t lif_omp_workspace(const lif_problem *p, lif_omp_extra_fn extra)
{
    return inner_ws_bound(p) + (extra ? extra(p) : 0);
}

/* Pins OpenMP thread i to core i, once per process for up to n threads. */
static void bind_threads(int n)
{
    static atomic_int bound;
    int had = atomic_load(&bound);
    if (n <= had)
        return;
#pragma omp parallel num_threads(n)
    lif_topology_bind_core(omp_get_thread_num());
    while (had < n && !atomic_compare_exchange_weak(&bound, &had, n))
        ;
}

void lif_omp_fini(void *state)
{
    lif_omp_state *s = state;
    if (!s)
        return;
    if (s->st) {
        for (int i = 0; i < s->nstates; i++)
            if (s->k->fini)
                s->k->fini(s->st[i]);
        free(s->st);
    }
    free(s);
}

lif_status lif_omp_init(const lif_problem *p, void **state, lif_omp_extra_fn extra)
{
    *state = NULL;
    char name[96];
    lif_omp_state *s = calloc(1, sizeof *s);
    if (!s)
        return lif_error(LIF_ERR_NOMEM, "openmp: out of memory");
    lif_problem q = lif_omp_sub(p);
    lif_status st = lif_kernel_select(&q, INNER_LIST, &s->k);
    if (st != LIF_OK) {
        free(s);
        return st;
    }
    lif_kernel_name(s->k, name, sizeof name);
    if (strcmp(s->k->backend, "openmp") == 0) {
        free(s);
        return lif_error(LIF_ERR_INTERNAL, "openmp: %s was selected as its own inner kernel",
                         name);
    }
    s->nstates = p->threads > 1 ? p->threads : 1;
    s->inner_ws = inner_ws(s->k, p);
    s->slice = lif_omp_workspace(p, extra);
    s->extra_off = s->slice - (extra ? extra(p) : 0);
    s->wide = p->op == LIF_OP_LINEAR_BWD_W && p->n_out >= LIF_OMP_WIDE;
    const char *split = getenv("LIF_OPENMP_SPLIT");
    s->split_all = split && strcmp(split, "all") == 0;
    if (s->inner_ws + (extra ? extra(p) : 0) > s->slice) {
        size_t need = s->inner_ws, have = s->slice;
        free(s);
        return lif_error(LIF_ERR_INTERNAL,
                         "openmp: %s needs %zu bytes of workspace, more than the %zu booked",
                         name, need, have);
    }
    if (s->k->init) {
        if (!(s->st = calloc((size_t)s->nstates, sizeof *s->st))) {
            free(s);
            return lif_error(LIF_ERR_NOMEM, "openmp: out of memory");
        }
        for (int i = 0; i < s->nstates; i++)
            if ((st = s->k->init(&q, &s->st[i])) != LIF_OK) {
                s->nstates = i; /* fini what was made */
                lif_omp_fini(s);
                return st;
            }
    }
    if (p->bind == LIF_BIND_CORES)
        bind_threads(s->nstates);
    *state = s;
    return LIF_OK;
}

int lif_omp_parts(const lif_omp_state *s, int nthreads, double units, double min_units,
                  long pieces)
{
    long n = nthreads < s->nstates ? nthreads : s->nstates;
    if (pieces < n)
        n = pieces;
    if (!s->split_all && min_units > 0 && units / min_units < (double)n)
        n = (long)(units / min_units);
    return n < 1 ? 1 : (int)n;
}

lif_omp_split lif_omp_split_work(const lif_omp_state *s, int nthreads, double units,
                                 double min_units, long pieces)
{
    lif_omp_split sp = {lif_omp_parts(s, nthreads, units, min_units, pieces), 1};
    if (sp.threads > 1) {
        long n = (long)sp.threads * LIF_OMP_PARTS_PER_THREAD;
        double per = min_units / LIF_OMP_PARTS_PER_THREAD;
        if (!s->split_all && per > 0 && units / per < (double)n)
            n = (long)(units / per);
        n = n < pieces ? n : pieces;
        sp.parts = n > sp.threads ? (int)n : sp.threads;
    }
    return sp;
}

lif_omp_split lif_omp_split_samples(const lif_omp_state *s, int nthreads, double units,
                                    double min_units, int B)
{
    int n = lif_omp_parts(s, nthreads, units, min_units, B);
    lif_omp_split sp = {n, n};
    return sp;
}

static long gcd(long a, long b)
{
    while (b) {
        long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

long lif_omp_gran(long n_floats_per_item, long items, int parts)
{
    long g = 16 / gcd(n_floats_per_item > 0 ? n_floats_per_item : 1, 16);
    return items / g >= parts ? g : 1;
}

lif_status lif_omp_check_ctx(const lif_ctx *ctx, const lif_omp_state *s, const char *op)
{
    if (!s)
        return lif_error(LIF_ERR_INTERNAL, "%s/openmp: called without its init() state", op);
    if (ctx->nthreads < 1)
        return lif_error(LIF_ERR_INTERNAL, "%s/openmp: called with %d threads", op,
                         ctx->nthreads);
    if (s->slice && (!ctx->ws || ctx->ws_stride < s->slice))
        return lif_error(LIF_ERR_INTERNAL,
                         "%s/openmp: workspace slices of %zu bytes, %zu asked for", op,
                         ctx->ws ? ctx->ws_stride : 0, s->slice);
    return LIF_OK;
}

void lif_omp_err_note(lif_omp_err *e, long part, lif_status st)
{
#pragma omp critical(lif_omp_err)
    if (e->st == LIF_OK || part < e->part) {
        e->st = st;
        e->part = part;
        snprintf(e->msg, sizeof e->msg, "%s", lif_last_error());
    }
}

lif_status lif_omp_err_raise(const lif_omp_err *e, const char *op)
{
    if (e->st == LIF_OK)
        return LIF_OK;
    return lif_error(e->st, "%s/openmp, part %ld: %s", op, e->part, e->msg);
}

lif_status lif_omp_run_parts(const lif_ctx *ctx, const lif_omp_state *s, lif_omp_split sp,
                             lif_omp_part_fn fn, const void *arg, const char *op)
{
    if (sp.threads <= 1) {
        lif_ctx c = lif_omp_inner_ctx(ctx, s, 0);
        lif_status st = LIF_OK;
        for (int i = 0; i < sp.parts && st == LIF_OK; i++)
            st = fn(&c, i, sp.parts, arg);
        return st;
    }
    lif_omp_err e = {.st = LIF_OK};
    if (sp.parts == sp.threads) {
        /* one part a thread: part i on thread i (the sample cuts rely on it
         * to keep a part's data on one core from op to op) */
#pragma omp parallel num_threads(sp.threads)
        {
            int tid = omp_get_thread_num(), nt = omp_get_num_threads();
            lif_ctx c = lif_omp_inner_ctx(ctx, s, tid);
            for (int i = tid; i < sp.parts; i += nt) {
                lif_status r = fn(&c, i, sp.parts, arg);
                if (r != LIF_OK)
                    lif_omp_err_note(&e, i, r);
            }
        }
        return lif_omp_err_raise(&e, op);
    }
    int next = 0;
#pragma omp parallel num_threads(sp.threads)
    {
        lif_ctx c = lif_omp_inner_ctx(ctx, s, omp_get_thread_num());
        for (;;) {
            int i;
#pragma omp atomic capture
            i = next++;
            if (i >= sp.parts)
                break;
            lif_status r = fn(&c, i, sp.parts, arg);
            if (r != LIF_OK)
                lif_omp_err_note(&e, i, r);
        }
    }
    return lif_omp_err_raise(&e, op);
}

/* ---- the table ---- */

static lif_status init_plain(const lif_problem *p, void **state)
{
    return lif_omp_init(p, state, NULL);
}

static size_t ws_plain(const lif_problem *p) { return lif_omp_workspace(p, NULL); }

static lif_status init_bwd_w(const lif_problem *p, void **state)
{
    return lif_omp_init(p, state, lif_omp_bwd_w_extra);
}

static size_t ws_bwd_w(const lif_problem *p) { return lif_omp_workspace(p, lif_omp_bwd_w_extra); }

#define K(op_, slot, fn, ws_, init_)                                                      \
    {.abi = LIF_KERNEL_ABI, .op = op_, .backend = "openmp", .variant = "omp",            \
     .flags = LIF_KERNEL_THREADED | (op_ == LIF_OP_LINEAR_BWD_W ? LIF_KERNEL_STEP_ORDER : 0u), \
     .supports = NULL, .run.slot = fn, .workspace = ws_,   \
     .init = init_, .fini = lif_omp_fini}

static const lif_kernel_i kernels[] = {
    K(LIF_OP_ENCODE, encode, lif_encode_omp, ws_plain, init_plain),
    K(LIF_OP_LINEAR_FWD, linear_fwd, lif_linear_fwd_omp, ws_plain, init_plain),
    K(LIF_OP_LIF_FWD, lif_fwd, lif_lif_fwd_omp, ws_plain, init_plain),
    K(LIF_OP_LIF_BWD, lif_bwd, lif_lif_bwd_omp, ws_plain, init_plain),
    K(LIF_OP_LINEAR_BWD_W, linear_bwd_w, lif_linear_bwd_w_omp, ws_bwd_w, init_bwd_w),
    K(LIF_OP_LINEAR_BWD_X, linear_bwd_x, lif_linear_bwd_x_omp, ws_plain, init_plain),
    K(LIF_OP_SPIKE_COUNT, spike_count, lif_spike_count_omp, ws_plain, init_plain),
    K(LIF_OP_LOSS, loss, lif_loss_omp, ws_plain, init_plain),
    K(LIF_OP_OPTIM, optim, lif_optim_omp, ws_plain, init_plain),
};
_Static_assert(sizeof kernels / sizeof kernels[0] == LIF_OP_COUNT,
               "the openmp backend has a kernel for every op");

const lif_backend_i lif_backend_openmp = {
    .abi = LIF_KERNEL_ABI,
    .name = "openmp",
    .description = "every op split over the plan's threads (OpenMP), the best other kernel "
                   "inside; bitwise the same for any thread count",
    .available = NULL,
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};
