/* backends/openmp/openmp.h — the OpenMP backend's shared pieces (internal).
 *
 * Every kernel of this backend composes: its init() selects an inner kernel
 * of the other backends ("auto,-openmp", threads = 1) and its run() hands
 * each thread a part of the op through the argument strides (docs/DESIGN.md,
 * "Strides"), with an inner context whose workspace is carved from the
 * thread's own slice. run() never allocates.
 *
 * Determinism: where a part boundary could change an output's summation
 * order (the weight gradient), the parts are fixed by the problem alone and
 * summed in a fixed order; every other op is cut by samples, rows or
 * elements, which the kernel tests require to be bitwise free. The inner
 * kernel is selected once per problem, never per thread count. So results
 * are bitwise the same for any thread count. */
#ifndef LIF_OPENMP_H
#define LIF_OPENMP_H

#include <stddef.h>

#include "lif/backend.h"

/* What init() made: the inner kernel, one init() state of it per thread
 * (a state need not be safe to share between concurrent calls), and the
 * split settings. */
typedef struct lif_omp_state {
    const lif_kernel_i *k;  /* the inner kernel */
    int nstates;            /* = the problem's threads */
    void **st;              /* [nstates] the inner kernel's states (NULL if it has no init) */
    size_t inner_ws;        /* the inner kernel's workspace per thread, a multiple of 64 */
    size_t slice;           /* what workspace() asked for per thread */
    int split_all;          /* LIF_OPENMP_SPLIT=all: split every problem that has two units */
    int wide;               /* linear_bwd_w: by output blocks (else by blocks of inputs) */
    size_t extra_off;       /* where the op's own per-thread bytes (extra) start in a slice */
} lif_omp_state;

/* Shared init/fini/workspace (backend_openmp.c). `extra(p)` is the bytes a
 * thread needs after the inner workspace (64-byte multiple), or NULL. */
typedef size_t (*lif_omp_extra_fn)(const lif_problem *p);
lif_status lif_omp_init(const lif_problem *p, void **state, lif_omp_extra_fn extra);
void lif_omp_fini(void *state);
size_t lif_omp_workspace(const lif_problem *p, lif_omp_extra_fn extra);

/* linear_bwd_w's per-thread bytes: on narrow layers (cut by inputs) a
 * copy of dW's columns of a part (linear_omp.c). */
size_t lif_omp_bwd_w_extra(const lif_problem *p);

/* The sub-problem an inner kernel is selected for: p at one thread. Its
 * shape is the whole problem's (a part differs in B or M, which is also
 * what a plan's last chunk or batch does, and no selection may depend on
 * the thread count, or results would); linear_bwd_w's cuts differ in n_out
 * (wide layers) or n_in (narrow ones, at words), which the kernel tests
 * hold every weight-gradient kernel to, bitwise. */
lif_problem lif_omp_sub(const lif_problem *p);

/* linear_bwd_w: outputs in blocks of 16 from this many outputs; below it,
 * blocks of 64 inputs. */
#define LIF_OMP_WIDE 64

/* Threads to give `units` of work: at most nthreads, at most `pieces` (the
 * granules there are), and none with less than `min_units` (unless
 * split_all), at least 1. */
int lif_omp_parts(const lif_omp_state *s, int nthreads, double units, double min_units,
                  long pieces);

/* How an op whose cut does not change results is run: with one part a
 * thread, part i on thread i (the sample cuts keep their samples on one
 * core so); with more, `threads` threads taking `parts` contiguous parts
 * dynamically (the next free thread takes the next part), so a thread that
 * runs slower (a busy core, a VM's noisy neighbour) takes fewer. Up to LIF_OMP_PARTS_PER_THREAD parts a thread,
 * none below min_units / LIF_OMP_PARTS_PER_THREAD; one part on one thread.
 * Measured (2 vCPUs, reference training step, medians of 7 alternated
 * runs): 1, 2, 4 and 8 parts a thread gave 1.21, 1.24 / 1.24, 1.25 and
 * 1.38 ms (more parts: more inner calls and part boundaries); 2 keeps some
 * balancing at no measurable cost. */
#define LIF_OMP_PARTS_PER_THREAD 2
typedef struct lif_omp_split {
    int threads, parts;
} lif_omp_split;
lif_omp_split lif_omp_split_work(const lif_omp_state *s, int nthreads, double units,
                                 double min_units, long pieces);

/* The ops cut by samples (encode, lif_fwd, lif_bwd, spike_count, and
 * linear_fwd where its kernel takes a sample cut): one part a thread, the
 * same samples on the same thread from op to op (lif_omp_run_parts runs
 * part i on thread i when there is one part a thread), so what one op
 * writes, the next reads from its own core's cache. Measured with
 * LIF_VERBOSE=profile (AMD EPYC, 2 vCPUs, reference recipe): every op of a
 * two-thread step lost 10-30 % against itself alone while the ops cut the
 * samples differently and took parts dynamically. */
lif_omp_split lif_omp_split_samples(const lif_omp_state *s, int nthreads, double units,
                                    double min_units, int B);

/* The granule of a sample cut: 8 samples where there are 8 a part (rows of
 * 10 floats, or of 13 spike words, then end on cache lines), else 1. Every
 * op cut by samples uses it, so their parts are the same samples. */
static inline long lif_omp_sample_gran(int B, int parts) { return B / 8 >= parts ? 8 : 1; }

/* Part i of n of [0, total) in granules of `gran` (the last may be short):
 * [*lo, *hi). Parts differ by at most one granule. */
static inline void lif_omp_range(long total, int n, int i, long gran, long *lo, long *hi)
{
    long g = (total + gran - 1) / gran;
    long a = g * i / n * gran, b = g * (i + 1) / n * gran;
    *lo = a < total ? a : total;
    *hi = b < total ? b : total;
}

/* Samples of a [B, n] float row block that keep every cut on a cache line
 * (16 / gcd(n, 16)), or 1 when that leaves fewer granules than parts. */
long lif_omp_gran(long n_floats_per_item, long items, int parts);

/* The inner context of thread `tid` (its workspace slice and state). */
static inline lif_ctx lif_omp_inner_ctx(const lif_ctx *ctx, const lif_omp_state *s, int tid)
{
    lif_ctx c = {.nthreads = 1, .ws = NULL, .ws_stride = s->inner_ws, .state = NULL};
    if (s->slice)
        c.ws = lif_ctx_ws(ctx, tid); /* the inner kernel's bytes, then the op's own */
    if (s->st && tid < s->nstates)
        c.state = s->st[tid];
    return c;
}

/* Checks the context against what init() planned (threads, slices). */
lif_status lif_omp_check_ctx(const lif_ctx *ctx, const lif_omp_state *s, const char *op);

/* The first failure of a parallel region, by the lowest part, with the
 * detail its thread recorded (lif_last_error is thread-local). */
typedef struct lif_omp_err {
    lif_status st;
    long part;
    char msg[512];
} lif_omp_err;

void lif_omp_err_note(lif_omp_err *e, long part, lif_status st);
lif_status lif_omp_err_raise(const lif_omp_err *e, const char *op);

/* Runs fn(inner ctx, i, sp.parts, arg) for parts i = 0 .. sp.parts-1: on
 * the calling thread when sp.threads is 1 (no parallel region), else in a
 * parallel region of sp.threads threads, each taking the next part not yet
 * taken, with its own slice and state. Returns the first failure by part,
 * with its detail. */
typedef lif_status (*lif_omp_part_fn)(const lif_ctx *inner, int part, int nparts,
                                      const void *arg);
lif_status lif_omp_run_parts(const lif_ctx *ctx, const lif_omp_state *s, lif_omp_split sp,
                             lif_omp_part_fn fn, const void *arg, const char *op);

/* ---- kernels ---- */
lif_status lif_encode_omp(const lif_ctx *ctx, const lif_encode_args *a);
lif_status lif_linear_fwd_omp(const lif_ctx *ctx, const lif_linear_fwd_args *a);
lif_status lif_lif_fwd_omp(const lif_ctx *ctx, const lif_lif_fwd_args *a);
lif_status lif_lif_bwd_omp(const lif_ctx *ctx, const lif_lif_bwd_args *a);
lif_status lif_linear_bwd_w_omp(const lif_ctx *ctx, const lif_linear_bwd_w_args *a);
lif_status lif_linear_bwd_x_omp(const lif_ctx *ctx, const lif_linear_bwd_x_args *a);
lif_status lif_spike_count_omp(const lif_ctx *ctx, const lif_spike_count_args *a);
lif_status lif_loss_omp(const lif_ctx *ctx, const lif_loss_args *a);
lif_status lif_optim_omp(const lif_ctx *ctx, const lif_optim_args *a);

/* linear_bwd_w's per-thread bytes past the inner workspace (a partial dW
 * and db for the narrow path), and its init/workspace. */

#endif
