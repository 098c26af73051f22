/* tests/test_parity.c — the reference framework's Linear + LIF case
 * (tests/data/parity, computed by SpikingJelly), reproduced by every
 * available backend and by the oracle.
 *
 * Pipeline (T = 16, B = 4, 784 -> 10, tau 2, hard reset to 0, ATan,
 * decay_input, reset kept in the graph): x.npy packed into bits ->
 * linear_fwd (I) -> lif_fwd (H, s; V = H(1 - S) + v_reset S) ->
 * spike_count + loss MSE (out_fr, loss, dL/dS) -> lif_bwd with dL/dS the
 * same at every step (dL_dI) -> linear_bwd_w (dL_dW) -> one Adam step,
 * lr 1e-3 (W_adam1). It runs with Tc = 16 (one chunk) and Tc = 5 (chunks
 * 5+5+5+1, state carried between them).
 *
 * Kernels: per backend, every registered kernel is used in at least one
 * run; an op the backend has no (accepting) kernel for falls back to the
 * scalar one. A backend this machine cannot run is skipped, not passed.
 *
 * The oracle runs the same pipeline in double and must match the float64
 * references to 1e-12: that proves the oracle itself, which every kernel
 * is tested against in test_kernels. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/backend.h"
#include "lif/npy.h"
#include "oracle.h"
#include "testutil.h"

enum { T = 16, B = 4, N_IN = 784, N_OUT = 10 };
#define NB (B * N_OUT)        /* neurons per step */
#define NW (N_OUT * N_IN)     /* weights */
#define LR 1e-3
#define EPS 1e-8

static const char *const cases[] = {"tau2_hard_f32", "tau2_hard_Wx8_f32", "tau2_hard_f64",
                                    "tau2_hard_Wx8_f64"};

/* ---------------------------------------------------------------- helpers */

static void *xalloc(size_t bytes)
{
    size_t sz = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, sz ? sz : 64);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(p, 0, sz ? sz : 64);
    return p;
}

/* Reads LIF_TEST_DATA/parity/<dir>/<name>.npy (dir may be "") and checks its
 * element count; 0 and a failure if missing or malformed. */
static int load(const char *dir, const char *name, size_t count, lif_npy *a)
{
    char path[512];
    snprintf(path, sizeof path, "%s/parity/%s%s%s.npy", LIF_TEST_DATA, dir, *dir ? "/" : "",
             name);
    memset(a, 0, sizeof *a);
    lif_status st = lif_npy_read(path, a);
    CHECK(st == LIF_OK, "read %s: %s: %s", path, lif_status_str(st), lif_last_error());
    if (st != LIF_OK)
        return 0;
    CHECK(a->count == count, "%s: %zu elements, want %zu", path, a->count, count);
    return a->count == count;
}

static double maxabs(const double *a, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* got vs ref: |got - ref| <= rtol |ref| + atol + (extra ? extra[i] : 0).
 * Prints the largest errors, so the tolerances below can be judged against
 * what is observed. */
static void cmp(const char *ctx, const char *what, const double *got, const double *ref,
                size_t n, double rtol, double atol, const double *extra)
{
    double ea = 0.0, er = 0.0, used = 0.0;
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - ref[i]);
        double tol = rtol * fabs(ref[i]) + atol + (extra ? extra[i] : 0.0);
        ea = fmax(ea, d);
        if (ref[i] != 0.0)
            er = fmax(er, d / fabs(ref[i]));
        if (d > 0.0)
            used = fmax(used, tol > 0.0 ? d / tol : INFINITY);
        if (isnan(got[i]) || !(d <= tol)) {
            if (!bad)
                first = i;
            bad++;
        }
    }
    test_checks++;
    /* "uses" = the largest error as a fraction of its element's tolerance */
    printf("  %-22s %-7s max abs err %.2e, max rel err %.2e, uses %5.1f%% of tol%s\n", ctx,
           what, ea, er, 100.0 * used, bad ? "  FAIL" : "");
    if (bad) {
        test_failures++;
        fprintf(stderr, "FAIL %s: %s: %zu of %zu elements out of tolerance (rtol %.1e, atol "
                "%.1e); first [%zu] got %.17g want %.17g\n", ctx, what, bad, n, rtol, atol,
                first, got[first], ref[first]);
    }
}

/* What a pipeline produces, in double for comparison. */
typedef struct result {
    double I[T * NB], H[T * NB], V[T * NB], s[T * NB], fr[NB], loss;
    double dI[T * NB], dW[NW], W1[NW];
} result;

/* --------------------------------------------------------- kernel pipeline */

static const lif_neuron nrn = {.tau = 2.0f, .v_threshold = 1.0f, .v_reset = 0.0f,
                               .soft_reset = 0, .decay_input = 1, .detach_reset = 0,
                               .surrogate = LIF_SURR_ATAN, .alpha = 2.0f};

static float x_density; /* of x.npy, measured */

/* The problem of op for chunk length Tc; dens is the input density the
 * linear ops are told (see density_hint). */
static lif_problem problem(lif_op op, int Tc, float dens)
{
    lif_problem p = {.op = op, .T = T, .Tc = Tc, .B = B, .threads = 1};
    switch (op) {
    case LIF_OP_ENCODE:
        p.n_in = N_IN;
        break;
    case LIF_OP_LINEAR_FWD:
    case LIF_OP_LINEAR_BWD_W:
    case LIF_OP_LINEAR_BWD_X:
        p.n_in = N_IN, p.n_out = N_OUT, p.density = dens;
        break;
    case LIF_OP_LIF_FWD:
    case LIF_OP_LIF_BWD:
        p.n_out = N_OUT, p.nrn = &nrn;
        break;
    case LIF_OP_SPIKE_COUNT:
        p.n_out = N_OUT;
        break;
    case LIF_OP_LOSS:
        p.n_out = N_OUT, p.loss = LIF_LOSS_MSE;
        break;
    case LIF_OP_OPTIM:
        p.n_in = N_IN, p.n_out = N_OUT, p.opt = LIF_OPT_ADAM; /* n_in·n_out parameters */
        break;
    default:
        break;
    }
    return p;
}

/* The density kernel k is told: x.npy's measured one (~0.2), or -1 if k
 * cannot run the problem (supports() is capability only: a kernel that can
 * run the case runs it at its real density). Prints refusals when verbose. */
/* selection by density: see test of rank.c */
static float density_hint(const lif_kernel_i *k, int Tc, int verbose)
{
    const char *why = NULL;
    char kn[128];
    lif_problem p = problem(k->op, Tc, x_density);
    if (!k->supports || k->supports(&p, &why))
        return x_density;
    if (verbose)
        printf("declined: %s: parity Tc=%d: %s\n", lif_kernel_name(k, kn, sizeof kn), Tc,
               why ? why : "(no reason given)");
    return -1.0f;
}

static void run_kernels(const lif_kernel_i *const *ks, int Tc, const float *W,
                        const uint64_t *xb, size_t ldx, const uint8_t *lab, result *o)
{
    float *I = xalloc(sizeof(float) * T * NB), *H = xalloc(sizeof(float) * T * NB);
    float *v = xalloc(sizeof(float) * NB), *cnt = xalloc(sizeof(float) * NB);
    float *fr = xalloc(sizeof(float) * NB), *ds = xalloc(sizeof(float) * NB);
    float *dv = xalloc(sizeof(float) * NB), *dI = xalloc(sizeof(float) * T * NB);
    float *dW = xalloc(sizeof(float) * NW), *w1 = xalloc(sizeof(float) * NW);
    float *m = xalloc(sizeof(float) * NW), *mv = xalloc(sizeof(float) * NW);
    size_t lds = 1;
    uint64_t *s = xalloc(sizeof(uint64_t) * T * B * lds);
    /* each kernel's context (one thread, as the plan calls a serial kernel):
     * its scratch, sized for the full chunk length Tc, and its init() state */
    lif_ctx ctx[LIF_OP_COUNT];
    for (int op = 0; op < LIF_OP_COUNT; op++) {
        lif_problem p = problem((lif_op)op, Tc, density_hint(ks[op], Tc, 0));
        size_t n = ks[op]->workspace ? ks[op]->workspace(&p) : 0;
        ctx[op] = (lif_ctx){.nthreads = 1, .ws = n ? xalloc(n) : NULL,
                            .ws_stride = (n + 63) / 64 * 64};
        if (ks[op]->init) {
            lif_status st = ks[op]->init(&p, &ctx[op].state);
            CHECK(st == LIF_OK, "%s: init() failed: %s", ks[op]->variant, lif_last_error());
        }
    }
    lif_status st;
#define CALL(op, slot, args)                                                                \
    CHECK((st = ks[op]->run.slot(&ctx[op], &(args))) == LIF_OK, "%s/%s: run() returned %d: %s", \
          lif_op_name(op), ks[op]->variant, (int)st, lif_last_error())

    for (int t0 = 0; t0 < T; t0 += Tc) {
        int tc = Tc < T - t0 ? Tc : T - t0;
        lif_linear_fwd_args la = {.M = tc * B, .n_in = N_IN, .n_out = N_OUT,
                                  .x = xb + (size_t)t0 * B * ldx, .ldx = ldx, .w = W,
                                  .b = NULL, .y = I + t0 * NB, .step = B};
        CALL(LIF_OP_LINEAR_FWD, linear_fwd, la);
        lif_lif_fwd_args fa = {.nrn = &nrn, .Tc = tc, .B = B, .n = N_OUT, .x = I + t0 * NB,
                               .v = v, .h = H + t0 * NB, .s = s + (size_t)t0 * B * lds,
                               .lds = lds};
        CALL(LIF_OP_LIF_FWD, lif_fwd, fa);
        lif_spike_count_args ca = {.Tc = tc, .B = B, .n = N_OUT,
                                   .s = s + (size_t)t0 * B * lds, .lds = lds, .count = cnt};
        CALL(LIF_OP_SPIKE_COUNT, spike_count, ca);
    }
    double loss = NAN;
    int correct = -1;
    lif_loss_args lo = {.kind = LIF_LOSS_MSE, .T = T, .B = B, .n = N_OUT, .count = cnt,
                        .labels = lab, .rate = fr, .ds = ds, .loss = &loss,
                        .correct = &correct};
    CALL(LIF_OP_LOSS, loss, lo);
    int last = (T - 1) / Tc * Tc;
    for (int t0 = last; t0 >= 0; t0 -= Tc) {
        int tc = Tc < T - t0 ? Tc : T - t0;
        lif_lif_bwd_args ba = {.nrn = &nrn, .Tc = tc, .B = B, .n = N_OUT, .h = H + t0 * NB,
                               .ds = ds, .ds_tstride = 0, .dv = dv, .dx = dI + t0 * NB};
        CALL(LIF_OP_LIF_BWD, lif_bwd, ba);
        lif_linear_bwd_w_args wa = {.M = tc * B, .n_in = N_IN, .n_out = N_OUT,
                                    .dy = dI + t0 * NB, .x = xb + (size_t)t0 * B * ldx,
                                    .ldx = ldx, .dw = dW, .db = NULL};
        CALL(LIF_OP_LINEAR_BWD_W, linear_bwd_w, wa);
    }
    memcpy(w1, W, sizeof(float) * NW);
    lif_optim_args oa = {.kind = LIF_OPT_ADAM, .n = NW, .w = w1, .g = dW, .m = m, .v = mv,
                         .step = 1, .lr = (float)LR, .beta1 = 0.9f, .beta2 = 0.999f,
                         .eps = (float)EPS, .momentum = 0.0f, .weight_decay = 0.0f};
    CALL(LIF_OP_OPTIM, optim, oa);
#undef CALL

    for (int k = 0; k < T * NB; k++) {
        int row = k / N_OUT, j = k % N_OUT;
        int sk = (int)(s[(size_t)row * lds + j / 64] >> (j % 64) & 1u);
        o->I[k] = I[k], o->H[k] = H[k], o->dI[k] = dI[k], o->s[k] = sk;
        o->V[k] = sk ? (double)nrn.v_reset : (double)H[k]; /* H(1 - S) + v_reset S */
    }
    for (int k = 0; k < NB; k++)
        o->fr[k] = fr[k];
    for (int k = 0; k < NW; k++)
        o->dW[k] = dW[k], o->W1[k] = w1[k];
    o->loss = loss;
    free(I), free(H), free(v), free(cnt), free(fr), free(ds), free(dv), free(dI), free(dW),
        free(w1), free(m), free(mv), free(s);
    for (int op = 0; op < LIF_OP_COUNT; op++) {
        free(ctx[op].ws);
        if (ks[op]->fini)
            ks[op]->fini(ctx[op].state);
    }
}

/* --------------------------------------------------------- oracle pipeline */

static void run_oracle(const double *W, const double *x, const int *lab, result *o)
{
    orc_neuron nr = {.tau = 2.0, .v_th = 1.0, .v_reset = 0.0, .soft = 0, .decay_input = 1,
                     .detach_reset = 0, .surrogate = 0, .alpha = 2.0};
    double *v = calloc(NB, sizeof *v), *cnt = calloc(NB, sizeof *cnt);
    double *ds = calloc(NB, sizeof *ds), *m = calloc(NW, sizeof *m), *mv = calloc(NW, sizeof *mv);
    int correct;
    orc_linear_fwd(T * B, N_IN, N_OUT, x, W, NULL, o->I, NULL);
    orc_lif_fwd(&nr, T, B, N_OUT, o->I, v, o->H, o->s, o->V);
    orc_spike_count(T, B, N_OUT, o->s, cnt);
    orc_loss(0, T, B, N_OUT, cnt, lab, o->fr, ds, &o->loss, &correct);
    memset(v, 0, NB * sizeof *v);
    orc_lif_bwd(&nr, T, B, N_OUT, o->H, ds, 0, v, o->dI);
    memset(o->dW, 0, sizeof o->dW);
    orc_linear_bwd_w(T * B, N_IN, N_OUT, o->dI, x, o->dW, NULL, NULL);
    memcpy(o->W1, W, sizeof o->W1);
    orc_adam(NW, o->W1, o->dW, m, mv, 1, LR, 0.9, 0.999, EPS, 0.0);
    free(v), free(cnt), free(ds), free(m), free(mv);
}

/* ------------------------------------------------------------- references */

typedef struct refs {
    int f64, ok;
    lif_npy I, H, V, s, fr, loss, dI, dW, W1, W;
} refs;

static void load_case(const char *dir, const lif_npy *W0, refs *r)
{
    memset(r, 0, sizeof *r);
    r->f64 = strstr(dir, "f64") != NULL;
    int ok = load(dir, "I", T * NB, &r->I) & load(dir, "H", T * NB, &r->H) &
             load(dir, "V", T * NB, &r->V) & load(dir, "s", T * NB, &r->s) &
             load(dir, "out_fr", NB, &r->fr) & load(dir, "loss", 1, &r->loss) &
             load(dir, "dL_dI", T * NB, &r->dI) & load(dir, "dL_dW", NW, &r->dW) &
             load(dir, "W_adam1", NW, &r->W1);
    if (strstr(dir, "Wx8")) {
        ok &= load(dir, "W", NW, &r->W);
        /* the folder's W is 8 x W.npy, exactly */
        for (size_t i = 0; ok && i < NW; i++)
            if (r->W.data[i] != 8.0 * W0->data[i]) {
                CHECK(0, "%s/W.npy[%zu] = %.17g is not 8 x W.npy", dir, i, r->W.data[i]);
                ok = 0;
            }
    } else {
        r->W = *W0; /* borrowed; not freed */
    }
    r->ok = ok;
}

static void free_case(refs *r, const lif_npy *W0)
{
    lif_npy *all[] = {&r->I, &r->H, &r->V, &r->s, &r->fr, &r->loss, &r->dI, &r->dW, &r->W1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        lif_npy_free(all[i]);
    if (r->W.data != W0->data)
        lif_npy_free(&r->W);
}

/* Adam's first step moves a weight by lr·g/(|g| + eps) (m̂ = g, sqrt(v̂) =
 * |g|), whose slope in g is lr·eps/(|g| + eps)²: where |g| is near eps a
 * tiny, accepted difference in the gradient moves the new weight by up to
 * ~lr. So the new weight may differ from the reference by what the two
 * gradients explain, lr·|f(g) - f(g_ref)| with f(g) = g/(|g| + eps), on top
 * of the ordinary tolerance. */
static void adam_extra(const double *g, const double *gref, double *extra)
{
    for (size_t i = 0; i < NW; i++)
        extra[i] = LR * fabs(g[i] / (fabs(g[i]) + EPS) - gref[i] / (fabs(gref[i]) + EPS));
}

/* Compares one pipeline's results with a case.
 *
 * Our float32 against the float32 reference (r->f64 == 0):
 *   s, out_fr exact (meta.json: the smallest |H - 1| is 0.0084, far above
 *   any rounding).
 *   I, H, V, dL_dI, dL_dW: 1e-5 relative, plus 1e-5 of the array's largest
 *   magnitude. Two float32 programs that sum in different orders differ by
 *   a few float32 roundings (6e-8) times the magnitude of the terms:
 *   meta.json shows the reference's own single- vs multi-step dL_dW
 *   differing by up to 4.7e-9 absolute (values ~1e-4..1e-3), README.md a
 *   NumPy transcription matching to ~1e-6 relative; 1e-5 is ~10x that.
 *   The array-scale term is there because elements that are sums
 *   cancelling to near zero carry the error of their terms, not of their
 *   own tiny value (observed: 1.5e-3 relative on the smallest I).
 *   loss: 1e-6 relative (out_fr is exact; a sum of 40 squares).
 *   W_adam1: 1e-5 relative, 1e-5 lr absolute, plus adam_extra.
 *
 * Our float32 against the float64 reference (r->f64 == 1): the same
 * bounds. The float64 value is the exact one to ~1e-16, so the difference
 * is our own float32 rounding alone: I is a float32 sum of <= 784 terms,
 * error <~ sqrt(784) x 6e-8 x sum|terms| ~ 2e-6 x max|I| (observed 5e-7
 * for max|I| ~ 1); H, V inherit it through a contraction (1 - 1/tau);
 * dL_dI takes a dozen roundings per step of a 16-step recurrence, dL_dW
 * sums 64 of those. All observed errors use < 15% of the tolerance (the
 * fraction is printed for every array).
 *
 * The oracle (double) against the float64 reference: 1e-12 relative to
 * each element and to the array's scale; observed <= 2e-13 relative on
 * the smallest dL_dW element, 0 on the forward arrays. */
static void compare(const char *ctx, const refs *r, const result *o, int oracle)
{
    double rt = 1e-5, sc = 1e-5;
    double *extra = xalloc(sizeof(double) * NW);
    if (oracle)
        rt = sc = 1e-12;
    cmp(ctx, "I", o->I, r->I.data, T * NB, rt, sc * maxabs(r->I.data, T * NB), NULL);
    cmp(ctx, "H", o->H, r->H.data, T * NB, rt, sc * maxabs(r->H.data, T * NB), NULL);
    cmp(ctx, "V", o->V, r->V.data, T * NB, rt, sc * maxabs(r->V.data, T * NB), NULL);
    cmp(ctx, "s", o->s, r->s.data, T * NB, 0, 0, NULL);
    cmp(ctx, "out_fr", o->fr, r->fr.data, NB, 0, 0, NULL);
    cmp(ctx, "loss", &o->loss, r->loss.data, 1, oracle ? 1e-12 : 1e-6, 0, NULL);
    cmp(ctx, "dL_dI", o->dI, r->dI.data, T * NB, rt, sc * maxabs(r->dI.data, T * NB), NULL);
    cmp(ctx, "dL_dW", o->dW, r->dW.data, NW, rt, sc * maxabs(r->dW.data, NW), NULL);
    adam_extra(o->dW, r->dW.data, extra);
    /* absolute part: the step itself (~lr) to the same relative accuracy */
    cmp(ctx, "W_adam1", o->W1, r->W1.data, NW, oracle ? 1e-12 : 1e-5,
        (oracle ? 1e-12 : 1e-5) * LR, extra);
    free(extra);
}

/* ------------------------------------------------------------------ main */

/* Kernel sets for backend `be`: for each op, the backend's kernels that
 * can run the problem (scalar's as the fallback). Set 0 is what dispatch
 * picks for the backend at the measured density (lif_kernel_select); set
 * j > 0 swaps in one other kernel that can run it. Returns the number of
 * distinct sets written to sets. */
static int kernel_sets(const lif_backend_i *be, const lif_backend_i *scalar, int Tc,
                       const lif_kernel_i *sets[][LIF_OP_COUNT], int max, int verbose)
{
    const lif_kernel_i *best[LIF_OP_COUNT] = {0};
    for (int op = 0; op < LIF_OP_COUNT; op++) {
        for (size_t j = 0; verbose && j < be->n_kernels; j++)
            if ((int)be->kernels[j].op == op)
                density_hint(&be->kernels[j], Tc, verbose); /* prints refusals */
        lif_problem p = problem((lif_op)op, Tc, x_density);
        if (lif_kernel_select(&p, be->name, &best[op]) != LIF_OK || !best[op]) {
            CHECK(0, "%s: lif_kernel_select(%s) failed: %s", be->name, lif_op_name(op),
                  lif_last_error());
            best[op] = NULL;
        }
        for (size_t j = 0; !best[op] && j < scalar->n_kernels; j++)
            if ((int)scalar->kernels[j].op == op)
                best[op] = &scalar->kernels[j];
    }
    int n = 0;
    memcpy(sets[n++], best, sizeof best);
    for (size_t j = 0; j < be->n_kernels && n < max; j++) {
        const lif_kernel_i *k = &be->kernels[j];
        /* encode and linear_bwd_x are not in this pipeline */
        if (k->op == LIF_OP_ENCODE || k->op == LIF_OP_LINEAR_BWD_X || k == best[k->op] ||
            density_hint(k, Tc, 0) < 0.0f)
            continue;
        memcpy(sets[n], best, sizeof best);
        sets[n++][k->op] = k;
    }
    return n;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    lif_npy W0, X, L;
    if (!(load("", "W", NW, &W0) & load("", "x", T * B * N_IN, &X) & load("", "labels", B, &L)))
        return test_finish("test_parity");

    /* inputs for the kernels: W as float32 (exact: W.npy is float32, the
     * Wx8 weights are 8 x that), spikes packed into bits */
    size_t ldx = (N_IN + 63) / 64;
    uint64_t *xb = xalloc(sizeof(uint64_t) * T * B * ldx);
    size_t not01 = 0;
    for (size_t k = 0; k < (size_t)T * B * N_IN; k++) {
        not01 += X.data[k] != 0.0 && X.data[k] != 1.0;
        if (X.data[k] != 0.0)
            xb[k / N_IN * ldx + k % N_IN / 64] |= 1ull << (k % N_IN % 64);
    }
    CHECK(not01 == 0, "x.npy: %zu values are not 0/1", not01);
    double ones = 0;
    for (size_t k = 0; k < (size_t)T * B * N_IN; k++)
        ones += X.data[k];
    x_density = (float)(ones / ((double)T * B * N_IN));
    uint8_t lab[B];
    int labi[B];
    for (int b = 0; b < B; b++) {
        CHECK(L.data[b] >= 0 && L.data[b] < N_OUT, "label %g out of range", L.data[b]);
        labi[b] = (int)L.data[b];
        lab[b] = (uint8_t)labi[b];
    }

    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    const lif_backend_i *scalar = lif_backend_find("scalar");
    CHECK(scalar != NULL, "no scalar backend registered");
    if (!scalar)
        return test_finish("test_parity");
    float *W = xalloc(sizeof(float) * NW);
    result *o = xalloc(sizeof *o);
    int ran = 0;

    for (size_t ic = 0; ic < sizeof cases / sizeof cases[0]; ic++) {
        refs r;
        load_case(cases[ic], &W0, &r);
        if (!r.ok) {
            free_case(&r, &W0);
            continue;
        }
        char ctx[160];
        printf("%s\n", cases[ic]);

        /* the oracle against the float64 references: proves the oracle */
        if (r.f64) {
            run_oracle(r.W.data, X.data, labi, o);
            snprintf(ctx, sizeof ctx, "oracle (double)");
            compare(ctx, &r, o, 1);
        }

        size_t inexact = 0;
        for (size_t k = 0; k < NW; k++) {
            W[k] = (float)r.W.data[k];
            inexact += W[k] != r.W.data[k];
        }
        CHECK(inexact == 0, "%s: %zu weights are not float32 values", cases[ic], inexact);
        for (size_t ib = 0; ib < nb; ib++) {
            const char *why = "";
            if (!lif_backend_available(bs[ib], &why)) {
                if (ic == 0)
                    printf("skipped: %s: %s\n", bs[ib]->name, why ? why : "");
                continue;
            }
            static const int tcs[] = {T, 5};
            for (int it = 0; it < 2; it++) {
                const lif_kernel_i *sets[64][LIF_OP_COUNT];
                int ns = kernel_sets(bs[ib], scalar, tcs[it], sets, 64, ic == 0);
                for (int is = 0; is < ns; is++) {
                    int own = 0; /* kernels of this backend in the set */
                    for (int op = 0; op < LIF_OP_COUNT; op++)
                        own += sets[is][op] != NULL &&
                               strcmp(sets[is][op]->backend, bs[ib]->name) == 0;
                    if (!own) {
                        if (ic == 0 && it == 0)
                            printf("backend %s: no kernel of its own accepts the case; "
                                   "nothing to test beyond scalar\n", bs[ib]->name);
                        continue;
                    }
                    char names[LIF_OP_COUNT][128];
                    for (int op = 0; op < LIF_OP_COUNT; op++)
                        lif_kernel_name(sets[is][op], names[op], sizeof names[op]);
                    snprintf(ctx, sizeof ctx, "%s Tc=%d set %d", bs[ib]->name, tcs[it], is);
                    printf("  %s: %s %s %s %s %s %s %s\n", ctx, names[LIF_OP_LINEAR_FWD],
                           names[LIF_OP_LIF_FWD], names[LIF_OP_SPIKE_COUNT], names[LIF_OP_LOSS],
                           names[LIF_OP_LIF_BWD], names[LIF_OP_LINEAR_BWD_W],
                           names[LIF_OP_OPTIM]);
                    int f0 = test_failures;
                    run_kernels(sets[is], tcs[it], W, xb, ldx, lab, o);
                    compare(ctx, &r, o, 0);
                    if (test_failures != f0)
                        fprintf(stderr, "repro: test_parity case %s backend %s Tc=%d kernels %s "
                                "%s %s %s %s %s %s\n", cases[ic], bs[ib]->name, tcs[it],
                                names[LIF_OP_LINEAR_FWD], names[LIF_OP_LIF_FWD],
                                names[LIF_OP_SPIKE_COUNT], names[LIF_OP_LOSS],
                                names[LIF_OP_LIF_BWD], names[LIF_OP_LINEAR_BWD_W],
                                names[LIF_OP_OPTIM]);
                    ran++;
                }
            }
        }
        free_case(&r, &W0);
    }
    free(W), free(o), free(xb);
    lif_npy_free(&W0), lif_npy_free(&X), lif_npy_free(&L);
    if (!ran && !test_failures)
        test_skip("no backend could run the parity case");
    return test_finish("test_parity");
}
