/* Writes the seed corpora of the fuzz harnesses into tests/fuzz/corpus/
 * (run from the repository root: build-fuzz/tests/fuzz/lif_fuzz_seeds).
 * The seeds are committed; this program documents how they were made. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lif/autotune.h"
#include "lif/ckpt.h"
#include "lif/data.h"
#include "lif/net.h"
#include "lif/npy.h"

#define DIR "tests/fuzz/corpus/"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz + 1);
    if (!b || fread(b, 1, (size_t)sz, f) != (size_t)sz)
        exit(1);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/* Writes the concatenation of up to three parts. */
static void put(const char *name, const void *a, size_t na, const void *b, size_t nb,
                const void *c, size_t nc)
{
    char path[256];
    snprintf(path, sizeof path, DIR "%s", name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(a, 1, na, f) != na || (nb && fwrite(b, 1, nb, f) != nb) ||
        (nc && fwrite(c, 1, nc, f) != nc) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void idx_seeds(void)
{
    uint8_t img[3 * 16], lab[3] = {0, 7, 9};
    for (int i = 0; i < 48; i++)
        img[i] = (uint8_t)(i * 37);
    for (int gz = 0; gz < 2; gz++) {
        if (lif_idx_write("/tmp/lif_seed_img", "/tmp/lif_seed_lab", img, lab, 3, 4, 4, gz) !=
            LIF_OK)
            exit(1);
        size_t ni, nl;
        unsigned char *bi = slurp("/tmp/lif_seed_img", &ni), *bl = slurp("/tmp/lif_seed_lab", &nl);
        unsigned char l[5];
        le32(l, (uint32_t)ni);
        put(gz ? "idx/gzip" : "idx/plain", l, 4, bi, ni, bl, nl);
        if (!gz) { /* the same content, for the harness that compresses it */
            l[0] = 3;
            le32(l + 1, (uint32_t)ni);
            put("idx_gz/both", l, 5, bi, ni, bl, nl);
            l[0] = 0;
            put("idx_gz/plain", l, 5, bi, ni, bl, nl);
            l[0] = 7;
            put("idx_gz/trailing", l, 5, bi, ni, bl, nl);
        }
        free(bi);
        free(bl);
    }
}

static void ckpt_seeds(void)
{
    lif_recipe r;
    lif_recipe_default(&r);
    r.T = 4;
    r.batch = 2;
    r.epochs = 3;
    r.bias = 1;
    r.n_hidden = 1;
    r.hidden[0] = 3;
    lif_net *net = NULL;
    if (lif_net_create(&r, 4, 2, &net) != LIF_OK)
        exit(1);
    lif_train_state ts = {.epoch = 1, .max_test_acc = 0.5};
    const char *p = "/tmp/lif_seed.lif";
    for (int part = 0; part < 2; part++) {
        if (part)
            ts.part = (lif_epoch_part){.samples = 4, .loss_sum = 1.25, .correct = 2, .seconds = 0.5};
        if (lif_net_save(net, &ts, p) != LIF_OK)
            exit(1);
        size_t n;
        unsigned char *b = slurp(p, &n);
        unsigned char raw = 0, framed = part ? 3 : 1;
        const char *names[2][2] = {{"ckpt/file_v1", "ckpt/payload_v1"},
                                   {"ckpt/file_v2", "ckpt/payload_v2"}};
        const char *nnames[2][2] = {{"net/file_v1", "net/payload_v1"},
                                    {"net/file_v2", "net/payload_v2"}};
        put(names[part][0], &raw, 1, b, n, NULL, 0);
        put(names[part][1], &framed, 1, b + 24, n - 36, NULL, 0);
        put(nnames[part][0], &raw, 1, b, n, NULL, 0);
        put(nnames[part][1], &framed, 1, b + 24, n - 36, NULL, 0);
        free(b);
    }
    lif_net_destroy(net);
}

static void npy_seeds(void)
{
    float v[6] = {0, 1, -2.5f, 3, 1e30f, -0.0f};
    size_t shape[2] = {2, 3};
    if (lif_npy_write_f32("/tmp/lif_seed.npy", v, 2, shape) != LIF_OK)
        exit(1);
    size_t n;
    unsigned char *b = slurp("/tmp/lif_seed.npy", &n);
    put("npy/f4_2x3", b, n, NULL, 0, NULL, 0);
    /* the same header with other dtypes, hand-edited */
    const char *dt[] = {"<f8", "<i8", "|u1", "<i4"};
    for (int i = 0; i < 4; i++) {
        unsigned char *h = NULL;
        for (size_t k = 0; k + 3 <= n && !h; k++)
            if (memcmp(b + k, "<f4", 3) == 0)
                h = b + k;
        if (!h)
            exit(1);
        memcpy(h, dt[i], 3);
        char name[32];
        snprintf(name, sizeof name, "npy/%c%c_2x3", dt[i][1], dt[i][2]);
        put(name, b, n, NULL, 0, NULL, 0);
        memcpy(h, "<f4", 3);
    }
    free(b);
}

static void config_seeds(void)
{
    size_t n;
    unsigned char *b = slurp("configs/lif_fc_mnist.json", &n);
    put("config/reference", b, n, NULL, 0, NULL, 0);
    free(b);
    const char *small = "{\"T\": 8, \"batch\": 4, \"hidden\": [16, 8], \"bias\": true, "
                        "\"v_reset\": null, \"surrogate\": \"sigmoid\", \"alpha\": 4, "
                        "\"loss\": \"ce\", \"opt\": \"sgd\", \"backend\": \"simd,scalar\", "
                        "\"threads\": 2, \"Tc\": 4, \"bind\": \"cores\"}";
    put("config/variant", small, strlen(small), NULL, 0, NULL, 0);
}

static void args_seeds(void)
{
    static const char train[] = "\0-T\0" "100\0-b\0" "64\0-epochs\0" "5\0-data-dir\0d\0-out-dir\0o"
                                "\0--hidden\0" "400,10\0--backend=simd,scalar\0--threads\0" "2\0"
                                "--v-reset\0none\0--surrogate\0sigmoid\0--alpha\0" "4\0--quiet";
    static const char resume[] = "\0-resume\0r.lif\0-epochs=7\0--tc\0" "4\0-j\0" "0\0--bias";
    static const char eval[] = "\x01-checkpoint\0c.lif\0-T\0" "5\0--epoch\0" "2\0--bind\0cores";
    put("args/train", train, sizeof train - 1, NULL, 0, NULL, 0);
    put("args/resume", resume, sizeof resume - 1, NULL, 0, NULL, 0);
    put("args/eval", eval, sizeof eval - 1, NULL, 0, NULL, 0);
}

/* Wisdom files: a byte for the harness (even: read against this machine,
 * odd: any fingerprint), then the file. One entry forcing kernels, one at
 * another T with a chunk length and binding; and the same file made on
 * another machine (another L2). */
static void wisdom_seeds(void)
{
    lif_wisdom w;
    lif_wisdom_init(&w);
    lif_wisdom_entry e;
    memset(&e, 0, sizeof e);
    e.problem.n_dims = 3;
    e.problem.dims[0] = 784;
    e.problem.dims[1] = 100;
    e.problem.dims[2] = 10;
    e.problem.T = 100;
    e.problem.batch = 64;
    e.problem.density = 0.286;
    e.threads = 2;
    snprintf(e.kernels[LIF_OP_LINEAR_FWD], sizeof e.kernels[0],
             "linear_fwd/openmp/omp,linear_fwd/simd/avx2_table");
    snprintf(e.kernels[LIF_OP_ENCODE], sizeof e.kernels[0], "encode/scalar/ref");
    snprintf(e.mode, sizeof e.mode, "measure");
    e.images_per_s = 40000.5;
    e.default_images_per_s = 38000.25;
    e.seconds = 29.5;
    snprintf(e.when, sizeof e.when, "2026-12-02T19:00:00Z");
    lif_wisdom_put(&w, &e);
    e.problem.T = 1000;
    e.Tc = 48;
    e.bind = LIF_BIND_CORES;
    e.images_per_s = NAN;
    lif_wisdom_put(&w, &e);
    for (int k = 0; k < 2; k++) {
        if (k) {
            w.fp.caches[1].size *= 2;
            snprintf(w.fp.id, sizeof w.fp.id, "00000000deadbeef");
        }
        if (lif_wisdom_save("/tmp/lif_seed_wisdom", &w) != LIF_OK)
            exit(1);
        size_t n;
        unsigned char *b = slurp("/tmp/lif_seed_wisdom", &n);
        unsigned char even = 0, odd = 1;
        put(k ? "wisdom/foreign_here" : "wisdom/here", &even, 1, b, n, NULL, 0);
        put(k ? "wisdom/foreign_any" : "wisdom/any", &odd, 1, b, n, NULL, 0);
        free(b);
    }
    lif_wisdom_free(&w);
}

int main(void)
{
    const char *dirs[] = {"idx", "idx_gz", "ckpt", "net", "npy", "config", "args", "wisdom"};
    mkdir(DIR, 0777);
    for (int i = 0; i < 8; i++) {
        char d[128];
        snprintf(d, sizeof d, DIR "%s", dirs[i]);
        mkdir(d, 0777);
    }
    idx_seeds();
    ckpt_seeds();
    npy_seeds();
    config_seeds();
    args_seeds();
    wisdom_seeds();
    return 0;
}
