/* cli/bench.h — the pieces of `lif bench`, shared with bench/ (the Google
 * Benchmark programs compile bench_data.c and bench_e2e.c too). Plain C,
 * liblif's public API only. */
#ifndef LIF_CLI_BENCH_H
#define LIF_CLI_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "lif/lif.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Inputs (bench_data.c) ---- */

/* Fills d with n synthetic 28x28-style images (rows x cols) whose mean
 * pixel/255 — the expected Poisson spike density — is close to `density`:
 * a blob of nonzero pixels on a zero background, as in MNIST-like data
 * (zero groups matter: encoders skip them), labels uniform in 0..9.
 * Deterministic in seed. Returns LIF_OK, LIF_ERR_INVALID_ARG, LIF_ERR_NOMEM;
 * free with lif_dataset_free. */
lif_status bench_synth_images(lif_dataset *d, int n, int rows, int cols, double density,
                              uint32_t seed);

/* Mean pixel/255 over the first n images of d (n <= 0: all). */
double bench_mean_density(const lif_dataset *d, int n);

/* ---- End-to-end (bench_e2e.c) ---- */

typedef struct bench_e2e_cfg {
    const char *backend;       /* a registered backend name */
    int T, B, threads;
    int hidden;                /* 0: 784 -> 10 (reference); else one hidden layer */
    const lif_dataset *train;  /* batches for training steps */
    const lif_dataset *test;   /* batches for inference passes */
    uint32_t seed;
} bench_e2e_cfg;

typedef struct bench_e2e bench_e2e;

/* A net (the reference recipe with cfg's T, B, backend, threads) and its
 * plan, ready to run batches. *plan_bytes (optional) receives what creating
 * the plan allocated (glibc's malloc statistics; 0 where unknown).
 * Returns what lif_net_create / lif_plan_create return, or LIF_ERR_NOMEM. */
lif_status bench_e2e_create(const bench_e2e_cfg *cfg, bench_e2e **out, size_t *plan_bytes);
void bench_e2e_destroy(bench_e2e *e);

/* One training step (encode, forward, BPTT, optimizer) on batch number i
 * of a fixed shuffle of the training set (wrapping around). */
lif_status bench_e2e_train(bench_e2e *e, long i);

/* One inference pass (encode, forward, loss) on test batch number i. */
lif_status bench_e2e_infer(bench_e2e *e, long i);

/* Kernel names the plan bound, "encode=..., linear_fwd=..." into buf. */
void bench_e2e_kernels(const bench_e2e *e, char *buf, size_t size);

/* ---- Strict JSON reader (bench_json.c), for --compare and the tests ---- */

typedef enum { BJ_NULL, BJ_BOOL, BJ_NUM, BJ_STR, BJ_ARR, BJ_OBJ } bench_json_kind;

typedef struct bench_json {
    bench_json_kind kind;
    double num;                 /* BJ_NUM, BJ_BOOL (0/1) */
    char *str;                  /* BJ_STR (decoded, NUL-terminated) */
    char *key;                  /* set on members of an object */
    struct bench_json *child;   /* first element / member */
    struct bench_json *next;    /* next sibling */
} bench_json;

/* Parses RFC 8259 JSON (no trailing commas, no NaN, one value and only
 * whitespace after it). On failure returns NULL and writes where and why
 * into err. Free with bench_json_free. */
bench_json *bench_json_parse(const char *text, char *err, size_t errsize);
void bench_json_free(bench_json *j);

/* Member `key` of object o, or NULL. */
const bench_json *bench_json_get(const bench_json *o, const char *key);

/* A number member, or `dflt` when absent or not a number. */
double bench_json_num(const bench_json *o, const char *key, double dflt);

/* A string member, or `dflt`. */
const char *bench_json_str(const bench_json *o, const char *key, const char *dflt);

#ifdef __cplusplus
}
#endif
#endif
