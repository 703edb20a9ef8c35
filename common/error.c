/* error.c — filling perr messages (see error.h for the convention). */
#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* err->msg = "<context>: <tail>", context formatted from fmt and ap,
 * truncated to fit; tail may alias err->msg. Returns -1. */
static int join_into(perr *err, const char *tail, const char *fmt, va_list ap)
{
    char context[PERR_MSG_MAX];
    vsnprintf(context, sizeof context, fmt, ap);
    char joined[2 * PERR_MSG_MAX + 4];
    snprintf(joined, sizeof joined, "%s: %s", context, tail);
    size_t n = strlen(joined);
    if (n >= sizeof err->msg)
        n = sizeof err->msg - 1;
    memcpy(err->msg, joined, n);
    err->msg[n] = '\0';
    return -1;
}

int perr_set(perr *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int perr_prefix(perr *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    join_into(err, err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int perr_errno(perr *err, const char *fmt, ...)
{
    int saved = errno;
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    join_into(err, strerror(saved), fmt, ap);
    va_end(ap);
    return -1;
}
