/* scheduler.c — due [schedule.NAME] fires claimed and run between jobs (see
 * scheduler.h). */
#include "daemon/scheduler.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "pipeline/digest/digest_job.h"
#include "store/store_digest.h"

struct scheduler {
    scheduler_options o;
    int64_t *next;           /* per schedule: next fire time; INT64_MAX: none */
    int64_t *retry_at;       /* per schedule: do not try before (database away) */
    int64_t reclaim_at;      /* next look for dead replicas' runs */
    store *store;            /* connected on first use */
    char *replica;           /* copy of o.replica */
};

static int64_t next_after(const schedule *s, int64_t t)
{
    int64_t next;
    perr err;
    if (cron_next(&s->cron, s->tz, t, &next, &err) != 0) {
        log_error("schedule has no next fire time; it is stopped", "schedule=%s error=%s", s->name, err.msg);
        return INT64_MAX;
    }
    return next;
}

int scheduler_new(scheduler **out, const scheduler_options *opt, int64_t now, perr *err)
{
    size_t n = opt->schedules->n;
    scheduler *s = calloc(1, sizeof *s);
    if (!s || !(s->next = calloc(n ? n : 1, sizeof *s->next)) || !(s->retry_at = calloc(n ? n : 1, sizeof *s->retry_at))) {
        scheduler_free(s);
        return perr_set(err, "out of memory");
    }
    s->o = *opt;
    if (!(s->replica = strdup(opt->replica ? opt->replica : "unknown"))) {
        scheduler_free(s);
        return perr_set(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const schedule *sc = &opt->schedules->items[i];
        s->next[i] = next_after(sc, now);
        char when[32];
        digest_format_time(s->next[i], when, sizeof when);
        log_info("schedule active", "schedule=%s cron=%s collection=%s analysis=%s next=%s", sc->name, sc->cron_text,
                 sc->collection, sc->analysis, when);
    }
    *out = s;
    return 0;
}

void scheduler_free(scheduler *s)
{
    if (!s)
        return;
    store_close(s->store);
    free(s->next);
    free(s->retry_at);
    free(s->replica);
    free(s);
}

/* More than SCHEDULER_MAX_CATCHUP fires due: skip to the last ones. */
static void skip_old_fires(scheduler *s, size_t i, int64_t now)
{
    const schedule *sc = &s->o.schedules->items[i];
    int64_t oldest_kept = now + 1;
    perr err;
    for (int k = 0; k < SCHEDULER_MAX_CATCHUP; k++)
        if (cron_prev(&sc->cron, sc->tz, oldest_kept, &oldest_kept, &err) != 0)
            return;
    if (oldest_kept <= s->next[i])
        return;
    char from[32], to[32];
    digest_format_time(s->next[i], from, sizeof from);
    digest_format_time(oldest_kept, to, sizeof to);
    log_warn("schedule fell behind; older periods are skipped", "schedule=%s skipped_from=%s resumed_at=%s",
             sc->name, from, to);
    s->next[i] = oldest_kept;
}

static int job_cancelled(void *ctx)
{
    const scheduler *s = ctx;
    return s->o.cancel && s->o.cancel(s->o.cancel_ctx);
}

/* Run a claimed period and record how it ended; retaken: the claim was a
 * dead replica's. */
static void run_claimed(scheduler *s, const schedule *sc, const char *key, int64_t start, int64_t fire,
                        int retaken)
{
    if (retaken)
        log_warn("scheduled run taken over: the replica that claimed it stopped before finishing",
                 "schedule=%s period=%s", sc->name, key);
    log_info("scheduled digest starts", "schedule=%s period=%s collection=%s", sc->name, key, sc->collection);
    digest_job job = {.collection = sc->collection, .schedule = sc->name, .period_key = key,
                      .window_start = start, .window_end = fire, .cancel = job_cancelled, .cancel_ctx = s};
    digest_outcome o;
    perr err, ferr;
    int rc = digest_job_run(s->o.pipeline, s->store, &job, &o, &err);
    if (rc == 0)
        log_info("scheduled digest stored", "schedule=%s period=%s digest_id=%lld documents=%zu cited=%zu calls=%d",
                 sc->name, key, (long long)o.digest_id, o.documents, o.cited, o.calls);
    else
        log_error("scheduled digest failed", "schedule=%s period=%s error=%s", sc->name, key,
                  rc == LLM_CANCELLED ? "cancelled by shutdown" : err.msg);
    const char *error = rc == 0 ? NULL : rc == LLM_CANCELLED ? "cancelled by shutdown" : err.msg;
    if (store_schedule_finish(s->store, sc->name, key, error, rc == 0 ? o.digest_id : 0, &ferr) != 0)
        log_error("cannot record the end of a scheduled run; it stays 'running' until a replica takes it over",
                  "schedule=%s period=%s error=%s", sc->name, key, ferr.msg);
    digest_outcome_clear(&o);
}

/* One fire: 0 done with it (run, lost or failed for good), -1 try again later. */
static int fire(scheduler *s, const schedule *sc, int64_t when)
{
    perr err;
    int64_t start;
    char key[64];
    if (schedule_period(sc, when, &start, key, sizeof key, &err) != 0) {
        log_error("schedule period", "schedule=%s error=%s", sc->name, err.msg);
        return 0;
    }
    if (!s->store && store_connect(&s->store, s->o.conninfo, &err) != 0) {
        log_warn("schedule waits for PostgreSQL", "schedule=%s period=%s error=%s", sc->name, key, err.msg);
        return -1;
    }
    int won = 0, retaken = 0;
    int rc = store_schedule_claim(s->store, sc->name, key, sc->collection, s->replica, &won, &retaken, &err);
    if (rc == STORE_TRANSIENT) {
        log_warn("schedule waits for PostgreSQL", "schedule=%s period=%s error=%s", sc->name, key, err.msg);
        return -1;
    }
    if (rc != 0) {
        log_error("cannot claim a scheduled run; period skipped", "schedule=%s period=%s error=%s", sc->name, key,
                  err.msg);
        return 0;
    }
    if (!won) {
        log_info("scheduled period claimed by another replica", "schedule=%s period=%s", sc->name, key);
        return 0;
    }
    run_claimed(s, sc, key, start, when, retaken);
    return 0;
}

/* Runs again each of the schedule's last SCHEDULER_MAX_CATCHUP periods that
 * a replica claimed and died on. 0, or -1: PostgreSQL away, look later. */
static int reclaim_dead_runs(scheduler *s, const schedule *sc, int64_t now)
{
    int64_t when = now + 1;
    for (int k = 0; k < SCHEDULER_MAX_CATCHUP; k++) {
        perr err;
        int64_t start;
        char key[64];
        if (cron_prev(&sc->cron, sc->tz, when, &when, &err) != 0 ||
            schedule_period(sc, when, &start, key, sizeof key, &err) != 0)
            return 0;
        int won = 0;
        int rc = store_schedule_reclaim(s->store, sc->name, key, s->replica, &won, &err);
        if (rc == STORE_TRANSIENT) {
            log_warn("cannot look for dead replicas' scheduled runs; trying later", "schedule=%s error=%s",
                     sc->name, err.msg);
            return -1;
        }
        if (rc != 0) {
            log_error("cannot take over a scheduled run", "schedule=%s period=%s error=%s", sc->name, key, err.msg);
            continue;
        }
        if (won)
            run_claimed(s, sc, key, start, when, 1);
    }
    return 0;
}

/* Every SCHEDULER_RECLAIM_SECONDS (and at the first tick), the schedules'
 * recent runs left 'running' by replicas that died. */
static void reclaim_tick(scheduler *s, int64_t now)
{
    if (s->reclaim_at > now || s->o.schedules->n == 0)
        return;
    perr err;
    if (!s->store && store_connect(&s->store, s->o.conninfo, &err) != 0) {
        log_warn("cannot look for dead replicas' scheduled runs; trying later", "error=%s", err.msg);
        s->reclaim_at = now + SCHEDULER_RETRY_SECONDS;
        return;
    }
    s->reclaim_at = now + SCHEDULER_RECLAIM_SECONDS;
    for (size_t i = 0; i < s->o.schedules->n; i++)
        if (reclaim_dead_runs(s, &s->o.schedules->items[i], now) != 0) {
            s->reclaim_at = now + SCHEDULER_RETRY_SECONDS;
            return;
        }
}

void scheduler_tick(scheduler *s, int64_t now)
{
    for (size_t i = 0; i < s->o.schedules->n; i++) {
        const schedule *sc = &s->o.schedules->items[i];
        if (s->next[i] > now || s->retry_at[i] > now)
            continue;
        skip_old_fires(s, i, now);
        if (fire(s, sc, s->next[i]) != 0) {
            s->retry_at[i] = now + SCHEDULER_RETRY_SECONDS;
            continue;
        }
        s->retry_at[i] = 0;
        s->next[i] = next_after(sc, s->next[i]);
    }
    reclaim_tick(s, now);
}
