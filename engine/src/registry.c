/* Kernel registry and dispatch.
 *
 * The backends compiled into this build are listed in one table, scalar
 * first. Dispatch for one op: LIF_FORCE_KERNEL, then the highest-priority
 * kernel of the requested backend(s) that supports the problem, then the
 * scalar reference. LIF_VERBOSE=dispatch prints every choice and refusal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/backend.h"

extern const lif_backend_i lif_backend_scalar;
#ifdef LIF_HAVE_SIMD
extern const lif_backend_i lif_backend_simd;
#endif
/* Later backends append here, each under its own build option. */
static const lif_backend_i *const backends[] = {
    &lif_backend_scalar,
#ifdef LIF_HAVE_SIMD
    &lif_backend_simd,
#endif
};

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
    *n = sizeof backends / sizeof backends[0];
    return backends;
}

const lif_backend_i *lif_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
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
    if (k->supports && !k->supports(p, why))
        return 0;
    *why = "";
    return 1;
}

/* TEMPORARY: replaced by rank.c at merge */
/* The selection of kernel ABI 1, reproduced while the ranking module is
 * written: the priorities the kernel tables carried (scalar 0; simd avx2
 * 10, avx2_table 11, avx2_event 12, avx512 20, avx512_event 22), and the
 * density crossovers with which the event-driven linear kernels' supports()
 * declined (dense faster above; narrow layers n_out <= 16 / wider ones;
 * density 0 = not measured yet, assumed 0.2). Returns the rank, higher
 * wins, or -1 with *why when the kernel is declined for speed. */
static int legacy_rank(const lif_kernel_i *k, const lif_problem *p, const char **why)
{
    static const struct {
        lif_op op;
        const char *variant;
        int rank;
        float max[2];
        const char *why[2];
    } simd[] = {
        {LIF_OP_LINEAR_FWD, "avx2_event", 12, {0.03f, 0.50f},
         {"input density > 0.03 with n_out <= 16: the table-driven AVX2 kernel is faster",
          "input density > 0.50 with n_out > 16: the dense AVX2 kernel is faster"}},
        {LIF_OP_LINEAR_FWD, "avx512_event", 22, {0.15f, 0.40f},
         {"input density > 0.15 with n_out <= 16: the dense AVX-512 kernel is faster",
          "input density > 0.40 with n_out > 16: the dense AVX-512 kernel is faster"}},
        {LIF_OP_LINEAR_BWD_W, "avx2_event", 12, {0.09f, 0.50f},
         {"input density > 0.09 with n_out <= 16: the dense AVX2 kernel is faster",
          "input density > 0.50 with n_out > 16: the dense AVX2 kernel is faster"}},
        {LIF_OP_LINEAR_BWD_W, "avx512_event", 22, {0.04f, 0.40f},
         {"input density > 0.04 with n_out <= 16: the dense AVX-512 kernel is faster",
          "input density > 0.40 with n_out > 16: the dense AVX-512 kernel is faster"}},
    };
    if (strcmp(k->backend, "simd") != 0)
        return 0;
    for (size_t i = 0; i < sizeof simd / sizeof simd[0]; i++) {
        if (k->op != simd[i].op || strcmp(k->variant, simd[i].variant) != 0)
            continue;
        float d = p->density > 0.0f ? p->density : 0.2f;
        int wide = p->n_out > 16;
        if (d > simd[i].max[wide]) {
            *why = simd[i].why[wide];
            return -1;
        }
        return simd[i].rank;
    }
    if (strcmp(k->variant, "avx2") == 0)
        return 10;
    if (strcmp(k->variant, "avx2_table") == 0)
        return 11;
    if (strcmp(k->variant, "avx512") == 0)
        return 20;
    return 0;
}

/* 1 if name appears in the comma-separated list. */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = list; *s;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == n && strncmp(s, name, n) == 0)
            return 1;
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

/* TEMPORARY (one name only): replaced by the ranking branch's version. */
lif_status lif_backend_list_check(const char *list)
{
    const char *why;
    if (!list || !*list || strcmp(list, "auto") == 0)
        return LIF_OK;
    const lif_backend_i *b = lif_backend_find(list);
    if (!b)
        return lif_error(LIF_ERR_NOT_FOUND, "unknown backend '%s' (lif info lists the backends)",
                         list);
    if (!lif_backend_available(b, &why))
        return lif_error(LIF_ERR_UNSUPPORTED, "backend '%s' cannot run here: %s", list, why);
    return LIF_OK;
}

lif_status lif_kernel_select(const lif_problem *p, const char *backend,
                             const lif_kernel_i **out)
{
    size_t nb = sizeof backends / sizeof backends[0];
    int verbose = verbose_dispatch();
    const char *why;
    int any = !backend || !*backend || strcmp(backend, "auto") == 0;

    if ((unsigned)p->op >= LIF_OP_COUNT)
        return lif_error(LIF_ERR_INVALID_ARG, "kernel selection: op %d out of range", (int)p->op);
    if (!any) {
        const lif_backend_i *b = lif_backend_find(backend);
        if (!b)
            return lif_error(LIF_ERR_NOT_FOUND,
                             "unknown backend '%s' (lif info lists the backends)", backend);
        if (!lif_backend_available(b, &why))
            return lif_error(LIF_ERR_UNSUPPORTED, "backend '%s' cannot run here: %s",
                             backend, why);
    }

    const char *force = getenv("LIF_FORCE_KERNEL");
    if (force && *force) {
        for (size_t i = 0; i < nb; i++)
            for (size_t j = 0; j < backends[i]->n_kernels; j++) {
                const lif_kernel_i *k = &backends[i]->kernels[j];
                char name[128];
                if (k->op != p->op || !in_list(force, lif_kernel_name(k, name, sizeof name)))
                    continue;
                if (usable(backends[i], k, p, &why) && legacy_rank(k, p, &why) >= 0) {
                    if (verbose)
                        report(k, "chosen", "forced by LIF_FORCE_KERNEL");
                    *out = k;
                    return LIF_OK;
                }
                if (verbose)
                    report(k, "declined", why);
            }
    }

    const lif_kernel_i *best = NULL;
    int best_rank = -1;
    for (size_t i = 0; i < nb; i++) {
        if (!any && strcmp(backends[i]->name, backend) != 0)
            continue;
        for (size_t j = 0; j < backends[i]->n_kernels; j++) {
            const lif_kernel_i *k = &backends[i]->kernels[j];
            if (k->op != p->op)
                continue;
            int rank;
            if (!usable(backends[i], k, p, &why) || (rank = legacy_rank(k, p, &why)) < 0) {
                if (verbose)
                    report(k, "declined", why);
                continue;
            }
            if (!best || rank > best_rank) {
                if (verbose && best)
                    report(best, "declined", "a higher-priority kernel supports the problem");
                best = k;
                best_rank = rank;
            } else if (verbose) {
                report(k, "declined", "a higher-priority kernel supports the problem");
            }
        }
    }
    if (!best) {
        /* The scalar reference supports every problem. */
        for (size_t j = 0; j < lif_backend_scalar.n_kernels; j++)
            if (lif_backend_scalar.kernels[j].op == p->op)
                best = &lif_backend_scalar.kernels[j];
        if (!best)
            return lif_error(LIF_ERR_INTERNAL, "no kernel for op %s", lif_op_name(p->op));
        if (verbose)
            report(best, "chosen", "fallback: the chosen backend has no kernel for this op");
    } else if (verbose) {
        report(best, "chosen", any ? "highest priority of the available backends"
                                   : "highest priority of the requested backend");
    }
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
