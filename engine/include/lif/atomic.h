/* lif/atomic.h — replace a file all at once, or not at all.
 *
 * Every file lif writes whole (checkpoints, .npy and IDX files, rewritten
 * logs, benchmark results) goes through here: the new content is written
 * to a temporary file in the target's folder (`<path>.tmp.XXXXXX`, a
 * unique name created exclusively), flushed and fsync'ed, renamed over the
 * target, and the folder is fsync'ed so the rename survives a crash. Until
 * the rename, the file at the path is untouched; on any failure the
 * temporary file is removed.
 *
 *     lif_atomic_file af;
 *     if ((st = lif_atomic_open(path, &af)) != LIF_OK)
 *         return st;
 *     fprintf(af.f, ...);                 // or fwrite, or a dup of fileno(af.f)
 *     return lif_atomic_commit(&af);      // or lif_atomic_abort(&af) to give up
 */
#ifndef LIF_ATOMIC_H
#define LIF_ATOMIC_H

#include <stdio.h>

#include "lif/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lif_atomic_file {
    FILE *f;        /* write the new content here (binary mode) */
    char *path;     /* the target (a copy) */
    char *tmp;      /* the temporary file next to it */
} lif_atomic_file;

/* Creates the temporary file for path (mode 0666 less the umask, as fopen
 * would) and opens af->f on it.
 * Returns LIF_OK; LIF_ERR_INVALID_ARG (no path); LIF_ERR_NOMEM; LIF_ERR_IO
 * when the temporary file cannot be created (a missing or unwritable
 * folder): the detail names path and the errno text. On failure *af is
 * zeroed and nothing was created. */
lif_status lif_atomic_open(const char *path, lif_atomic_file *af);

/* Flushes and fsyncs af->f, closes it, renames the temporary file over the
 * path and fsyncs the folder. Always releases af (zeroed afterwards).
 * Returns LIF_OK; LIF_ERR_IO with the detail naming the path, the step
 * ("write failed", "fsync failed", "cannot rename ...") and the errno text:
 * the temporary file is then removed and the file at the path is as it was.
 * A write error left on af->f (ferror) fails the commit too ("write
 * failed"; the errno text is the writer's to report, with its own message,
 * when it checks its writes and aborts). The one
 * failure after the rename is a failed fsync of the folder ("renamed, but
 * syncing the folder failed"); a file system that cannot sync folders
 * (EINVAL, ENOTSUP) is not an error. */
lif_status lif_atomic_commit(lif_atomic_file *af);

/* Closes and removes the temporary file, leaving the path as it was, and
 * zeroes af. Safe on a zeroed or already released af. */
void lif_atomic_abort(lif_atomic_file *af);

#ifdef __cplusplus
}
#endif
#endif
