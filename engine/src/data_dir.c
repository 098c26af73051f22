/* data_dir.c — finds the MNIST-format train and test files under a folder. */
#define _POSIX_C_SOURCE 200809L

#include "lif/data.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static const char *const dir_subs[] = {"", "/MNIST/raw", "/FashionMNIST/raw", "/raw"};
#define DIR_NSUBS (int)(sizeof dir_subs / sizeof dir_subs[0])

static const char *const dir_names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* Sets path to base/name or base/name.gz (plain preferred): 1 if one is a
 * regular file, 0 if neither exists; -1 (error recorded) if one exists but
 * is no regular file (a directory, a FIFO, a dangling symbolic link) or
 * cannot be looked at (permission denied). */
static int find_one(const char *base, const char *name, char *path, size_t cap,
                    lif_status *err)
{
    static const char *const ext[] = {"", ".gz"};
    for (int i = 0; i < 2; i++) {
        struct stat st;
        int n = snprintf(path, cap, "%s/%s%s", base, name, ext[i]);
        if (n <= 0 || (size_t)n >= cap)
            continue;
        if (stat(path, &st) == 0) {
            if (S_ISREG(st.st_mode))
                return 1;
            *err = lif_error(LIF_ERR_IO, "%s: is %s, not a regular file", path,
                             lif_file_kind((unsigned)st.st_mode));
            return -1;
        }
        if (errno == EACCES || (errno == ENOENT && lstat(path, &st) == 0)) {
            *err = lif_path_error(path, errno);
            return -1;
        }
    }
    path[0] = '\0';
    return 0;
}

lif_status lif_data_open_dir(const char *dir, lif_dataset *train, lif_dataset *test)
{
    char base[1024], found[4][1024], note[1200] = "";
    int need[4], best = 0;
    struct stat st;
    lif_status s;

    if (train)
        memset(train, 0, sizeof *train);
    if (test)
        memset(test, 0, sizeof *test);
    if (!dir)
        return lif_error(LIF_ERR_INVALID_ARG, "lif_data_open_dir: dir is NULL");
    if (stat(dir, &st) != 0)
        return errno == EACCES ? lif_error(LIF_ERR_IO, "%s: permission denied", dir)
                               : lif_error(LIF_ERR_NOT_FOUND, "%s: no such data directory (%s)",
                                           dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return lif_error(LIF_ERR_NOT_FOUND, "%s: is %s, not a directory", dir,
                         lif_file_kind((unsigned)st.st_mode));
    if (access(dir, R_OK | X_OK) != 0 && errno == EACCES)
        return lif_error(LIF_ERR_IO, "%s: permission denied", dir);

    /* Which of the four files this call needs (all four when probing). */
    for (int k = 0; k < 4; k++)
        need[k] = (k < 2) ? (train != NULL || !test) : (test != NULL || !train);

    for (int i = 0; i < DIR_NSUBS; i++) {
        int n = snprintf(base, sizeof base, "%s%s", dir, dir_subs[i]);
        if (n < 0 || (size_t)n >= sizeof base)
            continue;
        int have = 0, want = 0;
        const char *miss = NULL;
        for (int k = 0; k < 4; k++) {
            if (!need[k])
                continue;
            want++;
            int f = find_one(base, dir_names[k], found[k], sizeof found[k], &s);
            if (f < 0)
                return s;
            if (f)
                have++;
            else if (!miss)
                miss = dir_names[k];
        }
        if (have == want)
            goto load;
        if (have > best) {
            best = have;
            snprintf(note, sizeof note, "; %s has %d of the %d files but lacks %s[.gz]",
                     base, have, want, miss);
        }
    }
    char list[160] = "";
    for (int k = 0; k < 4; k++) {
        if (!need[k])
            continue;
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s[.gz]", len ? ", " : "",
                 dir_names[k]);
    }
    return lif_error(LIF_ERR_NOT_FOUND,
                     "%s: no MNIST-format data: looked for %s in %s, %s/MNIST/raw, "
                     "%s/FashionMNIST/raw and %s/raw%s",
                     dir, list, dir, dir, dir, dir, note);

load:
    if (train && (s = lif_idx_load(found[0], found[1], train)))
        goto fail;
    if (test && (s = lif_idx_load(found[2], found[3], test)))
        goto fail;
    if (train && test && (train->rows != test->rows || train->cols != test->cols)) {
        s = lif_error(LIF_ERR_FORMAT, "%s: training images are %dx%d but %s holds %dx%d",
                      train->images_path, train->rows, train->cols, test->images_path,
                      test->rows, test->cols);
        goto fail;
    }
    return LIF_OK;

fail:
    lif_dataset_free(train);
    lif_dataset_free(test);
    return s;
}
