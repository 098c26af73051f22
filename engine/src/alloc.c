#define _GNU_SOURCE /* MADV_HUGEPAGE */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

void *lif_alloc_huge(size_t n)
{
    const size_t huge = (size_t)2 << 20;
    size_t size = n > huge ? n : huge;
    if (size > SIZE_MAX - huge)
        return NULL;
    size = (size + huge - 1) / huge * huge;
    void *p = NULL;
    if (posix_memalign(&p, huge, size) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, size, MADV_HUGEPAGE); /* advice only: plain pages if refused */
#endif
    return p;
}

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
