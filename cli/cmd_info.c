/* lif info — version, CPU, backends and their kernels. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *c = strchr(line, ':');
            if (c) {
                snprintf(buf, size, "%s", c + 2);
                buf[strcspn(buf, "\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

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
    char model[256];
    cpu_model(model, sizeof model);
    printf("lif %s\ncpu: %s\nbackends:\n", lif_version(), model);
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (size_t i = 0; i < nb; i++) {
        const char *why = "";
        int ok = lif_backend_available(bs[i], &why);
        printf("  %-8s %s%s%s — %s\n", bs[i]->name, ok ? "available" : "unavailable",
               ok ? "" : ": ", ok ? "" : why, bs[i]->description);
        for (size_t k = 0; k < bs[i]->n_kernels; k++) {
            char name[128];
            printf("    %s (priority %d)\n", lif_kernel_name(&bs[i]->kernels[k], name, sizeof name),
                   bs[i]->kernels[k].priority);
        }
    }
    return LIF_EXIT_OK;
}
