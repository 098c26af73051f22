/* Wisdom files (lif_wisdom_parse, what lif train, eval and info read from
 * $LIF_WISDOM or ~/.cache/lif/wisdom.json). The first byte picks how the
 * rest is read: even, against this machine's fingerprint (as the commands
 * read it: most inputs stop at the fingerprint); odd, taking any
 * fingerprint, so the entries behind it are reached. A file that parses
 * must save, read back with its own fingerprint to the same entries, and
 * answer a lookup. */
#include <math.h>

#include "fuzz.h"
#include "lif/autotune.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    lif_fingerprint here;
    lif_fingerprint_here(&here);
    lif_wisdom w;
    lif_status st = lif_wisdom_parse((const char *)data + 1, size - 1, "fuzz.json",
                                     data[0] % 2 ? NULL : &here, &w);
    fuzz_debug("wisdom", st);
    if (st != LIF_OK) {
        if (w.n != 0 || w.e)
            abort(); /* a refused file imported something */
        if (strchr(lif_last_error(), '\n'))
            abort(); /* the reason is not one line */
        return 0;
    }
    const char *path = fuzz_file("wisdom", "", 0);
    if (lif_wisdom_save(path, &w) != LIF_OK)
        abort(); /* what was read cannot be written */
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    if (f) {
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = malloc((size_t)sz + 1);
        n = text ? fread(text, 1, (size_t)sz, f) : 0;
        fclose(f);
    }
    unlink(path);
    lif_wisdom again;
    /* (densities are written with 9 digits, so two entries 0.005 apart may merge) */
    if (!text || lif_wisdom_parse(text, n, "again", &w.fp, &again) != LIF_OK ||
        again.n > w.n || (w.n > 0 && again.n < 1))
        abort(); /* lif's own file of what it accepted does not read back */
    for (int i = 0; i < w.n; i++) {
        const lif_wisdom_entry *e;
        if (lif_wisdom_lookup(&again, &w.e[i].problem, &e) != LIF_WISDOM_EXACT)
            abort(); /* an entry is not found by its own problem */
        char k[1024];
        (void)lif_wisdom_kernels(e, k, sizeof k);
    }
    lif_wisdom_free(&again);
    lif_wisdom_free(&w);
    free(text);
    return 0;
}
