/* lif — train, evaluate and inspect spiking networks on CPUs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a network (the reference recipe by default)"},
    {"eval", cmd_eval, "evaluate a checkpoint on a test set"},
    {"bench", cmd_bench, "benchmark backends side by side (training and inference images/s)"},
    {"export", cmd_export, "write a checkpoint's weights as safetensors, .npy files or NIR (HDF5)"},
    {"plot", cmd_plot, "draw a run folder's curves, spikes, membrane, weights and input as PNGs"},
    {"autotune", cmd_autotune, "find the fastest plan for a problem here and keep it as wisdom"},
    {"info", cmd_info, "show the version, the CPU and the backends and kernels"},
};

static void usage(FILE *f)
{
    fprintf(f, "lif %s — spiking neural networks (Poisson -> Linear -> LIF, BPTT) on CPUs\n\n"
               "usage: lif <command> [flags]   (lif <command> --help for its flags)\n\ncommands:\n",
            lif_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nenvironment:\n"
               "  LIF_VERBOSE=dispatch     print which kernel runs each op and why others declined\n"
               "  LIF_FORCE_KERNEL=a,b     force kernels by name (op/backend/variant)\n"
               "  LIF_MAX_CPU_ISA=I        cap the SIMD kernels' ISA: scalar, avx2 or avx512\n"
               "  LIF_WISDOM=FILE          the autotuner's wisdom file (else $XDG_CACHE_HOME/lif/wisdom.json,\n"
               "                           else ~/.cache/lif/wisdom.json)\n");
}

/* Warns about LIF_FORCE_KERNEL names that match no registered kernel: a
 * typo would otherwise leave the choice to dispatch without a word. */
static void check_forced_kernels(void)
{
    const char *force = getenv("LIF_FORCE_KERNEL");
    if (!force || !*force)
        return;
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (const char *s = force; *s;) {
        size_t len = strcspn(s, ",");
        int found = 0;
        for (size_t i = 0; i < nb && !found; i++)
            for (size_t j = 0; j < bs[i]->n_kernels && !found; j++) {
                char name[128];
                lif_kernel_name(&bs[i]->kernels[j], name, sizeof name);
                found = strlen(name) == len && strncmp(name, s, len) == 0;
            }
        if (!found && len)
            fprintf(stderr, "lif: warning: LIF_FORCE_KERNEL names '%.*s', which is no kernel "
                            "(lif info lists them)\n", (int)len, s);
        s += len;
        if (*s == ',')
            s++;
    }
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return LIF_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return LIF_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("lif %s\n", lif_version());
        return LIF_EXIT_OK;
    }
    cli_main_argc = argc;
    cli_main_argv = argv;
    check_forced_kernels();
    const lif_cpu *cpu = lif_cpu_get();
    if (cpu->cap_ignored[0])
        fprintf(stderr, "lif: warning: LIF_MAX_CPU_ISA=%s is not one of scalar, avx2, avx512; "
                        "ignored\n", cpu->cap_ignored);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "lif: unknown command '%s' (commands: train, eval, bench, export, plot, autotune, info; see lif --help)\n",
            argv[1]);
    return LIF_EXIT_USAGE;
}

/* Output that never arrived is a failure: a full disk or a closed pipe
 * behind stdout turns a success into exit 1 with a word on stderr. */
static int finish_stdout(int rc)
{
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int e = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad)
        return rc;
    fprintf(stderr, "lif: cannot write the standard output: %s\n",
            e ? strerror(e) : "write error");
    return rc == LIF_EXIT_OK ? LIF_EXIT_FAIL : rc;
}

int main(int argc, char **argv)
{
    return finish_stdout(run(argc, argv));
}
