/* consumer.c — the job consumer loop: handle, dead-letter, commit, retry (see consumer.h). */
#include "daemon/consumer.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/log.h"
#include "common/monotonic.h"
#include "daemon/consumer_lag.h"
#include "daemon/dlq.h"
#include "daemon/job_workers.h"
#include "daemon/offset_tracker.h"
#include "daemon/producer.h"
#include "pipeline/job_redact.h"

#define COMMIT_RETRY_MS 1000
#define RELEASE_TIMEOUT_MS 10000   /* unsubscribe -> empty assignment, at shutdown */

/* A partition whose current message failed transiently. */
typedef struct retry_state {
    int32_t partition;
    int64_t offset;       /* the message being retried */
    int attempts;         /* handler calls so far for that message */
    int64_t resume_at;    /* monotonic ms; 0 when not paused */
} retry_state;

struct consumer {
    rd_kafka_t *rk;
    producer *dlq;
    char *jobs_topic;
    char *dlq_topic;
    job_handler handler;
    metrics *metrics;
    consumer_lag *lag;         /* refreshes the lag gauge while consumer_run runs */
    int lag_refresh_ms;
    int backoff_initial_ms, backoff_max_ms, poll_ms;
    long grace_ms;
    void (*on_reload)(void *ctx);
    void (*on_idle)(void *ctx);
    void *hook_ctx;
    kafka_log_hook log_hook;

    atomic_int stop;
    atomic_int reload;
    atomic_llong stop_at;      /* monotonic ms of the stop request */

    job_workers *workers;      /* handle messages, jobs_in_flight at once */
    offset_tracker *offsets;   /* what may be committed while several run */
    int jobs_in_flight;

    retry_state *retries;
    size_t nretries, cap_retries;
    int commit_pending;        /* stored offsets whose commit failed */
    int64_t next_commit_retry; /* monotonic ms */
};

static void drain_partitions(consumer *c, const rd_kafka_topic_partition_list_t *parts);

/* ---- retry bookkeeping -------------------------------------------------- */

static retry_state *retry_find(consumer *c, int32_t partition)
{
    for (size_t i = 0; i < c->nretries; i++)
        if (c->retries[i].partition == partition)
            return &c->retries[i];
    return NULL;
}

static retry_state *retry_get(consumer *c, int32_t partition)
{
    retry_state *r = retry_find(c, partition);
    if (r)
        return r;
    retry_state *grown = grow_to(c->retries, &c->cap_retries, c->nretries + 1, sizeof *grown, 8);
    if (!grown)
        return NULL;
    c->retries = grown;
    r = &c->retries[c->nretries++];
    *r = (retry_state){.partition = partition, .offset = -1};
    return r;
}

static void retry_forget(consumer *c, int32_t partition)
{
    retry_state *r = retry_find(c, partition);
    if (r)
        *r = c->retries[--c->nretries];
}

/* ---- offsets ------------------------------------------------------------ */

/* Commit every stored offset of the current assignment, synchronously. */
static int commit_stored(consumer *c, const char *why)
{
    rd_kafka_resp_err_t rc = rd_kafka_commit(c->rk, NULL, 0);
    if (rc == RD_KAFKA_RESP_ERR_NO_ERROR || rc == RD_KAFKA_RESP_ERR__NO_OFFSET) {
        c->commit_pending = 0;
        return 0;
    }
    c->commit_pending = 1;
    c->next_commit_retry = monotonic_ms() + COMMIT_RETRY_MS;
    log_warn("offset commit failed; will retry", "reason=%s error=%s", why, rd_kafka_err2str(rc));
    return -1;
}

/* The message's outcome is durable: store and commit the partition's offset
 * as far as every message before it is durable too. */
static void mark_done(consumer *c, const rd_kafka_message_t *m)
{
    int64_t next = offset_tracker_done(c->offsets, m->partition, m->offset);
    if (next < 0)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->jobs_topic, m->partition)->offset = next;
    rd_kafka_resp_err_t rc = rd_kafka_offsets_store(c->rk, l);
    if (rc == RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Partition no longer ours: the job will be redelivered elsewhere
         * and the store's idempotent upsert absorbs the repeat. */
        log_warn("cannot store offset", "partition=%" PRId32 " offset=%" PRId64 " error=%s", m->partition,
                 next, rd_kafka_err2str(rc));
        return;
    }
    commit_stored(c, "job done");
}

/* ---- pause / seek / resume ---------------------------------------------- */

static rd_kafka_topic_partition_list_t *one_partition(consumer *c, int32_t partition, int64_t offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->jobs_topic, partition)->offset = offset;
    return l;
}

static int backoff_ms(const consumer *c, int attempt)
{
    int64_t ms = c->backoff_initial_ms;
    for (int i = 1; i < attempt && ms < c->backoff_max_ms; i++)
        ms *= 2;
    return (int)(ms > c->backoff_max_ms ? c->backoff_max_ms : ms);
}

/* Pause the partition and rewind it to the failed message, which is handled
 * again once the backoff has passed. Nothing is committed. */
static void schedule_retry(consumer *c, const rd_kafka_message_t *m, int attempt, const char *why)
{
    offset_tracker_retry(c->offsets, m->partition, m->offset);
    retry_state *r = retry_get(c, m->partition);
    if (r && r->resume_at && r->offset >= 0 && r->offset < m->offset) {
        /* An earlier message of the partition is already waiting: the seek
         * back to it brings this one again too. */
        log_warn("job failed transiently; will retry", "partition=%" PRId32 " offset=%" PRId64
                 " attempt=%d error=%s", m->partition, m->offset, attempt, why);
        return;
    }
    int delay = backoff_ms(c, attempt);
    rd_kafka_topic_partition_list_t *l = one_partition(c, m->partition, m->offset);
    rd_kafka_pause_partitions(c->rk, l);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, l, 5000);
    if (e) {
        log_warn("seek for retry failed", "partition=%" PRId32 " error=%s", m->partition, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (r) {
        r->offset = m->offset;
        r->attempts = attempt;
        r->resume_at = monotonic_ms() + delay;
    }
    log_warn("job failed transiently; will retry", "partition=%" PRId32 " offset=%" PRId64
             " attempt=%d backoff_ms=%d error=%s", m->partition, m->offset, attempt, delay, why);
}

static void resume_due_partitions(consumer *c)
{
    int64_t now = monotonic_ms();
    for (size_t i = 0; i < c->nretries; i++) {
        retry_state *r = &c->retries[i];
        if (!r->resume_at || now < r->resume_at)
            continue;
        rd_kafka_topic_partition_list_t *l = one_partition(c, r->partition, RD_KAFKA_OFFSET_INVALID);
        rd_kafka_resume_partitions(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        r->resume_at = 0;
    }
}

/* ---- rebalance ---------------------------------------------------------- */

static void forget_partitions(consumer *c, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++)
        if (strcmp(parts->elems[i].topic, c->jobs_topic) == 0) {
            retry_forget(c, parts->elems[i].partition);
            offset_tracker_forget(c->offsets, parts->elems[i].partition);
        }
}

/* Resume the revoked partitions that a retry backoff paused: librdkafka 2.0
 * keeps an application pause across unassign and a later assign, so a paused
 * partition given back to this member would never be fetched again. This
 * runs in the revoke, before the unassign, while librdkafka starts or stops
 * no fetcher for these partitions. (Resuming after assign() instead races
 * the fetcher start: see on_rebalance.) */
static void resume_revoked(consumer *c, const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *paused = rd_kafka_topic_partition_list_new(parts->cnt > 0 ? parts->cnt : 1);
    for (int i = 0; i < parts->cnt; i++) {
        if (strcmp(parts->elems[i].topic, c->jobs_topic) != 0)
            continue;
        retry_state *r = retry_find(c, parts->elems[i].partition);
        if (r && r->resume_at)
            rd_kafka_topic_partition_list_add(paused, c->jobs_topic, r->partition);
    }
    if (paused->cnt > 0)
        rd_kafka_resume_partitions(c->rk, paused);
    rd_kafka_topic_partition_list_destroy(paused);
}

static void log_rebalance_error(const char *what, rd_kafka_error_t *e)
{
    if (!e)
        return;
    log_error("rebalance step failed", "step=%s error=%s", what, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    consumer *c = opaque;
    const char *protocol = rd_kafka_rebalance_protocol(rk);
    if (!protocol) {
        /* The group handler has already terminated (librdkafka 2.0 can run a
         * close's revoke after it): assign() would wait forever for it. */
        log_info("partitions released with the group", "count=%d", parts->cnt);
        forget_partitions(c, parts);
        return;
    }
    int cooperative = strcmp(protocol, "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_info("partitions assigned", "count=%d protocol=%s", parts->cnt, cooperative ? "cooperative" : "eager");
        /* Nothing here pauses, resumes or seeks these partitions: assign()
         * returns before librdkafka starts their fetchers (on its main
         * thread, once the committed offsets are in), and in librdkafka
         * 2.0.2 such a call landing between that start taking its op
         * version and queueing its op makes the start arrive outdated and
         * be dropped: the partition stays assigned, unpaused and never
         * fetched until the next rebalance (issue #18). Partitions a retry
         * had paused were resumed when revoked (resume_revoked). */
        if (cooperative)
            log_rebalance_error("incremental assign", rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        return;
    }
    int lost = rd_kafka_assignment_lost(rk);
    log_info("partitions revoked", "count=%d protocol=%s lost=%s", parts->cnt, cooperative ? "cooperative" : "eager",
             lost ? "true" : "false");
    /* Their running jobs finish, and what is done is committed, before the
     * partitions go to another member. */
    drain_partitions(c, parts);
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !lost)
        commit_stored(c, "revoke");
    resume_revoked(c, parts);
    forget_partitions(c, parts);
    if (cooperative)
        log_rebalance_error("incremental unassign", rd_kafka_incremental_unassign(rk, parts));
    else
        rd_kafka_assign(rk, NULL);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    log_warn("kafka error", "error=%s detail=%s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* ---- handling one message ----------------------------------------------- */

/* One message on its way through a worker. */
typedef struct job_task {
    rd_kafka_message_t *m;     /* owned by the task */
    int attempt;
    job_outcome outcome;
    const char *failure_class; /* of a permanent failure; NULL: the DLQ default */
    perr err;
} job_task;

/* The dead-letter copy keeps the message as it came, except its secrets
 * (the job password): DLQ topics are kept for a long time. */
static int dead_letter(consumer *c, const job_task *t, const char *reason, perr *err)
{
    const rd_kafka_message_t *m = t->m;
    rd_kafka_headers_t *hdrs = NULL;
    rd_kafka_message_headers(m, &hdrs);   /* stays owned by m */
    size_t masked_len = 0;
    char *masked = m->payload ? job_redact_message(m->payload, m->len, &masked_len, NULL) : NULL;
    if (m->payload && !masked)
        return perr_set(err, "out of memory masking the dead-letter copy");
    dlq_failure f = {
        .topic = c->jobs_topic,
        .partition = m->partition,
        .offset = m->offset,
        .key = m->key,
        .key_len = m->key_len,
        .payload = masked,
        .payload_len = masked_len,
        .headers = hdrs,
        .exception_class = t->failure_class,
        .message = reason,
        .attempts = t->attempt,
    };
    int rc = dlq_send(c->dlq, c->dlq_topic, &f, err);
    free(masked);
    return rc;
}

/* A worker thread: the handler decides the message's outcome. */
static void run_handler(void *ctx, void *task, int worker)
{
    consumer *c = ctx;
    job_task *t = task;
    const rd_kafka_message_t *m = t->m;
    rd_kafka_headers_t *hdrs = NULL;
    rd_kafka_message_headers(m, &hdrs);
    kafka_message_view view = {
        .topic = c->jobs_topic,
        .partition = m->partition,
        .offset = m->offset,
        .key = m->key,
        .key_len = m->key_len,
        .payload = m->payload,
        .payload_len = m->len,
        .headers = hdrs,
        .attempt = t->attempt,
        .worker = worker,
        .consumer = c,
        .failure_class = &t->failure_class,
    };
    t->err.msg[0] = '\0';
    int64_t t0 = monotonic_ms();
    if (c->metrics)
        metrics_jobs_in_flight_add(c->metrics, 1);
    t->outcome = c->handler.handle(c->handler.ctx, &view, &t->err);
    if (c->metrics) {
        metrics_jobs_in_flight_add(c->metrics, -1);
        metrics_observe_job(c->metrics, (double)(monotonic_ms() - t0) / 1000.0);
    }
}

/* Back on the consumer's thread: dead-letter, retry or commit. */
static void finish_task(consumer *c, job_task *t)
{
    const rd_kafka_message_t *m = t->m;
    const char *reason = t->err.msg[0] ? t->err.msg : "no reason given";
    if (t->outcome == JOB_PERMANENT_FAILURE) {
        log_warn("job failed permanently; dead-lettering", "partition=%" PRId32 " offset=%" PRId64
                 " attempt=%d error=%s", m->partition, m->offset, t->attempt, reason);
        if (c->metrics)
            metrics_job_failed(c->metrics);
        perr derr;
        if (dead_letter(c, t, reason, &derr) != 0) {
            schedule_retry(c, m, t->attempt, derr.msg);
            if (c->metrics)
                metrics_job_retried(c->metrics);
            return;
        }
        if (c->metrics)
            metrics_job_dead_lettered(c->metrics);
    } else if (t->outcome == JOB_TRANSIENT_FAILURE) {
        if (c->metrics)
            metrics_job_retried(c->metrics);
        schedule_retry(c, m, t->attempt, reason);
        return;
    } else {
        log_info("job done", "partition=%" PRId32 " offset=%" PRId64 " attempt=%d", m->partition, m->offset,
                 t->attempt);
        if (c->metrics)
            metrics_job_succeeded(c->metrics);
    }
    retry_state *r = retry_find(c, m->partition);
    if (r && r->offset == m->offset)
        retry_forget(c, m->partition);
    mark_done(c, m);
}

/* Collect finished tasks (waiting up to timeout_ms for the first). */
static void collect_finished(consumer *c, int timeout_ms)
{
    job_task *t;
    while ((t = job_workers_collect(c->workers, timeout_ms)) != NULL) {
        finish_task(c, t);
        rd_kafka_message_destroy(t->m);
        free(t);
        timeout_ms = 0;
    }
}

/* Hand a polled message to a free worker (the task takes m), unless it is
 * a redelivery of one still running or done but not yet committed. */
static void dispatch(consumer *c, rd_kafka_message_t *m)
{
    int state = offset_tracker_begin(c->offsets, m->partition, m->offset);
    if (state == OFFSET_DUPLICATE) {
        log_debug("redelivery of a message already handled; skipped", "partition=%" PRId32 " offset=%" PRId64,
                  m->partition, m->offset);
        rd_kafka_message_destroy(m);
        return;
    }
    retry_state *r = retry_find(c, m->partition);
    int attempt = r && r->offset == m->offset ? r->attempts + 1 : 1;
    if (attempt == 1 && c->metrics)
        metrics_job_consumed(c->metrics);
    job_task *t = calloc(1, sizeof *t);
    if (state < 0 || !t || (t->m = m, t->attempt = attempt, job_workers_submit(c->workers, t) != 0)) {
        /* Cannot take it now: run it again from this offset after a backoff. */
        free(t);
        schedule_retry(c, m, attempt, "out of memory or no free worker");
        rd_kafka_message_destroy(m);
    }
}

/* Wait until no running job belongs to one of parts, finishing jobs meanwhile. */
static void drain_partitions(consumer *c, const rd_kafka_topic_partition_list_t *parts)
{
    for (;;) {
        size_t running = 0;
        for (int i = 0; i < parts->cnt; i++)
            if (strcmp(parts->elems[i].topic, c->jobs_topic) == 0)
                running += offset_tracker_running(c->offsets, parts->elems[i].partition);
        if (running == 0)
            return;
        log_info("waiting for running jobs of revoked partitions", "jobs=%zu", running);
        collect_finished(c, c->poll_ms);
    }
}

/* ---- loop --------------------------------------------------------------- */

/* A reload waits until no job runs, so none sees prompts change under it. */
static void between_polls(consumer *c)
{
    if (atomic_load(&c->reload) && job_workers_busy(c->workers) == 0 && atomic_exchange(&c->reload, 0) &&
        c->on_reload)
        c->on_reload(c->hook_ctx);
    if (c->on_idle)
        c->on_idle(c->hook_ctx);
    resume_due_partitions(c);
    if (c->commit_pending && monotonic_ms() >= c->next_commit_retry)
        commit_stored(c, "retry");
}

/* Whether to poll for another message now: a worker is free, and no stop
 * or reload is waiting for the running jobs. */
static int may_take_message(consumer *c)
{
    return !atomic_load(&c->reload) && job_workers_busy(c->workers) < c->jobs_in_flight;
}

static int check_fatal(consumer *c, perr *err)
{
    char fatal[256];
    rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(c->rk, fatal, sizeof fatal);
    return ferr == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : perr_set(err, "fatal Kafka error: %s", fatal);
}

/* One turn of the loop: finish jobs, then take a message when one fits. */
static int loop_turn(consumer *c, perr *err)
{
    between_polls(c);
    collect_finished(c, 0);
    if (!may_take_message(c)) {
        collect_finished(c, c->poll_ms);
        return 0;
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, c->poll_ms);
    if (!m)
        return 0;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        dispatch(c, m);
    } else {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            log_warn("consumer error", "error=%s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
    return check_fatal(c, err);
}

/* After a stop: the running jobs finish (or give up once the grace is over). */
static void finish_running(consumer *c)
{
    while (job_workers_busy(c->workers) > 0)
        collect_finished(c, c->poll_ms);
}

static int assigned_partitions(consumer *c)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(c->rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR || !l)
        return 0;
    int n = l->cnt;
    rd_kafka_topic_partition_list_destroy(l);
    return n;
}

/* Hand the partitions back before closing, so their revoke runs while the
 * group handler is alive. Left to rd_kafka_consumer_close, a revoke racing
 * another member's departure can run after that handler has terminated, and
 * librdkafka 2.0 then waits forever in assign() (librdkafka #4884). Messages
 * polled meanwhile are dropped unhandled: their offsets were never stored, so
 * the group redelivers them. */
static void release_partitions(consumer *c)
{
    rd_kafka_resp_err_t rc = rd_kafka_unsubscribe(c->rk);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("cannot unsubscribe before closing", "error=%s", rd_kafka_err2str(rc));
        return;
    }
    int64_t deadline = monotonic_ms() + RELEASE_TIMEOUT_MS;
    while (assigned_partitions(c) > 0 && monotonic_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
        if (m)
            rd_kafka_message_destroy(m);
    }
}

int consumer_run(consumer *c, perr *err)
{
    /* The lag gauge is refreshed by a thread of its own: a job holds this one. */
    perr lerr;
    if (c->metrics && consumer_lag_start(&c->lag, c->rk, c->metrics, c->lag_refresh_ms, &lerr) != 0)
        log_warn("the consumer lag gauge will not be refreshed", "error=%s", lerr.msg);
    int rc = 0;
    while (!atomic_load(&c->stop) && rc == 0)
        rc = loop_turn(c, err);
    finish_running(c);
    consumer_lag_stop(c->lag);
    c->lag = NULL;
    log_info("consumer stopping", "committing=%s", "true");
    commit_stored(c, "shutdown");
    release_partitions(c);
    rd_kafka_resp_err_t cerr = rd_kafka_consumer_close(c->rk);
    if (cerr != RD_KAFKA_RESP_ERR_NO_ERROR && rc == 0)
        rc = perr_set(err, "leaving the consumer group: %s", rd_kafka_err2str(cerr));
    return rc;
}

void consumer_request_stop(consumer *c)
{
    if (!atomic_load(&c->stop))
        atomic_store(&c->stop_at, (long long)monotonic_ms());
    atomic_store(&c->stop, 1);
}

void consumer_request_reload(consumer *c)
{
    atomic_store(&c->reload, 1);
}

int consumer_job_cancelled(consumer *c)
{
    if (!atomic_load(&c->stop) || c->grace_ms < 0)
        return 0;
    return monotonic_ms() >= atomic_load(&c->stop_at) + c->grace_ms;
}

int consumer_kafka_ready(consumer *c, int timeout_ms, perr *err)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(c->rk, 0, NULL, &md, timeout_ms);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR)
        return perr_set(err, "Kafka metadata request: %s", rd_kafka_err2str(rc));
    rd_kafka_metadata_destroy(md);
    return 0;
}

metrics *consumer_metrics(consumer *c) { return c->metrics; }

/* ---- construction ------------------------------------------------------- */

/* Properties we own are forced; some defaults only apply when unset. */
static int apply_consumer_policy(rd_kafka_conf_t *conf, const consumer_options *opt, perr *err)
{
    static const char *const owned[] = {"enable.auto.commit", "enable.auto.offset.store", NULL};
    for (size_t i = 0; owned[i]; i++) {
        const char *v = kafka_props_get(opt->props, opt->nprops, owned[i]);
        if (v && strcmp(v, "false") != 0)
            log_warn("ignoring kafka property: precis commits offsets itself", "key=%s value=%s", owned[i], v);
        if (kafka_conf_set(conf, owned[i], "false", err) != 0)
            return -1;
    }
    static const kafka_property defaults[] = {{"group.id", "precis"}, {"auto.offset.reset", "earliest"}};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (!kafka_props_get(opt->props, opt->nprops, defaults[i].key) &&
            kafka_conf_set(conf, defaults[i].key, defaults[i].value, err) != 0)
            return -1;
    return 0;
}

static int subscribe(consumer *c, perr *err)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, c->jobs_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t rc = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR)
        return perr_set(err, "subscribing to %s: %s", c->jobs_topic, rd_kafka_err2str(rc));
    return 0;
}

/* With a log hook: the hook, then the usual routing (c is the handle's opaque). */
static void log_through_hook(const rd_kafka_t *rk, int level, const char *facility, const char *buf)
{
    const consumer *c = rd_kafka_opaque(rk);
    if (c && c->log_hook)
        c->log_hook(rk, level, facility, buf);
    kafka_log_route(rk, level, facility, buf);
}

static int create_kafka_consumer(consumer *c, const consumer_options *opt, perr *err)
{
    rd_kafka_conf_t *conf;
    if (kafka_conf_new(&conf, opt->props, opt->nprops, err) != 0)
        return -1;
    if (apply_consumer_policy(conf, opt, err) != 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_opaque(conf, c);
    if (c->log_hook)
        rd_kafka_conf_set_log_cb(conf, log_through_hook);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    char errstr[256];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        return perr_set(err, "creating Kafka consumer: %s", errstr);
    }
    rd_kafka_poll_set_consumer(c->rk);
    return 0;
}

static void copy_options(consumer *c, const consumer_options *opt)
{
    c->handler = opt->handler;
    c->metrics = opt->metrics;
    c->lag_refresh_ms = opt->lag_refresh_ms;
    c->backoff_initial_ms = opt->backoff_initial_ms > 0 ? opt->backoff_initial_ms : 1000;
    c->backoff_max_ms = opt->backoff_max_ms > 0 ? opt->backoff_max_ms : 30000;
    if (c->backoff_max_ms < c->backoff_initial_ms)
        c->backoff_max_ms = c->backoff_initial_ms;
    c->poll_ms = opt->poll_ms > 0 ? opt->poll_ms : 200;
    c->jobs_in_flight = opt->jobs_in_flight > 0 ? opt->jobs_in_flight : 1;
    c->grace_ms = opt->shutdown_grace_ms;
    c->on_reload = opt->on_reload;
    c->on_idle = opt->on_idle;
    c->hook_ctx = opt->hook_ctx;
    c->log_hook = opt->log_hook;
    atomic_init(&c->stop, 0);
    atomic_init(&c->reload, 0);
    atomic_init(&c->stop_at, 0);
}

int consumer_new(consumer **out, const consumer_options *opt, perr *err)
{
    if (!opt->handler.handle)
        return perr_set(err, "consumer: no job handler");
    consumer *c = calloc(1, sizeof *c);
    if (!c)
        return perr_set(err, "out of memory");
    copy_options(c, opt);
    c->jobs_topic = strdup(opt->jobs_topic ? opt->jobs_topic : "precis.jobs");
    c->dlq_topic = strdup(opt->dlq_topic ? opt->dlq_topic : "precis.jobs.dlq");
    if (!c->jobs_topic || !c->dlq_topic) {
        consumer_free(c);
        return perr_set(err, "out of memory");
    }
    if (!(c->offsets = offset_tracker_new())) {
        consumer_free(c);
        return perr_set(err, "out of memory");
    }
    if (job_workers_new(&c->workers, c->jobs_in_flight, run_handler, c, err) != 0 ||
        producer_new(&c->dlq, opt->props, opt->nprops, err) != 0 || create_kafka_consumer(c, opt, err) != 0 ||
        subscribe(c, err) != 0) {
        consumer_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void consumer_free(consumer *c)
{
    if (!c)
        return;
    job_workers_free(c->workers);
    offset_tracker_free(c->offsets);
    if (c->rk)
        rd_kafka_destroy(c->rk);
    producer_free(c->dlq);
    free(c->retries);
    free(c->jobs_topic);
    free(c->dlq_topic);
    free(c);
}
