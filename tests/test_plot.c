/* test_plot.c — lif plot on a run folder of lif train (synthetic data).
 *
 * Every PNG is read back here: the signature, IHDR's width and height
 * (against the sizes README states), 8-bit RGB or RGBA, and the pixels
 * (IDAT inflated with zlib, scanline filters undone): not blank (at least
 * 2 % of the pixels differ from the background and there are many
 * colours); the diverging scales of weights.png and membrane.png show
 * both blue and red. A run folder missing a file, a data folder that is
 * not there and a malformed log.jsonl give one stderr line naming the
 * file, and exit 2; no PNG is left half-written. The stdout line of
 * input.png gives the count of the first test image's input spikes, which
 * the oracle's own Poisson encoder (seed, last epoch, test domain) must
 * reproduce; that of spikes.png the spikes in s_t_array.npy. In a build without
 * PLplot (or without its pngcairo driver) lif plot must say so with
 * exit 2, and the test reports "skipped". */
#define _POSIX_C_SOURCE 200809L

#include "lif/lif.h"
#include "oracle.h"
#include "testutil.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define N_TRAIN 400
#define N_TEST 100
#define SIDE 28
#define NPIX (SIDE * SIDE)
#define RUN "runs/T8_b32_adam_lr0.01"

/* `lif ARGS` and its result (testutil.h) */
typedef test_run_result run_result;
#define run_lif(...) test_run(LIF_CLI_PATH, __VA_ARGS__)
#define run_free test_run_free
#define count_lines test_count_lines
#define expect_refused(needle, fmt, arg) test_expect_refused(LIF_CLI_PATH, needle, fmt, arg)

static uint32_t rng_state = 4242u;

/* the synthetic set (testutil.h) */
static void make_set(uint8_t *img, uint8_t *lab, int n)
{
    test_band_set(&rng_state, img, lab, n);
}

static uint8_t first_test[NPIX], first_label;

static void write_data(void)
{
    uint8_t *tri = malloc((size_t)N_TRAIN * NPIX), *tei = malloc((size_t)N_TEST * NPIX);
    uint8_t trl[N_TRAIN], tel[N_TEST];
    make_set(tri, trl, N_TRAIN);
    make_set(tei, tel, N_TEST);
    memcpy(first_test, tei, NPIX);
    first_label = tel[0];
    mkdir("data", 0777);
    CHECK(lif_idx_write("data/train-images-idx3-ubyte", "data/train-labels-idx1-ubyte", tri, trl,
                        N_TRAIN, SIDE, SIDE, 0) == LIF_OK, "%s", lif_last_error());
    CHECK(lif_idx_write("data/t10k-images-idx3-ubyte", "data/t10k-labels-idx1-ubyte", tei, tel,
                        N_TEST, SIDE, SIDE, 0) == LIF_OK, "%s", lif_last_error());
    free(tri);
    free(tei);
}

/* ---- reading a PNG back ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

typedef struct png_stats {
    int w, h;
    double non_bg;        /* fraction of pixels unlike the top-left one */
    int colours;          /* distinct colours among the first 4096 met */
    long bluish, reddish; /* pixels with b > r + 60, r > b + 60 */
} png_stats;

/* Decodes path (8-bit RGB or RGBA, not interlaced); 0 on success. */
static int png_read(const char *path, png_stats *st)
{
    size_t n;
    unsigned char *b = (unsigned char *)test_slurp(path, &n);
    memset(st, 0, sizeof *st);
    if (!b || n < 33 || memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0) {
        CHECK(0, "%s: not a PNG (no signature or IHDR first)", path);
        free(b);
        return -1;
    }
    st->w = (int)be32(b + 16);
    st->h = (int)be32(b + 20);
    int depth = b[24], ctype = b[25], interlace = b[28];
    int bpp = ctype == 6 ? 4 : ctype == 2 ? 3 : 0;
    CHECK(depth == 8 && bpp && interlace == 0, "%s: depth %d, colour type %d, interlace %d", path,
          depth, ctype, interlace);
    if (depth != 8 || !bpp || interlace || st->w <= 0 || st->h <= 0 || st->w > 10000 || st->h > 10000) {
        free(b);
        return -1;
    }
    /* the IDAT chunks, concatenated, inflated */
    size_t cap = 0, len = 0;
    unsigned char *z = NULL;
    for (size_t off = 8; off + 12 <= n;) {
        uint32_t cl = be32(b + off);
        if (off + 12 + cl > n)
            break;
        if (memcmp(b + off + 4, "IDAT", 4) == 0) {
            if (len + cl > cap) {
                cap = 2 * (len + cl);
                z = realloc(z, cap);
            }
            memcpy(z + len, b + off + 8, cl);
            len += cl;
        }
        off += 12 + cl;
    }
    size_t stride = (size_t)st->w * bpp, raw_n = (stride + 1) * st->h;
    unsigned char *raw = malloc(raw_n);
    uLongf got = (uLongf)raw_n;
    int zr = z && raw ? uncompress(raw, &got, z, (uLong)len) : Z_MEM_ERROR;
    CHECK(zr == Z_OK && got == raw_n, "%s: IDAT does not inflate to %zu bytes (zlib %d, %lu)", path,
          raw_n, zr, (unsigned long)got);
    if (zr != Z_OK || got != raw_n) {
        free(b);
        free(z);
        free(raw);
        return -1;
    }
    /* undo the filters in place, row by row */
    unsigned char *prev = NULL;
    for (int y = 0; y < st->h; y++) {
        unsigned char *row = raw + (size_t)y * (stride + 1), f = row[0], *px = row + 1;
        for (size_t i = 0; i < stride; i++) {
            int a = i >= (size_t)bpp ? px[i - bpp] : 0, up = prev ? prev[i] : 0,
                c = prev && i >= (size_t)bpp ? prev[i - bpp] : 0;
            int add = f == 1 ? a : f == 2 ? up : f == 3 ? (a + up) / 2 : f == 4 ? paeth(a, up, c) : 0;
            px[i] = (unsigned char)(px[i] + add);
        }
        prev = px;
    }
    const unsigned char *bg = raw + 1;
    long differ = 0;
    uint32_t seen[4096];
    for (int y = 0; y < st->h; y++)
        for (int x = 0; x < st->w; x++) {
            const unsigned char *p = raw + (size_t)y * (stride + 1) + 1 + (size_t)x * bpp;
            if (memcmp(p, bg, 3) != 0)
                differ++;
            uint32_t c = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
            int known = 0;
            for (int k = 0; k < st->colours && !known; k++)
                known = seen[k] == c;
            if (!known && st->colours < 4096)
                seen[st->colours++] = c;
            st->bluish += p[2] > p[0] + 60;
            st->reddish += p[0] > p[2] + 60;
        }
    st->non_bg = (double)differ / ((double)st->w * st->h);
    free(b);
    free(z);
    free(raw);
    return 0;
}

static const struct {
    const char *name;
    int w, h, diverging;
} want[] = {
    {"curves.png", 1000, 560, 0}, {"spikes.png", 900, 520, 0}, {"membrane.png", 900, 520, 1},
    {"weights.png", 1200, 520, 1}, {"input.png", 1100, 520, 0},
};

static void check_pngs(const char *dir)
{
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[512];
        png_stats st;
        snprintf(path, sizeof path, "%s/%s", dir, want[i].name);
        if (png_read(path, &st) != 0)
            continue;
        CHECK(st.w == want[i].w && st.h == want[i].h, "%s: %dx%d, want %dx%d", path, st.w, st.h,
              want[i].w, want[i].h);
        CHECK(st.non_bg > 0.02 && st.colours >= 8, "%s looks blank: %.4f of the pixels differ from "
              "the background, %d colours", path, st.non_bg, st.colours);
        if (want[i].diverging)
            CHECK(st.bluish > 100 && st.reddish > 100, "%s: %ld bluish and %ld reddish pixels: the "
                  "diverging scale shows one side only", path, st.bluish, st.reddish);
        printf("%s: %dx%d, %.1f %% drawn, %d+ colours\n", path, st.w, st.h, 100 * st.non_bg,
               st.colours);
    }
}

/* A copy of RUN without one file, in dir. */
static void copy_run_without(const char *dir, const char *skip)
{
    static const char *const files[] = {"log.jsonl", "s_t_array.npy", "v_t_array.npy",
                                        "checkpoint_latest.lif", "run.json", "args.txt"};
    mkdir(dir, 0777);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (strcmp(files[i], skip) == 0)
            continue;
        char a[256], b[256];
        size_t n;
        snprintf(a, sizeof a, RUN "/%s", files[i]);
        snprintf(b, sizeof b, "%s/%s", dir, files[i]);
        char *data = test_slurp(a, &n);
        FILE *f = fopen(b, "wb");
        CHECK(data && f && fwrite(data, 1, n, f) == n, "cannot copy %s", a);
        if (f)
            fclose(f);
        free(data);
    }
}

int main(void)
{
    const char *dir = test_tmpdir("plot");
    if (chdir(dir) != 0) {
        fprintf(stderr, "cannot chdir to %s\n", dir);
        return 1;
    }
    write_data();
    run_result r = run_lif("train -T 8 -b 32 -epochs 3 -lr 0.01 -data-dir data -out-dir runs --quiet");
    CHECK(r.status == 0, "exit %d: %s\n%s", r.status, r.cmd, r.err);
    run_free(&r);

    r = run_lif("plot " RUN);
    if (r.status == 2 && (strstr(r.err, "built without PLplot") || strstr(r.err, "no pngcairo"))) {
        printf("%s", r.err);
        run_free(&r);
        test_skip("lif plot cannot draw here (see the line above)");
    }
    CHECK(r.status == 0, "exit %d: %s\n%s", r.status, r.cmd, r.err);
    CHECK(count_lines(r.out) == 5, "lif plot printed %d lines, want the 5 PNG paths: %s\n%s",
          count_lines(r.out), r.cmd, r.out);
    /* input.png's spikes are the run's: the oracle's own Poisson encoder
     * (seed 0, the last epoch 2, test domain, sample 0) gives the count */
    double *x = malloc(sizeof *x * 8 * NPIX);
    uint32_t id = 0;
    orc_encode(first_test, &id, 1, NPIX, 0, 8, 0, 2, 1, x);
    long want_spikes = 0;
    for (int i = 0; i < 8 * NPIX; i++)
        want_spikes += x[i] != 0;
    free(x);
    char line[160];
    snprintf(line, sizeof line, "input.png: first test image (label %d), %ld input spikes over 8 "
                                "steps (seed 0, epoch 2)", first_label, want_spikes);
    CHECK(strstr(r.out, line) != NULL, "lif plot's input.png line is not '%s': %s\n%s", line,
          r.cmd, r.out);
    /* spikes.png counts the spikes of s_t_array.npy */
    lif_npy s = {0};
    CHECK(lif_npy_read(RUN "/s_t_array.npy", &s) == LIF_OK, "%s", lif_last_error());
    long out_spikes = 0;
    for (size_t i = 0; i < s.count; i++)
        out_spikes += s.data[i] != 0;
    lif_npy_free(&s);
    snprintf(line, sizeof line, "spikes.png: %ld output spikes over 8 steps", out_spikes);
    CHECK(strstr(r.out, line) != NULL, "lif plot's spikes.png line lacks '%s': %s\n%s", line,
          r.cmd, r.out);
    run_free(&r);
    check_pngs(RUN);

    /* a missing file is named, and nothing is drawn */
    static const char *const needed[] = {"log.jsonl", "s_t_array.npy", "v_t_array.npy",
                                         "checkpoint_latest.lif"};
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        char d[64], needle[128];
        snprintf(d, sizeof d, "lacks_%zu", i);
        copy_run_without(d, needed[i]);
        snprintf(needle, sizeof needle, "%s/%s: missing", d, needed[i]);
        expect_refused(needle, "plot %s", d);
        char png[128];
        snprintf(png, sizeof png, "%s/curves.png", d);
        CHECK(access(png, F_OK) != 0, "%s drawn although the run folder lacks %s", png, needed[i]);
    }
    expect_refused("no_such_dir", "plot " RUN " -data-dir %s", "no_such_dir");
    expect_refused("not_a_run: not a folder", "plot %s", "not_a_run");
    copy_run_without("badlog", "");
    FILE *f = fopen("badlog/log.jsonl", "a");
    if (f) {
        fputs("{\"epoch\": 3, \"train_loss\": \"x\"}\n", f);
        fclose(f);
    }
    expect_refused("badlog/log.jsonl: line 4 lacks a finite \"train_loss\"", "plot %s", "badlog");
    /* without run.json, args.txt's data_dir is used (older run folders) */
    copy_run_without("old", "run.json");
    r = run_lif("plot old");
    CHECK(r.status == 0, "a run folder without run.json: exit %d: %s\n%s", r.status, r.cmd, r.err);
    run_free(&r);
    check_pngs("old");
    expect_refused("a run folder is required", "plot%s", "");
    printf("test_plot: %d runs of lif (outputs in %s)\n", test_run_count(), dir);
    return test_finish("test_plot");
}
