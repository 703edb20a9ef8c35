/* error.h — the project's error convention.
 *
 * Every fallible function returns 0 on success and -1 on failure. On failure
 * it fills the caller-supplied `perr` with one human-readable sentence saying
 * what went wrong and where (file, key, tensor, line...). Callees never print;
 * only the top level (daemon/) logs or prints the message. Callers that add
 * context use perr_prefix() so the final text reads outermost-first:
 *     "loading model /m.gguf: tensor blk.0.attn_q.weight: offset past end of file"
 * A NULL perr is allowed and simply discards the message.
 */
#ifndef PRECIS_ERROR_H
#define PRECIS_ERROR_H

#include <stddef.h>

#define PERR_MSG_MAX 512

typedef struct perr {
    char msg[PERR_MSG_MAX];
} perr;

/* Set the message; always returns -1 so callers can `return perr_set(...)`. */
int perr_set(perr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepend "<context>: " to the existing message; always returns -1. */
int perr_prefix(perr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set the message to "<context>: <strerror(errno)>"; always returns -1. */
int perr_errno(perr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
