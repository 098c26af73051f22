/* Optimizers, scalar reference, in PyTorch's order of operations
 * (torch.optim.Adam / SGD, single-tensor path). */
#include <math.h>

#include "scalar.h"

lif_status lif_optim_scalar_ref(const lif_ctx *ctx, const lif_optim_args *a)
{
    (void)ctx;
    if (a->kind == LIF_OPT_SGD) {
        for (size_t i = 0; i < a->n; i++) {
            float g = a->g[i] + a->weight_decay * a->w[i];
            if (a->momentum != 0.0f) {
                a->v[i] = a->step == 1 ? g : a->momentum * a->v[i] + g;
                g = a->v[i];
            }
            a->w[i] -= a->lr * g;
        }
        return LIF_OK;
    }
    double bc1 = 1.0 - pow(a->beta1, (double)a->step);
    double bc2 = 1.0 - pow(a->beta2, (double)a->step);
    float step_size = (float)(a->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    for (size_t i = 0; i < a->n; i++) {
        float g = a->g[i] + a->weight_decay * a->w[i];
        a->m[i] = a->beta1 * a->m[i] + (1.0f - a->beta1) * g;
        a->v[i] = a->beta2 * a->v[i] + (1.0f - a->beta2) * g * g;
        float denom = sqrtf(a->v[i]) / bc2_sqrt + a->eps;
        a->w[i] -= step_size * (a->m[i] / denom);
    }
    return LIF_OK;
}
