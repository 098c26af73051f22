/* placeholder until the benchmark issue lands */
#include <stdio.h>

#include "cli.h"

int cmd_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "lif bench: not implemented yet\n");
    return LIF_EXIT_FAIL;
}
