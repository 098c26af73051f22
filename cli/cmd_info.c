/* lif info — version, CPU, backends and their kernels. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_info(int argc, char **argv)
{
    static const cli_flag flags[] = {{NULL, 0, NULL, NULL, NULL}};
    cli_args args;
    int rc = cli_parse(argc, argv, flags, "info", &args);
    if (rc == -1) {
        printf("usage: lif info\n\nPrints the version, the CPU, and every backend with its kernels\n"
               "and whether it can run here.\n");
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
    printf("backends:\n");
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (size_t i = 0; i < nb; i++) {
        const char *why = "";
        int ok = lif_backend_available(bs[i], &why);
        printf("  %-8s %s%s%s — %s\n", bs[i]->name, ok ? "available" : "unavailable",
               ok ? "" : ": ", ok ? "" : why, bs[i]->description);
        for (size_t k = 0; k < bs[i]->n_kernels; k++) {
            char name[128];
            printf("    %s%s\n", lif_kernel_name(&bs[i]->kernels[k], name, sizeof name),
                   bs[i]->kernels[k].flags & LIF_KERNEL_THREADED ? " (threaded)" : "");
        }
    }
    return LIF_EXIT_OK;
}
