/* lif/data.h — IDX data sets (MNIST format), plain or gzip-compressed. */
#ifndef LIF_DATA_H
#define LIF_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* n images of rows x cols uint8 pixels with their labels. */
typedef struct lif_dataset {
    int n, rows, cols;
    uint8_t *images;   /* [n, rows*cols] */
    uint8_t *labels;   /* [n], each < n_classes */
    int n_classes;     /* 10 */
    char images_path[1024], labels_path[1024];  /* what was read */
} lif_dataset;

/* Reads an IDX3 ubyte image file and its IDX1 ubyte label file; either may
 * be gzip-compressed (detected by content, not name). Validates magic
 * numbers, dimensions, that counts agree, that labels are < 10 and that
 * neither file is truncated or has trailing bytes.
 * Outputs *out on success (free with lif_dataset_free).
 * Returns LIF_OK, LIF_ERR_IO (cannot open/read), LIF_ERR_FORMAT (the detail
 * names the file and the problem), LIF_ERR_NOMEM. */
lif_status lif_idx_load(const char *images_path, const char *labels_path,
                        lif_dataset *out);

/* Finds and loads the training and test sets under dir. Accepted layouts:
 *   dir/{train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *        t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte}[.gz]
 *     (a user's MNIST folder, Debian's /usr/share/datasets/fashion-mnist)
 *   dir/MNIST/raw/..., dir/FashionMNIST/raw/..., dir/raw/... (torchvision)
 * Either output may be NULL to skip loading that split (both NULL: only
 * checks that all four files exist). Plain files are preferred over .gz.
 * Returns LIF_OK, LIF_ERR_NOT_FOUND (no layout matched; the detail lists
 * what was looked for), or what lif_idx_load returns. */
lif_status lif_data_open_dir(const char *dir, lif_dataset *train,
                             lif_dataset *test);

/* Frees the arrays of d and zeroes it; NULL-safe. */
void lif_dataset_free(lif_dataset *d);

/* Writes an IDX3 image file and IDX1 label file, gzip-compressed when gz is
 * nonzero (used by tests and tools to make small sets). */
lif_status lif_idx_write(const char *images_path, const char *labels_path,
                         const uint8_t *images, const uint8_t *labels, int n,
                         int rows, int cols, int gz);

#ifdef __cplusplus
}
#endif
#endif
