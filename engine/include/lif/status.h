/* lif/status.h — status codes and the last-error detail.
 *
 * Every fallible function of liblif returns a lif_status. On failure it also
 * records a one-line detail (naming the file, flag or shape at fault) that
 * lif_last_error() returns; the detail is thread-local. The library never
 * calls exit() and never prints; callers turn statuses into messages. */
#ifndef LIF_STATUS_H
#define LIF_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lif_status {
    LIF_OK = 0,
    LIF_ERR_INVALID_ARG,  /* a value out of range, a wrong shape, a bad flag */
    LIF_ERR_NOMEM,        /* an allocation failed */
    LIF_ERR_IO,           /* open/read/write/rename failed */
    LIF_ERR_FORMAT,       /* a file is malformed: bad magic, dims, counts, truncated */
    LIF_ERR_CORRUPT,      /* a checksum does not match */
    LIF_ERR_UNSUPPORTED,  /* a feature this build or CPU cannot do */
    LIF_ERR_NOT_FOUND,    /* a named backend, kernel or file does not exist */
    LIF_ERR_INTERNAL,     /* a bug in lif */
    LIF_ERR_CANCELLED,    /* stopped on request (a plan's stop callback, lif_plan_set_stop) */
    LIF_STATUS_COUNT
} lif_status;

/* Static text for a status code; never NULL. */
const char *lif_status_str(lif_status s);

/* The detail of the last failure on this thread ("" if none). */
const char *lif_last_error(void);

/* Records a printf-style detail for status s and returns s, so callers can
 * write `return lif_error(LIF_ERR_FORMAT, "%s: bad magic", path);`. */
lif_status lif_error(lif_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Clears the detail of this thread. */
void lif_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif
