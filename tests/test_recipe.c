/* test_recipe.c — recipe defaults, JSON in/out, flags, validation, run name. */
#include "lif/recipe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define HAS(s) (strstr(lif_last_error(), (s)) != NULL)

static int same(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

/* Field by field, bit for bit. */
static int recipe_eq(const lif_recipe *a, const lif_recipe *b)
{
    return a->T == b->T && a->Tc == b->Tc && a->batch == b->batch &&
           a->epochs == b->epochs && a->seed == b->seed && a->n_hidden == b->n_hidden &&
           same(a->hidden, b->hidden, sizeof a->hidden) && a->bias == b->bias &&
           same(&a->neuron.tau, &b->neuron.tau, sizeof(float)) &&
           same(&a->neuron.v_threshold, &b->neuron.v_threshold, sizeof(float)) &&
           same(&a->neuron.v_reset, &b->neuron.v_reset, sizeof(float)) &&
           a->neuron.soft_reset == b->neuron.soft_reset &&
           a->neuron.decay_input == b->neuron.decay_input &&
           a->neuron.detach_reset == b->neuron.detach_reset &&
           a->neuron.surrogate == b->neuron.surrogate &&
           same(&a->neuron.alpha, &b->neuron.alpha, sizeof(float)) && a->loss == b->loss &&
           a->opt == b->opt && same(&a->lr, &b->lr, sizeof(double)) &&
           same(&a->momentum, &b->momentum, sizeof(double)) &&
           same(&a->beta1, &b->beta1, sizeof(double)) &&
           same(&a->beta2, &b->beta2, sizeof(double)) &&
           same(&a->eps, &b->eps, sizeof(double)) &&
           strcmp(a->backend, b->backend) == 0 && a->threads == b->threads &&
           a->workers == b->workers;
}

static void round_trip(const lif_recipe *r, const char *label)
{
    char *js = lif_recipe_to_json(r);
    CHECK(js != NULL, "%s: to_json failed", label);
    if (!js)
        return;
    lif_recipe b;
    memset(&b, 0xA5, sizeof b);
    lif_recipe_default(&b);
    b.neuron.v_reset = 0.25f; /* from_json must overwrite everything */
    lif_status s = lif_recipe_from_json(&b, js, label);
    CHECK(s == LIF_OK, "%s: from_json: %s\n%s", label, lif_last_error(), js);
    CHECK(recipe_eq(r, &b), "%s: round trip differs\n%s", label, js);
    /* and the text itself is a fixed point */
    char *js2 = lif_recipe_to_json(&b);
    CHECK(js2 && strcmp(js, js2) == 0, "%s: second dump differs", label);
    free(js2);
    free(js);
}

static void test_defaults(void)
{
    lif_recipe r;
    lif_recipe_default(&r);
    CHECK(lif_recipe_validate(&r) == LIF_OK, "defaults: %s", lif_last_error());
    CHECK(r.T == 100 && r.Tc == 0 && r.batch == 64 && r.epochs == 100 && r.seed == 0,
          "schedule");
    CHECK(r.n_hidden == 0 && r.bias == 0, "network");
    CHECK(r.neuron.tau == 2.0f && r.neuron.v_threshold == 1.0f && r.neuron.v_reset == 0.0f &&
              !r.neuron.soft_reset && r.neuron.decay_input == 1 && !r.neuron.detach_reset &&
              r.neuron.surrogate == LIF_SURR_ATAN && r.neuron.alpha == 2.0f,
          "neuron");
    CHECK(r.loss == LIF_LOSS_MSE && r.opt == LIF_OPT_ADAM && r.lr == 1e-3 &&
              r.momentum == 0.9 && r.beta1 == 0.9 && r.beta2 == 0.999 && r.eps == 1e-8,
          "optimizer");
    CHECK(strcmp(r.backend, "auto") == 0 && r.threads == 1 && r.workers == 4, "execution");
}

static void test_round_trip(void)
{
    lif_recipe r;
    lif_recipe_default(&r);
    round_trip(&r, "defaults");

    char *js = lif_recipe_to_json(&r);
    CHECK(js && strstr(js, "\"lr\": 0.001") && strstr(js, "\"momentum\": 0.9,") &&
              strstr(js, "\"beta2\": 0.999,") && strstr(js, "\"hidden\": []"),
          "pretty reals: %s", js ? js : "(null)");
    /* keys sorted */
    CHECK(js && strstr(js, "\"T\"") < strstr(js, "\"Tc\"") &&
              strstr(js, "\"alpha\"") < strstr(js, "\"backend\"") &&
              strstr(js, "\"v_threshold\"") < strstr(js, "\"workers\""),
          "sorted keys");
    free(js);

    /* awkward values: floats with no short decimal, odd doubles */
    r.T = 37;
    r.Tc = 5;
    r.batch = 3;
    r.epochs = 7;
    r.seed = 4294967295u;
    r.n_hidden = 3;
    r.hidden[0] = 400;
    r.hidden[1] = 1;
    r.hidden[2] = 100000;
    r.bias = 1;
    r.neuron.tau = 1.0f + 1.0f / 3.0f;
    r.neuron.v_threshold = 0.1f;
    r.neuron.v_reset = -0.7f;
    r.neuron.decay_input = 0;
    r.neuron.detach_reset = 1;
    r.neuron.surrogate = LIF_SURR_SIGMOID;
    r.neuron.alpha = 3.14159274f;
    r.loss = LIF_LOSS_CE;
    r.opt = LIF_OPT_SGD;
    r.lr = 1.0 / 3.0;
    r.momentum = 0.1 + 0.2;
    r.beta1 = 0.0;
    r.beta2 = nextafter(1.0, 0.0);
    r.eps = 5e-324;
    strcpy(r.backend, "avx2_fma");
    r.threads = 1024;
    r.workers = 16;
    CHECK(lif_recipe_validate(&r) == LIF_OK, "awkward: %s", lif_last_error());
    round_trip(&r, "awkward");

    r.neuron.soft_reset = 1;
    r.neuron.v_reset = 0.0f;
    r.neuron.v_threshold = -0.0f;
    r.lr = 1e300;
    r.neuron.tau = 3.4028235e38f;
    round_trip(&r, "soft");
    js = lif_recipe_to_json(&r);
    CHECK(js && strstr(js, "\"v_reset\": null"), "soft reset is null: %s", js ? js : "(null)");
    free(js);

    r.lr = NAN;
    js = lif_recipe_to_json(&r);
    CHECK(js == NULL, "NaN has no JSON form");
    free(js);

    for (size_t i = 0; lif_recipe_key(i); i++) {
        lif_recipe_default(&r);
        const char *k = lif_recipe_key(i);
        js = lif_recipe_to_json(&r);
        char pat[64];
        snprintf(pat, sizeof pat, "\"%s\":", k);
        CHECK(js && strstr(js, pat), "to_json has key %s", k);
        free(js);
    }
}

static void test_reference_file(void)
{
    lif_recipe d, r;
    lif_recipe_default(&d);
    memset(&r, 0, sizeof r);
    lif_recipe_default(&r);
    r.T = 5;
    r.lr = 0.5;
    r.neuron.alpha = 9.0f;
    lif_status s = lif_recipe_load(&r, LIF_SOURCE_DIR "/configs/lif_fc_mnist.json");
    CHECK(s == LIF_OK, "load reference: %s", lif_last_error());
    CHECK(recipe_eq(&r, &d), "reference recipe is the defaults");

    s = lif_recipe_load(&r, LIF_SOURCE_DIR "/configs/no_such_recipe.json");
    CHECK(s == LIF_ERR_IO && HAS("no_such_recipe.json") && HAS("No such file"),
          "missing file: %d %s", s, lif_last_error());

    const char *dir = test_tmpdir("test_recipe");
    char path[512];
    snprintf(path, sizeof path, "%s/bad.json", dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL, "write %s", path);
    if (fp) {
        fputs("{\n  \"T\": 10,\n  \"lr\": 0.1,\n  \"batch\" 3\n}\n", fp);
        fclose(fp);
        lif_recipe_default(&r);
        s = lif_recipe_load(&r, path);
        CHECK(s == LIF_ERR_FORMAT && HAS("bad.json:4:") , "syntax in file: %d %s", s,
              lif_last_error());
        CHECK(r.T == 100, "failed load leaves the recipe alone");
    }
    snprintf(path, sizeof path, "%s/good.json", dir);
    fp = fopen(path, "w");
    if (fp) {
        fputs("{\"T\": 10, \"hidden\": [400, 200], \"v_reset\": null, \"opt\": \"sgd\"}", fp);
        fclose(fp);
        lif_recipe_default(&r);
        s = lif_recipe_load(&r, path);
        CHECK(s == LIF_OK && r.T == 10 && r.n_hidden == 2 && r.hidden[0] == 400 &&
                  r.hidden[1] == 200 && r.neuron.soft_reset && r.opt == LIF_OPT_SGD &&
                  r.batch == 64,
              "partial file: %s", lif_last_error());
    }
}

static void test_json_errors(void)
{
    lif_recipe r;
    lif_status s;
    lif_recipe_default(&r);

    s = lif_recipe_from_json(&r, "{\"T\": 10, \"learning_rate\": 0.1}", "x.json");
    CHECK(s == LIF_ERR_INVALID_ARG && HAS("learning_rate") && HAS("x.json"),
          "unknown key: %s", lif_last_error());
    CHECK(r.T == 100, "unknown key applies nothing");

    s = lif_recipe_from_json(&r, "{\"_comment\": \"hello\", \"T\": 10}", "x.json");
    CHECK(s == LIF_OK && r.T == 10, "_comment ignored: %s", lif_last_error());

    struct {
        const char *json, *key, *want;
    } bad[] = {
        {"{\"T\": \"100\"}", "\"T\"", "integer"},
        {"{\"T\": 100.0}", "\"T\"", "integer"},
        {"{\"T\": 0}", "\"T\"", "1..100000"},
        {"{\"T\": 99999999999}", "\"T\"", "integer"},
        {"{\"seed\": -1}", "\"seed\"", "0..4294967295"},
        {"{\"seed\": 4294967296}", "\"seed\"", "0..4294967295"},
        {"{\"batch\": null}", "\"batch\"", "integer"},
        {"{\"lr\": \"0.1\"}", "\"lr\"", "number"},
        {"{\"lr\": 0}", "\"lr\"", "number > 0"},
        {"{\"tau\": true}", "\"tau\"", "number"},
        {"{\"tau\": 1e300}", "\"tau\"", "number > 1"},
        {"{\"bias\": 1}", "\"bias\"", "true or false"},
        {"{\"decay_input\": \"yes\"}", "\"decay_input\"", "true or false"},
        {"{\"hidden\": 400}", "\"hidden\"", "array"},
        {"{\"hidden\": [400, \"200\"]}", "\"hidden\"", "array"},
        {"{\"hidden\": [0]}", "\"hidden\"", "1..100000"},
        {"{\"hidden\": [1,2,3,4,5,6,7,8,9]}", "\"hidden\"", "at most 8"},
        {"{\"v_reset\": \"none\"}", "\"v_reset\"", "number or null"},
        {"{\"surrogate\": \"relu\"}", "\"surrogate\"", "sigmoid"},
        {"{\"loss\": 1}", "\"loss\"", "mse"},
        {"{\"opt\": \"Adam\"}", "\"opt\"", "sgd"},
        {"{\"backend\": 3}", "\"backend\"", "string"},
        {"{\"backend\": \"AVX\"}", "\"backend\"", "a-z0-9_"},
        {"{\"backend\": \"\"}", "\"backend\"", "string"},
        {"{\"backend\": \"a_name_that_is_far_too_long_for_it\"}", "\"backend\"", "1..31"},
        {"{\"threads\": 2000}", "\"threads\"", "1..1024"},
        {"{\"momentum\": 1}", "\"momentum\"", "[0, 1)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lif_recipe_default(&r);
        s = lif_recipe_from_json(&r, bad[i].json, "r.json");
        CHECK(s != LIF_OK && HAS(bad[i].key) && HAS(bad[i].want) && HAS("r.json"),
              "%s -> %d %s", bad[i].json, s, lif_last_error());
        lif_recipe d;
        lif_recipe_default(&d);
        CHECK(recipe_eq(&r, &d), "%s: recipe untouched", bad[i].json);
    }

    const char *syn[] = {"{\"T\": 10,\n \"batch\": }", "{\"T\": 10,}", "", "[1, 2]",
                         "{\"T\": 1, \"T\": 2}", "{\"T\": 1} x"};
    for (size_t i = 0; i < sizeof syn / sizeof syn[0]; i++) {
        s = lif_recipe_from_json(&r, syn[i], "cfg.json");
        CHECK(s == LIF_ERR_FORMAT && HAS("cfg.json"), "syntax '%s' -> %d %s", syn[i], s,
              lif_last_error());
    }
    s = lif_recipe_from_json(&r, "{\"T\": 10,\n \"batch\": }", "cfg.json");
    CHECK(HAS("cfg.json:2:"), "line number: %s", lif_last_error());

    /* surrogate without alpha takes its default alpha; with alpha keeps it */
    lif_recipe_default(&r);
    s = lif_recipe_from_json(&r, "{\"surrogate\": \"sigmoid\"}", NULL);
    CHECK(s == LIF_OK && r.neuron.surrogate == LIF_SURR_SIGMOID && r.neuron.alpha == 4.0f,
          "sigmoid default alpha");
    s = lif_recipe_from_json(&r, "{\"alpha\": 7, \"surrogate\": \"atan\"}", NULL);
    CHECK(s == LIF_OK && r.neuron.surrogate == LIF_SURR_ATAN && r.neuron.alpha == 7.0f,
          "explicit alpha wins");
    s = lif_recipe_from_json(&r, "{\"surrogate\": \"atan\"}", NULL);
    CHECK(s == LIF_OK && r.neuron.alpha == 2.0f, "atan default alpha");
    s = lif_recipe_from_json(&r, "{\"lr\": 1, \"v_reset\": -1}", NULL);
    CHECK(s == LIF_OK && r.lr == 1.0 && r.neuron.v_reset == -1.0f && !r.neuron.soft_reset,
          "integers in number fields");
}

static void test_set(void)
{
    lif_recipe r, d;
    lif_status s;
    lif_recipe_default(&r);
    lif_recipe_default(&d);

    struct {
        const char *key, *value;
    } ok[] = {
        {"T", "8"},          {"Tc", "4"},        {"batch", "+16"},     {"epochs", "3"},
        {"seed", "4294967295"}, {"hidden", "400,200"}, {"bias", "yes"},
        {"tau", "2.5"},      {"v_threshold", "-1e-1"}, {"v_reset", "-0.5"},
        {"decay_input", "off"}, {"detach_reset", "TRUE"}, {"surrogate", "sigmoid"},
        {"alpha", "3"},      {"loss", "ce"},     {"opt", "sgd"},       {"lr", "1e-3"},
        {"momentum", "0"},   {"beta1", "0.5"},   {"beta2", "0.99"},    {"eps", "1e-6"},
        {"backend", "scalar"}, {"threads", "8"}, {"workers", "1"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        s = lif_recipe_set(&r, ok[i].key, ok[i].value, "-x");
        CHECK(s == LIF_OK, "set %s=%s: %s", ok[i].key, ok[i].value, lif_last_error());
    }
    CHECK(r.T == 8 && r.Tc == 4 && r.batch == 16 && r.epochs == 3 && r.seed == 4294967295u &&
              r.n_hidden == 2 && r.hidden[0] == 400 && r.hidden[1] == 200 && r.bias == 1 &&
              r.neuron.tau == 2.5f && r.neuron.v_threshold == -0.1f &&
              r.neuron.v_reset == -0.5f && !r.neuron.soft_reset && !r.neuron.decay_input &&
              r.neuron.detach_reset && r.neuron.surrogate == LIF_SURR_SIGMOID &&
              r.neuron.alpha == 3.0f && r.loss == LIF_LOSS_CE && r.opt == LIF_OPT_SGD &&
              r.lr == 1e-3 && r.momentum == 0.0 && r.beta1 == 0.5 && r.beta2 == 0.99 &&
              r.eps == 1e-6 && strcmp(r.backend, "scalar") == 0 && r.threads == 8 &&
              r.workers == 1,
          "values set");
    CHECK(lif_recipe_validate(&r) == LIF_OK, "set recipe validates: %s", lif_last_error());
    round_trip(&r, "after set");

    CHECK(lif_recipe_set(&r, "hidden", "none", "-hidden") == LIF_OK && r.n_hidden == 0,
          "hidden none");
    CHECK(lif_recipe_set(&r, "hidden", "1,2,3,4,5,6,7,8", "-hidden") == LIF_OK &&
              r.n_hidden == 8 && r.hidden[7] == 8,
          "hidden 8 layers");
    CHECK(lif_recipe_set(&r, "hidden", "", "-hidden") == LIF_OK && r.n_hidden == 0,
          "hidden empty");
    CHECK(lif_recipe_set(&r, "v_reset", "none", "-v_reset") == LIF_OK && r.neuron.soft_reset,
          "v_reset none");
    CHECK(lif_recipe_set(&r, "surrogate", "atan", "-surrogate") == LIF_OK &&
              r.neuron.alpha == 2.0f,
          "surrogate resets alpha");

    s = lif_recipe_set(&r, "lr", "abc", "-lr");
    CHECK(s == LIF_ERR_INVALID_ARG &&
              strcmp(lif_last_error(), "-lr: expected a number > 0, got 'abc'") == 0,
          "message: %s", lif_last_error());
    s = lif_recipe_set(&r, "learning_rate", "1", "--learning-rate");
    CHECK(s == LIF_ERR_NOT_FOUND && HAS("--learning-rate"), "unknown: %s", lif_last_error());

    struct {
        const char *key, *value;
    } bad[] = {
        {"T", "abc"},     {"T", ""},        {"T", "10x"},     {"T", " 10"},
        {"T", "0"},       {"T", "100001"},  {"T", "99999999999999999999"}, {"T", "1.5"},
        {"T", "1e3"},     {"Tc", "-1"},     {"batch", "0"},   {"batch", "65537"},
        {"epochs", "0"},  {"seed", "-1"},   {"seed", "4294967296"},
        {"hidden", "400,"}, {"hidden", ",400"}, {"hidden", "400,,200"}, {"hidden", "0"},
        {"hidden", "100001"}, {"hidden", "1,2,3,4,5,6,7,8,9"}, {"hidden", "-5"},
        {"hidden", "4 00"}, {"bias", "2"},  {"bias", "yess"}, {"bias", ""},
        {"tau", "1"},     {"tau", "1.00000001"}, {"tau", "inf"}, {"tau", "nan"},
        {"tau", "1e39"},  {"v_threshold", "inf"}, {"v_threshold", ""},
        {"v_reset", "nan"}, {"v_reset", "x"}, {"surrogate", "relu"}, {"surrogate", ""},
        {"alpha", "0"},   {"alpha", "-1"},  {"loss", "l1"},   {"opt", "adamw"},
        {"lr", ""},       {"lr", "0"},      {"lr", "-1e-3"},  {"lr", "1e999"},
        {"lr", "1e-3x"},  {"lr", " 1"},     {"lr", "inf"},    {"momentum", "1"},
        {"momentum", "-0.1"}, {"beta1", "1"}, {"beta2", "1.5"}, {"eps", "0"},
        {"eps", "1e-400"}, {"backend", ""}, {"backend", "AVX"}, {"backend", "a-b"},
        {"backend", "abcdefghijklmnopqrstuvwxyz0123456"}, {"threads", "0"},
        {"threads", "1025"}, {"workers", "0"}, {"workers", "x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char flag[40];
        snprintf(flag, sizeof flag, "--%s", bad[i].key);
        lif_recipe_default(&r);
        s = lif_recipe_set(&r, bad[i].key, bad[i].value, flag);
        char q[80];
        snprintf(q, sizeof q, "'%s'", bad[i].value);
        CHECK(s == LIF_ERR_INVALID_ARG && HAS(flag) && HAS(q), "set %s=%s -> %d %s",
              bad[i].key, bad[i].value, s, lif_last_error());
        CHECK(recipe_eq(&r, &d), "set %s=%s: recipe untouched", bad[i].key, bad[i].value);
    }
}

static void test_validate(void)
{
    lif_recipe r;
    char what[64];
#define BAD(stmt, want)                                                                   \
    do {                                                                                  \
        lif_recipe_default(&r);                                                           \
        stmt;                                                                             \
        snprintf(what, sizeof what, "%s", #stmt);                                         \
        lif_status s_ = lif_recipe_validate(&r);                                          \
        CHECK(s_ == LIF_ERR_INVALID_ARG && HAS(want), "%s -> %d '%s' (want '%s')", what, \
              s_, lif_last_error(), want);                                                \
    } while (0)
    BAD(r.T = 0, "-T must be >= 1, got 0");
    BAD(r.T = 100001, "-T must be <= 100000, got 100001");
    BAD(r.Tc = -1, "--tc must be >= 0, got -1");
    BAD(r.Tc = 101, "--tc ");
    BAD(r.batch = 0, "-b must be >= 1, got 0");
    BAD(r.batch = 65537, "-b ");
    BAD(r.epochs = 0, "-epochs must be >= 1, got 0");
    BAD(r.n_hidden = 9, "-hidden ");
    BAD(r.n_hidden = -1, "-hidden ");
    BAD((r.n_hidden = 1, r.hidden[0] = 0), "-hidden ");
    BAD((r.n_hidden = 2, r.hidden[0] = 1, r.hidden[1] = 100001), "-hidden ");
    BAD(r.bias = 2, "-bias ");
    BAD(r.neuron.tau = 0.5f, "-tau must be > 1, got 0.5");
    BAD(r.neuron.tau = 1.0f, "-tau must be > 1, got 1");
    BAD(r.neuron.tau = INFINITY, "-tau must be finite");
    BAD(r.neuron.tau = NAN, "-tau ");
    BAD(r.neuron.v_threshold = INFINITY, "--v-threshold must be finite");
    BAD(r.neuron.v_threshold = NAN, "--v-threshold ");
    BAD(r.neuron.v_reset = NAN, "--v-reset ");
    BAD(r.neuron.v_reset = 1.0f, "--v-reset must be < --v-threshold (1), got 1");
    BAD(r.neuron.v_reset = 2.0f, "--v-reset ");
    BAD(r.neuron.decay_input = 5, "--decay-input ");
    BAD(r.neuron.detach_reset = -1, "--detach-reset ");
    BAD(r.neuron.surrogate = (lif_surrogate)7, "-surrogate ");
    BAD(r.neuron.alpha = 0.0f, "-alpha must be > 0, got 0");
    BAD(r.neuron.alpha = INFINITY, "-alpha ");
    BAD(r.loss = (lif_loss_kind)3, "-loss ");
    BAD(r.opt = (lif_opt_kind)3, "-opt ");
    BAD(r.lr = 0, "-lr must be > 0, got 0");
    BAD(r.lr = -1e-3, "-lr must be > 0, got -0.001");
    BAD(r.lr = INFINITY, "-lr must be finite");
    BAD(r.lr = NAN, "-lr ");
    BAD(r.momentum = 1.0, "-momentum must be < 1, got 1");
    BAD(r.momentum = -0.5, "-momentum must be >= 0, got -0.5");
    BAD(r.beta1 = 1.0, "recipe key \"beta1\" ");
    BAD(r.beta1 = -1e-9, "recipe key \"beta1\" ");
    BAD(r.beta2 = 1.0, "recipe key \"beta2\" ");
    BAD(r.beta2 = -1, "recipe key \"beta2\" ");
    BAD(r.eps = 0, "recipe key \"eps\" must be > 0");
    BAD(r.eps = NAN, "recipe key \"eps\" ");
    BAD(r.backend[0] = '\0', "-backend ");
    BAD(strcpy(r.backend, "AVX2"), "-backend ");
    BAD(strcpy(r.backend, "a.b"), "-backend ");
    BAD(memset(r.backend, 'a', sizeof r.backend), "-backend ");
    BAD(r.threads = 0, "-threads must be >= 1, got 0");
    BAD(r.threads = 1025, "-threads must be <= 1024, got 1025");
    BAD(r.workers = 0, "-j must be >= 1, got 0");
    BAD(r.workers = 1025, "-j ");
#undef BAD

    /* edges that are fine */
    lif_recipe_default(&r);
    r.Tc = r.T;
    r.neuron.soft_reset = 1;
    r.neuron.v_reset = 5.0f; /* ignored when soft */
    r.momentum = 0.0;
    r.beta1 = 0.0;
    r.beta2 = 0.0;
    r.threads = 1024;
    r.workers = 1024;
    r.T = 100000;
    r.batch = 65536;
    CHECK(lif_recipe_validate(&r) == LIF_OK, "edges: %s", lif_last_error());
}

static void test_run_name(void)
{
    struct {
        double lr;
        const char *s;
    } cases[] = {
        {0.001, "0.001"},   {0.1, "0.1"},         {1e-05, "1e-05"},
        {0.0005, "0.0005"}, {1.0, "1.0"},         {2.5, "2.5"},
        {0.0001, "0.0001"}, {1e-4 / 2, "5e-05"},  {1.0 / 3, "0.3333333333333333"},
        {100.0, "100.0"},   {1e16, "1e+16"},      {1.5e16, "1.5e+16"},
        {1e15, "1000000000000000.0"}, {123.456, "123.456"}, {1e-100, "1e-100"},
        {0.1 + 0.2, "0.30000000000000004"}, {2e-3, "0.002"}, {3e-4, "0.0003"},
        {1.25e-7, "1.25e-07"}, {1e22, "1e+22"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
        {5e-324, "5e-324"},
    };
    lif_recipe r;
    char buf[128];
    lif_recipe_default(&r);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r.lr = cases[i].lr;
        lif_recipe_run_name(&r, buf, sizeof buf);
        char want[128];
        snprintf(want, sizeof want, "T100_b64_adam_lr%s", cases[i].s);
        CHECK(strcmp(buf, want) == 0, "lr %.17g: got '%s' want '%s'", cases[i].lr, buf, want);
    }
    r.T = 8;
    r.batch = 16;
    r.opt = LIF_OPT_SGD;
    r.lr = 0.1;
    lif_recipe_run_name(&r, buf, sizeof buf);
    CHECK(strcmp(buf, "T8_b16_sgd_lr0.1") == 0, "sgd: %s", buf);
    lif_recipe_run_name(&r, buf, 6);
    CHECK(strcmp(buf, "T8_b1") == 0, "truncated: %s", buf);
}

int main(void)
{
    test_defaults();
    test_round_trip();
    test_reference_file();
    test_json_errors();
    test_set();
    test_validate();
    test_run_name();
    return test_finish("test_recipe");
}
