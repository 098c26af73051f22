/* lif/backend.h — the whole contract for backend authors (docs/DESIGN.md
 * explains it, docs/BACKENDS.md shows how to add a backend or a kernel).
 *
 * A backend is a named table of kernels plus a probe. Each kernel is
 * registered as (op, backend, variant) with a stable name such as
 * "lif_fwd/scalar/ref". The scalar backend registers a kernel for every op
 * and is the reference; other backends override only the ops they do better.
 *
 * Selection is capability, then ranking. A kernel's supports() says only
 * whether it can run a problem on this CPU (never whether it is fast), with a
 * reason a user can read when it cannot. Which of the kernels that can run a
 * problem is used is decided in one place, the ranking module
 * (engine/src/rank.c: the "estimate"; the autotuner replaces it with
 * measurements), within the order of a backend preference list.
 *
 * A kernel call gets a context (lif_ctx): the threads it may use, its
 * workspace (one slice per thread, booked by the plan) and the state its
 * init() made when the plan bound it. run() never allocates; it returns
 * LIF_OK, or a status with lif_error()'s detail when it fails at run time
 * (a library-backed kernel whose library refuses).
 *
 * Data layouts shared by all kernels (row-major, C order):
 *   spikes (binary)  packed bits: row r, feature i is bit (i % 64) of word
 *                    bits[r * ld + i / 64]; ld >= ceil(n / 64). Producers
 *                    zero the bits past n in a row's words; consumers must
 *                    not rely on it (words past ceil(n / 64) are padding).
 *   time-major       a chunk of Tc steps of a [B, n] quantity is [Tc, B, n],
 *                    i.e. Tc*B rows; the linear layer treats it as M = Tc*B.
 *   weights          W is [n_out, n_in] (PyTorch's nn.Linear layout).
 */
#ifndef LIF_BACKEND_H
#define LIF_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this interface; structs only ever append fields. */
#define LIF_KERNEL_ABI 2u

typedef enum lif_op {
    LIF_OP_ENCODE = 0,  /* Poisson: pixels -> spike bits for a time chunk */
    LIF_OP_LINEAR_FWD,  /* Y = X·Wᵀ (+ b), X binary spike bits */
    LIF_OP_LIF_FWD,     /* the LIF recurrence over a chunk */
    LIF_OP_LIF_BWD,     /* BPTT through a chunk, last step first */
    LIF_OP_LINEAR_BWD_W,/* dW += dYᵀ·X, db += Σ_rows dY */
    LIF_OP_LINEAR_BWD_X,/* dX = dY·W (to the layer input, stacked layers) */
    LIF_OP_SPIKE_COUNT, /* count[b, o] += Σ_t S[t, b, o] over a chunk */
    LIF_OP_LOSS,        /* rates, loss, dL/dS, correct count */
    LIF_OP_OPTIM,       /* one Adam or SGD step on a flat parameter array */
    LIF_OP_COUNT
} lif_op;

/* Name of an op ("encode", "linear_fwd", ...); NULL if out of range. */
const char *lif_op_name(lif_op op);

typedef enum lif_surrogate { LIF_SURR_ATAN = 0, LIF_SURR_SIGMOID } lif_surrogate;
typedef enum lif_loss_kind { LIF_LOSS_MSE = 0, LIF_LOSS_CE } lif_loss_kind;
typedef enum lif_opt_kind { LIF_OPT_ADAM = 0, LIF_OPT_SGD } lif_opt_kind;

/* LIF neuron parameters, as in the reference framework's LIFNode. */
typedef struct lif_neuron {
    float tau;          /* membrane time constant, > 1 */
    float v_threshold;  /* V_th */
    float v_reset;      /* V_reset for hard reset (ignored when soft_reset) */
    int soft_reset;     /* 1: v_reset = None, subtract V_th on a spike */
    int decay_input;    /* 1: H = V + (X - (V - V_reset))/tau; 0: H = V - (V - V_reset)/tau + X */
    int detach_reset;   /* 1: the reset does not carry gradient */
    lif_surrogate surrogate;
    float alpha;        /* surrogate sharpness (ATan 2, Sigmoid 4) */
} lif_neuron;

/* What a kernel is asked to do: shapes and parameters, no pointers to data.
 * Fields that do not apply to an op are zero. */
typedef struct lif_problem {
    lif_op op;
    int T;             /* whole time window */
    int Tc;            /* steps per chunk */
    int B;             /* batch */
    int n_in, n_out;   /* linear: features in/out; LIF/count/loss: n_out neurons */
    int has_bias;
    float density;     /* expected input spike density (0..1), 0 if unknown */
    const lif_neuron *nrn;
    lif_opt_kind opt;
    lif_loss_kind loss;
    int threads;       /* threads the plan runs with (>= 1); a kernel without
                          LIF_KERNEL_THREADED is called with 1 */
    int bind;          /* LIF_BIND_CORES: a threaded kernel pins its threads one per
                          core (lif_topology_bind_core); LIF_BIND_NONE: it does not */
    int amp;           /* linear ops: 1 when reduced precision was asked for (-amp):
                          bf16 inputs and weights, float32 accumulation and outputs;
                          0: float32 throughout */
    const char *force; /* kernels the plan forces by name (lif_plan_opts.kernels,
                          e.g. from the autotuner's wisdom): a comma list read
                          like LIF_FORCE_KERNEL, after it; NULL or "": none.
                          Copied with the problem, so a composing kernel's
                          inner selection sees it too */
    const char *force_from; /* what chose `force` ("wisdom exact", ...), for
                          LIF_VERBOSE=dispatch; NULL: "the plan options" */
} lif_problem;

#define LIF_BIND_NONE 0
#define LIF_BIND_CORES 1

/* Execution context of one kernel call.
 *
 * A kernel flagged LIF_KERNEL_THREADED may run a parallel loop over exactly
 * ctx->nthreads threads (never omp_get_max_threads()); every other kernel
 * is called with nthreads == 1. Thread i of a call owns the workspace slice
 * lif_ctx_ws(ctx, i): workspace(p) bytes, 64-byte aligned, slices a whole
 * number of cache lines apart (no false sharing). The workspace holds
 * garbage on entry (the kernel tests fill it so); what must live from call
 * to call belongs in the state. */
typedef struct lif_ctx {
    int nthreads;           /* threads this call may use, >= 1 */
    void *ws;               /* nthreads slices, or NULL when workspace() is NULL or 0 */
    size_t ws_stride;       /* bytes from one slice to the next (multiple of 64) */
    void *state;            /* what the kernel's init() made for this problem, or NULL */
} lif_ctx;

/* Thread i's workspace slice (NULL when the kernel has none). */
static inline void *lif_ctx_ws(const lif_ctx *c, int i)
{
    return c->ws ? (void *)((char *)c->ws + (size_t)i * c->ws_stride) : NULL;
}

/* ---- Arguments of each op. Pointers are 64-byte aligned unless stated. ---- */

/* Spike x[t, b, i] = 1 iff u < pixel/255, u a 16-bit slice of a
 * Philox4x32-10 draw for key {key[0], key[1]} and counter
 * {i / 8, t, ids[b], domain}: word (i % 8) / 2, its low 16 bits for even i,
 * its high 16 bits for odd i; compared exactly in integers:
 * slice < lif_encode_threshold(pixel) (firing probability within 1.53e-5
 * of pixel/255; 0 never fires, 255 always does). */
typedef struct lif_encode_args {
    const uint8_t *pixels;  /* [B, n_in] */
    const uint32_t *ids;    /* [B] index of each sample in its data set */
    int B, n_in;
    int t0, Tc;             /* steps t0 .. t0+Tc-1 */
    uint32_t key[2];        /* {seed, epoch} */
    uint32_t domain;        /* 0 training set, 1 test set */
    uint64_t *dst;          /* step t, sample b: row dst + t*dst_tstride + b*ld */
    size_t ld;
    size_t dst_tstride;     /* words between steps of dst; 0: B*ld (dense [Tc*B][ld]) */
} lif_encode_args;

typedef struct lif_linear_fwd_args {
    int M, n_in, n_out;     /* M rows (= Tc*B) */
    int step;               /* rows per time step (B) when the rows are [Tc][B], else 0:
                               a kernel may then treat a sample's steps together (the
                               results must not depend on it) */
    const uint64_t *x;      /* [M][ldx] spike bits */
    size_t ldx;
    const float *w;         /* [n_out, n_in] */
    const float *b;         /* [n_out] or NULL */
    float *y;               /* [M][ldy] out: row r at y + r*ldy, n_out floats */
    size_t ldy;             /* 0: n_out */
    int nb;                 /* with `step`: the call computes only rows t*step + b for
                               b < nb of each step (a cut of samples: x and y start at
                               the cut's first sample, M and step stay the whole
                               chunk's); 0: all `step`. Only kernels flagged
                               LIF_KERNEL_SAMPLE_CUT read it, and only they are given
                               a nonzero one */
} lif_linear_fwd_args;

typedef struct lif_lif_fwd_args {
    const lif_neuron *nrn;
    int Tc, B, n;
    const float *x;         /* [Tc, B, n] input current: step t at x + t*tstride */
    float *v;               /* [B, n] in: V before the chunk; out: V after it */
    float *h;               /* [Tc, B, n] out: H (membrane after charge), as x */
    uint64_t *s;            /* out: spike bits, step t sample b at s + t*s_tstride + b*lds */
    size_t lds;
    size_t tstride;         /* floats between steps of x and h; 0: B*n */
    size_t s_tstride;       /* words between steps of s; 0: B*lds */
} lif_lif_fwd_args;

/* Walks t = Tc-1 .. 0. dS[t] is ds + t*ds_tstride (ds_tstride 0: the same
 * [B, n] gradient at every step, as the rate readout gives). S is
 * recomputed from H (S = H >= V_th) exactly as lif_fwd computes it. */
typedef struct lif_lif_bwd_args {
    const lif_neuron *nrn;
    int Tc, B, n;
    const float *h;         /* [Tc, B, n]: step t at h + t*tstride */
    const float *ds;        /* dL/dS, see above */
    size_t ds_tstride;      /* elements between steps of ds: B*n (or more) or 0 */
    float *dv;              /* [B, n] in: dL/dV after the chunk (0 at the end); out: before it */
    float *dx;              /* [Tc, B, n] out: dL/dX, as h */
    size_t tstride;         /* floats between steps of h and dx; 0: B*n */
} lif_lif_bwd_args;

typedef struct lif_linear_bwd_w_args {
    int M, n_in, n_out;
    const float *dy;        /* [M][lddy]: row r at dy + r*lddy, n_out floats */
    const uint64_t *x;      /* [M][ldx] spike bits */
    size_t ldx;
    float *dw;              /* [n_out, n_in] accumulated into */
    float *db;              /* [n_out] accumulated into, or NULL */
    size_t lddy;            /* 0: n_out */
    int step;               /* rows per time step, 0 (= M: one step) or a divisor of M:
                               the rows are M/step steps. Each element of dw and db
                               is summed in one order: steps last to first, the rows
                               of a step first to last, starting from its old value.
                               Kernels flagged LIF_KERNEL_STEP_ORDER follow it; the
                               plan calls any other kernel once per step, last first,
                               which gives the same order. So a weight gradient does
                               not depend on how BPTT cuts time into chunks. */
} lif_linear_bwd_w_args;

/* The row that comes k-th (0 <= k < M) in linear_bwd_w's summation order. */
static inline int lif_bwd_w_row(const lif_linear_bwd_w_args *a, int k)
{
    int s = a->step > 0 ? a->step : a->M;
    int j = k / s;
    return (a->M / s - 1 - j) * s + (k - j * s);
}

typedef struct lif_linear_bwd_x_args {
    int M, n_in, n_out;
    const float *dy;        /* [M][lddy]: row r at dy + r*lddy, n_out floats */
    const float *w;         /* [n_out, n_in] */
    float *dx;              /* [M, n_in] out (overwritten) */
    size_t lddy;            /* 0: n_out */
} lif_linear_bwd_x_args;

typedef struct lif_spike_count_args {
    int Tc, B, n;
    const uint64_t *s;      /* step t sample b at s + t*s_tstride + b*lds */
    size_t lds;
    float *count;           /* [B, n] accumulated into */
    size_t s_tstride;       /* words between steps of s; 0: B*lds */
} lif_spike_count_args;

/* rate = count / T. MSE: loss = mean over B*n of (rate - onehot)^2.
 * CE: loss = mean over B of -log softmax(rate)[label].
 * ds[b, o] = dL/dS[t, b, o] for any t (= dL/drate / T). */
typedef struct lif_loss_args {
    lif_loss_kind kind;
    int T, B, n;
    const float *count;     /* [B, n] */
    const uint8_t *labels;  /* [B], each < n */
    float *rate;            /* [B, n] out, or NULL */
    float *ds;              /* [B, n] out, or NULL (inference) */
    double *loss;           /* out: loss of the batch (mean) */
    int *correct;           /* out: samples whose argmax rate (first max) is the label */
} lif_loss_args;

/* PyTorch semantics. Adam: step >= 1 is the step being taken;
 * m, v updated in place. SGD: v is the momentum buffer, used if momentum != 0
 * (on step 1 the buffer is set to the gradient). */
typedef struct lif_optim_args {
    lif_opt_kind kind;
    size_t n;
    float *w;
    const float *g;
    float *m;               /* Adam first moment, unused by SGD */
    float *v;               /* Adam second moment / SGD momentum buffer */
    long step;
    float lr, beta1, beta2, eps, momentum, weight_decay;
} lif_optim_args;

/* A kernel run: LIF_OK, or a failure status with lif_error()'s detail. */
typedef lif_status (*lif_encode_fn)(const lif_ctx *, const lif_encode_args *);
typedef lif_status (*lif_linear_fwd_fn)(const lif_ctx *, const lif_linear_fwd_args *);
typedef lif_status (*lif_lif_fwd_fn)(const lif_ctx *, const lif_lif_fwd_args *);
typedef lif_status (*lif_lif_bwd_fn)(const lif_ctx *, const lif_lif_bwd_args *);
typedef lif_status (*lif_linear_bwd_w_fn)(const lif_ctx *, const lif_linear_bwd_w_args *);
typedef lif_status (*lif_linear_bwd_x_fn)(const lif_ctx *, const lif_linear_bwd_x_args *);
typedef lif_status (*lif_spike_count_fn)(const lif_ctx *, const lif_spike_count_args *);
typedef lif_status (*lif_loss_fn)(const lif_ctx *, const lif_loss_args *);
typedef lif_status (*lif_optim_fn)(const lif_ctx *, const lif_optim_args *);

/* Kernel flags. */
#define LIF_KERNEL_THREADED 1u  /* run() parallelises itself over ctx->nthreads */
#define LIF_KERNEL_STEP_ORDER 2u /* linear_bwd_w: sums in the order of its args' `step`
                                    (without it, the plan calls it once per step) */
#define LIF_KERNEL_SAMPLE_CUT 4u /* linear_fwd: takes a cut of samples of [Tc][B] rows
                                    (lif_linear_fwd_args.nb) */

/* One kernel. The member of `run` that is set is the one of `op`. */
typedef struct lif_kernel_i {
    unsigned abi;           /* LIF_KERNEL_ABI */
    lif_op op;
    const char *backend;    /* "scalar", "simd", ... */
    const char *variant;    /* "ref", "avx2", "avx2_event", ... */
    unsigned flags;         /* LIF_KERNEL_* */
    /* (optional) Capability only: 1 if the kernel can run p on this CPU and
     * build; else 0 with *why set to a static reason. Never a judgement of
     * speed (that is the ranking's). NULL: supports every problem of its op. */
    int (*supports)(const lif_problem *p, const char **why);
    union {
        lif_encode_fn encode;
        lif_linear_fwd_fn linear_fwd;
        lif_lif_fwd_fn lif_fwd;
        lif_lif_bwd_fn lif_bwd;
        lif_linear_bwd_w_fn linear_bwd_w;
        lif_linear_bwd_x_fn linear_bwd_x;
        lif_spike_count_fn spike_count;
        lif_loss_fn loss;
        lif_optim_fn optim;
        lif_status (*any)(const lif_ctx *, const void *);
    } run;
    /* (optional) Bytes of scratch memory one thread of the kernel needs for
     * problem p (transposed weights, packed tiles, ...). The plan books one
     * slice per thread (see lif_ctx), so run() never allocates. NULL: none. */
    size_t (*workspace)(const lif_problem *p);
    /* (optional) Called when a plan binds the kernel to problem p: makes
     * what every call for p needs and keeps (a library's primitive, packed
     * constants) into *state. Returns LIF_OK, or a status with lif_error()'s
     * detail: the plan then fails to bind with that message. */
    lif_status (*init)(const lif_problem *p, void **state);
    /* (optional) Frees what init() made; called when the plan unbinds the
     * kernel (rebinding, destroying the plan). NULL-state safe. */
    void (*fini)(void *state);
} lif_kernel_i;

/* One backend: a name, a probe and its kernels. */
typedef struct lif_backend_i {
    unsigned abi;           /* LIF_KERNEL_ABI */
    const char *name;
    const char *description;
    /* (optional) 1 if this CPU/build can run the backend; else 0 and *why.
     * NULL: always available. */
    int (*available)(const char **why);
    const lif_kernel_i *kernels;
    size_t n_kernels;
} lif_backend_i;

/* ---- Registry ---- */

/* The registered backends, scalar first. *n receives the count. */
const lif_backend_i *const *lif_backends(size_t *n);

/* Adds a backend built outside liblif (a plug-in, a test double) to the
 * registry, after the compiled-in ones. Its kernels are then candidates like
 * any others (a kernel with no rule in the ranking ranks just above scalar).
 * Call it before creating plans, from one thread. Returns LIF_OK, or
 * LIF_ERR_INVALID_ARG (another ABI, a bad or taken name, a malformed
 * kernel) or LIF_ERR_UNSUPPORTED (the registry is full, 16 backends). */
lif_status lif_backend_register(const lif_backend_i *b);

/* The backend named `name`, or NULL. */
const lif_backend_i *lif_backend_find(const char *name);

/* 1 if backend `b` can run here; else 0 and *why (static text). */
int lif_backend_available(const lif_backend_i *b, const char **why);

/* "op/backend/variant" into buf (size >= 64 is plenty); returns buf. */
char *lif_kernel_name(const lif_kernel_i *k, char *buf, size_t size);

/* Checks a backend preference list: "auto" (or NULL, ""), possibly with
 * exclusions ("auto,-openmp": every available backend but those; a
 * composing backend selects its inner kernels so), or backend names
 * separated by commas ("onednn,simd"), each registered and available here,
 * none twice. Returns LIF_OK, LIF_ERR_INVALID_ARG (malformed),
 * LIF_ERR_NOT_FOUND (unknown name) or LIF_ERR_UNSUPPORTED (cannot run here),
 * with a detail naming the backend. */
lif_status lif_backend_list_check(const char *list);

/* A kernel that can run a problem, and the ranking's estimate of it. */
typedef struct lif_candidate {
    const lif_kernel_i *kernel;
    double rank;            /* higher is expected faster (the estimate) */
    const char *basis;      /* why the ranking placed it there (static text) */
} lif_candidate;

/* Every kernel of the backends of `list` (a preference list, or "auto"
 * for all) that can run p here, best ranked first (ties: registration
 * order). Writes up to cap into out (out may be NULL when cap is 0) and the
 * full count into *n. Returns LIF_OK or lif_backend_list_check's errors. */
lif_status lif_kernel_candidates(const lif_problem *p, const char *list, lif_candidate *out,
                                 size_t cap, size_t *n);

/* The ranking's estimate for kernel k on problem p (higher is faster), and
 * optionally why (static text). Only meaningful for a kernel that supports p. */
double lif_kernel_rank(const lif_kernel_i *k, const lif_problem *p, const char **basis);

/* Picks the kernel for problem p. Order: LIF_FORCE_KERNEL (a comma list of
 * kernel names: the first, in the list's order, of this op that can run p
 * and whose backend an "auto,-name" list does not exclude), then p->force
 * (the plan's forced kernels, read the same way),
 * then the best-ranked kernel that supports p of the first
 * backend of `list` that has one, then of the next, and so on, then the
 * scalar reference ("auto", NULL or "": every available backend, one
 * ranking). With LIF_VERBOSE=dispatch prints one CSV line per kernel
 * considered to stderr ("lif_dispatch,<op>,<kernel>,<chosen|declined>,<reason>").
 * Returns LIF_OK and *out, or lif_backend_list_check's errors. */
lif_status lif_kernel_select(const lif_problem *p, const char *list,
                             const lif_kernel_i **out);

/* 1 if some kernel may be forced for p (LIF_FORCE_KERNEL or p->force is
 * set): a composing backend then books workspace for any candidate. */
int lif_kernel_forcing(const lif_problem *p);

/* Checks a list of forced kernel names (LIF_FORCE_KERNEL's syntax): each a
 * registered kernel's "op/backend/variant". Returns LIF_OK, or
 * LIF_ERR_NOT_FOUND naming the first unknown one. */
lif_status lif_kernel_names_check(const char *list);

/* Threshold for a pixel: spike iff the 16-bit slice < threshold, i.e.
 * ceil(pixel * 2^16 / 255), 0..65536 (see lif_encode_args). */
uint64_t lif_encode_threshold(uint8_t pixel);

#ifdef __cplusplus
}
#endif
#endif
