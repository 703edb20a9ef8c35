/* test_threadpool.c — engine/threadpool.c: every index of every job runs
 * exactly once, in chunks whose boundaries are the same for every job of
 * the same size, on a valid thread, whether the workers are still spinning
 * from the previous job (back-to-back jobs) or asleep (after an idle
 * pause); a thread that stalls leaves its share to the others; workers
 * of an idle pool sleep instead of polling; and a pool stops cleanly in
 * either state.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "engine/threadpool.h"

typedef struct count_job {
    atomic_int *hits;     /* per index */
    atomic_int *starts;   /* per index: calls whose range began there */
    int n_threads;
    atomic_int bad_thread;
} count_job;

static void count_indices(void *arg, int64_t begin, int64_t end, int thread)
{
    count_job *j = arg;
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&j->hits[i], 1);
    atomic_fetch_add(&j->starts[begin], 1);
    if (thread < 0 || thread >= j->n_threads)
        atomic_store(&j->bad_thread, 1);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Runs `jobs` jobs of n indices on tp, pausing `pause_ms` before each. */
static void run_and_check(threadpool *tp, int jobs, int64_t n, long pause_ms)
{
    atomic_int *hits = calloc((size_t)n, sizeof *hits);
    atomic_int *starts = calloc((size_t)n, sizeof *starts);
    int *first_starts = calloc((size_t)n, sizeof *first_starts);
    cr_assert(hits && starts && first_starts);
    for (int k = 0; k < jobs; k++) {
        if (pause_ms)
            sleep_ms(pause_ms);
        for (int64_t i = 0; i < n; i++)
            atomic_store(&starts[i], 0);
        count_job j = { .hits = hits, .starts = starts, .n_threads = threadpool_size(tp) };
        threadpool_run(tp, n, count_indices, &j);
        cr_assert_eq(atomic_load(&j.bad_thread), 0, "job %d: a thread index out of range", k);
        cr_assert_eq(atomic_load(&starts[0]), 1, "job %d: no chunk began at 0", k);
        for (int64_t i = 0; i < n; i++) {
            cr_assert_eq(atomic_load(&hits[i]), k + 1, "job %d index %lld ran %d times", k,
                         (long long)i, atomic_load(&hits[i]) - k);
            if (k == 0)
                first_starts[i] = atomic_load(&starts[i]);
            cr_assert_eq(atomic_load(&starts[i]), first_starts[i],
                         "job %d: chunk boundaries moved at index %lld", k, (long long)i);
        }
    }
    free(first_starts);
    free(starts);
    free(hits);
}

Test(threadpool, back_to_back_jobs_run_every_index_once)
{
    for (int threads = 1; threads <= 4; threads++) {
        threadpool *tp;
        perr err = {0};
        cr_assert_eq(threadpool_new(&tp, threads, &err), 0, "%s", err.msg);
        run_and_check(tp, 2000, 37, 0);
        run_and_check(tp, 200, 1, 0);   /* fewer indices than threads */
        threadpool_free(tp);
    }
}

Test(threadpool, jobs_after_idle_pauses_wake_sleeping_workers)
{
    threadpool *tp;
    perr err = {0};
    cr_assert_eq(threadpool_new(&tp, 3, &err), 0, "%s", err.msg);
    run_and_check(tp, 20, 100, 5);      /* 5 ms: workers have gone to sleep */
    threadpool_free(tp);
}

static double process_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Workers poll for a while after a job (the next one usually follows
 * within microseconds), but an idle pool must not keep a core busy: over
 * 200 ms of idleness, well past the poll, the process uses next to no CPU
 * (a worker still polling would use about all of it). */
Test(threadpool, idle_workers_sleep_instead_of_polling)
{
    threadpool *tp;
    perr err = {0};
    cr_assert_eq(threadpool_new(&tp, 3, &err), 0, "%s", err.msg);
    run_and_check(tp, 10, 100, 0);
    sleep_ms(50);
    const double before = process_cpu_ms();
    sleep_ms(200);
    const double used = process_cpu_ms() - before;
    cr_assert_lt(used, 40.0, "an idle pool used %.1f ms of CPU in 200 ms", used);
    run_and_check(tp, 10, 100, 0);      /* and it still works */
    threadpool_free(tp);
}

Test(threadpool, free_while_workers_sleep_or_spin)
{
    threadpool *tp;
    perr err = {0};
    cr_assert_eq(threadpool_new(&tp, 2, &err), 0, "%s", err.msg);
    run_and_check(tp, 1, 10, 0);
    threadpool_free(tp);                /* workers still spinning */
    cr_assert_eq(threadpool_new(&tp, 2, &err), 0, "%s", err.msg);
    run_and_check(tp, 1, 10, 0);
    sleep_ms(5);
    threadpool_free(tp);                /* workers asleep */
}

/* Thread 0 (the caller) stalls in its first chunk; the worker must take
 * the rest of the job meanwhile instead of waiting with half of it. */
typedef struct stall_job {
    atomic_int caller_calls;
    atomic_int worker_indices;
} stall_job;

static void stall_caller(void *arg, int64_t begin, int64_t end, int thread)
{
    stall_job *j = arg;
    if (thread == 0) {
        if (atomic_fetch_add(&j->caller_calls, 1) == 0)
            sleep_ms(300);
    } else {
        atomic_fetch_add(&j->worker_indices, (int)(end - begin));
    }
}

Test(threadpool, a_stalled_thread_leaves_its_share_to_the_others)
{
    threadpool *tp;
    perr err = {0};
    cr_assert_eq(threadpool_new(&tp, 2, &err), 0, "%s", err.msg);
    stall_job j = {0};
    threadpool_run(tp, 64, stall_caller, &j);
    cr_assert_eq(atomic_load(&j.caller_calls), 1, "the caller ran %d chunks",
                 atomic_load(&j.caller_calls));
    cr_assert_gt(atomic_load(&j.worker_indices), 32, "the worker ran only %d of 64 indices",
                 atomic_load(&j.worker_indices));
    threadpool_free(tp);
}
