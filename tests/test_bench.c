/* tests/test_bench.c — smoke tests of the benchmarks; no speed is asserted.
 *
 *   lif_kernels and lif_e2e (built next to lif, in <dir of lif>/bench/) run
 *   with a tiny time budget and --benchmark_format=json; the output must be
 *   valid JSON with the expected benchmarks and counters.
 *   lif bench on a tiny synthetic set prints a well-formed table, writes
 *   JSON that liblif's reader (lif_measure_report_read) takes back with the
 *   configuration asked for, --compare of a file with itself prints ratios
 *   of 1.00, and --compare of a malformed file is refused with one line
 *   naming the file and the place, exit status 2.
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
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s", test_tmpdir("bench"));
    check_lif_bench();

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
