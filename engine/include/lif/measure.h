/* lif/measure.h — the measurement harness: workloads, end-to-end runners,
 * timing with warm-up and repeats, and results as JSON.
 *
 * One module for everything that measures lif: `lif bench`, the Google
 * Benchmark programs in bench/ and the autotuner. Plain C structs in and
 * out; JSON (jansson) stays inside the library. */
#ifndef LIF_MEASURE_H
#define LIF_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "lif/data.h"
#include "lif/net.h"
#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Workloads ---------------------------------------------------------- */

/* Fills d with n synthetic images of rows x cols pixels whose mean
 * pixel/255 — the expected Poisson spike density — is close to `density`:
 * a blob of nonzero pixels on a zero background, as in MNIST-like data
 * (zero groups matter: encoders skip them), labels uniform in 0..9.
 * Deterministic in seed. Returns LIF_OK, LIF_ERR_INVALID_ARG, LIF_ERR_NOMEM;
 * free with lif_dataset_free. */
lif_status lif_workload_synth(lif_dataset *d, int n, int rows, int cols, double density,
                              uint32_t seed);

/* Mean pixel/255 over the first n images of d (n <= 0: all). */
double lif_workload_density(const lif_dataset *d, int n);

/* Training and test images to measure on. */
typedef struct lif_workload {
    lif_dataset train, test;
    double density;     /* measured: mean pixel/255 of every training image */
    int synthetic;      /* 1: made by lif_workload_synth */
} lif_workload;

/* data_dir non-NULL: the IDX sets lif_data_open_dir finds there (n and
 * density unused). NULL: n synthetic 28x28 training images (seed 1) and n
 * test images (seed 2) of the given density. Returns LIF_OK or what
 * lif_data_open_dir / lif_workload_synth return (*w then holds nothing). */
lif_status lif_workload_load(lif_workload *w, const char *data_dir, int n, double density);

/* Frees both sets and zeroes w; NULL-safe. */
void lif_workload_free(lif_workload *w);

/* ---- End-to-end runners ------------------------------------------------- */

/* A net and plan on one backend, running whole training steps (encode,
 * forward, BPTT, optimizer) or inference passes (encode, forward, loss) on
 * batches of a workload, exactly as lif train runs them: the Poisson
 * encoder runs inside each call; nothing is precomputed. */
typedef struct lif_measure_e2e_cfg {
    const char *backend;       /* a registered backend name */
    int T, B, threads;
    int hidden;                /* 0: 784 -> 10 (reference); else one hidden layer */
    const lif_dataset *train;  /* batches for training steps */
    const lif_dataset *test;   /* batches for inference passes */
    uint32_t seed;
    int Tc;                    /* time steps per chunk, 0 = auto (lif_plan_opts) */
    long long memory_budget;   /* 0 = auto (lif_plan_opts) */
    int recompute;             /* LIF_RECOMPUTE_* (0 = auto) */
    const lif_recipe *recipe;  /* non-NULL: this recipe, with cfg's T, B and seed
                                  (hidden then unused) instead of the reference */
    const lif_plan_opts *opts; /* non-NULL: these plan options (forced kernels, bind,
                                  ...) with cfg's backend, threads, Tc, memory_budget
                                  and recompute laid over them (the autotuner) */
} lif_measure_e2e_cfg;

typedef struct lif_measure_e2e lif_measure_e2e;

/* The reference recipe with cfg's T, B, backend, threads (and hidden
 * layer), its net and plan. *plan_bytes (optional) receives what creating
 * the plan allocated (glibc's malloc statistics; 0 where unknown). The
 * datasets must outlive the runner. Returns LIF_OK, LIF_ERR_INVALID_ARG,
 * LIF_ERR_NOMEM or what lif_net_create / lif_plan_create return. */
lif_status lif_measure_e2e_create(const lif_measure_e2e_cfg *cfg, lif_measure_e2e **out,
                                  size_t *plan_bytes);
void lif_measure_e2e_destroy(lif_measure_e2e *e);

/* The runner's plan. */
const lif_plan *lif_measure_e2e_plan(const lif_measure_e2e *e);

/* One training step on batch number i of a fixed shuffle of the training
 * set (wrapping around; a set smaller than a batch repeats its images). */
lif_status lif_measure_e2e_train(lif_measure_e2e *e, long i);

/* One inference pass on test batch number i (in order, wrapping around). */
lif_status lif_measure_e2e_infer(lif_measure_e2e *e, long i);

/* 1 if some kernel of the backend named `backend` is LIF_KERNEL_THREADED
 * (it may run on more than one thread), 0 if every kernel is serial or
 * there is no such backend: the plan calls a serial kernel with one thread
 * whatever lif_plan_opts.threads says. */
int lif_measure_threaded(const char *backend);

/* Kernel names the plan bound, "encode, linear_fwd, lif_fwd, lif_bwd,
 * linear_bwd_w, optim" joined by ", ", into buf (the plan binds some of
 * them at its first batch: ask after one call). */
void lif_measure_e2e_kernels(const lif_measure_e2e *e, char *buf, size_t size);

/* ---- Timing ------------------------------------------------------------- */

/* One call of the work to time; i numbers the calls of a task from 0. */
typedef lif_status (*lif_measure_fn)(void *ctx, long i);

typedef struct lif_measure_task {
    lif_measure_fn fn;
    void *ctx;
} lif_measure_task;

/* A task calling lif_measure_e2e_train (train nonzero) or _infer on e. */
lif_measure_task lif_measure_e2e_task(lif_measure_e2e *e, int train);

typedef struct lif_measure_schedule {
    int warmup;       /* untimed calls per task before its samples (>= 0) */
    int repeats;      /* timed samples per task (>= 1) */
    int calls;        /* calls per sample (>= 1) */
    int interleaved;  /* nonzero: every task's warm-up in task order, then
                         sample 0 of every task, then sample 1, ... (A B A B:
                         a drift of the machine hits every task alike;
                         sample k starts at task 2k mod the task count, so
                         the first place, where the batches meet cold
                         caches, goes round the train/test pairs);
                         0: each task's warm-up and samples in turn */
} lif_measure_schedule;

/* Runs the schedule and writes the wall seconds of sample k of task t to
 * seconds[t * repeats + k]. Warm-up calls get i = 0..warmup-1, call j of
 * sample k gets i = warmup + k*calls + j. Stops at the first call that
 * fails and returns its status; LIF_ERR_INVALID_ARG for a bad schedule. */
lif_status lif_measure_run(const lif_measure_task *tasks, int ntasks,
                           const lif_measure_schedule *s, double *seconds);

typedef struct lif_measure_stats {
    double median;    /* the middle value; the mean of the two middle ones for even n */
    double min, max;
} lif_measure_stats;

/* Median, min and max of v[0..n-1] (v is not changed). Returns LIF_OK,
 * LIF_ERR_INVALID_ARG (n < 1) or LIF_ERR_NOMEM. */
lif_status lif_measure_summarize(const double *v, int n, lif_measure_stats *out);

/* One task alone: `warmup` untimed calls, then `repeats` samples of `calls`
 * calls each; *out gets the median, min and max seconds per sample. */
lif_status lif_measure_time(lif_measure_fn fn, void *ctx, int warmup, int repeats, int calls,
                            lif_measure_stats *out);

/* ---- Results (the `lif bench --json` file) ------------------------------ */

#define LIF_MEASURE_FORMAT 1   /* "lif_bench": 1 */

/* At most this many thread counts in one run (lif bench --threads LIST). */
#define LIF_MEASURE_MAX_THREAD_COUNTS 8

/* Images per second over the repetitions of one backend. Numbers that are
 * not finite (not measured) are written as JSON null and read back as NAN. */
typedef struct lif_measure_rate {
    double median, min, max;
    double ratio_to_scalar;     /* median over the scalar backend's (NAN: scalar not run) */
    double ratio_to_first_threads;  /* median over the same backend's at
                                   config.thread_counts[0] threads (NAN: a serial
                                   backend, or that row did not run). Files
                                   without it read back NAN */
    int n_reps;
    double *reps;               /* [n_reps], each repetition's figure */
} lif_measure_rate;

/* One row of the table: a backend at a thread count. */
typedef struct lif_measure_backend {
    char name[160];             /* the row: backends, "auto", "default", and kernels forced by name after '@' */
    int threads;                /* lif_plan_opts.threads of the row's plan. Files
                                   without it read back config.threads */
    int serial;                 /* 1: no kernel of the backend is LIF_KERNEL_THREADED
                                   (lif_measure_threaded); over several thread
                                   counts it runs once, at 1 thread */
    char skipped[256];          /* non-empty: not run, the reason; nothing below is
                                   written, and read back the figures are NAN */
    char kernels[512];
    uint64_t plan_bytes;
    lif_measure_rate train, test;
    double train_pct_of_fma_peak;
} lif_measure_backend;

typedef struct lif_measure_machine {
    char cpu[64], vendor[16], isa[16], best_isa[16];
    int logical_cpus;
    double peak_gflops;         /* one thread's FMA peak */
    char fma_loop[16];
    double copy_gbps;
    int scaling_threads;        /* threads of the scaling test (0: not run); over
                                   several thread counts, the largest */
    double scaling;             /* their FMA throughput over one thread's */
    int n_scalings;             /* the scaling test at every thread count measured: */
    struct {
        int threads;
        double scaling;         /* FMA throughput on `threads` threads over one thread's */
    } scaling_at[LIF_MEASURE_MAX_THREAD_COUNTS];
                                /* files without it read back {scaling_threads,
                                   scaling} (none when scaling_threads is 0) */
    double line_round_trip_ns;  /* a cache line between two threads and back
                                   (lif_roofline_line_round_trip); 0: not measured
                                   (one logical CPU, or a file without it) */
} lif_measure_machine;

typedef struct lif_measure_config {
    int T, batch, n_in, n_out, hidden, reps, batches;
    int threads;                /* thread_counts[0] */
    int n_thread_counts;        /* the thread counts asked for, 1..1024 each; files */
    int thread_counts[LIF_MEASURE_MAX_THREAD_COUNTS];  /* without them read back {threads} */
    char data[1024];            /* the IDX folder, or "synthetic" */
    double density;
} lif_measure_config;

typedef struct lif_measure_report {
    char version[32];           /* lif_version() of the run */
    char git_commit[64];        /* lif_build_commit() ("" unknown: JSON null; files
                                   written before these fields read back "") */
    char compiler[64];          /* lif_build_compiler() */
    char build_type[32];        /* lif_build_type() */
    lif_measure_machine machine;
    lif_measure_config config;
    double peak_rss_mb;
    int n_backends;
    lif_measure_backend *backends;  /* [n_backends]: rows, a backend at a thread count */
} lif_measure_report;

/* Zeroes r and allocates n_backends backends, each with two rates of
 * n_reps repetitions (zeroed). Returns LIF_OK, LIF_ERR_INVALID_ARG or
 * LIF_ERR_NOMEM. Free with lif_measure_report_free. */
lif_status lif_measure_report_init(lif_measure_report *r, int n_backends, int n_reps);

/* Frees what the report owns and zeroes it; NULL-safe. */
void lif_measure_report_free(lif_measure_report *r);

/* Writes r as JSON to path, replacing it atomically (lif/atomic.h).
 * Returns LIF_OK, LIF_ERR_NOMEM or LIF_ERR_IO (the detail names path). */
lif_status lif_measure_report_write(const char *path, const lif_measure_report *r);

/* Reads a file lif_measure_report_write wrote into *r (free with
 * lif_measure_report_free). Returns LIF_OK; LIF_ERR_IO (cannot open or
 * read); LIF_ERR_FORMAT when the file is not JSON (the detail gives the
 * line and column), not a report of this format, or has a member of the
 * wrong type (the detail names it, e.g. "backends[0].train_images_per_s.
 * median"); LIF_ERR_NOMEM. On failure *r is zeroed. */
lif_status lif_measure_report_read(const char *path, lif_measure_report *r);

#ifdef __cplusplus
}
#endif
#endif
