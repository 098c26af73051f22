/* lif train — the reference script's training loop, flag for flag. */
#define _DEFAULT_SOURCE /* flock */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

const cli_flag train_flags[] = { /* cli.h: the fuzz harness parses with it too */
    /* the reference script's flags (single or double dash) */
    {"T", FLAG_RECIPE, "T", "N", "simulation time steps per image (100)"},
    {"device", FLAG_OPTION, "device", "DEV", "only 'cpu' is supported (lif is a CPU engine)"},
    {"b", FLAG_RECIPE, "batch", "N", "batch size (64)"},
    {"epochs", FLAG_RECIPE, "epochs", "N", "number of epochs (100)"},
    {"j", FLAG_PLAN, "workers", "N", "the reference script's loader workers (4): recorded; lif loads in the step, cores go to --threads"},
    {"data-dir", FLAG_OPTION, "data-dir", "DIR", "MNIST-format IDX folder (" DEFAULT_DATA_DIR ")"},
    {"out-dir", FLAG_OPTION, "out-dir", "DIR", "where run folders go (./logs)"},
    {"resume", FLAG_OPTION, "resume", "FILE", "continue from a checkpoint (.lif)"},
    {"init", FLAG_OPTION, "init", "FILE", "start from these weights: safetensors or a folder of .npy (reference names; shapes must match the recipe)"},
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
    {"tc", FLAG_PLAN, "Tc", "N|auto", "time steps per chunk, 1..T, or auto: the largest that fits the memory budget and the cache (auto)"},
    {"memory-budget", FLAG_PLAN, "memory_budget", "SIZE", "most bytes the plan's buffers may take, e.g. 64M, 1G (auto: 64M)"},
    {"recompute", FLAG_PLAN, "recompute", "auto|off|input|all", "what backward recomputes instead of keeping all T steps: nothing, the input spikes, or each chunk's forward (auto: the first that fits the memory budget)"},
    {"v-threshold", FLAG_RECIPE, "v_threshold", "V", "firing threshold (1.0)"},
    {"v-reset", FLAG_RECIPE, "v_reset", "V|none", "hard-reset value, or none for soft reset (0.0)"},
    {"decay-input", FLAG_RECIPE, "decay_input", "BOOL", "input decays with tau (true)"},
    {"detach-reset", FLAG_RECIPE, "detach_reset", NULL, "no gradient through the reset"},
    {"surrogate", FLAG_RECIPE, "surrogate", "atan|sigmoid", "surrogate gradient (atan)"},
    {"alpha", FLAG_RECIPE, "alpha", "A", "surrogate sharpness (atan 2, sigmoid 4)"},
    {"loss", FLAG_RECIPE, "loss", "mse|ce", "loss on the output firing rate (mse)"},
    {"quiet", FLAG_OPTION, "quiet", NULL, "print only the run folder and the per-epoch lines (no progress)"},
    {NULL, 0, NULL, NULL, NULL},
};

static void train_help(void)
{
    printf("usage: lif train [flags]\n\n"
           "Trains Poisson encoder -> Linear -> LIF (784 -> 10, no bias by default) with BPTT\n"
           "and a surrogate gradient; flags are those of SpikingJelly's lif_fc_mnist.py (one or\n"
           "two dashes) plus lif's own. Writes <out-dir>/T{T}_b{b}_{opt}_lr{lr}/: args.txt,\n"
           "recipe.json, run.json, log.jsonl, timing.jsonl, checkpoint_latest.lif,\n"
           "checkpoint_max.lif, v_t_array.npy, s_t_array.npy (lif plot RUN_DIR draws them).\n\nflags:\n");
    cli_print_flags(stdout, train_flags);
    printf("\nexit status: 0 done, 2 bad flag or input file, 1 run-time failure, 130/143 stopped by\n"
           "SIGINT/SIGTERM (after the running batch; checkpoint_latest.lif saved, a second\n"
           "signal exits at once)\n");
}

/* Progress on stderr: on a terminal a bar redrawn at most 10 times a
 * second with images/s, the ETA of the pass and its running loss; else a
 * plain line per quarter. After the first batch of the first epoch (when
 * the spike densities have settled the kernels) the kernels line goes to
 * stdout. */
typedef struct progress {
    const char *what;
    int tty, quiet, last_quarter;
    double last_draw;
    const lif_plan *kernels_of;  /* print its kernels at the first call, then NULL */
} progress;

static void print_kernels(const lif_plan *plan);

static void on_progress(void *ctx, long done, long total, double seconds, double loss)
{
    progress *p = ctx;
    if (p->quiet)
        return;
    if (p->kernels_of) {
        print_kernels(p->kernels_of);
        p->kernels_of = NULL;
    }
    double speed = seconds > 0 ? done / seconds : 0.0;
    if (p->tty) {
        double now = lif_now();
        if (done < total && now - p->last_draw < 0.1)
            return;
        p->last_draw = now;
        if (done == total) {
            fprintf(stderr, "\r%*s\r", 100, "");
            return;
        }
        long eta = speed > 0 ? (long)((total - done) / speed + 0.5) : 0;
        int width = 30, fill = (int)(width * done / total);
        fprintf(stderr, "\r%-5s [%.*s%*s] %ld/%ld %.0f images/s, ETA %ld:%02ld, loss %.4f  ",
                p->what, fill, "==============================", width - fill, "", done, total,
                speed, eta / 60, eta % 60, loss);
        return;
    }
    int quarter = (int)(4 * done / total);
    if (quarter > p->last_quarter && done < total) {
        p->last_quarter = quarter;
        fprintf(stderr, "%s: %ld/%ld images, %.0f images/s, loss %.4f\n", p->what, done, total,
                speed, loss);
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

/* Locks dir for the life of this process: flock on the folder itself, which
 * the kernel drops when the process ends, however it ends (kill -9 too).
 * Returns the descriptor, or -1 with errno (EWOULDBLOCK: another process
 * holds it). */
static int lock_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Locks run_dir; prints why and returns -1 when it cannot. */
static int lock_run_dir(const char *run_dir)
{
    int fd = lock_dir(run_dir);
    if (fd >= 0)
        return fd;
    if (errno == EWOULDBLOCK)
        fprintf(stderr, "lif train: %s is in use by another lif run (it holds the folder's lock); "
                        "wait for that run to end\n", run_dir);
    else
        fprintf(stderr, "lif train: cannot lock the run folder %s: %s\n", run_dir, strerror(errno));
    return -1;
}

/* Claims a run folder for a fresh run: makes out_dir, then creates run_dir
 * itself with mkdir, which only one process can do; when it exists (an
 * earlier run, or one running now) takes the next name, <run>_2, <run>_3,
 * ... Returns the lock's descriptor (lock_dir), or -1 (message printed). */
static int claim_new_run_dir(char *run_dir, size_t size, const char *out_dir)
{
    if (mkdirs(out_dir) != 0) {
        fprintf(stderr, "lif train: cannot create the output folder %s: %s\n", out_dir,
                strerror(errno));
        return -1;
    }
    size_t base = strlen(run_dir);
    for (int k = 2; k < 100000; k++) {
        if (mkdir(run_dir, 0777) == 0)
            return lock_run_dir(run_dir);
        if (errno != EEXIST) {
            fprintf(stderr, "lif train: cannot create the run folder %s: %s\n", run_dir,
                    strerror(errno));
            return -1;
        }
        snprintf(run_dir + base, size - base, "_%d", k);
    }
    fprintf(stderr, "lif train: %s: no free run folder name\n", out_dir);
    return -1;
}

/* Removes the temporary files that interrupted saves of a run left in
 * run_dir (<file>.tmp.XXXXXX of the files lif train writes, lif/atomic.h).
 * Only called with the folder's lock held, so no other run is writing
 * them. Returns how many were removed. */
static int clean_stale_temps(const char *run_dir)
{
    static const char *const files[] = {"checkpoint_latest.lif", "checkpoint_max.lif",
                                        "log.jsonl", "timing.jsonl", "args.txt",
                                        "v_t_array.npy", "s_t_array.npy"};
    DIR *d = opendir(run_dir);
    int removed = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            size_t n = strlen(files[i]);
            if (strncmp(e->d_name, files[i], n) != 0 || strncmp(e->d_name + n, ".tmp.", 5) != 0 ||
                e->d_name[n + 5] == '\0')
                continue;
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", run_dir, e->d_name);
            removed += unlink(path) == 0;
            break;
        }
    closedir(d);
    return removed;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* The recipe JSON of r with its epochs set to `epochs` (malloc'd). */
static char *recipe_json_at(const lif_recipe *r, int epochs)
{
    lif_recipe x = *r;
    x.epochs = epochs;
    return lif_recipe_to_json(&x);
}

/* A resumed run may write into run_dir only if it holds this run: a
 * checkpoint_latest.lif there has the same recipe (epochs aside) and seed,
 * and a log line of the checkpoint's epoch has its max_test_acc. Prints why
 * and returns LIF_EXIT_USAGE when not; 0 when it may. */
static int check_same_run(const char *run_dir, const char *resume, const lif_recipe *r,
                          const lif_train_state *ts)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint_latest.lif", run_dir);
    struct stat sb;
    if (stat(path, &sb) == 0 && !same_file(path, resume)) {
        lif_ckpt c;
        lif_recipe theirs;
        int same = 0;
        lif_recipe_default(&theirs);
        if (lif_ckpt_load(path, &c) == LIF_OK) {
            if (lif_recipe_from_json(&theirs, c.recipe_json, path) == LIF_OK) {
                char *x = recipe_json_at(&theirs, r->epochs), *y = recipe_json_at(r, r->epochs);
                same = x && y && strcmp(x, y) == 0;
                free(x);
                free(y);
            }
            lif_ckpt_free(&c);
        }
        if (!same) {
            fprintf(stderr, "lif train: %s holds another run (its checkpoint_latest.lif has "
                            "another recipe or seed than %s, or does not load); a resume never "
                            "writes into another run's folder\n", run_dir, resume);
            return LIF_EXIT_USAGE;
        }
    }
    snprintf(path, sizeof path, "%s/log.jsonl", run_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int bad = 0;
    while (!bad && fgets(line, sizeof line, f)) {
        int epoch;
        const char *m = strstr(line, "\"max_test_acc\": ");
        if (sscanf(line, "{\"epoch\": %d", &epoch) == 1 && epoch == ts->epoch && m)
            /* log.jsonl holds float32 values (their shortest text) */
            bad = (float)strtod(m + strlen("\"max_test_acc\": "), NULL) !=
                  (float)ts->max_test_acc;
    }
    fclose(f);
    if (bad) {
        fprintf(stderr, "lif train: %s holds another run (its log.jsonl at epoch %d does not "
                        "match %s); a resume never writes into another run's folder\n",
                run_dir, (int)ts->epoch, resume);
        return LIF_EXIT_USAGE;
    }
    return 0;
}

static lif_status copy_log(const char *from, const char *to, int last);

/* The folder of a resumed run: the checkpoint's own folder; with -out-dir,
 * <out-dir>/<name> when that is the checkpoint's folder or does not exist
 * yet (then made, and the logs' lines up to the checkpoint copied into
 * it); never another run's folder. Locks it. Returns the lock's descriptor,
 * or -1 with *rc the exit status (message printed). */
static int claim_resume_run_dir(char *run_dir, size_t size, const char *resume,
                                const char *out_dir, const lif_recipe *r,
                                const lif_train_state *ts, int *rc)
{
    char own[4096];
    const char *slash = strrchr(resume, '/');
    if (slash)
        snprintf(own, sizeof own, "%.*s", slash == resume ? 1 : (int)(slash - resume), resume);
    else
        snprintf(own, sizeof own, ".");
    *rc = LIF_EXIT_FAIL;
    int fresh = 0;
    if (!out_dir || same_file(run_dir, own)) {
        snprintf(run_dir, size, "%s", own);
    } else {
        struct stat sb;
        if (stat(run_dir, &sb) == 0 || errno != ENOENT) {
            fprintf(stderr, "lif train: -out-dir %s: %s holds another run (it is not the folder of "
                            "%s); a resumed run continues in its checkpoint's folder %s: leave out "
                            "-out-dir, or give one without a folder of this run's name\n",
                    out_dir, run_dir, resume, own);
            *rc = LIF_EXIT_USAGE;
            return -1;
        }
        if (mkdirs(out_dir) != 0) {
            fprintf(stderr, "lif train: cannot create the output folder %s: %s\n", out_dir,
                    strerror(errno));
            return -1;
        }
        if (mkdir(run_dir, 0777) != 0) {
            fprintf(stderr, "lif train: cannot create the run folder %s: %s\n", run_dir,
                    strerror(errno));
            return -1;
        }
        fresh = 1;
    }
    int fd = lock_run_dir(run_dir);
    if (fd < 0)
        return -1;
    if (!fresh && (*rc = check_same_run(run_dir, resume, r, ts)) != 0) {
        close(fd);
        return -1;
    }
    if (fresh) {
        static const char *const logs[] = {"log.jsonl", "timing.jsonl"};
        for (int i = 0; i < 2; i++) {
            char from[4200], to[4200];
            snprintf(from, sizeof from, "%s/%s", own, logs[i]);
            snprintf(to, sizeof to, "%s/%s", run_dir, logs[i]);
            if (copy_log(from, to, ts->epoch) != LIF_OK) {
                fprintf(stderr, "lif train: %s\n", lif_last_error());
                *rc = LIF_EXIT_FAIL;
                close(fd);
                return -1;
            }
        }
    }
    *rc = 0;
    return fd;
}

/* Writes to `to` the lines of the JSON Lines log `from` whose "epoch" is
 * <= last (those a resumed checkpoint already holds), so a redone epoch is
 * not logged twice. Writes atomically; a missing log is fine. */
static lif_status copy_log(const char *from, const char *to, int last)
{
    const char *path = from;
    FILE *in = fopen(path, "r");
    if (!in)
        return errno == ENOENT ? LIF_OK
                               : lif_error(LIF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    lif_atomic_file out;
    lif_status st = lif_atomic_open(to, &out);
    if (st != LIF_OK) {
        fclose(in);
        return st;
    }
    char line[4096];
    while (fgets(line, sizeof line, in)) {
        int epoch;
        size_t len = strlen(line);
        /* a line cut short by a failed append (no newline, no epoch) goes too */
        if (len == 0 || line[len - 1] != '\n' || sscanf(line, "{\"epoch\": %d", &epoch) != 1 ||
            epoch > last)
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
    if (resume && copy_log(path, path, last_epoch) != LIF_OK)
        fprintf(stderr, "lif train: %s\n", lif_last_error());
    else if (!(f = lif_io_fopen(path, resume ? "a" : "w")))
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
    fflush(stdout);
}

/* What run.json and recipe.json record. */
typedef struct run_info {
    const char *run_dir, *data_dir, *resume, *init, *started;
    const lif_recipe *r;
    const lif_plan_opts *opts;
    const lif_plan *plan;
    const lif_net *net;
} run_info;

/* Writes recipe.json and run.json into the run folder (atomically);
 * settled: the first batch has chosen the kernels. Prints the error and
 * returns an exit status. */
static int write_run_files(const run_info *ri, int settled)
{
    char path[4200];
    lif_status st = LIF_OK;
    char *recipe = lif_recipe_to_json(ri->r), *options = lif_plan_opts_to_json(ri->opts);
    json_t *run = json_object(), *rj = recipe ? json_loads(recipe, 0, NULL) : NULL,
           *oj = options ? json_loads(options, 0, NULL) : NULL;
    if (!run || !rj || !oj) {
        st = lif_error(LIF_ERR_NOMEM, "%s: out of memory writing run.json", ri->run_dir);
        goto done;
    }
    json_object_set_new(run, "lif_run", json_integer(1));
    json_object_set_new(run, "command", cli_command_line());
    json_object_set_new(run, "start_time", json_string(ri->started));
    json_object_set_new(run, "data_dir", json_string(ri->data_dir));
    json_object_set_new(run, "run_dir", json_string(ri->run_dir));
    json_object_set_new(run, "resume", cli_jstr(ri->resume));
    json_object_set_new(run, "init", cli_jstr(ri->init));
    json_object_set(run, "recipe", rj);
    json_object_set(run, "options", oj);
    json_object_set_new(run, "plan", cli_plan_json(ri->plan, lif_net_layers(ri->net)));
    json_object_set_new(run, "kernels_settled", json_boolean(settled));
    json_object_set_new(run, "provenance", cli_provenance());
    snprintf(path, sizeof path, "%s/recipe.json", ri->run_dir);
    if (!settled && (st = cli_write_json(path, rj)) != LIF_OK)
        goto done;
    snprintf(path, sizeof path, "%s/run.json", ri->run_dir);
    st = cli_write_json(path, run);
done:
    json_decref(run);
    json_decref(rj);
    json_decref(oj);
    free(recipe);
    free(options);
    return st == LIF_OK ? 0 : cli_fail("train", st);
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
    int lock_fd = -1; /* the run folder's lock, held until the run ends */
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

    const char *init = cli_get(&args, "init");
    if (resume && init) {
        fprintf(stderr, "lif train: --init and -resume together: a resumed run continues from its "
                        "checkpoint's weights; drop --init\n");
        return LIF_EXIT_USAGE;
    }
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
    if (train.n < r.batch) {
        fprintf(stderr, "lif train: %s holds %d training images, fewer than one batch of %d (the "
                        "last partial batch is dropped, so nothing would train); lower -b\n",
                train.images_path, train.n, r.batch);
        rc = LIF_EXIT_USAGE;
        goto done;
    }
    int n_in = train.rows * train.cols;
    if (test.rows * test.cols != n_in) {
        rc = cli_fail("train", lif_error(LIF_ERR_FORMAT, "%s: test images are %dx%d, training images %dx%d",
                                         test.images_path, test.rows, test.cols, train.rows, train.cols));
        goto done;
    }
    /* --backend auto: the plan from wisdom (exact problem, else nearest), else the estimate */
    cli_tuning tuning;
    cli_wisdom_apply(&tuning, &opts, cli_plan_flag_given(&args, "threads") || opts.threads != 0,
                     cli_plan_flag_given(&args, "Tc") || opts.Tc != 0, &r, n_in, train.n_classes,
                     lif_workload_density(&train, 0));
    /* every allocation of the run counted before the first is made */
    if (!net && (st = lif_memory_check(&r, n_in, train.n_classes, r.batch, &opts)) != LIF_OK) {
        rc = cli_fail_plan("train", st, train_flags);
        goto done;
    }
    if (!net && (st = lif_net_create(&r, n_in, 10, &net)) != LIF_OK) {
        rc = cli_fail("train", st);
        goto done;
    }
    if (init) {
        lif_ckpt t = {0};
        if ((st = lif_weights_load(init, &t)) != LIF_OK ||
            (st = lif_weights_apply(net, &t, init)) != LIF_OK) {
            lif_ckpt_free(&t);
            rc = cli_fail_input("train", st);
            goto done;
        }
        lif_ckpt_free(&t);
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
    if (resume && ts.epoch + 1 >= r.epochs) {
        /* nothing to train: say so and change nothing */
        printf("%s has trained %d epoch%s already (-epochs %d): nothing to do; give a larger "
               "-epochs to train on\n", resume, (int)ts.epoch + 1, ts.epoch == 0 ? "" : "s",
               r.epochs);
        rc = LIF_EXIT_OK;
        goto done;
    }
    if ((st = lif_plan_create(net, r.batch, &opts, &plan)) != LIF_OK) {
        rc = cli_fail_plan("train", st, train_flags);
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
    if (resume)
        lock_fd = claim_resume_run_dir(run_dir, sizeof run_dir, resume, cli_get(&args, "out-dir"),
                                       &r, &ts, &rc);
    else if ((lock_fd = claim_new_run_dir(run_dir, sizeof run_dir, out_dir)) < 0)
        rc = LIF_EXIT_FAIL;
    if (lock_fd < 0)
        goto done;
    int stale = clean_stale_temps(run_dir);
    if (stale && !quiet)
        printf("removed %d temporary file%s that interrupted saves left in %s\n", stale,
               stale == 1 ? "" : "s", run_dir);
    if (!quiet)
        print_namespace(stdout, &r, &opts, device ? device : "cpu", data_dir, out_dir, resume);
    printf("%s\n", run_dir);  /* where the run goes, even with --quiet */
    if (!quiet)
        printf("data: %d training and %d test images of %dx%d from %s\n", train.n, test.n,
               train.rows, train.cols, data_dir);
    if (!quiet)
        cli_print_plan(stdout, plan);
    cli_wisdom_print(quiet ? NULL : stdout, &tuning, plan, lif_net_layers(net));
    fflush(stdout);
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    FILE *af = fopen(path, "w");
    if (!af) {
        fprintf(stderr, "lif train: cannot write %s: %s\n", path, strerror(errno));
        rc = LIF_EXIT_FAIL;
        goto done;
    }
    print_namespace(af, &r, &opts, device ? device : "cpu", data_dir, out_dir, resume);
    if (fclose(af) != 0) {
        fprintf(stderr, "lif train: cannot write %s: %s\n", path, strerror(errno));
        rc = LIF_EXIT_FAIL;
        goto done;
    }
    char started[32];
    cli_utc_now(started, sizeof started);
    run_info ri = {run_dir, data_dir, resume, init, started, &r, &opts, plan, net};
    if ((rc = write_run_files(&ri, 0)) != 0)
        goto done;
    if (!(log = open_log(run_dir, "log.jsonl", resume != NULL, ts.epoch)) ||
        !(timing = open_log(run_dir, "timing.jsonl", resume != NULL, ts.epoch))) {
        rc = LIF_EXIT_FAIL;
        goto done;
    }

    int tty = isatty(STDERR_FILENO);
    int first_epoch = ts.epoch + 1;
    /* SIGINT/SIGTERM: stop after the running batch, save, say how to resume */
    char resume_line[8192];
    snprintf(path, sizeof path, "%s/checkpoint_latest.lif", run_dir);
    cli_resume_line(resume_line, sizeof resume_line, path, &args, config ? &opts : NULL);
    cli_stop_install();
    lif_plan_set_stop(plan, cli_stop_poll, NULL);
    for (int epoch = first_epoch; epoch < r.epochs; epoch++) {
        lif_epoch_stats tr, te;
        progress pt = {"train", tty, quiet, 0, 0.0, epoch == first_epoch ? plan : NULL},
                 pe = {"test", tty, quiet, 0, 0.0, NULL};
        double t0 = lif_now();
        if ((st = lif_train_epoch_resume(plan, &train, (uint32_t)epoch, &ts.part, on_progress, &pt,
                                         &tr)) != LIF_OK ||
            (st = lif_evaluate(plan, &test, (uint32_t)epoch, on_progress, &pe, &te)) != LIF_OK) {
            rc = st == LIF_ERR_CANCELLED
                     ? cli_train_interrupted(net, &ts, run_dir, epoch, (long)train.n / r.batch * r.batch,
                                             resume_line, tty && !quiet)
                     : cli_fail("train", st);
            goto done;
        }
        int better = te.acc > ts.max_test_acc;
        if (better)
            ts.max_test_acc = te.acc;
        ts.epoch = epoch;
        memset(&ts.part, 0, sizeof ts.part); /* the epoch is whole */
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
        char v[5][32];
        fprintf(log, "{\"epoch\": %d, \"train_loss\": %s, \"train_acc\": %s, "
                     "\"test_loss\": %s, \"test_acc\": %s, \"max_test_acc\": %s}\n",
                epoch, cli_f32(v[0], 32, tr.loss), cli_f32(v[1], 32, tr.acc),
                cli_f32(v[2], 32, te.loss), cli_f32(v[3], 32, te.acc),
                cli_f32(v[4], 32, ts.max_test_acc));
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
        if (epoch == first_epoch && (rc = write_run_files(&ri, 1)) != 0)
            goto done;
        fflush(stdout);
    }
    rc = final_trace(plan, &test, (uint32_t)(ts.epoch < 0 ? 0 : ts.epoch), r.T, run_dir);
done:
    cli_stop_restore();
    if (log && fclose(log) != 0 && rc == LIF_EXIT_OK)
        rc = LIF_EXIT_FAIL;
    if (timing && fclose(timing) != 0 && rc == LIF_EXIT_OK)
        rc = LIF_EXIT_FAIL;
    lif_plan_destroy(plan);
    lif_net_destroy(net);
    lif_dataset_free(&train);
    lif_dataset_free(&test);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}
