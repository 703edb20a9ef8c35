/* sandbox.h — run an extraction in a forked, resource-limited child.
 *
 * The child gets RLIMIT_AS (memory: the address space it had at fork plus
 * memory_mb, so a parent that maps a large model does not starve it),
 * RLIMIT_CPU, no core dumps, stdin from /dev/null, stdout/stderr into a pipe
 * the parent drains, and every other inherited descriptor closed. It sends
 * the document as JSON (or its error message) through a pipe. The parent
 * polls with a wall-clock deadline, SIGKILLs the child when it passes,
 * always reaps it, and turns every failure into one clear error:
 *   "extractor timed out after 30 s"
 *   "extractor crashed (signal 11)"
 *   "extractor exceeded memory limit (1024 MB)"
 *   "extractor exceeded CPU limit (60 s)"
 *   "extractor exited with status 1: <last line it wrote to stderr>"
 * or the extractor's own error ("encrypted PDF: password required"...).
 *
 * OCR: the child writes one byte 'P' on the result pipe as it starts each
 * page's OCR (extract_ocr_page_started, extract.h), ahead of its result; each
 * moves the wall-clock deadline and the CPU limit ocr_page_seconds further,
 * up to ocr_max_seconds in all (the CPU hard limit is cpu_seconds +
 * ocr_max_seconds from the start; the child raises its soft limit). A
 * scanned bundle gets time in proportion to its pages; a text PDF keeps the
 * base limits. A hostile child can claim pages it does not OCR, but never
 * more than ocr_max_seconds.
 *
 * Caveat: fork() in a multi-threaded parent only copies the calling thread;
 * a lock held elsewhere at that moment (GLib's type lock, a library global)
 * stays locked in the child, which would stall and be reported as "timed
 * out" although the document is good. So call these only from a
 * single-threaded process (precis extract, tests); a multi-threaded one
 * (serve, run) extracts through the extraction server (extract_server.h),
 * forked before any thread, which gives the same results and errors. The
 * child's side is sandbox_child.h, the reading and classifying
 * sandbox_result.h, both shared with the server.
 */
#ifndef PRECIS_SANDBOX_H
#define PRECIS_SANDBOX_H

#include <stddef.h>

#include "common/error.h"
#include "extractors/document.h"
#include "extractors/extract.h"

typedef struct sandbox_limits {
    int memory_mb;      /* default 1024 */
    int cpu_seconds;    /* default 60 */
    int wall_seconds;   /* default 30 */
    int ocr_page_seconds; /* wall and CPU seconds each OCR'd page adds (default 20) */
    int ocr_max_seconds;  /* at most this many added in all (default 600) */
} sandbox_limits;

#define SANDBOX_DEFAULT_MEMORY_MB 1024
#define SANDBOX_DEFAULT_CPU_S     60
#define SANDBOX_DEFAULT_WALL_S    30
#define SANDBOX_DEFAULT_OCR_PAGE_S 20
#define SANDBOX_DEFAULT_OCR_MAX_S 600

/* Work done in the child: fill *out (0) or err (-1). */
typedef int (*sandbox_worker)(void *arg, document **out, perr *err);

/* Run worker(arg) in a limited child; limits NULL or 0 fields = defaults.
 * On success *out is the document rebuilt in the parent. */
int sandbox_run(sandbox_worker worker, void *arg, const sandbox_limits *limits,
                document **out, perr *err);

/* extract_document() inside sandbox_run(). */
int sandbox_extract(const void *data, size_t len, const extract_options *opts,
                    const sandbox_limits *limits, document **out, perr *err);

#endif
