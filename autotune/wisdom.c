/* The machine fingerprint and wisdom files (lif/autotune.h).
 *
 * A wisdom file is JSON (jansson, keys sorted, indented):
 *
 *   {"lif_wisdom": 1,
 *    "fingerprint": {"id": "…", "cpu": "…", "caches": [{"level": 2, "size": …, "count": …}],
 *                    "isa": "avx512", …, "kernels_hash": "…", "kernels": 57},
 *    "entries": [{"problem": {"layers": [784, 10], "T": 100, "batch": 64, "bias": false,
 *                             "density": 0.286},
 *                 "threads": 2, "Tc": 0, "bind": "none",
 *                 "kernels": {"linear_fwd": ["linear_fwd/openmp/omp", "linear_fwd/simd/avx512_event"]},
 *                 "mode": "measure", "images_per_s": …, "default_images_per_s": …,
 *                 "seconds": …, "when": "…"}]}
 *
 * Reading checks every member's type and range and names the one at fault.
 * A file of another fingerprint imports nothing. A kernel name that is not
 * registered drops that op's choice of that entry only (kernels are named
 * by string, so the rest of the file stays good when a kernel goes). */
#define _DEFAULT_SOURCE /* mkdir's mode constants with _POSIX_C_SOURCE */

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "lif/atomic.h"
#include "lif/autotune.h"

/* ---- fingerprint ---- */

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

#define FNV0 14695981039346656037ull

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* FNV-1a of the registered kernel names, sorted, one per line. */
static void kernels_hash(char *hex, int *count)
{
    size_t nb, n = 0;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (size_t i = 0; i < nb; i++)
        n += bs[i]->n_kernels;
    char (*names)[96] = calloc(n ? n : 1, sizeof *names);
    const char **p = calloc(n ? n : 1, sizeof *p);
    uint64_t h = FNV0;
    if (names && p) {
        size_t k = 0;
        for (size_t i = 0; i < nb; i++)
            for (size_t j = 0; j < bs[i]->n_kernels; j++, k++) {
                lif_kernel_name(&bs[i]->kernels[j], names[k], sizeof names[k]);
                p[k] = names[k];
            }
        qsort(p, n, sizeof *p, cmp_str);
        for (size_t k2 = 0; k2 < n; k2++) {
            h = fnv(h, p[k2]);
            h = fnv(h, "\n");
        }
    }
    free(names);
    free(p);
    snprintf(hex, 17, "%016llx", (unsigned long long)h);
    *count = (int)n;
}

/* The canonical text the id hashes. */
static void fp_text(const lif_fingerprint *f, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size,
                                  "cpu=%s;vendor=%s;packages=%d;numa=%d;cores=%d;pus=%d;isa=%s;"
                                  "best=%s;capped=%d;version=%s;compiler=%s",
                                  f->cpu, f->vendor, f->packages, f->numa_nodes, f->cores, f->pus,
                                  f->isa, f->best_isa, f->isa_capped, f->version, f->compiler);
    for (int i = 0; i < f->n_caches && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, ";L%d=%llux%d", f->caches[i].level,
                                (unsigned long long)f->caches[i].size, f->caches[i].count);
}

static void fp_id(lif_fingerprint *f)
{
    char text[1024];
    fp_text(f, text, sizeof text);
    snprintf(f->id, sizeof f->id, "%016llx", (unsigned long long)fnv(FNV0, text));
}

void lif_fingerprint_make(const lif_topology *t, const lif_cpu *c, lif_fingerprint *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->cpu, sizeof out->cpu, "%s", c->model);
    snprintf(out->vendor, sizeof out->vendor, "%s", c->vendor);
    out->packages = t->packages;
    out->numa_nodes = t->numa_nodes;
    out->cores = t->cores;
    out->pus = t->pus;
    out->n_caches = t->n_caches < LIF_TOPO_MAX_CACHE_LEVELS ? t->n_caches : LIF_TOPO_MAX_CACHE_LEVELS;
    for (int i = 0; i < out->n_caches; i++) {
        out->caches[i].level = t->caches[i].level;
        out->caches[i].size = t->caches[i].size;
        out->caches[i].count = t->caches[i].count;
    }
    snprintf(out->isa, sizeof out->isa, "%s", lif_isa_name(c->isa));
    snprintf(out->best_isa, sizeof out->best_isa, "%s", lif_isa_name(c->best));
    out->isa_capped = c->capped ? 1 : 0;
    snprintf(out->version, sizeof out->version, "%s", lif_version());
    snprintf(out->compiler, sizeof out->compiler, "%s", lif_build_compiler());
    kernels_hash(out->kernels_hash, &out->n_kernels);
    fp_id(out);
}

void lif_fingerprint_here(lif_fingerprint *out)
{
    const lif_topology *t;
    lif_topology_get(&t);
    lif_fingerprint_make(t, lif_cpu_get(), out);
}

static void fmt_size(char *buf, size_t n, uint64_t b)
{
    if (b >= (1u << 20) && b % (1u << 20) == 0)
        snprintf(buf, n, "%llu MiB", (unsigned long long)(b >> 20));
    else if (b >= 1024 && b % 1024 == 0)
        snprintf(buf, n, "%llu KiB", (unsigned long long)(b >> 10));
    else
        snprintf(buf, n, "%llu bytes", (unsigned long long)b);
}

int lif_fingerprint_match(const lif_fingerprint *a, const lif_fingerprint *b, char *why,
                          size_t size)
{
    char dummy[8];
    if (!why) {
        why = dummy;
        size = sizeof dummy;
    }
    why[0] = '\0';
    if (strcmp(a->id, b->id) == 0)
        return 1;
#define DIFF_S(field, label)                                                                    \
    if (strcmp(a->field, b->field) != 0) {                                                     \
        snprintf(why, size, "%s '%s' there, '%s' here", label, a->field, b->field);            \
        return 0;                                                                              \
    }
#define DIFF_I(field, label)                                                                    \
    if (a->field != b->field) {                                                                \
        snprintf(why, size, "%s %d there, %d here", label, a->field, b->field);                \
        return 0;                                                                              \
    }
    DIFF_S(cpu, "CPU");
    DIFF_S(vendor, "CPU vendor");
    DIFF_I(packages, "packages");
    DIFF_I(numa_nodes, "NUMA nodes");
    DIFF_I(cores, "cores");
    DIFF_I(pus, "PUs");
    DIFF_S(isa, "effective ISA (LIF_MAX_CPU_ISA caps it)");
    DIFF_S(best_isa, "best ISA");
    DIFF_I(isa_capped, "ISA capped by LIF_MAX_CPU_ISA");
    DIFF_S(version, "lif version");
    DIFF_S(compiler, "compiler");
    DIFF_I(n_caches, "cache levels");
    for (int i = 0; i < a->n_caches; i++) {
        char x[32], y[32];
        if (a->caches[i].size != b->caches[i].size || a->caches[i].level != b->caches[i].level) {
            fmt_size(x, sizeof x, a->caches[i].size);
            fmt_size(y, sizeof y, b->caches[i].size);
            snprintf(why, size, "L%d cache %s there, L%d %s here", a->caches[i].level, x,
                     b->caches[i].level, y);
            return 0;
        }
        if (a->caches[i].count != b->caches[i].count) {
            snprintf(why, size, "L%d caches: %d there, %d here", a->caches[i].level,
                     a->caches[i].count, b->caches[i].count);
            return 0;
        }
    }
#undef DIFF_S
#undef DIFF_I
    snprintf(why, size, "fingerprint id %s there, %s here (its readable values were edited)",
             a->id, b->id);
    return 0;
}

/* ---- problems ---- */

void lif_wisdom_problem_of(const lif_recipe *r, int n_in, int n_classes, double density,
                           lif_wisdom_problem *out)
{
    memset(out, 0, sizeof *out);
    out->dims[0] = n_in;
    for (int i = 0; i < r->n_hidden && i < LIF_MAX_HIDDEN; i++)
        out->dims[1 + i] = r->hidden[i];
    out->n_dims = r->n_hidden + 2;
    out->dims[out->n_dims - 1] = n_classes;
    out->T = r->T;
    out->batch = r->batch;
    out->bias = r->bias ? 1 : 0;
    out->density = density;
}

static int same_layers(const lif_wisdom_problem *a, const lif_wisdom_problem *b)
{
    return a->n_dims == b->n_dims && a->bias == b->bias &&
           memcmp(a->dims, b->dims, sizeof a->dims[0] * (size_t)a->n_dims) == 0;
}

static int exact(const lif_wisdom_problem *a, const lif_wisdom_problem *b)
{
    return same_layers(a, b) && a->T == b->T && a->batch == b->batch &&
           fabs(a->density - b->density) <= 0.005;
}

/* Order of entries in a file: layers, then T, batch, density. */
static int cmp_problem(const lif_wisdom_problem *a, const lif_wisdom_problem *b)
{
    if (a->n_dims != b->n_dims)
        return a->n_dims < b->n_dims ? -1 : 1;
    for (int i = 0; i < a->n_dims; i++)
        if (a->dims[i] != b->dims[i])
            return a->dims[i] < b->dims[i] ? -1 : 1;
    if (a->bias != b->bias)
        return a->bias < b->bias ? -1 : 1;
    if (a->T != b->T)
        return a->T < b->T ? -1 : 1;
    if (a->batch != b->batch)
        return a->batch < b->batch ? -1 : 1;
    return a->density < b->density ? -1 : a->density > b->density;
}

static int cmp_entry(const void *a, const void *b)
{
    return cmp_problem(&((const lif_wisdom_entry *)a)->problem,
                       &((const lif_wisdom_entry *)b)->problem);
}

/* ---- wisdom in memory ---- */

void lif_wisdom_init(lif_wisdom *w)
{
    memset(w, 0, sizeof *w);
    lif_fingerprint_here(&w->fp);
}

void lif_wisdom_free(lif_wisdom *w)
{
    if (!w)
        return;
    free(w->e);
    w->e = NULL;
    w->n = w->cap = 0;
}

lif_status lif_wisdom_put(lif_wisdom *w, const lif_wisdom_entry *e)
{
    for (int i = 0; i < w->n; i++)
        if (exact(&w->e[i].problem, &e->problem)) {
            w->e[i] = *e;
            return LIF_OK;
        }
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 8;
        lif_wisdom_entry *ne = realloc(w->e, (size_t)cap * sizeof *ne);
        if (!ne)
            return lif_error(LIF_ERR_NOMEM, "wisdom: out of memory");
        w->e = ne;
        w->cap = cap;
    }
    w->e[w->n++] = *e;
    qsort(w->e, (size_t)w->n, sizeof *w->e, cmp_entry);
    return LIF_OK;
}

lif_wisdom_match lif_wisdom_lookup(const lif_wisdom *w, const lif_wisdom_problem *q,
                                   const lif_wisdom_entry **out)
{
    const lif_wisdom_entry *best = NULL;
    double bd = INFINITY;
    *out = NULL;
    for (int i = 0; i < w->n; i++) {
        const lif_wisdom_problem *p = &w->e[i].problem;
        if (exact(p, q)) {
            *out = &w->e[i];
            return LIF_WISDOM_EXACT;
        }
        if (!same_layers(p, q))
            continue;
        double d = fabs(log((double)p->T / q->T)) + fabs(log((double)p->batch / q->batch)) +
                   10.0 * fabs(p->density - q->density);
        if (d < bd) {
            bd = d;
            best = &w->e[i];
        }
    }
    *out = best;
    return best ? LIF_WISDOM_NEAREST : LIF_WISDOM_NONE;
}

const char *lif_wisdom_match_name(lif_wisdom_match m)
{
    return m == LIF_WISDOM_EXACT ? "wisdom exact" : m == LIF_WISDOM_NEAREST ? "wisdom nearest"
                                                                            : "estimate";
}

int lif_wisdom_kernels(const lif_wisdom_entry *e, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int op = 0; op < LIF_OP_COUNT; op++) {
        if (!e->kernels[op][0])
            continue;
        int w = snprintf(buf + len, size - len, "%s%s", len ? "," : "", e->kernels[op]);
        if (w < 0 || (size_t)w >= size - len) {
            buf[0] = '\0';
            return -1;
        }
        len += (size_t)w;
    }
    return 0;
}

/* ---- path ---- */

lif_status lif_wisdom_path(const char *explicit_path, char *buf, size_t size)
{
    const char *env = getenv("LIF_WISDOM"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    int n;
    if (explicit_path && *explicit_path)
        n = snprintf(buf, size, "%s", explicit_path);
    else if (env && *env)
        n = snprintf(buf, size, "%s", env);
    else if (xdg && *xdg)
        n = snprintf(buf, size, "%s/lif/wisdom.json", xdg);
    else if (home && *home)
        n = snprintf(buf, size, "%s/.cache/lif/wisdom.json", home);
    else
        return lif_error(LIF_ERR_INVALID_ARG, "wisdom: no place for the file: set LIF_WISDOM, "
                                              "XDG_CACHE_HOME or HOME, or give --wisdom FILE");
    if (n < 0 || (size_t)n >= size)
        return lif_error(LIF_ERR_INVALID_ARG, "wisdom: the file's path is too long");
    return LIF_OK;
}

/* ---- JSON out ---- */

static json_t *fp_json(const lif_fingerprint *f)
{
    json_t *o = json_object(), *c = json_array();
    json_object_set_new(o, "id", json_string(f->id));
    json_object_set_new(o, "cpu", json_string(f->cpu));
    json_object_set_new(o, "vendor", json_string(f->vendor));
    json_object_set_new(o, "packages", json_integer(f->packages));
    json_object_set_new(o, "numa_nodes", json_integer(f->numa_nodes));
    json_object_set_new(o, "cores", json_integer(f->cores));
    json_object_set_new(o, "pus", json_integer(f->pus));
    for (int i = 0; i < f->n_caches; i++) {
        json_t *x = json_object();
        json_object_set_new(x, "level", json_integer(f->caches[i].level));
        json_object_set_new(x, "size", json_integer((json_int_t)f->caches[i].size));
        json_object_set_new(x, "count", json_integer(f->caches[i].count));
        json_array_append_new(c, x);
    }
    json_object_set_new(o, "caches", c);
    json_object_set_new(o, "isa", json_string(f->isa));
    json_object_set_new(o, "best_isa", json_string(f->best_isa));
    json_object_set_new(o, "isa_capped", json_boolean(f->isa_capped));
    json_object_set_new(o, "lif_version", json_string(f->version));
    json_object_set_new(o, "compiler", json_string(f->compiler));
    json_object_set_new(o, "kernels_hash", json_string(f->kernels_hash));
    json_object_set_new(o, "kernels", json_integer(f->n_kernels));
    return o;
}

static json_t *entry_json(const lif_wisdom_entry *e)
{
    json_t *o = json_object(), *p = json_object(), *dims = json_array(), *k = json_object();
    for (int i = 0; i < e->problem.n_dims; i++)
        json_array_append_new(dims, json_integer(e->problem.dims[i]));
    json_object_set_new(p, "layers", dims);
    json_object_set_new(p, "T", json_integer(e->problem.T));
    json_object_set_new(p, "batch", json_integer(e->problem.batch));
    json_object_set_new(p, "bias", json_boolean(e->problem.bias));
    json_object_set_new(p, "density", json_real(e->problem.density));
    json_object_set_new(o, "problem", p);
    json_object_set_new(o, "threads", json_integer(e->threads));
    json_object_set_new(o, "Tc", json_integer(e->Tc));
    json_object_set_new(o, "bind", json_string(e->bind == LIF_BIND_CORES ? "cores" : "none"));
    for (int op = 0; op < LIF_OP_COUNT; op++) {
        if (!e->kernels[op][0])
            continue;
        json_t *names = json_array();
        for (const char *s = e->kernels[op]; *s;) {
            size_t len = strcspn(s, ",");
            json_array_append_new(names, json_stringn(s, len));
            s += len;
            if (*s == ',')
                s++;
        }
        json_object_set_new(k, lif_op_name((lif_op)op), names);
    }
    json_object_set_new(o, "kernels", k);
    json_object_set_new(o, "mode", json_string(e->mode));
    json_object_set_new(o, "images_per_s", isfinite(e->images_per_s) ? json_real(e->images_per_s)
                                                                      : json_null());
    json_object_set_new(o, "default_images_per_s", isfinite(e->default_images_per_s)
                                                       ? json_real(e->default_images_per_s)
                                                       : json_null());
    json_object_set_new(o, "seconds", json_real(e->seconds));
    json_object_set_new(o, "when", json_string(e->when));
    return o;
}

/* mkdir -p of the folder holding path. */
static lif_status make_parent(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return lif_error(LIF_ERR_IO, "%s: path too long", path);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf)
        return LIF_OK;
    *slash = '\0';
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return lif_error(LIF_ERR_IO, "%s: cannot create the folder %s: %s", path, buf,
                             strerror(errno));
        *s = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return lif_error(LIF_ERR_IO, "%s: cannot create the folder %s: %s", path, buf,
                         strerror(errno));
    return LIF_OK;
}

lif_status lif_wisdom_save(const char *path, const lif_wisdom *w)
{
    lif_status st = make_parent(path);
    if (st != LIF_OK)
        return st;
    json_t *root = json_object(), *es = json_array();
    if (!root || !es) {
        json_decref(root);
        json_decref(es);
        return lif_error(LIF_ERR_NOMEM, "wisdom: out of memory");
    }
    json_object_set_new(root, "lif_wisdom", json_integer(LIF_WISDOM_FORMAT));
    json_object_set_new(root, "fingerprint", fp_json(&w->fp));
    for (int i = 0; i < w->n; i++)
        json_array_append_new(es, entry_json(&w->e[i]));
    json_object_set_new(root, "entries", es);
    char *text = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    json_decref(root);
    if (!text)
        return lif_error(LIF_ERR_NOMEM, "wisdom: out of memory");
    lif_atomic_file af;
    if ((st = lif_atomic_open(path, &af)) != LIF_OK) {
        free(text);
        return st;
    }
    fputs(text, af.f);
    fputc('\n', af.f);
    free(text);
    return lif_atomic_commit(&af);
}

/* ---- JSON in ---- */

typedef struct reader {
    const char *what;
    char at[128];
} reader;

static lif_status bad(const reader *r, const char *member, const char *expected)
{
    return lif_error(LIF_ERR_FORMAT, "%s: %s%s%s: expected %s", r->what, r->at,
                     r->at[0] ? "." : "", member, expected);
}

static lif_status get_int(const reader *r, json_t *o, const char *key, long long lo, long long hi,
                          long long *out)
{
    json_t *v = json_object_get(o, key);
    char range[80];
    snprintf(range, sizeof range, "an integer in %lld..%lld", lo, hi);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad(r, key, range);
    *out = json_integer_value(v);
    return LIF_OK;
}

static lif_status get_str(const reader *r, json_t *o, const char *key, char *buf, size_t size)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) >= size ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        char e[64];
        snprintf(e, sizeof e, "a string of at most %zu characters", size - 1);
        return bad(r, key, e);
    }
    memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    return LIF_OK;
}

/* A number, or null (read as NAN) when nullable. */
static lif_status get_num(const reader *r, json_t *o, const char *key, int nullable, double *out)
{
    json_t *v = json_object_get(o, key);
    if (nullable && json_is_null(v)) {
        *out = NAN;
        return LIF_OK;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0)
        return bad(r, key, nullable ? "a number >= 0 or null" : "a number >= 0");
    *out = json_number_value(v);
    return LIF_OK;
}

static lif_status read_fp(reader *r, json_t *o, lif_fingerprint *f)
{
    lif_status st;
    long long v;
    memset(f, 0, sizeof *f);
    snprintf(r->at, sizeof r->at, "fingerprint");
    if (!json_is_object(o))
        return lif_error(LIF_ERR_FORMAT, "%s: fingerprint: expected an object", r->what);
    if ((st = get_str(r, o, "id", f->id, sizeof f->id)) || (st = get_str(r, o, "cpu", f->cpu, sizeof f->cpu)) ||
        (st = get_str(r, o, "vendor", f->vendor, sizeof f->vendor)) ||
        (st = get_str(r, o, "isa", f->isa, sizeof f->isa)) ||
        (st = get_str(r, o, "best_isa", f->best_isa, sizeof f->best_isa)) ||
        (st = get_str(r, o, "lif_version", f->version, sizeof f->version)) ||
        (st = get_str(r, o, "compiler", f->compiler, sizeof f->compiler)) ||
        (st = get_str(r, o, "kernels_hash", f->kernels_hash, sizeof f->kernels_hash)))
        return st;
    if ((st = get_int(r, o, "packages", 0, 1 << 20, &v)) != LIF_OK)
        return st;
    f->packages = (int)v;
    if ((st = get_int(r, o, "numa_nodes", 0, 1 << 20, &v)) != LIF_OK)
        return st;
    f->numa_nodes = (int)v;
    if ((st = get_int(r, o, "cores", 0, 1 << 20, &v)) != LIF_OK)
        return st;
    f->cores = (int)v;
    if ((st = get_int(r, o, "pus", 0, 1 << 20, &v)) != LIF_OK)
        return st;
    f->pus = (int)v;
    if ((st = get_int(r, o, "kernels", 0, 1 << 20, &v)) != LIF_OK)
        return st;
    f->n_kernels = (int)v;
    json_t *capped = json_object_get(o, "isa_capped");
    if (!json_is_boolean(capped))
        return bad(r, "isa_capped", "true or false");
    f->isa_capped = json_is_true(capped);
    json_t *c = json_object_get(o, "caches");
    if (!json_is_array(c) || json_array_size(c) > LIF_TOPO_MAX_CACHE_LEVELS)
        return bad(r, "caches", "an array of at most 4 cache levels");
    f->n_caches = (int)json_array_size(c);
    for (int i = 0; i < f->n_caches; i++) {
        json_t *x = json_array_get(c, (size_t)i);
        snprintf(r->at, sizeof r->at, "fingerprint.caches[%d]", i);
        if (!json_is_object(x))
            return lif_error(LIF_ERR_FORMAT, "%s: %s: expected an object", r->what, r->at);
        if ((st = get_int(r, x, "level", 1, 16, &v)) != LIF_OK)
            return st;
        f->caches[i].level = (int)v;
        if ((st = get_int(r, x, "size", 0, 1ll << 50, &v)) != LIF_OK)
            return st;
        f->caches[i].size = (uint64_t)v;
        if ((st = get_int(r, x, "count", 0, 1 << 20, &v)) != LIF_OK)
            return st;
        f->caches[i].count = (int)v;
    }
    return LIF_OK;
}

/* 1 if name is a registered kernel of op. */
static int known_kernel(const char *name, size_t len, lif_op op)
{
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < bs[i]->n_kernels; j++) {
            char k[128];
            if (bs[i]->kernels[j].op != op)
                continue;
            lif_kernel_name(&bs[i]->kernels[j], k, sizeof k);
            if (strlen(k) == len && strncmp(k, name, len) == 0)
                return 1;
        }
    return 0;
}

static lif_status read_entry(reader *r, json_t *o, int index, lif_wisdom *w, lif_wisdom_entry *e)
{
    lif_status st;
    long long v;
    memset(e, 0, sizeof *e);
    snprintf(r->at, sizeof r->at, "entries[%d]", index);
    if (!json_is_object(o))
        return lif_error(LIF_ERR_FORMAT, "%s: %s: expected an object", r->what, r->at);
    json_t *p = json_object_get(o, "problem");
    if (!json_is_object(p))
        return bad(r, "problem", "an object");
    snprintf(r->at, sizeof r->at, "entries[%d].problem", index);
    json_t *dims = json_object_get(p, "layers");
    if (!json_is_array(dims) || json_array_size(dims) < 2 ||
        json_array_size(dims) > LIF_MAX_HIDDEN + 2)
        return bad(r, "layers", "an array of 2..10 layer widths");
    e->problem.n_dims = (int)json_array_size(dims);
    for (int i = 0; i < e->problem.n_dims; i++) {
        json_t *d = json_array_get(dims, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > 1 << 24)
            return bad(r, "layers", "widths in 1..16777216");
        e->problem.dims[i] = (int)json_integer_value(d);
    }
    if ((st = get_int(r, p, "T", 1, 100000, &v)) != LIF_OK)
        return st;
    e->problem.T = (int)v;
    if ((st = get_int(r, p, "batch", 1, 65536, &v)) != LIF_OK)
        return st;
    e->problem.batch = (int)v;
    json_t *bias = json_object_get(p, "bias");
    if (!json_is_boolean(bias))
        return bad(r, "bias", "true or false");
    e->problem.bias = json_is_true(bias);
    if ((st = get_num(r, p, "density", 0, &e->problem.density)) != LIF_OK)
        return st;
    if (e->problem.density > 1.0)
        return bad(r, "density", "a number in 0..1");
    snprintf(r->at, sizeof r->at, "entries[%d]", index);
    if ((st = get_int(r, o, "threads", 1, 1024, &v)) != LIF_OK)
        return st;
    e->threads = (int)v;
    if ((st = get_int(r, o, "Tc", 0, e->problem.T, &v)) != LIF_OK)
        return st;
    e->Tc = (int)v;
    char bind[8];
    if ((st = get_str(r, o, "bind", bind, sizeof bind)) != LIF_OK)
        return st;
    if (strcmp(bind, "none") && strcmp(bind, "cores"))
        return bad(r, "bind", "\"none\" or \"cores\"");
    e->bind = bind[0] == 'c' ? LIF_BIND_CORES : LIF_BIND_NONE;
    if ((st = get_str(r, o, "mode", e->mode, sizeof e->mode)) != LIF_OK ||
        (st = get_str(r, o, "when", e->when, sizeof e->when)) != LIF_OK ||
        (st = get_num(r, o, "images_per_s", 1, &e->images_per_s)) != LIF_OK ||
        (st = get_num(r, o, "default_images_per_s", 1, &e->default_images_per_s)) != LIF_OK ||
        (st = get_num(r, o, "seconds", 0, &e->seconds)) != LIF_OK)
        return st;
    json_t *k = json_object_get(o, "kernels");
    if (!json_is_object(k))
        return bad(r, "kernels", "an object of op: [kernel names]");
    const char *key;
    json_t *names;
    json_object_foreach(k, key, names) {
        int op = -1;
        for (int i = 0; i < LIF_OP_COUNT; i++)
            if (strcmp(key, lif_op_name((lif_op)i)) == 0)
                op = i;
        snprintf(r->at, sizeof r->at, "entries[%d].kernels", index);
        if (op < 0)
            return lif_error(LIF_ERR_FORMAT, "%s: %s: '%.40s' is no op", r->what, r->at, key);
        if (!json_is_array(names) || json_array_size(names) < 1 || json_array_size(names) > 4)
            return bad(r, key, "an array of 1..4 kernel names");
        size_t len = 0;
        int dropped = 0;
        for (size_t i = 0; i < json_array_size(names); i++) {
            json_t *s = json_array_get(names, i);
            if (!json_is_string(s) || json_string_length(s) > 90 ||
                strlen(json_string_value(s)) != json_string_length(s) ||
                strchr(json_string_value(s), ','))
                return bad(r, key, "kernel names (op/backend/variant)");
            const char *name = json_string_value(s);
            if (!known_kernel(name, strlen(name), (lif_op)op)) {
                /* a kernel gone from this build: drop this op's choice only */
                if (!w->dropped_name[0])
                    snprintf(w->dropped_name, sizeof w->dropped_name, "%s", name);
                dropped = 1;
            }
            len += (size_t)snprintf(e->kernels[op] + len, sizeof e->kernels[op] - len, "%s%s",
                                    i ? "," : "", name);
        }
        if (dropped) {
            e->kernels[op][0] = '\0';
            w->dropped++;
        }
    }
    return LIF_OK;
}

lif_status lif_wisdom_parse(const char *text, size_t n, const char *what,
                            const lif_fingerprint *here, lif_wisdom *w)
{
    json_error_t err;
    reader r = {what ? what : "wisdom", ""};
    lif_status st = LIF_OK;
    memset(w, 0, sizeof *w);
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return lif_error(LIF_ERR_FORMAT, "%s: not JSON (line %d, column %d: %s)", r.what,
                         err.line, err.column, err.text);
    json_t *format = json_object_get(root, "lif_wisdom");
    if (!json_is_object(root) || !json_is_integer(format)) {
        st = lif_error(LIF_ERR_FORMAT, "%s: not a wisdom file (no \"lif_wisdom\" format number)",
                       r.what);
        goto done;
    }
    if (json_integer_value(format) != LIF_WISDOM_FORMAT) {
        st = lif_error(LIF_ERR_FORMAT, "%s: wisdom format %lld, this lif reads %d", r.what,
                       (long long)json_integer_value(format), LIF_WISDOM_FORMAT);
        goto done;
    }
    if ((st = read_fp(&r, json_object_get(root, "fingerprint"), &w->fp)) != LIF_OK)
        goto done;
    char why[256];
    if (here && !lif_fingerprint_match(&w->fp, here, why, sizeof why)) {
        st = lif_error(LIF_ERR_UNSUPPORTED, "%s: made on another machine or build (%s)", r.what,
                       why);
        goto done;
    }
    json_t *es = json_object_get(root, "entries");
    if (!json_is_array(es) || json_array_size(es) > 100000) {
        st = lif_error(LIF_ERR_FORMAT, "%s: entries: expected an array", r.what);
        goto done;
    }
    for (size_t i = 0; i < json_array_size(es); i++) {
        lif_wisdom_entry e;
        if ((st = read_entry(&r, json_array_get(es, i), (int)i, w, &e)) != LIF_OK ||
            (st = lif_wisdom_put(w, &e)) != LIF_OK)
            goto done;
    }
done:
    json_decref(root);
    if (st != LIF_OK) {
        /* one line, whatever the file's strings hold */
        char detail[512];
        snprintf(detail, sizeof detail, "%s", lif_last_error());
        for (char *c = detail; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
        lif_error(st, "%s", detail);
        lif_fingerprint keep = w->fp;
        lif_wisdom_free(w);
        memset(w, 0, sizeof *w);
        w->fp = keep;  /* what the file says it is, for lif info */
    }
    return st;
}

lif_status lif_wisdom_load(const char *path, lif_wisdom *w)
{
    FILE *f;
    memset(w, 0, sizeof *w);
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT)
        return lif_error(LIF_ERR_NOT_FOUND, "%s: no wisdom file", path);
    lif_status st = lif_fopen_input(path, &f);
    if (st != LIF_OK)
        return st;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= (64u << 20)) {
                free(buf);
                fclose(f);
                return lif_error(LIF_ERR_FORMAT, "%s: larger than 64 MiB: not a wisdom file", path);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf)
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory", path);
    if (err) {
        free(buf);
        return lif_error(LIF_ERR_IO, "%s: read failed", path);
    }
    lif_fingerprint here;
    lif_fingerprint_here(&here);
    st = lif_wisdom_parse(buf, n, path, &here, w);
    free(buf);
    return st;
}
