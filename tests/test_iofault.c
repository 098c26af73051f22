/* test_iofault.c — failed writes, syncs, renames, opens and reads, at every
 * call, during a checkpoint save and a log append.
 *
 * liblif's file operations go through one seam (engine/src/io.h): the
 * atomic-write helper (every checkpoint, .npy and rewritten log), the
 * checkpoint reader, and the logs lif train appends to. This test runs
 * `lif train -resume` in-process (the command's own code, cli/ but main.c) on a
 * copy of a one-epoch run, with the k-th call of one operation failing
 * (ENOSPC, EIO, a short write followed by ENOSPC, a short write or read
 * alone), for k = 1, 2, ... until the run no longer reaches a k-th call.
 * After each run it asserts:
 *   - a failure (not a short transfer alone) makes lif train fail (exit 1
 *     or 2), never report success;
 *   - checkpoint_latest.lif loads and is byte for byte the previous one or
 *     the new one of an uninterrupted run, never anything in between; the
 *     same for checkpoint_max.lif;
 *   - no temporary file is left behind;
 *   - exit 0 only with every output complete (a folder that cannot be
 *     opened to fsync it is passed over, as lif/atomic.h says);
 *   - resuming again without faults ends with log.jsonl and the
 *     checkpoints byte for byte those of the same resume without faults
 *     (itself checked against an uninterrupted run), so no half-written
 *     line or file was taken as valid.
 * And loading a checkpoint with failing or short reads either fails with
 * an I/O error or gives the same net. */
#define _POSIX_C_SOURCE 200809L

#include "../cli/cli.h"
#include "../engine/src/io.h"
#include "lif/data.h"
#include "lif/net.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN "T8_b16_adam_lr0.01"
#define BASE "-T 8 -b 16 --seed 2 --backend scalar --quiet -data-dir data -lr 0.01"
#define N_TRAIN 96
#define N_TEST 40
#define SIDE 6

static int runs;

/* Runs `lif train WORDS` in-process with stdout and stderr into files. */
static int train(const char *words)
{
    char buf[1024], *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", words);
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < 63;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    int o = dup(1), e = dup(2);
    int fo = open("run.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open("run.err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    int rc = cmd_train(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    runs++;
    return rc;
}

static int temps_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".tmp") != NULL;
    closedir(d);
    return n;
}

static void copy_run(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s && cp -p %s/* %s/", to, to, from, to);
    if (system(cmd) != 0)
        CHECK(0, "cannot copy %s to %s", from, to);
}

static int loads(const char *path)
{
    lif_net *net = NULL;
    lif_train_state ts;
    lif_status st = lif_net_load(path, &net, &ts);
    lif_net_destroy(net);
    return st == LIF_OK;
}

typedef struct fault {
    lif_io_op op;
    int err;
    long keep;       /* bytes the k-th write/read transfers first, -1 none */
    const char *what;
} fault;

/* What a resume writes and must get right (timing.jsonl holds times). */
static const char *const outputs[] = {"checkpoint_latest.lif", "checkpoint_max.lif", "log.jsonl"};

static const char *const op_name[] = {"open", "write", "read", "fsync", "close", "rename"};

/* One fault kind at k = 1, 2, ...; returns the number of k that hit. */
static int sweep(const fault *f)
{
    int hits = 0;
    for (long k = 1; k < 1000; k++) {
        copy_run("base/" RUN, "case/" RUN);
        lif_io_fault(f->op, k, f->err, f->keep);
        int rc = train("-resume case/" RUN "/checkpoint_latest.lif -epochs 2 " BASE);
        long calls = lif_io_calls(f->op);
        lif_io_fault(LIF_IO_OPS, 0, 0, -1);
        if (calls < k) { /* past the last call: the run is untouched */
            CHECK(rc == 0, "%s: no fault reached at k=%ld, yet exit %d", f->what, k, rc);
            break;
        }
        hits++;
        char where[160];
        snprintf(where, sizeof where, "%s at %s call %ld of %ld", f->what, op_name[f->op], k,
                 calls);
        if (!f->err)
            CHECK(rc == 0, "%s: a short transfer alone made lif train exit %d", where, rc);
        else if (f->op != LIF_IO_OPEN)
            CHECK(rc == 1 || rc == 2, "%s: lif train exited %d, want a failure (run.err)", where,
                  rc);
        else
            CHECK(rc == 0 || rc == 1 || rc == 2, "%s: lif train exited %d", where, rc);
        if (rc == 0) /* success means everything was written: a folder that cannot be
                        opened to sync it is the one failure lif may pass over */
            for (int i = 0; i < 3; i++)
                CHECK(test_same_bytes(test_path("case/" RUN, outputs[i]), test_path("cref/" RUN, outputs[i])),
                      "%s: lif train exited 0, but %s is not the complete one", where, outputs[i]);
        const char *latest = "case/" RUN "/checkpoint_latest.lif",
                   *max = "case/" RUN "/checkpoint_max.lif";
        CHECK(loads(latest), "%s: checkpoint_latest.lif does not load: %s", where,
              lif_last_error());
        CHECK(test_same_bytes(latest, "base/" RUN "/checkpoint_latest.lif") ||
                  test_same_bytes(latest, "cref/" RUN "/checkpoint_latest.lif"),
              "%s: checkpoint_latest.lif is neither the previous nor the next one", where);
        CHECK(loads(max) && (test_same_bytes(max, "base/" RUN "/checkpoint_max.lif") ||
                             test_same_bytes(max, "cref/" RUN "/checkpoint_max.lif")),
              "%s: checkpoint_max.lif is neither the previous nor the next one", where);
        CHECK(temps_in("case/" RUN) == 0, "%s: %d temporary files left in case/" RUN, where,
              temps_in("case/" RUN));
        rc = train("-resume case/" RUN "/checkpoint_latest.lif -epochs 2 " BASE);
        CHECK(rc == 0, "%s: the resume after it exited %d (run.err)", where, rc);
        for (int i = 0; i < 3; i++)
            CHECK(test_same_bytes(test_path("case/" RUN, outputs[i]), test_path("cref/" RUN, outputs[i])),
                  "%s, then a resume: %s differs from a resume without faults", where,
                  outputs[i]);
    }
    return hits;
}

static void test_reads(void)
{
    const char *path = "ref/" RUN "/checkpoint_latest.lif";
    lif_net *want = NULL;
    lif_train_state tw;
    CHECK(lif_net_load(path, &want, &tw) == LIF_OK, "load: %s", lif_last_error());
    if (!want)
        return;
    lif_layer_view vw;
    lif_net_layer(want, 0, &vw);
    const fault fs[] = {{LIF_IO_READ, EIO, -1, "EIO"},
                        {LIF_IO_READ, 0, 7, "a short read"},
                        {LIF_IO_READ, EIO, 3, "a short read, then EIO"},
                        {LIF_IO_OPEN, EACCES, -1, "EACCES"}};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
        for (long k = 1; k < 100; k++) {
            lif_net *got = NULL;
            lif_train_state tg;
            lif_io_fault(fs[i].op, k, fs[i].err, fs[i].keep);
            lif_status st = lif_net_load(path, &got, &tg);
            long calls = lif_io_calls(fs[i].op);
            lif_io_fault(LIF_IO_OPS, 0, 0, -1);
            if (calls < k) {
                CHECK(st == LIF_OK, "load untouched by faults failed: %s", lif_last_error());
                lif_net_destroy(got);
                break;
            }
            if (fs[i].err) {
                CHECK(st == LIF_ERR_IO && got == NULL,
                      "%s at %s call %ld: load gave %s, want an I/O error", fs[i].what,
                      op_name[fs[i].op], k, lif_status_str(st));
            } else {
                lif_layer_view vg;
                CHECK(st == LIF_OK && got && lif_net_layer(got, 0, &vg) == LIF_OK &&
                          memcmp(vg.w, vw.w, (size_t)vw.n_in * vw.n_out * sizeof(float)) == 0,
                      "%s at read %ld: the net differs or did not load: %s", fs[i].what, k,
                      lif_last_error());
            }
            lif_net_destroy(got);
        }
    lif_net_destroy(want);
}

int main(void)
{
    const char *dir = test_tmpdir("iofault");
    if (chdir(dir) != 0) {
        fprintf(stderr, "cannot chdir to %s\n", dir);
        return 1;
    }
    /* a small learnable set: class c lights the pixels p with p mod 10 = c, plus noise */
    uint8_t img[(N_TRAIN + N_TEST) * SIDE * SIDE], lab[N_TRAIN + N_TEST];
    uint64_t s = 9;
    for (int i = 0; i < N_TRAIN + N_TEST; i++) {
        lab[i] = (uint8_t)(i % 10);
        for (int p = 0; p < SIDE * SIDE; p++)
            img[i * SIDE * SIDE + p] =
                (uint8_t)(p % 10 == lab[i] ? 255 : rnd(&s) % 40);
    }
    mkdir("data", 0777);
    if (lif_idx_write("data/train-images-idx3-ubyte", "data/train-labels-idx1-ubyte", img, lab,
                      N_TRAIN, SIDE, SIDE, 0) != LIF_OK ||
        lif_idx_write("data/t10k-images-idx3-ubyte", "data/t10k-labels-idx1-ubyte",
                      img + N_TRAIN * SIDE * SIDE, lab + N_TRAIN, N_TEST, SIDE, SIDE, 0) != LIF_OK) {
        fprintf(stderr, "cannot write the data: %s\n", lif_last_error());
        return 1;
    }
    CHECK(train("-epochs 2 -out-dir ref " BASE) == 0, "reference run failed (run.err)");
    CHECK(train("-epochs 1 -out-dir base " BASE) == 0, "one-epoch run failed (run.err)");
    /* the reference of every case: the same resume without faults */
    copy_run("base/" RUN, "cref/" RUN);
    CHECK(train("-resume cref/" RUN "/checkpoint_latest.lif -epochs 2 " BASE) == 0,
          "resume without faults failed (run.err)");
    CHECK(test_same_bytes("cref/" RUN "/checkpoint_latest.lif", "ref/" RUN "/checkpoint_latest.lif") &&
              test_same_bytes("cref/" RUN "/log.jsonl", "ref/" RUN "/log.jsonl"),
          "1 + 1 epochs resumed differ from 2 uninterrupted");
    CHECK(!test_same_bytes("ref/" RUN "/checkpoint_latest.lif", "base/" RUN "/checkpoint_latest.lif"),
          "the 2-epoch checkpoint equals the 1-epoch one: the test would prove nothing");

    const fault fs[] = {
        {LIF_IO_WRITE, ENOSPC, -1, "ENOSPC"},
        {LIF_IO_WRITE, ENOSPC, 5, "a 5-byte short write, then ENOSPC"},
        {LIF_IO_WRITE, 0, 3, "a 3-byte short write"},
        {LIF_IO_FSYNC, EIO, -1, "EIO"},
        {LIF_IO_RENAME, ENOSPC, -1, "ENOSPC"},
        {LIF_IO_CLOSE, EIO, -1, "EIO"},
        {LIF_IO_OPEN, ENOSPC, -1, "ENOSPC"},
        {LIF_IO_READ, EIO, -1, "EIO"},
    };
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        int hits = sweep(&fs[i]);
        CHECK(hits > 0, "%s on %s: the resumed run made no such call", fs[i].what,
              op_name[fs[i].op]);
        printf("%-36s on %-6s: at each of its %d calls\n", fs[i].what, op_name[fs[i].op], hits);
    }
    test_reads();
    printf("test_iofault: %d in-process runs of lif train\n", runs);
    return test_finish("test_iofault");
}
