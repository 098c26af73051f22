/* The SIMD backend: AVX2+FMA and AVX-512 kernels chosen at run time. */
#include "simd.h"

int lif_simd_supports_avx2(const lif_problem *p, const char **why)
{
    (void)p;
    return lif_cpu_has(LIF_ISA_AVX2, why);
}

int lif_simd_supports_avx512(const lif_problem *p, const char **why)
{
    (void)p;
    return lif_cpu_has(LIF_ISA_AVX512, why);
}

/* The skip kernels keep a row's (or a chunk's) outputs in 16 registers. */
int lif_simd_supports_narrow_avx512(const lif_problem *p, const char **why)
{
    if (!lif_simd_supports_avx512(p, why))
        return 0;
    if (p->n_out > 16) {
        *why = "n_out > 16: the skip kernels hold at most 16 outputs in registers";
        return 0;
    }
    return 1;
}

/* The time-lanes forward also needs GFNI and AVX512_VBMI. */
int lif_simd_supports_time_avx512(const lif_problem *p, const char **why)
{
    if (!lif_simd_supports_narrow_avx512(p, why))
        return 0;
    const lif_cpu *c = lif_cpu_get();
    if (!c->gfni || !c->avx512vbmi) {
        *why = "the CPU lacks GFNI or AVX512_VBMI (the time-lanes forward transposes spike bits with them)";
        return 0;
    }
    return 1;
}

/* The AVX2 skip kernel keeps a chunk's outputs in 12 of the 16 ymm. */
int lif_simd_supports_narrow_avx2(const lif_problem *p, const char **why)
{
    if (!lif_simd_supports_avx2(p, why))
        return 0;
    if (p->n_out > 12) {
        *why = "n_out > 12: the AVX2 skip kernel holds at most 12 outputs in registers";
        return 0;
    }
    return 1;
}

static int available(const char **why) { return lif_cpu_has(LIF_ISA_AVX2, why); }

static const lif_kernel_i kernels[] = {
    /* ---- encoder kernels ---- */
    {.abi = LIF_KERNEL_ABI, .op = LIF_OP_ENCODE, .backend = "simd", .variant = "avx2",
     .flags = 0, .supports = lif_simd_supports_avx2, .run.encode = lif_encode_simd_avx2},
    {.abi = LIF_KERNEL_ABI, .op = LIF_OP_ENCODE, .backend = "simd", .variant = "avx512",
     .flags = 0, .supports = lif_simd_supports_avx512, .run.encode = lif_encode_simd_avx512},

    /* ---- neuron, readout, optimizer kernels ---- */
#define NRO(op_, slot, var, sup, fn)                                                \
    {.abi = LIF_KERNEL_ABI, .op = op_, .backend = "simd", .variant = var,             \
     .flags = 0, .supports = sup, .run.slot = fn}
    NRO(LIF_OP_LIF_FWD, lif_fwd, "avx2", lif_simd_supports_neuron_avx2, lif_lif_fwd_simd_avx2),
    NRO(LIF_OP_LIF_FWD, lif_fwd, "avx512", lif_simd_supports_neuron_avx512,
        lif_lif_fwd_simd_avx512),
    NRO(LIF_OP_LIF_BWD, lif_bwd, "avx2", lif_simd_supports_neuron_avx2, lif_lif_bwd_simd_avx2),
    NRO(LIF_OP_LIF_BWD, lif_bwd, "avx512", lif_simd_supports_neuron_avx512,
        lif_lif_bwd_simd_avx512),
    NRO(LIF_OP_SPIKE_COUNT, spike_count, "avx2", lif_simd_supports_avx2,
        lif_spike_count_simd_avx2),
    NRO(LIF_OP_SPIKE_COUNT, spike_count, "avx512", lif_simd_supports_avx512,
        lif_spike_count_simd_avx512),
    NRO(LIF_OP_LOSS, loss, "avx2", lif_simd_supports_loss_avx2, lif_loss_simd_avx2),
    NRO(LIF_OP_LOSS, loss, "avx512", lif_simd_supports_loss_avx512, lif_loss_simd_avx512),
    NRO(LIF_OP_OPTIM, optim, "avx2", lif_simd_supports_optim_avx2, lif_optim_simd_avx2),
    NRO(LIF_OP_OPTIM, optim, "avx512", lif_simd_supports_optim_avx512, lif_optim_simd_avx512),
#undef NRO


    /* ---- linear kernels (dense and event-driven) ---- */
#define LIN(op_, slot, var, sup, fn, wsz)                                          \
    {.abi = LIF_KERNEL_ABI, .op = op_, .backend = "simd", .variant = var,             \
     .flags = op_ == LIF_OP_LINEAR_BWD_W ? LIF_KERNEL_STEP_ORDER : 0u, .supports = sup, .run.slot = fn, .workspace = wsz}
    LIN(LIF_OP_LINEAR_FWD, linear_fwd, "avx2", lif_simd_supports_avx2,
        lif_linear_fwd_simd_avx2, NULL),
    LIN(LIF_OP_LINEAR_FWD, linear_fwd, "avx2_event", lif_simd_supports_avx2,
        lif_linear_fwd_simd_avx2_event, lif_linear_simd_event_workspace),
    LIN(LIF_OP_LINEAR_FWD, linear_fwd, "avx2_table", lif_linear_fwd_simd_avx2_table_supports,
        lif_linear_fwd_simd_avx2_table, lif_linear_simd_table_workspace),
    LIN(LIF_OP_LINEAR_FWD, linear_fwd, "avx512", lif_simd_supports_avx512,
        lif_linear_fwd_simd_avx512, NULL),
    LIN(LIF_OP_LINEAR_FWD, linear_fwd, "avx512_event", lif_simd_supports_avx512,
        lif_linear_fwd_simd_avx512_event, lif_linear_simd_event_workspace),
    LIN(LIF_OP_LINEAR_FWD, linear_fwd, "avx512_skip", lif_simd_supports_narrow_avx512,
        lif_linear_fwd_simd_avx512_skip, NULL),
    /* the time-lanes forward also takes a cut of samples (nb) */
    {.abi = LIF_KERNEL_ABI, .op = LIF_OP_LINEAR_FWD, .backend = "simd", .variant = "avx512_time",
     .flags = LIF_KERNEL_SAMPLE_CUT, .supports = lif_simd_supports_time_avx512,
     .run.linear_fwd = lif_linear_fwd_simd_avx512_time,
     .workspace = lif_linear_fwd_time_workspace},
    {.abi = LIF_KERNEL_ABI, .op = LIF_OP_LINEAR_FWD, .backend = "simd", .variant = "avx2_time",
     .flags = LIF_KERNEL_SAMPLE_CUT, .supports = lif_simd_supports_time_avx2,
     .run.linear_fwd = lif_linear_fwd_simd_avx2_time,
     .workspace = lif_linear_fwd_time_avx2_workspace},
    LIN(LIF_OP_LINEAR_BWD_W, linear_bwd_w, "avx2", lif_simd_supports_avx2,
        lif_linear_bwd_w_simd_avx2, NULL),
    LIN(LIF_OP_LINEAR_BWD_W, linear_bwd_w, "avx2_event", lif_simd_supports_avx2,
        lif_linear_bwd_w_simd_avx2_event, lif_linear_simd_event_workspace),
    LIN(LIF_OP_LINEAR_BWD_W, linear_bwd_w, "avx2_skip", lif_simd_supports_narrow_avx2,
        lif_linear_bwd_w_simd_avx2_skip, NULL),
    LIN(LIF_OP_LINEAR_BWD_W, linear_bwd_w, "avx512", lif_simd_supports_avx512,
        lif_linear_bwd_w_simd_avx512, NULL),
    LIN(LIF_OP_LINEAR_BWD_W, linear_bwd_w, "avx512_event", lif_simd_supports_avx512,
        lif_linear_bwd_w_simd_avx512_event, lif_linear_simd_event_workspace),
    LIN(LIF_OP_LINEAR_BWD_W, linear_bwd_w, "avx512_skip", lif_simd_supports_narrow_avx512,
        lif_linear_bwd_w_simd_avx512_skip, NULL),
    LIN(LIF_OP_LINEAR_BWD_X, linear_bwd_x, "avx2", lif_simd_supports_avx2,
        lif_linear_bwd_x_simd_avx2, NULL),
    LIN(LIF_OP_LINEAR_BWD_X, linear_bwd_x, "avx512", lif_simd_supports_avx512,
        lif_linear_bwd_x_simd_avx512, NULL),
#undef LIN

    /* (keeps the table non-empty while kernels are added) */
    {.abi = 0},
};

const lif_backend_i lif_backend_simd = {
    .abi = LIF_KERNEL_ABI,
    .name = "simd",
    .description = "AVX2+FMA and AVX-512 kernels, chosen at run time by CPU detection",
    .available = available,
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0] - 1,
};
