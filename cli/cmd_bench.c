/* lif bench — end-to-end training and inference throughput per backend.
 *
 * Every backend (available here, or those named) gets its own net and plan
 * on the same batches; repetitions are interleaved (A B A B ...) so a drift
 * of the machine (clock, a noisy neighbour on a VM) hits all alike. Each
 * figure is images per second over `batches` whole steps; the table shows
 * the median over repetitions, the range, the ratio to the scalar backend,
 * and the fraction of this machine's measured FMA peak that the dense work
 * of those images would need. --json keeps the same for --compare.
 *
 * --threads LIST (1,2,4) makes a row per (backend, thread count), each with
 * its own net and plan, all interleaved in one schedule; a serial backend
 * (no LIF_KERNEL_THREADED kernel) runs once, at 1 thread. The table adds
 * each row's speed-up over the same backend at the first count and the
 * machine's own FMA scaling at that count. The workloads, runners, schedule
 * and JSON are liblif's (lif/measure.h); this file parses flags, probes the
 * machine and prints. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "lif/measure.h"
#include "lif/roofline.h"
#include "lif/topology.h"

#define MAX_BACKENDS 48
#define MAX_COUNTS LIF_MEASURE_MAX_THREAD_COUNTS
#define MAX_ROWS (MAX_BACKENDS * MAX_COUNTS)
#define MAX_REPS 1000

static const cli_flag bench_flags[] = {
    {"backend", FLAG_OPTION, "backend", "LIST", "backends to compare, comma-separated (every one available here); a row may chain backends with '+' (onednn+openmp: the list onednn,openmp); 'auto': the plan --backend auto runs, with wisdom (lif autotune); 'default': the same without wisdom; ROW@KERNEL[@KERNEL]: kernels forced by name"},
    {"T", FLAG_OPTION, "T", "N", "time steps per image (100)"},
    {"b", FLAG_OPTION, "b", "N", "batch size (64)"},
    {"data", FLAG_OPTION, "data", "DIR", "MNIST-format IDX folder to take batches from (synthetic images)"},
    {"density", FLAG_OPTION, "density", "D", "mean pixel/255 of synthetic images, 0 < D <= 1 (0.29, Fashion-MNIST-like)"},
    {"reps", FLAG_OPTION, "reps", "N", "interleaved repetitions per backend (5)"},
    {"batches", FLAG_OPTION, "batches", "N", "training steps and inference passes per repetition (10)"},
    {"threads", FLAG_OPTION, "threads", "N|LIST",
     "kernel threads (1); a list (1,2,4: at most 8) gives a row per backend and count"},
    {"hidden", FLAG_OPTION, "hidden", "N", "one hidden Linear+LIF layer of N neurons (none)"},
    {"tc", FLAG_PLAN, "Tc", "N|auto", "time steps per chunk (auto), as lif train"},
    {"memory-budget", FLAG_PLAN, "memory_budget", "SIZE", "most bytes of plan buffers (auto), as lif train"},
    {"recompute", FLAG_PLAN, "recompute", "auto|off|input|all", "what backward recomputes (auto), as lif train"},
    {"json", FLAG_OPTION, "json", "FILE", "also write the results as JSON"},
    {"compare", FLAG_OPTION, "compare", "A B", "print the ratios between two --json files (B over A) and exit"},
    {NULL, 0, NULL, NULL, NULL},
};

static void bench_help(void)
{
    printf("usage: lif bench [flags]\n"
           "       lif bench --compare OLD.json NEW.json\n\n"
           "Times whole training steps (encode, forward, BPTT, optimizer) and inference passes\n"
           "for each backend on the same batches, repetitions interleaved, after a warm-up.\n"
           "Prints median images/s, the min-max range, the ratio to the scalar backend, the\n"
           "fraction of this machine's FMA peak that the dense work would need (%%roof), the\n"
           "plan's buffers and the peak resident memory, with the CPU (model, ISA, logical\n"
           "CPUs) and its measured limits. --threads 1,2 adds a row per thread count, with\n"
           "each row's speed-up over the first count next to the machine's own FMA scaling.\n"
           "See docs/BENCHMARKS.md for how to read it.\n\nflags:\n");
    cli_print_flags(stdout, bench_flags);
    printf("\nexit status: 0 done, 2 bad flag or input file, 1 run-time failure\n");
}

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "lif bench: -%s must be an integer in %d..%d, got '%s'\n", flag, lo, hi, v);
        return LIF_EXIT_USAGE;
    }
    *out = (int)x;
    return 0;
}

/* --threads N, or a list N1,N2,...: each 1..1024, at most MAX_COUNTS, none
 * twice. */
static int parse_threads(const char *v, int *counts, int *n)
{
    *n = 0;
    for (const char *s = v;;) {
        char *end = (char *)s;
        long x = 0;
        errno = 0;
        if (*s >= '0' && *s <= '9')
            x = strtol(s, &end, 10);
        if (errno || end == s || (*end && *end != ',') || x < 1 || x > 1024) {
            fprintf(stderr, "lif bench: --threads must be a thread count in 1..1024 or a "
                            "comma-separated list of them (1,2,4), got '%s'\n", v);
            return LIF_EXIT_USAGE;
        }
        if (*n == MAX_COUNTS) {
            fprintf(stderr, "lif bench: --threads %s: at most %d thread counts\n", v, MAX_COUNTS);
            return LIF_EXIT_USAGE;
        }
        for (int k = 0; k < *n; k++)
            if (counts[k] == x) {
                fprintf(stderr, "lif bench: --threads %s: %ld is listed twice\n", v, x);
                return LIF_EXIT_USAGE;
            }
        counts[(*n)++] = (int)x;
        if (!*end)
            return 0;
        s = end + 1;
    }
}

/* "1,2,4" */
static const char *counts_str(const int *counts, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < n && len < size; k++) {
        int w = snprintf(buf + len, size - len, "%s%d", k ? "," : "", counts[k]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return buf;
}

/* A row is a backend, or several chained with '+' ("onednn+openmp": the
 * preference list onednn,openmp, for a backend that fills only some ops),
 * optionally followed by kernels forced by name, each after an '@'
 * ("openmp@linear_fwd/openmp/omp@linear_fwd/simd/avx512_skip": the openmp
 * backend, its linear forward running the AVX-512 skip kernel inside); or
 * "auto" (the plan --backend auto runs: wisdom, else the estimate), or
 * "default" (the same without wisdom: the untuned default). */

/* The length of the row's backend part (up to the first '@'). */
static size_t row_backends_len(const char *row)
{
    const char *at = strchr(row, '@');
    return at ? (size_t)(at - row) : strlen(row);
}

static int row_is(const char *row, const char *name)
{
    size_t n = row_backends_len(row);
    return n == strlen(name) && strncmp(row, name, n) == 0;
}

static int row_is_auto(const char *row) { return row_is(row, "auto") || row_is(row, "default"); }

/* The k-th backend of a row into part; 0 when there is none. */
static int row_part(const char *row, int k, char part[64])
{
    const char *s = row, *end = row + row_backends_len(row);
    for (int i = 0; i < k; i++) {
        const char *e = memchr(s, '+', (size_t)(end - s));
        if (!e)
            return 0;
        s = e + 1;
    }
    const char *e = memchr(s, '+', (size_t)(end - s));
    size_t len = (size_t)((e ? e : end) - s);
    snprintf(part, 64, "%.*s", (int)(len < 64 ? len : 63), s);
    return 1;
}

/* The first part that names no backend (static copy), or NULL. */
static const char *row_unknown(const char *row)
{
    static char part[64];
    if (row_is_auto(row))
        return NULL;
    for (int k = 0; row_part(row, k, part); k++)
        if (!lif_backend_find(part))
            return part;
    return NULL;
}

/* Every part of a row can run here; else 0 and why. */
static int row_available(const char *row, const char **why)
{
    char part[64];
    for (int k = 0; !row_is_auto(row) && row_part(row, k, part); k++)
        if (!lif_backend_available(lif_backend_find(part), why))
            return 0;
    return 1;
}

/* Some part of a row has a threaded kernel. */
static int row_threaded(const char *row)
{
    char part[64];
    if (row_is_auto(row))
        return 1;
    for (int k = 0; row_part(row, k, part); k++)
        if (lif_measure_threaded(part))
            return 1;
    return 0;
}

/* A row's thread count as the table shows it: "2", or "1 (serial)". */
static const char *threads_str(const lif_measure_backend *r, char *buf, size_t size)
{
    snprintf(buf, size, "%d%s", r->threads, r->serial ? " (serial)" : "");
    return buf;
}

/* ---- --compare ---- */

/* The row of r that matches row x: the same backend at the same thread
 * count, or else at any count when either row is serial (a serial backend
 * runs alike at every count); NULL when none. */
static const lif_measure_backend *find_row(const lif_measure_report *r, const lif_measure_backend *x)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < r->n_backends; i++) {
            const lif_measure_backend *y = &r->backends[i];
            if (strcmp(y->name, x->name) == 0 &&
                (y->threads == x->threads || (pass && (x->serial || y->serial))))
                return y;
        }
    return NULL;
}

static int compare(const char *pa, const char *pb)
{
    lif_measure_report a, b;
    if (lif_measure_report_read(pa, &a) != LIF_OK) {
        fprintf(stderr, "lif bench: %s\n", lif_last_error());
        return LIF_EXIT_USAGE;
    }
    if (lif_measure_report_read(pb, &b) != LIF_OK) {
        fprintf(stderr, "lif bench: %s\n", lif_last_error());
        lif_measure_report_free(&a);
        return LIF_EXIT_USAGE;
    }
    const lif_measure_config *ca = &a.config, *cb = &b.config;
    /* a run over several thread counts shows each row's count */
    const int multi = ca->n_thread_counts > 1 || cb->n_thread_counts > 1;
    char la[64], lb[64], tl[32];
    counts_str(ca->thread_counts, ca->n_thread_counts, la, sizeof la);
    counts_str(cb->thread_counts, cb->n_thread_counts, lb, sizeof lb);
    printf("lif bench --compare: B = %s over A = %s\n", pb, pa);
    printf("A: %s, isa %s; T %d, batch %d, data %s", a.machine.cpu, a.machine.isa, ca->T,
           ca->batch, ca->data);
    printf(multi ? "; threads %s\n" : "\n", la);
    printf("B: %s, isa %s; T %d, batch %d, data %s", b.machine.cpu, b.machine.isa, cb->T,
           cb->batch, cb->data);
    printf(multi ? "; threads %s\n" : "\n", lb);
    static const char *const same[] = {"T", "batch", "n_in", "n_out"};
    const int va[] = {ca->T, ca->batch, ca->n_in, ca->n_out};
    const int vb[] = {cb->T, cb->batch, cb->n_in, cb->n_out};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (va[i] != vb[i])
            printf("warning: the runs differ in %s (%d vs %d): the ratios mix two workloads\n",
                   same[i], va[i], vb[i]);
    if (strcmp(la, lb) != 0) {
        if (!multi)
            printf("warning: the runs differ in threads (%d vs %d): the ratios mix two workloads\n",
                   ca->threads, cb->threads);
        else
            printf("warning: the runs differ in thread counts (%s vs %s): rows are matched by "
                   "backend and thread count\n", la, lb);
    }
    if (strcmp(a.machine.cpu, b.machine.cpu) != 0)
        printf("warning: the runs were made on different CPUs\n");
    printf("\n%-10s ", "backend");
    if (multi)
        printf("%-10s ", "threads");
    printf("%12s %12s %8s   %12s %12s %8s\n", "A train/s", "B train/s", "B/A", "A test/s",
           "B test/s", "B/A");
    int shown = 0;
    for (int i = 0; i < b.n_backends; i++) {
        const lif_measure_backend *rb = &b.backends[i];
        const lif_measure_backend *ra = find_row(&a, rb);
        double tb = rb->train.median, eb = rb->test.median;
        printf("%-10s ", rb->name);
        if (multi)
            printf("%-10s ", threads_str(rb, tl, sizeof tl));
        if (!ra || !(tb > 0) || !(eb > 0)) {
            printf("%s\n", !ra ? "only in B" : "not run in B");
            continue;
        }
        double ta = ra->train.median, ea = ra->test.median;
        if (!(ta > 0) || !(ea > 0)) {
            printf("not run in A\n");
            continue;
        }
        printf("%12.1f %12.1f %8.2f   %12.1f %12.1f %8.2f\n", ta, tb, tb / ta, ea, eb, eb / ea);
        shown++;
    }
    for (int i = 0; i < a.n_backends; i++)
        if (!find_row(&b, &a.backends[i])) {
            printf("%-10s ", a.backends[i].name);
            if (multi)
                printf("%-10s ", threads_str(&a.backends[i], tl, sizeof tl));
            printf("only in A\n");
        }
    if (!shown)
        printf("(no backend was run in both)\n");
    lif_measure_report_free(&a);
    lif_measure_report_free(&b);
    return LIF_EXIT_OK;
}

/* ---- the run ---- */

typedef struct run_cfg {
    int T, B, reps, batches, hidden;
    int threads;                /* counts[0] */
    int ncounts, counts[MAX_COUNTS];
    const char *data;
    double density;
    int n_in, n_out;
} run_cfg;

typedef struct machine {
    const lif_cpu *cpu;
    lif_roofline roof;
    int scale_threads;      /* threads of the scaling test (0: not run); the largest */
    double scale;           /* their FMA throughput over one thread's */
    int n_at;               /* the scaling test at each thread count measured */
    int at_threads[MAX_COUNTS];
    double at_scale[MAX_COUNTS];
    double rt_ns;           /* a cache line's round trip between two threads (0: not run) */
} machine;

/* The machine's FMA throughput on n threads over one thread's (NAN: not
 * measured). */
static double scale_at(const machine *m, int n)
{
    if (n == 1)
        return 1.0;
    for (int k = 0; k < m->n_at; k++)
        if (m->at_threads[k] == n)
            return m->at_scale[k];
    return NAN;
}

/* Runs the FMA loop on one thread and on each of want[0..nwant-1] threads;
 * a count that fails to measure is left out (as the single test was). */
static void measure_scaling(machine *m, const int *want, int nwant)
{
    double g1 = 0;
    if (!nwant || lif_roofline_fma_threads(1, 0.15, &g1) != LIF_OK || !(g1 > 0))
        return;
    for (int k = 0; k < nwant; k++) {
        double gn = 0;
        if (lif_roofline_fma_threads(want[k], 0.15, &gn) != LIF_OK)
            continue;
        m->at_threads[m->n_at] = want[k];
        m->at_scale[m->n_at] = gn / g1;
        if (want[k] > m->scale_threads) {
            m->scale_threads = want[k];
            m->scale = gn / g1;
        }
        m->n_at++;
    }
}

/* The row of backend `name` at n threads that ran, or NULL. */
static const lif_measure_backend *row_at(const lif_measure_report *rep, const char *name, int n)
{
    for (int i = 0; i < rep->n_backends; i++)
        if (!rep->backends[i].skipped[0] && rep->backends[i].threads == n &&
            strcmp(rep->backends[i].name, name) == 0)
            return &rep->backends[i];
    return NULL;
}

static void print_ratio(char *buf, size_t size, double x)
{
    if (isnan(x))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.2f", x);
}

int cmd_bench(int argc, char **argv)
{
    cli_args args;
    run_cfg c = {.T = 100, .B = 64, .reps = 5, .batches = 10, .threads = 1, .ncounts = 1,
                 .counts = {1}, .density = 0.29};
    lif_workload w = {0};
    lif_measure_report rep = {0};
    lif_measure_e2e *e2e[MAX_ROWS] = {0};
    lif_measure_task tasks[2 * MAX_ROWS];
    double *seconds = NULL;
    const char *names[MAX_BACKENDS];
    int nnames = 0, nrows = 0, ntasks = 0, rc;
    char plan_line[128] = "";
    lif_status st;
    char *argv2[CLI_MAX_ARGS * 2];
    int argc2 = 0;
    const char *cmp_a = NULL, *cmp_b = NULL;

    /* --compare takes two values, which the flag parser does not do */
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--compare") == 0 || strcmp(argv[i], "-compare") == 0) {
            if (i + 2 >= argc) {
                fprintf(stderr, "lif bench: %s needs two files (OLD.json NEW.json)\n", argv[i]);
                return LIF_EXIT_USAGE;
            }
            cmp_a = argv[i + 1];
            cmp_b = argv[i + 2];
            i += 2;
        } else if (argc2 < (int)(sizeof argv2 / sizeof argv2[0])) {
            argv2[argc2++] = argv[i];
        }
    }
    rc = cli_parse(argc2, argv2, bench_flags, "bench", &args);
    if (rc == -1) {
        bench_help();
        return LIF_EXIT_OK;
    }
    if (rc)
        return rc;
    if (cmp_a) {
        if (args.n) {
            fprintf(stderr, "lif bench: --compare takes no other flags\n");
            return LIF_EXIT_USAGE;
        }
        return compare(cmp_a, cmp_b);
    }
    const char *v;
    if (((v = cli_get(&args, "T")) && (rc = parse_int("T", v, 1, 100000, &c.T))) ||
        ((v = cli_get(&args, "b")) && (rc = parse_int("b", v, 1, 65536, &c.B))) ||
        ((v = cli_get(&args, "reps")) && (rc = parse_int("reps", v, 1, MAX_REPS, &c.reps))) ||
        ((v = cli_get(&args, "batches")) && (rc = parse_int("batches", v, 1, 1000000, &c.batches))) ||
        ((v = cli_get(&args, "threads")) && (rc = parse_threads(v, c.counts, &c.ncounts))) ||
        ((v = cli_get(&args, "hidden")) && (rc = parse_int("hidden", v, 0, 1000000, &c.hidden))))
        return rc;
    lif_plan_opts po;
    lif_plan_opts_default(&po);
    if ((rc = cli_apply_plan(&args, &po, "bench")))
        return rc;
    if (po.Tc > c.T) {
        fprintf(stderr, "lif bench: --tc %d is more than -T %d\n", po.Tc, c.T);
        return LIF_EXIT_USAGE;
    }
    c.threads = c.counts[0];
    /* several thread counts: a row per (backend, count) and the columns that
     * compare counts; one count: the table of one row per backend */
    const int multi = c.ncounts > 1;
    if ((v = cli_get(&args, "density"))) {
        char *end;
        c.density = strtod(v, &end);
        if (end == v || *end || !(c.density > 0.0 && c.density <= 1.0)) {
            fprintf(stderr, "lif bench: -density must be a number in (0, 1], got '%s'\n", v);
            return LIF_EXIT_USAGE;
        }
    }
    c.data = cli_get(&args, "data");
    const char *json_path = cli_get(&args, "json");

    /* the backends: named, or every registered one */
    size_t nb;
    const lif_backend_i *const *bs = lif_backends(&nb);
    const char *list = cli_get(&args, "backend");
    static char listed[MAX_BACKENDS][160];
    if (list) {
        for (const char *s = list; *s;) {
            const char *e = strchr(s, ',');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            if (nnames == MAX_BACKENDS || len == 0) {
                fprintf(stderr, "lif bench: -backend %s: give at most %d names, comma-separated\n",
                        list, MAX_BACKENDS);
                return LIF_EXIT_USAGE;
            }
            if (len >= sizeof listed[0]) {
                fprintf(stderr, "lif bench: -backend: the row '%.*s' is longer than %zu characters\n",
                        (int)len, s, sizeof listed[0] - 1);
                return LIF_EXIT_USAGE;
            }
            memcpy(listed[nnames], s, len);
            listed[nnames][len] = '\0';
            const char *bad = row_unknown(listed[nnames]);
            const char *at = strchr(listed[nnames], '@');
            if (!bad && at) {
                /* the kernels forced by name after '@': each a registered one */
                char forced[sizeof listed[0]];
                snprintf(forced, sizeof forced, "%s", at + 1);
                for (char *q = forced; *q; q++)
                    if (*q == '@')
                        *q = ',';
                if (lif_kernel_names_check(forced) != LIF_OK) {
                    fprintf(stderr, "lif bench: -backend: row '%s': %s\n", listed[nnames],
                            lif_last_error());
                    return LIF_EXIT_USAGE;
                }
            }
            if (bad) {
                fprintf(stderr, "lif bench: -backend: unknown backend '%s' (known:", bad);
                for (size_t i = 0; i < nb; i++)
                    fprintf(stderr, " %s", bs[i]->name);
                fprintf(stderr, "; a row may chain them with '+', e.g. onednn+openmp)\n");
                return LIF_EXIT_USAGE;
            }
            names[nnames] = listed[nnames];
            nnames++;
            s = e ? e + 1 : s + len;
        }
    } else {
        for (size_t i = 0; i < nb && nnames < MAX_BACKENDS; i++)
            names[nnames++] = bs[i]->name;
    }

    /* the rows: each backend at each thread count; a serial backend (no
     * threaded kernel: the plan calls it with one thread whatever the count)
     * once, at 1 thread, when there are several counts; a backend that
     * cannot run here once, skipped */
    static struct {
        const char *name, *why;
        int threads, serial;
    } rows[MAX_ROWS];
    for (int i = 0; i < nnames; i++) {
        const char *why = NULL;
        int avail = row_available(names[i], &why);
        int serial = !row_threaded(names[i]);
        /* auto and default rows run once, at their own thread count, when
         * there is a list */
        int per = !avail || (multi && (serial || row_is_auto(names[i]))) ? 1 : c.ncounts;
        for (int k = 0; k < per; k++, nrows++) {
            rows[nrows].name = names[i];
            rows[nrows].why = avail ? NULL : why;
            rows[nrows].threads = multi && serial ? 1 : c.counts[k];
            rows[nrows].serial = serial;
        }
    }

    /* the data: a real set, or synthetic images of a stated density */
    if ((st = lif_workload_load(&w, c.data, c.B * c.batches, c.density)) != LIF_OK)
        return cli_fail("bench", st);
    c.density = w.density;
    c.n_in = w.train.rows * w.train.cols;
    c.n_out = 10;
    if ((st = lif_measure_report_init(&rep, nrows, c.reps)) != LIF_OK) {
        rc = cli_fail("bench", st);
        goto done;
    }

    /* the machine and its limits; the FMA loop's scaling at each thread
     * count (one count: at it, or at every logical CPU when it is 1) */
    machine m = {.cpu = lif_cpu_get()};
    if ((st = lif_roofline_measure(0.2, &m.roof)) != LIF_OK) {
        rc = cli_fail("bench", st);
        goto done;
    }
    int want[MAX_COUNTS], nwant = 0;
    if (!multi) {
        int n = c.threads > 1 ? c.threads : m.cpu->logical_cpus;
        if (n > 1)
            want[nwant++] = n;
    } else {
        for (int k = 0; k < c.ncounts; k++)
            if (c.counts[k] > 1)
                want[nwant++] = c.counts[k];
    }
    measure_scaling(&m, want, nwant);
    if (m.scale_threads > 1 && m.cpu->logical_cpus > 1 &&
        lif_roofline_line_round_trip(0.05, &m.rt_ns) != LIF_OK)
        m.rt_ns = 0;

    /* nets and plans; each row runs a training step and an inference pass
     * (lif_measure_e2e_task), after one untimed call of each */
    for (int i = 0; i < nrows; i++) {
        lif_measure_backend *r = &rep.backends[i];
        snprintf(r->name, sizeof r->name, "%s", rows[i].name);
        r->threads = rows[i].threads;
        r->serial = rows[i].serial;
        if (rows[i].why) {
            snprintf(r->skipped, sizeof r->skipped, "%s", rows[i].why);
            continue;
        }
        char plan_list[sizeof r->name];
        snprintf(plan_list, sizeof plan_list, "%.*s", (int)row_backends_len(r->name), r->name);
        for (char *p = plan_list; *p; p++)
            if (*p == '+')
                *p = ','; /* a row "onednn+openmp" runs the list onednn,openmp */
        if (row_is(r->name, "default"))
            snprintf(plan_list, sizeof plan_list, "auto");
        lif_measure_e2e_cfg ec = {.backend = plan_list, .T = c.T, .B = c.B, .threads = r->threads,
                                  .hidden = c.hidden, .train = &w.train, .test = &w.test,
                                  .seed = 0, .Tc = po.Tc, .memory_budget = po.memory_budget,
                                  .recompute = po.recompute};
        lif_plan_opts ao;
        lif_plan_opts_default(&ao);
        /* the rows "auto" and "default" run at the thread count lif train
         * would take (wisdom's, else the default) unless --threads gives
         * one count */
        int threads_given = cli_get(&args, "threads") != NULL && !multi;
        if (row_is_auto(r->name) && !threads_given)
            r->threads = ec.threads = lif_topology_default_threads();
        /* the row "auto": the plan --backend auto runs, wisdom included
         * (its threads and Tc unless --threads / --tc were given) */
        if (row_is(r->name, "auto")) {
            cli_tuning tun;
            lif_recipe ar;
            lif_recipe_default(&ar);
            ar.T = c.T;
            ar.batch = c.B;
            if (c.hidden > 0) {
                ar.n_hidden = 1;
                ar.hidden[0] = c.hidden;
            }
            cli_wisdom_apply(&tun, &ao, threads_given,
                             cli_plan_flag_given(&args, "Tc"), &ar, c.n_in, c.n_out, c.density);
            if (tun.match != LIF_WISDOM_NONE && !threads_given)
                r->threads = ec.threads = ao.threads;
            if (tun.match == LIF_WISDOM_EXACT && !cli_plan_flag_given(&args, "Tc"))
                ec.Tc = ao.Tc;
            printf("auto: wisdom: %s\n", tun.note);
        }
        /* kernels forced by name after '@' (LIF_FORCE_KERNEL's syntax) */
        const char *at = strchr(r->name, '@');
        if (at) {
            snprintf(ao.kernels, sizeof ao.kernels, "%s", at + 1);
            for (char *p = ao.kernels; *p; p++)
                if (*p == '@')
                    *p = ',';
        }
        ec.opts = &ao;
        size_t plan_bytes = 0;
        if ((st = lif_measure_e2e_create(&ec, &e2e[i], &plan_bytes)) != LIF_OK) {
            rc = cli_fail("bench", st);
            goto done;
        }
        r->plan_bytes = plan_bytes;
        if (i == 0 || !plan_line[0]) {
            const lif_plan *pl = lif_measure_e2e_plan(e2e[i]);
            snprintf(plan_line, sizeof plan_line, "plan: chunks of %d steps, %s",
                     lif_plan_options(pl)->Tc,
                     cli_plan_mode(pl));
        }
        tasks[ntasks++] = lif_measure_e2e_task(e2e[i], 1);
        tasks[ntasks++] = lif_measure_e2e_task(e2e[i], 0);
    }
    if (!ntasks) {
        fprintf(stderr, "lif bench: none of the backends can run here:");
        for (int i = 0; i < nrows; i++)
            fprintf(stderr, " %s (%s)", rep.backends[i].name, rep.backends[i].skipped);
        fprintf(stderr, "\n");
        rc = LIF_EXIT_USAGE;
        goto done;
    }

    /* interleaved repetitions: rep 0 of every row, then rep 1, ... */
    seconds = malloc((size_t)ntasks * (size_t)c.reps * sizeof *seconds);
    if (!seconds) {
        rc = cli_fail("bench", lif_error(LIF_ERR_NOMEM, "out of memory"));
        goto done;
    }
    lif_measure_schedule sched = {.warmup = 1, .repeats = c.reps, .calls = c.batches,
                                  .interleaved = 1};
    if ((st = lif_measure_run(tasks, ntasks, &sched, seconds)) != LIF_OK) {
        rc = cli_fail("bench", st);
        goto done;
    }

    double imgs = (double)c.batches * c.B;
    double scalar_train = 0, scalar_test = 0;
    for (int i = 0, t = 0; i < nrows; i++) {
        lif_measure_backend *r = &rep.backends[i];
        if (r->skipped[0])
            continue;
        lif_measure_e2e_kernels(e2e[i], r->kernels, sizeof r->kernels);
        lif_measure_rate *rates[2] = {&r->train, &r->test};
        for (int k = 0; k < 2; k++, t++) {
            lif_measure_stats ms;
            for (int j = 0; j < c.reps; j++)
                rates[k]->reps[j] = imgs / seconds[(size_t)t * (size_t)c.reps + (size_t)j];
            if ((st = lif_measure_summarize(rates[k]->reps, c.reps, &ms)) != LIF_OK) {
                rc = cli_fail("bench", st);
                goto done;
            }
            rates[k]->median = ms.median;
            rates[k]->min = ms.min;
            rates[k]->max = ms.max;
        }
        if (strcmp(r->name, "scalar") == 0 && !(scalar_train > 0)) {
            scalar_train = r->train.median;
            scalar_test = r->test.median;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0;   /* Linux: kilobytes */
    int width = c.hidden ? c.hidden : c.n_out;
    double train_flops = 4.0 * c.T * ((double)c.n_in * width + (c.hidden ? (double)c.hidden * c.n_out : 0.0));
    for (int i = 0; i < nrows; i++) {
        lif_measure_backend *r = &rep.backends[i];
        if (r->skipped[0])
            continue;
        r->train.ratio_to_scalar = scalar_train > 0 ? r->train.median / scalar_train : NAN;
        r->test.ratio_to_scalar = scalar_test > 0 ? r->test.median / scalar_test : NAN;
        const lif_measure_backend *first = r->serial ? NULL : row_at(&rep, r->name, c.counts[0]);
        r->train.ratio_to_first_threads = first ? r->train.median / first->train.median : NAN;
        r->test.ratio_to_first_threads = first ? r->test.median / first->test.median : NAN;
        /* the peak of the row's threads: one thread's times the measured scaling */
        double sc = scale_at(&m, r->threads);
        double peak = m.roof.gflops * (isnan(sc) ? 1.0 : sc);
        r->train_pct_of_fma_peak = 100.0 * r->train.median * train_flops / (peak * 1e9);
    }

    /* the report: what --json writes and the table shows */
    snprintf(rep.version, sizeof rep.version, "%s", lif_version());
    snprintf(rep.git_commit, sizeof rep.git_commit, "%s", lif_build_commit());
    snprintf(rep.compiler, sizeof rep.compiler, "%s", lif_build_compiler());
    snprintf(rep.build_type, sizeof rep.build_type, "%s", lif_build_type());
    lif_measure_machine *rm = &rep.machine;
    snprintf(rm->cpu, sizeof rm->cpu, "%s", m.cpu->model);
    snprintf(rm->vendor, sizeof rm->vendor, "%s", m.cpu->vendor);
    snprintf(rm->isa, sizeof rm->isa, "%s", lif_isa_name(m.cpu->isa));
    snprintf(rm->best_isa, sizeof rm->best_isa, "%s", lif_isa_name(m.cpu->best));
    rm->logical_cpus = m.cpu->logical_cpus;
    rm->peak_gflops = m.roof.gflops;
    snprintf(rm->fma_loop, sizeof rm->fma_loop, "%s", m.roof.fma_loop);
    rm->copy_gbps = m.roof.copy_gbps;
    rm->scaling_threads = m.scale_threads;
    rm->scaling = m.scale_threads ? m.scale : 1.0;
    rm->n_scalings = m.n_at;
    for (int k = 0; k < m.n_at; k++) {
        rm->scaling_at[k].threads = m.at_threads[k];
        rm->scaling_at[k].scaling = m.at_scale[k];
    }
    rm->line_round_trip_ns = m.rt_ns;
    rep.config = (lif_measure_config){.T = c.T, .batch = c.B, .n_in = c.n_in, .n_out = c.n_out,
                                      .hidden = c.hidden, .reps = c.reps, .batches = c.batches,
                                      .threads = c.threads, .n_thread_counts = c.ncounts,
                                      .density = c.density};
    memcpy(rep.config.thread_counts, c.counts, sizeof c.counts);
    snprintf(rep.config.data, sizeof rep.config.data, "%s", c.data ? c.data : "synthetic");
    rep.peak_rss_mb = rss_mb;

    /* the table */
    char cl[64];
    counts_str(c.counts, c.ncounts, cl, sizeof cl);
    printf("lif bench: T %d, batch %d, %d -> ", c.T, c.B, c.n_in);
    if (c.hidden)
        printf("%d -> ", c.hidden);
    printf("%d, %s (spike density %.3f), %d reps x %d batches (%d images per figure), ", c.n_out,
           c.data ? c.data : "synthetic images", c.density, c.reps, c.batches, c.batches * c.B);
    if (multi)
        printf("threads %s\n", cl);
    else
        printf("%d thread%s\n", c.threads, c.threads > 1 ? "s" : "");
    printf("machine: %s (%s), isa %s (best %s), %d logical CPUs; one thread: %.1f GFLOP/s FMA (%s loop), "
           "%.1f GB/s copy\n", m.cpu->model, m.cpu->vendor, lif_isa_name(m.cpu->isa),
           lif_isa_name(m.cpu->best), m.cpu->logical_cpus, m.roof.gflops, m.roof.fma_loop,
           m.roof.copy_gbps);
    if (m.scale_threads) {
        printf("threads: ");
        for (int k = 0; k < m.n_at; k++)
            printf("%s%d together deliver %.2fx", k ? ", " : "", m.at_threads[k], m.at_scale[k]);
        printf(" one thread's FMA throughput");
        if (m.scale < 0.75 * m.scale_threads)
            printf(" — they do not scale: these logical CPUs share about %.0f core%s (a VM's vCPUs or "
                   "SMT siblings), so more threads will not make lif faster here",
                   m.scale < 1.5 ? 1.0 : floor(m.scale + 0.5), m.scale < 1.5 ? "" : "s");
        if (m.rt_ns > 0)
            printf("; a cache line goes from one to another and back in %.0f ns", m.rt_ns);
        printf("\n");
    }
    char x1[16], fx1[16];
    snprintf(x1, sizeof x1, "x%d", c.counts[0]);
    snprintf(fx1, sizeof fx1, "FMA x%d", c.counts[0]);
    int nw = 10; /* the backend column: as wide as the longest row name */
    for (int i = 0; i < nrows; i++)
        if ((int)strlen(rep.backends[i].name) > nw)
            nw = (int)strlen(rep.backends[i].name);
    if (multi)
        printf("\n%-*s %-10s %11s %15s %8s %6s %11s %15s %8s %6s %7s %7s %8s\n", nw, "backend",
               "threads", "train img/s", "min-max", "x scalar", x1, "test img/s", "min-max",
               "x scalar", x1, fx1, "%roof", "plan MB");
    else
        printf("\n%-*s %11s %19s %8s %11s %19s %8s %7s %8s\n", nw, "backend", "train img/s",
               "min-max", "x scalar", "test img/s", "min-max", "x scalar", "%roof", "plan MB");
    int any_serial = 0;
    for (int i = 0; i < nrows; i++) {
        const lif_measure_backend *r = &rep.backends[i];
        char th[32];
        threads_str(r, th, sizeof th);
        if (r->skipped[0]) {
            if (multi)
                printf("%-*s %-10s skipped: %s\n", nw, r->name, th, r->skipped);
            else
                printf("%-*s skipped: %s\n", nw, r->name, r->skipped);
            continue;
        }
        char tr[32], te[32], xr[16], xe[16];
        snprintf(tr, sizeof tr, "%.0f-%.0f", r->train.min, r->train.max);
        snprintf(te, sizeof te, "%.0f-%.0f", r->test.min, r->test.max);
        print_ratio(xr, sizeof xr, r->train.ratio_to_scalar);
        print_ratio(xe, sizeof xe, r->test.ratio_to_scalar);
        if (!multi) {
            printf("%-*s %11.1f %19s %8s %11.1f %19s %8s %6.2f%% %8.2f\n", nw, r->name,
                   r->train.median, tr, xr, r->test.median, te, xe, r->train_pct_of_fma_peak,
                   (double)r->plan_bytes / 1e6);
            continue;
        }
        char sr[16], se[16], sm[16];
        any_serial |= r->serial;
        print_ratio(sr, sizeof sr, r->train.ratio_to_first_threads);
        print_ratio(se, sizeof se, r->test.ratio_to_first_threads);
        print_ratio(sm, sizeof sm,
                    r->serial ? NAN : scale_at(&m, r->threads) / scale_at(&m, c.counts[0]));
        printf("%-*s %-10s %11.1f %15s %8s %6s %11.1f %15s %8s %6s %7s %6.2f%% %8.2f\n", nw, r->name,
               th, r->train.median, tr, xr, sr, r->test.median, te, xe, se, sm,
               r->train_pct_of_fma_peak, (double)r->plan_bytes / 1e6);
    }
    if (plan_line[0])
        printf("\n%s (the first row's; the plan column: its buffers)", plan_line);
    printf("\npeak resident memory %.1f MB (the whole process: data set, nets and plans of every %s)\n",
           rss_mb, multi ? "row" : "backend");
    if (!multi) {
        printf("%%roof: training images/s x the dense work of one image (4*T*n_in*n_out FLOP: forward and\n"
               "weight gradient) over the FMA peak above; 100%% is the dense limit, event-driven kernels "
               "can pass it\n");
    } else {
        printf("%%roof: training images/s x the dense work of one image (4*T*n_in*n_out FLOP: forward and\n"
               "weight gradient) over the FMA peak at the row's threads (one thread's x the scaling above);\n"
               "100%% is the dense limit, event-driven kernels can pass it\n");
        printf("%s: the row's median over the same backend's at %d thread%s (the first count listed); "
               "%s: this machine's\nFMA loop on the row's threads over on %d — lif cannot scale "
               "further than the machine does\n", x1, c.counts[0], c.counts[0] > 1 ? "s" : "", fx1,
               c.counts[0]);
        if (any_serial)
            printf("(serial): none of the backend's kernels is threaded (LIF_KERNEL_THREADED): it ran "
                   "once, at 1 thread, not per count\n");
    }
    for (int i = 0; i < nrows; i++) {
        const lif_measure_backend *r = &rep.backends[i];
        if (r->skipped[0])
            continue;
        if (multi)
            printf("kernels %s (%d thread%s): %s\n", r->name, r->threads, r->threads > 1 ? "s" : "",
                   r->kernels);
        else
            printf("kernels %s: %s\n", r->name, r->kernels);
    }
    fflush(stdout);

    rc = LIF_EXIT_OK;
    if (json_path && (st = lif_measure_report_write(json_path, &rep)) != LIF_OK) {
        fprintf(stderr, "lif bench: %s\n", lif_last_error());
        rc = LIF_EXIT_FAIL;
    }
done:
    for (int i = 0; i < nrows; i++)
        lif_measure_e2e_destroy(e2e[i]);
    free(seconds);
    lif_measure_report_free(&rep);
    lif_workload_free(&w);
    return rc;
}
