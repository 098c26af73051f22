/* measure_e2e.c — end-to-end runners (lif/measure.h): a net and plan per
 * backend and one whole training step or inference pass per call, exactly
 * as lif train runs them (lif_plan_train_batch, lif_plan_forward): the
 * Poisson encoder runs inside the timed call, as in training; nothing is
 * precomputed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

#include "lif/backend.h"
#include "lif/measure.h"
#include "lif/net.h"

struct lif_measure_e2e {
    lif_net *net;
    lif_plan *plan;
    const lif_dataset *train, *test;
    int B;
    uint32_t *perm;     /* shuffled training order */
    uint32_t *ids;      /* [B] */
    uint8_t *pixels;    /* [B, n_in] gathered batch */
    uint8_t *labels;    /* [B] */
};

static size_t heap_in_use(void)
{
#ifdef HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

/* The one place that turns a runner's configuration into a net and its
 * plan: the recipe (the reference, with cfg's T, batch, backend, threads,
 * seed and hidden layer), lif_net_create and lif_plan_create. How a plan
 * receives its run options (backend, threads, Tc) is changing; adapt it
 * here. *plan_bytes gets what creating the plan allocated. */
static lif_status make_net_and_plan(const lif_measure_e2e_cfg *cfg, int n_in, lif_net **net,
                                    lif_plan **plan, size_t *plan_bytes)
{
    lif_recipe r;
    lif_status st;
    lif_recipe_default(&r);
    if (cfg->recipe)
        r = *cfg->recipe;
    r.T = cfg->T;
    r.batch = cfg->B;
    r.seed = cfg->seed;
    if (cfg->hidden > 0 && !cfg->recipe) {
        r.n_hidden = 1;
        r.hidden[0] = cfg->hidden;
    }
    if ((st = lif_recipe_validate(&r)) != LIF_OK)
        return st;
    if ((st = lif_net_create(&r, n_in, 10, net)) != LIF_OK)
        return st;
    lif_plan_opts o;
    lif_plan_opts_default(&o);
    if (cfg->opts)
        o = *cfg->opts;
    o.threads = cfg->threads;
    o.Tc = cfg->Tc;
    o.memory_budget = cfg->memory_budget;
    o.recompute = cfg->recompute;
    if (snprintf(o.backend, sizeof o.backend, "%s", cfg->backend) >= (int)sizeof o.backend)
        return lif_error(LIF_ERR_INVALID_ARG, "e2e runner: backend list '%s' too long",
                         cfg->backend);
    size_t before = heap_in_use();
    if ((st = lif_plan_create(*net, cfg->B, &o, plan)) != LIF_OK)
        return st;
    size_t after = heap_in_use();
    *plan_bytes = after > before ? after - before : 0;
    return LIF_OK;
}

lif_status lif_measure_e2e_create(const lif_measure_e2e_cfg *cfg, lif_measure_e2e **out,
                                  size_t *plan_bytes)
{
    lif_status st;
    if (!cfg || !out || !cfg->backend || !cfg->train || !cfg->test)
        return lif_error(LIF_ERR_INVALID_ARG, "e2e runner: NULL argument");
    *out = NULL;
    if (cfg->B < 1)
        return lif_error(LIF_ERR_INVALID_ARG, "e2e runner: batch %d (must be >= 1)", cfg->B);
    int n_in = cfg->train->rows * cfg->train->cols;
    if (cfg->test->rows * cfg->test->cols != n_in || cfg->train->n < 1 || cfg->test->n < 1)
        return lif_error(LIF_ERR_INVALID_ARG, "e2e runner: training and test images differ in size or are empty");
    lif_measure_e2e *e = calloc(1, sizeof *e);
    if (!e)
        return lif_error(LIF_ERR_NOMEM, "e2e runner: out of memory");
    e->train = cfg->train;
    e->test = cfg->test;
    e->B = cfg->B;
    e->perm = malloc((size_t)cfg->train->n * sizeof *e->perm);
    e->ids = malloc((size_t)cfg->B * sizeof *e->ids);
    e->pixels = malloc((size_t)cfg->B * (size_t)n_in);
    e->labels = malloc((size_t)cfg->B);
    if (!e->perm || !e->ids || !e->pixels || !e->labels) {
        st = lif_error(LIF_ERR_NOMEM, "e2e runner: out of memory for batches");
        goto fail;
    }
    lif_shuffle(e->perm, cfg->train->n, cfg->seed, 0);
    size_t bytes = 0;
    if ((st = make_net_and_plan(cfg, n_in, &e->net, &e->plan, &bytes)) != LIF_OK)
        goto fail;
    if (plan_bytes)
        *plan_bytes = bytes;
    *out = e;
    return LIF_OK;
fail:
    lif_measure_e2e_destroy(e);
    return st;
}

const lif_plan *lif_measure_e2e_plan(const lif_measure_e2e *e) { return e->plan; }

void lif_measure_e2e_destroy(lif_measure_e2e *e)
{
    if (!e)
        return;
    lif_plan_destroy(e->plan);
    lif_net_destroy(e->net);
    free(e->perm);
    free(e->ids);
    free(e->pixels);
    free(e->labels);
    free(e);
}

/* Gathers batch i of d (in `order`, or in sequence when NULL) into e. A set
 * smaller than a batch repeats its images. The gather mirrors what the
 * training loop does before each step, and is part of the timed call. */
static void gather(lif_measure_e2e *e, const lif_dataset *d, const uint32_t *order, long i)
{
    size_t npx = (size_t)d->rows * (size_t)d->cols;
    for (int b = 0; b < e->B; b++) {
        long k = (i * e->B + b) % d->n;
        uint32_t id = order ? order[k] : (uint32_t)k;
        e->ids[b] = id;
        memcpy(e->pixels + (size_t)b * npx, d->images + (size_t)id * npx, npx);
        e->labels[b] = d->labels[id];
    }
}

lif_status lif_measure_e2e_train(lif_measure_e2e *e, long i)
{
    gather(e, e->train, e->perm, i);
    lif_batch bt = {.B = e->B, .pixels = e->pixels, .labels = e->labels, .ids = e->ids,
                    .epoch = 0, .domain = 0, .spikes = NULL};
    lif_result res;
    return lif_plan_train_batch(e->plan, &bt, &res);
}

lif_status lif_measure_e2e_infer(lif_measure_e2e *e, long i)
{
    gather(e, e->test, NULL, i);
    lif_batch bt = {.B = e->B, .pixels = e->pixels, .labels = e->labels, .ids = e->ids,
                    .epoch = 0, .domain = 1, .spikes = NULL};
    lif_result res;
    return lif_plan_forward(e->plan, &bt, &res);
}

int lif_measure_threaded(const char *backend)
{
    const lif_backend_i *b = backend ? lif_backend_find(backend) : NULL;
    for (size_t k = 0; b && k < b->n_kernels; k++)
        if (b->kernels[k].flags & LIF_KERNEL_THREADED)
            return 1;
    return 0;
}

void lif_measure_e2e_kernels(const lif_measure_e2e *e, char *buf, size_t size)
{
    static const lif_op ops[] = {LIF_OP_ENCODE, LIF_OP_LINEAR_FWD, LIF_OP_LIF_FWD, LIF_OP_LIF_BWD,
                                 LIF_OP_LINEAR_BWD_W, LIF_OP_OPTIM};
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < sizeof ops / sizeof ops[0] && len < size; k++) {
        int w = snprintf(buf + len, size - len, "%s%s", k ? ", " : "",
                         lif_plan_kernel(e->plan, ops[k], 0));
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static lif_status task_train(void *ctx, long i) { return lif_measure_e2e_train(ctx, i); }
static lif_status task_infer(void *ctx, long i) { return lif_measure_e2e_infer(ctx, i); }

lif_measure_task lif_measure_e2e_task(lif_measure_e2e *e, int train)
{
    lif_measure_task t = {train ? task_train : task_infer, e};
    return t;
}
