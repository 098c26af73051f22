/* lif/topology.h — the machine's topology, from hwloc: packages, cores,
 * processing units, NUMA nodes and caches; thread counts and binding.
 *
 * Probed once per process (thread-safe) and kept. The OpenMP backend binds
 * its threads through it, and the autotuner sizes time chunks from the
 * cache sizes it reports. No /proc or sysfs parsing: hwloc does that. */
#ifndef LIF_TOPOLOGY_H
#define LIF_TOPOLOGY_H

#include <stddef.h>

#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LIF_TOPO_MAX_CACHE_LEVELS 4

typedef struct lif_cache_level {
    int level;            /* 1, 2, 3, ... */
    size_t size;          /* bytes of one cache of this level (data or unified) */
    size_t line;          /* line size in bytes (0: unknown) */
    int count;            /* caches of this level in the machine */
    int cores_sharing;    /* cores that share one of them (0: unknown) */
} lif_cache_level;

typedef struct lif_topology {
    int packages;         /* sockets */
    int numa_nodes;       /* at least 1 */
    int cores;            /* physical cores */
    int pus;              /* processing units (hardware threads) */
    int n_caches;         /* entries of caches[], L1 first */
    lif_cache_level caches[LIF_TOPO_MAX_CACHE_LEVELS];
    char source[64];      /* "hwloc 2.9.0" or what probed it */
} lif_topology;

/* The topology of this machine (probed on the first call, then cached).
 * *out points at the cached copy. Returns LIF_OK or LIF_ERR_UNSUPPORTED
 * (hwloc could not load the topology; *out then describes one core, one
 * PU and no caches, so callers can go on). */
lif_status lif_topology_get(const lif_topology **out);

/* Threads to use when the user gives none: OMP_NUM_THREADS when it is set
 * to a number 1..1024 (its first entry, as OpenMP reads a list), else the
 * number of physical cores (at least 1). */
int lif_topology_default_threads(void);

/* Pins the calling thread to physical core `core` (modulo the core count:
 * thread i of n goes to core i % cores), all its PUs. Returns LIF_OK or
 * LIF_ERR_UNSUPPORTED (the OS refused; the thread runs unpinned). */
lif_status lif_topology_bind_core(int core);

/* A short description in the spirit of `lstopo --of console`, one line per
 * level ("Package 0: 2 cores, 2 PUs", "L2 1024 KiB x2 (1 core each)", ...),
 * into a malloc'd string the caller frees; NULL on allocation failure. */
char *lif_topology_text(const lif_topology *t);

/* The same in one line, into buf (size bytes, truncated to fit):
 * "1 package, 1 NUMA node, 2 cores, 2 PUs; L1d 48 KiB x2 (1 core each),
 * L2 1 MiB x2 (1 core each), L3 32 MiB x1 (2 cores)". Returns buf. */
char *lif_topology_summary(const lif_topology *t, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
