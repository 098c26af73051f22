/* backends/simd/simd.h — the SIMD backend's kernels (internal).
 *
 * Files named *_avx2.c are compiled with -mavx2 -mfma, *_avx512.c with
 * -mavx512f -mavx512bw -mavx512vl -mavx512dq, and nothing else gets ISA
 * flags, so one binary runs on any x86-64: every kernel's supports() checks
 * lif_cpu_has() before the plan may call it. */
#ifndef LIF_SIMD_H
#define LIF_SIMD_H

#include "lif/backend.h"
#include "lif/cpu.h"

/* supports() helpers: accept only when the CPU (and LIF_MAX_CPU_ISA) allow. */
int lif_simd_supports_avx2(const lif_problem *p, const char **why);
int lif_simd_supports_avx512(const lif_problem *p, const char **why);

/* ---- kernel declarations: encoder ---- */

/* ---- kernel declarations: neuron, readout, optimizer ---- */

/* ---- kernel declarations: linear (dense and event-driven) ---- */

#endif
