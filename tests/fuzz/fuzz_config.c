/* Recipe and run-option JSON (lif_recipe_from_json, lif_plan_opts_from_json,
 * what --config reads). A recipe that parses must pass its own check or be
 * refused by it, and print back to JSON that parses to the same recipe. */
#include "fuzz.h"
#include "lif/net.h"
#include "lif/recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    lif_recipe r;
    lif_recipe_default(&r);
    if (lif_recipe_from_json(&r, text, "fuzz.json") == LIF_OK) {
        const char *key = NULL;
        (void)lif_recipe_check(&r, &key);
        char *again = lif_recipe_to_json(&r);
        if (again) {
            lif_recipe r2;
            lif_recipe_default(&r2);
            if (lif_recipe_from_json(&r2, again, "again") != LIF_OK)
                abort(); /* lif's own JSON of a recipe it accepted does not parse */
            char *third = lif_recipe_to_json(&r2);
            if (!third || strcmp(third, again) != 0)
                abort(); /* not a fixed point */
            free(third);
            free(again);
        }
    }
    lif_plan_opts o;
    lif_plan_opts_default(&o);
    if (lif_plan_opts_from_json(&o, text, "fuzz.json") == LIF_OK) {
        const char *key = NULL;
        (void)lif_plan_opts_check(&o, &key);
        free(lif_plan_opts_to_json(&o));
    }
    free(text);
    return 0;
}
