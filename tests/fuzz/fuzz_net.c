/* Network loader (lif_net_load: checkpoint, recipe JSON inside it, tensors
 * against the recipe, building the net). Input as fuzz_ckpt.c: a mode byte,
 * bit 0 set frames the rest as a payload with a valid CRC. */
#define FUZZ_NO_MAIN_CKPT
#include "fuzz_ckpt.c"

#include "lif/net.h"

/* Known defect (issue 14, "Memory checks come too late"): lif_net_load
 * builds the net its recipe describes before it compares the tensors, so a
 * small file whose recipe declares huge layers allocates gigabytes, which
 * libFuzzer reports as out-of-memory. Until that is fixed, inputs whose
 * recipe needs more parameters than the file's tensors hold are skipped
 * here (they would be refused after the allocation). Remove this filter
 * with the fix, so the fuzzer checks it. */
#include "lif/recipe.h"
static int builds_past_its_tensors(const char *path)
{
    lif_ckpt c;
    if (lif_ckpt_load(path, &c) != LIF_OK)
        return 0;
    int skip = 0;
    lif_recipe r;
    lif_recipe_default(&r);
    const lif_ckpt_tensor *w0 = lif_ckpt_find(&c, "layer0.weight");
    if (lif_recipe_from_json(&r, c.recipe_json, "fuzz") == LIF_OK && w0 && w0->ndim == 2) {
        double held = 0, need = 0, prev = (double)w0->shape[1];
        for (uint32_t i = 0; i < c.n_tensors; i++) {
            double n = 1;
            for (uint32_t d = 0; d < c.tensors[i].ndim; d++)
                n *= (double)c.tensors[i].shape[d];
            held += n;
        }
        for (int l = 0; l < r.n_hidden && l < LIF_MAX_HIDDEN; l++) {
            need += 3.0 * prev * (r.hidden[l] > 0 ? r.hidden[l] : 0);
            prev = r.hidden[l] > 0 ? r.hidden[l] : 0;
        }
        char last[32];
        snprintf(last, sizeof last, "layer%d.weight", r.n_hidden);
        const lif_ckpt_tensor *wl = lif_ckpt_find(&c, last);
        if (wl && wl->ndim == 2)
            need += 3.0 * prev * (double)wl->shape[0];
        skip = need > held + 1e6;
    }
    lif_ckpt_free(&c);
    return skip;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    uint8_t *framed = NULL;
    size_t len = size - 1;
    const uint8_t *file = data + 1;
    if (mode & 1)
        file = framed = fuzz_frame(data + 1, size - 1, mode & 2 ? 2 : 1, &len);
    const char *path = fuzz_file("net.lif", file, len);
    if (builds_past_its_tensors(path)) {
        unlink(path);
        free(framed);
        return 0;
    }
    lif_net *net = NULL;
    lif_train_state ts;
    lif_status st = lif_net_load(path, &net, &ts);
    fuzz_debug("fuzz_net", st);
    if (st == LIF_OK) {
        /* what loads is a usable net: every layer's weights can be read */
        for (int l = 0; l < lif_net_layers(net); l++) {
            lif_layer_view v;
            if (lif_net_layer(net, l, &v) != LIF_OK || v.n_in < 1 || v.n_out < 1)
                abort();
            volatile float sink = v.w[(size_t)v.n_in * v.n_out - 1];
            (void)sink;
        }
        if (ts.epoch < -1 || ts.part.samples < 0 || ts.part.correct > ts.part.samples)
            abort();
        lif_net_destroy(net);
    }
    unlink(path);
    free(framed);
    return 0;
}
