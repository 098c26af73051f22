/* test_autotune.c — the autotuner (lif/autotune.h) and its command:
 *   - the fingerprint: stable, and different when a cache size or the ISA
 *     cap changes (machines injected), with the difference named;
 *   - wisdom: round trip, sorted and readable; mismatched, corrupt,
 *     truncated and ill-typed files import nothing and say why in one
 *     line; a kernel missing from the build drops only its own choice;
 *     exact / nearest / no lookup; where the file lives;
 *   - plan options that force kernels by name bind them, and train bitwise
 *     as LIF_FORCE_KERNEL does;
 *   - the search: a tiny budget returns a valid plan within a generous
 *     bound of the budget; one candidate times nothing;
 *   - the command: lif autotune writes wisdom; lif train --backend auto runs
 *     without wisdom, with a bad file (one line why), and with wisdom trains
 *     bitwise as the same kernels forced by name; bad flags exit 2.
 * No timing is asserted. Nothing is written outside the test's folder:
 * LIF_WISDOM and XDG_CACHE_HOME point into it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lif/lif.h"
#include "testutil.h"

static const char *tmp;

static void one_line(const char *s, const char *what)
{
    CHECK(s[0] && !strchr(s, '\n'), "%s: the reason is not one non-empty line: '%s'", what, s);
}

/* ---- fingerprint ---- */

static void test_fingerprint(void)
{
    const lif_topology *t;
    lif_topology_get(&t);
    const lif_cpu *c = lif_cpu_get();
    lif_fingerprint a, b;
    lif_fingerprint_make(t, c, &a);
    lif_fingerprint_here(&b);
    CHECK(strcmp(a.id, b.id) == 0 && strlen(a.id) == 16, "fingerprint not stable: %s vs %s", a.id,
          b.id);
    CHECK(lif_fingerprint_match(&a, &b, NULL, 0), "a fingerprint does not match itself");
    CHECK(a.n_kernels > 0 && strlen(a.kernels_hash) == 16, "no kernel hash");

    /* an injected machine: two cores, L1 48 KiB, L2 1 MiB, AVX-512 */
    lif_topology m = {.packages = 1, .numa_nodes = 1, .cores = 2, .pus = 2, .n_caches = 2};
    m.caches[0] = (lif_cache_level){.level = 1, .size = 48 << 10, .count = 2};
    m.caches[1] = (lif_cache_level){.level = 2, .size = 1 << 20, .count = 2};
    snprintf(m.source, sizeof m.source, "test");
    lif_cpu x = *c;
    snprintf(x.model, sizeof x.model, "Test CPU");
    x.best = x.isa = LIF_ISA_AVX512;
    x.capped = 0;
    lif_fingerprint f1, f2, l2, cap;
    lif_fingerprint_make(&m, &x, &f1);
    lif_fingerprint_make(&m, &x, &f2);
    CHECK(strcmp(f1.id, f2.id) == 0, "injected fingerprint not stable");
    lif_topology m2 = m;
    m2.caches[1].size = 2 << 20;
    lif_fingerprint_make(&m2, &x, &l2);
    char why[256];
    CHECK(strcmp(l2.id, f1.id) != 0, "an L2 of another size gives the same id %s", l2.id);
    CHECK(!lif_fingerprint_match(&l2, &f1, why, sizeof why) && strstr(why, "L2") &&
              strstr(why, "2 MiB") && strstr(why, "1 MiB"),
          "L2 difference not named: '%s'", why);
    lif_cpu y = x;
    y.isa = LIF_ISA_AVX2;
    y.capped = 1;
    lif_fingerprint_make(&m, &y, &cap);
    CHECK(strcmp(cap.id, f1.id) != 0, "an ISA cap gives the same id");
    CHECK(!lif_fingerprint_match(&cap, &f1, why, sizeof why) && strstr(why, "ISA"),
          "ISA difference not named: '%s'", why);
    one_line(why, "ISA mismatch");
}

/* ---- wisdom files ---- */

static lif_wisdom_entry entry(int T, int batch, double density, const char *fwd)
{
    lif_wisdom_entry e;
    memset(&e, 0, sizeof e);
    e.problem.n_dims = 2;
    e.problem.dims[0] = 784;
    e.problem.dims[1] = 10;
    e.problem.T = T;
    e.problem.batch = batch;
    e.problem.density = density;
    e.threads = 1;
    e.Tc = 0;
    snprintf(e.kernels[LIF_OP_LINEAR_FWD], sizeof e.kernels[0], "%s", fwd);
    snprintf(e.kernels[LIF_OP_ENCODE], sizeof e.kernels[0], "encode/scalar/ref");
    snprintf(e.mode, sizeof e.mode, "measure");
    e.images_per_s = 1234.5;
    e.default_images_per_s = 1000.25;
    e.seconds = 3.5;
    snprintf(e.when, sizeof e.when, "2026-12-02T19:00:00Z");
    return e;
}

static void write_text(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(s, 1, n, f) == n && fclose(f) == 0, "cannot write %s", path);
}

static void expect_refused_file(const char *path, lif_status want, const char *what)
{
    lif_wisdom w;
    lif_status st = lif_wisdom_load(path, &w);
    CHECK(st == want, "%s: status %s, want %s (%s)", what, lif_status_str(st),
          lif_status_str(want), lif_last_error());
    CHECK(w.n == 0 && !w.e, "%s: %d entries imported", what, w.n);
    one_line(lif_last_error(), what);
    lif_wisdom_free(&w);
}

static void test_wisdom_file(void)
{
    const char *path = test_path(tmp, "sub/dir/wisdom.json");
    lif_wisdom w, r;
    lif_wisdom_init(&w);
    lif_wisdom_entry e1 = entry(100, 64, 0.29, "linear_fwd/scalar/ref");
    lif_wisdom_entry e2 = entry(1000, 64, 0.13, "linear_fwd/scalar/ref,linear_fwd/scalar/ref");
    e2.threads = 2;
    e2.Tc = 48;
    e2.bind = LIF_BIND_CORES;
    e2.images_per_s = NAN; /* not measured: null */
    CHECK(lif_wisdom_put(&w, &e2) == LIF_OK && lif_wisdom_put(&w, &e1) == LIF_OK && w.n == 2,
          "put");
    lif_wisdom_entry e1b = e1;
    e1b.threads = 3;
    CHECK(lif_wisdom_put(&w, &e1b) == LIF_OK && w.n == 2, "the same problem is replaced");
    CHECK(lif_wisdom_save(path, &w) == LIF_OK, "save (with its folders): %s", lif_last_error());
    CHECK(lif_wisdom_load(path, &r) == LIF_OK, "load: %s", lif_last_error());
    CHECK(r.n == 2 && strcmp(r.fp.id, w.fp.id) == 0 && r.dropped == 0, "round trip: %d entries",
          r.n);
    for (int i = 0; i < r.n && i < 2; i++) {
        const lif_wisdom_entry *a = &w.e[i], *b = &r.e[i];
        CHECK(a->problem.T == b->problem.T && a->problem.batch == b->problem.batch &&
                  fabs(a->problem.density - b->problem.density) < 1e-9 &&
                  a->threads == b->threads && a->Tc == b->Tc && a->bind == b->bind &&
                  strcmp(a->mode, b->mode) == 0 && strcmp(a->when, b->when) == 0 &&
                  memcmp(a->kernels, b->kernels, sizeof a->kernels) == 0 &&
                  (isnan(a->images_per_s) ? isnan(b->images_per_s)
                                          : a->images_per_s == b->images_per_s),
              "entry %d differs after the round trip", i);
    }
    CHECK(r.n == 2 && r.e[0].problem.T == 100 && r.e[0].threads == 3, "entries sorted by problem");
    lif_wisdom_free(&r);
    size_t n;
    char *text = test_slurp(path, &n);
    CHECK(text && strstr(text, "\n  \"entries\"") && strstr(text, "\"fingerprint\"") &&
              strstr(text, "\"entries\"") < strstr(text, "\"fingerprint\"") &&
              strstr(text, "\"linear_fwd/scalar/ref\"") && strstr(text, "\"cpu\""),
          "the file is not sorted, indented JSON with readable values:\n%s", text ? text : "");
    /* the hash of the kernels with readable values beside it */
    CHECK(text && strstr(text, "\"kernels_hash\"") && strstr(text, "\"lif_version\"") &&
              strstr(text, "\"compiler\"") && strstr(text, "\"caches\""),
          "fingerprint values missing");

    /* truncated, corrupt, ill-typed, another machine: nothing imported */
    const char *bad = test_path(tmp, "bad.json");
    write_text(bad, text, n / 2);
    expect_refused_file(bad, LIF_ERR_FORMAT, "truncated");
    write_text(bad, "\x01\x02garbage", 9);
    expect_refused_file(bad, LIF_ERR_FORMAT, "corrupt");
    write_text(bad, "[1, 2]", 6);
    expect_refused_file(bad, LIF_ERR_FORMAT, "not wisdom");
    char *t2 = strdup(text), *p = strstr(t2, "\"threads\": 3");
    CHECK(p != NULL, "no threads member");
    if (p) {
        memcpy(p, "\"threads\":[]", 12);
        write_text(bad, t2, strlen(t2));
        expect_refused_file(bad, LIF_ERR_FORMAT, "ill-typed");
        CHECK(strstr(lif_last_error(), "threads"), "the member is not named: %s",
              lif_last_error());
    }
    free(t2);
    lif_wisdom other = w;
    other.fp.caches[1].size *= 2;
    snprintf(other.fp.id, sizeof other.fp.id, "0123456789abcdef");
    CHECK(lif_wisdom_save(bad, &other) == LIF_OK, "save foreign");
    expect_refused_file(bad, LIF_ERR_UNSUPPORTED, "another machine");
    CHECK(strstr(lif_last_error(), "another machine"), "why: %s", lif_last_error());
    expect_refused_file(test_path(tmp, "none.json"), LIF_ERR_NOT_FOUND, "missing");

    /* a kernel gone from the build drops that op's choice only */
    char *t3 = strdup(text);
    for (char *q = t3; (q = strstr(q, "\"linear_fwd/scalar/ref\""));)
        memcpy(q, "\"linear_fwd/gone/refxx\"", 23), q += 23;
    write_text(bad, t3, strlen(t3));
    free(t3);
    CHECK(lif_wisdom_load(bad, &r) == LIF_OK, "a missing kernel rejects the file: %s",
          lif_last_error());
    CHECK(r.n == 2 && r.dropped == 2 && !r.e[0].kernels[LIF_OP_LINEAR_FWD][0] &&
              strcmp(r.e[0].kernels[LIF_OP_ENCODE], "encode/scalar/ref") == 0 &&
              strstr(r.dropped_name, "gone"),
          "missing kernel: %d entries, %d dropped, encode '%s'", r.n, r.dropped,
          r.n ? r.e[0].kernels[LIF_OP_ENCODE] : "");
    lif_wisdom_free(&r);
    free(text);

    /* lookup */
    const lif_wisdom_entry *got;
    lif_wisdom_problem q = e1.problem;
    CHECK(lif_wisdom_lookup(&w, &q, &got) == LIF_WISDOM_EXACT && got->problem.T == 100, "exact");
    q.density = 0.292;
    CHECK(lif_wisdom_lookup(&w, &q, &got) == LIF_WISDOM_EXACT, "density within 0.005 is exact");
    q.T = 900;
    CHECK(lif_wisdom_lookup(&w, &q, &got) == LIF_WISDOM_NEAREST && got->problem.T == 1000,
          "nearest T");
    q.T = 120;
    CHECK(lif_wisdom_lookup(&w, &q, &got) == LIF_WISDOM_NEAREST && got->problem.T == 100,
          "nearest T (2)");
    q.dims[1] = 11;
    CHECK(lif_wisdom_lookup(&w, &q, &got) == LIF_WISDOM_NONE && !got, "other layers: none");
    char joined[1024];
    CHECK(lif_wisdom_kernels(&w.e[1], joined, sizeof joined) == 0 &&
              strstr(joined, "encode/scalar/ref") && strstr(joined, "linear_fwd/scalar/ref"),
          "joined kernels '%s'", joined);
    lif_wisdom_free(&w);

    /* where it lives */
    char buf[4096];
    setenv("LIF_WISDOM", "/x/w.json", 1);
    CHECK(lif_wisdom_path("/given.json", buf, sizeof buf) == LIF_OK &&
              strcmp(buf, "/given.json") == 0, "explicit path: %s", buf);
    CHECK(lif_wisdom_path(NULL, buf, sizeof buf) == LIF_OK && strcmp(buf, "/x/w.json") == 0,
          "LIF_WISDOM: %s", buf);
    unsetenv("LIF_WISDOM");
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    CHECK(lif_wisdom_path(NULL, buf, sizeof buf) == LIF_OK &&
              strcmp(buf, "/xdg/lif/wisdom.json") == 0, "XDG: %s", buf);
    unsetenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    char *saved = home ? strdup(home) : NULL;
    setenv("HOME", "/home/u", 1);
    CHECK(lif_wisdom_path(NULL, buf, sizeof buf) == LIF_OK &&
              strcmp(buf, "/home/u/.cache/lif/wisdom.json") == 0, "HOME: %s", buf);
    if (saved)
        setenv("HOME", saved, 1);
    free(saved);
    setenv("XDG_CACHE_HOME", test_path(tmp, "xdg"), 1);
}

/* ---- forced kernels through the plan options ---- */

static int train_once(const char *force_env, const char *force_opts, float *w_out, size_t nw,
                      char *fwd, size_t nfwd)
{
    lif_recipe r;
    lif_recipe_default(&r);
    r.T = 6;
    r.batch = 8;
    lif_dataset d;
    if (lif_workload_synth(&d, 16, 28, 28, 0.2, 5) != LIF_OK)
        return -1;
    lif_net *net = NULL;
    lif_plan *plan = NULL;
    lif_plan_opts o;
    lif_plan_opts_default(&o);
    o.threads = 1;
    if (force_opts)
        snprintf(o.kernels, sizeof o.kernels, "%s", force_opts);
    if (force_env)
        setenv("LIF_FORCE_KERNEL", force_env, 1);
    int rc = -1;
    if (lif_net_create(&r, 784, 10, &net) == LIF_OK && lif_plan_create(net, 8, &o, &plan) == LIF_OK) {
        uint32_t ids[8];
        for (int i = 0; i < 8; i++)
            ids[i] = (uint32_t)i;
        lif_batch b = {.B = 8, .pixels = d.images, .labels = d.labels, .ids = ids};
        lif_result res;
        rc = 0;
        for (int s = 0; s < 2 && rc == 0; s++)
            rc = lif_plan_train_batch(plan, &b, &res) == LIF_OK ? 0 : -1;
        lif_layer_view v;
        lif_net_layer(net, 0, &v);
        memcpy(w_out, v.w, nw * sizeof *w_out);
        snprintf(fwd, nfwd, "%s,%s", lif_plan_kernel(plan, LIF_OP_LINEAR_FWD, 0),
                 lif_plan_kernel(plan, LIF_OP_LINEAR_BWD_W, 0));
    }
    unsetenv("LIF_FORCE_KERNEL");
    lif_plan_destroy(plan);
    lif_net_destroy(net);
    lif_dataset_free(&d);
    return rc;
}

static void test_forced_opts(void)
{
    const char *names = "linear_fwd/scalar/ref,linear_bwd_w/scalar/ref";
    size_t nw = 784 * 10;
    float *a = malloc(nw * sizeof *a), *b = malloc(nw * sizeof *b), *c = malloc(nw * sizeof *c);
    char ka[256], kb[256], kc[256];
    CHECK(train_once(NULL, names, a, nw, ka, sizeof ka) == 0, "train with opts.kernels: %s",
          lif_last_error());
    CHECK(train_once(names, NULL, b, nw, kb, sizeof kb) == 0, "train with LIF_FORCE_KERNEL");
    CHECK(train_once(NULL, NULL, c, nw, kc, sizeof kc) == 0, "train with the estimate");
    CHECK(strcmp(ka, names) == 0, "opts.kernels bound '%s', want '%s'", ka, names);
    CHECK(strcmp(ka, kb) == 0, "forced by options '%s', by LIF_FORCE_KERNEL '%s'", ka, kb);
    CHECK(memcmp(a, b, nw * sizeof *a) == 0, "forced by options and by name train differently");
    CHECK(strcmp(kc, names) != 0, "the estimate binds the scalar kernels too: the test proves "
                                  "nothing here (%s)", kc);
    free(a);
    free(b);
    free(c);
    lif_plan_opts o;
    lif_plan_opts_default(&o);
    snprintf(o.kernels, sizeof o.kernels, "linear_fwd/nosuch/x");
    const char *key = NULL;
    CHECK(lif_plan_opts_check(&o, &key) == LIF_ERR_NOT_FOUND && key &&
              strcmp(key, "kernels") == 0 && strstr(lif_last_error(), "nosuch"),
          "an unknown forced kernel is not refused: %s", lif_last_error());
}

/* ---- the search ---- */

static void test_search(void)
{
    lif_recipe r;
    lif_recipe_default(&r);
    r.T = 8;
    r.batch = 16;
    lif_dataset d;
    CHECK(lif_workload_synth(&d, 64, 28, 28, 0.2, 9) == LIF_OK, "synth");
    lif_tune_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.recipe = &r;
    cfg.train = &d;
    cfg.density = lif_workload_density(&d, 0);
    cfg.mode = LIF_TUNE_MEASURE;
    cfg.budget = 1.0;
    snprintf(cfg.backend, sizeof cfg.backend, "auto");
    lif_tune_result res;
    double t0 = lif_now();
    CHECK(lif_tune(&cfg, &res) == LIF_OK, "tiny-budget search: %s", lif_last_error());
    double took = lif_now() - t0;
    /* generous: the budget plus plan making and the final comparison on a loaded machine */
    CHECK(took < cfg.budget * 4 + 10, "a 1 s budget took %.1f s", took);
    CHECK(res.best.threads >= 1 && res.best.problem.T == 8 && res.best.problem.batch == 16 &&
              res.considered >= 1,
          "result: threads %d, T %d", res.best.threads, res.best.problem.T);
    const char *key;
    CHECK(lif_plan_opts_check(&res.opts, &key) == LIF_OK, "the winner's options: %s",
          lif_last_error());
    lif_net *net;
    lif_plan *plan = NULL;
    CHECK(lif_net_create(&r, 784, 10, &net) == LIF_OK &&
              lif_plan_create(net, 16, &res.opts, &plan) == LIF_OK,
          "the winning plan cannot be made: %s", lif_last_error());
    lif_plan_destroy(plan);
    lif_net_destroy(net);

    /* one candidate (scalar, one thread, Tc fixed): nothing is timed */
    snprintf(cfg.backend, sizeof cfg.backend, "scalar");
    cfg.threads = 1;
    cfg.Tc = 4;
    CHECK(lif_tune(&cfg, &res) == LIF_OK && res.timed == 0 && isnan(res.best_images_per_s),
          "one candidate: %d timed", res.timed);
    /* estimate: nothing timed */
    snprintf(cfg.backend, sizeof cfg.backend, "auto");
    cfg.threads = 0;
    cfg.Tc = 0;
    cfg.mode = LIF_TUNE_ESTIMATE;
    CHECK(lif_tune(&cfg, &res) == LIF_OK && res.timed == 0 && !res.opts.kernels[0],
          "estimate: %d timed, kernels '%s'", res.timed, res.opts.kernels);
    lif_dataset_free(&d);
}

/* ---- the command ---- */

static void write_set(const char *dir)
{
    mkdir(dir, 0777);
    lif_dataset d;
    CHECK(lif_workload_synth(&d, 256, 28, 28, 0.2, 11) == LIF_OK, "synth");
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
    CHECK(lif_idx_write(a, b, d.images, d.labels, d.n, 28, 28, 0) == LIF_OK, "idx");
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", dir);
    CHECK(lif_idx_write(a, b, d.images, d.labels, 64, 28, 28, 0) == LIF_OK, "idx");
    lif_dataset_free(&d);
}

static void test_command(void)
{
    const char *lif = LIF_CLI_PATH, *data = test_path(tmp, "data");
    const char *wis = test_path(tmp, "cli_wisdom.json");
    char wisdom[1024];
    snprintf(wisdom, sizeof wisdom, "%s", wis);
    write_set(data);
    if (chdir(tmp) != 0)
        return;
    setenv("LIF_WISDOM", wisdom, 1);
    unlink(wisdom);

    /* bad flags and inputs: exit 2, one line naming the problem */
    test_expect_refused(lif, "--mode", "autotune --mode %s --density 0.2", "fast");
    test_expect_refused(lif, "--budget", "autotune --budget %s --density 0.2", "-1");
    test_expect_refused(lif, "--density", "autotune --density %s", "2");
    test_expect_refused(lif, "unknown backend", "autotune --backend %s --density 0.2", "nosuch");
    test_expect_refused(lif, "no such data directory", "autotune -data-dir %s", "/nonexistent/lif-data");
    test_expect_refused(lif, "-T", "autotune -T %s --density 0.2", "0");
    test_expect_refused(lif, "unknown flag", "autotune --budgte %s", "3");

    /* without wisdom: --backend auto runs on the estimate and says so */
    test_run_result r = test_run(lif, "train -T 4 -b 32 -epochs 1 -data-dir %s -out-dir runs0", data);
    CHECK(r.status == 0, "train without wisdom: exit %d\n%s", r.status, r.err);
    CHECK(strstr(r.out, "wisdom: none at") && strstr(r.out, "choices: threads") &&
              strstr(r.out, "(estimate)"),
          "train does not say its choices came from the estimate:\n%s", r.out);
    test_run_free(&r);

    /* lif autotune writes wisdom for the problem */
    r = test_run(lif, "autotune -T 4 -b 32 -data-dir %s --budget 1", data);
    CHECK(r.status == 0, "autotune: exit %d\n%s", r.status, r.err);
    CHECK(strstr(r.out, "winning plan: threads") && strstr(r.out, "speed-up") &&
              strstr(r.out, "wisdom: written to"),
          "autotune output:\n%s", r.out);
    test_run_free(&r);
    lif_wisdom w;
    CHECK(lif_wisdom_load(wisdom, &w) == LIF_OK && w.n == 1 && w.e[0].problem.T == 4,
          "autotune's wisdom: %s", lif_last_error());
    lif_wisdom_free(&w);
    r = test_run(lif, "info");
    CHECK(r.status == 0 && strstr(r.out, wisdom) && strstr(r.out, "matches this machine"),
          "lif info does not show the wisdom:\n%s", r.out);
    test_run_free(&r);

    /* a plan chosen from wisdom trains bitwise as the same kernels forced by
     * name. The wisdom names kernels the estimate would not choose (the
     * scalar reference), so it must have been applied. */
    lif_wisdom_init(&w);
    lif_wisdom_entry e;
    lif_recipe rec;
    lif_recipe_default(&rec);
    rec.T = 4;
    rec.batch = 32;
    lif_dataset d;
    lif_data_open_dir(data, &d, NULL);
    memset(&e, 0, sizeof e);
    lif_wisdom_problem_of(&rec, 784, 10, lif_workload_density(&d, 0), &e.problem);
    lif_dataset_free(&d);
    e.threads = 1;
    e.Tc = 2;
    snprintf(e.kernels[LIF_OP_LINEAR_FWD], 200, "linear_fwd/scalar/ref");
    snprintf(e.kernels[LIF_OP_LINEAR_BWD_W], 200, "linear_bwd_w/scalar/ref");
    snprintf(e.mode, sizeof e.mode, "measure");
    e.images_per_s = e.default_images_per_s = NAN;
    CHECK(lif_wisdom_put(&w, &e) == LIF_OK && lif_wisdom_save(wisdom, &w) == LIF_OK, "save");
    lif_wisdom_free(&w);
    r = test_run(lif, "train -T 4 -b 32 -epochs 1 -data-dir %s -out-dir runs1", data);
    CHECK(r.status == 0, "train with wisdom: exit %d\n%s", r.status, r.err);
    CHECK(strstr(r.out, "exact match") && strstr(r.out, "threads 1 (wisdom exact)") &&
              strstr(r.out, "Tc 2 (wisdom exact)") &&
              strstr(r.out, "linear_fwd linear_fwd/scalar/ref (wisdom exact)") &&
              strstr(r.out, "kernels: encode/simd") == NULL,
          "train does not say it took the wisdom:\n%s", r.out);
    CHECK(strstr(r.out, "linear_fwd/scalar/ref, lif_fwd") != NULL,
          "the wisdom's kernel is not bound:\n%s", r.out);
    test_run_free(&r);
    setenv("LIF_WISDOM", test_path(tmp, "absent.json"), 1);
    setenv("LIF_FORCE_KERNEL", "linear_fwd/scalar/ref,linear_bwd_w/scalar/ref", 1);
    r = test_run(lif, "train -T 4 -b 32 -epochs 1 -data-dir %s -out-dir runs2 --threads 1 --tc 2",
                 data);
    unsetenv("LIF_FORCE_KERNEL");
    CHECK(r.status == 0, "train forced by name: exit %d\n%s", r.status, r.err);
    CHECK(strstr(r.out, "user flag LIF_FORCE_KERNEL"), "source of forced kernels:\n%s", r.out);
    test_run_free(&r);
    CHECK(test_same_bytes("runs1/T4_b32_adam_lr0.001/checkpoint_latest.lif",
                          "runs2/T4_b32_adam_lr0.001/checkpoint_latest.lif"),
          "the plan from wisdom and the same kernels forced by name train differently");

    /* lif bench's row "auto" runs the plan --backend auto would */
    setenv("LIF_WISDOM", wisdom, 1);
    r = test_run(lif, "bench --backend auto -T 4 -b 32 --reps 1 --batches 1 --density 0.2");
    CHECK(r.status == 0 && strstr(r.out, "auto: wisdom: ") && strstr(r.out, "kernels auto:"),
          "lif bench --backend auto: exit %d\n%s\n%s", r.status, r.out, r.err);
    test_run_free(&r);

    /* a malformed file: the run goes on with the estimate, and says why in one line */
    write_text(wisdom, "{\"lif_wisdom\": 1, \"finger", 25);
    setenv("LIF_WISDOM", wisdom, 1);
    r = test_run(lif, "train -T 4 -b 32 -epochs 1 -data-dir %s -out-dir runs3 --quiet", data);
    CHECK(r.status == 0, "train with a malformed wisdom file: exit %d\n%s", r.status, r.err);
    CHECK(test_count_lines(r.err) == 1 && strstr(r.err, "wisdom") && strstr(r.err, "not JSON"),
          "malformed wisdom not said in one line:\n%s", r.err);
    test_run_free(&r);
    /* --backend given: wisdom is not consulted */
    r = test_run(lif, "train -T 4 -b 32 -epochs 1 -data-dir %s -out-dir runs4 --backend simd",
                 data);
    CHECK(r.status == 0 && strstr(r.out, "not consulted"), "--backend simd:\n%s", r.out);
    test_run_free(&r);
    r = test_run(lif, "autotune --help");
    CHECK(r.status == 0 && strstr(r.out, "-budget SECONDS") && strstr(r.out, "patient"), "help");
    test_run_free(&r);
}

int main(void)
{
    tmp = test_tmpdir("autotune");
    /* never the real ~/.cache */
    setenv("XDG_CACHE_HOME", test_path(tmp, "xdg"), 1);
    setenv("LIF_WISDOM", test_path(tmp, "default_wisdom.json"), 1);
    test_fingerprint();
    test_wisdom_file();
    test_forced_opts();
    test_search();
    test_command();
    return test_finish("test_autotune");
}
