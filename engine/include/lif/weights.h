/* lif/weights.h — a net's parameters in other frameworks' formats.
 *
 * Tensors carry the names of the reference framework's state_dict (the
 * SpikingJelly tutorial's `layer = Sequential(Flatten, Linear, LIFNode)`,
 * stacked layers continuing the pattern): the Linear of layer l (0-based)
 * is `layer.{2l+1}.weight` [n_out, n_in] and `layer.{2l+1}.bias` [n_out].
 * Only parameters travel: no optimizer state, no recipe (a safetensors file
 * written here holds the recipe as metadata, for information).
 *
 * safetensors: u64 little-endian header length N, N bytes of JSON
 * ({"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
 * "__metadata__": {string: string}}, padded with spaces to a multiple of
 * 8), then the raw little-endian tensor bytes. npy: a folder with one
 * `<name>.npy` per tensor (float32, C order). */
#ifndef LIF_WEIGHTS_H
#define LIF_WEIGHTS_H

#include <stddef.h>

#include "lif/ckpt.h"
#include "lif/net.h"
#include "lif/recipe.h"
#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The reference name of layer l's weight (bias 0) or bias (bias 1) into
 * buf ("layer.1.weight"); returns buf. */
const char *lif_weights_name(int layer, int bias, char *buf, size_t size);

/* Writes the net's parameters as a safetensors file (F32, reference
 * names; metadata "format": "pt", "lif_recipe": the recipe JSON),
 * atomically. Returns LIF_OK, LIF_ERR_NOMEM, LIF_ERR_IO. */
lif_status lif_weights_save_safetensors(lif_net *net, const char *path);

/* Writes one float32 `<name>.npy` per parameter into dir (created if
 * missing; its parent must exist). Returns LIF_OK, LIF_ERR_IO. */
lif_status lif_weights_save_npy(lif_net *net, const char *dir);

/* Reads a safetensors file, or a folder of .npy files, into out->tensors
 * (out->n_tensors; the other fields zero, recipe_json NULL or the file's
 * "lif_recipe" metadata). Checks the format (header, offsets inside the
 * file, sizes that match the shapes), the dtype (F32 or F64; npy <f4 or
 * <f8; F64 values must fit float32), finite values, and the names: every
 * tensor must be `layer.{2l+1}.weight` or `.bias`. Free with
 * lif_ckpt_free. Returns LIF_OK, LIF_ERR_IO, LIF_ERR_FORMAT (malformed,
 * wrong name, dtype or value: the detail names the file and the tensor),
 * LIF_ERR_NOMEM. */
lif_status lif_weights_load(const char *path, lif_ckpt *out);

/* The network the tensors describe: sets r->n_hidden, r->hidden and
 * r->bias, *n_in and *n_classes. Checks that layers 0..L-1 are all there,
 * 2-D weights chain (each layer's n_in is the previous n_out) and biases
 * are 1-D of n_out, for every layer or none. what names the file in
 * messages. Returns LIF_OK or LIF_ERR_FORMAT. */
lif_status lif_weights_shape(const lif_ckpt *t, const char *what, lif_recipe *r, int *n_in,
                             int *n_classes);

/* Copies the tensors into net's parameters. Every parameter of the net
 * must be there with its shape, and nothing else; the net is unchanged on
 * failure. Returns LIF_OK or LIF_ERR_FORMAT (naming the tensor, its shape
 * and the expected one). */
lif_status lif_weights_apply(lif_net *net, const lif_ckpt *t, const char *what);

#ifdef __cplusplus
}
#endif
#endif
