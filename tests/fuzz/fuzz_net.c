/* Network loader (lif_net_load: checkpoint, recipe JSON inside it, tensors
 * against the recipe, building the net). Input as fuzz_ckpt.c: a mode byte,
 * bit 0 set frames the rest as a payload with a valid CRC. */
#define FUZZ_NO_MAIN_CKPT
#include "fuzz_ckpt.c"

#include "lif/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *framed;
    const char *path = fuzz_input_file(data, size, "net.lif", &framed);
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
