/* IDX loader through gzip: the harness compresses the fuzzed content, so
 * the parser behind zlib sees fuzzed IDX bytes. Input: a mode byte, u32
 * little-endian length L, L bytes of image file content, the rest label
 * file content. Mode bit 0: gzip the images, bit 1: gzip the labels, bit
 * 2: append the mode byte after the images' gzip stream (trailing garbage),
 * bit 3: cut the images' gzip stream short by (mode >> 4) + 1 bytes. */
#include <zlib.h>

#include "fuzz.h"
#include "lif/data.h"

/* gzip of p[0..n) into a malloc'd buffer (*len bytes); NULL on failure. */
static uint8_t *gzip(const uint8_t *p, size_t n, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong cap = deflateBound(&z, (uLong)n) + 16;
    uint8_t *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    *len = cap - z.avail_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5 || size > (1u << 20))
        return 0;
    uint8_t mode = data[0];
    size_t l = fuzz_le32(data + 1);
    if (l > size - 5)
        l = size - 5;
    const uint8_t *ip = data + 5, *lp = data + 5 + l;
    size_t in = l, ln = size - 5 - l;
    uint8_t *gi = NULL, *gl = NULL;
    size_t gin = 0, gln = 0;
    if ((mode & 1) && (gi = gzip(ip, in, &gin))) {
        if (mode & 8) {
            size_t cut = (size_t)(mode >> 4) + 1;
            gin = gin > cut ? gin - cut : 0;
        } else if (mode & 4) {
            gi[gin++] = mode; /* gzip() left room */
        }
        ip = gi;
        in = gin;
    }
    if ((mode & 2) && (gl = gzip(lp, ln, &gln))) {
        lp = gl;
        ln = gln;
    }
    const char *img = fuzz_file("images.gz", ip, in);
    const char *lab = fuzz_file("labels.gz", lp, ln);
    lif_dataset d;
    lif_status st = lif_idx_load(img, lab, &d);
    fuzz_debug("fuzz_idx_gz", st);
    if (st == LIF_OK) {
        if ((mode & 9) == 9 && gi)
            abort(); /* a gzip stream cut short (inside its trailer or earlier) loaded */
        /* (trailing garbage, bit 2, is not asserted here: issue 14 defect 10) */
        lif_dataset_free(&d);
    }
    unlink(img);
    unlink(lab);
    free(gi);
    free(gl);
    return 0;
}
