/* consumer.c — the job consumer loop: handle, dead-letter, commit, retry (see consumer.h). */
#include "daemon/consumer.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/monotonic.h"
#include "daemon/consumer_lag.h"
#include "daemon/dlq.h"
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

    retry_state *retries;
    size_t nretries, cap_retries;
    int commit_pending;        /* stored offsets whose commit failed */
    int64_t next_commit_retry; /* monotonic ms */
};

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
    if (c->nretries == c->cap_retries) {
        size_t cap = c->cap_retries ? c->cap_retries * 2 : 8;
        retry_state *grown = realloc(c->retries, cap * sizeof *grown);
        if (!grown)
            return NULL;
        c->retries = grown;
        c->cap_retries = cap;
    }
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

/* The message's outcome is durable: store offset+1 and commit it. */
static void mark_done(consumer *c, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->jobs_topic, m->partition)->offset = m->offset + 1;
    rd_kafka_resp_err_t rc = rd_kafka_offsets_store(c->rk, l);
    if (rc == RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Partition no longer ours: the job will be redelivered elsewhere
         * and the store's idempotent upsert absorbs the repeat. */
        log_warn("cannot store offset", "partition=%" PRId32 " offset=%" PRId64 " error=%s", m->partition,
                 m->offset, rd_kafka_err2str(rc));
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
    retry_state *r = retry_get(c, m->partition);
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
        if (strcmp(parts->elems[i].topic, c->jobs_topic) == 0)
            retry_forget(c, parts->elems[i].partition);
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
    /* Commit what is done before the partitions go to another member. */
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

/* The dead-letter copy keeps the message as it came, except its secrets
 * (the job password): DLQ topics are kept for a long time. */
static int dead_letter(consumer *c, const rd_kafka_message_t *m, int attempt, const char *reason, perr *err)
{
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
        .exception_class = c->handler.failure_class ? c->handler.failure_class(c->handler.ctx) : NULL,
        .message = reason,
        .attempts = attempt,
    };
    int rc = dlq_send(c->dlq, c->dlq_topic, &f, err);
    free(masked);
    return rc;
}

static job_outcome run_handler(consumer *c, const rd_kafka_message_t *m, int attempt, perr *herr)
{
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
        .attempt = attempt,
        .consumer = c,
    };
    herr->msg[0] = '\0';
    int64_t t0 = monotonic_ms();
    job_outcome outcome = c->handler.handle(c->handler.ctx, &view, herr);
    if (c->metrics)
        metrics_observe_job(c->metrics, (double)(monotonic_ms() - t0) / 1000.0);
    return outcome;
}

static void handle_message(consumer *c, const rd_kafka_message_t *m)
{
    retry_state *r = retry_find(c, m->partition);
    int attempt = r && r->offset == m->offset ? r->attempts + 1 : 1;
    if (attempt == 1 && c->metrics)
        metrics_job_consumed(c->metrics);
    perr herr;
    job_outcome outcome = run_handler(c, m, attempt, &herr);
    const char *reason = herr.msg[0] ? herr.msg : "no reason given";
    if (outcome == JOB_PERMANENT_FAILURE) {
        log_warn("job failed permanently; dead-lettering", "partition=%" PRId32 " offset=%" PRId64
                 " attempt=%d error=%s", m->partition, m->offset, attempt, reason);
        if (c->metrics)
            metrics_job_failed(c->metrics);
        perr derr;
        if (dead_letter(c, m, attempt, reason, &derr) != 0) {
            schedule_retry(c, m, attempt, derr.msg);
            if (c->metrics)
                metrics_job_retried(c->metrics);
            return;
        }
        if (c->metrics)
            metrics_job_dead_lettered(c->metrics);
    } else if (outcome == JOB_TRANSIENT_FAILURE) {
        if (c->metrics)
            metrics_job_retried(c->metrics);
        schedule_retry(c, m, attempt, reason);
        return;
    } else {
        log_info("job done", "partition=%" PRId32 " offset=%" PRId64 " attempt=%d", m->partition, m->offset, attempt);
        if (c->metrics)
            metrics_job_succeeded(c->metrics);
    }
    retry_forget(c, m->partition);
    mark_done(c, m);
}

/* ---- loop --------------------------------------------------------------- */

static void between_polls(consumer *c)
{
    if (atomic_exchange(&c->reload, 0) && c->on_reload)
        c->on_reload(c->hook_ctx);
    if (c->on_idle)
        c->on_idle(c->hook_ctx);
    resume_due_partitions(c);
    if (c->commit_pending && monotonic_ms() >= c->next_commit_retry)
        commit_stored(c, "retry");
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
    while (!atomic_load(&c->stop)) {
        between_polls(c);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, c->poll_ms);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            handle_message(c, m);
        else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            log_warn("consumer error", "error=%s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        char fatal[256];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(c->rk, fatal, sizeof fatal);
        if (ferr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rc = perr_set(err, "fatal Kafka error: %s", fatal);
            break;
        }
    }
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
    if (producer_new(&c->dlq, opt->props, opt->nprops, err) != 0 || create_kafka_consumer(c, opt, err) != 0 ||
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
    if (c->rk)
        rd_kafka_destroy(c->rk);
    producer_free(c->dlq);
    free(c->retries);
    free(c->jobs_topic);
    free(c->dlq_topic);
    free(c);
}
