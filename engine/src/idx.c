/* idx.c — IDX (MNIST-format) image and label files, plain or gzip. */
#define _POSIX_C_SOURCE 200809L

#include "internal.h"
#include "lif/data.h"

#include "lif/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_DIM 4096
#define IDX_CHUNK (1u << 24)

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Opens path for reading through zlib (plain files pass through). */
static lif_status idx_open(const char *path, gzFile *out)
{
    *out = NULL;
    int fd;
    lif_status s = lif_open_input(path, &fd, NULL);
    if (s != LIF_OK)
        return s;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return lif_error(LIF_ERR_NOMEM, "%s: cannot allocate a zlib stream", path);
    }
    gzbuffer(gz, 1u << 17);
    *out = gz;
    return LIF_OK;
}

/* Reads up to want bytes into buf; *got is how many arrived before EOF.
 * A read error or a damaged gzip stream is an error, EOF is not. */
static lif_status idx_read(gzFile gz, const char *path, void *buf, size_t want,
                           size_t *got)
{
    uint8_t *p = buf;
    *got = 0;
    while (*got < want) {
        size_t left = want - *got;
        unsigned n = left > IDX_CHUNK ? IDX_CHUNK : (unsigned)left;
        int r = gzread(gz, p + *got, n);
        int err = Z_OK;
        const char *msg = gzerror(gz, &err);
        if (r > 0)
            *got += (size_t)r;
        if (err == Z_ERRNO)
            return lif_error(LIF_ERR_IO, "%s: read error: %s", path, strerror(errno));
        if (err == Z_MEM_ERROR)
            return lif_error(LIF_ERR_NOMEM, "%s: out of memory while decompressing",
                             path);
        if (err == Z_BUF_ERROR)
            return lif_error(LIF_ERR_FORMAT,
                             "%s: truncated gzip stream (compressed data ends early)",
                             path);
        if (err != Z_OK || r < 0)
            return lif_error(LIF_ERR_FORMAT, "%s: corrupt gzip data: %s", path,
                             msg ? msg : "unknown zlib error");
        if (r == 0)
            break;
    }
    return LIF_OK;
}

static const char *idx_kind(uint32_t magic)
{
    if (magic == IDX_MAGIC_IMAGES)
        return " (that is an IDX3 image file)";
    if (magic == IDX_MAGIC_LABELS)
        return " (that is an IDX1 label file)";
    if ((magic >> 16) == 0x1f8b)
        return " (gzip data inside gzip?)";
    return "";
}

/* Reads the magic and ndim dimensions of an IDX ubyte file. */
static lif_status idx_header(gzFile gz, const char *path, uint32_t magic, int ndim,
                             uint32_t *dims)
{
    uint8_t h[16];
    size_t want = 4 + 4 * (size_t)ndim, got;
    lif_status s = idx_read(gz, path, h, want, &got);
    if (s)
        return s;
    if (got == 0)
        return lif_error(LIF_ERR_FORMAT, "%s: empty file", path);
    if (got >= 4 && be32(h) != magic)
        return lif_error(LIF_ERR_FORMAT,
                         "%s: bad magic number 0x%08x%s, expected 0x%08x (%s)",
                         path, (unsigned)be32(h), idx_kind(be32(h)), (unsigned)magic,
                         magic == IDX_MAGIC_IMAGES ? "IDX3 unsigned-byte images"
                                                   : "IDX1 unsigned-byte labels");
    if (got < want)
        return lif_error(LIF_ERR_FORMAT,
                         "%s: truncated header: expected %zu bytes, file holds %zu",
                         path, want, got);
    for (int i = 0; i < ndim; i++)
        dims[i] = be32(h + 4 + 4 * i);
    return LIF_OK;
}

/* Reads up to want bytes into a fresh buffer, growing it as data arrives so
 * a header that lies about its size cannot force a huge allocation. */
static lif_status idx_body(gzFile gz, const char *path, size_t want, uint8_t **out,
                           size_t *got)
{
    size_t cap = want < (1u << 20) ? want : (1u << 20), have = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    lif_status s = LIF_OK;
    *out = NULL;
    *got = 0;
    if (!buf)
        return lif_error(LIF_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, cap);
    for (;;) {
        size_t n;
        s = idx_read(gz, path, buf + have, cap - have, &n);
        if (s)
            goto fail;
        have += n;
        if (have < cap || cap == want)
            break;
        size_t ncap = cap > want / 2 ? want : cap * 2;
        uint8_t *nb = realloc(buf, ncap);
        if (!nb) {
            s = lif_error(LIF_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, ncap);
            goto fail;
        }
        buf = nb;
        cap = ncap;
    }
    *out = buf;
    *got = have;
    return LIF_OK;
fail:
    free(buf);
    return s;
}

/* Counts the bytes left in the stream (they should be none). */
static lif_status idx_trailing(gzFile gz, const char *path, size_t *extra)
{
    uint8_t tmp[4096];
    *extra = 0;
    for (;;) {
        size_t n;
        lif_status s = idx_read(gz, path, tmp, sizeof tmp, &n);
        if (s)
            return s;
        *extra += n;
        if (n < sizeof tmp)
            return LIF_OK;
    }
}

static lif_status idx_close(gzFile gz, const char *path)
{
    int r = gzclose_r(gz);
    if (r == Z_ERRNO)
        return lif_error(LIF_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    return LIF_OK;
}

lif_status lif_idx_load(const char *images_path, const char *labels_path,
                        lif_dataset *out)
{
    gzFile gi = NULL, gl = NULL;
    uint8_t *img = NULL, *lab = NULL;
    uint32_t di[3] = {0}, dl[1] = {0};
    size_t got, extra;
    lif_status s;

    if (!out)
        return lif_error(LIF_ERR_INVALID_ARG, "lif_idx_load: out is NULL");
    memset(out, 0, sizeof *out);
    if (!images_path || !labels_path)
        return lif_error(LIF_ERR_INVALID_ARG, "lif_idx_load: NULL path");
    const char *ip = images_path, *lp = labels_path;

    if ((s = idx_open(ip, &gi)) || (s = idx_header(gi, ip, IDX_MAGIC_IMAGES, 3, di)))
        goto fail;
    if ((s = idx_open(lp, &gl)) || (s = idx_header(gl, lp, IDX_MAGIC_LABELS, 1, dl)))
        goto fail;

    uint32_t n = di[0], rows = di[1], cols = di[2];
    if (n == 0) {
        s = lif_error(LIF_ERR_FORMAT, "%s: header says 0 images", ip);
        goto fail;
    }
    if (n > INT_MAX) {
        s = lif_error(LIF_ERR_FORMAT, "%s: image count %u is too large", ip,
                      (unsigned)n);
        goto fail;
    }
    if (rows == 0 || cols == 0 || rows > IDX_MAX_DIM || cols > IDX_MAX_DIM) {
        s = lif_error(LIF_ERR_FORMAT,
                      "%s: bad image size %ux%u (rows and cols must be 1..%d)", ip,
                      (unsigned)rows, (unsigned)cols, IDX_MAX_DIM);
        goto fail;
    }
    if (dl[0] != n) {
        s = lif_error(LIF_ERR_FORMAT,
                      "%s: counts disagree: it holds %u labels but %s holds %u images",
                      lp, (unsigned)dl[0], ip, (unsigned)n);
        goto fail;
    }

    size_t px = (size_t)rows * cols;
    if ((size_t)n > SIZE_MAX / px) {
        s = lif_error(LIF_ERR_FORMAT, "%s: %u images of %ux%u do not fit in memory",
                      ip, (unsigned)n, (unsigned)rows, (unsigned)cols);
        goto fail;
    }
    size_t want = (size_t)n * px;
    if ((s = idx_body(gi, ip, want, &img, &got)))
        goto fail;
    if (got < want) {
        s = lif_error(LIF_ERR_FORMAT,
                      "%s: truncated: header says %u images of %ux%u (%zu pixel "
                      "bytes), file holds %zu (%zu whole images)",
                      ip, (unsigned)n, (unsigned)rows, (unsigned)cols, want, got,
                      got / px);
        goto fail;
    }
    if ((s = idx_trailing(gi, ip, &extra)))
        goto fail;
    if (extra) {
        s = lif_error(LIF_ERR_FORMAT,
                      "%s: %zu trailing bytes after the %u images the header "
                      "announces",
                      ip, extra, (unsigned)n);
        goto fail;
    }

    if ((s = idx_body(gl, lp, n, &lab, &got)))
        goto fail;
    if (got < n) {
        s = lif_error(LIF_ERR_FORMAT, "%s: truncated: header says %u labels, file holds %zu",
                      lp, (unsigned)n, got);
        goto fail;
    }
    if ((s = idx_trailing(gl, lp, &extra)))
        goto fail;
    if (extra) {
        s = lif_error(LIF_ERR_FORMAT,
                      "%s: %zu trailing bytes after the %u labels the header "
                      "announces",
                      lp, extra, (unsigned)n);
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (lab[i] >= 10) {
            s = lif_error(LIF_ERR_FORMAT,
                          "%s: label %u at index %u is out of range (must be < 10)",
                          lp, (unsigned)lab[i], (unsigned)i);
            goto fail;
        }
    }

    s = idx_close(gi, ip);
    gi = NULL;
    if (s)
        goto fail;
    s = idx_close(gl, lp);
    gl = NULL;
    if (s)
        goto fail;

    out->n = (int)n;
    out->rows = (int)rows;
    out->cols = (int)cols;
    out->images = img;
    out->labels = lab;
    out->n_classes = 10;
    snprintf(out->images_path, sizeof out->images_path, "%s", ip);
    snprintf(out->labels_path, sizeof out->labels_path, "%s", lp);
    return LIF_OK;

fail:
    if (gi)
        gzclose_r(gi);
    if (gl)
        gzclose_r(gl);
    free(img);
    free(lab);
    return s;
}

void lif_dataset_free(lif_dataset *d)
{
    if (!d)
        return;
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* Writes header + data to path, plain or gzip, replacing it atomically
 * (lif/atomic.h): zlib writes through a duplicate of the temporary file's
 * descriptor, which the commit then syncs and renames. */
static lif_status idx_put(const char *path, const uint8_t *hdr, size_t hlen,
                          const uint8_t *data, size_t len, int gz)
{
    lif_atomic_file af;
    lif_status s = lif_atomic_open(path, &af);
    if (s != LIF_OK)
        return s;
    int fd = dup(fileno(af.f));
    gzFile f = fd >= 0 ? gzdopen(fd, gz ? "wb6" : "wbT") : NULL;
    if (!f) {
        s = lif_error(LIF_ERR_IO, "%s: cannot open for writing: %s", path,
                      strerror(errno ? errno : ENOMEM));
        if (fd >= 0)
            close(fd);
        lif_atomic_abort(&af);
        return s;
    }
    if (gzwrite(f, hdr, (unsigned)hlen) != (int)hlen)
        goto werr;
    for (size_t off = 0; off < len;) {
        unsigned c = len - off > IDX_CHUNK ? IDX_CHUNK : (unsigned)(len - off);
        if (gzwrite(f, data + off, c) != (int)c)
            goto werr;
        off += c;
    }
    int r = gzclose_w(f);
    f = NULL;
    if (r != Z_OK)
        goto werr;
    return lif_atomic_commit(&af);
werr:
    s = lif_error(LIF_ERR_IO, "%s: write failed: %s", path, strerror(errno ? errno : EIO));
    if (f)
        gzclose_w(f);
    lif_atomic_abort(&af);
    return s;
}

lif_status lif_idx_write(const char *images_path, const char *labels_path,
                         const uint8_t *images, const uint8_t *labels, int n,
                         int rows, int cols, int gz)
{
    if (!images_path || !labels_path || !images || !labels)
        return lif_error(LIF_ERR_INVALID_ARG, "lif_idx_write: NULL argument");
    if (n <= 0 || rows <= 0 || cols <= 0 || rows > IDX_MAX_DIM || cols > IDX_MAX_DIM)
        return lif_error(LIF_ERR_INVALID_ARG,
                         "lif_idx_write: bad shape n=%d rows=%d cols=%d", n, rows,
                         cols);
    for (int i = 0; i < n; i++)
        if (labels[i] >= 10)
            return lif_error(LIF_ERR_INVALID_ARG,
                             "lif_idx_write: label %d at index %d is >= 10",
                             labels[i], i);
    uint8_t hi[16], hl[8];
    put_be32(hi, IDX_MAGIC_IMAGES);
    put_be32(hi + 4, (uint32_t)n);
    put_be32(hi + 8, (uint32_t)rows);
    put_be32(hi + 12, (uint32_t)cols);
    put_be32(hl, IDX_MAGIC_LABELS);
    put_be32(hl + 4, (uint32_t)n);
    lif_status s = idx_put(images_path, hi, sizeof hi, images,
                           (size_t)n * (size_t)rows * (size_t)cols, gz);
    if (s)
        return s;
    return idx_put(labels_path, hl, sizeof hl, labels, (size_t)n, gz);
}
