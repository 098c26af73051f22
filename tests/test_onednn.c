/* test_onednn.c — the onednn backend in whole runs.
 *
 * 1. Training (lif_train_epoch, lif_evaluate) on the shipped Fashion-MNIST
 *    subset, 784 -> 40 -> 10 with bias (so the input gradient runs too),
 *    --backend onednn,simd: every linear op of every layer is bound to an
 *    onednn kernel, the other ops to simd; 2 and 3 threads give bitwise the
 *    bits of 1 thread; accuracy within 0.5 points of the scalar backend.
 * 2. The primitive cache: `lif train` with ONEDNN_VERBOSE=2 (oneDNN prints
 *    a "create:" line per primitive made and an "exec" line per run) for 1
 *    and for 2 epochs: the same primitives are made (3 distinct shapes,
 *    one per linear op of the 784 -> 10 net: cache misses), however many
 *    batches run, while the executions double.
 * 3. -amp: where the bf16 kernels can run, one epoch with amp binds them
 *    and ends within 1 point of float32 (the subset's test set has 1000
 *    images: 1 point is 10 of them); with LIF_MAX_CPU_ISA=avx2 or
 *    ONEDNN_MAX_CPU_ISA=avx2, `lif train -amp` is refused (exit 2) with a
 *    message naming -amp and the reason.
 * Without the onednn backend (or with its float32 kernels declined here):
 * "skipped: <reason>". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "lif/lif.h"
#include "testutil.h"

typedef struct outcome {
    int ok;
    double train_loss, train_acc, test_loss, test_acc;
    float *w[2];
    size_t nw[2];
} outcome;

static void outcome_free(outcome *o)
{
    free(o->w[0]), free(o->w[1]);
    memset(o, 0, sizeof *o);
}

static int run(const char *backend, int threads, int hidden, int amp, const lif_dataset *train,
               const lif_dataset *test, outcome *out)
{
    memset(out, 0, sizeof *out);
    lif_recipe r;
    lif_recipe_default(&r);
    r.T = 16;
    r.batch = 64;
    r.epochs = 1;
    r.seed = 3;
    r.bias = hidden > 0;
    r.n_hidden = hidden ? 1 : 0;
    r.hidden[0] = hidden;
    lif_plan_opts o;
    lif_plan_opts_default(&o);
    snprintf(o.backend, sizeof o.backend, "%s", backend);
    o.threads = threads;
    o.Tc = 10; /* a short last chunk */
    o.amp = amp;
    lif_net *net = NULL;
    lif_plan *plan = NULL;
    lif_epoch_stats tr, te;
    int ok = lif_net_create(&r, 784, 10, &net) == LIF_OK &&
             lif_plan_create(net, r.batch, &o, &plan) == LIF_OK &&
             lif_train_epoch(plan, train, 0, NULL, NULL, &tr) == LIF_OK &&
             lif_evaluate(plan, test, 0, NULL, NULL, &te) == LIF_OK;
    CHECK(ok, "backend %s, %d threads, amp %d: %s", backend, threads, amp, lif_last_error());
    if (ok) {
        out->ok = 1;
        out->train_loss = tr.loss, out->train_acc = tr.acc;
        out->test_loss = te.loss, out->test_acc = te.acc;
        for (int l = 0; l < lif_net_layers(net) && l < 2; l++) {
            lif_layer_view lv;
            lif_net_layer(net, l, &lv);
            out->nw[l] = (size_t)lv.n_in * lv.n_out;
            out->w[l] = malloc(out->nw[l] * sizeof(float));
            memcpy(out->w[l], lv.w, out->nw[l] * sizeof(float));
        }
        if (strncmp(backend, "onednn", 6) == 0)
            for (int l = 0; l < lif_net_layers(net); l++) {
                static const lif_op lin[] = {LIF_OP_LINEAR_FWD, LIF_OP_LINEAR_BWD_W,
                                             LIF_OP_LINEAR_BWD_X};
                for (int i = 0; i < 3; i++) {
                    if (lin[i] == LIF_OP_LINEAR_BWD_X && l == 0)
                        continue;
                    const char *k = lif_plan_kernel(plan, lin[i], l);
                    CHECK(strstr(k, amp ? "/onednn/bf16" : "/onednn/f32") != NULL,
                          "layer %d: %s is bound to %s", l, lif_op_name(lin[i]), k);
                }
                const char *k = lif_plan_kernel(plan, LIF_OP_LIF_FWD, l);
                CHECK(strstr(k, "/simd/") != NULL, "layer %d: lif_fwd is bound to %s, not simd",
                      l, k);
            }
        printf("%-12s %d thread%s amp %d: train loss %.6f acc %.4f, test loss %.6f acc %.4f\n",
               backend, threads, threads > 1 ? "s" : " ", amp, tr.loss, tr.acc, te.loss, te.acc);
    }
    lif_plan_destroy(plan);
    lif_net_destroy(net);
    return ok;
}

static void training(const lif_dataset *train, const lif_dataset *test)
{
    outcome ref, got;
    if (!run("onednn,simd", 1, 40, 0, train, test, &ref))
        return;
    CHECK(ref.test_acc > 0.3, "test accuracy %.4f after an epoch (chance is 0.1)", ref.test_acc);
    for (int t = 2; t <= 3; t++) {
        if (run("onednn,simd", t, 40, 0, train, test, &got)) {
            CHECK(memcmp(&got.train_loss, &ref.train_loss, sizeof(double)) == 0 &&
                      memcmp(&got.test_loss, &ref.test_loss, sizeof(double)) == 0,
                  "%d threads: losses %.17g %.17g, one thread %.17g %.17g (must be bitwise "
                  "equal)", t, got.train_loss, got.test_loss, ref.train_loss, ref.test_loss);
            for (int l = 0; l < 2; l++)
                CHECK(memcmp(got.w[l], ref.w[l], ref.nw[l] * sizeof(float)) == 0,
                      "%d threads: layer %d weights differ from one thread's", t, l);
        }
        outcome_free(&got);
    }
    if (run("scalar", 1, 40, 0, train, test, &got)) {
        printf("|test_acc(onednn) - test_acc(scalar)| = %.2f points\n",
               100.0 * fabs(ref.test_acc - got.test_acc));
        CHECK(fabs(ref.test_acc - got.test_acc) <= 0.005,
              "onednn test accuracy %.4f vs scalar %.4f (more than 0.5 points apart)",
              ref.test_acc, got.test_acc);
        CHECK(fabs(ref.train_acc - got.train_acc) <= 0.005,
              "onednn train accuracy %.4f vs scalar %.4f", ref.train_acc, got.train_acc);
    }
    outcome_free(&got);
    outcome_free(&ref);
}

/* Runs `env lif train ...` in the test's folder; counts stdout lines that
 * contain each of the n needles; returns the exit status, stderr in err. */
static int lif_train(const char *dir, const char *env, const char *flags, const char **needles,
                     int n, long *counts, char *err, size_t errsz)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && env %s '%s' train -data-dir '%s/fashion-mnist-small' -out-dir out "
             "-T 8 -b 64 --quiet %s 2>stderr.txt",
             dir, env, LIF_CLI_PATH, LIF_TEST_DATA, flags);
    for (int i = 0; i < n; i++)
        counts[i] = 0;
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[4096];
    while (fgets(line, sizeof line, p))
        for (int i = 0; i < n; i++)
            counts[i] += strstr(line, needles[i]) != NULL;
    int st = pclose(p);
    size_t len = 0;
    char *e = test_slurp(test_path(dir, "stderr.txt"), &len);
    snprintf(err, errsz, "%s", e ? e : "");
    free(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void primitive_cache(const char *dir)
{
    static const char *needles[] = {"onednn_verbose,create:cache_miss",
                                    "onednn_verbose,create:cache_hit", "onednn_verbose,exec"};
    long c1[3], c2[3];
    char err[2048];
    int rc1 = lif_train(dir, "ONEDNN_VERBOSE=2", "-epochs 1 --backend onednn,simd", needles, 3,
                        c1, err, sizeof err);
    CHECK(rc1 == 0, "lif train (1 epoch) exit %d: %s", rc1, err);
    int rc2 = lif_train(dir, "ONEDNN_VERBOSE=2", "-epochs 2 --backend onednn,simd", needles, 3,
                        c2, err, sizeof err);
    CHECK(rc2 == 0, "lif train (2 epochs) exit %d: %s", rc2, err);
    printf("ONEDNN_VERBOSE=2, 1 epoch: %ld created (cache misses), %ld cache hits, %ld "
           "executions; 2 epochs: %ld, %ld, %ld\n", c1[0], c1[1], c1[2], c2[0], c2[1], c2[2]);
    /* 784 -> 10: one shape per linear op (forward, weight gradient, input
     * gradient), made when the plan binds; the rebinding at the measured
     * density finds them in oneDNN's cache (hits) */
    CHECK(c1[0] == 3 && c2[0] == 3, "primitives created: %ld (1 epoch), %ld (2 epochs), want 3",
          c1[0], c2[0]);
    CHECK(c1[1] == c2[1], "cache hits: %ld (1 epoch) vs %ld (2 epochs): primitives are made "
          "per batch", c1[1], c2[1]);
    CHECK(c1[2] > 0 && c2[2] >= 2 * c1[2] - c1[2] / 10,
          "executions: %ld (1 epoch), %ld (2 epochs): want about twice as many", c1[2], c2[2]);
}

static void amp_refused(const char *dir, const char *env)
{
    long none[1];
    char err[2048];
    const char *needle[] = {"-"};
    int rc = lif_train(dir, env, "-epochs 1 -amp --backend onednn,simd", needle, 1, none, err,
                       sizeof err);
    printf("%s lif train -amp: exit %d: %s", env, rc, err);
    CHECK(rc == 2, "%s: lif train -amp exit %d, want 2 (refused)", env, rc);
    CHECK(strstr(err, "-amp") && strstr(err, "AVX512_BF16"),
          "%s: the refusal names -amp and AVX512_BF16: %s", env, err);
}

static void amp(const char *dir, const lif_dataset *train, const lif_dataset *test)
{
    amp_refused(dir, "LIF_MAX_CPU_ISA=avx2");
    amp_refused(dir, "ONEDNN_MAX_CPU_ISA=avx2");
    const lif_backend_i *b = lif_backend_find("onednn");
    lif_problem p = {.op = LIF_OP_LINEAR_FWD, .T = 1, .Tc = 1, .B = 1, .n_in = 1, .n_out = 1,
                     .threads = 1, .amp = 1};
    const char *why = "";
    int bf16 = 0;
    for (size_t j = 0; j < b->n_kernels; j++)
        if (strcmp(b->kernels[j].variant, "bf16") == 0 && b->kernels[j].op == LIF_OP_LINEAR_FWD)
            bf16 = b->kernels[j].supports(&p, &why);
    if (!bf16) {
        printf("skipped: -amp training: the bf16 kernels cannot run here: %s\n", why);
        return;
    }
    outcome f32, bf;
    if (run("onednn,simd", 2, 0, 0, train, test, &f32) &&
        run("onednn,simd", 2, 0, 1, train, test, &bf)) {
        printf("|test_acc(amp) - test_acc(f32)| = %.2f points\n",
               100.0 * fabs(bf.test_acc - f32.test_acc));
        CHECK(fabs(bf.test_acc - f32.test_acc) <= 0.01,
              "amp test accuracy %.4f vs float32 %.4f (more than 1 point apart)", bf.test_acc,
              f32.test_acc);
        CHECK(memcmp(bf.w[0], f32.w[0], f32.nw[0] * sizeof(float)) != 0,
              "amp and float32 give the same weights: bf16 did not run");
    }
    outcome_free(&f32);
    outcome_free(&bf);
}

int main(void)
{
    const lif_backend_i *b = lif_backend_find("onednn");
    const char *why = "";
    if (!b)
        test_skip("the onednn backend is not in this build (no libdnnl-dev, "
                  "-DLIF_WITH_ONEDNN=OFF, or another OpenMP runtime)");
    if (!lif_backend_available(b, &why)) {
        char msg[256];
        snprintf(msg, sizeof msg, "the onednn backend cannot run here: %s", why);
        test_skip(msg);
    }
    lif_problem p = {.op = LIF_OP_LINEAR_FWD, .T = 1, .Tc = 1, .B = 1, .n_in = 1, .n_out = 1,
                     .threads = 1};
    for (size_t j = 0; j < b->n_kernels; j++)
        if (b->kernels[j].op == LIF_OP_LINEAR_FWD && strcmp(b->kernels[j].variant, "f32") == 0 &&
            !b->kernels[j].supports(&p, &why)) {
            char msg[300];
            snprintf(msg, sizeof msg, "the onednn float32 kernels cannot run here: %s", why);
            test_skip(msg);
        }
    unsetenv("LIF_FORCE_KERNEL");
    unsetenv("ONEDNN_VERBOSE");
    const char *dir = test_tmpdir("test_onednn");
    lif_dataset train, test;
    lif_status st = lif_data_open_dir(LIF_TEST_DATA "/fashion-mnist-small", &train, &test);
    CHECK(st == LIF_OK, "loading the shipped subset: %s", lif_last_error());
    if (st != LIF_OK)
        return test_finish("test_onednn");
    training(&train, &test);
    primitive_cache(dir);
    amp(dir, &train, &test);
    lif_dataset_free(&train);
    lif_dataset_free(&test);
    return test_finish("test_onednn");
}
