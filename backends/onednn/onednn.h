/* The oneDNN backend: the linear steps as oneDNN matmul primitives over
 * whole time chunks (backends/onednn/linear_onednn.c explains the layout,
 * the threads and the primitive cache). Shared inside the backend only. */
#ifndef LIF_ONEDNN_H
#define LIF_ONEDNN_H

#include <oneapi/dnnl/dnnl.h>

#include "lif/backend.h"

/* The process's CPU engine, made once (thread-safe). NULL with a lif_error
 * detail when oneDNN cannot make one. Before making it, oneDNN's ISA is
 * capped to lif's (LIF_MAX_CPU_ISA=avx2 caps oneDNN to AVX2 too). */
dnnl_engine_t lif_onednn_engine(void);

/* lif_error(LIF_ERR_INTERNAL, "onednn: <what> failed: <oneDNN status>"). */
lif_status lif_onednn_fail(const char *what, dnnl_status_t st);

/* 1 if this CPU (as capped) runs oneDNN's bf16 kernels natively
 * (AVX512_BF16); else 0 and *why. */
int lif_onednn_has_bf16(const char **why);

int lif_onednn_supports_f32(const lif_problem *p, const char **why);
int lif_onednn_supports_bf16(const lif_problem *p, const char **why);

/* workspace / init / fini / run of the three linear ops, f32 and bf16 */
size_t lif_onednn_ws_fwd(const lif_problem *p);
size_t lif_onednn_ws_bwd_w(const lif_problem *p);
size_t lif_onednn_ws_bwd_x(const lif_problem *p);
size_t lif_onednn_ws_fwd_bf16(const lif_problem *p);
size_t lif_onednn_ws_bwd_w_bf16(const lif_problem *p);
size_t lif_onednn_ws_bwd_x_bf16(const lif_problem *p);
lif_status lif_onednn_init_fwd(const lif_problem *p, void **state);
lif_status lif_onednn_init_bwd_w(const lif_problem *p, void **state);
lif_status lif_onednn_init_bwd_x(const lif_problem *p, void **state);
lif_status lif_onednn_init_fwd_bf16(const lif_problem *p, void **state);
lif_status lif_onednn_init_bwd_w_bf16(const lif_problem *p, void **state);
lif_status lif_onednn_init_bwd_x_bf16(const lif_problem *p, void **state);
void lif_onednn_fini(void *state);
lif_status lif_linear_fwd_onednn(const lif_ctx *ctx, const lif_linear_fwd_args *a);
lif_status lif_linear_bwd_w_onednn(const lif_ctx *ctx, const lif_linear_bwd_w_args *a);
lif_status lif_linear_bwd_x_onednn(const lif_ctx *ctx, const lif_linear_bwd_x_args *a);

#endif
