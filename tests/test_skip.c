/* test_skip.c — the skip kernels (linear_fwd and linear_bwd_w
 * simd/avx512_skip) promise more than the oracle's tolerance: the bits of
 * the dense AVX-512 kernels they stand in for, since they only leave out
 * 16-input chunks whose masked adds add nothing. Checked here on random
 * float inputs (not exact values, where any order gives the same bits),
 * with garbage in the bits past n_in, row strides wider than a row, widths
 * past 1024 inputs (more than one 64-chunk block of a row), every n_out
 * from 1 to 16, more rows than one block of the weight gradient's row
 * lists (256), and steps (the summation order of `step`).
 *
 * The time-lanes forward (avx512_time) is compared bitwise with the scalar
 * kernel (see run_time). The AVX2 skip weight gradient is compared with the scalar kernel (see
 * run_avx2). On a CPU without AVX-512 (or with LIF_MAX_CPU_ISA below it)
 * the AVX-512 part reports "skipped: <reason>". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/lif.h"
#include "testutil.h"


static float frand(uint64_t *s) { return (float)(2.0 * urand(s) - 1.0); }

/* M rows of n_in bits at density d, row stride ld words; the bits past
 * n_in in the last word and the words up to ld are garbage. */
static uint64_t *spikes(uint64_t *s, int M, int n_in, size_t ld, double d)
{
    uint64_t *x = aligned_alloc(64, ((size_t)M * ld * 8 + 63) / 64 * 64);
    for (int r = 0; r < M; r++) {
        /* density varies by row: some rows silent, some chunks silent */
        double dr = (r % 7 == 3) ? 0.0 : d * (0.5 + urand(s));
        for (size_t w = 0; w < ld; w++)
            x[(size_t)r * ld + w] = rnd(s); /* garbage first */
        for (int i = 0; i < n_in; i++) {
            uint64_t *word = &x[(size_t)r * ld + i / 64];
            int on = (i / 16) % 3 != 1 && urand(s) < dr; /* every third chunk silent */
            *word = on ? *word | 1ull << (i % 64) : *word & ~(1ull << (i % 64));
        }
    }
    return x;
}

static int same_bits(const float *a, const float *b, size_t n, const char *what, const char *shape)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            CHECK(0, "%s %s[%zu]: skip %.9g, dense %.9g (must be bitwise equal)", shape, what, i,
                  (double)a[i], (double)b[i]);
            return 0;
        }
    CHECK(1, "%s", what);
    return 1;
}

static void run_case(const lif_kernel_i *kd[2], const lif_kernel_i *kw[2], int n_in, int n_out,
                     int B, int Tc, int bias, double d, uint64_t seed)
{
    int M = B * Tc;
    size_t ld = (size_t)(n_in + 63) / 64 + (size_t)(seed % 3);
    char shape[128];
    snprintf(shape, sizeof shape, "n_in %d n_out %d M %d (B %d) bias %d density %.2f ld %zu", n_in,
             n_out, M, B, bias, d, ld);
    uint64_t s = seed;
    uint64_t *x = spikes(&s, M, n_in, ld, d);
    float *w = malloc(sizeof(float) * (size_t)n_out * n_in), *b = malloc(sizeof(float) * n_out);
    float *dy = malloc(sizeof(float) * (size_t)M * n_out);
    float *y[2], *dw[2], *db[2];
    for (size_t i = 0; i < (size_t)n_out * n_in; i++)
        w[i] = frand(&s);
    for (int o = 0; o < n_out; o++)
        b[o] = frand(&s);
    for (size_t i = 0; i < (size_t)M * n_out; i++)
        dy[i] = frand(&s) * (urand(&s) < 0.1 ? 0.0f : 1.0f) * (i % 5 == 0 ? -1e-3f : 1.0f);
    lif_problem pf = {.op = LIF_OP_LINEAR_FWD, .T = Tc, .Tc = Tc, .B = B, .n_in = n_in,
                      .n_out = n_out, .has_bias = bias, .density = (float)d, .threads = 1};
    lif_problem pw = pf;
    pw.op = LIF_OP_LINEAR_BWD_W;
    lif_ctx ctx = {.nthreads = 1};
    for (int v = 0; v < 2; v++) {
        const char *why = "";
        CHECK(kd[v]->supports(&pf, &why) && kw[v]->supports(&pw, &why), "%s: declined: %s",
              shape, why);
        y[v] = malloc(sizeof(float) * (size_t)M * n_out);
        dw[v] = malloc(sizeof(float) * (size_t)n_out * n_in);
        db[v] = malloc(sizeof(float) * n_out);
        for (size_t i = 0; i < (size_t)M * n_out; i++)
            y[v][i] = NAN;
        uint64_t s2 = seed ^ 0x5eed; /* the same start for both */
        for (size_t i = 0; i < (size_t)n_out * n_in; i++)
            dw[v][i] = frand(&s2) * 0.1f;
        for (int o = 0; o < n_out; o++)
            db[v][o] = frand(&s2) * 0.1f;
        lif_linear_fwd_args fa = {.M = M, .n_in = n_in, .n_out = n_out, .x = x, .ldx = ld,
                                  .w = w, .b = bias ? b : NULL, .y = y[v]};
        CHECK(kd[v]->run.linear_fwd(&ctx, &fa) == LIF_OK, "%s: forward failed", shape);
        lif_linear_bwd_w_args wa = {.M = M, .n_in = n_in, .n_out = n_out, .dy = dy, .x = x,
                                    .ldx = ld, .dw = dw[v], .db = bias ? db[v] : NULL,
                                    .step = Tc > 1 ? B : 0};
        CHECK(kw[v]->run.linear_bwd_w(&ctx, &wa) == LIF_OK, "%s: weight gradient failed", shape);
    }
    same_bits(y[1], y[0], (size_t)M * n_out, "y", shape);
    same_bits(dw[1], dw[0], (size_t)n_out * n_in, "dw", shape);
    if (bias)
        same_bits(db[1], db[0], (size_t)n_out, "db", shape);
    for (int v = 0; v < 2; v++)
        free(y[v]), free(dw[v]), free(db[v]);
    free(x), free(w), free(b), free(dy);
}

/* The AVX2 skip weight gradient against the scalar kernel: both add dY[r]
 * only where input i fired, in the order of `step`, so the values are
 * equal (the AVX2 kernel adds 0·dY on the silent lanes of a chunk with a
 * spike, which may turn a -0 into +0: compared as values). */
static void run_avx2(const lif_kernel_i *ks, const lif_kernel_i *ka, int n_in, int n_out, int B,
                     int Tc, int bias, double d, uint64_t seed)
{
    int M = B * Tc;
    size_t ld = (size_t)(n_in + 63) / 64 + (size_t)(seed % 3);
    char shape[128];
    snprintf(shape, sizeof shape, "avx2_skip: n_in %d n_out %d M %d (B %d) bias %d density %.2f",
             n_in, n_out, M, B, bias, d);
    uint64_t s = seed;
    uint64_t *x = spikes(&s, M, n_in, ld, d);
    float *dy = malloc(sizeof(float) * (size_t)M * n_out), *dw[2], *db[2];
    for (size_t i = 0; i < (size_t)M * n_out; i++)
        dy[i] = frand(&s);
    lif_ctx ctx = {.nthreads = 1};
    const lif_kernel_i *k[2] = {ks, ka};
    for (int v = 0; v < 2; v++) {
        dw[v] = malloc(sizeof(float) * (size_t)n_out * n_in);
        db[v] = malloc(sizeof(float) * n_out);
        uint64_t s2 = seed ^ 0x5eed;
        for (size_t i = 0; i < (size_t)n_out * n_in; i++)
            dw[v][i] = frand(&s2) * 0.1f;
        for (int o = 0; o < n_out; o++)
            db[v][o] = frand(&s2) * 0.1f;
        lif_linear_bwd_w_args wa = {.M = M, .n_in = n_in, .n_out = n_out, .dy = dy, .x = x,
                                    .ldx = ld, .dw = dw[v], .db = bias ? db[v] : NULL,
                                    .step = Tc > 1 ? B : 0};
        CHECK(k[v]->run.linear_bwd_w(&ctx, &wa) == LIF_OK, "%s: weight gradient failed", shape);
    }
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < (size_t)n_out * n_in; i++)
        if (dw[1][i] != dw[0][i] && !bad++)
            first = i;
    CHECK(bad == 0, "%s: %zu elements of dw differ from the scalar kernel's, first [%zu]: %.9g vs %.9g",
          shape, bad, first, (double)dw[1][first], (double)dw[0][first]);
    for (int v = 0; v < 2; v++)
        free(dw[v]), free(db[v]);
    free(x), free(dy);
}

/* The time-lanes forward against the scalar kernel: both sum each output
 * from the bias over the inputs that fired in increasing order, so the
 * bits are equal; with the rows as [Tc][B] (step = B), without (step 0),
 * and cut into parts of whole steps and of odd rows. */
static void run_time(const lif_kernel_i *ks, const lif_kernel_i *kt, int n_in, int n_out, int B,
                     int Tc, int bias, double d, uint64_t seed)
{
    int M = B * Tc;
    size_t ld = (size_t)(n_in + 63) / 64 + (size_t)(seed % 3);
    char shape[128];
    snprintf(shape, sizeof shape, "avx512_time: n_in %d n_out %d Tc %d B %d bias %d density %.2f",
             n_in, n_out, Tc, B, bias, d);
    uint64_t s = seed;
    uint64_t *x = spikes(&s, M, n_in, ld, d);
    float *w = malloc(sizeof(float) * (size_t)n_out * n_in), *b = malloc(sizeof(float) * n_out);
    for (size_t i = 0; i < (size_t)n_out * n_in; i++)
        w[i] = frand(&s);
    for (int o = 0; o < n_out; o++)
        b[o] = frand(&s);
    lif_problem p = {.op = LIF_OP_LINEAR_FWD, .T = Tc, .Tc = Tc, .B = B, .n_in = n_in,
                     .n_out = n_out, .has_bias = bias, .density = (float)d, .threads = 1};
    size_t wsz = kt->workspace(&p);
    void *ws = aligned_alloc(64, (wsz + 63) / 64 * 64);
    lif_ctx ctx = {.nthreads = 1}, tctx = {.nthreads = 1, .ws = ws, .ws_stride = (wsz + 63) / 64 * 64};
    float *y[4];
    for (int v = 0; v < 4; v++) {
        y[v] = malloc(sizeof(float) * (size_t)M * n_out);
        for (size_t i = 0; i < (size_t)M * n_out; i++)
            y[v][i] = NAN;
    }
    lif_linear_fwd_args a = {.M = M, .n_in = n_in, .n_out = n_out, .x = x, .ldx = ld,
                             .w = w, .b = bias ? b : NULL, .y = y[0]};
    CHECK(ks->run.linear_fwd(&ctx, &a) == LIF_OK, "%s: scalar failed", shape);
    a.y = y[1], a.step = B;
    CHECK(kt->run.linear_fwd(&tctx, &a) == LIF_OK, "%s: time failed", shape);
    a.y = y[2], a.step = 0;
    CHECK(kt->run.linear_fwd(&tctx, &a) == LIF_OK, "%s: time (step 0) failed", shape);
    /* parts: the first Tc/2 steps, then the rest (step kept), in two calls;
     * then rows cut at an odd row (step dropped: the caller's cut) */
    int t1 = Tc / 2, r1 = M / 2 + 1 < M ? M / 2 + 1 : M;
    lif_linear_fwd_args pa = a;
    pa.y = y[3], pa.step = B, pa.M = t1 * B;
    CHECK(kt->run.linear_fwd(&tctx, &pa) == LIF_OK, "%s: part failed", shape);
    pa.x = x + (size_t)t1 * B * ld, pa.y = y[3] + (size_t)t1 * B * n_out, pa.M = M - t1 * B;
    CHECK(kt->run.linear_fwd(&tctx, &pa) == LIF_OK, "%s: part failed", shape);
    same_bits(y[1], y[0], (size_t)M * n_out, "y (time, step B)", shape);
    same_bits(y[2], y[0], (size_t)M * n_out, "y (time, step 0)", shape);
    same_bits(y[3], y[0], (size_t)M * n_out, "y (time, two parts of whole steps)", shape);
    pa = a, pa.y = y[3], pa.step = 0, pa.M = r1;
    CHECK(kt->run.linear_fwd(&tctx, &pa) == LIF_OK, "%s: cut failed", shape);
    pa.x = x + (size_t)r1 * ld, pa.y = y[3] + (size_t)r1 * n_out, pa.M = M - r1;
    CHECK(kt->run.linear_fwd(&tctx, &pa) == LIF_OK, "%s: cut failed", shape);
    same_bits(y[3], y[0], (size_t)M * n_out, "y (time, rows cut at an odd row)", shape);
    /* a cut of samples (nb, LIF_KERNEL_SAMPLE_CUT: the openmp backend's):
     * samples [0, b1) of every step leave the others' rows alone, then
     * samples [b1, B) complete the result */
    if (B > 1) {
        int b1 = B / 2 + 1 < B ? B / 2 + 1 : B - 1;
        for (size_t i = 0; i < (size_t)M * n_out; i++)
            y[3][i] = NAN;
        pa = a, pa.y = y[3], pa.step = B, pa.nb = b1;
        CHECK(kt->run.linear_fwd(&tctx, &pa) == LIF_OK, "%s: sample cut failed", shape);
        int untouched = 1;
        for (int t = 0; t < Tc; t++)
            for (int bb = b1; bb < B; bb++)
                for (int o = 0; o < n_out; o++)
                    untouched &= isnan(y[3][((size_t)t * B + bb) * n_out + o]);
        CHECK(untouched, "%s: the sample cut [0, %d) wrote rows of other samples", shape, b1);
        pa.x = x + (size_t)b1 * ld, pa.y = y[3] + (size_t)b1 * n_out, pa.nb = B - b1;
        CHECK(kt->run.linear_fwd(&tctx, &pa) == LIF_OK, "%s: sample cut failed", shape);
        same_bits(y[3], y[0], (size_t)M * n_out, "y (time, two cuts of samples)", shape);
    }
    for (int v = 0; v < 4; v++)
        free(y[v]);
    free(ws), free(x), free(w), free(b);
}

int main(void)
{
    const lif_kernel_i *kd[2] = {test_kernel_named("linear_fwd/simd/avx512"),
                                 test_kernel_named("linear_fwd/simd/avx512_skip")};
    const lif_kernel_i *kw[2] = {test_kernel_named("linear_bwd_w/simd/avx512"),
                                 test_kernel_named("linear_bwd_w/simd/avx512_skip")};
    if (!kd[0] || !kd[1] || !kw[0] || !kw[1])
        test_skip("the simd backend's AVX-512 kernels are not built");
    const char *why = "";
    lif_problem p = {.op = LIF_OP_LINEAR_FWD, .T = 1, .Tc = 1, .B = 1, .n_in = 8, .n_out = 8,
                     .threads = 1};
    static const int NIN[] = {1, 17, 784, 1100, 2050};
    static const double DEN[] = {0.02, 0.13, 0.5};
    const lif_kernel_i *ks = test_kernel_named("linear_bwd_w/scalar/ref");
    const lif_kernel_i *ka = test_kernel_named("linear_bwd_w/simd/avx2_skip");
    if (ka && ka->supports(&p, &why)) {
        uint64_t seed = 1000;
        for (int o = 1; o <= 12; o++)
            for (size_t i = 0; i < sizeof NIN / sizeof NIN[0]; i++)
                run_avx2(ks, ka, NIN[i], o, o % 2 ? 70 : 3, o % 2 ? 4 : 1, (o + (int)i) % 2,
                         DEN[(o + i) % 3], seed++);
        printf("test_skip: AVX2 skip weight gradient equal to the scalar kernel\n");
    } else {
        printf("test_skip: skipped: AVX2 skip kernel: %s\n", ka ? why : "not built");
    }
    int ran_avx2 = ka && ka->supports(&p, &why);
    if (!kd[1]->supports(&p, &why)) {
        char msg[256];
        snprintf(msg, sizeof msg, "the AVX-512 skip kernels cannot run here: %s", why);
        if (!ran_avx2)
            test_skip(msg);
        printf("test_skip: skipped: %s\n", msg);
        return test_finish("test_skip");
    }
    const lif_kernel_i *kt = test_kernel_named("linear_fwd/simd/avx512_time");
    CHECK(!kt || (kt->flags & LIF_KERNEL_SAMPLE_CUT),
          "avx512_time is not flagged LIF_KERNEL_SAMPLE_CUT (the openmp backend cuts its samples)");
    const lif_kernel_i *kfs = test_kernel_named("linear_fwd/scalar/ref");
    if (kt && kt->supports(&p, &why)) {
        static const int TCS[] = {1, 7, 16, 24, 33};
        uint64_t seed = 2000;
        for (int o = 1; o <= 16; o++)
            for (size_t i = 0; i < sizeof NIN / sizeof NIN[0]; i++)
                run_time(kfs, kt, NIN[i], o, 1 + (o * 7 + (int)i) % 20, TCS[(o + i) % 5],
                         (o + (int)i) % 2, DEN[(o + i) % 3], seed++);
        printf("test_skip: time-lanes forward bitwise equal to the scalar kernel\n");
    } else {
        printf("test_skip: skipped: time-lanes forward: %s\n", kt ? why : "not built");
    }
    uint64_t seed = 1;
    for (int o = 1; o <= 16; o++)
        for (size_t i = 0; i < sizeof NIN / sizeof NIN[0]; i++) {
            int n_in = NIN[i];
            double d = DEN[(o + i) % 3];
            /* 4 steps of 70 samples: 280 rows, more than one block of 256 */
            run_case(kd, kw, n_in, o, o % 2 ? 70 : 3, o % 2 ? 4 : 1, (o + (int)i) % 2, d, seed++);
        }
    printf("test_skip: skip kernels bitwise equal to the dense AVX-512 kernels\n");
    return test_finish("test_skip");
}
