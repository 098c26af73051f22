/* cli/cli.h — the lif command's shared pieces (not part of liblif). */
#ifndef LIF_CLI_H
#define LIF_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "lif/lif.h"

/* Exit statuses of the lif command. */
enum {
    LIF_EXIT_OK = 0,
    LIF_EXIT_FAIL = 1,   /* a run-time failure (I/O while writing, memory) */
    LIF_EXIT_USAGE = 2,  /* a bad flag or value, a bad input file */
};

/* How a flag takes its value. */
typedef enum {
    FLAG_RECIPE,   /* sets the recipe key `key` through lif_recipe_set */
    FLAG_PLAN,     /* sets the plan option `key` through lif_plan_opts_set */
    FLAG_OPTION,   /* stores its value in the option slot `key` */
} flag_kind;

typedef struct cli_flag {
    const char *name;    /* without dashes: "T", "data-dir", "backend" */
    flag_kind kind;
    const char *key;     /* recipe key or option slot name */
    const char *metavar; /* shown in --help; NULL: a switch, takes no value
                            (a recipe switch sets its key to "1") */
    const char *help;
} cli_flag;

/* One flag given on the command line. */
typedef struct cli_arg {
    const cli_flag *flag;
    const char *typed;   /* as the user typed it: "-lr", "--lr" */
    const char *value;   /* NULL for switches */
} cli_arg;

#define CLI_MAX_ARGS 128

typedef struct cli_args {
    int n;
    cli_arg a[CLI_MAX_ARGS];
} cli_args;

/* Parses argv against the flag table (single or double dash, "--f=v" or
 * "--f v"). Prints a message naming the flag and returns LIF_EXIT_USAGE on
 * an unknown flag, a missing value or a stray argument; 0 on success. A
 * "-h"/"--help" returns -1 (caller prints help). */
int cli_parse(int argc, char **argv, const cli_flag *flags, const char *cmd, cli_args *out);

/* The value of the last option flag with slot `key`, or NULL (a switch
 * that was given: "1"). */
const char *cli_get(const cli_args *args, const char *key);

/* Applies every FLAG_RECIPE argument to r, in command-line order. Prints
 * the error naming the flag and returns LIF_EXIT_USAGE on a bad value. */
int cli_apply_recipe(const cli_args *args, lif_recipe *r, const char *cmd);

/* Applies every FLAG_PLAN argument to o, in command-line order. Prints
 * the error naming the flag and returns LIF_EXIT_USAGE on a bad value. */
int cli_apply_plan(const cli_args *args, lif_plan_opts *o, const char *cmd);

/* The flag of `flags` that sets recipe key or plan option `key`, as
 * "-name" into buf; the key itself ("recipe key \"beta1\"") when no flag
 * sets it. Returns buf. */
const char *cli_flag_for(const cli_flag *flags, const char *key, char *buf, size_t size);

/* cli_fail for a failed lif_recipe_check / lif_plan_opts_check: the
 * detail's leading key (`key`) is printed as the flag that sets it. */
int cli_fail_key(const char *cmd, lif_status st, const char *key, const cli_flag *flags);

/* cli_fail_key for a failed lif_plan_create: the key is whichever plan
 * option the message starts with. */
int cli_fail_plan(const char *cmd, lif_status st, const cli_flag *flags);

/* One line on how the plan runs time: chunks, store or recompute, memory. */
void cli_print_plan(FILE *f, const lif_plan *plan);

/* What the plan's backward recomputes, in words. */
const char *cli_plan_mode(const lif_plan *plan);

/* Prints the flags of a table as help text. */
void cli_print_flags(FILE *f, const cli_flag *flags);

/* Prints "lif <cmd>: <status text>: <detail>" to stderr and returns the
 * exit status for st (usage-type failures 2, others 1). */
int cli_fail(const char *cmd, lif_status st);

/* cli_fail for a file the user named as input (data, config, checkpoint):
 * any failure to read it, I/O included, is the input's fault: exit 2. */
int cli_fail_input(const char *cmd, lif_status st);

/* ---- provenance and JSON (cli/provenance.c) ---- */

/* The whole command line (main's argc, argv), for run.json. */
extern int cli_main_argc;
extern char **cli_main_argv;

/* A JSON string, or null for NULL. */
json_t *cli_jstr(const char *s);

/* lif's version, git commit (null when unknown), compiler, build type, CPU
 * (model, vendor, logical CPUs, ISA, best ISA, capped) and topology line.
 * NULL on allocation failure. */
json_t *cli_provenance(void);

/* A plan's options and kernels: {backend, threads, bind, Tc, kernels:
 * {op: [kernel of layer 0, ...]}} (null where an op has no kernel). */
json_t *cli_plan_json(const lif_plan *plan, int layers);

/* The command line as an array of strings. */
json_t *cli_command_line(void);

/* The time now as "2026-12-02T15:30:00Z" into buf; returns buf. */
const char *cli_utc_now(char *buf, size_t size);

/* Writes j (indented) to path atomically. Returns LIF_OK, LIF_ERR_NOMEM,
 * LIF_ERR_IO. */
lif_status cli_write_json(const char *path, const json_t *j);

/* Prints j (indented) on stdout; returns an exit status. */
int cli_print_json(const json_t *j);

/* v rounded to float32, printed with the fewest digits that give that
 * float back ("0.8198", not 0.81979999999999997). Returns buf. */
const char *cli_f32(char *buf, size_t size, double v);

/* SIGINT/SIGTERM during training (cli/signals.c): install sets handlers
 * whose first call records the signal and whose second exits 128 + signal
 * at once; restore puts the previous handlers back. cli_stop_poll is the
 * plan's stop callback (lif_plan_set_stop); cli_stop_signal the signal
 * received, 0 if none. */
void cli_stop_install(void);
void cli_stop_restore(void);
int cli_stop_signal(void);
int cli_stop_poll(void *ctx);

/* The command that continues a run from ckpt: -resume, the -data-dir,
 * --quiet and run-option flags given; config_opts (when the run options
 * came from --config, which -resume refuses) spelled as flags. */
void cli_resume_line(char *buf, size_t size, const char *ckpt, const cli_args *args,
                     const lif_plan_opts *config_opts);

/* After a stop request: saves net and ts (ts->part: how far epoch `epoch`
 * got, of n_train images) as run_dir/checkpoint_latest.lif, prints where the
 * run stopped and resume_line to stderr, returns 128 + the signal (1 if the
 * save failed). newline: end a progress bar's line on stdout first. */
int cli_train_interrupted(const lif_net *net, const lif_train_state *ts, const char *run_dir,
                          int epoch, long n_train, const char *resume_line, int newline);

/* The flag tables of lif train and lif eval (tests/fuzz/fuzz_args.c parses
 * with them). */
extern const cli_flag train_flags[];
extern const cli_flag eval_flags[];

/* fopen for writing or appending through liblif's file-operation seam
 * (engine/src/io.h, not a public header), so tests can fail the log
 * appends of lif train as they fail a checkpoint save. */
FILE *lif_io_fopen(const char *path, const char *mode);

/* ---- wisdom for --backend auto (cli/wisdom_use.c) ---- */

typedef struct cli_tuning {
    char path[4096];          /* the wisdom file consulted ("" none) */
    lif_wisdom_match match;   /* what it gave */
    lif_wisdom_entry entry;   /* the entry taken (match != NONE) */
    char note[4608];          /* one line: what was found, or why nothing was imported */
    int problem;              /* 1: the file was malformed or of another machine */
    const char *threads_from, *tc_from;  /* "user flag", "wisdom exact", "estimate", ... */
} cli_tuning;

/* With --backend auto (and no -amp): looks up the problem (recipe r on
 * n_in inputs, n_classes classes, input spike density) in the wisdom file
 * and sets opts' forced kernels, and threads, bind and Tc unless the user
 * set them (user_threads, user_tc). Never fails: a missing, malformed or
 * foreign file leaves opts as they were and says why in t->note. */
void cli_wisdom_apply(cli_tuning *t, lif_plan_opts *opts, int user_threads, int user_tc,
                      const lif_recipe *r, int n_in, int n_classes, double density);

/* "wisdom: ..." and "choices: ..." lines (where each choice of plan came
 * from) to f (NULL: none); with LIF_VERBOSE=dispatch also lif_tuning CSV
 * lines to stderr. */
void cli_wisdom_print(FILE *f, const cli_tuning *t, const lif_plan *plan, int layers);

/* lif info's wisdom lines to f (NULL: none): the file, its fingerprint,
 * whether it matches this machine; returns the same as a JSON object. */
json_t *cli_wisdom_info(FILE *f);

/* 1 if a flag of args sets plan option `key`. */
int cli_plan_flag_given(const cli_args *args, const char *key);

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_autotune(int argc, char **argv);

/* Writes net as a NIR 1.0 graph (HDF5) at path, atomically; dt is the time
 * step NIR's continuous LIF is integrated with (cli/nir.c documents the
 * layout and the mapping). Returns LIF_OK, LIF_ERR_UNSUPPORTED (built
 * without HDF5; a soft-reset network), LIF_ERR_IO. */
lif_status nir_write(lif_net *net, const char *path, double dt);

#endif
