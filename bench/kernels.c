/* lif_kernels: one Google Benchmark per (op, kernel, shape, input density),
 * built by walking the kernel registry, so a kernel registered later is
 * benchmarked without touching this file.
 *
 * Inputs are made the way training makes them, outside the timed region:
 * images of MNIST-like structure at the density asked for, spike bits from
 * the real Poisson encoder, currents from the linear layer with the net's
 * own initial weights, H and spikes from the LIF recurrence, dL/dS from the
 * loss, dL/dI from BPTT — each by the scalar reference kernels, so every
 * kernel of an op reads identical inputs. They are kept for one scenario
 * (shape and density) at a time; the cases of a scenario run together. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "philox_bare.h"
#include "lif/lif.h"

typedef struct shape {
    int T, B, n_in, n_out;
    const char *what;
} shape;

static const shape shapes[] = {
    {100, 64, 784, 10, "the reference recipe"},
    {1000, 64, 784, 10, "a long window"},
    {100, 64, 784, 1000, "a wide layer"},
};

/* Spike densities of real data (mean pixel/255 of MNIST and Fashion-MNIST)
 * for every shape; synthetic extremes for the reference shape only. */
static const double real_density[] = {0.13, 0.29};
static const double synth_density[] = {0.02, 0.5};
#define DATA_DENSITY 0.29   /* ops whose cost ignores the input: this one only */

/* Estimated float operations per neuron-step of the LIF ops (charge: 2 sub,
 * mul, add; fire: compare; BPTT: surrogate and the chain rule). */
#define LIF_FWD_FLOP 5.0
#define LIF_BWD_FLOP 12.0

static int threads(void)
{
    const char *v = getenv("LIF_BENCH_THREADS");
    int t = v ? atoi(v) : 1;
    return t >= 1 ? t : 1;
}

static void *alloc64(size_t n)
{
    size_t size = (n + 63) / 64 * 64;
    void *p = aligned_alloc(64, size ? size : 64);
    if (p)
        memset(p, 0, size ? size : 64);
    return p;
}

static size_t bits_ld(int n) { return (((size_t)n + 63) / 64 + 7) / 8 * 8; }

static long popcount_rows(const uint64_t *bits, size_t rows, size_t ld)
{
    long c = 0;
    for (size_t i = 0; i < rows * ld; i++)
        c += __builtin_popcountll(bits[i]);
    return c;
}

/* ---- scenarios: the prepared inputs of one shape and density ---- */

typedef struct scen {
    int T, B, n_in, n_out;
    double want;
    lif_net *net;
    lif_recipe r;
    const float *w;
    lif_dataset img;
    uint32_t *ids;
    size_t ldx, lds;
    uint64_t *x, *s;
    float *I, *H, *count, *ds, *dI, *gw;
    long bits_in, bits_out;
} scen;

static scen *cached;

static void scen_free(scen *s)
{
    if (!s)
        return;
    lif_net_destroy(s->net);
    lif_dataset_free(&s->img);
    free(s->ids);
    free(s->x);
    free(s->s);
    free(s->I);
    free(s->H);
    free(s->count);
    free(s->ds);
    free(s->dI);
    free(s->gw);
    free(s);
}

static lif_problem problem_of(const scen *s, lif_op op, double density)
{
    lif_problem p = {0};
    p.op = op;
    p.T = s->T;
    p.Tc = s->T;
    p.B = s->B;
    p.n_in = s->n_in;
    p.n_out = s->n_out;
    p.has_bias = s->r.bias;
    p.density = (float)density;
    p.nrn = &s->r.neuron;
    p.opt = s->r.opt;
    p.loss = s->r.loss;
    p.threads = threads();
    return p;
}

static const lif_kernel_i *reference(const scen *s, lif_op op)
{
    lif_problem p = problem_of(s, op, s->want);
    const lif_kernel_i *k = NULL;
    return lif_kernel_select(&p, "scalar", &k) == LIF_OK ? k : NULL;
}

static scen *scen_get(const shape *sh, double density, char *why, size_t size)
{
    if (cached && cached->T == sh->T && cached->B == sh->B && cached->n_in == sh->n_in &&
        cached->n_out == sh->n_out && cached->want == density)
        return cached;
    scen_free(cached);
    cached = NULL;
    scen *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->T = sh->T;
    s->B = sh->B;
    s->n_in = sh->n_in;
    s->n_out = sh->n_out;
    s->want = density;
    lif_recipe_default(&s->r);
    s->r.T = sh->T;
    s->r.batch = sh->B;
    lif_status st;
    if ((st = lif_net_create(&s->r, sh->n_in, sh->n_out, &s->net)) != LIF_OK ||
        (st = lif_workload_synth(&s->img, sh->B, 28, sh->n_in / 28, density, 7)) != LIF_OK) {
        snprintf(why, size, "setup: %s", lif_last_error());
        scen_free(s);
        return NULL;
    }
    lif_layer_view lv;
    lif_net_layer(s->net, 0, &lv);
    s->w = lv.w;
    size_t M = (size_t)sh->T * sh->B, TBn = M * (size_t)sh->n_out;
    s->ldx = bits_ld(sh->n_in);
    s->lds = bits_ld(sh->n_out);
    s->ids = alloc64((size_t)sh->B * sizeof *s->ids);
    s->x = alloc64(M * s->ldx * 8);
    s->s = alloc64(M * s->lds * 8);
    s->I = alloc64(TBn * 4);
    s->H = alloc64(TBn * 4);
    s->dI = alloc64(TBn * 4);
    s->count = alloc64((size_t)sh->B * sh->n_out * 4);
    s->ds = alloc64((size_t)sh->B * sh->n_out * 4);
    s->gw = alloc64((size_t)sh->n_out * sh->n_in * 4);
    float *v = alloc64((size_t)sh->B * sh->n_out * 4);
    if (!s->ids || !s->x || !s->s || !s->I || !s->H || !s->dI || !s->count || !s->ds || !s->gw || !v) {
        free(v);
        scen_free(s);
        goto nomem;
    }
    for (int b = 0; b < sh->B; b++)
        s->ids[b] = (uint32_t)(b * 937 % 60000);   /* ids as from a shuffled epoch */
    /* the training pipeline, by the scalar reference kernels (serial, no
     * workspace, no state) */
    const lif_ctx serial = {.nthreads = 1};
    lif_encode_args e = {.pixels = s->img.images, .ids = s->ids, .B = sh->B, .n_in = sh->n_in,
                         .t0 = 0, .Tc = sh->T, .key = {0, 0}, .domain = 0, .dst = s->x, .ld = s->ldx};
    reference(s, LIF_OP_ENCODE)->run.encode(&serial, &e);
    lif_linear_fwd_args lf = {.M = (int)M, .n_in = sh->n_in, .n_out = sh->n_out, .x = s->x,
                              .ldx = s->ldx, .w = s->w, .b = NULL, .y = s->I};
    reference(s, LIF_OP_LINEAR_FWD)->run.linear_fwd(&serial, &lf);
    lif_lif_fwd_args nf = {.nrn = &s->r.neuron, .Tc = sh->T, .B = sh->B, .n = sh->n_out,
                           .x = s->I, .v = v, .h = s->H, .s = s->s, .lds = s->lds};
    reference(s, LIF_OP_LIF_FWD)->run.lif_fwd(&serial, &nf);
    lif_spike_count_args sc = {.Tc = sh->T, .B = sh->B, .n = sh->n_out, .s = s->s,
                               .lds = s->lds, .count = s->count};
    reference(s, LIF_OP_SPIKE_COUNT)->run.spike_count(&serial, &sc);
    double loss;
    int correct;
    lif_loss_args la = {.kind = s->r.loss, .T = sh->T, .B = sh->B, .n = sh->n_out,
                        .count = s->count, .labels = s->img.labels, .rate = NULL, .ds = s->ds,
                        .loss = &loss, .correct = &correct};
    reference(s, LIF_OP_LOSS)->run.loss(&serial, &la);
    memset(v, 0, (size_t)sh->B * sh->n_out * 4);
    lif_lif_bwd_args nb = {.nrn = &s->r.neuron, .Tc = sh->T, .B = sh->B, .n = sh->n_out,
                           .h = s->H, .ds = s->ds, .ds_tstride = 0, .dv = v, .dx = s->dI};
    reference(s, LIF_OP_LIF_BWD)->run.lif_bwd(&serial, &nb);
    lif_linear_bwd_w_args gw = {.M = (int)M, .n_in = sh->n_in, .n_out = sh->n_out, .dy = s->dI,
                                .x = s->x, .ldx = s->ldx, .dw = s->gw, .db = NULL};
    reference(s, LIF_OP_LINEAR_BWD_W)->run.linear_bwd_w(&serial, &gw);
    free(v);
    s->bits_in = popcount_rows(s->x, M, s->ldx);
    s->bits_out = popcount_rows(s->s, M, s->lds);
    cached = s;
    return s;
nomem:
    snprintf(why, size, "setup: out of memory for T %d, batch %d, %d -> %d", sh->T, sh->B,
             sh->n_in, sh->n_out);
    return NULL;
}

/* ---- one kernel on one scenario ---- */

typedef struct kctx {
    const lif_kernel_i *k;
    scen *s;
    void *buf[4];          /* private outputs */
    void *ws;              /* the kernel's workspace, as the plan gives it */
    lif_ctx ctx;           /* its call context: threads, workspace slices, init() state */
    float *state;          /* reset before each call (V or dL/dV), as the plan does */
    size_t state_bytes;
    union {
        lif_encode_args encode;
        lif_linear_fwd_args linear_fwd;
        lif_lif_fwd_args lif_fwd;
        lif_lif_bwd_args lif_bwd;
        lif_linear_bwd_w_args linear_bwd_w;
        lif_linear_bwd_x_args linear_bwd_x;
        lif_spike_count_args spike_count;
        lif_loss_args loss;
        lif_optim_args optim;
    } a;
    double loss;
    int correct;
    int nomem;
    int failed;            /* run() returned a failure (reported once) */
} kctx;

static void kbuf(kctx *c, int i, size_t bytes)
{
    c->buf[i] = alloc64(bytes);
    if (!c->buf[i])
        c->nomem = 1;
}

static void kernel_teardown(void *p)
{
    kctx *c = p;
    if (!c)
        return;
    for (int i = 0; i < 4; i++)
        free(c->buf[i]);
    free(c->ws);
    if (c->k->fini)
        c->k->fini(c->ctx.state);
    free(c);
}

static void kernel_run(void *p)
{
    kctx *c = p;
    if (c->state)
        memset(c->state, 0, c->state_bytes);
    const lif_ctx *x = &c->ctx;
    lif_status st = LIF_OK;
    switch (c->k->op) {
    case LIF_OP_ENCODE: st = c->k->run.encode(x, &c->a.encode); break;
    case LIF_OP_LINEAR_FWD: st = c->k->run.linear_fwd(x, &c->a.linear_fwd); break;
    case LIF_OP_LIF_FWD: st = c->k->run.lif_fwd(x, &c->a.lif_fwd); break;
    case LIF_OP_LIF_BWD: st = c->k->run.lif_bwd(x, &c->a.lif_bwd); break;
    case LIF_OP_LINEAR_BWD_W: st = c->k->run.linear_bwd_w(x, &c->a.linear_bwd_w); break;
    case LIF_OP_LINEAR_BWD_X: st = c->k->run.linear_bwd_x(x, &c->a.linear_bwd_x); break;
    case LIF_OP_SPIKE_COUNT: st = c->k->run.spike_count(x, &c->a.spike_count); break;
    case LIF_OP_LOSS: st = c->k->run.loss(x, &c->a.loss); break;
    case LIF_OP_OPTIM:
        c->a.optim.step++;
        st = c->k->run.optim(x, &c->a.optim);
        break;
    case LIF_OP_COUNT: break;
    }
    if (st != LIF_OK && !c->failed) {
        char kn[96];
        c->failed = 1;
        fprintf(stderr, "lif_kernels: %s failed: %s\n", lif_kernel_name(c->k, kn, sizeof kn),
                lif_last_error());
    }
}

/* ---- the kernels' own roofs (pct_model): what their algorithms must do ---- */

/* Philox calls of the encoder: per image, its groups of 8 inputs with a
 * pixel in 1..254 (0 never fires, 255 always does: no draw), times T. */
static double philox_calls(const scen *s)
{
    double n = 0;
    for (int b = 0; b < s->B; b++) {
        const uint8_t *px = s->img.images + (size_t)b * s->n_in;
        for (int g = 0; g * 8 < s->n_in; g++) {
            int any = 0;
            for (int i = 8 * g; i < 8 * g + 8 && i < s->n_in; i++)
                any |= px[i] > 0 && px[i] < 255;
            n += any;
        }
    }
    return n * s->T;
}

/* Σ over the rows of the chunks of `width` inputs (8 or 16) holding a spike. */
static double nonzero_chunks(const scen *s, int width)
{
    double n = 0;
    size_t M = (size_t)s->T * s->B;
    for (size_t r = 0; r < M; r++)
        for (int c = 0; c * width < s->n_in; c++) {
            const uint64_t *x = s->x + r * s->ldx;
            uint64_t v = x[c * width / 64] >> (c * width % 64);
            n += (width == 64 ? v : v & ((1ull << width) - 1)) != 0;
        }
    return n;
}

/* Σ over samples and blocks of `steps` steps of the inputs that fired in
 * the block (rows [T][B]). */
static double active_inputs(const scen *s, int steps)
{
    double n = 0;
    size_t nw = ((size_t)s->n_in + 63) / 64;
    for (int b = 0; b < s->B; b++)
        for (int t0 = 0; t0 < s->T; t0 += steps)
            for (size_t w = 0; w < nw; w++) {
                uint64_t any = 0;
                for (int t = t0; t < t0 + steps && t < s->T; t++)
                    any |= s->x[((size_t)t * s->B + b) * s->ldx + w];
                if ((w + 1) * 64 > (size_t)s->n_in)
                    any &= ~0ull >> ((w + 1) * 64 - (size_t)s->n_in);
                n += __builtin_popcountll(any);
            }
    return n;
}

/* Vector adds a simd linear kernel's algorithm needs (0: not modelled). */
static double linear_adds(const scen *s, const lif_kernel_i *k)
{
    if (strcmp(k->backend, "simd") != 0)
        return 0;
    double M = (double)s->T * s->B, nout = s->n_out;
    const char *v = k->variant;
    if (strcmp(v, "avx512") == 0)
        return M * ((s->n_in + 15) / 16) * nout;
    if (strcmp(v, "avx2") == 0)
        return M * ((s->n_in + 7) / 8) * nout;
    if (strcmp(v, "avx512_skip") == 0)
        return nonzero_chunks(s, 16) * nout;
    if (strcmp(v, "avx2_skip") == 0)
        return nonzero_chunks(s, 8) * nout;
    if (strcmp(v, "avx512_event") == 0)
        return (double)s->bits_in * ((s->n_out + 15) / 16);
    if (strcmp(v, "avx2_event") == 0)
        return (double)s->bits_in * ((s->n_out + 7) / 8);
    if (strcmp(v, "avx512_time") == 0)
        return active_inputs(s, 16) * nout;
    if (strcmp(v, "avx2_time") == 0)
        return active_inputs(s, 8) * nout;
    return 0;
}

static void *kernel_setup(const lif_bench_case *bc, lif_bench_work *w, char *why, size_t size)
{
    const shape *sh = &shapes[bc->iarg[0]];
    const lif_kernel_i *k = bc->parg;
    scen *s = scen_get(sh, bc->darg, why, size);
    if (!s)
        return NULL;
    kctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, size, "setup: out of memory");
        return NULL;
    }
    c->k = k;
    c->s = s;
    double T = s->T, B = s->B, nin = s->n_in, nout = s->n_out, M = T * B;
    double ldx = (double)s->ldx, lds = (double)s->lds;
    double events = (double)s->bits_in * nout;   /* synaptic events: input spikes x fan-out */
    size_t TBn = (size_t)M * (size_t)s->n_out;
    w->density = (double)s->bits_in / (M * nin);
    w->flops = 0;
    switch (k->op) {
    case LIF_OP_ENCODE:
        kbuf(c, 0, (size_t)M * s->ldx * 8);
        c->a.encode = (lif_encode_args){.pixels = s->img.images, .ids = s->ids, .B = s->B,
                                        .n_in = s->n_in, .t0 = 0, .Tc = s->T, .key = {0, 0},
                                        .domain = 0, .dst = c->buf[0], .ld = s->ldx};
        w->items = M;
        w->unit = "sample_steps/s";
        w->bytes = B * nin + M * ldx * 8;   /* integer work (Philox): the bandwidth roof */
        w->model = LIF_BENCH_MODEL_IMULS;     /* Philox4x32-10: 2 products a round */
        w->model_ops = philox_calls(s) * 20;
        break;
    case LIF_OP_LINEAR_FWD:
        kbuf(c, 0, TBn * 4);
        c->a.linear_fwd = (lif_linear_fwd_args){.M = (int)M, .n_in = s->n_in, .n_out = s->n_out,
                                                .x = s->x, .ldx = s->ldx, .w = s->w, .b = NULL,
                                                .y = c->buf[0], .step = s->B};
        w->items = events;
        w->unit = "syn_events/s";
        w->flops = events;                     /* one add per event */
        w->bytes = nout * nin * 4 + M * ldx * 8 + M * nout * 4;
        w->model = LIF_BENCH_MODEL_ADDS;
        w->model_ops = linear_adds(s, k);
        break;
    case LIF_OP_LIF_FWD:
        kbuf(c, 0, TBn * 4);
        kbuf(c, 1, (size_t)M * s->lds * 8);
        kbuf(c, 2, (size_t)(B * nout) * 4);
        c->state = c->buf[2];
        c->state_bytes = (size_t)(B * nout) * 4;
        c->a.lif_fwd = (lif_lif_fwd_args){.nrn = &s->r.neuron, .Tc = s->T, .B = s->B,
                                          .n = s->n_out, .x = s->I, .v = c->buf[2],
                                          .h = c->buf[0], .s = c->buf[1], .lds = s->lds};
        w->items = M;
        w->unit = "sample_steps/s";
        w->flops = M * nout * LIF_FWD_FLOP;
        w->bytes = M * nout * 8 + M * lds * 8;
        w->density = (double)s->bits_in / (M * nin);
        break;
    case LIF_OP_LIF_BWD:
        kbuf(c, 0, TBn * 4);
        kbuf(c, 1, (size_t)(B * nout) * 4);
        c->state = c->buf[1];
        c->state_bytes = (size_t)(B * nout) * 4;
        c->a.lif_bwd = (lif_lif_bwd_args){.nrn = &s->r.neuron, .Tc = s->T, .B = s->B,
                                          .n = s->n_out, .h = s->H, .ds = s->ds, .ds_tstride = 0,
                                          .dv = c->buf[1], .dx = c->buf[0]};
        w->items = M;
        w->unit = "sample_steps/s";
        w->flops = M * nout * LIF_BWD_FLOP;
        w->bytes = M * nout * 8;
        break;
    case LIF_OP_LINEAR_BWD_W:
        kbuf(c, 0, (size_t)(nout * nin) * 4);
        c->a.linear_bwd_w = (lif_linear_bwd_w_args){.M = (int)M, .n_in = s->n_in,
                                                    .n_out = s->n_out, .dy = s->dI, .x = s->x,
                                                    .ldx = s->ldx, .dw = c->buf[0], .db = NULL};
        w->items = events;
        w->unit = "syn_events/s";
        w->flops = events;
        w->bytes = M * nout * 4 + M * ldx * 8 + 2 * nout * nin * 4;
        w->model = LIF_BENCH_MODEL_ADDS;
        w->model_ops = linear_adds(s, k);
        break;
    case LIF_OP_LINEAR_BWD_X:
        kbuf(c, 0, (size_t)(M * nin) * 4);
        c->a.linear_bwd_x = (lif_linear_bwd_x_args){.M = (int)M, .n_in = s->n_in,
                                                    .n_out = s->n_out, .dy = s->dI, .w = s->w,
                                                    .dx = c->buf[0]};
        w->flops = 2 * M * nin * nout;
        w->items = w->flops;
        w->unit = "FLOP/s";
        w->bytes = M * nout * 4 + nout * nin * 4 + M * nin * 4;
        break;
    case LIF_OP_SPIKE_COUNT:
        kbuf(c, 0, (size_t)(B * nout) * 4);
        c->a.spike_count = (lif_spike_count_args){.Tc = s->T, .B = s->B, .n = s->n_out,
                                                  .s = s->s, .lds = s->lds, .count = c->buf[0]};
        w->items = M;
        w->unit = "sample_steps/s";
        w->flops = M * nout;
        w->bytes = M * lds * 8;
        w->density = (double)s->bits_out / (M * nout);   /* its input: the output spikes */
        break;
    case LIF_OP_LOSS:
        kbuf(c, 0, (size_t)(B * nout) * 4);
        kbuf(c, 1, (size_t)(B * nout) * 4);
        c->a.loss = (lif_loss_args){.kind = s->r.loss, .T = s->T, .B = s->B, .n = s->n_out,
                                    .count = s->count, .labels = s->img.labels,
                                    .rate = c->buf[0], .ds = c->buf[1], .loss = &c->loss,
                                    .correct = &c->correct};
        w->items = B;
        w->unit = "samples/s";
        w->flops = B * nout * 6;
        w->bytes = B * nout * 12 + B;
        w->density = (double)s->bits_out / (M * nout);
        break;
    case LIF_OP_OPTIM: {
        size_t n = (size_t)(nout * nin);
        for (int i = 0; i < 3; i++)
            kbuf(c, i, n * 4);
        if (!c->nomem)
            memcpy(c->buf[0], s->w, n * 4);
        c->a.optim = (lif_optim_args){.kind = s->r.opt, .n = n, .w = c->buf[0], .g = s->gw,
                                      .m = c->buf[1], .v = c->buf[2], .step = 0,
                                      .lr = (float)s->r.lr, .beta1 = (float)s->r.beta1,
                                      .beta2 = (float)s->r.beta2, .eps = (float)s->r.eps,
                                      .momentum = (float)s->r.momentum};
        w->bytes = (double)n * 4 * 7;       /* Adam: read w, g, m, v; write w, m, v */
        w->items = w->bytes;
        w->unit = "bytes/s";
        w->flops = (double)n * 12;
        w->density = -1;
        break;
    }
    case LIF_OP_COUNT:
        break;
    }
    /* the context as the plan books it: one workspace slice per thread
     * (64-byte multiples apart) for a threaded kernel, else one */
    lif_problem prob = problem_of(s, k->op, bc->darg);
    size_t ws_bytes = k->workspace ? k->workspace(&prob) : 0;
    size_t stride = (ws_bytes + 63) / 64 * 64;
    c->ctx.nthreads = k->flags & LIF_KERNEL_THREADED ? prob.threads : 1;
    if (stride && !(c->ws = alloc64(stride * (size_t)c->ctx.nthreads)))
        c->nomem = 1;
    c->ctx.ws = c->ws;
    c->ctx.ws_stride = c->ws ? stride : 0;
    if (c->nomem) {
        snprintf(why, size, "setup: out of memory for the outputs");
        kernel_teardown(c);
        return NULL;
    }
    if (k->init) {
        lif_status st = k->init(&prob, &c->ctx.state);
        if (st != LIF_OK) {
            snprintf(why, size, "setup: init() failed: %s", lif_last_error());
            c->ctx.state = NULL;
            kernel_teardown(c);
            return NULL;
        }
    }
    return c;
}

static int density_matters(lif_op op) { return op != LIF_OP_OPTIM && op != LIF_OP_LOSS; }

/* ---- philox_rounds/ISA: bare Philox rounds, the encoders' floor ---- */

enum { BARE_ROUNDS = 100000 }; /* a call: 4M (AVX-512) or 2M (AVX2) counter-rounds */

typedef struct bare_ctx { int avx512; volatile uint64_t sink; } bare_ctx;

static void *bare_setup(const lif_bench_case *bc, lif_bench_work *w, char *why, size_t size)
{
    bare_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, size, "setup: out of memory");
        return NULL;
    }
    c->avx512 = bc->iarg[0];
    w->items = (double)BARE_ROUNDS * lif_bare_philox_counters(c->avx512);
    w->unit = "counter_rounds/s";
    w->density = -1;
    w->model = LIF_BENCH_MODEL_IMULS; /* two products a counter-round */
    w->model_ops = 2 * w->items;
    return c;
}

static void bare_run(void *p)
{
    bare_ctx *c = p;
    c->sink = c->avx512 ? lif_bare_philox_avx512(BARE_ROUNDS) : lif_bare_philox_avx2(BARE_ROUNDS);
}

static void bare_teardown(void *p) { free(p); }

static void bare_case(lif_bench_case *c, int avx512)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "philox_rounds/%s/units5", avx512 ? "avx512" : "avx2");
    c->setup = bare_setup;
    c->run = bare_run;
    c->teardown = bare_teardown;
    c->iarg[0] = avx512;
    const char *why = "";
    if (!lif_cpu_has(avx512 ? LIF_ISA_AVX512 : LIF_ISA_AVX2, &why))
        snprintf(c->skip, sizeof c->skip, "%s", why);
}

int lif_bench_cases(lif_bench_case **out, size_t *n)
{
    size_t nb, cap = 64, count = 0;
    const lif_backend_i *const *bs = lif_backends(&nb);
    lif_bench_case *cs = malloc(cap * sizeof *cs);
    if (!cs)
        goto nomem;
    int t = threads();
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        double dens[4];
        int nd = 0;
        for (size_t i = 0; i < sizeof real_density / sizeof real_density[0]; i++)
            dens[nd++] = real_density[i];
        if (si == 0)
            for (size_t i = 0; i < sizeof synth_density / sizeof synth_density[0]; i++)
                dens[nd++] = synth_density[i];
        for (int di = 0; di < nd; di++)
            for (int op = 0; op < LIF_OP_COUNT; op++) {
                if (!density_matters((lif_op)op) && dens[di] != DATA_DENSITY)
                    continue;
                for (size_t b = 0; b < nb; b++) {
                    const char *why = "";
                    int avail = lif_backend_available(bs[b], &why);
                    for (size_t j = 0; j < bs[b]->n_kernels; j++) {
                        const lif_kernel_i *k = &bs[b]->kernels[j];
                        if ((int)k->op != op)
                            continue;
                        if (count == cap) {
                            lif_bench_case *g = realloc(cs, 2 * cap * sizeof *cs);
                            if (!g)
                                goto nomem;
                            cs = g;
                            cap *= 2;
                        }
                        lif_bench_case *c = &cs[count++];
                        memset(c, 0, sizeof *c);
                        char kn[96], tsuf[16] = "";
                        if (t > 1)
                            snprintf(tsuf, sizeof tsuf, "_t%d", t);
                        snprintf(c->name, sizeof c->name, "%s/T%d_b%d_n%dx%d_d%.2f%s",
                                 lif_kernel_name(k, kn, sizeof kn), shapes[si].T, shapes[si].B,
                                 shapes[si].n_in, shapes[si].n_out, dens[di], tsuf);
                        c->setup = kernel_setup;
                        c->run = kernel_run;
                        c->teardown = kernel_teardown;
                        c->iarg[0] = (int)si;
                        c->darg = dens[di];
                        c->parg = k;
                        if (!avail) {
                            snprintf(c->skip, sizeof c->skip, "backend %s unavailable: %s",
                                     bs[b]->name, why);
                            continue;
                        }
                        scen probe = {.T = shapes[si].T, .B = shapes[si].B,
                                      .n_in = shapes[si].n_in, .n_out = shapes[si].n_out};
                        lif_recipe_default(&probe.r);
                        lif_problem p = problem_of(&probe, (lif_op)op, dens[di]);
                        if (k->supports && !k->supports(&p, &why))
                            snprintf(c->skip, sizeof c->skip, "declined: %s", why);
                    }
                }
            }
    }
    if (count + 2 > cap) {
        lif_bench_case *g = realloc(cs, (count + 2) * sizeof *cs);
        if (!g)
            goto nomem;
        cs = g;
    }
    bare_case(&cs[count++], 1);
    bare_case(&cs[count++], 0);
    *out = cs;
    *n = count;
    return 0;
nomem:
    free(cs);
    fprintf(stderr, "lif_kernels: out of memory listing the cases\n");
    return -1;
}

void lif_bench_cases_free(lif_bench_case *cases, size_t n)
{
    (void)n;
    free(cases);
    scen_free(cached);
    cached = NULL;
}
