/* engine/src/io.h — the file operations of the atomic-write helper
 * (atomic.c) and the checkpoint reader (ckpt.c), through one seam, so
 * tests can make the k-th call of an operation fail (not installed; the
 * lif command uses lif_io_fopen for its appended logs).
 *
 * Unarmed, each wrapper is the system call. Armed (lif_io_fault), the
 * wrappers count calls, and the atomic helper and lif_io_fopen hand out
 * streams whose writes go through lif_io_write (fopencookie), so every
 * write(2) of a save or an append can be made to fail. */
#ifndef LIF_IO_H
#define LIF_IO_H

#include <stdio.h>
#include <sys/types.h>

typedef enum lif_io_op {
    LIF_IO_OPEN,    /* open(2): a temporary file, a folder to sync, a file to read or append */
    LIF_IO_WRITE,   /* write(2) of an armed stream */
    LIF_IO_READ,    /* read(2) of the checkpoint reader */
    LIF_IO_FSYNC,   /* fsync(2) of a file or its folder */
    LIF_IO_CLOSE,   /* close(2) of an armed stream */
    LIF_IO_RENAME,  /* rename(2) of a temporary file over its target */
    LIF_IO_OPS
} lif_io_op;

/* Test hook. Arms a fault: the k-th call of op from now on (k >= 1) and
 * every later one fails with errno err (a full disk stays full); with
 * keep >= 0 the k-th call of a write or read first transfers
 * min(keep, n - 1) bytes and returns that short count (the failures start
 * with the next call). err 0: only that short transfer, no failure.
 * Restarts every call counter. lif_io_fault(LIF_IO_OPS, 0, 0, -1) disarms
 * (counters keep counting, streams are plain again). */
void lif_io_fault(lif_io_op op, long k, int err, long keep);

/* Calls of op since the last lif_io_fault. */
long lif_io_calls(lif_io_op op);

int lif_io_open(const char *path, int flags, mode_t mode);
ssize_t lif_io_write(int fd, const void *buf, size_t n);
ssize_t lif_io_read(int fd, void *buf, size_t n);
int lif_io_fsync(int fd);
int lif_io_close(int fd);
int lif_io_rename(const char *from, const char *to);

/* A write stream on fd ("wb", "ab"...): fdopen, or when armed a stream
 * whose writes and close go through the seam. NULL with errno on failure
 * (fd is then left open). */
FILE *lif_io_fdopen(int fd, const char *mode);

/* fileno of a stream from lif_io_fdopen (armed streams have none of their
 * own). */
int lif_io_fileno(FILE *f);

/* fopen for writing or appending ("w", "a"), through the seam. */
FILE *lif_io_fopen(const char *path, const char *mode);

#endif
