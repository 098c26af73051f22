/* lif info — version, CPU, topology, backends and their kernels. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* What a kernel does for the reference problem here: "-" (its backend is
 * unavailable), "cannot: why", or its rank; *rank and *basis set for the last. */
static const char *kernel_status(const lif_kernel_i *ki, int available, double *rank,
                                 const char **basis)
{
    lif_recipe ref;
    lif_recipe_default(&ref);
    lif_problem p = {.op = ki->op, .T = ref.T, .Tc = ref.T, .B = ref.batch, .n_in = 784,
                     .n_out = 10, .density = 0.2f, .nrn = &ref.neuron, .opt = ref.opt,
                     .loss = ref.loss, .threads = 1};
    const char *why = "";
    if (!available)
        return NULL;
    if (ki->supports && !ki->supports(&p, &why))
        return why;
    *rank = lif_kernel_rank(ki, &p, basis);
    return "";
}

static int info_json(void)
{
    const lif_cpu *c = lif_cpu_get();
    json_t *j = json_object(), *bl = json_array(), *cpu = json_object();
    if (!j || !bl || !cpu) {
        json_decref(j);
        json_decref(bl);
        json_decref(cpu);
        return cli_fail("info", lif_error(LIF_ERR_NOMEM, "out of memory writing JSON"));
    }
    json_object_set_new(j, "provenance", cli_provenance());
    json_object_set_new(cpu, "avx2", json_boolean(c->avx2));
    json_object_set_new(cpu, "fma", json_boolean(c->fma));
    json_object_set_new(cpu, "avx512f", json_boolean(c->avx512f));
    json_object_set_new(cpu, "avx512bw", json_boolean(c->avx512bw));
    json_object_set_new(cpu, "avx512vl", json_boolean(c->avx512vl));
    json_object_set_new(cpu, "avx512dq", json_boolean(c->avx512dq));
    json_object_set_new(cpu, "os_ymm", json_boolean(c->os_ymm));
    json_object_set_new(cpu, "os_zmm", json_boolean(c->os_zmm));
    json_object_set_new(j, "cpu_features", cpu);
    const lif_topology *topo;
    if (lif_topology_get(&topo) == LIF_OK) {
        json_t *t = json_object();
        json_object_set_new(t, "source", json_string(topo->source));
        json_object_set_new(t, "packages", json_integer(topo->packages));
        json_object_set_new(t, "numa_nodes", json_integer(topo->numa_nodes));
        json_object_set_new(t, "cores", json_integer(topo->cores));
        json_object_set_new(t, "pus", json_integer(topo->pus));
        json_object_set_new(j, "topology", t);
    } else {
        json_object_set_new(j, "topology", json_null());
    }
    json_object_set_new(j, "default_threads", json_integer(lif_topology_default_threads()));
    json_object_set_new(j, "wisdom", cli_wisdom_info(NULL));
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (size_t i = 0; i < nb; i++) {
        const char *why = "";
        int ok = lif_backend_available(bs[i], &why);
        json_t *b = json_object(), *ks = json_array();
        json_object_set_new(b, "name", json_string(bs[i]->name));
        json_object_set_new(b, "description", json_string(bs[i]->description));
        json_object_set_new(b, "available", json_boolean(ok));
        json_object_set_new(b, "unavailable_because", ok ? json_null() : json_string(why));
        for (size_t k = 0; k < bs[i]->n_kernels; k++) {
            const lif_kernel_i *ki = &bs[i]->kernels[k];
            char name[128];
            double rank = 0;
            const char *basis = "", *cannot = kernel_status(ki, ok, &rank, &basis);
            json_t *kj = json_object();
            json_object_set_new(kj, "name", json_string(lif_kernel_name(ki, name, sizeof name)));
            json_object_set_new(kj, "op", json_string(lif_op_name(ki->op)));
            json_object_set_new(kj, "threaded", json_boolean(ki->flags & LIF_KERNEL_THREADED));
            json_object_set_new(kj, "cannot", cannot && *cannot ? json_string(cannot) : json_null());
            json_object_set_new(kj, "rank", cannot && !*cannot ? json_real(rank) : json_null());
            json_object_set_new(kj, "rank_basis", cannot && !*cannot ? json_string(basis) : json_null());
            json_array_append_new(ks, kj);
        }
        json_object_set_new(b, "kernels", ks);
        json_array_append_new(bl, b);
    }
    json_object_set_new(j, "backends", bl);
    int rc = cli_print_json(j);
    json_decref(j);
    return rc;
}

int cmd_info(int argc, char **argv)
{
    static const cli_flag flags[] = {
        {"json", FLAG_OPTION, "json", NULL, "print it all as one JSON object"},
        {NULL, 0, NULL, NULL, NULL},
    };
    cli_args args;
    int rc = cli_parse(argc, argv, flags, "info", &args);
    if (rc == -1) {
        printf("usage: lif info [--json]\n\nPrints the version, the CPU, its topology (hwloc: packages, NUMA\n"
               "nodes, cores, PUs, caches), the wisdom file (lif autotune) with its\n"
               "fingerprint and whether it matches this machine, and every backend with\n"
               "its kernels and whether it can run here; --json prints the same as one\n"
               "JSON object.\n");
        return LIF_EXIT_OK;
    }
    if (rc)
        return rc;
    if (cli_get(&args, "json"))
        return info_json();
    const lif_cpu *c = lif_cpu_get();
    printf("lif %s\ncpu: %s (%s), %d logical CPUs\n", lif_version(), c->model, c->vendor,
           c->logical_cpus);
    printf("isa: %s (best this CPU and OS run: %s%s); avx2 %d fma %d avx512f/bw/vl/dq %d/%d/%d/%d, "
           "OS saves ymm %d zmm %d\n", lif_isa_name(c->isa), lif_isa_name(c->best),
           c->capped ? ", capped by LIF_MAX_CPU_ISA" : "", c->avx2, c->fma, c->avx512f,
           c->avx512bw, c->avx512vl, c->avx512dq, c->os_ymm, c->os_zmm);
    const lif_topology *topo;
    char line[512];
    if (lif_topology_get(&topo) == LIF_OK)
        printf("topology (%s): %s\n", topo->source,
               lif_topology_summary(topo, line, sizeof line));
    else
        printf("topology: unknown (%s)\n", lif_last_error());
    printf("threads: %d by default (OMP_NUM_THREADS if set, else the physical cores)\n",
           lif_topology_default_threads());
    json_decref(cli_wisdom_info(stdout));
    printf("backends: (per kernel: what it cannot run here, or its rank by the estimate for\n"
           "the reference problem, 784 -> 10, T 100, batch 64, density 0.2; higher is faster):\n");
    lif_recipe ref;
    lif_recipe_default(&ref);
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (size_t i = 0; i < nb; i++) {
        const char *why = "";
        int ok = lif_backend_available(bs[i], &why);
        printf("  %-8s %s%s%s — %s\n", bs[i]->name, ok ? "available" : "unavailable",
               ok ? "" : ": ", ok ? "" : why, bs[i]->description);
        for (size_t k = 0; k < bs[i]->n_kernels; k++) {
            const lif_kernel_i *ki = &bs[i]->kernels[k];
            char name[128], what[256];
            lif_problem p = {.op = ki->op, .T = ref.T, .Tc = ref.T, .B = ref.batch, .n_in = 784,
                             .n_out = 10, .density = 0.2f, .nrn = &ref.neuron, .opt = ref.opt,
                             .loss = ref.loss, .threads = 1};
            const char *basis = "";
            if (!ok)
                snprintf(what, sizeof what, "-");
            else if (ki->supports && !ki->supports(&p, &why))
                snprintf(what, sizeof what, "cannot: %s", why);
            else {
                double rank = lif_kernel_rank(ki, &p, &basis);
                snprintf(what, sizeof what, "rank %g: %s", rank, basis);
            }
            printf("    %-31s %s%s\n", lif_kernel_name(ki, name, sizeof name), what,
                   ki->flags & LIF_KERNEL_THREADED ? " (threaded)" : "");
        }
    }
    return LIF_EXIT_OK;
}
