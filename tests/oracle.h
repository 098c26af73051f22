/* tests/oracle.h — the independent, dumb oracle every kernel is checked
 * against.
 *
 * It shares no code and no types with the engine (it does not include any
 * lif header): plain loops, double arithmetic and double accumulation,
 * spikes as 0/1 doubles in [T, B, n] arrays instead of packed bits. It is
 * written straight from the formulas of docs/DESIGN.md (README: "The model,
 * exactly") and the reference framework's formulas,
 * and tests/test_parity.c checks it against the framework's float64 arrays
 * to 1e-12, so a disagreement between a kernel and the oracle points at the
 * kernel. Slow on purpose; clarity over speed. */
#ifndef LIF_TESTS_ORACLE_H
#define LIF_TESTS_ORACLE_H

#include <stddef.h>
#include <stdint.h>

/* LIF neuron parameters (the oracle's own copy of the reference's LIFNode). */
typedef struct orc_neuron {
    double tau;
    double v_th;
    double v_reset;    /* hard reset value; unused when soft */
    int soft;          /* 1: subtract v_th on a spike (v_reset = None) */
    int decay_input;   /* 1: H = V + (X - (V - Vr))/tau; 0: H = V - (V - Vr)/tau + X */
    int detach_reset;  /* 1: the reset carries no gradient */
    int surrogate;     /* 0 ATan, 1 Sigmoid */
    double alpha;
} orc_neuron;

/* y[m, o] = sum_i x[m, i] * w[o, i] (+ b[o]). x is [M, n_in] of 0/1, w is
 * [n_out, n_in], b NULL for no bias. mag (optional, [M, n_out]) receives
 * sum_i |x w| + |b|, the scale of the float rounding error of a kernel. */
void orc_linear_fwd(int M, int n_in, int n_out, const double *x,
                    const double *w, const double *b, double *y, double *mag);

/* The LIF recurrence over T steps for B*n neurons. x is [T, B, n]; v is
 * [B, n], in: V before step 0, out: V after step T-1. h (H), s (0/1) and
 * vt (V after the reset, optional) are [T, B, n] outputs. */
void orc_lif_fwd(const orc_neuron *nr, int T, int B, int n, const double *x,
                 double *v, double *h, double *s, double *vt);

/* The surrogate derivative sigma'(u) at u = H - V_th. */
double orc_surrogate(const orc_neuron *nr, double u);

/* BPTT over T steps, t = T-1 down to 0. h is [T, B, n]; dS[t] is
 * ds + t * ds_tstride. dv is [B, n], in: dL/dV[T-1] from later steps,
 * out: dL/dV before step 0. dx [T, B, n] out: dL/dX. */
void orc_lif_bwd(const orc_neuron *nr, int T, int B, int n, const double *h,
                 const double *ds, size_t ds_tstride, double *dv, double *dx);

/* dw[o, i] += sum_m dy[m, o] x[m, i]; db[o] += sum_m dy[m, o] (db may be
 * NULL). mag (optional, [n_out, n_in]) receives sum_m |dy x| + |dw before|. */
void orc_linear_bwd_w(int M, int n_in, int n_out, const double *dy,
                      const double *x, double *dw, double *db, double *mag);

/* dx[m, i] = sum_o dy[m, o] w[o, i]; mag (optional, [M, n_in]) gets the sum
 * of the terms' magnitudes. */
void orc_linear_bwd_x(int M, int n_in, int n_out, const double *dy,
                      const double *w, double *dx, double *mag);

/* count[b, o] += sum_t s[t, b, o]. */
void orc_spike_count(int T, int B, int n, const double *s, double *count);

/* rate = count / T. kind 0 MSE: loss = mean over B*n of (rate - onehot)^2;
 * kind 1 CE: loss = mean over B of -log softmax(rate)[label]. ds[b, o] =
 * dL/drate / T (dL/dS at any step). correct: samples whose first maximal
 * rate is at the label. rate and ds may be NULL. */
void orc_loss(int kind, int T, int B, int n, const double *count,
              const int *labels, double *rate, double *ds, double *loss,
              int *correct);

/* One step of torch.optim.Adam (no amsgrad, L2 weight decay added to the
 * gradient), step >= 1 the step being taken. */
void orc_adam(size_t n, double *w, const double *g, double *m, double *v,
              long step, double lr, double beta1, double beta2, double eps,
              double weight_decay);

/* One step of torch.optim.SGD (dampening 0, no Nesterov). buf is the
 * momentum buffer; on step 1 it is set to the gradient. */
void orc_sgd(size_t n, double *w, const double *g, double *buf, long step,
             double lr, double momentum, double weight_decay);

/* Poisson encoder: x[t, b, i] (t = 0 .. Tc-1 for absolute step t0 + t) is 1
 * iff the 16-bit draw u of input i satisfies u * 255 < pixel * 2^16, i.e.
 * u / 2^16 < pixel / 255 exactly. u is a half of a Philox4x32-10 word for
 * key {seed, epoch} and counter {i / 8, t0 + t, ids[b], domain}: word
 * (i % 8) / 2, its low 16 bits for even i, its high 16 bits for odd i. */
void orc_encode(const uint8_t *pixels, const uint32_t *ids, int B, int n_in,
                int t0, int Tc, uint32_t seed, uint32_t epoch,
                uint32_t domain, double *x);

#endif
