/* weights.c — parameters as safetensors or a folder of .npy files, with
 * the reference framework's state_dict names (lif/weights.h). */
#define _POSIX_C_SOURCE 200809L

#include "lif/weights.h"

#include "lif/atomic.h"
#include "lif/npy.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_TENSORS (2 * (LIF_MAX_HIDDEN + 1))
#define MAX_HEADER (100u << 20) /* a header of 100 MiB is not a weight file */

const char *lif_weights_name(int layer, int bias, char *buf, size_t size)
{
    snprintf(buf, size, "layer.%d.%s", 2 * layer + 1, bias ? "bias" : "weight");
    return buf;
}

/* The net's parameters as tensors (pointers into the net). */
static int net_params(lif_net *net, lif_ckpt_tensor *t)
{
    int n = 0;
    for (int l = 0; l < lif_net_layers(net); l++) {
        lif_layer_view v;
        lif_net_layer(net, l, &v);
        memset(&t[n], 0, sizeof t[n]);
        lif_weights_name(l, 0, t[n].name, sizeof t[n].name);
        t[n].ndim = 2;
        t[n].shape[0] = (uint64_t)v.n_out;
        t[n].shape[1] = (uint64_t)v.n_in;
        t[n++].data = v.w;
        if (!v.b)
            continue;
        memset(&t[n], 0, sizeof t[n]);
        lif_weights_name(l, 1, t[n].name, sizeof t[n].name);
        t[n].ndim = 1;
        t[n].shape[0] = (uint64_t)v.n_out;
        t[n++].data = v.b;
    }
    return n;
}

static size_t numel(const lif_ckpt_tensor *t)
{
    size_t n = 1;
    for (uint32_t d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

/* Writes n floats little-endian. */
static int put_f32(FILE *f, const float *x, size_t n)
{
    unsigned char buf[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        for (int b = 0; b < 4; b++)
            buf[k++] = (unsigned char)(u >> (8 * b));
        if (k == sizeof buf || i + 1 == n) {
            if (fwrite(buf, 1, k, f) != k)
                return -1;
            k = 0;
        }
    }
    return 0;
}

lif_status lif_weights_save_safetensors(lif_net *net, const char *path)
{
    lif_ckpt_tensor t[MAX_TENSORS];
    int n = net_params(net, t);
    json_t *root = json_object(), *meta = json_object();
    char *recipe = lif_recipe_to_json(lif_net_recipe(net)), *hdr = NULL;
    lif_status st = LIF_ERR_NOMEM;
    if (!root || !meta || !recipe)
        goto done;
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(meta, "lif_version", json_string(lif_version()));
    json_object_set_new(meta, "lif_recipe", json_string(recipe));
    json_object_set(root, "__metadata__", meta);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        json_t *e = json_object(), *shape = json_array(), *offs = json_array();
        if (!e || !shape || !offs) {
            json_decref(e);
            json_decref(shape);
            json_decref(offs);
            goto done;
        }
        for (uint32_t d = 0; d < t[i].ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)t[i].shape[d]));
        size_t bytes = numel(&t[i]) * 4;
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + bytes)));
        off += bytes;
        json_object_set_new(e, "dtype", json_string("F32"));
        json_object_set_new(e, "shape", shape);
        json_object_set_new(e, "data_offsets", offs);
        json_object_set_new(root, t[i].name, e);
    }
    if (!(hdr = json_dumps(root, JSON_COMPACT)))
        goto done;
    size_t len = strlen(hdr), padded = (len + 7) / 8 * 8;
    lif_atomic_file af;
    if ((st = lif_atomic_open(path, &af)) != LIF_OK)
        goto done;
    unsigned char le[8];
    for (int b = 0; b < 8; b++)
        le[b] = (unsigned char)((uint64_t)padded >> (8 * b));
    int ok = fwrite(le, 1, 8, af.f) == 8 && fwrite(hdr, 1, len, af.f) == len;
    for (size_t k = len; ok && k < padded; k++)
        ok = fputc(' ', af.f) != EOF;
    for (int i = 0; ok && i < n; i++)
        ok = put_f32(af.f, t[i].data, numel(&t[i])) == 0;
    if (!ok) {
        int e = errno;
        lif_atomic_abort(&af);
        st = lif_error(LIF_ERR_IO, "%s: write failed: %s", path, strerror(e));
        goto done;
    }
    st = lif_atomic_commit(&af);
done:
    if (st == LIF_ERR_NOMEM)
        lif_error(st, "%s: out of memory building the safetensors header", path);
    free(hdr);
    free(recipe);
    json_decref(meta);
    json_decref(root);
    return st;
}

lif_status lif_weights_save_npy(lif_net *net, const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return lif_error(LIF_ERR_IO, "%s: cannot create the folder: %s", dir, strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return lif_error(LIF_ERR_IO, "%s: not a folder", dir);
    lif_ckpt_tensor t[MAX_TENSORS];
    int n = net_params(net, t);
    for (int i = 0; i < n; i++) {
        char path[4200];
        size_t shape[2] = {(size_t)t[i].shape[0], (size_t)t[i].shape[1]};
        snprintf(path, sizeof path, "%s/%s.npy", dir, t[i].name);
        lif_status st = lif_npy_write_f32(path, t[i].data, (int)t[i].ndim, shape);
        if (st != LIF_OK)
            return st;
    }
    return LIF_OK;
}

/* ---- reading ---- */

/* The layer index of a reference name, or -1 (*bias: 1 for ".bias"). */
static int parse_name(const char *name, int *bias)
{
    if (strncmp(name, "layer.", 6) != 0 || name[6] < '1' || name[6] > '9')
        return -1;
    char *end;
    long k = strtol(name + 6, &end, 10);
    if (k < 1 || k > 2 * (LIF_MAX_HIDDEN + 1) || k % 2 == 0)
        return -1;
    if (strcmp(end, ".weight") == 0)
        *bias = 0;
    else if (strcmp(end, ".bias") == 0)
        *bias = 1;
    else
        return -1;
    return (int)(k - 1) / 2;
}

static lif_status bad_name(const char *what, const char *name)
{
    return lif_error(LIF_ERR_FORMAT,
                     "%s: tensor '%s' is no parameter of lif's network (names are the reference "
                     "framework's: layer.1.weight, layer.1.bias, layer.3.weight, ...)",
                     what, name);
}

/* Appends a tensor named name to out, converting count values read by get. */
static lif_status add_tensor(lif_ckpt *out, const char *what, const char *name, int ndim,
                             const uint64_t *shape, const void *src, int f64, int little)
{
    int bias;
    if (strlen(name) >= sizeof out->tensors[0].name || parse_name(name, &bias) < 0)
        return bad_name(what, name);
    if (lif_ckpt_find(out, name))
        return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' appears twice", what, name);
    if (out->n_tensors == MAX_TENSORS)
        return lif_error(LIF_ERR_FORMAT, "%s: more than %d tensors", what, MAX_TENSORS);
    if (ndim < 1 || ndim > LIF_CKPT_MAX_DIMS)
        return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' has %d dimensions (a weight has 2, "
                                         "a bias 1)", what, name, ndim);
    lif_ckpt_tensor *t = &out->tensors[out->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = (uint32_t)ndim;
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0 || shape[d] > 100000000u)
            return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s': dimension %d of size %llu", what,
                             name, d, (unsigned long long)shape[d]);
        t->shape[d] = shape[d];
        n *= (size_t)shape[d];
    }
    if (n > ((size_t)1 << 30))
        return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' has %zu elements", what, name, n);
    if (!(t->data = malloc(n * sizeof(float))))
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory for tensor '%s'", what, name);
    out->n_tensors++;
    for (size_t i = 0; i < n; i++) {
        double v;
        if (little) {  /* raw little-endian bytes (safetensors) */
            const unsigned char *p = (const unsigned char *)src + i * (f64 ? 8 : 4);
            uint64_t u = 0;
            for (int b = (f64 ? 8 : 4); b-- > 0;)
                u = u << 8 | p[b];
            if (f64) {
                memcpy(&v, &u, 8);
            } else {
                uint32_t u32 = (uint32_t)u;
                float f;
                memcpy(&f, &u32, 4);
                v = f;
            }
        } else {       /* doubles (lif_npy_read) */
            v = ((const double *)src)[i];
        }
        if (!isfinite(v) || fabs(v) > 3.4028234663852886e38)
            return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' element %zu is %g: weights must be "
                                             "finite float32 values", what, name, i, v);
        t->data[i] = (float)v;
    }
    return LIF_OK;
}

static lif_status load_safetensors(const char *path, lif_ckpt *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return lif_error(LIF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    json_t *root = NULL;
    lif_status st;
    long size = -1;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = lif_error(LIF_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (size < 8) {
        st = lif_error(LIF_ERR_FORMAT, "%s: %ld bytes: too short for a safetensors file", path, size);
        goto done;
    }
    if (!(buf = malloc((size_t)size))) {
        st = lif_error(LIF_ERR_NOMEM, "%s: out of memory (%ld bytes)", path, size);
        goto done;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        st = lif_error(LIF_ERR_IO, "%s: read failed", path);
        goto done;
    }
    uint64_t hlen = 0;
    for (int b = 8; b-- > 0;)
        hlen = hlen << 8 | buf[b];
    if (hlen > MAX_HEADER || hlen > (uint64_t)size - 8) {
        st = lif_error(LIF_ERR_FORMAT, "%s: header length %llu does not fit the file of %ld bytes "
                                       "(not a safetensors file?)", path,
                       (unsigned long long)hlen, size);
        goto done;
    }
    json_error_t je;
    root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        st = lif_error(LIF_ERR_FORMAT, "%s: header is not a JSON object%s%s", path,
                       root ? "" : ": ", root ? "" : je.text);
        goto done;
    }
    const unsigned char *data = buf + 8 + hlen;
    uint64_t dsize = (uint64_t)size - 8 - hlen;
    if (!(out->tensors = calloc(MAX_TENSORS, sizeof *out->tensors))) {
        st = lif_error(LIF_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    const char *key;
    json_t *e;
    st = LIF_OK;
    json_object_foreach(root, key, e) {
        if (strcmp(key, "__metadata__") == 0) {
            json_t *r = json_object_get(e, "lif_recipe");
            if (json_is_string(r) && !out->recipe_json)
                out->recipe_json = strdup(json_string_value(r));
            continue;
        }
        json_t *dt = json_object_get(e, "dtype"), *sh = json_object_get(e, "shape"),
               *of = json_object_get(e, "data_offsets");
        if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(of) ||
            json_array_size(of) != 2 || !json_is_integer(json_array_get(of, 0)) ||
            !json_is_integer(json_array_get(of, 1))) {
            st = lif_error(LIF_ERR_FORMAT, "%s: tensor '%s': header entry lacks dtype, shape or "
                                           "data_offsets", path, key);
            break;
        }
        const char *dtype = json_string_value(dt);
        int f64 = strcmp(dtype, "F64") == 0;
        if (!f64 && strcmp(dtype, "F32") != 0) {
            st = lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' has dtype %s; lif reads F32 or F64 "
                                           "(convert with .float() before saving)", path, key, dtype);
            break;
        }
        uint64_t shape[LIF_CKPT_MAX_DIMS] = {0}, count = 1;
        size_t nd = json_array_size(sh);
        int ok = nd >= 1 && nd <= LIF_CKPT_MAX_DIMS;
        for (size_t d = 0; ok && d < nd; d++) {
            json_t *v = json_array_get(sh, d);
            ok = json_is_integer(v) && json_integer_value(v) > 0 &&
                 json_integer_value(v) <= 100000000;
            if (ok) {
                shape[d] = (uint64_t)json_integer_value(v);
                count *= shape[d];
            }
        }
        if (!ok) {
            st = lif_error(LIF_ERR_FORMAT, "%s: tensor '%s': shape must be 1 to %d positive "
                                           "integers", path, key, LIF_CKPT_MAX_DIMS);
            break;
        }
        json_int_t b = json_integer_value(json_array_get(of, 0)),
                   en = json_integer_value(json_array_get(of, 1));
        if (b < 0 || en < b || (uint64_t)en > dsize ||
            (uint64_t)(en - b) != count * (f64 ? 8u : 4u)) {
            st = lif_error(LIF_ERR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] do not hold "
                                           "%llu %s values inside the %llu data bytes", path, key,
                           (long long)b, (long long)en, (unsigned long long)count, dtype,
                           (unsigned long long)dsize);
            break;
        }
        if ((st = add_tensor(out, path, key, (int)nd, shape, data + b, f64, 1)) != LIF_OK)
            break;
    }
done:
    json_decref(root);
    free(buf);
    fclose(f);
    return st;
}

static lif_status load_npy_dir(const char *path, lif_ckpt *out)
{
    DIR *d = opendir(path);
    if (!d)
        return lif_error(LIF_ERR_IO, "%s: cannot open the folder: %s", path, strerror(errno));
    lif_status st = LIF_OK;
    if (!(out->tensors = calloc(MAX_TENSORS, sizeof *out->tensors))) {
        closedir(d);
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory", path);
    }
    for (struct dirent *e; st == LIF_OK && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".npy") != 0)
            continue;
        char file[4200], name[256];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        snprintf(name, sizeof name, "%.*s", (int)(len - 4), e->d_name);
        lif_npy a = {0};
        if ((st = lif_npy_read(file, &a)) != LIF_OK)
            break;
        if (strcmp(a.dtype, "<f4") != 0 && strcmp(a.dtype, "<f8") != 0) {
            st = lif_error(LIF_ERR_FORMAT, "%s: dtype %s; lif reads float32 (<f4) or float64 "
                                           "(<f8)", file, a.dtype);
        } else {
            uint64_t shape[LIF_CKPT_MAX_DIMS] = {0};
            for (int k = 0; k < a.ndim && k < LIF_CKPT_MAX_DIMS; k++)
                shape[k] = a.shape[k];
            st = add_tensor(out, file, name, a.ndim, shape, a.data, 0, 0);
        }
        lif_npy_free(&a);
    }
    closedir(d);
    if (st == LIF_OK && out->n_tensors == 0)
        st = lif_error(LIF_ERR_FORMAT, "%s: the folder holds no .npy files", path);
    return st;
}

lif_status lif_weights_load(const char *path, lif_ckpt *out)
{
    lif_ckpt c = {0};
    struct stat sb;
    if (!path || stat(path, &sb) != 0)
        return lif_error(LIF_ERR_IO, "%s: cannot open: %s", path ? path : "(null)",
                         strerror(errno));
    lif_status st = S_ISDIR(sb.st_mode) ? load_npy_dir(path, &c) : load_safetensors(path, &c);
    if (st == LIF_OK && c.n_tensors == 0)
        st = lif_error(LIF_ERR_FORMAT, "%s: holds no tensors", path);
    if (st != LIF_OK) {
        lif_ckpt_free(&c);
        return st;
    }
    *out = c;
    return LIF_OK;
}

static const lif_ckpt_tensor *find_param(const lif_ckpt *t, int layer, int bias)
{
    char name[64];
    return lif_ckpt_find(t, lif_weights_name(layer, bias, name, sizeof name));
}

lif_status lif_weights_shape(const lif_ckpt *t, const char *what, lif_recipe *r, int *n_in,
                             int *n_classes)
{
    int layers = 0, biases = 0, bias;
    for (uint32_t i = 0; i < t->n_tensors; i++) {
        int l = parse_name(t->tensors[i].name, &bias);
        if (l < 0)
            return bad_name(what, t->tensors[i].name);
        if (l + 1 > layers)
            layers = l + 1;
        biases += bias;
    }
    if (layers == 0 || layers > LIF_MAX_HIDDEN + 1)
        return lif_error(LIF_ERR_FORMAT, "%s: %d layers (lif takes 1 to %d)", what, layers,
                         LIF_MAX_HIDDEN + 1);
    if (biases != 0 && biases != layers)
        return lif_error(LIF_ERR_FORMAT, "%s: %d of %d layers have a bias: lif's layers all "
                                         "have one or none", what, biases, layers);
    int prev = 0;
    char name[64];
    for (int l = 0; l < layers; l++) {
        const lif_ckpt_tensor *w = find_param(t, l, 0), *b = find_param(t, l, 1);
        if (!w)
            return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' missing", what,
                             lif_weights_name(l, 0, name, sizeof name));
        if (w->ndim != 2)
            return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' has %u dimensions, a weight has 2 "
                                             "([n_out, n_in])", what, w->name, w->ndim);
        if (l > 0 && w->shape[1] != (uint64_t)prev)
            return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' is [%llu, %llu]: its %llu inputs "
                                             "do not match the %d outputs of the layer before",
                             what, w->name, (unsigned long long)w->shape[0],
                             (unsigned long long)w->shape[1], (unsigned long long)w->shape[1],
                             prev);
        if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
            return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' should be [%llu]", what, b->name,
                             (unsigned long long)w->shape[0]);
        if (l == 0)
            *n_in = (int)w->shape[1];
        if (l < layers - 1)
            r->hidden[l] = (int)w->shape[0];
        prev = (int)w->shape[0];
    }
    r->n_hidden = layers - 1;
    r->bias = biases > 0;
    *n_classes = prev;
    return LIF_OK;
}

lif_status lif_weights_apply(lif_net *net, const lif_ckpt *t, const char *what)
{
    lif_ckpt_tensor want[MAX_TENSORS];
    int n = net_params(net, want);
    for (uint32_t i = 0; i < t->n_tensors; i++) {
        int found = 0;
        for (int k = 0; k < n && !found; k++)
            found = strcmp(want[k].name, t->tensors[i].name) == 0;
        if (!found)
            return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' has no place in the network "
                                             "(%d layers, %s)", what, t->tensors[i].name,
                             lif_net_layers(net), lif_net_recipe(net)->bias ? "with bias" : "no bias");
    }
    for (int k = 0; k < n; k++) {
        const lif_ckpt_tensor *g = lif_ckpt_find(t, want[k].name);
        if (!g)
            return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' missing", what, want[k].name);
        if (g->ndim != want[k].ndim || g->shape[0] != want[k].shape[0] ||
            (g->ndim == 2 && g->shape[1] != want[k].shape[1])) {
            char gs[64], ws[64];
            if (g->ndim == 2)
                snprintf(gs, sizeof gs, "[%llu, %llu]", (unsigned long long)g->shape[0],
                         (unsigned long long)g->shape[1]);
            else
                snprintf(gs, sizeof gs, "%u-D, first dimension %llu", g->ndim,
                         (unsigned long long)g->shape[0]);
            if (want[k].ndim == 2)
                snprintf(ws, sizeof ws, "[%llu, %llu]", (unsigned long long)want[k].shape[0],
                         (unsigned long long)want[k].shape[1]);
            else
                snprintf(ws, sizeof ws, "[%llu]", (unsigned long long)want[k].shape[0]);
            return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s' is %s, the network needs %s", what,
                             want[k].name, gs, ws);
        }
    }
    for (int k = 0; k < n; k++)
        memcpy(want[k].data, lif_ckpt_find(t, want[k].name)->data, numel(&want[k]) * sizeof(float));
    return LIF_OK;
}
