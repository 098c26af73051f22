/* The oneDNN backend (Debian's libdnnl, oneDNN 2.6, its C API): the three
 * linear ops as matmul primitives, in float32 and, for -amp, in bfloat16
 * with float32 accumulation. Every other op comes from the next backend of
 * the preference list (--backend onednn,openmp), then scalar.
 *
 * One CPU engine for the process. LIF_MAX_CPU_ISA caps oneDNN too: avx2
 * maps to dnnl_cpu_isa_avx2 (set before the engine is made, as oneDNN
 * requires), scalar makes the backend unavailable. ONEDNN_MAX_CPU_ISA is
 * oneDNN's own cap; the bf16 kernels ask oneDNN what it will run
 * (dnnl_get_effective_cpu_isa), so either cap refuses them. */
#include <pthread.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "lif/cpu.h"
#include "onednn.h"

static int onednn_avx512(const char **why);
static int available(const char **why);

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;
static dnnl_status_t engine_status = dnnl_success;

static void make_engine(void)
{
    const lif_cpu *c = lif_cpu_get();
    if (c->capped && c->isa == LIF_ISA_AVX2)
        (void)dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2); /* ignored if ONEDNN_MAX_CPU_ISA is lower */
    engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0);
    if (engine_status != dnnl_success)
        engine = NULL;
}

dnnl_engine_t lif_onednn_engine(void)
{
    pthread_once(&engine_once, make_engine);
    if (!engine)
        lif_onednn_fail("creating the CPU engine", engine_status);
    return engine;
}

lif_status lif_onednn_fail(const char *what, dnnl_status_t st)
{
    return lif_error(LIF_ERR_INTERNAL, "onednn: %s failed: %s", what, dnnl_status2str(st));
}

int lif_onednn_has_bf16(const char **why)
{
    const lif_cpu *c = lif_cpu_get();
    if (!onednn_avx512(why))
        return 0;
    if (!c->avx512_bf16) {
        *why = "the CPU lacks AVX512_BF16";
        return 0;
    }
    if (!lif_onednn_engine()) {
        *why = "oneDNN cannot make a CPU engine";
        return 0;
    }
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    /* the ISA values are bit sets: avx512_core_bf16 includes every ISA
     * below it */
    if ((isa & dnnl_cpu_isa_avx512_core_bf16) != dnnl_cpu_isa_avx512_core_bf16) {
        *why = "oneDNN is capped below AVX512_BF16 (ONEDNN_MAX_CPU_ISA)";
        return 0;
    }
    *why = "";
    return 1;
}

/* oneDNN runs on any x86-64, but lif's cap to scalar means "no vector
 * code", which oneDNN's JIT kernels are. */
static int available(const char **why)
{
    if (!lif_cpu_has(LIF_ISA_AVX2, why))
        return 0;
    if (!lif_onednn_engine()) {
        *why = "oneDNN cannot make a CPU engine";
        return 0;
    }
    return 1;
}

/* The kernel contract requires a linear kernel's results to be bitwise
 * the same when its output neurons are cut into blocks (and for any thread
 * count). oneDNN 2.6's AVX2 matmul breaks that: it sums a layer of 8 or 24
 * outputs in another order than one of 16 or 50 (tests/test_kernels.c,
 * LIF_MAX_CPU_ISA=avx2); its AVX-512 one keeps it. So the float32 kernels
 * need oneDNN to run its AVX-512 code (avx512_core), which
 * LIF_MAX_CPU_ISA=avx2 or ONEDNN_MAX_CPU_ISA=avx2 also rule out. */
static int onednn_avx512(const char **why)
{
    if (!available(why) || !lif_cpu_has(LIF_ISA_AVX512, why))
        return 0;
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core) != dnnl_cpu_isa_avx512_core) {
        *why = "oneDNN is capped below AVX-512 (ONEDNN_MAX_CPU_ISA)";
        return 0;
    }
    return 1;
}

int lif_onednn_supports_f32(const lif_problem *p, const char **why)
{
    if (p->amp) {
        *why = "-amp asks for bf16 linear steps: the bf16 kernel runs them";
        return 0;
    }
    if (!onednn_avx512(why)) {
        if (!lif_cpu_has(LIF_ISA_AVX512, NULL) && available(NULL))
            *why = "needs AVX-512: oneDNN's AVX2 matmul sums in an order that depends on the "
                   "layer width (the kernel contract requires output cuts to be bitwise free)";
        return 0;
    }
    return 1;
}

int lif_onednn_supports_bf16(const lif_problem *p, const char **why)
{
    if (!p->amp) {
        *why = "bf16 runs only when asked (-amp): float32 problem";
        return 0;
    }
    return lif_onednn_has_bf16(why);
}

#define K(op_, slot, var, sup, fn, ws, init_)                                          \
    {.abi = LIF_KERNEL_ABI, .op = op_, .backend = "onednn", .variant = var,           \
     .flags = LIF_KERNEL_THREADED, .supports = sup, .run.slot = fn, .workspace = ws,  \
     .init = init_, .fini = lif_onednn_fini}

static const lif_kernel_i kernels[] = {
    K(LIF_OP_LINEAR_FWD, linear_fwd, "f32", lif_onednn_supports_f32, lif_linear_fwd_onednn,
      lif_onednn_ws_fwd, lif_onednn_init_fwd),
    K(LIF_OP_LINEAR_BWD_W, linear_bwd_w, "f32", lif_onednn_supports_f32, lif_linear_bwd_w_onednn,
      lif_onednn_ws_bwd_w, lif_onednn_init_bwd_w),
    K(LIF_OP_LINEAR_BWD_X, linear_bwd_x, "f32", lif_onednn_supports_f32, lif_linear_bwd_x_onednn,
      lif_onednn_ws_bwd_x, lif_onednn_init_bwd_x),
    K(LIF_OP_LINEAR_FWD, linear_fwd, "bf16", lif_onednn_supports_bf16, lif_linear_fwd_onednn,
      lif_onednn_ws_fwd_bf16, lif_onednn_init_fwd_bf16),
    K(LIF_OP_LINEAR_BWD_W, linear_bwd_w, "bf16", lif_onednn_supports_bf16,
      lif_linear_bwd_w_onednn, lif_onednn_ws_bwd_w_bf16, lif_onednn_init_bwd_w_bf16),
    K(LIF_OP_LINEAR_BWD_X, linear_bwd_x, "bf16", lif_onednn_supports_bf16,
      lif_linear_bwd_x_onednn, lif_onednn_ws_bwd_x_bf16, lif_onednn_init_bwd_x_bf16),
};

const lif_backend_i lif_backend_onednn = {
    .abi = LIF_KERNEL_ABI,
    .name = "onednn",
    .description = "oneDNN matmul primitives for the linear steps (float32, or bf16 with "
                   "-amp); the other ops from the next backend of the list",
    .available = available,
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
};
