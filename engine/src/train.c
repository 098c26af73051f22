/* Epochs: deterministic shuffling, batching, training and evaluation. */
#include <stdlib.h>
#include <string.h>

#include <Random123/philox.h>

#include "internal.h"

#define SHUFFLE_DOMAIN 2u

void lif_shuffle(uint32_t *perm, int n, uint32_t seed, uint32_t epoch)
{
    philox4x32_key_t key = {{seed, epoch}};
    for (int i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    /* Fisher-Yates from the last element; j = floor(u * (i + 1)) with u a
     * 64-bit fraction, so the bias is below 2^-32 for any n < 2^31. */
    for (int i = n - 1; i > 0; i--) {
        philox4x32_ctr_t ctr = {{(uint32_t)i, 0, 0, SHUFFLE_DOMAIN}};
        philox4x32_ctr_t r = philox4x32(ctr, key);
        uint64_t u = (uint64_t)r.v[0] << 32 | r.v[1];
        uint32_t j = (uint32_t)(((unsigned __int128)u * (uint64_t)(i + 1)) >> 64);
        uint32_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
}

/* Runs the batches of d in the order `order` (NULL: in order), from
 * part->samples on, adding each batch to *part. Polls the plan's stop
 * callback before every batch. */
static lif_status run_pass(lif_plan *plan, const lif_dataset *d, const uint32_t *order,
                           long n_samples, int train, uint32_t epoch, lif_epoch_part *part,
                           lif_progress_fn progress, void *ctx, lif_epoch_stats *out)
{
    const lif_net *net = plan->net;
    int B = plan->B;
    size_t px = (size_t)d->rows * d->cols;
    lif_status st = LIF_OK;
    if ((int)px != net->n_in)
        return lif_error(LIF_ERR_INVALID_ARG,
                         "%s: images of %dx%d = %zu pixels, the network takes %d inputs",
                         d->images_path, d->rows, d->cols, px, net->n_in);
    uint8_t *pixels = lif_alloc((size_t)B * px);
    uint8_t *labels = lif_alloc((size_t)B);
    uint32_t *ids = lif_alloc((size_t)B * sizeof *ids);
    if (!pixels || !labels || !ids) {
        st = lif_error(LIF_ERR_NOMEM, "out of memory for a batch");
        goto fail;
    }
    double t_start = lif_now() - part->seconds;
    while (part->samples < n_samples) {
        if (plan->stop && plan->stop(plan->stop_ctx)) {
            st = lif_error(LIF_ERR_CANCELLED, "stopped on request after %ld of %ld %s images",
                           part->samples, n_samples, train ? "training" : "test");
            goto fail;
        }
        long done = part->samples;
        int nb = n_samples - done < B ? (int)(n_samples - done) : B;
        for (int b = 0; b < nb; b++) {
            uint32_t id = order ? order[done + b] : (uint32_t)(done + b);
            ids[b] = id;
            labels[b] = d->labels[id];
            memcpy(pixels + (size_t)b * px, d->images + (size_t)id * px, px);
        }
        /* the next batch's images are scattered over the data set (a
         * shuffled order): ask for their cache lines now, so that they
         * arrive during this step instead of stalling the next gather */
        long next = part->samples + nb;
        for (long k = next; k < n_samples && k < next + B; k++) {
            const uint8_t *img = d->images + (size_t)(order ? order[k] : (uint32_t)k) * px;
            for (size_t off = 0; off < px; off += 64)
                __builtin_prefetch(img + off, 0, 1);
        }
        lif_batch bt = {.B = nb, .pixels = pixels, .labels = labels, .ids = ids,
                        .epoch = epoch, .domain = train ? 0u : 1u, .spikes = NULL};
        lif_result res;
        st = train ? lif_plan_train_batch(plan, &bt, &res) : lif_plan_forward(plan, &bt, &res);
        if (st != LIF_OK)
            goto fail;
        part->loss_sum += res.loss * nb;
        part->correct += res.correct;
        part->samples = done + nb;
        part->seconds = lif_now() - t_start;
        if (progress)
            progress(ctx, part->samples, n_samples, part->seconds,
                     part->loss_sum / (double)part->samples);
    }
    long done = part->samples;
    out->samples = done;
    out->loss = done ? part->loss_sum / done : 0.0;
    out->acc = done ? (double)part->correct / done : 0.0;
    out->seconds = lif_now() - t_start;
fail:
    lif_free(pixels);
    lif_free(labels);
    lif_free(ids);
    return st;
}

void lif_plan_set_stop(lif_plan *plan, int (*stop)(void *ctx), void *ctx)
{
    if (!plan)
        return;
    plan->stop = stop;
    plan->stop_ctx = ctx;
}

lif_status lif_train_epoch(lif_plan *plan, const lif_dataset *d, uint32_t epoch,
                           lif_progress_fn progress, void *ctx, lif_epoch_stats *out)
{
    lif_epoch_part part = {0};
    return lif_train_epoch_resume(plan, d, epoch, &part, progress, ctx, out);
}

lif_status lif_train_epoch_resume(lif_plan *plan, const lif_dataset *d, uint32_t epoch,
                                  lif_epoch_part *part, lif_progress_fn progress, void *ctx,
                                  lif_epoch_stats *out)
{
    const lif_recipe *r = &plan->net->r;
    long n = (long)d->n / plan->B * plan->B;   /* drop_last */
    if (n == 0)
        return lif_error(LIF_ERR_INVALID_ARG,
                         "%s: %d training images, fewer than one batch of %d", d->images_path,
                         d->n, plan->B);
    if (part->samples < 0 || part->samples > n || part->samples % plan->B != 0 ||
        part->correct < 0 || part->correct > part->samples || !(part->loss_sum >= 0.0) ||
        !(part->seconds >= 0.0))
        return lif_error(LIF_ERR_INVALID_ARG,
                         "epoch %u stopped after %ld samples (%ld correct), which is not whole "
                         "batches of %d within this data set's %ld", epoch, part->samples,
                         part->correct, plan->B, n);
    uint32_t *perm = malloc((size_t)d->n * sizeof *perm);
    if (!perm)
        return lif_error(LIF_ERR_NOMEM, "out of memory for the shuffle");
    lif_shuffle(perm, d->n, r->seed, epoch);
    lif_status st = run_pass(plan, d, perm, n, 1, epoch, part, progress, ctx, out);
    free(perm);
    return st;
}

lif_status lif_evaluate(lif_plan *plan, const lif_dataset *d, uint32_t epoch,
                        lif_progress_fn progress, void *ctx, lif_epoch_stats *out)
{
    if (d->n < 1)
        return lif_error(LIF_ERR_INVALID_ARG, "%s: no images to evaluate", d->images_path);
    lif_epoch_part part = {0};
    return run_pass(plan, d, NULL, d->n, 0, epoch, &part, progress, ctx, out);
}
