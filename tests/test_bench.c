/* tests/test_bench.c — smoke tests of the benchmarks; no speed is asserted.
 *
 *   lif_kernels and lif_e2e (built next to lif, in <dir of lif>/bench/) run
 *   with a tiny time budget and --benchmark_format=json; the output must be
 *   valid JSON with the expected benchmarks and counters (the bare Philox
 *   round loops too: both where the CPU has AVX-512, the AVX2 one on AVX2).
 *   lif bench on a tiny synthetic set prints a well-formed table, writes
 *   JSON that liblif's reader (lif_measure_report_read) takes back with the
 *   configuration asked for, --compare of a file with itself prints ratios
 *   of 1.00, and --compare of a malformed file is refused with one line
 *   naming the file and the place, exit status 2.
 *   lif bench --threads 1,2 writes one row per (backend, thread count)
 *   (serial backends once, at 1 thread) that read back with their counts;
 *   --compare matches rows by (backend, threads), a serial row with its
 *   backend at any count, and reads files written before thread lists.
 * Google Benchmark's JSON is read with jansson. The measurement library
 * itself (workloads, runners, schedule, JSON round trip) is test_measure's.
 * When the benchmark programs were not built (no libbenchmark-dev) the rest
 * still runs and the test reports skipped. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lif/lif.h"
#include "testutil.h"

static char tmp[1024];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* Runs a shell command line, stdout to out_path; returns its exit status. */
static int run(const char *cmd, const char *out_path)
{
    char line[8192];
    snprintf(line, sizeof line, "%s > '%s' 2> '%s.err'", cmd, out_path, out_path);
    int st = system(line);
    int rc = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    if (rc != 0) {
        char err[1100];
        snprintf(err, sizeof err, "%s.err", out_path);
        char *e = slurp(err);
        fprintf(stderr, "command failed (%d): %s\n%s\n", rc, line, e ? e : "");
        free(e);
    }
    return rc;
}

/* A number member of a JSON object, or dflt. */
static double num(const json_t *o, const char *key, double dflt)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

/* Runs a Google Benchmark program with a filter; checks its JSON. */
static void check_gbench(const char *prog, const char *filter, const char *counter, int want_min)
{
    char cmd[4096], out[1100];
    snprintf(out, sizeof out, "%s/%s.json", tmp, strrchr(prog, '/') + 1);
    /* benchmark 1.7.1 takes the minimum time as plain seconds */
    snprintf(cmd, sizeof cmd, "LIF_ROOFLINE_SECONDS=0.02 '%s' --benchmark_min_time=0.01 "
             "--benchmark_filter='%s' --benchmark_format=json", prog, filter);
    int rc = run(cmd, out);
    CHECK(rc == 0, "%s exited %d; repro: %s", prog, rc, cmd);
    json_error_t err;
    json_t *j = json_load_file(out, JSON_REJECT_DUPLICATES, &err);
    CHECK(j != NULL, "%s: output is not JSON: line %d: %s; repro: %s", prog, j ? 0 : err.line,
          j ? "" : err.text, cmd);
    json_t *ctx = json_object_get(j, "context");
    CHECK(json_is_string(json_object_get(ctx, "lif_peak_gflops")), "%s: no lif_peak_gflops in context",
          prog);
    CHECK(json_is_string(json_object_get(ctx, "lif_cpu")), "%s: no lif_cpu in context", prog);
    CHECK(json_is_string(json_object_get(ctx, "lif_peak_gadds")), "%s: no lif_peak_gadds in context",
          prog);
#if defined(__x86_64__)
    /* where the CPU has AVX2 the add roof is measured and positive */
    if (lif_cpu_has(LIF_ISA_AVX2, NULL)) {
        const char *ga = json_string_value(json_object_get(ctx, "lif_peak_gadds"));
        CHECK(ga && atof(ga) > 0, "%s: lif_peak_gadds is %s", prog, ga ? ga : "missing");
    }
#endif
    json_t *bs = json_object_get(j, "benchmarks");
    int n = 0, ok = 0;
    for (size_t i = 0; i < json_array_size(bs); i++) {
        json_t *b = json_array_get(bs, i);
        const char *name = json_string_value(json_object_get(b, "name"));
        n++;
        if (json_is_true(json_object_get(b, "error_occurred"))) {
            const char *msg = json_string_value(json_object_get(b, "error_message"));
            printf("  %s: skipped: %s\n", name ? name : "?", msg ? msg : "?");
            continue;
        }
        ok++;
        CHECK(num(b, counter, -1) > 0, "%s: %s has no positive '%s' counter", prog, name, counter);
        CHECK(num(b, "pct_roof", -1) >= 0, "%s: %s has no pct_roof", prog, name);
        CHECK(num(b, "real_time", -1) > 0, "%s: %s has no real_time", prog, name);
    }
    CHECK(ok >= want_min, "%s: %d benchmarks ran (of %d listed), want >= %d; repro: %s", prog, ok,
          n, want_min, cmd);
    printf("%s: %d benchmarks ran, %d listed (%s)\n", prog, ok, n, filter);
    json_decref(j);
}

/* Runs a shell command line, stdout to out_path, stderr to out_path.err;
 * returns its exit status, quietly. */
static int run_status(const char *cmd, const char *out_path)
{
    char line[8192];
    snprintf(line, sizeof line, "%s > '%s' 2> '%s.err'", cmd, out_path, out_path);
    int st = system(line);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void check_compare_fields(const char *json);

static void check_lif_bench(void)
{
    char cmd[4096], out[1100], json[1100];
    snprintf(json, sizeof json, "%s/run.json", tmp);
    snprintf(out, sizeof out, "%s/table.txt", tmp);
    snprintf(cmd, sizeof cmd, "'%s' bench -T 8 -b 4 --reps 2 --batches 2 --backend scalar --json '%s'",
             LIF_CLI_PATH, json);
    int rc = run(cmd, out);
    CHECK(rc == 0, "lif bench exited %d; repro: %s", rc, cmd);
    char *table = slurp(out);
    CHECK(table && strstr(table, "machine: "), "no machine line in the table; repro: %s", cmd);
    CHECK(table && strstr(table, "backend") && strstr(table, "train img/s") &&
              strstr(table, "x scalar") && strstr(table, "%roof"),
          "no table header; repro: %s", cmd);
    const char *row = table ? strstr(table, "\nscalar ") : NULL;
    double med = 0;
    CHECK(row && sscanf(row, " scalar %lf", &med) == 1 && med > 0,
          "no scalar row with a positive figure; repro: %s", cmd);
    if (table)
        printf("%s", table);
    free(table);

    lif_measure_report rep;
    lif_status st = lif_measure_report_read(json, &rep);
    CHECK(st == LIF_OK, "--json output is not a report: %s", lif_last_error());
    if (st == LIF_OK) {
        const lif_measure_machine *m = &rep.machine;
        CHECK(m->cpu[0] && m->isa[0] && m->logical_cpus >= 1 && m->peak_gflops > 0 &&
                  m->copy_gbps > 0,
              "machine keys missing");
        CHECK(rep.config.T == 8 && rep.config.batch == 4 && rep.config.reps == 2 &&
                  rep.config.batches == 2 && strcmp(rep.config.data, "synthetic") == 0,
              "config keys wrong");
        CHECK(rep.peak_rss_mb > 0, "no peak_rss_mb");
        CHECK(rep.n_backends == 1 && strcmp(rep.backends[0].name, "scalar") == 0,
              "the backend is not scalar alone");
        const lif_measure_backend *b0 = rep.n_backends ? &rep.backends[0] : NULL;
        CHECK(b0 && b0->train.median > 0 && b0->test.median > 0, "no medians");
        CHECK(b0 && b0->train.ratio_to_scalar == 1.0, "scalar's ratio to itself is not 1");
        CHECK(b0 && b0->train.n_reps == 2 && b0->test.n_reps == 2,
              "want 2 repetitions in the JSON, got %d", b0 ? b0->train.n_reps : -1);
        CHECK(b0 && b0->train.min <= b0->train.median && b0->train.median <= b0->train.max,
              "median outside min-max");
        CHECK(b0 && strchr(b0->kernels, ','),
              "kernels: '%s'", b0 ? b0->kernels : "");
    }
    lif_measure_report_free(&rep);

    snprintf(out, sizeof out, "%s/compare.txt", tmp);
    snprintf(cmd, sizeof cmd, "'%s' bench --compare '%s' '%s'", LIF_CLI_PATH, json, json);
    rc = run(cmd, out);
    CHECK(rc == 0, "lif bench --compare exited %d; repro: %s", rc, cmd);
    char *cmp = slurp(out);
    double r1 = 0, r2 = 0, a, b, x, y;
    const char *line = cmp ? strstr(cmp, "\nscalar ") : NULL;
    CHECK(line && sscanf(line, " scalar %lf %lf %lf %lf %lf %lf", &a, &b, &r1, &x, &y, &r2) == 6 &&
              r1 == 1.0 && r2 == 1.0 && strstr(line, "1.00"),
          "--compare of a file with itself does not print ratios of 1.00; repro: %s", cmd);
    if (cmp)
        printf("%s", cmp);
    free(cmp);

    snprintf(cmd, sizeof cmd, "'%s' bench --compare '%s'", LIF_CLI_PATH, json);
    snprintf(out, sizeof out, "%s/usage.txt", tmp);
    CHECK(run_status(cmd, out) == 2, "--compare with one file must exit 2");

    /* malformed files: one line naming the file and where, exit status 2 */
    static const struct {
        const char *name, *text, *want;
    } bad[] = {
        {"bad_syntax.json", "{\n  \"lif_bench\": 1,\n  \"backends\": [1,]\n}\n", "line 3"},
        {"bad_empty.json", "", "line 1"},
        {"bad_trailing.json", "{\"lif_bench\": 1, \"backends\": []} x", "line 1"},
        {"bad_foreign.json", "{\"benchmarks\": []}", "not a lif bench --json file"},
        {"bad_type.json", "{\"lif_bench\": 1, \"version\": 7, \"backends\": []}", "version"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[1100], err[1200];
        snprintf(path, sizeof path, "%s/%s", tmp, bad[i].name);
        FILE *f = fopen(path, "wb");
        CHECK(f && fputs(bad[i].text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
        snprintf(cmd, sizeof cmd, "'%s' bench --compare '%s' '%s'", LIF_CLI_PATH, path, json);
        snprintf(out, sizeof out, "%s/compare_bad.txt", tmp);
        snprintf(err, sizeof err, "%s.err", out);
        int rc2 = run_status(cmd, out);
        char *msg = slurp(err);
        int lines = 0;
        for (const char *p = msg; p && *p; p++)
            lines += *p == '\n';
        CHECK(rc2 == 2, "--compare of %s exited %d, want 2; repro: %s", bad[i].name, rc2, cmd);
        CHECK(msg && lines == 1 && strncmp(msg, "lif bench: ", 11) == 0 && strstr(msg, path) &&
                  strstr(msg, bad[i].want),
              "--compare of %s: want one line naming the file and '%s', got: %s", bad[i].name,
              bad[i].want, msg ? msg : "(nothing)");
        if (msg && i == 0)
            printf("%s", msg);
        free(msg);
    }
    check_compare_fields(json);
}

/* A copy of the JSON text `text` with the value after the first `"median": `
 * replaced by `with`, written to tmp/name; returns the path (static). */
static const char *with_median(const char *text, const char *with, const char *name)
{
    static char path[1100];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    const char *at = text ? strstr(text, "\"median\": ") : NULL;
    CHECK(at != NULL, "no median in the --json output");
    if (!at)
        return path;
    at += strlen("\"median\": ");
    size_t skip = strcspn(at, ",\n}");
    FILE *f = fopen(path, "wb");
    CHECK(f && fprintf(f, "%.*s%s%s", (int)(at - text), text, with, at + skip) > 0 &&
              fclose(f) == 0, "cannot write %s", path);
    return path;
}

/* --compare refuses a median that is negative or no number (one line
 * naming the file and the field, exit 2), and a row not measured in A
 * (null) says so instead of printing nan. */
static void check_compare_fields(const char *json)
{
    char cmd[4000], out[1100], err[1200];
    char *text = slurp(json);
    static const struct {
        const char *with, *name, *want;
    } bad[] = {{"-5", "neg_median.json", "expected a number >= 0"},
               {"\"fast\"", "str_median.json", "expected a number"}};
    for (int i = 0; i < 2; i++) {
        const char *path = with_median(text, bad[i].with, bad[i].name);
        snprintf(cmd, sizeof cmd, "'%s' bench --compare '%s' '%s'", LIF_CLI_PATH, path, json);
        snprintf(out, sizeof out, "%s/compare_field.txt", tmp);
        snprintf(err, sizeof err, "%s.err", out);
        int rc = run_status(cmd, out);
        char *msg = slurp(err);
        CHECK(rc == 2 && msg && strstr(msg, bad[i].name) && strstr(msg, "median") &&
                  strstr(msg, bad[i].want),
              "--compare of a median %s: exit %d, want 2 and a message naming it: %s; repro: %s",
              bad[i].with, rc, msg ? msg : "(nothing)", cmd);
        free(msg);
    }
    const char *path = with_median(text, "null", "null_median.json");
    snprintf(cmd, sizeof cmd, "'%s' bench --compare '%s' '%s'", LIF_CLI_PATH, path, json);
    snprintf(out, sizeof out, "%s/compare_null.txt", tmp);
    int rc = run(cmd, out);
    char *res = slurp(out);
    CHECK(rc == 0 && res && !strstr(res, "nan") && strstr(res, "not run in A"),
          "--compare with a row not run in A: exit %d, want 0 and 'not run in A', no nan: %s; "
          "repro: %s", rc, res ? res : "(nothing)", cmd);
    free(res);
    free(text);
}

/* A row of a made-up report. */
static void set_row(lif_measure_report *r, int i, const char *name, int threads, int serial,
                    double train, double test)
{
    lif_measure_backend *b = &r->backends[i];
    snprintf(b->name, sizeof b->name, "%s", name);
    snprintf(b->kernels, sizeof b->kernels, "linear_fwd/%s/x, optim/%s/x", name, name);
    b->threads = threads;
    b->serial = serial;
    b->plan_bytes = 1000;
    lif_measure_rate *rates[2] = {&b->train, &b->test};
    double med[2] = {train, test};
    for (int k = 0; k < 2; k++) {
        rates[k]->reps[0] = rates[k]->median = rates[k]->min = rates[k]->max = med[k];
        rates[k]->ratio_to_scalar = rates[k]->ratio_to_first_threads = NAN;
    }
    b->train_pct_of_fma_peak = 1.0;
}

static void made_up_report(const char *path, const int *counts, int ncounts, int nrows)
{
    lif_measure_report r;
    CHECK(lif_measure_report_init(&r, nrows, 1) == LIF_OK, "init: %s", lif_last_error());
    snprintf(r.version, sizeof r.version, "0.1.0");
    snprintf(r.machine.cpu, sizeof r.machine.cpu, "test CPU");
    snprintf(r.machine.isa, sizeof r.machine.isa, "avx2");
    r.machine.logical_cpus = 4;
    r.config = (lif_measure_config){.T = 8, .batch = 4, .n_in = 784, .n_out = 10, .reps = 1,
                                    .batches = 1, .threads = counts[0], .n_thread_counts = ncounts,
                                    .density = 0.29};
    memcpy(r.config.thread_counts, counts, (size_t)ncounts * sizeof *counts);
    snprintf(r.config.data, sizeof r.config.data, "synthetic");
    r.peak_rss_mb = 100;
    if (ncounts == 2) {   /* A: openmp at 1 and 2 threads */
        set_row(&r, 0, "scalar", 1, 1, 10, 20);
        set_row(&r, 1, "openmp", 1, 0, 100, 200);
        set_row(&r, 2, "openmp", 2, 0, 150, 300);
    } else {              /* B: openmp at 2 and 4 threads */
        set_row(&r, 0, "openmp", 2, 0, 300, 300);
        set_row(&r, 1, "openmp", 4, 0, 400, 400);
        set_row(&r, 2, "scalar", 1, 1, 20, 20);
    }
    CHECK(lif_measure_report_write(path, &r) == LIF_OK, "write %s: %s", path, lif_last_error());
    lif_measure_report_free(&r);
}

/* The line of text that starts with prefix (after a newline), or NULL. */
static const char *line_at(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, n) == 0)
            return p;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

static void check_lif_bench_threads(void)
{
    char cmd[4096], out[1100], json[1100];
    snprintf(json, sizeof json, "%s/threads.json", tmp);
    snprintf(out, sizeof out, "%s/threads.txt", tmp);
    /* every backend available here: a threaded one (openmp) gets a row at
     * 1 and at 2 threads, a serial one a row at 1 */
    char list[512] = "";
    int want_rows = 0;
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (size_t i = 0; i < nb; i++) {
        const char *why;
        if (!lif_backend_available(bs[i], &why))
            continue;
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", len ? "," : "", bs[i]->name);
        want_rows += lif_measure_threaded(bs[i]->name) ? 2 : 1;
    }
    snprintf(cmd, sizeof cmd, "'%s' bench -T 8 -b 4 --reps 2 --batches 1 --backend %s "
             "--threads 1,2 --json '%s'", LIF_CLI_PATH, list, json);
    int rc = run(cmd, out);
    CHECK(rc == 0, "lif bench --threads 1,2 exited %d; repro: %s", rc, cmd);
    char *table = slurp(out);
    if (table)
        printf("%s", table);
    free(table);

    /* the JSON: one entry per row, with its thread count */
    lif_measure_report rep;
    lif_status st = lif_measure_report_read(json, &rep);
    CHECK(st == LIF_OK, "--json output is not a report: %s", lif_last_error());
    if (st == LIF_OK) {
        const lif_measure_config *c = &rep.config;
        CHECK(c->threads == 1 && c->n_thread_counts == 2 && c->thread_counts[0] == 1 &&
                  c->thread_counts[1] == 2,
              "config: threads %d, %d counts", c->threads, c->n_thread_counts);
        CHECK(rep.machine.n_scalings == 1 && rep.machine.scaling_at[0].threads == 2 &&
                  rep.machine.scaling_at[0].scaling > 0,
              "the machine's scaling at 2 threads is not in the file (%d entries)",
              rep.machine.n_scalings);
        /* a line's round trip between two threads: at least a cache's
         * latency (> 5 ns) and finite; no upper bound, since with the
         * other CPU busy (ctest -j) both threads may share one and take
         * turns by the scheduler */
        double rt = rep.machine.line_round_trip_ns;
        CHECK(rep.machine.logical_cpus < 2 || (rt > 5 && isfinite(rt)),
              "the cache line round trip between two threads is %g ns (%d logical CPUs)", rt,
              rep.machine.logical_cpus);
        for (int i = 0; i < rep.n_backends; i++) {
            const lif_measure_backend *b = &rep.backends[i];
            int serial = !lif_measure_threaded(b->name);
            CHECK(b->serial == serial, "%s: serial %d, want %d", b->name, b->serial, serial);
            if (serial) {
                CHECK(b->threads == 1 && isnan(b->train.ratio_to_first_threads),
                      "serial %s: threads %d, ratio to the first count %g", b->name, b->threads,
                      b->train.ratio_to_first_threads);
            } else {
                CHECK(b->threads == 1 ? b->train.ratio_to_first_threads == 1.0
                                      : b->train.ratio_to_first_threads > 0,
                      "%s at %d threads: ratio to the first count %g", b->name, b->threads,
                      b->train.ratio_to_first_threads);
            }
            CHECK(b->train.median > 0 && b->test.median > 0 && b->train.n_reps == 2,
                  "%s at %d threads: no figures", b->name, b->threads);
        }
        CHECK(rep.n_backends == want_rows && strcmp(rep.backends[0].name, "scalar") == 0,
              "%d rows, want %d (one per serial backend, one per thread count of a threaded one)",
              rep.n_backends, want_rows);
    }
    lif_measure_report_free(&rep);

    /* --compare of the file with itself: a threads column, every ratio 1.00 */
    snprintf(out, sizeof out, "%s/threads_compare.txt", tmp);
    snprintf(cmd, sizeof cmd, "'%s' bench --compare '%s' '%s'", LIF_CLI_PATH, json, json);
    rc = run(cmd, out);
    CHECK(rc == 0, "--compare exited %d; repro: %s", rc, cmd);
    char *cmp = slurp(out);
    double a, b, r1 = 0, x, y, r2 = 0;
    const char *line = cmp ? line_at(cmp, "scalar     1 (serial) ") : NULL;
    CHECK(cmp && line_at(cmp, "backend    threads ") && line &&
              sscanf(line, "scalar 1 (serial) %lf %lf %lf %lf %lf %lf", &a, &b, &r1, &x, &y, &r2) ==
                  6 && r1 == 1.0 && r2 == 1.0,
          "--compare of a --threads 1,2 file with itself: no threads column or ratios not 1; "
          "repro: %s\n%s", cmd, cmp ? cmp : "");
    free(cmp);

    /* an older file (no thread counts: its rows ran at config.threads, 2)
     * against the new one: scalar is serial, so its rows match */
    snprintf(cmd, sizeof cmd, "'%s' bench --compare '%s' '%s'", LIF_CLI_PATH,
             LIF_TEST_DATA "/bench/format1_before_thread_lists.json", json);
    rc = run(cmd, out);
    CHECK(rc == 0, "--compare with an older file exited %d; repro: %s", rc, cmd);
    cmp = slurp(out);
    line = cmp ? line_at(cmp, "scalar     1 (serial) ") : NULL;
    CHECK(line && sscanf(line, "scalar 1 (serial) %lf %lf %lf", &a, &b, &r1) == 3 && a > 0 &&
              b > 0 && !line_at(cmp, "scalar     2 "),
          "--compare of an older file: the serial scalar rows do not match; repro: %s\n%s", cmd,
          cmp ? cmp : "");
    CHECK(cmp && strstr(cmp, "warning: the runs differ in thread counts (2 vs 1,2)"),
          "no warning about the thread counts; repro: %s", cmd);
    free(cmp);

    /* made-up reports: A has openmp at 1 and 2 threads, B at 2 and 4 */
    char pa[1100], pb[1100];
    snprintf(pa, sizeof pa, "%s/threads_a.json", tmp);
    snprintf(pb, sizeof pb, "%s/threads_b.json", tmp);
    made_up_report(pa, (const int[]){1, 2}, 2, 3);
    made_up_report(pb, (const int[]){2, 4, 1}, 3, 3);
    snprintf(cmd, sizeof cmd, "'%s' bench --compare '%s' '%s'", LIF_CLI_PATH, pa, pb);
    rc = run(cmd, out);
    CHECK(rc == 0, "--compare of made-up reports exited %d; repro: %s", rc, cmd);
    cmp = slurp(out);
    if (cmp)
        printf("%s", cmp);
    int t = 0;
    line = cmp ? line_at(cmp, "openmp     2 ") : NULL;
    CHECK(line && sscanf(line, "openmp %d %lf %lf %lf %lf %lf %lf", &t, &a, &b, &r1, &x, &y, &r2) ==
                      7 && a == 150 && b == 300 && r1 == 2.0 && r2 == 1.0,
          "openmp at 2 threads is not matched with A's at 2; repro: %s", cmd);
    CHECK(cmp && line_at(cmp, "openmp     4          only in B") &&
              line_at(cmp, "openmp     1          only in A"),
          "openmp at 4 (B) and at 1 (A) are not shown as only in one file; repro: %s", cmd);
    line = cmp ? line_at(cmp, "scalar     1 (serial) ") : NULL;
    CHECK(line && sscanf(line, "scalar 1 (serial) %lf %lf %lf", &a, &b, &r1) == 3 && r1 == 2.0,
          "scalar not matched; repro: %s", cmd);
    free(cmp);
}

/* A row that chains backends with '+' runs their preference list: the
 * kernels of "simd+scalar" are simd's (a backend that fills only some ops,
 * as onednn does, is benchmarked so with its fallbacks). */
static void check_lif_bench_chain(void)
{
    const char *why = "";
    if (!lif_backend_find("simd") || !lif_backend_available(lif_backend_find("simd"), &why)) {
        printf("skipped: the '+' row: simd cannot run here: %s\n", why);
        return;
    }
    char cmd[4096], out[1100];
    snprintf(out, sizeof out, "%s/chain.txt", tmp);
    snprintf(cmd, sizeof cmd, "'%s' bench -T 8 -b 4 --reps 2 --batches 1 --backend scalar,simd+scalar",
             LIF_CLI_PATH);
    int rc = run(cmd, out);
    CHECK(rc == 0, "lif bench exited %d; repro: %s", rc, cmd);
    char *table = slurp(out);
    CHECK(table && strstr(table, "\nsimd+scalar "), "no simd+scalar row; repro: %s", cmd);
    CHECK(table && strstr(table, "kernels simd+scalar: encode/simd/"),
          "the simd+scalar row does not run simd's kernels; repro: %s", cmd);
    free(table);
    snprintf(cmd, sizeof cmd, "'%s' bench -T 8 -b 4 --reps 2 --batches 1 --backend simd+nosuch",
             LIF_CLI_PATH);
    rc = run(cmd, out);
    table = slurp(out);
    CHECK(rc == 2, "an unknown backend in a '+' row: exit %d, want 2; repro: %s", rc, cmd);
    free(table);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s", test_tmpdir("bench"));
    check_lif_bench();
    check_lif_bench_threads();
    check_lif_bench_chain();

    char dir[1024], kernels[1100], e2e[1100];
    snprintf(dir, sizeof dir, "%s", LIF_CLI_PATH);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    snprintf(kernels, sizeof kernels, "%s/bench/lif_kernels", dir);
    snprintf(e2e, sizeof e2e, "%s/bench/lif_e2e", dir);
    int have = access(kernels, X_OK) == 0 && access(e2e, X_OK) == 0;
    if (have) {
        /* every op of every kernel, the reference shape, Fashion-MNIST density */
        check_gbench(kernels, "/T100_b64_n784x10_d0.29", "pct_roof", 1);
        check_gbench(kernels, "^lif_fwd/scalar/ref/T100_b64_n784x10_d0.13", "sample_steps", 1);
        check_gbench(kernels, "^linear_fwd/scalar/ref/T100_b64_n784x10_d0.29", "syn_events", 1);
        check_gbench(e2e, "^(train_step|infer)/scalar/.*_d0.29", "images", 2);
        /* bare Philox rounds: run where the CPU has the ISA, else skipped */
        check_gbench(kernels, "^philox_rounds/", "counter_rounds",
                     lif_cpu_has(LIF_ISA_AVX512, NULL) ? 2 : lif_cpu_has(LIF_ISA_AVX2, NULL) ? 1 : 0);
    }
    int rc = test_finish("test_bench");
    if (rc == 0 && !have) {
        char why[4096];
        snprintf(why, sizeof why, "%s or %s not built (install libbenchmark-dev); lif bench passed",
                 kernels, e2e);
        test_skip(why);
    }
    return rc;
}
