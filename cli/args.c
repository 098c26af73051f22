/* Flag parsing shared by the lif commands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_flag *find(const cli_flag *flags, const char *name, size_t len)
{
    for (const cli_flag *f = flags; f->name; f++)
        if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
            return f;
    return NULL;
}

static const char *dashes(const char *name);

/* Edit distance (insertions, deletions, substitutions) between a[0..n) and
 * b, capped at 9. */
static int distance(const char *a, size_t n, const char *b)
{
    size_t m = strlen(b);
    int row[64];
    if (n >= 63 || m >= 63)
        return 9;
    for (size_t j = 0; j <= m; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[m] > 9 ? 9 : row[m];
}

/* The flag closest to the mistyped name (at most 2 edits, and fewer than
 * half its letters), or NULL. */
static const cli_flag *closest(const cli_flag *flags, const char *name, size_t len)
{
    const cli_flag *best = NULL;
    int bd = 3;
    for (const cli_flag *f = flags; f->name; f++) {
        int d = distance(name, len, f->name);
        if (d < bd && 2 * (size_t)d < (len > strlen(f->name) ? len : strlen(f->name))) {
            bd = d;
            best = f;
        }
    }
    return best;
}

int cli_parse(int argc, char **argv, const cli_flag *flags, const char *cmd, cli_args *out)
{
    out->n = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "-help") == 0)
            return -1;
        if (arg[0] != '-' || arg[1] == '\0') {
            fprintf(stderr, "lif %s: unexpected argument '%s' (flags start with - or --; see lif %s --help)\n",
                    cmd, arg, cmd);
            return LIF_EXIT_USAGE;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_flag *f = find(flags, name, len);
        if (!f) {
            const cli_flag *near = closest(flags, name, len);
            if (near)
                fprintf(stderr, "lif %s: unknown flag '%.*s' (did you mean %s%s? see lif %s --help)\n",
                        cmd, (int)(len + (size_t)(name - arg)), arg, dashes(near->name),
                        near->name, cmd);
            else
                fprintf(stderr, "lif %s: unknown flag '%.*s' (see lif %s --help)\n", cmd,
                        (int)(len + (size_t)(name - arg)), arg, cmd);
            return LIF_EXIT_USAGE;
        }
        if (out->n == CLI_MAX_ARGS) {
            fprintf(stderr, "lif %s: too many flags (at most %d)\n", cmd, CLI_MAX_ARGS);
            return LIF_EXIT_USAGE;
        }
        cli_arg *a = &out->a[out->n++];
        a->flag = f;
        a->typed = arg;
        a->value = NULL;
        if (!f->metavar) {
            if (eq) {
                fprintf(stderr, "lif %s: flag -%s takes no value\n", cmd, f->name);
                return LIF_EXIT_USAGE;
            }
            continue;
        }
        if (eq) {
            a->value = eq + 1;
        } else if (i + 1 < argc) {
            a->value = argv[++i];
        } else {
            fprintf(stderr, "lif %s: flag -%s needs a value (%s)\n", cmd, f->name,
                    f->metavar ? f->metavar : "VALUE");
            return LIF_EXIT_USAGE;
        }
        /* keep "-lr" (not "-lr=0.1") as the name shown in messages */
        if (eq) {
            static char typed[CLI_MAX_ARGS][64];
            snprintf(typed[out->n - 1], sizeof typed[0], "%.*s", (int)(eq - arg), arg);
            a->typed = typed[out->n - 1];
        }
    }
    return 0;
}

const char *cli_get(const cli_args *args, const char *key)
{
    const char *v = NULL;
    for (int i = 0; i < args->n; i++)
        if (args->a[i].flag->kind == FLAG_OPTION && strcmp(args->a[i].flag->key, key) == 0)
            v = args->a[i].value ? args->a[i].value : "1";
    return v;
}

int cli_apply_recipe(const cli_args *args, lif_recipe *r, const char *cmd)
{
    /* Two passes: choosing a surrogate resets alpha to its default, so
     * --surrogate applies before --alpha wherever each was typed. */
    for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < args->n; i++) {
        const cli_arg *a = &args->a[i];
        if (a->flag->kind != FLAG_RECIPE ||
            (strcmp(a->flag->key, "surrogate") == 0) != (pass == 0))
            continue;
        lif_status st = lif_recipe_set(r, a->flag->key, a->value ? a->value : "1", a->typed);
        if (st != LIF_OK) {
            fprintf(stderr, "lif %s: %s\n", cmd, lif_last_error());
            return LIF_EXIT_USAGE;
        }
    }
    return 0;
}

int cli_apply_plan(const cli_args *args, lif_plan_opts *o, const char *cmd)
{
    for (int i = 0; i < args->n; i++) {
        const cli_arg *a = &args->a[i];
        if (a->flag->kind != FLAG_PLAN)
            continue;
        if (lif_plan_opts_set(o, a->flag->key, a->value ? a->value : "1", a->typed) != LIF_OK) {
            fprintf(stderr, "lif %s: %s\n", cmd, lif_last_error());
            return LIF_EXIT_USAGE;
        }
    }
    return 0;
}

/* The reference script's flags are written with one dash, lif's own with two. */
static const char *dashes(const char *name)
{
    static const char *const ref[] = {"T",      "device", "b",   "epochs", "j",   "data-dir",
                                      "out-dir", "resume", "amp", "opt",    "momentum",
                                      "lr",     "tau"};
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
        if (strcmp(ref[i], name) == 0)
            return "-";
    return "--";
}

const char *cli_flag_for(const cli_flag *flags, const char *key, char *buf, size_t size)
{
    for (const cli_flag *fl = flags; fl->name; fl++)
        if (fl->kind != FLAG_OPTION && strcmp(fl->key, key) == 0) {
            snprintf(buf, size, "%s%s", dashes(fl->name), fl->name);
            return buf;
        }
    snprintf(buf, size, "recipe key \"%s\"", key);
    return buf;
}

int cli_fail_key(const char *cmd, lif_status st, const char *key, const cli_flag *flags)
{
    const char *detail = lif_last_error();
    size_t n = key ? strlen(key) : 0;
    if (!key || strncmp(detail, key, n) != 0 || detail[n] != ' ')
        return cli_fail(cmd, st);
    char flag[96];
    fprintf(stderr, "lif %s: %s: %s%s\n", cmd, lif_status_str(st),
            cli_flag_for(flags, key, flag, sizeof flag), detail + n);
    return st == LIF_ERR_INVALID_ARG || st == LIF_ERR_NOT_FOUND || st == LIF_ERR_UNSUPPORTED
               ? LIF_EXIT_USAGE : LIF_EXIT_FAIL;
}

int cli_fail_plan(const char *cmd, lif_status st, const cli_flag *flags)
{
    const char *detail = lif_last_error();
    for (size_t i = 0; lif_plan_opts_key(i); i++) {
        const char *k = lif_plan_opts_key(i);
        size_t n = strlen(k);
        if (strncmp(detail, k, n) == 0 && detail[n] == ' ')
            return cli_fail_key(cmd, st, k, flags);
    }
    return cli_fail(cmd, st);
}

const char *cli_plan_mode(const lif_plan *plan)
{
    int m = lif_plan_recomputes(plan);
    return m == LIF_RECOMPUTE_OFF     ? "every step stored for backward"
           : m == LIF_RECOMPUTE_INPUT ? "input spikes encoded again in backward"
                                      : "each chunk's forward run again in backward";
}

void cli_print_plan(FILE *f, const lif_plan *plan)
{
    const lif_plan_opts *o = lif_plan_options(plan);
    fprintf(f, "plan: chunks of %d steps, %s, %.1f MiB of buffers\n", o->Tc, cli_plan_mode(plan),
            (double)lif_plan_memory(plan) / 1048576.0);
}

void cli_print_flags(FILE *f, const cli_flag *flags)
{
    for (const cli_flag *fl = flags; fl->name; fl++) {
        char left[64];
        snprintf(left, sizeof left, "-%s%s%s", fl->name, fl->metavar ? " " : "",
                 fl->metavar ? fl->metavar : "");
        fprintf(f, "  %-24s %s\n", left, fl->help);
    }
}

int cli_fail(const char *cmd, lif_status st)
{
    /* an I/O failure's detail says what failed ("x: permission denied") */
    if (st == LIF_ERR_IO)
        fprintf(stderr, "lif %s: %s\n", cmd, lif_last_error());
    else
        fprintf(stderr, "lif %s: %s: %s\n", cmd, lif_status_str(st), lif_last_error());
    switch (st) {
    case LIF_ERR_INVALID_ARG:
    case LIF_ERR_FORMAT:
    case LIF_ERR_CORRUPT:
    case LIF_ERR_NOT_FOUND:
    case LIF_ERR_UNSUPPORTED:
        return LIF_EXIT_USAGE;
    default:
        return LIF_EXIT_FAIL;
    }
}

int cli_fail_input(const char *cmd, lif_status st)
{
    int rc = cli_fail(cmd, st);
    return st == LIF_ERR_NOMEM ? rc : LIF_EXIT_USAGE;
}

int cli_plan_flag_given(const cli_args *args, const char *key)
{
    for (int i = 0; i < args->n; i++)
        if (args->a[i].flag->kind == FLAG_PLAN && strcmp(args->a[i].flag->key, key) == 0)
            return 1;
    return 0;
}
