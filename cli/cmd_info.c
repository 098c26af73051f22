/* lif info — version, CPU, topology, backends and their kernels. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_info(int argc, char **argv)
{
    static const cli_flag flags[] = {{NULL, 0, NULL, NULL, NULL}};
    cli_args args;
    int rc = cli_parse(argc, argv, flags, "info", &args);
    if (rc == -1) {
        printf("usage: lif info\n\nPrints the version, the CPU, its topology (hwloc: packages, NUMA\n"
               "nodes, cores, PUs, caches), and every backend with its kernels and\n"
               "whether it can run here.\n");
        return LIF_EXIT_OK;
    }
    if (rc)
        return rc;
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
