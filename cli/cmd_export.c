/* lif export — a checkpoint's weights as safetensors, .npy files or NIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_flag export_flags[] = {
    {"format", FLAG_OPTION, "format", "safetensors|npy|nir", "the output format (required)"},
    {"o", FLAG_OPTION, "out", "OUT", "the output file (safetensors, nir) or folder (npy) (required)"},
    {"checkpoint", FLAG_OPTION, "checkpoint", "FILE", "the checkpoint (or give it first, without a flag)"},
    {"dt", FLAG_OPTION, "dt", "DT", "nir: the time step NIR's continuous LIF is integrated with; tau = tau * DT (1: one step)"},
    {NULL, 0, NULL, NULL, NULL},
};

static void export_help(void)
{
    printf("usage: lif export CKPT --format safetensors|npy|nir -o OUT [--dt DT]\n\n"
           "Writes the checkpoint's parameters under the reference framework's state_dict\n"
           "names (layer.1.weight [n_out, n_in], layer.1.bias, layer.3.weight, ...):\n"
           "  safetensors  one file, F32 tensors (torch: load_state_dict(safetensors.torch.load_file(OUT)))\n"
           "  npy          a folder with one <name>.npy per tensor (numpy.load)\n"
           "  nir          the graph Input -> Linear -> LIF -> ... -> Output as NIR 1.0 (HDF5)\n\n"
           "flags:\n");
    cli_print_flags(stdout, export_flags);
}

int cmd_export(int argc, char **argv)
{
    cli_args args;
    const char *positional = NULL;
    if (argc > 0 && argv[0][0] != '-') {
        positional = argv[0];
        argc--;
        argv++;
    }
    int rc = cli_parse(argc, argv, export_flags, "export", &args);
    if (rc == -1) {
        export_help();
        return LIF_EXIT_OK;
    }
    if (rc)
        return rc;
    const char *ckpt = cli_get(&args, "checkpoint"), *format = cli_get(&args, "format"),
               *out = cli_get(&args, "out"), *dt_s = cli_get(&args, "dt");
    if (ckpt && positional) {
        fprintf(stderr, "lif export: two checkpoints ('%s' and -checkpoint %s): give one\n",
                positional, ckpt);
        return LIF_EXIT_USAGE;
    }
    if (!ckpt)
        ckpt = positional;
    if (!ckpt || !format || !out) {
        fprintf(stderr, "lif export: %s is required (lif export CKPT --format "
                        "safetensors|npy|nir -o OUT)\n",
                !ckpt ? "a checkpoint" : !format ? "--format" : "-o OUT");
        return LIF_EXIT_USAGE;
    }
    int fmt = strcmp(format, "safetensors") == 0 ? 0 : strcmp(format, "npy") == 0 ? 1
            : strcmp(format, "nir") == 0         ? 2 : -1;
    if (fmt < 0) {
        fprintf(stderr, "lif export: --format: expected safetensors, npy or nir, got '%s'\n", format);
        return LIF_EXIT_USAGE;
    }
    double dt = 1.0;
    if (dt_s) {
        char *end;
        dt = strtod(dt_s, &end);
        if (!*dt_s || *end || !(dt > 0) || dt > 1e6) {
            fprintf(stderr, "lif export: --dt: expected a number in (0, 1e6], got '%s'\n", dt_s);
            return LIF_EXIT_USAGE;
        }
        if (fmt != 2) {
            fprintf(stderr, "lif export: --dt applies to --format nir only\n");
            return LIF_EXIT_USAGE;
        }
    }
    lif_net *net = NULL;
    lif_train_state ts;
    lif_status st = lif_net_load(ckpt, &net, &ts);
    if (st != LIF_OK)
        return cli_fail_input("export", st);
    st = fmt == 0 ? lif_weights_save_safetensors(net, out)
       : fmt == 1 ? lif_weights_save_npy(net, out)
                  : nir_write(net, out, dt);
    lif_net_destroy(net);
    if (st != LIF_OK)
        return cli_fail("export", st);
    return LIF_EXIT_OK;
}
