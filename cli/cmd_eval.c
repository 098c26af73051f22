/* lif eval — a checkpoint's loss and accuracy on a test set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const cli_flag eval_flags[] = { /* cli.h: the fuzz harness parses with it too */
    {"checkpoint", FLAG_OPTION, "checkpoint", "FILE", "the checkpoint to evaluate (required)"},
    {"data-dir", FLAG_OPTION, "data-dir", "DIR", "MNIST-format IDX folder (/usr/share/datasets/fashion-mnist)"},
    {"T", FLAG_RECIPE, "T", "N", "time steps per image (the checkpoint's)"},
    {"b", FLAG_RECIPE, "batch", "N", "batch size (the checkpoint's)"},
    {"backend", FLAG_PLAN, "backend", "LIST", "kernel backends in order of preference, or auto (auto)"},
    {"threads", FLAG_PLAN, "threads", "N", "kernel threads, 0 = auto (default: OMP_NUM_THREADS, else the physical cores hwloc reports)"},
    {"bind", FLAG_PLAN, "bind", "none|cores", "pin a threaded kernel's threads one per core (none)"},
    {"tc", FLAG_PLAN, "Tc", "N", "time steps per chunk, 0 = T"},
    {"epoch", FLAG_OPTION, "epoch", "N", "draw the Poisson spikes of this epoch (the checkpoint's)"},
    {"device", FLAG_OPTION, "device", "DEV", "only 'cpu' is supported"},
    {"quiet", FLAG_OPTION, "quiet", NULL, "print only the result line"},
    {NULL, 0, NULL, NULL, NULL},
};

int cmd_eval(int argc, char **argv)
{
    cli_args args;
    lif_net *net = NULL;
    lif_plan *plan = NULL;
    lif_dataset test = {0};
    lif_train_state ts;
    lif_status st;
    int rc = cli_parse(argc, argv, eval_flags, "eval", &args);
    if (rc == -1) {
        printf("usage: lif eval -checkpoint FILE [-data-dir DIR] [flags]\n\n"
               "Evaluates a checkpoint on the test split of DIR and prints\n"
               "test_loss, test_acc and the test speed.\n\nflags:\n");
        cli_print_flags(stdout, eval_flags);
        return LIF_EXIT_OK;
    }
    if (rc)
        return rc;
    const char *ckpt = cli_get(&args, "checkpoint");
    const char *data_dir = cli_get(&args, "data-dir");
    const char *device = cli_get(&args, "device");
    const char *epoch_s = cli_get(&args, "epoch");
    if (!ckpt) {
        fprintf(stderr, "lif eval: -checkpoint FILE is required\n");
        return LIF_EXIT_USAGE;
    }
    if (device && strcmp(device, "cpu") != 0) {
        fprintf(stderr, "lif eval: -device %s: not supported: lif runs on CPUs\n", device);
        return LIF_EXIT_USAGE;
    }
    if (!data_dir)
        data_dir = "/usr/share/datasets/fashion-mnist";
    if ((st = lif_net_load(ckpt, &net, &ts)) != LIF_OK)
        return cli_fail_input("eval", st);
    long epoch = ts.epoch < 0 ? 0 : ts.epoch;
    if (epoch_s) {
        char *end;
        epoch = strtol(epoch_s, &end, 10);
        if (*epoch_s == '\0' || *end || epoch < 0 || epoch > 0x7fffffffL) {
            fprintf(stderr, "lif eval: -epoch: expected an integer >= 0, got '%s'\n", epoch_s);
            rc = LIF_EXIT_USAGE;
            goto done;
        }
    }
    /* -T and -b change the checkpoint's schedule; the rest are plan options */
    lif_recipe rr = *lif_net_recipe(net), *r = &rr;
    lif_plan_opts opts;
    const char *bad;
    lif_plan_opts_default(&opts);
    if ((rc = cli_apply_recipe(&args, r, "eval")) != 0 ||
        (rc = cli_apply_plan(&args, &opts, "eval")) != 0)
        goto done;
    if ((st = lif_recipe_check(r, &bad)) != LIF_OK ||
        (st = lif_plan_opts_check(&opts, &bad)) != LIF_OK ||
        (st = lif_net_set_schedule(net, r->T, 0)) != LIF_OK) {
        rc = cli_fail_key("eval", st, bad, eval_flags);
        goto done;
    }
    if ((st = lif_data_open_dir(data_dir, NULL, &test)) != LIF_OK) {
        rc = cli_fail_input("eval", st);
        goto done;
    }
    lif_layer_view first;
    lif_net_layer(net, 0, &first);
    if (first.n_in != test.rows * test.cols) {
        rc = cli_fail("eval", lif_error(LIF_ERR_INVALID_ARG,
                                        "%s: images of %dx%d, the checkpoint's network takes %d inputs",
                                        test.images_path, test.rows, test.cols, first.n_in));
        goto done;
    }
    if ((st = lif_plan_create(net, r->batch, &opts, &plan)) != LIF_OK) {
        rc = cli_fail_key("eval", st, "Tc", eval_flags);
        goto done;
    }
    lif_epoch_stats te;
    if ((st = lif_evaluate(plan, &test, (uint32_t)epoch, NULL, NULL, &te)) != LIF_OK) {
        rc = cli_fail("eval", st);
        goto done;
    }
    if (!cli_get(&args, "quiet"))
        printf("checkpoint %s: epoch %d, max_test_acc %.4f, T %d, %d test images, kernel %s\n",
               ckpt, (int)ts.epoch, ts.max_test_acc, r->T, test.n,
               lif_plan_kernel(plan, LIF_OP_LINEAR_FWD, 0));
    printf("test_loss =% .4f, test_acc =% .4f, test speed =% .4f images/s\n", te.loss, te.acc,
           te.samples / te.seconds);
    rc = LIF_EXIT_OK;
done:
    lif_plan_destroy(plan);
    lif_net_destroy(net);
    lif_dataset_free(&test);
    return rc;
}
