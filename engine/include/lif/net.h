/* lif/net.h — networks, execution plans and training.
 *
 * A lif_net holds a recipe, the parameters of its layers (Linear then LIF,
 * n_in -> hidden... -> n_classes) and the optimizer state. A lif_plan binds
 * each op of a net to a kernel (through the registry), owns the buffers of
 * a batch, and runs the time loop forward and backward (BPTT) in chunks of
 * Tc steps. Data sets, shuffling and epochs sit on top (lif_train_epoch). */
#ifndef LIF_NET_H
#define LIF_NET_H

#include <stddef.h>
#include <stdint.h>

#include "lif/backend.h"
#include "lif/ckpt.h"
#include "lif/data.h"
#include "lif/recipe.h"
#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lif_net lif_net;
typedef struct lif_plan lif_plan;

/* ---- Networks ---- */

/* Validates r and creates a net for inputs of n_in features and n_classes
 * outputs, weights (and biases) drawn uniform(±1/sqrt(fan_in)) from the
 * recipe's seed. Outputs *out. Returns LIF_OK, LIF_ERR_INVALID_ARG (also when the
 * parameters would not fit in memory: lif_memory_check), LIF_ERR_NOMEM. */
lif_status lif_net_create(const lif_recipe *r, int n_in, int n_classes, lif_net **out);

/* Frees the net; NULL-safe. */
void lif_net_destroy(lif_net *net);

/* The recipe the net was made with (read only). */
const lif_recipe *lif_net_recipe(const lif_net *net);

/* Changes the schedule of a net's recipe: T (time steps; evaluating with
 * another T than training is allowed) and epochs (a resumed run may train
 * longer); 0 keeps a value. Plans made before keep theirs.
 * Returns LIF_OK or LIF_ERR_INVALID_ARG. */
lif_status lif_net_set_schedule(lif_net *net, int T, int epochs);

/* Number of Linear+LIF layers. */
int lif_net_layers(const lif_net *net);

/* One layer's shape and parameters (pointers into the net). */
typedef struct lif_layer_view {
    int n_in, n_out;
    float *w;   /* [n_out, n_in] */
    float *b;   /* [n_out] or NULL */
} lif_layer_view;
lif_status lif_net_layer(lif_net *net, int layer, lif_layer_view *out);

/* Optimizer steps taken so far. */
long lif_net_step(const lif_net *net);

/* Where a training epoch stopped part-way (lif_train_epoch_resume): the
 * samples trained so far, in whole batches of the epoch's shuffled order,
 * and their sums. All zero: the epoch has not started. */
typedef struct lif_epoch_part {
    long samples;      /* training samples done (a multiple of the batch) */
    double loss_sum;   /* sum over those batches of mean loss x batch size */
    long correct;      /* of those samples, classified right */
    double seconds;    /* wall time spent on them */
} lif_epoch_part;

/* Training position kept in checkpoints. */
typedef struct lif_train_state {
    int32_t epoch;        /* last completed epoch, -1 none */
    double max_test_acc;  /* best test accuracy so far (fraction) */
    lif_epoch_part part;  /* how far epoch `epoch + 1` got (all zero at an epoch
                             boundary); a checkpoint holding a part is written
                             as format version 2 (lif/ckpt.h) */
} lif_train_state;

/* Saves net, optimizer state and st to path atomically (see lif/ckpt.h). */
lif_status lif_net_save(const lif_net *net, const lif_train_state *st, const char *path);

/* Loads a checkpoint into a new net (*out) and *st. Refuses a corrupt,
 * truncated or inconsistent file (shapes that do not match its recipe).
 * Returns LIF_OK or the lif_ckpt_load / lif_net_create statuses. */
lif_status lif_net_load(const char *path, lif_net **out, lif_train_state *st);

/* ---- Plan options: how to run a net (apart from the recipe) ---- */

typedef struct lif_plan_opts {
    char backend[128];  /* backend preference list: "auto" or names, comma-separated,
                           e.g. "onednn,simd" ("auto") */
    int threads;        /* kernel threads, 0..1024; 0: auto, lif_plan_create takes
                           lif_topology_default_threads() (OMP_NUM_THREADS, else
                           the physical cores) (0) */
    int Tc;             /* time steps per chunk, 1..T, or 0 = auto: the plan picks it
                           (lif_plan_create: the largest that fits the memory budget
                           and keeps a chunk in the cache hwloc reports); text and
                           JSON "auto" = 0 (0) */
    long long memory_budget; /* bytes the plan's buffers may take, 0 = auto (the
                           cheapest way to keep what backward needs that takes at
                           most LIF_PLAN_STORE_MAX); text "64M", "1G", "512K" or
                           bytes; lif_plan_create refuses a budget nothing fits (0) */
    int recompute;      /* what backward recomputes instead of keeping all T steps:
                           LIF_RECOMPUTE_OFF (nothing: every step stored),
                           LIF_RECOMPUTE_INPUT (the input spikes, from the encoder's
                           counters; membrane values and hidden spikes stored),
                           LIF_RECOMPUTE_ALL (each chunk's forward, from the state
                           saved at its start: memory flat in T), or
                           LIF_RECOMPUTE_AUTO (the first of off, input, all that fits
                           the budget); text "auto" | "off" | "input" | "all" (auto) */
    int workers;        /* -j, the reference script's data-loader workers, 0..1024 (4):
                           recorded only. lif has no loader threads: copying a batch
                           is under 2 % of a step (docs/DESIGN.md), so the cores go
                           to `threads`; workers never change a result */
    int bind;           /* LIF_BIND_NONE or LIF_BIND_CORES (lif/backend.h): whether
                           threaded kernels pin their threads one per core; text
                           and JSON values "none" | "cores" (none) */
    int amp;            /* 1: reduced precision in the linear steps (-amp): bf16
                           inputs and weights, float32 accumulation, float32 master
                           weights and optimizer; the linear problems carry it
                           (lif_problem.amp) and only the onednn bf16 kernels take
                           them (other kernels compute in float32), 0..1 (0) */
    char kernels[1024]; /* kernels forced by name, comma-separated op/backend/variant
                           (lif_problem.force; LIF_FORCE_KERNEL's syntax, which comes
                           first): for each op, the first named that can run a
                           layer's problem, else the ranking; a composing kernel
                           followed by another of its op gets that one inside. Set
                           by `--backend auto` from wisdom (lif/autotune.h); not a
                           text or JSON key. "": none ("") */
    char kernels_from[32]; /* what chose `kernels`, for LIF_VERBOSE=dispatch:
                           "wisdom exact", "wisdom nearest", "autotune" ("") */
} lif_plan_opts;

#define LIF_RECOMPUTE_AUTO 0
#define LIF_RECOMPUTE_OFF 1
#define LIF_RECOMPUTE_INPUT 2
#define LIF_RECOMPUTE_ALL 3
/* Auto budget: the plan takes the cheapest way to run (off, then input,
 * then all) whose buffers take at most this many bytes. */
#define LIF_PLAN_STORE_MAX (64ll << 20)

/* The defaults above. */
void lif_plan_opts_default(lif_plan_opts *o);

/* Checks every field (the backend list's syntax, names, and that they can
 * run here: lif_backend_list_check); on failure *key (if not NULL) gets the
 * key at fault and the detail starts with it (a backend list's detail is
 * lif_backend_list_check's, which names the backend). Returns LIF_OK,
 * LIF_ERR_INVALID_ARG, LIF_ERR_NOT_FOUND or LIF_ERR_UNSUPPORTED. */
lif_status lif_plan_opts_check(const lif_plan_opts *o, const char **key);

/* Sets one option from text by key ("backend", "threads", "Tc", "workers",
 * "bind");
 * the detail of an error names `flag` (the caller's word for it) and the
 * value. Returns LIF_OK, LIF_ERR_INVALID_ARG, LIF_ERR_NOT_FOUND (unknown key). */
lif_status lif_plan_opts_set(lif_plan_opts *o, const char *key, const char *value,
                             const char *flag);

/* Applies the option keys present in a JSON object text (a recipe file may
 * hold them too; other keys are skipped: lif_recipe_from_json reads them).
 * Returns LIF_OK, LIF_ERR_FORMAT, LIF_ERR_INVALID_ARG. */
lif_status lif_plan_opts_from_json(lif_plan_opts *o, const char *json, const char *what);

/* Same, reading the file at path. Adds LIF_ERR_IO. */
lif_status lif_plan_opts_load(lif_plan_opts *o, const char *path);

/* The options as a JSON object text (malloc'd, caller frees; NULL on
 * allocation failure or an invalid bind), keys sorted; bind as a string. */
char *lif_plan_opts_to_json(const lif_plan_opts *o);

/* The i-th option key; NULL past the last one. */
const char *lif_plan_opts_key(size_t i);

/* ---- Memory ---- */

/* What a run needs, in bytes (SIZE_MAX: more than can be counted). */
typedef struct lif_memory {
    size_t params;      /* the net's parameters and optimizer state */
    size_t buffers;     /* a plan's buffers for batches of B */
    size_t workspaces;  /* the kernels' workspaces (the larger of the kernels chosen
                           for sparse and for dense input, per op) */
    size_t total;       /* the sum */
    size_t available;   /* physical memory, or the address-space limit when lower
                           (0 if unknown) */
} lif_memory;

/* Counts every allocation of a net of recipe r (n_in inputs, n_classes
 * outputs) and a plan for it with batches of B and options opts (NULL: the
 * defaults), without allocating any of it. Returns LIF_OK or
 * LIF_ERR_INVALID_ARG (a bad recipe, options or shape). */
lif_status lif_memory_estimate(const lif_recipe *r, int n_in, int n_classes, int B,
                               const lif_plan_opts *opts, lif_memory *out);

/* LIF_OK when that run fits in 90 % of the available memory; else
 * LIF_ERR_INVALID_ARG with the figures in the detail. lif_net_create (the
 * parameters) and lif_plan_create (the whole run) check it before they
 * allocate; a caller checks it before creating the net. */
lif_status lif_memory_check(const lif_recipe *r, int n_in, int n_classes, int B,
                            const lif_plan_opts *opts);

/* ---- Plans ---- */

/* Binds every op of net to a kernel, from the options' backend preference
 * list, threads (0: lif_topology_default_threads()), chunk length and
 * binding (opts NULL: the defaults), and allocates
 * the buffers for batches of up to B samples. Returns LIF_OK,
 * LIF_ERR_INVALID_ARG (options, Tc > T, a run that does not fit in memory:
 * lif_memory_check), LIF_ERR_NOT_FOUND /
 * LIF_ERR_UNSUPPORTED (backend), LIF_ERR_NOMEM, or a kernel init()'s status. */
lif_status lif_plan_create(lif_net *net, int B, const lif_plan_opts *opts, lif_plan **out);

/* The options a plan runs with (Tc resolved: 1..T; threads resolved: 1..1024). */
const lif_plan_opts *lif_plan_options(const lif_plan *plan);
void lif_plan_destroy(lif_plan *plan);

/* The name of the kernel bound to op in layer (layer ignored for
 * per-net ops); "" if none. */
const char *lif_plan_kernel(const lif_plan *plan, lif_op op, int layer);

/* One batch. Input spikes come from the Poisson encoder (pixels, ids,
 * epoch, domain) unless `spikes` is given ([T, B, n_in] of 0/1 floats). */
typedef struct lif_batch {
    int B;                   /* 1 .. the plan's B */
    const uint8_t *pixels;   /* [B, n_in] */
    const uint8_t *labels;   /* [B] */
    const uint32_t *ids;     /* [B] sample indices in the data set */
    uint32_t epoch;
    uint32_t domain;         /* 0 train, 1 test */
    const float *spikes;     /* optional, see above */
} lif_batch;

typedef struct lif_result {
    double loss;   /* mean loss of the batch */
    int correct;   /* samples classified right */
} lif_result;

/* Runs the forward pass over all T steps. Outputs *res. A plan that
 * recomputes (lif_plan_recomputes) reads the batch's arrays again in
 * lif_plan_backward and lif_plan_trace: keep them valid and unchanged until
 * then. Returns LIF_OK or LIF_ERR_INVALID_ARG (B out of range, label >= n_classes). */
lif_status lif_plan_forward(lif_plan *plan, const lif_batch *batch, lif_result *res);

/* BPTT of the last forward pass into the plan's gradient buffers. */
lif_status lif_plan_backward(lif_plan *plan);

/* One optimizer step on the net's parameters from the gradients. */
lif_status lif_plan_update(lif_plan *plan);

/* forward + backward + update. */
lif_status lif_plan_train_batch(lif_plan *plan, const lif_batch *batch, lif_result *res);

/* A buffer of the last pass, for tests and tools: "I", "H", "dI" ([T, B, n]
 * of layer; "I" and "dI" only when T is one chunk, "H" only when the plan
 * keeps every step's (recompute off or input): else NULL),
 * "rate" ([B, n_classes]), "grad_w" ([n_out, n_in] of layer), "grad_b".
 * *count gets the element count. NULL if unknown. */
const float *lif_plan_buffer(const lif_plan *plan, const char *name, int layer,
                             size_t *count);

/* The spike bits of layer `layer`'s input (0: the encoder's; l: layer l-1's
 * output) over all T*B rows of the last forward pass (row t*B + b, ld
 * words a row), when the plan keeps them (input spikes: recompute off;
 * hidden ones: off or input); else NULL. */
const uint64_t *lif_plan_spikes(const lif_plan *plan, int layer, size_t *rows, size_t *ld);

/* The membrane V[t] (after reset) and spikes S[t] of sample b in the last
 * layer for every step of the last forward pass: v, s are [T, n_classes]. */
lif_status lif_plan_trace(lif_plan *plan, int b, float *v, float *s);

/* Bytes the plan's buffers and kernel workspaces take. */
size_t lif_plan_memory(const lif_plan *plan);

/* What backward recomputes: LIF_RECOMPUTE_OFF, _INPUT or _ALL (never AUTO). */
int lif_plan_recomputes(const lif_plan *plan);


/* ---- Epochs ---- */

typedef struct lif_epoch_stats {
    double loss;      /* sample-weighted mean loss */
    double acc;       /* fraction correct */
    long samples;
    double seconds;   /* wall time of the pass */
} lif_epoch_stats;

/* Called after each batch with samples done and total, the seconds since
 * the pass began and the sample-weighted mean loss of the batches so far. */
typedef void (*lif_progress_fn)(void *ctx, long done, long total, double seconds,
                                double loss);

/* One training epoch: shuffles d deterministically from (seed, epoch),
 * drops the last partial batch, trains in batches of the plan's B.
 * Returns LIF_ERR_CANCELLED when the plan's stop callback asked to stop
 * (the batches done are lost: use lif_train_epoch_resume to keep them). */
lif_status lif_train_epoch(lif_plan *plan, const lif_dataset *d, uint32_t epoch,
                           lif_progress_fn progress, void *ctx, lif_epoch_stats *out);

/* lif_train_epoch from where *part says the epoch stopped (zeroed: from its
 * start), updating *part after every batch. Training the rest of an epoch
 * this way gives bitwise the weights, optimizer state and *out (but
 * seconds) of one uninterrupted lif_train_epoch: the shuffle and the spikes
 * are functions of (seed, epoch, sample). Returns LIF_OK when the epoch is
 * complete (*out filled; part->samples is then the epoch's sample count);
 * LIF_ERR_CANCELLED when the stop callback asked to stop (*part says where:
 * save it with the net, lif_net_save, to continue later);
 * LIF_ERR_INVALID_ARG when *part does not fit this data set and batch
 * (not whole batches, more samples than the epoch has, correct > samples). */
lif_status lif_train_epoch_resume(lif_plan *plan, const lif_dataset *d, uint32_t epoch,
                                  lif_epoch_part *part, lif_progress_fn progress, void *ctx,
                                  lif_epoch_stats *out);

/* A stop request, polled before every batch of lif_train_epoch(_resume) and
 * lif_evaluate: when stop(ctx) returns nonzero they return
 * LIF_ERR_CANCELLED, so the batch that is running always finishes. stop
 * NULL: never stop. The library installs no signal handler itself: a
 * program that wants Ctrl-C to stop training cleanly sets a flag in its
 * handler and returns it from stop (as the lif command does). stop is called
 * from the thread running the epoch. */
void lif_plan_set_stop(lif_plan *plan, int (*stop)(void *ctx), void *ctx);

/* Evaluates d in order (last batch may be partial) with spikes drawn for
 * `epoch` in the test domain; no parameter changes. Returns
 * LIF_ERR_CANCELLED when the plan's stop callback asked to stop. */
lif_status lif_evaluate(lif_plan *plan, const lif_dataset *d, uint32_t epoch,
                        lif_progress_fn progress, void *ctx, lif_epoch_stats *out);

/* The permutation of 0..n-1 used for epoch `epoch` with seed `seed`. */
void lif_shuffle(uint32_t *perm, int n, uint32_t seed, uint32_t epoch);

/* Seconds from a monotonic clock. */
double lif_now(void);

/* Library version string. */
const char *lif_version(void);

/* How this liblif was built: the git commit of its sources (40 hex digits,
 * "-dirty" appended when tracked files had changes; "" when built outside
 * git), the C compiler ("GNU 12.2.0") and CMake's build type ("Release"). */
const char *lif_build_commit(void);
const char *lif_build_compiler(void);
const char *lif_build_type(void);

#ifdef __cplusplus
}
#endif
#endif
