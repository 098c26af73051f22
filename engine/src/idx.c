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

/* A file being read: plain bytes, or a gzip stream of one or more members
 * inflated here (zlib's gz* functions skip trailing garbage after the last
 * member, which README promises to reject, and name the file "<fd:N>"). */
typedef struct idx_src {
    int fd;
    const char *path;
    int gz;              /* gzip (magic 1f 8b), else plain */
    uint64_t size;       /* the file's size in bytes */
    uint64_t consumed;   /* bytes of the file read so far */
    int eof;             /* read() returned 0 */
    int member_end;      /* the last inflate() ended a gzip member */
    int zinit;
    z_stream zs;         /* next_in/avail_in: read but not yet used (plain files too) */
    unsigned char in[1 << 16];
} idx_src;

/* Reads more of the file after what is left in the input buffer. */
static lif_status src_fill(idx_src *f)
{
    if (f->eof)
        return LIF_OK;
    if (f->zs.avail_in > 0 && f->zs.next_in != f->in)
        memmove(f->in, f->zs.next_in, f->zs.avail_in);
    f->zs.next_in = f->in;
    size_t room = sizeof f->in - f->zs.avail_in;
    for (;;) {
        ssize_t k = read(f->fd, f->in + f->zs.avail_in, room);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return lif_error(LIF_ERR_IO, "%s: read error: %s", f->path, strerror(errno));
        if (k == 0)
            f->eof = 1;
        f->zs.avail_in += (uInt)k;
        f->consumed += (uint64_t)k;
        return LIF_OK;
    }
}

static void idx_close(idx_src *f)
{
    if (!f)
        return;
    if (f->zinit)
        inflateEnd(&f->zs);
    close(f->fd);
    free(f);
}

/* Opens path for reading, plain or gzip (told by its first two bytes). */
static lif_status idx_open(const char *path, idx_src **out)
{
    *out = NULL;
    int fd;
    uint64_t size;
    lif_status s = lif_open_input(path, &fd, &size);
    if (s != LIF_OK)
        return s;
    idx_src *f = calloc(1, sizeof *f);
    if (!f) {
        close(fd);
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory", path);
    }
    f->fd = fd;
    f->path = path;
    f->size = size;
    f->zs.next_in = f->in;
    while (f->zs.avail_in < 2 && !f->eof)
        if ((s = src_fill(f)) != LIF_OK) {
            idx_close(f);
            return s;
        }
    f->gz = f->zs.avail_in >= 2 && f->in[0] == 0x1f && f->in[1] == 0x8b;
    if (f->gz) {
        if (inflateInit2(&f->zs, 16 + MAX_WBITS) != Z_OK) {
            idx_close(f);
            return lif_error(LIF_ERR_NOMEM, "%s: cannot allocate a zlib stream", path);
        }
        f->zinit = 1;
    }
    *out = f;
    return LIF_OK;
}

/* The most bytes the file can yield: its size, or for gzip its size times
 * deflate's largest ratio (1032:1) plus slack. */
static uint64_t idx_capacity(const idx_src *f)
{
    if (!f->gz)
        return f->size;
    return f->size > UINT64_MAX / 1032 - 65536 ? UINT64_MAX : f->size * 1032 + 65536;
}

/* After a gzip member: another member, the end of the file, or garbage. */
static lif_status gz_next_member(idx_src *f, int *done)
{
    lif_status s;
    *done = 0;
    while (f->zs.avail_in < 2 && !f->eof)
        if ((s = src_fill(f)) != LIF_OK)
            return s;
    if (f->zs.avail_in == 0) {
        *done = 1;
        return LIF_OK;
    }
    if (f->zs.avail_in >= 2 && f->zs.next_in[0] == 0x1f && f->zs.next_in[1] == 0x8b) {
        inflateReset(&f->zs);
        f->member_end = 0;
        return LIF_OK;
    }
    return lif_error(LIF_ERR_FORMAT, "%s: %llu bytes of trailing garbage after the gzip data",
                     f->path, (unsigned long long)(f->size - (f->consumed - f->zs.avail_in)));
}

/* Reads up to want bytes into buf; *got is how many arrived before the end
 * of the data. A read error, a damaged or truncated gzip stream, or bytes
 * after the last gzip member are errors; the end of the data is not. */
static lif_status idx_read(idx_src *f, const char *path, void *buf, size_t want, size_t *got)
{
    uint8_t *p = buf;
    lif_status s;
    *got = 0;
    while (*got < want) {
        if (!f->gz) {
            if (f->zs.avail_in == 0) {
                if (f->eof)
                    break;
                if ((s = src_fill(f)) != LIF_OK)
                    return s;
                continue;
            }
            size_t k = want - *got < f->zs.avail_in ? want - *got : f->zs.avail_in;
            memcpy(p + *got, f->zs.next_in, k);
            f->zs.next_in += k;
            f->zs.avail_in -= (uInt)k;
            *got += k;
            continue;
        }
        if (f->member_end) {
            int done;
            if ((s = gz_next_member(f, &done)) != LIF_OK)
                return s;
            if (done)
                break;
        }
        if (f->zs.avail_in == 0 && !f->eof && (s = src_fill(f)) != LIF_OK)
            return s;
        size_t left = want - *got;
        f->zs.next_out = p + *got;
        f->zs.avail_out = left > IDX_CHUNK ? IDX_CHUNK : (uInt)left;
        uInt before_in = f->zs.avail_in, before_out = f->zs.avail_out;
        int r = inflate(&f->zs, Z_NO_FLUSH);
        *got += before_out - f->zs.avail_out;
        if (r == Z_STREAM_END) {
            f->member_end = 1;
            continue;
        }
        if (r == Z_MEM_ERROR)
            return lif_error(LIF_ERR_NOMEM, "%s: out of memory while decompressing", path);
        if (r == Z_DATA_ERROR || r == Z_NEED_DICT || r == Z_STREAM_ERROR)
            return lif_error(LIF_ERR_FORMAT, "%s: corrupt gzip data: %s", path,
                             f->zs.msg ? f->zs.msg : "bad deflate stream");
        if (f->eof && f->zs.avail_in == 0 && before_in == 0 && before_out == f->zs.avail_out)
            return lif_error(LIF_ERR_FORMAT,
                             "%s: truncated gzip stream (compressed data ends early)", path);
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
static lif_status idx_header(idx_src *gz, const char *path, uint32_t magic, int ndim,
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

/* Bodies from this size (a data set's images, not its labels) end on huge
 * pages. */
#define HUGE_FROM ((size_t)4 << 20)

/* Reads up to want bytes into a fresh buffer, growing it as data arrives so
 * a header that lies about its size cannot force a huge allocation. */
static lif_status idx_body(idx_src *gz, const char *path, size_t want, uint8_t **out,
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
    if (have >= HUGE_FROM) {
        /* a data set's images: onto huge pages (internal.h, lif_alloc_huge) */
        uint8_t *hb = lif_alloc_huge(have);
        if (hb) {
            memcpy(hb, buf, have);
            free(buf);
            buf = hb;
        }
    }
    *out = buf;
    *got = have;
    return LIF_OK;
fail:
    free(buf);
    return s;
}

/* Counts the bytes left in the stream (they should be none). */
static lif_status idx_trailing(idx_src *gz, const char *path, size_t *extra)
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

/* Refuses a header that declares more bytes (`need`, header included)
 * than the file can hold, before any of them is read (rows 0: a label
 * file). */
static lif_status idx_room(const idx_src *f, const char *path, size_t need, const char *what,
                           uint32_t n, uint32_t rows, uint32_t cols)
{
    uint64_t cap = idx_capacity(f);
    if ((uint64_t)need <= cap)
        return LIF_OK;
    char shape[64] = "";
    if (rows)
        snprintf(shape, sizeof shape, " of %ux%u", (unsigned)rows, (unsigned)cols);
    if (!f->gz) {
        size_t item = rows ? (size_t)rows * cols : 1, hdr = rows ? 16 : 8;
        uint64_t holds = f->size > hdr ? f->size - hdr : 0;
        if (!rows)
            return lif_error(LIF_ERR_FORMAT, "%s: truncated: header says %u labels, file holds "
                             "%llu", path, (unsigned)n, (unsigned long long)holds);
        return lif_error(LIF_ERR_FORMAT, "%s: truncated: header says %u images%s (%zu pixel "
                         "bytes), file holds %llu (%llu whole images)", path, (unsigned)n, shape,
                         need - hdr, (unsigned long long)holds,
                         (unsigned long long)(holds / item));
    }
    return lif_error(LIF_ERR_FORMAT, "%s: header says %u %s%s (%zu bytes), more than this "
                     "%llu-byte gzip file can hold (at most %llu bytes uncompressed)", path,
                     (unsigned)n, what, shape, need, (unsigned long long)f->size,
                     (unsigned long long)cap);
}

lif_status lif_idx_load(const char *images_path, const char *labels_path,
                        lif_dataset *out)
{
    idx_src *gi = NULL, *gl = NULL;
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
    /* what the header declares must fit in what the file can hold */
    if ((s = idx_room(gi, ip, want + 16, "images", n, rows, cols)) ||
        (s = idx_room(gl, lp, (size_t)n + 8, "labels", n, 0, 0)))
        goto fail;
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

    idx_close(gi);
    idx_close(gl);

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
    idx_close(gi);
    idx_close(gl);
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
