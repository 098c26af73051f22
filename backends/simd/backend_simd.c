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

static int available(const char **why) { return lif_cpu_has(LIF_ISA_AVX2, why); }

static const lif_kernel_i kernels[] = {
    /* ---- encoder kernels ---- */

    /* ---- neuron, readout, optimizer kernels ---- */

    /* ---- linear kernels (dense and event-driven) ---- */

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
