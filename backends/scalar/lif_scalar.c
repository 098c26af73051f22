/* LIF neuron, scalar reference: forward recurrence and BPTT over a chunk,
 * exactly the formulas of DESIGN.md. */
#include <math.h>
#include <string.h>

#include "scalar.h"

/* H from V and X (charge). Soft reset charges towards 0, as the reference
 * framework does when v_reset is None. */
static float charge(const lif_neuron *p, float v, float x)
{
    float vr = p->soft_reset ? 0.0f : p->v_reset;
    if (p->decay_input)
        return v + (x - (v - vr)) / p->tau;
    return v - (v - vr) / p->tau + x;
}

/* σ'(u) of the surrogate, u = H - V_th. */
static float surrogate_grad(const lif_neuron *p, float u)
{
    if (p->surrogate == LIF_SURR_SIGMOID) {
        float sg = 1.0f / (1.0f + expf(-p->alpha * u));
        return p->alpha * sg * (1.0f - sg);
    }
    const float half_pi = 1.57079632679489661923f;
    float z = half_pi * p->alpha * u;
    return p->alpha / 2.0f / (1.0f + z * z);
}

lif_status lif_lif_fwd_scalar_ref(const lif_ctx *ctx, const lif_lif_fwd_args *a)
{
    (void)ctx;
    const lif_neuron *p = a->nrn;
    size_t ts = a->tstride ? a->tstride : (size_t)a->B * a->n;
    size_t sts = a->s_tstride ? a->s_tstride : (size_t)a->B * a->lds;
    for (int t = 0; t < a->Tc; t++) {
        const float *x = a->x + (size_t)t * ts;
        float *hs = a->h + (size_t)t * ts;
        for (int b = 0; b < a->B; b++) {
            uint64_t *s = a->s + (size_t)t * sts + (size_t)b * a->lds;
            memset(s, 0, a->lds * sizeof *s);
            for (int o = 0; o < a->n; o++) {
                size_t k = (size_t)b * a->n + o;
                float h = charge(p, a->v[k], x[k]);
                int spike = h >= p->v_threshold;
                hs[k] = h;
                if (spike)
                    s[o / 64] |= 1ull << (o % 64);
                if (p->soft_reset)
                    a->v[k] = spike ? h - p->v_threshold : h;
                else
                    a->v[k] = spike ? p->v_reset : h;
            }
        }
    }
    return LIF_OK;
}

lif_status lif_lif_bwd_scalar_ref(const lif_ctx *ctx, const lif_lif_bwd_args *a)
{
    (void)ctx;
    const lif_neuron *p = a->nrn;
    size_t N = (size_t)a->B * a->n;
    size_t ts = a->tstride ? a->tstride : N;
    float keep = 1.0f - 1.0f / p->tau;  /* dH[t]/dV[t-1] */
    for (int t = a->Tc - 1; t >= 0; t--) {
        const float *ds = a->ds + (size_t)t * a->ds_tstride;
        const float *hs = a->h + (size_t)t * ts;
        float *dx = a->dx + (size_t)t * ts;
        for (size_t k = 0; k < N; k++) {
            float h = hs[k];
            float spike = h >= p->v_threshold ? 1.0f : 0.0f;
            float sg = surrogate_grad(p, h - p->v_threshold);
            float dvdh;
            if (p->soft_reset)
                dvdh = p->detach_reset ? 1.0f : 1.0f - p->v_threshold * sg;
            else
                dvdh = p->detach_reset ? 1.0f - spike
                                       : (1.0f - spike) + (p->v_reset - h) * sg;
            float dh = ds[k] * sg + a->dv[k] * dvdh;
            dx[k] = p->decay_input ? dh / p->tau : dh;
            a->dv[k] = dh * keep;
        }
    }
    return LIF_OK;
}
