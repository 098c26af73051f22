/* Linear layer, scalar reference. The input is binary, so the forward pass
 * and the weight gradient visit the inputs that fired, in increasing index
 * order (the same summation order as a dense loop over i). */
#include <string.h>

#include "scalar.h"

/* Calls body with i = index of each set bit among the first n of row, in
 * increasing order; words and bits past n are ignored, whatever they hold. */
#define FOR_EACH_SPIKE(row, n, i, body)                                       \
    for (size_t w_ = 0; w_ < ((size_t)(n) + 63) / 64; w_++) {                 \
        uint64_t bits_ = (row)[w_];                                           \
        if ((w_ + 1) * 64 > (size_t)(n))                                      \
            bits_ &= ~0ull >> ((w_ + 1) * 64 - (size_t)(n));                  \
        while (bits_) {                                                       \
            int i = (int)(w_ * 64 + (size_t)__builtin_ctzll(bits_));          \
            bits_ &= bits_ - 1;                                               \
            body                                                              \
        }                                                                     \
    }

lif_status lif_linear_fwd_scalar_ref(const lif_ctx *ctx, const lif_linear_fwd_args *a)
{
    (void)ctx;
    size_t ldy = a->ldy ? a->ldy : (size_t)a->n_out;
    for (int r = 0; r < a->M; r++) {
        const uint64_t *x = a->x + (size_t)r * a->ldx;
        float *y = a->y + (size_t)r * ldy;
        for (int o = 0; o < a->n_out; o++)
            y[o] = a->b ? a->b[o] : 0.0f;
        FOR_EACH_SPIKE(x, a->n_in, i, {
            for (int o = 0; o < a->n_out; o++)
                y[o] += a->w[(size_t)o * a->n_in + i];
        })
    }
    return LIF_OK;
}

lif_status lif_linear_bwd_w_scalar_ref(const lif_ctx *ctx, const lif_linear_bwd_w_args *a)
{
    (void)ctx;
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    for (int k = 0; k < a->M; k++) {
        int r = lif_bwd_w_row(a, k); /* steps last to first */
        const uint64_t *x = a->x + (size_t)r * a->ldx;
        const float *dy = a->dy + (size_t)r * lddy;
        FOR_EACH_SPIKE(x, a->n_in, i, {
            for (int o = 0; o < a->n_out; o++)
                a->dw[(size_t)o * a->n_in + i] += dy[o];
        })
        if (a->db)
            for (int o = 0; o < a->n_out; o++)
                a->db[o] += dy[o];
    }
    return LIF_OK;
}

lif_status lif_linear_bwd_x_scalar_ref(const lif_ctx *ctx, const lif_linear_bwd_x_args *a)
{
    (void)ctx;
    size_t lddy = a->lddy ? a->lddy : (size_t)a->n_out;
    for (int r = 0; r < a->M; r++) {
        const float *dy = a->dy + (size_t)r * lddy;
        float *dx = a->dx + (size_t)r * a->n_in;
        memset(dx, 0, (size_t)a->n_in * sizeof *dx);
        for (int o = 0; o < a->n_out; o++) {
            const float *w = a->w + (size_t)o * a->n_in;
            for (int i = 0; i < a->n_in; i++)
                dx[i] += dy[o] * w[i];
        }
    }
    return LIF_OK;
}
