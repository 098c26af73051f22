/* lif_e2e: a whole training step (encode, forward, BPTT, optimizer) and a
 * whole inference pass per backend, as Google Benchmarks. Batches come
 * from the IDX set in $LIF_BENCH_DATA when it is set (e.g.
 * /usr/share/datasets/fashion-mnist), else from synthetic images at the
 * spike densities of MNIST (0.13) and Fashion-MNIST (0.29). The encoder
 * runs inside the timed step, as in training. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "lif/lif.h"

#define T_REF 100
#define B_REF 64
#define POOL 8   /* batches of synthetic images per set */

typedef struct source {
    lif_workload w;
    double density;     /* in the names: nominal for synthetic sets, measured for data */
} source;

static source sources[2];
static int n_sources;
static const char *data_dir;

typedef struct ectx {
    lif_measure_e2e *e;
    int train;
    long i;
} ectx;

static void e2e_run(void *p)
{
    ectx *c = p;
    c->i++;
    if (c->train)
        lif_measure_e2e_train(c->e, c->i);
    else
        lif_measure_e2e_infer(c->e, c->i);
}

static void e2e_teardown(void *p)
{
    ectx *c = p;
    if (c)
        lif_measure_e2e_destroy(c->e);
    free(c);
}

static void *e2e_setup(const lif_bench_case *bc, lif_bench_work *w, char *why, size_t size)
{
    source *src = &sources[bc->iarg[0]];
    ectx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, size, "setup: out of memory");
        return NULL;
    }
    c->train = bc->iarg[1];
    lif_measure_e2e_cfg cfg = {.backend = bc->parg, .T = T_REF, .B = B_REF, .threads = 1,
                               .hidden = 0, .train = &src->w.train, .test = &src->w.test,
                               .seed = 0};
    const char *t = getenv("LIF_BENCH_THREADS");
    if (t && atoi(t) > 1)
        cfg.threads = atoi(t);
    if (lif_measure_e2e_create(&cfg, &c->e, NULL) != LIF_OK) {
        snprintf(why, size, "setup: %s", lif_last_error());
        free(c);
        return NULL;
    }
    double dense = 2.0 * T_REF * 784 * 10;   /* forward FLOP per image, dense */
    w->items = B_REF;
    w->unit = "images/s";
    w->flops = B_REF * (c->train ? 2 * dense : dense);
    w->bytes = 0;
    w->density = src->w.density;   /* measured, not the nominal */
    return c;
}

int lif_bench_cases(lif_bench_case **out, size_t *n)
{
    data_dir = getenv("LIF_BENCH_DATA");
    if (data_dir && *data_dir) {
        if (lif_workload_load(&sources[0].w, data_dir, 0, 0.0) != LIF_OK) {
            fprintf(stderr, "lif_e2e: LIF_BENCH_DATA=%s: %s\n", data_dir, lif_last_error());
            return -1;
        }
        sources[0].density = sources[0].w.density;
        n_sources = 1;
    } else {
        static const double dens[] = {0.13, 0.29};
        for (int i = 0; i < 2; i++) {
            if (lif_workload_load(&sources[i].w, NULL, POOL * B_REF, dens[i]) != LIF_OK) {
                fprintf(stderr, "lif_e2e: %s\n", lif_last_error());
                return -1;
            }
            sources[i].density = dens[i];
        }
        n_sources = 2;
    }
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    lif_bench_case *cs = calloc((size_t)n_sources * 2 * nb, sizeof *cs);
    size_t count = 0;
    if (!cs) {
        fprintf(stderr, "lif_e2e: out of memory\n");
        return -1;
    }
    for (int s = 0; s < n_sources; s++)
        for (int train = 1; train >= 0; train--)
            for (size_t b = 0; b < nb; b++) {
                lif_bench_case *c = &cs[count++];
                snprintf(c->name, sizeof c->name, "%s/%s/T%d_b%d_n784x10_d%.2f%s",
                         train ? "train_step" : "infer", bs[b]->name, T_REF, B_REF,
                         sources[s].density, data_dir && *data_dir ? "_data" : "");
                c->setup = e2e_setup;
                c->run = e2e_run;
                c->teardown = e2e_teardown;
                c->iarg[0] = s;
                c->iarg[1] = train;
                c->parg = bs[b]->name;
                const char *why;
                if (!lif_backend_available(bs[b], &why))
                    snprintf(c->skip, sizeof c->skip, "backend %s unavailable: %s", bs[b]->name, why);
            }
    *out = cs;
    *n = count;
    return 0;
}

void lif_bench_cases_free(lif_bench_case *cases, size_t n)
{
    (void)n;
    free(cases);
    for (int i = 0; i < n_sources; i++)
        lif_workload_free(&sources[i].w);
}
