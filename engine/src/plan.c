/* Execution plans: kernel binding, buffers, and the time loop.
 *
 * Buffers for a batch of B samples over T steps, per layer l (n = width):
 *   in[l]   spike bits [T*B][ld] (in[0] from the encoder, in[l+1] = out of l)
 *   I, H, dI [T, B, n] floats;  v, dv [B, n] state carried across chunks.
 * Forward walks chunks of Tc steps first to last; backward walks them last
 * to first, carrying dL/dV between chunks, so the gradients are those of the
 * unchunked BPTT. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "lif/topology.h"


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
 * pass (all T steps, so the figure does not depend on Tc) and binds the
 * linear kernels again for it: dense or event-driven, from what the data
 * really fire. Sets *changed when a kernel changed (or, having state, was
 * initialised again). */
static lif_status measure_density(lif_plan *p, int *changed)
{
    size_t rows = (size_t)p->T * p->Bcur;
    *changed = 0;
    for (int l = 0; l < p->L; l++) {
        uint64_t ones = 0;
        int n = p->net->dims[l];
        for (size_t r = 0; r < rows; r++)
            for (int w = 0; w < (n + 63) / 64; w++) {
                uint64_t bits = p->in[l][r * p->ld[l] + (size_t)w];
                if ((w + 1) * 64 > n)
                    bits &= ~0ull >> ((w + 1) * 64 - n);
                ones += (uint64_t)__builtin_popcountll(bits);
            }
        double d = (double)ones / ((double)rows * n);
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

/* a * b, or SIZE_MAX on overflow. */
static size_t mul_sat(size_t a, size_t b)
{
    return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* Bytes of the buffers lif_plan_create allocates (SIZE_MAX on overflow). */
static size_t plan_bytes(const lif_net *net, int B, int T, int Tc)
{
    size_t TB = mul_sat((size_t)T, (size_t)B), total = 0, widest = 0;
    for (int l = 0; l <= net->n_layers; l++)
        total = add_sat(total, mul_sat(TB, lif_bits_ld(net->dims[l]) * sizeof(uint64_t)));
    for (int l = 0; l < net->n_layers; l++) {
        size_t n = (size_t)net->dims[l + 1];
        widest = n > widest ? n : widest;
        total = add_sat(total, mul_sat(mul_sat(TB, n), 3 * sizeof(float)));
        total = add_sat(total, (2 * (size_t)B * n + n * (size_t)net->dims[l] + n) * sizeof(float));
    }
    total = add_sat(total, mul_sat(mul_sat((size_t)Tc * B, widest), sizeof(float)));
    return total;
}

/* Physical memory in bytes (0 if unknown). */
static size_t physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? mul_sat((size_t)pages, (size_t)size) : 0;
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
    p->Tc = opts->Tc > 0 && opts->Tc < r->T ? opts->Tc : r->T;
    p->opts.Tc = p->Tc;
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
    /* All the buffers together must fit in this machine's memory: refuse
     * with a figure rather than be killed while touching the pages. */
    size_t need = plan_bytes(net, B, p->T, p->Tc), phys = physical_memory();
    if (need == SIZE_MAX || (phys && need > phys / 10 * 9)) {
        st = lif_error(LIF_ERR_NOMEM,
                       "plan: T %d x batch %d needs %.1f GiB of buffers, this machine has %.1f GiB; "
                       "lower T or the batch", p->T, B, need == SIZE_MAX ? INFINITY : need / 1073741824.0,
                       phys / 1073741824.0);
        goto fail;
    }
    for (int op = 0; op < LIF_OP_COUNT; op++)
        for (int l = 0; l < p->L; l++)
            if (net_slot(p, (lif_op)op, l) == l && (st = bind(p, (lif_op)op, l, NULL)) != LIF_OK)
                goto fail;
    size_t TB = (size_t)p->T * B;
    int widest = 0;
    for (int l = 0; l <= p->L; l++) {
        p->ld[l] = lif_bits_ld(net->dims[l]);
        p->in[l] = lif_alloc(TB * p->ld[l] * sizeof(uint64_t));
        if (!p->in[l])
            goto nomem;
    }
    for (int l = 0; l < p->L; l++) {
        size_t n = (size_t)net->dims[l + 1];
        if ((int)n > widest)
            widest = (int)n;
        p->I[l] = lif_alloc(TB * n * sizeof(float));
        p->H[l] = lif_alloc(TB * n * sizeof(float));
        p->dI[l] = lif_alloc(TB * n * sizeof(float));
        p->v[l] = lif_alloc((size_t)B * n * sizeof(float));
        p->dv[l] = lif_alloc((size_t)B * n * sizeof(float));
        p->gw[l] = lif_alloc(n * net->dims[l] * sizeof(float));
        p->gb[l] = lif_alloc(n * sizeof(float));
        if (!p->I[l] || !p->H[l] || !p->dI[l] || !p->v[l] || !p->dv[l] || !p->gw[l] ||
            !p->gb[l])
            goto nomem;
    }
    size_t nc = (size_t)B * net->n_classes;
    p->dS = lif_alloc((size_t)p->Tc * B * widest * sizeof(float));
    p->count = lif_alloc(nc * sizeof(float));
    p->rate = lif_alloc(nc * sizeof(float));
    p->ds_out = lif_alloc(nc * sizeof(float));
    if (!p->dS || !p->count || !p->rate || !p->ds_out)
        goto nomem;
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
    if (!p)
        return;
    for (int l = 0; l <= N_SLOTS; l++)
        lif_free(p->in[l]);
    for (int l = 0; l < N_SLOTS; l++) {
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
    lif_status st;
    for (int l = 0; l < L; l++)
        memset(p->v[l], 0, (size_t)B * net->dims[l + 1] * sizeof(float));
    memset(p->count, 0, (size_t)B * net->n_classes * sizeof(float));
    if (bt->spikes)
        pack_spikes(bt->spikes, (size_t)T * B, net->dims[0], p->in[0], p->ld[0]);

    for (int t0 = 0; t0 < T; t0 += p->Tc) {
        int Tc = T - t0 < p->Tc ? T - t0 : p->Tc;
        size_t row0 = (size_t)t0 * B;
        if (!bt->spikes) {
            lif_encode_args e = {
                .pixels = bt->pixels, .ids = bt->ids, .B = B, .n_in = net->dims[0],
                .t0 = t0, .Tc = Tc, .key = {net->r.seed, bt->epoch}, .domain = bt->domain,
                .dst = p->in[0] + row0 * p->ld[0], .ld = p->ld[0], .dst_tstride = 0};
            st = p->k[LIF_OP_ENCODE][0]->run.encode(&p->ctx[LIF_OP_ENCODE][0], &e);
            if (st != LIF_OK)
                return st;
        }
        for (int l = 0; l < L; l++) {
            int n = net->dims[l + 1];
            lif_linear_fwd_args lin = {
                .M = Tc * B, .n_in = net->dims[l], .n_out = n,
                .x = p->in[l] + row0 * p->ld[l], .ldx = p->ld[l],
                .w = net->w[l], .b = net->b[l], .y = p->I[l] + row0 * n, .ldy = 0};
            st = p->k[LIF_OP_LINEAR_FWD][l]->run.linear_fwd(&p->ctx[LIF_OP_LINEAR_FWD][l], &lin);
            if (st != LIF_OK)
                return st;
            lif_lif_fwd_args nf = {
                .nrn = &net->r.neuron, .Tc = Tc, .B = B, .n = n,
                .x = p->I[l] + row0 * n, .v = p->v[l], .h = p->H[l] + row0 * n,
                .s = p->in[l + 1] + row0 * p->ld[l + 1], .lds = p->ld[l + 1],
                .tstride = 0, .s_tstride = 0};
            st = p->k[LIF_OP_LIF_FWD][l]->run.lif_fwd(&p->ctx[LIF_OP_LIF_FWD][l], &nf);
            if (st != LIF_OK)
                return st;
        }
        lif_spike_count_args sc = {
            .Tc = Tc, .B = B, .n = net->n_classes,
            .s = p->in[L] + row0 * p->ld[L], .lds = p->ld[L], .count = p->count,
            .s_tstride = 0};
        st = p->k[LIF_OP_SPIKE_COUNT][L - 1]->run.spike_count(&p->ctx[LIF_OP_SPIKE_COUNT][L - 1],
                                                              &sc);
        if (st != LIF_OK)
            return st;
    }
    double loss = 0.0;
    int correct = 0;
    lif_loss_args la = {
        .kind = net->r.loss, .T = T, .B = B, .n = net->n_classes, .count = p->count,
        .labels = p->labels, .rate = p->rate, .ds = p->ds_out, .loss = &loss,
        .correct = &correct};
    st = p->k[LIF_OP_LOSS][L - 1]->run.loss(&p->ctx[LIF_OP_LOSS][L - 1], &la);
    if (st != LIF_OK)
        return st;
    res->loss = loss;
    res->correct = correct;
    return LIF_OK;
}

/* The first forward pass of a plan measures the spike densities; when that
 * changes a kernel, the pass runs again with the kernels every later batch
 * uses, so results never depend on which kernels ran before measuring. */
lif_status lif_plan_forward(lif_plan *p, const lif_batch *bt, lif_result *res)
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

lif_status lif_plan_backward(lif_plan *p)
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
    int nchunks = (T + p->Tc - 1) / p->Tc;
    lif_status st;
    for (int c = nchunks - 1; c >= 0; c--) {
        int t0 = c * p->Tc;
        int Tc = T - t0 < p->Tc ? T - t0 : p->Tc;
        size_t row0 = (size_t)t0 * B;
        for (int l = L - 1; l >= 0; l--) {
            int n = net->dims[l + 1];
            int top = l == L - 1;
            lif_lif_bwd_args nb = {
                .nrn = &net->r.neuron, .Tc = Tc, .B = B, .n = n,
                .h = p->H[l] + row0 * n,
                .ds = top ? p->ds_out : p->dS,
                .ds_tstride = top ? 0 : (size_t)B * n,
                .dv = p->dv[l], .dx = p->dI[l] + row0 * n, .tstride = 0};
            st = p->k[LIF_OP_LIF_BWD][l]->run.lif_bwd(&p->ctx[LIF_OP_LIF_BWD][l], &nb);
            if (st != LIF_OK)
                return st;
            lif_linear_bwd_w_args gw = {
                .M = Tc * B, .n_in = net->dims[l], .n_out = n, .dy = p->dI[l] + row0 * n,
                .x = p->in[l] + row0 * p->ld[l], .ldx = p->ld[l], .dw = p->gw[l],
                .db = net->b[l] ? p->gb[l] : NULL, .lddy = 0};
            st = p->k[LIF_OP_LINEAR_BWD_W][l]->run.linear_bwd_w(&p->ctx[LIF_OP_LINEAR_BWD_W][l],
                                                                &gw);
            if (st != LIF_OK)
                return st;
            if (l > 0) {
                lif_linear_bwd_x_args gx = {
                    .M = Tc * B, .n_in = net->dims[l], .n_out = n,
                    .dy = p->dI[l] + row0 * n, .w = net->w[l], .dx = p->dS, .lddy = 0};
                st = p->k[LIF_OP_LINEAR_BWD_X][l]->run.linear_bwd_x(
                    &p->ctx[LIF_OP_LINEAR_BWD_X][l], &gx);
                if (st != LIF_OK)
                    return st;
            }
        }
    }
    return LIF_OK;
}

lif_status lif_plan_update(lif_plan *p)
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
        lif_status st = p->k[LIF_OP_OPTIM][l]->run.optim(&p->ctx[LIF_OP_OPTIM][l], &o);
        if (st != LIF_OK)
            return st;
        if (net->b[l]) {
            o.n = n;
            o.w = net->b[l];
            o.g = p->gb[l];
            o.m = net->bm[l];
            o.v = net->bv[l];
            if ((st = p->k[LIF_OP_OPTIM][l]->run.optim(&p->ctx[LIF_OP_OPTIM][l], &o)) != LIF_OK)
                return st;
        }
    }
    return LIF_OK;
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

const float *lif_plan_buffer(const lif_plan *p, const char *name, int layer, size_t *count)
{
    const lif_net *net = p->net;
    size_t B = (size_t)(p->Bcur > 0 ? p->Bcur : p->B);
    if (layer < 0 || layer >= p->L)
        return NULL;
    size_t n = (size_t)net->dims[layer + 1];
    size_t TBn = (size_t)p->T * B * n;
    if (strcmp(name, "I") == 0 || strcmp(name, "H") == 0 || strcmp(name, "dI") == 0) {
        *count = TBn;
        return name[0] == 'I' ? p->I[layer] : name[0] == 'H' ? p->H[layer] : p->dI[layer];
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

lif_status lif_plan_trace(const lif_plan *p, int b, float *v, float *s)
{
    const lif_net *net = p->net;
    const lif_neuron *nrn = &net->r.neuron;
    int L = p->L, n = net->n_classes, B = p->Bcur;
    if (b < 0 || b >= B)
        return lif_error(LIF_ERR_INVALID_ARG, "trace: sample %d not in the last batch of %d", b, B);
    for (int t = 0; t < p->T; t++) {
        const uint64_t *bits = p->in[L] + ((size_t)t * B + b) * p->ld[L];
        const float *h = p->H[L - 1] + ((size_t)t * B + b) * n;
        for (int o = 0; o < n; o++) {
            float spike = (float)(bits[o / 64] >> (o % 64) & 1);
            s[(size_t)t * n + o] = spike;
            if (nrn->soft_reset)
                v[(size_t)t * n + o] = h[o] - nrn->v_threshold * spike;
            else
                v[(size_t)t * n + o] = spike != 0.0f ? nrn->v_reset : h[o];
        }
    }
    return LIF_OK;
}
