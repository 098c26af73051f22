/* lif train — the reference script's training loop, flag for flag. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

static const cli_flag train_flags[] = {
    /* the reference script's flags (single or double dash) */
    {"T", FLAG_RECIPE, "T", "N", "simulation time steps per image (100)"},
    {"device", FLAG_OPTION, "device", "DEV", "only 'cpu' is supported (lif is a CPU engine)"},
    {"b", FLAG_RECIPE, "batch", "N", "batch size (64)"},
    {"epochs", FLAG_RECIPE, "epochs", "N", "number of epochs (100)"},
    {"j", FLAG_PLAN, "workers", "N", "the reference script's loader workers (4): recorded; lif loads in the step, cores go to --threads"},
    {"data-dir", FLAG_OPTION, "data-dir", "DIR", "MNIST-format IDX folder (" DEFAULT_DATA_DIR ")"},
    {"out-dir", FLAG_OPTION, "out-dir", "DIR", "where run folders go (./logs)"},
    {"resume", FLAG_OPTION, "resume", "FILE", "continue from a checkpoint (.lif)"},
    {"amp", FLAG_OPTION, "amp", NULL, "mixed precision: bf16 linear steps on the onednn backend, float32 accumulation and master weights (needs AVX512_BF16)"},
    {"opt", FLAG_RECIPE, "opt", "adam|sgd", "optimizer (adam)"},
    {"momentum", FLAG_RECIPE, "momentum", "M", "SGD momentum (0.9)"},
    {"lr", FLAG_RECIPE, "lr", "LR", "learning rate (1e-3)"},
    {"tau", FLAG_RECIPE, "tau", "TAU", "LIF membrane time constant, > 1 (2.0)"},
    /* lif's own */
    {"config", FLAG_OPTION, "config", "FILE", "recipe JSON (configs/lif_fc_mnist.json); flags override it"},
    {"backend", FLAG_PLAN, "backend", "LIST", "kernel backends in order of preference, e.g. simd,scalar, or auto (auto)"},
    {"seed", FLAG_RECIPE, "seed", "N", "seed of init, shuffling and spikes, 0..4294967295 (0)"},
    {"threads", FLAG_PLAN, "threads", "N", "kernel threads, 0 = auto (default: OMP_NUM_THREADS, else the physical cores hwloc reports)"},
    {"bind", FLAG_PLAN, "bind", "none|cores", "pin a threaded kernel's threads one per core (none)"},
    {"hidden", FLAG_RECIPE, "hidden", "N[,N]", "hidden Linear+LIF layers, e.g. 400 (none)"},
    {"bias", FLAG_RECIPE, "bias", NULL, "give the Linear layers a bias"},
    {"tc", FLAG_PLAN, "Tc", "N", "time steps per chunk, 0 = T (0)"},
    {"v-threshold", FLAG_RECIPE, "v_threshold", "V", "firing threshold (1.0)"},
    {"v-reset", FLAG_RECIPE, "v_reset", "V|none", "hard-reset value, or none for soft reset (0.0)"},
    {"decay-input", FLAG_RECIPE, "decay_input", "BOOL", "input decays with tau (true)"},
    {"detach-reset", FLAG_RECIPE, "detach_reset", NULL, "no gradient through the reset"},
    {"surrogate", FLAG_RECIPE, "surrogate", "atan|sigmoid", "surrogate gradient (atan)"},
    {"alpha", FLAG_RECIPE, "alpha", "A", "surrogate sharpness (atan 2, sigmoid 4)"},
    {"loss", FLAG_RECIPE, "loss", "mse|ce", "loss on the output firing rate (mse)"},
    {"quiet", FLAG_OPTION, "quiet", NULL, "print only the per-epoch lines"},
    {NULL, 0, NULL, NULL, NULL},
};

static void train_help(void)
{
    printf("usage: lif train [flags]\n\n"
           "Trains Poisson encoder -> Linear -> LIF (784 -> 10, no bias by default) with BPTT\n"
           "and a surrogate gradient; flags are those of SpikingJelly's lif_fc_mnist.py (one or\n"
           "two dashes) plus lif's own. Writes <out-dir>/T{T}_b{b}_{opt}_lr{lr}/: args.txt,\n"
           "log.jsonl, timing.jsonl, checkpoint_latest.lif, checkpoint_max.lif, v_t_array.npy,\n"
           "s_t_array.npy.\n\nflags:\n");
    cli_print_flags(stdout, train_flags);
    printf("\nexit status: 0 done, 2 bad flag or input file, 1 run-time failure\n");
}

/* Progress on stdout: a bar redrawn in place on a terminal, a plain line
 * per quarter otherwise. */
typedef struct progress {
    const char *what;
    int tty, quiet, last_quarter;
} progress;

static void on_progress(void *ctx, long done, long total, double seconds)
{
    progress *p = ctx;
    if (p->quiet)
        return;
    double speed = seconds > 0 ? done / seconds : 0.0;
    if (p->tty) {
        int width = 30, fill = (int)(width * done / total);
        printf("\r%-5s [%.*s%*s] %ld/%ld %.0f images/s", p->what, fill,
               "==============================", width - fill, "", done, total, speed);
        if (done == total)
            printf("\r%*s\r", 80, "");
        fflush(stdout);
        return;
    }
    int quarter = (int)(4 * done / total);
    if (quarter > p->last_quarter && done < total) {
        p->last_quarter = quarter;
        printf("%s: %ld/%ld images, %.0f images/s\n", p->what, done, total, speed);
        fflush(stdout);
    }
}

static int mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return -1;
    struct stat sb;
    return stat(buf, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
}

/* 1 if dir holds a checkpoint of an earlier run. */
static int has_checkpoint(const char *dir)
{
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/checkpoint_latest.lif", dir);
    if (stat(path, &sb) == 0)
        return 1;
    snprintf(path, sizeof path, "%s/checkpoint_max.lif", dir);
    return stat(path, &sb) == 0;
}

/* Keeps only the lines of a JSON Lines log whose "epoch" is <= last (those
 * a resumed checkpoint already holds), so a redone epoch is not logged
 * twice. Rewrites the file atomically; a missing log is fine. */
static lif_status trim_log(const char *path, int last)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return errno == ENOENT ? LIF_OK
                               : lif_error(LIF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    lif_atomic_file out;
    lif_status st = lif_atomic_open(path, &out);
    if (st != LIF_OK) {
        fclose(in);
        return st;
    }
    char line[4096];
    while (fgets(line, sizeof line, in)) {
        int epoch;
        if (sscanf(line, "{\"epoch\": %d", &epoch) == 1 && epoch > last)
            continue;
        fputs(line, out.f);
    }
    int bad = ferror(in) != 0;
    fclose(in);
    if (bad) {
        lif_atomic_abort(&out);
        return lif_error(LIF_ERR_IO, "%s: read failed", path);
    }
    return lif_atomic_commit(&out);
}

/* Opens run_dir/name for this run's lines: fresh, or on resume appended
 * after the lines of the epochs the checkpoint holds. Prints the error and
 * returns NULL on failure. */
static FILE *open_log(const char *run_dir, const char *name, int resume, int last_epoch)
{
    char path[4200];
    FILE *f = NULL;
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    if (resume && trim_log(path, last_epoch) != LIF_OK)
        fprintf(stderr, "lif train: %s\n", lif_last_error());
    else if (!(f = fopen(path, resume ? "a" : "w")))
        fprintf(stderr, "lif train: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

/* On resume, the checkpoint's recipe rules; only the epochs may change
 * (the plan options — backend, threads, bind, -j, --tc — are not in a recipe). */
static int resumable_key(const char *key) { return strcmp(key, "epochs") == 0; }

static int reconcile_resume(const cli_args *args, lif_recipe *ck)
{
    for (int i = 0; i < args->n; i++) {
        const cli_arg *a = &args->a[i];
        if (a->flag->kind != FLAG_RECIPE)
            continue;
        const char *val = a->value ? a->value : "1";
        lif_recipe probe = *ck;
        if (lif_recipe_set(&probe, a->flag->key, val, a->typed) != LIF_OK) {
            fprintf(stderr, "lif train: %s\n", lif_last_error());
            return LIF_EXIT_USAGE;
        }
        if (resumable_key(a->flag->key)) {
            *ck = probe;
            continue;
        }
        char *x = lif_recipe_to_json(ck), *y = lif_recipe_to_json(&probe);
        int same = x && y && strcmp(x, y) == 0;
        free(x);
        free(y);
        if (!same) {
            fprintf(stderr, "lif train: %s %s differs from the checkpoint's recipe; a resumed run "
                            "keeps its recipe (only -epochs may change, and the run options --backend, "
                            "--threads, --bind, -j, --tc)\n",
                    a->typed, val);
            return LIF_EXIT_USAGE;
        }
    }
    return 0;
}

/* -amp: the bf16 linear kernels are the onednn backend's. Refused, with
 * the reason, when this build has no onednn backend or its bf16 kernel
 * cannot run here (no AVX512_BF16, or LIF_MAX_CPU_ISA / ONEDNN_MAX_CPU_ISA
 * below it). */
static int amp_check(void)
{
    const lif_backend_i *b = lif_backend_find("onednn");
    if (!b) {
        fprintf(stderr, "lif train: -amp: not supported by this build: the bf16 linear steps "
                        "are the onednn backend's, built without oneDNN (libdnnl-dev, "
                        "-DLIF_WITH_ONEDNN=ON); drop -amp to train in float32\n");
        return LIF_EXIT_USAGE;
    }
    const char *why = "";
    if (!lif_backend_available(b, &why)) {
        fprintf(stderr, "lif train: -amp: not supported here: the onednn backend cannot run: "
                        "%s; drop -amp to train in float32\n", why);
        return LIF_EXIT_USAGE;
    }
    lif_problem p = {.op = LIF_OP_LINEAR_FWD, .T = 1, .Tc = 1, .B = 1, .n_in = 1, .n_out = 1,
                     .threads = 1, .amp = 1};
    for (size_t j = 0; j < b->n_kernels; j++) {
        const lif_kernel_i *k = &b->kernels[j];
        if (k->op == LIF_OP_LINEAR_FWD && strcmp(k->variant, "bf16") == 0) {
            if (!k->supports || k->supports(&p, &why))
                return 0;
            fprintf(stderr, "lif train: -amp: not supported on this CPU: bf16 linear steps "
                            "need AVX512_BF16: %s; drop -amp to train in float32\n", why);
            return LIF_EXIT_USAGE;
        }
    }
    fprintf(stderr, "lif train: -amp: the onednn backend has no bf16 kernel\n");
    return LIF_EXIT_USAGE;
}

/* After binding: every linear op of every layer must be a bf16 kernel (a
 * --backend list without onednn binds float32 ones). */
static int amp_bound(const lif_plan *plan, int layers, const char *backend)
{
    static const lif_op ops[] = {LIF_OP_LINEAR_FWD, LIF_OP_LINEAR_BWD_W, LIF_OP_LINEAR_BWD_X};
    for (int l = 0; l < layers; l++)
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            if (ops[i] == LIF_OP_LINEAR_BWD_X && l == 0)
                continue; /* the first layer has no input gradient */
            const char *k = lif_plan_kernel(plan, ops[i], l);
            if (!strstr(k, "/onednn/bf16")) {
                fprintf(stderr, "lif train: -amp: --backend %s binds %s, a float32 kernel: the "
                                "bf16 kernels are onednn's; put onednn in the list (e.g. "
                                "--backend onednn,simd) or leave --backend out\n", backend, k);
                return LIF_EXIT_USAGE;
            }
        }
    return 0;
}

static void print_namespace(FILE *f, const lif_recipe *r, const lif_plan_opts *o,
                            const char *device, const char *data_dir, const char *out_dir,
                            const char *resume)
{
    fprintf(f, "Namespace(T=%d, device='%s', b=%d, epochs=%d, j=%d, data_dir='%s', out_dir='%s', "
               "resume=%s%s%s, amp=%s, opt='%s', momentum=%g, lr=%g, tau=%g, backend='%s', "
               "seed=%u, threads=%d, bind='%s', hidden=[",
            r->T, device, r->batch, r->epochs, o->workers, data_dir, out_dir, resume ? "'" : "",
            resume ? resume : "None", resume ? "'" : "", o->amp ? "True" : "False",
            r->opt == LIF_OPT_SGD ? "sgd" : "adam",
            r->momentum, r->lr, (double)r->neuron.tau, o->backend, r->seed, o->threads,
            o->bind == LIF_BIND_CORES ? "cores" : "none");
    for (int i = 0; i < r->n_hidden; i++)
        fprintf(f, "%s%d", i ? ", " : "", r->hidden[i]);
    fprintf(f, "])\n");
}

/* The reference script's closing output: the first test image's rates and
 * the output layer's V and S over time, as .npy files in the run folder. */
static int final_trace(lif_plan *plan, const lif_dataset *test, uint32_t epoch, int T,
                       const char *run_dir)
{
    int n = test->n_classes, rc = LIF_EXIT_FAIL;
    uint32_t id = 0;
    lif_batch bt = {.B = 1, .pixels = test->images, .labels = test->labels, .ids = &id,
                    .epoch = epoch, .domain = 1, .spikes = NULL};
    lif_result res;
    lif_status st;
    size_t count = 0, shape[2] = {(size_t)T, n};
    char path[4200];
    float *v = malloc((size_t)T * n * sizeof *v), *s = malloc((size_t)T * n * sizeof *s);
    if (!v || !s) {
        rc = cli_fail("train", lif_error(LIF_ERR_NOMEM, "out of memory for the trace"));
        goto fail;
    }
    if ((st = lif_plan_forward(plan, &bt, &res)) != LIF_OK ||
        (st = lif_plan_trace(plan, 0, v, s)) != LIF_OK) {
        rc = cli_fail("train", st);
        goto fail;
    }
    const float *rate = lif_plan_buffer(plan, "rate", 0, &count);
    printf("Firing rate: [[");
    for (size_t o = 0; o < count; o++)
        printf("%s%g", o ? " " : "", (double)rate[o]);
    printf("]]\n");
    snprintf(path, sizeof path, "%s/v_t_array.npy", run_dir);
    if ((st = lif_npy_write_f32(path, v, 2, shape)) != LIF_OK) {
        rc = cli_fail("train", st);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/s_t_array.npy", run_dir);
    if ((st = lif_npy_write_f32(path, s, 2, shape)) != LIF_OK) {
        rc = cli_fail("train", st);
        goto fail;
    }
    rc = LIF_EXIT_OK;
fail:
    free(v);
    free(s);
    return rc;
}

/* The kernels the plan runs, once the first batch's spike densities have
 * settled the choice between dense and event-driven linear kernels. */
static void print_kernels(const lif_plan *plan)
{
    static const lif_op ops[] = {LIF_OP_ENCODE, LIF_OP_LINEAR_FWD, LIF_OP_LIF_FWD,
                                 LIF_OP_LIF_BWD, LIF_OP_LINEAR_BWD_W, LIF_OP_OPTIM};
    printf("kernels:");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        printf("%s %s", i ? "," : "", lif_plan_kernel(plan, ops[i], 0));
    printf("\n\n");
}

static void escape_time(char *buf, size_t size, double seconds_left)
{
    time_t when = time(NULL) + (time_t)seconds_left;
    struct tm tm;
    localtime_r(&when, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

int cmd_train(int argc, char **argv)
{
    cli_args args;
    lif_recipe r;
    lif_plan_opts opts;
    lif_net *net = NULL;
    lif_plan *plan = NULL;
    lif_dataset train = {0}, test = {0};
    lif_train_state ts = {.epoch = -1, .max_test_acc = 0.0};
    FILE *log = NULL, *timing = NULL;
    lif_status st;
    int rc = cli_parse(argc, argv, train_flags, "train", &args);
    if (rc == -1) {
        train_help();
        return LIF_EXIT_OK;
    }
    if (rc)
        return rc;

    const char *device = cli_get(&args, "device");
    if (device && strcmp(device, "cpu") != 0) {
        fprintf(stderr, "lif train: -device %s: not supported: lif runs on CPUs; use -device cpu "
                        "(or leave it out)\n", device);
        return LIF_EXIT_USAGE;
    }
    int amp = cli_get(&args, "amp") != NULL;
    if (amp && (rc = amp_check()) != 0)
        return rc;
    int quiet = cli_get(&args, "quiet") != NULL;
    const char *data_dir = cli_get(&args, "data-dir");
    const char *out_dir = cli_get(&args, "out-dir");
    const char *resume = cli_get(&args, "resume");
    const char *config = cli_get(&args, "config");
    if (!data_dir)
        data_dir = DEFAULT_DATA_DIR;
    if (!out_dir)
        out_dir = "./logs";

    if (resume && config) {
        fprintf(stderr, "lif train: --config and -resume together: a resumed run keeps its "
                        "checkpoint's recipe; drop --config\n");
        return LIF_EXIT_USAGE;
    }
    const char *bad;
    lif_recipe_default(&r);
    lif_plan_opts_default(&opts);
    if (config && ((st = lif_recipe_load(&r, config)) != LIF_OK ||
                   (st = lif_plan_opts_load(&opts, config)) != LIF_OK))
        return cli_fail_input("train", st);
    if ((rc = cli_apply_recipe(&args, &r, "train")) != 0 ||
        (rc = cli_apply_plan(&args, &opts, "train")) != 0)
        return rc;
    if (amp)
        opts.amp = 1;
    /* A resumed run's recipe is the checkpoint's, validated below. */
    if (!resume && (st = lif_recipe_check(&r, &bad)) != LIF_OK)
        return cli_fail_key("train", st, bad, train_flags);
    if ((st = lif_plan_opts_check(&opts, &bad)) != LIF_OK)
        return cli_fail_key("train", st, bad, train_flags);

    if (resume) {
        if ((st = lif_net_load(resume, &net, &ts)) != LIF_OK)
            return cli_fail_input("train", st);
        lif_recipe nr = *lif_net_recipe(net);
        if ((rc = reconcile_resume(&args, &nr)) != 0)
            goto done;
        if ((st = lif_recipe_check(&nr, &bad)) != LIF_OK ||
            (st = lif_net_set_schedule(net, 0, nr.epochs)) != LIF_OK) {
            rc = cli_fail_key("train", st, bad, train_flags);
            goto done;
        }
        r = nr;
    }

    if ((st = lif_data_open_dir(data_dir, &train, &test)) != LIF_OK) {
        rc = cli_fail_input("train", st);
        goto done;
    }
    int n_in = train.rows * train.cols;
    if (test.rows * test.cols != n_in) {
        rc = cli_fail("train", lif_error(LIF_ERR_FORMAT, "%s: test images are %dx%d, training images %dx%d",
                                         test.images_path, test.rows, test.cols, train.rows, train.cols));
        goto done;
    }
    if (!net && (st = lif_net_create(&r, n_in, 10, &net)) != LIF_OK) {
        rc = cli_fail("train", st);
        goto done;
    }
    lif_layer_view first, last;
    lif_net_layer(net, 0, &first);
    lif_net_layer(net, lif_net_layers(net) - 1, &last);
    if (first.n_in != n_in || last.n_out != train.n_classes) {
        rc = cli_fail("train", lif_error(LIF_ERR_INVALID_ARG,
                                         "%s: the checkpoint's network maps %d inputs to %d classes, "
                                         "the data set has %d-pixel images in %d classes",
                                         resume, first.n_in, last.n_out, n_in, train.n_classes));
        goto done;
    }
    if ((st = lif_plan_create(net, r.batch, &opts, &plan)) != LIF_OK) {
        rc = cli_fail_key("train", st, "Tc", train_flags);
        goto done;
    }
    if (amp && (rc = amp_bound(plan, lif_net_layers(net), opts.backend)) != 0)
        goto done;
    /* the Namespace line and args.txt record the threads the plan runs
     * (--threads 0 resolved); Tc stays as given (0 = T) */
    opts.threads = lif_plan_options(plan)->threads;

    char name[256], run_dir[4096], path[4200];
    lif_recipe_run_name(&r, name, sizeof name);
    if (snprintf(run_dir, sizeof run_dir, "%s/%s", out_dir, name) >= (int)sizeof run_dir - 32) {
        fprintf(stderr, "lif train: -out-dir is too long (%zu characters)\n", strlen(out_dir));
        rc = LIF_EXIT_USAGE;
        goto done;
    }
    if (resume && !cli_get(&args, "out-dir")) {
        /* continue in the folder that holds the checkpoint */
        const char *slash = strrchr(resume, '/');
        if (slash)
            snprintf(run_dir, sizeof run_dir, "%.*s", (int)(slash - resume), resume);
        else
            snprintf(run_dir, sizeof run_dir, ".");
    } else if (!resume) {
        /* never overwrite an earlier run's checkpoints: take the next free
         * name, <run>_2, <run>_3, ... */
        size_t base = strlen(run_dir);
        for (int k = 2; has_checkpoint(run_dir); k++)
            snprintf(run_dir + base, sizeof run_dir - base, "_%d", k);
    }
    if (mkdirs(run_dir) != 0) {
        fprintf(stderr, "lif train: cannot create the output folder %s: %s\n", run_dir, strerror(errno));
        rc = LIF_EXIT_FAIL;
        goto done;
    }
    if (!quiet) {
        print_namespace(stdout, &r, &opts, device ? device : "cpu", data_dir, out_dir, resume);
        printf("%s\n", run_dir);
        printf("data: %d training and %d test images of %dx%d from %s\n", train.n, test.n,
               train.rows, train.cols, data_dir);
        fflush(stdout);
    }
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    FILE *af = fopen(path, "w");
    char *json = lif_recipe_to_json(&r), *ojson = lif_plan_opts_to_json(&opts);
    if (!af || !json || !ojson) {
        fprintf(stderr, "lif train: cannot write %s: %s\n", path, strerror(errno));
        if (af)
            fclose(af);
        free(json);
        free(ojson);
        rc = LIF_EXIT_FAIL;
        goto done;
    }
    print_namespace(af, &r, &opts, device ? device : "cpu", data_dir, out_dir, resume);
    fprintf(af, "%s\n%s\n", json, ojson);
    free(json);
    free(ojson);
    if (fclose(af) != 0) {
        fprintf(stderr, "lif train: cannot write %s: %s\n", path, strerror(errno));
        rc = LIF_EXIT_FAIL;
        goto done;
    }
    if (!(log = open_log(run_dir, "log.jsonl", resume != NULL, ts.epoch)) ||
        !(timing = open_log(run_dir, "timing.jsonl", resume != NULL, ts.epoch))) {
        rc = LIF_EXIT_FAIL;
        goto done;
    }

    int tty = isatty(STDOUT_FILENO);
    int first_epoch = ts.epoch + 1;
    for (int epoch = first_epoch; epoch < r.epochs; epoch++) {
        lif_epoch_stats tr, te;
        progress pt = {"train", tty, quiet, 0}, pe = {"test", tty, quiet, 0};
        double t0 = lif_now();
        if ((st = lif_train_epoch(plan, &train, (uint32_t)epoch, on_progress, &pt, &tr)) != LIF_OK ||
            (st = lif_evaluate(plan, &test, (uint32_t)epoch, on_progress, &pe, &te)) != LIF_OK) {
            rc = cli_fail("train", st);
            goto done;
        }
        int better = te.acc > ts.max_test_acc;
        if (better)
            ts.max_test_acc = te.acc;
        ts.epoch = epoch;
        double train_speed = tr.samples / tr.seconds, test_speed = te.samples / te.seconds;
        /* checkpoint_latest is the commit point and is written last: if
         * anything before it fails, a resume redoes this epoch and rewrites
         * checkpoint_max and the log lines identically. */
        if (better) {
            snprintf(path, sizeof path, "%s/checkpoint_max.lif", run_dir);
            if ((st = lif_net_save(net, &ts, path)) != LIF_OK) {
                rc = cli_fail("train", st);
                goto done;
            }
        }
        fprintf(log, "{\"epoch\": %d, \"train_loss\": %.17g, \"train_acc\": %.17g, "
                     "\"test_loss\": %.17g, \"test_acc\": %.17g, \"max_test_acc\": %.17g}\n",
                epoch, tr.loss, tr.acc, te.loss, te.acc, ts.max_test_acc);
        fprintf(timing, "{\"epoch\": %d, \"train_seconds\": %.6f, \"test_seconds\": %.6f, "
                        "\"train_images_per_s\": %.3f, \"test_images_per_s\": %.3f}\n",
                epoch, tr.seconds, te.seconds, train_speed, test_speed);
        if (fflush(log) != 0 || fflush(timing) != 0) {
            fprintf(stderr, "lif train: cannot write the logs in %s: %s\n", run_dir, strerror(errno));
            rc = LIF_EXIT_FAIL;
            goto done;
        }
        snprintf(path, sizeof path, "%s/checkpoint_latest.lif", run_dir);
        if ((st = lif_net_save(net, &ts, path)) != LIF_OK) {
            rc = cli_fail("train", st);
            goto done;
        }
        printf("epoch =%d, train_loss =% .4f, train_acc =% .4f, test_loss =% .4f, test_acc =% .4f, "
               "max_test_acc =% .4f\n", epoch, tr.loss, tr.acc, te.loss, te.acc, ts.max_test_acc);
        printf("train speed =% .4f images/s, test speed =% .4f images/s\n", train_speed, test_speed);
        char when[64];
        escape_time(when, sizeof when, (lif_now() - t0) * (r.epochs - epoch - 1));
        printf("escape time = %s\n\n", when);
        if (!quiet && epoch == first_epoch)  /* the first batch has settled the kernels */
            print_kernels(plan);
        fflush(stdout);
    }
    rc = final_trace(plan, &test, (uint32_t)(ts.epoch < 0 ? 0 : ts.epoch), r.T, run_dir);
done:
    if (log && fclose(log) != 0 && rc == LIF_EXIT_OK)
        rc = LIF_EXIT_FAIL;
    if (timing && fclose(timing) != 0 && rc == LIF_EXIT_OK)
        rc = LIF_EXIT_FAIL;
    lif_plan_destroy(plan);
    lif_net_destroy(net);
    lif_dataset_free(&train);
    lif_dataset_free(&test);
    return rc;
}
