/* tests/test_plan.c — whole-network plans against the oracle.
 *
 * Where test_kernels.c checks one kernel at a time, this test checks what
 * lif_plan_* makes of them: layer wiring, time chunks, the readout, the
 * optimizer step across layers and biases, the encoder's (seed, epoch, id,
 * domain, t) counters, epochs, shuffling, errors and checkpoints.
 *
 * Exactness. Weights (and biases) are small integers times 1/64, tau = 2,
 * V_th / V_reset dyadic and T <= 10: every float32 operation of the forward
 * pass (linear sums of binary inputs, the LIF charge, the reset) is then
 * exact, so I, H, spikes, V, rates, counts and the correct count must equal
 * the double-precision oracle bit for bit. Backward and loss go through
 * surrogate functions, exp/log and long sums; they are compared with the
 * tolerances stated at each check.
 *
 * Every failing check prints a repro line: case name, shape, options, B, T,
 * Tc and the seed. LIF_TEST_SEED=<n> changes the inputs. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lif/lif.h"
#include "oracle.h"
#include "testutil.h"

/* float32 unit roundoff */
#define U32 5.9604644775390625e-08

static uint64_t base_seed = 0x5eed1234u;
static int verbose;   /* LIF_TEST_VERBOSE=1 */

/* ---------------------------------------------------------------- helpers */

/* mix64, rnd, urand: the shared test-input generator of testutil.h */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}
#define DALLOC(n) ((double *)xcalloc((size_t)(n), sizeof(double)))
#define FALLOC(n) ((float *)xcalloc((size_t)(n), sizeof(float)))

static double maxabs(const double *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* ------------------------------------------------------------ test cases */

typedef struct tcase {
    const char *name;
    int n_in;
    int n_hidden;
    int hidden[3];
    int bias;
    lif_loss_kind loss;
    int soft, detach, decay_input;
    lif_surrogate surr;
    float v_th, v_reset;
    lif_opt_kind opt;
    double lr;
} tcase;

static const char *loss_name(lif_loss_kind k) { return k == LIF_LOSS_CE ? "ce" : "mse"; }

/* One line that identifies a case well enough to rerun it. */
static const char *repro(const tcase *c, int B, int T, int Tc, uint64_t seed)
{
    static char buf[512];
    char dims[64];
    int n = snprintf(dims, sizeof dims, "%d", c->n_in);
    for (int l = 0; l < c->n_hidden; l++)
        n += snprintf(dims + n, sizeof dims - (size_t)n, "-%d", c->hidden[l]);
    snprintf(dims + n, sizeof dims - (size_t)n, "-10");
    snprintf(buf, sizeof buf,
             "[repro: case %s, dims %s, bias %d, loss %s, %s reset (v_th %g v_reset %g), "
             "detach_reset %d, decay_input %d, surrogate %s, opt %s lr %g, B %d, T %d, Tc %d, "
             "seed %llu]",
             c->name, dims, c->bias, loss_name(c->loss), c->soft ? "soft" : "hard",
             (double)c->v_th, (double)c->v_reset, c->detach, c->decay_input,
             c->surr == LIF_SURR_SIGMOID ? "sigmoid" : "atan",
             c->opt == LIF_OPT_SGD ? "sgd" : "adam", c->lr, B, T, Tc,
             (unsigned long long)seed);
    return buf;
}

/* How the plans of the test being run are made: make_recipe sets the
 * chunk length (and the default backend list), run_once the backend. */
static lif_plan_opts plan_opts;
static int plan_recompute = LIF_RECOMPUTE_OFF; /* what make_recipe's options ask */
static int plan_threads = 0;

static void make_recipe(const tcase *c, int T, int Tc, int batch, lif_recipe *r)
{
    lif_recipe_default(r);
    lif_plan_opts_default(&plan_opts);
    plan_opts.Tc = Tc > 0 ? Tc : T;
    plan_opts.recompute = plan_recompute;
    plan_opts.threads = plan_threads;
    plan_opts.workers = 1;
    r->T = T;
    r->batch = batch;
    r->epochs = 1;
    r->seed = 7;
    r->n_hidden = c->n_hidden;
    for (int l = 0; l < c->n_hidden; l++)
        r->hidden[l] = c->hidden[l];
    r->bias = c->bias;
    r->loss = c->loss;
    r->neuron.soft_reset = c->soft;
    r->neuron.detach_reset = c->detach;
    r->neuron.decay_input = c->decay_input;
    r->neuron.surrogate = c->surr;
    r->neuron.alpha = c->surr == LIF_SURR_SIGMOID ? 4.0f : 2.0f;
    r->neuron.v_threshold = c->v_th;
    r->neuron.v_reset = c->v_reset;
    r->opt = c->opt;
    r->lr = c->lr;
}

static orc_neuron to_orc(const lif_neuron *n)
{
    orc_neuron o;
    o.tau = n->tau;
    o.v_th = n->v_threshold;
    o.v_reset = n->v_reset;
    o.soft = n->soft_reset;
    o.decay_input = n->decay_input;
    o.detach_reset = n->detach_reset;
    o.surrogate = n->surrogate == LIF_SURR_SIGMOID ? 1 : 0;
    o.alpha = n->alpha;
    return o;
}

/* Integer multiples of 1/64 chosen so that a layer whose inputs fire with
 * probability `density` gets a mean drive of about 1.5 (V_th = 1) with a
 * spread of about 1: the neurons fire sometimes, not always. */
static void set_dyadic(float *x, size_t n, int fan_in, double density, uint64_t *s)
{
    double active = fmax(1.0, density * fan_in);
    double centre = 1.5 * 64.0 / active, half = sqrt(3.0 * 64.0 * 64.0 / active);
    for (size_t i = 0; i < n; i++) {
        double k = floor(centre + (2.0 * urand(s) - 1.0) * half + 0.5);
        x[i] = (float)(k / 64.0);
    }
}

static void set_net_dyadic(lif_net *net, uint64_t seed)
{
    uint64_t s = seed;
    /* without decay_input the input is not halved: half the weights */
    int halve = !lif_net_recipe(net)->neuron.decay_input;
    for (int l = 0; l < lif_net_layers(net); l++) {
        lif_layer_view v;
        lif_net_layer(net, l, &v);
        double dens = l == 0 ? 0.3 : 0.35;
        set_dyadic(v.w, (size_t)v.n_out * v.n_in, v.n_in, halve ? 2 * dens : dens, &s);
        if (v.b)
            for (int o = 0; o < v.n_out; o++)
                v.b[o] = (float)(floor((2.0 * urand(&s) - 1.0) * 16.0 + 0.5) / 64.0);
    }
}

/* Copies every parameter of src into dst (same shapes). */
static void copy_params(lif_net *dst, lif_net *src)
{
    for (int l = 0; l < lif_net_layers(src); l++) {
        lif_layer_view a, b;
        lif_net_layer(src, l, &a);
        lif_net_layer(dst, l, &b);
        memcpy(b.w, a.w, (size_t)a.n_out * a.n_in * sizeof(float));
        if (a.b && b.b)
            memcpy(b.b, a.b, (size_t)a.n_out * sizeof(float));
    }
}

static int params_equal(lif_net *a, lif_net *b)
{
    if (lif_net_layers(a) != lif_net_layers(b))
        return 0;
    for (int l = 0; l < lif_net_layers(a); l++) {
        lif_layer_view x, y;
        lif_net_layer(a, l, &x);
        lif_net_layer(b, l, &y);
        if (x.n_in != y.n_in || x.n_out != y.n_out || !x.b != !y.b)
            return 0;
        if (memcmp(x.w, y.w, (size_t)x.n_out * x.n_in * sizeof(float)) != 0)
            return 0;
        if (x.b && memcmp(x.b, y.b, (size_t)x.n_out * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

/* Random 0/1 spikes [T, B, n] at density p. */
static float *random_spikes(int T, int B, int n, double p, uint64_t *s)
{
    float *x = FALLOC((size_t)T * B * n);
    for (size_t i = 0; i < (size_t)T * B * n; i++)
        x[i] = urand(s) < p ? 1.0f : 0.0f;
    return x;
}

/* ------------------------------------------------------ oracle composition */

/* The whole network in double: per layer the input spikes x, the linear
 * current I, H, S, V after reset, dI, and the parameter gradients. */
typedef struct onet {
    int L, T, B;
    int dims[LIF_MAX_HIDDEN + 2];
    orc_neuron nr;
    int loss_kind;
    double *x[LIF_MAX_HIDDEN + 2];   /* x[l]: [T, B, dims[l]], x[l+1] = S of layer l */
    double *w[LIF_MAX_HIDDEN + 1], *b[LIF_MAX_HIDDEN + 1];
    double *I[LIF_MAX_HIDDEN + 1], *H[LIF_MAX_HIDDEN + 1], *V[LIF_MAX_HIDDEN + 1];
    double *dI[LIF_MAX_HIDDEN + 1];
    double *gw[LIF_MAX_HIDDEN + 1], *gb[LIF_MAX_HIDDEN + 1];
    double *magw[LIF_MAX_HIDDEN + 1];   /* sum |dI x| per weight */
    double *count, *rate, *ds;
    double loss;
    int correct;
} onet;

static void onet_init(onet *o, lif_net *net, int T, int B)
{
    memset(o, 0, sizeof *o);
    const lif_recipe *r = lif_net_recipe(net);
    o->L = lif_net_layers(net);
    o->T = T;
    o->B = B;
    o->nr = to_orc(&r->neuron);
    o->loss_kind = r->loss == LIF_LOSS_CE ? 1 : 0;
    size_t TB = (size_t)T * B;
    for (int l = 0; l < o->L; l++) {
        lif_layer_view v;
        lif_net_layer(net, l, &v);
        o->dims[l] = v.n_in;
        o->dims[l + 1] = v.n_out;
        size_t n = (size_t)v.n_out;
        o->w[l] = DALLOC(n * v.n_in);
        o->b[l] = v.b ? DALLOC(n) : NULL;
        o->I[l] = DALLOC(TB * n);
        o->H[l] = DALLOC(TB * n);
        o->V[l] = DALLOC(TB * n);
        o->dI[l] = DALLOC(TB * n);
        o->gw[l] = DALLOC(n * v.n_in);
        o->gb[l] = DALLOC(n);
        o->magw[l] = DALLOC(n * v.n_in);
    }
    for (int l = 0; l <= o->L; l++)
        o->x[l] = DALLOC(TB * o->dims[l]);
    size_t nc = (size_t)B * o->dims[o->L];
    o->count = DALLOC(nc);
    o->rate = DALLOC(nc);
    o->ds = DALLOC(nc);
}

static void onet_free(onet *o)
{
    for (int l = 0; l < o->L; l++) {
        free(o->w[l]);
        free(o->b[l]);
        free(o->I[l]);
        free(o->H[l]);
        free(o->V[l]);
        free(o->dI[l]);
        free(o->gw[l]);
        free(o->gb[l]);
        free(o->magw[l]);
    }
    for (int l = 0; l <= o->L; l++)
        free(o->x[l]);
    free(o->count);
    free(o->rate);
    free(o->ds);
}

/* Takes the net's current parameters (float -> double, exact). */
static void onet_load_params(onet *o, lif_net *net)
{
    for (int l = 0; l < o->L; l++) {
        lif_layer_view v;
        lif_net_layer(net, l, &v);
        for (size_t i = 0; i < (size_t)v.n_out * v.n_in; i++)
            o->w[l][i] = v.w[i];
        if (v.b)
            for (int i = 0; i < v.n_out; i++)
                o->b[l][i] = v.b[i];
    }
}

/* Forward and backward through the whole network, each op over all T
 * steps at once (no chunks), from input spikes x[0] (already set). */
static void onet_run(onet *o, const int *labels)
{
    int T = o->T, B = o->B, L = o->L, M = T * B;
    for (int l = 0; l < L; l++) {
        int n = o->dims[l + 1];
        double *v = DALLOC((size_t)B * n);
        orc_linear_fwd(M, o->dims[l], n, o->x[l], o->w[l], o->b[l], o->I[l], NULL);
        orc_lif_fwd(&o->nr, T, B, n, o->I[l], v, o->H[l], o->x[l + 1], o->V[l]);
        free(v);
    }
    int nc = o->dims[L];
    memset(o->count, 0, (size_t)B * nc * sizeof(double));
    orc_spike_count(T, B, nc, o->x[L], o->count);
    orc_loss(o->loss_kind, T, B, nc, o->count, labels, o->rate, o->ds, &o->loss, &o->correct);

    double *dS = NULL;   /* dL/dS of layer l, [T, B, n], from layer l+1 */
    for (int l = L - 1; l >= 0; l--) {
        int n = o->dims[l + 1], k = o->dims[l];
        double *dv = DALLOC((size_t)B * n);
        if (l == L - 1)
            orc_lif_bwd(&o->nr, T, B, n, o->H[l], o->ds, 0, dv, o->dI[l]);
        else
            orc_lif_bwd(&o->nr, T, B, n, o->H[l], dS, (size_t)B * n, dv, o->dI[l]);
        free(dv);
        free(dS);
        dS = NULL;
        memset(o->gw[l], 0, (size_t)n * k * sizeof(double));
        memset(o->gb[l], 0, (size_t)n * sizeof(double));
        orc_linear_bwd_w(M, k, n, o->dI[l], o->x[l], o->gw[l], o->b[l] ? o->gb[l] : NULL,
                         o->magw[l]);
        if (l > 0) {
            dS = DALLOC((size_t)M * k);
            orc_linear_bwd_x(M, k, n, o->dI[l], o->w[l], dS, NULL);
        }
    }
    free(dS);
}

/* Compares n floats to doubles exactly; reports the first mismatch and the
 * number of mismatches. Returns the mismatch count. */
static size_t cmp_exact(const float *got, const double *want, size_t n, const char *what,
                        int layer, const char *rp)
{
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if ((double)got[i] != want[i] && bad++ == 0)
            first = i;
    CHECK(bad == 0, "%s layer %d: %zu of %zu differ, first [%zu] got %.9g want %.17g %s", what,
          layer, bad, n, first, bad ? (double)got[first] : 0.0, bad ? want[first] : 0.0, rp);
    return bad;
}

/* |got - want| <= rtol*|want| + atol[i] (atol NULL: atol0). */
static size_t cmp_close(const float *got, const double *want, size_t n, double rtol,
                        const double *atol, double atol0, const char *what, int layer,
                        const char *rp)
{
    size_t bad = 0, first = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double tol = rtol * fabs(want[i]) + (atol ? atol[i] : atol0);
        double err = fabs((double)got[i] - want[i]);
        if (!(err <= tol)) {
            if (bad++ == 0)
                first = i;
        }
        if (tol > 0 && err / tol > worst)
            worst = err / tol;
    }
    if (verbose)
        printf("  %-20s layer %d: worst err/tol %.3g\n", what, layer, worst);
    CHECK(bad == 0,
          "%s layer %d: %zu of %zu outside tolerance, first [%zu] got %.9g want %.17g "
          "(worst err/tol %.3g) %s",
          what, layer, bad, n, first, bad ? (double)got[first] : 0.0, bad ? want[first] : 0.0,
          worst, rp);
    return bad;
}

/* Checks every buffer of the plan's last forward+backward against the
 * oracle. Forward quantities are exact (dyadic parameters). */
static void check_plan_vs_oracle(lif_plan *plan, const onet *o, const lif_result *res,
                                 const char *rp)
{
    int T = o->T, B = o->B, L = o->L, nc = o->dims[L];
    size_t cnt = 0;
    for (int l = 0; l < L; l++) {
        int n = o->dims[l + 1], k = o->dims[l];
        size_t TBn = (size_t)T * B * n;
        /* premise of exactness: the oracle's values are float32 numbers */
        size_t not_f32 = 0;
        for (size_t i = 0; i < TBn; i++)
            not_f32 += (double)(float)o->H[l][i] != o->H[l][i];
        CHECK(not_f32 == 0, "test setup: %zu oracle H values of layer %d are not float32-exact %s",
              not_f32, l, rp);

        const float *I = lif_plan_buffer(plan, "I", l, &cnt);
        CHECK(I && cnt == TBn, "buffer I layer %d: count %zu, want %zu %s", l, cnt, TBn, rp);
        if (I && cnt == TBn)
            cmp_exact(I, o->I[l], TBn, "I", l, rp);
        const float *H = lif_plan_buffer(plan, "H", l, &cnt);
        CHECK(H && cnt == TBn, "buffer H layer %d: count %zu, want %zu %s", l, cnt, TBn, rp);
        if (H && cnt == TBn)
            cmp_exact(H, o->H[l], TBn, "H", l, rp);

        /* dI: float32 vs double. Each element is a T-step recurrence of
         * about ten float ops per step (surrogate, dV/dH, the 1-1/tau
         * carry) on values that may cancel (dV/dH < 0 for a hard reset;
         * dS = dI.W of the layer above), so the error is bounded relative
         * to the scale of the layer's gradient, not to each element:
         * <= ~10*T ulps (9 steps: 90u = 5.4e-6) of max|dI|, checked at 1e-5. */
        const float *dI = lif_plan_buffer(plan, "dI", l, &cnt);
        CHECK(dI && cnt == TBn, "buffer dI layer %d: count %zu, want %zu %s", l, cnt, TBn, rp);
        double scale = maxabs(o->dI[l], TBn);
        if (dI && cnt == TBn)
            cmp_close(dI, o->dI[l], TBn, 1e-5, NULL, 1e-5 * scale + 1e-30, "dI", l, rp);

        /* grad_w = sum over the T*B rows of dI where the input fired: each
         * term carries dI's error (<= 1e-5 * max|dI|), the float sum of
         * K = T*B terms adds <= K ulps of sum|terms| (oracle's magw). */
        const float *gw = lif_plan_buffer(plan, "grad_w", l, &cnt);
        size_t nw = (size_t)n * k;
        CHECK(gw && cnt == nw, "buffer grad_w layer %d: count %zu, want %zu %s", l, cnt, nw, rp);
        if (gw && cnt == nw) {
            double *tol = DALLOC(nw);
            int K = T * B;
            for (size_t i = 0; i < nw; i++)
                tol[i] = (K + 4) * U32 * o->magw[l][i] + 1e-5 * scale * K + 1e-30;
            cmp_close(gw, o->gw[l], nw, 0.0, tol, 0.0, "grad_w", l, rp);
            free(tol);
        }
        if (o->b[l]) {
            const float *gb = lif_plan_buffer(plan, "grad_b", l, &cnt);
            CHECK(gb && cnt == (size_t)n, "buffer grad_b layer %d: count %zu %s", l, cnt, rp);
            if (gb && cnt == (size_t)n) {
                double *tol = DALLOC(n);
                int K = T * B;
                for (int o2 = 0; o2 < n; o2++) {
                    double mag = 0.0;
                    for (int m = 0; m < K; m++)
                        mag += fabs(o->dI[l][(size_t)m * n + o2]);
                    tol[o2] = (K + 4) * U32 * mag + 1e-5 * scale * K + 1e-30;
                }
                cmp_close(gb, o->gb[l], (size_t)n, 0.0, tol, 0.0, "grad_b", l, rp);
                free(tol);
            }
        }
    }
    /* rates: count / T in float is correctly rounded, and so is the
     * oracle's double quotient cast to float (53 >= 2*24 + 2 bits), so the
     * two agree exactly. */
    const float *rate = lif_plan_buffer(plan, "rate", 0, &cnt);
    CHECK(rate && cnt == (size_t)B * nc, "buffer rate: count %zu, want %d %s", cnt, B * nc, rp);
    if (rate && cnt == (size_t)B * nc) {
        size_t bad = 0;
        for (size_t i = 0; i < (size_t)B * nc; i++)
            bad += rate[i] != (float)o->rate[i];
        CHECK(bad == 0, "rate: %zu of %d differ %s", bad, B * nc, rp);
    }
    /* loss: the engine squares float differences (rate - onehot) or takes
     * exp/log of float rates in double; the rates are exact, the float
     * difference rounds once (u) -> relative 1e-6 is ample. */
    CHECK_CLOSE(res->loss, o->loss, 1e-6, 1e-12, "loss got %.12g want %.12g %s", res->loss,
                o->loss, rp);
    CHECK(res->correct == o->correct, "correct got %d want %d %s", res->correct, o->correct, rp);

    /* the last layer's V and S through lif_plan_trace, exact */
    float *v = FALLOC((size_t)T * nc), *s = FALLOC((size_t)T * nc);
    for (int b = 0; b < B; b++) {
        lif_status st = lif_plan_trace(plan, b, v, s);
        CHECK(st == LIF_OK, "trace b %d: %s %s", b, lif_last_error(), rp);
        size_t bad = 0;
        for (int t = 0; t < T; t++)
            for (int j = 0; j < nc; j++) {
                size_t k = ((size_t)t * B + b) * nc + j;
                bad += (double)v[(size_t)t * nc + j] != o->V[L - 1][k];
                bad += (double)s[(size_t)t * nc + j] != o->x[L][k];
            }
        CHECK(bad == 0, "trace b %d: %zu V/S values differ from the oracle %s", b, bad, rp);
    }
    free(v);
    free(s);
}

/* Fraction of spikes of each layer, to make sure a case exercises both
 * spiking and silent neurons (a test where nothing fires proves little). */
static void check_activity(const onet *o, const char *rp)
{
    for (int l = 1; l <= o->L; l++) {
        size_t n = (size_t)o->T * o->B * o->dims[l], on = 0;
        for (size_t i = 0; i < n; i++)
            on += o->x[l][i] != 0.0;
        double f = (double)on / n;
        if (verbose)
            printf("  activity layer %d: %.3f %s\n", l - 1, f, rp);
        CHECK(f > 0.02 && f < 0.98, "test setup: layer %d fires at %.3f, want a mix %s", l - 1, f,
              rp);
    }
}

/* ============================================ 1. plans vs oracle composition */

static void test_oracle_case(const tcase *c, int B, int T, int steps, uint64_t seed)
{
    lif_recipe r;
    make_recipe(c, T, 0, B, &r);
    const char *rp0 = repro(c, B, T, T, seed);
    char rp[600];
    lif_net *net = NULL;
    lif_plan *plan = NULL;
    lif_status st = lif_net_create(&r, c->n_in, 10, &net);
    CHECK(st == LIF_OK, "net_create: %s %s", lif_last_error(), rp0);
    if (st != LIF_OK)
        return;
    st = lif_plan_create(net, B, &plan_opts, &plan);
    CHECK(st == LIF_OK, "plan_create: %s %s", lif_last_error(), rp0);
    if (st != LIF_OK) {
        lif_net_destroy(net);
        return;
    }
    set_net_dyadic(net, seed);

    uint64_t s = seed ^ 0xabcdefull;
    float *spk = random_spikes(T, B, c->n_in, 0.3, &s);
    uint8_t labels[16];
    int ilabels[16];
    for (int b = 0; b < B; b++) {
        labels[b] = (uint8_t)(rnd(&s) % 10);
        ilabels[b] = labels[b];
    }
    lif_batch bt = {.B = B, .labels = labels, .spikes = spk};

    onet o;
    onet_init(&o, net, T, B);
    for (size_t i = 0; i < (size_t)T * B * c->n_in; i++)
        o.x[0][i] = spk[i];
    int L = o.L;
    /* optimizer state of the oracle, in double, carried across steps */
    double *m[LIF_MAX_HIDDEN + 1], *v[LIF_MAX_HIDDEN + 1];
    double *bm[LIF_MAX_HIDDEN + 1], *bv[LIF_MAX_HIDDEN + 1];
    for (int l = 0; l < L; l++) {
        size_t nw = (size_t)o.dims[l + 1] * o.dims[l];
        m[l] = DALLOC(nw);
        v[l] = DALLOC(nw);
        bm[l] = DALLOC(o.dims[l + 1]);
        bv[l] = DALLOC(o.dims[l + 1]);
    }

    for (int step = 1; step <= steps; step++) {
        snprintf(rp, sizeof rp, "%s (step %d)", rp0, step);
        lif_result res = {0};
        st = lif_plan_forward(plan, &bt, &res);
        CHECK(st == LIF_OK, "forward: %s %s", lif_last_error(), rp);
        st = lif_plan_backward(plan);
        CHECK(st == LIF_OK, "backward: %s %s", lif_last_error(), rp);
        if (st != LIF_OK)
            break;
        onet_load_params(&o, net);
        onet_run(&o, ilabels);
        if (step == 1)
            check_activity(&o, rp);
        check_plan_vs_oracle(plan, &o, &res, rp);

        /* The optimizer step, against orc_adam / orc_sgd applied to the
         * engine's own gradients (already checked above; feeding the
         * oracle's gradients instead would let Adam's g/|g| amplify the
         * float noise of near-zero gradients to a full lr). */
        long step_before = lif_net_step(net);
        double *wnew[LIF_MAX_HIDDEN + 1], *bnew[LIF_MAX_HIDDEN + 1];
        for (int l = 0; l < L; l++) {
            int n = o.dims[l + 1];
            size_t nw = (size_t)n * o.dims[l], cnt;
            const float *gwf = lif_plan_buffer(plan, "grad_w", l, &cnt);
            const float *gbf = lif_plan_buffer(plan, "grad_b", l, &cnt);
            double *g = DALLOC(nw), *gb = DALLOC(n);
            for (size_t i = 0; i < nw; i++)
                g[i] = gwf[i];
            for (int i = 0; i < n; i++)
                gb[i] = gbf[i];
            wnew[l] = DALLOC(nw);
            memcpy(wnew[l], o.w[l], nw * sizeof(double));
            bnew[l] = NULL;
            if (r.opt == LIF_OPT_ADAM)
                orc_adam(nw, wnew[l], g, m[l], v[l], step_before + 1, r.lr, r.beta1, r.beta2,
                         r.eps, 0.0);
            else
                orc_sgd(nw, wnew[l], g, v[l], step_before + 1, r.lr, r.momentum, 0.0);
            if (o.b[l]) {
                bnew[l] = DALLOC(n);
                memcpy(bnew[l], o.b[l], (size_t)n * sizeof(double));
                if (r.opt == LIF_OPT_ADAM)
                    orc_adam((size_t)n, bnew[l], gb, bm[l], bv[l], step_before + 1, r.lr,
                             r.beta1, r.beta2, r.eps, 0.0);
                else
                    orc_sgd((size_t)n, bnew[l], gb, bv[l], step_before + 1, r.lr, r.momentum,
                            0.0);
            }
            free(g);
            free(gb);
        }
        st = lif_plan_update(plan);
        CHECK(st == LIF_OK, "update: %s %s", lif_last_error(), rp);
        CHECK(lif_net_step(net) == step_before + 1, "step %ld after update, want %ld %s",
              lif_net_step(net), step_before + 1, rp);
        for (int l = 0; l < L; l++) {
            lif_layer_view lv;
            lif_net_layer(net, l, &lv);
            size_t nw = (size_t)lv.n_out * lv.n_in;
            /* float32 Adam/SGD vs double on the same gradient: the update
             * (lr * m/(sqrt(v)+eps), |m/sqrt v| <~ 1/(1-beta1)) has a few
             * ulps of relative error, m and v a few more carried across
             * steps, and w rounds to float once: 1e-5*lr*step + 2u|w|. */
            double atol = 1e-5 * r.lr * step;
            cmp_close(lv.w, wnew[l], nw, 2 * U32, NULL, atol, "weight after update", l, rp);
            if (lv.b)
                cmp_close(lv.b, bnew[l], (size_t)lv.n_out, 2 * U32, NULL, atol,
                          "bias after update", l, rp);
            /* Back onto the 1/64 grid for the next step, so its forward pass
             * is exact again; the optimizer state (m, v, momentum, step)
             * carries on, which is what steps 2 and 3 test. */
            for (size_t i = 0; i < nw; i++)
                lv.w[i] = (float)(floor(lv.w[i] * 64.0 + 0.5) / 64.0);
            if (lv.b)
                for (int i = 0; i < lv.n_out; i++)
                    lv.b[i] = (float)(floor(lv.b[i] * 64.0 + 0.5) / 64.0);
            free(wnew[l]);
            free(bnew[l]);
        }
    }
    for (int l = 0; l < L; l++) {
        free(m[l]);
        free(v[l]);
        free(bm[l]);
        free(bv[l]);
    }
    onet_free(&o);
    free(spk);
    lif_plan_destroy(plan);
    lif_net_destroy(net);
}

static const tcase cases[] = {
    /* the reference recipe's network */
    {"ref", 784, 0, {0}, 0, LIF_LOSS_MSE, 0, 0, 1, LIF_SURR_ATAN, 1.0f, 0.0f, LIF_OPT_ADAM, 1e-2},
    {"ref_ce_soft_sgd", 784, 0, {0}, 1, LIF_LOSS_CE, 1, 0, 1, LIF_SURR_ATAN, 1.0f, 0.0f,
     LIF_OPT_SGD, 0.5},
    {"h20_bias_ce_soft", 50, 1, {20}, 1, LIF_LOSS_CE, 1, 0, 1, LIF_SURR_ATAN, 1.0f, 0.0f,
     LIF_OPT_SGD, 0.5},
    {"h20_nodecay", 50, 1, {20}, 0, LIF_LOSS_MSE, 0, 0, 0, LIF_SURR_ATAN, 1.0f, 0.0f,
     LIF_OPT_ADAM, 1e-2},
    {"h16_12_detach_sigmoid", 50, 2, {16, 12}, 0, LIF_LOSS_MSE, 0, 1, 1, LIF_SURR_SIGMOID, 1.0f,
     0.0f, LIF_OPT_ADAM, 1e-2},
    {"h16_12_bias_soft_detach_sig", 50, 2, {16, 12}, 1, LIF_LOSS_CE, 1, 1, 1, LIF_SURR_SIGMOID,
     1.0f, 0.0f, LIF_OPT_SGD, 0.5},
    {"h16_12_bias_vreset", 50, 2, {16, 12}, 1, LIF_LOSS_MSE, 0, 0, 1, LIF_SURR_ATAN, 0.75f,
     -0.25f, LIF_OPT_ADAM, 1e-2},
    {"h20_bias_nodecay_soft_ce", 50, 1, {20}, 1, LIF_LOSS_CE, 1, 0, 0, LIF_SURR_SIGMOID, 1.0f,
     0.0f, LIF_OPT_ADAM, 1e-2},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static void test_oracle(void)
{
    static const int Bs[] = {1, 5};
    for (size_t c = 0; c < N_CASES; c++)
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 3; k++)
                test_oracle_case(&cases[c], Bs[i], 9, 3,
                                 mix64(base_seed + c * 16 + (uint64_t)i * 4 + (uint64_t)k));
}

/* ============================================================ 2. chunking */

typedef struct snap {
    int L;
    size_t n[LIF_MAX_HIDDEN + 1], nw[LIF_MAX_HIDDEN + 1], nb[LIF_MAX_HIDDEN + 1], nr;
    float *I[LIF_MAX_HIDDEN + 1], *H[LIF_MAX_HIDDEN + 1], *dI[LIF_MAX_HIDDEN + 1];
    float *gw[LIF_MAX_HIDDEN + 1], *gb[LIF_MAX_HIDDEN + 1];
    float *rate, *v, *s;
    lif_result res;
    char kernels[512];   /* linear_fwd kernel of each layer, for messages */
} snap;

static float *dup_buf(const lif_plan *p, const char *name, int l, size_t *n)
{
    size_t cnt = 0;
    const float *x = lif_plan_buffer(p, name, l, &cnt);
    float *y = FALLOC(cnt);
    if (x)
        memcpy(y, x, cnt * sizeof(float));
    *n = x ? cnt : 0;
    return y;
}

static void take_snap(snap *sn, lif_plan *p, lif_net *net, int T, int B, const lif_result *res)
{
    memset(sn, 0, sizeof *sn);
    sn->L = lif_net_layers(net);
    for (int l = 0; l < sn->L; l++) {
        sn->I[l] = dup_buf(p, "I", l, &sn->n[l]);
        sn->H[l] = dup_buf(p, "H", l, &sn->n[l]);
        sn->dI[l] = dup_buf(p, "dI", l, &sn->n[l]);
        sn->gw[l] = dup_buf(p, "grad_w", l, &sn->nw[l]);
        sn->gb[l] = dup_buf(p, "grad_b", l, &sn->nb[l]);
    }
    sn->rate = dup_buf(p, "rate", 0, &sn->nr);
    sn->v = FALLOC((size_t)B * T * 10);
    sn->s = FALLOC((size_t)B * T * 10);
    for (int b = 0; b < B; b++)
        lif_plan_trace(p, b, sn->v + (size_t)b * T * 10, sn->s + (size_t)b * T * 10);
    sn->res = *res;
    size_t k = 0;
    for (int l = 0; l < sn->L && k < sizeof sn->kernels; l++)
        k += (size_t)snprintf(sn->kernels + k, sizeof sn->kernels - k, "%s%s", l ? " " : "",
                              lif_plan_kernel(p, LIF_OP_LINEAR_FWD, l));
}

static void free_snap(snap *sn)
{
    for (int l = 0; l < sn->L; l++) {
        free(sn->I[l]);
        free(sn->H[l]);
        free(sn->dI[l]);
        free(sn->gw[l]);
        free(sn->gb[l]);
    }
    free(sn->rate);
    free(sn->v);
    free(sn->s);
}

static int same_f(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof(float)) == 0;
}

/* "k of n differ, max |diff| d" for a failure message (static buffer) */
static const char *diff_str(const float *a, const float *b, size_t n)
{
    static char buf[96];
    size_t k = 0;
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            k++;
            m = fmax(m, fabs((double)a[i] - b[i]));
        }
    snprintf(buf, sizeof buf, "%zu of %zu differ, max |diff| %.3g", k, n, m);
    return buf;
}

/* Forward quantities bitwise equal; exact_grad: dI, grad too. */
static void cmp_snaps(const snap *a, const snap *b, int T, int B, int exact_grad,
                      const char *what, const char *rp)
{
    CHECK(a->res.loss == b->res.loss && a->res.correct == b->res.correct,
          "%s: loss %.17g/%d vs %.17g/%d %s", what, a->res.loss, a->res.correct, b->res.loss,
          b->res.correct, rp);
    CHECK(a->nr == b->nr && same_f(a->rate, b->rate, a->nr), "%s: rates differ %s", what, rp);
    CHECK(same_f(a->s, b->s, (size_t)B * T * 10) && same_f(a->v, b->v, (size_t)B * T * 10),
          "%s: output spikes / V differ (spikes: %s; linear_fwd kernels: [%s] vs [%s]) %s", what,
          diff_str(a->s, b->s, (size_t)B * T * 10), a->kernels, b->kernels, rp);
    for (int l = 0; l < a->L; l++) {
        if (!a->n[l] || !b->n[l]) { /* a plan that recomputes keeps one chunk: grads only */
            CHECK(a->nw[l] == b->nw[l] && same_f(a->gw[l], b->gw[l], a->nw[l]),
                  "%s: grad_w layer %d differs (%s) %s", what, l,
                  diff_str(a->gw[l], b->gw[l], a->nw[l]), rp);
            CHECK(a->nb[l] == b->nb[l] && same_f(a->gb[l], b->gb[l], a->nb[l]),
                  "%s: grad_b layer %d differs %s", what, l, rp);
            continue;
        }
        CHECK(a->n[l] == b->n[l] && same_f(a->I[l], b->I[l], a->n[l]),
              "%s: I layer %d differs (%s; linear_fwd kernels: [%s] vs [%s]) %s", what, l,
              diff_str(a->I[l], b->I[l], a->n[l]), a->kernels, b->kernels, rp);
        CHECK(a->n[l] == b->n[l] && same_f(a->H[l], b->H[l], a->n[l]),
              "%s: H layer %d differs (%s) %s", what, l, diff_str(a->H[l], b->H[l], a->n[l]), rp);
        if (exact_grad) {
            CHECK(same_f(a->dI[l], b->dI[l], a->n[l]), "%s: dI layer %d differs %s", what, l, rp);
            CHECK(a->nw[l] == b->nw[l] && same_f(a->gw[l], b->gw[l], a->nw[l]),
                  "%s: grad_w layer %d differs %s", what, l, rp);
            CHECK(a->nb[l] == b->nb[l] && same_f(a->gb[l], b->gb[l], a->nb[l]),
                  "%s: grad_b layer %d differs %s", what, l, rp);
            continue;
        }
        /* dI of one element is the same recurrence in any chunking (dV is
         * carried between chunks), only a different kernel could reorder
         * it: a few ulps of the layer's gradient scale. grad_w sums the
         * same T*B terms in another order (chunks last to first): at most
         * K = T*B ulps of sum|terms| <= K * max|dI| * K. */
        size_t n = a->n[l];
        double sc = 0.0;
        for (size_t i = 0; i < n; i++)
            sc = fmax(sc, fabs(a->dI[l][i]));
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += !(fabs(a->dI[l][i] - b->dI[l][i]) <= 8 * U32 * sc);
        CHECK(bad == 0, "%s: dI layer %d: %zu values differ beyond 8 ulps of %g %s", what, l, bad,
              sc, rp);
        double K = (double)T * B, tol = (K + 8) * U32 * sc * K + 1e-30;
        bad = 0;
        for (size_t i = 0; i < a->nw[l]; i++)
            bad += !(fabs(a->gw[l][i] - b->gw[l][i]) <= tol);
        CHECK(a->nw[l] == b->nw[l] && bad == 0, "%s: grad_w layer %d: %zu beyond %g %s", what, l,
              bad, tol, rp);
        bad = 0;
        for (size_t i = 0; i < a->nb[l]; i++)
            bad += !(fabs(a->gb[l][i] - b->gb[l][i]) <= tol);
        CHECK(a->nb[l] == b->nb[l] && bad == 0, "%s: grad_b layer %d: %zu beyond %g %s", what, l,
              bad, tol, rp);
    }
}

/* Builds a net for (c, T, Tc, B) with parameters from `from` (or dyadic
 * from seed when from is NULL) and runs one forward+backward. */
static int run_once(const tcase *c, int T, int Tc, int B, const char *backend, lif_net *from,
                    uint64_t seed, const lif_batch *bt, snap *out, lif_net **net_out)
{
    lif_recipe r;
    make_recipe(c, T, Tc, B, &r);
    snprintf(plan_opts.backend, sizeof plan_opts.backend, "%s", backend);
    lif_net *net = NULL;
    lif_plan *plan = NULL;
    const char *rp = repro(c, B, T, Tc, seed);
    if (lif_net_create(&r, c->n_in, 10, &net) != LIF_OK) {
        CHECK(0, "net_create: %s %s", lif_last_error(), rp);
        return 0;
    }
    if (from)
        copy_params(net, from);
    else
        set_net_dyadic(net, seed);
    if (lif_plan_create(net, B, &plan_opts, &plan) != LIF_OK) {
        CHECK(0, "plan_create: %s %s", lif_last_error(), rp);
        lif_net_destroy(net);
        return 0;
    }
    lif_result res = {0};
    lif_status st = lif_plan_forward(plan, bt, &res);
    CHECK(st == LIF_OK, "forward: %s %s", lif_last_error(), rp);
    st = lif_plan_backward(plan);
    CHECK(st == LIF_OK, "backward: %s %s", lif_last_error(), rp);
    take_snap(out, plan, net, T, B, &res);
    lif_plan_destroy(plan);
    if (net_out)
        *net_out = net;
    else
        lif_net_destroy(net);
    return 1;
}

static void test_chunking(void)
{
    static const struct {
        int T, Tc;
    } chunks[] = {{9, 1}, {9, 4}, {9, 9}, {9, 2}, {10, 4}, {10, 3}, {10, 1}, {10, 7}};
    const tcase *sel[] = {&cases[0], &cases[5], &cases[6]};
    for (size_t ci = 0; ci < sizeof sel / sizeof sel[0]; ci++) {
        const tcase *c = sel[ci];
        for (int enc = 0; enc < 2; enc++)
            for (int Ti = 0; Ti < 2; Ti++) {
                int T = Ti ? 10 : 9, B = 5;
                uint64_t seed = mix64(base_seed ^ (0xc0ffee00u + ci * 4 + (uint64_t)Ti));
                uint64_t s = seed;
                float *spk = random_spikes(T, B, c->n_in, 0.3, &s);
                uint8_t labels[8], pixels[5 * 784];
                uint32_t ids[8];
                for (int b = 0; b < B; b++) {
                    labels[b] = (uint8_t)(rnd(&s) % 10);
                    ids[b] = (uint32_t)(rnd(&s) % 60000);
                }
                for (int i = 0; i < B * c->n_in; i++)
                    pixels[i] = urand(&s) < 0.5 ? 0 : (uint8_t)(rnd(&s) % 256);
                lif_batch bt = {.B = B, .labels = labels, .pixels = pixels, .ids = ids,
                                .epoch = 3, .domain = 0, .spikes = enc ? NULL : spk};
                /* reference: Tc = 0 (= T); dyadic parameters so that any
                 * kernel's summation order gives the same I (exact). */
                snap ref, ref_sc;
                lif_net *net0 = NULL;
                if (!run_once(c, T, 0, B, "auto", NULL, seed, &bt, &ref, &net0)) {
                    free(spk);
                    continue;
                }
                /* also the net's own (non-dyadic) init, scalar backend:
                 * everything but the grad sums must be bitwise equal. */
                lif_recipe r0;
                make_recipe(c, T, 0, B, &r0);
                lif_net *raw = NULL;
                if (lif_net_create(&r0, c->n_in, 10, &raw) != LIF_OK) {
                    CHECK(0, "net_create: %s", lif_last_error());
                    free_snap(&ref);
                    lif_net_destroy(net0);
                    free(spk);
                    continue;
                }
                /* uniform(+-1/sqrt(n_in)) rarely fires at this density;
                 * five times that does (and stays off the 1/64 grid) */
                for (int l = 0; l < lif_net_layers(raw); l++) {
                    lif_layer_view lv;
                    lif_net_layer(raw, l, &lv);
                    for (size_t i = 0; i < (size_t)lv.n_out * lv.n_in; i++)
                        lv.w[i] *= 5.0f;
                }
                run_once(c, T, 0, B, "scalar", raw, seed, &bt, &ref_sc, NULL);
                /* and the same on the default backend with weights off the
                 * 1/64 grid: whatever kernels a chunk length (or the input
                 * density the plan measures on its first chunk) selects,
                 * I, H, V and spikes must not depend on Tc (docs/DESIGN.md: chunking
                 * changes memory, not results). As of this writing this
                 * fails on AVX-512 machines: plan.c binds linear_fwd/simd/
                 * avx512 or avx512_event from the first chunk's density
                 * (Tc*B rows), and the two round differently (1 ulp). */
                snap ref_raw;
                run_once(c, T, 0, B, "auto", raw, seed, &bt, &ref_raw, NULL);
                for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
                    if (chunks[k].T != T)
                        continue;
                    static const int modes[] = {LIF_RECOMPUTE_OFF, LIF_RECOMPUTE_INPUT,
                                                LIF_RECOMPUTE_ALL};
                    static const char *const mname[] = {"off", "input", "all"};
                    for (int rc = 0; rc < 3; rc++) {
                        char rp[640];
                        snprintf(rp, sizeof rp, "%s %s recompute %s", repro(c, B, T, chunks[k].Tc, seed),
                                 enc ? "(encoder)" : "(given spikes)", mname[rc]);
                        plan_recompute = modes[rc];
                        snap sn;
                        /* any Tc, stored or recomputed: the same bits
                         * (gradients too: bwd_w sums steps last to first) */
                        if (run_once(c, T, chunks[k].Tc, B, "auto", net0, seed, &bt, &sn, NULL)) {
                            cmp_snaps(&ref, &sn, T, B, 1, "Tc vs Tc=T", rp);
                            free_snap(&sn);
                        }
                        if (run_once(c, T, chunks[k].Tc, B, "auto", raw, seed, &bt, &sn, NULL)) {
                            cmp_snaps(&ref_raw, &sn, T, B, 1, "Tc vs Tc=T (init weights)", rp);
                            free_snap(&sn);
                        }
                        if (run_once(c, T, chunks[k].Tc, B, "scalar", raw, seed, &bt, &sn, NULL)) {
                            cmp_snaps(&ref_sc, &sn, T, B, 1, "scalar Tc vs Tc=T", rp);
                            free_snap(&sn);
                        }
                        /* each other backend against itself at Tc = T */
                        static const char *const bks[] = {"simd", "openmp", "onednn,simd"};
                        for (size_t bi = 0; bi < 3; bi++) {
                            char bname[16];
                            snprintf(bname, sizeof bname, "%.*s", (int)strcspn(bks[bi], ","),
                                     bks[bi]);
                            const lif_backend_i *bk = lif_backend_find(bname);
                            if (!bk || !lif_backend_available(bk, NULL))
                                continue;
                            snap bref;
                            plan_threads = bi ? 3 : 0;  /* threaded backends at 3 */
                            plan_recompute = LIF_RECOMPUTE_OFF;
                            int ok = run_once(c, T, 0, B, bks[bi], raw, seed, &bt, &bref, NULL);
                            plan_recompute = modes[rc];
                            if (ok && run_once(c, T, chunks[k].Tc, B, bks[bi], raw, seed, &bt, &sn,
                                               NULL)) {
                                char what[64];
                                snprintf(what, sizeof what, "%s Tc vs Tc=T", bks[bi]);
                                cmp_snaps(&bref, &sn, T, B, 1, what, rp);
                                free_snap(&sn);
                            }
                            if (ok)
                                free_snap(&bref);
                            plan_threads = 0;
                        }
                    }
                    plan_recompute = LIF_RECOMPUTE_OFF;
                }
                free_snap(&ref);
                free_snap(&ref_sc);
                free_snap(&ref_raw);
                lif_net_destroy(net0);
                lif_net_destroy(raw);
                free(spk);
            }
    }
}

/* ======================================================= 3. the encoder */

/* n_in = 20 inputs, every output neuron with weights 2^-(i+1): I[t, b, o]
 * = sum_i x_i 2^-(i+1) is exact and spells out the input spikes, so the
 * plan's encoder can be compared with orc_encode bit for bit. */
static lif_net *encoder_net(int T, int Tc, uint32_t seed)
{
    tcase c = {"enc", 20, 0, {0}, 0, LIF_LOSS_MSE, 0, 0, 1, LIF_SURR_ATAN, 1.0f, 0.0f,
               LIF_OPT_ADAM, 1e-3};
    lif_recipe r;
    make_recipe(&c, T, Tc, 8, &r);
    r.seed = seed;
    lif_net *net = NULL;
    if (lif_net_create(&r, 20, 10, &net) != LIF_OK)
        return NULL;
    lif_layer_view v;
    lif_net_layer(net, 0, &v);
    for (int o = 0; o < 10; o++)
        for (int i = 0; i < 20; i++)
            v.w[o * 20 + i] = ldexpf(1.0f, -(i + 1));
    return net;
}

static float *forward_I(lif_net *net, int B, const lif_batch *bt, lif_result *res, const char *rp)
{
    lif_plan *plan = NULL;
    int T = lif_net_recipe(net)->T;
    if (lif_plan_create(net, B, &plan_opts, &plan) != LIF_OK) {
        CHECK(0, "plan_create: %s %s", lif_last_error(), rp);
        return FALLOC((size_t)T * B * 10);
    }
    lif_result r0;
    lif_status st = lif_plan_forward(plan, bt, res ? res : &r0);
    CHECK(st == LIF_OK, "forward: %s %s", lif_last_error(), rp);
    /* I of encoder_net, rebuilt from the input spike bits the plan keeps
     * (I itself lives one chunk at a time): every output neuron has weights
     * 2^-(i+1), summed in increasing i, which is exact */
    size_t rows = 0, ld = 0;
    const uint64_t *x = lif_plan_spikes(plan, 0, &rows, &ld);
    float *I = FALLOC((size_t)T * B * 10);
    CHECK(x && rows == (size_t)T * B, "lif_plan_spikes(0): %p, %zu rows %s", (const void *)x, rows,
          rp);
    for (size_t r = 0; x && r < rows; r++) {
        float sum = 0.0f;
        for (int i = 0; i < 20; i++)
            if (x[r * ld + (size_t)i / 64] >> (i % 64) & 1)
                sum += ldexpf(1.0f, -(i + 1));
        for (int o = 0; o < 10; o++)
            I[r * 10 + (size_t)o] = sum;
    }
    lif_plan_destroy(plan);
    return I;
}

static void test_encoder(void)
{
    const int B = 4, T = 9;
    uint64_t s = mix64(base_seed ^ 0xe1c0de);
    uint8_t pixels[4 * 20], labels[4] = {1, 2, 3, 4};
    uint32_t ids[4] = {0, 17, 59999, 123456};
    for (int i = 0; i < B * 20; i++)
        pixels[i] = (uint8_t)(rnd(&s) % 256);
    pixels[3] = 0;     /* never fires */
    pixels[4] = 255;   /* always fires */
    const uint32_t seed = 11;
    char rp[256];

    /* against orc_encode, for several chunkings (the encoder is called per
     * chunk with its t0) and both domains */
    static const int tcs[] = {0, 1, 4, 9};
    for (int dom = 0; dom < 2; dom++)
        for (int k = 0; k < 4; k++) {
            snprintf(rp, sizeof rp,
                     "[repro: encoder, n_in 20, B %d, T %d, Tc %d, seed %u, epoch 5, domain %d]",
                     B, T, tcs[k], seed, dom);
            lif_net *net = encoder_net(T, tcs[k], seed);
            CHECK(net != NULL, "net: %s %s", lif_last_error(), rp);
            if (!net)
                continue;
            lif_batch bt = {.B = B, .pixels = pixels, .labels = labels, .ids = ids, .epoch = 5,
                            .domain = (uint32_t)dom};
            float *I = forward_I(net, B, &bt, NULL, rp);
            double *x = DALLOC((size_t)T * B * 20), *y = DALLOC((size_t)T * B * 10);
            double *w = DALLOC(200);
            for (int o = 0; o < 10; o++)
                for (int i = 0; i < 20; i++)
                    w[o * 20 + i] = ldexp(1.0, -(i + 1));
            orc_encode(pixels, ids, B, 20, 0, T, seed, 5, (uint32_t)dom, x);
            orc_linear_fwd(T * B, 20, 10, x, w, NULL, y, NULL);
            cmp_exact(I, y, (size_t)T * B * 10, "encoder spikes (decoded from I)", 0, rp);
            size_t on = 0;
            for (size_t i = 0; i < (size_t)T * B * 20; i++)
                on += x[i] != 0.0;
            CHECK(on > 0 && on < (size_t)T * B * 20, "test setup: %zu spikes %s", on, rp);
            free(x);
            free(y);
            free(w);
            free(I);
            lif_net_destroy(net);
        }

    /* two plans built the same way: bitwise equal; another epoch, domain,
     * seed or id: different spikes; positions in the batch do not matter,
     * only ids; forward twice (and after a different batch): equal */
    snprintf(rp, sizeof rp, "[repro: encoder determinism, n_in 20, B %d, T %d, seed %u]", B, T,
             seed);
    lif_net *n1 = encoder_net(T, 4, seed), *n2 = encoder_net(T, 4, seed);
    lif_net *n3 = encoder_net(T, 4, seed + 1);
    if (!n1 || !n2 || !n3) {
        CHECK(0, "net_create: %s %s", lif_last_error(), rp);
        lif_net_destroy(n1);
        lif_net_destroy(n2);
        lif_net_destroy(n3);
        return;
    }
    size_t TBn = (size_t)T * B * 10;
    lif_batch bt = {.B = B, .pixels = pixels, .labels = labels, .ids = ids, .epoch = 5};
    lif_result ra, rb;
    float *a = forward_I(n1, B, &bt, &ra, rp), *b = forward_I(n2, B, &bt, &rb, rp);
    CHECK(same_f(a, b, TBn) && ra.loss == rb.loss, "two plans built alike differ %s", rp);
    free(b);
    b = forward_I(n3, B, &bt, NULL, rp);
    CHECK(!same_f(a, b, TBn), "recipe seed 12 gives the same spikes as seed 11 %s", rp);
    free(b);
    lif_batch e2 = bt;
    e2.epoch = 6;
    b = forward_I(n1, B, &e2, NULL, rp);
    CHECK(!same_f(a, b, TBn), "epoch 6 gives the same spikes as epoch 5 %s", rp);
    free(b);
    e2 = bt;
    e2.domain = 1;
    b = forward_I(n1, B, &e2, NULL, rp);
    CHECK(!same_f(a, b, TBn), "domain 1 gives the same spikes as domain 0 %s", rp);
    free(b);
    uint32_t ids2[4] = {1, 17, 59999, 123456};
    e2 = bt;
    e2.ids = ids2;
    b = forward_I(n1, B, &e2, NULL, rp);
    /* sample 0 changes; samples 1..3 keep their ids and pixels, and their
     * spikes must not change */
    size_t bad = 0, changed0 = 0;
    for (int t = 0; t < T; t++) {
        changed0 += !same_f(a + (size_t)t * B * 10, b + (size_t)t * B * 10, 10);
        for (int bb = 1; bb < B; bb++)
            bad += !same_f(a + ((size_t)t * B + bb) * 10, b + ((size_t)t * B + bb) * 10, 10);
    }
    CHECK(changed0 > 0, "changing the id of sample 0 left its spikes unchanged %s", rp);
    CHECK(bad == 0, "spikes of samples 1..3 changed with the id of sample 0 %s", rp);
    free(b);
    /* reversed batch: sample j of the new batch is sample B-1-j of the old */
    uint8_t pix_r[4 * 20], lab_r[4];
    uint32_t ids_r[4];
    for (int bb = 0; bb < B; bb++) {
        memcpy(pix_r + bb * 20, pixels + (B - 1 - bb) * 20, 20);
        ids_r[bb] = ids[B - 1 - bb];
        lab_r[bb] = labels[B - 1 - bb];
    }
    lif_batch rev = {.B = B, .pixels = pix_r, .labels = lab_r, .ids = ids_r, .epoch = 5};
    b = forward_I(n1, B, &rev, NULL, rp);
    bad = 0;
    for (int t = 0; t < T; t++)
        for (int bb = 0; bb < B; bb++)
            bad += !same_f(a + ((size_t)t * B + bb) * 10, b + ((size_t)t * B + B - 1 - bb) * 10, 10);
    CHECK(bad == 0, "spikes depend on the position in the batch, not only the id %s", rp);
    free(b);

    /* forward twice on one plan, with another batch in between: state
     * (V, counts) is reset, results identical */
    lif_plan *plan = NULL;
    if (lif_plan_create(n1, B, &plan_opts, &plan) == LIF_OK) {
        lif_result r1, r2, r3;
        size_t cnt;
        lif_plan_forward(plan, &bt, &r1);
        float *h1 = dup_buf(plan, "H", 0, &cnt);
        float *v1 = FALLOC((size_t)T * 10), *s1 = FALLOC((size_t)T * 10);
        float *v2 = FALLOC((size_t)T * 10), *s2 = FALLOC((size_t)T * 10);
        lif_plan_trace(plan, B - 1, v1, s1);
        lif_plan_forward(plan, &bt, &r2);
        float *h2 = dup_buf(plan, "H", 0, &cnt);
        CHECK(r1.loss == r2.loss && r1.correct == r2.correct && same_f(h1, h2, TBn),
              "forward twice gives different results %s", rp);
        lif_batch small = {.B = 2, .pixels = pix_r, .labels = lab_r, .ids = ids_r, .epoch = 9};
        lif_plan_forward(plan, &small, &r3);
        lif_plan_buffer(plan, "H", 0, &cnt);
        CHECK(cnt == (size_t)T * 2 * 10, "H count after a batch of 2: %zu, want %d %s", cnt,
              T * 20, rp);
        lif_plan_forward(plan, &bt, &r2);
        free(h2);
        h2 = dup_buf(plan, "H", 0, &cnt);
        lif_plan_trace(plan, B - 1, v2, s2);
        CHECK(r1.loss == r2.loss && same_f(h1, h2, TBn) && same_f(v1, v2, (size_t)T * 10) &&
                  same_f(s1, s2, (size_t)T * 10),
              "forward after another batch differs from the first forward %s", rp);
        free(h1);
        free(h2);
        free(v1);
        free(s1);
        free(v2);
        free(s2);
        lif_plan_destroy(plan);
    }
    free(a);
    lif_net_destroy(n1);
    lif_net_destroy(n2);
    lif_net_destroy(n3);
}

/* ========================================================== 4. shuffling */

static int is_perm(const uint32_t *p, int n)
{
    unsigned char *seen = xcalloc((size_t)n, 1);
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        if (p[i] >= (uint32_t)n || seen[p[i]])
            ok = 0;
        else
            seen[p[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_shuffle(void)
{
    static const int ns[] = {1, 2, 3, 10, 64, 1000, 60000};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        int n = ns[k];
        uint32_t *a = xcalloc((size_t)n, 4), *b = xcalloc((size_t)n, 4);
        for (uint32_t seed = 0; seed < 2; seed++)
            for (uint32_t ep = 0; ep < 3; ep++) {
                lif_shuffle(a, n, seed, ep);
                CHECK(is_perm(a, n), "[repro: lif_shuffle n %d seed %u epoch %u] not a permutation",
                      n, seed, ep);
                lif_shuffle(b, n, seed, ep);
                CHECK(memcmp(a, b, (size_t)n * 4) == 0,
                      "[repro: lif_shuffle n %d seed %u epoch %u] not deterministic", n, seed, ep);
                if (n >= 10) {
                    lif_shuffle(b, n, seed, ep + 1);
                    CHECK(memcmp(a, b, (size_t)n * 4) != 0,
                          "[repro: lif_shuffle n %d seed %u] epochs %u and %u give the same order",
                          n, seed, ep, ep + 1);
                    lif_shuffle(b, n, seed + 1, ep);
                    CHECK(memcmp(a, b, (size_t)n * 4) != 0,
                          "[repro: lif_shuffle n %d epoch %u] seeds %u and %u give the same order",
                          n, ep, seed, seed + 1);
                    int fixed = 0;
                    for (int i = 0; i < n; i++)
                        fixed += a[i] == (uint32_t)i;
                    CHECK(fixed < n / 2 + 3,
                          "[repro: lif_shuffle n %d seed %u epoch %u] %d fixed points", n, seed, ep,
                          fixed);
                }
            }
        free(a);
        free(b);
    }
    /* roughly uniform: where element 0 lands for n = 5 over 5000 epochs
     * (expected 1000 per slot, sd ~28; accept 850..1150) */
    int hist[5] = {0};
    uint32_t p[5];
    for (uint32_t ep = 0; ep < 5000; ep++) {
        lif_shuffle(p, 5, 3, ep);
        for (int i = 0; i < 5; i++)
            if (p[i] == 0)
                hist[i]++;
    }
    for (int i = 0; i < 5; i++)
        CHECK(hist[i] > 850 && hist[i] < 1150,
              "[repro: lif_shuffle n 5 seed 3 epochs 0..4999] element 0 at slot %d %d times", i,
              hist[i]);
}

/* ============================================== 5. epochs on a synthetic set */

/* rows x cols = 4 x 5; class c lights pixels 2c and 2c+1 brightly, the
 * rest is dim noise: learnable in a few epochs by a 20 -> 10 net. */
static void make_synth(lif_dataset *d, int n, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->rows = 4;
    d->cols = 5;
    d->n_classes = 10;
    d->images = xcalloc((size_t)n, 20);
    d->labels = xcalloc((size_t)n, 1);
    snprintf(d->images_path, sizeof d->images_path, "synthetic");
    snprintf(d->labels_path, sizeof d->labels_path, "synthetic");
    uint64_t s = seed;
    for (int k = 0; k < n; k++) {
        int c = (int)(rnd(&s) % 10);
        d->labels[k] = (uint8_t)c;
        for (int i = 0; i < 20; i++)
            d->images[(size_t)k * 20 + i] =
                i / 2 == c ? (uint8_t)(200 + rnd(&s) % 56) : (uint8_t)(rnd(&s) % 40);
    }
}

static void free_synth(lif_dataset *d)
{
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

typedef struct prog {
    long calls, last_done, last_total;
    int monotone, bad_loss;
    double last_loss;
} prog;

static void on_progress(void *ctx, long done, long total, double seconds, double loss)
{
    prog *p = ctx;
    (void)seconds;
    if (!(loss >= 0) || !isfinite(loss))
        p->bad_loss = 1;  /* the running loss: a finite number >= 0 */
    p->last_loss = loss;
    if (done <= p->last_done)
        p->monotone = 0;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
}

static lif_net *synth_net(int hidden, uint32_t seed)
{
    tcase c = {"synth", 20, hidden ? 1 : 0, {hidden}, 0, LIF_LOSS_MSE, 0, 0, 1, LIF_SURR_ATAN,
               1.0f, 0.0f, LIF_OPT_ADAM, 2e-2};
    lif_recipe r;
    make_recipe(&c, 8, 3, 16, &r);
    r.seed = seed;
    lif_net *net = NULL;
    CHECK(lif_net_create(&r, 20, 10, &net) == LIF_OK, "synth net: %s", lif_last_error());
    return net;
}

static void test_epochs(void)
{
    lif_dataset train, test;
    make_synth(&train, 250, mix64(base_seed ^ 0x7a41));
    make_synth(&test, 101, mix64(base_seed ^ 0x7e57));
    const char *rp = "[repro: synthetic 4x5, n 250/101, 20-10, T 8 Tc 3, batch 16, adam lr 0.02, "
                     "recipe seed 5]";

    /* determinism: two nets from the same recipe end bitwise equal */
    lif_net *a = synth_net(0, 5), *b = synth_net(0, 5);
    lif_plan *pa = NULL, *pb = NULL;
    if (!a || !b || lif_plan_create(a, 16, &plan_opts, &pa) != LIF_OK || lif_plan_create(b, 16, &plan_opts, &pb) != LIF_OK) {
        CHECK(0, "setup: %s %s", lif_last_error(), rp);
        goto out;
    }
    lif_epoch_stats sa = {0}, sb = {0}, first = {0};
    for (uint32_t ep = 0; ep < 4; ep++) {
        prog pg = {0, 0, 0, 1, 0, 0.0};
        lif_status st = lif_train_epoch(pa, &train, ep, on_progress, &pg, &sa);
        CHECK(st == LIF_OK, "train_epoch %u: %s %s", ep, lif_last_error(), rp);
        st = lif_train_epoch(pb, &train, ep, NULL, NULL, &sb);
        CHECK(st == LIF_OK, "train_epoch %u (twin): %s %s", ep, lif_last_error(), rp);
        if (ep == 0)
            first = sa;
        /* drop_last: 250 / 16 * 16 = 240 */
        CHECK(sa.samples == 240, "epoch %u: %ld samples, want 240 (drop_last) %s", ep, sa.samples,
              rp);
        CHECK(pg.calls == 15 && pg.monotone && !pg.bad_loss && pg.last_done == 240 &&
                  pg.last_total == 240,
              "progress: %ld calls, last %ld/%ld, monotone %d, bad running loss %d %s", pg.calls,
              pg.last_done, pg.last_total, pg.monotone, pg.bad_loss, rp);
        CHECK(sa.loss == sb.loss && sa.acc == sb.acc, "epoch %u: twin stats differ %s", ep, rp);
        CHECK(params_equal(a, b), "epoch %u: two nets from the same recipe differ %s", ep, rp);
        CHECK(lif_net_step(a) == 15L * (ep + 1), "step %ld after epoch %u %s", lif_net_step(a),
              ep, rp);
    }
    CHECK(sa.loss < first.loss, "training loss did not fall: %.6f -> %.6f %s", first.loss,
          sa.loss, rp);

    /* evaluate: in order, partial last batch kept, no parameter change */
    {
        lif_net *c = synth_net(0, 5);
        copy_params(c, a);
        lif_epoch_stats ev = {0};
        prog pg = {0, 0, 0, 1, 0, 0.0};
        lif_status st = lif_evaluate(pa, &test, 4, on_progress, &pg, &ev);
        CHECK(st == LIF_OK, "evaluate: %s %s", lif_last_error(), rp);
        CHECK(ev.samples == 101, "evaluate: %ld samples, want 101 %s", ev.samples, rp);
        CHECK(pg.last_loss == ev.loss, "evaluate: the last running loss %.17g is not the "
              "pass's loss %.17g %s", pg.last_loss, ev.loss, rp);
        CHECK(pg.calls == 7 && pg.last_done == 101, "evaluate progress %ld calls, last %ld %s",
              pg.calls, pg.last_done, rp);
        CHECK(params_equal(a, c) && lif_net_step(a) == 60, "evaluate changed the net %s", rp);
        CHECK(ev.acc > 0.5, "accuracy %.3f after 4 epochs, chance is 0.1 %s", ev.acc, rp);
        printf("synthetic: train loss %.4f -> %.4f, train acc %.3f, test acc %.3f\n", first.loss,
               sa.loss, sa.acc, ev.acc);

        /* the same by hand: forward in order, domain 1, ids = indices */
        lif_plan *pc = NULL;
        lif_plan_create(c, 16, &plan_opts, &pc);
        double loss = 0.0;
        long correct = 0;
        for (int k = 0; k < 101; k += 16) {
            int nb = 101 - k < 16 ? 101 - k : 16;
            uint32_t ids[16];
            for (int j = 0; j < nb; j++)
                ids[j] = (uint32_t)(k + j);
            lif_batch bt = {.B = nb, .pixels = test.images + (size_t)k * 20,
                            .labels = test.labels + k, .ids = ids, .epoch = 4, .domain = 1};
            lif_result res;
            CHECK(lif_plan_forward(pc, &bt, &res) == LIF_OK, "forward: %s %s", lif_last_error(),
                  rp);
            loss += res.loss * nb;
            correct += res.correct;
        }
        CHECK(loss / 101 == ev.loss && (double)correct / 101 == ev.acc,
              "lif_evaluate (%.17g, %.4f) differs from forward by hand (%.17g, %.4f) %s", ev.loss,
              ev.acc, loss / 101, (double)correct / 101, rp);

        /* one training epoch by hand, from two fresh nets of one recipe:
         * batches in lif_shuffle(seed, epoch) order, ids = indices in the
         * set, domain 0, epoch 2 */
        lif_net *d1 = synth_net(0, 5), *d2 = synth_net(0, 5);
        lif_plan *p1 = NULL, *p2 = NULL;
        if (d1 && d2 && lif_plan_create(d1, 16, &plan_opts, &p1) == LIF_OK &&
            lif_plan_create(d2, 16, &plan_opts, &p2) == LIF_OK) {
            lif_epoch_stats e2;
            CHECK(lif_train_epoch(p1, &train, 2, NULL, NULL, &e2) == LIF_OK, "train: %s %s",
                  lif_last_error(), rp);
            uint32_t perm[250];
            lif_shuffle(perm, 250, 5, 2);
            double hloss = 0.0;
            long hcorrect = 0;
            for (int k = 0; k + 16 <= 250; k += 16) {
                uint8_t px[16 * 20], lab[16];
                for (int j = 0; j < 16; j++) {
                    memcpy(px + j * 20, train.images + (size_t)perm[k + j] * 20, 20);
                    lab[j] = train.labels[perm[k + j]];
                }
                lif_batch bt = {.B = 16, .pixels = px, .labels = lab, .ids = perm + k,
                                .epoch = 2, .domain = 0};
                lif_result res;
                CHECK(lif_plan_train_batch(p2, &bt, &res) == LIF_OK, "train_batch: %s %s",
                      lif_last_error(), rp);
                hloss += res.loss * 16;
                hcorrect += res.correct;
            }
            CHECK(params_equal(d1, d2), "lif_train_epoch differs from training by hand with "
                                        "lif_shuffle(seed, epoch) %s", rp);
            CHECK(hloss / 240 == e2.loss && (double)hcorrect / 240 == e2.acc,
                  "train stats (%.17g, %g) vs by hand (%.17g, %g) %s", e2.loss, e2.acc,
                  hloss / 240, (double)hcorrect / 240, rp);
        } else {
            CHECK(0, "setup: %s %s", lif_last_error(), rp);
        }
        lif_plan_destroy(p1);
        lif_plan_destroy(p2);
        lif_net_destroy(d1);
        lif_net_destroy(d2);
        lif_plan_destroy(pc);
        lif_net_destroy(c);
    }

    /* a hidden layer learns too */
    {
        lif_net *h = synth_net(16, 9);
        lif_plan *ph = NULL;
        if (h && lif_plan_create(h, 16, &plan_opts, &ph) == LIF_OK) {
            lif_epoch_stats st = {0};
            for (uint32_t ep = 0; ep < 5; ep++)
                lif_train_epoch(ph, &train, ep, NULL, NULL, &st);
            lif_evaluate(ph, &test, 5, NULL, NULL, &st);
            CHECK(st.acc > 0.4, "20-16-10: accuracy %.3f after 5 epochs %s", st.acc, rp);
            printf("synthetic 20-16-10: test acc %.3f\n", st.acc);
        }
        lif_plan_destroy(ph);
        lif_net_destroy(h);
    }

    /* errors: a set smaller than one batch, images of the wrong size, none */
    {
        lif_dataset tiny = train;
        tiny.n = 15;
        lif_epoch_stats st;
        CHECK(lif_train_epoch(pa, &tiny, 0, NULL, NULL, &st) == LIF_ERR_INVALID_ARG,
              "15 samples, batch 16: want INVALID_ARG %s", rp);
        lif_dataset wrong = train;
        wrong.cols = 4;
        CHECK(lif_train_epoch(pa, &wrong, 0, NULL, NULL, &st) == LIF_ERR_INVALID_ARG,
              "4x4 images into 20 inputs: want INVALID_ARG %s", rp);
        CHECK(lif_evaluate(pa, &wrong, 0, NULL, NULL, &st) == LIF_ERR_INVALID_ARG,
              "evaluate 4x4 images into 20 inputs: want INVALID_ARG %s", rp);
        lif_dataset none = train;
        none.n = 0;
        CHECK(lif_evaluate(pa, &none, 0, NULL, NULL, &st) == LIF_ERR_INVALID_ARG,
              "evaluate 0 samples: want INVALID_ARG %s", rp);
    }
out:
    lif_plan_destroy(pa);
    lif_plan_destroy(pb);
    lif_net_destroy(a);
    lif_net_destroy(b);
    free_synth(&train);
    free_synth(&test);
}

/* =========================================================== 6. errors */

static void test_errors(void)
{
    const char *rp = "[repro: errors, 784-10, T 9, plan B 4]";
    lif_recipe r;
    make_recipe(&cases[0], 9, 0, 4, &r);
    lif_net *net = NULL;
    lif_plan *plan = NULL;
    if (lif_net_create(&r, 784, 10, &net) != LIF_OK || lif_plan_create(net, 4, &plan_opts, &plan) != LIF_OK) {
        CHECK(0, "setup: %s %s", lif_last_error(), rp);
        lif_net_destroy(net);
        return;
    }
    /* backward before any forward: an error, not a crash */
    lif_error_clear();
    lif_status st = lif_plan_backward(plan);
    CHECK(st != LIF_OK && *lif_last_error(), "backward before forward: %s (%s) %s",
          lif_status_str(st), lif_last_error(), rp);

    uint64_t s = 99;
    float *spk = random_spikes(9, 5, 784, 0.3, &s);
    uint8_t labels[5] = {0, 1, 2, 3, 4};
    lif_batch bt = {.B = 5, .labels = labels, .spikes = spk};
    lif_result res;
    st = lif_plan_forward(plan, &bt, &res);
    CHECK(st == LIF_ERR_INVALID_ARG, "batch of 5 into a plan of 4: %s %s", lif_status_str(st), rp);
    bt.B = 0;
    st = lif_plan_forward(plan, &bt, &res);
    CHECK(st == LIF_ERR_INVALID_ARG, "batch of 0: %s %s", lif_status_str(st), rp);
    st = lif_plan_backward(plan);
    CHECK(st != LIF_OK, "backward after only failed forwards: %s %s", lif_status_str(st), rp);

    bt.B = 4;
    labels[2] = 12;
    st = lif_plan_forward(plan, &bt, &res);
    CHECK(st == LIF_ERR_INVALID_ARG, "label 12: %s %s", lif_status_str(st), rp);
    CHECK(strstr(lif_last_error(), "12") != NULL, "label 12: detail \"%s\" does not name it %s",
          lif_last_error(), rp);
    labels[2] = 10;
    st = lif_plan_forward(plan, &bt, &res);
    CHECK(st == LIF_ERR_INVALID_ARG, "label 10: %s \"%s\" %s", lif_status_str(st),
          lif_last_error(), rp);
    labels[2] = 9;
    st = lif_plan_forward(plan, &bt, &res);
    CHECK(st == LIF_OK, "label 9 is valid: %s %s", lif_last_error(), rp);
    CHECK(lif_plan_backward(plan) == LIF_OK, "backward: %s %s", lif_last_error(), rp);

    /* backward twice: gradients are recomputed, not accumulated */
    size_t cnt = 0;
    float *g1 = dup_buf(plan, "grad_w", 0, &cnt);
    CHECK(lif_plan_backward(plan) == LIF_OK, "backward again: %s %s", lif_last_error(), rp);
    const float *g2 = lif_plan_buffer(plan, "grad_w", 0, &cnt);
    CHECK(g2 && cnt == 7840 && same_f(g1, g2, cnt), "a second backward changed grad_w %s", rp);
    free(g1);

    /* buffers and traces out of range */
    CHECK(lif_plan_buffer(plan, "nope", 0, &cnt) == NULL, "unknown buffer name not NULL %s", rp);
    CHECK(lif_plan_buffer(plan, "I", 1, &cnt) == NULL, "layer 1 of a 1-layer net not NULL %s",
          rp);
    CHECK(lif_plan_buffer(plan, "H", -1, &cnt) == NULL, "layer -1 not NULL %s", rp);
    float v[90], sp[90];
    CHECK(lif_plan_trace(plan, 4, v, sp) == LIF_ERR_INVALID_ARG, "trace of sample 4 of 4 %s", rp);
    CHECK(lif_plan_trace(plan, -1, v, sp) == LIF_ERR_INVALID_ARG, "trace of sample -1 %s", rp);
    CHECK(lif_plan_kernel(plan, LIF_OP_COUNT, 0)[0] == 0, "kernel name of an invalid op %s", rp);
    CHECK(lif_plan_kernel(plan, LIF_OP_LINEAR_FWD, 0)[0] != 0, "no kernel name for linear_fwd %s",
          rp);
    lif_plan_destroy(plan);
    lif_net_destroy(net);
    free(spk);

    /* invalid recipes and shapes */
    lif_recipe bad = r;
    bad.T = 0;
    net = NULL;
    st = lif_net_create(&bad, 784, 10, &net);
    CHECK(st == LIF_ERR_INVALID_ARG && net == NULL, "T 0: %s %s", lif_status_str(st), rp);
    lif_plan_opts o;
    lif_plan_opts_default(&o);
    o.Tc = 10;
    net = NULL;
    if (lif_net_create(&r, 784, 10, &net) == LIF_OK) {
        plan = NULL;
        st = lif_plan_create(net, 4, &o, &plan);
        CHECK(st == LIF_ERR_INVALID_ARG && plan == NULL, "Tc 10 > T 9: %s %s",
              lif_status_str(st), rp);
        lif_plan_destroy(plan);
        lif_net_destroy(net);
    }
    st = lif_net_create(&r, 0, 10, &net);
    CHECK(st == LIF_ERR_INVALID_ARG, "n_in 0: %s %s", lif_status_str(st), rp);

    /* unknown backend, or a malformed preference list: refused by lif_plan_create */
    static const struct { const char *list; lif_status st; } bad_lists[] = {
        {"no_such_backend", LIF_ERR_NOT_FOUND}, {"simd,no_such_backend", LIF_ERR_NOT_FOUND},
        {"scalar,,simd", LIF_ERR_INVALID_ARG}, {"scalar,scalar", LIF_ERR_INVALID_ARG},
        {"auto,scalar", LIF_ERR_INVALID_ARG}, {"Scalar", LIF_ERR_INVALID_ARG},
        {",", LIF_ERR_INVALID_ARG}};
    net = NULL;
    if (lif_net_create(&r, 784, 10, &net) == LIF_OK) {
        for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists[0]; i++) {
            lif_plan_opts_default(&o);
            snprintf(o.backend, sizeof o.backend, "%s", bad_lists[i].list);
            plan = NULL;
            st = lif_plan_create(net, 4, &o, &plan);
            CHECK(st == bad_lists[i].st && plan == NULL, "backend '%s': %s (%s) %s",
                  bad_lists[i].list, lif_status_str(st), lif_last_error(), rp);
            CHECK(strstr(lif_last_error(), "backend") != NULL,
                  "backend '%s': the message does not say what is wrong: %s", bad_lists[i].list,
                  lif_last_error());
            lif_plan_destroy(plan);
        }
        st = lif_plan_create(net, 0, &plan_opts, &plan);
        CHECK(st == LIF_ERR_INVALID_ARG, "plan of batch 0: %s %s", lif_status_str(st), rp);
        lif_net_destroy(net);
    }
}

/* ======================================================== 7. checkpoints */

static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int eq = fa && fb;
    while (eq) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            eq = 0;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return eq;
}

static void ckpt_compare(const char *p1, const char *p2, const char *rp)
{
    lif_ckpt a, b;
    if (lif_ckpt_load(p1, &a) != LIF_OK) {
        CHECK(0, "ckpt_load %s: %s %s", p1, lif_last_error(), rp);
        return;
    }
    if (lif_ckpt_load(p2, &b) != LIF_OK) {
        CHECK(0, "ckpt_load %s: %s %s", p2, lif_last_error(), rp);
        lif_ckpt_free(&a);
        return;
    }
    CHECK(a.epoch == b.epoch && a.max_test_acc == b.max_test_acc && a.step == b.step &&
              a.seed == b.seed && a.rng_position == b.rng_position,
          "checkpoint fields differ: epoch %d/%d acc %g/%g step %llu/%llu %s", (int)a.epoch,
          (int)b.epoch, a.max_test_acc, b.max_test_acc, (unsigned long long)a.step,
          (unsigned long long)b.step, rp);
    CHECK(strcmp(a.recipe_json, b.recipe_json) == 0, "recipes differ %s", rp);
    CHECK(a.n_tensors == b.n_tensors, "tensor counts %u vs %u %s", a.n_tensors, b.n_tensors, rp);
    for (uint32_t i = 0; i < a.n_tensors && i < b.n_tensors; i++) {
        const lif_ckpt_tensor *x = &a.tensors[i];
        const lif_ckpt_tensor *y = lif_ckpt_find(&b, x->name);
        size_t n = 1;
        for (uint32_t d = 0; d < x->ndim; d++)
            n *= (size_t)x->shape[d];
        CHECK(y && y->ndim == x->ndim && memcmp(x->shape, y->shape, x->ndim * 8) == 0 &&
                  memcmp(x->data, y->data, n * sizeof(float)) == 0,
              "tensor %s differs after save/load %s", x->name, rp);
    }
    lif_ckpt_free(&a);
    lif_ckpt_free(&b);
}

static void test_checkpoint_case(const tcase *c, const char *dir)
{
    char rp[512], p1[1200], p2[1200], p3[1200], p4[1200];
    const int T = 6, B = 4;
    snprintf(rp, sizeof rp, "%s (checkpoint)", repro(c, B, T, 4, 42));
    snprintf(p1, sizeof p1, "%s/%s_a.ckpt", dir, c->name);
    snprintf(p2, sizeof p2, "%s/%s_b.ckpt", dir, c->name);
    snprintf(p3, sizeof p3, "%s/%s_c.ckpt", dir, c->name);
    snprintf(p4, sizeof p4, "%s/%s_d.ckpt", dir, c->name);
    lif_recipe r;
    make_recipe(c, T, 4, B, &r);
    r.seed = 42;
    lif_net *net = NULL, *back = NULL;
    lif_plan *plan = NULL, *pback = NULL;
    if (lif_net_create(&r, c->n_in, 10, &net) != LIF_OK ||
        lif_plan_create(net, B, &plan_opts, &plan) != LIF_OK) {
        CHECK(0, "setup: %s %s", lif_last_error(), rp);
        goto out;
    }
    uint64_t s = 42;
    uint8_t pixels[4 * 784], labels[4];
    uint32_t ids[4];
    for (int i = 0; i < B * c->n_in; i++)
        pixels[i] = (uint8_t)(rnd(&s) % 256);
    for (int b = 0; b < B; b++) {
        labels[b] = (uint8_t)(rnd(&s) % 10);
        ids[b] = (uint32_t)b;
    }
    lif_batch bt = {.B = B, .pixels = pixels, .labels = labels, .ids = ids, .epoch = 0};
    lif_result res;
    for (int k = 0; k < 2; k++) {
        bt.epoch = (uint32_t)k;
        CHECK(lif_plan_train_batch(plan, &bt, &res) == LIF_OK, "train: %s %s", lif_last_error(),
              rp);
    }
    lif_train_state st = {.epoch = 3, .max_test_acc = 0.8125}, st2 = {.epoch = -5, .max_test_acc = -1.0};
    CHECK(lif_net_save(net, &st, p1) == LIF_OK, "save: %s %s", lif_last_error(), rp);
    CHECK(lif_net_load(p1, &back, &st2) == LIF_OK, "load: %s %s", lif_last_error(), rp);
    if (!back)
        goto out;
    CHECK(st2.epoch == 3 && st2.max_test_acc == 0.8125, "train state %d %g after load %s",
          (int)st2.epoch, st2.max_test_acc, rp);
    CHECK(lif_net_step(back) == lif_net_step(net) && lif_net_step(net) == 2,
          "step %ld after load, want %ld %s", lif_net_step(back), lif_net_step(net), rp);
    CHECK(params_equal(net, back), "weights differ after save/load %s", rp);
    /* the optimizer state: save the loaded net again, compare tensor by
     * tensor (weights, m, v) and byte for byte */
    CHECK(lif_net_save(back, &st2, p2) == LIF_OK, "save again: %s %s", lif_last_error(), rp);
    ckpt_compare(p1, p2, rp);
    CHECK(files_equal(p1, p2), "re-saved checkpoint not byte-identical %s", rp);

    /* one more batch from both: identical parameters and state */
    if (lif_plan_create(back, B, &plan_opts, &pback) != LIF_OK) {
        CHECK(0, "plan for the loaded net: %s %s", lif_last_error(), rp);
        goto out;
    }
    bt.epoch = 2;
    lif_result r1, r2;
    CHECK(lif_plan_train_batch(plan, &bt, &r1) == LIF_OK, "train: %s %s", lif_last_error(), rp);
    CHECK(lif_plan_train_batch(pback, &bt, &r2) == LIF_OK, "train loaded: %s %s",
          lif_last_error(), rp);
    CHECK(r1.loss == r2.loss, "loss %.17g vs %.17g after load %s", r1.loss, r2.loss, rp);
    CHECK(params_equal(net, back), "weights differ after one more batch %s", rp);
    CHECK(lif_net_save(net, &st, p3) == LIF_OK && lif_net_save(back, &st, p4) == LIF_OK,
          "save: %s %s", lif_last_error(), rp);
    ckpt_compare(p3, p4, rp);
out:
    lif_plan_destroy(plan);
    lif_plan_destroy(pback);
    lif_net_destroy(net);
    lif_net_destroy(back);
}

static void test_checkpoint(void)
{
    const char *dir = test_tmpdir("plan");
    tcase adam = {"ck_adam", 30, 1, {12}, 1, LIF_LOSS_MSE, 0, 0, 1, LIF_SURR_ATAN, 1.0f, 0.0f,
                  LIF_OPT_ADAM, 1e-2};
    tcase sgd = {"ck_sgd", 30, 2, {12, 11}, 0, LIF_LOSS_CE, 1, 0, 1, LIF_SURR_SIGMOID, 1.0f, 0.0f,
                 LIF_OPT_SGD, 0.1};
    test_checkpoint_case(&adam, dir);
    test_checkpoint_case(&sgd, dir);
}

/* ================================================================ main */

/* ============================================= 6. memory flat in T */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

#ifndef UNDER_SANITIZER
/* Bytes of this process's address space (/proc/self/statm), 0 if unknown. */
static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

/* A T = 8000 training step of batch 16 on the reference network in a child
 * whose address space may grow by 12 MiB only (setrlimit RLIMIT_AS): the
 * plan that stores all steps (~21 MiB of buffers) cannot be made there; the
 * one that recomputes chunks (under 2 MiB) trains, and its loss and
 * gradient equal those of the stored plan made outside the limit. */
static void test_memory_flat(void)
{
#ifdef UNDER_SANITIZER
    printf("skipped: memory limit test: a sanitizer's shadow memory fills the address space "
           "(the Release build runs it)\n");
    return;
#else
    enum { T = 8000, B = 16 };
    lif_recipe r;
    make_recipe(&cases[0], T, 0, B, &r);
    lif_net *net = NULL;
    if (lif_net_create(&r, 784, 10, &net) != LIF_OK) {
        CHECK(0, "net_create: %s", lif_last_error());
        return;
    }
    uint64_t s = 0x77;
    uint8_t labels[B], *pixels = malloc((size_t)B * 784);
    uint32_t ids[B];
    for (int i = 0; i < B * 784; i++)
        pixels[i] = (uint8_t)(rnd(&s) % 256);
    for (int b = 0; b < B; b++)
        labels[b] = (uint8_t)(b % 10), ids[b] = (uint32_t)b;
    lif_batch bt = {.B = B, .labels = labels, .pixels = pixels, .ids = ids, .epoch = 1};
    lif_plan_opts o;
    lif_plan_opts_default(&o);
    snprintf(o.backend, sizeof o.backend, "auto,-openmp"); /* one thread: no thread stacks */
    o.threads = 1;
    o.recompute = LIF_RECOMPUTE_OFF;
    lif_memory m;
    size_t store_need = lif_memory_estimate(&r, 784, 10, B, &o, &m) == LIF_OK ? m.buffers : 0;
    o.recompute = LIF_RECOMPUTE_ALL;
    size_t rec_need = lif_memory_estimate(&r, 784, 10, B, &o, &m) == LIF_OK ? m.buffers : 0;
    CHECK(store_need > (16u << 20) && rec_need < (2u << 20),
          "T %d b %d: estimates %zu bytes stored, %zu recomputed", T, B, store_need, rec_need);
    /* The child first, before this process has freed big blocks into its
     * heap (which a child could reuse without growing its address space):
     * it sends its loss, correct count and gradient through a pipe. */
    float *gw = FALLOC(7840), *got_gw = FALLOC(7840);
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe failed");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        /* large blocks from fresh mappings, so the limit bounds them */
        mallopt(M_MMAP_THRESHOLD, 64 * 1024);
        struct rlimit rl;
        size_t now = vm_size();
        rl.rlim_cur = rl.rlim_max = now + (12u << 20);
        if (!now || setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(10);
        lif_plan *p = NULL;
        o.recompute = LIF_RECOMPUTE_OFF;
        /* refused: by the memory check (which reads the limit) or, failing
         * that, by the allocator */
        if (lif_plan_create(net, B, &o, &p) == LIF_OK)
            _exit(11); /* the limit does not bite */
        o.recompute = LIF_RECOMPUTE_ALL;
        lif_result got = {0};
        if (lif_plan_create(net, B, &o, &p) != LIF_OK || lif_plan_forward(p, &bt, &got) != LIF_OK ||
            lif_plan_backward(p) != LIF_OK)
            _exit(12);
        size_t n;
        const float *g = lif_plan_buffer(p, "grad_w", 0, &n);
        if (!g || write(fds[1], &got, sizeof got) != (ssize_t)sizeof got ||
            write(fds[1], g, 7840 * sizeof(float)) != (ssize_t)(7840 * sizeof(float)))
            _exit(13);
        _exit(0);
    }
    close(fds[1]);
    lif_result got = {0};
    int ok_read = read(fds[0], &got, sizeof got) == (ssize_t)sizeof got &&
                  read(fds[0], got_gw, 7840 * sizeof(float)) == (ssize_t)(7840 * sizeof(float));
    close(fds[0]);
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait failed");
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    CHECK(code == 0 && ok_read,
          "T %d b %d under a 12 MiB address-space allowance: child exit %d (10 setrlimit, 11 the "
          "stored plan (%zu bytes) was made anyway, 12 the recomputing plan (%zu bytes) failed, "
          "13 it could not send its results)",
          T, B, code, store_need, rec_need);
    /* the stored plan's loss and gradient, outside the limit: the same */
    lif_plan *plan = NULL;
    lif_result want = {0};
    o.recompute = LIF_RECOMPUTE_OFF;
    if (lif_plan_create(net, B, &o, &plan) == LIF_OK &&
        lif_plan_forward(plan, &bt, &want) == LIF_OK && lif_plan_backward(plan) == LIF_OK) {
        size_t n;
        memcpy(gw, lif_plan_buffer(plan, "grad_w", 0, &n), 7840 * sizeof(float));
    } else {
        CHECK(0, "stored plan at T %d: %s", T, lif_last_error());
    }
    lif_plan_destroy(plan);
    CHECK(!ok_read || (got.loss == want.loss && got.correct == want.correct &&
                       memcmp(got_gw, gw, 7840 * sizeof(float)) == 0),
          "T %d: the recomputing plan under the limit differs from the stored one: loss %.9g vs "
          "%.9g", T, got.loss, want.loss);
    free(got_gw);
    free(gw);
    free(pixels);
    lif_net_destroy(net);
#endif
}

int main(void)
{
    const char *env = getenv("LIF_TEST_SEED");
    if (env && *env)
        base_seed = strtoull(env, NULL, 0);
    verbose = getenv("LIF_TEST_VERBOSE") != NULL;
    printf("test_plan: seed %llu (LIF_TEST_SEED)\n", (unsigned long long)base_seed);
    double t0 = lif_now();
    test_memory_flat(); /* first: before the heap holds freed blocks */
    test_oracle();
    double t1 = lif_now();
    test_chunking();
    double t2 = lif_now();
    test_encoder();
    test_shuffle();
    double t3 = lif_now();
    test_epochs();
    double t4 = lif_now();
    test_errors();
    test_checkpoint();
    printf("times: oracle %.2fs, chunking %.2fs, encoder+shuffle %.2fs, epochs %.2fs, rest %.2fs\n",
           t1 - t0, t2 - t1, t3 - t2, t4 - t3, lif_now() - t4);
    return test_finish("test_plan");
}
