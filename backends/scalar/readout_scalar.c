/* Readout, scalar reference: spike counts, firing rate, loss and dL/dS. */
#include <math.h>

#include "scalar.h"

lif_status lif_spike_count_scalar_ref(const lif_ctx *ctx, const lif_spike_count_args *a)
{
    (void)ctx;
    size_t sts = a->s_tstride ? a->s_tstride : (size_t)a->B * a->lds;
    for (int t = 0; t < a->Tc; t++)
        for (int b = 0; b < a->B; b++) {
            const uint64_t *s = a->s + (size_t)t * sts + (size_t)b * a->lds;
            for (int o = 0; o < a->n; o++)
                if (s[o / 64] >> (o % 64) & 1)
                    a->count[(size_t)b * a->n + o] += 1.0f;
        }
    return LIF_OK;
}

lif_status lif_loss_scalar_ref(const lif_ctx *ctx, const lif_loss_args *a)
{
    (void)ctx;
    double total = 0.0;
    int correct = 0;
    for (int b = 0; b < a->B; b++) {
        const float *c = a->count + (size_t)b * a->n;
        int label = a->labels[b];
        int best = 0;
        float maxr = -INFINITY;
        for (int o = 0; o < a->n; o++) {
            float r = c[o] / (float)a->T;
            if (a->rate)
                a->rate[(size_t)b * a->n + o] = r;
            if (r > maxr) {
                maxr = r;
                best = o;
            }
        }
        correct += best == label;
        if (a->kind == LIF_LOSS_CE) {
            double z = 0.0;
            for (int o = 0; o < a->n; o++)
                z += exp((double)(c[o] / (float)a->T - maxr));
            double logz = log(z) + maxr;
            total += logz - c[label] / (float)a->T;
            if (a->ds)
                for (int o = 0; o < a->n; o++) {
                    double pr = exp(c[o] / (float)a->T - logz);
                    double g = (pr - (o == label)) / a->B;
                    a->ds[(size_t)b * a->n + o] = (float)(g / a->T);
                }
        } else {
            for (int o = 0; o < a->n; o++) {
                float d = c[o] / (float)a->T - (o == label ? 1.0f : 0.0f);
                total += (double)d * d;
                if (a->ds)
                    a->ds[(size_t)b * a->n + o] =
                        2.0f * d / (float)(a->B * a->n) / (float)a->T;
            }
        }
    }
    *a->loss = a->kind == LIF_LOSS_CE ? total / a->B : total / ((double)a->B * a->n);
    *a->correct = correct;
    return LIF_OK;
}
