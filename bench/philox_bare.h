/* bench/philox_bare.h — bare Philox4x32 round loops (philox_bare.c). */
#ifndef LIF_BENCH_PHILOX_BARE_H
#define LIF_BENCH_PHILOX_BARE_H

#include <stdint.h>

/* `rounds` rounds of every state; a value that depends on all of them. The
 * caller checks the CPU (lif_cpu_has) first. */
uint64_t lif_bare_philox_avx512(long rounds);
uint64_t lif_bare_philox_avx2(long rounds);

/* Counters advanced by one round of the loop (all states). */
double lif_bare_philox_counters(int avx512);

#endif
