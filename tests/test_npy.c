/* test_npy.c — .npy float32 writer and reader. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lif/npy.h"
#include "testutil.h"

static const char *tmp;

static const char *pathf(const char *name)
{
    static char buf[8][1200];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

/* Writes a .npy by hand: magic, version major.0, header (padded to a
 * multiple of 64 with a final '\n' unless raw), then data bytes. */
static void make_npy(const char *path, int major, const char *dict, const void *data,
                     size_t nbytes)
{
    uint8_t pre[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (uint8_t)major, 0};
    size_t plen = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hlen = (plen + dl + 1 + 63) / 64 * 64 - plen;
    char hdr[512];
    memcpy(hdr, dict, dl);
    memset(hdr + dl, ' ', hlen - dl - 1);
    hdr[hlen - 1] = '\n';
    pre[8] = (uint8_t)hlen, pre[9] = (uint8_t)(hlen >> 8);
    pre[10] = pre[11] = 0;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(pre, 1, plen, f) != plen || fwrite(hdr, 1, hlen, f) != hlen ||
        (nbytes && fwrite(data, 1, nbytes, f) != nbytes)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

static void le_put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void expect_format(const char *path, const char *name, const char *word,
                          const char *what)
{
    lif_npy a;
    memset(&a, 0xab, sizeof a);
    lif_status s = lif_npy_read(path, &a);
    const char *e = lif_last_error();
    CHECK(s == LIF_ERR_FORMAT, "%s: status %s (%s)", what, lif_status_str(s), e);
    CHECK(strstr(e, name) != NULL, "%s: message lacks file name: %s", what, e);
    CHECK(strstr(e, word) != NULL, "%s: message lacks '%s': %s", what, word, e);
    CHECK(a.data == NULL && a.count == 0, "%s: out not zeroed", what);
    lif_npy_free(&a);
}

static void roundtrip(const char *name, int ndim, const size_t *shape)
{
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= shape[i];
    float *v = malloc((count ? count : 1) * sizeof *v);
    for (size_t i = 0; i < count; i++)
        v[i] = (float)((double)i * 0.37 - 3.5);
    if (count > 2)
        v[1] = -0.0f, v[2] = INFINITY;
    const char *p = pathf(name);
    lif_status s = lif_npy_write_f32(p, v, ndim, shape);
    CHECK(s == LIF_OK, "write %s: %s", name, lif_last_error());

    /* Data starts on a 64-byte boundary. */
    struct stat st;
    CHECK(stat(p, &st) == 0 && ((size_t)st.st_size - count * 4) % 64 == 0,
          "%s: header not padded to 64 bytes", name);

    lif_npy a;
    s = lif_npy_read(p, &a);
    CHECK(s == LIF_OK, "read %s: %s", name, lif_last_error());
    CHECK(a.ndim == ndim && a.count == count && !strcmp(a.dtype, "<f4"),
          "%s: ndim %d count %zu dtype %s", name, a.ndim, a.count, a.dtype);
    for (int i = 0; i < ndim && i < a.ndim; i++)
        CHECK(a.shape[i] == shape[i], "%s: shape[%d] = %zu", name, i, a.shape[i]);
    int same = s == LIF_OK;
    for (size_t i = 0; same && i < count; i++)
        same = a.data[i] == (double)v[i] && !signbit(a.data[i]) == !signbit(v[i]);
    CHECK(same, "%s: values differ", name);
    lif_npy_free(&a);
    CHECK(a.data == NULL, "free does not zero");
    free(v);
}

static void test_roundtrip(void)
{
    size_t s1[1] = {7}, s3[3] = {2, 3, 4}, s0[1] = {0}, s8[8] = {1, 2, 1, 2, 1, 2, 1, 3};
    roundtrip("scalar.npy", 0, NULL);
    roundtrip("vec.npy", 1, s1);
    roundtrip("cube.npy", 3, s3);
    roundtrip("empty.npy", 1, s0);
    roundtrip("eight.npy", 8, s8);

    /* No temporary file is left behind. */
    DIR *d = opendir(tmp);
    int stray = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        stray += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    CHECK(stray == 0, "%d temporary files left", stray);

    /* Overwrite an existing file. */
    float one = 1.5f;
    CHECK(lif_npy_write_f32(pathf("vec.npy"), &one, 0, NULL) == LIF_OK, "overwrite");
    lif_npy a;
    CHECK(lif_npy_read(pathf("vec.npy"), &a) == LIF_OK && a.ndim == 0 && a.count == 1 &&
              a.data[0] == 1.5,
          "overwrite read: %s", lif_last_error());
    lif_npy_free(&a);
    lif_npy_free(NULL);

    CHECK(lif_npy_write_f32(pathf("x.npy"), &one, 9, s8) == LIF_ERR_INVALID_ARG,
          "9 dims accepted");
    CHECK(lif_npy_write_f32("/nonexistent-dir/x.npy", &one, 0, NULL) == LIF_ERR_IO,
          "write to missing dir");
}

static void test_handmade(void)
{
    lif_npy a;
    double dv[6] = {1.0, -2.5, 1e300, 0.1, -0.0, 3.0};
    uint8_t raw[64];
    for (int i = 0; i < 6; i++) {
        uint64_t u;
        memcpy(&u, &dv[i], 8);
        le_put(raw + 8 * i, u, 8);
    }
    make_npy(pathf("f8.npy"), 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
             raw, 48);
    CHECK(lif_npy_read(pathf("f8.npy"), &a) == LIF_OK, "f8: %s", lif_last_error());
    CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6 &&
              !strcmp(a.dtype, "<f8"),
          "f8 shape");
    for (int i = 0; i < 6 && a.data; i++)
        CHECK(a.data[i] == dv[i], "f8[%d] = %g", i, a.data[i]);
    lif_npy_free(&a);

    int64_t iv[4] = {-1, 0, 123456789012LL, -9007199254740992LL};
    for (int i = 0; i < 4; i++)
        le_put(raw + 8 * i, (uint64_t)iv[i], 8);
    /* Key order differs from numpy's and the header uses double quotes. */
    make_npy(pathf("i8.npy"), 1, "{\"shape\": (4,), \"fortran_order\": False, \"descr\": \"<i8\"}",
             raw, 32);
    CHECK(lif_npy_read(pathf("i8.npy"), &a) == LIF_OK, "i8: %s", lif_last_error());
    CHECK(a.ndim == 1 && a.count == 4 && !strcmp(a.dtype, "<i8"), "i8 shape");
    for (int i = 0; i < 4 && a.data; i++)
        CHECK(a.data[i] == (double)iv[i], "i8[%d] = %g", i, a.data[i]);
    lif_npy_free(&a);

    /* Version 2.0 header, <i4. */
    int32_t i4[3] = {-7, 2147483647, 5};
    for (int i = 0; i < 3; i++)
        le_put(raw + 4 * i, (uint32_t)i4[i], 4);
    make_npy(pathf("i4v2.npy"), 2, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
             raw, 12);
    CHECK(lif_npy_read(pathf("i4v2.npy"), &a) == LIF_OK, "i4 v2: %s", lif_last_error());
    CHECK(a.count == 3 && a.data && a.data[0] == -7 && a.data[1] == 2147483647.0 &&
              a.data[2] == 5,
          "i4 values");
    lif_npy_free(&a);

    /* |u1, |b1 and <u4. */
    uint8_t u1[4] = {0, 1, 200, 255};
    make_npy(pathf("u1.npy"), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }",
             u1, 4);
    CHECK(lif_npy_read(pathf("u1.npy"), &a) == LIF_OK && a.data[2] == 200 &&
              a.data[3] == 255,
          "u1: %s", lif_last_error());
    lif_npy_free(&a);
    uint8_t b1[3] = {1, 0, 1};
    make_npy(pathf("b1.npy"), 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
             b1, 3);
    CHECK(lif_npy_read(pathf("b1.npy"), &a) == LIF_OK && a.data[0] == 1 && a.data[1] == 0,
          "b1: %s", lif_last_error());
    lif_npy_free(&a);
    le_put(raw, 4000000000u, 4);
    make_npy(pathf("u4.npy"), 1, "{'descr': '<u4', 'fortran_order': False, 'shape': (), }",
             raw, 4);
    CHECK(lif_npy_read(pathf("u4.npy"), &a) == LIF_OK && a.ndim == 0 &&
              a.data[0] == 4000000000.0,
          "u4: %s", lif_last_error());
    lif_npy_free(&a);
}

static void test_malformed(void)
{
    uint8_t raw[64] = {0};
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";

    make_npy(pathf("short.npy"), 1, ok, raw, 8);
    expect_format(pathf("short.npy"), "short.npy", "truncated", "truncated data");
    make_npy(pathf("long.npy"), 1, ok, raw, 16);
    expect_format(pathf("long.npy"), "long.npy", "trailing", "trailing data");

    make_npy(pathf("fortran.npy"), 1,
             "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", raw, 12);
    expect_format(pathf("fortran.npy"), "fortran.npy", "Fortran", "fortran order");
    make_npy(pathf("be.npy"), 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }",
             raw, 12);
    expect_format(pathf("be.npy"), "be.npy", "dtype '>f4'", "big-endian");
    make_npy(pathf("c8.npy"), 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }",
             raw, 24);
    expect_format(pathf("c8.npy"), "c8.npy", "dtype", "complex");
    make_npy(pathf("rec.npy"), 1,
             "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", raw, 12);
    expect_format(pathf("rec.npy"), "rec.npy", "descr", "structured dtype");
    make_npy(pathf("noshape.npy"), 1, "{'descr': '<f4', 'fortran_order': False, }", raw, 4);
    expect_format(pathf("noshape.npy"), "noshape.npy", "missing shape", "no shape");
    make_npy(pathf("badshape.npy"), 1,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (3, x), }", raw, 12);
    expect_format(pathf("badshape.npy"), "badshape.npy", "shape", "bad shape");
    make_npy(pathf("neg.npy"), 1,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", raw, 12);
    expect_format(pathf("neg.npy"), "neg.npy", "shape", "negative dim");
    make_npy(pathf("int.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': 3, }",
             raw, 12);
    expect_format(pathf("int.npy"), "int.npy", "tuple", "shape not a tuple");
    make_npy(pathf("nocomma.npy"), 1,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", raw, 12);
    expect_format(pathf("nocomma.npy"), "nocomma.npy", "comma", "(3) is not a tuple");
    make_npy(pathf("dup.npy"), 1,
             "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
             raw, 12);
    expect_format(pathf("dup.npy"), "dup.npy", "duplicate", "duplicate key");
    make_npy(pathf("extra.npy"), 1,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", raw, 12);
    expect_format(pathf("extra.npy"), "extra.npy", "unknown key", "unknown key");
    make_npy(pathf("open.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
             raw, 12);
    expect_format(pathf("open.npy"), "open.npy", "bad header", "unterminated dict");
    make_npy(pathf("ord.npy"), 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}", raw,
             12);
    expect_format(pathf("ord.npy"), "ord.npy", "fortran_order", "fortran_order 0");
    make_npy(pathf("nine.npy"), 1,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }",
             raw, 4);
    expect_format(pathf("nine.npy"), "nine.npy", "dimensions", "9 dims");

    make_npy(pathf("ver.npy"), 1, ok, raw, 12);
    FILE *f = fopen(pathf("ver.npy"), "r+b");
    CHECK(f && fseek(f, 6, SEEK_SET) == 0 && fputc(9, f) == 9, "poke version");
    if (f)
        fclose(f);
    expect_format(pathf("ver.npy"), "ver.npy", "version 9.0", "version 9");

    make_npy(pathf("magic.npy"), 1, ok, raw, 12);
    f = fopen(pathf("magic.npy"), "r+b");
    CHECK(f && fputc('X', f) == 'X', "poke magic");
    if (f)
        fclose(f);
    expect_format(pathf("magic.npy"), "magic.npy", "magic", "bad magic");

    /* Header length pointing past the end of the file. */
    uint8_t cut[20] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0x76, 0, '{', '\'', 'd'};
    f = fopen(pathf("cuthdr.npy"), "wb");
    CHECK(f && fwrite(cut, 1, sizeof cut, f) == sizeof cut, "write cuthdr");
    if (f)
        fclose(f);
    expect_format(pathf("cuthdr.npy"), "cuthdr.npy", "truncated header", "cut header");

    f = fopen(pathf("zero.npy"), "wb");
    if (f)
        fclose(f);
    expect_format(pathf("zero.npy"), "zero.npy", "empty", "empty file");

    lif_npy a;
    lif_status s = lif_npy_read(pathf("missing.npy"), &a);
    CHECK(s == LIF_ERR_IO && strstr(lif_last_error(), "missing.npy"), "missing: %s %s",
          lif_status_str(s), lif_last_error());
}

int main(void)
{
    tmp = test_tmpdir("npy");
    test_roundtrip();
    test_handmade();
    test_malformed();
    return test_finish("test_npy");
}
