/* recipe.c — the recipe: defaults, JSON in and out, flags, validation.
 *
 * Every key is one row of `fields`; set(), from_json() and validate() all
 * walk that table, so a key's type, range and wording live in one place. */
#include "lif/recipe.h"
#include "lif/net.h"
#include "internal.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum kind {
    K_INT,    /* int field, lo..hi */
    K_U32,    /* uint32_t field */
    K_DBL,    /* double field, finite, lo/hi open or closed */
    K_FLT,    /* float field, same */
    K_BOOL,   /* int field, 0 or 1 */
    K_SURR,   /* neuron.surrogate */
    K_LOSS,   /* loss */
    K_OPT,    /* opt */
    K_HIDDEN, /* n_hidden + hidden[] */
    K_VRESET  /* neuron.v_reset + neuron.soft_reset */
} kind;

typedef struct field {
    const char *key;
    kind k;
    size_t off;
    double lo, hi;
    int lo_open, hi_open;
    const char *desc;  /* numbers: what a good value is */
} field;

#define OFF(m) offsetof(lif_recipe, m)
#define HID_MAX 100000

/* Table order is the order of application: surrogate before alpha. */
static const field fields[] = {
    {"T", K_INT, OFF(T), 1, 100000, 0, 0, "an integer in 1..100000"},
    {"batch", K_INT, OFF(batch), 1, 65536, 0, 0, "an integer in 1..65536"},
    {"epochs", K_INT, OFF(epochs), 1, INT_MAX, 0, 0, "an integer >= 1"},
    {"seed", K_U32, OFF(seed), 0, UINT32_MAX, 0, 0, "an integer in 0..4294967295"},
    {"hidden", K_HIDDEN, 0, 1, HID_MAX, 0, 0, NULL},
    {"bias", K_BOOL, OFF(bias), 0, 1, 0, 0, NULL},
    {"tau", K_FLT, OFF(neuron.tau), 1, INFINITY, 1, 0, "a number > 1"},
    {"v_threshold", K_FLT, OFF(neuron.v_threshold), -INFINITY, INFINITY, 0, 0,
     "a finite number"},
    {"v_reset", K_VRESET, 0, 0, 0, 0, 0, NULL},
    {"decay_input", K_BOOL, OFF(neuron.decay_input), 0, 1, 0, 0, NULL},
    {"detach_reset", K_BOOL, OFF(neuron.detach_reset), 0, 1, 0, 0, NULL},
    {"surrogate", K_SURR, 0, 0, 0, 0, 0, NULL},
    {"alpha", K_FLT, OFF(neuron.alpha), 0, INFINITY, 1, 0, "a number > 0"},
    {"loss", K_LOSS, 0, 0, 0, 0, 0, NULL},
    {"opt", K_OPT, 0, 0, 0, 0, 0, NULL},
    {"lr", K_DBL, OFF(lr), 0, INFINITY, 1, 0, "a number > 0"},
    {"momentum", K_DBL, OFF(momentum), 0, 1, 0, 1, "a number in [0, 1)"},
    {"beta1", K_DBL, OFF(beta1), 0, 1, 0, 1, "a number in [0, 1)"},
    {"beta2", K_DBL, OFF(beta2), 0, 1, 0, 1, "a number in [0, 1)"},
    {"eps", K_DBL, OFF(eps), 0, INFINITY, 1, 0, "a number > 0"},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

static const char *const surr_names[] = {"atan", "sigmoid"};
static const char *const loss_names[] = {"mse", "ce"};
static const char *const opt_names[] = {"adam", "sgd"};

static const field *find(const char *key)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strcmp(fields[i].key, key) == 0)
            return &fields[i];
    return NULL;
}

static int *int_at(lif_recipe *r, const field *f)
{
    return (int *)((char *)r + f->off);
}

static int int_of(const lif_recipe *r, const field *f)
{
    return *(const int *)((const char *)r + f->off);
}

static double num_of(const lif_recipe *r, const field *f)
{
    const char *p = (const char *)r + f->off;
    return f->k == K_FLT ? (double)*(const float *)p : *(const double *)p;
}

static int same_d(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }
static int same_f(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Shortest "%g" text that reads back (through strtod, then to float) as f;
 * returns the double that text reads as. */
static double flt_text(float f, char *buf, size_t n)
{
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, n, "%.*g", p, (double)f);
        double d = strtod(buf, NULL);
        if (same_f((float)d, f))
            return d;
    }
    snprintf(buf, n, "%.17g", (double)f);
    return (double)f;
}

/* Fewest significant digits with which "%.*g" reads back as v. */
static int dbl_prec(double v)
{
    char b[64];
    for (int p = 1; p < 17; p++) {
        snprintf(b, sizeof b, "%.*g", p, v);
        if (same_d(strtod(b, NULL), v))
            return p;
    }
    return 17;
}

/* Shortest round-trip text of v formatted as Python's repr(float). */
static void py_float(double v, char *buf, size_t n)
{
    if (isnan(v)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, n, "%s", v < 0 ? "-inf" : "inf");
        return;
    }
    char e[64], dig[24];
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (same_d(strtod(e, NULL), v))
            break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    /* e is [-]d[.ddd]e(+|-)xx: collect the digits and the exponent */
    const char *s = e;
    int neg = *s == '-', nd = 0;
    if (neg)
        s++;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            dig[nd++] = *s;
    int x = *s == 'e' ? atoi(s + 1) : 0;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    if (nd == 1 && dig[0] == '0')
        x = 0;
    dig[nd] = '\0';

    char out[64];
    size_t k = 0;
    if (neg)
        out[k++] = '-';
    if (x < -4 || x >= 16) {
        out[k++] = dig[0];
        if (nd > 1) {
            out[k++] = '.';
            for (int i = 1; i < nd; i++)
                out[k++] = dig[i];
        }
        snprintf(out + k, sizeof out - k, "e%c%02d", x < 0 ? '-' : '+', abs(x));
    } else if (x < 0) {
        out[k++] = '0';
        out[k++] = '.';
        for (int i = 0; i < -x - 1; i++)
            out[k++] = '0';
        for (int i = 0; i < nd; i++)
            out[k++] = dig[i];
        out[k] = '\0';
    } else {
        for (int i = 0; i <= x; i++)
            out[k++] = i < nd ? dig[i] : '0';
        out[k++] = '.';
        if (nd > x + 1)
            for (int i = x + 1; i < nd; i++)
                out[k++] = dig[i];
        else
            out[k++] = '0';
        out[k] = '\0';
    }
    snprintf(buf, n, "%s", out);
}

/* A number of field f as text for messages. */
static void num_text(const lif_recipe *r, const field *f, char *buf, size_t n)
{
    if (f->k == K_FLT)
        flt_text(*(const float *)((const char *)r + f->off), buf, n);
    else
        snprintf(buf, n, "%.*g", dbl_prec(num_of(r, f)), num_of(r, f));
}

/* Checks field f of r alone; on failure writes "must be ..., got ..." */
static int check_field(const lif_recipe *r, const field *f, char *msg, size_t n)
{
    char v[64];
    switch (f->k) {
    case K_INT: {
        int x = int_of(r, f);
        if (x < f->lo) {
            snprintf(msg, n, "must be >= %.0f, got %d", f->lo, x);
            return -1;
        }
        if (x > f->hi) {
            snprintf(msg, n, "must be <= %.0f, got %d", f->hi, x);
            return -1;
        }
        return 0;
    }
    case K_U32:
        return 0;
    case K_DBL:
    case K_FLT: {
        double x = num_of(r, f);
        num_text(r, f, v, sizeof v);
        if (!isfinite(x)) {
            snprintf(msg, n, "must be finite, got %s", v);
            return -1;
        }
        if (f->lo_open ? !(x > f->lo) : !(x >= f->lo)) {
            snprintf(msg, n, "must be %s %g, got %s", f->lo_open ? ">" : ">=", f->lo, v);
            return -1;
        }
        if (f->hi_open ? !(x < f->hi) : !(x <= f->hi)) {
            snprintf(msg, n, "must be %s %g, got %s", f->hi_open ? "<" : "<=", f->hi, v);
            return -1;
        }
        return 0;
    }
    case K_BOOL: {
        int x = int_of(r, f);
        if (x != 0 && x != 1) {
            snprintf(msg, n, "must be 0 or 1, got %d", x);
            return -1;
        }
        return 0;
    }
    case K_SURR:
        if ((unsigned)r->neuron.surrogate > LIF_SURR_SIGMOID) {
            snprintf(msg, n, "must be atan or sigmoid, got %d", (int)r->neuron.surrogate);
            return -1;
        }
        return 0;
    case K_LOSS:
        if ((unsigned)r->loss > LIF_LOSS_CE) {
            snprintf(msg, n, "must be mse or ce, got %d", (int)r->loss);
            return -1;
        }
        return 0;
    case K_OPT:
        if ((unsigned)r->opt > LIF_OPT_SGD) {
            snprintf(msg, n, "must be adam or sgd, got %d", (int)r->opt);
            return -1;
        }
        return 0;
    case K_HIDDEN:
        if (r->n_hidden < 0 || r->n_hidden > LIF_MAX_HIDDEN) {
            snprintf(msg, n, "must have 0..%d layers, got %d", LIF_MAX_HIDDEN, r->n_hidden);
            return -1;
        }
        for (int i = 0; i < r->n_hidden; i++)
            if (r->hidden[i] < 1 || r->hidden[i] > HID_MAX) {
                snprintf(msg, n, "sizes must be in 1..%d, got %d (layer %d)", HID_MAX,
                         r->hidden[i], i);
                return -1;
            }
        return 0;
    case K_VRESET:
        if (r->neuron.soft_reset != 0 && r->neuron.soft_reset != 1) {
            snprintf(msg, n, "soft_reset must be 0 or 1, got %d", r->neuron.soft_reset);
            return -1;
        }
        if (!r->neuron.soft_reset && !isfinite(r->neuron.v_reset)) {
            flt_text(r->neuron.v_reset, v, sizeof v);
            snprintf(msg, n, "must be finite, got %s", v);
            return -1;
        }
        return 0;
    }
    return 0;
}

/* What a good value of f looks like, for messages; json selects the words. */
static const char *expect(const field *f, int json)
{
    switch (f->k) {
    case K_BOOL:
        return json ? "true or false" : "a boolean (1/0, true/false, yes/no, on/off)";
    case K_SURR:
        return json ? "\"atan\" or \"sigmoid\"" : "atan or sigmoid";
    case K_LOSS:
        return json ? "\"mse\" or \"ce\"" : "mse or ce";
    case K_OPT:
        return json ? "\"adam\" or \"sgd\"" : "adam or sgd";
    case K_HIDDEN:
        return json ? "an array of at most 8 integers in 1..100000"
                    : "a comma-separated list of at most 8 integers in 1..100000, or none";
    case K_VRESET:
        return json ? "a number or null" : "a number or none";
    default:
        return f->desc;
    }
}

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static int lower_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char c = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        if (c != *b)
            return 0;
    }
    return *a == *b;
}

int lif_parse_ll(const char *s, long long *out)
{
    if (!((*s >= '0' && *s <= '9') || ((*s == '-' || *s == '+') && s[1] >= '0' && s[1] <= '9')))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_dbl(const char *s, double *out)
{
    if (!*s || *s == ' ' || (*s >= '\t' && *s <= '\r'))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Stores an integer into field f of r; -1 if it cannot hold it. */
static int put_int(lif_recipe *r, const field *f, long long v)
{
    if (f->k == K_U32) {
        if (v < 0 || v > (long long)UINT32_MAX)
            return -1;
        r->seed = (uint32_t)v;
        return 0;
    }
    if (v < INT_MIN || v > INT_MAX)
        return -1;
    *int_at(r, f) = (int)v;
    return 0;
}

static void put_num(lif_recipe *r, const field *f, double v)
{
    char *p = (char *)r + f->off;
    if (f->k == K_FLT)
        *(float *)p = (float)v;
    else
        *(double *)p = v;
}

static void put_surr(lif_recipe *r, int s)
{
    r->neuron.surrogate = (lif_surrogate)s;
    r->neuron.alpha = s == LIF_SURR_SIGMOID ? 4.0f : 2.0f;
}

static void put_vreset(lif_recipe *r, int soft, double v)
{
    r->neuron.soft_reset = soft;
    r->neuron.v_reset = soft ? 0.0f : (float)v;
}

/* Parses text s into field f of r (not yet range-checked); -1 if bad. */
static int set_text(lif_recipe *r, const field *f, const char *s)
{
    long long i;
    double d;
    int x;
    switch (f->k) {
    case K_INT:
    case K_U32:
        return lif_parse_ll(s, &i) ? -1 : put_int(r, f, i);
    case K_DBL:
    case K_FLT:
        if (parse_dbl(s, &d))
            return -1;
        put_num(r, f, d);
        return 0;
    case K_BOOL: {
        static const char *const yes[] = {"1", "true", "yes", "on"};
        static const char *const no[] = {"0", "false", "no", "off"};
        for (int k = 0; k < 4; k++) {
            if (lower_eq(s, yes[k]) || lower_eq(s, no[k])) {
                *int_at(r, f) = lower_eq(s, yes[k]);
                return 0;
            }
        }
        return -1;
    }
    case K_SURR:
        if ((x = lookup(surr_names, 2, s)) < 0)
            return -1;
        put_surr(r, x);
        return 0;
    case K_LOSS:
        if ((x = lookup(loss_names, 2, s)) < 0)
            return -1;
        r->loss = (lif_loss_kind)x;
        return 0;
    case K_OPT:
        if ((x = lookup(opt_names, 2, s)) < 0)
            return -1;
        r->opt = (lif_opt_kind)x;
        return 0;
    case K_HIDDEN: {
        int h[LIF_MAX_HIDDEN], n = 0;
        if (*s && !lower_eq(s, "none")) {
            for (;;) {
                if (!(*s >= '0' && *s <= '9') || n == LIF_MAX_HIDDEN)
                    return -1;
                char *end;
                errno = 0;
                long v = strtol(s, &end, 10);
                if (errno || v > INT_MAX || (*end && *end != ','))
                    return -1;
                h[n++] = (int)v;
                if (!*end)
                    break;
                s = end + 1;
            }
        }
        r->n_hidden = n;
        memset(r->hidden, 0, sizeof r->hidden);
        memcpy(r->hidden, h, (size_t)n * sizeof h[0]);
        return 0;
    }
    case K_VRESET:
        if (lower_eq(s, "none") || lower_eq(s, "null")) {
            put_vreset(r, 1, 0);
            return 0;
        }
        if (parse_dbl(s, &d))
            return -1;
        put_vreset(r, 0, d);
        return 0;
    }
    return -1;
}

/* Parses JSON value j into field f of r (not yet range-checked). */
static int set_json(lif_recipe *r, const field *f, const json_t *j)
{
    int x;
    switch (f->k) {
    case K_INT:
    case K_U32:
        return json_is_integer(j) ? put_int(r, f, json_integer_value(j)) : -1;
    case K_DBL:
    case K_FLT:
        if (!json_is_number(j))
            return -1;
        put_num(r, f, json_number_value(j));
        return 0;
    case K_BOOL:
        if (!json_is_boolean(j))
            return -1;
        *int_at(r, f) = json_is_true(j);
        return 0;
    case K_SURR:
        if (!json_is_string(j) || (x = lookup(surr_names, 2, json_string_value(j))) < 0)
            return -1;
        put_surr(r, x);
        return 0;
    case K_LOSS:
        if (!json_is_string(j) || (x = lookup(loss_names, 2, json_string_value(j))) < 0)
            return -1;
        r->loss = (lif_loss_kind)x;
        return 0;
    case K_OPT:
        if (!json_is_string(j) || (x = lookup(opt_names, 2, json_string_value(j))) < 0)
            return -1;
        r->opt = (lif_opt_kind)x;
        return 0;
    case K_HIDDEN: {
        size_t n = json_is_array(j) ? json_array_size(j) : SIZE_MAX;
        if (n > LIF_MAX_HIDDEN)
            return -1;
        memset(r->hidden, 0, sizeof r->hidden);
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(j, i);
            json_int_t v = json_is_integer(e) ? json_integer_value(e) : -1;
            if (!json_is_integer(e) || v < INT_MIN || v > INT_MAX)
                return -1;
            r->hidden[i] = (int)v;
        }
        r->n_hidden = (int)n;
        return 0;
    }
    case K_VRESET:
        if (json_is_null(j)) {
            put_vreset(r, 1, 0);
            return 0;
        }
        if (!json_is_number(j))
            return -1;
        put_vreset(r, 0, json_number_value(j));
        return 0;
    }
    return -1;
}

/* The reference recipe (values in the comments above). */
void lif_recipe_default(lif_recipe *r)
{
    memset(r, 0, sizeof *r);
    r->T = 100;
    r->batch = 64;
    r->epochs = 100;
    r->seed = 0;
    r->n_hidden = 0;
    r->bias = 0;
    r->neuron.tau = 2.0f;
    r->neuron.v_threshold = 1.0f;
    r->neuron.v_reset = 0.0f;
    r->neuron.soft_reset = 0;
    r->neuron.decay_input = 1;
    r->neuron.detach_reset = 0;
    r->neuron.surrogate = LIF_SURR_ATAN;
    r->neuron.alpha = 2.0f;
    r->loss = LIF_LOSS_MSE;
    r->opt = LIF_OPT_ADAM;
    r->lr = 1e-3;
    r->momentum = 0.9;
    r->beta1 = 0.9;
    r->beta2 = 0.999;
    r->eps = 1e-8;
}

/* Checks every field, then the relations between fields. */
lif_status lif_recipe_check(const lif_recipe *r, const char **key)
{
    char msg[160], a[64], b[64];
    const char *dummy;
    if (!key)
        key = &dummy;
    *key = NULL;
    for (size_t i = 0; i < N_FIELDS; i++)
        if (check_field(r, &fields[i], msg, sizeof msg)) {
            *key = fields[i].key;
            return lif_error(LIF_ERR_INVALID_ARG, "%s %s", fields[i].key, msg);
        }
    if (!r->neuron.soft_reset && !(r->neuron.v_reset < r->neuron.v_threshold)) {
        flt_text(r->neuron.v_reset, a, sizeof a);
        flt_text(r->neuron.v_threshold, b, sizeof b);
        *key = "v_reset";
        return lif_error(LIF_ERR_INVALID_ARG, "v_reset must be < v_threshold (%s), got %s", b, a);
    }
    return LIF_OK;
}

lif_status lif_recipe_validate(const lif_recipe *r) { return lif_recipe_check(r, NULL); }

int lif_recipe_is_option_key(const char *key)
{
    for (size_t i = 0; lif_plan_opts_key(i); i++)
        if (strcmp(lif_plan_opts_key(i), key) == 0)
            return 1;
    return 0;
}

/* Applies the keys of a parsed JSON object to *r, all or nothing. */
static lif_status from_obj(lif_recipe *r, json_t *obj, const char *what)
{
    const char *key;
    json_t *v;
    char msg[160];
    if (!json_is_object(obj))
        return lif_error(LIF_ERR_FORMAT, "%s: expected a JSON object", what);
    json_object_foreach(obj, key, v) {
        if (!find(key) && strcmp(key, "_comment") != 0 && !lif_recipe_is_option_key(key))
            return lif_error(LIF_ERR_INVALID_ARG, "%s: unknown key \"%s\"", what, key);
    }
    lif_recipe t = *r;
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        if (!(v = json_object_get(obj, f->key)))
            continue;
        if (set_json(&t, f, v) || check_field(&t, f, msg, sizeof msg)) {
            char *got = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            lif_status s = lif_error(LIF_ERR_INVALID_ARG, "%s: key \"%s\": expected %s, got %.60s%s",
                                     what, f->key, expect(f, 1), got ? got : "?",
                                     got && strlen(got) > 60 ? "..." : "");
            free(got);
            return s;
        }
    }
    *r = t;
    return LIF_OK;
}

static lif_status from_buf(lif_recipe *r, const char *buf, size_t len, const char *what)
{
    json_error_t err;
    if (!what)
        what = "<json>";
    json_t *obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!obj)
        return lif_error(LIF_ERR_FORMAT, "%s:%d:%d: %s", what, err.line, err.column, err.text);
    lif_status s = from_obj(r, obj, what);
    json_decref(obj);
    return s;
}

/* Applies the fields present in a JSON object text to *r. */
lif_status lif_recipe_from_json(lif_recipe *r, const char *json, const char *what)
{
    if (!json)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: no JSON text", what ? what : "<json>");
    return from_buf(r, json, strlen(json), what);
}

/* Reads the file at path and applies it as JSON. */
lif_status lif_recipe_load(lif_recipe *r, const char *path)
{
    lif_status s = LIF_OK;
    size_t len = 0, cap = 4096;
    char *buf = NULL;
    FILE *fp = NULL;
    if ((s = lif_fopen_input(path, &fp)) != LIF_OK)
        goto fail;
    for (;;) {
        if (len == cap || !buf) {
            if (buf)
                cap *= 2;
            if (cap > ((size_t)16 << 20)) {
                s = lif_error(LIF_ERR_FORMAT, "%s: larger than 16 MiB, not a recipe", path);
                goto fail;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                s = lif_error(LIF_ERR_NOMEM, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) {
                s = lif_error(LIF_ERR_IO, "%s: %s", path, strerror(errno));
                goto fail;
            }
            break;
        }
    }
    s = from_buf(r, buf, len, path);
fail:
    if (fp)
        fclose(fp);
    free(buf);
    return s;
}

/* Builds the JSON object of r; NULL if it cannot (non-finite numbers). */
static json_t *to_obj(const lif_recipe *r, int *prec)
{
    char tmp[64];
    double vals[N_FIELDS];
    int nv = 0;
    json_t *o = json_object(), *h = json_array();
    if (!o || !h || r->n_hidden < 0 || r->n_hidden > LIF_MAX_HIDDEN)
        goto fail;
    for (int i = 0; i < r->n_hidden; i++)
        if (json_array_append_new(h, json_integer(r->hidden[i])))
            goto fail;
    int rc = json_object_set_new(o, "hidden", h);  /* steals h */
    h = NULL;
    if (rc)
        goto fail;
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        json_t *v = NULL;
        double d;
        switch (f->k) {
        case K_INT:
            v = json_integer(int_of(r, f));
            break;
        case K_U32:
            v = json_integer(r->seed);
            break;
        case K_DBL:
        case K_FLT:
            d = f->k == K_FLT ? flt_text(*(const float *)((const char *)r + f->off), tmp,
                                         sizeof tmp)
                              : num_of(r, f);
            vals[nv++] = d;
            v = json_real(d);
            break;
        case K_BOOL:
            v = json_boolean(int_of(r, f));
            break;
        case K_SURR:
            v = (unsigned)r->neuron.surrogate <= LIF_SURR_SIGMOID
                    ? json_string(surr_names[r->neuron.surrogate]) : NULL;
            break;
        case K_LOSS:
            v = (unsigned)r->loss <= LIF_LOSS_CE ? json_string(loss_names[r->loss]) : NULL;
            break;
        case K_OPT:
            v = (unsigned)r->opt <= LIF_OPT_SGD ? json_string(opt_names[r->opt]) : NULL;
            break;
        case K_HIDDEN:
            continue;
        case K_VRESET:
            if (r->neuron.soft_reset) {
                v = json_null();
            } else {
                d = flt_text(r->neuron.v_reset, tmp, sizeof tmp);
                vals[nv++] = d;
                v = json_real(d);
            }
            break;
        }
        if (!v || json_object_set_new(o, f->key, v))
            goto fail;
    }
    /* one precision for all reals: the least with which each reads back */
    int p = 1;
    for (int i = 0; i < nv; i++)
        if (dbl_prec(vals[i]) > p)
            p = dbl_prec(vals[i]);
    for (; p < 17; p++) {
        int ok = 1;
        for (int i = 0; i < nv && ok; i++) {
            snprintf(tmp, sizeof tmp, "%.*g", p, vals[i]);
            ok = same_d(strtod(tmp, NULL), vals[i]);
        }
        if (ok)
            break;
    }
    *prec = p;
    return o;
fail:
    json_decref(h);
    json_decref(o);
    return NULL;
}

/* The whole recipe as JSON text, keys sorted, two-space indent. */
char *lif_recipe_to_json(const lif_recipe *r)
{
    int prec = 17;
    json_t *o = to_obj(r, &prec);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(prec));
    json_decref(o);
    return s;
}

/* Sets one field from text; all or nothing. */
lif_status lif_recipe_set(lif_recipe *r, const char *key, const char *value,
                          const char *flag)
{
    char msg[160];
    const field *f = key ? find(key) : NULL;
    if (!flag)
        flag = key ? key : "?";
    if (!f)
        return lif_error(LIF_ERR_NOT_FOUND, "%s: unknown recipe key '%s'", flag,
                         key ? key : "");
    if (!value)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: expected %s, got no value", flag,
                         expect(f, 0));
    lif_recipe t = *r;
    if (set_text(&t, f, value) || check_field(&t, f, msg, sizeof msg))
        return lif_error(LIF_ERR_INVALID_ARG, "%s: expected %s, got '%s'", flag,
                         expect(f, 0), value);
    *r = t;
    return LIF_OK;
}

/* "T{T}_b{batch}_{opt}_lr{lr}", lr as Python's str(float). */
void lif_recipe_run_name(const lif_recipe *r, char *buf, size_t size)
{
    char lr[64];
    if (!buf || size == 0)
        return;
    py_float(r->lr, lr, sizeof lr);
    snprintf(buf, size, "T%d_b%d_%s_lr%s", r->T, r->batch,
             r->opt == LIF_OPT_SGD ? "sgd" : "adam", lr);
}

/* Name of the i-th recipe key in application order; NULL past the end. */
const char *lif_recipe_key(size_t i)
{
    return i < N_FIELDS ? fields[i].key : NULL;
}
