/* test_contract.c — what the plan promises a kernel (docs/DESIGN.md, "The
 * kernel contract"), checked with a test double: a backend "probe"
 * registered at run time (lif_backend_register), whose kernels check the
 * context they are called with and then run the scalar kernel of the same
 * problem (found through the registry, as a composing backend does).
 *
 *   - a LIF_KERNEL_THREADED kernel gets the plan's thread count, a serial
 *     one 1 whatever the plan's;
 *   - the workspace is one slice per thread, each at least workspace()
 *     bytes, 64-byte aligned, a whole number of cache lines apart (every
 *     byte is written, so ASan sees an overrun);
 *   - init() runs when the plan binds the kernel, its state reaches every
 *     call, fini() frees it exactly once per init();
 *   - a failing init() fails lif_plan_create with its message; a failing
 *     run() fails the pass with its message;
 *   - results equal the scalar backend's bit for bit (the double adds
 *     nothing numerical);
 *   - registration refuses a second backend of the same name and malformed
 *     tables. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/lif.h"
#include "testutil.h"

#define WS_BYTES 100  /* per thread: not a multiple of 64 on purpose */

static int inits, finis, fail_init, fail_run, calls_threaded, calls_serial;
static int want_threads;      /* what the threaded kernel must see */
static char bad[256];         /* the first violation seen inside a kernel */

typedef struct probe_state {
    uint32_t magic;
    const lif_kernel_i *inner;
    lif_ctx inner_ctx;        /* the scalar kernel's (no workspace, no state) */
} probe_state;

#define MAGIC 0x9e3779b9u

static void violation(const char *what)
{
    if (!bad[0])
        snprintf(bad, sizeof bad, "%s", what);
}

static size_t probe_ws(const lif_problem *p)
{
    (void)p;
    return WS_BYTES;
}

static lif_status probe_init(const lif_problem *p, void **state)
{
    if (fail_init)
        return lif_error(LIF_ERR_UNSUPPORTED, "probe: init refused on purpose");
    probe_state *s = calloc(1, sizeof *s);
    if (!s)
        return lif_error(LIF_ERR_NOMEM, "probe: out of memory");
    lif_status st = lif_kernel_select(p, "scalar", &s->inner);
    if (st != LIF_OK) {
        free(s);
        return st;
    }
    s->magic = MAGIC;
    s->inner_ctx.nthreads = 1;
    *state = s;
    inits++;
    return LIF_OK;
}

static void probe_fini(void *state)
{
    probe_state *s = state;
    if (!s || s->magic != MAGIC)
        violation("fini got a state that init did not make");
    else
        s->magic = 0;
    free(s);
    finis++;
}

/* Checks the context, writes every byte of every slice; returns the state. */
static const probe_state *check_ctx(const lif_ctx *c, int threads)
{
    if (c->nthreads != threads)
        violation("nthreads is not what the plan promised");
    if (!c->ws || c->ws_stride < WS_BYTES || c->ws_stride % 64 || (uintptr_t)c->ws % 64)
        violation("workspace missing, too small, or not 64-byte aligned slices");
    else
        for (int i = 0; i < c->nthreads; i++) {
            unsigned char *w = lif_ctx_ws(c, i);
            if ((uintptr_t)w % 64)
                violation("a slice is not 64-byte aligned");
            memset(w, 0xa5, WS_BYTES);
        }
    const probe_state *s = c->state;
    if (!s || s->magic != MAGIC)
        violation("run got no state, or not init's");
    return s;
}

static lif_status fwd_threaded(const lif_ctx *c, const lif_linear_fwd_args *a)
{
    calls_threaded++;
    const probe_state *s = check_ctx(c, want_threads);
    if (fail_run)
        return lif_error(LIF_ERR_INTERNAL, "probe: run failed on purpose");
    return s && s->magic == MAGIC ? s->inner->run.linear_fwd(&s->inner_ctx, a)
                                  : lif_error(LIF_ERR_INTERNAL, "probe: no state");
}

static lif_status lif_serial(const lif_ctx *c, const lif_lif_fwd_args *a)
{
    calls_serial++;
    const probe_state *s = check_ctx(c, 1);
    return s && s->magic == MAGIC ? s->inner->run.lif_fwd(&s->inner_ctx, a)
                                  : lif_error(LIF_ERR_INTERNAL, "probe: no state");
}

static const lif_kernel_i probe_kernels[] = {
    {.abi = LIF_KERNEL_ABI, .op = LIF_OP_LINEAR_FWD, .backend = "probe", .variant = "threaded",
     .flags = LIF_KERNEL_THREADED, .run.linear_fwd = fwd_threaded, .workspace = probe_ws,
     .init = probe_init, .fini = probe_fini},
    {.abi = LIF_KERNEL_ABI, .op = LIF_OP_LIF_FWD, .backend = "probe", .variant = "serial",
     .run.lif_fwd = lif_serial, .workspace = probe_ws, .init = probe_init, .fini = probe_fini},
};

static const lif_backend_i probe = {
    .abi = LIF_KERNEL_ABI, .name = "probe", .description = "test double of test_contract.c",
    .kernels = probe_kernels, .n_kernels = 2};

/* A net of n_in -> 10, T 6, and a batch of B random images. */
enum { N_IN = 70, T = 6, B = 5 };
static uint8_t pixels[B * N_IN], labels[B];
static uint32_t ids[B];

static lif_net *make_net(void)
{
    lif_recipe r;
    lif_recipe_default(&r);
    r.T = T;
    r.batch = B;
    r.seed = 11;
    lif_net *net = NULL;
    CHECK(lif_net_create(&r, N_IN, 10, &net) == LIF_OK, "net_create: %s", lif_last_error());
    return net;
}

static lif_plan *make_plan(lif_net *net, const char *backend, int threads, int Tc,
                           lif_status *st)
{
    lif_plan_opts o;
    lif_plan_opts_default(&o);
    snprintf(o.backend, sizeof o.backend, "%s", backend);
    o.threads = threads;
    o.Tc = Tc;
    lif_plan *plan = NULL;
    *st = lif_plan_create(net, B, &o, &plan);
    return plan;
}

static int forward(lif_plan *plan, lif_result *res)
{
    lif_batch bt = {.B = B, .pixels = pixels, .labels = labels, .ids = ids, .epoch = 0};
    return lif_plan_forward(plan, &bt, res) == LIF_OK;
}

static void test_registration(void)
{
    CHECK(lif_backend_register(&probe) == LIF_OK, "register probe: %s", lif_last_error());
    CHECK(lif_backend_find("probe") == &probe, "probe not found after registration");
    CHECK(lif_backend_register(&probe) == LIF_ERR_INVALID_ARG, "probe registered twice");
    lif_backend_i b = probe;
    b.name = "probe2";
    b.abi = LIF_KERNEL_ABI + 1;
    CHECK(lif_backend_register(&b) == LIF_ERR_INVALID_ARG, "another ABI accepted");
    b.abi = LIF_KERNEL_ABI;
    b.name = "Bad Name";
    CHECK(lif_backend_register(&b) == LIF_ERR_INVALID_ARG, "a bad name accepted");
    b.name = "auto";
    CHECK(lif_backend_register(&b) == LIF_ERR_INVALID_ARG, "the name 'auto' accepted");
    /* kernels whose backend field is not the backend's name */
    b.name = "probe3";
    CHECK(lif_backend_register(&b) == LIF_ERR_INVALID_ARG, "a kernel of another backend accepted");
    CHECK(lif_backend_register(NULL) == LIF_ERR_INVALID_ARG, "NULL accepted");
}

static void test_plan_contract(void)
{
    lif_net *net = make_net(), *ref_net = make_net();
    if (!net || !ref_net)
        return;
    lif_status st;
    for (int threads = 1; threads <= 4; threads += 3) {
        for (int Tc = 0; Tc <= 4; Tc += 4) {
            want_threads = threads;
            inits = finis = calls_threaded = calls_serial = 0;
            bad[0] = '\0';
            lif_plan *plan = make_plan(net, "probe", threads, Tc, &st);
            lif_plan *ref = make_plan(ref_net, "scalar", threads, Tc, &st);
            CHECK(plan && ref, "plans (threads %d, Tc %d): %s", threads, Tc, lif_last_error());
            if (!plan || !ref) {
                lif_plan_destroy(plan);
                lif_plan_destroy(ref);
                continue;
            }
            CHECK(strcmp(lif_plan_kernel(plan, LIF_OP_LINEAR_FWD, 0), "linear_fwd/probe/threaded") ==
                      0 && strcmp(lif_plan_kernel(plan, LIF_OP_LIF_FWD, 0), "lif_fwd/probe/serial") == 0,
                  "probe kernels not bound: %s, %s", lif_plan_kernel(plan, LIF_OP_LINEAR_FWD, 0),
                  lif_plan_kernel(plan, LIF_OP_LIF_FWD, 0));
            /* an op probe lacks comes from the next backend, here scalar */
            CHECK(strcmp(lif_plan_kernel(plan, LIF_OP_LIF_BWD, 0), "lif_bwd/scalar/ref") == 0,
                  "lif_bwd: %s", lif_plan_kernel(plan, LIF_OP_LIF_BWD, 0));
            CHECK(inits == 2, "threads %d: %d init() calls at plan creation, want 2", threads, inits);
            lif_result a, b;
            int ok = forward(plan, &a) && forward(ref, &b);
            CHECK(ok, "forward: %s", lif_last_error());
            CHECK(!bad[0], "threads %d Tc %d: %s", threads, Tc, bad);
            CHECK(calls_threaded > 0 && calls_serial > 0, "probe kernels not called (%d, %d)",
                  calls_threaded, calls_serial);
            size_t n1 = 0, n2 = 0;
            for (int k = Tc ? 1 : 0; k < 2; k++) { /* I lives one chunk at a time */
                const char *name = k ? "H" : "I";
                const float *x1 = lif_plan_buffer(plan, name, 0, &n1);
                const float *x2 = lif_plan_buffer(ref, name, 0, &n2);
                CHECK(ok && x1 && x2 && n1 == n2 && memcmp(x1, x2, n1 * sizeof *x1) == 0,
                      "threads %d Tc %d: %s of probe (scalar inside) differs from scalar's",
                      threads, Tc, name);
            }
            CHECK(a.loss == b.loss && a.correct == b.correct,
                  "probe (scalar inside) differs from scalar: loss %.9g vs %.9g", a.loss, b.loss);
            CHECK(lif_plan_backward(plan) == LIF_OK && lif_plan_update(plan) == LIF_OK,
                  "backward/update with probe kernels: %s", lif_last_error());
            CHECK(lif_plan_backward(ref) == LIF_OK && lif_plan_update(ref) == LIF_OK,
                  "backward/update with scalar kernels: %s", lif_last_error());
            lif_plan_destroy(plan);
            lif_plan_destroy(ref);
            CHECK(finis == inits, "threads %d: %d fini() for %d init()", threads, finis, inits);
        }
    }

    /* a failing init fails the plan, with its message, and leaks nothing */
    fail_init = 1;
    inits = finis = 0;
    lif_plan *plan = make_plan(net, "probe", 2, 0, &st);
    CHECK(!plan && st == LIF_ERR_UNSUPPORTED && strstr(lif_last_error(), "init refused"),
          "failing init: plan %p, %s: %s", (void *)plan, lif_status_str(st), lif_last_error());
    CHECK(finis == inits, "failing init: %d fini() for %d init()", finis, inits);
    lif_plan_destroy(plan);
    fail_init = 0;

    /* a failing run fails the pass, with its message */
    want_threads = 2;
    plan = make_plan(net, "probe", 2, 0, &st);
    CHECK(plan != NULL, "plan: %s", lif_last_error());
    if (plan) {
        fail_run = 1;
        lif_result r;
        lif_batch bt = {.B = B, .pixels = pixels, .labels = labels, .ids = ids, .epoch = 0};
        st = lif_plan_forward(plan, &bt, &r);
        CHECK(st == LIF_ERR_INTERNAL && strstr(lif_last_error(), "run failed on purpose"),
              "failing run: %s: %s", lif_status_str(st), lif_last_error());
        fail_run = 0;
        lif_plan_destroy(plan);
    }
    CHECK(finis == inits, "%d fini() for %d init()", finis, inits);
    lif_net_destroy(net);
    lif_net_destroy(ref_net);
}

int main(void)
{
    uint64_t s = 5;
    for (int i = 0; i < B * N_IN; i++)
        pixels[i] = (uint8_t)(rnd(&s) % 256);
    for (int b = 0; b < B; b++) {
        labels[b] = (uint8_t)(b % 10);
        ids[b] = (uint32_t)b;
    }
    test_registration();
    test_plan_contract();
    return test_finish("test_contract");
}
