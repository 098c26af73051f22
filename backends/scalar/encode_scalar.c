/* Poisson encoder, scalar reference: one Philox4x32-10 call per group of
 * eight inputs, each input drawing a 16-bit half of a word (input i: word
 * (i % 8) / 2, low half for even i, high half for odd i); see
 * lif_encode_args. A group whose eight pixels are all 0 cannot fire and is
 * skipped (the draw would be discarded anyway, so spikes are unchanged). */
#include <Random123/philox.h>
#include <string.h>

#include "scalar.h"

lif_status lif_encode_scalar_ref(const lif_ctx *ctx, const lif_encode_args *a)
{
    (void)ctx;
    size_t tstride = a->dst_tstride ? a->dst_tstride : (size_t)a->B * a->ld;
    uint32_t thr[256];
    for (int p = 0; p < 256; p++)
        thr[p] = (uint32_t)lif_encode_threshold((uint8_t)p);

    philox4x32_key_t key = {{a->key[0], a->key[1]}};
    for (int t = 0; t < a->Tc; t++) {
        for (int b = 0; b < a->B; b++) {
            const uint8_t *px = a->pixels + (size_t)b * a->n_in;
            uint64_t *row = a->dst + (size_t)t * tstride + (size_t)b * a->ld;
            memset(row, 0, a->ld * sizeof *row);
            for (int i = 0; i < a->n_in; i += 8) {
                int n = a->n_in - i < 8 ? a->n_in - i : 8;
                int any = 0;
                for (int j = 0; j < n; j++)
                    any |= px[i + j];
                if (!any)
                    continue;
                philox4x32_ctr_t ctr = {{(uint32_t)(i / 8), (uint32_t)(a->t0 + t),
                                         a->ids[b], a->domain}};
                philox4x32_ctr_t r = philox4x32(ctr, key);
                for (int j = 0; j < n; j++) {
                    uint32_t u = j % 2 ? r.v[j / 2] >> 16 : r.v[j / 2] & 0xffffu;
                    if (u < thr[px[i + j]])
                        row[(i + j) / 64] |= 1ull << ((i + j) % 64);
                }
            }
        }
    }
    return LIF_OK;
}
