/* The plan search (lif_tune, lif/autotune.h).
 *
 * A candidate is a whole plan: the backend list, kernels forced by name per
 * op, threads, Tc and bind. Candidates are compared on whole training steps
 * (encode, forward, BPTT, optimizer: lif_measure_e2e runners on the real
 * data set, or synthetic images of the stated density), so ops that
 * interact (one thread count per plan, the cache a chunk leaves to the
 * next op) are judged together. The search is coordinate descent from the
 * untuned default (the ranking's estimate):
 *
 *   1. threads: the default plan at each other thread count;
 *   2. kernels: for each op, most expensive first (linear_fwd, linear_bwd_w,
 *      encode, lif_fwd, lif_bwd, linear_bwd_x, optim, spike_count, loss),
 *      every other kernel that can run it, forced by name into the best
 *      plan so far (at more than one thread, wrapped by the composing
 *      openmp kernel: "linear_fwd/openmp/omp,linear_fwd/simd/avx512_event");
 *   3. (patient) Tc (auto and multiples of 8 around the cache-sized auto
 *      value), binding, then every thread count again with the kernels
 *      found.
 *
 * Each group (the best so far and up to four challengers) is timed with
 * the measurement harness, interleaved: warm-up, then rounds of one sample
 * per plan, each sample long enough (calls calibrated to >= 20 ms,
 * patient 50 ms); a plan's time is the minimum over its samples. A
 * challenger replaces the best only when more than 1 % faster. The search
 * stops at 85 % of the budget keeping the best found; the rest is for the
 * final side-by-side of the winner and the default. Estimate mode, or a
 * single candidate, times nothing. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lif/autotune.h"
#include "lif/measure.h"

#define GROUP 4          /* challengers timed with the best at once */
#define MAX_ALTS 48

static const lif_op op_order[] = {LIF_OP_LINEAR_FWD, LIF_OP_LINEAR_BWD_W, LIF_OP_ENCODE,
                                  LIF_OP_LIF_FWD,    LIF_OP_LIF_BWD,      LIF_OP_LINEAR_BWD_X,
                                  LIF_OP_OPTIM,      LIF_OP_SPIKE_COUNT,  LIF_OP_LOSS};

const char *lif_tune_mode_name(lif_tune_mode m)
{
    return m == LIF_TUNE_PATIENT ? "patient" : m == LIF_TUNE_MEASURE ? "measure" : "estimate";
}

typedef struct cand {
    int threads, Tc, bind;
    char ops[LIF_OP_COUNT][200];  /* per op force list, "" estimate */
    char label[200];              /* what this candidate changes */
    double sec;                   /* min seconds per training step (INFINITY: failed) */
} cand;

typedef struct tuner {
    const lif_tune_cfg *cfg;
    double start, search_end;
    double step;       /* seconds of one training step of the best plan (estimate) */
    int calls;         /* calls per sample */
    int rounds;        /* samples per plan */
    double sample_s;
    int considered, timed, budget_hit;
    int n_layers;
} tuner;

static void progress(tuner *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void progress(tuner *t, const char *fmt, ...)
{
    if (!t->cfg->progress)
        return;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    double f = (lif_now() - t->start) / t->cfg->budget;
    t->cfg->progress(t->cfg->ctx, f < 0 ? 0 : f > 1 ? 1 : f, what);
}

static void cand_opts(const tuner *t, const cand *c, lif_plan_opts *o)
{
    lif_plan_opts_default(o);
    snprintf(o->backend, sizeof o->backend, "%s", t->cfg->backend);
    o->threads = c->threads;
    o->Tc = c->Tc;
    o->bind = c->bind;
    size_t len = 0;
    for (int op = 0; op < LIF_OP_COUNT; op++)
        if (c->ops[op][0] && len < sizeof o->kernels)
            len += (size_t)snprintf(o->kernels + len, sizeof o->kernels - len, "%s%s",
                                    len ? "," : "", c->ops[op]);
    snprintf(o->kernels_from, sizeof o->kernels_from, "autotune");
}

static lif_status make_runner(const tuner *t, const cand *c, lif_measure_e2e **e)
{
    lif_plan_opts o;
    cand_opts(t, c, &o);
    const lif_recipe *r = t->cfg->recipe;
    lif_measure_e2e_cfg ec = {.backend = o.backend, .T = r->T, .B = r->batch,
                              .threads = o.threads, .train = t->cfg->train,
                              .test = t->cfg->train, .seed = r->seed, .Tc = o.Tc,
                              .memory_budget = 0, .recompute = 0, .recipe = r, .opts = &o};
    return lif_measure_e2e_create(&ec, e, NULL);
}

/* The problem op would get in a plan of c (layer 0; the readout's in the
 * last layer; linear_bwd_x's in layer 1). */
static lif_problem op_problem(const tuner *t, lif_op op, int threads, int Tc, int *ok)
{
    const lif_recipe *r = t->cfg->recipe;
    int dims[LIF_MAX_HIDDEN + 2], L = r->n_hidden + 1;
    dims[0] = t->cfg->train->rows * t->cfg->train->cols;
    for (int i = 0; i < r->n_hidden; i++)
        dims[1 + i] = r->hidden[i];
    dims[L] = t->cfg->train->n_classes;
    int l = op == LIF_OP_SPIKE_COUNT || op == LIF_OP_LOSS ? L - 1
            : op == LIF_OP_LINEAR_BWD_X                   ? 1
                                                          : 0;
    *ok = l < L;
    if (l >= L)
        l = 0;
    lif_problem q = {0};
    q.op = op;
    q.T = r->T;
    q.Tc = Tc > 0 ? Tc : r->T;
    q.B = r->batch;
    q.n_in = dims[l];
    q.n_out = dims[l + 1];
    q.has_bias = r->bias;
    q.density = l == 0 ? (float)t->cfg->density : 0.0f;
    q.nrn = &r->neuron;
    q.opt = r->opt;
    q.loss = r->loss;
    q.threads = threads;
    q.bind = LIF_BIND_NONE;
    return q;
}

/* The openmp backend composes: its kernels run another kernel inside. */
static int composes(const lif_kernel_i *k) { return strcmp(k->backend, "openmp") == 0; }

static void short_name(const char *list, char *buf, size_t size)
{
    /* "linear_fwd/openmp/omp,linear_fwd/simd/avx2" -> "openmp/omp + simd/avx2" */
    size_t len = 0;
    buf[0] = '\0';
    for (const char *s = list; *s && len < size;) {
        size_t n = strcspn(s, ",");
        const char *slash = memchr(s, '/', n);
        const char *from = slash ? slash + 1 : s;
        len += (size_t)snprintf(buf + len, size - len, "%s%.*s", len ? " + " : "",
                                (int)(n - (size_t)(from - s)), from);
        s += n;
        if (*s == ',')
            s++;
    }
}

/* The force lists to try for op at `threads` threads. */
static int alternatives(const tuner *t, lif_op op, int threads, int Tc,
                        char alts[][200], int cap)
{
    int ok, n = 0;
    lif_problem q = op_problem(t, op, threads, Tc, &ok);
    if (!ok)
        return 0;
    lif_candidate c[64];
    size_t nc = 0;
    if (lif_kernel_candidates(&q, t->cfg->backend, c, 64, &nc) != LIF_OK)
        return 0;
    if (nc > 64)
        nc = 64;
    const lif_kernel_i *wrap = NULL;
    int patient = t->cfg->mode == LIF_TUNE_PATIENT, vector = 0;
    for (size_t i = 0; i < nc; i++) {
        if (composes(c[i].kernel) && !wrap)
            wrap = c[i].kernel;
        if (strcmp(c[i].kernel->backend, "scalar") != 0)
            vector = 1;
    }
    for (size_t i = 0; i < nc && n < cap; i++) {
        const lif_kernel_i *k = c[i].kernel;
        char a[96], b[96];
        if (composes(k))
            continue;
        /* the scalar reference: only when nothing else runs the op, or patient */
        if (strcmp(k->backend, "scalar") == 0 && vector && !patient)
            continue;
        lif_kernel_name(k, b, sizeof b);
        if (wrap && threads > 1 && !(k->flags & LIF_KERNEL_THREADED)) {
            snprintf(alts[n++], 200, "%s,%s", lif_kernel_name(wrap, a, sizeof a), b);
            if (patient && n < cap) /* the serial kernel alone, unwrapped */
                snprintf(alts[n++], 200, "%s", b);
        } else {
            snprintf(alts[n++], 200, "%s", b);
        }
    }
    return n;
}

/* Times the best (c[0]) and n-1 challengers side by side; fills c[i].sec.
 * Returns LIF_OK (a challenger whose plan cannot be made gets INFINITY),
 * or the failure of the best plan. *done: 0 when the budget left no room. */
static lif_status time_group(tuner *t, cand *c, int n, int *done)
{
    lif_measure_e2e *e[GROUP + 1] = {0};
    lif_measure_task task[GROUP + 1];
    int idx[GROUP + 1], m = 0;
    lif_status st = LIF_OK;
    *done = 0;
    for (int i = 0; i < n; i++) {
        c[i].sec = INFINITY;
        lif_status s = make_runner(t, &c[i], &e[i]);
        if (s != LIF_OK) {
            if (i == 0) {
                st = s;
                goto out;
            }
            e[i] = NULL;
            continue;
        }
        idx[m] = i;
        task[m++] = lif_measure_e2e_task(e[i], 1);
    }
    double *sec = calloc((size_t)m, sizeof *sec);
    if (!sec) {
        st = lif_error(LIF_ERR_NOMEM, "autotune: out of memory");
        goto out;
    }
    /* warm-up: the first step measures the densities and binds the linear
     * kernels again; one more settles caches */
    lif_measure_schedule warm = {.warmup = 2, .repeats = 1, .calls = t->calls, .interleaved = 1};
    if ((st = lif_measure_run(task, m, &warm, sec)) != LIF_OK)
        goto out_free;
    for (int k = 0; k < m; k++)
        c[idx[k]].sec = sec[k] / t->calls;
    int rounds = 1;
    lif_measure_schedule one = {.warmup = 0, .repeats = 1, .calls = t->calls, .interleaved = 1};
    while (rounds < t->rounds) {
        double round_cost = 0;
        for (int k = 0; k < m; k++)
            round_cost += c[idx[k]].sec * t->calls;
        if (lif_now() + round_cost > t->search_end && rounds >= 2)
            break;
        if ((st = lif_measure_run(task, m, &one, sec)) != LIF_OK)
            goto out_free;
        for (int k = 0; k < m; k++)
            if (sec[k] / t->calls < c[idx[k]].sec)
                c[idx[k]].sec = sec[k] / t->calls;
        rounds++;
    }
    *done = 1;
    t->timed += m;
out_free:
    free(sec);
out:
    for (int i = 0; i < n; i++)
        lif_measure_e2e_destroy(e[i]);
    return st;
}

/* A challenger replaces the best only when it is this much faster: a
 * switch made on noise (a shared machine drifts by 5 % and more between
 * samples) costs more than a missed gain of a few percent. */
#define LIF_TUNE_MARGIN 0.03

/* Times challengers against *best, in groups; keeps the fastest (more than
 * LIF_TUNE_MARGIN faster than the best to replace it). Returns LIF_OK or a
 * failure. */
static lif_status contest(tuner *t, cand *best, cand *ch, int n, const char *stage)
{
    t->considered += n;
    for (int i = 0; i < n;) {
        if (t->budget_hit)
            return LIF_OK;
        /* what a group costs: every plan's warm-up and rounds */
        double per_plan = (2.0 + t->rounds) * t->calls * t->step + 0.05;
        int room = (int)((t->search_end - lif_now()) / per_plan) - 1;
        int g = n - i < GROUP ? n - i : GROUP;
        if (room < 1) {
            t->budget_hit = 1;
            return LIF_OK;
        }
        if (g > room)
            g = room;
        cand grp[GROUP + 1];
        grp[0] = *best;
        for (int k = 0; k < g; k++)
            grp[1 + k] = ch[i + k];
        progress(t, "%s: %d of %d, best %.0f images/s", stage, i + g, n,
                 isfinite(best->sec) ? t->cfg->recipe->batch / best->sec : 0.0);
        int done;
        lif_status st = time_group(t, grp, g + 1, &done);
        if (st != LIF_OK)
            return st;
        if (!done) {
            t->budget_hit = 1;
            return LIF_OK;
        }
        /* the fastest challenger, kept only if it leads the best by the margin */
        cand *fast = NULL;
        for (int k = 1; k <= g; k++)
            if (!fast || grp[k].sec < fast->sec)
                fast = &grp[k];
        cand *win = fast && fast->sec < grp[0].sec * (1.0 - LIF_TUNE_MARGIN) ? fast : &grp[0];
        *best = *win;
        if (isfinite(best->sec))
            t->step = best->sec;
        i += g;
    }
    return LIF_OK;
}

static int thread_set(const tuner *t, int def, int *out)
{
    const lif_topology *topo;
    lif_topology_get(&topo);
    int cores = topo->cores > 0 ? topo->cores : 1, n = 0;
    if (t->cfg->threads > 0) {
        out[n++] = t->cfg->threads;
        return n;
    }
    int cand_[64], nc = 0;
    cand_[nc++] = 1;
    cand_[nc++] = def;
    cand_[nc++] = cores;
    if (t->cfg->mode == LIF_TUNE_PATIENT)
        for (int k = 2; k < cores && nc < 60; k = cores <= 8 ? k + 1 : k * 2)
            cand_[nc++] = k;
    for (int i = 0; i < nc; i++) {
        int dup = 0;
        for (int j = 0; j < n; j++)
            dup |= out[j] == cand_[i];
        if (!dup && cand_[i] >= 1 && cand_[i] <= 1024)
            out[n++] = cand_[i];
    }
    return n;
}

/* 1 if some kernel of the list's backends may run threaded. */
static int threads_matter(const tuner *t)
{
    for (int i = 0; i < (int)(sizeof op_order / sizeof op_order[0]); i++) {
        int ok;
        lif_problem q = op_problem(t, op_order[i], 2, 0, &ok);
        lif_candidate c[64];
        size_t n = 0;
        if (!ok || lif_kernel_candidates(&q, t->cfg->backend, c, 64, &n) != LIF_OK)
            continue;
        for (size_t k = 0; k < n && k < 64; k++)
            if (c[k].kernel->flags & LIF_KERNEL_THREADED)
                return 1;
    }
    return 0;
}

static void bound_names(const lif_measure_e2e *e, char names[][96])
{
    const lif_plan *p = lif_measure_e2e_plan(e);
    for (int op = 0; op < LIF_OP_COUNT; op++)  /* layer 0 (the input gradient: layer 1) */
        snprintf(names[op], 96, "%s", lif_plan_kernel(p, (lif_op)op, op == LIF_OP_LINEAR_BWD_X));
}

lif_status lif_tune(const lif_tune_cfg *cfg, lif_tune_result *out)
{
    lif_status st;
    memset(out, 0, sizeof *out);
    if (!cfg || !cfg->recipe || !cfg->train || !(cfg->budget > 0) || cfg->threads < 0 ||
        cfg->Tc < 0)
        return lif_error(LIF_ERR_INVALID_ARG, "autotune: no recipe or data, or a budget <= 0");
    if ((st = lif_backend_list_check(cfg->backend)) != LIF_OK)
        return st;
    tuner t = {.cfg = cfg, .start = lif_now()};
    t.search_end = t.start + 0.85 * cfg->budget;
    t.n_layers = cfg->recipe->n_hidden + 1;
    t.rounds = cfg->mode == LIF_TUNE_PATIENT ? 5 : 3;
    t.sample_s = cfg->mode == LIF_TUNE_PATIENT ? 0.05 : 0.02;
    t.calls = 1;
    int def_threads = cfg->threads > 0 ? cfg->threads : lif_topology_default_threads();

    cand def;
    memset(&def, 0, sizeof def);
    def.threads = def_threads;
    def.Tc = cfg->Tc;
    snprintf(def.label, sizeof def.label, "the default (the ranking's estimate)");

    /* the default plan, stepped once: what it binds, its Tc, one step's time */
    lif_measure_e2e *e = NULL;
    progress(&t, "the default plan");
    if ((st = make_runner(&t, &def, &e)) != LIF_OK)
        return st;
    double t0 = lif_now();
    if ((st = lif_measure_e2e_train(e, 0)) != LIF_OK ||
        (t0 = lif_now(), st = lif_measure_e2e_train(e, 1)) != LIF_OK) {
        lif_measure_e2e_destroy(e);
        return st;
    }
    t.step = lif_now() - t0;
    bound_names(e, out->default_bound);
    out->default_Tc = lif_plan_options(lif_measure_e2e_plan(e))->Tc;
    out->default_threads = lif_plan_options(lif_measure_e2e_plan(e))->threads;
    lif_measure_e2e_destroy(e);
    t.calls = t.step > 0 ? (int)ceil(t.sample_s / t.step) : 1;
    if (t.calls < 1)
        t.calls = 1;
    if (t.calls > 1000)
        t.calls = 1000;

    cand best = def;
    best.sec = t.step;
    int nthreads = 0, ts[64];
    if (threads_matter(&t))
        nthreads = thread_set(&t, def_threads, ts);
    else
        best.threads = def.threads = 1;
    /* how many plans could differ from the default at all */
    int alts_total = 0;
    char alts[MAX_ALTS][200];
    for (size_t i = 0; i < sizeof op_order / sizeof op_order[0]; i++)
        alts_total += alternatives(&t, op_order[i], best.threads, cfg->Tc, alts, MAX_ALTS) > 1;
    for (int i = 0; i < nthreads; i++)
        alts_total += ts[i] != best.threads;
    if (cfg->mode == LIF_TUNE_PATIENT && cfg->Tc == 0)
        alts_total += 1;

    if (cfg->mode != LIF_TUNE_ESTIMATE && alts_total > 0) {
        /* 1. threads */
        cand ch[64];
        int n = 0;
        for (int i = 0; i < nthreads; i++)
            if (ts[i] != best.threads && (cfg->mode == LIF_TUNE_PATIENT || n < 2)) {
                ch[n] = best;
                ch[n].threads = ts[i];
                snprintf(ch[n].label, sizeof ch[n].label, "threads %d", ts[i]);
                n++;
            }
        if ((st = contest(&t, &best, ch, n, "threads")) != LIF_OK)
            return st;
        /* 2. kernels, op by op */
        for (size_t i = 0; i < sizeof op_order / sizeof op_order[0] && !t.budget_hit; i++) {
            lif_op op = op_order[i];
            int na = alternatives(&t, op, best.threads, best.Tc, alts, MAX_ALTS);
            if (na < 2)
                continue; /* one kernel runs it: nothing to time */
            cand *cs = calloc((size_t)na, sizeof *cs);
            if (!cs)
                return lif_error(LIF_ERR_NOMEM, "autotune: out of memory");
            int m = 0;
            for (int k = 0; k < na; k++) {
                if (strcmp(alts[k], best.ops[op]) == 0)
                    continue;
                cs[m] = best;
                memcpy(cs[m].ops[op], alts[k], sizeof cs[m].ops[op]);
                char sn[160];
                short_name(alts[k], sn, sizeof sn);
                snprintf(cs[m].label, sizeof cs[m].label, "%s: %s", lif_op_name(op), sn);
                m++;
            }
            char stage[64];
            snprintf(stage, sizeof stage, "%s", lif_op_name(op));
            st = contest(&t, &best, cs, m, stage);
            free(cs);
            if (st != LIF_OK)
                return st;
        }
        /* 3. patient: Tc, bind, threads again */
        if (cfg->mode == LIF_TUNE_PATIENT && !t.budget_hit) {
            n = 0;
            if (cfg->Tc == 0) {
                int A = out->default_Tc, T = cfg->recipe->T;
                int v[3] = {A / 2, A, 2 * A};
                for (int k = 0; k < 3; k++) {
                    int x = (v[k] + 4) / 8 * 8;
                    if (x < 8)
                        x = 8;
                    if (x > T)
                        x = T;
                    int dup = x == best.Tc;
                    for (int j = 0; j < n; j++)
                        dup |= ch[j].Tc == x;
                    if (!dup) {
                        ch[n] = best;
                        ch[n].Tc = x;
                        snprintf(ch[n].label, sizeof ch[n].label, "Tc %d", x);
                        n++;
                    }
                }
            }
            if ((st = contest(&t, &best, ch, n, "Tc")) != LIF_OK)
                return st;
            if (best.threads > 1 && !t.budget_hit) {
                ch[0] = best;
                ch[0].bind = best.bind == LIF_BIND_CORES ? LIF_BIND_NONE : LIF_BIND_CORES;
                snprintf(ch[0].label, sizeof ch[0].label, "bind %s",
                         ch[0].bind == LIF_BIND_CORES ? "cores" : "none");
                if ((st = contest(&t, &best, ch, 1, "bind")) != LIF_OK)
                    return st;
            }
            n = 0;
            for (int i = 0; i < nthreads && !t.budget_hit; i++)
                if (ts[i] != best.threads) {
                    ch[n] = best;
                    ch[n].threads = ts[i];
                    snprintf(ch[n].label, sizeof ch[n].label, "threads %d (tuned kernels)", ts[i]);
                    n++;
                }
            if ((st = contest(&t, &best, ch, n, "threads again")) != LIF_OK)
                return st;
        }
    }
    out->considered = t.considered + 1;
    out->budget_hit = t.budget_hit;

    /* the winner and the default side by side */
    out->best_images_per_s = out->default_images_per_s = NAN;
    cand pair[2] = {def, best};
    int compare = cfg->mode != LIF_TUNE_ESTIMATE && alts_total > 0;
    int same = best.threads == def.threads && best.Tc == def.Tc && best.bind == def.bind &&
               memcmp(best.ops, def.ops, sizeof best.ops) == 0;
    if (compare && same && isfinite(best.sec) && t.timed > 0) {
        /* the default won: its own timings are the comparison */
        out->repeats = t.rounds;
        out->default_images_per_s = out->best_images_per_s = cfg->recipe->batch / best.sec;
    } else if (compare) {
        double left = t.start + cfg->budget - lif_now();
        double per = (2.0 + 1) * t.calls * (t.step > 0 ? t.step : 1e-3) * 2;
        t.rounds = cfg->mode == LIF_TUNE_PATIENT ? 7 : 5;
        while (t.rounds > 2 && per + (t.rounds - 1) * t.calls * t.step * 2 > left)
            t.rounds--;
        t.search_end = lif_now() + (left > 0 ? left : 0);
        progress(&t, "the winner against the default, side by side");
        int done;
        if ((st = time_group(&t, pair, 2, &done)) != LIF_OK)
            return st;
        t.timed -= 2; /* the same plans again */
        out->repeats = t.rounds;
        out->default_images_per_s = cfg->recipe->batch / pair[0].sec;
        out->best_images_per_s = cfg->recipe->batch / pair[1].sec;
        /* the search's winner lost to the default side by side: its lead
         * was noise of the search's short samples, so the default stays */
        if (!(out->best_images_per_s > out->default_images_per_s)) {
            out->kept_default = 1;
            out->lost_images_per_s = out->best_images_per_s;
            best = def;
            out->best_images_per_s = out->default_images_per_s;
        }
    }
    out->timed = t.timed;
    /* what the winner binds, and its resolved Tc */
    if ((st = make_runner(&t, &best, &e)) != LIF_OK)
        return st;
    if ((st = lif_measure_e2e_train(e, 0)) != LIF_OK) {
        lif_measure_e2e_destroy(e);
        return st;
    }
    bound_names(e, out->best_bound);
    out->best_Tc = lif_plan_options(lif_measure_e2e_plan(e))->Tc;
    lif_measure_e2e_destroy(e);
    cand_opts(&t, &best, &out->opts);
    cand_opts(&t, &def, &out->default_opts);
    out->default_opts.kernels_from[0] = '\0';

    lif_wisdom_entry *w = &out->best;
    lif_wisdom_problem_of(cfg->recipe, cfg->train->rows * cfg->train->cols,
                          cfg->train->n_classes, cfg->density, &w->problem);
    w->threads = best.threads;
    w->Tc = best.Tc;
    w->bind = best.bind;
    memcpy(w->kernels, best.ops, sizeof w->kernels);
    snprintf(w->mode, sizeof w->mode, "%s", lif_tune_mode_name(cfg->mode));
    w->images_per_s = out->best_images_per_s;
    w->default_images_per_s = out->default_images_per_s;
    out->seconds = lif_now() - t.start;
    w->seconds = out->seconds;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(w->when, sizeof w->when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return LIF_OK;
}
