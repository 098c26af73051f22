/* tests/fuzz/fuzz.h — shared by the libFuzzer harnesses (tests/fuzz/README.md).
 *
 * The loaders read files by path, so a harness writes its input to a file
 * of its own (per process, in $TMPDIR or /tmp), loads it and removes it. */
#ifndef LIF_FUZZ_H
#define LIF_FUZZ_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes n bytes to this process's file `tag` and returns its path (one of
 * four static buffers); aborts if it cannot (that is the machine's fault,
 * not the input's). */
static inline const char *fuzz_file(const char *tag, const void *data, size_t n)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    const char *dir = getenv("TMPDIR");
    snprintf(path[k], sizeof path[k], "%s/lif_fuzz_%ld_%s", dir && *dir ? dir : "/tmp",
             (long)getpid(), tag);
    int fd = open(path[k], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path[k]);
        abort();
    }
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror(path[k]);
            abort();
        }
        p += w;
        n -= (size_t)w;
    }
    close(fd);
    return path[k];
}

/* With LIF_FUZZ_DEBUG set, prints why an input was refused (to read what a
 * seed reaches: `LIF_FUZZ_DEBUG=1 fuzz_x seed`). */
#include "lif/status.h"
static inline void fuzz_debug(const char *what, lif_status st)
{
    if (getenv("LIF_FUZZ_DEBUG"))
        fprintf(stderr, "%s: %s: %s\n", what, lif_status_str(st), st ? lif_last_error() : "");
}

static inline uint32_t fuzz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
