/* Checkpoint loader (lif_ckpt_load). Input: a mode byte, then bytes. Mode
 * bit 0 clear: the bytes are the file (the frame checks: magic, version,
 * sizes, trailer, CRC). Set: the bytes are a payload, framed here with a
 * valid header (version 1, or 2 with bit 1) and CRC, so the payload parser
 * is reached past the checksum. */
#include <zlib.h>

#include "fuzz.h"
#include "lif/ckpt.h"

/* The file for a payload: header, payload, CRC-32, end marker (lif/ckpt.h). */
uint8_t *fuzz_frame(const uint8_t *p, size_t n, uint32_t version, size_t *len);
uint8_t *fuzz_frame(const uint8_t *p, size_t n, uint32_t version, size_t *len)
{
    uint8_t *b = malloc(n + 36);
    if (!b)
        abort();
    memcpy(b, "LIFCKPT", 8);
    for (int i = 0; i < 4; i++) {
        b[8 + i] = (uint8_t)(version >> (8 * i));
        b[12 + i] = 0;
    }
    for (int i = 0; i < 8; i++)
        b[16 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    if (n)
        memcpy(b + 24, p, n);
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
    for (int i = 0; i < 4; i++)
        b[24 + n + i] = (uint8_t)(crc >> (8 * i));
    memcpy(b + 28 + n, "LIFEND\0", 8);
    *len = n + 36;
    return b;
}

/* The file a checkpoint harness reads: data[0] is a mode byte, bit 0 set
 * frames the rest as a payload with a valid CRC (bit 1: version 2). Returns
 * its path; *framed is what to free afterwards (or NULL). */
static const char *fuzz_input_file(const uint8_t *data, size_t size, const char *name,
                                   uint8_t **framed)
{
    uint8_t mode = data[0];
    size_t len = size - 1;
    const uint8_t *file = data + 1;
    *framed = NULL;
    if (mode & 1)
        file = *framed = fuzz_frame(data + 1, size - 1, mode & 2 ? 2 : 1, &len);
    return fuzz_file(name, file, len);
}

#ifndef FUZZ_NO_MAIN_CKPT
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *framed;
    const char *path = fuzz_input_file(data, size, "ckpt", &framed);
    lif_ckpt c;
    lif_status st = lif_ckpt_load(path, &c);
    fuzz_debug("fuzz_ckpt", st);
    if (st == LIF_OK) {
        /* what loads is consistent: names are found, data is there */
        for (uint32_t i = 0; i < c.n_tensors; i++) {
            const lif_ckpt_tensor *t = &c.tensors[i];
            if (lif_ckpt_find(&c, t->name) == NULL || t->ndim > LIF_CKPT_MAX_DIMS)
                abort();
            uint64_t cnt = 1;
            for (uint32_t d = 0; d < t->ndim; d++)
                cnt *= t->shape[d];
            if (cnt && !t->data)
                abort();
            volatile float sink = cnt ? t->data[cnt - 1] : 0.0f; /* ASan checks the bound */
            (void)sink;
        }
        lif_ckpt_free(&c);
    }
    unlink(path);
    free(framed);
    return 0;
}
#endif
