/* tests/test_bench.c — smoke tests of the benchmarks; no speed is asserted.
 *
 *   lif_kernels and lif_e2e (built next to lif, in <dir of lif>/bench/) run
 *   with a tiny time budget and --benchmark_format=json; the output must be
 *   valid JSON with the expected benchmarks and counters.
 *   lif bench on a tiny synthetic set prints a well-formed table, writes
 *   JSON with the expected keys, and --compare of a file with itself prints
 *   ratios of 1.00.
 * The JSON reader is lif bench's own strict one (cli/bench_json.c, compiled
 * in here), itself checked on good and bad texts first. When the benchmark
 * programs were not built (no libbenchmark-dev) the rest still runs and
 * the test reports skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cli/bench_json.c"
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

static void check_parser(void)
{
    static const char *good[] = {"{}", "[]", "0", "-1.5e3", "\"a\\u00e9\\ud83d\\ude00\"",
                                 "{\"a\": [1, true, null, {\"b\": \"c\"}]}", " 7 "};
    static const char *bad[] = {"", "{", "[1,]", "{\"a\":1,}", "NaN", "01", "1.", "\"\\x\"",
                                "{\"a\" 1}", "[1] 2", "\"\x01\"", "-"};
    char err[160];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        bench_json *j = bench_json_parse(good[i], err, sizeof err);
        CHECK(j != NULL, "parser refused valid JSON %s: %s", good[i], err);
        bench_json_free(j);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bench_json *j = bench_json_parse(bad[i], err, sizeof err);
        CHECK(j == NULL, "parser accepted invalid JSON '%s'", bad[i]);
        bench_json_free(j);
    }
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
    char *text = slurp(out), err[160] = "";
    bench_json *j = text ? bench_json_parse(text, err, sizeof err) : NULL;
    CHECK(j != NULL, "%s: output is not JSON: %s; repro: %s", prog, err, cmd);
    const bench_json *ctx = bench_json_get(j, "context");
    CHECK(bench_json_str(ctx, "lif_peak_gflops", NULL) != NULL, "%s: no lif_peak_gflops in context", prog);
    CHECK(bench_json_str(ctx, "lif_cpu", NULL) != NULL, "%s: no lif_cpu in context", prog);
    const bench_json *bs = bench_json_get(j, "benchmarks");
    int n = 0, ok = 0;
    for (const bench_json *b = bs && bs->kind == BJ_ARR ? bs->child : NULL; b; b = b->next) {
        n++;
        const bench_json *e = bench_json_get(b, "error_occurred");
        if (e && e->num != 0) {
            printf("  %s: skipped: %s\n", bench_json_str(b, "name", "?"),
                   bench_json_str(b, "error_message", "?"));
            continue;
        }
        ok++;
        const char *name = bench_json_str(b, "name", "");
        CHECK(bench_json_num(b, counter, -1) > 0, "%s: %s has no positive '%s' counter", prog, name, counter);
        CHECK(bench_json_num(b, "pct_roof", -1) >= 0, "%s: %s has no pct_roof", prog, name);
        CHECK(bench_json_num(b, "real_time", -1) > 0, "%s: %s has no real_time", prog, name);
    }
    CHECK(ok >= want_min, "%s: %d benchmarks ran (of %d listed), want >= %d; repro: %s", prog, ok,
          n, want_min, cmd);
    printf("%s: %d benchmarks ran, %d listed (%s)\n", prog, ok, n, filter);
    bench_json_free(j);
    free(text);
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

    char *text = slurp(json), err[160] = "";
    bench_json *j = text ? bench_json_parse(text, err, sizeof err) : NULL;
    CHECK(j != NULL, "--json output is not valid JSON: %s", err);
    const bench_json *m = bench_json_get(j, "machine"), *c = bench_json_get(j, "config");
    CHECK(bench_json_num(j, "lif_bench", 0) == 1, "no \"lif_bench\": 1");
    CHECK(bench_json_str(m, "cpu", NULL) && bench_json_str(m, "isa", NULL) &&
              bench_json_num(m, "logical_cpus", 0) >= 1 && bench_json_num(m, "peak_gflops", 0) > 0 &&
              bench_json_num(m, "copy_gbps", 0) > 0,
          "machine keys missing");
    CHECK(bench_json_num(c, "T", 0) == 8 && bench_json_num(c, "batch", 0) == 4 &&
              bench_json_num(c, "reps", 0) == 2,
          "config keys wrong");
    CHECK(bench_json_num(j, "peak_rss_mb", 0) > 0, "no peak_rss_mb");
    const bench_json *bs = bench_json_get(j, "backends");
    const bench_json *b0 = bs && bs->kind == BJ_ARR ? bs->child : NULL;
    CHECK(b0 && strcmp(bench_json_str(b0, "name", ""), "scalar") == 0, "first backend is not scalar");
    const bench_json *tr = bench_json_get(b0, "train_images_per_s");
    const bench_json *te = bench_json_get(b0, "test_images_per_s");
    CHECK(bench_json_num(tr, "median", 0) > 0 && bench_json_num(te, "median", 0) > 0,
          "no medians");
    CHECK(bench_json_num(tr, "ratio_to_scalar", 0) == 1.0, "scalar's ratio to itself is not 1");
    const bench_json *reps = bench_json_get(tr, "reps");
    int nr = 0;
    for (const bench_json *r = reps ? reps->child : NULL; r; r = r->next)
        nr++;
    CHECK(nr == 2, "want 2 repetitions in the JSON, got %d", nr);
    bench_json_free(j);
    free(text);

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
    char line2[8192];
    snprintf(line2, sizeof line2, "%s > '%s' 2>&1", cmd, out);
    int st = system(line2);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 2, "--compare with one file must exit 2");
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s", test_tmpdir("bench"));
    check_parser();
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
