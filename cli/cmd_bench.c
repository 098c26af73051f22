/* lif bench — end-to-end training and inference throughput per backend.
 *
 * Every backend (available here, or those named) gets its own net and plan
 * on the same batches; repetitions are interleaved (A B A B ...) so a drift
 * of the machine (clock, a noisy neighbour on a VM) hits all alike. Each
 * figure is images per second over `batches` whole steps; the table shows
 * the median over repetitions, the range, the ratio to the scalar backend,
 * and the fraction of this machine's measured FMA peak that the dense work
 * of those images would need. --json keeps the same for --compare. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "cli.h"
#include "lif/roofline.h"

#define MAX_BACKENDS 16
#define MAX_REPS 1000

static const cli_flag bench_flags[] = {
    {"backend", FLAG_OPTION, "backend", "LIST", "backends to compare, comma-separated (every one available here)"},
    {"T", FLAG_OPTION, "T", "N", "time steps per image (100)"},
    {"b", FLAG_OPTION, "b", "N", "batch size (64)"},
    {"data", FLAG_OPTION, "data", "DIR", "MNIST-format IDX folder to take batches from (synthetic images)"},
    {"density", FLAG_OPTION, "density", "D", "mean pixel/255 of synthetic images, 0 < D <= 1 (0.29, Fashion-MNIST-like)"},
    {"reps", FLAG_OPTION, "reps", "N", "interleaved repetitions per backend (5)"},
    {"batches", FLAG_OPTION, "batches", "N", "training steps and inference passes per repetition (10)"},
    {"threads", FLAG_OPTION, "threads", "N", "kernel threads (1)"},
    {"hidden", FLAG_OPTION, "hidden", "N", "one hidden Linear+LIF layer of N neurons (none)"},
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
           "CPUs) and its measured limits. See docs/BENCHMARKS.md for how to read it.\n\nflags:\n");
    cli_print_flags(stdout, bench_flags);
    printf("\nexit status: 0 done, 2 bad flag or input file, 1 run-time failure\n");
}

typedef struct row {
    const char *name;
    const char *why;          /* non-NULL: not run, the reason */
    bench_e2e *e;
    size_t plan_bytes;
    char kernels[512];
    double train[MAX_REPS], test[MAX_REPS];
    double train_med, train_min, train_max, test_med, test_min, test_max;
} row;

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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void stats(const double *v, int n, double *med, double *lo, double *hi)
{
    double s[MAX_REPS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    *med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    *lo = s[0];
    *hi = s[n - 1];
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.6g", x);
    else
        fputs("null", f);
}

/* ---- --compare ---- */

static bench_json *load_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lif bench: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                fprintf(stderr, "lif bench: out of memory reading %s\n", path);
                return NULL;
            }
            text = t;
        }
        size_t got = fread(text + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        fprintf(stderr, "lif bench: cannot read %s\n", path);
        return NULL;
    }
    text[len] = '\0';
    char err[160];
    bench_json *j = bench_json_parse(text, err, sizeof err);
    free(text);
    if (!j) {
        fprintf(stderr, "lif bench: %s is not valid JSON: %s\n", path, err);
        return NULL;
    }
    if (!bench_json_get(j, "lif_bench") || !bench_json_get(j, "backends")) {
        fprintf(stderr, "lif bench: %s is not a lif bench --json file (no \"lif_bench\" and "
                        "\"backends\")\n", path);
        bench_json_free(j);
        return NULL;
    }
    return j;
}

static const bench_json *find_backend(const bench_json *doc, const char *name)
{
    const bench_json *bs = bench_json_get(doc, "backends");
    for (const bench_json *b = bs && bs->kind == BJ_ARR ? bs->child : NULL; b; b = b->next)
        if (strcmp(bench_json_str(b, "name", ""), name) == 0)
            return b;
    return NULL;
}

static double median_of(const bench_json *b, const char *what)
{
    return bench_json_num(bench_json_get(b, what), "median", NAN);
}

static int compare(const char *pa, const char *pb)
{
    bench_json *a = load_json(pa), *b = a ? load_json(pb) : NULL;
    if (!a || !b) {
        bench_json_free(a);
        return LIF_EXIT_USAGE;
    }
    const bench_json *ma = bench_json_get(a, "machine"), *mb = bench_json_get(b, "machine");
    const bench_json *ca = bench_json_get(a, "config"), *cb = bench_json_get(b, "config");
    printf("lif bench --compare: B = %s over A = %s\n", pb, pa);
    printf("A: %s, isa %s; T %g, batch %g, data %s\n", bench_json_str(ma, "cpu", "?"),
           bench_json_str(ma, "isa", "?"), bench_json_num(ca, "T", NAN),
           bench_json_num(ca, "batch", NAN), bench_json_str(ca, "data", "?"));
    printf("B: %s, isa %s; T %g, batch %g, data %s\n", bench_json_str(mb, "cpu", "?"),
           bench_json_str(mb, "isa", "?"), bench_json_num(cb, "T", NAN),
           bench_json_num(cb, "batch", NAN), bench_json_str(cb, "data", "?"));
    static const char *const same[] = {"T", "batch", "n_in", "n_out", "threads"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (bench_json_num(ca, same[i], -1) != bench_json_num(cb, same[i], -1))
            printf("warning: the runs differ in %s (%g vs %g): the ratios mix two workloads\n",
                   same[i], bench_json_num(ca, same[i], -1), bench_json_num(cb, same[i], -1));
    if (strcmp(bench_json_str(ma, "cpu", ""), bench_json_str(mb, "cpu", "")) != 0)
        printf("warning: the runs were made on different CPUs\n");
    printf("\n%-10s %12s %12s %8s   %12s %12s %8s\n", "backend", "A train/s", "B train/s",
           "B/A", "A test/s", "B test/s", "B/A");
    const bench_json *bs = bench_json_get(b, "backends");
    int shown = 0;
    for (const bench_json *rb = bs && bs->kind == BJ_ARR ? bs->child : NULL; rb; rb = rb->next) {
        const char *name = bench_json_str(rb, "name", "?");
        const bench_json *ra = find_backend(a, name);
        double tb = median_of(rb, "train_images_per_s"), eb = median_of(rb, "test_images_per_s");
        if (!ra || isnan(tb)) {
            printf("%-10s %s\n", name, !ra ? "only in B" : "not run in B");
            continue;
        }
        double ta = median_of(ra, "train_images_per_s"), ea = median_of(ra, "test_images_per_s");
        printf("%-10s %12.1f %12.1f %8.2f   %12.1f %12.1f %8.2f\n", name, ta, tb, tb / ta, ea, eb,
               eb / ea);
        shown++;
    }
    const bench_json *as = bench_json_get(a, "backends");
    for (const bench_json *ra = as && as->kind == BJ_ARR ? as->child : NULL; ra; ra = ra->next)
        if (!find_backend(b, bench_json_str(ra, "name", "")))
            printf("%-10s only in A\n", bench_json_str(ra, "name", "?"));
    if (!shown)
        printf("(no backend was run in both)\n");
    bench_json_free(a);
    bench_json_free(b);
    return LIF_EXIT_OK;
}

/* ---- the run ---- */

typedef struct run_cfg {
    int T, B, reps, batches, threads, hidden;
    const char *data;
    double density;
    int n_in, n_out;
} run_cfg;

typedef struct machine {
    const lif_cpu *cpu;
    lif_roofline roof;
    int scale_threads;      /* threads of the scaling test (0: not run) */
    double scale;           /* their FMA throughput over one thread's */
    double peak_gflops;     /* the peak for --threads (one thread's, or the measured sum) */
} machine;

static void write_json(FILE *f, const run_cfg *c, const machine *m, const row *rows, int nrows,
                       double rss_mb, double scalar_train, double scalar_test)
{
    fprintf(f, "{\n  \"lif_bench\": 1,\n  \"version\": ");
    json_str(f, lif_version());
    fprintf(f, ",\n  \"machine\": {\"cpu\": ");
    json_str(f, m->cpu->model);
    fprintf(f, ", \"vendor\": ");
    json_str(f, m->cpu->vendor);
    fprintf(f, ", \"isa\": \"%s\", \"best_isa\": \"%s\", \"logical_cpus\": %d, \"peak_gflops\": ",
            lif_isa_name(m->cpu->isa), lif_isa_name(m->cpu->best), m->cpu->logical_cpus);
    json_num(f, m->roof.gflops);
    fprintf(f, ", \"fma_loop\": \"%s\", \"copy_gbps\": ", m->roof.fma_loop);
    json_num(f, m->roof.copy_gbps);
    fprintf(f, ", \"scaling_threads\": %d, \"scaling\": ", m->scale_threads);
    json_num(f, m->scale_threads ? m->scale : 1.0);
    fprintf(f, "},\n  \"config\": {\"T\": %d, \"batch\": %d, \"n_in\": %d, \"n_out\": %d, "
               "\"hidden\": %d, \"reps\": %d, \"batches\": %d, \"threads\": %d, \"data\": ",
            c->T, c->B, c->n_in, c->n_out, c->hidden, c->reps, c->batches, c->threads);
    json_str(f, c->data ? c->data : "synthetic");
    fprintf(f, ", \"density\": ");
    json_num(f, c->density);
    fprintf(f, "},\n  \"peak_rss_mb\": ");
    json_num(f, rss_mb);
    fprintf(f, ",\n  \"backends\": [");
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        json_str(f, r->name);
        if (r->why) {
            fprintf(f, ", \"skipped\": ");
            json_str(f, r->why);
            fprintf(f, "}");
            continue;
        }
        fprintf(f, ", \"kernels\": ");
        json_str(f, r->kernels);
        fprintf(f, ", \"plan_bytes\": %zu", r->plan_bytes);
        for (int k = 0; k < 2; k++) {
            const double *v = k ? r->test : r->train;
            double med = k ? r->test_med : r->train_med, base = k ? scalar_test : scalar_train;
            fprintf(f, ",\n     \"%s_images_per_s\": {\"median\": ", k ? "test" : "train");
            json_num(f, med);
            fprintf(f, ", \"min\": ");
            json_num(f, k ? r->test_min : r->train_min);
            fprintf(f, ", \"max\": ");
            json_num(f, k ? r->test_max : r->train_max);
            fprintf(f, ", \"ratio_to_scalar\": ");
            json_num(f, base > 0 ? med / base : NAN);
            fprintf(f, ", \"reps\": [");
            for (int j = 0; j < c->reps; j++) {
                fprintf(f, "%s", j ? ", " : "");
                json_num(f, v[j]);
            }
            fprintf(f, "]}");
        }
        double flops = 4.0 * c->T * ((double)c->n_in * (c->hidden ? c->hidden : c->n_out) +
                                     (c->hidden ? (double)c->hidden * c->n_out : 0.0));
        fprintf(f, ",\n     \"train_pct_of_fma_peak\": ");
        json_num(f, 100.0 * r->train_med * flops / (m->peak_gflops * 1e9));
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]\n}\n");
}

int cmd_bench(int argc, char **argv)
{
    cli_args args;
    run_cfg c = {.T = 100, .B = 64, .reps = 5, .batches = 10, .threads = 1, .density = 0.29};
    lif_dataset train = {0}, test = {0};
    row rows[MAX_BACKENDS];
    int nrows = 0, rc;
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
        ((v = cli_get(&args, "threads")) && (rc = parse_int("threads", v, 1, 1024, &c.threads))) ||
        ((v = cli_get(&args, "hidden")) && (rc = parse_int("hidden", v, 0, 1000000, &c.hidden))))
        return rc;
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
    static char names[MAX_BACKENDS][64];
    if (list) {
        for (const char *s = list; *s;) {
            const char *e = strchr(s, ',');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            if (nrows == MAX_BACKENDS || len == 0 || len >= sizeof names[0]) {
                fprintf(stderr, "lif bench: -backend %s: give at most %d names, comma-separated\n",
                        list, MAX_BACKENDS);
                return LIF_EXIT_USAGE;
            }
            memcpy(names[nrows], s, len);
            names[nrows][len] = '\0';
            if (!lif_backend_find(names[nrows])) {
                fprintf(stderr, "lif bench: -backend: unknown backend '%s' (known:", names[nrows]);
                for (size_t i = 0; i < nb; i++)
                    fprintf(stderr, " %s", bs[i]->name);
                fprintf(stderr, ")\n");
                return LIF_EXIT_USAGE;
            }
            rows[nrows] = (row){.name = names[nrows]};
            nrows++;
            s = e ? e + 1 : s + len;
        }
    } else {
        for (size_t i = 0; i < nb && nrows < MAX_BACKENDS; i++)
            rows[nrows++] = (row){.name = bs[i]->name};
    }

    /* the data: a real set, or synthetic images of a stated density */
    if (c.data) {
        if ((st = lif_data_open_dir(c.data, &train, &test)) != LIF_OK)
            return cli_fail("bench", st);
    } else {
        int n = c.B * c.batches;
        if ((st = bench_synth_images(&train, n, 28, 28, c.density, 1)) != LIF_OK ||
            (st = bench_synth_images(&test, n, 28, 28, c.density, 2)) != LIF_OK) {
            rc = cli_fail("bench", st);
            goto done;
        }
    }
    c.density = bench_mean_density(&train, 0);
    c.n_in = train.rows * train.cols;
    c.n_out = 10;

    /* the machine and its limits */
    machine m = {.cpu = lif_cpu_get()};
    if ((st = lif_roofline_measure(0.2, &m.roof)) != LIF_OK) {
        rc = cli_fail("bench", st);
        goto done;
    }
    m.peak_gflops = m.roof.gflops;
    int want = c.threads > 1 ? c.threads : m.cpu->logical_cpus;
    if (want > 1) {
        double g1 = 0, gn = 0;
        if (lif_roofline_fma_threads(1, 0.15, &g1) == LIF_OK &&
            lif_roofline_fma_threads(want, 0.15, &gn) == LIF_OK && g1 > 0) {
            m.scale_threads = want;
            m.scale = gn / g1;
            if (c.threads > 1)
                m.peak_gflops = m.roof.gflops * m.scale;
        }
    }

    /* nets and plans, then a warm-up step of each (untimed) */
    int ran = 0;
    for (int i = 0; i < nrows; i++) {
        row *r = &rows[i];
        const char *why;
        if (!lif_backend_available(lif_backend_find(r->name), &why)) {
            r->why = why;
            continue;
        }
        bench_e2e_cfg ec = {.backend = r->name, .T = c.T, .B = c.B, .threads = c.threads,
                            .hidden = c.hidden, .train = &train, .test = &test, .seed = 0};
        if ((st = bench_e2e_create(&ec, &r->e, &r->plan_bytes)) != LIF_OK ||
            (st = bench_e2e_train(r->e, 0)) != LIF_OK || (st = bench_e2e_infer(r->e, 0)) != LIF_OK) {
            rc = cli_fail("bench", st);
            goto done;
        }
        bench_e2e_kernels(r->e, r->kernels, sizeof r->kernels);
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "lif bench: none of the backends can run here:");
        for (int i = 0; i < nrows; i++)
            fprintf(stderr, " %s (%s)", rows[i].name, rows[i].why);
        fprintf(stderr, "\n");
        rc = LIF_EXIT_USAGE;
        goto done;
    }

    /* interleaved repetitions: rep 0 of every backend, then rep 1, ... */
    for (int k = 0; k < c.reps; k++)
        for (int i = 0; i < nrows; i++) {
            row *r = &rows[i];
            if (r->why)
                continue;
            long first = 1 + (long)k * c.batches;
            double t0 = lif_now();
            for (int j = 0; j < c.batches; j++)
                if ((st = bench_e2e_train(r->e, first + j)) != LIF_OK)
                    break;
            double t1 = lif_now();
            for (int j = 0; st == LIF_OK && j < c.batches; j++)
                st = bench_e2e_infer(r->e, first + j);
            double t2 = lif_now();
            if (st != LIF_OK) {
                rc = cli_fail("bench", st);
                goto done;
            }
            double imgs = (double)c.batches * c.B;
            r->train[k] = imgs / (t1 - t0);
            r->test[k] = imgs / (t2 - t1);
        }

    double scalar_train = 0, scalar_test = 0;
    for (int i = 0; i < nrows; i++) {
        row *r = &rows[i];
        if (r->why)
            continue;
        stats(r->train, c.reps, &r->train_med, &r->train_min, &r->train_max);
        stats(r->test, c.reps, &r->test_med, &r->test_min, &r->test_max);
        if (strcmp(r->name, "scalar") == 0) {
            scalar_train = r->train_med;
            scalar_test = r->test_med;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0;   /* Linux: kilobytes */
    int width = c.hidden ? c.hidden : c.n_out;
    double train_flops = 4.0 * c.T * ((double)c.n_in * width + (c.hidden ? (double)c.hidden * c.n_out : 0.0));

    /* the table */
    printf("lif bench: T %d, batch %d, %d -> ", c.T, c.B, c.n_in);
    if (c.hidden)
        printf("%d -> ", c.hidden);
    printf("%d, %s (spike density %.3f), %d reps x %d batches (%d images per figure), %d thread%s\n",
           c.n_out, c.data ? c.data : "synthetic images", c.density, c.reps, c.batches,
           c.batches * c.B, c.threads, c.threads > 1 ? "s" : "");
    printf("machine: %s (%s), isa %s (best %s), %d logical CPUs; one thread: %.1f GFLOP/s FMA (%s loop), "
           "%.1f GB/s copy\n", m.cpu->model, m.cpu->vendor, lif_isa_name(m.cpu->isa),
           lif_isa_name(m.cpu->best), m.cpu->logical_cpus, m.roof.gflops, m.roof.fma_loop,
           m.roof.copy_gbps);
    if (m.scale_threads) {
        printf("threads: %d together deliver %.2fx one thread's FMA throughput", m.scale_threads, m.scale);
        if (m.scale < 0.75 * m.scale_threads)
            printf(" — they do not scale: these logical CPUs share about %.0f core%s (a VM's vCPUs or "
                   "SMT siblings), so more threads will not make lif faster here",
                   m.scale < 1.5 ? 1.0 : floor(m.scale + 0.5), m.scale < 1.5 ? "" : "s");
        printf("\n");
    }
    printf("\n%-10s %11s %19s %8s %11s %19s %8s %7s %8s\n", "backend", "train img/s", "min-max",
           "x scalar", "test img/s", "min-max", "x scalar", "%roof", "plan MB");
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (r->why) {
            printf("%-10s skipped: %s\n", r->name, r->why);
            continue;
        }
        char tr[32], te[32], xr[16] = "-", xe[16] = "-";
        snprintf(tr, sizeof tr, "%.0f-%.0f", r->train_min, r->train_max);
        snprintf(te, sizeof te, "%.0f-%.0f", r->test_min, r->test_max);
        if (scalar_train > 0) {
            snprintf(xr, sizeof xr, "%.2f", r->train_med / scalar_train);
            snprintf(xe, sizeof xe, "%.2f", r->test_med / scalar_test);
        }
        printf("%-10s %11.1f %19s %8s %11.1f %19s %8s %6.2f%% %8.2f\n", r->name, r->train_med, tr, xr,
               r->test_med, te, xe, 100.0 * r->train_med * train_flops / (m.peak_gflops * 1e9),
               (double)r->plan_bytes / 1e6);
    }
    printf("\npeak resident memory %.1f MB (the whole process: data set, nets and plans of every backend)\n",
           rss_mb);
    printf("%%roof: training images/s x the dense work of one image (4*T*n_in*n_out FLOP: forward and\n"
           "weight gradient) over the FMA peak above; 100%% is the dense limit, event-driven kernels "
           "can pass it\n");
    for (int i = 0; i < nrows; i++)
        if (!rows[i].why)
            printf("kernels %s: %s\n", rows[i].name, rows[i].kernels);
    fflush(stdout);

    rc = LIF_EXIT_OK;
    if (json_path) {
        FILE *f = fopen(json_path, "w");
        if (!f) {
            fprintf(stderr, "lif bench: cannot write %s: %s\n", json_path, strerror(errno));
            rc = LIF_EXIT_FAIL;
            goto done;
        }
        write_json(f, &c, &m, rows, nrows, rss_mb, scalar_train, scalar_test);
        if (fclose(f) != 0) {
            fprintf(stderr, "lif bench: cannot write %s: %s\n", json_path, strerror(errno));
            rc = LIF_EXIT_FAIL;
        }
    }
done:
    for (int i = 0; i < nrows; i++)
        bench_e2e_destroy(rows[i].e);
    lif_dataset_free(&train);
    lif_dataset_free(&test);
    return rc;
}
