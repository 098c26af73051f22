/* lif eval — a checkpoint's loss and accuracy on a test set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const cli_flag eval_flags[] = { /* cli.h: the fuzz harness parses with it too */
    {"checkpoint", FLAG_OPTION, "checkpoint", "FILE", "the checkpoint to evaluate (this or --weights)"},
    {"weights", FLAG_OPTION, "weights", "FILE", "weights to evaluate instead: a safetensors file or a folder of .npy (reference names, layer.1.weight ...)"},
    {"config", FLAG_OPTION, "config", "FILE", "with --weights: the recipe (neuron, loss) they were trained with (the reference recipe)"},
    {"data-dir", FLAG_OPTION, "data-dir", "DIR", "MNIST-format IDX folder (/usr/share/datasets/fashion-mnist)"},
    {"T", FLAG_RECIPE, "T", "N", "time steps per image (the checkpoint's)"},
    {"b", FLAG_RECIPE, "batch", "N", "batch size (the checkpoint's)"},
    {"backend", FLAG_PLAN, "backend", "LIST", "kernel backends in order of preference, or auto (auto)"},
    {"threads", FLAG_PLAN, "threads", "N", "kernel threads, 0 = auto (default: OMP_NUM_THREADS, else the physical cores hwloc reports)"},
    {"bind", FLAG_PLAN, "bind", "none|cores", "pin a threaded kernel's threads one per core (none)"},
    {"tc", FLAG_PLAN, "Tc", "N|auto", "time steps per chunk, 1..T, or auto: the largest that fits the memory budget and the cache (auto)"},
    {"memory-budget", FLAG_PLAN, "memory_budget", "SIZE", "most bytes the plan's buffers may take, e.g. 64M, 1G (auto: 64M)"},
    {"recompute", FLAG_PLAN, "recompute", "auto|off|input|all", "what backward recomputes instead of keeping all T steps: nothing, the input spikes, or each chunk's forward (auto: the first that fits the memory budget)"},
    {"epoch", FLAG_OPTION, "epoch", "N", "draw the Poisson spikes of this epoch (the checkpoint's)"},
    {"device", FLAG_OPTION, "device", "DEV", "only 'cpu' is supported"},
    {"quiet", FLAG_OPTION, "quiet", NULL, "print only the result line"},
    {"json", FLAG_OPTION, "json", NULL, "print the result, the plan's kernels and the provenance as one JSON object"},
    {NULL, 0, NULL, NULL, NULL},
};

/* A net for weights saved by another framework: the recipe from config
 * (or the reference's), its layers and bias from the tensors' shapes. */
static int net_from_weights(const char *path, const char *config, lif_net **net,
                            lif_train_state *ts)
{
    lif_recipe r, shaped;
    lif_ckpt t = {0};
    lif_status st;
    int n_in, n_classes, rc = LIF_EXIT_USAGE;
    lif_recipe_default(&r);
    if (config && (st = lif_recipe_load(&r, config)) != LIF_OK)
        return cli_fail_input("eval", st);
    if ((st = lif_weights_load(path, &t)) != LIF_OK)
        return cli_fail_input("eval", st);
    shaped = r;
    if ((st = lif_weights_shape(&t, path, &shaped, &n_in, &n_classes)) != LIF_OK) {
        rc = cli_fail_input("eval", st);
        goto done;
    }
    if (config && (shaped.n_hidden != r.n_hidden || shaped.bias != r.bias ||
                   memcmp(shaped.hidden, r.hidden, sizeof r.hidden[0] * (size_t)r.n_hidden) != 0)) {
        fprintf(stderr, "lif eval: %s: its layers (%d hidden, %s) differ from those of --config %s "
                        "(%d hidden, %s)\n", path, shaped.n_hidden, shaped.bias ? "bias" : "no bias",
                config, r.n_hidden, r.bias ? "bias" : "no bias");
        goto done;
    }
    if ((st = lif_net_create(&shaped, n_in, n_classes, net)) != LIF_OK ||
        (st = lif_weights_apply(*net, &t, path)) != LIF_OK) {
        rc = cli_fail_input("eval", st);
        lif_net_destroy(*net);
        *net = NULL;
        goto done;
    }
    ts->epoch = -1;
    ts->max_test_acc = 0.0;
    rc = 0;
done:
    lif_ckpt_free(&t);
    return rc;
}

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
        printf("usage: lif eval -checkpoint FILE [-data-dir DIR] [flags]\n"
               "       lif eval --weights FILE [--config RECIPE] [-data-dir DIR] [flags]\n\n"
               "Evaluates a checkpoint, or weights from another framework (safetensors or\n"
               "a folder of .npy files with the reference's names; the layers and bias\n"
               "come from their shapes, the neuron from --config or the reference recipe),\n"
               "on the test split of DIR and prints test_loss, test_acc and the test speed.\n\nflags:\n");
        cli_print_flags(stdout, eval_flags);
        return LIF_EXIT_OK;
    }
    if (rc)
        return rc;
    const char *ckpt = cli_get(&args, "checkpoint");
    const char *data_dir = cli_get(&args, "data-dir");
    const char *device = cli_get(&args, "device");
    const char *epoch_s = cli_get(&args, "epoch");
    const char *weights = cli_get(&args, "weights"), *config = cli_get(&args, "config");
    if (!ckpt == !weights) {
        fprintf(stderr, "lif eval: %s\n", ckpt ? "-checkpoint and --weights together: give one"
                                               : "-checkpoint FILE or --weights FILE is required");
        return LIF_EXIT_USAGE;
    }
    if (config && !weights) {
        fprintf(stderr, "lif eval: --config goes with --weights (a checkpoint holds its recipe)\n");
        return LIF_EXIT_USAGE;
    }
    if (device && strcmp(device, "cpu") != 0) {
        fprintf(stderr, "lif eval: -device %s: not supported: lif runs on CPUs\n", device);
        return LIF_EXIT_USAGE;
    }
    if (!data_dir)
        data_dir = "/usr/share/datasets/fashion-mnist";
    if (ckpt && (st = lif_net_load(ckpt, &net, &ts)) != LIF_OK)
        return cli_fail_input("eval", st);
    if (weights && (rc = net_from_weights(weights, config, &net, &ts)) != 0)
        return rc;
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
    lif_layer_view first, last;
    lif_net_layer(net, 0, &first);
    lif_net_layer(net, lif_net_layers(net) - 1, &last);
    if (first.n_in != test.rows * test.cols) {
        rc = cli_fail("eval", lif_error(LIF_ERR_INVALID_ARG,
                                        "%s: images of %dx%d, %s network takes %d inputs",
                                        test.images_path, test.rows, test.cols,
                                        ckpt ? "the checkpoint's" : "the weights'", first.n_in));
        goto done;
    }
    if (last.n_out != test.n_classes) {
        rc = cli_fail("eval", lif_error(LIF_ERR_INVALID_ARG,
                                        "%s: the %s network has %d output classes, the "
                                        "data set %s has %d", ckpt ? ckpt : weights,
                                        ckpt ? "checkpoint's" : "weights'", last.n_out,
                                        test.labels_path, test.n_classes));
        goto done;
    }
    /* --backend auto: the plan from wisdom, else the estimate (sources: LIF_VERBOSE=dispatch) */
    cli_tuning tuning;
    cli_wisdom_apply(&tuning, &opts, cli_plan_flag_given(&args, "threads"),
                     cli_plan_flag_given(&args, "Tc"), r, first.n_in, last.n_out,
                     lif_workload_density(&test, 0));
    if ((st = lif_plan_create(net, r->batch, &opts, &plan)) != LIF_OK) {
        rc = cli_fail_plan("eval", st, eval_flags);
        goto done;
    }
    cli_wisdom_print(NULL, &tuning, plan, lif_net_layers(net));
    lif_epoch_stats te;
    if ((st = lif_evaluate(plan, &test, (uint32_t)epoch, NULL, NULL, &te)) != LIF_OK) {
        rc = cli_fail("eval", st);
        goto done;
    }
    if (cli_get(&args, "json")) {
        json_t *j = json_object();
        if (!j) {
            rc = cli_fail("eval", lif_error(LIF_ERR_NOMEM, "out of memory writing JSON"));
            goto done;
        }
        json_object_set_new(j, "test_loss", json_real(te.loss));
        json_object_set_new(j, "test_acc", json_real(te.acc));
        json_object_set_new(j, "test_images", json_integer(te.samples));
        json_object_set_new(j, "seconds", json_real(te.seconds));
        json_object_set_new(j, "test_images_per_s", json_real(te.samples / te.seconds));
        json_object_set_new(j, "checkpoint", cli_jstr(ckpt));
        json_object_set_new(j, "weights", cli_jstr(weights));
        json_object_set_new(j, "checkpoint_epoch", ckpt ? json_integer(ts.epoch) : json_null());
        json_object_set_new(j, "spike_epoch", json_integer(epoch));
        json_object_set_new(j, "T", json_integer(r->T));
        json_object_set_new(j, "batch", json_integer(r->batch));
        json_object_set_new(j, "data_dir", json_string(data_dir));
        json_object_set_new(j, "command", cli_command_line());
        json_object_set_new(j, "plan", cli_plan_json(plan, lif_net_layers(net)));
        json_object_set_new(j, "provenance", cli_provenance());
        rc = cli_print_json(j);
        json_decref(j);
        goto done;
    }
    if (!cli_get(&args, "quiet") && ckpt)
        printf("checkpoint %s: epoch %d, max_test_acc %.4f, T %d, %d test images, kernel %s\n",
               ckpt, (int)ts.epoch, ts.max_test_acc, r->T, test.n,
               lif_plan_kernel(plan, LIF_OP_LINEAR_FWD, 0));
    else if (!cli_get(&args, "quiet"))
        printf("weights %s: %d layer%s, epoch %ld's spikes, T %d, %d test images, kernel %s\n",
               weights, lif_net_layers(net), lif_net_layers(net) > 1 ? "s" : "", epoch, r->T,
               test.n, lif_plan_kernel(plan, LIF_OP_LINEAR_FWD, 0));
    printf("test_loss =% .4f, test_acc =% .4f, test speed =% .4f images/s\n", te.loss, te.acc,
           te.samples / te.seconds);
    rc = LIF_EXIT_OK;
done:
    lif_plan_destroy(plan);
    lif_net_destroy(net);
    lif_dataset_free(&test);
    return rc;
}
