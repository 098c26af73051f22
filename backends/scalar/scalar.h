/* backends/scalar/scalar.h — the scalar reference kernels (internal). */
#ifndef LIF_SCALAR_H
#define LIF_SCALAR_H

#include "lif/backend.h"

lif_status lif_encode_scalar_ref(const lif_ctx *ctx, const lif_encode_args *a);
lif_status lif_linear_fwd_scalar_ref(const lif_ctx *ctx, const lif_linear_fwd_args *a);
lif_status lif_linear_bwd_w_scalar_ref(const lif_ctx *ctx, const lif_linear_bwd_w_args *a);
lif_status lif_linear_bwd_x_scalar_ref(const lif_ctx *ctx, const lif_linear_bwd_x_args *a);
lif_status lif_lif_fwd_scalar_ref(const lif_ctx *ctx, const lif_lif_fwd_args *a);
lif_status lif_lif_bwd_scalar_ref(const lif_ctx *ctx, const lif_lif_bwd_args *a);
lif_status lif_spike_count_scalar_ref(const lif_ctx *ctx, const lif_spike_count_args *a);
lif_status lif_loss_scalar_ref(const lif_ctx *ctx, const lif_loss_args *a);
lif_status lif_optim_scalar_ref(const lif_ctx *ctx, const lif_optim_args *a);

#endif
