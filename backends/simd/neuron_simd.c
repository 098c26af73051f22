/* supports() of the SIMD neuron, readout and optimizer kernels. This file
 * gets no ISA flags: it runs before anyone knows the CPU can do AVX2. */
#include "simd.h"

/* The ISA first, then the options the kernels implement (the enums' values;
 * anything else is a caller's bug that the scalar kernel may interpret). */
static int neuron_ok(const lif_problem *p, lif_isa isa, const char **why)
{
    if (!lif_cpu_has(isa, why))
        return 0;
    if (!p->nrn) {
        *why = "no neuron parameters in the problem";
        return 0;
    }
    if (p->nrn->surrogate != LIF_SURR_ATAN && p->nrn->surrogate != LIF_SURR_SIGMOID) {
        *why = "surrogate is neither ATan nor Sigmoid";
        return 0;
    }
    return 1;
}

static int loss_ok(const lif_problem *p, lif_isa isa, const char **why)
{
    if (!lif_cpu_has(isa, why))
        return 0;
    if (p->loss != LIF_LOSS_MSE && p->loss != LIF_LOSS_CE) {
        *why = "loss is neither MSE nor cross-entropy";
        return 0;
    }
    return 1;
}

static int optim_ok(const lif_problem *p, lif_isa isa, const char **why)
{
    if (!lif_cpu_has(isa, why))
        return 0;
    if (p->opt != LIF_OPT_ADAM && p->opt != LIF_OPT_SGD) {
        *why = "optimizer is neither Adam nor SGD";
        return 0;
    }
    return 1;
}

int lif_simd_supports_neuron_avx2(const lif_problem *p, const char **why)
{
    return neuron_ok(p, LIF_ISA_AVX2, why);
}

int lif_simd_supports_neuron_avx512(const lif_problem *p, const char **why)
{
    return neuron_ok(p, LIF_ISA_AVX512, why);
}

int lif_simd_supports_loss_avx2(const lif_problem *p, const char **why)
{
    return loss_ok(p, LIF_ISA_AVX2, why);
}

int lif_simd_supports_loss_avx512(const lif_problem *p, const char **why)
{
    return loss_ok(p, LIF_ISA_AVX512, why);
}

int lif_simd_supports_optim_avx2(const lif_problem *p, const char **why)
{
    return optim_ok(p, LIF_ISA_AVX2, why);
}

int lif_simd_supports_optim_avx512(const lif_problem *p, const char **why)
{
    return optim_ok(p, LIF_ISA_AVX512, why);
}
