/* IDX loader (lif_idx_load), plain or gzip as the bytes are. Input: u32
 * little-endian length L, then L bytes of the image file, the rest the
 * label file. */
#include "fuzz.h"
#include "lif/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t l = fuzz_le32(data);
    if (l > size - 4)
        l = size - 4;
    const char *img = fuzz_file("images", data + 4, l);
    const char *lab = fuzz_file("labels", data + 4 + l, size - 4 - l);
    lif_dataset d;
    lif_status st = lif_idx_load(img, lab, &d);
    fuzz_debug("fuzz_idx", st);
    if (st == LIF_OK) {
        /* what loads is consistent: every label in range */
        for (int i = 0; i < d.n; i++)
            if (d.labels[i] >= d.n_classes)
                abort();
        lif_dataset_free(&d);
    }
    unlink(img);
    unlink(lab);
    return 0;
}
