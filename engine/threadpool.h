/* threadpool.h — a small fixed pool of worker threads for the engine.
 *
 * threadpool_run() splits the index range [0, n) into chunks (eight per
 * thread unless the caller asks for fewer), which the threads (thread 0 is
 * the caller) claim in turn, and returns when every chunk is done: a
 * thread that the OS or the hypervisor pauses leaves its share to the
 * others instead of holding up the job. Chunk boundaries depend only on n,
 * the thread count and the chunks asked for, and a task must compute each
 * index with the same code whatever thread runs it, so results never
 * depend on the number of threads or on which thread ran what. One job
 * runs at a time; the pool is not reentrant (a task must not call
 * threadpool_run on the same pool).
 */
#ifndef PRECIS_THREADPOOL_H
#define PRECIS_THREADPOOL_H

#include <stdint.h>

#include "common/error.h"

typedef struct threadpool threadpool;

/* Work on indices [begin, end) (one chunk; a thread may run several
 * chunks of a job); `thread` is 0..n_threads-1 (for scratch). */
typedef void (*threadpool_fn)(void *arg, int64_t begin, int64_t end, int thread);

/* n_threads >= 1 (the caller counts as one; n_threads-1 workers start). */
int threadpool_new(threadpool **out, int n_threads, perr *err);
void threadpool_free(threadpool *tp);
int threadpool_size(const threadpool *tp);

/* Chunks per thread of threadpool_run: enough that a thread paused for a
 * while (another process, a busy hypervisor) costs the job little, few
 * enough that the claims stay negligible. */
#define THREADPOOL_CHUNKS_PER_THREAD 8

/* Run fn over [0, n) in THREADPOOL_CHUNKS_PER_THREAD chunks per thread;
 * blocks until done. */
void threadpool_run(threadpool *tp, int64_t n, threadpool_fn fn, void *arg);

/* The same in chunks_per_thread (>= 1) chunks per thread, for tasks whose
 * every call pays a set-up that fewer, larger chunks amortize. */
void threadpool_run_chunked(threadpool *tp, int64_t n, int chunks_per_thread, threadpool_fn fn,
                            void *arg);

#endif
