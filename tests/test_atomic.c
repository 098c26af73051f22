/* test_atomic.c — lif/atomic.h: a committed write replaces the file; an
 * aborted one, a failing writer and a failed rename leave the previous
 * content byte for byte and no temporary file; a missing or unwritable
 * folder is a clear error. The writers built on it (checkpoint, .npy, IDX)
 * keep the previous file when their writes fail (a file size limit makes
 * real writes fail with EFBIG). */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lif/lif.h"
#include "testutil.h"

static const char *tmp;

static const char *pathf(const char *name) { return test_path(tmp, name); }

static char *slurp(const char *path, size_t *n) { return test_slurp(path, n); }

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

/* 1 if the file at path holds exactly text. */
static int holds(const char *path, const char *text)
{
    size_t n;
    char *b = slurp(path, &n);
    int same = b && n == strlen(text) && memcmp(b, text, n) == 0;
    free(b);
    return same;
}

/* Entries of dir whose name contains ".tmp." */
static int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_commit(void)
{
    const char *p = pathf("commit.txt");
    lif_atomic_file af;

    /* a new file */
    CHECK(lif_atomic_open(p, &af) == LIF_OK, "open: %s", lif_last_error());
    CHECK(af.f && af.tmp && af.path && strcmp(af.path, p) == 0, "handle not filled");
    if (!af.f)
        return;
    char prefix[1300];
    snprintf(prefix, sizeof prefix, "%s.tmp.", p);
    CHECK(starts_with(af.tmp, prefix) && strlen(af.tmp) == strlen(prefix) + 6,
          "temporary file %s is not <path>.tmp.XXXXXX", af.tmp);
    struct stat sb;
    CHECK(stat(af.tmp, &sb) == 0 && S_ISREG(sb.st_mode), "no temporary file %s", af.tmp);
    CHECK(access(p, F_OK) != 0, "the target exists before the commit");
    fputs("first\n", af.f);
    CHECK(lif_atomic_commit(&af) == LIF_OK, "commit: %s", lif_last_error());
    CHECK(af.f == NULL && af.tmp == NULL && af.path == NULL, "commit does not release the handle");
    CHECK(holds(p, "first\n"), "committed content differs");
    /* created as fopen would: 0666 less the umask (022 here) */
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0644, "mode %o, want 644",
          (unsigned)(sb.st_mode & 0777));

    /* replacing it; until the commit the old content stays */
    CHECK(lif_atomic_open(p, &af) == LIF_OK, "open: %s", lif_last_error());
    fputs("second, longer\n", af.f);
    fflush(af.f);
    CHECK(holds(p, "first\n"), "the target changed before the commit");
    CHECK(lif_atomic_commit(&af) == LIF_OK, "commit: %s", lif_last_error());
    CHECK(holds(p, "second, longer\n"), "commit did not replace the file");

    /* an empty file is a content too */
    CHECK(lif_atomic_open(p, &af) == LIF_OK, "open: %s", lif_last_error());
    CHECK(lif_atomic_commit(&af) == LIF_OK, "commit: %s", lif_last_error());
    CHECK(holds(p, ""), "empty commit did not truncate");

    /* two writers at once get two temporary files; the last commit wins */
    lif_atomic_file a, b;
    CHECK(lif_atomic_open(p, &a) == LIF_OK && lif_atomic_open(p, &b) == LIF_OK, "open twice: %s",
          lif_last_error());
    CHECK(a.tmp && b.tmp && strcmp(a.tmp, b.tmp) != 0, "two opens share a temporary file");
    fputs("a", a.f);
    fputs("b", b.f);
    CHECK(lif_atomic_commit(&a) == LIF_OK && lif_atomic_commit(&b) == LIF_OK, "commits: %s",
          lif_last_error());
    CHECK(holds(p, "b"), "the last commit does not win");

    /* a path without a folder: the current one */
    char cwd[1024];
    CHECK(getcwd(cwd, sizeof cwd) != NULL && chdir(tmp) == 0, "chdir %s", tmp);
    CHECK(lif_atomic_open("bare.txt", &af) == LIF_OK, "open bare name: %s", lif_last_error());
    fputs("bare", af.f);
    CHECK(lif_atomic_commit(&af) == LIF_OK, "commit bare name: %s", lif_last_error());
    CHECK(chdir(cwd) == 0, "chdir back");
    CHECK(holds(pathf("bare.txt"), "bare"), "bare name not written in the current folder");
    CHECK(count_temps(tmp) == 0, "temporary files left after commits");
}

static void test_abort(void)
{
    const char *p = pathf("abort.txt");
    spit(p, "keep me\n");
    lif_atomic_file af;
    CHECK(lif_atomic_open(p, &af) == LIF_OK, "open: %s", lif_last_error());
    fputs("this must not land\n", af.f);
    lif_atomic_abort(&af);
    CHECK(af.f == NULL && af.tmp == NULL, "abort does not release the handle");
    CHECK(holds(p, "keep me\n"), "abort changed the file");
    CHECK(count_temps(tmp) == 0, "temporary file left after abort");
    lif_atomic_abort(&af);   /* again: harmless */
    CHECK(lif_atomic_commit(&af) == LIF_ERR_INVALID_ARG, "commit after abort must be refused");
    lif_atomic_abort(NULL);
}

/* A file size limit: writes past it fail with EFBIG (SIGXFSZ ignored). */
static struct rlimit saved_fsize;

static int limit_file_size(rlim_t bytes)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &saved_fsize) != 0)
        return -1;
    rl = saved_fsize;
    rl.rlim_cur = bytes;
    signal(SIGXFSZ, SIG_IGN);
    return setrlimit(RLIMIT_FSIZE, &rl);
}

static void unlimit_file_size(void)
{
    CHECK(setrlimit(RLIMIT_FSIZE, &saved_fsize) == 0, "cannot restore RLIMIT_FSIZE");
}

static void test_failing_writer(void)
{
    const char *p = pathf("fail.txt");
    spit(p, "old content\n");
    if (limit_file_size(4096) != 0) {
        printf("  (no RLIMIT_FSIZE: failing writes not tested)\n");
        return;
    }
    static char big[1 << 16];
    memset(big, 'x', sizeof big);

    /* a write that fails at once (and a writer that does not check it) */
    lif_atomic_file af;
    CHECK(lif_atomic_open(p, &af) == LIF_OK, "open: %s", lif_last_error());
    if (af.f)
        (void)fwrite(big, 1, sizeof big, af.f);
    lif_status st = lif_atomic_commit(&af);
    CHECK(st == LIF_ERR_IO, "a commit of failed writes returned %d", (int)st);
    CHECK(starts_with(lif_last_error(), p) && strstr(lif_last_error(), "write failed"),
          "the message does not name the path and the failure: %s", lif_last_error());
    CHECK(holds(p, "old content\n"), "a failed commit changed the file");
    CHECK(count_temps(tmp) == 0, "temporary file left after a failed commit");

    /* writes that fail only when the commit flushes them */
    CHECK(lif_atomic_open(p, &af) == LIF_OK, "open: %s", lif_last_error());
    for (int i = 0; af.f && i < 60; i++)
        CHECK(fwrite(big, 1, 100, af.f) == 100, "buffered write %d failed early", i);
    st = lif_atomic_commit(&af);
    CHECK(st == LIF_ERR_IO, "a commit of failing buffered writes returned %d", (int)st);
    CHECK(starts_with(lif_last_error(), p) && strstr(lif_last_error(), strerror(EFBIG)),
          "the message does not name the path and the errno text: %s", lif_last_error());
    CHECK(holds(p, "old content\n"), "a failed commit changed the file");
    CHECK(count_temps(tmp) == 0, "temporary file left after a failed commit");

    /* the writers built on it */
    static float w[1 << 14];
    size_t shape[1] = {sizeof w / sizeof w[0]};
    const char *np = pathf("keep.npy");
    spit(np, "old npy\n");
    st = lif_npy_write_f32(np, w, 1, shape);
    CHECK(st == LIF_ERR_IO && starts_with(lif_last_error(), np), "npy: %d %s", (int)st,
          lif_last_error());
    CHECK(holds(np, "old npy\n"), "a failed .npy write changed the file");

    lif_ckpt_tensor t = {.name = "w", .ndim = 1, .shape = {sizeof w / sizeof w[0]}, .data = w};
    lif_ckpt c = {.recipe_json = "{}", .epoch = 0, .n_tensors = 1, .tensors = &t};
    const char *cp = pathf("keep.lif");
    spit(cp, "old checkpoint\n");
    st = lif_ckpt_save(cp, &c);
    CHECK(st == LIF_ERR_IO && starts_with(lif_last_error(), cp), "checkpoint: %d %s", (int)st,
          lif_last_error());
    CHECK(holds(cp, "old checkpoint\n"), "a failed checkpoint save changed the file");

    static uint8_t img[100 * 28 * 28], lab[100];
    const char *ip = pathf("keep-img"), *lp = pathf("keep-lab");
    spit(ip, "old images\n");
    spit(lp, "old labels\n");
    st = lif_idx_write(ip, lp, img, lab, 100, 28, 28, 0);
    CHECK(st == LIF_ERR_IO && starts_with(lif_last_error(), ip), "idx: %d %s", (int)st,
          lif_last_error());
    CHECK(holds(ip, "old images\n") && holds(lp, "old labels\n"), "a failed IDX write changed the files");
    unlimit_file_size();
    CHECK(count_temps(tmp) == 0, "temporary files left after failed writes");

    /* and, without the limit, they commit */
    CHECK(lif_npy_write_f32(np, w, 1, shape) == LIF_OK, "npy: %s", lif_last_error());
    CHECK(lif_ckpt_save(cp, &c) == LIF_OK, "checkpoint: %s", lif_last_error());
    CHECK(lif_idx_write(ip, lp, img, lab, 100, 28, 28, 1) == LIF_OK, "idx: %s", lif_last_error());
    lif_dataset d;
    CHECK(lif_idx_load(ip, lp, &d) == LIF_OK && d.n == 100, "idx reload: %s", lif_last_error());
    lif_dataset_free(&d);
    CHECK(count_temps(tmp) == 0, "temporary files left after writes");
}

static void test_bad_folders(void)
{
    lif_atomic_file af;
    char p[1500];

    /* a missing folder */
    snprintf(p, sizeof p, "%s/no/such/folder/x.txt", tmp);
    memset(&af, 0x55, sizeof af);
    lif_status st = lif_atomic_open(p, &af);
    CHECK(st == LIF_ERR_IO, "open in a missing folder returned %d", (int)st);
    CHECK(starts_with(lif_last_error(), p) && strstr(lif_last_error(), strerror(ENOENT)),
          "the message does not name the path and the errno text: %s", lif_last_error());
    CHECK(af.f == NULL && af.tmp == NULL && af.path == NULL, "a failed open leaves a handle");
    lif_atomic_abort(&af);   /* harmless on a failed open */

    /* an unwritable folder (root writes anyway: then there is nothing to test) */
    char ro[1200];
    snprintf(ro, sizeof ro, "%s/readonly", tmp);
    CHECK(mkdir(ro, 0755) == 0, "mkdir %s", ro);
    snprintf(p, sizeof p, "%s/x.txt", ro);
    spit(p, "old\n");
    CHECK(chmod(ro, 0555) == 0, "chmod %s", ro);
    char probe[1400];
    snprintf(probe, sizeof probe, "%s/probe", ro);
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        close(fd);
        unlink(probe);
        /* root: sysfs refuses new files even to root */
        struct stat sb;
        if (stat("/sys/kernel", &sb) == 0) {
            const char *sp = "/sys/lif_test_atomic.txt";
            st = lif_atomic_open(sp, &af);
            CHECK(st == LIF_ERR_IO && starts_with(lif_last_error(), sp),
                  "open in /sys returned %d: %s", (int)st, lif_last_error());
            printf("  (root writes into read-only folders; /sys instead: %s)\n", lif_last_error());
        } else {
            printf("  (root writes into read-only folders and there is no /sys: not tested)\n");
        }
    } else {
        st = lif_atomic_open(p, &af);
        CHECK(st == LIF_ERR_IO, "open in an unwritable folder returned %d", (int)st);
        CHECK(starts_with(lif_last_error(), p) && strstr(lif_last_error(), strerror(EACCES)),
              "the message does not name the path and the errno text: %s", lif_last_error());
        CHECK(holds(p, "old\n"), "the file changed");
    }
    CHECK(chmod(ro, 0755) == 0, "chmod back %s", ro);

    /* the path is a non-empty folder: the rename fails, nothing is left */
    char dir[1200], inner[1300];
    snprintf(dir, sizeof dir, "%s/adir", tmp);
    snprintf(inner, sizeof inner, "%s/f", dir);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    spit(inner, "inside\n");
    CHECK(lif_atomic_open(dir, &af) == LIF_OK, "open: %s", lif_last_error());
    fputs("x", af.f);
    st = lif_atomic_commit(&af);
    CHECK(st == LIF_ERR_IO && starts_with(lif_last_error(), dir) &&
              strstr(lif_last_error(), "rename"),
          "commit over a folder: %d %s", (int)st, lif_last_error());
    struct stat sb;
    CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && holds(inner, "inside\n"),
          "the folder changed");

    /* no path */
    CHECK(lif_atomic_open("", &af) == LIF_ERR_INVALID_ARG, "empty path accepted");
    CHECK(lif_atomic_open(NULL, &af) == LIF_ERR_INVALID_ARG, "NULL path accepted");
    CHECK(lif_atomic_open(p, NULL) == LIF_ERR_INVALID_ARG, "NULL handle accepted");
    CHECK(count_temps(tmp) == 0 && count_temps(ro) == 0 && count_temps(dir) == 0,
          "temporary files left");
}

int main(void)
{
    tmp = test_tmpdir("atomic");
    umask(022);
    test_commit();
    test_abort();
    test_failing_writer();
    test_bad_folders();
    return test_finish("test_atomic");
}
