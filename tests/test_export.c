/* test_export.c — weights out of lif and back in (lif/weights.h, lif
 * export, lif eval --weights, lif train --init).
 *
 * Library: safetensors and npy round trips are bitwise (a net with hidden
 * layers and biases); the safetensors file is read back here field by
 * field (8-byte length, JSON header through jansson, offsets, raw LE
 * floats); damaged files (truncated, bad header length, bad JSON, offsets
 * outside the data, wrong dtype, NaN, foreign names, missing layers,
 * unchained shapes, a bias on some layers only) are refused with
 * LIF_ERR_FORMAT naming the problem; F64 is read and rounded to float.
 * Command: on a synthetic data set, a trained checkpoint exported as
 * safetensors and npy evaluates (--weights) to the same loss and accuracy
 * as the checkpoint; a safetensors file written by a small python3 script
 * with only json and struct (as the reference framework would save its
 * state_dict) does too; lif train --init starts from the weights (SGD with
 * lr 1e-30 leaves them bitwise unchanged); wrong names, shapes and dtypes
 * give one line on stderr and exit 2; NIR export is read back with the
 * HDF5 C library (structure, types, weights bitwise, LIF parameters,
 * edges), or, in a build without HDF5, refused with exit 2. */
#define _POSIX_C_SOURCE 200809L

#include "lif/lif.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef LIF_HAVE_HDF5
#include <hdf5.h>
#endif

#define N_TRAIN 600
#define N_TEST 200
#define SIDE 28
#define NPIX (SIDE * SIDE)

/* ---- helpers ---- */

static int spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* `lif ARGS` and its result (testutil.h) */
typedef test_run_result run_result;
#define run_lif(...) test_run(LIF_CLI_PATH, __VA_ARGS__)
#define run_free test_run_free
#define count_lines test_count_lines
#define expect_refused(needle, fmt, arg) test_expect_refused(LIF_CLI_PATH, needle, fmt, arg)

static double after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

/* ---- library: round trips and the file format ---- */

static lif_net *make_net(int hidden, int bias, uint32_t seed)
{
    lif_recipe r;
    lif_recipe_default(&r);
    r.seed = seed;
    r.bias = bias;
    r.n_hidden = hidden > 0;
    r.hidden[0] = hidden;
    lif_net *net = NULL;
    CHECK(lif_net_create(&r, 784, 10, &net) == LIF_OK, "%s", lif_last_error());
    return net;
}

/* 1 if every parameter of a and b is bitwise equal. */
static int same_params(lif_net *a, lif_net *b)
{
    if (lif_net_layers(a) != lif_net_layers(b))
        return 0;
    for (int l = 0; l < lif_net_layers(a); l++) {
        lif_layer_view x, y;
        lif_net_layer(a, l, &x);
        lif_net_layer(b, l, &y);
        if (x.n_in != y.n_in || x.n_out != y.n_out || !x.b != !y.b ||
            memcmp(x.w, y.w, sizeof(float) * (size_t)x.n_in * x.n_out) != 0 ||
            (x.b && memcmp(x.b, y.b, sizeof(float) * (size_t)x.n_out) != 0))
            return 0;
    }
    return 1;
}

/* Loads path into a fresh net shaped by the file; NULL on failure. */
static lif_net *reload(const char *path)
{
    lif_ckpt t = {0};
    lif_recipe r;
    lif_recipe_default(&r);
    int n_in = 0, n_classes = 0;
    lif_net *net = NULL;
    if (lif_weights_load(path, &t) == LIF_OK &&
        lif_weights_shape(&t, path, &r, &n_in, &n_classes) == LIF_OK &&
        lif_net_create(&r, n_in, n_classes, &net) == LIF_OK &&
        lif_weights_apply(net, &t, path) != LIF_OK) {
        lif_net_destroy(net);
        net = NULL;
    }
    CHECK(net != NULL, "%s: %s", path, lif_last_error());
    lif_ckpt_free(&t);
    return net;
}

/* Reads the safetensors file by hand and checks it against net. */
static void check_safetensors_bytes(const char *path, lif_net *net)
{
    size_t n;
    unsigned char *b = (unsigned char *)test_slurp(path, &n);
    CHECK(b && n > 8, "%s unreadable", path);
    if (!b || n <= 8) {
        free(b);
        return;
    }
    uint64_t hl = 0;
    for (int k = 8; k-- > 0;)
        hl = hl << 8 | b[k];
    CHECK(hl % 8 == 0 && hl + 8 <= n, "%s: header length %llu (file %zu)", path,
          (unsigned long long)hl, n);
    json_error_t je;
    json_t *h = json_loadb((const char *)b + 8, hl, 0, &je);
    CHECK(json_is_object(h), "%s: header is no JSON object: %s", path, je.text);
    CHECK(json_is_string(json_object_get(json_object_get(h, "__metadata__"), "format")),
          "%s: no __metadata__.format", path);
    size_t total = 0;
    for (int l = 0; l < lif_net_layers(net); l++) {
        lif_layer_view v;
        lif_net_layer(net, l, &v);
        for (int bias = 0; bias < 1 + (v.b != NULL); bias++) {
            char name[64];
            lif_weights_name(l, bias, name, sizeof name);
            json_t *e = json_object_get(h, name);
            CHECK(e != NULL, "%s: no tensor %s", path, name);
            if (!e)
                continue;
            CHECK(strcmp(json_string_value(json_object_get(e, "dtype")), "F32") == 0,
                  "%s: %s not F32", path, name);
            json_t *sh = json_object_get(e, "shape"), *of = json_object_get(e, "data_offsets");
            size_t cnt = bias ? (size_t)v.n_out : (size_t)v.n_out * v.n_in;
            CHECK(json_array_size(sh) == (bias ? 1u : 2u) &&
                      json_integer_value(json_array_get(sh, 0)) == v.n_out &&
                      (bias || json_integer_value(json_array_get(sh, 1)) == v.n_in),
                  "%s: %s has the wrong shape", path, name);
            long long o0 = json_integer_value(json_array_get(of, 0)),
                      o1 = json_integer_value(json_array_get(of, 1));
            CHECK(o1 - o0 == (long long)(cnt * 4) && 8 + hl + (size_t)o1 <= n,
                  "%s: %s offsets [%lld, %lld]", path, name, o0, o1);
            if (o1 - o0 != (long long)(cnt * 4) || 8 + hl + (size_t)o1 > n)
                continue;
            const float *x = bias ? v.b : v.w;
            int same = 1;
            for (size_t i = 0; i < cnt && same; i++) {
                const unsigned char *p = b + 8 + hl + o0 + 4 * i;
                uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24, w;
                memcpy(&w, &x[i], 4);
                same = u == w;
            }
            CHECK(same, "%s: the bytes of %s differ from the net's", path, name);
            total += cnt * 4;
        }
    }
    CHECK(8 + hl + total == n, "%s: %zu bytes, header and tensors make %zu", path, n,
          (size_t)(8 + hl + total));
    json_decref(h);
    free(b);
}

static void test_round_trips(void)
{
    lif_net *a = make_net(0, 0, 1), *b = make_net(24, 1, 2);
    CHECK(lif_weights_save_safetensors(a, "a.safetensors") == LIF_OK, "%s", lif_last_error());
    CHECK(lif_weights_save_safetensors(b, "b.safetensors") == LIF_OK, "%s", lif_last_error());
    CHECK(lif_weights_save_npy(b, "b_npy") == LIF_OK, "%s", lif_last_error());
    check_safetensors_bytes("a.safetensors", a);
    check_safetensors_bytes("b.safetensors", b);
    CHECK(access("b_npy/layer.1.weight.npy", R_OK) == 0 && access("b_npy/layer.1.bias.npy", R_OK) == 0 &&
              access("b_npy/layer.3.weight.npy", R_OK) == 0 && access("b_npy/layer.3.bias.npy", R_OK) == 0,
          "b_npy lacks a layer.{1,3}.{weight,bias}.npy");
    lif_net *ra = reload("a.safetensors"), *rb = reload("b.safetensors"), *rn = reload("b_npy");
    CHECK(ra && same_params(a, ra), "a.safetensors: not bitwise the weights saved");
    CHECK(rb && same_params(b, rb), "b.safetensors: not bitwise the weights saved");
    CHECK(rn && same_params(b, rn), "b_npy: not bitwise the weights saved");
    CHECK(rb && lif_net_recipe(rb)->n_hidden == 1 && lif_net_recipe(rb)->hidden[0] == 24 &&
              lif_net_recipe(rb)->bias == 1,
          "b.safetensors: shape gave %d hidden (%d), bias %d", rb ? lif_net_recipe(rb)->n_hidden : -1,
          rb ? lif_net_recipe(rb)->hidden[0] : -1, rb ? lif_net_recipe(rb)->bias : -1);
    /* applying into a net of another shape is refused, and leaves it alone */
    lif_ckpt t = {0};
    CHECK(lif_weights_load("b.safetensors", &t) == LIF_OK, "%s", lif_last_error());
    lif_net *c = make_net(0, 0, 3), *c0 = make_net(0, 0, 3);
    CHECK(lif_weights_apply(c, &t, "b.safetensors") == LIF_ERR_FORMAT &&
              strstr(lif_last_error(), "layer.1.bias"),
          "a 2-layer net with bias applied to a 1-layer net without: %s", lif_last_error());
    CHECK(same_params(c, c0), "a refused apply changed the net");
    lif_ckpt_free(&t);
    lif_net *d = make_net(32, 1, 4);
    CHECK(lif_weights_load("b.safetensors", &t) == LIF_OK, "%s", lif_last_error());
    CHECK(lif_weights_apply(d, &t, "b.safetensors") == LIF_ERR_FORMAT &&
              strstr(lif_last_error(), "[24, 784]") && strstr(lif_last_error(), "[32, 784]"),
          "hidden 24 applied to hidden 32: %s", lif_last_error());
    lif_ckpt_free(&t);
    lif_net *nets[] = {a, b, ra, rb, rn, c, c0, d};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        lif_net_destroy(nets[i]);
}

/* Writes a safetensors file from a header text and n data bytes. */
static void write_st(const char *path, const char *header, const void *data, size_t n)
{
    size_t hl = strlen(header);
    unsigned char *b = malloc(8 + hl + n);
    for (int k = 0; k < 8; k++)
        b[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    memcpy(b + 8, header, hl);
    if (n)
        memcpy(b + 8 + hl, data, n);
    CHECK(spit(path, b, 8 + hl + n) == 0, "cannot write %s", path);
    free(b);
}

static void expect_bad(const char *path, const char *needle, int stage)
{
    lif_ckpt t = {0};
    lif_recipe r;
    lif_recipe_default(&r);
    int ni, nc;
    lif_status st = lif_weights_load(path, &t);
    if (stage == 1 && st == LIF_OK)
        st = lif_weights_shape(&t, path, &r, &ni, &nc);
    CHECK(st == LIF_ERR_FORMAT && strstr(lif_last_error(), needle),
          "%s: status %d, detail '%s' (want FORMAT naming '%s')", path, st, lif_last_error(), needle);
    lif_ckpt_free(&t);
}

static void test_bad_files(void)
{
    float w[20];
    for (int i = 0; i < 20; i++)
        w[i] = (float)i / 8;
    /* [2, 10] weights: a net of 10 inputs and 2 classes */
    const char *good = "{\"layer.1.weight\":{\"dtype\":\"F32\",\"shape\":[2,10],\"data_offsets\":[0,80]}}";
    write_st("good.safetensors", good, w, 80);
    lif_ckpt t = {0};
    lif_recipe r;
    lif_recipe_default(&r);
    int ni = 0, nc = 0;
    CHECK(lif_weights_load("good.safetensors", &t) == LIF_OK &&
              lif_weights_shape(&t, "good", &r, &ni, &nc) == LIF_OK && ni == 10 && nc == 2 &&
              t.tensors[0].data[19] == w[19],
          "a hand-written safetensors file: %s (n_in %d, classes %d)", lif_last_error(), ni, nc);
    lif_ckpt_free(&t);

    write_st("trunc.safetensors", good, w, 60);
    expect_bad("trunc.safetensors", "data_offsets", 0);
    unsigned char shortf[12] = {0xff, 0xff, 0xff, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
    spit("hlen.safetensors", shortf, sizeof shortf);
    expect_bad("hlen.safetensors", "header length", 0);
    write_st("json.safetensors", "{\"layer.1.weight\": [", w, 80);
    expect_bad("json.safetensors", "JSON", 0);
    write_st("bf16.safetensors",
             "{\"layer.1.weight\":{\"dtype\":\"BF16\",\"shape\":[2,10],\"data_offsets\":[0,40]}}", w, 40);
    expect_bad("bf16.safetensors", "dtype BF16", 0);
    write_st("name.safetensors",
             "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,10],\"data_offsets\":[0,80]}}", w, 80);
    expect_bad("name.safetensors", "'fc.weight'", 0);
    write_st("even.safetensors",
             "{\"layer.2.weight\":{\"dtype\":\"F32\",\"shape\":[2,10],\"data_offsets\":[0,80]}}", w, 80);
    expect_bad("even.safetensors", "'layer.2.weight'", 0);
    float nan_w[20];
    memcpy(nan_w, w, sizeof w);
    nan_w[7] = NAN;
    write_st("nan.safetensors", good, nan_w, 80);
    expect_bad("nan.safetensors", "element 7", 0);
    write_st("gap.safetensors",
             "{\"layer.3.weight\":{\"dtype\":\"F32\",\"shape\":[2,10],\"data_offsets\":[0,80]}}", w, 80);
    expect_bad("gap.safetensors", "'layer.1.weight' missing", 1);
    write_st("chain.safetensors",
             "{\"layer.1.weight\":{\"dtype\":\"F32\",\"shape\":[2,5],\"data_offsets\":[0,40]},"
             "\"layer.3.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[40,72]}}", w, 80);
    expect_bad("chain.safetensors", "do not match the 2 outputs", 1);
    write_st("somebias.safetensors",
             "{\"layer.1.weight\":{\"dtype\":\"F32\",\"shape\":[2,5],\"data_offsets\":[0,40]},"
             "\"layer.1.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"
             "\"layer.3.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[48,72]}}", w, 80);
    expect_bad("somebias.safetensors", "1 of 2 layers have a bias", 1);
    write_st("dup.safetensors",
             "{\"layer.1.weight\":{\"dtype\":\"F32\",\"shape\":[2,10],\"data_offsets\":[0,80]},"
             "\"layer.1.weight\":{\"dtype\":\"F32\",\"shape\":[2,10],\"data_offsets\":[0,80]}}", w, 80);
    expect_bad("dup.safetensors", "JSON", 0);
    /* F64 is read and rounded to float */
    double w64[20];
    for (int i = 0; i < 20; i++)
        w64[i] = 0.1 * i;
    write_st("f64.safetensors",
             "{\"layer.1.weight\":{\"dtype\":\"F64\",\"shape\":[2,10],\"data_offsets\":[0,160]}}", w64, 160);
    CHECK(lif_weights_load("f64.safetensors", &t) == LIF_OK && t.tensors[0].data[3] == (float)0.3 &&
              t.tensors[0].data[19] == (float)(0.1 * 19),
          "F64 weights: %s", lif_last_error());
    lif_ckpt_free(&t);
    /* an .npy of integers in a weights folder */
    mkdir("intdir", 0777);
    size_t shape[2] = {2, 10};
    CHECK(lif_npy_write_f32("intdir/layer.1.weight.npy", w, 2, shape) == LIF_OK, "%s", lif_last_error());
    const char npy_i8[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
    char hdr[128 + 16];
    memset(hdr, ' ', sizeof hdr);
    memcpy(hdr, npy_i8, sizeof npy_i8 - 1);
    hdr[127] = '\n';
    memset(hdr + 128, 0, 16);
    spit("intdir/layer.1.bias.npy", hdr, sizeof hdr);
    expect_bad("intdir", "dtype <i8", 0);
}

/* ---- the command ---- */

static uint32_t rng_state = 777u;

/* the synthetic set (testutil.h) */
static void make_set(uint8_t *img, uint8_t *lab, int n)
{
    test_band_set(&rng_state, img, lab, n);
}

static void write_data(void)
{
    uint8_t *tri = malloc((size_t)N_TRAIN * NPIX), *tei = malloc((size_t)N_TEST * NPIX);
    uint8_t trl[N_TRAIN], tel[N_TEST];
    make_set(tri, trl, N_TRAIN);
    make_set(tei, tel, N_TEST);
    mkdir("data", 0777);
    CHECK(lif_idx_write("data/train-images-idx3-ubyte", "data/train-labels-idx1-ubyte", tri, trl,
                        N_TRAIN, SIDE, SIDE, 0) == LIF_OK, "%s", lif_last_error());
    CHECK(lif_idx_write("data/t10k-images-idx3-ubyte", "data/t10k-labels-idx1-ubyte", tei, tel,
                        N_TEST, SIDE, SIDE, 0) == LIF_OK, "%s", lif_last_error());
    free(tri);
    free(tei);
}

#define RUN "runs/T8_b32_adam_lr0.01"
#define CKPT RUN "/checkpoint_latest.lif"

/* A python3 script with only json and struct: reads an .npy of float32
 * and saves it as the reference framework saves a state_dict. */
static const char *py_script =
    "import json, struct, sys\n"
    "src, dst = sys.argv[1], sys.argv[2]\n"
    "b = open(src, 'rb').read()\n"
    "assert b[:6] == b'\\x93NUMPY'\n"
    "hl = struct.unpack('<H', b[8:10])[0]\n"
    "hdr = b[10:10 + hl].decode('latin1')\n"
    "assert \"'<f4'\" in hdr and '(10, 784)' in hdr, hdr\n"
    "data = b[10 + hl:]\n"
    "n = 10 * 784\n"
    "vals = struct.unpack('<%df' % n, data[:4 * n])\n"
    "raw = struct.pack('<%df' % n, *vals)\n"
    "head = json.dumps({'layer.1.weight': {'dtype': 'F32', 'shape': [10, 784],\n"
    "                   'data_offsets': [0, len(raw)]}, '__metadata__': {'format': 'pt'}})\n"
    "head += ' ' * (-len(head) % 8)\n"
    "with open(dst, 'wb') as f:\n"
    "    f.write(struct.pack('<Q', len(head)) + head.encode() + raw)\n";

static void test_command(void)
{
    write_data();
    run_result r = run_lif("train -T 8 -b 32 -epochs 2 -lr 0.01 -data-dir data -out-dir runs --quiet");
    CHECK(r.status == 0, "exit %d: %s\n%s", r.status, r.cmd, r.err);
    run_free(&r);

    r = run_lif("export " CKPT " --format safetensors -o m.safetensors");
    CHECK(r.status == 0 && access("m.safetensors", R_OK) == 0, "exit %d: %s\n%s", r.status, r.cmd, r.err);
    run_free(&r);
    r = run_lif("export --checkpoint " CKPT " --format npy -o m_npy");
    CHECK(r.status == 0 && access("m_npy/layer.1.weight.npy", R_OK) == 0, "exit %d: %s\n%s",
          r.status, r.cmd, r.err);
    run_free(&r);

    run_result ev = run_lif("eval -checkpoint " CKPT " -data-dir data --quiet");
    run_result es = run_lif("eval --weights m.safetensors -data-dir data -T 8 -b 32 --epoch 1 --quiet");
    run_result en = run_lif("eval --weights m_npy -data-dir data -T 8 -b 32 --epoch 1 --quiet");
    double acc = after(ev.out, "test_acc ="), loss = after(ev.out, "test_loss =");
    CHECK(ev.status == 0 && acc > 0.5, "checkpoint eval: exit %d, acc %g: %s\n%s", ev.status, acc,
          ev.cmd, ev.err);
    CHECK(es.status == 0 && after(es.out, "test_acc =") == acc && after(es.out, "test_loss =") == loss,
          "safetensors eval gives '%s', the checkpoint '%s': %s\n%s", es.out, ev.out, es.cmd, es.err);
    CHECK(en.status == 0 && after(en.out, "test_acc =") == acc && after(en.out, "test_loss =") == loss,
          "npy eval gives '%s', the checkpoint '%s': %s\n%s", en.out, ev.out, en.cmd, en.err);
    run_free(&es);
    run_free(&en);

    /* weights saved by a script, as the reference framework saves them */
    if (system("python3 -c 'import json, struct' >/dev/null 2>&1") != 0) {
        printf("skipped: python3 is not installed: the script-written safetensors case\n");
    } else {
        CHECK(spit("save_ref.py", py_script, strlen(py_script)) == 0, "cannot write save_ref.py");
        int ws = system("python3 save_ref.py m_npy/layer.1.weight.npy ref.safetensors");
        CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "python3 save_ref.py failed (%d)", ws);
        r = run_lif("eval --weights ref.safetensors -data-dir data -T 8 -b 32 --epoch 1 --quiet");
        CHECK(r.status == 0 && after(r.out, "test_acc =") == acc,
              "script-written weights: '%s', the checkpoint '%s': %s\n%s", r.out, ev.out, r.cmd, r.err);
        run_free(&r);
    }
    run_free(&ev);

    /* train --init: SGD with lr 1e-30 keeps the weights bitwise */
    r = run_lif("train --init m.safetensors -T 8 -b 32 -epochs 1 -opt sgd -momentum 0 -lr 1e-30 "
                "-data-dir data -out-dir init --quiet");
    CHECK(r.status == 0, "exit %d: %s\n%s", r.status, r.cmd, r.err);
    run_free(&r);
    lif_net *a = NULL, *b = NULL;
    lif_train_state ts;
    CHECK(lif_net_load(CKPT, &a, &ts) == LIF_OK, "%s", lif_last_error());
    CHECK(lif_net_load("init/T8_b32_sgd_lr1e-30/checkpoint_latest.lif", &b, &ts) == LIF_OK, "%s",
          lif_last_error());
    CHECK(a && b && same_params(a, b), "train --init did not start from the weights given");
    lif_net_destroy(a);
    lif_net_destroy(b);

    /* --json: one object, the same result, the plan and the provenance */
    r = run_lif("eval -checkpoint " CKPT " -data-dir data --json");
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    CHECK(r.status == 0 && json_is_object(j), "eval --json: exit %d, not JSON (%s): %s\n%s", r.status,
          je.text, r.cmd, r.out);
    CHECK(fabs(json_real_value(json_object_get(j, "test_acc")) - acc) < 5.1e-5 &&
              json_integer_value(json_object_get(j, "test_images")) == N_TEST &&
              json_is_string(json_array_get(json_object_get(json_object_get(json_object_get(j, "plan"),
                                                                            "kernels"), "linear_fwd"), 0)) &&
              strcmp(json_string_value(json_object_get(json_object_get(j, "provenance"), "lif_version")),
                     lif_version()) == 0,
          "eval --json lacks test_acc %g, test_images, plan.kernels.linear_fwd[0] or the version: %s\n%s",
          acc, r.cmd, r.out);
    json_decref(j);
    run_free(&r);
    r = run_lif("info --json");
    j = json_loads(r.out, 0, &je);
    json_t *bk = json_object_get(j, "backends");
    CHECK(r.status == 0 && json_is_object(j) && json_array_size(bk) >= 1 &&
              strcmp(json_string_value(json_object_get(json_array_get(bk, 0), "name")), "scalar") == 0 &&
              json_array_size(json_object_get(json_array_get(bk, 0), "kernels")) >= 9 &&
              json_is_string(json_object_get(json_object_get(json_object_get(j, "provenance"), "cpu"), "isa")) &&
              json_is_integer(json_object_get(j, "default_threads")),
          "info --json: exit %d, or lacks backends[0] scalar with its kernels, cpu.isa, "
          "default_threads: %s\n%s", r.status, r.cmd, r.out);
    json_decref(j);
    run_free(&r);
    /* log.jsonl: every value a float32, printed to give that float back */
    size_t n;
    char *log = test_slurp(RUN "/log.jsonl", &n);
    int lines = 0;
    for (char *line = log, *nl; line && *line; line = nl + 1, lines++) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = '\0';
        j = json_loads(line, 0, &je);
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            /* the text: at most 9 significant digits (a float32's), and
             * no shorter text gives the same float */
            char *digits = strstr(line, key) + strlen(key) + 3;
            size_t len = strcspn(digits, ",}");
            int sig = 0, lead = 1;
            for (size_t i = 0; i < len && digits[i] != 'e'; i++) {
                if (digits[i] >= '1' && digits[i] <= '9')
                    lead = 0;
                sig += !lead && digits[i] >= '0' && digits[i] <= '9';
            }
            float f = (float)json_number_value(v);
            char shorter[400];
            int shorter_ok = 0;
            for (int prec = 1; prec < sig && !shorter_ok; prec++) {
                snprintf(shorter, sizeof shorter, "%.*g", prec, (double)f);
                shorter_ok = strtof(shorter, NULL) == f;
            }
            CHECK((sig >= 1 || f == 0) && sig <= 9 && !shorter_ok,
                  "log.jsonl: %s = %.*s is not the shortest text of a float32", key, (int)len, digits);
        }
        json_decref(j);
    }
    CHECK(lines == 2, "log.jsonl has %d lines, want 2", lines);
    free(log);

    /* refusals: one line, exit 2 */
    expect_refused("'fc.weight'", "eval --weights %s -data-dir data", "name.safetensors");
    expect_refused("dtype BF16", "eval --weights %s -data-dir data", "bf16.safetensors");
    expect_refused("the weights' network takes 10 inputs", "eval --weights %s -data-dir data",
                   "good.safetensors");
    expect_refused("[10, 784], the network needs [16, 784]",
                   "train --init %s --hidden 16 -epochs 1 -data-dir data -out-dir bad", "m.safetensors");
    expect_refused("--init and -resume", "train --init m.safetensors -resume %s", CKPT);
    expect_refused("-checkpoint and --weights", "eval -checkpoint " CKPT " --weights %s",
                   "m.safetensors");
    expect_refused("--format: expected safetensors, npy or nir", "export %s --format onnx -o x", CKPT);
    expect_refused("-o OUT is required", "export %s --format npy", CKPT);
    expect_refused("no_such.lif", "export %s --format npy -o x", "no_such.lif");
}

#ifdef LIF_HAVE_HDF5
static int h5_string(hid_t loc, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT), t = H5Dget_type(d);
    char *s = NULL;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    int ok = H5Tis_variable_str(t) > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) >= 0;
    if (ok && s) {
        snprintf(out, size, "%s", s);
        H5free_memory(s);
    }
    H5Tclose(mt);
    H5Tclose(t);
    H5Dclose(d);
    return ok ? 0 : -1;
}

/* Reads a float32 dataset of n elements (its shape checked by the caller). */
static int h5_floats(hid_t loc, const char *name, float *out, hsize_t n, int rank, hsize_t *dims)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT), s = H5Dget_space(d), t = H5Dget_type(d);
    int r = H5Sget_simple_extent_ndims(s);
    H5Sget_simple_extent_dims(s, dims, NULL);
    int ok = r == rank && (hsize_t)H5Sget_simple_extent_npoints(s) == n &&
             H5Tequal(t, H5T_IEEE_F32LE) > 0 &&
             H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return ok ? 0 : -1;
}

static void test_nir(void)
{
    run_result r = run_lif("export " CKPT " --format nir -o m.nir --dt 0.001");
    CHECK(r.status == 0, "exit %d: %s\n%s", r.status, r.cmd, r.err);
    run_free(&r);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen("m.nir", H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0, "m.nir is no HDF5 file");
    if (f < 0)
        return;
    char s[64];
    CHECK(h5_string(f, "version", s, sizeof s) == 0 && strncmp(s, "1.", 2) == 0, "version '%s'", s);
    hid_t g = H5Gopen2(f, "node", H5P_DEFAULT);
    CHECK(h5_string(g, "type", s, sizeof s) == 0 && strcmp(s, "NIRGraph") == 0, "node/type '%s'", s);
    static const char *const want[][2] = {{"nodes/input/type", "Input"}, {"nodes/linear/type", "Linear"},
                                          {"nodes/lif/type", "LIF"}, {"nodes/output/type", "Output"}};
    for (int i = 0; i < 4; i++)
        CHECK(h5_string(g, want[i][0], s, sizeof s) == 0 && strcmp(s, want[i][1]) == 0,
              "node/%s is '%s', want %s", want[i][0], s, want[i][1]);
    lif_net *net = NULL;
    lif_train_state ts;
    CHECK(lif_net_load(CKPT, &net, &ts) == LIF_OK, "%s", lif_last_error());
    lif_layer_view v;
    lif_net_layer(net, 0, &v);
    float *w = malloc(sizeof(float) * 7840), p[10];
    hsize_t dims[2] = {0, 0};
    CHECK(h5_floats(g, "nodes/linear/weight", w, 7840, 2, dims) == 0 && dims[0] == 10 &&
              dims[1] == 784 && memcmp(w, v.w, sizeof(float) * 7840) == 0,
          "nodes/linear/weight: not the checkpoint's [10, 784] float32 weights");
    static const char *const par[] = {"tau", "r", "v_leak", "v_threshold", "v_reset"};
    const float val[] = {2.0f * 0.001f, 1.0f, 0.0f, 1.0f, 0.0f};
    for (int i = 0; i < 5; i++) {
        char path[64];
        snprintf(path, sizeof path, "nodes/lif/%s", par[i]);
        CHECK(h5_floats(g, path, p, 10, 1, dims) == 0 && dims[0] == 10 && fabsf(p[0] - val[i]) < 1e-9f &&
                  p[9] == p[0],
              "%s: want [10] of %g, got %g", path, val[i], (double)p[0]);
    }
    /* edges: [3, 2] strings input->linear->lif->output */
    hid_t d = H5Dopen2(g, "edges", H5P_DEFAULT), sp = H5Dget_space(d);
    hsize_t ed[2] = {0, 0};
    H5Sget_simple_extent_dims(sp, ed, NULL);
    CHECK(H5Sget_simple_extent_ndims(sp) == 2 && ed[0] == 3 && ed[1] == 2, "edges shape [%llu, %llu]",
          (unsigned long long)ed[0], (unsigned long long)ed[1]);
    if (ed[0] == 3 && ed[1] == 2) {
        char *e[6] = {0};
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5T_CSET_UTF8);
        CHECK(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, e) >= 0, "edges unreadable");
        static const char *const we[6] = {"input", "linear", "linear", "lif", "lif", "output"};
        for (int i = 0; i < 6; i++) {
            CHECK(e[i] && strcmp(e[i], we[i]) == 0, "edge %d/%d is '%s', want %s", i / 2, i % 2,
                  e[i] ? e[i] : "(null)", we[i]);
            if (e[i])
                H5free_memory(e[i]);
        }
        H5Tclose(mt);
    }
    H5Sclose(sp);
    H5Dclose(d);
    H5Gclose(g);
    H5Fclose(f);
    free(w);
    lif_net_destroy(net);
    /* a soft-reset network has no NIR LIF */
    r = run_lif("train -T 8 -b 32 -epochs 1 -lr 0.01 --v-reset none -data-dir data -out-dir soft --quiet");
    CHECK(r.status == 0, "exit %d: %s\n%s", r.status, r.cmd, r.err);
    run_free(&r);
    expect_refused("no soft reset", "export %s --format nir -o soft.nir",
                   "soft/T8_b32_adam_lr0.01/checkpoint_latest.lif");
}
#else
static void test_nir(void)
{
    expect_refused("built without HDF5", "export %s --format nir -o m.nir", CKPT);
    printf("skipped: lif was built without HDF5: the NIR read-back\n");
}
#endif

int main(void)
{
    const char *dir = test_tmpdir("export");
    if (chdir(dir) != 0) {
        fprintf(stderr, "cannot chdir to %s\n", dir);
        return 1;
    }
    test_round_trips();
    test_bad_files();
    test_command();
    test_nir();
    printf("test_export: %d runs of lif (outputs in %s)\n", test_run_count(), dir);
    return test_finish("test_export");
}
