/* The machine's topology through hwloc: probed once per process
 * (pthread_once), kept for binding threads to cores. When hwloc cannot load
 * a topology every call still succeeds in describing one core (and returns
 * LIF_ERR_UNSUPPORTED where that matters), so callers can go on serially. */
#include <errno.h>
#include <hwloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/topology.h"

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static hwloc_topology_t topo;           /* NULL when hwloc failed */
static hwloc_obj_type_t core_type;      /* HWLOC_OBJ_CORE, or PU where no cores are reported */
static lif_topology info;
static char probe_error[192];           /* why hwloc failed ("" when it did not) */

static const hwloc_obj_type_t cache_types[LIF_TOPO_MAX_CACHE_LEVELS] = {
    HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE};

static int count(hwloc_obj_type_t type)
{
    int n = hwloc_get_nbobjs_by_type(topo, type);
    return n > 0 ? n : 0;
}

static void fallback(const char *what, int err)
{
    if (topo)
        hwloc_topology_destroy(topo);
    topo = NULL;
    snprintf(probe_error, sizeof probe_error, "hwloc: %s failed (%s)", what,
             err ? strerror(err) : "no detail");
    info = (lif_topology){.packages = 1, .numa_nodes = 1, .cores = 1, .pus = 1, .n_caches = 0};
    snprintf(info.source, sizeof info.source, "none (hwloc failed)");
}

static void probe(void)
{
    errno = 0;
    if (hwloc_topology_init(&topo) != 0) {
        int e = errno;
        topo = NULL;
        fallback("hwloc_topology_init", e);
        return;
    }
    /* instruction caches and I/O devices are of no use here */
    hwloc_topology_set_icache_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
    errno = 0;
    if (hwloc_topology_load(topo) != 0) {
        fallback("hwloc_topology_load", errno);
        return;
    }
    lif_topology t = {0};
    t.pus = count(HWLOC_OBJ_PU);
    if (t.pus < 1) {
        fallback("finding processing units", 0);
        return;
    }
    t.cores = count(HWLOC_OBJ_CORE);
    core_type = HWLOC_OBJ_CORE;
    if (t.cores < 1) {  /* some platforms report no cores: each PU is one */
        t.cores = t.pus;
        core_type = HWLOC_OBJ_PU;
    }
    t.packages = count(HWLOC_OBJ_PACKAGE);
    if (t.packages < 1)
        t.packages = 1;
    t.numa_nodes = count(HWLOC_OBJ_NUMANODE);
    if (t.numa_nodes < 1)
        t.numa_nodes = 1;
    /* Data or unified caches per level (hwloc keeps instruction caches apart,
     * as L1i, filtered out above). Where a level holds caches of several
     * sizes (hybrid CPUs) the first one describes it. A cache of unknown
     * size is left out. */
    for (int i = 0; i < LIF_TOPO_MAX_CACHE_LEVELS; i++) {
        int n = count(cache_types[i]);
        hwloc_obj_t o = n ? hwloc_get_obj_by_type(topo, cache_types[i], 0) : NULL;
        if (!o || !o->attr || o->attr->cache.size == 0)
            continue;
        lif_cache_level *c = &t.caches[t.n_caches++];
        c->level = i + 1;
        c->size = (size_t)o->attr->cache.size;
        c->line = o->attr->cache.linesize;
        c->count = n;
        int sharing = o->cpuset ? hwloc_get_nbobjs_inside_cpuset_by_type(topo, o->cpuset, core_type)
                                : 0;
        c->cores_sharing = sharing > 0 ? sharing : 0;
    }
    snprintf(t.source, sizeof t.source, "hwloc %s", HWLOC_VERSION);
    info = t;
}

lif_status lif_topology_get(const lif_topology **out)
{
    pthread_once(&probe_once, probe);
    *out = &info;
    if (!topo)
        return lif_error(LIF_ERR_UNSUPPORTED, "%s; assuming one core", probe_error);
    return LIF_OK;
}

/* OMP_NUM_THREADS's first entry ("4", "4,2", " 4 ") when it is 1..1024, else 0. */
static int omp_num_threads(void)
{
    const char *s = getenv("OMP_NUM_THREADS");
    if (!s)
        return 0;
    while (*s == ' ' || *s == '\t')
        s++;
    long v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9' && v <= 1024; s++, digits++)
        v = v * 10 + (*s - '0');
    while (*s == ' ' || *s == '\t')
        s++;
    if (!digits || (*s != '\0' && *s != ',') || v < 1 || v > 1024)
        return 0;
    return (int)v;
}

int lif_topology_default_threads(void)
{
    int n = omp_num_threads();
    if (n)
        return n;
    const lif_topology *t;
    lif_topology_get(&t);
    return t->cores < 1 ? 1 : t->cores > 1024 ? 1024 : t->cores;
}

lif_status lif_topology_bind_core(int core)
{
    const lif_topology *t;
    lif_status st = lif_topology_get(&t);
    if (st != LIF_OK)
        return st;
    int i = core % t->cores;
    if (i < 0)
        i += t->cores;
    hwloc_obj_t o = hwloc_get_obj_by_type(topo, core_type, (unsigned)i);
    if (!o || !o->cpuset)
        return lif_error(LIF_ERR_UNSUPPORTED, "hwloc: no core %d", i);
    if (hwloc_set_cpubind(topo, o->cpuset, HWLOC_CPUBIND_THREAD) != 0)
        return lif_error(LIF_ERR_UNSUPPORTED, "hwloc: cannot bind a thread to core %d: %s", i,
                         strerror(errno));
    return LIF_OK;
}

/* "48 KiB", "1 MiB", "1280 KiB", "512 B". */
static void size_text(size_t bytes, char *buf, size_t size)
{
    if (bytes >= (1u << 30) && bytes % (1u << 30) == 0)
        snprintf(buf, size, "%zu GiB", bytes >> 30);
    else if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
        snprintf(buf, size, "%zu MiB", bytes >> 20);
    else if (bytes >= 1024 && bytes % 1024 == 0)
        snprintf(buf, size, "%zu KiB", bytes >> 10);
    else
        snprintf(buf, size, "%zu B", bytes);
}

static const char *plural(int n, const char *one, const char *many) { return n == 1 ? one : many; }

/* Appends to buf at *len (printf-style), never past size. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void add(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

/* "L2 1 MiB x2 (1 core each)" */
static void cache_text(const lif_cache_level *c, char *buf, size_t size, size_t *len)
{
    char sz[32];
    size_text(c->size, sz, sizeof sz);
    add(buf, size, len, "L%d%s %s x%d", c->level, c->level == 1 ? "d" : "", sz, c->count);
    if (c->cores_sharing == 1)
        add(buf, size, len, " (1 core each)");
    else if (c->cores_sharing > 1)
        add(buf, size, len, " (%d cores%s)", c->cores_sharing, c->count > 1 ? " each" : "");
}

char *lif_topology_summary(const lif_topology *t, char *buf, size_t size)
{
    size_t len = 0;
    if (!buf || size == 0)
        return buf;
    buf[0] = '\0';
    add(buf, size, &len, "%d %s, %d NUMA %s, %d %s, %d %s", t->packages,
        plural(t->packages, "package", "packages"), t->numa_nodes,
        plural(t->numa_nodes, "node", "nodes"), t->cores, plural(t->cores, "core", "cores"),
        t->pus, plural(t->pus, "PU", "PUs"));
    for (int i = 0; i < t->n_caches && i < LIF_TOPO_MAX_CACHE_LEVELS; i++) {
        add(buf, size, &len, i ? ", " : "; ");
        cache_text(&t->caches[i], buf, size, &len);
    }
    return buf;
}

char *lif_topology_text(const lif_topology *t)
{
    size_t size = 1024, len = 0;
    char *buf = malloc(size);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    add(buf, size, &len, "Machine (%s): %d %s, %d NUMA %s, %d %s, %d %s\n", t->source,
        t->packages, plural(t->packages, "package", "packages"), t->numa_nodes,
        plural(t->numa_nodes, "node", "nodes"), t->cores, plural(t->cores, "core", "cores"),
        t->pus, plural(t->pus, "PU", "PUs"));
    int p = t->packages > 0 ? t->packages : 1;
    if (p == 1)
        add(buf, size, &len, "  Package 0: %d %s, %d %s\n", t->cores,
            plural(t->cores, "core", "cores"), t->pus, plural(t->pus, "PU", "PUs"));
    else if (t->cores % p == 0 && t->pus % p == 0)
        add(buf, size, &len, "  Package 0..%d: %d %s, %d %s each\n", p - 1, t->cores / p,
            plural(t->cores / p, "core", "cores"), t->pus / p, plural(t->pus / p, "PU", "PUs"));
    else
        add(buf, size, &len, "  Package 0..%d: %d cores, %d PUs in all\n", p - 1, t->cores,
            t->pus);
    if (t->numa_nodes > 1)
        add(buf, size, &len, "  NUMA node 0..%d\n", t->numa_nodes - 1);
    else
        add(buf, size, &len, "  NUMA node 0\n");
    /* outermost cache first, as lstopo nests them */
    for (int i = (t->n_caches < LIF_TOPO_MAX_CACHE_LEVELS ? t->n_caches
                                                            : LIF_TOPO_MAX_CACHE_LEVELS) - 1;
         i >= 0; i--) {
        add(buf, size, &len, "  ");
        cache_text(&t->caches[i], buf, size, &len);
        if (t->caches[i].line)
            add(buf, size, &len, ", %zu B lines", t->caches[i].line);
        add(buf, size, &len, "\n");
    }
    if (t->n_caches == 0)
        add(buf, size, &len, "  (no cache sizes known)\n");
    return buf;
}
