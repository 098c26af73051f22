/* test_cli.c — end-to-end tests of the lif command (train, eval, info).
 *
 * Every case runs the built binary (LIF_CLI_PATH) through fork/exec with
 * stdout and stderr captured to files in the test's scratch folder, after a
 * chdir there, so every path on a command line is short and relative. A
 * failing check prints the command that reproduces it ("cd DIR && lif ...").
 *
 * The data is a synthetic, learnable MNIST-shaped IDX set written with
 * lif_idx_write: 10 classes, each a distinct bright horizontal band, plus
 * random noise pixels and dropped pattern pixels.
 *
 * Covered: training output files and formats, learning (test acc > 0.5),
 * the torchvision gz layout, determinism, resume (bitwise equal to an
 * uninterrupted run; conflicting flags refused), bad input (exit 2, one
 * stderr line naming the problem, no crash, input files unchanged), help
 * and info, eval, recipe variants (--hidden, --bias, --loss ce, -opt sgd,
 * --v-reset none, --surrogate sigmoid, --tc, --config),
 * LIF_VERBOSE=dispatch, backend preference lists (--backend simd,scalar;
 * malformed and unknown lists refused), --tc > T refused, plan options in
 * --config, and run options that may change on resume; lif bench
 * --threads LIST (a row per backend and thread count, serial backends once;
 * a single count keeps the table of one row per backend; bad lists
 * refused). A run killed by a signal (or by the per-run time
 * limit), or whose stderr holds a sanitizer report, is a failure. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* flock */

#include "lif/ckpt.h"
#include "lif/cpu.h"
#include "lif/data.h"
#include "lif/measure.h"
#include "lif/net.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef LIF_CLI_PATH
#error "LIF_CLI_PATH must name the lif binary"
#endif

#define N_TRAIN 1000
#define N_TEST 300
#define SIDE 28
#define NPIX (SIDE * SIDE)
#define RUN_LIMIT_S 300 /* per command; a hung run is killed and reported */

static const char *tmpdir;
static const char *flat = "data/flat"; /* train-images-idx3-ubyte, ... */
static const char *gzdir = "data/gz";  /* data/gz/MNIST/raw/, gzip'd */

/* ---- small file helpers ---- */

static unsigned char *slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    unsigned char *b = malloc(cap + 1);
    for (size_t got; b && (got = fread(b + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap) {
            unsigned char *nb = realloc(b, 2 * cap + 1);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (b) {
        b[len] = '\0'; /* so text files can be used as strings */
        *n = len;
    }
    return b;
}

static char *slurp_text(const char *path)
{
    size_t n;
    return (char *)slurp(path, &n);
}

static int spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *b = slurp(from, &n);
    if (!b)
        return -1;
    int rc = spit(to, b, n);
    free(b);
    return rc;
}

/* 1 if both files exist and hold the same bytes. */
static int same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void mkdir_p(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(buf, 0777);
            *s = '/';
        }
    mkdir(buf, 0777);
}

/* The only subfolder of dir (a run folder), into out; 0 on success. */
static int only_subdir(const char *dir, char *out, size_t size)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            snprintf(out, size, "%s", p);
            n++;
        }
    }
    closedir(d);
    return n == 1 ? 0 : -1;
}

/* ---- running the lif command ---- */

typedef struct run_result {
    int status;        /* exit status, or -1 when killed by a signal */
    int signal;        /* the signal, 0 if it exited */
    char cmd[4096];    /* the repro line */
    char *out, *err;   /* captured stdout and stderr (malloc'd) */
} run_result;

static int run_no;

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* A lif command started in the background (run_lif_start) and not yet
 * waited for (run_lif_wait). */
typedef struct run_job {
    pid_t pid;
    run_result r;
    char out_path[64], err_path[64];
} run_job;

static run_job run_lif_vstart(const char *env, const char *fmt, va_list ap)
{
    run_job j = {0};
    run_result *r = &j.r;
    char line[2048];
    vsnprintf(line, sizeof line, fmt, ap);
    snprintf(r->cmd, sizeof r->cmd, "cd %s && %s%s%s %s", tmpdir, env ? env : "", env ? " " : "",
             LIF_CLI_PATH, line);

    char *argv[130];
    int argc = 0;
    argv[argc++] = (char *)LIF_CLI_PATH;
    char words[2048];
    snprintf(words, sizeof words, "%s", line);
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w && argc < 129;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc] = NULL;

    run_no++;
    snprintf(j.out_path, sizeof j.out_path, "run%03d.out", run_no);
    snprintf(j.err_path, sizeof j.err_path, "run%03d.err", run_no);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        unsetenv("LIF_VERBOSE");
        unsetenv("LIF_FORCE_KERNEL");
        if (env) {
            char kv[256];
            snprintf(kv, sizeof kv, "%s", env);
            char *eq = strchr(kv, '=');
            if (eq) {
                *eq = '\0';
                setenv(kv, eq + 1, 1);
            }
        }
        const char *to = getenv("LIF_TEST_STDOUT"); /* the test's knob: stdout elsewhere */
        int fo = to ? open(to, O_WRONLY) : open(j.out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        unsetenv("LIF_TEST_STDOUT");
        int fe = open(j.err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fi = open("/dev/null", O_RDONLY);
        if (fo < 0 || fe < 0 || fi < 0)
            _exit(126);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        const char *as = getenv("LIF_TEST_RLIMIT_AS_MB");
        if (as) { /* the test's own knob: an address-space limit for this child */
            struct rlimit rl = {(rlim_t)atol(as) << 20, (rlim_t)atol(as) << 20};
            setrlimit(RLIMIT_AS, &rl);
            unsetenv("LIF_TEST_RLIMIT_AS_MB");
        }
        const char *lim = getenv("LIF_TEST_ALARM_S"); /* a shorter limit for this child */
        alarm(lim ? (unsigned)atoi(lim) : RUN_LIMIT_S); /* survives exec: a hung run dies of SIGALRM */
        unsetenv("LIF_TEST_ALARM_S");
        execv(LIF_CLI_PATH, argv);
        _exit(127);
    }
    j.pid = pid;
    return j;
}

static run_job run_lif_start(const char *env, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    run_job j = run_lif_vstart(env, fmt, ap);
    va_end(ap);
    return j;
}

/* Waits for a started command; checks as run_lif does. */
static run_result run_lif_wait(run_job *j)
{
    run_result r = j->r;
    int ws = 0;
    if (j->pid < 0 || waitpid(j->pid, &ws, 0) != j->pid) {
        r.status = -1;
        CHECK(0, "cannot run: %s (%s)", r.cmd, strerror(errno));
    } else if (WIFSIGNALED(ws)) {
        r.status = -1;
        r.signal = WTERMSIG(ws);
        CHECK(0, "crashed with signal %d (%s)%s: %s", r.signal, strsignal(r.signal),
              r.signal == SIGALRM ? " - ran past the time limit" : "", r.cmd);
    } else {
        r.status = WEXITSTATUS(ws);
        CHECK(r.status != 126 && r.status != 127, "cannot exec %s: %s", LIF_CLI_PATH, r.cmd);
    }
    r.out = slurp_text(j->out_path);
    r.err = slurp_text(j->err_path);
    if (!r.out)
        r.out = calloc(1, 1);
    if (!r.err)
        r.err = calloc(1, 1);
    CHECK(!strstr(r.err, "Sanitizer") && !strstr(r.err, "runtime error:"),
          "sanitizer report on stderr (%s): %s", j->err_path, r.cmd);
    return r;
}

/* Runs `lif ARGS` where ARGS is printf(fmt, ...) split on spaces (every
 * path used here is relative and has none). env, if not NULL, is a
 * "NAME=value" string set for the child only. Checks that the command was
 * not killed by a signal and printed no sanitizer report. */
static run_result run_lif(const char *env, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    run_job j = run_lif_vstart(env, fmt, ap);
    va_end(ap);
    return run_lif_wait(&j);
}

/* Number of non-empty lines in s. */
static int count_lines(const char *s)
{
    int n = 0;
    for (const char *p = s; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > 0)
            n++;
        p += len + (nl ? 1 : 0);
    }
    return n;
}

/* 1 if some line of s starts with prefix. */
static int has_line_starting(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = s; p && *p;) {
        if (strncmp(p, prefix, n) == 0)
            return 1;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return 0;
}

/* ---- the synthetic data set ---- */

static uint32_t rng_state = 12345u;

/* the synthetic set (testutil.h) */
static void make_set(uint8_t *img, uint8_t *lab, int n)
{
    test_band_set(&rng_state, img, lab, n);
}

static const char *const idx_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

static void write_sets(void)
{
    uint8_t *tri = malloc((size_t)N_TRAIN * NPIX), *tei = malloc((size_t)N_TEST * NPIX);
    uint8_t trl[N_TRAIN], tel[N_TEST];
    if (!tri || !tei) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    make_set(tri, trl, N_TRAIN);
    make_set(tei, tel, N_TEST);
    char p[4][256];
    mkdir_p(flat);
    for (int k = 0; k < 4; k++)
        snprintf(p[k], sizeof p[k], "%s/%s", flat, idx_names[k]);
    CHECK(lif_idx_write(p[0], p[1], tri, trl, N_TRAIN, SIDE, SIDE, 0) == LIF_OK, "%s",
          lif_last_error());
    CHECK(lif_idx_write(p[2], p[3], tei, tel, N_TEST, SIDE, SIDE, 0) == LIF_OK, "%s",
          lif_last_error());
    mkdir_p("data/gz/MNIST/raw");
    for (int k = 0; k < 4; k++)
        snprintf(p[k], sizeof p[k], "%s/MNIST/raw/%s.gz", gzdir, idx_names[k]);
    CHECK(lif_idx_write(p[0], p[1], tri, trl, N_TRAIN, SIDE, SIDE, 1) == LIF_OK, "%s",
          lif_last_error());
    CHECK(lif_idx_write(p[2], p[3], tei, tel, N_TEST, SIDE, SIDE, 1) == LIF_OK, "%s",
          lif_last_error());
    free(tri);
    free(tei);
}

/* A copy of the flat set in dir (for damaging). */
static void copy_flat(const char *dir)
{
    mkdir_p(dir);
    for (int k = 0; k < 4; k++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "%s/%s", flat, idx_names[k]);
        snprintf(b, sizeof b, "%s/%s", dir, idx_names[k]);
        CHECK(copy_file(a, b) == 0, "cannot copy %s to %s", a, b);
    }
}

/* ---- reading the run's outputs ---- */

/* The value of "key": in a JSON line, NAN if absent. */
static double json_num(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    return p ? strtod(p + strlen(pat), NULL) : NAN;
}

/* Splits the text of log.jsonl into up to max lines (pointers into text,
 * newlines replaced by NULs); returns the count. */
static int split_lines(char *text, char **lines, int max)
{
    int n = 0;
    for (char *p = text; p && *p && n < max;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (*p)
            lines[n++] = p;
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

/* Checks log.jsonl of run_dir: `epochs` lines, epoch numbers 0.., finite
 * losses; returns the last test_acc (NAN on failure). */
static double check_log(const char *run_dir, int epochs, const char *cmd)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/log.jsonl", run_dir);
    char *text = slurp_text(path);
    CHECK(text != NULL, "no %s after: %s", path, cmd);
    if (!text)
        return NAN;
    char *lines[64];
    int n = split_lines(text, lines, 64);
    CHECK(n == epochs, "%s has %d lines, want %d, after: %s", path, n, epochs, cmd);
    double acc = NAN;
    for (int i = 0; i < n; i++) {
        CHECK(strstr(lines[i], "\"epoch\"") && strstr(lines[i], "\"test_acc\""),
              "%s line %d lacks epoch/test_acc: %s (after: %s)", path, i + 1, lines[i], cmd);
        CHECK(json_num(lines[i], "epoch") == i, "%s line %d: epoch %g, want %d (after: %s)", path,
              i + 1, json_num(lines[i], "epoch"), i, cmd);
        double trl = json_num(lines[i], "train_loss"), tel = json_num(lines[i], "test_loss");
        CHECK(isfinite(trl) && isfinite(tel), "%s line %d: losses %g, %g not finite (after: %s)",
              path, i + 1, trl, tel, cmd);
        acc = json_num(lines[i], "test_acc");
        CHECK(acc >= 0 && acc <= 1, "%s line %d: test_acc %g (after: %s)", path, i + 1, acc, cmd);
    }
    free(text);
    return acc;
}

/* Checks a .npy float32 file of shape (T, 10). */
static void check_npy(const char *path, int T, const char *cmd)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    CHECK(b != NULL, "no %s after: %s", path, cmd);
    if (!b)
        return;
    char shape[32];
    snprintf(shape, sizeof shape, "(%d, 10)", T);
    CHECK(n > 10 && memcmp(b, "\x93NUMPY", 6) == 0, "%s: not a .npy file (after: %s)", path, cmd);
    CHECK(n > 10 && strstr((const char *)b + 10, shape) && strstr((const char *)b + 10, "<f4"),
          "%s: header lacks shape %s / <f4 (after: %s)", path, shape, cmd);
    CHECK(n >= 64 + (size_t)T * 10 * 4, "%s: %zu bytes, too short for %s (after: %s)", path, n,
          shape, cmd);
    free(b);
}

/* Checks the epoch lines of a training stdout (epochs first, first+1, ...);
 * returns the number found. */
static int check_epoch_lines(const char *out, int first, const char *cmd)
{
    int n = 0;
    for (const char *p = out; p && *p;) {
        if (strncmp(p, "epoch =", 7) == 0) {
            int ep;
            double v[5];
            int k = sscanf(p, "epoch =%d, train_loss =%lf, train_acc =%lf, test_loss =%lf, "
                              "test_acc =%lf, max_test_acc =%lf",
                           &ep, &v[0], &v[1], &v[2], &v[3], &v[4]);
            CHECK(k == 6, "epoch line not in the reference format: %.200s (after: %s)", p, cmd);
            CHECK(k < 1 || ep == first + n, "epoch line %d says epoch %d, want %d (after: %s)", n,
                  ep, first + n, cmd);
            n++;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

/* Loads a checkpoint's tensors and compares them bitwise with another's. */
static void check_same_ckpt(const char *a, const char *b, const char *what)
{
    lif_ckpt x = {0}, y = {0};
    lif_status sa = lif_ckpt_load(a, &x), sb = lif_ckpt_load(b, &y);
    CHECK(sa == LIF_OK && sb == LIF_OK, "%s: cannot load %s / %s: %s", what, a, b,
          lif_last_error());
    if (sa == LIF_OK && sb == LIF_OK) {
        CHECK(x.epoch == y.epoch && x.step == y.step && x.rng_position == y.rng_position &&
                  x.seed == y.seed,
              "%s: epoch %d/%d step %llu/%llu rng %llu/%llu differ", what, x.epoch, y.epoch,
              (unsigned long long)x.step, (unsigned long long)y.step,
              (unsigned long long)x.rng_position, (unsigned long long)y.rng_position);
        CHECK(memcmp(&x.max_test_acc, &y.max_test_acc, sizeof x.max_test_acc) == 0,
              "%s: max_test_acc %.17g vs %.17g", what, x.max_test_acc, y.max_test_acc);
        CHECK(strcmp(x.recipe_json, y.recipe_json) == 0, "%s: recipes differ:\n%s\n%s", what,
              x.recipe_json, y.recipe_json);
        CHECK(x.n_tensors == y.n_tensors, "%s: %u vs %u tensors", what, x.n_tensors, y.n_tensors);
        int n_opt = 0;
        for (uint32_t i = 0; i < x.n_tensors && i < y.n_tensors; i++) {
            const lif_ckpt_tensor *t = &x.tensors[i], *u = lif_ckpt_find(&y, t->name);
            CHECK(u != NULL, "%s: tensor %s missing in %s", what, t->name, b);
            if (!u)
                continue;
            size_t len = strlen(t->name); /* optimizer state: "layer0.weight.m", ".v" */
            if (len > 2 && (strcmp(t->name + len - 2, ".m") == 0 ||
                            strcmp(t->name + len - 2, ".v") == 0))
                n_opt++;
            size_t cnt = 1;
            int shape_ok = t->ndim == u->ndim;
            for (uint32_t d = 0; d < t->ndim && shape_ok; d++) {
                shape_ok = t->shape[d] == u->shape[d];
                cnt *= (size_t)t->shape[d];
            }
            CHECK(shape_ok, "%s: tensor %s shapes differ", what, t->name);
            if (shape_ok)
                CHECK(memcmp(t->data, u->data, cnt * sizeof(float)) == 0,
                      "%s: tensor %s differs bitwise", what, t->name);
        }
        CHECK(n_opt > 0, "%s: no optimizer state tensors found in %s", what, a);
    }
    lif_ckpt_free(&x);
    lif_ckpt_free(&y);

    lif_net *na = NULL, *nb = NULL;
    lif_train_state ta, tb;
    sa = lif_net_load(a, &na, &ta);
    sb = lif_net_load(b, &nb, &tb);
    CHECK(sa == LIF_OK && sb == LIF_OK, "%s: lif_net_load %s / %s: %s", what, a, b,
          lif_last_error());
    if (sa == LIF_OK && sb == LIF_OK) {
        CHECK(lif_net_layers(na) == lif_net_layers(nb), "%s: layer counts differ", what);
        CHECK(lif_net_step(na) == lif_net_step(nb), "%s: steps %ld vs %ld", what,
              lif_net_step(na), lif_net_step(nb));
        CHECK(ta.epoch == tb.epoch, "%s: epochs %d vs %d", what, ta.epoch, tb.epoch);
        for (int l = 0; l < lif_net_layers(na) && l < lif_net_layers(nb); l++) {
            lif_layer_view va, vb;
            lif_net_layer(na, l, &va);
            lif_net_layer(nb, l, &vb);
            CHECK(va.n_in == vb.n_in && va.n_out == vb.n_out, "%s: layer %d shapes", what, l);
            if (va.n_in == vb.n_in && va.n_out == vb.n_out) {
                CHECK(memcmp(va.w, vb.w, (size_t)va.n_in * va.n_out * sizeof(float)) == 0,
                      "%s: layer %d weights differ", what, l);
                CHECK((va.b == NULL) == (vb.b == NULL), "%s: layer %d bias presence", what, l);
                if (va.b && vb.b)
                    CHECK(memcmp(va.b, vb.b, (size_t)va.n_out * sizeof(float)) == 0,
                          "%s: layer %d biases differ", what, l);
            }
        }
    }
    lif_net_destroy(na);
    lif_net_destroy(nb);
    CHECK(same_bytes(a, b), "%s: %s and %s differ byte for byte", what, a, b);
}

/* ---- the cases ---- */

#define TRAIN_BASE "train -T 12 -b 32 -data-dir %s --seed 1 --quiet"
#define RUN_NAME "T12_b32_adam_lr0.001"

/* 1. Training on the flat set and on the torchvision gz layout. */
static void test_train(void)
{
    run_result r = run_lif(NULL, TRAIN_BASE " -epochs 2 -out-dir out1", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    const char *rd = "out1/" RUN_NAME;
    static const char *const files[] = {"args.txt", "log.jsonl", "timing.jsonl",
                                        "checkpoint_latest.lif", "checkpoint_max.lif",
                                        "v_t_array.npy", "s_t_array.npy"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", rd, files[i]);
        CHECK(exists(p), "no %s after: %s", p, r.cmd);
    }
    double acc = check_log(rd, 2, r.cmd);
    CHECK(acc > 0.5, "last test_acc %g <= 0.5 (chance 0.1) after: %s", acc, r.cmd);
    CHECK(check_epoch_lines(r.out, 0, r.cmd) == 2, "want 2 'epoch =N, train_loss =' lines in:\n%s\n"
          "  repro: %s", r.out, r.cmd);
    CHECK(has_line_starting(r.out, "epoch =0, train_loss ="), "no epoch 0 line: %s", r.cmd);
    CHECK(has_line_starting(r.out, "Firing rate: [["), "no 'Firing rate: [[' line: %s", r.cmd);
    check_npy("out1/" RUN_NAME "/v_t_array.npy", 12, r.cmd);
    check_npy("out1/" RUN_NAME "/s_t_array.npy", 12, r.cmd);
    char *args = slurp_text("out1/" RUN_NAME "/args.txt");
    CHECK(args && strncmp(args, "Namespace(T=12,", 15) == 0 && strstr(args, "b=32") &&
              count_lines(args) == 1,
          "args.txt is not the one Namespace line: %s\n%s", r.cmd, args ? args : "(none)");
    free(args);
    /* recipe.json is the recipe; run.json the command, recipe, plan and provenance */
    lif_recipe want, got;
    lif_recipe_default(&want);
    lif_recipe_default(&got);
    want.T = 12;
    want.batch = 32;
    want.epochs = 2;
    want.seed = 1;
    lif_status rst = lif_recipe_load(&got, "out1/" RUN_NAME "/recipe.json");
    char *wj = lif_recipe_to_json(&want), *gj = lif_recipe_to_json(&got);
    CHECK(rst == LIF_OK && wj && gj && strcmp(wj, gj) == 0, "recipe.json: %s\n%s\nwant\n%s",
          lif_last_error(), gj ? gj : "", wj ? wj : "");
    free(wj);
    free(gj);
    char *run = slurp_text("out1/" RUN_NAME "/run.json");
    CHECK(run && strstr(run, "\"lif_version\": \"") && strstr(run, "\"git_commit\"") &&
              strstr(run, "\"compiler\": \"") && strstr(run, "\"model\": \"") &&
              strstr(run, "\"isa\": \"") && strstr(run, "\"linear_fwd\": [") &&
              strstr(run, "\"kernels_settled\": true") && strstr(run, "\"start_time\": \"20") &&
              strstr(run, "\"data_dir\": \"data/flat\"") && strstr(run, "\"train\",") &&
              strstr(run, "\"threads\": "),
          "run.json lacks a field: %s\n%s", r.cmd, run ? run : "(none)");
    free(run);

    lif_net *net = NULL;
    lif_train_state ts;
    lif_status st = lif_net_load("out1/" RUN_NAME "/checkpoint_latest.lif", &net, &ts);
    CHECK(st == LIF_OK, "lif_net_load checkpoint_latest: %s (after: %s)", lif_last_error(), r.cmd);
    if (st == LIF_OK) {
        CHECK(ts.epoch == 1, "checkpoint_latest epoch %d, want 1", ts.epoch);
        CHECK(lif_net_layers(net) == 1, "%d layers, want 1", lif_net_layers(net));
        const lif_recipe *rc = lif_net_recipe(net);
        CHECK(rc->T == 12 && rc->batch == 32 && rc->seed == 1 && rc->epochs == 2,
              "checkpoint recipe T %d b %d seed %u epochs %d", rc->T, rc->batch, rc->seed,
              rc->epochs);
        lif_layer_view v;
        CHECK(lif_net_layer(net, 0, &v) == LIF_OK && v.n_in == 784 && v.n_out == 10 && !v.b,
              "layer 0 is not 784 -> 10 without bias");
    }
    lif_net_destroy(net);
    net = NULL;
    st = lif_net_load("out1/" RUN_NAME "/checkpoint_max.lif", &net, &ts);
    CHECK(st == LIF_OK && ts.max_test_acc > 0.5, "checkpoint_max: %s, max_test_acc %g",
          lif_last_error(), st == LIF_OK ? ts.max_test_acc : -1.0);
    lif_net_destroy(net);
    run_free(&r);

    /* the same data, gzip'd in torchvision's layout: the same run */
    r = run_lif(NULL, TRAIN_BASE " -epochs 2 -out-dir out_gz", gzdir);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    check_log("out_gz/" RUN_NAME, 2, r.cmd);
    CHECK(same_bytes("out_gz/" RUN_NAME "/log.jsonl", "out1/" RUN_NAME "/log.jsonl"),
          "the gz layout's log.jsonl differs from the flat one's (same data): %s", r.cmd);
    run_free(&r);
}

/* 2. Determinism. */
static void test_determinism(void)
{
    run_result r = run_lif(NULL, TRAIN_BASE " -epochs 2 -out-dir out2", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(same_bytes("out1/" RUN_NAME "/log.jsonl", "out2/" RUN_NAME "/log.jsonl"),
          "log.jsonl differs between two identical runs (out1, out2): %s", r.cmd);
    CHECK(same_bytes("out1/" RUN_NAME "/checkpoint_latest.lif",
                     "out2/" RUN_NAME "/checkpoint_latest.lif"),
          "checkpoint_latest.lif differs between two identical runs (out1, out2): %s", r.cmd);
    CHECK(same_bytes("out1/" RUN_NAME "/v_t_array.npy", "out2/" RUN_NAME "/v_t_array.npy"),
          "v_t_array.npy differs between two identical runs: %s", r.cmd);
    run_free(&r);

    /* threads and binding change no result; --threads 0 (auto) takes
     * OMP_NUM_THREADS, and args.txt records the count the plan ran and the
     * binding */
    r = run_lif("OMP_NUM_THREADS=2", TRAIN_BASE " -epochs 2 -out-dir out_bind --threads 0 "
                "--bind cores", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(same_bytes("out1/" RUN_NAME "/log.jsonl", "out_bind/" RUN_NAME "/log.jsonl") &&
              same_bytes("out1/" RUN_NAME "/checkpoint_latest.lif",
                         "out_bind/" RUN_NAME "/checkpoint_latest.lif"),
          "--threads 0 --bind cores changed the results (out1, out_bind): %s", r.cmd);
    char *args = slurp_text("out_bind/" RUN_NAME "/args.txt"),
         *runj = slurp_text("out_bind/" RUN_NAME "/run.json");
    CHECK(args && strstr(args, "threads=2,") && strstr(args, "bind='cores'") && runj &&
              strstr(runj, "\"threads\": 2") && strstr(runj, "\"bind\": \"cores\""),
          "args.txt, run.json do not record threads 2 (OMP_NUM_THREADS) and bind cores: %s\n%s",
          r.cmd, args ? args : "(none)");
    free(args);
    free(runj);
    run_free(&r);
    /* the same bits for 1, 2, 3 and 8 threads on the openmp backend, and
     * for -j 0 and -j 2 (the loader workers are recorded only) */
    static const char *const thr[] = {"--backend openmp --threads 1 -j 0",
                                      "--backend openmp --threads 2 -j 2",
                                      "--backend openmp --threads 3", "--backend openmp --threads 8",
                                      "--backend openmp --threads 2 -j 0"};
    if (!lif_backend_find("openmp")) {
        printf("skipped: thread counts on the openmp backend: not built\n");
    } else {
        for (size_t i = 0; i < sizeof thr / sizeof thr[0]; i++) {
            char dir[32], cmd[512], a[96], b[96];
            snprintf(dir, sizeof dir, "out_thr%zu", i);
            /* TRAIN_BASE's %s (the data folder) is run_lif's to fill */
            snprintf(cmd, sizeof cmd, "%s -epochs 2 -out-dir %s %s", TRAIN_BASE, dir, thr[i]);
            r = run_lif(NULL, cmd, flat);
            CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
            snprintf(a, sizeof a, "out_thr0/" RUN_NAME "/log.jsonl");
            snprintf(b, sizeof b, "%s/" RUN_NAME "/log.jsonl", dir);
            int same = same_bytes(a, b);
            snprintf(a, sizeof a, "out_thr0/" RUN_NAME "/checkpoint_latest.lif");
            snprintf(b, sizeof b, "%s/" RUN_NAME "/checkpoint_latest.lif", dir);
            CHECK(same && same_bytes(a, b), "%s: log.jsonl or checkpoint differ from %s: %s",
                  thr[i], thr[0], r.cmd);
            run_free(&r);
        }
    }
    /* chunking and recompute (T 12): the same bits for any Tc, 12 not a
     * multiple of 5 or 7, with and without recomputing, on each backend */
    static const char *const bks[] = {"scalar", "simd", "openmp --threads 2",
                                      "onednn,simd --threads 2"};
    static const char *const chk[] = {"--tc 12 --recompute off", "--tc 1 --recompute all",
                                      "--tc 5", "--tc 6 --recompute all",
                                      "--tc 7 --recompute all", "--tc 5 --recompute input",
                                      "--memory-budget 200K"};
    for (size_t bi = 0; bi < sizeof bks / sizeof bks[0]; bi++) {
        char bname[16];
        snprintf(bname, sizeof bname, "%.*s", (int)strcspn(bks[bi], " ,"), bks[bi]);
        if (!lif_backend_find(bname) || !lif_backend_available(lif_backend_find(bname), NULL)) {
            printf("skipped: chunking on the %s backend: not available here\n", bname);
            continue;
        }
        for (size_t i = 0; i < sizeof chk / sizeof chk[0]; i++) {
            char dir[32], cmd[512], a[96], b[96];
            snprintf(dir, sizeof dir, "out_tc%zu_%zu", bi, i);
            snprintf(cmd, sizeof cmd, "%s -epochs 1 -out-dir %s --backend %s %s", TRAIN_BASE, dir,
                     bks[bi], chk[i]);
            r = run_lif(NULL, cmd, flat);
            CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
            if (i == 0) {
                run_free(&r);
                continue;
            }
            snprintf(a, sizeof a, "out_tc%zu_0/" RUN_NAME "/log.jsonl", bi);
            snprintf(b, sizeof b, "%s/" RUN_NAME "/log.jsonl", dir);
            int same = same_bytes(a, b);
            snprintf(a, sizeof a, "out_tc%zu_0/" RUN_NAME "/checkpoint_latest.lif", bi);
            snprintf(b, sizeof b, "%s/" RUN_NAME "/checkpoint_latest.lif", dir);
            CHECK(same && same_bytes(a, b),
                  "%s %s: log.jsonl or checkpoint differ from Tc = T without recompute: %s",
                  bks[bi], chk[i], r.cmd);
            run_free(&r);
        }
    }
    /* an impossible budget is refused before anything runs */
    r = run_lif(NULL, TRAIN_BASE " -epochs 1 -out-dir out_budget --memory-budget 4K", flat);
    CHECK(r.status == 2 && strstr(r.err, "--memory-budget") && strstr(r.err, "too small") &&
              !exists("out_budget/" RUN_NAME "/log.jsonl"),
          "--memory-budget 4K: exit %d (want 2), stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);

    /* without --threads the default is the same auto */
    r = run_lif("OMP_NUM_THREADS=3", TRAIN_BASE " -epochs 1 -out-dir out_autothr", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    args = slurp_text("out_autothr/" RUN_NAME "/args.txt");
    runj = slurp_text("out_autothr/" RUN_NAME "/run.json");
    CHECK(args && strstr(args, "threads=3,") && strstr(args, "bind='none'") && runj &&
              strstr(runj, "\"threads\": 3") && strstr(runj, "\"bind\": \"none\""),
          "args.txt does not record threads 3 (OMP_NUM_THREADS) and bind none: %s\n%s", r.cmd,
          args ? args : "(none)");
    free(args);
    free(runj);
    run_free(&r);
}

/* 3. Resume. */
static void snapshot_run(const char *dir, const char *snap);
static void check_unchanged(const char *dir, const char *snap, const char *cmd);

static void test_resume(void)
{
    const char *ck = "out_res/" RUN_NAME "/checkpoint_latest.lif";
    run_result r = run_lif(NULL, TRAIN_BASE " -epochs 1 -out-dir out_res", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    check_log("out_res/" RUN_NAME, 1, r.cmd);
    run_free(&r);

    /* refused: flags that change the recipe; nothing is written */
    size_t n_ck = 0;
    unsigned char *before = slurp(ck, &n_ck);
    char *log_before = slurp_text("out_res/" RUN_NAME "/log.jsonl");
    static const struct {
        const char *flags, *names;
    } bad[] = {
        {"-lr 0.01", "-lr"},         {"--hidden 400", "hidden"}, {"-T 16", "-T"},
        {"--seed 2", "seed"},        {"-opt sgd", "opt"},        {"-tau 3", "tau"},
        {"--bias", "bias"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = run_lif(NULL, "train -resume %s -epochs 2 -data-dir %s -out-dir out_res --quiet %s", ck,
                    flat, bad[i].flags);
        CHECK(r.status == 2, "resume with %s: exit %d, want 2\n  repro: %s", bad[i].flags,
              r.status, r.cmd);
        CHECK(strstr(r.err, bad[i].names) != NULL, "resume with %s: stderr does not name %s: %s"
              "  repro: %s", bad[i].flags, bad[i].names, r.err, r.cmd);
        CHECK(count_lines(r.err) == 1, "resume with %s: %d stderr lines: %s  repro: %s",
              bad[i].flags, count_lines(r.err), r.err, r.cmd);
        run_free(&r);
    }
    size_t n_after = 0;
    unsigned char *after = slurp(ck, &n_after);
    CHECK(before && after && n_ck == n_after && memcmp(before, after, n_ck) == 0,
          "refused resumes changed %s", ck);
    char *log_after = slurp_text("out_res/" RUN_NAME "/log.jsonl");
    CHECK(log_before && log_after && strcmp(log_before, log_after) == 0,
          "refused resumes changed out_res/%s/log.jsonl", RUN_NAME);
    free(before);
    free(after);
    free(log_before);
    free(log_after);

    /* accepted: the same recipe flags repeated, and --threads (may change;
     * 1 is the run's own value, so the checkpoint's recipe stays equal) */
    r = run_lif(NULL, TRAIN_BASE " -resume %s -epochs 2 -out-dir out_res --threads 1", flat, ck);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(check_epoch_lines(r.out, 1, r.cmd) == 1 && has_line_starting(r.out, "epoch =1,"),
          "resumed run should print epoch 1 only: %s", r.cmd);
    CHECK(!has_line_starting(r.out, "epoch =0,"), "resumed run re-ran epoch 0: %s", r.cmd);
    check_log("out_res/" RUN_NAME, 2, r.cmd);
    CHECK(same_bytes("out_res/" RUN_NAME "/log.jsonl", "out1/" RUN_NAME "/log.jsonl"),
          "resumed log.jsonl differs from the uninterrupted one (out1): %s", r.cmd);
    check_same_ckpt("out_res/" RUN_NAME "/checkpoint_latest.lif",
                    "out1/" RUN_NAME "/checkpoint_latest.lif", "resume vs uninterrupted");
    CHECK(same_bytes("out_res/" RUN_NAME "/checkpoint_max.lif",
                     "out1/" RUN_NAME "/checkpoint_max.lif"),
          "resumed checkpoint_max.lif differs from the uninterrupted one: %s", r.cmd);
    CHECK(same_bytes("out_res/" RUN_NAME "/v_t_array.npy", "out1/" RUN_NAME "/v_t_array.npy"),
          "resumed v_t_array.npy differs from the uninterrupted one: %s", r.cmd);
    run_free(&r);

    /* resuming a finished run trains nothing, says so, changes nothing and
     * still exits 0 */
    snapshot_run("out1/" RUN_NAME, "snap_out1");
    static const char *const finished[] = {"-out-dir out_res2", ""};
    for (int i = 0; i < 2; i++) {
        r = run_lif(NULL, "train -resume %s -data-dir %s %s", "out1/" RUN_NAME
                    "/checkpoint_latest.lif", flat, finished[i]);
        CHECK(r.status == 0, "resume of a finished run: exit %d, stderr: %s\n  repro: %s",
              r.status, r.err, r.cmd);
        CHECK(check_epoch_lines(r.out, 0, r.cmd) == 0, "resume of a finished run trained: %s",
              r.cmd);
        CHECK(strstr(r.out, "nothing to do") != NULL,
              "resume of a finished run does not say there is nothing to do: %s\n  repro: %s",
              r.out, r.cmd);
        check_unchanged("out1/" RUN_NAME, "snap_out1", r.cmd);
        CHECK(!exists("out_res2"), "resume of a finished run made out_res2: %s", r.cmd);
        run_free(&r);
    }
    run_free(&r);
}

/* 4. Bad input: exit 2, one stderr line naming the problem. */
static void expect_usage(const char *args, const char *needle)
{
    run_result r = run_lif(NULL, "%s", args);
    CHECK(r.status == 2, "exit %d, want 2 (stderr: %s)\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(strstr(r.err, needle) != NULL, "stderr does not name '%s': %s  repro: %s", needle,
          r.err, r.cmd);
    CHECK(count_lines(r.err) == 1, "want one stderr line, got %d: %s  repro: %s",
          count_lines(r.err), r.err, r.cmd);
    run_free(&r);
}

static void test_bad_input(void)
{
    char a[1024];
    /* a sane base, so a flag that is wrongly accepted still ends quickly */
#define BAD_BASE "train -data-dir data/flat -out-dir out_bad -epochs 1 -T 8 -b 32 --quiet"
    expect_usage(BAD_BASE " --nope", "--nope");
    expect_usage(BAD_BASE " -T", "-T");
    expect_usage(BAD_BASE " -T 0", "-T");
    expect_usage(BAD_BASE " -T abc", "abc");
    expect_usage(BAD_BASE " -T abc", "-T");
    expect_usage(BAD_BASE " -T=0", "-T");
    expect_usage(BAD_BASE " -b -1", "-b");
    expect_usage(BAD_BASE " -b 0", "-b");
    expect_usage(BAD_BASE " -epochs 0", "-epochs");
    expect_usage(BAD_BASE " -lr 0", "-lr");
    expect_usage(BAD_BASE " -lr -1", "-lr");
    expect_usage(BAD_BASE " -lr nan", "-lr");
    expect_usage(BAD_BASE " -tau 0.5", "-tau");
    expect_usage(BAD_BASE " -opt rmsprop", "rmsprop");
    expect_usage(BAD_BASE " -momentum 1.5", "-momentum");
    expect_usage(BAD_BASE " --seed -3", "seed");
    expect_usage(BAD_BASE " --hidden 0", "hidden");
    expect_usage(BAD_BASE " --hidden abc", "hidden");
    expect_usage(BAD_BASE " --threads 1025", "threads");
    expect_usage(BAD_BASE " --threads -1", "threads");
    expect_usage(BAD_BASE " --bind bogus", "--bind");
    expect_usage(BAD_BASE " --bind", "-bind");
    expect_usage(BAD_BASE " --loss hinge", "hinge");
    expect_usage(BAD_BASE " --surrogate relu", "relu");
    expect_usage(BAD_BASE " --quiet=1", "quiet");
    expect_usage(BAD_BASE " stray", "stray");
    expect_usage(BAD_BASE " -device cuda:0", "not supported");
    /* -amp with a list without onednn (or a build without it, or a CPU
     * without bf16): refused, naming -amp (tests/test_onednn.c has the rest) */
    expect_usage(BAD_BASE " -amp --backend scalar", "-amp");
    expect_usage(BAD_BASE " --backend nosuch", "nosuch");
    expect_usage(BAD_BASE " --config /nonexistent.json", "/nonexistent.json");

    CHECK(spit("bad.json", "{\"T\": 10,, }\n", 13) == 0, "cannot write bad.json");
    expect_usage(BAD_BASE " --config bad.json", "bad.json");
    CHECK(spit("badkey.json", "{\"nosuchkey\": 1}\n", 17) == 0, "cannot write badkey.json");
    expect_usage(BAD_BASE " --config badkey.json", "nosuchkey");

    expect_usage("train -data-dir data/nonexistent -out-dir out_bad -epochs 1 -T 8 --quiet",
                 "data/nonexistent");

    /* a truncated labels file */
    copy_flat("data/trunc");
    {
        size_t n;
        unsigned char *b = slurp("data/trunc/train-labels-idx1-ubyte", &n);
        CHECK(b && n == 8 + N_TRAIN, "train labels: %zu bytes", n);
        if (b)
            CHECK(spit("data/trunc/train-labels-idx1-ubyte", b, n - 7) == 0, "cannot truncate");
        free(b);
    }
    expect_usage("train -data-dir data/trunc -out-dir out_bad -epochs 1 -T 8 --quiet",
                 "train-labels-idx1-ubyte");

    /* a label of 10 in the test set */
    copy_flat("data/label10");
    {
        size_t n;
        unsigned char *b = slurp("data/label10/t10k-labels-idx1-ubyte", &n);
        CHECK(b && n == 8 + N_TEST, "test labels: %zu bytes", n);
        if (b) {
            b[8 + 17] = 10;
            CHECK(spit("data/label10/t10k-labels-idx1-ubyte", b, n) == 0, "cannot write");
        }
        free(b);
    }
    expect_usage("train -data-dir data/label10 -out-dir out_bad -epochs 1 -T 8 --quiet",
                 "t10k-labels-idx1-ubyte");
    run_result r = run_lif(NULL, "train -data-dir data/label10 -out-dir out_bad -epochs 1 --quiet");
    CHECK(strstr(r.err, "label") && (strstr(r.err, "10") || strstr(r.err, ">=")),
          "stderr does not say the label is out of range: %s  repro: %s", r.err, r.cmd);
    run_free(&r);
    /* images of another size than the checkpoint's, for eval */
    mkdir_p("data/small");
    {
        uint8_t img[20 * 16] = {0}, lab[20] = {0};
        CHECK(lif_idx_write("data/small/train-images-idx3-ubyte",
                            "data/small/train-labels-idx1-ubyte", img, lab, 20, 4, 4, 0) == LIF_OK &&
                  lif_idx_write("data/small/t10k-images-idx3-ubyte",
                                "data/small/t10k-labels-idx1-ubyte", img, lab, 20, 4, 4, 0) ==
                      LIF_OK,
              "%s", lif_last_error());
    }

    /* resume of a nonexistent and of a corrupt checkpoint */
    expect_usage(BAD_BASE " -resume nonexistent.lif", "nonexistent.lif");
    const char *ck = "out1/" RUN_NAME "/checkpoint_latest.lif";
    size_t n = 0;
    unsigned char *orig = slurp(ck, &n);
    CHECK(orig && n > 100, "cannot read %s", ck);
    if (orig && n > 100) {
        unsigned char *b = malloc(n);
        memcpy(b, orig, n);
        b[n / 2] ^= 0x40;
        CHECK(spit("corrupt.lif", b, n) == 0, "cannot write corrupt.lif");
        expect_usage(BAD_BASE " -resume corrupt.lif", "corrupt.lif");
        snprintf(a, sizeof a, "eval -checkpoint corrupt.lif -data-dir %s", flat);
        expect_usage(a, "corrupt.lif");
        CHECK(spit("short.lif", orig, n / 3) == 0, "cannot write short.lif");
        expect_usage(BAD_BASE " -resume short.lif", "short.lif");
        CHECK(spit("garbage.lif", "hello, world\n", 13) == 0, "cannot write garbage.lif");
        expect_usage(BAD_BASE " -resume garbage.lif", "garbage.lif");
        free(b);
        size_t n2 = 0;
        unsigned char *now = slurp(ck, &n2);
        CHECK(now && n2 == n && memcmp(now, orig, n) == 0,
              "%s changed after the failed resumes", ck);
        free(now);
    }
    free(orig);

    /* resume with images of another size */
    snprintf(a, sizeof a, "train -resume %s -data-dir data/small -out-dir out_bad --quiet", ck);
    r = run_lif(NULL, "%s", a);
    CHECK(r.status == 2, "resume on 4x4 images: exit %d, want 2 (stderr: %s)\n  repro: %s",
          r.status, r.err, r.cmd);
    run_free(&r);

    /* eval and the command itself */
    expect_usage("eval -data-dir data/flat", "-checkpoint");
    snprintf(a, sizeof a, "eval -checkpoint %s -data-dir data/flat --nope", ck);
    expect_usage(a, "--nope");
    snprintf(a, sizeof a, "eval -checkpoint %s -data-dir data/flat -T 0", ck);
    expect_usage(a, "-T");
    snprintf(a, sizeof a, "eval -checkpoint %s -data-dir data/flat -device cuda", ck);
    expect_usage(a, "not supported");
    snprintf(a, sizeof a, "eval -checkpoint %s -data-dir data/small", ck);
    expect_usage(a, "784");
    snprintf(a, sizeof a, "eval -checkpoint %s -data-dir data/nonexistent", ck);
    expect_usage(a, "data/nonexistent");
    expect_usage("eval -checkpoint nonexistent.lif -data-dir data/flat", "nonexistent.lif");
    expect_usage("nosuchcmd", "nosuchcmd");
    expect_usage("info --nope", "--nope");
    r = run_lif(NULL, "%s", "");
    CHECK(r.status == 2, "lif without a command: exit %d, want 2\n  repro: %s", r.status, r.cmd);
    run_free(&r);

    /* every run above was refused before it wrote anything */
    CHECK(!exists("out_bad"), "a refused run created its output folder out_bad");

    /* an output folder that cannot be made is a run-time failure (exit 1) */
    r = run_lif(NULL, "train -data-dir %s -out-dir bad.json/sub -epochs 1 -T 8 -b 32 --quiet", flat);
    CHECK(r.status == 1, "unwritable -out-dir: exit %d, want 1 (stderr: %s)\n  repro: %s",
          r.status, r.err, r.cmd);
    CHECK(strstr(r.err, "bad.json/sub") != NULL && count_lines(r.err) == 1,
          "unwritable -out-dir: stderr should name the folder in one line: %s  repro: %s", r.err,
          r.cmd);
    run_free(&r);
#undef BAD_BASE
}

/* 5. Help and info. */
static void test_help(void)
{
    static const char *const train_flags[] = {
        "-T",      "-b",     "-epochs",   "-j",      "-data-dir", "-out-dir",
        "-resume", "-amp",   "-opt",      "-momentum", "-lr",     "-tau",
        "-backend", "-seed", "-threads",  "-hidden", "-config",   "-quiet",
        "-device", "-bias",  "-tc",       "-v-reset", "-surrogate", "-loss",
        "-bind",
    };
    run_result r = run_lif(NULL, "train --help");
    CHECK(r.status == 0, "exit %d: %s", r.status, r.cmd);
    for (size_t i = 0; i < sizeof train_flags / sizeof train_flags[0]; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "  %s ", train_flags[i]);
        CHECK(strstr(r.out, pat) != NULL, "help lacks flag %s: %s", train_flags[i], r.cmd);
    }
    CHECK(strstr(r.out, "usage: lif train"), "no usage line: %s", r.cmd);
    run_free(&r);
    r = run_lif(NULL, "train -h");
    CHECK(r.status == 0 && strstr(r.out, "  -lr "), "exit %d: %s", r.status, r.cmd);
    run_free(&r);

    r = run_lif(NULL, "eval --help");
    CHECK(r.status == 0, "exit %d: %s", r.status, r.cmd);
    static const char *const eval_flags[] = {"-checkpoint", "-data-dir", "-T", "-b",
                                             "-backend", "-threads", "-bind", "-quiet"};
    for (size_t i = 0; i < sizeof eval_flags / sizeof eval_flags[0]; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "  %s ", eval_flags[i]);
        CHECK(strstr(r.out, pat) != NULL, "eval help lacks flag %s: %s", eval_flags[i], r.cmd);
    }
    run_free(&r);

    r = run_lif(NULL, "--help");
    CHECK(r.status == 0, "exit %d: %s", r.status, r.cmd);
    CHECK(strstr(r.out, "train") && strstr(r.out, "eval") && strstr(r.out, "info") &&
              strstr(r.out, "LIF_VERBOSE"),
          "lif --help lacks the commands: %s", r.cmd);
    run_free(&r);

    r = run_lif(NULL, "--version");
    CHECK(r.status == 0 && strncmp(r.out, "lif ", 4) == 0, "exit %d: %s", r.status, r.cmd);
    run_free(&r);

    r = run_lif(NULL, "info");
    CHECK(r.status == 0, "exit %d: %s", r.status, r.cmd);
    CHECK(strncmp(r.out, "lif ", 4) == 0 && strstr(r.out, "cpu:") && strstr(r.out, "backends:") &&
              strstr(r.out, "scalar"),
          "lif info lacks version/cpu/backends/scalar: %s\n%s", r.cmd, r.out);
    {
        const char *isa = strstr(r.out, "\nisa:"), *topo = strstr(r.out, "\ntopology"),
                   *be = strstr(r.out, "\nbackends:");
        CHECK(isa && topo && be && isa < topo && topo < be && strstr(topo, " cores") < be,
              "lif info has no topology line (with the cores) between the CPU and the "
              "backends: %s\n%s", r.cmd, r.out);
    }
    run_free(&r);
    r = run_lif(NULL, "info --help");
    CHECK(r.status == 0, "exit %d: %s", r.status, r.cmd);
    run_free(&r);
}

/* The number after "test_acc =" in out, NAN if none. */
static double stdout_acc(const char *out)
{
    const char *p = strstr(out, "test_acc =");
    return p ? strtod(p + strlen("test_acc ="), NULL) : NAN;
}

/* 6. eval. */
static void test_eval(void)
{
    run_result r = run_lif(NULL, "eval -checkpoint out1/" RUN_NAME "/checkpoint_max.lif "
                                 "-data-dir %s -T 12", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    double acc = stdout_acc(r.out);
    CHECK(acc > 0.5, "eval test_acc %g <= 0.5: %s\n%s", acc, r.cmd, r.out);
    run_free(&r);

    /* with the checkpoint's own T, epoch and batch it reproduces the log */
    r = run_lif(NULL, "eval -checkpoint out1/" RUN_NAME "/checkpoint_latest.lif "
                      "-data-dir %s --quiet", gzdir);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(count_lines(r.out) == 1, "--quiet eval printed %d lines: %s", count_lines(r.out), r.cmd);
    char *log = slurp_text("out1/" RUN_NAME "/log.jsonl");
    if (log) {
        char *lines[8];
        int n = split_lines(log, lines, 8);
        if (n == 2) {
            double want = json_num(lines[1], "test_acc");
            CHECK_CLOSE(stdout_acc(r.out), want, 0, 6e-5,
                        "eval of checkpoint_latest: test_acc %g, log.jsonl says %g: %s",
                        stdout_acc(r.out), want, r.cmd);
        }
    }
    free(log);
    run_free(&r);

    /* the plan options of eval: --threads (0 = auto) and --bind */
    r = run_lif(NULL, "eval -checkpoint out1/" RUN_NAME "/checkpoint_max.lif "
                      "-data-dir %s -T 12 --threads 0 --bind cores --quiet", flat);
    run_result plain = run_lif(NULL, "eval -checkpoint out1/" RUN_NAME "/checkpoint_max.lif "
                                     "-data-dir %s -T 12 --threads 1 --bind none --quiet", flat);
    CHECK(r.status == 0 && plain.status == 0, "exit %d and %d, stderr: %s%s\n  repro: %s",
          r.status, plain.status, r.err, plain.err, r.cmd);
    CHECK(stdout_acc(r.out) == stdout_acc(plain.out),
          "eval with --threads 0 --bind cores: test_acc %g, with --threads 1: %g: %s",
          stdout_acc(r.out), stdout_acc(plain.out), r.cmd);
    run_free(&plain);
    run_free(&r);
}

/* 7. Recipe variants. */
static void train_variant(const char *flags, const char *out_dir, int epochs, double min_acc,
                          int want_layers)
{
    run_result r = run_lif(NULL, "train -T 8 -b 32 -epochs %d -data-dir %s -out-dir %s --seed 3 "
                                 "--quiet %s", epochs, flat, out_dir, flags);
    CHECK(r.status == 0, "%s: exit %d, stderr: %s\n  repro: %s", flags, r.status, r.err, r.cmd);
    char rd[1024];
    if (only_subdir(out_dir, rd, sizeof rd) != 0) {
        CHECK(0, "%s: no single run folder in %s: %s", flags, out_dir, r.cmd);
        run_free(&r);
        return;
    }
    double acc = check_log(rd, epochs, r.cmd);
    CHECK(acc > min_acc, "%s: test_acc %g <= %g: %s", flags, acc, min_acc, r.cmd);
    char ck[1100];
    snprintf(ck, sizeof ck, "%s/checkpoint_latest.lif", rd);
    lif_net *net = NULL;
    lif_train_state ts;
    lif_status st = lif_net_load(ck, &net, &ts);
    CHECK(st == LIF_OK, "%s: cannot load %s: %s", flags, ck, lif_last_error());
    if (st == LIF_OK)
        CHECK(lif_net_layers(net) == want_layers, "%s: %d layers, want %d", flags,
              lif_net_layers(net), want_layers);
    lif_net_destroy(net);
    run_free(&r);
}

static void test_variants(void)
{
    train_variant("--hidden 32", "out_hidden", 2, 0.3, 2);
    {
        lif_net *net = NULL;
        lif_train_state ts;
        char rd[1024], ck[1100];
        if (only_subdir("out_hidden", rd, sizeof rd) == 0) {
            snprintf(ck, sizeof ck, "%s/checkpoint_latest.lif", rd);
            if (lif_net_load(ck, &net, &ts) == LIF_OK && lif_net_layers(net) == 2) {
                lif_layer_view a, b;
                lif_net_layer(net, 0, &a);
                lif_net_layer(net, 1, &b);
                CHECK(a.n_in == 784 && a.n_out == 32 && b.n_in == 32 && b.n_out == 10,
                      "--hidden 32: layers %d->%d, %d->%d", a.n_in, a.n_out, b.n_in, b.n_out);
            }
            lif_net_destroy(net);
        }
    }
    train_variant("--bias", "out_bias", 1, 0.0, 1);
    {
        lif_net *net = NULL;
        lif_train_state ts;
        char rd[1024], ck[1100];
        if (only_subdir("out_bias", rd, sizeof rd) == 0) {
            snprintf(ck, sizeof ck, "%s/checkpoint_latest.lif", rd);
            if (lif_net_load(ck, &net, &ts) == LIF_OK) {
                lif_layer_view v;
                lif_net_layer(net, 0, &v);
                CHECK(v.b != NULL, "--bias: the checkpoint's layer has no bias");
            }
            lif_net_destroy(net);
        }
    }
    train_variant("--loss ce", "out_ce", 1, 0.0, 1);
    train_variant("-opt sgd", "out_sgd", 1, 0.0, 1);
    CHECK(exists("out_sgd/T8_b32_sgd_lr0.001"), "-opt sgd: no run folder T8_b32_sgd_lr0.001");
    train_variant("--v-reset none", "out_soft", 1, 0.0, 1);
    train_variant("--surrogate sigmoid", "out_sig", 1, 0.0, 1);
    train_variant("--tc 5", "out_tc", 1, 0.0, 1);
    train_variant("--hidden 16,12 --bias --detach-reset --alpha 3 -lr 0.002", "out_mix", 1, 0.0, 3);
    CHECK(exists("out_mix/T8_b32_adam_lr0.002"), "-lr 0.002: no run folder T8_b32_adam_lr0.002");

    /* -tc splits BPTT into chunks without changing the result */
    run_result r = run_lif(NULL, "train -T 12 -b 32 -epochs 1 -data-dir %s -out-dir out_tc4 "
                                 "--seed 1 --quiet --tc 4", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    char *x = slurp_text("out_tc4/" RUN_NAME "/log.jsonl");
    char *y = slurp_text("out_res/" RUN_NAME "/log.jsonl");
    if (x && y) {
        char *lx[4], *ly[4];
        int nx = split_lines(x, lx, 4), ny = split_lines(y, ly, 4);
        if (nx >= 1 && ny >= 1) {
            double a = json_num(lx[0], "test_acc"), b = json_num(ly[0], "test_acc");
            CHECK_CLOSE(a, b, 0, 0.02, "--tc 4: epoch 0 test_acc %g vs %g without chunks: %s", a,
                        b, r.cmd);
            a = json_num(lx[0], "train_loss");
            b = json_num(ly[0], "train_loss");
            CHECK_CLOSE(a, b, 1e-4, 0, "--tc 4: epoch 0 train_loss %.9g vs %.9g without chunks: %s",
                        a, b, r.cmd);
        }
    }
    free(x);
    free(y);
    run_free(&r);

    /* --config, and flags override it wherever they stand */
    CHECK(spit("t10.json", "{\"T\": 10, \"batch\": 32}\n", 23) == 0, "cannot write t10.json");
    r = run_lif(NULL, "train --config t10.json -epochs 1 -data-dir %s -out-dir out_cfg --quiet",
                flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(exists("out_cfg/T10_b32_adam_lr0.001/log.jsonl"),
          "--config with T 10: no run folder out_cfg/T10_b32_adam_lr0.001: %s", r.cmd);
    check_npy("out_cfg/T10_b32_adam_lr0.001/v_t_array.npy", 10, r.cmd);
    run_free(&r);
    r = run_lif(NULL, "train --config t10.json -T 8 -epochs 1 -data-dir %s -out-dir out_cfg2 "
                      "--quiet", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(exists("out_cfg2/T8_b32_adam_lr0.001/log.jsonl") &&
              !exists("out_cfg2/T10_b32_adam_lr0.001"),
          "-T 8 after --config did not override T 10: %s", r.cmd);
    run_free(&r);
    r = run_lif(NULL, "train -T 8 --config t10.json -epochs 1 -data-dir %s -out-dir out_cfg3 "
                      "--quiet", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(exists("out_cfg3/T8_b32_adam_lr0.001/log.jsonl"),
          "-T 8 before --config did not override T 10: %s", r.cmd);
    run_free(&r);
    char cfg[1200];
    snprintf(cfg, sizeof cfg, "%s/configs/lif_fc_mnist.json", LIF_SOURCE_DIR);
    if (copy_file(cfg, "ref.json") == 0) {
        r = run_lif(NULL, "train --config ref.json -T 8 -b 32 -epochs 1 -data-dir %s "
                          "-out-dir out_ref --quiet", flat);
        CHECK(r.status == 0, "the reference config: exit %d, stderr: %s\n  repro: %s", r.status,
              r.err, r.cmd);
        CHECK(exists("out_ref/T8_b32_adam_lr0.001/log.jsonl"), "no run folder: %s", r.cmd);
        run_free(&r);
    }

    /* non-quiet output: the namespace line, progress, epoch lines */
    r = run_lif(NULL, "train -T 8 -b 32 -epochs 1 -data-dir %s -out-dir out_loud", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(has_line_starting(r.out, "Namespace(T=8"), "no Namespace line: %s", r.cmd);
    CHECK(check_epoch_lines(r.out, 0, r.cmd) == 1, "want one epoch line: %s", r.cmd);
    CHECK(has_line_starting(r.out, "train speed ="), "no train speed line: %s", r.cmd);
    CHECK(has_line_starting(r.out, "escape time = "), "no escape time line: %s", r.cmd);
    /* progress goes to stderr (a plain line per quarter off a terminal, with
     * the running loss); the kernels line comes before the first epoch line */
    CHECK(has_line_starting(r.err, "train: ") && has_line_starting(r.err, "test: ") &&
              strstr(r.err, "images/s, loss 0.") && !has_line_starting(r.out, "train: "),
          "progress lines not on stderr: stderr:\n%s\nstdout:\n%s\n  repro: %s", r.err, r.out,
          r.cmd);
    const char *kl = strstr(r.out, "\nkernels: "), *el = strstr(r.out, "\nepoch =0,");
    CHECK(kl && el && kl < el, "the kernels line does not come before the first epoch line:\n%s"
          "  repro: %s", r.out, r.cmd);
    run_free(&r);
    /* --quiet still says where the run goes, first */
    r = run_lif(NULL, "train -T 8 -b 32 -epochs 1 -data-dir %s -out-dir out_quiet --quiet", flat);
    CHECK(r.status == 0 && strncmp(r.out, "out_quiet/T8_b32_adam_lr0.001\n", 30) == 0 &&
              r.err[0] == '\0',
          "--quiet: exit %d, stdout does not start with the run folder, or stderr not empty:\n%s"
          "%s  repro: %s", r.status, r.out, r.err, r.cmd);
    run_free(&r);
    /* a mistyped flag gets a suggestion */
    r = run_lif(NULL, "train --epoch 2 -data-dir %s", flat);
    CHECK(r.status == 2 && strstr(r.err, "unknown flag '--epoch' (did you mean -epochs?"),
          "--epoch: exit %d, no 'did you mean -epochs?': %s  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);
    r = run_lif(NULL, "eval --zzzz 1");
    CHECK(r.status == 2 && strstr(r.err, "unknown flag '--zzzz'") && !strstr(r.err, "did you mean"),
          "--zzzz: exit %d, or a suggestion for a flag nothing resembles: %s  repro: %s", r.status,
          r.err, r.cmd);
    run_free(&r);
}

/* 8. LIF_VERBOSE=dispatch. */
static void test_dispatch(void)
{
    run_result r = run_lif("LIF_VERBOSE=dispatch", "train -T 8 -b 32 -epochs 1 -data-dir %s "
                                                   "-out-dir out_disp --quiet", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(has_line_starting(r.err, "lif_dispatch,"), "no 'lif_dispatch,' line on stderr: %s",
          r.cmd);
    CHECK(!strstr(r.out, "lif_dispatch,"), "dispatch lines on stdout: %s", r.cmd);
    run_free(&r);
}

/* Number of "lif_dispatch,<op>,<kernel>,chosen," lines in err; *others
 * counts those whose kernel is not of backend `backend`. */
static int chosen_lines(const char *err, const char *backend, int *others)
{
    char mid[64];
    snprintf(mid, sizeof mid, "/%s/", backend);
    int n = 0;
    *others = 0;
    for (const char *p = err; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        if (strncmp(line, "lif_dispatch,", 13) == 0 && strstr(line, ",chosen,")) {
            n++;
            char *kernel = strchr(line + 13, ',');
            char *end = kernel ? strchr(kernel + 1, ',') : NULL;
            if (end)
                *end = '\0';
            if (!kernel || !strstr(kernel, mid))
                (*others)++;
        }
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

/* 8b. Backend preference lists, --tc, plan options in --config, and plan
 * options on resume (not part of the recipe, so they may change). */
static void test_backend_lists(void)
{
#define BL_BASE "train -T 8 -b 32 -epochs 1 -data-dir %s --seed 1 --quiet"
    const lif_backend_i *simd = lif_backend_find("simd");
    const char *why = "not in this build";
    int have_simd = simd && lif_backend_available(simd, &why);
    run_result r;
    int others = 0;
    if (have_simd) {
        r = run_lif("LIF_VERBOSE=dispatch", BL_BASE " -out-dir out_bl --backend simd,scalar", flat);
        CHECK(r.status == 0, "--backend simd,scalar: exit %d, stderr: %s\n  repro: %s", r.status,
              r.err, r.cmd);
        int n = chosen_lines(r.err, "simd", &others);
        CHECK(n > 0 && others == 0, "--backend simd,scalar: %d chosen kernels, %d not simd's "
              "(simd runs every op of this recipe): %s\n  repro: %s", n, others, r.err, r.cmd);
        check_log("out_bl/T8_b32_adam_lr0.001", 1, r.cmd);
        run_free(&r);
    } else {
        printf("test_cli: skipped: --backend simd,scalar training: simd cannot run here (%s); "
               "checking it is refused instead\n", why);
        r = run_lif(NULL, BL_BASE " -out-dir out_bl --backend simd,scalar", flat);
        CHECK(r.status == 2 && strstr(r.err, "simd"), "--backend simd,scalar without simd: "
              "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
        run_free(&r);
    }
    char a[512];
    snprintf(a, sizeof a, BL_BASE " -out-dir out_bad --backend simd,nope", flat);
    expect_usage(a, have_simd ? "'nope'" : "simd");
    snprintf(a, sizeof a, BL_BASE " -out-dir out_bad --backend scalar,,simd", flat);
    expect_usage(a, "scalar,,simd");
    snprintf(a, sizeof a, BL_BASE " -out-dir out_bad --backend scalar,scalar", flat);
    expect_usage(a, "twice");
    snprintf(a, sizeof a, BL_BASE " -out-dir out_bad --backend auto,scalar", flat);
    expect_usage(a, "auto");
    snprintf(a, sizeof a, "train --tc 20 -T 10 -b 32 -epochs 1 -data-dir %s -out-dir out_bad "
                          "--quiet", flat);
    expect_usage(a, "--tc");
    snprintf(a, sizeof a, "train -T 10 --tc 20 -b 32 -epochs 1 -data-dir %s -out-dir out_bad "
                          "--quiet", flat);
    expect_usage(a, "--tc");
    CHECK(!exists("out_bad/T10_b32_adam_lr0.001") && !exists("out_bad/T8_b32_adam_lr0.001"),
          "a refused run left a run folder in out_bad");

    /* plan options in --config: backend, threads, Tc */
    static const char cfg[] = "{\"backend\": \"scalar\", \"threads\": 1, \"Tc\": 4, \"T\": 8}\n";
    CHECK(spit("plan.json", cfg, sizeof cfg - 1) == 0, "cannot write plan.json");
    r = run_lif("LIF_VERBOSE=dispatch", "train --config plan.json -b 32 -epochs 1 -data-dir %s "
                "-out-dir out_plancfg --seed 1 --quiet", flat);
    CHECK(r.status == 0, "--config plan.json: exit %d, stderr: %s\n  repro: %s", r.status, r.err,
          r.cmd);
    int n = chosen_lines(r.err, "scalar", &others);
    CHECK(n > 0 && others == 0, "--config with backend scalar: %d chosen kernels, %d not "
          "scalar's: %s\n  repro: %s", n, others, r.err, r.cmd);
    check_log("out_plancfg/T8_b32_adam_lr0.001", 1, r.cmd);
    char *args = slurp_text("out_plancfg/T8_b32_adam_lr0.001/run.json");
    CHECK(args && strstr(args, "\"Tc\": 4") && strstr(args, "\"backend\": \"scalar\""),
          "--config plan.json: run.json does not record Tc 4 and backend scalar: %s", r.cmd);
    free(args);
    run_free(&r);

    /* resume: the run options may differ from the first run's, the recipe
     * may not */
    const char *ck = "out_ropt/T8_b32_adam_lr0.001/checkpoint_latest.lif";
    r = run_lif(NULL, BL_BASE " -out-dir out_ropt", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);
    size_t n_ck = 0;
    unsigned char *before = slurp(ck, &n_ck);
    r = run_lif(NULL, "train -resume %s -epochs 2 -data-dir %s -out-dir out_ropt --quiet --tc 4 "
                "--backend scalar -lr 0.01", ck, flat);
    CHECK(r.status == 2 && strstr(r.err, "-lr") && count_lines(r.err) == 1,
          "resume with -lr 0.01 (and new run options): exit %d, want 2 naming -lr: %s  "
          "repro: %s", r.status, r.err, r.cmd);
    run_free(&r);
    size_t n_after = 0;
    unsigned char *after = slurp(ck, &n_after);
    CHECK(before && after && n_ck == n_after && memcmp(before, after, n_ck) == 0,
          "a refused resume changed %s", ck);
    free(before);
    free(after);
    r = run_lif("LIF_VERBOSE=dispatch", "train -resume %s -epochs 2 -data-dir %s -out-dir "
                "out_ropt --quiet --tc 4 --backend scalar", ck, flat);
    CHECK(r.status == 0, "resume with --tc 4 --backend scalar (the first run: --tc 0, auto): "
          "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(check_epoch_lines(r.out, 1, r.cmd) == 1, "resume with new run options: want epoch 1 "
          "only: %s", r.cmd);
    n = chosen_lines(r.err, "scalar", &others);
    CHECK(n > 0 && others == 0, "resume with --backend scalar: %d chosen kernels, %d not "
          "scalar's\n  repro: %s", n, others, r.cmd);
    check_log("out_ropt/T8_b32_adam_lr0.001", 2, r.cmd);
    run_free(&r);
#undef BL_BASE
}

/* 9. Checkpoints are never lost: a second fresh run into the same out-dir
 * takes the next folder name; a resume without -out-dir continues next to
 * its checkpoint; a redone epoch is logged once; --config with -resume is
 * refused. */
static void test_no_lost_checkpoint(void)
{
    run_result r = run_lif(NULL, TRAIN_BASE " -epochs 1 -out-dir out_keep", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);
    size_t n0 = 0;
    unsigned char *first = slurp("out_keep/" RUN_NAME "/checkpoint_latest.lif", &n0);
    r = run_lif(NULL, TRAIN_BASE " -epochs 1 -out-dir out_keep -lr 0.01", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);
    r = run_lif(NULL, TRAIN_BASE " -epochs 1 -out-dir out_keep", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(exists("out_keep/" RUN_NAME "_2/checkpoint_latest.lif"),
          "a second run into out_keep did not go to " RUN_NAME "_2: %s", r.cmd);
    run_free(&r);
    size_t n1 = 0;
    unsigned char *again = slurp("out_keep/" RUN_NAME "/checkpoint_latest.lif", &n1);
    CHECK(first && again && n0 == n1 && memcmp(first, again, n0) == 0,
          "a second fresh run overwrote out_keep/%s/checkpoint_latest.lif", RUN_NAME);
    free(first);
    free(again);

    /* resume without -out-dir: continues in the checkpoint's folder, and a
     * log line of an epoch the checkpoint does not hold is dropped */
    FILE *f = fopen("out_keep/" RUN_NAME "/log.jsonl", "a");
    if (f) {
        fputs("{\"epoch\": 1, \"train_loss\": 9, \"train_acc\": 0, \"test_loss\": 9, "
              "\"test_acc\": 0, \"max_test_acc\": 0}\n", f);
        fclose(f);
    }
    r = run_lif(NULL, "train -resume out_keep/" RUN_NAME "/checkpoint_latest.lif -epochs 2 "
                "-data-dir %s --quiet", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    check_log("out_keep/" RUN_NAME, 2, r.cmd);
    CHECK(same_bytes("out_keep/" RUN_NAME "/log.jsonl", "out1/" RUN_NAME "/log.jsonl"),
          "resume next to the checkpoint: log.jsonl differs from the uninterrupted run's "
          "(a stale line kept?): %s", r.cmd);
    run_free(&r);

    expect_usage("train -resume out_keep/" RUN_NAME "/checkpoint_latest.lif --config "
                 "out_keep/x.json -data-dir out_keep", "--config");
}

/* 10. Two runs of the same name started together take two folders: each
 * claims its own (the second RUN_NAME_2), each log holds its epochs once,
 * each checkpoint loads. */
static void test_two_runs_at_once(void)
{
    run_job a = run_lif_start(NULL, TRAIN_BASE " -epochs 2 -out-dir out_race", flat);
    run_job b = run_lif_start(NULL, TRAIN_BASE " -epochs 2 -out-dir out_race", flat);
    run_result ra = run_lif_wait(&a), rb = run_lif_wait(&b);
    CHECK(ra.status == 0 && rb.status == 0, "exits %d and %d (stderr: %s / %s)\n  repro: %s",
          ra.status, rb.status, ra.err, rb.err, ra.cmd);
    static const char *const dirs[2] = {"out_race/" RUN_NAME, "out_race/" RUN_NAME "_2"};
    for (int i = 0; i < 2; i++) {
        check_log(dirs[i], 2, ra.cmd);
        char p[256];
        snprintf(p, sizeof p, "%s/checkpoint_latest.lif", dirs[i]);
        lif_net *net = NULL;
        lif_train_state ts;
        CHECK(lif_net_load(p, &net, &ts) == LIF_OK && ts.epoch == 1,
              "two runs at once: %s does not load as epoch 1: %s", p, lif_last_error());
        lif_net_destroy(net);
    }
    CHECK(same_bytes("out_race/" RUN_NAME "/log.jsonl", "out_race/" RUN_NAME "_2/log.jsonl"),
          "two runs at once: the two logs differ (mixed?): %s", ra.cmd);
    run_free(&ra);
    run_free(&rb);

    /* a run folder another process holds (here: this test, as a running
     * lif would) is not written by a resume: exit 1, saying so */
    int fd = open("out_race/" RUN_NAME, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "cannot lock out_race/%s", RUN_NAME);
    snapshot_run("out_race/" RUN_NAME, "snap_race");
    run_result r = run_lif(NULL, "train -resume out_race/" RUN_NAME "/checkpoint_latest.lif "
                           "-epochs 3 -data-dir %s --quiet", flat);
    CHECK(r.status == 1 && strstr(r.err, "in use") && count_lines(r.err) == 1,
          "resume into a folder in use: exit %d, want 1 saying so: %s  repro: %s", r.status, r.err,
          r.cmd);
    check_unchanged("out_race/" RUN_NAME, "snap_race", r.cmd);
    run_free(&r);
    if (fd >= 0)
        close(fd);
}

/* 1 if every file of names[] is the same in dir as in the snapshot dir
 * `snap` (copies taken before). */
static const char *const run_files[] = {"args.txt", "log.jsonl", "timing.jsonl",
                                        "checkpoint_latest.lif", "checkpoint_max.lif"};
#define N_RUN_FILES (int)(sizeof run_files / sizeof run_files[0])

static void snapshot_run(const char *dir, const char *snap)
{
    mkdir_p(snap);
    for (int i = 0; i < N_RUN_FILES; i++)
        CHECK(copy_file(test_path(dir, run_files[i]), test_path(snap, run_files[i])) == 0,
              "cannot copy %s/%s", dir, run_files[i]);
}

static void check_unchanged(const char *dir, const char *snap, const char *cmd)
{
    for (int i = 0; i < N_RUN_FILES; i++)
        CHECK(same_bytes(test_path(dir, run_files[i]), test_path(snap, run_files[i])),
              "%s/%s was changed by: %s", dir, run_files[i], cmd);
}

/* 11. A resume never writes into another run's folder: -out-dir naming a
 * folder of another run (same name, another seed) is refused, so is a
 * checkpoint copied into another run's folder; -out-dir naming a new
 * folder continues there, its log starting with the checkpoint's epochs. */
static void test_resume_other_run(void)
{
    run_result r = run_lif(NULL, TRAIN_BASE " -epochs 1 -out-dir out_mine", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);
    r = run_lif(NULL, "train -T 12 -b 32 -data-dir %s --seed 2 --quiet -epochs 1 -out-dir out_theirs",
                flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);
    const char *theirs = "out_theirs/" RUN_NAME;
    snapshot_run(theirs, "snap_theirs");

    r = run_lif(NULL, "train -resume out_mine/" RUN_NAME "/checkpoint_latest.lif -epochs 2 "
                "-data-dir %s -out-dir out_theirs --quiet", flat);
    CHECK(r.status == 2, "resume into another run's folder: exit %d, want 2 (stderr: %s)\n"
          "  repro: %s", r.status, r.err, r.cmd);
    CHECK(strstr(r.err, theirs) && strstr(r.err, "another run") && count_lines(r.err) == 1,
          "resume into another run's folder: stderr should say so in one line: %s  repro: %s",
          r.err, r.cmd);
    check_unchanged(theirs, "snap_theirs", r.cmd);
    run_free(&r);

    CHECK(copy_file("out_mine/" RUN_NAME "/checkpoint_latest.lif",
                    "out_theirs/" RUN_NAME "/mine.lif") == 0, "cannot copy a checkpoint");
    r = run_lif(NULL, "train -resume out_theirs/" RUN_NAME "/mine.lif -epochs 2 -data-dir %s "
                "--quiet", flat);
    CHECK(r.status == 2, "resume of a checkpoint copied into another run's folder: exit %d, "
          "want 2 (stderr: %s)\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(strstr(r.err, "another run") != NULL, "stderr does not say why: %s  repro: %s", r.err,
          r.cmd);
    check_unchanged(theirs, "snap_theirs", r.cmd);
    run_free(&r);

    r = run_lif(NULL, "train -resume out_mine/" RUN_NAME "/checkpoint_latest.lif -epochs 2 "
                "-data-dir %s -out-dir out_moved --quiet", flat);
    CHECK(r.status == 0, "resume into a new folder: exit %d (stderr: %s)\n  repro: %s", r.status,
          r.err, r.cmd);
    check_log("out_moved/" RUN_NAME, 2, r.cmd);
    CHECK(same_bytes("out_moved/" RUN_NAME "/log.jsonl", "out1/" RUN_NAME "/log.jsonl"),
          "resume into a new folder: its log differs from the uninterrupted run's: %s", r.cmd);
    run_free(&r);
}

/* A copy of checkpoint `from` whose recipe JSON has `key_text` replaced by
 * `with` and whose tensor `rename` (if not NULL) is renamed `as` (CRC
 * recomputed: a crafted, well-framed file). 0 on success. */
static int craft_ckpt(const char *from, const char *to, const char *key_text, const char *with,
                      const char *rename, const char *as)
{
    lif_ckpt c;
    if (lif_ckpt_load(from, &c) != LIF_OK)
        return -1;
    for (uint32_t i = 0; rename && i < c.n_tensors; i++)
        if (strcmp(c.tensors[i].name, rename) == 0)
            snprintf(c.tensors[i].name, sizeof c.tensors[i].name, "%s", as);
    char *at = strstr(c.recipe_json, key_text);
    int rc = -1;
    if (at) {
        size_t n = strlen(c.recipe_json) - strlen(key_text) + strlen(with) + 1;
        char *j = malloc(n);
        if (j) {
            snprintf(j, n, "%.*s%s%s", (int)(at - c.recipe_json), c.recipe_json, with,
                     at + strlen(key_text));
            free(c.recipe_json);
            c.recipe_json = j;
            rc = lif_ckpt_save(to, &c) == LIF_OK ? 0 : -1;
        }
    }
    lif_ckpt_free(&c);
    return rc;
}

/* 12. Memory is counted before anything is allocated: a run whose net,
 * buffers and workspaces exceed the machine is refused with exit 2 and the
 * figure, making no folder; a crafted checkpoint whose recipe declares
 * huge hidden layers but holds a small net's tensors is refused before the
 * net is built; under an address-space limit (ulimit -v), a run that fits
 * the machine but not the limit is refused the same way. */
static void test_memory_first(void)
{
    run_result r = run_lif(NULL, "train -T 1 -b 1 -data-dir %s -out-dir out_mem --quiet --hidden "
                           "100000,100000,100000,100000,100000,100000,100000,100000", flat);
    CHECK(r.status == 2, "huge --hidden: exit %d, want 2 (stderr: %s)\n  repro: %s", r.status,
          r.err, r.cmd);
    CHECK(strstr(r.err, "GiB") && strstr(r.err, "memory") && count_lines(r.err) == 1,
          "huge --hidden: stderr should give the figure in one line: %s  repro: %s", r.err, r.cmd);
    CHECK(!exists("out_mem"), "a run refused for memory made its folder: %s", r.cmd);
    run_free(&r);

    CHECK(craft_ckpt("out1/" RUN_NAME "/checkpoint_latest.lif", "huge_hidden.lif",
                     "\"hidden\": []", "\"hidden\": [100000, 100000]", "layer0.weight.v",
                     "layer2.weight") == 0,
          "cannot craft huge_hidden.lif: %s", lif_last_error());
    r = run_lif(NULL, "eval -checkpoint huge_hidden.lif -data-dir %s", flat);
    CHECK(r.status == 2, "checkpoint declaring hidden [100000, 100000]: exit %d, want 2 "
          "(stderr: %s)\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(strstr(r.err, "huge_hidden.lif") && (strstr(r.err, "tensor") || strstr(r.err, "weights")),
          "crafted checkpoint: stderr should name the file and its tensors: %s  repro: %s", r.err,
          r.cmd);
    run_free(&r);
    r = run_lif(NULL, "train -resume huge_hidden.lif -epochs 3 -data-dir %s --quiet", flat);
    CHECK(r.status == 2, "resume of the crafted checkpoint: exit %d, want 2 (stderr: %s)\n"
          "  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    printf("test_cli: the address-space limit case skipped: sanitizers reserve more address "
           "space than any limit allows\n");
#else
    /* (the first and last weights are there: only the count and shapes of
     * all the tensors, checked before building, tell it is no such net) */

    /* 784 -> 4000 -> 4000 -> 10: ~0.26 GiB of parameters, and with the
     * kernels' workspaces and buffers more than 90 % of a 0.5 GiB limit */
    run_job j = run_lif_start("LIF_TEST_RLIMIT_AS_MB=512", "train -T 64 -b 64 -epochs 1 "
                              "-data-dir %s -out-dir out_mem --quiet --hidden 4000,4000", flat);
    r = run_lif_wait(&j);
    CHECK(r.status == 2, "run past the address-space limit: exit %d, want 2 (stderr: %s)\n"
          "  repro: ulimit -v 524288; %s", r.status, r.err, r.cmd);
    CHECK(strstr(r.err, "GiB") && strstr(r.err, "memory"),
          "run past the address-space limit: stderr lacks the figure: %s  repro: %s", r.err, r.cmd);
    CHECK(!exists("out_mem"), "a run refused for memory made its folder: %s", r.cmd);
    run_free(&r);
#endif
}

/* A command that must be refused at once (exit 2, one stderr line holding
 * `needle`), killed after 20 s if it blocks. */
static void expect_refused_now(const char *needle, const char *fmt, const char *arg)
{
    run_result r = run_lif("LIF_TEST_ALARM_S=20", fmt, arg);
    CHECK(r.status == 2, "exit %d, want 2 (stderr: %s)\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(!strstr(r.err, "input/output error"), "stderr calls a refusal an I/O error: %s  "
          "repro: %s", r.err, r.cmd);
    CHECK(strstr(r.err, needle) != NULL && count_lines(r.err) == 1,
          "stderr should say '%s' in one line: %s  repro: %s", needle, r.err, r.cmd);
    run_free(&r);
}

/* 13. Input files that are no regular files: a FIFO is refused without
 * blocking (checkpoint, resume, config, data), and a directory, a FIFO or
 * a dangling symbolic link is named for what it is. */
static void test_special_files(void)
{
    CHECK(mkfifo("fifo.lif", 0644) == 0 && mkfifo("fifo.json", 0644) == 0, "mkfifo: %s",
          strerror(errno));
    expect_refused_now("FIFO", "eval -checkpoint fifo.lif -data-dir %s", flat);
    expect_refused_now("FIFO", "train -resume fifo.lif -data-dir %s -out-dir out_fifo --quiet", flat);
    expect_refused_now("FIFO", "train --config fifo.json -data-dir %s -out-dir out_fifo --quiet",
                       flat);
    mkdir_p("adir.lif");
    expect_refused_now("directory", "eval -checkpoint adir.lif -data-dir %s", flat);
    CHECK(symlink("nowhere.lif", "broken.lif") == 0, "symlink: %s", strerror(errno));
    expect_refused_now("dangling symbolic link", "eval -checkpoint broken.lif -data-dir %s", flat);

    static const struct {
        const char *dir, *needle;
    } bad[] = {{"data/fifo", "FIFO"}, {"data/dirfile", "directory"}, {"data/broken", "dangling symbolic link"}};
    for (int i = 0; i < 3; i++) {
        copy_flat(bad[i].dir);
        char p[256];
        snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", bad[i].dir);
        unlink(p);
        if (i == 0)
            CHECK(mkfifo(p, 0644) == 0, "mkfifo %s: %s", p, strerror(errno));
        else if (i == 1)
            mkdir_p(p);
        else
            CHECK(symlink("gone", p) == 0, "symlink %s: %s", p, strerror(errno));
        expect_refused_now(bad[i].needle, "eval -checkpoint out1/" RUN_NAME "/checkpoint_max.lif "
                           "-data-dir %s", bad[i].dir);
        expect_refused_now("t10k-images-idx3-ubyte", "train -data-dir %s -out-dir out_fifo --quiet",
                           bad[i].dir);
    }
    if (geteuid() != 0) {
        copy_flat("data/noperm");
        chmod("data/noperm", 0);
        expect_refused_now("permission denied", "train -data-dir %s -out-dir out_fifo --quiet",
                           "data/noperm");
        chmod("data/noperm", 0755);
    } else {
        printf("test_cli: the mode-000 data folder case skipped: root ignores permissions\n");
    }
    CHECK(!exists("out_fifo"), "a refused run made its output folder out_fifo");
}

/* 14. Output that cannot be written is a failure: stdout on a full device
 * (/dev/full) gives exit 1 and a message on stderr, for eval, train, info
 * and help. */
static void test_stdout_full(void)
{
    if (access("/dev/full", W_OK) != 0) {
        printf("test_cli: the /dev/full cases skipped: no /dev/full here\n");
        return;
    }
    static const char *const cmds[] = {
        "eval -checkpoint out1/" RUN_NAME "/checkpoint_max.lif -data-dir %s",
        "train -T 4 -b 32 -epochs 1 -data-dir %s -out-dir out_full --quiet",
        "info",
        "--help",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        run_result r = run_lif("LIF_TEST_STDOUT=/dev/full", cmds[i], flat);
        CHECK(r.status == 1, "stdout on /dev/full: exit %d, want 1 (stderr: %s)\n  repro: %s "
              "> /dev/full", r.status, r.err, r.cmd);
        CHECK(strstr(r.err, "standard output") && strstr(r.err, "No space"),
              "stdout on /dev/full: stderr should say so: %s  repro: %s > /dev/full", r.err, r.cmd);
        run_free(&r);
    }
}

/* 15. A resume removes the temporary files interrupted saves of its run
 * left (<file>.tmp.XXXXXX of the files lif train writes), and nothing
 * else. */
static void test_stale_temps(void)
{
    run_result r = run_lif(NULL, TRAIN_BASE " -epochs 1 -out-dir out_tmp", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);
    static const char *const stale[] = {"checkpoint_latest.lif.tmp.AbC123",
                                        "checkpoint_max.lif.tmp.x9Y8z7", "log.jsonl.tmp.QwErTy",
                                        "timing.jsonl.tmp.000001", "v_t_array.npy.tmp.zzzzzz"};
    static const char *const keep[] = {"notes.tmp.keep", "mine.lif.tmp.123456",
                                       "checkpoint_latest.lif.tmp."};
    for (size_t i = 0; i < 5; i++)
        CHECK(spit(test_path("out_tmp/" RUN_NAME, stale[i]), "half", 4) == 0, "cannot write");
    for (size_t i = 0; i < 3; i++)
        CHECK(spit(test_path("out_tmp/" RUN_NAME, keep[i]), "keep", 4) == 0, "cannot write");
    r = run_lif(NULL, "train -resume out_tmp/" RUN_NAME "/checkpoint_latest.lif -epochs 2 "
                "-data-dir %s --quiet", flat);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    for (size_t i = 0; i < 5; i++)
        CHECK(!exists(test_path("out_tmp/" RUN_NAME, stale[i])),
              "the stale temporary file %s is still there after: %s", stale[i], r.cmd);
    for (size_t i = 0; i < 3; i++)
        CHECK(exists(test_path("out_tmp/" RUN_NAME, keep[i])),
              "%s (not a temporary file of the run) was removed by: %s", keep[i], r.cmd);
    check_log("out_tmp/" RUN_NAME, 2, r.cmd);
    run_free(&r);
}

/* 16. Messages: refusals of the same kind exit alike (2) and name the
 * problem: a run too large (memory, or too many rows of a chunk), --hidden
 * 100000,100000 with its figure, fewer images than one batch (no empty
 * run folder left), a checkpoint of 3 classes on 10-class data. */
static void test_messages(void)
{
    static const char *const big[] = {"-T 100000 -b 1000 --hidden 100 --recompute off",
                                       "-T 60000 -b 1000 --hidden 400 --recompute off",
                                       "-T 1 -b 1 --hidden 100000,100000"};
    for (int i = 0; i < 3; i++) {
        run_result r = run_lif(NULL, "train %s -data-dir %s -out-dir out_msg --quiet", big[i], flat);
        CHECK(r.status == 2 && count_lines(r.err) == 1 && strstr(r.err, "GiB"),
              "a run too large: exit %d, want 2 and one line with the figure: %s  repro: %s",
              r.status, r.err, r.cmd);
        run_free(&r);
    }
    run_result r = run_lif(NULL, "train -b 32 -T 4 -data-dir data/small -out-dir out_msg --quiet");
    CHECK(r.status == 2 && strstr(r.err, "fewer than one batch") && count_lines(r.err) == 1,
          "20 images, batch 32: exit %d, want 2 saying so: %s  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);
    CHECK(!exists("out_msg"), "a refused run left the folder out_msg");

    lif_recipe rc3;
    lif_recipe_default(&rc3);
    lif_net *net = NULL;
    lif_train_state ts = {.epoch = 0, .max_test_acc = 0.5};
    CHECK(lif_net_create(&rc3, NPIX, 3, &net) == LIF_OK &&
              lif_net_save(net, &ts, "three.lif") == LIF_OK, "%s", lif_last_error());
    lif_net_destroy(net);
    r = run_lif(NULL, "eval -checkpoint three.lif -data-dir %s", flat);
    CHECK(r.status == 2 && strstr(r.err, "3 output classes") && strstr(r.err, "10") &&
              count_lines(r.err) == 1,
          "3-class checkpoint on 10-class data: exit %d, want 2 naming the mismatch: %s  repro: %s",
          r.status, r.err, r.cmd);
    run_free(&r);
    r = run_lif(NULL, "train -resume three.lif -epochs 3 -data-dir %s --quiet", flat);
    CHECK(r.status == 2 && strstr(r.err, "3 classes") && count_lines(r.err) == 1,
          "resume of a 3-class checkpoint on 10-class data: exit %d, want 2 naming the mismatch: "
          "%s  repro: %s", r.status, r.err, r.cmd);
    run_free(&r);
}

/* Number of lines of s that start with prefix. */
static int lines_starting(const char *s, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = s; p && *p;) {
        n += strncmp(p, prefix, len) == 0;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

/* 10. lif bench --threads LIST: one table, a row per (backend, thread
 * count) for a threaded backend, one row at 1 thread for a serial one;
 * --threads N keeps the table of one row per backend; bad lists exit 2
 * naming --threads. Every backend available here takes part, so a threaded
 * backend (openmp) is covered once it is registered. */
static void test_bench_threads(void)
{
    expect_usage("bench --threads 0", "--threads");
    expect_usage("bench --threads 1025", "--threads");
    expect_usage("bench --threads abc", "--threads");
    expect_usage("bench --threads 1,", "--threads");
    expect_usage("bench --threads 1,,2", "--threads");
    expect_usage("bench --threads 2,0", "--threads");
    expect_usage("bench --threads 1,2,1", "--threads");
    expect_usage("bench --threads 1,2,1", "listed twice");
    expect_usage("bench --threads 1,2,3,4,5,6,7,8,9", "--threads");
    expect_usage("bench --threads 1,2,3,4,5,6,7,8,9", "at most 8");

    char list[512] = "", row[64];
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    int threaded = 0;
    for (size_t i = 0; i < nb; i++) {
        const char *why;
        if (!lif_backend_available(bs[i], &why))
            continue;
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", len ? "," : "", bs[i]->name);
        threaded += lif_measure_threaded(bs[i]->name);
    }
    run_result r = run_lif(NULL, "bench -T 4 -b 4 --reps 2 --batches 1 --backend %s "
                                 "--threads 1,2 --json bench_threads.json", list);
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(strstr(r.out, "threads 1,2\n") != NULL, "the heading does not list the counts: %s",
          r.cmd);
    CHECK(has_line_starting(r.out, "backend    threads    train img/s") &&
              strstr(r.out, " x1 ") && strstr(r.out, " FMA x1 "),
          "no threads, x1 and FMA x1 columns: %s\n%s", r.cmd, r.out);
    CHECK(has_line_starting(r.out, "threads: 2 together deliver "),
          "the machine's scaling at 2 threads is not shown: %s\n%s", r.cmd, r.out);
    CHECK(lif_cpu_get()->logical_cpus < 2 ||
              strstr(r.out, "; a cache line goes from one to another and back in "),
          "the cache line's round trip between two threads is not shown: %s\n%s", r.cmd, r.out);
    int rows = 0;
    for (size_t i = 0; i < nb; i++) {
        const char *why, *name = bs[i]->name;
        if (!lif_backend_available(bs[i], &why))
            continue;
        snprintf(row, sizeof row, "%-10s ", name);
        int n = lines_starting(r.out, row);
        if (!lif_measure_threaded(name)) {
            snprintf(row, sizeof row, "%-10s 1 (serial) ", name);
            CHECK(n == 1 && has_line_starting(r.out, row),
                  "serial backend %s: %d rows, want one labelled '1 (serial)': %s\n%s", name, n,
                  r.cmd, r.out);
        } else {
            CHECK(n == 2, "threaded backend %s: %d rows, want 2 (1 and 2 threads): %s\n%s", name,
                  n, r.cmd, r.out);
            for (int t = 1; t <= 2; t++) {
                snprintf(row, sizeof row, "%-10s %-10d ", name, t);
                CHECK(has_line_starting(r.out, row), "no row '%s': %s", row, r.cmd);
            }
        }
        rows += n;
    }
    CHECK(rows >= 1, "no rows: %s\n%s", r.cmd, r.out);
    if (!threaded)
        printf("  lif bench --threads 1,2: no threaded backend registered; serial rows only\n");
    run_free(&r);

    /* one count: the table of one row per backend, no threads column */
    r = run_lif(NULL, "bench -T 4 -b 4 --reps 1 --batches 1 --backend scalar --threads 2");
    CHECK(r.status == 0, "exit %d, stderr: %s\n  repro: %s", r.status, r.err, r.cmd);
    CHECK(strstr(r.out, ", 2 threads\n") && has_line_starting(r.out, "backend    train img/s") &&
              lines_starting(r.out, "scalar ") == 1 && !strstr(r.out, "(serial)") &&
              !strstr(r.out, "FMA x"),
          "--threads 2 does not print the one-count table: %s\n%s", r.cmd, r.out);
    run_free(&r);
}

int main(void)
{
    tmpdir = test_tmpdir("cli");
    if (access(LIF_CLI_PATH, X_OK) != 0) {
        fprintf(stderr, "no lif binary at %s\n", LIF_CLI_PATH);
        return 1;
    }
    if (chdir(tmpdir) != 0) {
        fprintf(stderr, "cannot chdir to %s\n", tmpdir);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    write_sets();
    double t0 = lif_now();
    test_help();
    test_train();
    test_determinism();
    test_resume();
    test_eval();
    test_bad_input();
    test_variants();
    test_dispatch();
    test_backend_lists();
    test_no_lost_checkpoint();
    test_two_runs_at_once();
    test_resume_other_run();
    test_memory_first();
    test_special_files();
    test_stdout_full();
    test_stale_temps();
    test_messages();
    test_bench_threads();
    printf("test_cli: %d runs of lif in %.1f s (outputs in %s)\n", run_no, lif_now() - t0, tmpdir);
    return test_finish("test_cli");
}
