/* sandbox_result.h — the parent side of a sandboxed extraction, shared by
 * sandbox_run (sandbox.h) and the extraction server's callers
 * (extract_server.h): read what the child writes (sandbox_child.h), then
 * turn its end into a document or one clear error:
 *   "extractor timed out after N s"          killed at the wall-clock deadline
 *   "extractor crashed (signal N)"
 *   "extractor exceeded memory limit (N MB)" its stderr mentions an allocation failure
 *   "extractor exceeded CPU limit (N s)"     SIGXCPU, or SIGKILL past the CPU limit
 *   "extractor exited with status N: LINE"   LINE = last line of its stderr
 *   "extractor output too large (over N bytes)"
 *   the worker's own error message.
 */
#ifndef PRECIS_SANDBOX_RESULT_H
#define PRECIS_SANDBOX_RESULT_H

#include <stddef.h>
#include <sys/resource.h>

#include "extractors/sandbox.h"

#define SANDBOX_MAX_RESULT_BYTES ((size_t)1 << 30)  /* refuse larger child output */
#define SANDBOX_STDERR_TAIL      4096               /* bytes of child stderr kept */

/* What the child wrote: its result message and the tail of its stderr. */
typedef struct sandbox_output {
    char *result;
    size_t result_len, result_cap;
    char tail[SANDBOX_STDERR_TAIL + 1];
    size_t tail_len;
    int too_large;
    int ocr_pages;           /* 'P' bytes ahead of the result: pages whose OCR started */
    document *doc;           /* the result already parsed (sandbox_output_parse), until taken */
    int parsed;              /* sandbox_output_parse ran: doc, or parse_err when it failed */
    perr parse_err;
} sandbox_output;

/* Read the result and stderr pipes (made non-blocking here) until both are
 * at EOF (0), or until *deadline (monotonic seconds) passes or the output is
 * too large (-1: the child is to be killed). o must be zeroed. Each OCR'd
 * page the child reports moves *deadline lim->ocr_page_seconds later, up to
 * lim->ocr_max_seconds in all (sandbox.h); *deadline is left at the last
 * value, for reaping. lim must be resolved. */
int sandbox_output_read(int result_fd, int err_fd, const sandbox_limits *lim, double *deadline, sandbox_output *o);

/* Parse a complete 'D' result now, while the child is still exiting, so
 * the caller does not wait for its end before parsing. sandbox_outcome takes
 * the document only when the child then exited cleanly; otherwise it is
 * dropped and the child's failure reported as before. */
void sandbox_output_parse(sandbox_output *o);

/* Seconds the child's OCR'd pages added to the wall and CPU limits. */
int sandbox_ocr_extension(const sandbox_output *o, const sandbox_limits *lim);

/* Frees the result and a parsed document nobody took. */
void sandbox_output_free(sandbox_output *o);

/* How the child ended: its wait status and rusage, and whether the parent
 * had it killed at the deadline (or for too much output). Fills *out (0) or
 * err (-1) as the header comment says. lim must be resolved. */
int sandbox_outcome(sandbox_output *o, int status, const struct rusage *ru, int killed,
                    const sandbox_limits *lim, document **out, perr *err);

#endif
