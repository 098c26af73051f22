/* Plan options: how to run a net — backend preference list, threads (0:
 * auto, resolved by lif_plan_create), time chunk, data workers, thread
 * binding — kept apart from the recipe (the model and its training, what
 * checkpoints store). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/net.h"
#include "internal.h"

typedef struct opt_int {
    const char *key;
    size_t off;
    int lo, hi;
} opt_int;

#define OFF(m) offsetof(lif_plan_opts, m)
static const opt_int ints[] = {
    {"threads", OFF(threads), 0, 1024},
    {"Tc", OFF(Tc), 0, 100000},
    {"workers", OFF(workers), 0, 1024},
    {"amp", OFF(amp), 0, 1},
};
#define N_INTS (sizeof ints / sizeof ints[0])

static int *at(lif_plan_opts *o, const opt_int *f) { return (int *)((char *)o + f->off); }
static int of(const lif_plan_opts *o, const opt_int *f)
{
    return *(const int *)((const char *)o + f->off);
}

/* The values of "bind", indexed by LIF_BIND_NONE, LIF_BIND_CORES. */
static const char *const binds[] = {"none", "cores"};
#define N_BINDS (sizeof binds / sizeof binds[0])

static int bind_parse(const char *s)
{
    for (size_t i = 0; s && i < N_BINDS; i++)
        if (strcmp(s, binds[i]) == 0)
            return (int)i;
    return -1;
}

static int bind_ok(int v) { return v >= 0 && (size_t)v < N_BINDS; }

/* The values of "recompute", indexed by LIF_RECOMPUTE_*. */
static const char *const recomputes[] = {"auto", "off", "input", "all"};
#define N_RECOMPUTES (sizeof recomputes / sizeof recomputes[0])

static int recompute_parse(const char *s)
{
    for (size_t i = 0; s && i < N_RECOMPUTES; i++)
        if (strcmp(s, recomputes[i]) == 0)
            return (int)i;
    return -1;
}

static int recompute_ok(int v) { return v >= 0 && (size_t)v < N_RECOMPUTES; }

/* The largest memory budget: 1 PiB. */
#define BUDGET_MAX (1ll << 50)

/* "64M", "1G", "512K", "4096" (bytes; K, M, G, T are powers of 1024, an
 * optional "B" or "iB" may follow) into *v; -1 if malformed or out of
 * 1..BUDGET_MAX. */
static int budget_parse(const char *s, long long *v)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    double x = strtod(s, &end);
    if (errno || end == s || !(x > 0))
        return -1;
    double mul = 1;
    switch (*end) {
    case 'K': case 'k': mul = 1024.0; end++; break;
    case 'M': case 'm': mul = 1048576.0; end++; break;
    case 'G': case 'g': mul = 1073741824.0; end++; break;
    case 'T': case 't': mul = 1099511627776.0; end++; break;
    default: break;
    }
    if (mul > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
        end += strlen(end);
    else if (mul == 1 && strcmp(end, "B") == 0)
        end++;
    if (*end || x * mul < 1 || x * mul > (double)BUDGET_MAX)
        return -1;
    *v = (long long)(x * mul);
    return 0;
}

const char *lif_plan_opts_key(size_t i)
{
    static const char *const more[] = {"bind", "memory_budget", "recompute"};
    if (i == 0)
        return "backend";
    if (i <= N_INTS)
        return ints[i - 1].key;
    i -= N_INTS + 1;
    return i < sizeof more / sizeof more[0] ? more[i] : NULL;
}

void lif_plan_opts_default(lif_plan_opts *o)
{
    memset(o, 0, sizeof *o);
    memcpy(o->backend, "auto", 5);
    o->threads = 0;
    o->Tc = 0;
    o->workers = 4;
    o->bind = LIF_BIND_NONE;
    o->memory_budget = 0;
    o->recompute = LIF_RECOMPUTE_AUTO;
}

/* A backend list's characters: names of [a-z0-9_] and commas. */
static int list_chars_ok(const char *s, size_t cap)
{
    const char *end = memchr(s, '\0', cap);
    if (!end || end == s)
        return 0;
    for (; s < end; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == ',' ||
              *s == '-'))
            return 0;
    return 1;
}

lif_status lif_plan_opts_check(const lif_plan_opts *o, const char **key)
{
    const char *dummy;
    if (!key)
        key = &dummy;
    *key = "backend";
    if (!list_chars_ok(o->backend, sizeof o->backend))
        return lif_error(LIF_ERR_INVALID_ARG,
                         "backend must be 'auto' or backend names of [a-z0-9_] separated by "
                         "commas, at most %zu characters", sizeof o->backend - 1);
    lif_status st = lif_backend_list_check(o->backend);
    if (st != LIF_OK)
        return st;
    for (size_t i = 0; i < N_INTS; i++) {
        int v = of(o, &ints[i]);
        if (v < ints[i].lo || v > ints[i].hi) {
            *key = ints[i].key;
            return lif_error(LIF_ERR_INVALID_ARG, "%s must be in %d..%d, got %d", ints[i].key,
                             ints[i].lo, ints[i].hi, v);
        }
    }
    if (!bind_ok(o->bind)) {
        *key = "bind";
        return lif_error(LIF_ERR_INVALID_ARG, "bind must be 'none' or 'cores', got %d", o->bind);
    }
    if (o->memory_budget < 0 || o->memory_budget > BUDGET_MAX) {
        *key = "memory_budget";
        return lif_error(LIF_ERR_INVALID_ARG, "memory_budget must be 0 (auto) or 1..2^50 bytes, got %lld",
                         o->memory_budget);
    }
    if (!recompute_ok(o->recompute)) {
        *key = "recompute";
        return lif_error(LIF_ERR_INVALID_ARG, "recompute must be 'auto', 'off', 'input' or 'all', got %d",
                         o->recompute);
    }
    if (!memchr(o->kernels, '\0', sizeof o->kernels) ||
        !memchr(o->kernels_from, '\0', sizeof o->kernels_from)) {
        *key = "kernels";
        return lif_error(LIF_ERR_INVALID_ARG, "kernels: not a terminated string");
    }
    if ((st = lif_kernel_names_check(o->kernels)) != LIF_OK) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", lif_last_error());
        *key = "kernels";
        return lif_error(st, "kernels: %s", detail);
    }
    *key = NULL;
    return LIF_OK;
}

lif_status lif_plan_opts_set(lif_plan_opts *o, const char *key, const char *value,
                             const char *flag)
{
    if (!flag)
        flag = key ? key : "?";
    if (!value)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: got no value", flag);
    if (key && strcmp(key, "backend") == 0) {
        lif_plan_opts t = *o;
        size_t n = strlen(value);
        if (n >= sizeof t.backend || !list_chars_ok(value, n + 1))
            return lif_error(LIF_ERR_INVALID_ARG,
                             "%s: expected 'auto' or backend names separated by commas "
                             "(lif info lists them), got '%s'", flag, value);
        memcpy(t.backend, value, n + 1);
        lif_status st = lif_backend_list_check(t.backend);
        if (st != LIF_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", lif_last_error());
            return lif_error(st, "%s: %s", flag, why);
        }
        *o = t;
        return LIF_OK;
    }
    if (key && strcmp(key, "bind") == 0) {
        int b = bind_parse(value);
        if (b < 0)
            return lif_error(LIF_ERR_INVALID_ARG, "%s: expected none or cores, got '%s'", flag,
                             value);
        o->bind = b;
        return LIF_OK;
    }
    if (key && strcmp(key, "recompute") == 0) {
        int b = recompute_parse(value);
        if (b < 0)
            return lif_error(LIF_ERR_INVALID_ARG, "%s: expected auto, off, input or all, got '%s'", flag,
                             value);
        o->recompute = b;
        return LIF_OK;
    }
    if (key && strcmp(key, "memory_budget") == 0) {
        long long v;
        if (strcmp(value, "auto") == 0)
            v = 0;
        else if (budget_parse(value, &v))
            return lif_error(LIF_ERR_INVALID_ARG,
                             "%s: expected a size such as 64M, 1G, 512K or a number of bytes "
                             "(at most 1P), or auto, got '%s'", flag, value);
        o->memory_budget = v;
        return LIF_OK;
    }
    if (key && strcmp(key, "Tc") == 0 && strcmp(value, "auto") == 0) {
        o->Tc = 0;
        return LIF_OK;
    }
    for (size_t i = 0; key && i < N_INTS; i++) {
        if (strcmp(key, ints[i].key) != 0)
            continue;
        long long v;
        if (lif_parse_ll(value, &v) || v < ints[i].lo || v > ints[i].hi)
            return lif_error(LIF_ERR_INVALID_ARG, "%s: expected an integer in %d..%d, got '%s'",
                             flag, ints[i].lo, ints[i].hi, value);
        *at(o, &ints[i]) = (int)v;
        return LIF_OK;
    }
    return lif_error(LIF_ERR_NOT_FOUND, "%s: unknown plan option '%s'", flag, key ? key : "");
}

static lif_status from_obj(lif_plan_opts *o, json_t *obj, const char *what)
{
    if (!json_is_object(obj))
        return lif_error(LIF_ERR_FORMAT, "%s: expected a JSON object", what);
    lif_plan_opts t = *o;
    json_t *v = json_object_get(obj, "backend");
    if (v) {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (!s || strlen(s) != json_string_length(v) || strlen(s) >= sizeof t.backend ||
            !list_chars_ok(s, strlen(s) + 1))
            return lif_error(LIF_ERR_INVALID_ARG,
                             "%s: key \"backend\": expected a string, \"auto\" or backend names "
                             "separated by commas", what);
        memcpy(t.backend, s, strlen(s) + 1);
    }
    for (size_t i = 0; i < N_INTS; i++) {
        if (!(v = json_object_get(obj, ints[i].key)))
            continue;
        if (strcmp(ints[i].key, "Tc") == 0 && json_is_string(v) &&
            strcmp(json_string_value(v), "auto") == 0) {
            t.Tc = 0;
            continue;
        }
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : (json_int_t)ints[i].lo - 1;
        if (x < ints[i].lo || x > ints[i].hi)
            return lif_error(LIF_ERR_INVALID_ARG, "%s: key \"%s\": expected an integer in %d..%d",
                             what, ints[i].key, ints[i].lo, ints[i].hi);
        *at(&t, &ints[i]) = (int)x;
    }
    if ((v = json_object_get(obj, "bind"))) {
        int b = json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)
                    ? bind_parse(json_string_value(v))
                    : -1;
        if (b < 0)
            return lif_error(LIF_ERR_INVALID_ARG,
                             "%s: key \"bind\": expected \"none\" or \"cores\"", what);
        t.bind = b;
    }
    if ((v = json_object_get(obj, "recompute"))) {
        int b = json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)
                    ? recompute_parse(json_string_value(v))
                    : -1;
        if (b < 0)
            return lif_error(LIF_ERR_INVALID_ARG,
                             "%s: key \"recompute\": expected \"auto\", \"off\", \"input\" or \"all\"", what);
        t.recompute = b;
    }
    if ((v = json_object_get(obj, "memory_budget"))) {
        long long x = -1;
        if (json_is_integer(v) && json_integer_value(v) >= 0 &&
            json_integer_value(v) <= BUDGET_MAX)
            x = (long long)json_integer_value(v);
        else if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)) {
            if (strcmp(json_string_value(v), "auto") == 0)
                x = 0;
            else if (budget_parse(json_string_value(v), &x))
                x = -1;
        }
        if (x < 0)
            return lif_error(LIF_ERR_INVALID_ARG,
                             "%s: key \"memory_budget\": expected bytes (an integer, 0 = auto) or "
                             "a size such as \"64M\"", what);
        t.memory_budget = x;
    }
    *o = t;
    return LIF_OK;
}

static lif_status apply(lif_plan_opts *o, json_t *obj, const json_error_t *err, const char *what)
{
    if (!obj)
        return lif_error(LIF_ERR_FORMAT, "%s:%d:%d: %s", what, err->line, err->column, err->text);
    lif_status st = from_obj(o, obj, what);
    json_decref(obj);
    return st;
}

lif_status lif_plan_opts_from_json(lif_plan_opts *o, const char *json, const char *what)
{
    json_error_t err;
    if (!what)
        what = "<json>";
    if (!json)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: no JSON text", what);
    return apply(o, json_loads(json, JSON_REJECT_DUPLICATES, &err), &err, what);
}

lif_status lif_plan_opts_load(lif_plan_opts *o, const char *path)
{
    json_error_t err;
    FILE *f;
    lif_status st = lif_fopen_input(path, &f);
    if (st != LIF_OK)
        return st;
    json_t *obj = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
    fclose(f);
    return apply(o, obj, &err, path);
}

char *lif_plan_opts_to_json(const lif_plan_opts *o)
{
    json_t *obj = json_object();
    if (!obj || !memchr(o->backend, '\0', sizeof o->backend) || !bind_ok(o->bind) ||
        json_object_set_new(obj, "backend", json_string(o->backend)) ||
        json_object_set_new(obj, "bind", json_string(binds[o->bind])) ||
        !recompute_ok(o->recompute) ||
        json_object_set_new(obj, "recompute", json_string(recomputes[o->recompute])) ||
        json_object_set_new(obj, "memory_budget", json_integer((json_int_t)o->memory_budget))) {
        json_decref(obj);
        return NULL;
    }
    for (size_t i = 0; i < N_INTS; i++)
        if (json_object_set_new(obj, ints[i].key, json_integer(of(o, &ints[i])))) {
            json_decref(obj);
            return NULL;
        }
    char *s = json_dumps(obj, JSON_SORT_KEYS | JSON_INDENT(2));
    json_decref(obj);
    return s;
}
