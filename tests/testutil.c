#include "testutil.h"
#include "lif/lif.h"

#include <math.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int test_failures;
int test_checks;

int test_close(double got, double want, double rtol, double atol)
{
    if (isnan(got) || isnan(want))
        return 0;
    return fabs(got - want) <= atol + rtol * fabs(want);
}

void test_skip(const char *reason)
{
    printf("skipped: %s\n", reason);
    fflush(stdout);
    exit(77);
}

int test_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

const char *test_tmpdir(const char *name)
{
    static char path[1024];
    const char *base = getenv("LIF_TMPDIR");
    if (base && *base)
        snprintf(path, sizeof path, "%s", base);
    else
        snprintf(path, sizeof path, "/tmp/lif_test_%s_%ld", name, (long)getpid());
    char cmd[2 * sizeof path + 64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot create %s\n", path);
        exit(1);
    }
    return path;
}

uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t rnd(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    return mix64(*s - 0x9e3779b97f4a7c15ull);
}

double urand(uint64_t *s) { return (double)(rnd(s) >> 11) * 0x1.0p-53; }

const char *test_path(const char *dir, const char *name)
{
    static char buf[8][1200];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

char *test_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(sz > 0 ? (size_t)sz + 1 : 1);
    if (b && fread(b, 1, (size_t)(sz > 0 ? sz : 0), f) != (size_t)(sz > 0 ? sz : 0)) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[sz > 0 ? sz : 0] = '\0';
        *n = (size_t)(sz > 0 ? sz : 0);
    }
    return b;
}

static int run_no;

test_run_result test_run(const char *bin, const char *fmt, ...)
{
    test_run_result r = {0};
    char args[1500], full[2300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    run_no++;
    snprintf(r.cmd, sizeof r.cmd, "%s %s", bin, args);
    snprintf(full, sizeof full, "%s >run%03d.out 2>run%03d.err </dev/null", r.cmd, run_no, run_no);
    int ws = system(full);
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    CHECK(r.status >= 0 && r.status < 126, "crashed or could not run (%d): %s", ws, r.cmd);
    char p[64];
    size_t n;
    snprintf(p, sizeof p, "run%03d.out", run_no);
    r.out = test_slurp(p, &n);
    snprintf(p, sizeof p, "run%03d.err", run_no);
    r.err = test_slurp(p, &n);
    if (!r.out)
        r.out = calloc(1, 1);
    if (!r.err)
        r.err = calloc(1, 1);
    CHECK(!strstr(r.err, "Sanitizer") && !strstr(r.err, "runtime error:"),
          "sanitizer report: %s\n%s", r.cmd, r.err);
    return r;
}

void test_run_free(test_run_result *r)
{
    free(r->out);
    free(r->err);
}

int test_run_count(void) { return run_no; }

int test_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

void test_band_set(uint32_t *state, uint8_t *img, uint8_t *lab, int n)
{
    enum { SIDE = 28, NPIX = SIDE * SIDE };
    for (int i = 0; i < n; i++) {
        int c = (int)(lcg(state) % 10);
        lab[i] = (uint8_t)c;
        uint8_t *p = img + (size_t)i * NPIX;
        for (int k = 0; k < NPIX; k++)
            p[k] = lcg(state) % 20 == 0 ? (uint8_t)(lcg(state) % 256) : 0;
        for (int row = 4 + 2 * c; row < 6 + 2 * c; row++)
            for (int col = 4; col < 24; col++)
                if (lcg(state) % 10 != 0)
                    p[row * SIDE + col] = (uint8_t)(160 + lcg(state) % 96);
    }
}

void test_expect_refused(const char *bin, const char *needle, const char *fmt, const char *arg)
{
    char args[1500];
    snprintf(args, sizeof args, fmt, arg);
    test_run_result r = test_run(bin, "%s", args);
    CHECK(r.status == 2, "exit %d (want 2): %s\n%s", r.status, r.cmd, r.err);
    CHECK(test_count_lines(r.err) == 1, "stderr has %d lines (want 1): %s\n%s",
          test_count_lines(r.err), r.cmd, r.err);
    CHECK(strstr(r.err, needle) != NULL, "stderr lacks '%s': %s\n%s", needle, r.cmd, r.err);
    test_run_free(&r);
}

int test_same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    char *x = test_slurp(a, &na), *y = test_slurp(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

const lif_kernel_i *test_kernel_named(const char *name)
{
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < bs[i]->n_kernels; j++) {
            char buf[128];
            if (strcmp(lif_kernel_name(&bs[i]->kernels[j], buf, sizeof buf), name) == 0)
                return &bs[i]->kernels[j];
        }
    return NULL;
}
