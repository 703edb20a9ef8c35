/* error.c — filling perr messages (see error.h for the convention). */
#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* err->msg = "<head>: <tail>", truncated to fit; tail may alias err->msg. */
static void join_into(perr *err, const char *head, const char *tail)
{
    char joined[2 * PERR_MSG_MAX + 4];
    snprintf(joined, sizeof joined, "%s: %s", head, tail);
    size_t n = strlen(joined);
    if (n >= sizeof err->msg)
        n = sizeof err->msg - 1;
    memcpy(err->msg, joined, n);
    err->msg[n] = '\0';
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
    char context[PERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    join_into(err, context, err->msg);
    return -1;
}

int perr_errno(perr *err, const char *fmt, ...)
{
    int saved = errno;
    if (!err)
        return -1;
    char context[PERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    join_into(err, context, strerror(saved));
    return -1;
}
