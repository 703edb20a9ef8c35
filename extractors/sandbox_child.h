/* sandbox_child.h — the child side of a sandboxed extraction, shared by
 * sandbox_run (sandbox.h) and the extraction server (extract_server.h).
 *
 * sandbox_child_main runs in a freshly forked child and never returns:
 * it empties the signal mask, sends stdin to /dev/null and stdout/stderr
 * into err_fd, moves result_fd to fd 3, closes every other descriptor,
 * applies the limits (RLIMIT_CORE 0, RLIMIT_CPU, RLIMIT_AS = address space
 * at that moment + memory_mb), runs the worker and writes its outcome on fd
 * 3: 'D' + the document as JSON, or 'E' + the error message. Exit status 0
 * when the outcome was written, 1 otherwise, 125 when the descriptors could
 * not be set up. The parent side (sandbox_result.h) reads and classifies it.
 */
#ifndef PRECIS_SANDBOX_CHILD_H
#define PRECIS_SANDBOX_CHILD_H

#include "extractors/sandbox.h"

/* The result pipe's descriptor in the child (see below). */
#define SANDBOX_RESULT_FD 3

/* A copy of *limits (NULL = all defaults) with every field <= 0 replaced by
 * its default. */
sandbox_limits sandbox_limits_resolve(const sandbox_limits *limits);

/* In the child only: never returns. lim must be resolved. */
_Noreturn void sandbox_child_main(sandbox_worker worker, void *arg, const sandbox_limits *lim, int result_fd,
                                  int err_fd);

#endif
