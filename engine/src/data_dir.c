/* data_dir.c — finds the MNIST-format train and test files under a folder. */
#define _POSIX_C_SOURCE 200809L

#include "lif/data.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const dir_subs[] = {"", "/MNIST/raw", "/FashionMNIST/raw", "/raw"};
#define DIR_NSUBS (int)(sizeof dir_subs / sizeof dir_subs[0])

static const char *const dir_names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Sets path to base/name or base/name.gz (plain preferred); 0 if neither. */
static int find_one(const char *base, const char *name, char *path, size_t cap)
{
    static const char *const ext[] = {"", ".gz"};
    for (int i = 0; i < 2; i++) {
        int n = snprintf(path, cap, "%s/%s%s", base, name, ext[i]);
        if (n > 0 && (size_t)n < cap && is_file(path))
            return 1;
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
        return lif_error(LIF_ERR_NOT_FOUND, "%s: no such data directory (%s)", dir,
                         strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return lif_error(LIF_ERR_NOT_FOUND, "%s: not a directory", dir);

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
            if (find_one(base, dir_names[k], found[k], sizeof found[k]))
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
