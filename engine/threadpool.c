/* threadpool.c — fixed worker pool with one job at a time (see threadpool.h).
 *
 * The caller publishes a job and bumps a generation counter; the caller
 * and the workers claim chunks of it from an atomic counter, and the last
 * worker to finish tells the caller. A decode step is about 180 short
 * jobs (each matmul, each attention), so waiting first polls the atomic
 * counters for a while before it sleeps on a condition variable: a worker
 * that slept costs a futex wake-up, and in a virtual machine a vCPU that
 * went idle must be scheduled again by the host, which may have given its
 * core to another guest meanwhile. The poll pauses a few times, then
 * yields the CPU between polls, so on an oversubscribed machine (other
 * daemons, the database) a waiter hands its core to the thread it waits
 * for instead of burning it. The poll lasts SPIN_MICROS, longer than the
 * gaps inside a decode step (the last chunks of a large matmul, sampling
 * between steps); idle pools sleep.
 */
#include "engine/threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotonic.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* How long a waiter polls before it sleeps: the first SPIN_PAUSES polls
 * with a pause instruction between them, the rest with sched_yield().
 * (A count of polls would not do: a yield takes 0.4 us on an idle core
 * and a whole time slice on a busy one.) */
#define SPIN_PAUSES 64
#define SPIN_MICROS 1000

/* Poll interval i of a wait; returns 0 once the waiter should sleep.
 * `start` is the wait's clock at its first yield (i == SPIN_PAUSES). */
static int spin_wait_step(int i, int64_t *start)
{
    if (i < SPIN_PAUSES) {
        cpu_relax();
        return 1;
    }
    const int64_t now = monotonic_us();
    if (i == SPIN_PAUSES)
        *start = now;
    else if (now - *start >= SPIN_MICROS)
        return 0;
    sched_yield();
    return 1;
}

typedef struct worker {
    threadpool *pool;
    int index;
    pthread_t thread;
} worker;

struct threadpool {
    int n_threads;
    worker *workers;          /* n_threads - 1 entries (index 1..) */
    int n_started;

    pthread_mutex_t mutex;
    pthread_cond_t work_ready;
    pthread_cond_t work_done;
    _Atomic uint64_t generation; /* bumped (under the mutex) for every job */
    atomic_int pending;          /* workers still running the current job */
    atomic_int stopping;

    threadpool_fn fn;
    void *arg;
    int64_t n;
    int64_t chunk;               /* indices per chunk of the current job */
    _Atomic int64_t next;        /* first index not yet claimed */
};

/* Indices per chunk when the job is cut into `chunks_per_thread` chunks
 * per thread: depends only on n and the thread count. A single thread has
 * no one to leave chunks to, so it takes the job in one call. */
static int64_t chunk_size(int64_t n, int n_threads, int chunks_per_thread)
{
    if (n_threads == 1)
        return n;
    const int64_t chunks = (int64_t)n_threads * (chunks_per_thread > 0 ? chunks_per_thread : 1);
    return (n + chunks - 1) / chunks;
}

/* Runs chunks of the current job until none is left: each thread takes
 * the next unclaimed chunk, so one the OS or the hypervisor pauses leaves
 * its remaining chunks to the others. */
static void run_chunks(threadpool *tp, int t)
{
    for (;;) {
        const int64_t begin = atomic_fetch_add_explicit(&tp->next, tp->chunk, memory_order_relaxed);
        if (begin >= tp->n)
            return;
        const int64_t end = tp->n - begin < tp->chunk ? tp->n : begin + tp->chunk;
        tp->fn(tp->arg, begin, end, t);
    }
}

/* Waits until the generation differs from `seen` or the pool stops; returns
 * the new generation (0 when stopping). */
static uint64_t wait_for_job(threadpool *tp, uint64_t seen)
{
    int64_t start = 0;
    for (int spins = 0;; spins++) {
        if (atomic_load_explicit(&tp->stopping, memory_order_acquire))
            return 0;
        const uint64_t g = atomic_load_explicit(&tp->generation, memory_order_acquire);
        if (g != seen)
            return g;
        if (!spin_wait_step(spins, &start))
            break;
    }
    pthread_mutex_lock(&tp->mutex);
    while (!atomic_load(&tp->stopping) && atomic_load(&tp->generation) == seen)
        pthread_cond_wait(&tp->work_ready, &tp->mutex);
    const uint64_t g = atomic_load(&tp->stopping) ? 0 : atomic_load(&tp->generation);
    pthread_mutex_unlock(&tp->mutex);
    return g;
}

static void *worker_main(void *p)
{
    worker *w = p;
    threadpool *tp = w->pool;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_for_job(tp, seen);
        if (seen == 0)
            break;
        run_chunks(tp, w->index);
        if (atomic_fetch_sub_explicit(&tp->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&tp->mutex);
            pthread_cond_signal(&tp->work_done);
            pthread_mutex_unlock(&tp->mutex);
        }
    }
    return NULL;
}

int threadpool_new(threadpool **out, int n_threads, perr *err)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return perr_set(err, "thread count %d out of range 1..1024", n_threads);
    threadpool *tp = calloc(1, sizeof *tp);
    if (!tp)
        return perr_set(err, "out of memory");
    tp->n_threads = n_threads;
    pthread_mutex_init(&tp->mutex, NULL);
    pthread_cond_init(&tp->work_ready, NULL);
    pthread_cond_init(&tp->work_done, NULL);
    if (n_threads > 1) {
        tp->workers = calloc((size_t)n_threads - 1, sizeof *tp->workers);
        if (!tp->workers) {
            threadpool_free(tp);
            return perr_set(err, "out of memory");
        }
    }
    for (int i = 1; i < n_threads; i++) {
        worker *w = &tp->workers[i - 1];
        w->pool = tp;
        w->index = i;
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            threadpool_free(tp);
            errno = rc;
            return perr_errno(err, "starting engine thread %d", i);
        }
        tp->n_started++;
    }
    *out = tp;
    return 0;
}

void threadpool_free(threadpool *tp)
{
    if (!tp)
        return;
    pthread_mutex_lock(&tp->mutex);
    atomic_store(&tp->stopping, 1);
    pthread_cond_broadcast(&tp->work_ready);
    pthread_mutex_unlock(&tp->mutex);
    for (int i = 0; i < tp->n_started; i++)
        pthread_join(tp->workers[i].thread, NULL);
    pthread_cond_destroy(&tp->work_done);
    pthread_cond_destroy(&tp->work_ready);
    pthread_mutex_destroy(&tp->mutex);
    free(tp->workers);
    free(tp);
}

int threadpool_size(const threadpool *tp) { return tp->n_threads; }

void threadpool_run(threadpool *tp, int64_t n, threadpool_fn fn, void *arg)
{
    threadpool_run_chunked(tp, n, THREADPOOL_CHUNKS_PER_THREAD, fn, arg);
}

void threadpool_run_chunked(threadpool *tp, int64_t n, int chunks_per_thread, threadpool_fn fn,
                            void *arg)
{
    if (n <= 0)
        return;
    tp->fn = fn;
    tp->arg = arg;
    tp->n = n;
    tp->chunk = chunk_size(n, tp->n_threads, chunks_per_thread);
    atomic_store_explicit(&tp->next, 0, memory_order_relaxed);
    if (tp->n_threads == 1) {
        run_chunks(tp, 0);
        return;
    }
    atomic_store_explicit(&tp->pending, tp->n_threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&tp->mutex);
    atomic_fetch_add_explicit(&tp->generation, 1, memory_order_release);
    pthread_cond_broadcast(&tp->work_ready);
    pthread_mutex_unlock(&tp->mutex);

    run_chunks(tp, 0);

    int64_t start = 0;
    for (int spins = 0;; spins++) {
        if (atomic_load_explicit(&tp->pending, memory_order_acquire) == 0)
            return;
        if (!spin_wait_step(spins, &start))
            break;
    }
    pthread_mutex_lock(&tp->mutex);
    while (atomic_load(&tp->pending) > 0)
        pthread_cond_wait(&tp->work_done, &tp->mutex);
    pthread_mutex_unlock(&tp->mutex);
}
