/* measure_time.c — warm-up, repeats and an interleaved schedule over
 * several tasks, and the median/min/max of the samples (lif/measure.h). */
#include <stdlib.h>
#include <string.h>

#include "lif/measure.h"
#include "lif/net.h"

/* Calls t->fn for i = first .. first+n-1; *seconds (optional) gets the wall
 * time of the lot. */
static lif_status calls(const lif_measure_task *t, long first, int n, double *seconds)
{
    lif_status st = LIF_OK;
    double t0 = lif_now();
    for (int j = 0; j < n && st == LIF_OK; j++)
        st = t->fn(t->ctx, first + j);
    if (seconds)
        *seconds = lif_now() - t0;
    return st;
}

lif_status lif_measure_run(const lif_measure_task *tasks, int ntasks,
                           const lif_measure_schedule *s, double *seconds)
{
    if (!tasks || ntasks < 1 || !s || !seconds)
        return lif_error(LIF_ERR_INVALID_ARG, "measure: no tasks, schedule or output");
    if (s->warmup < 0 || s->repeats < 1 || s->calls < 1)
        return lif_error(LIF_ERR_INVALID_ARG,
                         "measure: warm-up %d, repeats %d, calls %d (need >= 0, >= 1, >= 1)",
                         s->warmup, s->repeats, s->calls);
    for (int t = 0; t < ntasks; t++)
        if (!tasks[t].fn)
            return lif_error(LIF_ERR_INVALID_ARG, "measure: task %d has no function", t);
    lif_status st;
    if (s->interleaved) {
        for (int t = 0; t < ntasks; t++)
            if ((st = calls(&tasks[t], 0, s->warmup, NULL)) != LIF_OK)
                return st;
        /* repetition k starts at task 2k (mod ntasks), so that the first
         * place of a repetition, the one that meets the batches' images
         * cold in the caches (measured 15 % slower on Fashion-MNIST), goes
         * round the rows (a train and a test task each) instead of always
         * to the first row */
        for (int k = 0; k < s->repeats; k++)
            for (int j = 0; j < ntasks; j++) {
                int t = (int)(((long)j + 2L * k) % ntasks);
                if ((st = calls(&tasks[t], s->warmup + (long)k * s->calls, s->calls,
                                &seconds[(size_t)t * (size_t)s->repeats + (size_t)k])) != LIF_OK)
                    return st;
            }
        return LIF_OK;
    }
    for (int t = 0; t < ntasks; t++) {
        if ((st = calls(&tasks[t], 0, s->warmup, NULL)) != LIF_OK)
            return st;
        for (int k = 0; k < s->repeats; k++)
            if ((st = calls(&tasks[t], s->warmup + (long)k * s->calls, s->calls,
                            &seconds[(size_t)t * (size_t)s->repeats + (size_t)k])) != LIF_OK)
                return st;
    }
    return LIF_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

lif_status lif_measure_summarize(const double *v, int n, lif_measure_stats *out)
{
    if (!v || n < 1 || !out)
        return lif_error(LIF_ERR_INVALID_ARG, "measure: no values to summarize");
    double small[64];
    double *s = n <= 64 ? small : malloc((size_t)n * sizeof *s);
    if (!s)
        return lif_error(LIF_ERR_NOMEM, "measure: out of memory for %d values", n);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    out->median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    out->min = s[0];
    out->max = s[n - 1];
    if (s != small)
        free(s);
    return LIF_OK;
}

lif_status lif_measure_time(lif_measure_fn fn, void *ctx, int warmup, int repeats, int calls_,
                            lif_measure_stats *out)
{
    if (!out || repeats < 1)
        return lif_error(LIF_ERR_INVALID_ARG, "measure: no output, or repeats %d < 1", repeats);
    double *sec = malloc((size_t)repeats * sizeof *sec);
    if (!sec)
        return lif_error(LIF_ERR_NOMEM, "measure: out of memory for %d samples", repeats);
    lif_measure_task t = {fn, ctx};
    lif_measure_schedule s = {.warmup = warmup, .repeats = repeats, .calls = calls_,
                              .interleaved = 0};
    lif_status st = lif_measure_run(&t, 1, &s, sec);
    if (st == LIF_OK)
        st = lif_measure_summarize(sec, repeats, out);
    free(sec);
    return st;
}
