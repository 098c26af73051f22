/* ckpt.c — checkpoint files (format in lif/ckpt.h).
 *
 * Every integer is written and read byte by byte, little-endian, so the
 * files are the same on any host. Saving streams the payload through a
 * running CRC; loading reads the whole file, checks the frame (magic,
 * version, sizes, trailer, CRC) and then parses the payload with a bounds
 * check before every read. */
#define _POSIX_C_SOURCE 200809L

#include "internal.h"
#include "lif/ckpt.h"

#include "lif/atomic.h"

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define HDR_SIZE 24u
#define TRL_SIZE 12u
#define NAME_MAX_LEN 63u

static const unsigned char head_magic[8] = {'L', 'I', 'F', 'C', 'K', 'P', 'T', 0};
static const unsigned char tail_magic[8] = {'L', 'I', 'F', 'E', 'N', 'D', 0, 0};

/* ---- little-endian helpers ---------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* zlib's crc32 takes a uInt length; feed it in chunks. */
static uLong crc_add(uLong crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        crc = crc32(crc, p, (uInt)k);
        p += k;
        n -= k;
    }
    return crc;
}

/* Elements of a tensor with shape[ndim]; 0 with *ok = 0 on overflow of
 * either the count or its size in bytes. */
static uint64_t elem_count(uint32_t ndim, const uint64_t *shape, int *ok)
{
    uint64_t n = 1;
    *ok = 1;
    for (uint32_t d = 0; d < ndim; d++) {
        if (shape[d] != 0 && n > UINT64_MAX / shape[d]) {
            *ok = 0;
            return 0;
        }
        n *= shape[d];
    }
    if (n > UINT64_MAX / 4 || n > SIZE_MAX / sizeof(float)) {
        *ok = 0;
        return 0;
    }
    return n;
}

/* ---- saving ------------------------------------------------------------- */

typedef struct writer {
    FILE *f;
    uLong crc;
    int err; /* errno of the first failed write, 0 if none */
} writer;

static void w_raw(writer *w, const void *p, size_t n)
{
    if (w->err || n == 0)
        return;
    errno = 0;
    if (fwrite(p, 1, n, w->f) != n)
        w->err = errno ? errno : EIO;
}

/* Writes payload bytes and adds them to the CRC. */
static void w_pay(writer *w, const unsigned char *p, size_t n)
{
    w_raw(w, p, n);
    w->crc = crc_add(w->crc, p, n);
}

static void w_u32(writer *w, uint32_t v)
{
    unsigned char b[4];
    put_u32(b, v);
    w_pay(w, b, 4);
}

static void w_u64(writer *w, uint64_t v)
{
    unsigned char b[8];
    put_u64(b, v);
    w_pay(w, b, 8);
}

static void w_floats(writer *w, const float *x, uint64_t n)
{
    unsigned char b[4096];
    while (n > 0 && !w->err) {
        size_t k = n > sizeof b / 4 ? sizeof b / 4 : (size_t)n;
        for (size_t i = 0; i < k; i++)
            put_u32(b + 4 * i, f32_bits(x[i]));
        w_pay(w, b, 4 * k);
        x += k;
        n -= k;
    }
}

static int add_ok(uint64_t *acc, uint64_t v)
{
    if (*acc > UINT64_MAX - v)
        return 0;
    *acc += v;
    return 1;
}

/* Checks c and computes its payload size. */
static lif_status check_ckpt(const char *path, const lif_ckpt *c, uint64_t *payload)
{
    if (!c->recipe_json)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: checkpoint has no recipe", path);
    size_t rlen = strlen(c->recipe_json);
    if (rlen > UINT32_MAX)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: recipe is too long (%zu bytes)", path, rlen);
    if (c->epoch < -1)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: epoch %d (must be >= -1)", path,
                         (int)c->epoch);
    if (c->n_tensors > 0 && !c->tensors)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: %u tensors but no tensor array", path,
                         (unsigned)c->n_tensors);
    if (c->part_samples > INT64_MAX || c->part_correct > c->part_samples ||
        !(c->part_loss_sum >= 0.0 && c->part_loss_sum <= 1e300) ||
        !(c->part_seconds >= 0.0 && c->part_seconds <= 1e300))
        return lif_error(LIF_ERR_INVALID_ARG, "%s: implausible part-epoch state", path);
    uint64_t sz = 4 + (uint64_t)rlen + 4 + 8 + 8 + 8 + 8 + 4 + (c->part_samples ? 32 : 0);
    for (uint32_t i = 0; i < c->n_tensors; i++) {
        const lif_ckpt_tensor *t = &c->tensors[i];
        size_t nlen = strnlen(t->name, sizeof t->name);
        if (nlen > NAME_MAX_LEN)
            return lif_error(LIF_ERR_INVALID_ARG,
                             "%s: tensor %u: name longer than %u characters", path,
                             (unsigned)i, NAME_MAX_LEN);
        if (t->ndim > LIF_CKPT_MAX_DIMS)
            return lif_error(LIF_ERR_INVALID_ARG, "%s: tensor '%s': ndim %u > %d", path,
                             t->name, (unsigned)t->ndim, LIF_CKPT_MAX_DIMS);
        for (uint32_t j = 0; j < i; j++)
            if (strncmp(c->tensors[j].name, t->name, sizeof t->name) == 0)
                return lif_error(LIF_ERR_INVALID_ARG, "%s: duplicate tensor name '%s'",
                                 path, t->name);
        int ok;
        uint64_t n = elem_count(t->ndim, t->shape, &ok);
        if (!ok)
            return lif_error(LIF_ERR_INVALID_ARG, "%s: tensor '%s': shape too large", path,
                             t->name);
        if (n > 0 && !t->data)
            return lif_error(LIF_ERR_INVALID_ARG, "%s: tensor '%s': data is NULL", path,
                             t->name);
        if (!add_ok(&sz, 4 + (uint64_t)nlen + 4 + 8 * (uint64_t)t->ndim) ||
            !add_ok(&sz, 4 * n))
            return lif_error(LIF_ERR_INVALID_ARG, "%s: checkpoint too large", path);
    }
    *payload = sz;
    return LIF_OK;
}

/* Writes c to a temporary file next to path and renames it over path
 * (lif/atomic.h): a failed save leaves the previous file as it was. */
lif_status lif_ckpt_save(const char *path, const lif_ckpt *c)
{
    if (!path || !*path)
        return lif_error(LIF_ERR_INVALID_ARG, "checkpoint save: no path");
    if (!c)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: no checkpoint to save", path);
    uint64_t payload = 0;
    lif_status st = check_ckpt(path, c, &payload);
    if (st != LIF_OK)
        return st;

    lif_atomic_file af;
    if ((st = lif_atomic_open(path, &af)) != LIF_OK)
        return st;
    writer w = {af.f, crc32(0L, Z_NULL, 0), 0};

    unsigned char hdr[HDR_SIZE];
    memcpy(hdr, head_magic, 8);
    /* version 1 unless the checkpoint stops inside an epoch */
    put_u32(hdr + 8, c->part_samples ? LIF_CKPT_VERSION_PART : LIF_CKPT_VERSION);
    put_u32(hdr + 12, 0);
    put_u64(hdr + 16, payload);
    w_raw(&w, hdr, sizeof hdr);

    uint32_t rlen = (uint32_t)strlen(c->recipe_json);
    w_u32(&w, rlen);
    w_pay(&w, (const unsigned char *)c->recipe_json, rlen);
    w_u32(&w, (uint32_t)c->epoch);
    uint64_t acc;
    memcpy(&acc, &c->max_test_acc, sizeof acc);
    w_u64(&w, acc);
    w_u64(&w, c->seed);
    w_u64(&w, c->step);
    w_u64(&w, c->rng_position);
    if (c->part_samples) {
        uint64_t bits;
        w_u64(&w, c->part_samples);
        memcpy(&bits, &c->part_loss_sum, sizeof bits);
        w_u64(&w, bits);
        w_u64(&w, c->part_correct);
        memcpy(&bits, &c->part_seconds, sizeof bits);
        w_u64(&w, bits);
    }
    w_u32(&w, c->n_tensors);
    for (uint32_t i = 0; i < c->n_tensors && !w.err; i++) {
        const lif_ckpt_tensor *t = &c->tensors[i];
        uint32_t nlen = (uint32_t)strnlen(t->name, sizeof t->name);
        int ok;
        w_u32(&w, nlen);
        w_pay(&w, (const unsigned char *)t->name, nlen);
        w_u32(&w, t->ndim);
        for (uint32_t d = 0; d < t->ndim; d++)
            w_u64(&w, t->shape[d]);
        w_floats(&w, t->data, elem_count(t->ndim, t->shape, &ok));
    }

    unsigned char trl[TRL_SIZE];
    put_u32(trl, (uint32_t)w.crc);
    memcpy(trl + 4, tail_magic, 8);
    w_raw(&w, trl, sizeof trl);
    if (w.err) {
        lif_atomic_abort(&af);
        return lif_error(LIF_ERR_IO, "%s: write failed: %s", path, strerror(w.err));
    }
    return lif_atomic_commit(&af);
}

/* ---- loading ------------------------------------------------------------ */

typedef struct reader {
    const unsigned char *p;
    size_t n, pos;
} reader;

static size_t r_left(const reader *r) { return r->n - r->pos; }

static int r_u32(reader *r, uint32_t *v)
{
    if (r_left(r) < 4)
        return 0;
    *v = get_u32(r->p + r->pos);
    r->pos += 4;
    return 1;
}

static int r_u64(reader *r, uint64_t *v)
{
    if (r_left(r) < 8)
        return 0;
    *v = get_u64(r->p + r->pos);
    r->pos += 8;
    return 1;
}

static lif_status check_header(const char *path, const unsigned char *b, size_t n,
                               uint64_t file_size);

/* read() until n bytes or end of file; *got how many arrived. */
static lif_status read_all(int fd, const char *path, unsigned char *b, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t k = lif_io_read(fd, b + *got, n - *got); /* the fault-injection seam */
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return lif_error(LIF_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        if (k == 0)
            break; /* shrank under us: the frame checks report it */
        *got += (size_t)k;
    }
    return LIF_OK;
}

/* Reads the regular file at path into *buf (*len bytes): its header first,
 * and the rest only when the header is a checkpoint's and declares the
 * file's size, so a large file that is no checkpoint is never read whole. */
static lif_status read_file(const char *path, unsigned char **buf, size_t *len)
{
    unsigned char *b = NULL, hdr[HDR_SIZE];
    lif_status st;
    int fd;
    uint64_t fsize;
    if ((st = lif_open_input(path, &fd, &fsize)) != LIF_OK)
        return st;
    size_t got = 0, rest = 0;
    if ((st = read_all(fd, path, hdr, HDR_SIZE, &got)) != LIF_OK ||
        (st = check_header(path, hdr, got, fsize)) != LIF_OK)
        goto fail;
    if (fsize >= SIZE_MAX) {
        st = lif_error(LIF_ERR_FORMAT, "%s: implausible file size", path);
        goto fail;
    }
    size_t n = (size_t)fsize;
    b = malloc(n > HDR_SIZE ? n : HDR_SIZE);
    if (!b) {
        st = lif_error(LIF_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, n);
        goto fail;
    }
    memcpy(b, hdr, got);
    if (n > got && (st = read_all(fd, path, b + got, n - got, &rest)) != LIF_OK)
        goto fail;
    close(fd);
    *buf = b;
    *len = got + rest;
    return LIF_OK;

fail:
    free(b);
    close(fd);
    return st;
}

/* Checks the header's magic, version and reserved field and that its
 * payload size accounts for the file's size (file_size: the file's, or
 * the buffer's when checking a whole file in memory). */
static lif_status check_header(const char *path, const unsigned char *b, size_t n,
                               uint64_t file_size)
{
    if (n == 0)
        return lif_error(LIF_ERR_FORMAT, "%s: truncated: file is empty", path);
    if (memcmp(b, head_magic, n < 8 ? n : 8) != 0)
        return lif_error(LIF_ERR_FORMAT, "%s: not a lif checkpoint (bad magic)", path);
    if (n < HDR_SIZE)
        return lif_error(LIF_ERR_FORMAT, "%s: truncated: %zu bytes, the header needs %u",
                         path, n, HDR_SIZE);
    uint32_t ver = get_u32(b + 8);
    if (ver != LIF_CKPT_VERSION && ver != LIF_CKPT_VERSION_PART)
        return lif_error(LIF_ERR_FORMAT,
                         "%s: unsupported checkpoint version %u (this lif reads %u and %u)", path,
                         (unsigned)ver, LIF_CKPT_VERSION, LIF_CKPT_VERSION_PART);
    uint32_t rsv = get_u32(b + 12);
    if (rsv != 0)
        return lif_error(LIF_ERR_FORMAT, "%s: reserved header field is %u, expected 0",
                         path, (unsigned)rsv);
    uint64_t psz = get_u64(b + 16);
    uint64_t room = file_size - HDR_SIZE; /* bytes after the header */
    if (room < TRL_SIZE || psz > room - TRL_SIZE)
        return lif_error(LIF_ERR_FORMAT,
                         "%s: truncated: file is %llu bytes, header says %llu", path,
                         (unsigned long long)file_size,
                         (unsigned long long)(psz <= UINT64_MAX - HDR_SIZE - TRL_SIZE
                                                  ? psz + HDR_SIZE + TRL_SIZE
                                                  : UINT64_MAX));
    if (psz < room - TRL_SIZE)
        return lif_error(LIF_ERR_FORMAT,
                         "%s: %llu unexpected bytes after the end of the checkpoint", path,
                         (unsigned long long)(room - TRL_SIZE - psz));
    return LIF_OK;
}

/* Checks header, sizes, trailer and CRC; sets *payload, *plen and
 * *version. */
static lif_status check_frame(const char *path, const unsigned char *b, size_t n,
                              const unsigned char **payload, size_t *plen, uint32_t *version)
{
    lif_status st = check_header(path, b, n, n);
    if (st != LIF_OK)
        return st;
    *version = get_u32(b + 8);
    uint64_t psz = get_u64(b + 16);
    const unsigned char *t = b + HDR_SIZE + psz;
    if (memcmp(t + 4, tail_magic, 8) != 0)
        return lif_error(LIF_ERR_FORMAT, "%s: bad end marker (truncated or overwritten)",
                         path);
    uLong crc = crc_add(crc32(0L, Z_NULL, 0), b + HDR_SIZE, (size_t)psz);
    if ((uint32_t)crc != get_u32(t))
        return lif_error(LIF_ERR_CORRUPT, "%s: checksum mismatch: file is corrupt", path);
    *payload = b + HDR_SIZE;
    *plen = (size_t)psz;
    return LIF_OK;
}

/* Parses a payload whose CRC matched into c (partially filled on failure;
 * the caller frees it). */
static lif_status parse(const char *path, reader *r, lif_ckpt *c, uint32_t version)
{
    uint32_t rlen, ep, nt;
    uint64_t acc;
    if (!r_u32(r, &rlen) || rlen > r_left(r))
        return lif_error(LIF_ERR_FORMAT, "%s: implausible recipe length", path);
    if (memchr(r->p + r->pos, 0, rlen))
        return lif_error(LIF_ERR_FORMAT, "%s: recipe contains a NUL byte", path);
    c->recipe_json = malloc((size_t)rlen + 1);
    if (!c->recipe_json)
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory", path);
    memcpy(c->recipe_json, r->p + r->pos, rlen);
    c->recipe_json[rlen] = '\0';
    r->pos += rlen;

    if (!r_u32(r, &ep) || !r_u64(r, &acc) || !r_u64(r, &c->seed) || !r_u64(r, &c->step) ||
        !r_u64(r, &c->rng_position))
        return lif_error(LIF_ERR_FORMAT, "%s: payload ends inside the scalars", path);
    if (version == LIF_CKPT_VERSION_PART) {
        uint64_t loss, secs;
        if (!r_u64(r, &c->part_samples) || !r_u64(r, &loss) || !r_u64(r, &c->part_correct) ||
            !r_u64(r, &secs))
            return lif_error(LIF_ERR_FORMAT, "%s: payload ends inside the part-epoch state", path);
        memcpy(&c->part_loss_sum, &loss, sizeof loss);
        memcpy(&c->part_seconds, &secs, sizeof secs);
        if (c->part_samples == 0 || c->part_samples > INT64_MAX ||
            c->part_correct > c->part_samples ||
            !(c->part_loss_sum >= 0.0 && c->part_loss_sum <= 1e300) ||
            !(c->part_seconds >= 0.0 && c->part_seconds <= 1e300))
            return lif_error(LIF_ERR_FORMAT,
                             "%s: implausible part-epoch state (%llu samples, %llu correct, "
                             "loss sum %g, %g s)", path, (unsigned long long)c->part_samples,
                             (unsigned long long)c->part_correct, c->part_loss_sum,
                             c->part_seconds);
    }
    if (!r_u32(r, &nt))
        return lif_error(LIF_ERR_FORMAT, "%s: payload ends inside the scalars", path);
    c->epoch = ep <= INT32_MAX ? (int32_t)ep : -(int32_t)(~ep) - 1;
    if (c->epoch < -1)
        return lif_error(LIF_ERR_FORMAT, "%s: implausible epoch %d", path, (int)c->epoch);
    memcpy(&c->max_test_acc, &acc, sizeof acc);
    /* every tensor takes at least 8 bytes (name length, ndim) */
    if (nt > r_left(r) / 8)
        return lif_error(LIF_ERR_FORMAT, "%s: implausible tensor count %u", path,
                         (unsigned)nt);
    if (nt > 0) {
        c->tensors = calloc(nt, sizeof *c->tensors);
        if (!c->tensors)
            return lif_error(LIF_ERR_NOMEM, "%s: out of memory", path);
    }
    for (uint32_t i = 0; i < nt; i++) {
        lif_ckpt_tensor *t = &c->tensors[i];
        c->n_tensors = i + 1; /* so a failure frees what is there */
        uint32_t nlen;
        if (!r_u32(r, &nlen) || nlen > NAME_MAX_LEN || nlen > r_left(r))
            return lif_error(LIF_ERR_FORMAT, "%s: tensor %u: implausible name length",
                             path, (unsigned)i);
        if (memchr(r->p + r->pos, 0, nlen))
            return lif_error(LIF_ERR_FORMAT, "%s: tensor %u: name contains a NUL byte",
                             path, (unsigned)i);
        memcpy(t->name, r->p + r->pos, nlen);
        t->name[nlen] = '\0';
        r->pos += nlen;
        if (!r_u32(r, &t->ndim) || t->ndim > LIF_CKPT_MAX_DIMS)
            return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s': implausible ndim", path,
                             t->name);
        for (uint32_t d = 0; d < t->ndim; d++)
            if (!r_u64(r, &t->shape[d]))
                return lif_error(LIF_ERR_FORMAT, "%s: tensor '%s': payload ends in shape",
                                 path, t->name);
        int ok;
        uint64_t cnt = elem_count(t->ndim, t->shape, &ok);
        if (!ok || cnt > r_left(r) / 4)
            return lif_error(LIF_ERR_FORMAT,
                             "%s: tensor '%s': shape larger than the file holds", path,
                             t->name);
        if (cnt > 0) {
            t->data = malloc((size_t)cnt * sizeof(float));
            if (!t->data)
                return lif_error(LIF_ERR_NOMEM, "%s: tensor '%s': out of memory", path,
                                 t->name);
            const unsigned char *p = r->p + r->pos;
            for (size_t k = 0; k < (size_t)cnt; k++)
                t->data[k] = bits_f32(get_u32(p + 4 * k));
            r->pos += (size_t)cnt * 4;
        }
    }
    if (r_left(r) != 0)
        return lif_error(LIF_ERR_FORMAT, "%s: %zu unexpected bytes after the last tensor",
                         path, r_left(r));
    return LIF_OK;
}

/* Reads, verifies and parses the checkpoint at path. */
lif_status lif_ckpt_load(const char *path, lif_ckpt *out)
{
    if (!path || !out)
        return lif_error(LIF_ERR_INVALID_ARG, "checkpoint load: no path or output");
    unsigned char *buf = NULL;
    size_t n = 0;
    lif_ckpt c;
    memset(&c, 0, sizeof c);
    lif_status st = read_file(path, &buf, &n);
    if (st != LIF_OK)
        return st;
    const unsigned char *pay = NULL;
    size_t plen = 0;
    uint32_t version = 0;
    st = check_frame(path, buf, n, &pay, &plen, &version);
    if (st != LIF_OK)
        goto fail;
    reader r = {pay, plen, 0};
    st = parse(path, &r, &c, version);
    if (st != LIF_OK)
        goto fail;
    free(buf);
    *out = c;
    return LIF_OK;

fail:
    lif_ckpt_free(&c);
    free(buf);
    return st;
}

/* Linear search by exact name. */
const lif_ckpt_tensor *lif_ckpt_find(const lif_ckpt *c, const char *name)
{
    if (!c || !name || !c->tensors || strlen(name) > NAME_MAX_LEN)
        return NULL;
    for (uint32_t i = 0; i < c->n_tensors; i++)
        if (strncmp(c->tensors[i].name, name, sizeof c->tensors[i].name) == 0)
            return &c->tensors[i];
    return NULL;
}

/* Frees the recipe, every tensor's data and the tensor array. */
void lif_ckpt_free(lif_ckpt *c)
{
    if (!c)
        return;
    free(c->recipe_json);
    if (c->tensors)
        for (uint32_t i = 0; i < c->n_tensors; i++)
            free(c->tensors[i].data);
    free(c->tensors);
    memset(c, 0, sizeof *c);
}
