/* scheduler.h — running the [schedule.NAME] digests inside `precis serve`,
 * exactly once per period across replicas.
 *
 * The daemon calls scheduler_tick between jobs (the consumer's idle hook),
 * on the consumer's thread: a scheduled digest never runs the model at the
 * same time as a job (the model is not thread-safe). While a digest runs no
 * job is taken, so a long digest delays jobs (and counts against Kafka's
 * max.poll.interval.ms like a long job).
 *
 * Each schedule's next fire time is computed from the daemon's start; fire
 * times before the start are not run. When a tick finds fire times due, it
 * runs each in order (at most SCHEDULER_MAX_CATCHUP per tick; older ones are
 * logged and skipped). For each fire:
 *   1. claim (schedule, period_key) in schedule_runs (store_digest.h: an
 *      advisory lock plus the row's primary key) — a replica that loses the
 *      claim skips the period;
 *   2. digest_job_run (stores the digest under the period key);
 *   3. mark the claim done, or failed with the error.
 * A replica that dies between 1 and 3 leaves the claim 'running', without
 * the lock it held on it (store_digest.h). At its first tick, and every
 * SCHEDULER_RECLAIM_SECONDS after, each replica looks at every schedule's
 * last SCHEDULER_MAX_CATCHUP fire times and takes over and runs each
 * period whose claim is 'running' and unlocked (attempts + 1 in
 * schedule_runs, a warning in the log): a digest whose replica crashed is
 * made once a replica runs again. A database that cannot be reached at
 * claim time is retried on a later tick (after SCHEDULER_RETRY_SECONDS)
 * for the same fire.
 */
#ifndef PRECIS_SCHEDULER_H
#define PRECIS_SCHEDULER_H

#include <stdint.h>

#include "common/error.h"
#include "daemon/schedule.h"
#include "pipeline/llm/llm.h"
#include "pipeline/pipeline.h"

#define SCHEDULER_MAX_CATCHUP 24
#define SCHEDULER_RETRY_SECONDS 30
#define SCHEDULER_RECLAIM_SECONDS 300

typedef struct scheduler scheduler;

typedef struct scheduler_options {
    const schedule_set *schedules;   /* kept; must outlive the scheduler */
    pipeline *pipeline;
    const char *conninfo;            /* [postgres] conninfo */
    const char *replica;             /* claimed_by, e.g. "host:pid" (copied) */
    llm_cancel_fn cancel;            /* shutdown: give up a running digest; may be NULL */
    void *cancel_ctx;
} scheduler_options;

/* Fire times are looked for after now (Unix seconds). */
int scheduler_new(scheduler **out, const scheduler_options *opt, int64_t now, perr *err);
void scheduler_free(scheduler *s);

/* Run what is due at now. Never fails: errors are logged and recorded. */
void scheduler_tick(scheduler *s, int64_t now);

#endif
