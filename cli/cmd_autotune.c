/* lif autotune — find the fastest plan for a problem on this machine and
 * keep it as wisdom (lif/autotune.h: the search, the wisdom file). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "lif/autotune.h"
#include "lif/measure.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

static const cli_flag autotune_flags[] = {
    {"T", FLAG_RECIPE, "T", "N", "time steps per image (100)"},
    {"b", FLAG_RECIPE, "batch", "N", "batch size (64)"},
    {"data-dir", FLAG_OPTION, "data-dir", "DIR", "MNIST-format IDX folder whose images are timed; their spike density is measured (" DEFAULT_DATA_DIR ")"},
    {"density", FLAG_OPTION, "density", "D", "instead of a data set: synthetic images of this mean pixel/255, 0 < D <= 1"},
    {"config", FLAG_OPTION, "config", "FILE", "recipe JSON (layers, neuron, optimizer); flags override it"},
    {"hidden", FLAG_RECIPE, "hidden", "N[,N]", "hidden Linear+LIF layers, e.g. 1000 (none)"},
    {"bias", FLAG_RECIPE, "bias", NULL, "Linear layers with a bias"},
    {"mode", FLAG_OPTION, "mode", "estimate|measure|patient", "estimate: the ranking's plan, nothing timed; measure: time thread counts 1 and the default, and every kernel per op; patient: also every thread count, Tc and binding (measure)"},
    {"budget", FLAG_OPTION, "budget", "SECONDS", "stop searching after about this long, keeping the best so far (30)"},
    {"wisdom", FLAG_OPTION, "wisdom", "FILE", "the wisdom file to update ($LIF_WISDOM, else $XDG_CACHE_HOME/lif/wisdom.json, else ~/.cache/lif/wisdom.json)"},
    {"backend", FLAG_OPTION, "backend", "LIST", "take candidates from these backends only (auto: all available)"},
    {"threads", FLAG_OPTION, "threads", "N", "only this thread count (0: search 1..the physical cores)"},
    {"tc", FLAG_OPTION, "tc", "N|auto", "only this chunk length (auto; patient searches it)"},
    {NULL, 0, NULL, NULL, NULL},
};

static void autotune_help(void)
{
    printf("usage: lif autotune [-T N] [-b N] [-data-dir DIR | --density D] [--hidden N] [flags]\n\n"
           "Finds the fastest plan (kernels per op, threads, time chunk) for one problem on\n"
           "this machine, by timing whole training steps of candidate plans on the data\n"
           "set's images, and stores it in the wisdom file; lif train, eval and bench with\n"
           "--backend auto (their default) then use it. Progress goes to stderr (a bar on a\n"
           "terminal); the winning plan per op and its speed-up over the untuned default,\n"
           "timed side by side, to stdout.\n\n"
           "modes: estimate (nothing timed: the plan the ranking picks; wisdom unchanged),\n"
           "       measure  (thread counts 1 and the default, then each op's kernels in turn),\n"
           "       patient  (also every thread count, chunk lengths and binding).\n\nflags:\n");
    cli_print_flags(stdout, autotune_flags);
    printf("\nexit status: 0 done, 2 bad flag or input file, 1 run-time failure\n");
}

typedef struct bar {
    int tty;
    double budget;
    char last[256];
} bar;

static void on_progress(void *ctx, double fraction, const char *what)
{
    bar *b = ctx;
    if (b->tty) {
        int width = 30, fill = (int)(width * fraction + 0.5);
        fprintf(stderr, "\r[%.*s%*s] %4.0f/%.0f s  %-60.60s", fill,
                "==============================", width - fill, "", fraction * b->budget,
                b->budget, what);
        fflush(stderr);
        return;
    }
    /* plain lines: one per stage */
    size_t stage = strcspn(what, ":");
    if (strncmp(b->last, what, stage) == 0 && b->last[stage] == what[stage])
        return;
    snprintf(b->last, sizeof b->last, "%s", what);
    fprintf(stderr, "autotune: %3.0f s: %s\n", fraction * b->budget, what);
}

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "lif autotune: %s: expected an integer in %d..%d, got '%s'\n", flag, lo,
                hi, v);
        return LIF_EXIT_USAGE;
    }
    *out = (int)x;
    return 0;
}

static void layers_str(const lif_wisdom_problem *p, char *buf, size_t size)
{
    size_t len = 0;
    for (int i = 0; i < p->n_dims && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%d", i ? " -> " : "", p->dims[i]);
}

int cmd_autotune(int argc, char **argv)
{
    cli_args args;
    lif_recipe r;
    lif_status st;
    lif_workload w = {0};
    int rc = cli_parse(argc, argv, autotune_flags, "autotune", &args);
    if (rc == -1) {
        autotune_help();
        return LIF_EXIT_OK;
    }
    if (rc)
        return rc;
    lif_tune_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = LIF_TUNE_MEASURE;
    cfg.budget = 30.0;
    snprintf(cfg.backend, sizeof cfg.backend, "auto");
    const char *v;
    if ((v = cli_get(&args, "mode"))) {
        if (strcmp(v, "estimate") == 0)
            cfg.mode = LIF_TUNE_ESTIMATE;
        else if (strcmp(v, "measure") == 0)
            cfg.mode = LIF_TUNE_MEASURE;
        else if (strcmp(v, "patient") == 0)
            cfg.mode = LIF_TUNE_PATIENT;
        else {
            fprintf(stderr, "lif autotune: --mode: expected estimate, measure or patient, got '%s'\n",
                    v);
            return LIF_EXIT_USAGE;
        }
    }
    if ((v = cli_get(&args, "budget"))) {
        char *end;
        errno = 0;
        cfg.budget = strtod(v, &end);
        if (errno || end == v || *end || !(cfg.budget > 0.0 && cfg.budget <= 86400.0)) {
            fprintf(stderr, "lif autotune: --budget: expected seconds in (0, 86400], got '%s'\n", v);
            return LIF_EXIT_USAGE;
        }
    }
    if ((v = cli_get(&args, "threads")) && (rc = parse_int("--threads", v, 0, 1024, &cfg.threads)))
        return rc;
    if ((v = cli_get(&args, "backend"))) {
        if (strlen(v) >= sizeof cfg.backend) {
            fprintf(stderr, "lif autotune: --backend: the list is too long\n");
            return LIF_EXIT_USAGE;
        }
        snprintf(cfg.backend, sizeof cfg.backend, "%s", v);
        if ((st = lif_backend_list_check(cfg.backend)) != LIF_OK) {
            fprintf(stderr, "lif autotune: --backend %s: %s\n", v, lif_last_error());
            return LIF_EXIT_USAGE;
        }
    }
    lif_recipe_default(&r);
    const char *config = cli_get(&args, "config"), *bad;
    if (config && (st = lif_recipe_load(&r, config)) != LIF_OK)
        return cli_fail_input("autotune", st);
    if ((rc = cli_apply_recipe(&args, &r, "autotune")) != 0)
        return rc;
    if ((st = lif_recipe_check(&r, &bad)) != LIF_OK)
        return cli_fail_key("autotune", st, bad, autotune_flags);
    if ((v = cli_get(&args, "tc")) && strcmp(v, "auto") != 0 &&
        (rc = parse_int("--tc", v, 1, r.T, &cfg.Tc)))
        return rc;
    char wpath[4096];
    if ((st = lif_wisdom_path(cli_get(&args, "wisdom"), wpath, sizeof wpath)) != LIF_OK) {
        fprintf(stderr, "lif autotune: %s\n", lif_last_error());
        return LIF_EXIT_USAGE;
    }

    /* the data: a real set (its density measured) or synthetic images */
    const char *data_dir = cli_get(&args, "data-dir"), *dens = cli_get(&args, "density");
    double density = 0.0;
    if (data_dir && dens) {
        fprintf(stderr, "lif autotune: -data-dir and --density together: the data set's density "
                        "is measured from its images; give one\n");
        return LIF_EXIT_USAGE;
    }
    if (dens) {
        char *end;
        density = strtod(dens, &end);
        if (end == dens || *end || !(density > 0.0 && density <= 1.0)) {
            fprintf(stderr, "lif autotune: --density: expected a number in (0, 1], got '%s'\n",
                    dens);
            return LIF_EXIT_USAGE;
        }
    } else if (!data_dir) {
        struct stat sb;
        if (stat(DEFAULT_DATA_DIR, &sb) != 0) {
            fprintf(stderr, "lif autotune: no -data-dir given and %s is missing: give -data-dir "
                            "DIR (an MNIST-format folder) or --density D (synthetic images)\n",
                    DEFAULT_DATA_DIR);
            return LIF_EXIT_USAGE;
        }
        data_dir = DEFAULT_DATA_DIR;
    }
    int nsynth = r.batch * 8 > 512 ? r.batch * 8 : 512;
    if ((st = lif_workload_load(&w, data_dir, nsynth, density)) != LIF_OK)
        return cli_fail_input("autotune", st);
    if (w.train.n < 1) {
        fprintf(stderr, "lif autotune: %s holds no training images\n", data_dir);
        lif_workload_free(&w);
        return LIF_EXIT_USAGE;
    }
    if ((st = lif_memory_check(&r, w.train.rows * w.train.cols, w.train.n_classes, r.batch,
                               NULL)) != LIF_OK) {
        lif_workload_free(&w);
        return cli_fail("autotune", st);
    }
    cfg.recipe = &r;
    cfg.train = &w.train;
    cfg.density = w.density;
    bar b = {isatty(STDERR_FILENO), cfg.budget, ""};
    cfg.progress = on_progress;
    cfg.ctx = &b;

    lif_wisdom_problem prob;
    char layers[256];
    lif_wisdom_problem_of(&r, w.train.rows * w.train.cols, w.train.n_classes, w.density, &prob);
    layers_str(&prob, layers, sizeof layers);
    fprintf(stderr, "autotune: %s, T %d, batch %d, density %.3f (%s), mode %s, budget %g s\n",
            layers, r.T, r.batch, w.density, w.synthetic ? "synthetic images" : data_dir,
            lif_tune_mode_name(cfg.mode), cfg.budget);
    lif_tune_result res;
    st = lif_tune(&cfg, &res);
    if (b.tty)
        fprintf(stderr, "\r%*s\r", 110, "");
    if (st != LIF_OK) {
        lif_workload_free(&w);
        return cli_fail("autotune", st);
    }

    printf("problem: %s, T %d, batch %d, input density %.3f (%s)\n", layers, r.T, r.batch,
           w.density, w.synthetic ? "synthetic" : data_dir);
    if (cfg.mode == LIF_TUNE_ESTIMATE)
        printf("mode estimate: nothing timed; the plan the ranking picks (took %.1f s)\n",
               res.seconds);
    else if (res.timed == 0)
        printf("mode %s: one candidate plan applies: nothing timed (took %.1f s)\n",
               lif_tune_mode_name(cfg.mode), res.seconds);
    else
        printf("mode %s: %d candidate plans, %d timed, in %.1f s of a %g s budget%s\n",
               lif_tune_mode_name(cfg.mode), res.considered, res.timed, res.seconds, cfg.budget,
               res.budget_hit ? " (stopped at the budget: the best so far kept)" : "");
    char tcs[32];
    if (res.best.Tc)
        snprintf(tcs, sizeof tcs, "%d", res.best.Tc);
    else
        snprintf(tcs, sizeof tcs, "auto (%d)", res.best_Tc);
    printf("winning plan: threads %d, Tc %s, bind %s\n", res.best.threads, tcs,
           res.best.bind == LIF_BIND_CORES ? "cores" : "none");
    printf("  %-13s %-52s %s\n", "op", "tuned (forced by name, or the estimate's)", "untuned default");
    for (int op = 0; op < LIF_OP_COUNT; op++) {
        if (!res.best_bound[op][0] && !res.default_bound[op][0])
            continue;
        char tuned[256];
        if (res.best.kernels[op][0]) {
            size_t len = 0;
            tuned[0] = '\0';
            for (const char *s = res.best.kernels[op]; *s && len < sizeof tuned;) {
                size_t n = strcspn(s, ",");
                len += (size_t)snprintf(tuned + len, sizeof tuned - len, "%s%.*s",
                                        len ? " + " : "", (int)n, s);
                s += n;
                if (*s == ',')
                    s++;
            }
        } else {
            snprintf(tuned, sizeof tuned, "%s (estimate)", res.best_bound[op]);
        }
        printf("  %-13s %-52s %s\n", lif_op_name((lif_op)op), tuned, res.default_bound[op]);
    }
    if (res.kept_default)
        printf("the default kept: the search's best plan ran at %.0f images/s against the "
               "default's %.0f side by side\n",
               res.lost_images_per_s, res.default_images_per_s);
    if (isfinite(res.best_images_per_s) && isfinite(res.default_images_per_s))
        printf("speed-up: %.0f images/s tuned vs %.0f untuned default (threads %d, Tc %d): "
               "%.2fx (training steps, side by side, min of %d samples each)\n",
               res.best_images_per_s, res.default_images_per_s, res.default_threads,
               res.default_Tc, res.best_images_per_s / res.default_images_per_s, res.repeats);
    else
        printf("speed-up: not measured (nothing was timed)\n");

    if (cfg.mode == LIF_TUNE_ESTIMATE) {
        printf("wisdom: unchanged (estimate mode measures nothing; %s)\n", wpath);
        lif_workload_free(&w);
        return LIF_EXIT_OK;
    }
    /* merge into the file as it is now (another tuner may have written it) */
    lif_wisdom wis;
    st = lif_wisdom_load(wpath, &wis);
    if (st != LIF_OK) {
        if (st != LIF_ERR_NOT_FOUND)
            fprintf(stderr, "lif autotune: wisdom: %s; writing a new file\n", lif_last_error());
        lif_wisdom_free(&wis);
        lif_wisdom_init(&wis);
    }
    if ((st = lif_wisdom_put(&wis, &res.best)) == LIF_OK)
        st = lif_wisdom_save(wpath, &wis);
    if (st != LIF_OK) {
        lif_wisdom_free(&wis);
        lif_workload_free(&w);
        return cli_fail("autotune", st);
    }
    printf("wisdom: written to %s (%d entr%s; fingerprint %s)\n", wpath, wis.n,
           wis.n == 1 ? "y" : "ies", wis.fp.id);
    lif_wisdom_free(&wis);
    lif_workload_free(&w);
    return LIF_EXIT_OK;
}
