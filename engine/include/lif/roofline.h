/* lif/roofline.h — this machine's limits, measured by short loops.
 *
 * A kernel's figure means little alone; as a fraction of what the machine
 * can do it says how far from the limit it is. Three roofs are measured on
 * one thread: the vector integer multiply rate (vpmuludq, what the
 * encoder's Philox rounds are made of), floating-point throughput (an FMA loop with enough
 * independent accumulators to fill the pipes; AVX2+FMA when the effective
 * ISA has it, else a portable 128-bit loop of multiplies and adds) and
 * memory bandwidth (copying buffers far larger than the caches). A third
 * figure runs the FMA loop on several threads at once, to tell whether the
 * logical CPUs are real cores (a VM's vCPUs or SMT siblings may share one),
 * and a fourth the round trip of a cache line between two threads. */
#ifndef LIF_ROOFLINE_H
#define LIF_ROOFLINE_H

#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lif_roofline {
    double gflops;        /* peak floating-point GFLOP/s, one thread (an FMA counts 2) */
    double copy_gbps;     /* copy bandwidth GB/s, one thread (bytes read + written) */
    const char *fma_loop; /* "avx512_fma", "avx2_fma" or "portable" (the loop that
                             measured gflops) */
    double seconds;       /* wall time the measurement took */
    double gmuls;         /* 32 x 32 -> 64-bit integer products per second, G, one
                             thread (vpmuludq at the effective ISA's width: the
                             encoder's Philox rounds are made of them); 0 when
                             the effective ISA has no vector multiply loop here */
    double gadds;         /* vector adds and FMAs (alternating, one vector
                             instruction each) per second, G, one thread: the
                             roof of the masked-add linear kernels, which use
                             both the FP-add and the FMA pipes; 0 as gmuls */
} lif_roofline;

/* Measures both roofs, about `seconds` each (0: 0.2 s), one thread, after a
 * warm-up. Outputs *out. Returns LIF_OK or LIF_ERR_NOMEM (copy buffers). */
lif_status lif_roofline_measure(double seconds, lif_roofline *out);

/* Runs the FMA loop of lif_roofline_measure on `threads` threads at once
 * for about `seconds` (0: 0.2 s) and outputs their summed GFLOP/s in
 * *gflops; compare with one thread to see whether threads scale.
 * Returns LIF_OK, LIF_ERR_INVALID_ARG (threads < 1), LIF_ERR_INTERNAL
 * (a thread could not start; the detail says why). */
lif_status lif_roofline_fma_threads(int threads, double seconds, double *gflops);

/* Two threads hand a cache line back and forth (each waits, spinning, for
 * the other's store) for about `seconds` (0: 0.05 s) and output the mean
 * time of a round trip in *ns: what a line written on one core and read on
 * another costs, which sets how much two threads lose on data they share
 * (a VM's vCPUs on different dies of the host pay several times what two
 * cores of one die do). The threads are not pinned, and a waiter yields
 * after a few thousand polls: where both end up on one CPU (one logical
 * CPU, or the other busy) the result is the scheduler's, not the caches'.
 * Returns LIF_OK, LIF_ERR_NOMEM or
 * LIF_ERR_INTERNAL (the second thread could not start). */
lif_status lif_roofline_line_round_trip(double seconds, double *ns);

#ifdef __cplusplus
}
#endif
#endif
