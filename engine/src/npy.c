/* npy.c — NumPy .npy reader (to double) and float32 writer. */
#define _POSIX_C_SOURCE 200809L

#include "internal.h"
#include "lif/npy.h"

#include "lif/atomic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAX_HEADER 65536u

typedef struct npy_type {
    const char *descr;
    size_t size;
} npy_type;

static const npy_type npy_types[] = {
    {"<f4", 4}, {"<f8", 8}, {"<i8", 8}, {"<i4", 4},
    {"|u1", 1}, {"|b1", 1}, {"<u4", 4},
};
#define NPY_NTYPES (int)(sizeof npy_types / sizeof npy_types[0])

static uint64_t le_get(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* Converts one element of type t at p to double. */
static double npy_value(int t, const uint8_t *p)
{
    uint64_t u = le_get(p, npy_types[t].size);
    switch (t) {
    case 0: {
        uint32_t b = (uint32_t)u;
        float f;
        memcpy(&f, &b, sizeof f);
        return f;
    }
    case 1: {
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    case 2: {
        int64_t i;
        memcpy(&i, &u, sizeof i);
        return (double)i;
    }
    case 3: {
        uint32_t b = (uint32_t)u;
        int32_t i;
        memcpy(&i, &b, sizeof i);
        return i;
    }
    case 5:
        return u != 0;
    default:
        return (double)u;
    }
}

/* --- header parser: a Python dict literal with three known keys --- */

typedef struct npy_parse {
    const char *p, *end, *path;
} npy_parse;

static void skip_ws(npy_parse *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

static int accept(npy_parse *ps, char c)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return 1;
    }
    return 0;
}

/* Parses a quoted string into buf. */
static lif_status parse_str(npy_parse *ps, char *buf, size_t cap, const char *what)
{
    skip_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return lif_error(LIF_ERR_FORMAT, "%s: bad header: expected a quoted %s", ps->path,
                         what);
    char q = *ps->p++;
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != q) {
        if (n + 1 >= cap)
            return lif_error(LIF_ERR_FORMAT, "%s: bad header: %s too long", ps->path,
                             what);
        buf[n++] = *ps->p++;
    }
    if (ps->p >= ps->end)
        return lif_error(LIF_ERR_FORMAT, "%s: bad header: unterminated %s", ps->path,
                         what);
    ps->p++;
    buf[n] = '\0';
    return LIF_OK;
}

/* Parses a shape tuple: (), (n,), (a, b, ...) with an optional trailing comma. */
static lif_status parse_shape(npy_parse *ps, int *ndim, size_t *shape)
{
    *ndim = 0;
    if (!accept(ps, '('))
        return lif_error(LIF_ERR_FORMAT, "%s: bad header: shape is not a tuple", ps->path);
    if (accept(ps, ')'))
        return LIF_OK;
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return lif_error(LIF_ERR_FORMAT,
                             "%s: bad header: shape entry %d is not a non-negative "
                             "integer",
                             ps->path, *ndim);
        if (*ndim >= LIF_NPY_MAX_DIMS)
            return lif_error(LIF_ERR_FORMAT, "%s: more than %d dimensions", ps->path,
                             LIF_NPY_MAX_DIMS);
        size_t v = 0;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
            size_t d = (size_t)(*ps->p++ - '0');
            if (v > (SIZE_MAX - d) / 10)
                return lif_error(LIF_ERR_FORMAT, "%s: shape entry %d overflows",
                                 ps->path, *ndim);
            v = v * 10 + d;
        }
        (void)accept(ps, 'L'); /* Python 2 long suffix */
        shape[(*ndim)++] = v;
        int comma = accept(ps, ',');
        if (accept(ps, ')')) {
            if (*ndim == 1 && !comma)
                return lif_error(LIF_ERR_FORMAT,
                                 "%s: bad header: 1-d shape lacks its trailing comma",
                                 ps->path);
            return LIF_OK;
        }
        if (!comma)
            return lif_error(LIF_ERR_FORMAT, "%s: bad header: malformed shape tuple",
                             ps->path);
    }
}

static lif_status parse_header(const char *path, const char *h, size_t len,
                               lif_npy *out, int *type)
{
    npy_parse ps = {h, h + len, path};
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    char key[32], descr[32];
    lif_status s;

    if (!accept(&ps, '{'))
        return lif_error(LIF_ERR_FORMAT, "%s: bad header: not a dict", path);
    while (!accept(&ps, '}')) {
        if ((s = parse_str(&ps, key, sizeof key, "key")))
            return s;
        if (!accept(&ps, ':'))
            return lif_error(LIF_ERR_FORMAT, "%s: bad header: ':' expected after '%s'",
                             path, key);
        if (!strcmp(key, "descr")) {
            if (seen_descr++)
                return lif_error(LIF_ERR_FORMAT, "%s: bad header: duplicate descr", path);
            if ((s = parse_str(&ps, descr, sizeof descr, "descr")))
                return s;
        } else if (!strcmp(key, "fortran_order")) {
            if (seen_order++)
                return lif_error(LIF_ERR_FORMAT, "%s: bad header: duplicate fortran_order",
                                 path);
            skip_ws(&ps);
            size_t left = (size_t)(ps.end - ps.p);
            if (left >= 5 && !memcmp(ps.p, "False", 5)) {
                ps.p += 5;
            } else if (left >= 4 && !memcmp(ps.p, "True", 4)) {
                return lif_error(LIF_ERR_FORMAT,
                                 "%s: Fortran-order arrays are not supported", path);
            } else {
                return lif_error(LIF_ERR_FORMAT,
                                 "%s: bad header: fortran_order is not True or False",
                                 path);
            }
        } else if (!strcmp(key, "shape")) {
            if (seen_shape++)
                return lif_error(LIF_ERR_FORMAT, "%s: bad header: duplicate shape", path);
            if ((s = parse_shape(&ps, &out->ndim, out->shape)))
                return s;
        } else {
            return lif_error(LIF_ERR_FORMAT, "%s: bad header: unknown key '%s'", path,
                             key);
        }
        if (!accept(&ps, ',')) {
            if (accept(&ps, '}'))
                break;
            return lif_error(LIF_ERR_FORMAT, "%s: bad header: ',' or '}' expected",
                             path);
        }
    }
    while (ps.p < ps.end && (*ps.p == ' ' || *ps.p == '\t' || *ps.p == '\n' ||
                             *ps.p == '\r' || *ps.p == '\0'))
        ps.p++;
    if (ps.p != ps.end)
        return lif_error(LIF_ERR_FORMAT, "%s: bad header: text after the dict", path);
    if (!seen_descr || !seen_order || !seen_shape)
        return lif_error(LIF_ERR_FORMAT, "%s: bad header: missing %s", path,
                         !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
    for (int t = 0; t < NPY_NTYPES; t++) {
        if (!strcmp(descr, npy_types[t].descr)) {
            *type = t;
            memcpy(out->dtype, npy_types[t].descr, strlen(npy_types[t].descr) + 1);
            return LIF_OK;
        }
    }
    return lif_error(LIF_ERR_FORMAT,
                     "%s: unsupported dtype '%s' (want <f4, <f8, <i8, <i4, |u1, |b1 or "
                     "<u4)",
                     path, descr);
}

lif_status lif_npy_read(const char *path, lif_npy *out)
{
    FILE *f = NULL;
    char *hdr = NULL;
    double *data = NULL;
    uint8_t pre[12];
    lif_status s;
    int type = 0;

    if (!out)
        return lif_error(LIF_ERR_INVALID_ARG, "lif_npy_read: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path)
        return lif_error(LIF_ERR_INVALID_ARG, "lif_npy_read: path is NULL");
    if ((s = lif_fopen_input(path, &f)) != LIF_OK)
        return s;

    size_t got = fread(pre, 1, 10, f);
    if (ferror(f)) {
        s = lif_error(LIF_ERR_IO, "%s: read error: %s", path, strerror(errno));
        goto fail;
    }
    if (got == 0) {
        s = lif_error(LIF_ERR_FORMAT, "%s: empty file", path);
        goto fail;
    }
    if (got < 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        s = lif_error(LIF_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
        goto fail;
    }
    int major = pre[6], minor = pre[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0) {
        s = lif_error(LIF_ERR_FORMAT, "%s: unsupported .npy version %d.%d", path, major,
                      minor);
        goto fail;
    }
    size_t pre_len = major == 1 ? 10 : 12;
    if (pre_len > 10)
        got += fread(pre + 10, 1, 2, f);
    if (got < pre_len) {
        s = lif_error(LIF_ERR_FORMAT, "%s: truncated header", path);
        goto fail;
    }
    size_t hlen = (size_t)le_get(pre + 8, pre_len - 8);
    if (hlen == 0 || hlen > NPY_MAX_HEADER) {
        s = lif_error(LIF_ERR_FORMAT, "%s: implausible header length %zu", path, hlen);
        goto fail;
    }
    hdr = malloc(hlen);
    if (!hdr) {
        s = lif_error(LIF_ERR_NOMEM, "%s: cannot allocate the header", path);
        goto fail;
    }
    got = fread(hdr, 1, hlen, f);
    if (got < hlen) {
        s = lif_error(LIF_ERR_FORMAT,
                      "%s: truncated header: length says %zu bytes, file holds %zu", path,
                      hlen, got);
        goto fail;
    }
    if ((s = parse_header(path, hdr, hlen, out, &type)))
        goto fail;

    size_t count = 1, esize = npy_types[type].size;
    for (int i = 0; i < out->ndim; i++) {
        if (out->shape[i] && count > SIZE_MAX / 8 / out->shape[i]) {
            s = lif_error(LIF_ERR_FORMAT, "%s: shape is too large", path);
            goto fail;
        }
        count *= out->shape[i];
    }
    size_t bytes = count * esize;

    /* Check the size first, so a lying shape cannot force a huge allocation. */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        size_t have = (size_t)st.st_size - (pre_len + hlen);
        if (have < bytes) {
            s = lif_error(LIF_ERR_FORMAT,
                          "%s: truncated: shape needs %zu data bytes, file holds %zu",
                          path, bytes, have);
            goto fail;
        }
        if (have > bytes) {
            s = lif_error(LIF_ERR_FORMAT, "%s: %zu trailing bytes after the data", path,
                          have - bytes);
            goto fail;
        }
    }

    data = malloc((count ? count : 1) * sizeof *data);
    if (!data) {
        s = lif_error(LIF_ERR_NOMEM, "%s: cannot allocate %zu values", path, count);
        goto fail;
    }
    uint8_t buf[1 << 15];
    size_t per = sizeof buf / esize, done = 0;
    while (done < count) {
        size_t want = count - done < per ? count - done : per;
        got = fread(buf, esize, want, f);
        for (size_t i = 0; i < got; i++)
            data[done + i] = npy_value(type, buf + i * esize);
        done += got;
        if (got < want) {
            if (ferror(f))
                s = lif_error(LIF_ERR_IO, "%s: read error: %s", path, strerror(errno));
            else
                s = lif_error(LIF_ERR_FORMAT,
                              "%s: truncated: shape needs %zu values, file holds %zu",
                              path, count, done);
            goto fail;
        }
    }
    if (fgetc(f) != EOF) {
        s = lif_error(LIF_ERR_FORMAT, "%s: trailing bytes after the data", path);
        goto fail;
    }
    fclose(f);
    free(hdr);
    out->count = count;
    out->data = data;
    return LIF_OK;

fail:
    if (f)
        fclose(f);
    free(hdr);
    free(data);
    memset(out, 0, sizeof *out);
    return s;
}

void lif_npy_free(lif_npy *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

lif_status lif_npy_write_f32(const char *path, const float *data, int ndim,
                             const size_t *shape)
{
    char hdr[384];
    lif_atomic_file af;
    lif_status s;

    if (!path || ndim < 0 || ndim > LIF_NPY_MAX_DIMS || (ndim > 0 && !shape))
        return lif_error(LIF_ERR_INVALID_ARG, "lif_npy_write_f32: bad arguments");
    size_t count = 1;
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++) {
        if (shape[i] && count > SIZE_MAX / 4 / shape[i])
            return lif_error(LIF_ERR_INVALID_ARG, "%s: shape too large", path);
        count *= shape[i];
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s%zu", i ? ", " : "", shape[i]);
    }
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    if (count && !data)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: data is NULL", path);
    /* Pad with spaces so the data starts on a 64-byte boundary; end with '\n'. */
    size_t total = (10 + (size_t)n + 1 + 63) / 64 * 64;
    size_t hlen = total - 10;
    memset(hdr + n, ' ', hlen - (size_t)n - 1);
    hdr[hlen - 1] = '\n';

    if ((s = lif_atomic_open(path, &af)) != LIF_OK)
        return s;
    FILE *f = af.f;
    uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hlen & 0xff),
                       (uint8_t)(hlen >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(hdr, 1, hlen, f) != hlen)
        goto werr;
    uint8_t buf[1 << 14];
    for (size_t done = 0; done < count;) {
        size_t m = count - done < sizeof buf / 4 ? count - done : sizeof buf / 4;
        for (size_t i = 0; i < m; i++) {
            uint32_t b;
            memcpy(&b, &data[done + i], sizeof b);
            for (int k = 0; k < 4; k++)
                buf[4 * i + (size_t)k] = (uint8_t)(b >> (8 * k));
        }
        if (fwrite(buf, 4, m, f) != m)
            goto werr;
        done += m;
    }
    return lif_atomic_commit(&af);
werr:
    s = lif_error(LIF_ERR_IO, "%s: write failed: %s", path, strerror(errno ? errno : EIO));
    lif_atomic_abort(&af);
    return s;
}
