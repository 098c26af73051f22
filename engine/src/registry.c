/* Kernel registry and dispatch.
 *
 * The backends compiled into this build are listed in one table, scalar
 * first. Dispatch for one op: LIF_FORCE_KERNEL, then among the kernels that
 * can run the problem (capability: supports()) the best ranked (rank.c) of
 * the first backend of the preference list that has one, then the next,
 * then the scalar reference. LIF_VERBOSE=dispatch prints every choice and
 * refusal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lif/backend.h"

extern const lif_backend_i lif_backend_scalar;
#ifdef LIF_HAVE_SIMD
extern const lif_backend_i lif_backend_simd;
#endif
#ifdef LIF_HAVE_OPENMP
extern const lif_backend_i lif_backend_openmp;
#endif
#ifdef LIF_HAVE_ONEDNN
extern const lif_backend_i lif_backend_onednn;
#endif
/* The registry: the backends compiled in (scalar first; later backends
 * append here, each under its own build option), then any registered at run
 * time by lif_backend_register. */
#define MAX_BACKENDS 16
static const lif_backend_i *backends[MAX_BACKENDS] = {
    &lif_backend_scalar,
#ifdef LIF_HAVE_SIMD
    &lif_backend_simd,
#endif
#ifdef LIF_HAVE_OPENMP
    &lif_backend_openmp,
#endif
#ifdef LIF_HAVE_ONEDNN
    &lif_backend_onednn,
#endif
};
static size_t n_backends = 1
#ifdef LIF_HAVE_SIMD
    + 1
#endif
#ifdef LIF_HAVE_OPENMP
    + 1
#endif
#ifdef LIF_HAVE_ONEDNN
    + 1
#endif
    ;

static int name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 31)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

lif_status lif_backend_register(const lif_backend_i *b)
{
    if (!b)
        return lif_error(LIF_ERR_INVALID_ARG, "backend registration: NULL backend");
    if (b->abi != LIF_KERNEL_ABI)
        return lif_error(LIF_ERR_INVALID_ARG,
                         "backend registration: '%s' was built for kernel ABI %u, this is %u",
                         b->name ? b->name : "?", b->abi, LIF_KERNEL_ABI);
    if (!name_ok(b->name) || strcmp(b->name, "auto") == 0)
        return lif_error(LIF_ERR_INVALID_ARG,
                         "backend registration: the name must be 1..31 characters of [a-z0-9_] "
                         "and not 'auto'");
    if (lif_backend_find(b->name))
        return lif_error(LIF_ERR_INVALID_ARG, "backend registration: '%s' is registered already",
                         b->name);
    if (b->n_kernels && !b->kernels)
        return lif_error(LIF_ERR_INVALID_ARG, "backend registration: '%s' has no kernel table",
                         b->name);
    for (size_t j = 0; j < b->n_kernels; j++) {
        const lif_kernel_i *k = &b->kernels[j];
        if (k->abi != LIF_KERNEL_ABI || (unsigned)k->op >= LIF_OP_COUNT || !k->run.any ||
            !k->backend || strcmp(k->backend, b->name) != 0 || !name_ok(k->variant) ||
            (!k->init && k->fini))
            return lif_error(LIF_ERR_INVALID_ARG,
                             "backend registration: '%s' kernel %zu is malformed (ABI, op, run, "
                             "backend name, variant name [a-z0-9_], or fini without init)",
                             b->name, j);
    }
    if (n_backends == MAX_BACKENDS)
        return lif_error(LIF_ERR_UNSUPPORTED, "backend registration: the registry holds %d backends",
                         MAX_BACKENDS);
    backends[n_backends++] = b;
    return LIF_OK;
}

static const char *const op_names[] = {
    [LIF_OP_ENCODE] = "encode",
    [LIF_OP_LINEAR_FWD] = "linear_fwd",
    [LIF_OP_LIF_FWD] = "lif_fwd",
    [LIF_OP_LIF_BWD] = "lif_bwd",
    [LIF_OP_LINEAR_BWD_W] = "linear_bwd_w",
    [LIF_OP_LINEAR_BWD_X] = "linear_bwd_x",
    [LIF_OP_SPIKE_COUNT] = "spike_count",
    [LIF_OP_LOSS] = "loss",
    [LIF_OP_OPTIM] = "optim",
};
_Static_assert(sizeof op_names / sizeof op_names[0] == LIF_OP_COUNT, "one name per op");

const char *lif_op_name(lif_op op)
{
    return (unsigned)op < LIF_OP_COUNT ? op_names[op] : NULL;
}

const lif_backend_i *const *lif_backends(size_t *n)
{
    *n = n_backends;
    return backends;
}

const lif_backend_i *lif_backend_find(const char *name)
{
    for (size_t i = 0; i < n_backends; i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

int lif_backend_available(const lif_backend_i *b, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = "";
    if (b->abi != LIF_KERNEL_ABI) {
        *why = "built against another kernel ABI";
        return 0;
    }
    return b->available ? b->available(why) : 1;
}

char *lif_kernel_name(const lif_kernel_i *k, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s/%s", lif_op_name(k->op), k->backend, k->variant);
    return buf;
}

static int verbose_dispatch(void)
{
    const char *v = getenv("LIF_VERBOSE");
    return v && strstr(v, "dispatch") != NULL;
}

static void report(const lif_kernel_i *k, const char *what, const char *why)
{
    char name[128];
    fprintf(stderr, "lif_dispatch,%s,%s,%s,%s\n", lif_op_name(k->op),
            lif_kernel_name(k, name, sizeof name), what, why);
}

/* 1 if k may run p here; else 0 and *why. */
static int usable(const lif_backend_i *b, const lif_kernel_i *k,
                  const lif_problem *p, const char **why)
{
    if (!lif_backend_available(b, why))
        return 0;
    if (k->abi != LIF_KERNEL_ABI) {
        *why = "built against another kernel ABI";
        return 0;
    }
    if (k->supports && !k->supports(p, why))
        return 0;
    *why = "";
    return 1;
}

/* "auto", possibly followed by exclusions: "auto,-openmp,-onednn". */
static int is_auto(const char *list)
{
    return !list || !*list || strcmp(list, "auto") == 0 || strncmp(list, "auto,", 5) == 0;
}

/* 1 if an "auto" list excludes backend `name` ("-name" after "auto"). */
static int excluded(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = list ? strchr(list, ',') : NULL; s; s = strchr(s + 1, ','))
        if (s[1] == '-' && strncmp(s + 2, name, n) == 0 && (s[2 + n] == ',' || !s[2 + n]))
            return 1;
    return 0;
}

static const lif_backend_i *find_n(const char *s, size_t len)
{
    for (size_t i = 0; i < n_backends; i++)
        if (strlen(backends[i]->name) == len && strncmp(backends[i]->name, s, len) == 0)
            return backends[i];
    return NULL;
}

/* The exclusions of an "auto,-a,-b" list: registered names, none twice. */
static lif_status check_exclusions(const char *list)
{
    for (const char *s = list + 5;;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len < 2 || s[0] != '-')
            return lif_error(LIF_ERR_INVALID_ARG,
                             "backend list '%s': after 'auto' only exclusions may follow "
                             "('auto,-openmp')", list);
        if (!find_n(s + 1, len - 1))
            return lif_error(LIF_ERR_NOT_FOUND,
                             "unknown backend '%.*s' (lif info lists the backends)",
                             (int)len - 1, s + 1);
        for (const char *t = list + 5; t < s;) {
            const char *f = strchr(t, ',');
            if ((size_t)(f - t) == len && strncmp(t, s, len) == 0)
                return lif_error(LIF_ERR_INVALID_ARG, "backend list '%s': '%.*s' twice", list,
                                 (int)len, s);
            t = f + 1;
        }
        if (!e)
            return LIF_OK;
        s = e + 1;
    }
}

/* The backends of a checked preference list, in its order (all of them,
 * registration order, for "auto"). Returns the count. */
static size_t list_backends(const char *list, const lif_backend_i **out)
{
    size_t nb = n_backends, n = 0;
    if (is_auto(list)) {
        for (size_t i = 0; i < nb; i++)
            if (lif_backend_available(backends[i], NULL) && !excluded(list, backends[i]->name))
                out[n++] = backends[i];
        return n;
    }
    for (const char *s = list; *s && n < nb;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        for (size_t i = 0; i < nb; i++)
            if (strlen(backends[i]->name) == len && strncmp(backends[i]->name, s, len) == 0)
                out[n++] = backends[i];
        if (!e)
            break;
        s = e + 1;
    }
    return n;
}

lif_status lif_backend_list_check(const char *list)
{
    if (is_auto(list))
        return list && strncmp(list, "auto,", 5) == 0 ? check_exclusions(list) : LIF_OK;
    size_t nb = n_backends;
    for (const char *s = list;;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0)
            return lif_error(LIF_ERR_INVALID_ARG,
                             "backend list '%s': an empty name (write names separated by "
                             "single commas, e.g. 'simd,scalar')", list);
        if ((len == 4 && strncmp(s, "auto", 4) == 0) || s[0] == '-')
            return lif_error(LIF_ERR_INVALID_ARG,
                             "backend list '%s': 'auto' comes first or not at all, and only "
                             "'auto' takes exclusions ('auto,-openmp')", list);
        const lif_backend_i *b = NULL;
        for (size_t i = 0; i < nb; i++)
            if (strlen(backends[i]->name) == len && strncmp(backends[i]->name, s, len) == 0)
                b = backends[i];
        if (!b)
            return lif_error(LIF_ERR_NOT_FOUND,
                             "unknown backend '%.*s' (lif info lists the backends)", (int)len, s);
        const char *why;
        if (!lif_backend_available(b, &why))
            return lif_error(LIF_ERR_UNSUPPORTED, "backend '%s' cannot run here: %s", b->name,
                             why);
        for (const char *t = list; t < s;) {
            const char *f = strchr(t, ',');
            if ((size_t)(f - t) == len && strncmp(t, s, len) == 0)
                return lif_error(LIF_ERR_INVALID_ARG, "backend list '%s': '%s' twice", list,
                                 b->name);
            t = f + 1;
        }
        if (!e)
            return LIF_OK;
        s = e + 1;
    }
}

/* The kernels of backend b that can run p, best ranked first (stable:
 * ties keep registration order), appended to out[*n..cap); *n counts all. */
static void backend_candidates(const lif_backend_i *b, const lif_problem *p, int verbose,
                               lif_candidate *out, size_t cap, size_t *n)
{
    for (size_t j = 0; j < b->n_kernels; j++) {
        const lif_kernel_i *k = &b->kernels[j];
        const char *why;
        if (k->op != p->op)
            continue;
        if (!usable(b, k, p, &why)) {
            if (verbose)
                report(k, "declined", why);
            continue;
        }
        lif_candidate c = {k, 0.0, ""};
        c.rank = lif_kernel_rank(k, p, &c.basis);
        size_t filled = *n < cap ? *n : cap;
        if (filled < cap || (cap && c.rank > out[cap - 1].rank)) {
            /* insertion: after every candidate ranked at least as high */
            size_t at = 0;
            while (at < filled && out[at].rank >= c.rank)
                at++;
            size_t last = filled < cap ? filled : cap - 1;
            for (size_t m = last; m > at; m--)
                out[m] = out[m - 1];
            out[at] = c;
        }
        (*n)++;
    }
}

lif_status lif_kernel_candidates(const lif_problem *p, const char *list, lif_candidate *out,
                                 size_t cap, size_t *n)
{
    *n = 0;
    if ((unsigned)p->op >= LIF_OP_COUNT)
        return lif_error(LIF_ERR_INVALID_ARG, "kernel candidates: op %d out of range", (int)p->op);
    lif_status st = lif_backend_list_check(list);
    if (st != LIF_OK)
        return st;
    const lif_backend_i *bl[MAX_BACKENDS];
    size_t nbl = list_backends(list, bl);
    for (size_t i = 0; i < nbl; i++)
        backend_candidates(bl[i], p, 0, out, cap, n);
    return LIF_OK;
}

/* Enough for every kernel of one op in one backend. */
#define MAX_CANDIDATES 64

static _Thread_local int quiet_select;

lif_status lif_kernel_select_quiet(const lif_problem *p, const char *list,
                                   const lif_kernel_i **out)
{
    quiet_select = 1;
    lif_status st = lif_kernel_select(p, list, out);
    quiet_select = 0;
    return st;
}

/* The first kernel named in `force` (a comma list, in its order) of p's op
 * that can run p and whose backend an "auto,-name" list does not exclude (a
 * composing backend selects its inner kernels so, and must not get itself
 * back): 1 and *out, or 0. */
static int try_forced(const char *force, const char *why_chosen, const lif_problem *p,
                      const char *list, int verbose, const lif_kernel_i **out)
{
    const char *why;
    if (!force || !*force)
        return 0;
    for (const char *f = force; *f;) {
        const char *e = strchr(f, ',');
        size_t len = e ? (size_t)(e - f) : strlen(f);
        for (size_t i = 0; i < n_backends; i++)
            for (size_t j = 0; j < backends[i]->n_kernels; j++) {
                const lif_kernel_i *k = &backends[i]->kernels[j];
                char name[128];
                lif_kernel_name(k, name, sizeof name);
                if (k->op != p->op || strlen(name) != len || strncmp(name, f, len) != 0)
                    continue;
                if (is_auto(list) && excluded(list, backends[i]->name)) {
                    if (verbose)
                        report(k, "declined", "forced, but the backend list excludes it");
                    continue;
                }
                if (usable(backends[i], k, p, &why)) {
                    if (verbose)
                        report(k, "chosen", why_chosen);
                    *out = k;
                    return 1;
                }
                if (verbose)
                    report(k, "declined", why);
            }
        if (!e)
            break;
        f = e + 1;
    }
    return 0;
}

int lif_kernel_forcing(const lif_problem *p)
{
    const char *env = getenv("LIF_FORCE_KERNEL");
    return (env && *env) || (p && p->force && *p->force);
}

lif_status lif_kernel_names_check(const char *list)
{
    for (const char *f = list ? list : ""; *f;) {
        size_t len = strcspn(f, ",");
        int found = 0;
        for (size_t i = 0; i < n_backends && !found; i++)
            for (size_t j = 0; j < backends[i]->n_kernels && !found; j++) {
                char name[128];
                lif_kernel_name(&backends[i]->kernels[j], name, sizeof name);
                found = strlen(name) == len && strncmp(name, f, len) == 0;
            }
        if (!found)
            return lif_error(LIF_ERR_NOT_FOUND, "unknown kernel '%.*s' (lif info lists them)",
                             (int)(len > 100 ? 100 : len), f);
        f += len;
        if (*f == ',')
            f++;
    }
    return LIF_OK;
}

lif_status lif_kernel_select(const lif_problem *p, const char *list, const lif_kernel_i **out)
{
    int verbose = verbose_dispatch() && !quiet_select;

    if ((unsigned)p->op >= LIF_OP_COUNT)
        return lif_error(LIF_ERR_INVALID_ARG, "kernel selection: op %d out of range", (int)p->op);
    lif_status st = lif_backend_list_check(list);
    if (st != LIF_OK)
        return st;

    if (try_forced(getenv("LIF_FORCE_KERNEL"), "forced by LIF_FORCE_KERNEL", p, list, verbose,
                   out))
        return LIF_OK;
    if (p->force && *p->force) {
        char why[96];
        snprintf(why, sizeof why, "forced by name (%s)",
                 p->force_from && *p->force_from ? p->force_from : "the plan options");
        if (try_forced(p->force, why, p, list, verbose, out))
            return LIF_OK;
    }

    /* "auto": one ranking over every available backend; a list: the first
     * backend in it that can run the op, then the next. */
    const lif_backend_i *bl[MAX_BACKENDS];
    size_t nbl = list_backends(list, bl);
    int any = is_auto(list);
    lif_candidate c[MAX_CANDIDATES];
    size_t n = 0;
    const lif_kernel_i *best = NULL;
    for (size_t i = 0; i < nbl && !best; i++) {
        if (!any)
            n = 0;
        backend_candidates(bl[i], p, verbose, c, MAX_CANDIDATES, &n);
        if (!any && n > 0)
            best = c[0].kernel;
    }
    if (any && n > 0)
        best = c[0].kernel;
    if (best) {
        size_t shown = n < MAX_CANDIDATES ? n : MAX_CANDIDATES;
        for (size_t i = 1; verbose && i < shown; i++) {
            char reason[256];
            snprintf(reason, sizeof reason, "ranked lower (%g vs %g: %s)", c[i].rank, c[0].rank,
                     c[i].basis);
            report(c[i].kernel, "declined", reason);
        }
        if (verbose) {
            char reason[256];
            snprintf(reason, sizeof reason, "best ranked of %s (%g: %s)",
                     any ? "the available backends" : best->backend, c[0].rank, c[0].basis);
            report(best, "chosen", reason);
        }
        *out = best;
        return LIF_OK;
    }
    /* The scalar reference supports every problem. */
    for (size_t j = 0; j < lif_backend_scalar.n_kernels; j++)
        if (lif_backend_scalar.kernels[j].op == p->op)
            best = &lif_backend_scalar.kernels[j];
    if (!best)
        return lif_error(LIF_ERR_INTERNAL, "no kernel for op %s", lif_op_name(p->op));
    if (verbose)
        report(best, "chosen", "fallback: no backend of the list has a kernel for this problem");
    *out = best;
    return LIF_OK;
}

uint64_t lif_encode_threshold(uint8_t pixel)
{
    /* A draw is a 16-bit slice u16 of a Philox word:
     *   u16 / 2^16 < pixel / 255  <=>  u16 < ceil(pixel * 2^16 / 255).
     * Firing probability ceil(pixel * 65536 / 255) / 65536 instead of
     * pixel / 255: since 65536 = 257 * 255 + 1 the error is
     * (1 - pixel / 255) / 65536 for pixel 1..254 and 0 for 0 and 255, at
     * most 254 / 255 / 65536 < 1.53e-5. Pixel 255 gives 65536: always fires. */
    uint64_t num = (uint64_t)pixel << 16;
    return (num + 254) / 255;
}
