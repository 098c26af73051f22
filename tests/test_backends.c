/* Every available backend trains a whole epoch on a small real subset of
 * Fashion-MNIST (tests/data/fashion-mnist-small) and must end within 0.5
 * accuracy points of the scalar reference, far above chance. Backends
 * differ from scalar only in float rounding (summation order), so their
 * weights stay close and their accuracies nearly equal. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lif/lif.h"
#include "testutil.h"

typedef struct outcome {
    double train_acc, test_acc, test_loss;
    float w[784 * 10];
} outcome;

static int run(const char *backend, const lif_dataset *train, const lif_dataset *test,
               outcome *out)
{
    lif_recipe r;
    lif_recipe_default(&r);
    r.T = 20;
    r.epochs = 1;
    r.seed = 3;
    lif_plan_opts o;
    lif_plan_opts_default(&o);
    snprintf(o.backend, sizeof o.backend, "%s", backend);
    lif_net *net = NULL;
    lif_plan *plan = NULL;
    lif_epoch_stats tr, te;
    int ok = lif_net_create(&r, 784, 10, &net) == LIF_OK &&
             lif_plan_create(net, r.batch, &o, &plan) == LIF_OK &&
             lif_train_epoch(plan, train, 0, NULL, NULL, &tr) == LIF_OK &&
             lif_evaluate(plan, test, 0, NULL, NULL, &te) == LIF_OK;
    CHECK(ok, "backend %s: %s", backend, lif_last_error());
    if (ok) {
        lif_layer_view lv;
        lif_net_layer(net, 0, &lv);
        memcpy(out->w, lv.w, sizeof out->w);
        out->train_acc = tr.acc;
        out->test_acc = te.acc;
        out->test_loss = te.loss;
        printf("%-8s train_acc %.4f test_acc %.4f test_loss %.5f  (%s, %s)\n", backend, tr.acc,
               te.acc, te.loss, lif_plan_kernel(plan, LIF_OP_ENCODE, 0),
               lif_plan_kernel(plan, LIF_OP_LINEAR_FWD, 0));
    }
    lif_plan_destroy(plan);
    lif_net_destroy(net);
    return ok;
}

int main(void)
{
    static outcome ref, got;
    lif_dataset train, test;
    lif_status st = lif_data_open_dir(LIF_TEST_DATA "/fashion-mnist-small", &train, &test);
    CHECK(st == LIF_OK, "loading the shipped subset: %s", lif_last_error());
    if (st != LIF_OK)
        return test_finish("test_backends");
    CHECK(train.n == 3000 && test.n == 1000, "subset holds %d/%d images", train.n, test.n);

    if (run("scalar", &train, &test, &ref))
        CHECK(ref.test_acc > 0.6, "scalar: test accuracy %.4f, chance is 0.1", ref.test_acc);

    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    int compared = 0;
    for (size_t i = 0; i < nb; i++) {
        const char *why;
        if (strcmp(bs[i]->name, "scalar") == 0)
            continue;
        if (!lif_backend_available(bs[i], &why)) {
            printf("skipped: %s: %s\n", bs[i]->name, why);
            continue;
        }
        if (!run(bs[i]->name, &train, &test, &got))
            continue;
        compared++;
        double dw = 0.0;
        for (size_t k = 0; k < 784 * 10; k++)
            dw = fmax(dw, fabs((double)got.w[k] - ref.w[k]));
        printf("%-8s |test_acc - scalar| = %.2f points, max |W - W_scalar| = %.3g\n",
               bs[i]->name, 100.0 * fabs(got.test_acc - ref.test_acc), dw);
        CHECK(fabs(got.test_acc - ref.test_acc) <= 0.005,
              "backend %s: test accuracy %.4f vs scalar %.4f (more than 0.5 points apart) "
              "[repro: T 20, batch 64, seed 3, 1 epoch on tests/data/fashion-mnist-small]",
              bs[i]->name, got.test_acc, ref.test_acc);
        CHECK(fabs(got.train_acc - ref.train_acc) <= 0.005,
              "backend %s: train accuracy %.4f vs scalar %.4f", bs[i]->name, got.train_acc,
              ref.train_acc);
    }
    lif_dataset_free(&train);
    lif_dataset_free(&test);
    if (compared == 0 && test_failures == 0)
        test_skip("no backend other than scalar can run here; nothing to compare");
    return test_finish("test_backends");
}
