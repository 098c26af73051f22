/* test_measure.c — lif/measure.h, the measurement harness: synthetic and
 * real workloads, end-to-end runners, the warm-up/repeat schedule (plain
 * and interleaved) and its statistics, and reports as JSON: a report
 * written and read back is equal bit for bit (rows at thread counts, the
 * machine's scaling at each), a file written before thread lists reads
 * back with its rows at the configuration's thread count, and malformed
 * files are refused with the file and the place named; which backends are
 * serial (lif_measure_threaded). No speed is asserted. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/lif.h"
#include "testutil.h"

static const char *tmp;

static const char *pathf(const char *name) { return test_path(tmp, name); }

static char *slurp(const char *path, size_t *n) { return test_slurp(path, n); }

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Equal bit for bit, or both NAN. */
static int same_num(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* ---- workloads ---- */

static void test_workloads(void)
{
    static const double dens[] = {0.02, 0.13, 0.29, 0.5, 1.0};
    for (size_t i = 0; i < sizeof dens / sizeof dens[0]; i++) {
        lif_dataset a, b;
        CHECK(lif_workload_synth(&a, 40, 28, 28, dens[i], 3) == LIF_OK, "synth %g: %s", dens[i],
              lif_last_error());
        CHECK(lif_workload_synth(&b, 40, 28, 28, dens[i], 3) == LIF_OK, "synth %g: %s", dens[i],
              lif_last_error());
        double got = lif_workload_density(&a, 0);
        CHECK(fabs(got - dens[i]) < 0.01 + 0.03 * dens[i], "density %g asked, %g made", dens[i],
              got);
        CHECK(a.n == 40 && a.rows == 28 && a.cols == 28 && a.n_classes == 10, "shape");
        CHECK(memcmp(a.images, b.images, 40 * 784) == 0 && memcmp(a.labels, b.labels, 40) == 0,
              "synthetic images are not a function of the seed");
        int zeros = 0, bad_label = 0;
        for (int k = 0; k < 784; k++)
            zeros += a.images[k] == 0;
        for (int k = 0; k < 40; k++)
            bad_label += a.labels[k] >= 10;
        CHECK(bad_label == 0, "labels >= 10");
        CHECK(dens[i] == 1.0 || zeros > 0, "density %g: no zero background", dens[i]);
        lif_dataset_free(&b);
        CHECK(lif_workload_synth(&b, 40, 28, 28, dens[i], 4) == LIF_OK, "synth: %s", lif_last_error());
        CHECK(memcmp(a.images, b.images, 40 * 784) != 0 || memcmp(a.labels, b.labels, 40) != 0,
              "another seed gives the same images");
        lif_dataset_free(&a);
        lif_dataset_free(&b);
    }
    lif_dataset d;
    CHECK(lif_workload_synth(&d, 0, 28, 28, 0.2, 1) == LIF_ERR_INVALID_ARG, "n = 0 accepted");
    CHECK(lif_workload_synth(&d, 4, 28, 28, 0.0, 1) == LIF_ERR_INVALID_ARG, "density 0 accepted");
    CHECK(lif_workload_synth(&d, 4, 28, 28, 1.5, 1) == LIF_ERR_INVALID_ARG, "density 1.5 accepted");

    /* synthetic: seeds 1 (train) and 2 (test); the density is measured */
    lif_workload w;
    CHECK(lif_workload_load(&w, NULL, 16, 0.29) == LIF_OK, "load synthetic: %s", lif_last_error());
    CHECK(w.synthetic && w.train.n == 16 && w.test.n == 16, "synthetic workload shape");
    lif_dataset s1, s2;
    CHECK(lif_workload_synth(&s1, 16, 28, 28, 0.29, 1) == LIF_OK &&
              lif_workload_synth(&s2, 16, 28, 28, 0.29, 2) == LIF_OK,
          "synth: %s", lif_last_error());
    CHECK(memcmp(w.train.images, s1.images, 16 * 784) == 0 &&
              memcmp(w.test.images, s2.images, 16 * 784) == 0,
          "the workload's sets are not synth seed 1 and seed 2");
    CHECK(w.density == lif_workload_density(&s1, 0), "the workload's density is not measured");
    lif_dataset_free(&s1);
    lif_dataset_free(&s2);
    lif_workload_free(&w);
    CHECK(w.train.images == NULL && w.test.images == NULL, "free does not zero");
    lif_workload_free(NULL);

    /* real IDX data */
    CHECK(lif_workload_load(&w, LIF_TEST_DATA "/fashion-mnist-small", 0, 0) == LIF_OK,
          "load data: %s", lif_last_error());
    CHECK(!w.synthetic && w.train.n > 0 && w.test.n > 0 && w.density > 0.05 && w.density < 0.6,
          "data workload: n %d/%d, density %g", w.train.n, w.test.n, w.density);
    lif_workload_free(&w);
    lif_status st = lif_workload_load(&w, pathf("no_such_dir"), 0, 0);
    CHECK(st == LIF_ERR_NOT_FOUND && strstr(lif_last_error(), "no_such_dir"),
          "a missing folder: %d %s", (int)st, lif_last_error());
    CHECK(w.train.images == NULL && w.test.images == NULL, "a failed load leaves data");
}

/* ---- the schedule ---- */

typedef struct rec {
    int id, fail_at;
    int *log, *n;       /* shared: (id, i) pairs in call order */
} rec;

static lif_status record(void *ctx, long i)
{
    rec *r = ctx;
    r->log[2 * *r->n] = r->id;
    r->log[2 * *r->n + 1] = (int)i;
    (*r->n)++;
    return i == r->fail_at ? lif_error(LIF_ERR_INTERNAL, "task %d fails at %ld", r->id, i) : LIF_OK;
}

static void test_schedule(void)
{
    int log[2 * 64], n = 0;
    rec a = {0, -1, log, &n}, b = {1, -1, log, &n};
    lif_measure_task tasks[2] = {{record, &a}, {record, &b}};
    double sec[4];

    /* interleaved: warm-ups first, then A B A B, call indices after the warm-up */
    lif_measure_schedule s = {.warmup = 1, .repeats = 2, .calls = 3, .interleaved = 1};
    CHECK(lif_measure_run(tasks, 2, &s, sec) == LIF_OK, "run: %s", lif_last_error());
    static const int want_i[][2] = {{0, 0}, {1, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 1}, {1, 2},
                                    {1, 3}, {0, 4}, {0, 5}, {0, 6}, {1, 4}, {1, 5}, {1, 6}};
    int ok = n == 14;
    for (int k = 0; ok && k < 14; k++)
        ok = log[2 * k] == want_i[k][0] && log[2 * k + 1] == want_i[k][1];
    CHECK(ok, "interleaved order or call indices wrong (%d calls)", n);
    for (int k = 0; k < 4; k++)
        CHECK(sec[k] >= 0 && sec[k] < 10, "seconds[%d] = %g", k, sec[k]);

    /* four tasks (two rows of train and test): sample k starts at task 2k,
     * so the first place goes round the rows */
    {
        rec c = {2, -1, log, &n}, d = {3, -1, log, &n};
        lif_measure_task four[4] = {{record, &a}, {record, &b}, {record, &c}, {record, &d}};
        double sec4[12];
        lif_measure_schedule s4 = {.warmup = 0, .repeats = 3, .calls = 1, .interleaved = 1};
        n = 0;
        CHECK(lif_measure_run(four, 4, &s4, sec4) == LIF_OK, "run: %s", lif_last_error());
        static const int want4[] = {0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3};
        ok = n == 12;
        for (int k = 0; ok && k < 12; k++)
            ok = log[2 * k] == want4[k] && log[2 * k + 1] == k / 4;
        CHECK(ok, "interleaved rows do not take turns at the first place (%d calls)", n);
    }

    /* sequential: each task's warm-up and samples in turn */
    n = 0;
    s.interleaved = 0;
    s.warmup = 2;
    s.repeats = 1;
    s.calls = 2;
    CHECK(lif_measure_run(tasks, 2, &s, sec) == LIF_OK, "run: %s", lif_last_error());
    static const int want_s[][2] = {{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 0}, {1, 1}, {1, 2}, {1, 3}};
    ok = n == 8;
    for (int k = 0; ok && k < 8; k++)
        ok = log[2 * k] == want_s[k][0] && log[2 * k + 1] == want_s[k][1];
    CHECK(ok, "sequential order or call indices wrong (%d calls)", n);

    /* the first failing call stops the run with its status */
    n = 0;
    b.fail_at = 2;
    s = (lif_measure_schedule){.warmup = 1, .repeats = 3, .calls = 2, .interleaved = 1};
    lif_status st = lif_measure_run(tasks, 2, &s, sec);
    CHECK(st == LIF_ERR_INTERNAL && strstr(lif_last_error(), "task 1 fails at 2"),
          "a failing task: %d %s", (int)st, lif_last_error());
    /* A0 B0 (warm-up), A1 A2, B1 B2: B fails at 2 */
    CHECK(n == 6 && log[10] == 1 && log[11] == 2, "calls went on after a failure (%d calls)", n);
    b.fail_at = -1;

    /* bad schedules */
    s = (lif_measure_schedule){.warmup = 0, .repeats = 0, .calls = 1};
    CHECK(lif_measure_run(tasks, 2, &s, sec) == LIF_ERR_INVALID_ARG, "repeats 0 accepted");
    s = (lif_measure_schedule){.warmup = -1, .repeats = 1, .calls = 1};
    CHECK(lif_measure_run(tasks, 2, &s, sec) == LIF_ERR_INVALID_ARG, "warm-up -1 accepted");
    s = (lif_measure_schedule){.warmup = 0, .repeats = 1, .calls = 0};
    CHECK(lif_measure_run(tasks, 2, &s, sec) == LIF_ERR_INVALID_ARG, "calls 0 accepted");
    s.calls = 1;
    CHECK(lif_measure_run(tasks, 0, &s, sec) == LIF_ERR_INVALID_ARG, "no tasks accepted");
    lif_measure_task none = {NULL, NULL};
    CHECK(lif_measure_run(&none, 1, &s, sec) == LIF_ERR_INVALID_ARG, "no function accepted");

    /* statistics */
    lif_measure_stats ms;
    double odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2};
    CHECK(lif_measure_summarize(odd, 3, &ms) == LIF_OK && ms.median == 2 && ms.min == 1 &&
              ms.max == 3,
          "odd: %g %g %g", ms.median, ms.min, ms.max);
    CHECK(lif_measure_summarize(even, 4, &ms) == LIF_OK && ms.median == 2.5 && ms.min == 1 &&
              ms.max == 4,
          "even: %g %g %g", ms.median, ms.min, ms.max);
    CHECK(odd[0] == 3 && even[0] == 4, "summarize changed its input");
    double many[201];
    for (int k = 0; k < 201; k++)
        many[k] = (double)((k * 37) % 201);
    CHECK(lif_measure_summarize(many, 201, &ms) == LIF_OK && ms.median == 100 && ms.min == 0 &&
              ms.max == 200,
          "201 values: %g %g %g", ms.median, ms.min, ms.max);
    CHECK(lif_measure_summarize(odd, 0, &ms) == LIF_ERR_INVALID_ARG, "no values accepted");

    /* one task alone */
    n = 0;
    CHECK(lif_measure_time(record, &a, 2, 5, 3, &ms) == LIF_OK, "time: %s", lif_last_error());
    CHECK(n == 2 + 5 * 3, "lif_measure_time made %d calls, want 17", n);
    CHECK(ms.min >= 0 && ms.min <= ms.median && ms.median <= ms.max, "stats %g %g %g", ms.min,
          ms.median, ms.max);
}

/* ---- end-to-end runners ---- */

static void test_e2e(void)
{
    lif_workload w;
    CHECK(lif_workload_load(&w, NULL, 12, 0.29) == LIF_OK, "load: %s", lif_last_error());
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    int ran = 0;
    for (size_t k = 0; k < nb; k++) {
        const char *why;
        if (!lif_backend_available(bs[k], &why)) {
            printf("  backend %s skipped: %s\n", bs[k]->name, why);
            continue;
        }
        for (int hidden = 0; hidden <= 16; hidden += 16) {
            lif_measure_e2e_cfg cfg = {.backend = bs[k]->name, .T = 4, .B = 8, .threads = 1,
                                       .hidden = hidden, .train = &w.train, .test = &w.test,
                                       .seed = 0};
            lif_measure_e2e *e = NULL;
            size_t bytes = 1;
            lif_status st = lif_measure_e2e_create(&cfg, &e, &bytes);
            CHECK(st == LIF_OK, "%s: create: %s", bs[k]->name, lif_last_error());
            if (st != LIF_OK)
                continue;
            /* batches wrap around a set of 12 images */
            for (long i = 0; i < 4; i++) {
                CHECK(lif_measure_e2e_train(e, i) == LIF_OK, "%s: train %ld: %s", bs[k]->name, i,
                      lif_last_error());
                CHECK(lif_measure_e2e_infer(e, i) == LIF_OK, "%s: infer %ld: %s", bs[k]->name, i,
                      lif_last_error());
            }
            char kern[512];
            lif_measure_e2e_kernels(e, kern, sizeof kern);
            CHECK(strstr(kern, bs[k]->name) && strchr(kern, ','), "%s: kernels '%s'", bs[k]->name,
                  kern);
            lif_measure_task t[2] = {lif_measure_e2e_task(e, 1), lif_measure_e2e_task(e, 0)};
            double sec[4];
            lif_measure_schedule s = {.warmup = 1, .repeats = 2, .calls = 1, .interleaved = 1};
            CHECK(lif_measure_run(t, 2, &s, sec) == LIF_OK, "%s: run: %s", bs[k]->name,
                  lif_last_error());
            lif_measure_e2e_destroy(e);
            ran++;
        }
    }
    CHECK(ran >= 2, "no backend ran");
    lif_measure_e2e_destroy(NULL);

    lif_measure_e2e *e = NULL;
    lif_measure_e2e_cfg cfg = {.backend = "no_such_backend", .T = 4, .B = 8, .threads = 1,
                               .train = &w.train, .test = &w.test};
    CHECK(lif_measure_e2e_create(&cfg, &e, NULL) != LIF_OK && e == NULL, "unknown backend accepted");
    lif_dataset small;
    CHECK(lif_workload_synth(&small, 4, 10, 10, 0.3, 1) == LIF_OK, "synth: %s", lif_last_error());
    cfg.backend = "scalar";
    cfg.test = &small;
    lif_status st = lif_measure_e2e_create(&cfg, &e, NULL);
    CHECK(st == LIF_ERR_INVALID_ARG && e == NULL, "train and test of different sizes: %d", (int)st);
    lif_dataset_free(&small);
    lif_workload_free(&w);
}

/* ---- serial and threaded backends ---- */

static lif_status never_run(const lif_ctx *c, const lif_linear_fwd_args *a)
{
    (void)c;
    (void)a;
    return lif_error(LIF_ERR_INTERNAL, "test double: not to be run");
}

static const lif_kernel_i double_kernels[] = {
    {.abi = LIF_KERNEL_ABI, .op = LIF_OP_LINEAR_FWD, .backend = "mdouble", .variant = "serial",
     .run.linear_fwd = never_run},
    {.abi = LIF_KERNEL_ABI, .op = LIF_OP_LINEAR_FWD, .backend = "mdouble", .variant = "threaded",
     .flags = LIF_KERNEL_THREADED, .run.linear_fwd = never_run},
};

/* lif bench runs a backend once over several thread counts when none of
 * its kernels is LIF_KERNEL_THREADED (lif_measure_threaded). */
static void test_threaded(void)
{
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (size_t k = 0; k < nb; k++) {
        int any = 0;
        for (size_t j = 0; j < bs[k]->n_kernels; j++)
            any |= (bs[k]->kernels[j].flags & LIF_KERNEL_THREADED) != 0;
        CHECK(lif_measure_threaded(bs[k]->name) == any, "%s: lif_measure_threaded says %d",
              bs[k]->name, !any);
    }
    CHECK(lif_measure_threaded("scalar") == 0, "the scalar backend is not serial");
    CHECK(lif_measure_threaded("no_such_backend") == 0 && lif_measure_threaded(NULL) == 0,
          "an unknown backend is threaded");
    /* one threaded kernel makes the backend threaded (registered last: the
     * runners above loop over every backend) */
    static const lif_backend_i dbl = {.abi = LIF_KERNEL_ABI, .name = "mdouble",
                                      .description = "test double of test_measure.c",
                                      .kernels = double_kernels, .n_kernels = 2};
    CHECK(lif_backend_register(&dbl) == LIF_OK, "register: %s", lif_last_error());
    CHECK(lif_measure_threaded("mdouble") == 1, "a backend with a threaded kernel is serial");
}

/* ---- reports as JSON ---- */

static void fill_report(lif_measure_report *r)
{
    snprintf(r->version, sizeof r->version, "0.1.0");
    snprintf(r->git_commit, sizeof r->git_commit, "0123456789abcdef0123456789abcdef01234567-dirty");
    snprintf(r->compiler, sizeof r->compiler, "GNU 12.2.0");
    snprintf(r->build_type, sizeof r->build_type, "Release");
    snprintf(r->machine.cpu, sizeof r->machine.cpu, "CPU \"quoted\" \\ tab\t é");
    snprintf(r->machine.vendor, sizeof r->machine.vendor, "AuthenticAMD");
    snprintf(r->machine.isa, sizeof r->machine.isa, "avx2");
    snprintf(r->machine.best_isa, sizeof r->machine.best_isa, "avx512");
    r->machine.logical_cpus = 2;
    r->machine.peak_gflops = 1.0 / 3.0;
    snprintf(r->machine.fma_loop, sizeof r->machine.fma_loop, "avx2_fma");
    r->machine.copy_gbps = 12345.678901234567;
    r->machine.scaling_threads = 4;
    r->machine.scaling = 1.0;
    r->machine.n_scalings = 2;
    r->machine.scaling_at[0].threads = 2;
    r->machine.scaling_at[0].scaling = 0.76938472876788067;
    r->machine.scaling_at[1].threads = 4;
    r->machine.scaling_at[1].scaling = 1.0;
    r->machine.line_round_trip_ns = 171.29384716;
    r->config = (lif_measure_config){.T = 100, .batch = 64, .n_in = 784, .n_out = 10,
                                     .hidden = 400, .reps = 3, .batches = 10, .threads = 1,
                                     .n_thread_counts = 3, .thread_counts = {1, 2, 4},
                                     .density = 0.29186424569827929};
    snprintf(r->config.data, sizeof r->config.data, "/data/fashion mnist\n");
    r->peak_rss_mb = 130.0703125;
    /* rows: scalar once (serial), a threaded backend at 2 threads, one skipped */
    snprintf(r->backends[0].name, sizeof r->backends[0].name, "scalar");
    snprintf(r->backends[1].name, sizeof r->backends[1].name, "openmp");
    snprintf(r->backends[2].name, sizeof r->backends[2].name, "onednn");
    r->backends[0].threads = 1;
    r->backends[0].serial = 1;
    r->backends[1].threads = 2;
    r->backends[2].threads = 1;
    snprintf(r->backends[2].skipped, sizeof r->backends[2].skipped, "not built: \"no oneDNN\"");
    for (int i = 0; i < 2; i++) {
        lif_measure_backend *b = &r->backends[i];
        snprintf(b->kernels, sizeof b->kernels, "encode/%s/ref, optim/%s/ref", b->name, b->name);
        b->plan_bytes = i ? UINT64_C(5000000000) : 119696;
        lif_measure_rate *rates[2] = {&b->train, &b->test};
        for (int k = 0; k < 2; k++) {
            for (int j = 0; j < 3; j++)
                rates[k]->reps[j] = 1000.0 * (i + 1) * (k + 1) + j / 7.0 + 1e-9;
            rates[k]->median = rates[k]->reps[1];
            rates[k]->min = rates[k]->reps[0];
            rates[k]->max = rates[k]->reps[2];
            rates[k]->ratio_to_scalar = i ? rates[k]->median / r->backends[0].train.median : 1.0;
            rates[k]->ratio_to_first_threads = i ? 1.75 + k / 3.0 : NAN;
        }
        b->test.reps[1] = NAN;   /* not finite: written as null */
        b->train_pct_of_fma_peak = i ? 1e-300 : 2.583556510392468;
    }
}

static void check_same_report(const lif_measure_report *a, const lif_measure_report *b)
{
    CHECK(strcmp(a->version, b->version) == 0, "version");
    CHECK(strcmp(a->git_commit, b->git_commit) == 0 && strcmp(a->compiler, b->compiler) == 0 &&
              strcmp(a->build_type, b->build_type) == 0,
          "provenance: '%s' '%s' '%s' vs '%s' '%s' '%s'", a->git_commit, a->compiler, a->build_type,
          b->git_commit, b->compiler, b->build_type);
    const lif_measure_machine *ma = &a->machine, *mb = &b->machine;
    CHECK(strcmp(ma->cpu, mb->cpu) == 0 && strcmp(ma->vendor, mb->vendor) == 0 &&
              strcmp(ma->isa, mb->isa) == 0 && strcmp(ma->best_isa, mb->best_isa) == 0 &&
              strcmp(ma->fma_loop, mb->fma_loop) == 0,
          "machine strings: '%s' vs '%s'", ma->cpu, mb->cpu);
    CHECK(ma->logical_cpus == mb->logical_cpus && ma->scaling_threads == mb->scaling_threads &&
              same_num(ma->peak_gflops, mb->peak_gflops) && same_num(ma->copy_gbps, mb->copy_gbps) &&
              same_num(ma->scaling, mb->scaling),
          "machine numbers");
    int same_at = ma->n_scalings == mb->n_scalings;
    for (int i = 0; same_at && i < ma->n_scalings; i++)
        same_at = ma->scaling_at[i].threads == mb->scaling_at[i].threads &&
                  same_num(ma->scaling_at[i].scaling, mb->scaling_at[i].scaling);
    CHECK(same_at, "machine scaling_at: %d entries, %d read back", ma->n_scalings, mb->n_scalings);
    CHECK(same_num(ma->line_round_trip_ns, mb->line_round_trip_ns),
          "machine line_round_trip_ns: %g, %g read back", ma->line_round_trip_ns,
          mb->line_round_trip_ns);
    const lif_measure_config *ca = &a->config, *cb = &b->config;
    CHECK(ca->T == cb->T && ca->batch == cb->batch && ca->n_in == cb->n_in &&
              ca->n_out == cb->n_out && ca->hidden == cb->hidden && ca->reps == cb->reps &&
              ca->batches == cb->batches && ca->threads == cb->threads &&
              strcmp(ca->data, cb->data) == 0 && same_num(ca->density, cb->density) &&
              ca->n_thread_counts == cb->n_thread_counts &&
              memcmp(ca->thread_counts, cb->thread_counts,
                     (size_t)ca->n_thread_counts * sizeof ca->thread_counts[0]) == 0,
          "config");
    CHECK(same_num(a->peak_rss_mb, b->peak_rss_mb), "peak_rss_mb");
    CHECK(a->n_backends == b->n_backends, "%d backends, %d read back", a->n_backends, b->n_backends);
    for (int i = 0; i < a->n_backends && i < b->n_backends; i++) {
        const lif_measure_backend *x = &a->backends[i], *y = &b->backends[i];
        CHECK(strcmp(x->name, y->name) == 0 && strcmp(x->skipped, y->skipped) == 0 &&
                  x->threads == y->threads && x->serial == y->serial,
              "backend %d: name, threads, serial or skipped", i);
        if (x->skipped[0]) {
            CHECK(isnan(y->train.median) && isnan(y->test.median) && y->train.n_reps == 0,
                  "a skipped backend reads back with figures");
            continue;
        }
        CHECK(strcmp(x->kernels, y->kernels) == 0 && x->plan_bytes == y->plan_bytes &&
                  same_num(x->train_pct_of_fma_peak, y->train_pct_of_fma_peak),
              "backend %d: kernels, plan bytes or %%roof", i);
        const lif_measure_rate *rx[2] = {&x->train, &x->test}, *ry[2] = {&y->train, &y->test};
        for (int k = 0; k < 2; k++) {
            int same = rx[k]->n_reps == ry[k]->n_reps && same_num(rx[k]->median, ry[k]->median) &&
                       same_num(rx[k]->min, ry[k]->min) && same_num(rx[k]->max, ry[k]->max) &&
                       same_num(rx[k]->ratio_to_scalar, ry[k]->ratio_to_scalar) &&
                       same_num(rx[k]->ratio_to_first_threads, ry[k]->ratio_to_first_threads);
            for (int j = 0; same && j < rx[k]->n_reps; j++)
                same = same_num(rx[k]->reps[j], ry[k]->reps[j]);
            CHECK(same, "backend %d: %s figures differ", i, k ? "test" : "train");
        }
    }
}

static void test_json_roundtrip(void)
{
    lif_measure_report r, back, again;
    CHECK(lif_measure_report_init(&r, 3, 3) == LIF_OK, "init: %s", lif_last_error());
    if (!r.backends)
        return;
    fill_report(&r);
    const char *p = pathf("report.json"), *p2 = pathf("report2.json");
    CHECK(lif_measure_report_write(p, &r) == LIF_OK, "write: %s", lif_last_error());
    CHECK(lif_measure_report_read(p, &back) == LIF_OK, "read: %s", lif_last_error());
    check_same_report(&r, &back);

    /* written again, the same bytes */
    CHECK(lif_measure_report_write(p2, &back) == LIF_OK, "write: %s", lif_last_error());
    size_t n1, n2;
    char *t1 = slurp(p, &n1), *t2 = slurp(p2, &n2);
    CHECK(t1 && t2 && n1 == n2 && memcmp(t1, t2, n1) == 0, "a report read back writes other bytes");
    CHECK(t1 && strstr(t1, "\"lif_bench\": 1") && strstr(t1, "\"reps\": [") &&
              strstr(t1, "null") && n1 > 0 && t1[n1 - 1] == '\n',
          "the file lacks the format key, a reps array, a null or the final newline");

    /* replacing a file: atomically, nothing left behind */
    back.config.T = 7;
    CHECK(lif_measure_report_write(p, &back) == LIF_OK, "rewrite: %s", lif_last_error());
    CHECK(lif_measure_report_read(p, &again) == LIF_OK && again.config.T == 7, "rewrite not read");
    lif_measure_report_free(&again);
    DIR *d = opendir(tmp);
    int temps = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        temps += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    CHECK(temps == 0, "temporary files left");
    const char *bad = pathf("no/such/dir/r.json");
    lif_status st = lif_measure_report_write(bad, &r);
    CHECK(st == LIF_ERR_IO && starts_with(lif_last_error(), bad), "write into a missing folder: %d %s",
          (int)st, lif_last_error());

    /* an empty report */
    lif_measure_report e;
    CHECK(lif_measure_report_init(&e, 0, 0) == LIF_OK, "init empty");
    CHECK(lif_measure_report_write(p2, &e) == LIF_OK, "write empty: %s", lif_last_error());
    CHECK(lif_measure_report_read(p2, &again) == LIF_OK && again.n_backends == 0 &&
              again.backends == NULL,
          "empty report: %s", lif_last_error());
    lif_measure_report_free(&again);
    lif_measure_report_free(&e);
    CHECK(lif_measure_report_init(&e, -1, 0) == LIF_ERR_INVALID_ARG, "-1 backends accepted");

    free(t1);
    free(t2);
    lif_measure_report_free(&back);
    lif_measure_report_free(&r);
    CHECK(r.backends == NULL && r.n_backends == 0, "free does not zero");
    lif_measure_report_free(NULL);
}

/* Replaces the first `from` in text with `to` (a new string). */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at)
        return NULL;
    size_t n = strlen(text) - strlen(from) + strlen(to);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    size_t pre = (size_t)(at - text);
    memcpy(s, text, pre);
    strcpy(s + pre, to);
    strcat(s, at + strlen(from));
    return s;
}

static void expect_refused(const char *name, const char *text, lif_status want, const char *where)
{
    const char *p = pathf(name);
    spit(p, text);
    lif_measure_report r;
    memset(&r, 0x5a, sizeof r);
    lif_status st = lif_measure_report_read(p, &r);
    const char *msg = lif_last_error();
    CHECK(st == want, "%s: status %d, want %d (%s)", name, (int)st, (int)want, msg);
    CHECK(starts_with(msg, p) && strstr(msg, where) && !strchr(msg, '\n'),
          "%s: want one line naming the file and '%s', got: %s", name, where, msg);
    CHECK(r.backends == NULL && r.n_backends == 0, "%s: a refused file leaves a report", name);
}

static void test_json_malformed(void)
{
    /* not JSON: the line and column are named */
    static const char *not_json[] = {"", "{", "[1,]", "{\"a\":1,}", "NaN", "01", "1.", "\"\\x\"",
                                     "{\"a\" 1}", "[1] 2", "\"\x01\"", "-", "{\"a\": 1} {}"};
    for (size_t i = 0; i < sizeof not_json / sizeof not_json[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.json", i);
        expect_refused(name, not_json[i], LIF_ERR_FORMAT, "not valid JSON: line 1, column ");
    }
    expect_refused("bad_line.json", "{\n  \"lif_bench\": 1,\n  \"backends\": [1,]\n}\n",
                   LIF_ERR_FORMAT, "line 3, column");
    expect_refused("dup.json", "{\"lif_bench\": 1, \"lif_bench\": 1, \"backends\": []}",
                   LIF_ERR_FORMAT, "duplicate");

    /* JSON, but not a report */
    expect_refused("foreign.json", "{\"benchmarks\": []}", LIF_ERR_FORMAT,
                   "not a lif bench --json file");
    expect_refused("array.json", "[]", LIF_ERR_FORMAT, "not a lif bench --json file");

    /* a report with a member of the wrong type, missing or out of range */
    lif_measure_report r;
    CHECK(lif_measure_report_init(&r, 3, 3) == LIF_OK, "init");
    if (!r.backends)
        return;
    fill_report(&r);
    const char *good = pathf("good.json");
    CHECK(lif_measure_report_write(good, &r) == LIF_OK, "write: %s", lif_last_error());
    lif_measure_report_free(&r);
    size_t n;
    char *text = slurp(good, &n);
    if (!text)
        return;
    static const struct {
        const char *from, *to, *where;
    } edits[] = {
        {"\"lif_bench\": 1", "\"lif_bench\": 2", "format 2"},
        {"\"T\": 100", "\"T\": \"100\"", "config.T: expected an integer"},
        {"\"T\": 100", "\"T\": 1e99", "config.T: expected an integer"},
        {"\"T\": 100,", "", "config.T: missing"},
        {"\"cpu\": ", "\"cpu\": 5, \"x\": ", "machine.cpu: expected a string"},
        {"\"vendor\": \"AuthenticAMD\"", "\"vendor\": \"AuthenticAMD and a vendor name that is far too long\"",
         "machine.vendor: expected a string of at most 15 bytes"},
        {"\"median\": ", "\"median\": \"fast\", \"x\": ",
         "backends[0].train_images_per_s.median: expected a number"},
        {"\"reps\": [", "\"reps\": [\"a\", ", "backends[0].train_images_per_s.reps"},
        {"\"plan_bytes\": 119696", "\"plan_bytes\": -1", "backends[0].plan_bytes"},
        {"\"machine\": {", "\"machine\": [], \"x\": {", "machine: expected an object"},
        {"\"backends\": [", "\"backends\": 3, \"x\": [", "backends: expected an array"},
        /* the members of runs over several thread counts */
        {"\"serial\": true", "\"serial\": 1", "backends[0].serial: expected true or false"},
        {"\"name\": \"scalar\",\n      \"threads\": 1", "\"name\": \"scalar\",\n      \"threads\": 0",
         "backends[0].threads: expected an integer in 1..1024"},
        {"\"name\": \"openmp\",\n      \"threads\": 2", "\"name\": \"openmp\",\n      \"threads\": \"2\"",
         "backends[1].threads: expected an integer in 1..1024"},
        {"\"thread_counts\": [", "\"thread_counts\": [0, ",
         "config.thread_counts: expected an array of at most 8 integers in 1..1024"},
        {"\"thread_counts\": [", "\"thread_counts\": [1, 2, 3, 4, 5, 6, ",
         "config.thread_counts: expected an array of at most 8"},
        {"\"thread_counts\": [", "\"thread_counts\": 3, \"y\": [", "config.thread_counts: expected an array"},
        {"\"scaling_at\": [", "\"scaling_at\": [3, ", "machine.scaling_at[0]: expected an object"},
        {"\"scaling\": 0.76938472876788067", "\"scaling\": \"fast\"",
         "machine.scaling_at[0].scaling: expected a number"},
        {"\"ratio_to_first_threads\": null", "\"ratio_to_first_threads\": []",
         "backends[0].train_images_per_s.ratio_to_first_threads: expected a number"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *bad = replace(text, edits[i].from, edits[i].to), name[32];
        CHECK(bad != NULL, "edit %zu: '%s' not in the report", i, edits[i].from);
        if (!bad)
            continue;
        snprintf(name, sizeof name, "edit%zu.json", i);
        expect_refused(name, bad, LIF_ERR_FORMAT, edits[i].where);
        free(bad);
    }
    free(text);

    /* a file that is not there */
    lif_status st = lif_measure_report_read(pathf("missing.json"), &r);
    CHECK(st == LIF_ERR_IO && starts_with(lif_last_error(), pathf("missing.json")) &&
              strstr(lif_last_error(), "No such file"),
          "a missing file: %d %s", (int)st, lif_last_error());
}

/* A file lif bench wrote before --threads took a list (no thread_counts,
 * scaling_at, rows' threads, serial or ratio_to_first_threads): its rows
 * read back at the configuration's thread count. */
static void test_json_before_thread_lists(void)
{
    lif_measure_report r;
    const char *p = LIF_TEST_DATA "/bench/format1_before_thread_lists.json";
    lif_status st = lif_measure_report_read(p, &r);
    CHECK(st == LIF_OK, "read %s: %s", p, lif_last_error());
    if (st != LIF_OK)
        return;
    CHECK(r.config.threads == 2 && r.config.n_thread_counts == 1 && r.config.thread_counts[0] == 2,
          "thread counts of an older file: threads %d, %d counts, first %d", r.config.threads,
          r.config.n_thread_counts, r.config.thread_counts[0]);
    CHECK(r.machine.n_scalings == 1 && r.machine.scaling_at[0].threads == 2 &&
              r.machine.scaling_at[0].scaling == r.machine.scaling,
          "the scaling test of an older file is not its one scaling_at entry");
    CHECK(r.n_backends == 2, "%d rows, want 2", r.n_backends);
    for (int i = 0; i < r.n_backends; i++) {
        const lif_measure_backend *b = &r.backends[i];
        CHECK(b->threads == 2 && b->serial == 0, "%s: threads %d serial %d, want 2 and 0", b->name,
              b->threads, b->serial);
        CHECK(isnan(b->train.ratio_to_first_threads) && isnan(b->test.ratio_to_first_threads),
              "%s: a ratio to the first thread count that the file does not hold", b->name);
        CHECK(b->train.median > 0 && b->train.n_reps == 2, "%s: figures", b->name);
    }

    /* written again, it holds the new members and reads back the same */
    lif_measure_report back;
    const char *p2 = pathf("before_thread_lists.json");
    CHECK(lif_measure_report_write(p2, &r) == LIF_OK, "write: %s", lif_last_error());
    CHECK(lif_measure_report_read(p2, &back) == LIF_OK, "read: %s", lif_last_error());
    check_same_report(&r, &back);
    size_t n;
    char *text = slurp(p2, &n);
    CHECK(text && strstr(text, "\"thread_counts\"") && strstr(text, "\"serial\": false"),
          "the rewritten file lacks thread_counts or serial");
    free(text);
    lif_measure_report_free(&back);
    lif_measure_report_free(&r);
}

int main(void)
{
    tmp = test_tmpdir("measure");
    test_workloads();
    test_schedule();
    test_e2e();
    test_json_roundtrip();
    test_json_malformed();
    test_json_before_thread_lists();
    test_threaded();
    return test_finish("test_measure");
}
