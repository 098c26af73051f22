/* .npy reader (lif_npy_read). What loads has count = product of shape and
 * that many readable values. */
#include "fuzz.h"
#include "lif/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("a.npy", data, size);
    lif_npy a;
    lif_status st = lif_npy_read(path, &a);
    fuzz_debug("fuzz_npy", st);
    if (st == LIF_OK) {
        size_t cnt = 1;
        for (int d = 0; d < a.ndim; d++)
            cnt *= a.shape[d];
        if (a.ndim < 0 || a.ndim > LIF_NPY_MAX_DIMS || cnt != a.count || (cnt && !a.data))
            abort();
        volatile double sink = cnt ? a.data[cnt - 1] : 0.0;
        (void)sink;
        lif_npy_free(&a);
    }
    unlink(path);
    return 0;
}
