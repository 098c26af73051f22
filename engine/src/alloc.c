#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "lif_git.h" /* generated at build time: cmake/gitcommit.cmake */

void *lif_alloc(size_t n)
{
    size_t size = (n + 63) / 64 * 64;
    if (size == 0)
        size = 64;
    void *p = aligned_alloc(64, size);
    if (p)
        memset(p, 0, size);
    return p;
}

void lif_free(void *p) { free(p); }

double lif_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *lif_version(void) { return LIF_VERSION_STRING; }

const char *lif_build_commit(void) { return LIF_GIT_COMMIT; }
const char *lif_build_compiler(void) { return LIF_COMPILER; }
const char *lif_build_type(void) { return LIF_BUILD_TYPE; }
