/* tests/testutil.h — tiny check macros shared by the C tests.
 * A failing CHECK prints file:line, the expression and a repro hint, and
 * marks the test failed; test_finish() returns the exit status (0 pass,
 * 1 fail). A test that cannot run here calls test_skip(reason): exit 77,
 * which ctest reports as skipped. */
#ifndef LIF_TESTUTIL_H
#define LIF_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

extern int test_failures;
extern int test_checks;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        test_checks++;                                                        \
        if (!(cond)) {                                                        \
            test_failures++;                                                  \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)

/* Fails unless |got - want| <= atol + rtol*|want|. */
#define CHECK_CLOSE(got, want, rtol, atol, ...)                               \
    CHECK(test_close((double)(got), (double)(want), (rtol), (atol)), __VA_ARGS__)

int test_close(double got, double want, double rtol, double atol);

/* splitmix64, for test inputs only (never the thing under test): mix64
 * hashes a value, rnd steps a stream, urand gives a double in [0, 1). */
#include <stdint.h>
uint64_t mix64(uint64_t z);
uint64_t rnd(uint64_t *s);
double urand(uint64_t *s);

/* The registered kernel named "op/backend/variant", or NULL. */
struct lif_kernel_i;
const struct lif_kernel_i *test_kernel_named(const char *name);

/* Prints "skipped: <reason>" and exits 77. */
void test_skip(const char *reason);

/* Prints a summary line, returns 0 if every check passed, else 1. */
int test_finish(const char *name);

/* A fresh, empty scratch directory for this test ($LIF_TMPDIR or /tmp/...);
 * returns a static path. */
const char *test_tmpdir(const char *name);

/* dir/name in one of 8 rotating static buffers (so a few can be in use at once). */
const char *test_path(const char *dir, const char *name);

/* The whole file at path, NUL-terminated (malloc'd; *n gets its size
 * without the NUL), or NULL (and *n = 0) when it cannot be read. */
char *test_slurp(const char *path, size_t *n);

/* ---- synthetic data ---- */

/* n 28x28 images and labels: class c is a bright band in rows 4+2c and
 * 5+2c, columns 4..23 (40 pixels, each dropped with probability 1/10),
 * every other pixel noise with probability 1/20; from the LCG *state. */
void test_band_set(uint32_t *state, uint8_t *img, uint8_t *lab, int n);

/* ---- running a command ---- */

typedef struct test_run_result {
    int status;        /* exit status, -1 if it did not exit */
    char cmd[2048];    /* the command, for messages */
    char *out, *err;   /* its stdout and stderr (never NULL) */
} test_run_result;

/* Runs `bin ARGS` (ARGS from fmt) through the shell in the current folder,
 * stdout and stderr to numbered files, stdin from /dev/null; checks that it
 * ran and that no sanitizer reported. */
test_run_result test_run(const char *bin, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void test_run_free(test_run_result *r);

/* Newlines in s. */
int test_count_lines(const char *s);

/* Runs `bin fmt(arg)` (test_run) and checks it exits 2 with one stderr line
 * holding needle. */
void test_expect_refused(const char *bin, const char *needle, const char *fmt, const char *arg);

/* 1 if the files a and b both read and hold the same bytes. */
int test_same_bytes(const char *a, const char *b);

/* Commands test_run has run. */
int test_run_count(void);

#endif
