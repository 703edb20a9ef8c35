/* job_workers.h — the threads that handle the consumer's messages, up to
 * N at once ([pipeline] jobs_in_flight).
 *
 * The consumer's thread hands a task to a free worker (job_workers_submit)
 * and collects finished tasks (job_workers_collect) on its own thread, so
 * every Kafka call (offsets, commits, seeks, dead letters) stays on that
 * thread; a worker only runs the work function. Each worker has a fixed
 * index 0..N-1 (e.g. its own database connection).
 */
#ifndef PRECIS_JOB_WORKERS_H
#define PRECIS_JOB_WORKERS_H

#include <stddef.h>

#include "common/error.h"

typedef struct job_workers job_workers;

/* Runs on worker `worker` (0..N-1); task is the submitter's. */
typedef void (*job_work_fn)(void *ctx, void *task, int worker);

int job_workers_new(job_workers **out, int n, job_work_fn work, void *ctx, perr *err);
/* Waits for the tasks being worked on, then stops the threads; collected or
 * not, tasks stay the caller's. NULL is ignored. */
void job_workers_free(job_workers *w);

/* Tasks submitted and not yet collected. */
int job_workers_busy(job_workers *w);

/* Start task on a free worker; -1 when every worker is busy. */
int job_workers_submit(job_workers *w, void *task);

/* A finished task, waiting up to timeout_ms (0: do not wait); NULL when none. */
void *job_workers_collect(job_workers *w, int timeout_ms);

#endif
