/* test_threadpool.c — engine/threadpool.c: every index of every job runs
 * exactly once, on the thread its slice names, whether the workers are
 * still spinning from the previous job (back-to-back jobs) or asleep
 * (after an idle pause), and a pool stops cleanly in either state.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "engine/threadpool.h"

typedef struct count_job {
    atomic_int *hits;   /* per index */
    atomic_int threads_seen[8];
} count_job;

static void count_indices(void *arg, int64_t begin, int64_t end, int thread)
{
    count_job *j = arg;
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&j->hits[i], 1);
    atomic_fetch_add(&j->threads_seen[thread], 1);
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
    cr_assert(hits);
    for (int k = 0; k < jobs; k++) {
        if (pause_ms)
            sleep_ms(pause_ms);
        count_job j = { .hits = hits };
        threadpool_run(tp, n, count_indices, &j);
        for (int64_t i = 0; i < n; i++)
            cr_assert_eq(atomic_load(&hits[i]), k + 1, "job %d index %lld ran %d times", k,
                         (long long)i, atomic_load(&hits[i]) - k);
        const int used = n < threadpool_size(tp) ? (int)n : threadpool_size(tp);
        for (int t = 0; t < used; t++)
            cr_assert_eq(atomic_load(&j.threads_seen[t]), 1, "job %d: thread %d ran %d slices", k,
                         t, atomic_load(&j.threads_seen[t]));
    }
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
