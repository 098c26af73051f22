/* bench/bench.h — what a benchmark program's C side gives the C++ shim.
 *
 * A program (lif_kernels, lif_e2e) builds a list of cases; the shim
 * registers each with Google Benchmark under its name, and for each run
 * calls setup (untimed: inputs prepared as training prepares them), run
 * once more untimed (warm-up), then run in the timed loop, then teardown. */
#ifndef LIF_BENCH_BENCH_H
#define LIF_BENCH_BENCH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The work of one run() call, for the counters and the roofline. */
typedef struct lif_bench_work {
    double items;        /* in `unit`: sample-steps, synaptic events, FLOP, bytes, images */
    const char *unit;    /* counter name of the rate, e.g. "sample_steps/s" */
    double flops;        /* floating-point operations the op needs (0: none) */
    double bytes;        /* bytes it must move at least (compulsory traffic) */
    double density;      /* spike density of the input bits (measured), -1 if none */
    /* The kernel's own roof: how many of its bottleneck operation its
     * algorithm needs per call, and which operation (LIF_BENCH_MODEL_*). */
    double model_ops;
    int model;
} lif_bench_work;

enum {
    LIF_BENCH_MODEL_NONE = 0,
    LIF_BENCH_MODEL_ADDS,   /* vector adds (masked or not): roof = the FMA loop's
                               instruction rate (an add issues where an FMA does) */
    LIF_BENCH_MODEL_IMULS   /* 32 x 32 -> 64 products: roof = the vpmuludq loop */
};

typedef struct lif_bench_case {
    char name[160];      /* "lif_fwd/scalar/ref/T100_b64_n784x10_d0.29" */
    char skip[160];      /* non-empty: reported as skipped with this reason */
    /* Prepares a context and *w; NULL with why filled on failure. */
    void *(*setup)(const struct lif_bench_case *c, lif_bench_work *w, char *why, size_t size);
    void (*run)(void *ctx);
    void (*teardown)(void *ctx);
    int iarg[8];         /* case parameters, meaning per program */
    double darg;
    const void *parg;
} lif_bench_case;

/* The cases of this program (malloc'd array in *out, count in *n); 0 on
 * success, else -1 with a message printed. */
int lif_bench_cases(lif_bench_case **out, size_t *n);

/* Frees what lif_bench_cases made and anything cached between cases. */
void lif_bench_cases_free(lif_bench_case *cases, size_t n);

#ifdef __cplusplus
}
#endif
#endif
