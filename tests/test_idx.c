/* test_idx.c — IDX reader/writer and data-folder layouts. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "lif/data.h"
#include "testutil.h"

#define N 5
#define R 3
#define C 4

static const char *tmp;
static uint8_t img[N * R * C], lab[N];

static const char *pathf(const char *name)
{
    static char buf[16][1200];
    static int k;
    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

static void put_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void write_bytes(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

/* An image file with the given header fields and npx pixel bytes. */
static void write_images(const char *path, uint32_t magic, uint32_t n, uint32_t r,
                         uint32_t c, size_t npx)
{
    static uint8_t b[16 + 4096];
    put_be(b, magic), put_be(b + 4, n), put_be(b + 8, r), put_be(b + 12, c);
    for (size_t i = 0; i < npx; i++)
        b[16 + i] = (uint8_t)(i * 7);
    write_bytes(path, b, 16 + npx);
}

static void write_labels(const char *path, uint32_t magic, uint32_t n, size_t nl,
                         int bad_at)
{
    static uint8_t b[8 + 4096];
    put_be(b, magic), put_be(b + 4, n);
    for (size_t i = 0; i < nl; i++)
        b[8 + i] = (uint8_t)(i % 10);
    if (bad_at >= 0)
        b[8 + bad_at] = 10;
    write_bytes(path, b, 8 + nl);
}

static int same(const lif_dataset *d, int n, int r, int c, const uint8_t *im,
                const uint8_t *lb)
{
    return d->n == n && d->rows == r && d->cols == c && d->n_classes == 10 &&
           d->images && d->labels && !memcmp(d->images, im, (size_t)n * r * c) &&
           !memcmp(d->labels, lb, (size_t)n);
}

static void mkdirs(const char *path)
{
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    if (system(cmd) != 0)
        exit(1);
}

/* Expects LIF_ERR_FORMAT naming file and containing word. */
static void expect_format(const char *ip, const char *lp, const char *file,
                          const char *word, const char *what)
{
    lif_dataset d;
    memset(&d, 0xab, sizeof d);
    lif_error_clear();
    lif_status s = lif_idx_load(ip, lp, &d);
    const char *e = lif_last_error();
    CHECK(s == LIF_ERR_FORMAT, "%s: status %s (%s)", what, lif_status_str(s), e);
    CHECK(strstr(e, file) != NULL, "%s: message lacks file name: %s", what, e);
    CHECK(strstr(e, word) != NULL, "%s: message lacks '%s': %s", what, word, e);
    CHECK(d.images == NULL && d.labels == NULL && d.n == 0, "%s: out not zeroed", what);
    lif_dataset_free(&d);
}

static void test_roundtrip(void)
{
    lif_dataset d;
    for (int gz = 0; gz < 2; gz++) {
        const char *ip = pathf(gz ? "rt-img.gz" : "rt-img");
        const char *lp = pathf(gz ? "rt-lab.gz" : "rt-lab");
        lif_status s = lif_idx_write(ip, lp, img, lab, N, R, C, gz);
        CHECK(s == LIF_OK, "write gz=%d: %s", gz, lif_last_error());
        FILE *f = fopen(ip, "rb");
        int b0 = f ? fgetc(f) : -1, b1 = f ? fgetc(f) : -1;
        if (f)
            fclose(f);
        CHECK(gz ? (b0 == 0x1f && b1 == 0x8b) : (b0 == 0 && b1 == 0),
              "gz=%d: first bytes %02x %02x", gz, b0, b1);
        s = lif_idx_load(ip, lp, &d);
        CHECK(s == LIF_OK, "load gz=%d: %s", gz, lif_last_error());
        CHECK(same(&d, N, R, C, img, lab), "gz=%d: contents differ", gz);
        CHECK(!strcmp(d.images_path, ip) && !strcmp(d.labels_path, lp),
              "gz=%d: paths not recorded", gz);
        lif_dataset_free(&d);
        CHECK(d.images == NULL && d.n == 0, "free does not zero");
    }
    /* Mixed: gzip images with plain labels; detected by content, not name. */
    CHECK(lif_idx_load(pathf("rt-img.gz"), pathf("rt-lab"), &d) == LIF_OK, "mixed: %s",
          lif_last_error());
    CHECK(same(&d, N, R, C, img, lab), "mixed contents differ");
    lif_dataset_free(&d);
    CHECK(rename(pathf("rt-img.gz"), pathf("rt-img-renamed")) == 0, "rename");
    CHECK(lif_idx_load(pathf("rt-img-renamed"), pathf("rt-lab.gz"), &d) == LIF_OK,
          "gz without .gz name: %s", lif_last_error());
    lif_dataset_free(&d);
    lif_dataset_free(NULL);

    uint8_t badlab[N] = {1, 2, 10, 3, 4};
    CHECK(lif_idx_write(pathf("x-img"), pathf("x-lab"), img, badlab, N, R, C, 0) ==
              LIF_ERR_INVALID_ARG,
          "writer accepted label 10");
    CHECK(lif_idx_write(pathf("x-img"), pathf("x-lab"), img, lab, N, 0, C, 0) ==
              LIF_ERR_INVALID_ARG,
          "writer accepted 0 rows");
}

static void test_layouts(void)
{
    static const char *const subs[] = {"", "/MNIST/raw", "/FashionMNIST/raw", "/raw"};
    uint8_t tr_img[6 * R * C], tr_lab[6], te_img[4 * R * C], te_lab[4];
    for (int i = 0; i < 6 * R * C; i++)
        tr_img[i] = (uint8_t)(i * 3 + 1);
    for (int i = 0; i < 4 * R * C; i++)
        te_img[i] = (uint8_t)(255 - i);
    for (int i = 0; i < 6; i++)
        tr_lab[i] = (uint8_t)((i * 3) % 10);
    for (int i = 0; i < 4; i++)
        te_lab[i] = (uint8_t)(9 - i);

    for (int k = 0; k < 4; k++) {
        char root[1200], sub[1300], ip[1400], lp[1400];
        snprintf(root, sizeof root, "%s/layout%d", tmp, k);
        snprintf(sub, sizeof sub, "%s%s", root, subs[k]);
        mkdirs(sub);
        int gz = k % 2; /* train gzip on odd layouts, test gzip on even */
        snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte%s", sub, gz ? ".gz" : "");
        snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte%s", sub, gz ? ".gz" : "");
        CHECK(lif_idx_write(ip, lp, tr_img, tr_lab, 6, R, C, gz) == LIF_OK, "%s",
              lif_last_error());
        snprintf(ip, sizeof ip, "%s/t10k-images-idx3-ubyte%s", sub, gz ? "" : ".gz");
        snprintf(lp, sizeof lp, "%s/t10k-labels-idx1-ubyte%s", sub, gz ? "" : ".gz");
        CHECK(lif_idx_write(ip, lp, te_img, te_lab, 4, R, C, !gz) == LIF_OK, "%s",
              lif_last_error());

        lif_dataset tr, te;
        lif_status s = lif_data_open_dir(root, &tr, &te);
        CHECK(s == LIF_OK, "layout '%s': %s", subs[k], lif_last_error());
        CHECK(same(&tr, 6, R, C, tr_img, tr_lab), "layout '%s': train differs", subs[k]);
        CHECK(same(&te, 4, R, C, te_img, te_lab), "layout '%s': test differs", subs[k]);
        CHECK(strstr(tr.images_path, subs[k]) != NULL, "layout '%s': read %s", subs[k],
              tr.images_path);
        lif_dataset_free(&tr);
        lif_dataset_free(&te);

        s = lif_data_open_dir(root, NULL, &te);
        CHECK(s == LIF_OK && te.n == 4, "layout '%s' test only: %s", subs[k],
              lif_last_error());
        lif_dataset_free(&te);
        s = lif_data_open_dir(root, &tr, NULL);
        CHECK(s == LIF_OK && tr.n == 6, "layout '%s' train only: %s", subs[k],
              lif_last_error());
        lif_dataset_free(&tr);
    }

    /* Only the training pair present: a test request is not found. */
    char part[1200], ip[1300], lp[1300];
    snprintf(part, sizeof part, "%s/partial", tmp);
    mkdirs(part);
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte", part);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte", part);
    CHECK(lif_idx_write(ip, lp, tr_img, tr_lab, 6, R, C, 0) == LIF_OK, "%s",
          lif_last_error());
    lif_dataset tr, te;
    lif_status s = lif_data_open_dir(part, &tr, &te);
    CHECK(s == LIF_ERR_NOT_FOUND, "partial: %s", lif_status_str(s));
    CHECK(strstr(lif_last_error(), "t10k-images-idx3-ubyte") != NULL, "partial: %s",
          lif_last_error());
    CHECK(tr.images == NULL && te.images == NULL, "partial: outputs not zeroed");
    s = lif_data_open_dir(part, &tr, NULL);
    CHECK(s == LIF_OK && tr.n == 6, "partial train only: %s", lif_last_error());
    lif_dataset_free(&tr);

    /* Missing and empty folders. */
    s = lif_data_open_dir(pathf("no-such-dir"), &tr, &te);
    CHECK(s == LIF_ERR_NOT_FOUND, "missing dir: %s", lif_status_str(s));
    CHECK(strstr(lif_last_error(), "no-such-dir") != NULL, "missing dir: %s",
          lif_last_error());
    char empty[1200];
    snprintf(empty, sizeof empty, "%s/empty", tmp);
    mkdirs(empty);
    s = lif_data_open_dir(empty, &tr, &te);
    CHECK(s == LIF_ERR_NOT_FOUND, "empty dir: %s", lif_status_str(s));
    CHECK(strstr(lif_last_error(), "train-images-idx3-ubyte") &&
              strstr(lif_last_error(), "FashionMNIST/raw"),
          "empty dir message: %s", lif_last_error());

    /* A malformed file found through a folder is reported as such. */
    char bad[1200];
    snprintf(bad, sizeof bad, "%s/badlayout", tmp);
    mkdirs(bad);
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte", bad);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte", bad);
    write_images(ip, 0x803, 2, R, C, 2 * R * C);
    write_labels(lp, 0x801, 2, 2, 1);
    s = lif_data_open_dir(bad, &tr, NULL);
    CHECK(s == LIF_ERR_FORMAT && strstr(lif_last_error(), "train-labels-idx1-ubyte"),
          "bad label via dir: %s", lif_last_error());
}

static void test_malformed(void)
{
    char gi[1200], gl[1200];
    snprintf(gi, sizeof gi, "%s", pathf("good-img"));
    snprintf(gl, sizeof gl, "%s", pathf("good-lab"));
    CHECK(lif_idx_write(gi, gl, img, lab, N, R, C, 0) == LIF_OK, "%s", lif_last_error());
    const char *b;

    b = pathf("trunc-img");
    write_images(b, 0x803, N, R, C, N * R * C - 5);
    expect_format(b, gl, "trunc-img", "truncated", "truncated images");

    b = pathf("trunc-lab");
    write_labels(b, 0x801, N, N - 2, -1);
    expect_format(gi, b, "trunc-lab", "truncated", "truncated labels");
    CHECK(strstr(lif_last_error(), "header says 5 labels, file holds 3") != NULL,
          "label truncation detail: %s", lif_last_error());

    b = pathf("trunc-hdr");
    write_images(b, 0x803, N, R, C, 0);
    CHECK(truncate(b, 10) == 0, "truncate");
    expect_format(b, gl, "trunc-hdr", "truncated header", "truncated header");

    b = pathf("huge-img"); /* header claims far more data than the file holds */
    write_images(b, 0x803, 2000000000u, 28, 28, 100);
    write_labels(pathf("huge-lab"), 0x801, 2000000000u, 10, -1);
    expect_format(b, pathf("huge-lab"), "huge-img", "truncated", "huge count");

    b = pathf("magic-img");
    write_images(b, 0x801, N, R, C, N * R * C);
    expect_format(b, gl, "magic-img", "magic", "images with label magic");
    b = pathf("magic-lab");
    write_labels(b, 0x12345678, N, N, -1);
    expect_format(gi, b, "magic-lab", "magic", "labels with bad magic");
    b = pathf("magic-lab3");
    write_images(b, 0x803, N, R, C, N * R * C);
    expect_format(gi, b, "magic-lab3", "magic", "labels given an image file");

    b = pathf("count-lab");
    write_labels(b, 0x801, N + 1, N + 1, -1);
    expect_format(gi, b, "count-lab", "counts disagree", "count mismatch");

    b = pathf("range-lab");
    write_labels(b, 0x801, N, N, 3);
    expect_format(gi, b, "range-lab", "label 10 at index 3", "label >= 10");

    b = pathf("zero-rows");
    write_images(b, 0x803, N, 0, C, 0);
    expect_format(b, gl, "zero-rows", "bad image size", "zero rows");
    b = pathf("zero-cols");
    write_images(b, 0x803, N, R, 0, 0);
    expect_format(b, gl, "zero-cols", "bad image size", "zero cols");
    b = pathf("big-rows");
    write_images(b, 0x803, N, 100000, C, 0);
    expect_format(b, gl, "big-rows", "bad image size", "rows too large");
    b = pathf("zero-n");
    write_images(b, 0x803, 0, R, C, 0);
    write_labels(pathf("zero-n-lab"), 0x801, 0, 0, -1);
    expect_format(b, pathf("zero-n-lab"), "zero-n", "0 images", "zero count");

    b = pathf("trail-img");
    write_images(b, 0x803, N, R, C, N * R * C + 3);
    expect_format(b, gl, "trail-img", "3 trailing bytes", "trailing image bytes");
    b = pathf("trail-lab");
    write_labels(b, 0x801, N, N + 1, -1);
    expect_format(gi, b, "trail-lab", "1 trailing bytes", "trailing label bytes");

    b = pathf("empty-img");
    write_bytes(b, (const uint8_t *)"", 0);
    expect_format(b, gl, "empty-img", "empty file", "empty images");
    expect_format(gi, b, "empty-img", "empty file", "empty labels");

    /* A gzip file cut in half. */
    const char *zi = pathf("cut-img.gz"), *zl = pathf("cut-lab.gz");
    static uint8_t big[200 * 28 * 28], bl[200];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)((i * 2654435761u) >> 13);
    for (int i = 0; i < 200; i++)
        bl[i] = (uint8_t)(i % 10);
    CHECK(lif_idx_write(zi, zl, big, bl, 200, 28, 28, 1) == LIF_OK, "%s",
          lif_last_error());
    zi = pathf("cut-img.gz");
    zl = pathf("cut-lab.gz");
    struct stat st;
    CHECK(stat(zi, &st) == 0 && truncate(zi, st.st_size / 2) == 0, "truncate gz");
    expect_format(zi, zl, "cut-img.gz", "truncated", "truncated gzip");
    /* A gzip file with a damaged body. */
    CHECK(lif_idx_write(zi, zl, big, bl, 200, 28, 28, 1) == LIF_OK, "%s",
          lif_last_error());
    zi = pathf("cut-img.gz");
    zl = pathf("cut-lab.gz");
    {
        FILE *f = fopen(zi, "r+b");
        uint8_t junk[64];
        memset(junk, 0xff, sizeof junk);
        CHECK(f && fseek(f, 40, SEEK_SET) == 0 && fwrite(junk, 1, 64, f) == 64, "poke");
        if (f)
            fclose(f);
    }
    expect_format(zi, zl, "cut-img.gz", "gzip", "corrupt gzip");
    CHECK(!strstr(lif_last_error(), "<fd:"), "a zlib message names a descriptor, not the file: %s",
          lif_last_error());

    /* Missing file. */
    lif_dataset d;
    lif_status s = lif_idx_load(pathf("nope-img"), gl, &d);
    CHECK(s == LIF_ERR_IO, "missing file: %s", lif_status_str(s));
    CHECK(strstr(lif_last_error(), "nope-img") &&
              strstr(lif_last_error(), "No such file"),
          "missing file message: %s", lif_last_error());
}

/* Writes one gzip member holding hdr then `zeros` zero bytes (mode "a":
 * appended as a further member). */
static void gz_member(const char *path, const char *mode, const uint8_t *hdr, size_t hlen,
                      size_t zeros)
{
    gzFile g = gzopen(path, mode);
    CHECK(g != NULL, "gzopen %s", path);
    if (!g)
        return;
    CHECK(hlen == 0 || gzwrite(g, hdr, (unsigned)hlen) == (int)hlen, "gzwrite header");
    static uint8_t z[1 << 20];
    for (size_t done = 0; done < zeros;) {
        unsigned k = zeros - done < sizeof z ? (unsigned)(zeros - done) : (unsigned)sizeof z;
        CHECK(gzwrite(g, z, k) == (int)k, "gzwrite zeros");
        done += k;
    }
    CHECK(gzclose(g) == Z_OK, "gzclose %s", path);
}

/* Loads in a child; its status, and the peak resident MiB of the children
 * so far. */
static long load_peak_mib(const char *ip, const char *lp, int *st)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        lif_dataset d;
        lif_status s = lif_idx_load(ip, lp, &d);
        if (s == LIF_OK)
            lif_dataset_free(&d);
        _exit((int)s);
    }
    int ws = 0;
    struct rusage ru;
    if (pid < 0 || waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws) ||
        getrusage(RUSAGE_CHILDREN, &ru) != 0) {
        *st = -1;
        return -1;
    }
    *st = WEXITSTATUS(ws);
    return ru.ru_maxrss / 1024;
}

/* gzip: garbage after the last member is refused (README promises trailing
 * bytes are); several members are one stream; a header that declares more
 * than the compressed file can hold is refused before inflating it. */
static void test_gzip_bounds(void)
{
    const char *gi = pathf("gz-img.gz"), *gl = pathf("gz-lab.gz");
    CHECK(lif_idx_write(gi, gl, img, lab, N, R, C, 1) == LIF_OK, "%s", lif_last_error());
    FILE *f = fopen(gi, "ab");
    CHECK(f && fwrite("garbage!", 1, 8, f) == 8 && fclose(f) == 0, "append garbage");
    expect_format(gi, gl, "gz-img.gz", "trailing garbage", "gzip trailing garbage");

    /* the images as two gzip members: header + first pixels, then the rest */
    uint8_t h[16 + N * R * C];
    put_be(h, 0x803);
    put_be(h + 4, N);
    put_be(h + 8, R);
    put_be(h + 12, C);
    memcpy(h + 16, img, sizeof img);
    gz_member(gi, "wb", h, 16 + 7, 0);
    gz_member(gi, "ab", h + 16 + 7, sizeof h - 16 - 7, 0);
    lif_dataset d;
    lif_status s = lif_idx_load(gi, gl, &d);
    CHECK(s == LIF_OK, "two gzip members: %s", lif_last_error());
    if (s == LIF_OK) {
        CHECK(same(&d, N, R, C, img, lab), "two gzip members: contents differ");
        lif_dataset_free(&d);
    }

    /* 2^31 - 1 images of 28x28 declared, 256 MiB of zeros inside ~256 KB */
    put_be(h + 4, 0x7fffffffu);
    put_be(h + 8, 28);
    put_be(h + 12, 28);
    gz_member(gi, "wb9", h, 16, (size_t)256 << 20);
    uint8_t hl[8];
    put_be(hl, 0x801);
    put_be(hl + 4, 0x7fffffffu);
    gz_member(gl, "wb9", hl, 8, 1000);
    s = lif_idx_load(gi, gl, &d);
    CHECK(s == LIF_ERR_FORMAT && strstr(lif_last_error(), "gz-img.gz") &&
              strstr(lif_last_error(), "can hold"),
          "a gzip header declaring 2^31-1 images: %s", lif_last_error());
    int cst;
    long mib = load_peak_mib(gi, gl, &cst);
    CHECK(cst == (int)LIF_ERR_FORMAT && mib >= 0 && mib < 128,
          "a gzip header declaring 2^31-1 images: peak %ld MiB, status %d (inflated first?)", mib,
          cst);
}

/* A data set of 4 MiB and more lands on 2 MiB-aligned memory advised for
 * huge pages (lif_alloc_huge): the same bytes, plain and gzip, freed by
 * lif_dataset_free (the ASan build checks the pairing). */
static void test_big(void)
{
    enum { BN = 6000, BR = 28, BC = 28 };
    size_t npx = (size_t)BN * BR * BC;
    uint8_t *bi = malloc(npx), *bl = malloc(BN);
    CHECK(bi && bl, "out of memory");
    if (!bi || !bl) {
        free(bi), free(bl);
        return;
    }
    for (size_t i = 0; i < npx; i++)
        bi[i] = (uint8_t)(i * 2654435761u >> 24);
    for (int i = 0; i < BN; i++)
        bl[i] = (uint8_t)(i % 10);
    for (int gz = 0; gz < 2; gz++) {
        const char *ip = pathf(gz ? "big-img.gz" : "big-img"), *lp = pathf(gz ? "big-lab.gz" : "big-lab");
        CHECK(lif_idx_write(ip, lp, bi, bl, BN, BR, BC, gz) == LIF_OK, "write big gz=%d: %s", gz,
              lif_last_error());
        lif_dataset d;
        lif_status s = lif_idx_load(ip, lp, &d);
        CHECK(s == LIF_OK, "load big gz=%d: %s", gz, lif_last_error());
        if (s != LIF_OK)
            continue;
        CHECK(same(&d, BN, BR, BC, bi, bl), "big gz=%d: contents differ", gz);
        CHECK(((uintptr_t)d.images & (((uintptr_t)2 << 20) - 1)) == 0,
              "big gz=%d: images at %p, not on a 2 MiB boundary", gz, (void *)d.images);
        lif_dataset_free(&d);
    }
    free(bi), free(bl);
}

static void test_fashion(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("note: %s not installed; skipping the real data set check\n", dir);
        return;
    }
    lif_dataset tr, te;
    lif_status s = lif_data_open_dir(dir, &tr, &te);
    CHECK(s == LIF_OK, "fashion-mnist: %s", lif_last_error());
    if (s)
        return;
    CHECK(tr.n == 60000 && tr.rows == 28 && tr.cols == 28, "train %d %dx%d", tr.n,
          tr.rows, tr.cols);
    CHECK(te.n == 10000 && te.rows == 28 && te.cols == 28, "test %d %dx%d", te.n,
          te.rows, te.cols);
    int hist[10] = {0};
    for (int i = 0; i < tr.n; i++)
        hist[tr.labels[i]]++;
    for (int c = 0; c < 10; c++)
        CHECK(hist[c] == 6000, "train class %d has %d images", c, hist[c]);
    lif_dataset_free(&tr);
    lif_dataset_free(&te);
}

int main(void)
{
    tmp = test_tmpdir("idx");
    for (int i = 0; i < N * R * C; i++)
        img[i] = (uint8_t)(i * 13 + 5);
    for (int i = 0; i < N; i++)
        lab[i] = (uint8_t)((i * 7) % 10);
    test_roundtrip();
    test_layouts();
    test_malformed();
    test_gzip_bounds();
    test_big();
    test_fashion();
    return test_finish("test_idx");
}
