/* Execution plans: kernel binding, buffers, and the time loop.
 *
 * Buffers for a batch of B samples, per layer l (n = width); a row is one
 * step of one sample, step-major:
 *   in[l]   spike bits [rows][ld] (in[0] from the encoder, in[l+1] = out of l)
 *   I, H, dI [rows, n] floats;  v, dv [B, n] state carried across chunks.
 * Forward walks chunks of Tc steps first to last; backward walks them last
 * to first, carrying dL/dV between chunks, so the gradients are those of the
 * unchunked BPTT. I, dI and the output spikes live within a chunk (Tc*B
 * rows). What backward
 * reads of other chunks is kept or recomputed (`mode`):
 *   OFF    every step's input spikes, H and hidden spikes kept (T*B rows);
 *   INPUT  H and the hidden spikes kept; the input spikes of a chunk
 *          (the largest buffer: n_in bits a row) are encoded again in
 *          backward from the encoder's counters;
 *   ALL    nothing of other chunks kept but v at each chunk's start (vb) and
 *          the spike counts: backward restores a chunk's v and runs its
 *          forward again. Memory is flat in T.
 * The last chunk is still in the chunk buffers after the forward and is
 * not recomputed. All modes give the same bits for any Tc: every kernel's
 * result on a row is independent of the chunk it is in, and the weight
 * gradient sums its rows in one order whatever the chunks (steps last to
 * first: the `step` of lif_linear_bwd_w_args). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "internal.h"
#include "lif/topology.h"


static int verbose_plan(void)
{
    const char *v = getenv("LIF_VERBOSE");
    return v && (strstr(v, "plan") || strstr(v, "dispatch"));
}

/* LIF_VERBOSE=profile: the wall time of every kernel call, summed per op,
 * and of the plan's passes; printed to stderr when the plan is destroyed
 * (what the passes took beyond their kernels is the plan's own work:
 * memsets, packing, the density count). Off, it costs a branch a call. */
static int verbose_profile(void)
{
    const char *v = getenv("LIF_VERBOSE");
    return v && strstr(v, "profile") != NULL;
}

static double prof_start(const lif_plan *p) { return p->prof ? lif_now() : 0.0; }

static void prof_end(lif_plan *p, lif_op op, double t0)
{
    if (p->prof) {
        p->prof_s[op] += lif_now() - t0;
        p->prof_calls[op]++;
    }
}

static void prof_print(const lif_plan *p)
{
    static const char *pass[3] = {"forward", "backward", "update"};
    double kern = 0, all = 0; /* calls: op calls (a kernel without STEP_ORDER is called
                                 once per step inside one linear_bwd_w call) */
    for (int op = 0; op < LIF_OP_COUNT; op++)
        kern += p->prof_s[op];
    for (int i = 0; i < 3; i++)
        all += p->prof_pass_s[i];
    if (all <= 0)
        return; /* no pass ran (a plan made and destroyed unused) */
    fprintf(stderr, "lif_profile,what,calls,seconds,share of the passes (backend %s, threads %d, "
            "Tc %d, batch %d)\n", p->opts.backend, p->opts.threads, p->Tc, p->B);
    for (int op = 0; op < LIF_OP_COUNT; op++)
        if (p->prof_calls[op])
            fprintf(stderr, "lif_profile,%s,%ld,%.6f,%.1f%%\n", lif_op_name((lif_op)op),
                    p->prof_calls[op], p->prof_s[op], all > 0 ? 100 * p->prof_s[op] / all : 0);
    fprintf(stderr, "lif_profile,outside kernels,,%.6f,%.1f%%\n", all - kern,
            all > 0 ? 100 * (all - kern) / all : 0);
    for (int i = 0; i < 3; i++)
        fprintf(stderr, "lif_profile,pass %s,,%.6f,\n", pass[i], p->prof_pass_s[i]);
}

static lif_problem problem(const lif_plan *p, lif_op op, int l)
{
    const lif_net *net = p->net;
    lif_problem q = {0};
    q.op = op;
    q.T = p->T;
    q.Tc = p->Tc;
    q.B = p->B;
    q.n_in = net->dims[l];
    q.n_out = net->dims[l + 1];
    q.has_bias = net->r.bias;
    q.density = p->density[l];
    q.nrn = &net->r.neuron;
    q.opt = net->r.opt;
    q.loss = net->r.loss;
    q.threads = p->opts.threads;
    q.bind = p->opts.bind;
    if (op == LIF_OP_LINEAR_FWD || op == LIF_OP_LINEAR_BWD_W || op == LIF_OP_LINEAR_BWD_X)
        q.amp = p->opts.amp;
    q.force = p->opts.kernels[0] ? p->opts.kernels : NULL; /* wisdom's choice, by name */
    q.force_from = p->opts.kernels_from[0] ? p->opts.kernels_from : NULL;
    return q;
}

/* The slot an op of layer l is bound in: per-layer ops in l; the per-net
 * ops in the one layer they serve (the encoder feeds layer 0, the readout
 * reads the last). */
static int net_slot(const lif_plan *p, lif_op op, int l)
{
    if (op == LIF_OP_ENCODE)
        return 0;
    if (op == LIF_OP_SPIKE_COUNT || op == LIF_OP_LOSS)
        return p->L - 1;
    return l;
}

/* Releases what the kernel bound in (op, l) holds: its init() state (via
 * fini) and its workspace; the slot is then unbound. */
static void unbind(lif_plan *p, lif_op op, int l)
{
    const lif_kernel_i *k = p->k[op][l];
    if (k && k->fini)
        k->fini(p->ctx[op][l].state);
    lif_free(p->ws[op][l]);
    p->ws[op][l] = NULL;
    p->ctx[op][l] = (lif_ctx){0};
    p->k[op][l] = NULL;
    p->kname[op][l][0] = '\0';
}

/* Binds op of layer l to its kernel and gives it its context: a workspace
 * slice per thread (64-byte multiples apart), the thread count (the plan's
 * for a threaded kernel, else 1) and the state of the kernel's init(). On
 * failure the slot keeps what was bound before (if anything). */
/* Binds op of layer l to its kernel (workspace, init state); *rebound (if
 * not NULL) is set when the slot was bound anew, cleared when it was kept. */
static lif_status bind(lif_plan *p, lif_op op, int l, int *rebound)
{
    int dummy;
    if (!rebound)
        rebound = &dummy;
    *rebound = 0;
    const lif_kernel_i *k;
    lif_problem q = problem(p, op, l);
    lif_status st = lif_kernel_select(&q, p->opts.backend, &k);
    if (st != LIF_OK)
        return st;
    int nthreads = (k->flags & LIF_KERNEL_THREADED) && q.threads > 1 ? q.threads : 1;
    size_t bytes = k->workspace ? k->workspace(&q) : 0;
    size_t stride = bytes / 64 * 64 + (bytes % 64 ? 64 : 0);
    /* the same kernel again (the densities measured): keep its binding,
     * unless its state or workspace was made for the old problem */
    if (k == p->k[op][l] && !k->init && stride == p->ctx[op][l].ws_stride)
        return LIF_OK;
    char name[sizeof p->kname[op][l]];
    lif_kernel_name(k, name, sizeof name);
    lif_ctx c = {.nthreads = nthreads};
    if (stride) {
        if (stride > SIZE_MAX / (size_t)nthreads || !(c.ws = lif_alloc(stride * (size_t)nthreads)))
            return lif_error(LIF_ERR_NOMEM, "plan: out of memory for the workspace of %s", name);
        c.ws_stride = stride;
    }
    if (k->init && (st = k->init(&q, &c.state)) != LIF_OK) {
        lif_free(c.ws);
        return st;
    }
    unbind(p, op, l);
    p->ws[op][l] = c.ws;
    p->ctx[op][l] = c;
    p->k[op][l] = k;
    memcpy(p->kname[op][l], name, sizeof name);
    *rebound = 1;
    return LIF_OK;
}

/* Measures each layer's input spike density over the whole last forward
 * pass (all T steps, counted chunk by chunk, so the figure does not depend
 * on Tc) and binds the linear kernels again for it: dense or event-driven,
 * from what the data really fire. Sets *changed when a kernel changed (or,
 * having state, was initialised again). */
static lif_status measure_density(lif_plan *p, int *changed)
{
    size_t rows = (size_t)p->T * p->Bcur;
    *changed = 0;
    for (int l = 0; l < p->L; l++) {
        double d = (double)p->ones[l] / ((double)rows * p->net->dims[l]);
        p->density[l] = d > 1e-6 ? (float)d : 1e-6f;  /* nonzero: measured */
        /* bound anew: another kernel, or one with state made again for the
         * measured density (a composing kernel may choose another inner one) */
        int fwd, bwd;
        lif_status st = bind(p, LIF_OP_LINEAR_FWD, l, &fwd);
        if (st == LIF_OK)
            st = bind(p, LIF_OP_LINEAR_BWD_W, l, &bwd);
        if (st != LIF_OK)
            return st;
        *changed |= fwd || bwd;
    }
    return LIF_OK;
}

/* Adds the set bits among the first n of rows [rows][ld] to *ones. */
static void count_ones(const uint64_t *bits, size_t rows, size_t ld, int n, uint64_t *ones)
{
    uint64_t c = 0;
    for (size_t r = 0; r < rows; r++)
        for (int w = 0; w < (n + 63) / 64; w++) {
            uint64_t b = bits[r * ld + (size_t)w];
            if ((w + 1) * 64 > n)
                b &= ~0ull >> ((w + 1) * 64 - n);
            c += (uint64_t)__builtin_popcountll(b);
        }
    *ones += c;
}

/* a * b, or SIZE_MAX on overflow. */
static size_t mul_sat(size_t a, size_t b)
{
    return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* lif_alloc's size for n bytes. */
static size_t alloc_size(size_t n) { return n > SIZE_MAX - 64 ? SIZE_MAX : (n + 63) / 64 * 64; }

/* Bytes of the buffers lif_plan_create allocates for chunks of Tc steps in
 * `mode` (SIZE_MAX on overflow), the plan itself included. Kernel
 * workspaces come on top (workspace_bytes). */
static size_t plan_bytes(const lif_net *net, int B, int T, int Tc, int mode)
{
    size_t all = mul_sat((size_t)T, (size_t)B), chunk = mul_sat((size_t)Tc, (size_t)B);
    size_t rows0 = mode == LIF_RECOMPUTE_OFF ? all : chunk;
    size_t keep = mode == LIF_RECOMPUTE_ALL ? chunk : all;
    size_t chunks = ((size_t)T + (size_t)Tc - 1) / (size_t)Tc, total = 0, widest = 0;
    total = add_sat(total, alloc_size(mul_sat(rows0, lif_bits_ld(net->dims[0]) * sizeof(uint64_t))));
    for (int l = 1; l <= net->n_layers; l++) /* the output spikes: one chunk */
        total = add_sat(total, alloc_size(mul_sat(l < net->n_layers ? keep : chunk,
                                                  lif_bits_ld(net->dims[l]) * sizeof(uint64_t))));
    for (int l = 0; l < net->n_layers; l++) {
        size_t n = (size_t)net->dims[l + 1];
        widest = n > widest ? n : widest;
        total = add_sat(total, alloc_size(mul_sat(mul_sat(keep, n), sizeof(float))));  /* H */
        total = add_sat(total, mul_sat(alloc_size(mul_sat(mul_sat(chunk, n), sizeof(float))),
                                       2));                                              /* I, dI */
        total = add_sat(total, 2 * alloc_size((size_t)B * n * sizeof(float)));          /* v, dv */
        total = add_sat(total, alloc_size(mul_sat(n * (size_t)net->dims[l], sizeof(float))));
        total = add_sat(total, alloc_size(n * sizeof(float)));
        if (mode == LIF_RECOMPUTE_ALL)
            total = add_sat(total, alloc_size(mul_sat(mul_sat(chunks * (size_t)B, n), sizeof(float))));
    }
    total = add_sat(total, alloc_size(mul_sat(mul_sat(chunk, widest), sizeof(float))));
    total = add_sat(total, 3 * alloc_size((size_t)B * net->n_classes * sizeof(float)));
    return add_sat(total, sizeof(lif_plan));
}

/* Bytes of the workspaces the kernels of a plan may bind: for each op, the
 * larger of the kernels chosen for sparse and for dense input (the linear
 * kernels are bound again once the first batch's density is measured). */
static size_t workspace_bytes(lif_plan *p)
{
    size_t total = 0;
    for (int op = 0; op < LIF_OP_COUNT; op++)
        for (int l = 0; l < p->L; l++) {
            if (net_slot(p, (lif_op)op, l) != l)
                continue;
            size_t most = 0;
            for (int d = 0; d < 2; d++) {
                p->density[l] = d ? 1.0f : 1e-6f;
                const lif_kernel_i *k;
                lif_problem q = problem(p, (lif_op)op, l);
                if (lif_kernel_select_quiet(&q, p->opts.backend, &k) != LIF_OK || !k->workspace)
                    continue;
                size_t nthreads = (k->flags & LIF_KERNEL_THREADED) && q.threads > 1 ? (size_t)q.threads : 1;
                size_t b = mul_sat(alloc_size(k->workspace(&q)), nthreads);
                most = b > most ? b : most;
            }
            p->density[l] = 0.0f;
            total = add_sat(total, most);
        }
    return total;
}

static lif_status choose_chunks(const lif_net *net, int B, const lif_plan_opts *o, int *Tc_out,
                                int *mode_out);

/* The memory this process may use: physical memory, or less under an
 * address-space limit (ulimit -v). 0 if unknown. */
size_t lif_usable_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    size_t phys = pages > 0 && size > 0 ? mul_sat((size_t)pages, (size_t)size) : 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (phys == 0 || (size_t)rl.rlim_cur < phys))
        phys = (size_t)rl.rlim_cur;
    return phys;
}

static double gib(size_t b) { return b == SIZE_MAX ? INFINITY : b / 1073741824.0; }

lif_status lif_memory_estimate(const lif_recipe *r, int n_in, int n_classes, int B,
                               const lif_plan_opts *opts, lif_memory *out)
{
    lif_plan_opts dflt;
    lif_status st;
    if (!r || !out)
        return lif_error(LIF_ERR_INVALID_ARG, "memory estimate: no recipe or output");
    if (!opts) {
        lif_plan_opts_default(&dflt);
        opts = &dflt;
    }
    if ((st = lif_recipe_validate(r)) != LIF_OK || (st = lif_plan_opts_check(opts, NULL)) != LIF_OK)
        return st;
    if (n_in < 1 || n_classes < 2 || B < 1)
        return lif_error(LIF_ERR_INVALID_ARG, "memory estimate: need n_in >= 1, n_classes >= 2 "
                         "and batch >= 1, got %d, %d and %d", n_in, n_classes, B);
    lif_net shape;
    lif_net_shape(&shape, r, n_in, n_classes);
    lif_plan *p = calloc(1, sizeof *p);
    if (!p)
        return lif_error(LIF_ERR_NOMEM, "memory estimate: out of memory");
    p->net = &shape;
    p->opts = *opts;
    p->B = B;
    p->T = r->T;
    if (opts->Tc > r->T) {
        free(p);
        return lif_error(LIF_ERR_INVALID_ARG, "Tc must be 0 or in 1..T (T = %d), got %d", r->T,
                         opts->Tc);
    }
    if ((st = choose_chunks(&shape, B, opts, &p->Tc, &p->mode)) != LIF_OK) {
        free(p);
        return st;
    }
    p->opts.Tc = p->Tc;
    if (p->opts.threads == 0)
        p->opts.threads = lif_topology_default_threads();
    p->L = shape.n_layers;
    memset(out, 0, sizeof *out);
    out->params = lif_net_param_bytes(&shape);
    out->buffers = plan_bytes(&shape, B, p->T, p->Tc, p->mode);
    out->workspaces = workspace_bytes(p);
    out->total = add_sat(add_sat(out->params, out->buffers), out->workspaces);
    out->available = lif_usable_memory();
    free(p);
    return LIF_OK;
}

lif_status lif_memory_check(const lif_recipe *r, int n_in, int n_classes, int B,
                            const lif_plan_opts *opts)
{
    lif_memory m;
    lif_status st = lif_memory_estimate(r, n_in, n_classes, B, opts, &m);
    if (st != LIF_OK)
        return st;
    if (m.total != SIZE_MAX && (!m.available || m.total <= m.available / 10 * 9))
        return LIF_OK;
    char layers[128] = "";
    size_t len = 0;
    len += (size_t)snprintf(layers, sizeof layers, "%d", n_in);
    for (int i = 0; i < r->n_hidden && len < sizeof layers; i++)
        len += (size_t)snprintf(layers + len, sizeof layers - len, "-%d", r->hidden[i]);
    if (len < sizeof layers)
        snprintf(layers + len, sizeof layers - len, "-%d", n_classes);
    return lif_error(LIF_ERR_INVALID_ARG,
                     "memory: a run of layers %s, T %d, batch %d needs %.1f GiB (parameters and "
                     "optimizer state %.1f GiB, buffers %.1f GiB, kernel workspaces %.1f GiB), "
                     "more than 90 %% of the %.1f GiB available (physical memory, or ulimit "
                     "-v); lower T, the batch or the hidden layers", layers, r->T, B, gib(m.total), gib(m.params),
                     gib(m.buffers), gib(m.workspaces), gib(m.available));
}

/* The chunk length that keeps one chunk's rows (spike bits and the three
 * float buffers of every layer) within the largest per-core cache hwloc
 * reports below the last level (L2 here), rounded up to a multiple of 16
 * steps, at least 16 (or T):
 * long enough that the kernels run on hundreds of rows a call. */
static int cache_tc(const lif_net *net, int B, int T)
{
    const lif_topology *topo;
    lif_topology_get(&topo);
    size_t cache = 0;
    for (int i = 0; i < topo->n_caches; i++)
        if (topo->caches[i].level == 2)
            cache = topo->caches[i].size;
    if (!cache)
        cache = 512u << 10;
    size_t step = 0;
    for (int l = 0; l <= net->n_layers; l++)
        step += lif_bits_ld(net->dims[l]) * sizeof(uint64_t);
    for (int l = 0; l < net->n_layers; l++)
        step += 3 * sizeof(float) * (size_t)net->dims[l + 1];
    step *= (size_t)B;
    size_t tc = cache / (step ? step : 1);
    /* whole 16-step blocks, rounded up: the encoders draw 8 steps per Philox
     * call and the time-lanes forward adds 16 at a time (a chunk of 26 drew
     * 32 steps' worth, 23 % for nothing). Measured at the reference shape
     * (AMD Zen 5 guest, L2 1 MiB, lif train on Fashion-MNIST): chunks of 32
     * / 48 / 64 / 100 steps trained at 37.8k / 38.3k / 39.3k / 39.6k
     * images/s on one thread and 43.4k / 47.4k / 49.1k / 50.1k on two: a
     * chunk streams through L2 well enough, and every chunk costs each
     * kernel call (and each parallel region) once more. */
    tc = (tc + 15) / 16 * 16;
    if (tc < 16)
        tc = 16;
    /* Where the cache's chunk is most of T, one chunk of T: a short second
     * chunk only adds every kernel call (and the encoder's setup) once
     * more. At the reference shape (L2 1 MiB gives 64 of T 100), lif bench
     * on Fashion-MNIST with --tc 100 against 64 (AMD Zen 5 guest,
     * 2026-12-03): training the same on one thread, 1-2 % faster on two;
     * inference 3-5 % faster on one thread, 7 % on two. */
    if (10 * tc >= 6 * (size_t)T)
        return T;
    return tc > (size_t)T ? T : (int)tc;
}

static void fmt_bytes(char *buf, size_t n, double b)
{
    if (b >= 1073741824.0)
        snprintf(buf, n, "%.2f GiB", b / 1073741824.0);
    else if (b >= 1048576.0)
        snprintf(buf, n, "%.1f MiB", b / 1048576.0);
    else
        snprintf(buf, n, "%.0f KiB", b / 1024.0);
}

static const char *mode_name(int mode)
{
    return mode == LIF_RECOMPUTE_OFF     ? "every step stored"
           : mode == LIF_RECOMPUTE_INPUT ? "input spikes recomputed"
                                         : "chunks recomputed";
}

/* Chooses Tc and the mode from the options (see lif_plan_opts): the budget
 * (given, or LIF_PLAN_STORE_MAX for auto) and the cache. */
static lif_status choose_chunks(const lif_net *net, int B, const lif_plan_opts *o, int *Tc_out,
                                int *mode_out)
{
    int T = net->r.T;
    size_t budget = o->memory_budget > 0 ? (size_t)o->memory_budget : 0;
    size_t cap = budget ? budget : (size_t)LIF_PLAN_STORE_MAX;
    int tc = o->Tc > 0 ? (o->Tc < T ? o->Tc : T) : cache_tc(net, B, T);
    int mode = o->recompute;
    if (mode == LIF_RECOMPUTE_AUTO) {
        mode = LIF_RECOMPUTE_ALL;
        if (plan_bytes(net, B, T, tc, LIF_RECOMPUTE_OFF) <= cap)
            mode = LIF_RECOMPUTE_OFF;
        else if (plan_bytes(net, B, T, tc, LIF_RECOMPUTE_INPUT) <= cap)
            mode = LIF_RECOMPUTE_INPUT;
    }
    if (budget && plan_bytes(net, B, T, tc, mode) > budget) {
        if (mode != LIF_RECOMPUTE_ALL || o->Tc > 0) {
            char need[32], have[32];
            fmt_bytes(need, sizeof need, (double)plan_bytes(net, B, T, tc, mode));
            fmt_bytes(have, sizeof have, (double)budget);
            return lif_error(LIF_ERR_INVALID_ARG,
                             "memory_budget of %s is too small: T %d x batch %d in chunks of %d "
                             "steps, %s, needs %s%s", have, T, B, tc, mode_name(mode), need,
                             mode != LIF_RECOMPUTE_ALL ? " (recompute all would need less)"
                                                       : " (a smaller Tc needs less)");
        }
        /* recompute all, Tc auto: the largest Tc that fits */
        int best = 0, least_tc = 1;
        size_t least = SIZE_MAX;
        for (int t = tc; t >= 1; t--) {
            size_t b = plan_bytes(net, B, T, t, LIF_RECOMPUTE_ALL);
            if (b < least)
                least = b, least_tc = t;
            if (b <= budget) {
                best = t;
                break;
            }
        }
        if (!best) {
            char need[32], have[32];
            fmt_bytes(need, sizeof need, (double)least);
            fmt_bytes(have, sizeof have, (double)budget);
            return lif_error(LIF_ERR_INVALID_ARG,
                             "memory_budget of %s is too small: T %d x batch %d needs at least %s "
                             "(recomputing chunks of %d steps); raise the budget or lower the batch",
                             have, T, B, need, least_tc);
        }
        tc = best;
    }
    *Tc_out = tc;
    *mode_out = mode;
    return LIF_OK;
}

lif_status lif_plan_create(lif_net *net, int B, const lif_plan_opts *opts, lif_plan **out)
{
    const lif_recipe *r = &net->r;
    lif_plan_opts dflt;
    lif_status st;
    if (!opts) {
        lif_plan_opts_default(&dflt);
        opts = &dflt;
    }
    if (B < 1 || B > 0x10000)
        return lif_error(LIF_ERR_INVALID_ARG, "plan: batch %d out of range 1..65536", B);
    if ((st = lif_plan_opts_check(opts, NULL)) != LIF_OK)
        return st;
    if (opts->Tc > r->T)
        return lif_error(LIF_ERR_INVALID_ARG, "Tc must be 0 or in 1..T (T = %d), got %d", r->T,
                         opts->Tc);
    lif_plan *p = calloc(1, sizeof *p);
    if (!p)
        return lif_error(LIF_ERR_NOMEM, "plan: out of memory");
    p->net = net;
    p->opts = *opts;
    p->B = B;
    p->T = r->T;
    if ((st = choose_chunks(net, B, opts, &p->Tc, &p->mode)) != LIF_OK)
        goto fail;
    p->opts.Tc = p->Tc;
    p->nchunks = (p->T + p->Tc - 1) / p->Tc;
    p->resident = p->in0_chunk = -1;
    p->prof = verbose_profile();
    if (p->opts.threads == 0)  /* auto: OMP_NUM_THREADS, else the physical cores */
        p->opts.threads = lif_topology_default_threads();
    p->L = net->n_layers;
    /* Kernels take M = Tc*B rows as an int. */
    if ((size_t)p->Tc * B > INT_MAX / 2) {
        st = lif_error(LIF_ERR_INVALID_ARG,
                       "plan: a chunk of %d steps x batch %d = %zu rows is too many; lower Tc or the batch",
                       p->Tc, B, (size_t)p->Tc * B);
        goto fail;
    }
    /* The whole run (the net, these buffers, the kernels' workspaces) must
     * fit in this machine's memory: refuse with the figures rather than be
     * killed while touching the pages. */
    if ((st = lif_memory_check(r, net->n_in, net->n_classes, B, opts)) != LIF_OK)
        goto fail;
    for (int op = 0; op < LIF_OP_COUNT; op++)
        for (int l = 0; l < p->L; l++)
            if (net_slot(p, (lif_op)op, l) == l && (st = bind(p, (lif_op)op, l, NULL)) != LIF_OK)
                goto fail;
    size_t all = (size_t)p->T * B, chunk = (size_t)p->Tc * B;
    size_t keep = p->mode == LIF_RECOMPUTE_ALL ? chunk : all;
    int widest = 0;
    for (int l = 0; l <= p->L; l++) {
        size_t rows = l == p->L ? chunk : l ? keep : p->mode == LIF_RECOMPUTE_OFF ? all : chunk;
        p->ld[l] = lif_bits_ld(net->dims[l]);
        p->in[l] = lif_alloc(rows * p->ld[l] * sizeof(uint64_t));
        if (!p->in[l])
            goto nomem;
    }
    for (int l = 0; l < p->L; l++) {
        size_t n = (size_t)net->dims[l + 1];
        if ((int)n > widest)
            widest = (int)n;
        p->I[l] = lif_alloc(chunk * n * sizeof(float));
        p->H[l] = lif_alloc(keep * n * sizeof(float));
        p->dI[l] = lif_alloc(chunk * n * sizeof(float));
        p->v[l] = lif_alloc((size_t)B * n * sizeof(float));
        p->dv[l] = lif_alloc((size_t)B * n * sizeof(float));
        p->gw[l] = lif_alloc(n * net->dims[l] * sizeof(float));
        p->gb[l] = lif_alloc(n * sizeof(float));
        if (!p->I[l] || !p->H[l] || !p->dI[l] || !p->v[l] || !p->dv[l] || !p->gw[l] ||
            !p->gb[l])
            goto nomem;
        if (p->mode == LIF_RECOMPUTE_ALL &&
            !(p->vb[l] = lif_alloc((size_t)p->nchunks * B * n * sizeof(float))))
            goto nomem;
    }
    size_t nc = (size_t)B * net->n_classes;
    p->dS = lif_alloc((size_t)p->Tc * B * widest * sizeof(float));
    p->count = lif_alloc(nc * sizeof(float));
    p->rate = lif_alloc(nc * sizeof(float));
    p->ds_out = lif_alloc(nc * sizeof(float));
    if (!p->dS || !p->count || !p->rate || !p->ds_out)
        goto nomem;
    p->need = plan_bytes(net, B, p->T, p->Tc, p->mode);
    for (int op = 0; op < LIF_OP_COUNT; op++)
        for (int l = 0; l < p->L; l++)
            if (p->ws[op][l])
                p->need = add_sat(p->need, (size_t)p->ctx[op][l].ws_stride *
                                               (size_t)p->ctx[op][l].nthreads);
    if (verbose_plan()) {
        char b[32];
        fmt_bytes(b, sizeof b, (double)p->need);
        fprintf(stderr, "lif_plan,T=%d,B=%d,Tc=%d,chunks=%d,%s,%s\n", p->T, B, p->Tc,
                p->nchunks, mode_name(p->mode), b);
    }
    *out = p;
    return LIF_OK;
nomem:
    st = lif_error(LIF_ERR_NOMEM, "plan: out of memory for buffers (T %d, batch %d)", p->T, B);
fail:
    lif_plan_destroy(p);
    return st;
}

void lif_plan_destroy(lif_plan *p)
{
    if (p && p->prof)
        prof_print(p);
    if (!p)
        return;
    for (int l = 0; l <= N_SLOTS; l++)
        lif_free(p->in[l]);
    for (int l = 0; l < N_SLOTS; l++) {
        lif_free(p->vb[l]);
        lif_free(p->I[l]);
        lif_free(p->H[l]);
        lif_free(p->dI[l]);
        lif_free(p->v[l]);
        lif_free(p->dv[l]);
        lif_free(p->gw[l]);
        lif_free(p->gb[l]);
    }
    for (int op = 0; op < LIF_OP_COUNT; op++)
        for (int l = 0; l < N_SLOTS; l++)
            unbind(p, (lif_op)op, l);
    lif_free(p->dS);
    lif_free(p->count);
    lif_free(p->rate);
    lif_free(p->ds_out);
    free(p);
}

const lif_plan_opts *lif_plan_options(const lif_plan *p) { return &p->opts; }

const char *lif_plan_kernel(const lif_plan *p, lif_op op, int layer)
{
    if ((unsigned)op >= LIF_OP_COUNT || layer < 0 || layer >= p->L)
        return "";
    return p->kname[op][net_slot(p, op, layer)];
}

/* Packs [rows, n] 0/1 floats into spike bits. */
static void pack_spikes(const float *x, size_t rows, int n, uint64_t *bits, size_t ld)
{
    memset(bits, 0, rows * ld * sizeof *bits);
    for (size_t r = 0; r < rows; r++)
        for (int i = 0; i < n; i++)
            if (x[r * n + i] != 0.0f)
                bits[r * ld + i / 64] |= 1ull << (i % 64);
}

/* Row offsets in the buffers of the chunk starting at row row0: of in[0],
 * and of H and in[1..L]. (I and dI always start at 0.) */
static size_t off_in0(const lif_plan *p, size_t row0)
{
    return p->mode == LIF_RECOMPUTE_OFF ? row0 : 0;
}

static size_t off_keep(const lif_plan *p, size_t row0)
{
    return p->mode == LIF_RECOMPUTE_ALL ? 0 : row0;
}

/* The input spikes of chunk c into in[0]: encoded, or packed from the
 * batch's. */
static lif_status chunk_input(lif_plan *p, int c)
{
    const lif_net *net = p->net;
    const lif_batch *bt = &p->bt;
    int B = p->Bcur, t0 = c * p->Tc;
    int Tc = p->T - t0 < p->Tc ? p->T - t0 : p->Tc;
    size_t row0 = (size_t)t0 * B, o0 = off_in0(p, row0);
    p->in0_chunk = -1;
    if (bt->spikes) {
        pack_spikes(bt->spikes + row0 * (size_t)net->dims[0], (size_t)Tc * B, net->dims[0],
                    p->in[0] + o0 * p->ld[0], p->ld[0]);
    } else {
        lif_encode_args e = {
            .pixels = bt->pixels, .ids = bt->ids, .B = B, .n_in = net->dims[0],
            .t0 = t0, .Tc = Tc, .key = {net->r.seed, bt->epoch}, .domain = bt->domain,
            .dst = p->in[0] + o0 * p->ld[0], .ld = p->ld[0], .dst_tstride = 0};
        double t0 = prof_start(p);
        lif_status st = p->k[LIF_OP_ENCODE][0]->run.encode(&p->ctx[LIF_OP_ENCODE][0], &e);
        prof_end(p, LIF_OP_ENCODE, t0);
        if (st != LIF_OK)
            return st;
    }
    p->in0_chunk = c;
    return LIF_OK;
}

/* The forward of chunk c over every layer, from the state in p->v: input
 * spikes, then each layer's linear and LIF steps, into the chunk's rows of
 * the buffers. */
static lif_status chunk_forward(lif_plan *p, int c)
{
    const lif_net *net = p->net;
    int B = p->Bcur, L = p->L, t0 = c * p->Tc;
    int Tc = p->T - t0 < p->Tc ? p->T - t0 : p->Tc;
    size_t row0 = (size_t)t0 * B, o0 = off_in0(p, row0), ok = off_keep(p, row0);
    lif_status st;
    p->resident = -1;
    if ((st = chunk_input(p, c)) != LIF_OK)
        return st;
    for (int l = 0; l < L; l++) {
        int n = net->dims[l + 1];
        size_t ox = l ? ok : o0;
        lif_linear_fwd_args lin = {
            .M = Tc * B, .n_in = net->dims[l], .n_out = n,
            .x = p->in[l] + ox * p->ld[l], .ldx = p->ld[l],
            .w = net->w[l], .b = net->b[l], .y = p->I[l], .ldy = 0, .step = B};
        double t0 = prof_start(p);
        st = p->k[LIF_OP_LINEAR_FWD][l]->run.linear_fwd(&p->ctx[LIF_OP_LINEAR_FWD][l], &lin);
        prof_end(p, LIF_OP_LINEAR_FWD, t0);
        if (st != LIF_OK)
            return st;
        lif_lif_fwd_args nf = {
            .nrn = &net->r.neuron, .Tc = Tc, .B = B, .n = n,
            .x = p->I[l], .v = p->v[l], .h = p->H[l] + ok * n,
            .s = p->in[l + 1] + (l + 1 < L ? ok : 0) * p->ld[l + 1], .lds = p->ld[l + 1],
            .tstride = 0, .s_tstride = 0};
        t0 = prof_start(p);
        st = p->k[LIF_OP_LIF_FWD][l]->run.lif_fwd(&p->ctx[LIF_OP_LIF_FWD][l], &nf);
        prof_end(p, LIF_OP_LIF_FWD, t0);
        if (st != LIF_OK)
            return st;
    }
    p->resident = c;
    return LIF_OK;
}

/* Makes what backward (or the trace) reads of chunk c present: with ALL,
 * its v restored from vb and its forward run again; with INPUT, its input
 * spikes encoded again; unless the buffers hold them already. */
static lif_status chunk_restore(lif_plan *p, int c, int need_input)
{
    if (p->mode == LIF_RECOMPUTE_OFF)
        return LIF_OK;
    if (p->mode == LIF_RECOMPUTE_INPUT)
        return !need_input || p->in0_chunk == c ? LIF_OK : chunk_input(p, c);
    if (p->resident == c)
        return LIF_OK;
    for (int l = 0; l < p->L; l++) {
        size_t bn = (size_t)p->Bcur * p->net->dims[l + 1];
        memcpy(p->v[l], p->vb[l] + (size_t)c * bn, bn * sizeof(float));
    }
    return chunk_forward(p, c);
}

static lif_status forward_pass(lif_plan *p, const lif_batch *bt, lif_result *res)
{
    const lif_net *net = p->net;
    int B = bt->B, T = p->T, L = p->L;
    if (B < 1 || B > p->B)
        return lif_error(LIF_ERR_INVALID_ARG, "forward: batch of %d, plan holds 1..%d", B, p->B);
    for (int b = 0; b < B; b++) {
        if (bt->labels[b] >= net->n_classes)
            return lif_error(LIF_ERR_INVALID_ARG, "forward: label %d of sample %d >= %d classes",
                             bt->labels[b], b, net->n_classes);
        p->labels[b] = bt->labels[b];
    }
    p->Bcur = B;
    p->bt = *bt;
    p->resident = p->in0_chunk = -1;
    lif_status st;
    for (int l = 0; l < L; l++) {
        memset(p->v[l], 0, (size_t)B * net->dims[l + 1] * sizeof(float));
        p->ones[l] = 0;
    }
    memset(p->count, 0, (size_t)B * net->n_classes * sizeof(float));

    for (int c = 0; c < p->nchunks; c++) {
        int t0 = c * p->Tc;
        int Tc = T - t0 < p->Tc ? T - t0 : p->Tc;
        size_t row0 = (size_t)t0 * B, ok = off_keep(p, row0);
        if (p->mode == LIF_RECOMPUTE_ALL)
            for (int l = 0; l < L; l++) {
                size_t bn = (size_t)B * net->dims[l + 1];
                memcpy(p->vb[l] + (size_t)c * bn, p->v[l], bn * sizeof(float));
            }
        if ((st = chunk_forward(p, c)) != LIF_OK)
            return st;
        if (!p->measured)
            for (int l = 0; l < L; l++) {
                size_t ox = l ? ok : off_in0(p, row0);
                count_ones(p->in[l] + ox * p->ld[l], (size_t)Tc * B, p->ld[l], net->dims[l],
                           &p->ones[l]);
            }
        lif_spike_count_args sc = {
            .Tc = Tc, .B = B, .n = net->n_classes,
            .s = p->in[L], .lds = p->ld[L], .count = p->count,
            .s_tstride = 0};
        double ts = prof_start(p);
        st = p->k[LIF_OP_SPIKE_COUNT][L - 1]->run.spike_count(&p->ctx[LIF_OP_SPIKE_COUNT][L - 1],
                                                              &sc);
        prof_end(p, LIF_OP_SPIKE_COUNT, ts);
        if (st != LIF_OK)
            return st;
    }
    double loss = 0.0;
    int correct = 0;
    lif_loss_args la = {
        .kind = net->r.loss, .T = T, .B = B, .n = net->n_classes, .count = p->count,
        .labels = p->labels, .rate = p->rate, .ds = p->ds_out, .loss = &loss,
        .correct = &correct};
    double t0 = prof_start(p);
    st = p->k[LIF_OP_LOSS][L - 1]->run.loss(&p->ctx[LIF_OP_LOSS][L - 1], &la);
    prof_end(p, LIF_OP_LOSS, t0);
    if (st != LIF_OK)
        return st;
    res->loss = loss;
    res->correct = correct;
    return LIF_OK;
}

/* The first forward pass of a plan measures the spike densities; when that
 * changes a kernel, the pass runs again with the kernels every later batch
 * uses, so results never depend on which kernels ran before measuring. */
static lif_status forward_measured(lif_plan *p, const lif_batch *bt, lif_result *res)
{
    lif_status st = forward_pass(p, bt, res);
    if (st != LIF_OK || p->measured)
        return st;
    int changed;
    if ((st = measure_density(p, &changed)) != LIF_OK)
        return st;
    p->measured = 1;
    return changed ? forward_pass(p, bt, res) : LIF_OK;
}

/* The weight gradient of layer l over a chunk of M = steps*B rows, its
 * rows summed steps last to first (lif_linear_bwd_w_args.step): in one call
 * by a kernel that follows `step`, else one call per step. */
static lif_status run_bwd_w(lif_plan *p, int l, const lif_linear_bwd_w_args *a, int B)
{
    const lif_kernel_i *k = p->k[LIF_OP_LINEAR_BWD_W][l];
    const lif_ctx *c = &p->ctx[LIF_OP_LINEAR_BWD_W][l];
    lif_linear_bwd_w_args s = *a;
    s.step = B;
    if (k->flags & LIF_KERNEL_STEP_ORDER)
        return k->run.linear_bwd_w(c, &s);
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    s.M = B;
    s.step = 0;
    for (int s0 = a->M - B; s0 >= 0; s0 -= B) {
        s.dy = a->dy + (size_t)s0 * lddy;
        s.x = a->x + (size_t)s0 * a->ldx;
        lif_status st = k->run.linear_bwd_w(c, &s);
        if (st != LIF_OK)
            return st;
    }
    return LIF_OK;
}

static lif_status backward_pass(lif_plan *p)
{
    const lif_net *net = p->net;
    int B = p->Bcur, T = p->T, L = p->L;
    if (B < 1)
        return lif_error(LIF_ERR_INVALID_ARG, "backward: no forward pass to differentiate");
    for (int l = 0; l < L; l++) {
        size_t n = (size_t)net->dims[l + 1];
        memset(p->dv[l], 0, (size_t)B * n * sizeof(float));
        memset(p->gw[l], 0, n * net->dims[l] * sizeof(float));
        memset(p->gb[l], 0, n * sizeof(float));
    }
    lif_status st;
    for (int c = p->nchunks - 1; c >= 0; c--) {
        int t0 = c * p->Tc;
        int Tc = T - t0 < p->Tc ? T - t0 : p->Tc;
        size_t row0 = (size_t)t0 * B, ok = off_keep(p, row0);
        if ((st = chunk_restore(p, c, 1)) != LIF_OK)
            return st;
        for (int l = L - 1; l >= 0; l--) {
            int n = net->dims[l + 1];
            int top = l == L - 1;
            size_t ox = l ? ok : off_in0(p, row0);
            lif_lif_bwd_args nb = {
                .nrn = &net->r.neuron, .Tc = Tc, .B = B, .n = n,
                .h = p->H[l] + ok * n,
                .ds = top ? p->ds_out : p->dS,
                .ds_tstride = top ? 0 : (size_t)B * n,
                .dv = p->dv[l], .dx = p->dI[l], .tstride = 0};
            double t0 = prof_start(p);
            st = p->k[LIF_OP_LIF_BWD][l]->run.lif_bwd(&p->ctx[LIF_OP_LIF_BWD][l], &nb);
            prof_end(p, LIF_OP_LIF_BWD, t0);
            if (st != LIF_OK)
                return st;
            lif_linear_bwd_w_args gw = {
                .M = Tc * B, .n_in = net->dims[l], .n_out = n, .dy = p->dI[l],
                .x = p->in[l] + ox * p->ld[l], .ldx = p->ld[l], .dw = p->gw[l],
                .db = net->b[l] ? p->gb[l] : NULL, .lddy = 0};
            t0 = prof_start(p);
            st = run_bwd_w(p, l, &gw, B);
            prof_end(p, LIF_OP_LINEAR_BWD_W, t0);
            if (st != LIF_OK)
                return st;
            if (l > 0) {
                lif_linear_bwd_x_args gx = {
                    .M = Tc * B, .n_in = net->dims[l], .n_out = n,
                    .dy = p->dI[l], .w = net->w[l], .dx = p->dS, .lddy = 0};
                t0 = prof_start(p);
                st = p->k[LIF_OP_LINEAR_BWD_X][l]->run.linear_bwd_x(
                    &p->ctx[LIF_OP_LINEAR_BWD_X][l], &gx);
                prof_end(p, LIF_OP_LINEAR_BWD_X, t0);
                if (st != LIF_OK)
                    return st;
            }
        }
    }
    return LIF_OK;
}

static lif_status update_pass(lif_plan *p)
{
    lif_net *net = p->net;
    const lif_recipe *r = &net->r;
    net->step++;
    for (int l = 0; l < p->L; l++) {
        size_t n = (size_t)net->dims[l + 1];
        lif_optim_args o = {
            .kind = r->opt, .n = n * net->dims[l], .w = net->w[l], .g = p->gw[l],
            .m = net->wm[l], .v = net->wv[l], .step = net->step, .lr = (float)r->lr,
            .beta1 = (float)r->beta1, .beta2 = (float)r->beta2, .eps = (float)r->eps,
            .momentum = (float)r->momentum};
        double t0 = prof_start(p);
        lif_status st = p->k[LIF_OP_OPTIM][l]->run.optim(&p->ctx[LIF_OP_OPTIM][l], &o);
        prof_end(p, LIF_OP_OPTIM, t0);
        if (st != LIF_OK)
            return st;
        if (net->b[l]) {
            o.n = n;
            o.w = net->b[l];
            o.g = p->gb[l];
            o.m = net->bm[l];
            o.v = net->bv[l];
            t0 = prof_start(p);
            st = p->k[LIF_OP_OPTIM][l]->run.optim(&p->ctx[LIF_OP_OPTIM][l], &o);
            prof_end(p, LIF_OP_OPTIM, t0);
            if (st != LIF_OK)
                return st;
        }
    }
    return LIF_OK;
}

/* The seconds of pass i (forward, backward, update) since t0. */
static void prof_pass(lif_plan *p, int i, double t0)
{
    if (p->prof)
        p->prof_pass_s[i] += lif_now() - t0;
}

lif_status lif_plan_forward(lif_plan *p, const lif_batch *bt, lif_result *res)
{
    double t0 = prof_start(p);
    lif_status st = forward_measured(p, bt, res);
    prof_pass(p, 0, t0);
    return st;
}

lif_status lif_plan_backward(lif_plan *p)
{
    double t0 = prof_start(p);
    lif_status st = backward_pass(p);
    prof_pass(p, 1, t0);
    return st;
}

lif_status lif_plan_update(lif_plan *p)
{
    double t0 = prof_start(p);
    lif_status st = update_pass(p);
    prof_pass(p, 2, t0);
    return st;
}

lif_status lif_plan_train_batch(lif_plan *p, const lif_batch *bt, lif_result *res)
{
    lif_status st = lif_plan_forward(p, bt, res);
    if (st == LIF_OK)
        st = lif_plan_backward(p);
    if (st == LIF_OK)
        st = lif_plan_update(p);
    return st;
}

size_t lif_plan_memory(const lif_plan *p) { return p->need; }

int lif_plan_recomputes(const lif_plan *p) { return p->mode; }

const float *lif_plan_buffer(const lif_plan *p, const char *name, int layer, size_t *count)
{
    const lif_net *net = p->net;
    size_t B = (size_t)(p->Bcur > 0 ? p->Bcur : p->B);
    if (layer < 0 || layer >= p->L)
        return NULL;
    size_t n = (size_t)net->dims[layer + 1];
    size_t TBn = (size_t)p->T * B * n;
    if (strcmp(name, "I") == 0 || strcmp(name, "dI") == 0) {
        if (p->nchunks != 1)
            return NULL;  /* one chunk at a time */
        *count = TBn;
        return name[0] == 'I' ? p->I[layer] : p->dI[layer];
    }
    if (strcmp(name, "H") == 0) {
        if (p->mode == LIF_RECOMPUTE_ALL && p->nchunks != 1)
            return NULL;
        *count = TBn;
        return p->H[layer];
    }
    if (strcmp(name, "rate") == 0) {
        *count = B * net->n_classes;
        return p->rate;
    }
    if (strcmp(name, "grad_w") == 0) {
        *count = n * net->dims[layer];
        return p->gw[layer];
    }
    if (strcmp(name, "grad_b") == 0) {
        *count = n;
        return p->gb[layer];
    }
    return NULL;
}

const uint64_t *lif_plan_spikes(const lif_plan *p, int layer, size_t *rows, size_t *ld)
{
    if (layer < 0 || layer > p->L)
        return NULL;
    int kept = p->nchunks == 1 || (layer == 0       ? p->mode == LIF_RECOMPUTE_OFF
                                   : layer == p->L ? 0
                                                   : p->mode != LIF_RECOMPUTE_ALL);
    if (!kept)
        return NULL;
    *rows = (size_t)p->T * (size_t)(p->Bcur > 0 ? p->Bcur : p->B);
    *ld = p->ld[layer];
    return p->in[layer];
}

lif_status lif_plan_trace(lif_plan *p, int b, float *v, float *s)
{
    const lif_net *net = p->net;
    const lif_neuron *nrn = &net->r.neuron;
    int L = p->L, n = net->n_classes, B = p->Bcur;
    if (b < 0 || b >= B)
        return lif_error(LIF_ERR_INVALID_ARG, "trace: sample %d not in the last batch of %d", b, B);
    for (int c = 0; c < p->nchunks; c++) {
        lif_status st = chunk_restore(p, c, 0);  /* recompute all: the chunk again */
        if (st != LIF_OK)
            return st;
        int t0 = c * p->Tc, t1 = p->T - t0 < p->Tc ? p->T : t0 + p->Tc;
        for (int t = t0; t < t1; t++) {
            size_t row = off_keep(p, (size_t)t0 * B) + (size_t)(t - t0) * B + (size_t)b;
            const float *h = p->H[L - 1] + row * n;
            for (int o = 0; o < n; o++) {
                /* the spike rule of every lif_fwd kernel (the output
                 * spikes are kept one chunk at a time) */
                float spike = h[o] >= nrn->v_threshold ? 1.0f : 0.0f;
                s[(size_t)t * n + o] = spike;
                if (nrn->soft_reset)
                    v[(size_t)t * n + o] = h[o] - nrn->v_threshold * spike;
                else
                    v[(size_t)t * n + o] = spike != 0.0f ? nrn->v_reset : h[o];
            }
        }
    }
    return LIF_OK;
}
