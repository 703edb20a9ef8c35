/* extract_server.h — sandboxed extraction from a multi-threaded process.
 *
 * fork() in a multi-threaded process copies only the calling thread: a lock
 * another thread holds at that moment (malloc, stdio, GLib, libxml2, a
 * library global) stays locked forever in the child, and the extraction
 * would stall until its deadline turned it into a false "extractor timed
 * out". The extraction server avoids that: it is a small single-threaded
 * process forked by extract_server_start BEFORE the process starts any
 * thread, and every extraction is forked from it (safe: it has one thread).
 * Its children get exactly sandbox_run's limits and descriptors
 * (sandbox_child.h) and their end is classified by the same code
 * (sandbox_result.h), so extract_server_run gives the same documents and the
 * same errors as sandbox_extract (sandbox.h):
 *   "extractor timed out after 30 s", "extractor crashed (signal 11)",
 *   "extractor exceeded memory limit (1024 MB)", "extractor exceeded CPU
 *   limit (60 s)", "extractor exited with status 1: <line>", or the
 *   extractor's own error.
 * The document bytes travel in a memfd; the result and stderr pipes go
 * straight from the child to the caller (extract_server_wire.h).
 *
 * Thread-safety: extract_server_run and extract_server_call may be called
 * from any number of threads at once; each call has its own child, pipes and
 * deadline, so one slow document never delays another. The caller enforces
 * the wall-clock deadline and has the server kill the child when it passes.
 *
 * The server closes every descriptor it inherited but its control socket
 * and stderr (stdin and stdout become /dev/null), exits when
 * extract_server_stop closes that socket or the parent dies (EOF, and
 * PR_SET_PDEATHSIG: start it from the thread that lives longest, i.e. the
 * main thread), and kills and reaps its children first. Its children die
 * with it (PR_SET_PDEATHSIG). No zombie is left: the server reaps its
 * children, extract_server_stop reaps the server.
 *
 * When the server is gone (killed), every call fails with
 * EXTRACT_SERVER_GONE and "extraction server is gone": a transient failure,
 * the job can be retried. It is not restarted: a new server forked from the
 * now multi-threaded process would inherit the very locks it exists to
 * avoid.
 */
#ifndef PRECIS_EXTRACT_SERVER_H
#define PRECIS_EXTRACT_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "extractors/document.h"
#include "extractors/extract.h"
#include "extractors/sandbox.h"

typedef struct extract_server extract_server;

/* The call failed because the server is gone (transient); -1 is every
 * other failure, as sandbox_extract's. */
#define EXTRACT_SERVER_GONE (-2)

/* Fork the server. Call it first, while the process has one thread: before
 * the model loads and before any worker, consumer, HTTP or lifecycle thread
 * starts (the commands check it with thread_count(), common/thread_count.h).
 * A thread alive at this fork could hold a lock the server's children need. */
int extract_server_start(extract_server **out, perr *err);

/* Close the control socket; the server kills what still runs and exits;
 * wait for it. NULL is a no-op. No call may be running. */
void extract_server_stop(extract_server *s);

/* extract_document(data, len, opts) in a limited child of the server:
 * 0 with *out, -1 with err as sandbox_extract, or EXTRACT_SERVER_GONE.
 * limits NULL or 0 fields = defaults. */
int extract_server_run(extract_server *s, const void *data, size_t len, const extract_options *opts,
                       const sandbox_limits *limits, document **out, perr *err);

/* Any worker in a limited child of the server (as sandbox_run): the child
 * gets its own copy of the arg_len bytes at arg, and worker must be a
 * function of this program (it runs in the server's copy of it). */
int extract_server_call(extract_server *s, sandbox_worker worker, const void *arg, size_t arg_len,
                        const sandbox_limits *limits, document **out, perr *err);

/* The server's pid (tests, logs); -1 once it is known to be gone. */
pid_t extract_server_pid(extract_server *s);

/* Whether the server still runs: 0 (and reaped, known gone) once it has
 * ended, whether or not a request noticed. Thread-safe. */
int extract_server_alive(extract_server *s);

#endif
