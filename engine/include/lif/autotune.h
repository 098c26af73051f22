/* lif/autotune.h — the autotuner: machine fingerprint, wisdom files and
 * the plan search (sources in autotune/, compiled into liblif).
 *
 * In the manner of FFTW's planner: a search times candidate plans (a plan
 * here = kernels forced by name per op, threads, Tc, bind) on whole
 * training steps, keeps the fastest, and stores it as "wisdom" for the
 * machine and the problem (layers, T, batch, input spike density).
 * `--backend auto` then takes the wisdom of the exact problem, else of the
 * nearest one, else the ranking's estimate (engine/src/rank.c). */
#ifndef LIF_AUTOTUNE_H
#define LIF_AUTOTUNE_H

#include <stddef.h>
#include <stdint.h>

#include "lif/backend.h"
#include "lif/cpu.h"
#include "lif/data.h"
#include "lif/net.h"
#include "lif/recipe.h"
#include "lif/status.h"
#include "lif/topology.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Machine fingerprint ------------------------------------------------ */

/* What a wisdom file's timings depend on, as readable values, and a hash
 * of them (`id`). Two fingerprints match when their ids do: the CPU model
 * and vendor, packages, NUMA nodes, cores, PUs, every cache level's size
 * and count (hwloc), the effective ISA and the best one (LIF_MAX_CPU_ISA
 * lowers the first), lif's version and the compiler. The registered
 * kernel names are hashed apart (`kernels_hash`): a different kernel set
 * does not reject a file; entries that name a kernel missing here are
 * dropped one by one when it is read. */
typedef struct lif_fingerprint {
    char cpu[64], vendor[16];
    int packages, numa_nodes, cores, pus;
    int n_caches;
    struct {
        int level;
        uint64_t size;
        int count;
    } caches[LIF_TOPO_MAX_CACHE_LEVELS];
    char isa[16];         /* effective: after LIF_MAX_CPU_ISA */
    char best_isa[16];    /* what the CPU and OS could run */
    int isa_capped;       /* 1 when LIF_MAX_CPU_ISA lowered the ISA */
    char version[32];     /* lif_version() */
    char compiler[64];    /* lif_build_compiler() */
    char kernels_hash[17];/* 16 hex digits: FNV-1a of the sorted registered kernel names */
    int n_kernels;
    char id[17];          /* 16 hex digits: FNV-1a of every field above but the kernels */
} lif_fingerprint;

/* The fingerprint of topology t and CPU c (given, so tests can inject a
 * machine), with this build's version, compiler and registered kernels. */
void lif_fingerprint_make(const lif_topology *t, const lif_cpu *c, lif_fingerprint *out);

/* This machine's (lif_topology_get, lif_cpu_get). */
void lif_fingerprint_here(lif_fingerprint *out);

/* 1 if `file` matches `here` (same id); else 0 and, in why (one line), the
 * first readable value that differs ("L2 cache 2 MiB there, 1 MiB here"). */
int lif_fingerprint_match(const lif_fingerprint *file, const lif_fingerprint *here, char *why,
                          size_t size);

/* ---- Wisdom ------------------------------------------------------------- */

#define LIF_WISDOM_FORMAT 1  /* "lif_wisdom": 1 */

/* A tuned problem: the layers, T, batch, bias and the input spike density
 * (mean pixel/255 of the training set, or the stated --density). */
typedef struct lif_wisdom_problem {
    int n_dims;                     /* layers + 1 */
    int dims[LIF_MAX_HIDDEN + 2];   /* n_in, hidden..., n_classes */
    int T, batch, bias;
    double density;
} lif_wisdom_problem;

/* The problem of recipe r on inputs of n_in features, n_classes classes. */
void lif_wisdom_problem_of(const lif_recipe *r, int n_in, int n_classes, double density,
                           lif_wisdom_problem *out);

/* One entry: a problem and the plan found fastest for it. */
typedef struct lif_wisdom_entry {
    lif_wisdom_problem problem;
    int threads;                    /* >= 1 */
    int Tc;                         /* 0: auto */
    int bind;                       /* LIF_BIND_* */
    /* per op: the kernels to force by name, comma-separated (a composing
     * kernel, then the one it runs inside); "": the estimate's choice */
    char kernels[LIF_OP_COUNT][200];
    char mode[16];                  /* "measure", "patient" */
    double images_per_s;            /* the plan's training speed when tuned */
    double default_images_per_s;    /* the untuned default's, side by side */
    double seconds;                 /* how long the search took */
    char when[32];                  /* UTC, "2026-12-02T19:00:00Z" */
} lif_wisdom_entry;

typedef struct lif_wisdom {
    lif_fingerprint fp;     /* the machine the entries were measured on */
    int n, cap;
    lif_wisdom_entry *e;    /* sorted by problem */
    int dropped;            /* (read) kernel choices dropped: their kernel is not registered */
    char dropped_name[96];  /* (read) the first such kernel */
} lif_wisdom;

/* An empty wisdom with this machine's fingerprint. */
void lif_wisdom_init(lif_wisdom *w);
void lif_wisdom_free(lif_wisdom *w);

/* Where wisdom lives: `explicit` if given, else $LIF_WISDOM, else
 * $XDG_CACHE_HOME/lif/wisdom.json, else $HOME/.cache/lif/wisdom.json.
 * Returns LIF_OK, or LIF_ERR_INVALID_ARG (no HOME, or too long). */
lif_status lif_wisdom_path(const char *explicit_path, char *buf, size_t size);

/* Reads wisdom text (n bytes) into *w. `here` NULL: any fingerprint is
 * taken (tools, the fuzz harness); else a file of another fingerprint
 * imports nothing. Returns LIF_OK; LIF_ERR_FORMAT (not JSON, not wisdom, a
 * member of the wrong type or out of range: the detail names it);
 * LIF_ERR_UNSUPPORTED (another machine or build: the detail says what
 * differs); LIF_ERR_NOMEM. On failure *w holds no entries. Every detail is
 * one line. */
lif_status lif_wisdom_parse(const char *text, size_t n, const char *what,
                            const lif_fingerprint *here, lif_wisdom *w);

/* lif_wisdom_parse of the file at path, against this machine. Adds
 * LIF_ERR_IO (cannot read it; LIF_ERR_NOT_FOUND when it does not exist). */
lif_status lif_wisdom_load(const char *path, lif_wisdom *w);

/* Writes w as JSON (keys sorted, indented) to path through the atomic
 * writer (lif/atomic.h), creating its folders. Returns LIF_OK, LIF_ERR_IO,
 * LIF_ERR_NOMEM. */
lif_status lif_wisdom_save(const char *path, const lif_wisdom *w);

/* Adds e, replacing an entry of the same problem. */
lif_status lif_wisdom_put(lif_wisdom *w, const lif_wisdom_entry *e);

typedef enum lif_wisdom_match {
    LIF_WISDOM_NONE = 0,
    LIF_WISDOM_EXACT,     /* same layers, bias, T, batch, density within 0.005 */
    LIF_WISDOM_NEAREST,   /* same layers and bias; the nearest T, batch, density */
} lif_wisdom_match;

/* The entry for q: exact, else nearest (least |ln T/T'| + |ln b/b'| +
 * 10 |d - d'|), else none. */
lif_wisdom_match lif_wisdom_lookup(const lif_wisdom *w, const lif_wisdom_problem *q,
                                   const lif_wisdom_entry **out);

/* "wisdom exact", "wisdom nearest", "estimate". */
const char *lif_wisdom_match_name(lif_wisdom_match m);

/* Joins an entry's per-op kernel lists into one force list (the format of
 * lif_plan_opts.kernels). Returns 0, or -1 when it does not fit. */
int lif_wisdom_kernels(const lif_wisdom_entry *e, char *buf, size_t size);

/* ---- Search ------------------------------------------------------------- */

typedef enum lif_tune_mode {
    LIF_TUNE_ESTIMATE = 0,  /* no timing: the ranking's plan */
    LIF_TUNE_MEASURE,       /* time threads {1, default} and every kernel candidate per op */
    LIF_TUNE_PATIENT,       /* also every thread count, Tc values and binding */
} lif_tune_mode;

const char *lif_tune_mode_name(lif_tune_mode m);

/* Progress: fraction of the budget spent (0..1) and what runs now. */
typedef void (*lif_tune_progress_fn)(void *ctx, double fraction, const char *what);

typedef struct lif_tune_cfg {
    const lif_recipe *recipe;   /* the model (T, batch, layers, neuron, optimizer) */
    const lif_dataset *train;   /* batches to time training steps on */
    double density;             /* the workload's input density (recorded) */
    lif_tune_mode mode;
    double budget;              /* seconds (> 0) */
    char backend[128];          /* candidates from these backends ("auto": all) */
    int threads;                /* 0: search; else only this count */
    int Tc;                     /* 0: auto (patient: searched); else only this */
    lif_tune_progress_fn progress;
    void *ctx;
} lif_tune_cfg;

typedef struct lif_tune_result {
    lif_wisdom_entry best;      /* the winner (problem, plan, speeds) */
    lif_plan_opts opts;         /* the winner as plan options */
    lif_plan_opts default_opts; /* the untuned default's */
    char best_bound[LIF_OP_COUNT][96];     /* what each op bound (layer 0) */
    char default_bound[LIF_OP_COUNT][96];
    int best_Tc, default_Tc, default_threads;  /* resolved */
    double best_images_per_s, default_images_per_s;  /* side by side at the end (NAN: not timed) */
    int repeats;                /* samples per plan in that final comparison */
    int considered, timed;      /* candidate plans, and those timed */
    int budget_hit;             /* 1: the budget stopped the search */
    int kept_default;           /* 1: the search's winner was slower than the default
                                   in the final side-by-side comparison, so the default
                                   is the result (best = the default's plan) */
    double lost_images_per_s;   /* then: the search winner's speed in that comparison */
    double seconds;
} lif_tune_result;

/* Runs the search. Times nothing when one plan applies or in estimate
 * mode. Returns LIF_OK, or what creating or running a plan returned. */
lif_status lif_tune(const lif_tune_cfg *cfg, lif_tune_result *out);

#ifdef __cplusplus
}
#endif
#endif
