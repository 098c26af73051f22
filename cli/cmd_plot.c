/* lif plot — PNGs of a run folder through PLplot's pngcairo device:
 *
 *   curves.png    1000x560  train and test loss and accuracy per epoch (log.jsonl)
 *   spikes.png     900x520  the output layer's spikes for the first test image,
 *                           a raster time step x neuron (s_t_array.npy)
 *   membrane.png   900x520  its membrane potential as a heatmap with a colour bar
 *                           (v_t_array.npy)
 *   weights.png   1200x520  each output neuron's weights as an image, one panel
 *                           per class, one diverging colour scale (checkpoint_latest.lif)
 *   input.png     1100x520  the first test image and its Poisson spike train (the
 *                           data set, the checkpoint's seed and epoch)
 *
 * Every PNG is written to a temporary file and renamed (lif/atomic.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

typedef struct png_size {
    const char *name;
    int w, h;
} png_size;

/* The files and their sizes in pixels (README and tests state the same). */
static const png_size pngs[] = {
    {"curves.png", 1000, 560}, {"spikes.png", 900, 520}, {"membrane.png", 900, 520},
    {"weights.png", 1200, 520}, {"input.png", 1100, 520},
};

static const cli_flag plot_flags[] = {
    {"data-dir", FLAG_OPTION, "data-dir", "DIR", "the data set, for input.png (default: run.json's data_dir, else args.txt's)"},
    {NULL, 0, NULL, NULL, NULL},
};

static void plot_help(void)
{
    printf("usage: lif plot RUN_DIR [-data-dir DIR]\n\n"
           "Draws PNGs into RUN_DIR (a folder of lif train) with PLplot:\n");
    for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++)
        printf("  %-13s %dx%d\n", pngs[i].name, pngs[i].w, pngs[i].h);
    printf("from log.jsonl, s_t_array.npy, v_t_array.npy, checkpoint_latest.lif and the\n"
           "first test image of the data set.\n\nflags:\n");
    cli_print_flags(stdout, plot_flags);
}

#ifndef LIF_HAVE_PLPLOT

int cmd_plot(int argc, char **argv)
{
    cli_args args;
    int rc = cli_parse(argc > 0 && argv[0][0] != '-' ? argc - 1 : argc,
                       argc > 0 && argv[0][0] != '-' ? argv + 1 : argv, plot_flags, "plot", &args);
    if (rc == -1) {
        plot_help();
        return LIF_EXIT_OK;
    }
    fprintf(stderr, "lif plot: not supported: this lif was built without PLplot (libplplot-dev, "
                    "plplot-driver-cairo)\n");
    return LIF_EXIT_USAGE;
}

#else

#include <plplot.h>

#define NOTE 256 /* a line per PNG on stdout: what it shows */

/* ---- what a run folder holds ---- */

typedef struct run_data {
    const char *dir;
    int n_epochs;
    double *col[5];        /* train_loss, train_acc, test_loss, test_acc, epoch */
    lif_npy s, v;          /* [T, n] */
    int T, n;
    lif_net *net;
    lif_train_state ts;
    lif_dataset test;
    char data_dir[1024];
} run_data;

static void run_free(run_data *d)
{
    for (int k = 0; k < 5; k++)
        free(d->col[k]);
    lif_npy_free(&d->s);
    lif_npy_free(&d->v);
    lif_net_destroy(d->net);
    lif_dataset_free(&d->test);
}

static const char *path_in(const run_data *d, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", d->dir, name);
    return buf;
}

/* Reads log.jsonl: one object per epoch with the five numbers. */
static int read_log(run_data *d)
{
    static const char *const keys[5] = {"train_loss", "train_acc", "test_loss", "test_acc", "epoch"};
    char path[4200];
    path_in(d, "log.jsonl", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "lif plot: %s: cannot open: %s\n", path, strerror(errno));
        return LIF_EXIT_USAGE;
    }
    char line[4096];
    int cap = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        if (d->n_epochs == cap) {
            cap = cap ? 2 * cap : 64;
            for (int k = 0; k < 5; k++) {
                double *nc = realloc(d->col[k], (size_t)cap * sizeof *nc);
                if (!nc) {
                    json_decref(j);
                    fclose(f);
                    fprintf(stderr, "lif plot: out of memory reading %s\n", path);
                    return LIF_EXIT_FAIL;
                }
                d->col[k] = nc;
            }
        }
        for (int k = 0; k < 5 && rc == 0; k++) {
            json_t *v = json_object_get(j, keys[k]);
            if (!json_is_number(v) || !isfinite(json_number_value(v))) {
                if (!j)
                    fprintf(stderr, "lif plot: %s: line %d: not JSON: %s\n", path,
                            d->n_epochs + 1, je.text);
                else
                    fprintf(stderr, "lif plot: %s: line %d lacks a finite \"%s\" (a log of lif "
                                    "train has epoch, train_loss, train_acc, test_loss, test_acc)\n",
                            path, d->n_epochs + 1, keys[k]);
                rc = LIF_EXIT_USAGE;
            } else {
                d->col[k][d->n_epochs] = json_number_value(v);
            }
        }
        json_decref(j);
        if (rc)
            break;
        d->n_epochs++;
    }
    fclose(f);
    if (rc == 0 && d->n_epochs == 0) {
        fprintf(stderr, "lif plot: %s: no epochs logged\n", path);
        rc = LIF_EXIT_USAGE;
    }
    return rc;
}

static int read_trace(run_data *d, const char *name, lif_npy *a)
{
    char path[4200];
    lif_status st = lif_npy_read(path_in(d, name, path, sizeof path), a);
    if (st != LIF_OK)
        return cli_fail_input("plot", st);
    if (a->ndim != 2 || a->shape[0] < 1 || a->shape[1] < 1 || a->shape[0] > 1000000 ||
        a->shape[1] > 4096) {
        fprintf(stderr, "lif plot: %s: expected a [T, neurons] array, got %d dimensions\n", path,
                a->ndim);
        return LIF_EXIT_USAGE;
    }
    for (size_t i = 0; i < a->count; i++)
        if (!isfinite(a->data[i])) {
            fprintf(stderr, "lif plot: %s: element %zu is not finite\n", path, i);
            return LIF_EXIT_USAGE;
        }
    return 0;
}

/* The data folder of the run: run.json's "data_dir", else args.txt's
 * data_dir='...'; "" when neither says. */
static void run_data_dir(run_data *d)
{
    char path[4200];
    d->data_dir[0] = '\0';
    json_t *j = json_load_file(path_in(d, "run.json", path, sizeof path), 0, NULL);
    const char *s = json_string_value(json_object_get(j, "data_dir"));
    if (s)
        snprintf(d->data_dir, sizeof d->data_dir, "%s", s);
    json_decref(j);
    if (d->data_dir[0])
        return;
    FILE *f = fopen(path_in(d, "args.txt", path, sizeof path), "r");
    char line[8192];
    if (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "data_dir='");
        if (p) {
            p += strlen("data_dir='");
            char *q = strchr(p, '\'');
            if (q)
                snprintf(d->data_dir, sizeof d->data_dir, "%.*s", (int)(q - p), p);
        }
    }
    if (f)
        fclose(f);
}

static int load_run(run_data *d, const char *data_dir)
{
    static const char *const need[] = {"log.jsonl", "s_t_array.npy", "v_t_array.npy",
                                       "checkpoint_latest.lif"};
    char path[4200];
    struct stat sb;
    if (stat(d->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "lif plot: %s: not a folder (give the run folder lif train wrote)\n", d->dir);
        return LIF_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (stat(path_in(d, need[i], path, sizeof path), &sb) != 0) {
            fprintf(stderr, "lif plot: %s: missing (a run folder of lif train holds log.jsonl, "
                            "s_t_array.npy, v_t_array.npy and checkpoint_latest.lif)\n", path);
            return LIF_EXIT_USAGE;
        }
    int rc;
    if ((rc = read_log(d)) != 0 || (rc = read_trace(d, "s_t_array.npy", &d->s)) != 0 ||
        (rc = read_trace(d, "v_t_array.npy", &d->v)) != 0)
        return rc;
    if (d->s.shape[0] != d->v.shape[0] || d->s.shape[1] != d->v.shape[1]) {
        fprintf(stderr, "lif plot: %s: s_t_array.npy is [%zu, %zu], v_t_array.npy [%zu, %zu]: not "
                        "the same run\n", d->dir, d->s.shape[0], d->s.shape[1], d->v.shape[0],
                d->v.shape[1]);
        return LIF_EXIT_USAGE;
    }
    d->T = (int)d->s.shape[0];
    d->n = (int)d->s.shape[1];
    lif_status st = lif_net_load(path_in(d, "checkpoint_latest.lif", path, sizeof path), &d->net,
                                 &d->ts);
    if (st != LIF_OK)
        return cli_fail_input("plot", st);
    if (data_dir)
        snprintf(d->data_dir, sizeof d->data_dir, "%s", data_dir);
    else
        run_data_dir(d);
    if (!d->data_dir[0]) {
        fprintf(stderr, "lif plot: %s: neither run.json nor args.txt names the data set; give "
                        "-data-dir DIR (for input.png)\n", d->dir);
        return LIF_EXIT_USAGE;
    }
    if ((st = lif_data_open_dir(d->data_dir, NULL, &d->test)) != LIF_OK) {
        fprintf(stderr, "lif plot: the run's data set (for input.png): %s: %s (give -data-dir DIR)\n",
                lif_status_str(st), lif_last_error());
        return LIF_EXIT_USAGE;
    }
    lif_layer_view first;
    lif_net_layer(d->net, 0, &first);
    if (first.n_in != d->test.rows * d->test.cols) {
        fprintf(stderr, "lif plot: %s: images of %dx%d, the checkpoint's network takes %d inputs\n",
                d->test.images_path, d->test.rows, d->test.cols, first.n_in);
        return LIF_EXIT_USAGE;
    }
    return 0;
}

/* ---- drawing ---- */

enum { C_BG, C_FG, C_BLUE, C_ORANGE, C_GREY, C_RED, C_N };

static int png_begin(const char *dir, const png_size *ps, lif_atomic_file *af)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, ps->name);
    lif_status st = lif_atomic_open(path, af);
    if (st != LIF_OK)
        return cli_fail("plot", st);
    plsdev("pngcairo");
    plsfnam(af->tmp);
    plspage(0, 0, ps->w, ps->h, 0, 0);
    plscmap0n(C_N);
    plscol0(C_BG, 255, 255, 255);
    plscol0(C_FG, 0, 0, 0);
    plscol0(C_BLUE, 31, 119, 180);
    plscol0(C_ORANGE, 230, 120, 10);
    plscol0(C_GREY, 190, 190, 190);
    plscol0(C_RED, 200, 30, 30);
    plinit();
    pladv(0);
    plcol0(C_FG);
    plschr(0, 1.0);
    return 0;
}

static int png_end(lif_atomic_file *af)
{
    plend();
    lif_status st = lif_atomic_commit(af);
    return st == LIF_OK ? 0 : cli_fail("plot", st);
}

/* cmap1: 0 diverging blue-white-red, 1 grey black-to-white, 2 white-to-black. */
static void colour_map(int which)
{
    PLFLT pos[3] = {0.0, 0.5, 1.0}, r[3], g[3], b[3];
    if (which == 0) {
        PLFLT rr[3] = {0.13, 1.0, 0.70}, gg[3] = {0.40, 1.0, 0.09}, bb[3] = {0.67, 1.0, 0.17};
        memcpy(r, rr, sizeof r);
        memcpy(g, gg, sizeof g);
        memcpy(b, bb, sizeof b);
    } else {
        PLFLT lo = which == 1 ? 0.0 : 1.0, hi = 1.0 - lo;
        for (int i = 0; i < 3; i++)
            r[i] = g[i] = b[i] = lo + (hi - lo) * pos[i];
    }
    plscmap1n(256);
    plscmap1l(1, 3, pos, r, g, b, NULL);
}

/* An nx x ny matrix for plimage (rows of PLFLT pointers). */
static PLFLT **matrix(int nx, int ny)
{
    PLFLT **m = malloc((size_t)nx * sizeof *m + (size_t)nx * ny * sizeof **m);
    if (!m)
        return NULL;
    PLFLT *cell = (PLFLT *)(m + nx);
    for (int i = 0; i < nx; i++)
        m[i] = cell + (size_t)i * ny;
    return m;
}

/* Draws an nx x ny image over [xmin, xmax] x [ymin, ymax], colours scaled
 * from zmin to zmax (plimage would scale them to the data's own range). */
static void image(PLFLT **m, int nx, int ny, PLFLT xmin, PLFLT xmax, PLFLT ymin, PLFLT ymax,
                  PLFLT zmin, PLFLT zmax)
{
    plimagefr((PLFLT_MATRIX)m, nx, ny, xmin, xmax, ymin, ymax, zmin, zmax, zmin, zmax, NULL, NULL);
}

/* A vertical colour bar in the viewport given, for values zmin..zmax. */
static void colour_bar(PLFLT x0, PLFLT x1, PLFLT y0, PLFLT y1, PLFLT zmin, PLFLT zmax,
                       const char *label)
{
    PLFLT **g = matrix(2, 256);
    if (!g)
        return;
    for (int j = 0; j < 256; j++)
        g[0][j] = g[1][j] = zmin + (zmax - zmin) * (j + 0.5) / 256;
    plvpor(x0, x1, y0, y1);
    plwind(0, 1, zmin, zmax);
    image(g, 2, 256, 0, 1, zmin, zmax, zmin, zmax);
    plcol0(C_FG);
    plbox("bc", 0, 0, "bcmstv", 0, 0);
    plmtex("r", 5.2, 0.5, 0.5, label);
    free(g);
}

static void legend2(const char *a, const char *b, int top)
{
    PLINT opt[2] = {PL_LEGEND_LINE | PL_LEGEND_SYMBOL, PL_LEGEND_LINE | PL_LEGEND_SYMBOL};
    PLINT tcol[2] = {C_FG, C_FG}, lcol[2] = {C_BLUE, C_ORANGE}, lsty[2] = {1, 2};
    PLFLT lw[2] = {2.0, 2.0}, ss[2] = {1.0, 1.0};
    PLINT sn[2] = {1, 1};
    const char *text[2] = {a, b}, *sym[2] = {"●", "■"};
    PLFLT w, h;
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_RIGHT | (top ? PL_POSITION_TOP : PL_POSITION_BOTTOM) | PL_POSITION_INSIDE,
             0.02, 0.04, 0.12,
             C_BG, C_FG, 1, 0, 0, 2, opt, 1.0, 0.9, 2.0, 0.0, tcol, text, NULL, NULL, NULL, NULL,
             lcol, lsty, lw, lcol, ss, sn, sym);
}

/* One panel of the curves: two series over the epochs. */
static void curve_panel(const run_data *d, PLFLT vx0, PLFLT vx1, const double *a, const double *b,
                        double scale, const char *ylab, const char *title, int from_zero,
                        int legend_top)
{
    int n = d->n_epochs;
    PLFLT *x = malloc(sizeof *x * (size_t)n), *ya = malloc(sizeof *ya * (size_t)n),
          *yb = malloc(sizeof *yb * (size_t)n);
    if (!x || !ya || !yb) {
        free(x);
        free(ya);
        free(yb);
        return;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        x[i] = d->col[4][i];
        ya[i] = a[i] * scale;
        yb[i] = b[i] * scale;
        lo = fmin(lo, fmin(ya[i], yb[i]));
        hi = fmax(hi, fmax(ya[i], yb[i]));
    }
    double pad = (hi - lo) * 0.1 + fabs(hi) * 0.02 + 1e-9;
    lo = from_zero ? 0.0 : lo - pad;
    hi += pad;
    double xlo = x[0] - 0.5, xhi = x[n - 1] + 0.5;
    plvpor(vx0, vx1, 0.14, 0.86);
    plwind(xlo, xhi, lo, hi);
    plcol0(C_GREY);
    plbox("g", n > 12 ? 0 : 1, 0, "g", 0, 0);
    plcol0(C_FG);
    plbox("bcnst", n > 12 ? 0 : 1, 0, "bcnstv", 0, 0);
    pllab("epoch", ylab, title);
    plwidth(2.0);
    plcol0(C_BLUE);
    pllsty(1);
    plline(n, x, ya);
    plstring(n, x, ya, "●");
    plcol0(C_ORANGE);
    pllsty(2);
    plline(n, x, yb);
    plstring(n, x, yb, "■");
    pllsty(1);
    plwidth(1.0);
    plcol0(C_FG);
    legend2("train", "test", legend_top);
    free(x);
    free(ya);
    free(yb);
}

static int plot_curves(const run_data *d, const png_size *ps, char *note)
{
    lif_atomic_file af;
    int rc = png_begin(d->dir, ps, &af);
    if (rc)
        return rc;
    const lif_recipe *r = lif_net_recipe(d->net);
    const char *loss = r->loss == LIF_LOSS_CE ? "cross-entropy (rates as logits)"
                                              : "MSE (firing rate vs one-hot)";
    curve_panel(d, 0.12, 0.48, d->col[0], d->col[2], 1.0, loss, "Loss per epoch", 1, 1);
    curve_panel(d, 0.61, 0.97, d->col[1], d->col[3], 100.0, "accuracy (%)",
                "Accuracy per epoch", 0, 0);
    snprintf(note, NOTE, "%d epoch%s, last test_acc %.4f", d->n_epochs, d->n_epochs > 1 ? "s" : "",
             d->col[3][d->n_epochs - 1]);
    return png_end(&af);
}

/* The neuron with most spikes (the lowest on a tie), and its count. */
static int most_spikes(const run_data *d, int *count)
{
    int best = 0, bc = -1;
    for (int o = 0; o < d->n; o++) {
        int c = 0;
        for (int t = 0; t < d->T; t++)
            c += d->s.data[(size_t)t * d->n + o] != 0;
        if (c > bc) {
            bc = c;
            best = o;
        }
    }
    *count = bc;
    return best;
}

static int plot_spikes(const run_data *d, const png_size *ps, char *note)
{
    lif_atomic_file af;
    int rc = png_begin(d->dir, ps, &af);
    if (rc)
        return rc;
    int count, best = most_spikes(d, &count), total = 0;
    plvpor(0.09, 0.95, 0.13, 0.86);
    plwind(-0.5, d->T - 0.5, -0.5, d->n - 0.5);
    plcol0(C_BLUE);
    for (int t = 0; t < d->T; t++)
        for (int o = 0; o < d->n; o++)
            if (d->s.data[(size_t)t * d->n + o] != 0) {
                double hw = d->T > 200 ? 0.5 : 0.4;
                PLFLT x[4] = {t - hw, t + hw, t + hw, t - hw}, y[4] = {o - 0.35, o - 0.35, o + 0.35, o + 0.35};
                plfill(4, x, y);
                total++;
            }
    plcol0(C_FG);
    plbox("bcnst", 0, 0, "bcnstv", d->n <= 20 ? 1 : 0, 0);
    char title[256];
    snprintf(title, sizeof title, "Output spikes, first test image (label %d): %d spikes, most from "
                                  "neuron %d (%d)", d->test.labels[0], total, best, count);
    pllab("time step t (0 to T-1)", "output neuron (class)", title);
    snprintf(note, NOTE, "%d output spikes over %d steps, most from neuron %d (%d); label %d", total,
             d->T, best, count, d->test.labels[0]);
    return png_end(&af);
}

static int plot_membrane(const run_data *d, const png_size *ps, char *note)
{
    lif_atomic_file af;
    int rc = png_begin(d->dir, ps, &af);
    if (rc)
        return rc;
    PLFLT **m = matrix(d->T, d->n);
    if (!m) {
        lif_atomic_abort(&af);
        plend();
        return cli_fail("plot", lif_error(LIF_ERR_NOMEM, "out of memory for membrane.png"));
    }
    double a = 1e-6;
    for (int t = 0; t < d->T; t++)
        for (int o = 0; o < d->n; o++) {
            m[t][o] = d->v.data[(size_t)t * d->n + o];
            a = fmax(a, fabs(m[t][o]));
        }
    colour_map(0);
    plvpor(0.09, 0.82, 0.13, 0.86);
    plwind(-0.5, d->T - 0.5, -0.5, d->n - 0.5);
    image(m, d->T, d->n, -0.5, d->T - 0.5, -0.5, d->n - 0.5, -a, a);
    plcol0(C_FG);
    plbox("bcnst", 0, 0, "bcnstv", d->n <= 20 ? 1 : 0, 0);
    char title[160];
    snprintf(title, sizeof title, "Membrane potential V after reset, first test image (V#dth#u = %g)",
             (double)lif_net_recipe(d->net)->neuron.v_threshold);
    pllab("time step t (0 to T-1)", "output neuron (class)", title);
    colour_bar(0.86, 0.885, 0.13, 0.86, -a, a, "V (recipe units)");
    snprintf(note, NOTE, "V of %d neurons over %d steps, colour scale -%.3g to %.3g", d->n, d->T, a, a);
    free(m);
    return png_end(&af);
}

static int plot_weights(const run_data *d, const png_size *ps, char *note)
{
    int L = lif_net_layers(d->net), rows = d->test.rows, cols = d->test.cols;
    lif_layer_view v;
    lif_net_layer(d->net, 0, &v);  /* the output layer's when L is 1, else the first hidden */
    int panels = v.n_out < 10 ? v.n_out : 10;
    lif_atomic_file af;
    int rc = png_begin(d->dir, ps, &af);
    if (rc)
        return rc;
    double a = 1e-9;
    for (size_t i = 0; i < (size_t)panels * v.n_in; i++)
        a = fmax(a, fabs(v.w[i]));
    PLFLT **m = matrix(cols, rows);
    if (!m) {
        plend();
        lif_atomic_abort(&af);
        return cli_fail("plot", lif_error(LIF_ERR_NOMEM, "out of memory for weights.png"));
    }
    colour_map(0);
    /* 2 rows of 5 square panels, sized in pixels so they stay square */
    double side = 180, gap_x = 24, left = 40, top = 80, gap_y = 50;
    for (int k = 0; k < panels; k++) {
        int pr = k / 5, pc = k % 5;
        double x0 = left + pc * (side + gap_x), y0 = top + pr * (side + gap_y);
        plvpor(x0 / ps->w, (x0 + side) / ps->w, 1 - (y0 + side) / ps->h, 1 - y0 / ps->h);
        plwind(0, cols, 0, rows);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                m[c][rows - 1 - r] = v.w[(size_t)k * v.n_in + (size_t)r * cols + c];
        image(m, cols, rows, 0, cols, 0, rows, -a, a);
        plcol0(C_FG);
        plbox("bc", 0, 0, "bc", 0, 0);
        char t[64];
        snprintf(t, sizeof t, L == 1 ? "class %d" : "hidden unit %d", k);
        plmtex("t", 0.6, 0.5, 0.5, t);
    }
    free(m);
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    plptex(0.5, 1 - 32.0 / ps->h, 1, 0, 0.5,
           L == 1 ? "Weights of each output neuron (layer.1.weight), pixel by pixel"
                  : "First-layer weights of hidden units 0-9 (layer.1.weight), pixel by pixel");
    double bx = left + 5 * (side + gap_x) + 20;
    colour_bar(bx / ps->w, (bx + 18) / ps->w, 1 - (top + 2 * side + gap_y) / ps->h, 1 - top / ps->h,
               -a, a, "weight (blue < 0 < red)");
    snprintf(note, NOTE, "%d panels of %dx%d (%s), colour scale -%.3g to %.3g", panels, rows, cols,
             L == 1 ? "output neurons" : "first-layer hidden units", a, a);
    return png_end(&af);
}

/* The first test image's Poisson spikes [T][n_in] as 0/1 bytes: the scalar
 * encoder with the checkpoint's seed and epoch, as lif train's final trace. */
static uint8_t *input_spikes(const run_data *d, int T, int n_in)
{
    const lif_backend_i *sc = lif_backend_find("scalar");
    const lif_kernel_i *enc = NULL;
    for (size_t k = 0; sc && k < sc->n_kernels && !enc; k++)
        if (sc->kernels[k].op == LIF_OP_ENCODE)
            enc = &sc->kernels[k];
    size_t ld = ((size_t)(n_in + 63) / 64 + 7) / 8 * 8;
    uint64_t *bits = enc ? aligned_alloc(64, (size_t)T * ld * sizeof *bits) : NULL;
    uint8_t *out = malloc((size_t)T * n_in);
    uint32_t id = 0;
    lif_ctx ctx = {.nthreads = 1};
    lif_encode_args e = {.pixels = d->test.images, .ids = &id, .B = 1, .n_in = n_in, .t0 = 0,
                         .Tc = T, .key = {lif_net_recipe(d->net)->seed,
                                          (uint32_t)(d->ts.epoch < 0 ? 0 : d->ts.epoch)},
                         .domain = 1, .dst = bits, .ld = ld, .dst_tstride = 0};
    if (!bits || !out || enc->run.encode(&ctx, &e) != LIF_OK) {
        free(bits);
        free(out);
        return NULL;
    }
    for (int t = 0; t < T; t++)
        for (int i = 0; i < n_in; i++)
            out[(size_t)t * n_in + i] = (uint8_t)(bits[(size_t)t * ld + i / 64] >> (i % 64) & 1);
    free(bits);
    return out;
}

static int plot_input(const run_data *d, const png_size *ps, char *note)
{
    int rows = d->test.rows, cols = d->test.cols, n_in = rows * cols, T = d->T;
    uint8_t *sp = input_spikes(d, T, n_in);
    PLFLT **img = matrix(cols, rows), **ras = matrix(T, n_in);
    if (!sp || !img || !ras) {
        free(sp);
        free(img);
        free(ras);
        return cli_fail("plot", lif_error(LIF_ERR_NOMEM, "out of memory for input.png"));
    }
    lif_atomic_file af;
    int rc = png_begin(d->dir, ps, &af);
    if (rc) {
        free(sp);
        free(img);
        free(ras);
        return rc;
    }
    long spikes = 0;
    /* plimage's y grows upwards: row 0 and pixel 0 go on top, and the axes
     * are then drawn in a window that counts downwards */
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            img[c][rows - 1 - r] = d->test.images[(size_t)r * cols + c];
    for (int t = 0; t < T; t++)
        for (int i = 0; i < n_in; i++) {
            ras[t][n_in - 1 - i] = sp[(size_t)t * n_in + i];
            spikes += sp[(size_t)t * n_in + i];
        }
    /* the image, square, grey: 0 black, 255 white */
    double side = 360, left = 60, top = 80;
    colour_map(1);
    plvpor(left / ps->w, (left + side) / ps->w, 1 - (top + side) / ps->h, 1 - top / ps->h);
    plwind(0, cols, 0, rows);
    image(img, cols, rows, 0, cols, 0, rows, 0, 255);
    plwind(0, cols, rows, 0);
    plcol0(C_FG);
    plbox("bcnst", 7, 0, "bcnstv", 7, 0);
    char t[160];
    snprintf(t, sizeof t, "First test image (label %d)", d->test.labels[0]);
    pllab("column (pixel)", "row (pixel)", t);
    /* its spikes: pixel index x time step, black = spike */
    colour_map(2);
    plvpor(0.50, 0.96, 1 - (top + side) / ps->h, 1 - top / ps->h);
    plwind(-0.5, T - 0.5, -0.5, n_in - 0.5);
    image(ras, T, n_in, -0.5, T - 0.5, -0.5, n_in - 0.5, 0, 1);
    plwind(-0.5, T - 0.5, n_in - 0.5, -0.5);
    plcol0(C_FG);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    snprintf(t, sizeof t, "Its Poisson spike train: %ld spikes (seed %u, epoch %d)", spikes,
             lif_net_recipe(d->net)->seed, d->ts.epoch < 0 ? 0 : d->ts.epoch);
    pllab("time step t (0 to T-1)", "input pixel (row-major index)", t);
    snprintf(note, NOTE, "first test image (label %d), %ld input spikes over %d steps (seed %u, "
                         "epoch %d)", d->test.labels[0], spikes, T, lif_net_recipe(d->net)->seed,
             d->ts.epoch < 0 ? 0 : d->ts.epoch);
    free(sp);
    free(img);
    free(ras);
    return png_end(&af);
}

/* 1 if PLplot has the pngcairo device (plplot-driver-cairo). */
static int have_pngcairo(void)
{
    const char *menu_a[128], *names_a[128], **menu = menu_a, **names = names_a;
    int n = 128;  /* in: room in the arrays; out: the devices */
    plgDevs(&menu, &names, &n);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], "pngcairo") == 0)
            return 1;
    return 0;
}

int cmd_plot(int argc, char **argv)
{
    cli_args args;
    const char *dir = NULL;
    if (argc > 0 && argv[0][0] != '-') {
        dir = argv[0];
        argc--;
        argv++;
    }
    int rc = cli_parse(argc, argv, plot_flags, "plot", &args);
    if (rc == -1) {
        plot_help();
        return LIF_EXIT_OK;
    }
    if (rc)
        return rc;
    if (!dir) {
        fprintf(stderr, "lif plot: a run folder is required (lif plot RUN_DIR)\n");
        return LIF_EXIT_USAGE;
    }
    if (!have_pngcairo()) {
        fprintf(stderr, "lif plot: not supported: PLplot has no pngcairo device (install "
                        "plplot-driver-cairo)\n");
        return LIF_EXIT_USAGE;
    }
    run_data d = {0};
    char notes[5][NOTE] = {{0}};
    d.dir = dir;
    if ((rc = load_run(&d, cli_get(&args, "data-dir"))) == 0)
        rc = plot_curves(&d, &pngs[0], notes[0]);
    if (rc == 0)
        rc = plot_spikes(&d, &pngs[1], notes[1]);
    if (rc == 0)
        rc = plot_membrane(&d, &pngs[2], notes[2]);
    if (rc == 0)
        rc = plot_weights(&d, &pngs[3], notes[3]);
    if (rc == 0)
        rc = plot_input(&d, &pngs[4], notes[4]);
    if (rc == 0)
        for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++)
            printf("%s/%s: %s\n", dir, pngs[i].name, notes[i]);
    run_free(&d);
    return rc;
}

#endif
