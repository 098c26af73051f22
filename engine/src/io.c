/* io.c — the fault-injection seam of file operations (io.h). */
#define _GNU_SOURCE /* fopencookie */

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int armed;
static atomic_long calls[LIF_IO_OPS];
static lif_io_op fault_op;
static long fault_k, fault_keep;
static int fault_err;

void lif_io_fault(lif_io_op op, long k, int err, long keep)
{
    for (int i = 0; i < LIF_IO_OPS; i++)
        atomic_store(&calls[i], 0);
    fault_op = op;
    fault_k = k;
    fault_err = err;
    fault_keep = keep;
    atomic_store(&armed, op < LIF_IO_OPS && k >= 1);
}

long lif_io_calls(lif_io_op op) { return op < LIF_IO_OPS ? atomic_load(&calls[op]) : 0; }

/* What the next call of op does: 0 run it, 1 fail it (errno set), 2 a
 * short transfer of fault_keep bytes. */
static int next(lif_io_op op)
{
    long c = atomic_fetch_add(&calls[op], 1) + 1;
    if (!atomic_load(&armed) || op != fault_op || c < fault_k)
        return 0;
    if (c == fault_k && fault_keep >= 0)
        return 2;
    if (fault_err == 0)
        return 0;
    errno = fault_err;
    return 1;
}

int lif_io_open(const char *path, int flags, mode_t mode)
{
    return next(LIF_IO_OPEN) == 1 ? -1 : open(path, flags, mode);
}

/* The bytes a write or read of n may transfer: -1 when it fails, fewer
 * than n (fault_keep, at most n - 1) on a short transfer, else n. */
static ssize_t transfer(lif_io_op op, size_t n)
{
    switch (next(op)) {
    case 1:
        return -1;
    case 2:
        return n > 1 ? (ssize_t)((size_t)fault_keep < n - 1 ? (size_t)fault_keep : n - 1)
                     : (ssize_t)n;
    }
    return (ssize_t)n;
}

ssize_t lif_io_write(int fd, const void *buf, size_t n)
{
    ssize_t k = transfer(LIF_IO_WRITE, n);
    return k < 0 ? -1 : write(fd, buf, (size_t)k);
}

ssize_t lif_io_read(int fd, void *buf, size_t n)
{
    ssize_t k = transfer(LIF_IO_READ, n);
    return k < 0 ? -1 : read(fd, buf, (size_t)k);
}

int lif_io_fsync(int fd) { return next(LIF_IO_FSYNC) == 1 ? -1 : fsync(fd); }

int lif_io_close(int fd)
{
    if (next(LIF_IO_CLOSE) == 1) {
        int e = errno;
        close(fd); /* the descriptor is gone either way, as with close(2) */
        errno = e;
        return -1;
    }
    return close(fd);
}

int lif_io_rename(const char *from, const char *to)
{
    return next(LIF_IO_RENAME) == 1 ? -1 : rename(from, to);
}

/* ---- armed streams ------------------------------------------------------ */

#define MAX_STREAMS 64
#define STREAM_CHUNK 512 /* bytes per write(2): many writes per file, more places to fail */

static struct {
    FILE *f;
    int fd;
} streams[MAX_STREAMS];

static ssize_t s_write(void *cookie, const char *buf, size_t n)
{
    int fd = (int)(intptr_t)cookie;
    size_t done = 0;
    while (done < n) { /* a short write goes on, as glibc's own streams do */
        size_t part = n - done > STREAM_CHUNK ? STREAM_CHUNK : n - done;
        ssize_t w = lif_io_write(fd, buf + done, part);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1; /* the stream's error flag is set; what it held is lost */
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static int s_close(void *cookie)
{
    int fd = (int)(intptr_t)cookie;
    for (int i = 0; i < MAX_STREAMS; i++)
        if (streams[i].fd == fd && streams[i].f) {
            streams[i].f = NULL;
            break;
        }
    return lif_io_close(fd);
}

FILE *lif_io_fdopen(int fd, const char *mode)
{
    if (!atomic_load(&armed))
        return fdopen(fd, mode);
    int slot = -1;
    for (int i = 0; i < MAX_STREAMS && slot < 0; i++)
        if (!streams[i].f)
            slot = i;
    if (slot < 0) {
        errno = EMFILE;
        return NULL;
    }
    cookie_io_functions_t io = {.read = NULL, .write = s_write, .seek = NULL, .close = s_close};
    FILE *f = fopencookie((void *)(intptr_t)fd, mode, io);
    if (f) {
        streams[slot].f = f;
        streams[slot].fd = fd;
    }
    return f;
}

int lif_io_fileno(FILE *f)
{
    for (int i = 0; i < MAX_STREAMS; i++)
        if (streams[i].f == f && f)
            return streams[i].fd;
    return fileno(f);
}

FILE *lif_io_fopen(const char *path, const char *mode)
{
    if (!atomic_load(&armed))
        return fopen(path, mode);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode[0] == 'a' ? O_APPEND : O_TRUNC);
    int fd = lif_io_open(path, flags, 0666);
    if (fd < 0)
        return NULL;
    FILE *f = lif_io_fdopen(fd, mode);
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}
