/* The lif command's argument parsing for train and eval (cli/args.c:
 * cli_parse, then the recipe and run-option flags applied and checked as
 * cmd_train does), without running anything. Input: a mode byte (bit 0:
 * eval's flags, else train's), then the arguments separated by NUL bytes. */
#include "../../cli/cli.h"
#include "fuzz.h"

#define MAX_ARGV 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* the parser's messages (one per refused input) go nowhere, unless
     * LIF_FUZZ_DEBUG is set; libFuzzer and the sanitizers write to fd 2
     * themselves, so their reports still show */
    if (!getenv("LIF_FUZZ_DEBUG")) {
        FILE *null = fopen("/dev/null", "w");
        if (null)
            stderr = null;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    const cli_flag *flags = data[0] & 1 ? eval_flags : train_flags;
    const char *cmd = data[0] & 1 ? "eval" : "train";
    char *buf = malloc(size); /* the arguments, NUL-terminated */
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *argv[MAX_ARGV + 1];
    int argc = 0;
    for (char *p = buf; p < buf + size - 1 && argc < MAX_ARGV; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    static cli_args args; /* large: keep it off the stack */
    int rc = cli_parse(argc, argv, flags, cmd, &args);
    if (rc != 0 && rc != -1 && rc != LIF_EXIT_USAGE)
        abort();
    if (rc == 0) {
        if (args.n < 0 || args.n > CLI_MAX_ARGS)
            abort();
        (void)cli_get(&args, "data-dir");
        (void)cli_get(&args, "resume");
        lif_recipe r;
        lif_plan_opts o;
        lif_recipe_default(&r);
        lif_plan_opts_default(&o);
        const char *key = NULL;
        if (cli_apply_recipe(&args, &r, cmd) == 0 && cli_apply_plan(&args, &o, cmd) == 0) {
            lif_status st = lif_recipe_check(&r, &key);
            if (st != LIF_OK)
                (void)cli_fail_key(cmd, st, key, flags);
            st = lif_plan_opts_check(&o, &key);
            if (st != LIF_OK)
                (void)cli_fail_key(cmd, st, key, flags);
            char line[8192];
            cli_resume_line(line, sizeof line, "run/checkpoint_latest.lif", &args, NULL);
            if (strncmp(line, "lif train -resume ", 18) != 0)
                abort();
        }
    }
    free(buf);
    return 0;
}
