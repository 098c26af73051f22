/* test_recipe.c — recipe defaults, JSON in/out, flags, validation, run name;
 * and the plan options (backend, threads, Tc, workers, bind) that left the recipe:
 * defaults, set, check, JSON in/out, and how the two readers share a file. */
#include "lif/recipe.h"
#include "lif/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define HAS(s) (strstr(lif_last_error(), (s)) != NULL)
#define STARTS(s) (strncmp(lif_last_error(), (s), strlen(s)) == 0)

static int same(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

/* Field by field, bit for bit. */
static int recipe_eq(const lif_recipe *a, const lif_recipe *b)
{
    return a->T == b->T && a->batch == b->batch &&
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
           same(&a->eps, &b->eps, sizeof(double));
}

/* The keys that are plan options, not recipe fields. */
static const char *const option_keys[] = {"backend", "threads", "Tc", "workers", "bind",
                                           "memory_budget", "recompute", "amp"};
#define N_OPTION_KEYS (sizeof option_keys / sizeof option_keys[0])

/* 1 if the JSON text has "key" as a key. */
static int has_key(const char *js, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    return js && strstr(js, pat) != NULL;
}

/* The whole file at path, NUL-terminated (caller frees); NULL on failure. */
static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - 1 - len, fp);
        len += got;
        if (got == 0)
            break;
        if (len == cap - 1) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf && ferror(fp)) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf)
        buf[len] = '\0';
    return buf;
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
    const char *key = "unset";
    CHECK(lif_recipe_check(&r, &key) == LIF_OK && key == NULL, "defaults check: key %s",
          key ? key : "(null)");
    CHECK(lif_recipe_check(&r, NULL) == LIF_OK, "check with no key pointer");
    CHECK(r.T == 100 && r.batch == 64 && r.epochs == 100 && r.seed == 0, "schedule");
    CHECK(r.n_hidden == 0 && r.bias == 0, "network");
    CHECK(r.neuron.tau == 2.0f && r.neuron.v_threshold == 1.0f && r.neuron.v_reset == 0.0f &&
              !r.neuron.soft_reset && r.neuron.decay_input == 1 && !r.neuron.detach_reset &&
              r.neuron.surrogate == LIF_SURR_ATAN && r.neuron.alpha == 2.0f,
          "neuron");
    CHECK(r.loss == LIF_LOSS_MSE && r.opt == LIF_OPT_ADAM && r.lr == 1e-3 &&
              r.momentum == 0.9 && r.beta1 == 0.9 && r.beta2 == 0.999 && r.eps == 1e-8,
          "optimizer");

    /* the recipe's keys and the option keys are disjoint */
    for (size_t i = 0; lif_recipe_key(i); i++)
        CHECK(!lif_recipe_is_option_key(lif_recipe_key(i)), "recipe key %s is not an option",
              lif_recipe_key(i));
    for (size_t i = 0; i < N_OPTION_KEYS; i++) {
        CHECK(lif_recipe_is_option_key(option_keys[i]), "%s is an option key", option_keys[i]);
        for (size_t j = 0; lif_recipe_key(j); j++)
            CHECK(strcmp(lif_recipe_key(j), option_keys[i]) != 0, "%s left the recipe keys",
                  option_keys[i]);
    }
    CHECK(!lif_recipe_is_option_key("tc") && !lif_recipe_is_option_key("_comment") &&
              !lif_recipe_is_option_key(""),
          "option keys are exact");
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
    CHECK(js && strstr(js, "\"T\"") && strstr(js, "\"T\"") < strstr(js, "\"alpha\"") &&
              strstr(js, "\"alpha\"") < strstr(js, "\"batch\"") &&
              strstr(js, "\"eps\"") < strstr(js, "\"hidden\"") &&
              strstr(js, "\"v_reset\"") < strstr(js, "\"v_threshold\""),
          "sorted keys");
    /* the run options are not part of the recipe any more */
    for (size_t i = 0; i < N_OPTION_KEYS; i++)
        CHECK(js && !strstr(js, option_keys[i]), "to_json has no \"%s\": %s", option_keys[i],
              js ? js : "(null)");
    free(js);

    /* awkward values: floats with no short decimal, odd doubles */
    r.T = 37;
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
    for (size_t i = 0; i < N_OPTION_KEYS; i++)
        CHECK(js && !has_key(js, option_keys[i]), "soft: to_json has no \"%s\"",
              option_keys[i]);
    free(js);

    r.lr = NAN;
    js = lif_recipe_to_json(&r);
    CHECK(js == NULL, "NaN has no JSON form");
    free(js);

    for (size_t i = 0; lif_recipe_key(i); i++) {
        lif_recipe_default(&r);
        const char *k = lif_recipe_key(i);
        js = lif_recipe_to_json(&r);
        CHECK(has_key(js, k), "to_json has key %s", k);
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

    /* the same file's text holds option keys too; the recipe reader skips them */
    char *text = read_text(LIF_SOURCE_DIR "/configs/lif_fc_mnist.json");
    CHECK(text != NULL, "read the reference file");
    if (text) {
        for (size_t i = 0; i < N_OPTION_KEYS; i++)
            CHECK(has_key(text, option_keys[i]), "reference file holds \"%s\"",
                  option_keys[i]);
        lif_recipe_default(&r);
        r.T = 5;
        r.neuron.alpha = 9.0f;
        s = lif_recipe_from_json(&r, text, "lif_fc_mnist.json");
        CHECK(s == LIF_OK, "from_json of the reference text: %s", lif_last_error());
        CHECK(recipe_eq(&r, &d), "reference text is the default recipe");
        free(text);
    }

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

    /* option keys (a config file, a lif 0.1 checkpoint) are skipped, not errors */
    lif_recipe_default(&r);
    s = lif_recipe_from_json(&r,
                             "{\"T\": 12, \"backend\": \"avx2_fma\", \"threads\": 1024, "
                             "\"Tc\": 6, \"workers\": 16, \"bind\": \"cores\", \"lr\": 0.5}",
                             "old.json");
    {
        lif_recipe want;
        lif_recipe_default(&want);
        want.T = 12;
        want.lr = 0.5;
        CHECK(s == LIF_OK && recipe_eq(&r, &want), "option keys skipped: %d %s", s,
              lif_last_error());
    }
    lif_recipe_default(&r);
    s = lif_recipe_from_json(&r, "{\"backend\": \"scalar\", \"tc\": 4}", "x.json");
    CHECK(s == LIF_ERR_INVALID_ARG && HAS("\"tc\"") && HAS("x.json"),
          "a near-miss of an option key is still unknown: %d %s", s, lif_last_error());
    CHECK(r.T == 100, "unknown key next to an option key applies nothing");

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
        {"{\"momentum\": 1}", "\"momentum\"", "[0, 1)"},
        {"{\"threads\": 2, \"T\": -1}", "\"T\"", "1..100000"},
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
        {"T", "8"},          {"batch", "+16"},     {"epochs", "3"},
        {"seed", "4294967295"}, {"hidden", "400,200"}, {"bias", "yes"},
        {"tau", "2.5"},      {"v_threshold", "-1e-1"}, {"v_reset", "-0.5"},
        {"decay_input", "off"}, {"detach_reset", "TRUE"}, {"surrogate", "sigmoid"},
        {"alpha", "3"},      {"loss", "ce"},     {"opt", "sgd"},       {"lr", "1e-3"},
        {"momentum", "0"},   {"beta1", "0.5"},   {"beta2", "0.99"},    {"eps", "1e-6"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        s = lif_recipe_set(&r, ok[i].key, ok[i].value, "-x");
        CHECK(s == LIF_OK, "set %s=%s: %s", ok[i].key, ok[i].value, lif_last_error());
    }
    CHECK(r.T == 8 && r.batch == 16 && r.epochs == 3 && r.seed == 4294967295u &&
              r.n_hidden == 2 && r.hidden[0] == 400 && r.hidden[1] == 200 && r.bias == 1 &&
              r.neuron.tau == 2.5f && r.neuron.v_threshold == -0.1f &&
              r.neuron.v_reset == -0.5f && !r.neuron.soft_reset && !r.neuron.decay_input &&
              r.neuron.detach_reset && r.neuron.surrogate == LIF_SURR_SIGMOID &&
              r.neuron.alpha == 3.0f && r.loss == LIF_LOSS_CE && r.opt == LIF_OPT_SGD &&
              r.lr == 1e-3 && r.momentum == 0.0 && r.beta1 == 0.5 && r.beta2 == 0.99 &&
              r.eps == 1e-6,
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
    /* the options are set through lif_plan_opts_set now, not the recipe */
    for (size_t i = 0; i < N_OPTION_KEYS; i++) {
        lif_recipe before = r;
        s = lif_recipe_set(&r, option_keys[i], "1", "--opt-flag");
        CHECK(s == LIF_ERR_NOT_FOUND && HAS("--opt-flag"), "recipe_set %s -> %d %s",
              option_keys[i], s, lif_last_error());
        CHECK(recipe_eq(&r, &before), "recipe_set %s: recipe untouched", option_keys[i]);
    }

    struct {
        const char *key, *value;
    } bad[] = {
        {"T", "abc"},     {"T", ""},        {"T", "10x"},     {"T", " 10"},
        {"T", "0"},       {"T", "100001"},  {"T", "99999999999999999999"}, {"T", "1.5"},
        {"T", "1e3"},     {"batch", "0"},   {"batch", "65537"},
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
        {"eps", "1e-400"},
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
    char what[96];
    /* want: the start of the detail (it starts with the key); k: the key
     * lif_recipe_check reports */
#define BAD(stmt, k, want)                                                                \
    do {                                                                                  \
        lif_recipe_default(&r);                                                           \
        stmt;                                                                             \
        snprintf(what, sizeof what, "%s", #stmt);                                         \
        lif_status s_ = lif_recipe_validate(&r);                                          \
        CHECK(s_ == LIF_ERR_INVALID_ARG && STARTS(want), "%s -> %d '%s' (want '%s')",     \
              what, s_, lif_last_error(), want);                                          \
        const char *key_ = "unset";                                                       \
        s_ = lif_recipe_check(&r, &key_);                                                 \
        CHECK(s_ == LIF_ERR_INVALID_ARG && key_ && strcmp(key_, k) == 0 && STARTS(want),  \
              "check %s -> %d key %s '%s' (want %s)", what, s_, key_ ? key_ : "(null)",   \
              lif_last_error(), k);                                                       \
        CHECK(lif_recipe_check(&r, NULL) == LIF_ERR_INVALID_ARG, "check %s, no key", what); \
    } while (0)
    BAD(r.T = 0, "T", "T must be >= 1, got 0");
    BAD(r.T = 100001, "T", "T must be <= 100000, got 100001");
    BAD(r.T = -5, "T", "T must be >= 1, got -5");
    BAD(r.batch = 0, "batch", "batch must be >= 1, got 0");
    BAD(r.batch = 65537, "batch", "batch must be <= 65536, got 65537");
    BAD(r.epochs = 0, "epochs", "epochs must be >= 1, got 0");
    BAD(r.n_hidden = 9, "hidden", "hidden ");
    BAD(r.n_hidden = -1, "hidden", "hidden ");
    BAD((r.n_hidden = 1, r.hidden[0] = 0), "hidden", "hidden ");
    BAD((r.n_hidden = 2, r.hidden[0] = 1, r.hidden[1] = 100001), "hidden", "hidden ");
    BAD(r.bias = 2, "bias", "bias must be 0 or 1, got 2");
    BAD(r.neuron.tau = 0.5f, "tau", "tau must be > 1, got 0.5");
    BAD(r.neuron.tau = 1.0f, "tau", "tau must be > 1, got 1");
    BAD(r.neuron.tau = INFINITY, "tau", "tau must be finite");
    BAD(r.neuron.tau = NAN, "tau", "tau ");
    BAD(r.neuron.v_threshold = INFINITY, "v_threshold", "v_threshold must be finite");
    BAD(r.neuron.v_threshold = NAN, "v_threshold", "v_threshold ");
    BAD(r.neuron.v_reset = NAN, "v_reset", "v_reset ");
    BAD(r.neuron.v_reset = 1.0f, "v_reset", "v_reset must be < v_threshold (1), got 1");
    BAD(r.neuron.v_reset = 2.0f, "v_reset", "v_reset must be < v_threshold (1), got 2");
    BAD((r.neuron.v_threshold = -0.5f, r.neuron.v_reset = -0.5f), "v_reset",
        "v_reset must be < v_threshold (-0.5), got -0.5");
    BAD(r.neuron.soft_reset = 2, "v_reset", "v_reset ");
    BAD(r.neuron.decay_input = 5, "decay_input", "decay_input must be 0 or 1, got 5");
    BAD(r.neuron.detach_reset = -1, "detach_reset", "detach_reset ");
    BAD(r.neuron.surrogate = (lif_surrogate)7, "surrogate", "surrogate ");
    BAD(r.neuron.alpha = 0.0f, "alpha", "alpha must be > 0, got 0");
    BAD(r.neuron.alpha = INFINITY, "alpha", "alpha ");
    BAD(r.loss = (lif_loss_kind)3, "loss", "loss ");
    BAD(r.opt = (lif_opt_kind)3, "opt", "opt ");
    BAD(r.lr = 0, "lr", "lr must be > 0, got 0");
    BAD(r.lr = -1e-3, "lr", "lr must be > 0, got -0.001");
    BAD(r.lr = INFINITY, "lr", "lr must be finite");
    BAD(r.lr = NAN, "lr", "lr ");
    BAD(r.momentum = 1.0, "momentum", "momentum must be < 1, got 1");
    BAD(r.momentum = -0.5, "momentum", "momentum must be >= 0, got -0.5");
    BAD(r.beta1 = 1.0, "beta1", "beta1 must be < 1, got 1");
    BAD(r.beta1 = -1e-9, "beta1", "beta1 must be >= 0");
    BAD(r.beta2 = 1.0, "beta2", "beta2 must be < 1, got 1");
    BAD(r.beta2 = -1, "beta2", "beta2 ");
    BAD(r.eps = 0, "eps", "eps must be > 0, got 0");
    BAD(r.eps = NAN, "eps", "eps ");
    /* two bad fields: the first in key order is named */
    BAD((r.lr = 0, r.T = 0), "T", "T must be >= 1, got 0");
#undef BAD

    /* edges that are fine */
    lif_recipe_default(&r);
    r.neuron.soft_reset = 1;
    r.neuron.v_reset = 5.0f; /* ignored when soft */
    r.momentum = 0.0;
    r.beta1 = 0.0;
    r.beta2 = 0.0;
    r.T = 100000;
    r.batch = 65536;
    r.n_hidden = LIF_MAX_HIDDEN;
    for (int i = 0; i < LIF_MAX_HIDDEN; i++)
        r.hidden[i] = i ? 1 : 100000;
    r.bias = 1;
    r.epochs = 1;
    const char *key = "unset";
    CHECK(lif_recipe_check(&r, &key) == LIF_OK && key == NULL, "edges: %s (key %s)",
          lif_last_error(), key ? key : "(null)");
    CHECK(lif_recipe_validate(&r) == LIF_OK, "edges validate: %s", lif_last_error());
}

/* ---- plan options ---- */

/* Byte for byte: for "a failure changed nothing". */
static int opts_same(const lif_plan_opts *a, const lif_plan_opts *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* Field by field (bytes after the backend's terminator do not count). */
static int opts_eq(const lif_plan_opts *a, const lif_plan_opts *b)
{
    return memchr(a->backend, '\0', sizeof a->backend) &&
           memchr(b->backend, '\0', sizeof b->backend) && strcmp(a->backend, b->backend) == 0 &&
           a->threads == b->threads && a->Tc == b->Tc && a->workers == b->workers &&
           a->bind == b->bind;
}

static void test_opts_defaults(void)
{
    lif_plan_opts o;
    memset(&o, 0x5A, sizeof o);
    lif_plan_opts_default(&o);
    CHECK(strcmp(o.backend, "auto") == 0 && o.threads == 0 && o.Tc == 0 && o.workers == 4 &&
              o.bind == LIF_BIND_NONE,
          "defaults: backend '%.*s' threads %d (0: auto) Tc %d workers %d bind %d",
          (int)sizeof o.backend, o.backend, o.threads, o.Tc, o.workers, o.bind);
    const char *key = "unset";
    CHECK(lif_plan_opts_check(&o, &key) == LIF_OK && key == NULL, "defaults check: %s",
          lif_last_error());
    CHECK(lif_plan_opts_check(&o, NULL) == LIF_OK, "check with no key pointer");

    /* the keys: exactly the eight options, each one lif_recipe_from_json skips */
    size_t n = 0;
    int seen[N_OPTION_KEYS] = {0};
    for (size_t i = 0; lif_plan_opts_key(i); i++, n++) {
        const char *k = lif_plan_opts_key(i);
        int found = 0;
        for (size_t j = 0; j < N_OPTION_KEYS; j++)
            if (strcmp(k, option_keys[j]) == 0) {
                seen[j]++;
                found = 1;
            }
        CHECK(found, "unexpected option key %s", k);
        CHECK(lif_recipe_is_option_key(k), "%s is skipped by the recipe reader", k);
    }
    CHECK(n == N_OPTION_KEYS, "%zu option keys", n);
    for (size_t j = 0; j < N_OPTION_KEYS; j++)
        CHECK(seen[j] == 1, "option key %s listed once (%d)", option_keys[j], seen[j]);
}

static void test_opts_set(void)
{
    lif_plan_opts o, d;
    lif_status s;
    lif_plan_opts_default(&o);
    lif_plan_opts_default(&d);

    struct {
        const char *key, *value;
    } ok[] = {
        {"backend", "scalar"}, {"threads", "8"}, {"Tc", "25"}, {"workers", "+2"},
        {"bind", "cores"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        s = lif_plan_opts_set(&o, ok[i].key, ok[i].value, "-x");
        CHECK(s == LIF_OK, "set %s=%s: %s", ok[i].key, ok[i].value, lif_last_error());
    }
    CHECK(strcmp(o.backend, "scalar") == 0 && o.threads == 8 && o.Tc == 25 && o.workers == 2 &&
              o.bind == LIF_BIND_CORES,
          "values set: '%s' %d %d %d %d", o.backend, o.threads, o.Tc, o.workers, o.bind);
    CHECK(lif_plan_opts_check(&o, NULL) == LIF_OK, "set options check: %s", lif_last_error());

    /* edges */
    struct {
        const char *key, *value;
        int want;
    } edge[] = {
        {"threads", "1", 1},    {"threads", "1024", 1024}, {"Tc", "0", 0},
        {"Tc", "100000", 100000}, {"workers", "1", 1},       {"workers", "1024", 1024},
        {"threads", "0", 0}, /* auto */
        {"bind", "none", LIF_BIND_NONE}, {"bind", "cores", LIF_BIND_CORES},
    };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        lif_plan_opts_default(&o);
        s = lif_plan_opts_set(&o, edge[i].key, edge[i].value, "-x");
        int got = strcmp(edge[i].key, "threads") == 0 ? o.threads
                  : strcmp(edge[i].key, "Tc") == 0    ? o.Tc
                  : strcmp(edge[i].key, "bind") == 0  ? o.bind
                                                      : o.workers;
        CHECK(s == LIF_OK && got == edge[i].want, "set %s=%s -> %d (%d) %s", edge[i].key,
              edge[i].value, s, got, lif_last_error());
    }
    /* memory budgets, recompute, Tc auto */
    struct {
        const char *value;
        long long want; /* -1: refused */
    } budgets[] = {
        {"64M", 64ll << 20}, {"1G", 1ll << 30}, {"512K", 512ll << 10}, {"4096", 4096},
        {"1.5G", 3ll << 29}, {"64MiB", 64ll << 20}, {"64MB", 64ll << 20}, {"auto", 0},
        {"0", -1}, {"-1M", -1}, {"64X", -1}, {"M", -1}, {"", -1}, {"2000T", -1},
        {" 64M", -1}, {"64M ", -1}, {"nan", -1}, {"inf", -1},
    };
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
        lif_plan_opts_default(&o);
        o.memory_budget = 7;
        s = lif_plan_opts_set(&o, "memory_budget", budgets[i].value, "--memory-budget");
        if (budgets[i].want >= 0)
            CHECK(s == LIF_OK && o.memory_budget == budgets[i].want,
                  "--memory-budget %s -> %lld (%s)", budgets[i].value, o.memory_budget,
                  lif_last_error());
        else
            CHECK(s == LIF_ERR_INVALID_ARG && o.memory_budget == 7 &&
                      HAS("--memory-budget") && HAS("64M"),
                  "--memory-budget '%s' refused: %s", budgets[i].value, lif_last_error());
    }
    const char *rc[] = {"auto", "off", "input", "all"};
    for (int i = 0; i < 4; i++) {
        lif_plan_opts_default(&o);
        CHECK(lif_plan_opts_set(&o, "recompute", rc[i], "--recompute") == LIF_OK &&
                  o.recompute == i,
              "--recompute %s -> %d", rc[i], o.recompute);
    }
    CHECK(lif_plan_opts_set(&o, "recompute", "on", "--recompute") == LIF_ERR_INVALID_ARG &&
              HAS("--recompute") && HAS("'on'"),
          "--recompute on: %s", lif_last_error());
    o.Tc = 9;
    CHECK(lif_plan_opts_set(&o, "Tc", "auto", "--tc") == LIF_OK && o.Tc == 0, "--tc auto -> %d",
          o.Tc);
    lif_plan_opts_default(&o);
    CHECK(lif_plan_opts_from_json(&o, "{\"memory_budget\": \"2M\", \"recompute\": \"all\", "
                                      "\"Tc\": \"auto\"}", "j") == LIF_OK &&
              o.memory_budget == 2ll << 20 && o.recompute == LIF_RECOMPUTE_ALL && o.Tc == 0,
          "JSON budget/recompute/Tc: %s", lif_last_error());
    CHECK(lif_plan_opts_from_json(&o, "{\"memory_budget\": -5}", "j") == LIF_ERR_INVALID_ARG &&
              HAS("memory_budget"),
          "JSON negative budget: %s", lif_last_error());
    CHECK(lif_plan_opts_from_json(&o, "{\"recompute\": 1}", "j") == LIF_ERR_INVALID_ARG &&
              HAS("recompute"),
          "JSON recompute 1: %s", lif_last_error());
    {
        char *js = lif_plan_opts_to_json(&o);
        lif_plan_opts back;
        lif_plan_opts_default(&back);
        CHECK(js && lif_plan_opts_from_json(&back, js, "round trip") == LIF_OK &&
                  back.memory_budget == o.memory_budget && back.recompute == o.recompute,
              "options JSON round trip: %s", js ? js : "(null)");
        free(js);
    }

    lif_plan_opts_default(&o);
    CHECK(lif_plan_opts_set(&o, "backend", "scalar", "--backend") == LIF_OK &&
              lif_plan_opts_set(&o, "backend", "auto", "--backend") == LIF_OK &&
              strcmp(o.backend, "auto") == 0,
          "backend back to auto: %s", lif_last_error());

    /* every registered backend: accepted if it can run here, else UNSUPPORTED */
    size_t nb = 0;
    const lif_backend_i *const *bs = lif_backends(&nb);
    CHECK(nb >= 1 && strcmp(bs[0]->name, "scalar") == 0, "scalar is registered first");
    for (size_t i = 0; i < nb; i++) {
        const char *why;
        int avail = lif_backend_available(bs[i], &why);
        lif_plan_opts_default(&o);
        s = lif_plan_opts_set(&o, "backend", bs[i]->name, "--backend");
        if (avail)
            CHECK(s == LIF_OK && strcmp(o.backend, bs[i]->name) == 0, "set backend %s: %s",
                  bs[i]->name, lif_last_error());
        else
            CHECK(s == LIF_ERR_UNSUPPORTED && HAS("--backend") && HAS(bs[i]->name) &&
                      opts_same(&o, &d),
                  "set backend %s (unavailable: %s) -> %d %s", bs[i]->name, why, s,
                  lif_last_error());
    }

    s = lif_plan_opts_set(&o, "threads", "abc", "--threads");
    CHECK(s == LIF_ERR_INVALID_ARG &&
              strcmp(lif_last_error(), "--threads: expected an integer in 0..1024, got 'abc'") ==
                  0,
          "message: %s", lif_last_error());
    lif_plan_opts_default(&o);
    s = lif_plan_opts_set(&o, "bind", "bogus", "--bind");
    CHECK(s == LIF_ERR_INVALID_ARG &&
              strcmp(lif_last_error(), "--bind: expected none or cores, got 'bogus'") == 0,
          "message: %s", lif_last_error());
    lif_plan_opts_default(&o);
    s = lif_plan_opts_set(&o, "gpu", "1", "--gpu");
    CHECK(s == LIF_ERR_NOT_FOUND && HAS("--gpu") && opts_same(&o, &d), "unknown: %d %s", s,
          lif_last_error());
    s = lif_plan_opts_set(&o, "tc", "1", "--tc");
    CHECK(s == LIF_ERR_NOT_FOUND && HAS("--tc") && opts_same(&o, &d), "keys are exact: %d %s",
          s, lif_last_error());
    /* recipe keys belong to lif_recipe_set */
    s = lif_plan_opts_set(&o, "T", "10", "-T");
    CHECK(s == LIF_ERR_NOT_FOUND && HAS("-T") && opts_same(&o, &d), "recipe key: %d %s", s,
          lif_last_error());
    s = lif_plan_opts_set(&o, "threads", NULL, "--threads");
    CHECK(s == LIF_ERR_INVALID_ARG && HAS("--threads") && opts_same(&o, &d), "no value: %d %s",
          s, lif_last_error());

    char longname[sizeof o.backend + 8];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    struct {
        const char *key, *value;
        lif_status want;
    } bad[] = {
        {"threads", "-0x1", LIF_ERR_INVALID_ARG},  {"threads", "1025", LIF_ERR_INVALID_ARG},
        {"threads", "-1", LIF_ERR_INVALID_ARG},    {"threads", "", LIF_ERR_INVALID_ARG},
        {"threads", " 8", LIF_ERR_INVALID_ARG},    {"threads", "8x", LIF_ERR_INVALID_ARG},
        {"threads", "1.5", LIF_ERR_INVALID_ARG},   {"threads", "1e3", LIF_ERR_INVALID_ARG},
        {"threads", "99999999999999999999", LIF_ERR_INVALID_ARG},
        {"Tc", "-1", LIF_ERR_INVALID_ARG},         {"Tc", "100001", LIF_ERR_INVALID_ARG},
        {"Tc", "x", LIF_ERR_INVALID_ARG},          {"Tc", "4294967296", LIF_ERR_INVALID_ARG},
        {"workers", "-1", LIF_ERR_INVALID_ARG},     {"workers", "1025", LIF_ERR_INVALID_ARG},
        {"workers", "x", LIF_ERR_INVALID_ARG},
        {"bind", "", LIF_ERR_INVALID_ARG},         {"bind", "Cores", LIF_ERR_INVALID_ARG},
        {"bind", "core", LIF_ERR_INVALID_ARG},     {"bind", "1", LIF_ERR_INVALID_ARG},
        {"bind", "cores ", LIF_ERR_INVALID_ARG},
        {"backend", "", LIF_ERR_INVALID_ARG},      {"backend", "AVX", LIF_ERR_INVALID_ARG},
        {"backend", "a+b", LIF_ERR_INVALID_ARG},   {"backend", "scalar simd", LIF_ERR_INVALID_ARG},
        {"backend", longname, LIF_ERR_INVALID_ARG},
        {"backend", "no_such_backend", LIF_ERR_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char flag[40];
        snprintf(flag, sizeof flag, "--opt-%s", bad[i].key);
        lif_plan_opts_default(&o);
        s = lif_plan_opts_set(&o, bad[i].key, bad[i].value, flag);
        char q[sizeof longname + 4];
        snprintf(q, sizeof q, "'%s'", bad[i].value);
        CHECK(s == bad[i].want && STARTS(flag) && HAS(q), "set %s=%.20s -> %d %s", bad[i].key,
              bad[i].value, s, lif_last_error());
        CHECK(opts_same(&o, &d), "set %s=%.20s: options untouched", bad[i].key, bad[i].value);
    }
    /* a failure leaves a non-default struct alone too */
    lif_plan_opts_default(&o);
    lif_plan_opts_set(&o, "backend", "scalar", "-x");
    lif_plan_opts_set(&o, "threads", "3", "-x");
    lif_plan_opts_set(&o, "bind", "cores", "-x");
    lif_plan_opts before = o;
    CHECK(lif_plan_opts_set(&o, "backend", "no_such_backend", "-x") == LIF_ERR_NOT_FOUND &&
              lif_plan_opts_set(&o, "threads", "-1", "-x") == LIF_ERR_INVALID_ARG &&
              lif_plan_opts_set(&o, "bind", "all", "-x") == LIF_ERR_INVALID_ARG &&
              opts_same(&o, &before),
          "failed sets keep the previous values");
}

static void test_opts_check(void)
{
    lif_plan_opts o;
    /* how: STARTS (the detail starts with want) or HAS (contains it) */
#define BAD(stmt, st, k, how, want)                                                         \
    do {                                                                                    \
        lif_plan_opts_default(&o);                                                          \
        stmt;                                                                               \
        const char *key_ = "unset";                                                         \
        lif_status s_ = lif_plan_opts_check(&o, &key_);                                     \
        CHECK(s_ == (st) && key_ && strcmp(key_, k) == 0 && how(want),                      \
              "%s -> %d key %s '%s' (want %d %s '%s')", #stmt, s_, key_ ? key_ : "(null)",  \
              lif_last_error(), st, k, want);                                               \
        CHECK(lif_plan_opts_check(&o, NULL) == (st), "%s, no key pointer", #stmt);         \
    } while (0)
    const lif_status INV = LIF_ERR_INVALID_ARG, NF = LIF_ERR_NOT_FOUND;
    BAD(o.threads = -1, INV, "threads", STARTS, "threads must be in 0..1024, got -1");
    BAD(o.threads = 1025, INV, "threads", STARTS, "threads must be in 0..1024, got 1025");
    BAD(o.Tc = -1, INV, "Tc", STARTS, "Tc must be in 0..100000, got -1");
    BAD(o.Tc = 100001, INV, "Tc", STARTS, "Tc must be in 0..100000, got 100001");
    BAD(o.workers = -1, INV, "workers", STARTS, "workers must be in 0..1024, got -1");
    BAD(o.workers = 1025, INV, "workers", STARTS, "workers must be in 0..1024, got 1025");
    BAD(o.bind = -1, INV, "bind", STARTS, "bind must be 'none' or 'cores', got -1");
    BAD(o.bind = 2, INV, "bind", STARTS, "bind must be 'none' or 'cores', got 2");
    BAD(o.backend[0] = '\0', INV, "backend", STARTS, "backend ");
    BAD(strcpy(o.backend, "AVX2"), INV, "backend", STARTS, "backend ");
    BAD(strcpy(o.backend, "a.b"), INV, "backend", STARTS, "backend ");
    BAD(memset(o.backend, 'a', sizeof o.backend), INV, "backend", STARTS, "backend ");
    /* an unknown name: the registry's detail names it (and the key is reported) */
    BAD(strcpy(o.backend, "no_such_backend"), NF, "backend", HAS, "no_such_backend");
    /* two bad fields: the backend is checked first */
    BAD((o.threads = -1, strcpy(o.backend, "no_such_backend")), NF, "backend", HAS,
        "no_such_backend");
#undef BAD
    /* the range messages start with the key */
    lif_plan_opts_default(&o);
    o.Tc = -3;
    lif_plan_opts_check(&o, NULL);
    CHECK(STARTS("Tc must be in 0..100000, got -3"), "Tc message: %s", lif_last_error());

    /* edges that are fine */
    const char *key = "unset";
    lif_plan_opts_default(&o);
    strcpy(o.backend, "scalar");
    o.threads = 1024;
    o.Tc = 100000;
    o.workers = 1;
    CHECK(lif_plan_opts_check(&o, &key) == LIF_OK && key == NULL, "edges: %s",
          lif_last_error());
    o.threads = 1;
    o.Tc = 0;
    o.workers = 1024;
    o.bind = LIF_BIND_CORES;
    CHECK(lif_plan_opts_check(&o, &key) == LIF_OK && key == NULL, "edges 2: %s",
          lif_last_error());
    o.threads = 0;
    o.bind = LIF_BIND_NONE;
    CHECK(lif_plan_opts_check(&o, &key) == LIF_OK && key == NULL, "threads 0 (auto): %s",
          lif_last_error());

    /* Tc is checked against T where both are known: lif_plan_create */
    lif_recipe r;
    lif_recipe_default(&r);
    r.T = 10;
    lif_net *net = NULL;
    lif_status s = lif_net_create(&r, 4, 2, &net);
    CHECK(s == LIF_OK && net, "net: %s", lif_last_error());
    if (net) {
        lif_plan *plan = NULL;
        lif_plan_opts_default(&o);
        strcpy(o.backend, "scalar");
        o.Tc = 11;
        s = lif_plan_create(net, 1, &o, &plan);
        CHECK(s == LIF_ERR_INVALID_ARG && STARTS("Tc ") && HAS("11"), "Tc > T: %d %s", s,
              lif_last_error());
        lif_plan_destroy(plan);
        plan = NULL;
        o.Tc = 10;
        s = lif_plan_create(net, 1, &o, &plan);
        CHECK(s == LIF_OK && plan, "Tc == T: %s", lif_last_error());
        lif_plan_destroy(plan);
        plan = NULL;
        strcpy(o.backend, "no_such_backend");
        o.Tc = 0;
        s = lif_plan_create(net, 1, &o, &plan);
        CHECK(s == LIF_ERR_NOT_FOUND, "plan with unknown backend: %d %s", s, lif_last_error());
        lif_plan_destroy(plan);
        lif_net_destroy(net);
    }
}

static void test_opts_json(void)
{
    lif_plan_opts o, d;
    lif_status s;
    lif_plan_opts_default(&d);

    /* only the option keys are read; recipe keys (even bad ones) and others are skipped */
    lif_plan_opts_default(&o);
    s = lif_plan_opts_from_json(&o,
                                "{\"_comment\": \"x\", \"T\": 0, \"lr\": \"fast\", "
                                "\"hidden\": [400], \"threads\": 6, \"Tc\": 20}",
                                "cfg.json");
    CHECK(s == LIF_OK && strcmp(o.backend, "auto") == 0 && o.threads == 6 && o.Tc == 20 &&
              o.workers == 4,
          "partial options: %d %s", s, lif_last_error());
    lif_plan_opts_default(&o);
    s = lif_plan_opts_from_json(&o, "{\"T\": 10, \"batch\": 3}", "cfg.json");
    CHECK(s == LIF_OK && opts_same(&o, &d), "no option keys: %d %s", s, lif_last_error());
    s = lif_plan_opts_from_json(&o, "{}", NULL);
    CHECK(s == LIF_OK && opts_same(&o, &d), "empty object: %s", lif_last_error());

    /* the reference config: its option values are the defaults */
    memset(&o, 0, sizeof o);
    lif_plan_opts_default(&o);
    o.threads = 9;
    strcpy(o.backend, "scalar");
    s = lif_plan_opts_load(&o, LIF_SOURCE_DIR "/configs/lif_fc_mnist.json");
    CHECK(s == LIF_OK && opts_eq(&o, &d), "reference options: %d %s", s, lif_last_error());
    s = lif_plan_opts_load(&o, LIF_SOURCE_DIR "/configs/no_such_recipe.json");
    CHECK(s == LIF_ERR_IO && HAS("no_such_recipe.json"), "missing file: %d %s", s,
          lif_last_error());
    char *text = read_text(LIF_SOURCE_DIR "/configs/lif_fc_mnist.json");
    if (text) {
        lif_plan_opts_default(&o);
        o.workers = 2;
        s = lif_plan_opts_from_json(&o, text, "lif_fc_mnist.json");
        CHECK(s == LIF_OK && opts_eq(&o, &d), "reference text options: %d %s", s,
              lif_last_error());
        free(text);
    }

    /* wrong types and out-of-range values name the key and the source */
    struct {
        const char *json, *key, *want;
    } bad[] = {
        {"{\"threads\": \"8\"}", "\"threads\"", "0..1024"},
        {"{\"threads\": 8.0}", "\"threads\"", "0..1024"},
        {"{\"threads\": true}", "\"threads\"", "0..1024"},
        {"{\"threads\": null}", "\"threads\"", "0..1024"},
        {"{\"threads\": -1}", "\"threads\"", "0..1024"},
        {"{\"threads\": 2000}", "\"threads\"", "0..1024"},
        {"{\"threads\": 99999999999}", "\"threads\"", "0..1024"},
        {"{\"Tc\": -1}", "\"Tc\"", "0..100000"},
        {"{\"Tc\": 100001}", "\"Tc\"", "0..100000"},
        {"{\"Tc\": [4]}", "\"Tc\"", "0..100000"},
        {"{\"workers\": -1}", "\"workers\"", "0..1024"},
        {"{\"workers\": \"four\"}", "\"workers\"", "0..1024"},
        {"{\"backend\": 3}", "\"backend\"", "string"},
        {"{\"backend\": null}", "\"backend\"", "string"},
        {"{\"backend\": \"AVX\"}", "\"backend\"", "comma"},
        {"{\"backend\": \"\"}", "\"backend\"", "string"},
        {"{\"backend\": \"a b\"}", "\"backend\"", "string"},
        {"{\"threads\": 4, \"workers\": -1}", "\"workers\"", "0..1024"},
        {"{\"backend\": \"scalar\", \"Tc\": -2}", "\"Tc\"", "0..100000"},
        {"{\"bind\": 1}", "\"bind\"", "\"cores\""},
        {"{\"bind\": null}", "\"bind\"", "\"cores\""},
        {"{\"bind\": \"all\"}", "\"bind\"", "\"none\""},
        {"{\"bind\": \"\"}", "\"bind\"", "\"none\""},
        {"{\"bind\": \"CORES\"}", "\"bind\"", "\"none\""},
        {"{\"threads\": 4, \"bind\": [\"cores\"]}", "\"bind\"", "\"cores\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lif_plan_opts_default(&o);
        s = lif_plan_opts_from_json(&o, bad[i].json, "o.json");
        CHECK(s == LIF_ERR_INVALID_ARG && HAS(bad[i].key) && HAS(bad[i].want) && HAS("o.json"),
              "%s -> %d %s", bad[i].json, s, lif_last_error());
        CHECK(opts_same(&o, &d), "%s: options untouched", bad[i].json);
    }
    {
        char js[sizeof o.backend + 32];
        char name[sizeof o.backend + 1];
        memset(name, 'b', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        snprintf(js, sizeof js, "{\"backend\": \"%s\"}", name); /* 128 characters: too long */
        lif_plan_opts_default(&o);
        s = lif_plan_opts_from_json(&o, js, "o.json");
        CHECK(s == LIF_ERR_INVALID_ARG && HAS("\"backend\"") && opts_same(&o, &d),
              "128-character backend: %d %s", s, lif_last_error());
    }

    const char *syn[] = {"{\"threads\": 2,\n \"Tc\": }", "{\"threads\": 2,}", "", "[1, 2]",
                         "\"auto\"", "{\"threads\": 1, \"threads\": 2}", "{\"Tc\": 1} x",
                         "{\"backend\": \"scalar\\u0000x\"}"};
    for (size_t i = 0; i < sizeof syn / sizeof syn[0]; i++) {
        lif_plan_opts_default(&o);
        s = lif_plan_opts_from_json(&o, syn[i], "cfg.json");
        CHECK(s == LIF_ERR_FORMAT && HAS("cfg.json") && opts_same(&o, &d),
              "syntax '%s' -> %d %s", syn[i], s, lif_last_error());
    }
    s = lif_plan_opts_from_json(&o, "{\"threads\": 2,\n \"Tc\": }", "cfg.json");
    CHECK(HAS("cfg.json:2:"), "line number: %s", lif_last_error());
    s = lif_plan_opts_from_json(&o, NULL, "cfg.json");
    CHECK(s != LIF_OK && HAS("cfg.json") && opts_same(&o, &d), "NULL text: %d %s", s,
          lif_last_error());

    /* names are checked by lif_plan_opts_check (and lif_plan_create), not the reader */
    lif_plan_opts_default(&o);
    s = lif_plan_opts_from_json(&o, "{\"backend\": \"no_such_backend\"}", "o.json");
    CHECK(s == LIF_OK && strcmp(o.backend, "no_such_backend") == 0, "unknown name read: %d %s",
          s, lif_last_error());
    const char *key = "unset";
    s = lif_plan_opts_check(&o, &key);
    CHECK(s == LIF_ERR_NOT_FOUND && key && strcmp(key, "backend") == 0,
          "unknown name checked: %d %s", s, lif_last_error());

    /* to_json -> from_json gives the options back; keys sorted, nothing else */
    struct {
        const char *backend;
        int threads, Tc, workers, bind;
    } rt[] = {
        {"auto", 1, 0, 4, LIF_BIND_NONE},
        {"auto", 0, 0, 4, LIF_BIND_CORES},
        {"scalar", 1024, 100000, 1, LIF_BIND_NONE},
        {"no_such_backend", 3, 7, 1024, LIF_BIND_CORES},
        {"a_b_c,d_1,e2", 17, 1, 2, LIF_BIND_NONE},
    };
    for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
        lif_plan_opts a, b;
        lif_plan_opts_default(&a);
        strcpy(a.backend, rt[i].backend);
        a.threads = rt[i].threads;
        a.Tc = rt[i].Tc;
        a.workers = rt[i].workers;
        a.bind = rt[i].bind;
        char *js = lif_plan_opts_to_json(&a);
        CHECK(js != NULL, "to_json %s", rt[i].backend);
        if (!js)
            continue;
        for (size_t k = 0; k < N_OPTION_KEYS; k++)
            CHECK(has_key(js, option_keys[k]), "to_json has \"%s\": %s", option_keys[k], js);
        CHECK(strstr(js, "\"Tc\"") < strstr(js, "\"backend\"") &&
                  strstr(js, "\"backend\"") < strstr(js, "\"bind\"") &&
                  strstr(js, "\"bind\"") < strstr(js, "\"threads\"") &&
                  strstr(js, "\"threads\"") < strstr(js, "\"workers\""),
              "sorted keys: %s", js);
        CHECK(!has_key(js, "T") && !has_key(js, "lr"), "no recipe keys: %s", js);
        lif_plan_opts_default(&b);
        s = lif_plan_opts_from_json(&b, js, "rt.json");
        CHECK(s == LIF_OK && opts_eq(&a, &b), "round trip %s: %d %s\n%s", rt[i].backend, s,
              lif_last_error(), js);
        char *js2 = lif_plan_opts_to_json(&b);
        CHECK(js2 && strcmp(js, js2) == 0, "second dump differs: %s", js);
        free(js2);
        /* the recipe reader takes the options' text and changes nothing */
        lif_recipe r, rd;
        lif_recipe_default(&r);
        lif_recipe_default(&rd);
        s = lif_recipe_from_json(&r, js, "rt.json");
        CHECK(s == LIF_OK && recipe_eq(&r, &rd), "recipe reader skips options text: %d %s", s,
              lif_last_error());
        free(js);
    }
    {
        lif_plan_opts a;
        lif_plan_opts_default(&a);
        a.Tc = 3;
        char *js = lif_plan_opts_to_json(&a);
        CHECK(js && strstr(js, "\"backend\": \"auto\"") && strstr(js, "\"Tc\": 3") &&
                  strstr(js, "\"threads\": 0") && strstr(js, "\"workers\": 4") &&
                  strstr(js, "\"bind\": \"none\""),
              "to_json text: %s", js ? js : "(null)");
        free(js);
        a.bind = LIF_BIND_CORES;
        js = lif_plan_opts_to_json(&a);
        CHECK(js && strstr(js, "\"bind\": \"cores\""), "to_json bind cores: %s",
              js ? js : "(null)");
        free(js);
        a.bind = 7;
        js = lif_plan_opts_to_json(&a);
        CHECK(js == NULL, "an invalid bind has no JSON form: %s", js ? js : "(null)");
        free(js);
        a.bind = LIF_BIND_NONE;
        memset(a.backend, 'a', sizeof a.backend); /* no terminator */
        js = lif_plan_opts_to_json(&a);
        CHECK(js == NULL, "unterminated backend has no JSON form");
        free(js);
    }

    /* one config text, two readers: each takes its own keys */
    const char *cfg = "{\"T\": 20, \"Tc\": 5, \"backend\": \"scalar\", \"lr\": 0.01, "
                      "\"threads\": 2, \"workers\": 3, \"bind\": \"cores\", \"opt\": \"sgd\"}";
    lif_recipe r;
    lif_recipe_default(&r);
    lif_plan_opts_default(&o);
    s = lif_recipe_from_json(&r, cfg, "both.json");
    CHECK(s == LIF_OK && r.T == 20 && r.lr == 0.01 && r.opt == LIF_OPT_SGD,
          "recipe from shared config: %d %s", s, lif_last_error());
    s = lif_plan_opts_from_json(&o, cfg, "both.json");
    CHECK(s == LIF_OK && strcmp(o.backend, "scalar") == 0 && o.Tc == 5 && o.threads == 2 &&
              o.workers == 3 && o.bind == LIF_BIND_CORES,
          "options from shared config: %d %s", s, lif_last_error());
    CHECK(lif_recipe_validate(&r) == LIF_OK && lif_plan_opts_check(&o, NULL) == LIF_OK,
          "shared config validates: %s", lif_last_error());
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
    test_opts_defaults();
    test_opts_set();
    test_opts_check();
    test_opts_json();
    test_run_name();
    return test_finish("test_recipe");
}
