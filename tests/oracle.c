/* tests/oracle.c — see oracle.h. Everything in double, one element at a
 * time, in the order the formulas are written; no engine code. */
#include "oracle.h"

#include <math.h>

#include <Random123/philox.h>

void orc_linear_fwd(int M, int n_in, int n_out, const double *x,
                    const double *w, const double *b, double *y, double *mag)
{
    for (int m = 0; m < M; m++)
        for (int o = 0; o < n_out; o++) {
            double acc = b ? b[o] : 0.0, a = b ? fabs(b[o]) : 0.0;
            for (int i = 0; i < n_in; i++) {
                double term = x[(size_t)m * n_in + i] * w[(size_t)o * n_in + i];
                acc += term;
                a += fabs(term);
            }
            y[(size_t)m * n_out + o] = acc;
            if (mag)
                mag[(size_t)m * n_out + o] = a;
        }
}

/* H from V and X, written the way docs/DESIGN.md (README: "The model, exactly") states it. Soft reset charges
 * towards 0 (the reference framework uses v_reset = 0 in the charge when
 * v_reset is None). */
static double charge(const orc_neuron *nr, double v, double x)
{
    double vr = nr->soft ? 0.0 : nr->v_reset;
    if (nr->decay_input)
        return v + (x - (v - vr)) / nr->tau;
    return v - (v - vr) / nr->tau + x;
}

void orc_lif_fwd(const orc_neuron *nr, int T, int B, int n, const double *x,
                 double *v, double *h, double *s, double *vt)
{
    size_t N = (size_t)B * n;
    for (int t = 0; t < T; t++)
        for (size_t j = 0; j < N; j++) {
            size_t k = (size_t)t * N + j;
            double hh = charge(nr, v[j], x[k]);
            double ss = hh >= nr->v_th ? 1.0 : 0.0; /* Θ(0) = 1 */
            if (nr->soft)
                v[j] = hh - nr->v_th * ss;
            else
                v[j] = hh * (1.0 - ss) + nr->v_reset * ss;
            h[k] = hh;
            s[k] = ss;
            if (vt)
                vt[k] = v[j];
        }
}

double orc_surrogate(const orc_neuron *nr, double u)
{
    const double pi = 3.14159265358979323846;
    if (nr->surrogate == 0) {
        double z = pi / 2.0 * nr->alpha * u;
        return nr->alpha / 2.0 / (1.0 + z * z);
    }
    double sg = 1.0 / (1.0 + exp(-nr->alpha * u));
    return nr->alpha * sg * (1.0 - sg);
}

void orc_lif_bwd(const orc_neuron *nr, int T, int B, int n, const double *h,
                 const double *ds, size_t ds_tstride, double *dv, double *dx)
{
    size_t N = (size_t)B * n;
    for (int t = T - 1; t >= 0; t--)
        for (size_t j = 0; j < N; j++) {
            size_t k = (size_t)t * N + j;
            double hh = h[k];
            double ss = hh >= nr->v_th ? 1.0 : 0.0;
            double sg = orc_surrogate(nr, hh - nr->v_th);
            double dvdh;
            if (nr->soft)
                dvdh = nr->detach_reset ? 1.0 : 1.0 - nr->v_th * sg;
            else
                dvdh = (1.0 - ss) + (nr->detach_reset ? 0.0 : (nr->v_reset - hh) * sg);
            double dh = ds[(size_t)t * ds_tstride + j] * sg + dv[j] * dvdh;
            /* H depends on V[t-1] with slope 1 - 1/tau in both charge forms,
             * and on X with slope 1/tau (decay_input) or 1. */
            dx[k] = nr->decay_input ? dh / nr->tau : dh;
            dv[j] = dh * (1.0 - 1.0 / nr->tau);
        }
}

void orc_linear_bwd_w(int M, int n_in, int n_out, const double *dy,
                      const double *x, double *dw, double *db, double *mag)
{
    for (int o = 0; o < n_out; o++) {
        for (int i = 0; i < n_in; i++) {
            double *d = &dw[(size_t)o * n_in + i];
            double acc = *d, a = fabs(*d);
            for (int m = 0; m < M; m++) {
                double term = dy[(size_t)m * n_out + o] * x[(size_t)m * n_in + i];
                acc += term;
                a += fabs(term);
            }
            *d = acc;
            if (mag)
                mag[(size_t)o * n_in + i] = a;
        }
        if (db)
            for (int m = 0; m < M; m++)
                db[o] += dy[(size_t)m * n_out + o];
    }
}

void orc_linear_bwd_x(int M, int n_in, int n_out, const double *dy,
                      const double *w, double *dx, double *mag)
{
    for (int m = 0; m < M; m++)
        for (int i = 0; i < n_in; i++) {
            double acc = 0.0, a = 0.0;
            for (int o = 0; o < n_out; o++) {
                double term = dy[(size_t)m * n_out + o] * w[(size_t)o * n_in + i];
                acc += term;
                a += fabs(term);
            }
            dx[(size_t)m * n_in + i] = acc;
            if (mag)
                mag[(size_t)m * n_in + i] = a;
        }
}

void orc_spike_count(int T, int B, int n, const double *s, double *count)
{
    size_t N = (size_t)B * n;
    for (int t = 0; t < T; t++)
        for (size_t j = 0; j < N; j++)
            count[j] += s[(size_t)t * N + j];
}

void orc_loss(int kind, int T, int B, int n, const double *count,
              const int *labels, double *rate, double *ds, double *loss,
              int *correct)
{
    double total = 0.0;
    int ok = 0;
    for (int b = 0; b < B; b++) {
        const double *c = count + (size_t)b * n;
        int best = 0;
        for (int o = 1; o < n; o++)
            if (c[o] / T > c[best] / T)
                best = o;
        ok += best == labels[b];
        if (rate)
            for (int o = 0; o < n; o++)
                rate[(size_t)b * n + o] = c[o] / T;
        if (kind == 0) {
            for (int o = 0; o < n; o++) {
                double r = c[o] / T, y = o == labels[b] ? 1.0 : 0.0;
                total += (r - y) * (r - y);
                if (ds)
                    ds[(size_t)b * n + o] = 2.0 * (r - y) / ((double)B * n) / T;
            }
        } else {
            double mx = c[0] / T, z = 0.0;
            for (int o = 1; o < n; o++)
                mx = fmax(mx, c[o] / T);
            for (int o = 0; o < n; o++)
                z += exp(c[o] / T - mx);
            total += mx + log(z) - c[labels[b]] / T;
            if (ds)
                for (int o = 0; o < n; o++) {
                    double p = exp(c[o] / T - mx) / z, y = o == labels[b] ? 1.0 : 0.0;
                    ds[(size_t)b * n + o] = (p - y) / B / T;
                }
        }
    }
    *loss = kind == 0 ? total / ((double)B * n) : total / B;
    *correct = ok;
}

void orc_adam(size_t n, double *w, const double *g, double *m, double *v,
              long step, double lr, double beta1, double beta2, double eps,
              double weight_decay)
{
    double bc1 = 1.0 - pow(beta1, (double)step);
    double bc2 = 1.0 - pow(beta2, (double)step);
    for (size_t i = 0; i < n; i++) {
        double gi = g[i] + weight_decay * w[i];
        m[i] = beta1 * m[i] + (1.0 - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0 - beta2) * gi * gi;
        double denom = sqrt(v[i]) / sqrt(bc2) + eps;
        w[i] -= lr / bc1 * m[i] / denom;
    }
}

void orc_sgd(size_t n, double *w, const double *g, double *buf, long step,
             double lr, double momentum, double weight_decay)
{
    for (size_t i = 0; i < n; i++) {
        double d = g[i] + weight_decay * w[i];
        if (momentum != 0.0) {
            buf[i] = step == 1 ? d : momentum * buf[i] + d;
            d = buf[i];
        }
        w[i] -= lr * d;
    }
}

void orc_encode(const uint8_t *pixels, const uint32_t *ids, int B, int n_in,
                int t0, int Tc, uint32_t seed, uint32_t epoch,
                uint32_t domain, double *x)
{
    philox4x32_key_t key = {{seed, epoch}};
    for (int t = 0; t < Tc; t++)
        for (int b = 0; b < B; b++)
            for (int i = 0; i < n_in; i++) {
                /* eight 16-bit draws per call: word (i % 8) / 2, low half
                 * for even i, high half for odd i */
                philox4x32_ctr_t ctr = {{(uint32_t)(i / 8), (uint32_t)(t0 + t), ids[b], domain}};
                philox4x32_ctr_t r = philox4x32_R(10, ctr, key);
                uint64_t word = r.v[(i % 8) / 2];
                uint64_t u = i % 2 ? word >> 16 : word & 0xffffu;
                uint64_t pix = pixels[(size_t)b * n_in + i];
                /* u / 2^16 < pix / 255; both sides < 2^24: exact */
                x[((size_t)t * B + b) * n_in + i] = u * 255u < (pix << 16) ? 1.0 : 0.0;
            }
}
