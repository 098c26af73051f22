/* lif/ckpt.h — checkpoint files.
 *
 * Format (all integers little-endian):
 *   header  "LIFCKPT\0" magic (8 bytes), u32 version (1), u32 reserved 0,
 *           u64 payload size in bytes
 *   payload u32 recipe length, recipe JSON text (no NUL);
 *           i32 epoch (last completed epoch, -1 none), f64 max_test_acc,
 *           u64 seed, u64 optimizer step, u64 rng position (the next epoch
 *           whose shuffle and spikes will be drawn);
 *           version 2 only (a run stopped inside epoch `epoch + 1`, see
 *           lif_epoch_part in lif/net.h): u64 training samples done in that
 *           epoch (> 0), f64 their loss sum, u64 their correct count, f64
 *           seconds spent on them;
 *           u32 tensor count, then per tensor: u32 name length, name,
 *           u32 ndim, u64 shape[ndim], f32 data[product of shape]
 *   trailer u32 CRC-32 (zlib) of the payload, "LIFEND\0\0" (8 bytes)
 * Saving writes "<path>.tmp.XXXXXX", fsyncs it, then renames it over path
 * (lif/atomic.h), so an interrupted save leaves the previous checkpoint
 * intact. */
#ifndef LIF_CKPT_H
#define LIF_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LIF_CKPT_VERSION 1u      /* written at an epoch boundary */
#define LIF_CKPT_VERSION_PART 2u /* written inside an epoch: version 1 + the part-epoch state */
#define LIF_CKPT_MAX_DIMS 4

typedef struct lif_ckpt_tensor {
    char name[64];            /* e.g. "layer0.weight", "layer0.weight.adam_m" */
    uint32_t ndim;
    uint64_t shape[LIF_CKPT_MAX_DIMS];
    float *data;              /* [product of shape] */
} lif_ckpt_tensor;

typedef struct lif_ckpt {
    char *recipe_json;        /* NUL-terminated */
    int32_t epoch;
    double max_test_acc;
    uint64_t seed;
    uint64_t step;
    uint64_t rng_position;
    /* inside an epoch (version 2): part_samples > 0; all 0 at a boundary (version 1) */
    uint64_t part_samples;
    double part_loss_sum;
    uint64_t part_correct;
    double part_seconds;
    uint32_t n_tensors;
    lif_ckpt_tensor *tensors;
} lif_ckpt;

/* Saves c to path atomically (temp file, fsync, rename). The tensors'
 * data is only read. Returns LIF_OK, LIF_ERR_INVALID_ARG, LIF_ERR_IO (the
 * previous file at path is left untouched). */
lif_status lif_ckpt_save(const char *path, const lif_ckpt *c);

/* Loads path into *out (free with lif_ckpt_free); *out is written only on
 * success. Returns LIF_OK, LIF_ERR_IO, LIF_ERR_FORMAT (bad magic, version,
 * truncated, implausible sizes), LIF_ERR_CORRUPT (CRC mismatch), LIF_ERR_NOMEM. */
lif_status lif_ckpt_load(const char *path, lif_ckpt *out);

/* The tensor named name, or NULL. */
const lif_ckpt_tensor *lif_ckpt_find(const lif_ckpt *c, const char *name);

/* Frees what lif_ckpt_load allocated and zeroes c; NULL-safe. */
void lif_ckpt_free(lif_ckpt *c);

#ifdef __cplusplus
}
#endif
#endif
