/* Networks: parameters, initialisation, checkpoint save/load. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Random123/philox.h>

#include "internal.h"

/* The largest optimizer step a checkpoint may hold: far beyond any run, and
 * exact in a double (Adam's bias correction), so a step never overflows. */
#define LIF_MAX_STEP (1ull << 53)

/* Philox domain of parameter initialisation (0 train, 1 test, 2 shuffle). */
#define INIT_DOMAIN 3u

static void init_uniform(float *x, size_t n, float bound, uint32_t seed,
                         uint32_t tensor)
{
    philox4x32_key_t key = {{seed, 0}};
    for (size_t i = 0; i < n; i += 4) {
        philox4x32_ctr_t ctr = {{(uint32_t)(i / 4), (uint32_t)((uint64_t)i / 4 >> 32),
                                 tensor, INIT_DOMAIN}};
        philox4x32_ctr_t r = philox4x32(ctr, key);
        for (size_t j = 0; j < 4 && i + j < n; j++) {
            double u = r.v[j] * (1.0 / 4294967296.0);   /* [0, 1) */
            x[i + j] = (float)((2.0 * u - 1.0) * bound);
        }
    }
}

void lif_net_shape(lif_net *net, const lif_recipe *r, int n_in, int n_classes)
{
    memset(net, 0, sizeof *net);
    net->r = *r;
    net->n_in = n_in;
    net->n_classes = n_classes;
    net->n_layers = r->n_hidden + 1;
    net->dims[0] = n_in;
    for (int l = 0; l < r->n_hidden; l++)
        net->dims[l + 1] = r->hidden[l];
    net->dims[net->n_layers] = n_classes;
}

size_t lif_net_param_bytes(const lif_net *net)
{
    size_t total = sizeof *net;
    for (int l = 0; l < net->n_layers; l++) {
        size_t nw = (size_t)net->dims[l + 1] * (size_t)net->dims[l] * sizeof(float);
        size_t nb = (size_t)net->dims[l + 1] * sizeof(float);
        size_t each = (nw + 63) / 64 * 64 + (net->r.bias ? (nb + 63) / 64 * 64 : 0);
        if (each > (SIZE_MAX - total) / 3)
            return SIZE_MAX;
        total += 3 * each;
    }
    return total;
}

lif_status lif_net_create(const lif_recipe *r, int n_in, int n_classes, lif_net **out)
{
    lif_status st = lif_recipe_validate(r);
    if (st != LIF_OK)
        return st;
    if (n_in < 1 || n_classes < 2)
        return lif_error(LIF_ERR_INVALID_ARG, "net: need n_in >= 1 and n_classes >= 2, got %d and %d",
                         n_in, n_classes);
    /* the parameters alone must fit (lif_memory_check counts the whole run) */
    lif_net *net = calloc(1, sizeof *net);
    if (!net)
        return lif_error(LIF_ERR_NOMEM, "net: out of memory");
    lif_net_shape(net, r, n_in, n_classes);
    size_t need = lif_net_param_bytes(net), avail = lif_usable_memory();
    if (need == SIZE_MAX || (avail && need > avail / 10 * 9)) {
        free(net);
        return lif_error(LIF_ERR_INVALID_ARG,
                         "net: parameters and optimizer state need %.1f GiB, more than 90 %% of "
                         "the %.1f GiB available (physical memory, or ulimit -v); lower the "
                         "hidden layers",
                         need == SIZE_MAX ? INFINITY : need / 1073741824.0, avail / 1073741824.0);
    }
    size_t bytes = 0;
    for (int l = 0; l < net->n_layers; l++) {
        size_t nw = (size_t)net->dims[l + 1] * net->dims[l];
        size_t nb = (size_t)net->dims[l + 1];
        bytes += 3 * nw * sizeof(float);
        net->w[l] = lif_alloc(nw * sizeof(float));
        net->wm[l] = lif_alloc(nw * sizeof(float));
        net->wv[l] = lif_alloc(nw * sizeof(float));
        if (!net->w[l] || !net->wm[l] || !net->wv[l])
            goto fail;
        float bound = 1.0f / sqrtf((float)net->dims[l]);
        init_uniform(net->w[l], nw, bound, r->seed, 2u * l);
        if (r->bias) {
            bytes += 3 * nb * sizeof(float);
            net->b[l] = lif_alloc(nb * sizeof(float));
            net->bm[l] = lif_alloc(nb * sizeof(float));
            net->bv[l] = lif_alloc(nb * sizeof(float));
            if (!net->b[l] || !net->bm[l] || !net->bv[l])
                goto fail;
            init_uniform(net->b[l], nb, bound, r->seed, 2u * l + 1);
        }
    }
    *out = net;
    return LIF_OK;
fail:
    lif_net_destroy(net);
    return lif_error(LIF_ERR_NOMEM, "net: out of memory for the parameters (%.1f GiB allocated "
                     "when it failed, %.1f GiB needed)", bytes / 1073741824.0,
                     need / 1073741824.0);
}

void lif_net_destroy(lif_net *net)
{
    if (!net)
        return;
    for (int l = 0; l < LIF_MAX_HIDDEN + 1; l++) {
        lif_free(net->w[l]);
        lif_free(net->wm[l]);
        lif_free(net->wv[l]);
        lif_free(net->b[l]);
        lif_free(net->bm[l]);
        lif_free(net->bv[l]);
    }
    free(net);
}

const lif_recipe *lif_net_recipe(const lif_net *net) { return &net->r; }
lif_status lif_net_set_schedule(lif_net *net, int T, int epochs)
{
    if (T < 0 || T > 100000 || epochs < 0)
        return lif_error(LIF_ERR_INVALID_ARG, "net: schedule T %d, epochs %d out of range", T,
                         epochs);
    if (T)
        net->r.T = T;
    if (epochs)
        net->r.epochs = epochs;
    return LIF_OK;
}
int lif_net_layers(const lif_net *net) { return net->n_layers; }
long lif_net_step(const lif_net *net) { return net->step; }

lif_status lif_net_layer(lif_net *net, int layer, lif_layer_view *out)
{
    if (layer < 0 || layer >= net->n_layers)
        return lif_error(LIF_ERR_INVALID_ARG, "layer %d out of range (net has %d)", layer,
                         net->n_layers);
    out->n_in = net->dims[layer];
    out->n_out = net->dims[layer + 1];
    out->w = net->w[layer];
    out->b = net->b[layer];
    return LIF_OK;
}

/* The checkpoint tensors of a net, in a fixed order: per layer weight,
 * weight.m, weight.v, then bias, bias.m, bias.v when the net has biases. */
static int net_tensors(const lif_net *net, lif_ckpt_tensor *t)
{
    static const char *const suffix[3] = {"", ".m", ".v"};
    int n = 0;
    for (int l = 0; l < net->n_layers; l++) {
        float *const wp[3] = {net->w[l], net->wm[l], net->wv[l]};
        float *const bp[3] = {net->b[l], net->bm[l], net->bv[l]};
        for (int k = 0; k < 3; k++, n++) {
            snprintf(t[n].name, sizeof t[n].name, "layer%d.weight%s", l, suffix[k]);
            t[n].ndim = 2;
            t[n].shape[0] = (uint64_t)net->dims[l + 1];
            t[n].shape[1] = (uint64_t)net->dims[l];
            t[n].data = wp[k];
        }
        if (!net->r.bias)
            continue;
        for (int k = 0; k < 3; k++, n++) {
            snprintf(t[n].name, sizeof t[n].name, "layer%d.bias%s", l, suffix[k]);
            t[n].ndim = 1;
            t[n].shape[0] = (uint64_t)net->dims[l + 1];
            t[n].data = bp[k];
        }
    }
    return n;
}

lif_status lif_net_save(const lif_net *net, const lif_train_state *st, const char *path)
{
    lif_ckpt_tensor t[6 * (LIF_MAX_HIDDEN + 1)];
    memset(t, 0, sizeof t);
    lif_ckpt c = {0};
    c.recipe_json = lif_recipe_to_json(&net->r);
    if (!c.recipe_json)
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory writing the recipe", path);
    c.epoch = st->epoch;
    c.max_test_acc = st->max_test_acc;
    c.seed = net->r.seed;
    c.step = (uint64_t)net->step;
    c.rng_position = (uint64_t)(st->epoch + 1);
    if (st->part.samples < 0 || st->part.correct < 0 || st->part.correct > st->part.samples) {
        free(c.recipe_json);
        return lif_error(LIF_ERR_INVALID_ARG, "%s: part-epoch state of %ld samples, %ld correct",
                         path, st->part.samples, st->part.correct);
    }
    if (st->part.samples > 0) {
        c.part_samples = (uint64_t)st->part.samples;
        c.part_loss_sum = st->part.loss_sum;
        c.part_correct = (uint64_t)st->part.correct;
        c.part_seconds = st->part.seconds;
    }
    c.n_tensors = (uint32_t)net_tensors(net, t);
    c.tensors = t;
    lif_status s = lif_ckpt_save(path, &c);
    free(c.recipe_json);
    return s;
}

lif_status lif_net_load(const char *path, lif_net **out, lif_train_state *st)
{
    lif_ckpt c;
    lif_net *net = NULL;
    lif_status s = lif_ckpt_load(path, &c);
    if (s != LIF_OK)
        return s;
    lif_recipe r;
    lif_recipe_default(&r);
    s = lif_recipe_from_json(&r, c.recipe_json, path);
    if (s != LIF_OK)
        goto fail;
    const lif_ckpt_tensor *w0 = lif_ckpt_find(&c, "layer0.weight");
    char last[64];
    snprintf(last, sizeof last, "layer%d.weight", r.n_hidden);
    const lif_ckpt_tensor *wl = lif_ckpt_find(&c, last);
    if (!w0 || !wl || w0->ndim != 2 || wl->ndim != 2) {
        s = lif_error(LIF_ERR_FORMAT, "%s: checkpoint lacks the weights its recipe needs", path);
        goto fail;
    }
    if (w0->shape[1] < 1 || w0->shape[1] > INT_MAX || wl->shape[0] < 2 || wl->shape[0] > INT_MAX) {
        s = lif_error(LIF_ERR_FORMAT, "%s: implausible network of %llu inputs and %llu classes",
                      path, (unsigned long long)w0->shape[1], (unsigned long long)wl->shape[0]);
        goto fail;
    }
    /* every tensor the recipe needs, of its shape, before anything is built */
    lif_net shape;
    lif_net_shape(&shape, &r, (int)w0->shape[1], (int)wl->shape[0]);
    lif_ckpt_tensor want[6 * (LIF_MAX_HIDDEN + 1)];
    memset(want, 0, sizeof want);
    int n = net_tensors(&shape, want);
    if ((uint32_t)n != c.n_tensors) {
        s = lif_error(LIF_ERR_FORMAT, "%s: checkpoint holds %u tensors, its recipe needs %d",
                      path, c.n_tensors, n);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        const lif_ckpt_tensor *got = lif_ckpt_find(&c, want[i].name);
        if (!got || got->ndim != want[i].ndim ||
            memcmp(got->shape, want[i].shape, want[i].ndim * sizeof got->shape[0]) != 0) {
            s = lif_error(LIF_ERR_FORMAT, "%s: tensor %s missing or of the wrong shape", path,
                          want[i].name);
            goto fail;
        }
    }
    /* the training position and the values must be ones a run can have */
    if (c.step > LIF_MAX_STEP) {
        s = lif_error(LIF_ERR_FORMAT, "%s: implausible optimizer step %llu (at most 2^53)", path,
                      (unsigned long long)c.step);
        goto fail;
    }
    if (c.seed != r.seed || c.rng_position != (uint64_t)((int64_t)c.epoch + 1)) {
        s = lif_error(LIF_ERR_FORMAT, "%s: seed %llu and RNG position %llu disagree with the "
                      "recipe's seed %u and epoch %d", path, (unsigned long long)c.seed,
                      (unsigned long long)c.rng_position, r.seed, (int)c.epoch);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        const lif_ckpt_tensor *got = lif_ckpt_find(&c, want[i].name);
        size_t count = 1;
        for (uint32_t d = 0; d < want[i].ndim; d++)
            count *= want[i].shape[d];
        for (size_t k = 0; k < count; k++)
            if (!isfinite(got->data[k])) {
                s = lif_error(LIF_ERR_FORMAT, "%s: tensor %s holds %s at element %zu: a "
                              "checkpoint's weights and optimizer state must be finite", path,
                              want[i].name, isnan(got->data[k]) ? "NaN" : "an infinity", k);
                goto fail;
            }
    }
    s = lif_net_create(&r, (int)w0->shape[1], (int)wl->shape[0], &net);
    if (s != LIF_OK)
        goto fail;
    n = net_tensors(net, want);
    for (int i = 0; i < n; i++) {
        const lif_ckpt_tensor *got = lif_ckpt_find(&c, want[i].name);
        size_t count = 1;
        for (uint32_t d = 0; d < want[i].ndim; d++)
            count *= want[i].shape[d];
        memcpy(want[i].data, got->data, count * sizeof(float));
    }
    if (c.epoch < -1 || c.epoch >= 100000000 || !(c.max_test_acc >= 0.0 && c.max_test_acc <= 1.0)) {
        s = lif_error(LIF_ERR_FORMAT, "%s: implausible epoch %d or max_test_acc %g", path,
                      (int)c.epoch, c.max_test_acc);
        goto fail;
    }
    net->step = (long)c.step;
    st->epoch = c.epoch;
    st->max_test_acc = c.max_test_acc;
    st->part.samples = (long)c.part_samples;     /* lif_ckpt_load bounds them by INT64_MAX */
    st->part.loss_sum = c.part_loss_sum;
    st->part.correct = (long)c.part_correct;
    st->part.seconds = c.part_seconds;
    *out = net;
    lif_ckpt_free(&c);
    return LIF_OK;
fail:
    lif_net_destroy(net);
    lif_ckpt_free(&c);
    return s;
}
