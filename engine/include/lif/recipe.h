/* lif/recipe.h — the recipe: network, neuron, loss, optimizer, schedule.
 *
 * A recipe describes the model and its training, and is what checkpoints
 * store. How to run it (backend, threads, time chunk) is not in it: that is
 * lif_plan_opts (lif/net.h). A recipe comes from lif_recipe_default(),
 * optionally a JSON file (configs/lif_fc_mnist.json is the reference
 * recipe), then single keys; the later source overrides the earlier one
 * field by field. Messages name fields by their key ("T", "lr"); the
 * library knows no command-line spellings. */
#ifndef LIF_RECIPE_H
#define LIF_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "lif/backend.h"
#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LIF_MAX_HIDDEN 8

typedef struct lif_recipe {
    /* schedule */
    int T;                 /* time steps per sample, >= 1 (100) */
    int batch;             /* >= 1 (64) */
    int epochs;            /* >= 1 (100) */
    uint32_t seed;         /* (0) */
    /* network: n_in -> hidden[0] -> ... -> n_classes, Linear then LIF each */
    int n_hidden;          /* number of hidden layers (0) */
    int hidden[LIF_MAX_HIDDEN];
    int bias;              /* 0: Linear without bias (reference) */
    lif_neuron neuron;     /* tau 2, v_th 1, v_reset 0, hard, decay_input 1,
                              detach_reset 0, ATan alpha 2 */
    lif_loss_kind loss;    /* MSE */
    /* optimizer */
    lif_opt_kind opt;      /* Adam */
    double lr;             /* > 0 (1e-3) */
    double momentum;       /* SGD momentum, 0 <= m < 1 (0.9) */
    double beta1, beta2, eps;  /* Adam (0.9, 0.999, 1e-8) */
} lif_recipe;

/* The reference recipe (values in the comments above). */
void lif_recipe_default(lif_recipe *r);

/* Checks every field; on failure the detail starts with the key at fault
 * ("T must be >= 1, got 0"). Returns LIF_OK or LIF_ERR_INVALID_ARG. */
lif_status lif_recipe_validate(const lif_recipe *r);

/* lif_recipe_validate, and on failure *key (if key is not NULL) gets the
 * key at fault (static text), so a caller can name it in its own words. */
lif_status lif_recipe_check(const lif_recipe *r, const char **key);

/* Applies the fields present in a JSON object text to *r (others keep their
 * value). Unknown keys and wrong types are errors naming the key. The keys
 * of lif_plan_opts (see lif_plan_opts_key) may appear too and are skipped
 * here (a config file holds both; checkpoints of lif 0.1 stored them).
 * Returns LIF_OK, LIF_ERR_FORMAT, LIF_ERR_INVALID_ARG. */
lif_status lif_recipe_from_json(lif_recipe *r, const char *json, const char *what);

/* Same, reading the file at path. Adds LIF_ERR_IO. */
lif_status lif_recipe_load(lif_recipe *r, const char *path);

/* The whole recipe as a JSON object text (malloc'd, caller frees), keys
 * sorted; lif_recipe_from_json(lif_recipe_to_json(r)) gives r back.
 * Returns NULL on allocation failure. */
char *lif_recipe_to_json(const lif_recipe *r);

/* Sets one field from a textual value, by the key used in JSON files
 * ("T", "batch", "lr", "tau", "v_reset" (a number or "none"), "hidden"
 * ("400" or "400,200" or "" for none), "surrogate" ("atan"|"sigmoid"),
 * "loss" ("mse"|"ce"), "opt" ("adam"|"sgd"), ...). The detail of an error
 * names `flag` (what the user typed) and the bad value. Setting "surrogate"
 * also resets alpha to that surrogate's default (ATan 2, Sigmoid 4), as a JSON
 * object without "alpha" does; apply -alpha after -surrogate.
 * Returns LIF_OK, LIF_ERR_INVALID_ARG, LIF_ERR_NOT_FOUND (unknown key). */
lif_status lif_recipe_set(lif_recipe *r, const char *key, const char *value,
                          const char *flag);

/* 1 if key names a plan option, not a recipe field ("backend", "threads",
 * "Tc", "workers", ...): lif_recipe_from_json skips those. */
int lif_recipe_is_option_key(const char *key);

/* The output directory name of the reference script: "T{T}_b{b}_{opt}_lr{lr}"
 * with lr printed as Python prints a float (1e-3 -> "0.001"). */
void lif_recipe_run_name(const lif_recipe *r, char *buf, size_t size);

/* The i-th key accepted by lif_recipe_set() and JSON files, in the order
 * they are applied; NULL when i is past the last one. */
const char *lif_recipe_key(size_t i);

#ifdef __cplusplus
}
#endif
#endif
