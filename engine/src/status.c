#include "lif/status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[1024];

static const char *const status_text[] = {
    [LIF_OK] = "success",
    [LIF_ERR_INVALID_ARG] = "invalid argument",
    [LIF_ERR_NOMEM] = "out of memory",
    [LIF_ERR_IO] = "input/output error",
    [LIF_ERR_FORMAT] = "malformed file",
    [LIF_ERR_CORRUPT] = "corrupt data (checksum mismatch)",
    [LIF_ERR_UNSUPPORTED] = "not supported",
    [LIF_ERR_NOT_FOUND] = "not found",
    [LIF_ERR_INTERNAL] = "internal error",
    [LIF_ERR_CANCELLED] = "cancelled",
};
_Static_assert(sizeof status_text / sizeof status_text[0] == LIF_STATUS_COUNT,
               "one text per status");

const char *lif_status_str(lif_status s)
{
    if ((unsigned)s >= LIF_STATUS_COUNT)
        return "unknown status";
    return status_text[s];
}

const char *lif_last_error(void) { return last_error; }

void lif_error_clear(void) { last_error[0] = '\0'; }

lif_status lif_error(lif_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}
