/* measure_json.c — measurement reports as JSON through jansson
 * (lif/measure.h): the file `lif bench --json` writes and `--compare`
 * reads. Numbers are written with 17 significant digits, so a report reads
 * back bit for bit; numbers that are not finite are written as null. */
#include "internal.h"
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/atomic.h"
#include "lif/measure.h"

/* ---- the report in memory ---- */

lif_status lif_measure_report_init(lif_measure_report *r, int n_backends, int n_reps)
{
    if (!r)
        return lif_error(LIF_ERR_INVALID_ARG, "measure report: NULL report");
    memset(r, 0, sizeof *r);
    if (n_backends < 0 || n_reps < 0)
        return lif_error(LIF_ERR_INVALID_ARG, "measure report: %d backends, %d repetitions",
                         n_backends, n_reps);
    if (n_backends > 0 && !(r->backends = calloc((size_t)n_backends, sizeof *r->backends)))
        return lif_error(LIF_ERR_NOMEM, "measure report: out of memory");
    r->n_backends = n_backends;
    for (int i = 0; i < n_backends; i++) {
        lif_measure_rate *rates[2] = {&r->backends[i].train, &r->backends[i].test};
        for (int k = 0; k < 2; k++) {
            rates[k]->n_reps = n_reps;
            if (n_reps > 0 && !(rates[k]->reps = calloc((size_t)n_reps, sizeof(double)))) {
                lif_measure_report_free(r);
                return lif_error(LIF_ERR_NOMEM, "measure report: out of memory");
            }
        }
    }
    return LIF_OK;
}

void lif_measure_report_free(lif_measure_report *r)
{
    if (!r)
        return;
    for (int i = 0; r->backends && i < r->n_backends; i++) {
        free(r->backends[i].train.reps);
        free(r->backends[i].test.reps);
    }
    free(r->backends);
    memset(r, 0, sizeof *r);
}

/* ---- writing ---- */

/* A JSON string of s; bytes that are not UTF-8 become '?'. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *t = strdup(s);
    if (!t)
        return NULL;
    for (char *p = t; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(t);
    free(t);
    return j;
}

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* Sets o[key] = v (stealing v); clears *ok when anything failed. */
static void put(json_t *o, const char *key, json_t *v, int *ok)
{
    if (json_object_set_new(o, key, v) != 0)
        *ok = 0;
}

static json_t *rate_obj(const lif_measure_rate *r, int *ok)
{
    json_t *o = json_object(), *reps = json_array();
    if (!o || !reps) {
        *ok = 0;
        json_decref(o);
        json_decref(reps);
        return NULL;
    }
    put(o, "median", jnum(r->median), ok);
    put(o, "min", jnum(r->min), ok);
    put(o, "max", jnum(r->max), ok);
    put(o, "ratio_to_scalar", jnum(r->ratio_to_scalar), ok);
    put(o, "ratio_to_first_threads", jnum(r->ratio_to_first_threads), ok);
    for (int i = 0; i < r->n_reps && r->reps; i++)
        if (json_array_append_new(reps, jnum(r->reps[i])) != 0)
            *ok = 0;
    put(o, "reps", reps, ok);
    return o;
}

static json_t *report_obj(const lif_measure_report *r)
{
    int ok = 1;
    json_t *root = json_object(), *m = json_object(), *c = json_object(), *bs = json_array();
    if (!root || !m || !c || !bs) {
        json_decref(root);
        json_decref(m);
        json_decref(c);
        json_decref(bs);
        return NULL;
    }
    put(root, "lif_bench", json_integer(LIF_MEASURE_FORMAT), &ok);
    put(root, "version", jstr(r->version), &ok);
    put(root, "git_commit", r->git_commit[0] ? jstr(r->git_commit) : json_null(), &ok);
    put(root, "compiler", jstr(r->compiler), &ok);
    put(root, "build_type", jstr(r->build_type), &ok);

    const lif_measure_machine *mm = &r->machine;
    put(m, "cpu", jstr(mm->cpu), &ok);
    put(m, "vendor", jstr(mm->vendor), &ok);
    put(m, "isa", jstr(mm->isa), &ok);
    put(m, "best_isa", jstr(mm->best_isa), &ok);
    put(m, "logical_cpus", json_integer(mm->logical_cpus), &ok);
    put(m, "peak_gflops", jnum(mm->peak_gflops), &ok);
    put(m, "fma_loop", jstr(mm->fma_loop), &ok);
    put(m, "copy_gbps", jnum(mm->copy_gbps), &ok);
    put(m, "scaling_threads", json_integer(mm->scaling_threads), &ok);
    put(m, "scaling", jnum(mm->scaling), &ok);
    json_t *at = json_array();
    for (int i = 0; at && i < mm->n_scalings && i < LIF_MEASURE_MAX_THREAD_COUNTS; i++) {
        json_t *e = json_object();
        if (!e) {
            ok = 0;
            break;
        }
        put(e, "threads", json_integer(mm->scaling_at[i].threads), &ok);
        put(e, "scaling", jnum(mm->scaling_at[i].scaling), &ok);
        if (json_array_append_new(at, e) != 0)
            ok = 0;
    }
    put(m, "scaling_at", at, &ok);
    if (mm->line_round_trip_ns > 0)
        put(m, "line_round_trip_ns", jnum(mm->line_round_trip_ns), &ok);
    put(root, "machine", m, &ok);

    const lif_measure_config *cc = &r->config;
    put(c, "T", json_integer(cc->T), &ok);
    put(c, "batch", json_integer(cc->batch), &ok);
    put(c, "n_in", json_integer(cc->n_in), &ok);
    put(c, "n_out", json_integer(cc->n_out), &ok);
    put(c, "hidden", json_integer(cc->hidden), &ok);
    put(c, "reps", json_integer(cc->reps), &ok);
    put(c, "batches", json_integer(cc->batches), &ok);
    put(c, "threads", json_integer(cc->threads), &ok);
    json_t *tc = json_array();
    for (int i = 0; tc && i < cc->n_thread_counts && i < LIF_MEASURE_MAX_THREAD_COUNTS; i++)
        if (json_array_append_new(tc, json_integer(cc->thread_counts[i])) != 0)
            ok = 0;
    put(c, "thread_counts", tc, &ok);
    put(c, "data", jstr(cc->data), &ok);
    put(c, "density", jnum(cc->density), &ok);
    put(root, "config", c, &ok);
    put(root, "peak_rss_mb", jnum(r->peak_rss_mb), &ok);

    for (int i = 0; i < r->n_backends; i++) {
        const lif_measure_backend *b = &r->backends[i];
        json_t *o = json_object();
        if (!o) {
            ok = 0;
            break;
        }
        put(o, "name", jstr(b->name), &ok);
        put(o, "threads", json_integer(b->threads), &ok);
        put(o, "serial", json_boolean(b->serial), &ok);
        if (b->skipped[0]) {
            put(o, "skipped", jstr(b->skipped), &ok);
        } else {
            put(o, "kernels", jstr(b->kernels), &ok);
            put(o, "plan_bytes", json_integer((json_int_t)b->plan_bytes), &ok);
            put(o, "train_images_per_s", rate_obj(&b->train, &ok), &ok);
            put(o, "test_images_per_s", rate_obj(&b->test, &ok), &ok);
            put(o, "train_pct_of_fma_peak", jnum(b->train_pct_of_fma_peak), &ok);
        }
        if (json_array_append_new(bs, o) != 0)
            ok = 0;
    }
    put(root, "backends", bs, &ok);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

lif_status lif_measure_report_write(const char *path, const lif_measure_report *r)
{
    if (!path || !r || (r->n_backends > 0 && !r->backends))
        return lif_error(LIF_ERR_INVALID_ARG, "measure report: no path or report");
    json_t *root = report_obj(r);
    if (!root)
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory making the JSON", path);
    lif_atomic_file af;
    lif_status st = lif_atomic_open(path, &af);
    if (st == LIF_OK) {
        errno = 0;
        if (json_dumpf(root, af.f, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0 ||
            fputc('\n', af.f) == EOF) {
            st = lif_error(LIF_ERR_IO, "%s: write failed: %s", path, strerror(errno ? errno : EIO));
            lif_atomic_abort(&af);
        } else {
            st = lif_atomic_commit(&af);
        }
    }
    json_decref(root);
    return st;
}

/* ---- reading ---- */

typedef struct rd {
    const char *file;
    const char *ctx;   /* where in the document, e.g. "backends[1].train_images_per_s." */
} rd;

static lif_status bad(const rd *d, const char *key, const char *what)
{
    return lif_error(LIF_ERR_FORMAT, "%s: %s%s: %s", d->file, d->ctx, key, what);
}

static lif_status get(const rd *d, const json_t *o, const char *key, json_t **out)
{
    *out = json_object_get(o, key);
    return *out ? LIF_OK : bad(d, key, "missing");
}

/* A number, or null (NAN). */
static lif_status get_num(const rd *d, const json_t *o, const char *key, double *out)
{
    json_t *v;
    lif_status st = get(d, o, key, &v);
    if (st != LIF_OK)
        return st;
    if (json_is_null(v))
        *out = NAN;
    else if (json_is_number(v))
        *out = json_number_value(v);
    else
        return bad(d, key, "expected a number or null");
    return LIF_OK;
}

/* A number >= 0 (a speed, a ratio), or null (NAN). */
static lif_status get_nonneg(const rd *d, const json_t *o, const char *key, double *out)
{
    lif_status st = get_num(d, o, key, out);
    if (st == LIF_OK && *out < 0)
        return bad(d, key, "expected a number >= 0 or null");
    return st;
}

static lif_status get_i64(const rd *d, const json_t *o, const char *key, long long lo,
                          long long hi, long long *out)
{
    json_t *v;
    lif_status st = get(d, o, key, &v);
    if (st != LIF_OK)
        return st;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char what[96];
        if (lo == INT_MIN && hi == INT_MAX)
            snprintf(what, sizeof what, "expected an integer");
        else if (hi == LLONG_MAX)
            snprintf(what, sizeof what, "expected an integer >= %lld", lo);
        else
            snprintf(what, sizeof what, "expected an integer in %lld..%lld", lo, hi);
        return bad(d, key, what);
    }
    *out = json_integer_value(v);
    return LIF_OK;
}

static lif_status get_int(const rd *d, const json_t *o, const char *key, int *out)
{
    long long x = 0;
    lif_status st = get_i64(d, o, key, INT_MIN, INT_MAX, &x);
    *out = (int)x;
    return st;
}

static lif_status get_str(const rd *d, const json_t *o, const char *key, char *buf, size_t size)
{
    json_t *v;
    lif_status st = get(d, o, key, &v);
    if (st != LIF_OK)
        return st;
    if (!json_is_string(v))
        return bad(d, key, "expected a string");
    size_t n = json_string_length(v);
    if (n >= size || strlen(json_string_value(v)) != n) {
        char what[96];
        snprintf(what, sizeof what, "expected a string of at most %zu bytes (no NUL)", size - 1);
        return bad(d, key, what);
    }
    memcpy(buf, json_string_value(v), n + 1);
    return LIF_OK;
}

/* An optional member: 1 when o has `key` (read it then with a getter). */
static int has(const json_t *o, const char *key) { return json_object_get(o, key) != NULL; }

static lif_status get_bool(const rd *d, const json_t *o, const char *key, int *out)
{
    json_t *v;
    lif_status st = get(d, o, key, &v);
    if (st != LIF_OK)
        return st;
    if (!json_is_boolean(v))
        return bad(d, key, "expected true or false");
    *out = json_is_true(v);
    return LIF_OK;
}

/* A thread count, 1..1024 (lif_plan_opts.threads). */
static lif_status get_threads(const rd *d, const json_t *o, const char *key, int *out)
{
    long long x = 0;
    lif_status st = get_i64(d, o, key, 1, 1024, &x);
    *out = (int)x;
    return st;
}

static lif_status get_obj(const rd *d, const json_t *o, const char *key, json_t **out)
{
    lif_status st = get(d, o, key, out);
    if (st == LIF_OK && !json_is_object(*out))
        st = bad(d, key, "expected an object");
    return st;
}

static lif_status read_rate(const rd *parent, const json_t *b, const char *key,
                            lif_measure_rate *r)
{
    json_t *o, *reps;
    lif_status st = get_obj(parent, b, key, &o);
    if (st != LIF_OK)
        return st;
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s%s.", parent->ctx, key);
    rd d = {parent->file, ctx};
    if ((st = get_nonneg(&d, o, "median", &r->median)) != LIF_OK ||
        (st = get_nonneg(&d, o, "min", &r->min)) != LIF_OK ||
        (st = get_nonneg(&d, o, "max", &r->max)) != LIF_OK ||
        (st = get_nonneg(&d, o, "ratio_to_scalar", &r->ratio_to_scalar)) != LIF_OK ||
        (st = get(&d, o, "reps", &reps)) != LIF_OK)
        return st;
    r->ratio_to_first_threads = NAN;
    if (has(o, "ratio_to_first_threads") &&
        (st = get_nonneg(&d, o, "ratio_to_first_threads", &r->ratio_to_first_threads)) != LIF_OK)
        return st;
    if (!json_is_array(reps) || json_array_size(reps) > INT_MAX)
        return bad(&d, "reps", "expected an array of numbers");
    size_t n = json_array_size(reps);
    if (n > 0 && !(r->reps = malloc(n * sizeof *r->reps)))
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory", d.file);
    r->n_reps = (int)n;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(reps, i);
        if (json_is_null(v))
            r->reps[i] = NAN;
        else if (json_is_number(v) && json_number_value(v) >= 0)
            r->reps[i] = json_number_value(v);
        else
            return bad(&d, "reps", "expected an array of numbers >= 0");
    }
    return LIF_OK;
}

/* Rows of files written before thread lists have no "threads" and
 * "serial": they ran at config.threads (`threads`). */
static lif_status read_backend(const rd *top, const json_t *b, int i, int threads,
                               lif_measure_backend *out)
{
    char ctx[64];
    snprintf(ctx, sizeof ctx, "backends[%d].", i);
    rd d = {top->file, ctx};
    if (!json_is_object(b))
        return lif_error(LIF_ERR_FORMAT, "%s: backends[%d]: expected an object", d.file, i);
    lif_status st = get_str(&d, b, "name", out->name, sizeof out->name);
    if (st != LIF_OK)
        return st;
    out->threads = threads;
    if ((has(b, "threads") && (st = get_threads(&d, b, "threads", &out->threads)) != LIF_OK) ||
        (has(b, "serial") && (st = get_bool(&d, b, "serial", &out->serial)) != LIF_OK))
        return st;
    if (json_object_get(b, "skipped")) {
        lif_measure_rate *rates[2] = {&out->train, &out->test};
        for (int k = 0; k < 2; k++)
            rates[k]->median = rates[k]->min = rates[k]->max = rates[k]->ratio_to_scalar =
                rates[k]->ratio_to_first_threads = NAN;
        out->train_pct_of_fma_peak = NAN;
        return get_str(&d, b, "skipped", out->skipped, sizeof out->skipped);
    }
    long long bytes = 0;
    if ((st = get_str(&d, b, "kernels", out->kernels, sizeof out->kernels)) != LIF_OK ||
        (st = get_i64(&d, b, "plan_bytes", 0, LLONG_MAX, &bytes)) != LIF_OK ||
        (st = read_rate(&d, b, "train_images_per_s", &out->train)) != LIF_OK ||
        (st = read_rate(&d, b, "test_images_per_s", &out->test)) != LIF_OK ||
        (st = get_nonneg(&d, b, "train_pct_of_fma_peak", &out->train_pct_of_fma_peak)) != LIF_OK)
        return st;
    out->plan_bytes = (uint64_t)bytes;
    return LIF_OK;
}

static lif_status from_json(const char *file, const json_t *root, lif_measure_report *r)
{
    rd d = {file, ""};
    json_t *fmt, *m, *c, *bs;
    lif_status st;
    if (!json_is_object(root) || !(fmt = json_object_get(root, "lif_bench")) ||
        !json_object_get(root, "backends"))
        return lif_error(LIF_ERR_FORMAT, "%s: not a lif bench --json file (no \"lif_bench\" and "
                                         "\"backends\")", file);
    if (!json_is_integer(fmt) || json_integer_value(fmt) != LIF_MEASURE_FORMAT) {
        char *got = json_dumps(fmt, JSON_ENCODE_ANY | JSON_COMPACT);
        st = lif_error(LIF_ERR_FORMAT, "%s: \"lif_bench\": format %s; this lif reads %d", file,
                       got ? got : "?", LIF_MEASURE_FORMAT);
        free(got);
        return st;
    }
    if ((st = get_str(&d, root, "version", r->version, sizeof r->version)) != LIF_OK ||
        (st = get_obj(&d, root, "machine", &m)) != LIF_OK ||
        (st = get_obj(&d, root, "config", &c)) != LIF_OK ||
        (st = get_num(&d, root, "peak_rss_mb", &r->peak_rss_mb)) != LIF_OK)
        return st;
    /* provenance: optional (older files lack it); null is "unknown" */
    if (has(root, "git_commit") && !json_is_null(json_object_get(root, "git_commit")) &&
        (st = get_str(&d, root, "git_commit", r->git_commit, sizeof r->git_commit)) != LIF_OK)
        return st;
    if (has(root, "compiler") &&
        (st = get_str(&d, root, "compiler", r->compiler, sizeof r->compiler)) != LIF_OK)
        return st;
    if (has(root, "build_type") &&
        (st = get_str(&d, root, "build_type", r->build_type, sizeof r->build_type)) != LIF_OK)
        return st;

    rd dm = {file, "machine."};
    lif_measure_machine *mm = &r->machine;
    if ((st = get_str(&dm, m, "cpu", mm->cpu, sizeof mm->cpu)) != LIF_OK ||
        (st = get_str(&dm, m, "vendor", mm->vendor, sizeof mm->vendor)) != LIF_OK ||
        (st = get_str(&dm, m, "isa", mm->isa, sizeof mm->isa)) != LIF_OK ||
        (st = get_str(&dm, m, "best_isa", mm->best_isa, sizeof mm->best_isa)) != LIF_OK ||
        (st = get_int(&dm, m, "logical_cpus", &mm->logical_cpus)) != LIF_OK ||
        (st = get_num(&dm, m, "peak_gflops", &mm->peak_gflops)) != LIF_OK ||
        (st = get_str(&dm, m, "fma_loop", mm->fma_loop, sizeof mm->fma_loop)) != LIF_OK ||
        (st = get_num(&dm, m, "copy_gbps", &mm->copy_gbps)) != LIF_OK ||
        (st = get_int(&dm, m, "scaling_threads", &mm->scaling_threads)) != LIF_OK ||
        (st = get_num(&dm, m, "scaling", &mm->scaling)) != LIF_OK)
        return st;
    if (has(m, "scaling_at")) {
        json_t *at = json_object_get(m, "scaling_at");
        if (!json_is_array(at) || json_array_size(at) > LIF_MEASURE_MAX_THREAD_COUNTS)
            return bad(&dm, "scaling_at", "expected an array of at most 8 objects");
        mm->n_scalings = (int)json_array_size(at);
        for (int i = 0; i < mm->n_scalings; i++) {
            json_t *e = json_array_get(at, (size_t)i);
            char ctx[48];
            snprintf(ctx, sizeof ctx, "machine.scaling_at[%d].", i);
            rd de = {file, ctx};
            if (!json_is_object(e))
                return lif_error(LIF_ERR_FORMAT, "%s: machine.scaling_at[%d]: expected an object",
                                 file, i);
            if ((st = get_threads(&de, e, "threads", &mm->scaling_at[i].threads)) != LIF_OK ||
                (st = get_num(&de, e, "scaling", &mm->scaling_at[i].scaling)) != LIF_OK)
                return st;
        }
    } else if (mm->scaling_threads > 0) {
        mm->n_scalings = 1;
        mm->scaling_at[0].threads = mm->scaling_threads;
        mm->scaling_at[0].scaling = mm->scaling;
    }
    mm->line_round_trip_ns = 0;
    if (has(m, "line_round_trip_ns") &&
        (st = get_num(&dm, m, "line_round_trip_ns", &mm->line_round_trip_ns)) != LIF_OK)
        return st;

    rd dc = {file, "config."};
    lif_measure_config *cc = &r->config;
    if ((st = get_int(&dc, c, "T", &cc->T)) != LIF_OK ||
        (st = get_int(&dc, c, "batch", &cc->batch)) != LIF_OK ||
        (st = get_int(&dc, c, "n_in", &cc->n_in)) != LIF_OK ||
        (st = get_int(&dc, c, "n_out", &cc->n_out)) != LIF_OK ||
        (st = get_int(&dc, c, "hidden", &cc->hidden)) != LIF_OK ||
        (st = get_int(&dc, c, "reps", &cc->reps)) != LIF_OK ||
        (st = get_int(&dc, c, "batches", &cc->batches)) != LIF_OK ||
        (st = get_int(&dc, c, "threads", &cc->threads)) != LIF_OK ||
        (st = get_str(&dc, c, "data", cc->data, sizeof cc->data)) != LIF_OK ||
        (st = get_num(&dc, c, "density", &cc->density)) != LIF_OK)
        return st;
    if (has(c, "thread_counts")) {
        json_t *tc = json_object_get(c, "thread_counts");
        int ok = json_is_array(tc) && json_array_size(tc) <= LIF_MEASURE_MAX_THREAD_COUNTS;
        for (size_t i = 0; ok && i < json_array_size(tc); i++) {
            json_t *v = json_array_get(tc, i);
            ok = json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 1024;
            if (ok)
                cc->thread_counts[i] = (int)json_integer_value(v);
        }
        if (!ok)
            return bad(&dc, "thread_counts", "expected an array of at most 8 integers in 1..1024");
        cc->n_thread_counts = (int)json_array_size(tc);
    } else {
        cc->n_thread_counts = 1;
        cc->thread_counts[0] = cc->threads;
    }

    bs = json_object_get(root, "backends");
    if (!json_is_array(bs) || json_array_size(bs) > INT_MAX)
        return bad(&d, "backends", "expected an array");
    size_t n = json_array_size(bs);
    if (n > 0 && !(r->backends = calloc(n, sizeof *r->backends)))
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory", file);
    r->n_backends = (int)n;
    for (size_t i = 0; i < n; i++)
        if ((st = read_backend(&d, json_array_get(bs, i), (int)i, cc->threads,
                                &r->backends[i])) != LIF_OK)
            return st;
    return LIF_OK;
}

lif_status lif_measure_report_read(const char *path, lif_measure_report *r)
{
    if (!path || !r)
        return lif_error(LIF_ERR_INVALID_ARG, "measure report: no path or report");
    memset(r, 0, sizeof *r);
    FILE *f;
    lif_status ost = lif_fopen_input(path, &f);
    if (ost != LIF_OK)
        return ost;
    json_error_t err;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
    int io = ferror(f);
    fclose(f);
    if (!root) {
        if (io)
            return lif_error(LIF_ERR_IO, "%s: read failed", path);
        return lif_error(LIF_ERR_FORMAT, "%s: not valid JSON: line %d, column %d: %s", path,
                         err.line, err.column, err.text);
    }
    lif_status st = from_json(path, root, r);
    json_decref(root);
    if (st != LIF_OK)
        lif_measure_report_free(r);
    return st;
}
