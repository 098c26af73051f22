/* fileio.c — opening the files a user names as input (checkpoints, data,
 * configs, .npy, reports): regular files only, never blocking on a FIFO,
 * and errors that say what the path is. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

const char *lif_file_kind(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO (named pipe)";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFLNK: return "a symbolic link";
    default: return "not a regular file";
    }
}

lif_status lif_path_error(const char *path, int err)
{
    struct stat sb;
    if (err == ENOENT && lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
        char to[512];
        ssize_t n = readlink(path, to, sizeof to - 1);
        to[n > 0 ? n : 0] = '\0';
        return lif_error(LIF_ERR_IO, "%s: is a dangling symbolic link (to %s, which does not "
                         "exist)", path, to);
    }
    if (err == EACCES || err == EPERM)
        return lif_error(LIF_ERR_IO, "%s: cannot open: permission denied", path);
    return lif_error(LIF_ERR_IO, "%s: cannot open: %s", path, strerror(err));
}

lif_status lif_open_input(const char *path, int *fd_out, uint64_t *size)
{
    *fd_out = -1;
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return lif_path_error(path, errno);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return lif_error(LIF_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return lif_error(LIF_ERR_IO, "%s: is %s, not a regular file", path,
                         lif_file_kind((unsigned)sb.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return lif_error(LIF_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    }
    if (size)
        *size = sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
    *fd_out = fd;
    return LIF_OK;
}

lif_status lif_fopen_input(const char *path, FILE **out)
{
    int fd;
    *out = NULL;
    lif_status st = lif_open_input(path, &fd, NULL);
    if (st != LIF_OK)
        return st;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return lif_error(LIF_ERR_NOMEM, "%s: cannot open a stream: %s", path, strerror(e));
    }
    *out = f;
    return LIF_OK;
}
