/* SIGINT and SIGTERM during lif train: the first asks training to stop
 * after the batch that is running (the library polls cli_stop_poll between
 * batches: lif_plan_set_stop), then the run saves a checkpoint and exits
 * 128 + the signal; a second signal exits at once. liblif itself installs
 * no handler. */
#define _XOPEN_SOURCE 700 /* SA_RESTART */

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t stop_sig;
static struct sigaction old_int, old_term;
static int installed;

static void on_signal(int sig)
{
    if (stop_sig)
        _exit(128 + sig); /* the second one: at once (a save in flight leaves
                             the previous checkpoint, lif/atomic.h) */
    stop_sig = sig;
}

void cli_stop_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* the writes of a save in progress carry on */
    sigemptyset(&sa.sa_mask);
    stop_sig = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    installed = 1;
}

void cli_stop_restore(void)
{
    if (!installed)
        return;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    installed = 0;
}

int cli_stop_signal(void) { return stop_sig; }

int cli_stop_poll(void *ctx)
{
    (void)ctx;
    return stop_sig != 0;
}

/* Appends s to buf, single-quoted for a POSIX shell when it holds anything
 * but plain path and flag characters. */
static void add_word(char *buf, size_t size, const char *s)
{
    size_t n = strlen(buf);
    if (n + 1 >= size)
        return;
    buf[n++] = ' ';
    buf[n] = '\0';
    int plain = *s != '\0' && s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789_./=,:+-@%")] == '\0';
    if (plain) {
        snprintf(buf + n, size - n, "%s", s);
        return;
    }
    char *p = buf + n, *end = buf + size - 1;
    if (p < end)
        *p++ = '\'';
    for (; *s && p < end; s++) {
        if (*s == '\'') {
            for (const char *q = "'\\''"; *q && p < end; q++)
                *p++ = *q;
        } else {
            *p++ = *s;
        }
    }
    if (p < end)
        *p++ = '\'';
    *p = '\0';
}

void cli_resume_line(char *buf, size_t size, const char *ckpt, const cli_args *args,
                     const lif_plan_opts *config_opts)
{
    snprintf(buf, size, "lif train -resume");
    add_word(buf, size, ckpt);
    for (int i = 0; i < args->n; i++) {
        const cli_arg *a = &args->a[i];
        int keep = strcmp(a->flag->key, "data-dir") == 0 || strcmp(a->flag->key, "quiet") == 0 ||
                   (a->flag->kind == FLAG_PLAN && !config_opts);
        if (!keep)
            continue;
        char flag[80];
        snprintf(flag, sizeof flag, "%.*s", (int)strcspn(a->typed, "="), a->typed);
        add_word(buf, size, flag);
        if (a->value)
            add_word(buf, size, a->value);
    }
    if (config_opts) {
        /* --config cannot come with -resume: spell its run options as flags */
        char num[32];
        add_word(buf, size, "--backend");
        add_word(buf, size, config_opts->backend);
        add_word(buf, size, "--threads");
        snprintf(num, sizeof num, "%d", config_opts->threads);
        add_word(buf, size, num);
        add_word(buf, size, "--tc");
        snprintf(num, sizeof num, "%d", config_opts->Tc);
        add_word(buf, size, num);
        add_word(buf, size, "--bind");
        add_word(buf, size, config_opts->bind == LIF_BIND_CORES ? "cores" : "none");
        add_word(buf, size, "-j");
        snprintf(num, sizeof num, "%d", config_opts->workers);
        add_word(buf, size, num);
    }
}

int cli_train_interrupted(const lif_net *net, const lif_train_state *ts, const char *run_dir,
                          int epoch, long n_train, const char *resume_line, int newline)
{
    int sig = cli_stop_signal();
    const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint_latest.lif", run_dir);
    if (newline) /* end the progress bar's line */
        printf("\n");
    fflush(stdout);
    lif_status st = lif_net_save(net, ts, path);
    if (st != LIF_OK) {
        fprintf(stderr, "lif train: %s: stopping, but saving the checkpoint failed: %s: %s "
                        "(a checkpoint_latest.lif there from before is left as it was)\n",
                name, lif_status_str(st), lif_last_error());
        return LIF_EXIT_FAIL;
    }
    if (ts->part.samples == 0)
        fprintf(stderr, "lif train: %s: stopped before epoch %d; saved %s (%s)\n", name, epoch,
                path, ts->epoch < 0 ? "the initial weights" : "epochs done so far");
    else if (ts->part.samples < n_train)
        fprintf(stderr, "lif train: %s: stopped in epoch %d after %ld of %ld training images; "
                        "saved %s (a resume trains the rest of the epoch)\n",
                name, epoch, ts->part.samples, n_train, path);
    else
        fprintf(stderr, "lif train: %s: stopped in epoch %d after its training, while testing; "
                        "saved %s (a resume tests the epoch)\n", name, epoch, path);
    fprintf(stderr, "lif train: to continue: %s\n", resume_line);
    return 128 + sig;
}
