/* test_openmp.c — the openmp backend trains bitwise the same at any thread
 * count.
 *
 * A whole epoch (lif_train_epoch, then lif_evaluate) of the shipped
 * Fashion-MNIST subset (tests/data/fashion-mnist-small) with the plan option
 * backend "openmp" at 1, 2, 3 and 8 threads, and once more at 3 threads
 * with LIF_OPENMP_SPLIT=all (every op split, however small): the weights,
 * biases, losses and accuracies must be bitwise those of one thread. Three
 * nets, each with T not a multiple of Tc (a short last chunk) and a partial
 * last test batch:
 *   784 -> 10                 batch 128, T 24, Tc 10 (M = 1280: the weight
 *                             gradient's two fixed row blocks)
 *   784 -> 40 -> 10, bias     batch 96, T 20, Tc 16 (three row blocks)
 *   784 -> 200 -> 10, bias    batch 128, T 15, Tc 8 (the wide layer's
 *                             gradient by output blocks)
 * Every op must be bound to an openmp kernel. The first two nets at one
 * thread must also end within 0.5 accuracy points of the scalar backend.
 * And the narrow weight gradient alone, called with fewer threads than its
 * problem booked, takes several passes over its partials and still gives
 * the same bits.
 * Without the openmp backend in the build: "skipped: <reason>". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/lif.h"
#include "testutil.h"

typedef struct net_cfg {
    const char *name;
    int hidden;         /* 0: none */
    int bias, batch, T, Tc;
    int vs_scalar;      /* also compare accuracy with the scalar backend */
} net_cfg;

static const net_cfg cfgs[] = {
    {"784-10", 0, 0, 128, 24, 10, 1},
    {"784-40-10 bias", 40, 1, 96, 20, 16, 1},
    {"784-200-10 bias", 200, 1, 128, 15, 8, 0},
};

typedef struct outcome {
    int ok;
    double train_loss, train_acc, test_loss, test_acc;
    int layers;
    float *w[2], *b[2];
    size_t nw[2], nb[2];
} outcome;

static void outcome_free(outcome *o)
{
    for (int l = 0; l < 2; l++)
        free(o->w[l]), free(o->b[l]);
    memset(o, 0, sizeof *o);
}

static int run(const net_cfg *c, const char *backend, int threads, const lif_dataset *train,
               const lif_dataset *test, outcome *out)
{
    memset(out, 0, sizeof *out);
    lif_recipe r;
    lif_recipe_default(&r);
    r.T = c->T;
    r.batch = c->batch;
    r.epochs = 1;
    r.seed = 7;
    r.bias = c->bias;
    r.n_hidden = c->hidden ? 1 : 0;
    r.hidden[0] = c->hidden;
    lif_plan_opts o;
    lif_plan_opts_default(&o);
    snprintf(o.backend, sizeof o.backend, "%s", backend);
    o.threads = threads;
    o.Tc = c->Tc;
    lif_net *net = NULL;
    lif_plan *plan = NULL;
    lif_epoch_stats tr, te;
    int ok = lif_net_create(&r, 784, 10, &net) == LIF_OK &&
             lif_plan_create(net, r.batch, &o, &plan) == LIF_OK &&
             lif_train_epoch(plan, train, 0, NULL, NULL, &tr) == LIF_OK &&
             lif_evaluate(plan, test, 0, NULL, NULL, &te) == LIF_OK;
    CHECK(ok, "%s, backend %s, %d threads: %s", c->name, backend, threads, lif_last_error());
    if (ok) {
        out->ok = 1;
        out->train_loss = tr.loss, out->train_acc = tr.acc;
        out->test_loss = te.loss, out->test_acc = te.acc;
        out->layers = lif_net_layers(net);
        for (int l = 0; l < out->layers && l < 2; l++) {
            lif_layer_view lv;
            lif_net_layer(net, l, &lv);
            out->nw[l] = (size_t)lv.n_in * lv.n_out;
            out->w[l] = malloc(out->nw[l] * sizeof(float));
            memcpy(out->w[l], lv.w, out->nw[l] * sizeof(float));
            if (lv.b) {
                out->nb[l] = (size_t)lv.n_out;
                out->b[l] = malloc(out->nb[l] * sizeof(float));
                memcpy(out->b[l], lv.b, out->nb[l] * sizeof(float));
            }
        }
        /* every op of every layer is openmp's (the backend has them all) */
        if (strcmp(backend, "openmp") == 0)
            for (int op = 0; op < LIF_OP_COUNT; op++)
                for (int l = 0; l < out->layers; l++) {
                    const char *k = lif_plan_kernel(plan, (lif_op)op, l);
                    CHECK(strstr(k, "/openmp/") != NULL, "%s, %d threads: %s of layer %d is %s",
                          c->name, threads, lif_op_name((lif_op)op), l, k);
                }
        printf("%-16s %-6s %d thread%s train loss %.6f acc %.4f, test loss %.6f acc %.4f\n",
               c->name, backend, threads, threads > 1 ? "s" : " ", tr.loss, tr.acc, te.loss,
               te.acc);
    }
    lif_plan_destroy(plan);
    lif_net_destroy(net);
    return ok;
}

static int same_floats(const float *a, const float *b, size_t n, size_t *at)
{
    if (!a || !b)
        return a == b;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0) {
            *at = i;
            return 0;
        }
    return 1;
}

/* got == ref bit for bit */
static void compare(const net_cfg *c, const char *what, const outcome *ref, const outcome *got)
{
    CHECK(memcmp(&got->train_loss, &ref->train_loss, sizeof(double)) == 0 &&
              memcmp(&got->test_loss, &ref->test_loss, sizeof(double)) == 0,
          "%s, %s: losses train %.17g test %.17g, one thread %.17g %.17g", c->name, what,
          got->train_loss, got->test_loss, ref->train_loss, ref->test_loss);
    CHECK(got->train_acc == ref->train_acc && got->test_acc == ref->test_acc,
          "%s, %s: accuracies train %.6f test %.6f, one thread %.6f %.6f", c->name, what,
          got->train_acc, got->test_acc, ref->train_acc, ref->test_acc);
    for (int l = 0; l < ref->layers && l < 2; l++) {
        size_t at = 0;
        CHECK(same_floats(got->w[l], ref->w[l], ref->nw[l], &at),
              "%s, %s: layer %d weight %zu is %.9g, one thread %.9g (must be bitwise equal)",
              c->name, what, l, at, got->w[l][at], ref->w[l][at]);
        at = 0;
        CHECK(same_floats(got->b[l], ref->b[l], ref->nb[l], &at),
              "%s, %s: layer %d bias %zu differs from one thread's", c->name, what, l, at);
    }
}

/* The narrow weight gradient called with fewer threads than its problem
 * booked (the plan never does this, but run() must cope): a problem of 8
 * threads holds 2 partials a slice for NB = 16 blocks (M = 8320), so 1, 2
 * and 3 threads take 8, 4 and 3 passes. Every count must give the bits of
 * 8 threads. */
static void fewer_threads(void)
{
    const lif_backend_i *omp = lif_backend_find("openmp");
    const lif_kernel_i *k = NULL;
    for (size_t i = 0; i < omp->n_kernels; i++)
        if (omp->kernels[i].op == LIF_OP_LINEAR_BWD_W)
            k = &omp->kernels[i];
    int M = 8320, n_in = 100, n_out = 10;
    size_t ldx = 8, nw = (size_t)n_out * n_in;
    lif_problem p = {.op = LIF_OP_LINEAR_BWD_W, .T = 65, .Tc = 65, .B = 128, .n_in = n_in,
                     .n_out = n_out, .has_bias = 1, .density = 0.3f, .threads = 8};
    void *state = NULL;
    CHECK(k && k->init(&p, &state) == LIF_OK, "linear_bwd_w/openmp init: %s", lif_last_error());
    if (!k || !state)
        return;
    size_t stride = (k->workspace(&p) + 63) / 64 * 64;
    void *ws = aligned_alloc(64, stride * 8);
    uint64_t *x = aligned_alloc(64, (size_t)M * ldx * sizeof *x);
    float *dy = aligned_alloc(64, ((size_t)M * n_out + 15) / 16 * 64);
    float *dw[4], *db[4];
    uint64_t r = 12345;
    for (size_t i = 0; i < (size_t)M * ldx; i++)
        x[i] = i % ldx < 2 ? rnd(&r) & rnd(&r) : 0;
    for (size_t i = 0; i < (size_t)M * n_out; i++)
        dy[i] = (float)(urand(&r) - 0.5);
    static const int nts[4] = {8, 1, 2, 3};
    for (int i = 0; i < 4; i++) {
        dw[i] = calloc(nw, sizeof(float));
        db[i] = calloc((size_t)n_out, sizeof(float));
        lif_ctx c = {.nthreads = nts[i], .ws = ws, .ws_stride = stride, .state = state};
        lif_linear_bwd_w_args a = {.M = M, .n_in = n_in, .n_out = n_out, .dy = dy, .x = x,
                                   .ldx = ldx, .dw = dw[i], .db = db[i]};
        CHECK(k->run.linear_bwd_w(&c, &a) == LIF_OK, "linear_bwd_w/openmp at %d threads: %s",
              nts[i], lif_last_error());
        if (i > 0)
            CHECK(memcmp(dw[i], dw[0], nw * sizeof(float)) == 0 &&
                      memcmp(db[i], db[0], (size_t)n_out * sizeof(float)) == 0,
                  "linear_bwd_w/openmp, problem of 8 threads called with %d: dW or db differs "
                  "from 8 threads' (must be bitwise equal)", nts[i]);
    }
    printf("linear_bwd_w/openmp: a problem of 8 threads called with 1, 2, 3 and 8: bitwise equal\n");
    for (int i = 0; i < 4; i++)
        free(dw[i]), free(db[i]);
    free(ws), free(x), free(dy);
    k->fini(state);
}

int main(void)
{
    const lif_backend_i *omp = lif_backend_find("openmp");
    const char *why = "";
    if (!omp)
        test_skip("the openmp backend is not in this build (CMake found no OpenMP)");
    if (!lif_backend_available(omp, &why)) {
        char msg[256];
        snprintf(msg, sizeof msg, "the openmp backend cannot run here: %s", why);
        test_skip(msg);
    }
    unsetenv("LIF_OPENMP_SPLIT");
    unsetenv("LIF_FORCE_KERNEL");
    setenv("LIF_OPENMP_SPLIT", "all", 1);
    fewer_threads();
    unsetenv("LIF_OPENMP_SPLIT");
    lif_dataset train, test;
    lif_status st = lif_data_open_dir(LIF_TEST_DATA "/fashion-mnist-small", &train, &test);
    CHECK(st == LIF_OK, "loading the shipped subset: %s", lif_last_error());
    if (st != LIF_OK)
        return test_finish("test_openmp");

    static const int threads[] = {2, 3, 8};
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        const net_cfg *c = &cfgs[i];
        outcome ref, got;
        if (!run(c, "openmp", 1, &train, &test, &ref))
            continue;
        CHECK(ref.test_acc > 0.3, "%s: test accuracy %.4f after an epoch (chance is 0.1)",
              c->name, ref.test_acc);
        for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
            char what[64];
            snprintf(what, sizeof what, "%d threads", threads[t]);
            if (run(c, "openmp", threads[t], &train, &test, &got))
                compare(c, what, &ref, &got);
            outcome_free(&got);
        }
        setenv("LIF_OPENMP_SPLIT", "all", 1);
        printf("(LIF_OPENMP_SPLIT=all)\n");
        if (run(c, "openmp", 3, &train, &test, &got))
            compare(c, "3 threads, LIF_OPENMP_SPLIT=all", &ref, &got);
        unsetenv("LIF_OPENMP_SPLIT");
        outcome_free(&got);
        if (c->vs_scalar && run(c, "scalar", 1, &train, &test, &got)) {
            printf("%-16s |test_acc(openmp) - test_acc(scalar)| = %.2f points\n", c->name,
                   100.0 * fabs(ref.test_acc - got.test_acc));
            CHECK(fabs(ref.test_acc - got.test_acc) <= 0.005,
                  "%s: openmp test accuracy %.4f vs scalar %.4f (more than 0.5 points apart)",
                  c->name, ref.test_acc, got.test_acc);
            CHECK(fabs(ref.train_acc - got.train_acc) <= 0.005,
                  "%s: openmp train accuracy %.4f vs scalar %.4f", c->name, ref.train_acc,
                  got.train_acc);
        }
        outcome_free(&got);
        outcome_free(&ref);
    }
    lif_dataset_free(&train);
    lif_dataset_free(&test);
    return test_finish("test_openmp");
}
