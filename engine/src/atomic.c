/* atomic.c — temp file, fsync, rename, fsync the folder (lif/atomic.h). */
#define _POSIX_C_SOURCE 200809L

#include "lif/atomic.h"

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TMP_SUFFIX ".tmp."
#define TMP_RANDOM 6
#define TMP_TRIES 100

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Creates `<path>.tmp.XXXXXX` exclusively (as mkstemp does, but with mode
 * 0666 less the umask, as fopen would create the file) into tmp, which has
 * room for it. Returns the fd or -1 with errno. */
static int create_tmp(const char *path, char *tmp)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static atomic_uint_fast64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed = mix((uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_nsec ^
                        (uint64_t)ts.tv_sec << 20 ^ (uint64_t)(uintptr_t)tmp);
    size_t len = strlen(path);
    memcpy(tmp, path, len);
    memcpy(tmp + len, TMP_SUFFIX, sizeof TMP_SUFFIX - 1);
    char *x = tmp + len + sizeof TMP_SUFFIX - 1;
    x[TMP_RANDOM] = '\0';
    for (int tries = 0; tries < TMP_TRIES; tries++) {
        uint64_t r = mix(seed + 0x9e3779b97f4a7c15ull * (atomic_fetch_add(&counter, 1) + 1));
        for (int i = 0; i < TMP_RANDOM; i++, r /= 62)
            x[i] = abc[r % 62];
        int fd = lif_io_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

static void release(lif_atomic_file *af)
{
    free(af->path);
    free(af->tmp);
    memset(af, 0, sizeof *af);
}

lif_status lif_atomic_open(const char *path, lif_atomic_file *af)
{
    if (!af)
        return lif_error(LIF_ERR_INVALID_ARG, "atomic write: no file handle");
    memset(af, 0, sizeof *af);
    if (!path || !*path)
        return lif_error(LIF_ERR_INVALID_ARG, "atomic write: no path");
    size_t n = strlen(path);
    af->path = malloc(n + 1);
    af->tmp = malloc(n + sizeof TMP_SUFFIX + TMP_RANDOM);
    if (!af->path || !af->tmp) {
        release(af);
        return lif_error(LIF_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(af->path, path, n + 1);
    int fd = create_tmp(path, af->tmp);
    if (fd < 0) {
        int e = errno;
        release(af);
        return lif_error(LIF_ERR_IO, "%s: cannot create a temporary file next to it: %s", path,
                         strerror(e));
    }
    af->f = lif_io_fdopen(fd, "wb");
    if (!af->f) {
        int e = errno;
        close(fd);
        unlink(af->tmp);
        release(af);
        return lif_error(LIF_ERR_IO, "%s: cannot open the temporary file: %s", path, strerror(e));
    }
    return LIF_OK;
}

void lif_atomic_abort(lif_atomic_file *af)
{
    if (!af)
        return;
    if (af->f)
        fclose(af->f);
    if (af->tmp)
        unlink(af->tmp);
    release(af);
}

/* fsync of the folder holding path, so the rename is durable. Returns 0, or
 * an errno when the folder could be opened but not synced. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) {
        dir = strdup(".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        dir = malloc(n + 1);
        if (dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
        }
    }
    if (!dir)
        return ENOMEM;
    int e = 0;
    int fd = lif_io_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    free(dir);
    if (fd < 0)
        return 0;   /* a folder we may write into but not read: nothing to sync through */
    if (lif_io_fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP && errno != EROFS)
        e = errno;
    close(fd);
    return e;
}

lif_status lif_atomic_commit(lif_atomic_file *af)
{
    if (!af || !af->f || !af->tmp)
        return lif_error(LIF_ERR_INVALID_ARG, "atomic write: commit of a file that is not open");
    const char *what = NULL;
    int err = 0;
    if (ferror(af->f)) {
        what = "write failed (an earlier write to the file reported an error)";
        err = -1;
    } else if (fflush(af->f) != 0) {
        what = "write failed";
        err = errno;
    } else if (lif_io_fsync(lif_io_fileno(af->f)) != 0) {
        what = "fsync failed";
        err = errno;
    }
    FILE *f = af->f;
    af->f = NULL;
    if (fclose(f) != 0 && !what) {
        what = "close failed";
        err = errno;
    }
    if (!what && lif_io_rename(af->tmp, af->path) != 0) {
        what = "cannot rename the temporary file over it";
        err = errno;
    }
    if (what) {
        lif_status st = err < 0 ? lif_error(LIF_ERR_IO, "%s: %s", af->path, what)
                                : lif_error(LIF_ERR_IO, "%s: %s: %s", af->path, what,
                                            strerror(err ? err : EIO));
        unlink(af->tmp);
        release(af);
        return st;
    }
    err = sync_dir(af->path);
    lif_status st = err ? lif_error(LIF_ERR_IO, "%s: renamed into place, but syncing its folder "
                                                "failed: %s", af->path, strerror(err))
                        : LIF_OK;
    release(af);
    return st;
}
