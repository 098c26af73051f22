/* The scalar backend: the readable reference and fallback for every op. */
#include "scalar.h"

#define K(op_, slot, fn) \
    { .abi = LIF_KERNEL_ABI, .op = op_, .backend = "scalar", .variant = "ref", \
      .flags = op_ == LIF_OP_LINEAR_BWD_W ? LIF_KERNEL_STEP_ORDER : 0u, .supports = NULL, \
      .run.slot = fn }

static const lif_kernel_i kernels[] = {
    K(LIF_OP_ENCODE, encode, lif_encode_scalar_ref),
    K(LIF_OP_LINEAR_FWD, linear_fwd, lif_linear_fwd_scalar_ref),
    K(LIF_OP_LIF_FWD, lif_fwd, lif_lif_fwd_scalar_ref),
    K(LIF_OP_LIF_BWD, lif_bwd, lif_lif_bwd_scalar_ref),
    K(LIF_OP_LINEAR_BWD_W, linear_bwd_w, lif_linear_bwd_w_scalar_ref),
    K(LIF_OP_LINEAR_BWD_X, linear_bwd_x, lif_linear_bwd_x_scalar_ref),
    K(LIF_OP_SPIKE_COUNT, spike_count, lif_spike_count_scalar_ref),
    K(LIF_OP_LOSS, loss, lif_loss_scalar_ref),
    K(LIF_OP_OPTIM, optim, lif_optim_scalar_ref),
};
_Static_assert(sizeof kernels / sizeof kernels[0] == LIF_OP_COUNT,
               "the scalar backend has a kernel for every op");

const lif_backend_i lif_backend_scalar = {
    .abi = LIF_KERNEL_ABI,
    .name = "scalar",
    .description = "portable C reference kernels (the test oracle's peer)",
    .available = NULL,
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};
