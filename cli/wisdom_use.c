/* `--backend auto` and wisdom (lif/autotune.h): the plan of lif train and
 * lif eval takes its kernels, threads and Tc from the wisdom of the exact
 * problem, else of the nearest one, else from the ranking's estimate;
 * what the user set explicitly (--backend other than auto, --threads,
 * --tc, LIF_FORCE_KERNEL) always wins. The sources are said in lines the
 * commands print, and with LIF_VERBOSE=dispatch as lif_tuning CSV lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lif/autotune.h"

static int is_auto(const char *list)
{
    return !list[0] || strcmp(list, "auto") == 0 || strncmp(list, "auto,", 5) == 0;
}

/* 1 if the comma list `list` holds `name`. */
static int list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = list; s && *s;) {
        size_t len = strcspn(s, ",");
        if (len == n && strncmp(s, name, n) == 0)
            return 1;
        s += len;
        if (*s == ',')
            s++;
    }
    return 0;
}

void cli_wisdom_apply(cli_tuning *t, lif_plan_opts *opts, int user_threads, int user_tc,
                      const lif_recipe *r, int n_in, int n_classes, double density)
{
    memset(t, 0, sizeof *t);
    t->threads_from = user_threads ? "user flag" : "estimate";
    t->tc_from = user_tc ? "user flag" : "estimate";
    if (!is_auto(opts->backend)) {
        snprintf(t->note, sizeof t->note, "not consulted: --backend %s was given", opts->backend);
        return;
    }
    if (opts->amp) {
        snprintf(t->note, sizeof t->note, "not consulted: -amp takes onednn's bf16 kernels");
        return;
    }
    if (lif_wisdom_path(NULL, t->path, sizeof t->path) != LIF_OK) {
        snprintf(t->note, sizeof t->note, "none (%s)", lif_last_error());
        return;
    }
    lif_wisdom w;
    lif_status st = lif_wisdom_load(t->path, &w);
    if (st == LIF_ERR_NOT_FOUND) {
        snprintf(t->note, sizeof t->note, "none at %s (lif autotune makes it)", t->path);
        return;
    }
    if (st != LIF_OK) {
        snprintf(t->note, sizeof t->note, "%s; nothing imported, the estimate is used",
                 lif_last_error());
        t->problem = 1;
        lif_wisdom_free(&w);
        return;
    }
    lif_wisdom_problem q;
    const lif_wisdom_entry *e;
    lif_wisdom_problem_of(r, n_in, n_classes, density, &q);
    t->match = lif_wisdom_lookup(&w, &q, &e);
    if (t->match == LIF_WISDOM_NONE) {
        snprintf(t->note, sizeof t->note, "%s: no entry for these layers (%d entr%s); the "
                 "estimate is used", t->path, w.n, w.n == 1 ? "y" : "ies");
        lif_wisdom_free(&w);
        return;
    }
    t->entry = *e;
    const char *src = lif_wisdom_match_name(t->match);
    snprintf(t->note, sizeof t->note, "%s: %s match (tuned for T %d, batch %d, density %.3f, "
             "mode %s)%s", t->path, t->match == LIF_WISDOM_EXACT ? "exact" : "nearest",
             e->problem.T, e->problem.batch, e->problem.density, e->mode,
             w.dropped ? "; choices naming kernels missing from this build dropped" : "");
    if (lif_wisdom_kernels(e, opts->kernels, sizeof opts->kernels) == 0 && opts->kernels[0])
        snprintf(opts->kernels_from, sizeof opts->kernels_from, "%s", src);
    if (!user_threads) {
        opts->threads = e->threads;
        opts->bind = e->bind;
        t->threads_from = src;
    }
    /* a chunk length is taken for the exact problem only (it was sized for its T and batch) */
    if (!user_tc && t->match == LIF_WISDOM_EXACT && e->Tc <= r->T) {
        opts->Tc = e->Tc;
        if (e->Tc)
            t->tc_from = src;
    }
    lif_wisdom_free(&w);
}

void cli_wisdom_print(FILE *f, const cli_tuning *t, const lif_plan *plan, int layers)
{
    static const lif_op ops[] = {LIF_OP_ENCODE, LIF_OP_LINEAR_FWD, LIF_OP_LIF_FWD,
                                 LIF_OP_LIF_BWD, LIF_OP_LINEAR_BWD_W, LIF_OP_LINEAR_BWD_X,
                                 LIF_OP_SPIKE_COUNT, LIF_OP_LOSS, LIF_OP_OPTIM};
    const lif_plan_opts *o = lif_plan_options(plan);
    const char *env = getenv("LIF_FORCE_KERNEL");
    const char *v = getenv("LIF_VERBOSE");
    int csv = v && strstr(v, "dispatch");
    char tc[32];
    snprintf(tc, sizeof tc, "%d", o->Tc);
    if (!f && t->problem) /* a bad file is said even when quiet, in one line */
        fprintf(stderr, "lif: wisdom: %s\n", t->note);
    if (f)
        fprintf(f, "wisdom: %s\nchoices: threads %d (%s), Tc %s (%s)", t->note, o->threads,
                t->threads_from, tc, t->tc_from);
    if (csv) {
        fprintf(stderr, "lif_tuning,threads,%d,%s\n", o->threads, t->threads_from);
        fprintf(stderr, "lif_tuning,Tc,%d,%s\n", o->Tc, t->tc_from);
    }
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        int l = ops[i] == LIF_OP_LINEAR_BWD_X ? 1 : 0;
        if (l >= layers)
            continue;
        const char *k = lif_plan_kernel(plan, ops[i], l);
        const char *src = env && list_has(env, k)              ? "user flag LIF_FORCE_KERNEL"
                          : o->kernels[0] && list_has(o->kernels, k) ? lif_wisdom_match_name(t->match)
                          : !is_auto(o->backend)               ? "user flag --backend"
                                                               : "estimate";
        if (f && strcmp(src, "estimate") == 0) /* bound again after the first batch */
            fprintf(f, ", %s (%s)", lif_op_name(ops[i]), src);
        else if (f && src == lif_wisdom_match_name(t->match) && t->entry.kernels[ops[i]][0]) {
            char names[256];
            size_t len = 0;
            names[0] = '\0';
            for (const char *s = t->entry.kernels[ops[i]]; *s && len < sizeof names;) {
                size_t n = strcspn(s, ",");
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%.*s",
                                        len ? " + " : "", (int)n, s);
                s += n;
                if (*s == ',')
                    s++;
            }
            fprintf(f, ", %s %s (%s)", lif_op_name(ops[i]), names, src);
        } else if (f)
            fprintf(f, ", %s %s (%s)", lif_op_name(ops[i]), k, src);
        if (csv)
            fprintf(stderr, "lif_tuning,%s,%s,%s\n", lif_op_name(ops[i]), k, src);
    }
    if (f)
        fprintf(f, "\n");
}

/* The wisdom file's state for lif info: fills the fields, returns a JSON
 * object (NULL on allocation failure). */
json_t *cli_wisdom_info(FILE *f)
{
    char path[4096];
    lif_fingerprint here;
    lif_fingerprint_here(&here);
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "fingerprint_here", json_string(here.id));
    json_object_set_new(j, "kernels_hash_here", json_string(here.kernels_hash));
    if (lif_wisdom_path(NULL, path, sizeof path) != LIF_OK) {
        if (f)
            fprintf(f, "wisdom: no place for it (%s); fingerprint here %s\n", lif_last_error(),
                    here.id);
        json_object_set_new(j, "path", json_null());
        return j;
    }
    json_object_set_new(j, "path", json_string(path));
    lif_wisdom w;
    lif_status st = lif_wisdom_load(path, &w);
    json_object_set_new(j, "exists", json_boolean(st != LIF_ERR_NOT_FOUND));
    json_object_set_new(j, "matches", json_boolean(st == LIF_OK));
    json_object_set_new(j, "file_fingerprint", w.fp.id[0] ? json_string(w.fp.id) : json_null());
    json_object_set_new(j, "entries", json_integer(w.n));
    json_object_set_new(j, "problem", st == LIF_OK || st == LIF_ERR_NOT_FOUND
                                          ? json_null() : json_string(lif_last_error()));
    if (f) {
        fprintf(f, "wisdom: %s", path);
        if (st == LIF_ERR_NOT_FOUND)
            fprintf(f, " (none yet: lif autotune makes it)");
        else if (st == LIF_OK)
            fprintf(f, ": fingerprint %s, matches this machine; %d entr%s%s", w.fp.id, w.n,
                    w.n == 1 ? "y" : "ies",
                    strcmp(w.fp.kernels_hash, here.kernels_hash) ? " (made with another kernel set: "
                                                                   "entries naming missing kernels dropped)"
                                                                 : "");
        else
            fprintf(f, ": does not match, nothing imported: %s", lif_last_error());
        fprintf(f, "\nfingerprint here: %s (%s, %d cores, %d PUs, %d NUMA node%s, ISA %s%s, lif %s, "
                   "%s; %d kernels, hash %s)\n", here.id, here.cpu, here.cores, here.pus,
                here.numa_nodes, here.numa_nodes == 1 ? "" : "s", here.isa,
                here.isa_capped ? " (capped)" : "", here.version, here.compiler, here.n_kernels,
                here.kernels_hash);
    }
    lif_wisdom_free(&w);
    return j;
}
