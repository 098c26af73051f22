/* test_topology.c — lif/topology.h: plausible counts and cache levels, one
 * cached description (the same pointer, from any thread), the default
 * thread count (OMP_NUM_THREADS's first entry, else the cores), binding a
 * thread to a core, the text forms, plans resolving threads 0 to the
 * default, and the fallback when hwloc cannot load a topology (a child
 * process of this test, with hwloc's discovery components disabled). */
#define _GNU_SOURCE

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lif/lif.h"
#include "testutil.h"

static const lif_topology *topo;

static int pow2(size_t x) { return x && (x & (x - 1)) == 0; }

static void test_values(void)
{
    const lif_topology *t = NULL;
    lif_status st = lif_topology_get(&t);
    CHECK(st == LIF_OK, "lif_topology_get: %s (%s)", lif_status_str(st), lif_last_error());
    CHECK(t != NULL, "no topology");
    if (!t)
        exit(test_finish("test_topology"));
    topo = t;
    printf("topology: %s: %d packages, %d NUMA nodes, %d cores, %d PUs, %d cache levels\n",
           t->source, t->packages, t->numa_nodes, t->cores, t->pus, t->n_caches);
    CHECK(t->packages >= 1, "packages %d", t->packages);
    CHECK(t->numa_nodes >= 1, "NUMA nodes %d", t->numa_nodes);
    CHECK(t->cores >= 1, "cores %d", t->cores);
    CHECK(t->pus >= t->cores, "PUs %d < cores %d", t->pus, t->cores);
    CHECK(t->cores >= t->packages, "cores %d < packages %d", t->cores, t->packages);
    CHECK(memchr(t->source, '\0', sizeof t->source) && strlen(t->source) > 0, "source empty");
    if (st == LIF_OK)
        CHECK(strncmp(t->source, "hwloc ", 6) == 0, "source '%s'", t->source);
    CHECK(t->n_caches >= 0 && t->n_caches <= LIF_TOPO_MAX_CACHE_LEVELS, "n_caches %d",
          t->n_caches);
    for (int i = 0; i < t->n_caches; i++) {
        const lif_cache_level *c = &t->caches[i];
        printf("  L%d: %zu bytes, line %zu, x%d, %d cores each\n", c->level, c->size, c->line,
               c->count, c->cores_sharing);
        CHECK(c->level >= 1 && c->level <= LIF_TOPO_MAX_CACHE_LEVELS, "level %d", c->level);
        CHECK(c->size > 0, "L%d size 0", c->level);
        CHECK(c->line == 0 || (pow2(c->line) && c->line <= 1024), "L%d line %zu", c->level,
              c->line);
        CHECK(c->count >= 1, "L%d count %d", c->level, c->count);
        CHECK(c->cores_sharing >= 0 && c->cores_sharing <= t->cores, "L%d shared by %d cores",
              c->level, c->cores_sharing);
        if (i > 0) {
            const lif_cache_level *p = &t->caches[i - 1];
            CHECK(c->level > p->level, "levels out of order: L%d after L%d", c->level, p->level);
            /* one cache of a level holds at least what one of the level below does */
            CHECK(c->size >= p->size, "L%d %zu bytes < L%d %zu bytes", c->level, c->size,
                  p->level, p->size);
        }
    }
}

static void *get_from_thread(void *arg)
{
    const lif_topology **out = arg;
    lif_topology_get(out);
    return NULL;
}

static void test_stable(void)
{
    const lif_topology *a = NULL, *b = NULL;
    lif_topology_get(&a);
    lif_topology_get(&b);
    CHECK(a == topo && b == topo, "lif_topology_get gives another pointer: %p %p %p", (void *)a,
          (void *)b, (void *)topo);
    const lif_topology *got[4] = {0};
    pthread_t tid[4];
    int started = 0;
    for (int i = 0; i < 4; i++)
        if (pthread_create(&tid[i], NULL, get_from_thread, &got[i]) == 0)
            started++;
        else
            break;
    for (int i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        CHECK(got[i] == topo, "thread %d got %p, not %p", i, (void *)got[i], (void *)topo);
    }
}

static void test_default_threads(void)
{
    int cores = topo->cores > 1024 ? 1024 : topo->cores;
    unsetenv("OMP_NUM_THREADS");
    int n = lif_topology_default_threads();
    CHECK(n == cores, "OMP_NUM_THREADS unset: %d threads, want the %d cores", n, cores);
    static const struct {
        const char *env;
        int want;  /* 0: the cores */
    } cases[] = {
        {"3", 3},      {"2,1", 2},  {"1", 1},     {"1024", 1024}, {" 4 ", 4}, {"7,", 7},
        {"0", 0},      {"abc", 0},  {"5000", 0},  {"1025", 0},    {"", 0},    {"-2", 0},
        {"3x", 0},     {",2", 0},   {"99999999999999999999", 0},  {"2.5", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("OMP_NUM_THREADS", cases[i].env, 1);
        int want = cases[i].want ? cases[i].want : cores;
        n = lif_topology_default_threads();
        CHECK(n == want, "OMP_NUM_THREADS='%s': %d threads, want %d", cases[i].env, n, want);
    }
    unsetenv("OMP_NUM_THREADS");
}

/* Binding runs in a thread of its own, so the rest of the test runs unpinned. */
typedef struct bind_job {
    int core;
    lif_status st;
    int cpus;  /* CPUs in the thread's affinity mask afterwards, -1 unknown */
} bind_job;

static void *bind_thread(void *arg)
{
    bind_job *j = arg;
    j->st = lif_topology_bind_core(j->core);
    cpu_set_t set;
    CPU_ZERO(&set);
    j->cpus = pthread_getaffinity_np(pthread_self(), sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
    return NULL;
}

static void test_bind(void)
{
    int cores = topo->cores;
    const int which[] = {0, cores - 1, cores, 2 * cores + 1, -1};
    for (size_t i = 0; i < sizeof which / sizeof which[0]; i++) {
        bind_job j = {.core = which[i], .st = LIF_ERR_INTERNAL, .cpus = -1};
        pthread_t tid;
        if (pthread_create(&tid, NULL, bind_thread, &j) != 0) {
            CHECK(0, "pthread_create failed");
            return;
        }
        pthread_join(tid, NULL);
        if (j.st == LIF_ERR_UNSUPPORTED) {
            printf("bind_core(%d): skipped, the OS refused: %s\n", which[i], lif_last_error());
            continue;
        }
        CHECK(j.st == LIF_OK, "bind_core(%d): %s", which[i], lif_status_str(j.st));
        /* one core's PUs: at least one, at most what is left when every
         * other core has one */
        CHECK(j.cpus == -1 || (j.cpus >= 1 && j.cpus <= topo->pus - topo->cores + 1),
              "bind_core(%d): the thread may run on %d CPUs (%d cores, %d PUs)", which[i],
              j.cpus, topo->cores, topo->pus);
    }
}

static void test_text(void)
{
    char *s = lif_topology_text(topo);
    CHECK(s && strlen(s) > 0, "lif_topology_text empty");
    if (s) {
        printf("%s", s);
        CHECK(strstr(s, "core") != NULL, "text does not mention cores: %s", s);
        CHECK(strstr(s, "Package") != NULL, "text does not mention the package: %s", s);
        CHECK(s[strlen(s) - 1] == '\n', "text does not end its last line");
        for (int i = 0; i < topo->n_caches; i++) {
            char want[8];
            snprintf(want, sizeof want, "L%d", topo->caches[i].level);
            CHECK(strstr(s, want) != NULL, "text lacks %s: %s", want, s);
        }
    }
    free(s);
    char line[512];
    CHECK(lif_topology_summary(topo, line, sizeof line) == line, "summary returns its buffer");
    printf("summary: %s\n", line);
    CHECK(strstr(line, "core") && strstr(line, "PU") && !strchr(line, '\n'), "summary: %s", line);
    char tiny[12];
    lif_topology_summary(topo, tiny, sizeof tiny);
    CHECK(strlen(tiny) == sizeof tiny - 1 && strncmp(tiny, line, sizeof tiny - 1) == 0,
          "truncated summary: '%s'", tiny);

    /* a made-up machine: the forms of the text */
    lif_topology m = {.packages = 2, .numa_nodes = 2, .cores = 64, .pus = 128, .n_caches = 3,
                      .source = "test"};
    m.caches[0] = (lif_cache_level){1, 48 << 10, 64, 64, 1};
    m.caches[1] = (lif_cache_level){2, 1280 << 10, 64, 64, 1};
    m.caches[2] = (lif_cache_level){3, 32 << 20, 64, 8, 8};
    lif_topology_summary(&m, line, sizeof line);
    CHECK(strcmp(line, "2 packages, 2 NUMA nodes, 64 cores, 128 PUs; L1d 48 KiB x64 (1 core "
                       "each), L2 1280 KiB x64 (1 core each), L3 32 MiB x8 (8 cores each)") == 0,
          "summary of a made-up machine: %s", line);
    s = lif_topology_text(&m);
    CHECK(s && strstr(s, "Machine (test): 2 packages") && strstr(s, "Package 0..1: 32 cores, 64 PUs each") &&
              strstr(s, "L3 32 MiB x8 (8 cores each), 64 B lines"),
          "text of a made-up machine: %s", s ? s : "(null)");
    free(s);
}

/* threads 0 in the plan options: the plan runs with the default count. */
static void test_plan_threads(void)
{
    lif_recipe r;
    lif_recipe_default(&r);
    r.T = 4;
    lif_net *net = NULL;
    CHECK(lif_net_create(&r, 8, 2, &net) == LIF_OK, "net: %s", lif_last_error());
    if (!net)
        return;
    static const struct {
        const char *env;  /* OMP_NUM_THREADS, NULL unset */
        int threads, want; /* want 0: the cores */
    } cases[] = {{NULL, 0, 0}, {"3", 0, 3}, {"3", 2, 2}, {NULL, 1, 1}, {"bogus", 0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].env)
            setenv("OMP_NUM_THREADS", cases[i].env, 1);
        else
            unsetenv("OMP_NUM_THREADS");
        lif_plan_opts o;
        lif_plan_opts_default(&o);
        CHECK(o.threads == 0 && o.bind == LIF_BIND_NONE, "defaults: threads %d bind %d",
              o.threads, o.bind);
        strcpy(o.backend, "scalar");
        o.threads = cases[i].threads;
        lif_plan *plan = NULL;
        lif_status st = lif_plan_create(net, 2, &o, &plan);
        CHECK(st == LIF_OK, "plan: %s", lif_last_error());
        if (plan) {
            int want = cases[i].want ? cases[i].want : (topo->cores > 1024 ? 1024 : topo->cores);
            const lif_plan_opts *po = lif_plan_options(plan);
            CHECK(po->threads == want, "OMP_NUM_THREADS %s, threads %d: the plan runs %d, want %d",
                  cases[i].env ? cases[i].env : "unset", cases[i].threads, po->threads, want);
            CHECK(po->bind == LIF_BIND_NONE, "bind %d", po->bind);
        }
        lif_plan_destroy(plan);
    }
    unsetenv("OMP_NUM_THREADS");
    lif_net_destroy(net);
}

/* In a child where hwloc cannot load: one core, no caches, UNSUPPORTED. */
static int fallback_child(void)
{
    const lif_topology *t = NULL;
    lif_status st = lif_topology_get(&t);
    if (st == LIF_OK) {
        printf("hwloc loaded a topology despite HWLOC_COMPONENTS; fallback not tested\n");
        return 77;
    }
    CHECK(st == LIF_ERR_UNSUPPORTED, "status %s", lif_status_str(st));
    CHECK(strstr(lif_last_error(), "hwloc") != NULL, "detail: %s", lif_last_error());
    CHECK(t && t->packages == 1 && t->numa_nodes == 1 && t->cores == 1 && t->pus == 1 &&
              t->n_caches == 0,
          "fallback description");
    const lif_topology *again = NULL;
    CHECK(lif_topology_get(&again) == LIF_ERR_UNSUPPORTED && again == t, "second call");
    unsetenv("OMP_NUM_THREADS");
    CHECK(lif_topology_default_threads() == 1, "default threads %d",
          lif_topology_default_threads());
    setenv("OMP_NUM_THREADS", "5", 1);
    CHECK(lif_topology_default_threads() == 5, "OMP_NUM_THREADS=5 without hwloc");
    CHECK(lif_topology_bind_core(0) == LIF_ERR_UNSUPPORTED, "bind without a topology");
    char *s = t ? lif_topology_text(t) : NULL;
    CHECK(s && strstr(s, "core"), "fallback text: %s", s ? s : "(null)");
    free(s);
    return test_finish("test_topology (fallback child)");
}

static void test_fallback(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        CHECK(0, "fork failed");
        return;
    }
    if (pid == 0) {
        setenv("HWLOC_COMPONENTS", "-linux,-x86,-no_os", 1);
        execl("/proc/self/exe", "test_topology", "--fallback-child", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (rc == 77)
        printf("fallback: skipped (hwloc could not be made to fail here)\n");
    else
        CHECK(rc == 0, "fallback child exited %d", rc);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--fallback-child") == 0)
        return fallback_child();
    test_values();
    test_stable();
    test_default_threads();
    test_bind();
    test_text();
    test_plan_threads();
    test_fallback();
    return test_finish("test_topology");
}
