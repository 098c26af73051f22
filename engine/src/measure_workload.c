/* measure_workload.c — what the measurements run on (lif/measure.h): a real
 * IDX set, or synthetic images with MNIST-like structure at a chosen density.
 *
 * Real digit and clothing images are a blob of bright pixels on a zero
 * background; what a spiking kernel sees is how many pixels are nonzero and
 * how bright they are (the spike density is the mean of pixel/255). Each
 * image here gets exactly K nonzero pixels, the K nearest to a jittered
 * centre under an elliptic distance, with values spread around the mean
 * brightness that gives the density asked for. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lif/measure.h"

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s) { return (double)(splitmix(s) >> 11) * 0x1.0p-53; }

typedef struct ranked {
    double dist;
    int idx;
} ranked;

static int by_dist(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return x->dist < y->dist ? -1 : x->dist > y->dist ? 1 : x->idx - y->idx;
}

lif_status lif_workload_synth(lif_dataset *d, int n, int rows, int cols, double density,
                              uint32_t seed)
{
    if (n < 1 || rows < 1 || cols < 1 || !(density > 0.0 && density <= 1.0))
        return lif_error(LIF_ERR_INVALID_ARG,
                         "synthetic images: need n, rows, cols >= 1 and 0 < density <= 1, got "
                         "%d, %d, %d, %g", n, rows, cols, density);
    int npx = rows * cols;
    memset(d, 0, sizeof *d);
    d->images = malloc((size_t)n * (size_t)npx);
    d->labels = malloc((size_t)n);
    ranked *rk = malloc((size_t)npx * sizeof *rk);
    if (!d->images || !d->labels || !rk) {
        free(rk);
        lif_dataset_free(d);
        return lif_error(LIF_ERR_NOMEM, "synthetic images: out of memory for %d images", n);
    }
    d->n = n;
    d->rows = rows;
    d->cols = cols;
    d->n_classes = 10;
    snprintf(d->images_path, sizeof d->images_path, "synthetic (density %.2f)", density);
    snprintf(d->labels_path, sizeof d->labels_path, "synthetic");
    /* 60 % mean brightness of lit pixels, as in MNIST and Fashion-MNIST */
    double f = density / 0.6 < 1.0 ? density / 0.6 : 1.0;
    double m = density / f;                       /* mean of lit pixels, 0..1 */
    double w = (m < 1.0 - m ? m : 1.0 - m) * 0.9; /* half-width of their spread */
    int K = (int)lround(f * npx);
    if (K < 1)
        K = 1;
    uint64_t s = 0x5eed0000ull ^ seed;
    for (int k = 0; k < n; k++) {
        uint8_t *img = d->images + (size_t)k * npx;
        double cr = rows * (0.5 + 0.1 * (unif(&s) - 0.5)), cc = cols * (0.5 + 0.1 * (unif(&s) - 0.5));
        double ar = 0.7 + 0.8 * unif(&s);   /* aspect ratio of the blob */
        for (int i = 0; i < npx; i++) {
            double dr = (i / cols + 0.5 - cr) / ar, dc = (i % cols + 0.5 - cc);
            rk[i].dist = dr * dr + dc * dc + 0.5 * unif(&s);   /* ragged edge */
            rk[i].idx = i;
        }
        qsort(rk, (size_t)npx, sizeof *rk, by_dist);
        memset(img, 0, (size_t)npx);
        for (int j = 0; j < K; j++) {
            double v = (m + w * (2.0 * unif(&s) - 1.0)) * 255.0;
            long p = lround(v);
            img[rk[j].idx] = (uint8_t)(p < 1 ? 1 : p > 255 ? 255 : p);
        }
        d->labels[k] = (uint8_t)(splitmix(&s) % 10);
    }
    free(rk);
    return LIF_OK;
}

double lif_workload_density(const lif_dataset *d, int n)
{
    size_t npx = (size_t)d->rows * (size_t)d->cols;
    if (n <= 0 || n > d->n)
        n = d->n;
    double sum = 0.0;
    for (size_t i = 0; i < (size_t)n * npx; i++)
        sum += d->images[i];
    return n > 0 && npx > 0 ? sum / (255.0 * (double)n * (double)npx) : 0.0;
}

lif_status lif_workload_load(lif_workload *w, const char *data_dir, int n, double density)
{
    lif_status st;
    memset(w, 0, sizeof *w);
    if (data_dir) {
        st = lif_data_open_dir(data_dir, &w->train, &w->test);
    } else {
        w->synthetic = 1;
        if ((st = lif_workload_synth(&w->train, n, 28, 28, density, 1)) == LIF_OK)
            st = lif_workload_synth(&w->test, n, 28, 28, density, 2);
    }
    if (st != LIF_OK) {
        lif_workload_free(w);
        return st;
    }
    w->density = lif_workload_density(&w->train, 0);
    return LIF_OK;
}

void lif_workload_free(lif_workload *w)
{
    if (!w)
        return;
    lif_dataset_free(&w->train);
    lif_dataset_free(&w->test);
    memset(w, 0, sizeof *w);
}
