/* lif/npy.h — NumPy .npy files (format version 1.0, C order). */
#ifndef LIF_NPY_H
#define LIF_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LIF_NPY_MAX_DIMS 8

/* An array read from a .npy file, converted to double. */
typedef struct lif_npy {
    int ndim;
    size_t shape[LIF_NPY_MAX_DIMS];
    size_t count;      /* product of shape (1 for a 0-d array) */
    double *data;      /* [count] */
    char dtype[8];     /* the file's descr, e.g. "<f4", "<f8", "<i8" */
} lif_npy;

/* Writes data as a little-endian float32 array of the given shape; the file
 * is replaced atomically (lif/atomic.h).
 * Returns LIF_OK, LIF_ERR_INVALID_ARG or LIF_ERR_IO (the previous file at
 * path is left untouched). */
lif_status lif_npy_write_f32(const char *path, const float *data, int ndim,
                             const size_t *shape);

/* Reads a C-order .npy of dtype <f4, <f8, <i8, <i4, |u1, |b1 or <u4 into
 * *out (free with lif_npy_free). Returns LIF_OK, LIF_ERR_IO, LIF_ERR_FORMAT
 * (bad magic, header, dtype, Fortran order, truncated), LIF_ERR_NOMEM. */
lif_status lif_npy_read(const char *path, lif_npy *out);

void lif_npy_free(lif_npy *a);

#ifdef __cplusplus
}
#endif
#endif
