/* test_rank.c — capability versus ranking, and dispatch over backend lists.
 *
 * Covered:
 *  1. lif_backend_list_check: accepted lists, malformed ones (INVALID_ARG),
 *     unknown names (NOT_FOUND), a backend that cannot run here
 *     (UNSUPPORTED), each with a detail naming the problem.
 *  2. Capability vs ranking for the event-driven linear kernels at the
 *     reference shape (784 -> 10, B 64, T = Tc 100): candidates at every
 *     density; ranked above the dense kernel of their ISA at low density and
 *     below it at high density; candidates sorted by rank with a basis;
 *     density 0 ranked as the assumed density; the AVX2 order (event, table,
 *     dense) when AVX2 is the effective ISA.
 *  3. lif_kernel_select over "auto" and lists, the fall-back to the next
 *     backend of a list when a kernel's supports() declines the problem,
 *     and LIF_FORCE_KERNEL.
 *  4. lif_kernel_rank: scalar lowest, a kernel without a rule between scalar
 *     and every SIMD kernel.
 *  5. LIF_VERBOSE=dispatch: one chosen line, declined lines with reasons,
 *     CSV with exactly 4 commas a line.
 *  6. A composing backend (openmp): first for every op under "auto",
 *     absent from "auto,-openmp" (what it selects its inner kernels with),
 *     and never forced there. Sections 2-3 check the kernels it wraps with
 *     "auto,-openmp" when it is built.
 *
 * CPU detection is cached at the first query, so the ISA caps
 * (LIF_MAX_CPU_ISA=scalar, and =avx2 on an AVX-512 machine) are tested by
 * running this program again as a child with the cap set (LIF_RANK_CHILD
 * marks the child, which spawns nothing). Sub-cases that cannot run on this
 * CPU print "skipped: <reason>". */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lif/lif.h"
#include "testutil.h"

static const char *tag = "test_rank"; /* "test_rank[cap=avx2]" in a child */
static lif_isa isa;                    /* the effective ISA */
static int have_simd;                  /* the simd backend is registered and available */
static int have_openmp;                /* the openmp backend is registered */
/* "auto" without the composing backend: the ranking of the kernels it
 * wraps (openmp ranks above them all and runs them inside) */
static const char *inner_auto = "auto";

static void skipped(const char *what, const char *why)
{
    printf("%s: skipped: %s: %s\n", tag, what, why);
}

/* ---- helpers ---- */


static const char *kname(const lif_kernel_i *k)
{
    static char buf[4][128];
    static int slot;
    if (!k)
        return "(none)";
    slot = (slot + 1) % 4;
    return lif_kernel_name(k, buf[slot], sizeof buf[slot]);
}

static const lif_neuron nrn = {.tau = 2.0f, .v_threshold = 1.0f, .v_reset = 0.0f,
                               .decay_input = 1, .surrogate = LIF_SURR_ATAN, .alpha = 2.0f};

/* The reference shape: 784 -> n_out, B 64, T = Tc 100. */
static lif_problem problem(lif_op op, int n_out, float density)
{
    lif_problem p = {.op = op, .T = 100, .Tc = 100, .B = 64, .n_in = 784, .n_out = n_out,
                     .density = density, .nrn = &nrn, .opt = LIF_OPT_ADAM,
                     .loss = LIF_LOSS_MSE, .threads = 1};
    if (op != LIF_OP_LINEAR_FWD && op != LIF_OP_LINEAR_BWD_W && op != LIF_OP_LINEAR_BWD_X &&
        op != LIF_OP_ENCODE)
        p.n_in = 0;
    return p;
}

#define MAXC 64

/* The candidates of p for list; returns the count (capped at MAXC). */
static size_t candidates(const lif_problem *p, const char *list, lif_candidate *c)
{
    size_t n = 0;
    lif_status st = lif_kernel_candidates(p, list, c, MAXC, &n);
    CHECK(st == LIF_OK, "candidates(%s, '%s'): %s", lif_op_name(p->op), list ? list : "NULL",
          lif_last_error());
    return st == LIF_OK ? (n < MAXC ? n : MAXC) : 0;
}

/* Index of kernel `name` among c[0..n), or -1. */
static int find_cand(const lif_candidate *c, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kname(c[i].kernel), name) == 0)
            return (int)i;
    return -1;
}

static const lif_kernel_i *select_k(const lif_problem *p, const char *list)
{
    const lif_kernel_i *k = NULL;
    lif_status st = lif_kernel_select(p, list, &k);
    CHECK(st == LIF_OK && k, "select(%s, '%s'): %s", lif_op_name(p->op), list ? list : "NULL",
          lif_last_error());
    return st == LIF_OK ? k : NULL;
}

/* ---- 1. backend lists ---- */

static void expect_list(const char *list, lif_status want, const char *needle)
{
    lif_status st = lif_backend_list_check(list);
    CHECK(st == want, "lif_backend_list_check('%s') = %d (%s), want %d", list ? list : "NULL",
          (int)st, st == LIF_OK ? "ok" : lif_last_error(), (int)want);
    if (st != LIF_OK && needle)
        CHECK(strstr(lif_last_error(), needle) != NULL,
              "lif_backend_list_check('%s'): detail '%s' does not contain '%s'", list,
              lif_last_error(), needle);
    /* candidates and select apply the same check */
    size_t n = 0;
    lif_problem p = problem(LIF_OP_LINEAR_FWD, 10, 0.1f);
    CHECK(lif_kernel_candidates(&p, list, NULL, 0, &n) == st,
          "lif_kernel_candidates with list '%s' does not return the list check's status",
          list ? list : "NULL");
    const lif_kernel_i *k = NULL;
    CHECK(lif_kernel_select(&p, list, &k) == st,
          "lif_kernel_select with list '%s' does not return the list check's status",
          list ? list : "NULL");
}

static void test_lists(void)
{
    expect_list("auto", LIF_OK, NULL);
    expect_list("", LIF_OK, NULL);
    expect_list(NULL, LIF_OK, NULL);
    expect_list("scalar", LIF_OK, NULL);
    expect_list("nope", LIF_ERR_NOT_FOUND, "nope");
    expect_list("scalar,nope", LIF_ERR_NOT_FOUND, "nope");
    expect_list("scalar,,simd", LIF_ERR_INVALID_ARG, "empty");
    expect_list("scalar,", LIF_ERR_INVALID_ARG, "empty");
    expect_list(",scalar", LIF_ERR_INVALID_ARG, "empty");
    expect_list(",", LIF_ERR_INVALID_ARG, "empty");
    expect_list("scalar,scalar", LIF_ERR_INVALID_ARG, "twice");
    expect_list("auto,scalar", LIF_ERR_INVALID_ARG, "auto");
    expect_list("scalar,auto", LIF_ERR_INVALID_ARG, "auto");
    /* exclusions: only after auto, registered names, none twice */
    expect_list("auto,-scalar", LIF_OK, NULL);
    expect_list("auto,-nope", LIF_ERR_NOT_FOUND, "nope");
    expect_list("auto,-scalar,-scalar", LIF_ERR_INVALID_ARG, "twice");
    expect_list("auto,-", LIF_ERR_INVALID_ARG, "exclusions");
    expect_list("scalar,-simd", LIF_ERR_INVALID_ARG, "exclusions");
    expect_list("-scalar", LIF_ERR_INVALID_ARG, "exclusions");
    {
        /* "auto,-simd": one ranking over the rest (here scalar alone) */
        lif_candidate c[64];
        size_t n = 0;
        lif_problem q = problem(LIF_OP_LINEAR_FWD, 10, 0.1f);
        CHECK(lif_kernel_candidates(&q, "auto,-simd", c, 64, &n) == LIF_OK && n >= 1,
              "candidates of auto,-simd: %s", lif_last_error());
        for (size_t i = 0; i < n && i < 64; i++)
            CHECK(strcmp(c[i].kernel->backend, "simd") != 0, "auto,-simd lists %s",
                  c[i].kernel->variant);
        const lif_kernel_i *k = NULL;
        CHECK(lif_kernel_select(&q, "auto,-simd", &k) == LIF_OK && k &&
                  strcmp(k->backend, "simd") != 0,
              "auto,-simd selected %s", k ? k->backend : "nothing");
    }
    expect_list("Scalar", LIF_ERR_NOT_FOUND, "Scalar");
    expect_list("scalarx", LIF_ERR_NOT_FOUND, "scalarx");
    expect_list("scala", LIF_ERR_NOT_FOUND, "scala");

    const lif_backend_i *simd = lif_backend_find("simd");
    if (!simd) {
        skipped("simd lists", "this build has no simd backend");
        return;
    }
    const char *why = NULL;
    int avail = lif_backend_available(simd, &why);
    CHECK(avail == have_simd, "lif_backend_available(simd) = %d", avail);
    if (have_simd) {
        expect_list("simd", LIF_OK, NULL);
        expect_list("simd,scalar", LIF_OK, NULL);
        expect_list("scalar,simd", LIF_OK, NULL);
        expect_list("simd,nope", LIF_ERR_NOT_FOUND, "nope");
        expect_list("simd,scalar,simd", LIF_ERR_INVALID_ARG, "simd");
        expect_list("scalar,simd,scalar", LIF_ERR_INVALID_ARG, "scalar");
    } else {
        /* LIF_MAX_CPU_ISA=scalar, or a CPU without AVX2 */
        CHECK(why && *why, "simd unavailable with an empty reason");
        expect_list("simd", LIF_ERR_UNSUPPORTED, "simd");
        expect_list("simd,scalar", LIF_ERR_UNSUPPORTED, "simd");
        expect_list("scalar,simd", LIF_ERR_UNSUPPORTED, "simd");
        if (lif_cpu_get()->capped) {
            lif_backend_list_check("simd");
            CHECK(strstr(lif_last_error(), "LIF_MAX_CPU_ISA") != NULL,
                  "capped: the detail does not name LIF_MAX_CPU_ISA: %s", lif_last_error());
        }
    }
}

/* ---- 2. capability vs ranking ---- */

/* Sorted by non-increasing rank, every basis non-empty, every rank equal
 * to lif_kernel_rank's, every kernel of p's op. */
static void check_sorted(const lif_problem *p, const char *list, const lif_candidate *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *basis = NULL;
        double r = lif_kernel_rank(c[i].kernel, p, &basis);
        CHECK(c[i].kernel->op == p->op, "%s: candidate %s of another op", lif_op_name(p->op),
              kname(c[i].kernel));
        CHECK(c[i].basis && *c[i].basis, "%s (density %g, list '%s'): %s has an empty basis",
              lif_op_name(p->op), (double)p->density, list, kname(c[i].kernel));
        CHECK(r == c[i].rank && basis && c[i].basis && strcmp(basis, c[i].basis) == 0,
              "%s: candidate %s rank %g '%s', lif_kernel_rank %g '%s'", lif_op_name(p->op),
              kname(c[i].kernel), c[i].rank, c[i].basis, r, basis);
        if (i > 0)
            CHECK(c[i - 1].rank >= c[i].rank,
                  "%s (density %g, list '%s'): candidates not sorted: %s %g before %s %g",
                  lif_op_name(p->op), (double)p->density, list, kname(c[i - 1].kernel),
                  c[i - 1].rank, kname(c[i].kernel), c[i].rank);
    }
}

static double rank_of(const char *name, const lif_problem *p)
{
    const lif_kernel_i *k = test_kernel_named(name);
    CHECK(k != NULL, "no kernel %s registered", name);
    return k ? lif_kernel_rank(k, p, NULL) : -1.0;
}

static void test_ranking(void)
{
    static const lif_op lin[] = {LIF_OP_LINEAR_FWD, LIF_OP_LINEAR_BWD_W};
    /* every op: sorted candidates, the scalar reference among them, last */
    for (int op = 0; op < LIF_OP_COUNT; op++) {
        static const float dens[] = {0.0f, 0.01f, 0.05f, 0.2f, 0.9f};
        for (size_t d = 0; d < sizeof dens / sizeof dens[0]; d++)
            for (int wide = 0; wide < 2; wide++) {
                lif_problem p = problem((lif_op)op, wide ? 400 : 10, dens[d]);
                lif_candidate c[MAXC];
                size_t n = candidates(&p, "auto", c);
                check_sorted(&p, "auto", c, n);
                char ref[64];
                snprintf(ref, sizeof ref, "%s/scalar/ref", lif_op_name((lif_op)op));
                CHECK(n > 0 && strcmp(kname(c[n - 1].kernel), ref) == 0,
                      "%s: the scalar reference is not the last candidate", ref);
                size_t m = candidates(&p, "scalar", c);
                CHECK(m == 1 && strcmp(kname(c[0].kernel), ref) == 0,
                      "%s: list 'scalar' gives %zu candidates, first %s", ref, m,
                      m ? kname(c[0].kernel) : "-");
            }
    }

    /* a cap smaller than the count: the best ones, the full count */
    {
        lif_problem p = problem(LIF_OP_LINEAR_FWD, 10, 0.05f);
        lif_candidate all[MAXC], one[1];
        size_t n = candidates(&p, "auto", all), n1 = 0, n0 = 0;
        CHECK(lif_kernel_candidates(&p, "auto", one, 1, &n1) == LIF_OK && n1 == n,
              "cap 1: count %zu, want %zu", n1, n);
        CHECK(n > 0 && one[0].kernel == all[0].kernel, "cap 1: got %s, the best is %s",
              kname(one[0].kernel), kname(all[0].kernel));
        CHECK(lif_kernel_candidates(&p, "auto", NULL, 0, &n0) == LIF_OK && n0 == n,
              "cap 0: count %zu, want %zu", n0, n);
        lif_problem bad = p;
        bad.op = LIF_OP_COUNT;
        CHECK(lif_kernel_candidates(&bad, "auto", NULL, 0, &n0) == LIF_ERR_INVALID_ARG,
              "op out of range accepted by lif_kernel_candidates");
        const lif_kernel_i *k = NULL;
        CHECK(lif_kernel_select(&bad, "auto", &k) == LIF_ERR_INVALID_ARG,
              "op out of range accepted by lif_kernel_select");
    }

    if (!have_simd) {
        skipped("event-driven vs dense ranking", "the simd backend cannot run here");
        return;
    }
    const char *isas[2] = {"avx2", "avx512"};
    int n_isa = isa >= LIF_ISA_AVX512 ? 2 : 1;
    const char *best = isas[n_isa - 1];
    if (n_isa < 2)
        skipped("AVX-512 event-driven vs dense ranking", "the effective ISA is AVX2");

    for (size_t o = 0; o < 2; o++) {
        const char *op = lif_op_name(lin[o]);
        /* capability: the event kernels are candidates at every density */
        static const float any[] = {0.0f, 0.05f, 0.9f, 1.0f};
        for (size_t d = 0; d < sizeof any / sizeof any[0]; d++)
            for (int wide = 0; wide < 2; wide++) {
                lif_problem p = problem(lin[o], wide ? 400 : 10, any[d]);
                lif_candidate c[MAXC];
                size_t n = candidates(&p, "auto", c);
                for (int i = 0; i < n_isa; i++) {
                    char ev[64], de[64];
                    snprintf(ev, sizeof ev, "%s/simd/%s_event", op, isas[i]);
                    snprintf(de, sizeof de, "%s/simd/%s", op, isas[i]);
                    CHECK(find_cand(c, n, ev) >= 0, "%s is not a candidate at density %g, "
                          "n_out %d", ev, (double)any[d], p.n_out);
                    CHECK(find_cand(c, n, de) >= 0, "%s is not a candidate at density %g, "
                          "n_out %d", de, (double)any[d], p.n_out);
                }
                if (lin[o] == LIF_OP_LINEAR_FWD) {
                    int t = find_cand(c, n, "linear_fwd/simd/avx2_table");
                    CHECK(wide ? t < 0 : t >= 0, "linear_fwd/simd/avx2_table %s a candidate at "
                          "n_out %d", t >= 0 ? "is" : "is not", p.n_out);
                }
                n = candidates(&p, "simd", c);
                int other = n == 0;
                for (size_t j = 0; j < n; j++)
                    other |= strcmp(c[j].kernel->backend, "simd") != 0;
                CHECK(!other, "%s: list 'simd' gives %zu candidates, or one of another backend",
                      op, n);
            }

        /* ranking: event above dense of its ISA at low density, below at high */
        for (int wide = 0; wide < 2; wide++)
            for (int i = 0; i < n_isa; i++) {
                char ev[64], de[64];
                snprintf(ev, sizeof ev, "%s/simd/%s_event", op, isas[i]);
                snprintf(de, sizeof de, "%s/simd/%s", op, isas[i]);
                lif_problem lo = problem(lin[o], wide ? 400 : 10, 0.01f);
                lif_problem hi = problem(lin[o], wide ? 400 : 10, 0.9f);
                CHECK(rank_of(ev, &lo) > rank_of(de, &lo),
                      "n_out %d density 0.01: %s (%g) does not rank above %s (%g)", lo.n_out, ev,
                      rank_of(ev, &lo), de, rank_of(de, &lo));
                CHECK(rank_of(ev, &hi) < rank_of(de, &hi),
                      "n_out %d density 0.9: %s (%g) does not rank below %s (%g)", hi.n_out, ev,
                      rank_of(ev, &hi), de, rank_of(de, &hi));
                /* the wide crossover lies above the narrow one: at 0.3
                 * (between them on both ISAs) wide keeps the event kernel */
                lif_problem mid_n = problem(lin[o], 10, 0.3f), mid_w = problem(lin[o], 400, 0.3f);
                CHECK(rank_of(ev, &mid_n) < rank_of(de, &mid_n) &&
                          rank_of(ev, &mid_w) > rank_of(de, &mid_w),
                      "density 0.3: %s vs %s: narrow %g/%g, wide %g/%g", ev, de,
                      rank_of(ev, &mid_n), rank_of(de, &mid_n), rank_of(ev, &mid_w),
                      rank_of(de, &mid_w));
                /* the basis says why */
                const char *b_lo = NULL, *b_hi = NULL;
                lif_kernel_rank(test_kernel_named(ev), &lo, &b_lo);
                lif_kernel_rank(test_kernel_named(ev), &hi, &b_hi);
                CHECK(b_lo && b_hi && *b_lo && *b_hi && strcmp(b_lo, b_hi) != 0,
                      "%s: the same basis below and above the crossover ('%s')", ev,
                      b_lo ? b_lo : "NULL");
                /* density 0 is ranked as the assumed density 0.2 */
                lif_problem z = problem(lin[o], wide ? 400 : 10, 0.0f);
                lif_problem a = problem(lin[o], wide ? 400 : 10, 0.2f);
                CHECK(rank_of(ev, &z) == rank_of(ev, &a),
                      "n_out %d: %s ranks %g at density 0 (unknown), %g at 0.2 (assumed)",
                      z.n_out, ev, rank_of(ev, &z), rank_of(ev, &a));
            }

        /* which kernel is first, on the best ISA */
        for (int wide = 0; wide < 2; wide++) {
            lif_problem lo = problem(lin[o], wide ? 400 : 10, 0.01f);
            lif_problem hi = problem(lin[o], wide ? 400 : 10, 0.9f);
            lif_candidate c[MAXC];
            char want[64];
            size_t n = candidates(&lo, inner_auto, c);
            /* narrow weight gradients on AVX-512: the skip kernel beats
             * the event-driven one at every density it wins at */
            /* the time-lanes forward, where the CPU has GFNI and VBMI */
            const lif_cpu *cpu = lif_cpu_get();
            int time_fwd = isa == LIF_ISA_AVX512 && !wide && lin[o] == LIF_OP_LINEAR_FWD &&
                           cpu->gfni && cpu->avx512vbmi;
            if (isa == LIF_ISA_AVX512 && !wide && lin[o] == LIF_OP_LINEAR_BWD_W)
                snprintf(want, sizeof want, "%s/simd/avx512_skip", op);
            else if (time_fwd)
                snprintf(want, sizeof want, "%s/simd/avx512_time", op);
            else if (isa == LIF_ISA_AVX2 && !wide && lin[o] == LIF_OP_LINEAR_FWD)
                snprintf(want, sizeof want, "%s/simd/avx2_time", op); /* AVX2 time lanes */
            else if (isa == LIF_ISA_AVX2 && !wide && lin[o] == LIF_OP_LINEAR_BWD_W)
                snprintf(want, sizeof want, "%s/simd/avx2_skip", op); /* above event-driven */
            else
                snprintf(want, sizeof want, "%s/simd/%s_event", op, best);
            CHECK(n > 0 && strcmp(kname(c[0].kernel), want) == 0,
                  "n_out %d density 0.01: first candidate %s, want %s", lo.n_out,
                  n ? kname(c[0].kernel) : "-", want);
            /* narrow layers on AVX-512 at MNIST's density (0.13): the skip
             * kernels; at Fashion-MNIST's (0.29): dense */
            if (isa == LIF_ISA_AVX2 && !wide && lin[o] == LIF_OP_LINEAR_BWD_W) {
                lif_problem mn = problem(lin[o], 10, 0.13f);
                n = candidates(&mn, inner_auto, c);
                CHECK(n > 0 && strcmp(kname(c[0].kernel), "linear_bwd_w/simd/avx2_skip") == 0,
                      "AVX2, n_out 10 density 0.13: first candidate %s, want "
                      "linear_bwd_w/simd/avx2_skip", n ? kname(c[0].kernel) : "-");
            }
            if (isa == LIF_ISA_AVX512 && !wide) {
                lif_problem mn = problem(lin[o], 10, 0.13f), fa = problem(lin[o], 10, 0.29f);
                snprintf(want, sizeof want, "%s/simd/%s", op, time_fwd ? "avx512_time" : "avx512_skip");
                n = candidates(&mn, inner_auto, c);
                CHECK(n > 0 && strcmp(kname(c[0].kernel), want) == 0,
                      "n_out 10 density 0.13: first candidate %s, want %s",
                      n ? kname(c[0].kernel) : "-", want);
                snprintf(want, sizeof want, "%s/simd/%s", op, time_fwd ? "avx512_time" : "avx512");
                n = candidates(&fa, inner_auto, c);
                CHECK(n > 0 && strcmp(kname(c[0].kernel), want) == 0,
                      "n_out 10 density 0.29: first candidate %s, want %s",
                      n ? kname(c[0].kernel) : "-", want);
            }
            n = candidates(&hi, inner_auto, c);
            if (isa == LIF_ISA_AVX2 && lin[o] == LIF_OP_LINEAR_FWD && !wide)
                snprintf(want, sizeof want, "linear_fwd/simd/avx2_table");
            else
                snprintf(want, sizeof want, "%s/simd/%s", op, best);
            CHECK(n > 0 && strcmp(kname(c[0].kernel), want) == 0,
                  "n_out %d density 0.9: first candidate %s, want %s", hi.n_out,
                  n ? kname(c[0].kernel) : "-", want);
            /* above its crossover an event kernel still beats the lower
             * ISA's kernels */
            if (n_isa == 2) {
                char ev[64], de2[64];
                snprintf(ev, sizeof ev, "%s/simd/avx512_event", op);
                snprintf(de2, sizeof de2, "%s/simd/avx2", op);
                CHECK(rank_of(ev, &hi) > rank_of(de2, &hi) &&
                          rank_of(ev, &hi) > rank_of("linear_fwd/simd/avx2_table", &hi),
                      "density 0.9: %s (%g) below the AVX2 kernels", ev, rank_of(ev, &hi));
            }
        }
    }

    /* AVX2 as the effective ISA: time lanes (narrow, low densities), event
     * (wide, low densities), else table (n_out <= 16), else dense */
    if (isa != LIF_ISA_AVX2) {
        skipped("AVX2 forward order in this process", "the effective ISA is not AVX2 (a child "
                "with LIF_MAX_CPU_ISA=avx2 covers it)");
        return;
    }
    static const struct {
        int n_out;
        float density;
        const char *want;
    } order[] = {
        {10, 0.01f, "linear_fwd/simd/avx2_time"},   {10, 0.05f, "linear_fwd/simd/avx2_time"},
        {10, 0.1f, "linear_fwd/simd/avx2_table"},   {10, 0.2f, "linear_fwd/simd/avx2_table"},
        {10, 0.0f, "linear_fwd/simd/avx2_table"},   {10, 0.9f, "linear_fwd/simd/avx2_table"},
        {16, 0.9f, "linear_fwd/simd/avx2_table"},   {17, 0.9f, "linear_fwd/simd/avx2"},
        {400, 0.01f, "linear_fwd/simd/avx2_event"}, {400, 0.9f, "linear_fwd/simd/avx2"},
    };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        lif_problem p = problem(LIF_OP_LINEAR_FWD, order[i].n_out, order[i].density);
        lif_candidate c[MAXC];
        size_t n = candidates(&p, inner_auto, c);
        CHECK(n > 0 && strcmp(kname(c[0].kernel), order[i].want) == 0,
              "AVX2, n_out %d, density %g: first %s, want %s", order[i].n_out,
              (double)order[i].density, n ? kname(c[0].kernel) : "-", order[i].want);
        for (size_t j = 0; j < n; j++)
            CHECK(!strstr(c[j].kernel->variant, "avx512"),
                  "AVX2 cap: %s is a candidate", kname(c[j].kernel));
    }
    /* table above dense on narrow layers at every density */
    lif_problem p = problem(LIF_OP_LINEAR_FWD, 10, 0.9f);
    CHECK(rank_of("linear_fwd/simd/avx2_table", &p) > rank_of("linear_fwd/simd/avx2", &p),
          "AVX2: the table-driven kernel does not rank above dense on a narrow layer");
}

/* ---- 3. selection ---- */

static void test_select(void)
{
    lif_problem p = problem(LIF_OP_LINEAR_FWD, 10, 0.05f);
    lif_candidate c[MAXC];
    size_t n = candidates(&p, "auto", c);
    const lif_kernel_i *k = select_k(&p, "auto");
    CHECK(n > 0 && k == c[0].kernel, "auto: selected %s, first candidate %s", kname(k),
          n ? kname(c[0].kernel) : "-");
    CHECK(select_k(&p, NULL) == k && select_k(&p, "") == k, "NULL and \"\" differ from auto");
    k = select_k(&p, "scalar");
    CHECK(k && strcmp(kname(k), "linear_fwd/scalar/ref") == 0, "scalar: selected %s", kname(k));

    /* every op: auto selects the first candidate */
    for (int op = 0; op < LIF_OP_COUNT; op++) {
        lif_problem q = problem((lif_op)op, 10, 0.3f);
        size_t m = candidates(&q, "auto", c);
        k = select_k(&q, "auto");
        CHECK(m > 0 && k == c[0].kernel, "%s auto: selected %s, first candidate %s",
              lif_op_name((lif_op)op), kname(k), m ? kname(c[0].kernel) : "-");
    }

    /* LIF_FORCE_KERNEL overrides auto (and a list) */
    setenv("LIF_FORCE_KERNEL", "linear_fwd/scalar/ref", 1);
    k = select_k(&p, "auto");
    CHECK(k && strcmp(kname(k), "linear_fwd/scalar/ref") == 0,
          "LIF_FORCE_KERNEL=linear_fwd/scalar/ref with auto: selected %s", kname(k));
    /* a forced kernel of another op does not apply */
    lif_problem q = problem(LIF_OP_LIF_FWD, 10, 0.05f);
    size_t m = candidates(&q, "auto", c);
    k = select_k(&q, "auto");
    CHECK(m > 0 && k == c[0].kernel, "LIF_FORCE_KERNEL of linear_fwd changed lif_fwd's choice "
          "to %s", kname(k));
    unsetenv("LIF_FORCE_KERNEL");

    if (!have_simd) {
        skipped("selection over simd lists", "the simd backend cannot run here");
        k = select_k(&p, inner_auto);
        CHECK(k && strcmp(k->backend, "scalar") == 0, "simd unavailable: %s chose %s",
              inner_auto, kname(k));
        return;
    }
    setenv("LIF_FORCE_KERNEL", "linear_fwd/scalar/ref", 1);
    k = select_k(&p, "simd");
    CHECK(k && strcmp(kname(k), "linear_fwd/scalar/ref") == 0,
          "LIF_FORCE_KERNEL=linear_fwd/scalar/ref with list simd: selected %s", kname(k));
    /* a forced kernel that declines the problem: normal selection */
    setenv("LIF_FORCE_KERNEL", "linear_fwd/simd/avx2_table", 1);
    lif_problem w = problem(LIF_OP_LINEAR_FWD, 400, 0.05f);
    size_t nw = candidates(&w, "auto", c);
    k = select_k(&w, "auto");
    CHECK(nw > 0 && k == c[0].kernel && strcmp(kname(k), "linear_fwd/simd/avx2_table") != 0,
          "forced avx2_table on n_out 400 (declined): selected %s, want %s", kname(k),
          nw ? kname(c[0].kernel) : "-");
    /* several forced kernels of one op: the first listed that can run it,
     * whatever the registration order (scalar is registered first) */
    setenv("LIF_FORCE_KERNEL", "linear_fwd/simd/avx2,linear_fwd/scalar/ref", 1);
    k = select_k(&p, "auto");
    CHECK(k && strcmp(kname(k), "linear_fwd/simd/avx2") == 0,
          "LIF_FORCE_KERNEL=linear_fwd/simd/avx2,linear_fwd/scalar/ref: selected %s", kname(k));
    setenv("LIF_FORCE_KERNEL", "linear_fwd/simd/avx2_table,linear_fwd/scalar/ref", 1);
    k = select_k(&w, "auto");
    CHECK(k && strcmp(kname(k), "linear_fwd/scalar/ref") == 0,
          "forced avx2_table (declined on n_out 400) then scalar: selected %s", kname(k));
    unsetenv("LIF_FORCE_KERNEL");

    k = select_k(&p, "scalar,simd");
    CHECK(k && strcmp(kname(k), "linear_fwd/scalar/ref") == 0, "scalar,simd: selected %s",
          kname(k));
    size_t ns = candidates(&p, "simd", c);
    k = select_k(&p, "simd,scalar");
    CHECK(ns > 0 && k == c[0].kernel && strcmp(k->backend, "simd") == 0,
          "simd,scalar: selected %s, simd's first candidate %s", kname(k),
          ns ? kname(c[0].kernel) : "-");

    /* simd declines: the next backend of the list. The SIMD neuron kernels
     * decline a problem without neuron parameters or with a surrogate they
     * do not know; the loss kernels an unknown loss; the optimizers an
     * unknown optimizer. */
    lif_neuron odd = nrn;
    odd.surrogate = (lif_surrogate)7;
    struct {
        const char *what;
        lif_problem p;
    } decl[5];
    decl[0].what = "lif_fwd without neuron parameters";
    decl[0].p = problem(LIF_OP_LIF_FWD, 10, 0.1f);
    decl[0].p.nrn = NULL;
    decl[1].what = "lif_bwd with surrogate 7";
    decl[1].p = problem(LIF_OP_LIF_BWD, 10, 0.1f);
    decl[1].p.nrn = &odd;
    decl[2].what = "loss kind 9";
    decl[2].p = problem(LIF_OP_LOSS, 10, 0.1f);
    decl[2].p.loss = (lif_loss_kind)9;
    decl[3].what = "optimizer kind 9";
    decl[3].p = problem(LIF_OP_OPTIM, 10, 0.1f);
    decl[3].p.opt = (lif_opt_kind)9;
    decl[4].what = "lif_fwd (supported)";
    decl[4].p = problem(LIF_OP_LIF_FWD, 10, 0.1f);
    for (size_t i = 0; i < 5; i++) {
        const lif_problem *d = &decl[i].p;
        size_t nd = candidates(d, "simd", c);
        char ref[64];
        snprintf(ref, sizeof ref, "%s/scalar/ref", lif_op_name(d->op));
        if (i < 4) {
            CHECK(nd == 0, "%s: simd has %zu candidates (%s), want none", decl[i].what, nd,
                  nd ? kname(c[0].kernel) : "-");
            k = select_k(d, "simd,scalar");
            CHECK(k && strcmp(kname(k), ref) == 0, "%s, simd,scalar: selected %s, want %s",
                  decl[i].what, kname(k), ref);
            k = select_k(d, "simd");
            CHECK(k && strcmp(kname(k), ref) == 0,
                  "%s, simd alone: selected %s, want the scalar fallback %s", decl[i].what,
                  kname(k), ref);
            k = select_k(d, inner_auto);
            CHECK(k && strcmp(kname(k), ref) == 0, "%s, %s: selected %s, want %s",
                  decl[i].what, inner_auto, kname(k), ref);
        } else {
            k = select_k(d, "simd,scalar");
            CHECK(nd > 0 && k == c[0].kernel && strcmp(k->backend, "simd") == 0,
                  "%s, simd,scalar: selected %s", decl[i].what, kname(k));
        }
    }
}

/* ---- 4. lif_kernel_rank ---- */

static void test_rank_rules(void)
{
    lif_kernel_i fake = {.abi = LIF_KERNEL_ABI, .backend = "nobody", .variant = "x"};
    for (int op = 0; op < LIF_OP_COUNT; op++) {
        static const float dens[] = {0.0f, 0.01f, 0.9f};
        for (size_t d = 0; d < 3; d++)
            for (int wide = 0; wide < 2; wide++) {
                lif_problem p = problem((lif_op)op, wide ? 400 : 10, dens[d]);
                fake.op = (lif_op)op;
                const char *fb = NULL;
                double fr = lif_kernel_rank(&fake, &p, &fb);
                CHECK(fb && *fb, "a kernel without a rule gets no basis");
                CHECK(lif_kernel_rank(&fake, &p, NULL) == fr, "basis NULL changes the rank");
                lif_candidate c[MAXC];
                size_t n = candidates(&p, "auto", c);
                for (size_t i = 0; i < n; i++) {
                    const char *b = c[i].kernel->backend;
                    if (strcmp(b, "scalar") == 0)
                        CHECK(c[i].rank < fr, "%s ranks %g, not below a kernel without a "
                              "rule (%g)", kname(c[i].kernel), c[i].rank, fr);
                    else if (strcmp(b, "simd") == 0)
                        CHECK(c[i].rank > fr, "%s (n_out %d, density %g) ranks %g, not above "
                              "a kernel without a rule (%g)", kname(c[i].kernel), p.n_out,
                              (double)p.density, c[i].rank, fr);
                }
                /* scalar lowest of all registered kernels of the op */
                char ref[64];
                snprintf(ref, sizeof ref, "%s/scalar/ref", lif_op_name((lif_op)op));
                double sr = rank_of(ref, &p);
                size_t nb;
                const lif_backend_i *const *bs = lif_backends(&nb);
                for (size_t b = 0; b < nb; b++)
                    for (size_t j = 0; j < bs[b]->n_kernels; j++) {
                        const lif_kernel_i *k = &bs[b]->kernels[j];
                        if (k->op == (lif_op)op && strcmp(k->backend, "scalar") != 0)
                            CHECK(lif_kernel_rank(k, &p, NULL) > sr,
                                  "%s does not rank above %s", kname(k), ref);
                    }
            }
    }
    /* a kernel of a known backend with an unknown variant has no rule either */
    lif_kernel_i newv = {.abi = LIF_KERNEL_ABI, .op = LIF_OP_LINEAR_FWD, .backend = "simd",
                         .variant = "avx1024"};
    lif_problem p = problem(LIF_OP_LINEAR_FWD, 10, 0.1f);
    const char *b1 = NULL, *b2 = NULL;
    CHECK(lif_kernel_rank(&newv, &p, &b1) == lif_kernel_rank(&fake, &p, &b2) && b1 && b2 &&
              strcmp(b1, b2) == 0,
          "simd/avx1024 (no rule) ranks unlike a kernel of an unknown backend");
}

/* ---- 5. LIF_VERBOSE=dispatch ---- */

/* Runs lif_kernel_select(p, list) with LIF_VERBOSE=dispatch and stderr in a
 * file; returns the captured text (malloc'd) and the kernel in *k. */
static char *capture_select(const lif_problem *p, const char *list, const lif_kernel_i **k)
{
    FILE *f = tmpfile();
    fflush(stderr);
    int saved = dup(2);
    if (!f || saved < 0) {
        CHECK(0, "cannot redirect stderr to a temporary file");
        if (f)
            fclose(f);
        return NULL;
    }
    dup2(fileno(f), 2);
    setenv("LIF_VERBOSE", "dispatch", 1);
    *k = NULL;
    lif_status st = lif_kernel_select(p, list, k);
    unsetenv("LIF_VERBOSE");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK(st == LIF_OK, "select with LIF_VERBOSE=dispatch: %s", lif_last_error());
    rewind(f);
    char *buf = calloc(1, 65536);
    size_t got = buf ? fread(buf, 1, 65535, f) : 0;
    (void)got;
    fclose(f);
    return buf;
}

typedef struct dispatch_stats {
    int lines, chosen, declined, ranked_lower;
    char chosen_kernel[256];
} dispatch_stats;

/* Checks every line's format; counts. */
static dispatch_stats parse_dispatch(char *text, const lif_problem *p, const char *what)
{
    dispatch_stats s = {0};
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!*line)
            continue;
        s.lines++;
        int commas = 0;
        for (const char *c = line; *c; c++)
            commas += *c == ',';
        CHECK(commas == 4, "%s: dispatch line with %d commas (want 4): %s", what, commas, line);
        CHECK(strncmp(line, "lif_dispatch,", 13) == 0, "%s: not a dispatch line: %s", what, line);
        char f[5][256] = {{0}};
        int nf = 0;
        for (char *s0 = line; nf < 5;) {
            char *e = strchr(s0, ',');
            size_t len = e && nf < 4 ? (size_t)(e - s0) : strlen(s0);
            snprintf(f[nf++], sizeof f[0], "%.*s", (int)len, s0);
            if (!e || nf == 5)
                break;
            s0 = e + 1;
        }
        CHECK(nf == 5, "%s: %d fields: %s", what, nf, line);
        CHECK(strcmp(f[1], lif_op_name(p->op)) == 0, "%s: op field '%s': %s", what, f[1], line);
        CHECK(strncmp(f[2], f[1], strlen(f[1])) == 0 && f[2][strlen(f[1])] == '/',
              "%s: kernel field '%s' is not of op %s", what, f[2], f[1]);
        CHECK(f[4][0] != '\0', "%s: empty reason: %s", what, line);
        if (strcmp(f[3], "chosen") == 0) {
            s.chosen++;
            snprintf(s.chosen_kernel, sizeof s.chosen_kernel, "%s", f[2]);
        } else if (strcmp(f[3], "declined") == 0) {
            s.declined++;
            s.ranked_lower += strncmp(f[4], "ranked lower", 12) == 0;
        } else {
            CHECK(0, "%s: status field '%s': %s", what, f[3], line);
        }
    }
    return s;
}

/* Kernels of p's op in the backends that are available here. */
static int kernels_of_op(lif_op op)
{
    size_t nb;
    int n = 0;
    const lif_backend_i *const *bs = lif_backends(&nb);
    for (size_t i = 0; i < nb; i++)
        if (lif_backend_available(bs[i], NULL))
            for (size_t j = 0; j < bs[i]->n_kernels; j++)
                n += bs[i]->kernels[j].op == op;
    return n;
}

static void test_verbose(void)
{
    /* a wide layer: on a SIMD machine avx2_table declines (n_out > 16) */
    lif_problem p = problem(LIF_OP_LINEAR_FWD, 400, 0.05f);
    lif_candidate c[MAXC];
    size_t n = candidates(&p, "auto", c);
    const lif_kernel_i *k = NULL;
    char *text = capture_select(&p, "auto", &k);
    CHECK(text != NULL, "no captured dispatch output");
    if (text) {
        char *copy = strdup(text);
        dispatch_stats s = parse_dispatch(text, &p, "auto, n_out 400");
        CHECK(s.chosen == 1, "auto: %d chosen lines, want 1:\n%s", s.chosen, copy);
        CHECK(k && strcmp(s.chosen_kernel, kname(k)) == 0, "auto: chosen line names %s, "
              "selected %s", s.chosen_kernel, kname(k));
        CHECK(s.ranked_lower == (int)n - 1, "auto: %d 'ranked lower' lines for %zu candidates:\n%s",
              s.ranked_lower, n, copy);
        CHECK(s.lines == kernels_of_op(p.op), "auto: %d dispatch lines, %d kernels of the op:\n%s",
              s.lines, kernels_of_op(p.op), copy);
        if (have_simd)
            CHECK(strstr(copy, "lif_dispatch,linear_fwd,linear_fwd/simd/avx2_table,declined,") !=
                      NULL, "auto, n_out 400: avx2_table not reported declined:\n%s", copy);
        if (have_simd && isa < LIF_ISA_AVX512)
            CHECK(strstr(copy, "linear_fwd/simd/avx512,declined,") != NULL,
                  "AVX-512 kernels not reported declined under the cap:\n%s", copy);
        free(copy);
        free(text);
    }

    /* a list whose first backend declines: its kernels declined with the
     * supports() reason, the scalar reference chosen */
    if (!have_simd) {
        skipped("verbose fall-back from simd", "the simd backend cannot run here");
        return;
    }
    lif_problem q = problem(LIF_OP_LIF_FWD, 10, 0.1f);
    q.nrn = NULL;
    text = capture_select(&q, "simd,scalar", &k);
    if (text) {
        char *copy = strdup(text);
        dispatch_stats s = parse_dispatch(text, &q, "simd,scalar, no neuron");
        CHECK(s.chosen == 1 && strcmp(s.chosen_kernel, "lif_fwd/scalar/ref") == 0,
              "simd,scalar without neuron: chosen %s (%d chosen lines):\n%s", s.chosen_kernel,
              s.chosen, copy);
        CHECK(strstr(copy, "lif_fwd/simd/avx2,declined,no neuron parameters") != NULL,
              "simd,scalar without neuron: no declined line with the reason:\n%s", copy);
        free(copy);
        free(text);
    }
    /* LIF_FORCE_KERNEL shows as chosen with its reason */
    setenv("LIF_FORCE_KERNEL", "linear_fwd/scalar/ref", 1);
    text = capture_select(&p, "auto", &k);
    unsetenv("LIF_FORCE_KERNEL");
    if (text) {
        char *copy = strdup(text);
        dispatch_stats s = parse_dispatch(text, &p, "forced");
        CHECK(s.chosen == 1 && strcmp(s.chosen_kernel, "linear_fwd/scalar/ref") == 0 &&
                  strstr(copy, "LIF_FORCE_KERNEL"),
              "forced: chosen %s:\n%s", s.chosen_kernel, copy);
        free(copy);
        free(text);
    }
}

/* ---- 6. a composing backend: openmp ---- */

/* openmp's kernels rank first for every op (they run the best other kernel
 * inside, and call it directly at one thread); "auto,-openmp" is what they
 * select their inner kernels with: no openmp candidate, and a forced
 * openmp kernel is declined there (else a composing kernel could get
 * itself back). */
static void test_composing(void)
{
    if (!have_openmp) {
        skipped("openmp ranking", "this build has no openmp backend");
        return;
    }
    for (int op = 0; op < LIF_OP_COUNT; op++)
        for (int wide = 0; wide < 2; wide++) {
            lif_problem p = problem((lif_op)op, wide ? 400 : 10, 0.2f);
            lif_candidate c[MAXC];
            size_t n = candidates(&p, "auto", c);
            char want[64];
            snprintf(want, sizeof want, "%s/openmp/omp", lif_op_name((lif_op)op));
            CHECK(n > 1 && strcmp(kname(c[0].kernel), want) == 0 && c[0].rank > c[1].rank,
                  "%s, n_out %d: auto's first candidate %s, want %s above the rest", lif_op_name(p.op),
                  p.n_out, n ? kname(c[0].kernel) : "-", want);
            CHECK(c[0].kernel->flags & LIF_KERNEL_THREADED, "%s is not LIF_KERNEL_THREADED", want);
            size_t m = candidates(&p, "auto,-openmp", c);
            CHECK(m == n - 1, "auto,-openmp: %zu candidates, auto %zu", m, n);
            for (size_t i = 0; i < m; i++)
                CHECK(strcmp(c[i].kernel->backend, "openmp") != 0, "auto,-openmp lists %s",
                      kname(c[i].kernel));
            setenv("LIF_FORCE_KERNEL", want, 1);
            const lif_kernel_i *k = select_k(&p, "auto,-openmp");
            CHECK(k && strcmp(k->backend, "openmp") != 0,
                  "LIF_FORCE_KERNEL=%s with auto,-openmp: selected %s", want, kname(k));
            k = select_k(&p, "auto");
            CHECK(k && strcmp(kname(k), want) == 0, "LIF_FORCE_KERNEL=%s with auto: selected %s",
                  want, kname(k));
            unsetenv("LIF_FORCE_KERNEL");
        }
}

/* ---- ISA caps, in a child process ---- */

static void run_capped(const char *cap)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("LIF_MAX_CPU_ISA", cap, 1);
        setenv("LIF_RANK_CHILD", "1", 1);
        execl("/proc/self/exe", "test_rank", (char *)NULL);
        _exit(127);
    }
    int ws = 0;
    CHECK(pid > 0 && waitpid(pid, &ws, 0) == pid, "cannot run the LIF_MAX_CPU_ISA=%s child", cap);
    if (pid <= 0)
        return;
    CHECK(WIFEXITED(ws) && (WEXITSTATUS(ws) == 0 || WEXITSTATUS(ws) == 77),
          "the LIF_MAX_CPU_ISA=%s child failed (status 0x%x); repro: LIF_MAX_CPU_ISA=%s "
          "LIF_RANK_CHILD=1 test_rank", cap, ws, cap);
}

int main(void)
{
    unsetenv("LIF_FORCE_KERNEL");
    unsetenv("LIF_VERBOSE");
    int child = getenv("LIF_RANK_CHILD") != NULL;
    const lif_cpu *cpu = lif_cpu_get();
    isa = cpu->isa;
    const lif_backend_i *simd = lif_backend_find("simd");
    have_simd = simd && lif_backend_available(simd, NULL);
    const lif_backend_i *omp = lif_backend_find("openmp");
    have_openmp = omp && lif_backend_available(omp, NULL);
    if (have_openmp)
        inner_auto = "auto,-openmp";
    static char tagbuf[64];
    if (cpu->capped || getenv("LIF_MAX_CPU_ISA")) {
        snprintf(tagbuf, sizeof tagbuf, "test_rank[LIF_MAX_CPU_ISA=%s]",
                 getenv("LIF_MAX_CPU_ISA") ? getenv("LIF_MAX_CPU_ISA") : "?");
        tag = tagbuf;
    }
    printf("%s: effective ISA %s (best %s), simd backend %s\n", tag, lif_isa_name(isa),
           lif_isa_name(cpu->best), have_simd ? "available" : "not available");

    test_lists();
    test_ranking();
    test_select();
    test_rank_rules();
    test_verbose();
    test_composing();

    if (!child) {
        /* detection is cached: the caps below the effective ISA run in a
         * fresh process */
        if (isa > LIF_ISA_SCALAR)
            run_capped("scalar");
        else
            skipped("LIF_MAX_CPU_ISA=scalar child", "already scalar");
        if (isa > LIF_ISA_AVX2)
            run_capped("avx2");
        else
            skipped("LIF_MAX_CPU_ISA=avx2 child", "the effective ISA is not above AVX2");
    }
    return test_finish(tag);
}
