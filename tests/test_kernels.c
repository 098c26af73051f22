/* tests/test_kernels.c — every registered kernel against the oracle.
 *
 * Walks lif_backends() and each backend's kernel table, so a kernel is
 * tested the moment it is registered. A backend this machine cannot run is
 * reported "skipped: <backend>: <why>", never passed; a problem a kernel's
 * supports() declines is reported "declined: ...". Exit 77 only when no
 * kernel could be run at all.
 *
 * Two kinds of input:
 *   exact   small integers times 1/64 (or 1/16), tau = 2: every float32
 *           operation is exact, so outputs must equal the oracle bit for
 *           bit, and H lands exactly on V_th often (equality must fire);
 *   random  general floats: outputs within stated tolerances; in lif_fwd a
 *           spike may differ from the oracle only where the oracle's
 *           |H - V_th| < 1e-5 (a "flip", counted and printed; the neuron is
 *           not compared after it since its trajectory has changed).
 *
 * Also checked for every kernel: bit outputs clear the unused high bits of
 * a row's last word; bit inputs have those bits set (consumers must not
 * rely on them being zero) and they are ignored, and so are padding words
 * of bit inputs (ld > words);
 * the workspace it asks for is enough (a canary after it) and its previous
 * contents do not matter (refilled with garbage before every run; it comes
 * in a lif_ctx with one thread, as the plan gives a serial kernel); run()
 * returns LIF_OK; outputs that are "out" are overwritten (pre-filled with
 * NaN), "accumulated into" ones accumulate (pre-filled with values).
 *
 * Strides (the "cuts" at the end of each op's test): a problem split into
 * sample ranges (encode, lif_fwd, lif_bwd, spike_count: pointer offsets
 * with the full batch's step strides), row ranges or output-neuron blocks
 * (linear ops: pointer offsets with the full row strides ldy / lddy) gives
 * bitwise what one call over the whole gives, and a row stride wider than
 * n_out leaves the padding columns untouched.
 *
 * Threaded kernels (LIF_KERNEL_THREADED) run every call at 1, 2, 3 and 8
 * threads, booked as the plan books them (problem.threads, one init() per
 * count, one workspace slice per thread with canaries between them), and
 * their outputs must be bitwise the same at every count. They also run
 * larger linear shapes (BIG: the weight gradient's row blocks and output
 * blocks), and LIF_OPENMP_SPLIT=all makes the openmp kernels split even
 * the small shapes.
 *
 * Reduced precision: a linear kernel that declines a problem but accepts
 * it with amp set (lif_problem.amp, -amp: onednn's bf16 kernels) runs the
 * amp problems, held to the float32 tolerances plus the bf16 rounding of
 * its operands (lin_tol); exact inputs stay bitwise, and so do the cuts and
 * thread counts.
 *
 * Every failure prints a repro line (kernel, op, shape, options, seed).
 * Rerun one kernel with LIF_TEST_KERNEL=<substring of its name>; change the
 * inputs with LIF_TEST_SEED=<n>. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/backend.h"
#include "oracle.h"
#include "testutil.h"

/* float32 unit roundoff */
#define U32 5.9604644775390625e-08

/* ---------------------------------------------------------------- helpers */

static uint64_t base_seed = 20240611;

/* mix64, rnd, urand: the shared test-input generator of testutil.h */

static int irand(uint64_t *s, int lo, int hi) /* inclusive */
{
    return lo + (int)(rnd(s) % (uint64_t)(hi - lo + 1));
}

/* Same inputs for every kernel of an op: the seed depends on op and case only. */
static uint64_t case_seed(lif_op op, int c)
{
    return mix64(base_seed * 1000003u + (uint64_t)op * 65537u + (uint64_t)c);
}

/* Kernel pointers are 64-byte aligned (backend.h); memory is zeroed. */
static void *xalloc(size_t bytes)
{
    size_t sz = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, sz ? sz : 64);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    memset(p, 0, sz ? sz : 64);
    return p;
}
#define FALLOC(n) ((float *)xalloc((size_t)(n) * sizeof(float)))
#define DALLOC(n) ((double *)xalloc((size_t)(n) * sizeof(double)))

static size_t words_of(int n) { return ((size_t)n + 63) / 64; }

/* Packs 0/1 doubles [rows, n] into bits with row stride ld. The bits past
 * n in a row's last word are always ones: backend.h leaves them to the
 * producer, so every consumer (linear, spike count) must mask them. Words
 * past a row's features (ld > words_of(n)) hold `pad`: zero in the sweeps,
 * all ones in the padding cases (they are not features; a kernel must not
 * read them as such). */
static uint64_t *pack(const double *x, int rows, int n, size_t ld, uint64_t pad)
{
    uint64_t *bits = xalloc((size_t)rows * ld * sizeof *bits);
    for (int r = 0; r < rows; r++) {
        if (n % 64)
            bits[(size_t)r * ld + (size_t)(n - 1) / 64] = ~0ull << (n % 64);
        for (size_t w = words_of(n); w < ld; w++)
            bits[(size_t)r * ld + w] = pad;
        for (int i = 0; i < n; i++)
            if (x[(size_t)r * n + i] != 0.0)
                bits[(size_t)r * ld + i / 64] |= 1ull << (i % 64);
    }
    return bits;
}

static int bit(const uint64_t *bits, size_t ld, int r, int i)
{
    return (int)((bits[(size_t)r * ld + i / 64] >> (i % 64)) & 1u);
}

/* The layout contract: the unused high bits of a row's last word are 0. */
static int tail_clear(const uint64_t *bits, size_t ld, int r, int n)
{
    if (n % 64 == 0)
        return 1;
    return (bits[(size_t)r * ld + (size_t)(n - 1) / 64] & (~0ull << (n % 64))) == 0;
}

/* A kernel's workspace for problem p (NULL if it needs none), followed by
 * a 64-byte canary. ws_fill puts garbage in it before every run (it is
 * scratch: a kernel may not rely on what an earlier run left there);
 * ws_check reports writes past the size the kernel asked for. */
#define WS_CANARY 64
static size_t ws_size;

static void *ws_new(const lif_kernel_i *k, const lif_problem *p)
{
    ws_size = k->workspace ? k->workspace(p) : 0;
    return ws_size ? xalloc(ws_size + WS_CANARY) : NULL;
}

/* The context of a serial kernel's call: one thread, its workspace. */
static lif_ctx ws_ctx(void *ws, void *state)
{
    return (lif_ctx){.nthreads = 1, .ws = ws, .ws_stride = (ws_size + 63) / 64 * 64,
                     .state = state};
}

static void ws_fill(void *ws)
{
    if (ws) {
        memset(ws, 0xa5, ws_size);
        memset((char *)ws + ws_size, 0x5a, WS_CANARY);
    }
}

static void fail(const char *fmt, ...);

static void ws_check(const void *ws)
{
    for (size_t i = 0; ws && i < WS_CANARY; i++)
        if (((const unsigned char *)ws)[ws_size + i] != 0x5a) {
            fail("wrote past its workspace of %zu bytes", ws_size);
            return;
        }
}

/* ------------------------------------------------------------- reporting */

static char repro[400];
static int case_fails;
static long n_run, n_declined, n_flips, n_exact_hits;

static void begin_case(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(repro, sizeof repro, fmt, ap);
    va_end(ap);
    case_fails = 0;
}

/* One failure of the current case; the first few print the repro line. */
static void fail(const char *fmt, ...)
{
    test_failures++;
    if (++case_fails > 4) {
        if (case_fails == 5)
            fprintf(stderr, "FAIL %s: (more failures of this case not shown)\n", repro);
        return;
    }
    fprintf(stderr, "FAIL %s: ", repro);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* got vs want over n elements: |got - want| <= rtol*|want| + atol +
 * mtol*mag[i] (mag may be NULL). rtol = atol = 0 and no mag: bitwise. */
static void cmp(const char *what, const float *got, const double *want, size_t n,
                double rtol, double atol, const double *mag, double mtol)
{
    test_checks++;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        double tol = rtol * fabs(w) + atol + (mag ? mtol * mag[i] : 0.0);
        if (isnan(g) || !(fabs(g - w) <= tol))
            fail("%s[%zu]: got %.9g want %.17g (diff %.3g, tol %.3g)", what, i, g, w,
                 fabs(g - w), tol);
    }
}

/* Reasons already printed for the current kernel: each is printed once,
 * with the first problem it declined, and counted in the summary line. */
static const char *seen_why[32];
static int n_seen_why;

/* The workspace and init() state of the problem last accepted (freed by
 * the next accepts or by main after the kernel's tests). */
static void *cur_ws, *cur_state;
static const lif_kernel_i *cur_k;

/* A LIF_KERNEL_THREADED kernel runs every call with each of these thread
 * counts, booked as the plan books them: problem.threads = nthreads, its
 * init() for that problem, nthreads workspace slices of workspace(p)
 * rounded up to 64 bytes (the bytes between a slice's size and the next
 * slice, and 64 past the last, are canaries). Its outputs must be bitwise
 * the same for every count. */
static const int THREADS[] = {1, 2, 3, 8};
#define N_THREADS ((int)(sizeof THREADS / sizeof THREADS[0]))
static void *thr_ws[N_THREADS], *thr_state[N_THREADS];
static size_t thr_size[N_THREADS];
static long n_thread_runs;

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static void release_cur(void)
{
    free(cur_ws);
    cur_ws = NULL;
    if (cur_k && cur_k->fini)
        cur_k->fini(cur_state);
    cur_state = NULL;
    for (int i = 0; i < N_THREADS; i++) {
        free(thr_ws[i]);
        thr_ws[i] = NULL;
        if (cur_k && cur_k->fini)
            cur_k->fini(thr_state[i]);
        thr_state[i] = NULL;
    }
    cur_k = NULL;
}

static void run_threaded(const lif_kernel_i *k, const void *a);

/* Runs kernel slot on args a with the current workspace and state (a
 * threaded kernel: with every count of THREADS, compared bitwise). */
#define RUN(slot, a)                                                          \
    do {                                                                      \
        if (k->flags & LIF_KERNEL_THREADED) {                                 \
            run_threaded(k, &(a));                                            \
            break;                                                            \
        }                                                                     \
        lif_ctx ctx_ = ws_ctx(cur_ws, cur_state);                             \
        ws_fill(cur_ws);                                                      \
        lif_status st_ = k->run.slot(&ctx_, &(a));                            \
        test_checks++;                                                        \
        if (st_ != LIF_OK)                                                    \
            fail("run() returned %d: %s", (int)st_, lif_last_error());         \
        ws_check(cur_ws);                                                     \
    } while (0)

/* 1 while the kernel under test runs a reduced-precision problem (see
 * accepts()): the linear tolerances then add the bf16 rounding of their
 * operands (lin_tol). */
static int cur_amp;

static int is_linear(lif_op op)
{
    return op == LIF_OP_LINEAR_FWD || op == LIF_OP_LINEAR_BWD_W || op == LIF_OP_LINEAR_BWD_X;
}

static int accepts(const lif_kernel_i *k, const lif_problem *p0, const char *kn)
{
    const char *why = NULL;
    /* A linear kernel that declines a float32 problem but takes it with
     * amp (reduced precision, -amp: onednn's bf16 kernels) is tested on
     * the amp problem, with the bf16 tolerances. */
    lif_problem pa = *p0;
    const lif_problem *p = &pa;
    cur_amp = 0;
    if (is_linear(p0->op) && k->supports && !k->supports(p0, &why)) {
        pa.amp = 1;
        const char *why_amp;
        if (k->supports(&pa, &why_amp))
            cur_amp = 1;
        else
            pa.amp = 0, why = why_amp;
    }
    if (!k->supports || cur_amp || k->supports(p, &why)) {
        release_cur();
        cur_k = k;
        if (k->flags & LIF_KERNEL_THREADED) {
            for (int i = 0; i < N_THREADS; i++) {
                lif_problem q = *p;
                q.threads = THREADS[i];
                thr_size[i] = k->workspace ? k->workspace(&q) : 0;
                if (thr_size[i])
                    thr_ws[i] = xalloc(round64(thr_size[i]) * (size_t)THREADS[i] + WS_CANARY);
                if (k->init) {
                    lif_status st = k->init(&q, &thr_state[i]);
                    if (st != LIF_OK) {
                        fail("init() at %d threads returned %d: %s", THREADS[i], (int)st,
                             lif_last_error());
                        return 0;
                    }
                }
            }
            return 1;
        }
        cur_ws = ws_new(k, p);
        if (k->init) {
            lif_status st = k->init(p, &cur_state);
            if (st != LIF_OK) {
                fail("init() returned %d: %s", (int)st, lif_last_error());
                return 0;
            }
        }
        return 1;
    }
    n_declined++;
    if (!why || !*why) {
        test_failures++; /* every refusal carries a reason a user can read */
        fprintf(stderr, "FAIL %s: declined without a reason\n", repro);
        return 0;
    }
    for (int i = 0; i < n_seen_why; i++)
        if (strcmp(seen_why[i], why) == 0)
            return 0;
    if (n_seen_why < 32)
        seen_why[n_seen_why++] = why;
    printf("declined: %s: %s (first: %s)\n", kn, why, repro);
    return 0;
}

/* ------------------------------------------------------ threaded kernels */

/* An output of a kernel call: bytes from p (gaps between a cut's rows
 * included: the kernel leaves them alone, so they compare equal too). */
typedef struct region {
    const char *name;
    void *p;
    size_t bytes;
} region;

/* Span of a [Tc, B, row] block: steps `step` elements apart, B rows of
 * `row` elements. */
static size_t span(int Tc, size_t step, size_t B_row)
{
    return Tc > 0 ? (size_t)(Tc - 1) * step + B_row : 0;
}

/* The outputs of op k->op's call a (written or accumulated into). */
static int outputs_of(lif_op op, const void *args, region *r)
{
    int n = 0;
#define OUT(nm, ptr, count, type)                                                         \
    do {                                                                                  \
        if ((ptr) && (count) > 0)                                                         \
            r[n++] = (region){nm, (void *)(ptr), (size_t)(count) * sizeof(type)};         \
    } while (0)
    switch (op) {
    case LIF_OP_ENCODE: {
        const lif_encode_args *a = args;
        size_t ts = a->dst_tstride ? a->dst_tstride : (size_t)a->B * a->ld;
        OUT("dst", a->dst, span(a->Tc, ts, (size_t)a->B * a->ld), uint64_t);
        break;
    }
    case LIF_OP_LINEAR_FWD: {
        const lif_linear_fwd_args *a = args;
        size_t ld = a->ldy ? a->ldy : (size_t)a->n_out;
        OUT("y", a->y, a->M > 0 ? (size_t)(a->M - 1) * ld + (size_t)a->n_out : 0, float);
        break;
    }
    case LIF_OP_LIF_FWD: {
        const lif_lif_fwd_args *a = args;
        size_t N = (size_t)a->B * a->n;
        size_t ts = a->tstride ? a->tstride : N;
        size_t ss = a->s_tstride ? a->s_tstride : (size_t)a->B * a->lds;
        OUT("v", a->v, N, float);
        OUT("h", a->h, span(a->Tc, ts, N), float);
        OUT("s", a->s, span(a->Tc, ss, (size_t)a->B * a->lds), uint64_t);
        break;
    }
    case LIF_OP_LIF_BWD: {
        const lif_lif_bwd_args *a = args;
        size_t N = (size_t)a->B * a->n;
        OUT("dv", a->dv, N, float);
        OUT("dx", a->dx, span(a->Tc, a->tstride ? a->tstride : N, N), float);
        break;
    }
    case LIF_OP_LINEAR_BWD_W: {
        const lif_linear_bwd_w_args *a = args;
        OUT("dw", a->dw, (size_t)a->n_out * a->n_in, float);
        OUT("db", a->db, a->n_out, float);
        break;
    }
    case LIF_OP_LINEAR_BWD_X: {
        const lif_linear_bwd_x_args *a = args;
        OUT("dx", a->dx, (size_t)a->M * a->n_in, float);
        break;
    }
    case LIF_OP_SPIKE_COUNT: {
        const lif_spike_count_args *a = args;
        OUT("count", a->count, (size_t)a->B * a->n, float);
        break;
    }
    case LIF_OP_LOSS: {
        const lif_loss_args *a = args;
        OUT("rate", a->rate, (size_t)a->B * a->n, float);
        OUT("ds", a->ds, (size_t)a->B * a->n, float);
        OUT("loss", a->loss, 1, double);
        OUT("correct", a->correct, 1, int);
        break;
    }
    case LIF_OP_OPTIM: {
        const lif_optim_args *a = args;
        OUT("w", a->w, a->n, float);
        OUT("m", a->m, a->n, float);
        OUT("v", a->v, a->n, float);
        break;
    }
    default:
        break;
    }
#undef OUT
    return n;
}

static lif_status call_kernel(const lif_kernel_i *k, const lif_ctx *c, const void *a)
{
    switch (k->op) {
    case LIF_OP_ENCODE: return k->run.encode(c, a);
    case LIF_OP_LINEAR_FWD: return k->run.linear_fwd(c, a);
    case LIF_OP_LIF_FWD: return k->run.lif_fwd(c, a);
    case LIF_OP_LIF_BWD: return k->run.lif_bwd(c, a);
    case LIF_OP_LINEAR_BWD_W: return k->run.linear_bwd_w(c, a);
    case LIF_OP_LINEAR_BWD_X: return k->run.linear_bwd_x(c, a);
    case LIF_OP_SPIKE_COUNT: return k->run.spike_count(c, a);
    case LIF_OP_LOSS: return k->run.loss(c, a);
    case LIF_OP_OPTIM: return k->run.optim(c, a);
    default: return LIF_ERR_INTERNAL;
    }
}

/* Runs a threaded kernel's call a with each count of THREADS from the same
 * inputs (the outputs restored before each run) and checks that the
 * outputs are bitwise those of one thread, and that no thread wrote past
 * its workspace slice. The outputs are left as the runs made them. */
static void run_threaded(const lif_kernel_i *k, const void *a)
{
    region r[8];
    int nr = outputs_of(k->op, a, r);
    unsigned char *init[8], *one[8];
    for (int j = 0; j < nr; j++) {
        init[j] = malloc(r[j].bytes);
        one[j] = malloc(r[j].bytes);
        if (!init[j] || !one[j]) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        memcpy(init[j], r[j].p, r[j].bytes);
    }
    for (int i = 0; i < N_THREADS; i++) {
        int nt = THREADS[i];
        size_t size = thr_size[i], stride = round64(size);
        unsigned char *ws = thr_ws[i];
        if (ws) /* garbage in the slices, canaries after each and past the last */
            for (int t = 0; t <= nt; t++) {
                if (t < nt)
                    memset(ws + (size_t)t * stride, 0xa5, size);
                memset(ws + (size_t)t * stride + (t < nt ? size : 0), 0x5a,
                       t < nt ? stride - size : WS_CANARY);
            }
        for (int j = 0; i > 0 && j < nr; j++)
            memcpy(r[j].p, init[j], r[j].bytes);
        lif_ctx c = {.nthreads = nt, .ws = ws, .ws_stride = ws ? stride : 0,
                     .state = thr_state[i]};
        lif_status st = call_kernel(k, &c, a);
        test_checks++;
        if (st != LIF_OK)
            fail("run() at %d threads returned %d: %s", nt, (int)st, lif_last_error());
        for (int t = 0; ws && t <= nt; t++) {
            const unsigned char *q = ws + (size_t)t * stride + (t < nt ? size : 0);
            size_t len = t < nt ? stride - size : WS_CANARY;
            for (size_t b = 0; b < len; b++)
                if (q[b] != 0x5a) {
                    fail("at %d threads: wrote past workspace slice %d (%zu bytes)", nt,
                         t < nt ? t : nt - 1, size);
                    break;
                }
        }
        test_checks++;
        for (int j = 0; j < nr; j++) {
            if (i == 0) {
                memcpy(one[j], r[j].p, r[j].bytes);
                continue;
            }
            if (memcmp(one[j], r[j].p, r[j].bytes) != 0) {
                size_t b = 0;
                while (((unsigned char *)r[j].p)[b] == one[j][b])
                    b++;
                fail("at %d threads: %s differs from 1 thread at byte %zu of %zu (must be "
                     "bitwise equal for any thread count)", nt, r[j].name, b, r[j].bytes);
            }
        }
        n_thread_runs++;
    }
    for (int j = 0; j < nr; j++)
        free(init[j]), free(one[j]);
}

/* ------------------------------------------------------------------ shapes */

static const int BS[] = {1, 3, 64};
static const int NINS[] = {1, 63, 64, 65, 784};
static const int TCS[] = {1, 7};
static const int NOUTS[] = {1, 10, 33};
static const int NS[] = {1, 10, 33, 65}; /* neurons of LIF/count ops */
#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The cut tests (see "cuts" below), run at the end of each op's test. */
static void cut_encode(const lif_kernel_i *k, const char *kn);
static void cut_linear_fwd(const lif_kernel_i *k, const char *kn);
static void cut_linear_bwd_w(const lif_kernel_i *k, const char *kn);
static void cut_linear_bwd_x(const lif_kernel_i *k, const char *kn);
static void cut_lif_fwd(const lif_kernel_i *k, const char *kn);
static void cut_lif_bwd(const lif_kernel_i *k, const char *kn);
static void cut_spike_count(const lif_kernel_i *k, const char *kn);

/* ------------------------------------------------------------------ encode */

static void run_encode(const lif_kernel_i *k, const uint8_t *px, const uint32_t *ids,
                       int B, int n, int t0, int Tc, uint32_t key0, uint32_t key1,
                       uint32_t dom, uint64_t *dst, size_t ld)
{
    lif_encode_args a = {.pixels = px, .ids = ids, .B = B, .n_in = n, .t0 = t0,
                         .Tc = Tc, .key = {key0, key1}, .domain = dom,
                         .dst = dst, .ld = ld};
    RUN(encode, a);
}

static void test_encode(const lif_kernel_i *k, const char *kn)
{
    int c = 0;
    for (int ib = 0; ib < LEN(BS); ib++)
        for (int in = 0; in < LEN(NINS); in++)
            for (int it = 0; it < LEN(TCS); it++) {
                int B = BS[ib], n = NINS[in], Tc = TCS[it];
                uint64_t seed = case_seed(LIF_OP_ENCODE, ++c), r = seed;
                int t0 = (c % 3) * 5;
                uint32_t key0 = (uint32_t)rnd(&r), key1 = (uint32_t)(c % 4), dom = (uint32_t)(c % 2);
                size_t ld = words_of(n) + (c % 3 == 0);
                begin_case("kernel=%s op=encode B=%d n_in=%d Tc=%d t0=%d ld=%zu key={%u,%u} "
                           "domain=%u seed=%llu", kn, B, n, Tc, t0, ld, key0, key1, dom,
                           (unsigned long long)seed);
                lif_problem p = {.op = LIF_OP_ENCODE, .T = t0 + Tc, .Tc = Tc, .B = B,
                                 .n_in = n, .threads = 1};
                if (!accepts(k, &p, kn))
                    continue;
                uint8_t *px = xalloc((size_t)B * n);
                uint32_t *ids = xalloc((size_t)B * sizeof *ids);
                static const uint8_t edge[] = {0, 1, 254, 255};
                for (int b = 0; b < B; b++) {
                    ids[b] = b == 0 ? 0u : b == 1 ? 0xffffffffu : (uint32_t)rnd(&r);
                    for (int i = 0; i < n; i++)
                        px[(size_t)b * n + i] = b % 4 == 2 ? edge[rnd(&r) % 4]
                                                           : (uint8_t)(rnd(&r) & 255u);
                }
                size_t rows = (size_t)Tc * B;
                uint64_t *dst = xalloc(rows * ld * sizeof *dst);
                /* the kernel must write every feature bit and clear the tail */
                memset(dst, 0xff, rows * ld * sizeof *dst);
                run_encode(k, px, ids, B, n, t0, Tc, key0, key1, dom, dst, ld);
                double *x = DALLOC(rows * n);
                orc_encode(px, ids, B, n, t0, Tc, key0, key1, dom, x);
                test_checks++;
                for (int t = 0; t < Tc; t++)
                    for (int b = 0; b < B; b++) {
                        int row = t * B + b;
                        for (int i = 0; i < n; i++)
                            if (bit(dst, ld, row, i) != (int)x[(size_t)row * n + i])
                                fail("spike t=%d b=%d i=%d pixel=%d id=%u: got %d want %d",
                                     t0 + t, b, i, px[(size_t)b * n + i], ids[b],
                                     bit(dst, ld, row, i), (int)x[(size_t)row * n + i]);
                        if (!tail_clear(dst, ld, row, n))
                            fail("row %d: unused high bits of the last word are not zero", row);
                    }
                n_run++;
                free(px), free(ids), free(dst), free(x);
            }

    /* The firing fraction of one pixel value over many draws must be within
     * a binomial bound of pixel/255: 6 standard deviations plus one count
     * (a false alarm has probability ~1e-9 per value), plus 1.53e-5, the
     * most a 16-bit draw's probability ceil(pixel 2^16/255)/2^16 can
     * differ from pixel/255 (backend.h). */
    static const uint8_t vals[] = {0, 1, 3, 64, 128, 200, 254, 255};
    int B = 64, n = 784, Tc = 7;
    size_t ld = words_of(n), rows = (size_t)Tc * B;
    for (int iv = 0; iv < LEN(vals); iv++) {
        uint64_t seed = case_seed(LIF_OP_ENCODE, 1000 + iv), r = seed;
        uint32_t key0 = (uint32_t)rnd(&r);
        begin_case("kernel=%s op=encode rate pixel=%d B=%d n_in=%d Tc=%d key={%u,7} seed=%llu",
                   kn, vals[iv], B, n, Tc, key0, (unsigned long long)seed);
        lif_problem p = {.op = LIF_OP_ENCODE, .T = Tc, .Tc = Tc, .B = B, .n_in = n, .threads = 1};
        if (!accepts(k, &p, kn))
            continue;
        uint8_t *px = xalloc((size_t)B * n);
        uint32_t *ids = xalloc((size_t)B * sizeof *ids);
        memset(px, vals[iv], (size_t)B * n);
        for (int b = 0; b < B; b++)
            ids[b] = (uint32_t)b * 977u;
        uint64_t *dst = xalloc(rows * ld * sizeof *dst);
        run_encode(k, px, ids, B, n, 0, Tc, key0, 7, 0, dst, ld);
        long fired = 0;
        for (size_t row = 0; row < rows; row++)
            for (int i = 0; i < n; i++)
                fired += bit(dst, ld, (int)row, i);
        double N = (double)rows * n, pr = vals[iv] / 255.0, frac = fired / N;
        double bound = 6.0 * sqrt(pr * (1.0 - pr) / N) + 1.0 / N + 1.53e-5;
        test_checks++;
        if (!(fabs(frac - pr) <= bound))
            fail("firing fraction %.6f, want %.6f +- %.2g over %.0f draws", frac, pr, bound, N);
        n_run++;
        free(px), free(ids), free(dst);
    }
    cut_encode(k, kn);
}

/* -------------------------------------------------------------- linear ops */

/* Random 0/1 rows of density d, with some rows all ones and some all zeros. */
static void fill_spikes(uint64_t *r, double *x, int rows, int n, double d)
{
    for (int m = 0; m < rows; m++)
        for (int i = 0; i < n; i++)
            x[(size_t)m * n + i] = m % 11 == 3 ? 1.0 : m % 13 == 5 ? 0.0 : urand(r) < d;
}

/* exact: k/64 for k in [-q, q]; else uniform(-a, a). Writes both copies. */
static void fill_vals(uint64_t *r, int exact, int q, double a, float *f, double *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = exact ? (float)irand(r, -q, q) / 64.0f : (float)((2.0 * urand(r) - 1.0) * a);
        f[i] = v;
        d[i] = v;
    }
}

/* Tolerance of a float32 sum of K terms, relative to the sum of the terms'
 * magnitudes (mag): rounding errors of a sum accumulate like a random walk
 * of K steps each at most U32 times a partial sum, itself at most mag; 8
 * sqrt(K) U32 mag is > 10 standard deviations of that walk, whatever the
 * summation order (sequential, blocked, pairwise, FMA). Cancellation makes
 * a relative bound on the sum itself meaningless, hence mag. */
static double sum_tol(int K) { return 8.0 * sqrt((double)K + 1.0) * U32; }

/* bfloat16 unit roundoff: 8 significant bits (7 stored), round to nearest
 * even: a value is off by at most 2^-8 of itself. */
#define U_BF16 0.00390625

/* The tolerance of a linear op's sum of K products, relative to mag, when
 * `rounded` of each product's two operands enter the kernel in bf16 under
 * amp (linear_fwd: W; linear_bwd_w: dY; linear_bwd_x: dY and W; the spikes
 * 0/1 and the exact test values k/64, |k| <= 128, are bf16 values):
 * each product is then off by at most (1 + U_BF16)^rounded - 1 <
 * 1.01·rounded·U_BF16 of its magnitude (a bound, not a random walk, since
 * the roundings of W are shared by all rows), on top of the float32 sum
 * (accumulation stays float32). Without amp: sum_tol alone. Exact inputs
 * stay bitwise in both. */
static double lin_tol(int K, int rounded)
{
    return sum_tol(K) + (cur_amp ? 1.01 * rounded * U_BF16 : 0.0);
}

static const double DENS[] = {0.02, 0.3, 0.9};

/* Input density of case c, told to the kernel in p. supports() is
 * capability only: every kernel must accept every density (the event-driven
 * ones included) and be exact at all of them. */
/* selection by density: see test of rank.c */
static double pick_density(const lif_kernel_i *k, lif_problem *p, int c)
{
    (void)k;
    double d = DENS[c % 3];
    p->density = (float)d;
    return d;
}

/* Visits n_in x B x Tc x n_out x {exact, random}; bias alternates so that
 * each shape runs once with and once without it. */
#define FOR_LINEAR_SHAPES(c)                                                     \
    for (int in = 0; in < LEN(NINS); in++)                                       \
        for (int ib = 0; ib < LEN(BS); ib++)                                     \
            for (int it = 0; it < LEN(TCS); it++)                                \
                for (int io = 0; io < LEN(NOUTS); io++)                          \
                    for (int ex = 1; ex >= 0; ex--, (c)++)                       \
                        for (int bias = (ex + in + ib + it + io) % 2, once_ = 1; once_; \
                             once_ = 0)

static void pad_linear(const lif_kernel_i *k, const char *kn, int bwd);

/* Threaded kernels also run these (M from 333 to 8320 rows, narrow and
 * wide layers: the weight gradient's fixed row blocks, up to their cap of
 * 16, and its output blocks), exact and random, bias on and off. */
static const struct {
    int n_in, B, Tc, n_out;
} BIG[] = {{784, 100, 11, 10}, {100, 130, 20, 10}, {65, 64, 36, 33},
           {100, 37, 9, 200}, {784, 64, 20, 64}, {64, 128, 65, 10}};
#define FOR_BIG_SHAPES(k, c)                                                       \
    for (int ib_ = 0; ((k)->flags & LIF_KERNEL_THREADED) && ib_ < LEN(BIG); ib_++) \
        for (int ex = 1; ex >= 0; ex--, (c)++)

static void linear_fwd_case(const lif_kernel_i *k, const char *kn, int c, int n_in, int B,
                            int Tc, int n_out, int ex, int bias)
{
    {
        int M = Tc * B;
        lif_problem p = {.op = LIF_OP_LINEAR_FWD, .T = Tc, .Tc = Tc, .B = B, .n_in = n_in,
                         .n_out = n_out, .has_bias = bias, .threads = 1};
        double d = pick_density(k, &p, c);
        size_t ld = words_of(n_in) + (c % 2);
        uint64_t seed = case_seed(LIF_OP_LINEAR_FWD, c), r = seed;
        begin_case("kernel=%s op=linear_fwd M=%d(Tc=%d,B=%d) n_in=%d n_out=%d bias=%d "
                   "density=%.2f ldx=%zu %s seed=%llu", kn, M, Tc, B, n_in, n_out, bias, d,
                   ld, ex ? "exact" : "random", (unsigned long long)seed);
        if (!accepts(k, &p, kn))
            return;
        double *x = DALLOC((size_t)M * n_in), *wd = DALLOC((size_t)n_out * n_in);
        double *bd = DALLOC(n_out), *yd = DALLOC((size_t)M * n_out), *mag = DALLOC((size_t)M * n_out);
        float *w = FALLOC((size_t)n_out * n_in), *b = FALLOC(n_out), *y = FALLOC((size_t)M * n_out);
        fill_spikes(&r, x, M, n_in, d);
        fill_vals(&r, ex, 128, 1.0 / sqrt(n_in), w, wd, (size_t)n_out * n_in);
        fill_vals(&r, ex, 64, 1.0 / sqrt(n_in), b, bd, n_out);
        uint64_t *xb = pack(x, M, n_in, ld, 0);
        for (size_t i = 0; i < (size_t)M * n_out; i++)
            y[i] = NAN; /* must be overwritten */
        lif_linear_fwd_args a = {.M = M, .n_in = n_in, .n_out = n_out, .x = xb, .ldx = ld,
                                 .w = w, .b = bias ? b : NULL, .y = y, .step = B};
        RUN(linear_fwd, a);
        orc_linear_fwd(M, n_in, n_out, x, wd, bias ? bd : NULL, yd, mag);
        if (ex) /* sums of k/64 with |sum| < 2^12: exact in float32 */
            cmp("y", y, yd, (size_t)M * n_out, 0, 0, NULL, 0);
        else
            cmp("y", y, yd, (size_t)M * n_out, 0, 0, mag, lin_tol(n_in, 1));
        n_run++;
        free(x), free(wd), free(bd), free(yd), free(mag), free(w), free(b), free(y), free(xb);
    }
}

/* Long chunks, every kernel: the time-lanes forwards group blocks of 16
 * steps into passes of two or three (an odd count: three first), so these
 * cover 3 blocks with a 1-step and an 8-step last block, 7 blocks (T 100),
 * 5 blocks, and widths on both sides of the three-block limit (10). */
static const struct {
    int n_in, B, Tc, n_out;
} LONG[] = {{784, 6, 100, 10}, {100, 5, 40, 7}, {64, 3, 33, 10}, {130, 4, 80, 11},
            {70, 3, 48, 3}};

static void test_linear_fwd(const lif_kernel_i *k, const char *kn)
{
    int c = 0;
    FOR_LINEAR_SHAPES(c)
        linear_fwd_case(k, kn, c, NINS[in], BS[ib], TCS[it], NOUTS[io], ex, bias);
    for (int il = 0; il < LEN(LONG); il++)
        for (int ex = 1; ex >= 0; ex--, c++)
            linear_fwd_case(k, kn, c, LONG[il].n_in, LONG[il].B, LONG[il].Tc, LONG[il].n_out, ex,
                            (il + ex) % 2);
    FOR_BIG_SHAPES(k, c)
        linear_fwd_case(k, kn, c, BIG[ib_].n_in, BIG[ib_].B, BIG[ib_].Tc, BIG[ib_].n_out, ex,
                        (ib_ + ex) % 2);
    pad_linear(k, kn, 0);
    cut_linear_fwd(k, kn);
}

static void linear_bwd_w_case(const lif_kernel_i *k, const char *kn, int c, int n_in, int B,
                              int Tc, int n_out, int ex, int bias)
{
    {
        int M = Tc * B;
        lif_problem p = {.op = LIF_OP_LINEAR_BWD_W, .T = Tc, .Tc = Tc, .B = B, .n_in = n_in,
                         .n_out = n_out, .has_bias = bias, .threads = 1};
        double d = pick_density(k, &p, c);
        size_t ld = words_of(n_in) + (c % 2);
        uint64_t seed = case_seed(LIF_OP_LINEAR_BWD_W, c), r = seed;
        begin_case("kernel=%s op=linear_bwd_w M=%d(Tc=%d,B=%d) n_in=%d n_out=%d bias=%d "
                   "density=%.2f ldx=%zu %s seed=%llu", kn, M, Tc, B, n_in, n_out, bias, d,
                   ld, ex ? "exact" : "random", (unsigned long long)seed);
        if (!accepts(k, &p, kn))
            return;
        size_t nw = (size_t)n_out * n_in;
        double *x = DALLOC((size_t)M * n_in), *dyd = DALLOC((size_t)M * n_out);
        double *dwd = DALLOC(nw), *dbd = DALLOC(n_out), *mag = DALLOC(nw), *dbmag = DALLOC(n_out);
        float *dy = FALLOC((size_t)M * n_out), *dw = FALLOC(nw), *db = FALLOC(n_out);
        fill_spikes(&r, x, M, n_in, d);
        fill_vals(&r, ex, 64, 1.0, dy, dyd, (size_t)M * n_out);
        /* non-zero start: the kernel accumulates */
        fill_vals(&r, ex, 64, 0.1, dw, dwd, nw);
        fill_vals(&r, ex, 64, 0.1, db, dbd, n_out);
        for (int o = 0; o < n_out; o++) {
            dbmag[o] = fabs(dbd[o]);
            for (int m = 0; m < M; m++)
                dbmag[o] += fabs(dyd[(size_t)m * n_out + o]);
        }
        uint64_t *xb = pack(x, M, n_in, ld, 0);
        lif_linear_bwd_w_args a = {.M = M, .n_in = n_in, .n_out = n_out, .dy = dy, .x = xb,
                                   .ldx = ld, .dw = dw, .db = bias ? db : NULL};
        RUN(linear_bwd_w, a);
        orc_linear_bwd_w(M, n_in, n_out, dyd, x, dwd, bias ? dbd : NULL, mag);
        if (ex) { /* k/64 sums of < 500 terms: exact */
            cmp("dw", dw, dwd, nw, 0, 0, NULL, 0);
            cmp("db", db, dbd, n_out, 0, 0, NULL, 0);
        } else {
            cmp("dw", dw, dwd, nw, 0, 0, mag, lin_tol(M, 1));
            cmp("db", db, dbd, n_out, 0, 0, dbmag, sum_tol(M)); /* db: float32 sums */
        }
        n_run++;
        free(x), free(dyd), free(dwd), free(dbd), free(mag), free(dbmag), free(dy), free(dw),
            free(db), free(xb);
    }
}

static void test_linear_bwd_w(const lif_kernel_i *k, const char *kn)
{
    int c = 0;
    FOR_LINEAR_SHAPES(c)
        linear_bwd_w_case(k, kn, c, NINS[in], BS[ib], TCS[it], NOUTS[io], ex, bias);
    FOR_BIG_SHAPES(k, c)
        linear_bwd_w_case(k, kn, c, BIG[ib_].n_in, BIG[ib_].B, BIG[ib_].Tc, BIG[ib_].n_out, ex,
                          (ib_ + ex) % 2);
    pad_linear(k, kn, 1);
    cut_linear_bwd_w(k, kn);
}

/* The padding case: ld = words + 2 with the extra words all ones. Buffers
 * indexed by feature get 64·ld elements of slack, so a kernel that takes
 * padding bits for features reads marked values (wrong sums) or writes into
 * the slack (detected) instead of corrupting the heap. */
#define PAD_SLACK(ld) (64 * (ld))

static void pad_linear(const lif_kernel_i *k, const char *kn, int bwd)
{
    int M = 5, n_in = 65, n_out = 3;
    size_t ld = words_of(n_in) + 2, nw = (size_t)n_out * n_in, slack = PAD_SLACK(ld);
    uint64_t seed = case_seed(bwd ? LIF_OP_LINEAR_BWD_W : LIF_OP_LINEAR_FWD, 9999), r = seed;
    lif_problem p = {.op = bwd ? LIF_OP_LINEAR_BWD_W : LIF_OP_LINEAR_FWD, .T = M, .Tc = M,
                     .B = 1, .n_in = n_in, .n_out = n_out, .threads = 1};
    double d = pick_density(k, &p, 1);
    begin_case("kernel=%s op=%s padding M=%d n_in=%d n_out=%d density=%.2f ldx=%zu (words past "
               "n_in all ones) seed=%llu", kn, bwd ? "linear_bwd_w" : "linear_fwd", M, n_in,
               n_out, d, ld, (unsigned long long)seed);
    if (!accepts(k, &p, kn))
        return;
    double *x = DALLOC((size_t)M * n_in), *wd = DALLOC(nw), *yd = DALLOC((size_t)M * n_out);
    float *w = FALLOC(nw + slack), *y = FALLOC((size_t)M * n_out);
    fill_spikes(&r, x, M, n_in, d);
    fill_vals(&r, 1, 64, 0, w, wd, nw);
    for (size_t i = nw; i < nw + slack; i++)
        w[i] = bwd ? 0.0f : 1e6f;
    uint64_t *xb = pack(x, M, n_in, ld, ~0ull);
    if (!bwd) {
        lif_linear_fwd_args a = {.M = M, .n_in = n_in, .n_out = n_out, .x = xb, .ldx = ld,
                                 .w = w, .b = NULL, .y = y};
        RUN(linear_fwd, a);
        orc_linear_fwd(M, n_in, n_out, x, wd, NULL, yd, NULL);
        cmp("y", y, yd, (size_t)M * n_out, 0, 0, NULL, 0);
    } else {
        double *dyd = DALLOC((size_t)M * n_out);
        fill_vals(&r, 1, 64, 0, y, dyd, (size_t)M * n_out);
        lif_linear_bwd_w_args a = {.M = M, .n_in = n_in, .n_out = n_out, .dy = y, .x = xb,
                                   .ldx = ld, .dw = w, .db = NULL};
        RUN(linear_bwd_w, a);
        orc_linear_bwd_w(M, n_in, n_out, dyd, x, wd, NULL, NULL);
        cmp("dw", w, wd, nw, 0, 0, NULL, 0);
        size_t bad = 0;
        for (size_t i = nw; i < nw + slack; i++)
            bad += w[i] != 0.0f;
        test_checks++;
        if (bad)
            fail("%zu writes past dw[n_out*n_in]", bad);
        free(dyd);
    }
    n_run++;
    free(x), free(wd), free(yd), free(w), free(y), free(xb);
}

static void linear_bwd_x_case(const lif_kernel_i *k, const char *kn, int c, int n_in, int B,
                              int Tc, int n_out, int ex)
{
    {
        int M = Tc * B;
        uint64_t seed = case_seed(LIF_OP_LINEAR_BWD_X, c), r = seed;
        begin_case("kernel=%s op=linear_bwd_x M=%d(Tc=%d,B=%d) n_in=%d n_out=%d %s seed=%llu",
                   kn, M, Tc, B, n_in, n_out, ex ? "exact" : "random", (unsigned long long)seed);
        lif_problem p = {.op = LIF_OP_LINEAR_BWD_X, .T = Tc, .Tc = Tc, .B = B, .n_in = n_in,
                         .n_out = n_out, .threads = 1};
        if (!accepts(k, &p, kn))
            return;
        size_t nw = (size_t)n_out * n_in, nx = (size_t)M * n_in;
        double *dyd = DALLOC((size_t)M * n_out), *wd = DALLOC(nw), *dxd = DALLOC(nx), *mag = DALLOC(nx);
        float *dy = FALLOC((size_t)M * n_out), *w = FALLOC(nw), *dx = FALLOC(nx);
        fill_vals(&r, ex, 64, 1.0, dy, dyd, (size_t)M * n_out);
        fill_vals(&r, ex, 128, 1.0 / sqrt(n_in), w, wd, nw);
        for (size_t i = 0; i < nx; i++)
            dx[i] = NAN; /* overwritten, not accumulated */
        lif_linear_bwd_x_args a = {.M = M, .n_in = n_in, .n_out = n_out, .dy = dy, .w = w,
                                   .dx = dx};
        RUN(linear_bwd_x, a);
        orc_linear_bwd_x(M, n_in, n_out, dyd, wd, dxd, mag);
        if (ex) /* products k/4096, sums of <= 33: exact */
            cmp("dx", dx, dxd, nx, 0, 0, NULL, 0);
        else
            cmp("dx", dx, dxd, nx, 0, 0, mag, lin_tol(n_out, 2));
        n_run++;
        free(dyd), free(wd), free(dxd), free(mag), free(dy), free(w), free(dx);
    }
}

static void test_linear_bwd_x(const lif_kernel_i *k, const char *kn)
{
    int c = 0;
    FOR_LINEAR_SHAPES(c) {
        (void)bias; /* no bias in this op */
        linear_bwd_x_case(k, kn, c, NINS[in], BS[ib], TCS[it], NOUTS[io], ex);
    }
    FOR_BIG_SHAPES(k, c)
        linear_bwd_x_case(k, kn, c, BIG[ib_].n_in, BIG[ib_].B, BIG[ib_].Tc, BIG[ib_].n_out, ex);
    cut_linear_bwd_x(k, kn);
}

/* ----------------------------------------------------------------- neurons */

typedef struct cfg {
    int soft, decay, detach, surr;
    float vr, vth;
} cfg;

/* Forward options: reset kind x decay_input x v_reset (hard only) x V_th. */
static int fwd_cfgs(cfg *out)
{
    int n = 0;
    for (int soft = 0; soft < 2; soft++)
        for (int decay = 0; decay < 2; decay++)
            for (int ir = 0; ir < (soft ? 1 : 2); ir++)
                for (int it = 0; it < 2; it++)
                    out[n++] = (cfg){soft, decay, 0, 0, ir ? -0.25f : 0.0f, it ? 0.5f : 1.0f};
    return n;
}

/* Backward options: every combination of reset, decay_input, detach_reset
 * and surrogate, v_reset 0 and -0.25 for hard reset; V_th alternates. */
static int bwd_cfgs(cfg *out)
{
    int n = 0;
    for (int soft = 0; soft < 2; soft++)
        for (int decay = 0; decay < 2; decay++)
            for (int det = 0; det < 2; det++)
                for (int surr = 0; surr < 2; surr++)
                    for (int ir = 0; ir < (soft ? 1 : 2); ir++, n++)
                        out[n] = (cfg){soft, decay, det, surr, ir ? -0.25f : 0.0f,
                                       n % 3 == 2 ? 0.5f : 1.0f};
    return n;
}

static void make_neuron(const cfg *g, float tau, lif_neuron *nk, orc_neuron *no)
{
    *nk = (lif_neuron){.tau = tau, .v_threshold = g->vth, .v_reset = g->vr,
                       .soft_reset = g->soft, .decay_input = g->decay,
                       .detach_reset = g->detach,
                       .surrogate = g->surr ? LIF_SURR_SIGMOID : LIF_SURR_ATAN,
                       .alpha = g->surr ? 4.0f : 2.0f};
    /* the oracle gets exactly the float parameters the kernel gets */
    *no = (orc_neuron){.tau = nk->tau, .v_th = nk->v_threshold, .v_reset = nk->v_reset,
                       .soft = g->soft, .decay_input = g->decay, .detach_reset = g->detach,
                       .surrogate = g->surr, .alpha = nk->alpha};
}

static const char *cfg_str(const lif_neuron *nk)
{
    static char buf[160];
    snprintf(buf, sizeof buf, "tau=%g v_th=%g v_reset=%s%g decay_input=%d detach_reset=%d %s(alpha=%g)",
             nk->tau, nk->v_threshold, nk->soft_reset ? "none/soft," : "", nk->v_reset,
             nk->decay_input, nk->detach_reset,
             nk->surrogate == LIF_SURR_SIGMOID ? "sigmoid" : "atan", nk->alpha);
    return buf;
}

/* Tolerances for the random-input LIF forward: each step does ~4 float32
 * roundings on values of magnitude <= ~4 (<= 16 U32 ~ 1e-6 absolute), and
 * the error of V contracts by (1 - 1/tau) <= 2/3 per step (tau <= 3), so
 * H stays within ~3e-6 of the exact value; 5e-6 (1 + |H|) leaves margin.
 * A spike flip needs |H - V_th| below the kernel's own error; any flip with
 * the oracle's margin >= 1e-5 is a bug. */
#define FWD_TOL 5e-6
#define FLIP_MARGIN 1e-5

static void test_lif_fwd(const lif_kernel_i *k, const char *kn)
{
    cfg cf[16];
    int ncf = fwd_cfgs(cf), c = 0;
    long hits = 0;
    for (int ic = 0; ic < ncf; ic++)
        for (int ex = 1; ex >= 0; ex--)
            for (int ib = 0; ib < LEN(BS); ib++)
                for (int in = 0; in < LEN(NS); in++)
                    for (int it = 0; it < LEN(TCS); it++) {
                        int B = BS[ib], n = NS[in], Tc = TCS[it], nch = Tc == 1 ? 5 : 2;
                        /* exact: tau = 2 halves a k/16 grid once per step,
                         * <= 14 steps keep every value within 24 bits */
                        float tau = ex ? 2.0f : (c % 2 ? 3.0f : 1.7f);
                        size_t N = (size_t)B * n, lds = words_of(n) + (c % 2);
                        lif_neuron nk;
                        orc_neuron no;
                        make_neuron(&cf[ic], tau, &nk, &no);
                        uint64_t seed = case_seed(LIF_OP_LIF_FWD, ++c), r = seed;
                        begin_case("kernel=%s op=lif_fwd Tc=%d chunks=%d B=%d n=%d lds=%zu %s %s "
                                   "seed=%llu", kn, Tc, nch, B, n, lds, cfg_str(&nk),
                                   ex ? "exact" : "random", (unsigned long long)seed);
                        lif_problem p = {.op = LIF_OP_LIF_FWD, .T = Tc * nch, .Tc = Tc, .B = B,
                                         .n_out = n, .nrn = &nk, .threads = 1};
                        if (!accepts(k, &p, kn))
                            continue;
                        size_t NT = (size_t)Tc * N;
                        float *x = FALLOC(NT * nch), *v = FALLOC(N), *h = FALLOC(NT);
                        double *xd = DALLOC(NT * nch), *vd = DALLOC(N), *hd = DALLOC(NT),
                               *sd = DALLOC(NT);
                        uint64_t *s = xalloc((size_t)Tc * B * lds * sizeof *s);
                        char *gone = xalloc(N); /* flipped earlier: not compared */
                        double vth = nk.v_threshold;
                        for (size_t i = 0; i < NT * nch; i++) {
                            x[i] = ex ? (float)(irand(&r, -16, 48) / 16.0 * vth)
                                      : (float)((urand(&r) * 3.0 - 0.5) * vth);
                            xd[i] = x[i];
                        }
                        for (size_t j = 0; j < N; j++) {
                            v[j] = ex ? (float)(irand(&r, -8, 15) / 16.0 * vth)
                                      : (float)((urand(&r) * 1.5 - 0.5) * vth);
                            vd[j] = v[j];
                        }
                        for (int ch = 0; ch < nch; ch++) {
                            memset(s, 0xff, (size_t)Tc * B * lds * sizeof *s);
                            lif_lif_fwd_args a = {.nrn = &nk, .Tc = Tc, .B = B, .n = n,
                                                  .x = x + ch * NT, .v = v, .h = h, .s = s,
                                                  .lds = lds};
                            RUN(lif_fwd, a);
                            orc_lif_fwd(&no, Tc, B, n, xd + ch * NT, vd, hd, sd, NULL);
                            test_checks++;
                            for (int t = 0; t < Tc; t++)
                                for (int b = 0; b < B; b++) {
                                    int row = t * B + b;
                                    if (!tail_clear(s, lds, row, n))
                                        fail("chunk %d row %d: unused high bits of the last "
                                             "spike word are not zero", ch, row);
                                    for (int o = 0; o < n; o++) {
                                        size_t j = (size_t)b * n + o, kk = (size_t)t * N + j;
                                        int sk = bit(s, lds, row, o);
                                        /* lif_bwd recomputes S from H: they must agree */
                                        if (sk != (h[kk] >= nk.v_threshold))
                                            fail("t=%d b=%d o=%d: spike %d but H=%.9g (S must be "
                                                 "H >= V_th)", ch * Tc + t, b, o, sk, h[kk]);
                                        hits += ex && hd[kk] == vth;
                                        if (gone[j])
                                            continue;
                                        if (sk != (int)sd[kk]) {
                                            double margin = fabs(hd[kk] - vth);
                                            if (ex || margin >= FLIP_MARGIN)
                                                fail("t=%d b=%d o=%d: spike got %d want %d, "
                                                     "H got %.9g want %.17g", ch * Tc + t, b, o,
                                                     sk, (int)sd[kk], h[kk], hd[kk]);
                                            else
                                                printf("flip: %s: t=%d b=%d o=%d |H-V_th|=%.2g\n",
                                                       repro, ch * Tc + t, b, o, margin);
                                            n_flips++;
                                            gone[j] = 1;
                                            continue;
                                        }
                                        double tol = ex ? 0.0 : FWD_TOL * (1.0 + fabs(hd[kk]));
                                        if (!(fabs(h[kk] - hd[kk]) <= tol))
                                            fail("t=%d b=%d o=%d: H got %.9g want %.17g", ch * Tc + t,
                                                 b, o, h[kk], hd[kk]);
                                    }
                                }
                            for (size_t j = 0; j < N; j++) {
                                double tol = ex ? 0.0 : FWD_TOL * (1.0 + fabs(vd[j]));
                                if (!gone[j] && !(fabs(v[j] - vd[j]) <= tol))
                                    fail("after chunk %d: v[%zu] got %.9g want %.17g", ch, j,
                                         v[j], vd[j]);
                            }
                        }
                        n_run++;
                        free(x), free(v), free(h), free(xd), free(vd), free(hd), free(sd), free(s),
                            free(gone);
                    }
    /* The exact inputs are only a test of "equality fires" if H hit V_th. */
    test_checks++;
    if (hits == 0 && n_run > 0) {
        test_failures++;
        fprintf(stderr, "FAIL kernel=%s op=lif_fwd: exact inputs never put H on V_th\n", kn);
    }
    n_exact_hits += hits;
    cut_lif_fwd(k, kn);
}

/* Backward tolerance: σ' and the recurrence take a handful of float32
 * roundings per step (<= ~10 U32 relative), carried through <= 14 steps
 * whose factors (1 - 1/tau)·∂V/∂H stay below ~1.5; cancellation between
 * dS·σ' and dV·∂V/∂H makes the error relative to the operands, so the
 * bound is 1e-5 (|want| + scale) with scale the largest magnitude of the
 * inputs and outputs of the case. */
#define BWD_TOL 1e-5

static double maxabs(const double *a, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

static void test_lif_bwd(const lif_kernel_i *k, const char *kn)
{
    cfg cf[32];
    int ncf = bwd_cfgs(cf), c = 0;
    static const float taus[] = {2.0f, 1.7f, 3.0f};
    for (int ic = 0; ic < ncf; ic++)
        for (int grid = 1; grid >= 0; grid--)
            for (int ib = 0; ib < LEN(BS); ib++)
                for (int in = 0; in < LEN(NS); in++)
                    for (int it = 0; it < LEN(TCS); it++) {
                            /* ds the same at every step (rate readout) or
                             * per step, alternating over shapes */
                            int per_t = (ib + in + it + grid) % 2;
                            int B = BS[ib], n = NS[in], Tc = TCS[it], nch = Tc == 1 ? 5 : 2;
                            int T = Tc * nch;
                            size_t N = (size_t)B * n, NT = (size_t)T * N;
                            lif_neuron nk;
                            orc_neuron no;
                            make_neuron(&cf[ic], taus[c % 3], &nk, &no);
                            uint64_t seed = case_seed(LIF_OP_LIF_BWD, ++c), r = seed;
                            size_t ts = per_t ? N : 0;
                            begin_case("kernel=%s op=lif_bwd Tc=%d chunks=%d B=%d n=%d "
                                       "ds_tstride=%zu %s h=%s seed=%llu", kn, Tc, nch, B, n,
                                       ts, cfg_str(&nk), grid ? "grid" : "random",
                                       (unsigned long long)seed);
                            lif_problem p = {.op = LIF_OP_LIF_BWD, .T = T, .Tc = Tc, .B = B,
                                             .n_out = n, .nrn = &nk, .threads = 1};
                            if (!accepts(k, &p, kn))
                                continue;
                            size_t nds = per_t ? NT : N;
                            float *h = FALLOC(NT), *ds = FALLOC(nds), *dv = FALLOC(N),
                                  *dx = FALLOC(NT);
                            double *hd = DALLOC(NT), *dsd = DALLOC(nds), *dvd = DALLOC(N),
                                   *dxd = DALLOC(NT);
                            double vth = nk.v_threshold;
                            /* grid: H = V_th (1 + k/8), exactly on V_th for k = 0,
                             * where S must be 1 (H >= V_th) */
                            for (size_t i = 0; i < NT; i++) {
                                h[i] = grid ? (float)(vth * (1.0 + irand(&r, -8, 8) / 8.0))
                                            : (float)(vth + (2.0 * urand(&r) - 1.0) * 1.5);
                                hd[i] = h[i];
                            }
                            fill_vals(&r, 0, 0, 0.1, ds, dsd, nds);
                            fill_vals(&r, 0, 0, 0.1, dv, dvd, N); /* dL/dV from after the window */
                            for (size_t i = 0; i < NT; i++)
                                dx[i] = NAN;
                            double scale = fmax(maxabs(dsd, nds), maxabs(dvd, N));
                            for (int ch = nch - 1; ch >= 0; ch--) {
                                lif_lif_bwd_args a = {.nrn = &nk, .Tc = Tc, .B = B, .n = n,
                                                      .h = h + ch * Tc * N,
                                                      .ds = ds + ch * Tc * ts, .ds_tstride = ts,
                                                      .dv = dv, .dx = dx + ch * Tc * N};
                                RUN(lif_bwd, a);
                            }
                            orc_lif_bwd(&no, T, B, n, hd, dsd, ts, dvd, dxd);
                            scale = fmax(scale, fmax(maxabs(dxd, NT), maxabs(dvd, N)));
                            cmp("dx", dx, dxd, NT, BWD_TOL, BWD_TOL * scale, NULL, 0);
                            cmp("dv", dv, dvd, N, BWD_TOL, BWD_TOL * scale, NULL, 0);
                            n_run++;
                            free(h), free(ds), free(dv), free(dx), free(hd), free(dsd), free(dvd),
                                free(dxd);
                        }
    cut_lif_bwd(k, kn);
}

/* ------------------------------------------------------------- readout ops */

static void test_spike_count(const lif_kernel_i *k, const char *kn)
{
    int c = 0;
    for (int ib = 0; ib < LEN(BS); ib++)
        for (int in = 0; in < LEN(NS); in++)
            for (int it = 0; it < LEN(TCS); it++) {
                int B = BS[ib], n = NS[in], Tc = TCS[it], nch = 3;
                size_t N = (size_t)B * n, lds = words_of(n) + (c % 2);
                uint64_t seed = case_seed(LIF_OP_SPIKE_COUNT, ++c), r = seed;
                double d = DENS[c % 3];
                begin_case("kernel=%s op=spike_count Tc=%d chunks=%d B=%d n=%d lds=%zu density=%.2f "
                           "seed=%llu", kn, Tc, nch, B, n, lds, d, (unsigned long long)seed);
                lif_problem p = {.op = LIF_OP_SPIKE_COUNT, .T = Tc * nch, .Tc = Tc, .B = B,
                                 .n_out = n, .density = (float)d, .threads = 1};
                if (!accepts(k, &p, kn))
                    continue;
                size_t rows = (size_t)Tc * B;
                double *sd = DALLOC(rows * n), *cd = DALLOC(N);
                float *cnt = FALLOC(N);
                for (size_t j = 0; j < N; j++)
                    cd[j] = cnt[j] = (float)irand(&r, 0, 20); /* accumulated into */
                for (int ch = 0; ch < nch; ch++) {
                    fill_spikes(&r, sd, (int)rows, n, d);
                    uint64_t *s = pack(sd, (int)rows, n, lds, 0);
                    lif_spike_count_args a = {.Tc = Tc, .B = B, .n = n, .s = s, .lds = lds,
                                              .count = cnt};
                    RUN(spike_count, a);
                    orc_spike_count(Tc, B, n, sd, cd);
                    free(s);
                }
                cmp("count", cnt, cd, N, 0, 0, NULL, 0); /* small integers: exact */
                n_run++;
                free(sd), free(cd), free(cnt);
            }

    cut_spike_count(k, kn);

    /* padding case, as pad_linear */
    int Tc = 3, B = 2, n = 65;
    size_t lds = words_of(n) + 2, N = (size_t)B * n, slack = PAD_SLACK(lds);
    uint64_t seed = case_seed(LIF_OP_SPIKE_COUNT, 9999), r = seed;
    begin_case("kernel=%s op=spike_count padding Tc=%d B=%d n=%d lds=%zu (words past n all ones) "
               "seed=%llu", kn, Tc, B, n, lds, (unsigned long long)seed);
    lif_problem p = {.op = LIF_OP_SPIKE_COUNT, .T = Tc, .Tc = Tc, .B = B, .n_out = n,
                     .density = 0.3f, .threads = 1};
    if (!accepts(k, &p, kn))
        return;
    double *sd = DALLOC((size_t)Tc * N), *cd = DALLOC(N);
    float *cnt = FALLOC(N + slack);
    fill_spikes(&r, sd, Tc * B, n, 0.3);
    uint64_t *s = pack(sd, Tc * B, n, lds, ~0ull);
    lif_spike_count_args a = {.Tc = Tc, .B = B, .n = n, .s = s, .lds = lds, .count = cnt};
    RUN(spike_count, a);
    orc_spike_count(Tc, B, n, sd, cd);
    cmp("count", cnt, cd, N, 0, 0, NULL, 0);
    size_t bad = 0;
    for (size_t i = N; i < N + slack; i++)
        bad += cnt[i] != 0.0f;
    test_checks++;
    if (bad)
        fail("%zu writes past count[B*n]", bad);
    n_run++;
    free(sd), free(cd), free(cnt), free(s);
}

/* Loss tolerances: rate = count/T may be computed as count·(1/T), one
 * rounding apart (2 U32); ds and the loss go through exp/log and sums of
 * <= B·n = 2112 non-negative or bounded terms in float32, a few hundred U32
 * at worst: 1e-5 relative, plus 1e-7 absolute for values that are exactly
 * 0 in the oracle (n = 1 CE, rate = onehot in MSE). */
static void test_loss(const lif_kernel_i *k, const char *kn)
{
    static const int Ts[] = {1, 16, 100};
    int c = 0;
    for (int kind = 0; kind < 2; kind++)
        for (int iT = 0; iT < LEN(Ts); iT++)
            for (int ib = 0; ib < LEN(BS); ib++)
                for (int io = 0; io < LEN(NOUTS); io++) {
                    int T = Ts[iT], B = BS[ib], n = NOUTS[io];
                    size_t N = (size_t)B * n;
                    uint64_t seed = case_seed(LIF_OP_LOSS, ++c), r = seed;
                    begin_case("kernel=%s op=loss kind=%s T=%d B=%d n=%d seed=%llu", kn,
                               kind ? "ce" : "mse", T, B, n, (unsigned long long)seed);
                    lif_problem p = {.op = LIF_OP_LOSS, .T = T, .Tc = T, .B = B, .n_out = n,
                                     .loss = kind ? LIF_LOSS_CE : LIF_LOSS_MSE, .threads = 1};
                    if (!accepts(k, &p, kn))
                        continue;
                    float *cnt = FALLOC(N), *rate = FALLOC(N), *ds = FALLOC(N);
                    double *cd = DALLOC(N), *rd = DALLOC(N), *dsd = DALLOC(N);
                    uint8_t *lab = xalloc((size_t)B);
                    int *labi = xalloc((size_t)B * sizeof *labi);
                    for (int b = 0; b < B; b++) {
                        lab[b] = (uint8_t)irand(&r, 0, n - 1);
                        labi[b] = lab[b];
                        int tie = b % 4 == 1; /* ties: the first maximum wins */
                        int cv = irand(&r, 0, T);
                        for (int o = 0; o < n; o++)
                            cd[(size_t)b * n + o] = cnt[(size_t)b * n + o] =
                                (float)(tie ? (o % 2 ? cv : cv / 2) : irand(&r, 0, T));
                    }
                    double loss = NAN, lossd;
                    int correct = -1, correctd;
                    lif_loss_args a = {.kind = kind ? LIF_LOSS_CE : LIF_LOSS_MSE, .T = T, .B = B,
                                       .n = n, .count = cnt, .labels = lab, .rate = rate,
                                       .ds = ds, .loss = &loss, .correct = &correct};
                    RUN(loss, a);
                    orc_loss(kind, T, B, n, cd, labi, rd, dsd, &lossd, &correctd);
                    cmp("rate", rate, rd, N, 2 * U32, 0, NULL, 0);
                    cmp("ds", ds, dsd, N, 1e-5, 1e-7 * maxabs(dsd, N) + 1e-12, NULL, 0);
                    CHECK_CLOSE(loss, lossd, 1e-5, 1e-7, "%s: loss", repro);
                    CHECK(correct == correctd, "%s: correct %d want %d", repro, correct, correctd);
                    /* inference: no rate, no gradient */
                    loss = NAN, correct = -1;
                    a.rate = NULL, a.ds = NULL;
                    RUN(loss, a);
                    CHECK_CLOSE(loss, lossd, 1e-5, 1e-7, "%s (rate, ds NULL): loss", repro);
                    CHECK(correct == correctd, "%s (rate, ds NULL): correct %d want %d", repro,
                          correct, correctd);
                    n_run++;
                    free(cnt), free(rate), free(ds), free(cd), free(rd), free(dsd), free(lab),
                        free(labi);
                }
}

/* Optimizer tolerances: the kernel works in float32 from float32 state and
 * hyper-parameters (the oracle is given the same float values). m and v
 * take two or three roundings: 1e-6 of the magnitude of their terms. The
 * new weight is w - update rounded to float (2 U32 |w|) with the update
 * itself a few roundings and a float pow/sqrt off (1e-5 of the update). */
static void test_optim(const lif_kernel_i *k, const char *kn)
{
    static const size_t ns[] = {1, 7, 64, 1000, 7850};
    int c = 0;
    for (int kind = 0; kind < 2; kind++)
        for (int in = 0; in < LEN(ns); in++)
            for (int is = 0; is < 3; is++)
                for (int iw = 0; iw < 2; iw++)
                    for (int mom = 0; mom < (kind ? 2 : 1); mom++) {
                        size_t n = ns[in];
                        long step = kind ? (is == 0 ? 1 : 3) : (is == 0 ? 1 : is == 1 ? 2 : 10);
                        float lr = kind ? 0.1f : 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
                        float wdc = iw ? (kind ? 5e-4f : 1e-2f) : 0.0f, mo = mom ? 0.9f : 0.0f;
                        uint64_t seed = case_seed(LIF_OP_OPTIM, ++c), r = seed;
                        begin_case("kernel=%s op=optim %s n=%zu step=%ld lr=%g weight_decay=%g "
                                   "momentum=%g seed=%llu", kn, kind ? "sgd" : "adam", n, step, lr,
                                   wdc, mo, (unsigned long long)seed);
                        lif_problem p = {.op = LIF_OP_OPTIM, .T = 1, .Tc = 1, .B = 1,
                                         /* a flat array of n parameters: n_in·n_out = n */
                                         .n_in = (int)n, .n_out = 1,
                                         .opt = kind ? LIF_OPT_SGD : LIF_OPT_ADAM, .threads = 1};
                        if (!accepts(k, &p, kn))
                            continue;
                        float *w = FALLOC(n), *g = FALLOC(n), *m = FALLOC(n), *v = FALLOC(n);
                        double *wd = DALLOC(n), *w0 = DALLOC(n), *gd = DALLOC(n), *md = DALLOC(n),
                               *vd = DALLOC(n), *mmag = DALLOC(n), *vmag = DALLOC(n);
                        for (size_t i = 0; i < n; i++) {
                            w[i] = (float)((2 * urand(&r) - 1) * 0.05);
                            /* some zero and some tiny (|g| ~ eps) gradients */
                            g[i] = i % 17 == 3 ? 0.0f : i % 17 == 5 ? (float)(urand(&r) * 2e-8)
                                                      : (float)((2 * urand(&r) - 1) * 1e-2);
                            if (kind == 0) {
                                m[i] = step == 1 ? 0.0f : (float)((2 * urand(&r) - 1) * 1e-2);
                                v[i] = step == 1 ? 0.0f : (float)(urand(&r) * 1e-4);
                            } else {
                                /* step 1: the buffer is set to the gradient, not read */
                                v[i] = step == 1 ? 123.0f : (float)((2 * urand(&r) - 1) * 1e-2);
                            }
                            wd[i] = w0[i] = w[i], gd[i] = g[i], md[i] = m[i], vd[i] = v[i];
                            double gi = fabs(gd[i]) + fabs(wdc * w0[i]);
                            mmag[i] = b1 * fabs(md[i]) + (1 - (double)b1) * gi;
                            vmag[i] = kind ? (step == 1 ? 0.0 : (double)mo * fabs(vd[i])) + gi
                                           : b2 * vd[i] + (1 - (double)b2) * gi * gi;
                        }
                        lif_optim_args a = {.kind = kind ? LIF_OPT_SGD : LIF_OPT_ADAM, .n = n,
                                            .w = w, .g = g, .m = m, .v = v, .step = step,
                                            .lr = lr, .beta1 = b1, .beta2 = b2, .eps = eps,
                                            .momentum = mo, .weight_decay = wdc};
                        RUN(optim, a);
                        if (kind)
                            orc_sgd(n, wd, gd, vd, step, lr, mo, wdc);
                        else
                            orc_adam(n, wd, gd, md, vd, step, lr, b1, b2, eps, wdc);
                        test_checks++;
                        for (size_t i = 0; i < n; i++) {
                            double tol = 2 * U32 * fabs(wd[i]) + 1e-5 * fabs(wd[i] - w0[i]) + 1e-30;
                            if (isnan(w[i]) || !(fabs(w[i] - wd[i]) <= tol))
                                fail("w[%zu] got %.9g want %.17g (g %.9g)", i, w[i], wd[i], g[i]);
                            if (kind == 0 && !(fabs(m[i] - md[i]) <= 1e-6 * mmag[i]))
                                fail("m[%zu] got %.9g want %.17g", i, m[i], md[i]);
                            if ((kind == 0 || mo != 0) && !(fabs(v[i] - vd[i]) <= 1e-6 * vmag[i]))
                                fail("%s[%zu] got %.9g want %.17g", kind ? "momentum" : "v", i,
                                     v[i], vd[i]);
                        }
                        n_run++;
                        free(w), free(g), free(m), free(v), free(wd), free(w0), free(gd), free(md),
                            free(vd), free(mmag), free(vmag);
                    }
}

/* ------------------------------------------------------------------- cuts */

/* What a threaded backend will do with a kernel: cut a [Tc, B, n] problem
 * by samples (pointer offsets b0·n / b0·lds, the full batch's step strides,
 * a smaller B) and a linear problem by rows or by output-neuron blocks
 * (pointer offsets, the full row strides). Each part runs with the
 * workspace its own problem asks for. The parts together must give bitwise
 * what one call over the whole problem gives. Odd sizes on purpose. */
enum { CUT_B = 13, CUT_B0 = 6, CUT_TC = 5, CUT_N = 37, CUT_NIN = 100, CUT_M = 65, CUT_R0 = 29 };
/* linear widths and where their output-neuron cut falls: both parts stay
 * on the same side of 16 (the event-driven kernels sum narrow rows, <= 16,
 * in another order than wide ones); 0: no output cut */
static const int CUT_NOUTS[] = {10, 16, 50};
static int out_cut(int n_out) { return n_out == 16 ? 8 : n_out == 50 ? 24 : 0; }

/* A padding column's bits (a NaN: read as data it poisons the result). */
#define SENTINEL 0x7fc0beefu

/* got == want bit for bit over n elements of elem bytes. */
static void same_bits(const char *what, const void *got, const void *want, size_t n, size_t elem)
{
    test_checks++;
    const unsigned char *g = got, *w = want;
    for (size_t i = 0; i < n; i++)
        if (memcmp(g + i * elem, w + i * elem, elem) != 0) {
            if (elem == sizeof(float)) {
                float gf, wf;
                memcpy(&gf, g + i * elem, elem);
                memcpy(&wf, w + i * elem, elem);
                fail("%s[%zu]: got %.9g, one full call gives %.9g (must be bitwise equal)",
                     what, i, gf, wf);
            } else {
                fail("%s[%zu] differs from one full call (must be bitwise equal)", what, i);
            }
            return;
        }
}

/* rows x cols floats with row stride ld (> cols: padding columns) filled
 * with SENTINEL; the values the kernel writes are compared with want
 * [rows, cols], the padding must still hold SENTINEL. */
static float *padded_new(int rows, size_t ld)
{
    float *y = FALLOC((size_t)rows * ld);
    uint32_t s = SENTINEL;
    for (size_t i = 0; i < (size_t)rows * ld; i++)
        memcpy(&y[i], &s, sizeof s);
    return y;
}

static void padded_check(const char *what, const float *y, size_t ld, const float *want, int rows,
                         int cols)
{
    size_t bad = 0;
    for (int r = 0; r < rows; r++) {
        char w[64];
        snprintf(w, sizeof w, "%s row %d", what, r);
        if (memcmp(y + (size_t)r * ld, want + (size_t)r * cols, (size_t)cols * sizeof *y) != 0)
            same_bits(w, y + (size_t)r * ld, want + (size_t)r * cols, (size_t)cols, sizeof *y);
        for (size_t c = (size_t)cols; c < ld; c++) {
            uint32_t s;
            memcpy(&s, &y[(size_t)r * ld + c], sizeof s);
            bad += s != SENTINEL;
        }
    }
    test_checks++;
    if (bad)
        fail("%s: %zu padding elements (columns %d..%zu of rows %zu apart) were written", what, bad,
             cols, ld - 1, ld);
}

/* dense [rows, cols] copied into rows of ld floats, padding SENTINEL */
static float *padded_copy(const float *src, int rows, int cols, size_t ld)
{
    float *y = padded_new(rows, ld);
    for (int r = 0; r < rows; r++)
        memcpy(y + (size_t)r * ld, src + (size_t)r * cols, (size_t)cols * sizeof *y);
    return y;
}

static float *fdup(const float *src, size_t n)
{
    float *d = FALLOC(n);
    memcpy(d, src, n * sizeof *d);
    return d;
}

/* Sample ranges of a cut of CUT_B samples. */
static const int cut_b[3] = {0, CUT_B0, CUT_B};

static void cut_encode(const lif_kernel_i *k, const char *kn)
{
    int B = CUT_B, n = CUT_NIN, Tc = CUT_TC, t0 = 3;
    size_t ld = words_of(n) + 1, rows = (size_t)Tc * B, tstride = (size_t)B * ld;
    uint64_t seed = case_seed(LIF_OP_ENCODE, 5000), r = seed;
    uint32_t key0 = (uint32_t)rnd(&r);
    begin_case("kernel=%s op=encode cut B=%d into [0,%d) [%d,%d) n_in=%d Tc=%d t0=%d ld=%zu "
               "dst_tstride=%zu seed=%llu", kn, B, CUT_B0, CUT_B0, B, n, Tc, t0, ld, tstride,
               (unsigned long long)seed);
    lif_problem p = {.op = LIF_OP_ENCODE, .T = t0 + Tc, .Tc = Tc, .B = B, .n_in = n, .threads = 1};
    if (!accepts(k, &p, kn))
        return;
    uint8_t *px = xalloc((size_t)B * n);
    uint32_t *ids = xalloc((size_t)B * sizeof *ids);
    static const uint8_t edge[] = {0, 1, 254, 255};
    for (int b = 0; b < B; b++) {
        ids[b] = (uint32_t)rnd(&r);
        for (int i = 0; i < n; i++)
            px[(size_t)b * n + i] = b % 3 == 1 ? edge[rnd(&r) % 4] : (uint8_t)(rnd(&r) & 255u);
    }
    uint64_t *full = xalloc(rows * ld * sizeof *full), *cut = xalloc(rows * ld * sizeof *cut);
    memset(full, 0xff, rows * ld * sizeof *full);
    memset(cut, 0xff, rows * ld * sizeof *cut);
    lif_encode_args a = {.pixels = px, .ids = ids, .B = B, .n_in = n, .t0 = t0, .Tc = Tc,
                         .key = {key0, 1}, .domain = 1, .dst = full, .ld = ld};
    RUN(encode, a);
    int ok = 1;
    for (int part = 0; part < 2 && ok; part++) {
        int b0 = cut_b[part], nb = cut_b[part + 1] - b0;
        lif_problem pp = p;
        pp.B = nb;
        if (!(ok = accepts(k, &pp, kn)))
            break;
        lif_encode_args ap = a;
        ap.pixels = px + (size_t)b0 * n, ap.ids = ids + b0, ap.B = nb;
        ap.dst = cut + (size_t)b0 * ld, ap.dst_tstride = tstride;
        RUN(encode, ap);
    }
    if (ok) {
        same_bits("dst", cut, full, rows * ld, sizeof *cut);
        n_run++;
    }
    free(px), free(ids), free(full), free(cut);
}

static void cut_lif_fwd(const lif_kernel_i *k, const char *kn)
{
    for (int ic = 0; ic < 2; ic++) {
        int B = CUT_B, n = CUT_N, Tc = CUT_TC;
        size_t N = (size_t)B * n, NT = (size_t)Tc * N, lds = words_of(n) + 1;
        cfg g = ic ? (cfg){1, 0, 0, 0, 0.0f, 0.5f} : (cfg){0, 1, 0, 0, -0.25f, 1.0f};
        lif_neuron nk;
        orc_neuron no;
        make_neuron(&g, ic ? 1.7f : 3.0f, &nk, &no);
        uint64_t seed = case_seed(LIF_OP_LIF_FWD, 5000 + ic), r = seed;
        begin_case("kernel=%s op=lif_fwd cut B=%d into [0,%d) [%d,%d) n=%d Tc=%d lds=%zu "
                   "tstride=%zu s_tstride=%zu %s seed=%llu", kn, B, CUT_B0, CUT_B0, B, n, Tc,
                   lds, N, B * lds, cfg_str(&nk), (unsigned long long)seed);
        lif_problem p = {.op = LIF_OP_LIF_FWD, .T = Tc, .Tc = Tc, .B = B, .n_out = n, .nrn = &nk,
                         .threads = 1};
        if (!accepts(k, &p, kn))
            continue;
        float *x = FALLOC(NT), *v0 = FALLOC(N);
        for (size_t i = 0; i < NT; i++)
            x[i] = (float)((urand(&r) * 3.0 - 0.5) * nk.v_threshold);
        for (size_t j = 0; j < N; j++)
            v0[j] = (float)((urand(&r) * 1.5 - 0.5) * nk.v_threshold);
        float *vf = fdup(v0, N), *vc = fdup(v0, N), *hf = FALLOC(NT), *hc = FALLOC(NT);
        size_t ns = (size_t)Tc * B * lds;
        uint64_t *sf = xalloc(ns * sizeof *sf), *sc = xalloc(ns * sizeof *sc);
        memset(sf, 0xff, ns * sizeof *sf);
        memset(sc, 0xff, ns * sizeof *sc);
        lif_lif_fwd_args a = {.nrn = &nk, .Tc = Tc, .B = B, .n = n, .x = x, .v = vf, .h = hf,
                              .s = sf, .lds = lds};
        RUN(lif_fwd, a);
        int ok = 1;
        for (int part = 0; part < 2 && ok; part++) {
            int b0 = cut_b[part], nb = cut_b[part + 1] - b0;
            lif_problem pp = p;
            pp.B = nb;
            if (!(ok = accepts(k, &pp, kn)))
                break;
            lif_lif_fwd_args ap = {.nrn = &nk, .Tc = Tc, .B = nb, .n = n,
                                   .x = x + (size_t)b0 * n, .v = vc + (size_t)b0 * n,
                                   .h = hc + (size_t)b0 * n, .s = sc + (size_t)b0 * lds,
                                   .lds = lds, .tstride = N, .s_tstride = (size_t)B * lds};
            RUN(lif_fwd, ap);
        }
        if (ok) {
            same_bits("h", hc, hf, NT, sizeof *hc);
            same_bits("v", vc, vf, N, sizeof *vc);
            same_bits("s", sc, sf, ns, sizeof *sc);
            n_run++;
        }
        free(x), free(v0), free(vf), free(vc), free(hf), free(hc), free(sf), free(sc);
    }
}

static void cut_lif_bwd(const lif_kernel_i *k, const char *kn)
{
    for (int ic = 0; ic < 2; ic++) {
        int B = CUT_B, n = CUT_N, Tc = CUT_TC;
        size_t N = (size_t)B * n, NT = (size_t)Tc * N;
        /* ATan with dS per step, Sigmoid with one dS for every step */
        cfg g = ic ? (cfg){1, 0, 1, 1, 0.0f, 0.5f} : (cfg){0, 1, 0, 0, -0.25f, 1.0f};
        size_t ts = ic ? 0 : N, nds = ic ? N : NT;
        lif_neuron nk;
        orc_neuron no;
        make_neuron(&g, ic ? 1.7f : 3.0f, &nk, &no);
        uint64_t seed = case_seed(LIF_OP_LIF_BWD, 5000 + ic), r = seed;
        begin_case("kernel=%s op=lif_bwd cut B=%d into [0,%d) [%d,%d) n=%d Tc=%d tstride=%zu "
                   "ds_tstride=%zu %s seed=%llu", kn, B, CUT_B0, CUT_B0, B, n, Tc, N, ts,
                   cfg_str(&nk), (unsigned long long)seed);
        lif_problem p = {.op = LIF_OP_LIF_BWD, .T = Tc, .Tc = Tc, .B = B, .n_out = n, .nrn = &nk,
                         .threads = 1};
        if (!accepts(k, &p, kn))
            continue;
        float *h = FALLOC(NT), *ds = FALLOC(nds), *dv0 = FALLOC(N);
        for (size_t i = 0; i < NT; i++)
            h[i] = (float)(nk.v_threshold + (2.0 * urand(&r) - 1.0) * 1.5);
        for (size_t i = 0; i < nds; i++)
            ds[i] = (float)((2.0 * urand(&r) - 1.0) * 0.1);
        for (size_t j = 0; j < N; j++)
            dv0[j] = (float)((2.0 * urand(&r) - 1.0) * 0.1);
        float *dvf = fdup(dv0, N), *dvc = fdup(dv0, N), *dxf = FALLOC(NT), *dxc = FALLOC(NT);
        lif_lif_bwd_args a = {.nrn = &nk, .Tc = Tc, .B = B, .n = n, .h = h, .ds = ds,
                              .ds_tstride = ts, .dv = dvf, .dx = dxf};
        RUN(lif_bwd, a);
        int ok = 1;
        for (int part = 0; part < 2 && ok; part++) {
            int b0 = cut_b[part], nb = cut_b[part + 1] - b0;
            lif_problem pp = p;
            pp.B = nb;
            if (!(ok = accepts(k, &pp, kn)))
                break;
            lif_lif_bwd_args ap = {.nrn = &nk, .Tc = Tc, .B = nb, .n = n,
                                   .h = h + (size_t)b0 * n, .ds = ds + (size_t)b0 * n,
                                   .ds_tstride = ts, .dv = dvc + (size_t)b0 * n,
                                   .dx = dxc + (size_t)b0 * n, .tstride = N};
            RUN(lif_bwd, ap);
        }
        if (ok) {
            same_bits("dx", dxc, dxf, NT, sizeof *dxc);
            same_bits("dv", dvc, dvf, N, sizeof *dvc);
            n_run++;
        }
        free(h), free(ds), free(dv0), free(dvf), free(dvc), free(dxf), free(dxc);
    }
}

static void cut_spike_count(const lif_kernel_i *k, const char *kn)
{
    int B = CUT_B, n = CUT_N, Tc = CUT_TC;
    size_t N = (size_t)B * n, lds = words_of(n) + 1, rows = (size_t)Tc * B;
    uint64_t seed = case_seed(LIF_OP_SPIKE_COUNT, 5000), r = seed;
    begin_case("kernel=%s op=spike_count cut B=%d into [0,%d) [%d,%d) n=%d Tc=%d lds=%zu "
               "s_tstride=%zu seed=%llu", kn, B, CUT_B0, CUT_B0, B, n, Tc, lds, B * lds,
               (unsigned long long)seed);
    lif_problem p = {.op = LIF_OP_SPIKE_COUNT, .T = Tc, .Tc = Tc, .B = B, .n_out = n,
                     .density = 0.3f, .threads = 1};
    if (!accepts(k, &p, kn))
        return;
    double *sd = DALLOC(rows * n);
    fill_spikes(&r, sd, (int)rows, n, 0.3);
    uint64_t *s = pack(sd, (int)rows, n, lds, 0);
    float *c0 = FALLOC(N);
    for (size_t j = 0; j < N; j++)
        c0[j] = (float)irand(&r, 0, 20);
    float *cf = fdup(c0, N), *cc = fdup(c0, N);
    lif_spike_count_args a = {.Tc = Tc, .B = B, .n = n, .s = s, .lds = lds, .count = cf};
    RUN(spike_count, a);
    int ok = 1;
    for (int part = 0; part < 2 && ok; part++) {
        int b0 = cut_b[part], nb = cut_b[part + 1] - b0;
        lif_problem pp = p;
        pp.B = nb;
        if (!(ok = accepts(k, &pp, kn)))
            break;
        lif_spike_count_args ap = {.Tc = Tc, .B = nb, .n = n, .s = s + (size_t)b0 * lds,
                                   .lds = lds, .count = cc + (size_t)b0 * n,
                                   .s_tstride = (size_t)B * lds};
        RUN(spike_count, ap);
    }
    if (ok) {
        same_bits("count", cc, cf, N, sizeof *cc);
        n_run++;
    }
    free(sd), free(s), free(c0), free(cf), free(cc);
}

/* Rows [0, CUT_R0) and [CUT_R0, CUT_M) of a linear op. */
static const int cut_r[3] = {0, CUT_R0, CUT_M};

static void cut_linear_fwd(const lif_kernel_i *k, const char *kn)
{
    for (int io = 0; io < LEN(CUT_NOUTS); io++) {
        int M = CUT_M, n_in = CUT_NIN, n_out = CUT_NOUTS[io], oc = out_cut(n_out);
        size_t ldx = words_of(n_in) + 1, ldy = (size_t)n_out + 3, ny = (size_t)M * n_out;
        uint64_t seed = case_seed(LIF_OP_LINEAR_FWD, 5000 + io), r = seed;
        begin_case("kernel=%s op=linear_fwd cuts M=%d n_in=%d n_out=%d bias=1 density=0.30 "
                   "ldx=%zu: rows [0,%d) [%d,%d); outputs [0,%d) [%d,%d) with ldy=%d; ldy=%zu "
                   "(padding) seed=%llu", kn, M, n_in, n_out, ldx, CUT_R0, CUT_R0, M, oc, oc,
                   n_out, n_out, ldy, (unsigned long long)seed);
        lif_problem p = {.op = LIF_OP_LINEAR_FWD, .T = CUT_TC, .Tc = CUT_TC, .B = CUT_B,
                         .n_in = n_in, .n_out = n_out, .has_bias = 1, .density = 0.3f,
                         .threads = 1};
        if (!accepts(k, &p, kn))
            continue;
        double *xd = DALLOC((size_t)M * n_in), *wd = DALLOC((size_t)n_out * n_in),
               *bd = DALLOC(n_out);
        float *w = FALLOC((size_t)n_out * n_in), *b = FALLOC(n_out);
        fill_spikes(&r, xd, M, n_in, 0.3);
        fill_vals(&r, 0, 0, 1.0 / sqrt(n_in), w, wd, (size_t)n_out * n_in);
        fill_vals(&r, 0, 0, 1.0 / sqrt(n_in), b, bd, n_out);
        uint64_t *x = pack(xd, M, n_in, ldx, 0);
        float *yf = FALLOC(ny), *yr = FALLOC(ny), *yo = FALLOC(ny);
        float *yp = padded_new(M, ldy), *ypr = padded_new(M, ldy);
        /* rows [M / B][B]: kernels that take a sample's steps together
         * (step) must give the bits of the row cuts below, which keep it
         * only when they fall on whole steps */
        lif_linear_fwd_args a = {.M = M, .n_in = n_in, .n_out = n_out, .x = x, .ldx = ldx,
                                 .w = w, .b = b, .y = yf, .step = M % 8 == 0 ? 8 : 0};
        RUN(linear_fwd, a);
        /* the whole problem into rows of ldy > n_out */
        lif_linear_fwd_args ap = a;
        ap.y = yp, ap.ldy = ldy;
        RUN(linear_fwd, ap);
        padded_check("y (ldy > n_out)", yp, ldy, yf, M, n_out);
        /* row cut, dense rows and padded rows */
        for (int part = 0; part < 2; part++) {
            int r0 = cut_r[part];
            ap = a;
            ap.M = cut_r[part + 1] - r0, ap.x = x + (size_t)r0 * ldx, ap.y = yr + (size_t)r0 * n_out;
            RUN(linear_fwd, ap);
            ap.y = ypr + (size_t)r0 * ldy, ap.ldy = ldy;
            RUN(linear_fwd, ap);
        }
        same_bits("y (row cut)", yr, yf, ny, sizeof *yr);
        padded_check("y (row cut, ldy > n_out)", ypr, ldy, yf, M, n_out);
        /* output-neuron cut: W's rows, b and Y's columns from o0, ldy = n_out */
        int ok = 1;
        for (int part = 0; oc && part < 2 && ok; part++) {
            int o0 = part ? oc : 0, no = part ? n_out - oc : oc;
            lif_problem pp = p;
            pp.n_out = no;
            if (!(ok = accepts(k, &pp, kn)))
                break;
            ap = a;
            ap.n_out = no, ap.w = w + (size_t)o0 * n_in, ap.b = b + o0, ap.y = yo + o0;
            ap.ldy = (size_t)n_out;
            RUN(linear_fwd, ap);
        }
        if (oc && ok)
            same_bits("y (output cut)", yo, yf, ny, sizeof *yo);
        n_run++;
        free(xd), free(wd), free(bd), free(w), free(b), free(x), free(yf), free(yr), free(yo),
            free(yp), free(ypr);
    }
}

static void cut_linear_bwd_w(const lif_kernel_i *k, const char *kn)
{
    for (int io = 0; io < LEN(CUT_NOUTS); io++) {
        int M = CUT_M, n_in = CUT_NIN, n_out = CUT_NOUTS[io];
        int oc = n_out == 10 ? 4 : out_cut(n_out); /* any cut: dW[o][i] sums rows in order */
        size_t ldx = words_of(n_in) + 1, lddy = (size_t)n_out + 3, nw = (size_t)n_out * n_in;
        uint64_t seed = case_seed(LIF_OP_LINEAR_BWD_W, 5000 + io), r = seed;
        begin_case("kernel=%s op=linear_bwd_w cuts M=%d n_in=%d n_out=%d bias=1 density=0.30 "
                   "ldx=%zu: outputs [0,%d) [%d,%d) with lddy=%d; inputs [0,64) [64,%d); "
                   "lddy=%zu (padding) seed=%llu",
                   kn, M, n_in, n_out, ldx, oc, oc, n_out, n_out, n_in, lddy,
                   (unsigned long long)seed);
        lif_problem p = {.op = LIF_OP_LINEAR_BWD_W, .T = CUT_TC, .Tc = CUT_TC, .B = CUT_B,
                         .n_in = n_in, .n_out = n_out, .has_bias = 1, .density = 0.3f,
                         .threads = 1};
        if (!accepts(k, &p, kn))
            continue;
        double *xd = DALLOC((size_t)M * n_in), *dyd = DALLOC((size_t)M * n_out),
               *dwd = DALLOC(nw), *dbd = DALLOC(n_out);
        float *dy = FALLOC((size_t)M * n_out), *dw0 = FALLOC(nw), *db0 = FALLOC(n_out);
        fill_spikes(&r, xd, M, n_in, 0.3);
        fill_vals(&r, 0, 0, 1.0, dy, dyd, (size_t)M * n_out);
        fill_vals(&r, 0, 0, 0.1, dw0, dwd, nw);
        fill_vals(&r, 0, 0, 0.1, db0, dbd, n_out);
        uint64_t *x = pack(xd, M, n_in, ldx, 0);
        float *dwf = fdup(dw0, nw), *dbf = fdup(db0, n_out);
        float *dwp = fdup(dw0, nw), *dbp = fdup(db0, n_out);
        float *dwo = fdup(dw0, nw), *dbo = fdup(db0, n_out);
        float *dyp = padded_copy(dy, M, n_out, lddy);
        lif_linear_bwd_w_args a = {.M = M, .n_in = n_in, .n_out = n_out, .dy = dy, .x = x,
                                   .ldx = ldx, .dw = dwf, .db = dbf};
        RUN(linear_bwd_w, a);
        /* dY in rows of lddy > n_out whose padding is NaN: not read */
        lif_linear_bwd_w_args ap = a;
        ap.dy = dyp, ap.lddy = lddy, ap.dw = dwp, ap.db = dbp;
        RUN(linear_bwd_w, ap);
        same_bits("dw (lddy > n_out)", dwp, dwf, nw, sizeof *dwp);
        same_bits("db (lddy > n_out)", dbp, dbf, n_out, sizeof *dbp);
        padded_check("dy (lddy > n_out, an input)", dyp, lddy, dy, M, n_out);
        /* output-neuron cut: dY's columns from o0 (lddy = n_out), dW's rows, db */
        int ok = 1;
        for (int part = 0; part < 2 && ok; part++) {
            int o0 = part ? oc : 0, no = part ? n_out - oc : oc;
            lif_problem pp = p;
            pp.n_out = no;
            if (!(ok = accepts(k, &pp, kn)))
                break;
            ap = a;
            ap.n_out = no, ap.dy = dy + o0, ap.lddy = (size_t)n_out;
            ap.dw = dwo + (size_t)o0 * n_in, ap.db = dbo + o0;
            RUN(linear_bwd_w, ap);
        }
        if (ok) {
            same_bits("dw (output cut)", dwo, dwf, nw, sizeof *dwo);
            same_bits("db (output cut)", dbo, dbf, n_out, sizeof *dbo);
        }
        /* input cut at a word (the openmp backend's on narrow layers):
         * inputs [0, 64) and [64, n_in) as two problems, x from word 1,
         * dW's columns through a contiguous copy; the bias once */
        {
            int c0 = 64, n1 = n_in - c0;
            float *dwi = fdup(dw0, nw), *dbi = fdup(db0, n_out);
            float *cols = FALLOC(nw);
            int run = n1 > 0;
            for (int part = 0; part < 2 && run; part++) {
                int i0 = part ? c0 : 0, ni = part ? n1 : c0;
                lif_problem pp = p;
                pp.n_in = ni;
                if (!(run = accepts(k, &pp, kn))) /* (its workspace is this part's) */
                    break;
                for (int o = 0; o < n_out; o++)
                    memcpy(cols + (size_t)o * ni, dwi + (size_t)o * n_in + i0,
                           (size_t)ni * sizeof *cols);
                ap = a;
                ap.n_in = ni, ap.x = x + i0 / 64, ap.dw = cols, ap.db = part ? NULL : dbi;
                RUN(linear_bwd_w, ap);
                for (int o = 0; o < n_out; o++)
                    memcpy(dwi + (size_t)o * n_in + i0, cols + (size_t)o * ni,
                           (size_t)ni * sizeof *cols);
            }
            if (run) {
                same_bits("dw (input cut at word 1)", dwi, dwf, nw, sizeof *dwi);
                same_bits("db (input cut at word 1)", dbi, dbf, n_out, sizeof *dbi);
            }
            free(dwi), free(dbi), free(cols);
        }
        /* step order (LIF_KERNEL_STEP_ORDER): one call over the CUT_TC steps
         * of CUT_B rows with .step = CUT_B sums as one call per step, last
         * step first, does: the order that makes gradients independent of
         * how BPTT chunks time */
        if ((k->flags & LIF_KERNEL_STEP_ORDER) && accepts(k, &p, kn)) {
            float *dws = fdup(dw0, nw), *dbs = fdup(db0, n_out);
            float *dwt = fdup(dw0, nw), *dbt = fdup(db0, n_out);
            ap = a;
            ap.step = CUT_B, ap.dw = dws, ap.db = dbs;
            RUN(linear_bwd_w, ap);
            for (int t = CUT_TC - 1; t >= 0; t--) {
                ap = a;
                ap.M = CUT_B, ap.dy = dy + (size_t)t * CUT_B * n_out;
                ap.x = x + (size_t)t * CUT_B * ldx, ap.dw = dwt, ap.db = dbt;
                RUN(linear_bwd_w, ap);
            }
            same_bits("dw (step = B: steps last to first)", dws, dwt, nw, sizeof *dws);
            same_bits("db (step = B: steps last to first)", dbs, dbt, n_out, sizeof *dbs);
            free(dws), free(dbs), free(dwt), free(dbt);
        }
        n_run++;
        free(xd), free(dyd), free(dwd), free(dbd), free(dy), free(dw0), free(db0), free(x),
            free(dwf), free(dbf), free(dwp), free(dbp), free(dwo), free(dbo), free(dyp);
    }
}

static void cut_linear_bwd_x(const lif_kernel_i *k, const char *kn)
{
    for (int io = 0; io < LEN(CUT_NOUTS); io++) {
        int M = CUT_M, n_in = CUT_NIN, n_out = CUT_NOUTS[io];
        size_t lddy = (size_t)n_out + 3, nx = (size_t)M * n_in, nw = (size_t)n_out * n_in;
        uint64_t seed = case_seed(LIF_OP_LINEAR_BWD_X, 5000 + io), r = seed;
        begin_case("kernel=%s op=linear_bwd_x cuts M=%d n_in=%d n_out=%d: rows [0,%d) [%d,%d); "
                   "lddy=%zu (padding) seed=%llu", kn, M, n_in, n_out, CUT_R0, CUT_R0, M, lddy,
                   (unsigned long long)seed);
        lif_problem p = {.op = LIF_OP_LINEAR_BWD_X, .T = CUT_TC, .Tc = CUT_TC, .B = CUT_B,
                         .n_in = n_in, .n_out = n_out, .threads = 1};
        if (!accepts(k, &p, kn))
            continue;
        double *dyd = DALLOC((size_t)M * n_out), *wd = DALLOC(nw);
        float *dy = FALLOC((size_t)M * n_out), *w = FALLOC(nw);
        fill_vals(&r, 0, 0, 1.0, dy, dyd, (size_t)M * n_out);
        fill_vals(&r, 0, 0, 1.0 / sqrt(n_in), w, wd, nw);
        float *dyp = padded_copy(dy, M, n_out, lddy);
        float *dxf = FALLOC(nx), *dxp = FALLOC(nx), *dxr = FALLOC(nx), *dxpr = FALLOC(nx);
        lif_linear_bwd_x_args a = {.M = M, .n_in = n_in, .n_out = n_out, .dy = dy, .w = w,
                                   .dx = dxf};
        RUN(linear_bwd_x, a);
        lif_linear_bwd_x_args ap = a;
        ap.dy = dyp, ap.lddy = lddy, ap.dx = dxp;
        RUN(linear_bwd_x, ap);
        same_bits("dx (lddy > n_out)", dxp, dxf, nx, sizeof *dxp);
        for (int part = 0; part < 2; part++) {
            int r0 = cut_r[part];
            ap = a;
            ap.M = cut_r[part + 1] - r0, ap.dy = dy + (size_t)r0 * n_out;
            ap.dx = dxr + (size_t)r0 * n_in;
            RUN(linear_bwd_x, ap);
            ap.dy = dyp + (size_t)r0 * lddy, ap.lddy = lddy, ap.dx = dxpr + (size_t)r0 * n_in;
            RUN(linear_bwd_x, ap);
        }
        same_bits("dx (row cut)", dxr, dxf, nx, sizeof *dxr);
        same_bits("dx (row cut, lddy > n_out)", dxpr, dxf, nx, sizeof *dxpr);
        padded_check("dy (lddy > n_out, an input)", dyp, lddy, dy, M, n_out);
        n_run++;
        free(dyd), free(wd), free(dy), free(w), free(dyp), free(dxf), free(dxp), free(dxr),
            free(dxpr);
    }
}

/* ------------------------------------------------------------------ main */

typedef void (*tester)(const lif_kernel_i *, const char *);
static const tester testers[] = {
    [LIF_OP_ENCODE] = test_encode,
    [LIF_OP_LINEAR_FWD] = test_linear_fwd,
    [LIF_OP_LIF_FWD] = test_lif_fwd,
    [LIF_OP_LIF_BWD] = test_lif_bwd,
    [LIF_OP_LINEAR_BWD_W] = test_linear_bwd_w,
    [LIF_OP_LINEAR_BWD_X] = test_linear_bwd_x,
    [LIF_OP_SPIKE_COUNT] = test_spike_count,
    [LIF_OP_LOSS] = test_loss,
    [LIF_OP_OPTIM] = test_optim,
};
_Static_assert(sizeof testers / sizeof testers[0] == LIF_OP_COUNT, "one tester per op");

/* lif_encode_threshold must state the oracle's rule: a 16-bit draw u
 * fires exactly when u * 255 < pixel * 2^16, i.e. u < thr. Checked at
 * every u (2^16 x 256 comparisons, a few ms). */
static void test_threshold(void)
{
    for (int px = 0; px < 256; px++) {
        uint64_t thr = lif_encode_threshold((uint8_t)px);
        long bad = 0;
        for (uint64_t u = 0; u < 65536u; u++)
            bad += (u < thr) != (u * 255u < ((uint64_t)px << 16));
        CHECK(bad == 0 && thr <= 65536u,
              "lif_encode_threshold(%d) = %llu: %ld of 65536 draws decided differently", px,
              (unsigned long long)thr, bad);
    }
}

int main(void)
{
    /* the openmp kernels split every problem with two pieces or more,
     * however small (else the shapes here would mostly run on one thread);
     * results must not change */
    setenv("LIF_OPENMP_SPLIT", "all", 0);
    const char *only = getenv("LIF_TEST_KERNEL");
    const char *es = getenv("LIF_TEST_SEED");
    if (es && *es)
        base_seed = strtoull(es, NULL, 0);
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_threshold();

    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    long total = 0;
    for (size_t ib = 0; ib < nb; ib++) {
        const lif_backend_i *be = bs[ib];
        const char *why = "";
        int ok = lif_backend_available(be, &why);
        if (be->n_kernels == 0)
            printf("%s: %s: no kernels registered\n", ok ? "backend" : "skipped", be->name);
        for (size_t ik = 0; ik < be->n_kernels; ik++) {
            const lif_kernel_i *k = &be->kernels[ik];
            char kn[128];
            lif_kernel_name(k, kn, sizeof kn);
            if (only && *only && !strstr(kn, only))
                continue;
            if (!ok) {
                printf("skipped: %s: %s (kernel %s)\n", be->name, why ? why : "", kn);
                continue;
            }
            if (k->abi != LIF_KERNEL_ABI || (unsigned)k->op >= LIF_OP_COUNT || !k->run.any) {
                test_failures++;
                fprintf(stderr, "FAIL kernel=%s: bad table entry (abi %u, op %d, run %s)\n", kn,
                        k->abi, (int)k->op, k->run.any ? "set" : "NULL");
                continue;
            }
            int f0 = test_failures;
            n_run = n_declined = n_flips = n_exact_hits = 0;
            n_seen_why = 0;
            n_thread_runs = 0;
            testers[k->op](k, kn);
            release_cur();
            printf("kernel %-28s %5ld problems, %4ld declined, %3ld spike flips, %d failures",
                   kn, n_run, n_declined, n_flips, test_failures - f0);
            if (k->flags & LIF_KERNEL_THREADED)
                printf(" (threaded: %ld calls, each at 1, 2, 3 and 8 threads, bitwise equal)",
                       n_thread_runs / N_THREADS);
            if (k->op == LIF_OP_LIF_FWD)
                printf(" (exact inputs put H on V_th %ld times)", n_exact_hits);
            putchar('\n');
            /* A kernel this CPU (or LIF_MAX_CPU_ISA) cannot run was not
             * tested: say so as a skip, never let it pass silently. */
            if (n_run == 0 && n_seen_why > 0)
                printf("skipped: kernel %s was not run: %s\n", kn, seen_why[0]);
            total += n_run;
        }
    }
    if (total == 0)
        test_skip("no kernel could be run on this machine");
    return test_finish("test_kernels");
}
