/* test_consumer.c — the job consumer against librdkafka's mock cluster:
 * commits, dead-lettering, transient retries, broker outages, stop/grace,
 * group rebalances (eager and cooperative), an outside producer (kcat), and
 * several jobs in flight finishing out of order. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/monotonic.h"
#include "daemon/consumer.h"
#include "daemon/dlq.h"
#include "daemon/kafka_conf.h"
#include "daemon/mock_broker.h"
#include "daemon/producer.h"
#include "tests/support.h"

#define JOBS "precis.jobs"
#define DLQ "precis.jobs.dlq"
#define MAX_CALLS 512
#define WAIT_MS 40000

/* ---- harness ------------------------------------------------------------ */

typedef struct call {
    char payload[64];
    int32_t partition;
    int64_t offset;
    int attempt;
    job_outcome outcome;
    int who;                  /* which consumer handled it */
} call;

typedef struct harness harness;
typedef job_outcome (*decide_fn)(harness *h, const kafka_message_view *m, perr *err);

struct harness {
    mock_broker *broker;
    char group[64];
    kafka_property props[16];
    size_t nprops;
    decide_fn decide;
    pthread_mutex_t lock;
    call calls[MAX_CALLS];
    int ncalls;
    int partitions;           /* of the jobs topic */
    int64_t committed_seen;   /* a committed offset looked up from inside the handler */
    int long_job;             /* lag test: 1 once the long job has begun, 2 once it ended */
    atomic_int release;       /* in-flight tests: the held job may finish */
    int jobs_in_flight;       /* of the members member_start makes (0: 1) */
    kafka_log_hook log_hook;  /* given to the members' consumers */
};

typedef struct member {
    harness *h;
    int who;
    consumer *c;
    pthread_t thread;
    int rc;
    perr err;
} member;

static void add_prop(harness *h, const char *k, const char *v)
{
    cr_assert_lt(h->nprops, sizeof h->props / sizeof h->props[0]);
    h->props[h->nprops++] = (kafka_property){k, v};
}

static void harness_start(harness *h, int partitions)
{
    /* Hang guard: SIGALRM ends this test's process (reported as a crash).
     * (With Criterion's .timeout on these tests, its runner leaked 48 bytes
     * per run under LeakSanitizer with --jobs 2, failing the suite.) */
    alarm(150);
    memset(h, 0, sizeof *h);
    log_set_level(getenv("TEST_LOG_DEBUG") ? LOG_INFO : LOG_WARN);
    pthread_mutex_init(&h->lock, NULL);
    static const char *const topics[] = {JOBS, DLQ, NULL};
    h->partitions = partitions;
    mock_broker_options mo = {.partitions = partitions, .topics = topics};
    perr err;
    cr_assert_eq(mock_broker_start(&h->broker, &mo, &err), 0, "%s", err.msg);
    snprintf(h->group, sizeof h->group, "test-%d-%lld", (int)getpid(), (long long)monotonic_ms());
    add_prop(h, "bootstrap.servers", mock_broker_bootstraps(h->broker));
    add_prop(h, "group.id", h->group);
    add_prop(h, "session.timeout.ms", "6000");
    add_prop(h, "heartbeat.interval.ms", "300");
    add_prop(h, "reconnect.backoff.ms", "50");
    add_prop(h, "reconnect.backoff.max.ms", "300");
    add_prop(h, "topic.metadata.refresh.interval.ms", "1000");
    /* TEST_KAFKA_DEBUG=cgrp,consumer (say) traces librdkafka in these tests. */
    const char *debug = getenv("TEST_KAFKA_DEBUG");
    if (debug && *debug) {
        add_prop(h, "debug", debug);
        log_set_level(LOG_DEBUG);
    }
}

static void harness_stop(harness *h)
{
    mock_broker_stop(h->broker);
    pthread_mutex_destroy(&h->lock);
}

static job_outcome record_and_decide(void *ctx, const kafka_message_view *m, perr *err, int who)
{
    harness *h = ctx;
    job_outcome o = h->decide ? h->decide(h, m, err) : JOB_OK;
    pthread_mutex_lock(&h->lock);
    if (h->ncalls < MAX_CALLS) {
        call *c = &h->calls[h->ncalls++];
        snprintf(c->payload, sizeof c->payload, "%.*s", (int)m->payload_len, (const char *)m->payload);
        c->partition = m->partition;
        c->offset = m->offset;
        c->attempt = m->attempt;
        c->outcome = o;
        c->who = who;
    }
    pthread_mutex_unlock(&h->lock);
    return o;
}

/* Two handler entry points so tests can tell group members apart. */
static job_outcome handle_as_0(void *ctx, const kafka_message_view *m, perr *err) { return record_and_decide(ctx, m, err, 0); }
static job_outcome handle_as_1(void *ctx, const kafka_message_view *m, perr *err) { return record_and_decide(ctx, m, err, 1); }

static void *run_member(void *arg)
{
    member *mb = arg;
    mb->rc = consumer_run(mb->c, &mb->err);
    return NULL;
}

/* mb's consumer made from o, running on its own thread. */
static void member_run(member *mb, const consumer_options *o)
{
    perr err;
    cr_assert_eq(consumer_new(&mb->c, o, &err), 0, "%s", err.msg);
    cr_assert_eq(pthread_create(&mb->thread, NULL, run_member, mb), 0);
}

static void member_start_with(member *mb, harness *h, int who, long grace_ms, int backoff_ms)
{
    memset(mb, 0, sizeof *mb);
    mb->h = h;
    mb->who = who;
    consumer_options o = {
        .props = h->props,
        .nprops = h->nprops,
        .handler = {.handle = who ? handle_as_1 : handle_as_0, .ctx = h},
        .backoff_initial_ms = backoff_ms,
        .backoff_max_ms = backoff_ms * 4,
        .poll_ms = 50,
        .shutdown_grace_ms = grace_ms,
        .log_hook = h->log_hook,
        .jobs_in_flight = h->jobs_in_flight,
    };
    member_run(mb, &o);
}

static void member_start(member *mb, harness *h, int who)
{
    member_start_with(mb, h, who, 10000, 100);
}

static void member_stop(member *mb)
{
    consumer_request_stop(mb->c);
    pthread_join(mb->thread, NULL);
    cr_assert_eq(mb->rc, 0, "consumer_run: %s", mb->err.msg);
    consumer_free(mb->c);
    mb->c = NULL;
}

static void produce(harness *h, const char *key, const char *payload, rd_kafka_headers_t *hdrs)
{
    producer *p;
    perr err;
    cr_assert_eq(producer_new(&p, h->props, 1, &err), 0, "%s", err.msg);   /* props[0] = bootstrap */
    producer_message m = {.topic = JOBS, .partition = RD_KAFKA_PARTITION_UA, .key = key, .key_len = strlen(key),
                          .value = payload, .value_len = strlen(payload), .headers = hdrs};
    cr_assert_eq(producer_send(p, &m, NULL, &err), 0, "%s", err.msg);
    producer_free(p);
}

static void produce_n(harness *h, const char *prefix, int n)
{
    producer *p;
    perr err;
    cr_assert_eq(producer_new(&p, h->props, 1, &err), 0, "%s", err.msg);
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s-%d", prefix, i);
        producer_message m = {.topic = JOBS, .partition = RD_KAFKA_PARTITION_UA, .key = key,
                              .key_len = strlen(key), .value = key, .value_len = strlen(key)};
        cr_assert_eq(producer_send(p, &m, NULL, &err), 0, "%s", err.msg);
    }
    producer_free(p);
}

static int count_calls(harness *h, job_outcome outcome)
{
    pthread_mutex_lock(&h->lock);
    int n = 0;
    for (int i = 0; i < h->ncalls; i++)
        n += h->calls[i].outcome == outcome;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* Waits until at least n calls ended with outcome; fails the test after WAIT_MS. */
static void wait_for(harness *h, job_outcome outcome, int n)
{
    int64_t deadline = monotonic_ms() + WAIT_MS;
    while (count_calls(h, outcome) < n) {
        if (monotonic_ms() >= deadline)
            cr_assert_fail("timed out: %d of %d calls with outcome %d", count_calls(h, outcome), n,
                     outcome);
        test_sleep_ms(20);
    }
}

/* How many successful calls handled payload. */
static int times_done(harness *h, const char *payload)
{
    int n = 0;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < h->ncalls; i++)
        n += h->calls[i].outcome != JOB_TRANSIENT_FAILURE && strcmp(h->calls[i].payload, payload) == 0;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static void committed_offsets(harness *h, int partitions, int64_t *out);
static int64_t high_watermark(harness *h, const char *topic, int partition);

/* For a timeout's message: per partition, the group's committed offset, the
 * high watermark, and which member last handled which offset there. */
static void describe_partitions(harness *h, char *buf, size_t len)
{
    int64_t committed[16];
    int n = h->partitions < 16 ? h->partitions : 16;
    committed_offsets(h, n, committed);
    size_t used = 0;
    buf[0] = '\0';
    for (int p = 0; p < n && used < len; p++) {
        int64_t last = -1;
        int who = -1;
        pthread_mutex_lock(&h->lock);
        for (int i = 0; i < h->ncalls; i++)
            if (h->calls[i].partition == p) {
                last = h->calls[i].offset;
                who = h->calls[i].who;
            }
        pthread_mutex_unlock(&h->lock);
        int w = snprintf(buf + used, len - used, " p%d: committed %" PRId64 " high %" PRId64 " last handled %" PRId64
                         " by %d;", p, committed[p], high_watermark(h, JOBS, p), last, who);
        used += w > 0 ? (size_t)w : 0;
    }
}

/* Waits until payload was handled successfully (or dead-lettered). */
static void wait_done(harness *h, const char *payload)
{
    int64_t deadline = monotonic_ms() + WAIT_MS;
    while (times_done(h, payload) < 1) {
        if (monotonic_ms() >= deadline) {
            char state[1024];
            describe_partitions(h, state, sizeof state);
            cr_assert_fail("timed out waiting for %s;%s", payload, state);
        }
        test_sleep_ms(20);
    }
}

/* Committed offset of each partition of topic for h's group (-1001 = none). */
static void committed_offsets(harness *h, int partitions, int64_t *out)
{
    rd_kafka_conf_t *conf;
    perr err;
    cr_assert_eq(kafka_conf_new(&conf, h->props, 2, &err), 0, "%s", err.msg);   /* bootstrap + group */
    char errstr[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    cr_assert(rk, "%s", errstr);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(l, JOBS, p);
    rd_kafka_resp_err_t rc = rd_kafka_committed(rk, l, 10000);
    cr_assert_eq(rc, RD_KAFKA_RESP_ERR_NO_ERROR, "committed: %s", rd_kafka_err2str(rc));
    for (int p = 0; p < partitions; p++)
        out[p] = l->elems[p].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
}

static int64_t high_watermark(harness *h, const char *topic, int partition)
{
    rd_kafka_conf_t *conf;
    perr err;
    cr_assert_eq(kafka_conf_new(&conf, h->props, 1, &err), 0, "%s", err.msg);
    char errstr[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    cr_assert(rk, "%s", errstr);
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t rc = rd_kafka_query_watermark_offsets(rk, topic, partition, &lo, &hi, 10000);
    cr_assert_eq(rc, RD_KAFKA_RESP_ERR_NO_ERROR, "watermarks: %s", rd_kafka_err2str(rc));
    rd_kafka_destroy(rk);
    return hi;
}

/* Every partition's committed offset equals its high watermark: all done. */
static void assert_all_committed(harness *h, int partitions)
{
    int64_t committed[16];
    committed_offsets(h, partitions, committed);
    for (int p = 0; p < partitions; p++) {
        int64_t hi = high_watermark(h, JOBS, p);
        if (hi == 0)
            cr_assert(committed[p] < 0 || committed[p] == 0, "partition %d: nothing produced, committed %" PRId64, p,
                      committed[p]);
        else
            cr_assert_eq(committed[p], hi, "partition %d committed %" PRId64 " high watermark %" PRId64, p,
                         committed[p], hi);
    }
}

/* A message copied out of librdkafka (its handle must outlive its messages). */
typedef struct read_msg {
    void *key;
    size_t key_len;
    void *payload;
    size_t len;
    rd_kafka_headers_t *headers;   /* copy, may be NULL */
} read_msg;

static void copy_message(read_msg *out, const rd_kafka_message_t *m)
{
    out->key = m->key_len ? malloc(m->key_len) : NULL;
    if (m->key_len)
        memcpy(out->key, m->key, m->key_len);
    out->key_len = m->key_len;
    out->payload = m->len ? malloc(m->len) : NULL;
    if (m->len)
        memcpy(out->payload, m->payload, m->len);
    out->len = m->len;
    rd_kafka_headers_t *h = NULL;
    out->headers = rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_headers_copy(h) : NULL;
}

/* Read exactly n messages of topic (all partitions, from the beginning). */
static read_msg *read_topic(harness *h, const char *topic, int partitions, int n)
{
    rd_kafka_conf_t *conf;
    perr err;
    cr_assert_eq(kafka_conf_new(&conf, h->props, 1, &err), 0, "%s", err.msg);
    char errstr[256];
    cr_assert_eq(rd_kafka_conf_set(conf, "group.id", "reader", errstr, sizeof errstr), RD_KAFKA_CONF_OK);
    cr_assert_eq(rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr), RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    cr_assert(rk, "%s", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    cr_assert_eq(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    read_msg *msgs = calloc((size_t)n + 1, sizeof *msgs);
    int got = 0, extra = 0;
    int64_t deadline = monotonic_ms() + WAIT_MS;
    /* Anything beyond n would be a duplicate: keep reading 500 ms more. */
    while (monotonic_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m && !m->err) {
            if (got < n)
                copy_message(&msgs[got++], m);
            else
                extra++;
            if (got == n)
                deadline = monotonic_ms() + 500;
        }
        if (m)
            rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    cr_assert_eq(got, n, "read %d of %d messages from %s", got, n, topic);
    cr_assert_eq(extra, 0, "%d messages more than %d on %s", extra, n, topic);
    return msgs;
}

static void free_messages(read_msg *msgs, int n)
{
    for (int i = 0; i < n; i++) {
        free(msgs[i].key);
        free(msgs[i].payload);
        if (msgs[i].headers)
            rd_kafka_headers_destroy(msgs[i].headers);
    }
    free(msgs);
}

static char *header_string(rd_kafka_headers_t *hdrs, const char *name)
{
    const void *v;
    size_t len;
    if (!hdrs || rd_kafka_header_get_last(hdrs, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return NULL;
    return strndup(v, len);
}

/* ---- tests -------------------------------------------------------------- */

Test(consumer, happy_path_commits_every_job)
{
    harness h;
    harness_start(&h, 3);
    produce_n(&h, "job", 12);
    member m;
    member_start(&m, &h, 0);
    wait_for(&h, JOB_OK, 12);
    member_stop(&m);
    cr_assert_eq(h.ncalls, 12, "each job handled once, got %d calls", h.ncalls);
    for (int i = 0; i < 12; i++) {
        char name[32];
        snprintf(name, sizeof name, "job-%d", i);
        cr_assert_eq(times_done(&h, name), 1, "%s handled once", name);
    }
    assert_all_committed(&h, 3);
    harness_stop(&h);
}

static job_outcome reject_bad(harness *h, const kafka_message_view *m, perr *err)
{
    (void)h;
    if (m->payload_len == 3 && memcmp(m->payload, "bad", 3) == 0) {
        perr_set(err, "invalid job: missing document");
        return JOB_PERMANENT_FAILURE;
    }
    return JOB_OK;
}

Test(consumer, permanent_failure_is_dead_lettered_with_connect_headers)
{
    harness h;
    harness_start(&h, 2);
    h.decide = reject_bad;
    produce(&h, "good-1", "good-1", NULL);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
    rd_kafka_header_add(hdrs, "trace-id", -1, "abc123", -1);
    produce(&h, "bad-key", "bad", hdrs);
    produce(&h, "good-2", "good-2", NULL);
    member m;
    member_start(&m, &h, 0);
    wait_for(&h, JOB_OK, 2);
    wait_for(&h, JOB_PERMANENT_FAILURE, 1);
    member_stop(&m);
    assert_all_committed(&h, 2);

    read_msg *dlq = read_topic(&h, DLQ, 2, 1);
    read_msg *d = &dlq[0];
    cr_assert_eq(d->key_len, 7);
    cr_assert_eq(memcmp(d->key, "bad-key", 7), 0, "original key kept");
    cr_assert_eq(d->len, 3);
    cr_assert_eq(memcmp(d->payload, "bad", 3), 0, "original payload kept");
    rd_kafka_headers_t *dh = d->headers;
    cr_assert(dh, "dead-letter message has headers");
    int32_t bad_partition = -1;
    int64_t bad_offset = -1;
    for (int i = 0; i < h.ncalls; i++)
        if (h.calls[i].outcome == JOB_PERMANENT_FAILURE) {
            bad_partition = h.calls[i].partition;
            bad_offset = h.calls[i].offset;
        }
    char expect[32];
    char *v;
    cr_assert_str_eq(v = header_string(dh, DLQ_HDR_TOPIC), JOBS);
    free(v);
    snprintf(expect, sizeof expect, "%" PRId32, bad_partition);
    cr_assert_str_eq(v = header_string(dh, DLQ_HDR_PARTITION), expect);
    free(v);
    snprintf(expect, sizeof expect, "%" PRId64, bad_offset);
    cr_assert_str_eq(v = header_string(dh, DLQ_HDR_OFFSET), expect);
    free(v);
    cr_assert_str_eq(v = header_string(dh, DLQ_HDR_CLASS), DLQ_DEFAULT_CLASS);
    free(v);
    cr_assert_str_eq(v = header_string(dh, DLQ_HDR_MESSAGE), "invalid job: missing document");
    free(v);
    cr_assert_str_eq(v = header_string(dh, DLQ_HDR_ATTEMPTS), "1");
    free(v);
    cr_assert_str_eq(v = header_string(dh, "trace-id"), "abc123", "original headers kept");
    free(v);
    free_messages(dlq, 1);
    harness_stop(&h);
}

/* "flaky" fails transiently twice; before each retry the committed offset of
 * its partition is looked up from inside the handler. */
static job_outcome flaky_twice(harness *h, const kafka_message_view *m, perr *err)
{
    if (m->payload_len != 5 || memcmp(m->payload, "flaky", 5) != 0)
        return JOB_OK;
    if (m->attempt > 1) {
        int64_t committed[1];
        committed_offsets(h, 1, committed);
        if (committed[m->partition] > m->offset)
            h->committed_seen = committed[m->partition];
    }
    if (m->attempt <= 2) {
        perr_set(err, "database unreachable");
        return JOB_TRANSIENT_FAILURE;
    }
    return JOB_OK;
}

Test(consumer, transient_failure_retries_without_commit)
{
    harness h;
    harness_start(&h, 1);   /* one partition: later jobs queue behind "flaky" */
    h.decide = flaky_twice;
    h.committed_seen = -1;
    produce(&h, "k1", "flaky", NULL);
    produce(&h, "k2", "other-1", NULL);
    produce(&h, "k3", "other-2", NULL);
    member m;
    member_start(&m, &h, 0);
    wait_for(&h, JOB_OK, 3);
    member_stop(&m);
    cr_assert_eq(count_calls(&h, JOB_TRANSIENT_FAILURE), 2);
    cr_assert_eq(h.committed_seen, -1, "offset committed past the failing message before it succeeded");
    /* Per-partition order holds: flaky x3 (attempts 1, 2, 3), then the rest once each. */
    static const char *const want[] = {"flaky", "flaky", "flaky", "other-1", "other-2"};
    cr_assert_eq(h.ncalls, 5, "%d calls", h.ncalls);
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(h.calls[i].payload, want[i], "call %d", i);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(h.calls[i].attempt, i + 1, "attempt of call %d", i);
    cr_assert_eq(h.calls[3].attempt, 1);
    assert_all_committed(&h, 1);
    harness_stop(&h);
}

/* The broker goes down right after "down-now" is handled (so its commit
 * fails) and comes back two seconds later. */
static job_outcome take_broker_down(harness *h, const kafka_message_view *m, perr *err)
{
    (void)err;
    if (m->payload_len == 8 && memcmp(m->payload, "down-now", 8) == 0 && m->attempt == 1)
        rd_kafka_mock_broker_set_down(mock_broker_cluster(h->broker), 1);
    return JOB_OK;
}

Test(consumer, broker_down_then_up_loses_nothing)
{
    harness h;
    harness_start(&h, 2);
    h.jobs_in_flight = 3;   /* the outage hits several running jobs */
    h.decide = take_broker_down;
    produce_n(&h, "before", 4);
    produce(&h, "d", "down-now", NULL);
    member m;
    member_start(&m, &h, 0);
    wait_done(&h, "down-now");
    test_sleep_ms(2000);
    rd_kafka_mock_broker_set_up(mock_broker_cluster(h.broker), 1);
    produce_n(&h, "after", 4);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "before-%d", i);
        wait_done(&h, name);
        snprintf(name, sizeof name, "after-%d", i);
        wait_done(&h, name);
    }
    member_stop(&m);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "before-%d", i);
        cr_assert_geq(times_done(&h, name), 1, "%s handled", name);
        snprintf(name, sizeof name, "after-%d", i);
        cr_assert_geq(times_done(&h, name), 1, "%s handled", name);
    }
    cr_assert_geq(times_done(&h, "down-now"), 1);
    assert_all_committed(&h, 2);
    harness_stop(&h);
}

Test(consumer, stop_request_returns_zero_with_offsets_committed)
{
    harness h;
    harness_start(&h, 2);
    produce_n(&h, "s", 5);
    member m;
    member_start(&m, &h, 0);
    wait_for(&h, JOB_OK, 5);
    member_stop(&m);   /* asserts consumer_run returned 0 */
    assert_all_committed(&h, 2);
    harness_stop(&h);
}

/* "slow" takes ~600 ms; the stop request arrives while it runs. */
static job_outcome slow_job(harness *h, const kafka_message_view *m, perr *err)
{
    (void)h;
    if (m->payload_len != 4 || memcmp(m->payload, "slow", 4) != 0)
        return JOB_OK;
    for (int i = 0; i < 30; i++) {
        if (consumer_job_cancelled(m->consumer)) {
            perr_set(err, "cancelled by shutdown");
            return JOB_TRANSIENT_FAILURE;
        }
        test_sleep_ms(20);
    }
    return JOB_OK;
}

static void stop_during_slow_job(harness *h, member *m)
{
    /* The slow job is handled first (only message); stop once it has begun. */
    int64_t deadline = monotonic_ms() + WAIT_MS;
    while (metrics_jobs_consumed(consumer_metrics(m->c)) < 1) {
        if (monotonic_ms() >= deadline)
            cr_assert_fail("slow job never started");
        test_sleep_ms(10);
    }
    test_sleep_ms(100);
    (void)h;
    member_stop(m);
}

/* One member handling the single message "slow", stopped once that job has
 * begun, with grace_ms to finish it; returns the member's metrics. */
static metrics *stop_slow_job(harness *h, int grace_ms)
{
    harness_start(h, 1);
    h->decide = slow_job;
    produce(h, "k", "slow", NULL);
    metrics *mt = metrics_new();
    member m;
    memset(&m, 0, sizeof m);
    consumer_options o = {.props = h->props, .nprops = h->nprops, .handler = {.handle = handle_as_0, .ctx = h},
                          .metrics = mt, .poll_ms = 50, .shutdown_grace_ms = grace_ms};
    member_run(&m, &o);
    stop_during_slow_job(h, &m);
    return mt;
}

Test(consumer, stop_lets_current_job_finish_within_grace)
{
    harness h;
    metrics *mt = stop_slow_job(&h, 10000);
    cr_assert_eq(count_calls(&h, JOB_OK), 1, "the job finished");
    assert_all_committed(&h, 1);
    metrics_free(mt);
    harness_stop(&h);
}

Test(consumer, grace_expiry_cancels_job_without_commit)
{
    harness h;
    metrics *mt = stop_slow_job(&h, 0);
    cr_assert_eq(count_calls(&h, JOB_TRANSIENT_FAILURE), 1, "the job gave up");
    int64_t committed[1];
    committed_offsets(&h, 1, committed);
    cr_assert_lt(committed[0], 1, "the cancelled job's offset is not committed (got %" PRId64 ")", committed[0]);
    metrics_free(mt);
    harness_stop(&h);
}

static int calls_by(harness *h, int who)
{
    pthread_mutex_lock(&h->lock);
    int n = 0;
    for (int i = 0; i < h->ncalls; i++)
        n += h->calls[i].who == who && h->calls[i].outcome == JOB_OK;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* The consumers' "partitions assigned" log lines (a rebalance handing a
 * member at least one partition), counted on their way to the log; lines at
 * the harness's log level still reach stderr. */
static atomic_int assign_events;
static log_level shown_level;

static ssize_t counting_log_write(void *cookie, const char *buf, size_t len)
{
    (void)cookie;
    if (memmem(buf, len, "msg=\"partitions assigned\"", 25) && !memmem(buf, len, " count=0 ", 9))
        atomic_fetch_add(&assign_events, 1);
    static const char *const names[] = {"debug", "info", "warn", "error"};
    const char *level = memmem(buf, len, " level=", 7);
    for (int l = shown_level; level && l <= LOG_ERROR; l++)
        if (strncmp(level + 7, names[l], strlen(names[l])) == 0) {
            fwrite(buf, 1, len, stderr);
            break;
        }
    return (ssize_t)len;
}

static FILE *count_assignments(void)
{
    atomic_store(&assign_events, 0);
    shown_level = log_get_level();
    FILE *f = fopencookie(NULL, "w", (cookie_io_functions_t){.write = counting_log_write});
    cr_assert(f, "fopencookie");
    log_set_stream(f);
    if (shown_level > LOG_INFO)
        log_set_level(LOG_INFO);
    return f;
}

static void stop_counting_assignments(FILE *f)
{
    log_set_stream(NULL);
    log_set_level(shown_level);
    fclose(f);
}

/* Jobs take 0-45 ms, by their payload, so jobs in flight finish out of order. */
static job_outcome jittered(harness *h, const kafka_message_view *m, perr *err)
{
    (void)h;
    (void)err;
    unsigned hash = 2166136261u;
    for (size_t i = 0; i < m->payload_len; i++)
        hash = (hash ^ ((const unsigned char *)m->payload)[i]) * 16777619u;
    test_sleep_ms((int)(hash % 10) * 5);
    return JOB_OK;
}

/* Nothing may be lost; a job may be handled again after a rebalance: the
 * mock cluster rejects commits while the group rebalances
 * (REBALANCE_IN_PROGRESS, and with cooperative-sticky ILLEGAL_GENERATION for
 * the survivor, whose assignment librdkafka then declares lost), so jobs done
 * in that window are redelivered — at-least-once, absorbed by the store's
 * idempotent upsert. A job is handled at most once per assignment of its
 * partition, so at most as many times as partitions were assigned: 3 when
 * the group forms at once (a, b, then b again once a has left), more when
 * the mock group rebalances over and over while it forms (a follower whose
 * SyncGroup reaches the mock after the leader's is refused and rejoins;
 * three such rounds in a row, about 1 run in 300 under load, had a job
 * handled 4 times). Each member runs four jobs at once with jittered
 * durations, so revokes and stops land while jobs finish out of order. */
static void two_members_share_partitions(const char *strategy)
{
    harness h;
    harness_start(&h, 4);
    h.jobs_in_flight = 4;   /* each member runs several jobs at once, finishing out of order */
    h.decide = jittered;
    FILE *log = count_assignments();
    if (strategy)
        add_prop(&h, "partition.assignment.strategy", strategy);
    member a, b;
    member_start(&a, &h, 0);
    member_start(&b, &h, 1);
    /* Wait for both to own partitions: produce until each handled a job. */
    int64_t deadline = monotonic_ms() + WAIT_MS;
    int produced = 0;
    while (calls_by(&h, 0) == 0 || calls_by(&h, 1) == 0) {
        if (monotonic_ms() >= deadline)
            cr_assert_fail("both members never got partitions (a=%d b=%d)", calls_by(&h, 0),
                     calls_by(&h, 1));
        char name[32];
        snprintf(name, sizeof name, "first-%d", produced++);
        produce(&h, name, name, NULL);
        test_sleep_ms(100);
    }
    wait_for(&h, JOB_OK, produced);
    member_stop(&a);   /* leaves the group: its partitions move to b */
    int before_b = calls_by(&h, 1);
    produce_n(&h, "second", 12);
    for (int i = 0; i < 12; i++) {
        char name[32];
        snprintf(name, sizeof name, "second-%d", i);
        wait_done(&h, name);
    }
    cr_assert_geq(calls_by(&h, 1) - before_b, 12, "b took over every partition");
    int a_after = 0;
    for (int i = 0; i < h.ncalls; i++)
        a_after += h.calls[i].who == 0 && !strncmp(h.calls[i].payload, "second-", 7);
    cr_assert_eq(a_after, 0, "a stopped consuming when asked");
    member_stop(&b);
    for (int i = 0; i < produced + 12; i++) {
        char name[32];
        if (i < produced)
            snprintf(name, sizeof name, "first-%d", i);
        else
            snprintf(name, sizeof name, "second-%d", i - produced);
        int n = times_done(&h, name);
        int assigned = atomic_load(&assign_events);
        cr_assert(n >= 1 && n <= assigned, "%s handled %d times with partitions assigned %d times", name, n,
                  assigned);
    }
    assert_all_committed(&h, 4);
    stop_counting_assignments(log);
    harness_stop(&h);
}

Test(consumer, two_members_eager_rebalance_loses_nothing)
{
    two_members_share_partitions(NULL);
}

Test(consumer, two_members_cooperative_rebalance_loses_nothing)
{
    two_members_share_partitions("cooperative-sticky");
}

/* ---- issue #18: nothing may race librdkafka's fetcher start --------------
 *
 * librdkafka 2.0.2 starts a newly assigned partition's fetcher on its main
 * thread after assign() has returned (once the committed offsets are in): it
 * takes a new op version for the partition, logs "Start consuming", then
 * queues FETCH_START. A pause, resume or seek from the application thread
 * that takes its version in between is queued first with the higher
 * version, and FETCH_START then arrives outdated and is dropped: the
 * partition stays assigned, unpaused and in fetch state "none", never
 * fetched until the next rebalance. The hook below makes that interleaving
 * certain: it holds librdkafka's main thread at its first "Start consuming"
 * until an application "Resume" has taken its version (or 2 s have passed),
 * and holds an application "resuming" call until the main thread is there. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int start_seen;        /* main thread at "Start consuming" */
    int resume_versioned;  /* an application resume took its version */
    int done;
} race = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

/* Waits (race.lock held) until *flag is set or ms have passed. */
static void race_wait(const int *flag, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!*flag && pthread_cond_timedwait(&race.cond, &race.lock, &until) == 0)
        ;
}

static void race_hook(const rd_kafka_t *rk, int level, const char *facility, const char *line)
{
    (void)rk;
    (void)level;
    (void)facility;
    pthread_mutex_lock(&race.lock);
    if (!race.done && strstr(line, "[thrd:main]: Start consuming " JOBS " [")) {
        race.start_seen = 1;
        pthread_cond_broadcast(&race.cond);
        race_wait(&race.resume_versioned, 2000);
        race.done = 1;
        pthread_mutex_unlock(&race.lock);
        test_sleep_ms(200);   /* the application queues its op meanwhile */
        return;
    }
    if (!race.done && strstr(line, "[thrd:app]: Application resuming"))
        race_wait(&race.start_seen, 2000);
    else if (strstr(line, "[thrd:app]: Resume " JOBS " [")) {
        race.resume_versioned = 1;
        pthread_cond_broadcast(&race.cond);
    }
    pthread_mutex_unlock(&race.lock);
}

/* Fails on the code before the fix (on_rebalance resumed every assigned
 * partition right after assign()): the first partition started is never
 * fetched, and its jobs (race-4..7 or race-0..3) time out. */
Test(consumer, a_partition_is_fetched_even_when_its_fetcher_starts_late)
{
    harness h;
    harness_start(&h, 2);
    add_prop(&h, "debug", "topic");   /* the hook reads librdkafka's partition trace */
    produce_n(&h, "race", 8);         /* 0-3 go to one partition, 4-7 to the other */
    h.log_hook = race_hook;
    member m;
    member_start(&m, &h, 0);
    for (int i = 0; i < 8; i++) {
        char name[32];
        snprintf(name, sizeof name, "race-%d", i);
        wait_done(&h, name);
    }
    member_stop(&m);
    cr_assert(race.start_seen, "the hook never saw a fetcher start");
    assert_all_committed(&h, 2);
    harness_stop(&h);
}

static int calls_for(harness *h, const char *payload)
{
    pthread_mutex_lock(&h->lock);
    int n = 0;
    for (int i = 0; i < h->ncalls; i++)
        n += strcmp(h->calls[i].payload, payload) == 0;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* "held" fails transiently on its first call; the backoff (60 s) keeps its
 * partition paused for longer than the test. */
static job_outcome fail_held_once(harness *h, const kafka_message_view *m, perr *err)
{
    if (m->payload_len == 4 && memcmp(m->payload, "held", 4) == 0 && calls_for(h, "held") == 0) {
        perr_set(err, "database unreachable");
        return JOB_TRANSIENT_FAILURE;
    }
    return JOB_OK;
}

/* librdkafka 2.0 keeps an application pause across unassign and assign: a
 * partition paused for a retry when it was revoked must still be fetched once
 * it comes back to the same member (the revoke resumes it). Fails when
 * nothing resumes it: "held" or "after" times out. */
Test(consumer, a_partition_paused_when_revoked_is_fetched_when_it_comes_back)
{
    harness h;
    harness_start(&h, 1);
    h.decide = fail_held_once;
    produce(&h, "k", "held", NULL);
    member a, b;
    member_start_with(&a, &h, 0, 10000, 60000);
    wait_for(&h, JOB_TRANSIENT_FAILURE, 1);   /* a's only partition is now paused */
    member_start(&b, &h, 1);                 /* rebalance: a revokes it, paused */
    wait_done(&h, "held");                   /* whoever owns it now redoes "held" */
    member_stop(&b);                         /* rebalance: the partition is a's again */
    produce(&h, "k", "after", NULL);
    wait_done(&h, "after");
    member_stop(&a);
    assert_all_committed(&h, 1);
    harness_stop(&h);
}

Test(consumer, jobs_produced_by_kcat)
{
    harness h;
    harness_start(&h, 2);
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "kcat -b %s -t %s -P -K: -X reconnect.backoff.ms=50", mock_broker_bootstraps(h.broker),
                       JOBS) > 0);
    FILE *p = popen(cmd, "w");
    cr_assert(p, "popen kcat");
    fprintf(p, "id-1:kcat-1\nid-2:kcat-2\nid-3:kcat-3\n");
    cr_assert_eq(pclose(p), 0, "kcat failed");
    free(cmd);
    member m;
    member_start(&m, &h, 0);
    wait_for(&h, JOB_OK, 3);
    member_stop(&m);
    cr_assert_eq(times_done(&h, "kcat-1"), 1);
    cr_assert_eq(times_done(&h, "kcat-2"), 1);
    cr_assert_eq(times_done(&h, "kcat-3"), 1);
    assert_all_committed(&h, 2);
    harness_stop(&h);
}

static job_outcome always_transient(harness *h, const kafka_message_view *m, perr *err)
{
    (void)h;
    (void)m;
    perr_set(err, "database unreachable");
    return JOB_TRANSIENT_FAILURE;
}

Test(consumer, lag_gauge_counts_unfinished_messages)
{
    harness h;
    harness_start(&h, 1);
    h.decide = always_transient;
    produce_n(&h, "lag", 5);
    metrics *mt = metrics_new();
    member m;
    memset(&m, 0, sizeof m);
    consumer_options o = {.props = h.props, .nprops = h.nprops, .handler = {.handle = handle_as_0, .ctx = &h},
                          .metrics = mt, .poll_ms = 50, .backoff_initial_ms = 20000, .backoff_max_ms = 20000,
                          .shutdown_grace_ms = 1000};
    member_run(&m, &o);
    wait_for(&h, JOB_TRANSIENT_FAILURE, 1);
    /* The gauge refreshes every 5 s: the first message failed, all 5 remain. */
    int64_t deadline = monotonic_ms() + 15000;
    char *text = NULL;
    for (;;) {
        free(text);
        text = metrics_render(mt, NULL);
        if (strstr(text, "\nprecis_consumer_lag 5\n"))
            break;
        if (monotonic_ms() >= deadline)
            cr_assert_fail("lag gauge never reached 5:\n%s", text);
        test_sleep_ms(100);
    }
    free(text);
    member_stop(&m);
    cr_assert_eq(count_calls(&h, JOB_TRANSIENT_FAILURE), 1, "retried only after the backoff");
    metrics_free(mt);
    harness_stop(&h);
}

/* "long" holds the consumer's thread ~8 s; it says when it has begun. */
static job_outcome long_job(harness *h, const kafka_message_view *m, perr *err)
{
    (void)err;
    if (m->payload_len != 4 || memcmp(m->payload, "long", 4) != 0)
        return JOB_OK;
    pthread_mutex_lock(&h->lock);
    h->long_job = 1;
    pthread_mutex_unlock(&h->lock);
    test_sleep_ms(8000);
    pthread_mutex_lock(&h->lock);
    h->long_job = 2;
    pthread_mutex_unlock(&h->lock);
    return JOB_OK;
}

static int long_job_state(harness *h)
{
    pthread_mutex_lock(&h->lock);
    int v = h->long_job;
    pthread_mutex_unlock(&h->lock);
    return v;
}

/* Issue #18: the gauge was refreshed only between polls, and a job runs on
 * the polling thread, so during a 90 s job it stood still. */
Test(consumer, lag_gauge_moves_while_a_job_runs)
{
    harness h;
    harness_start(&h, 1);
    h.decide = long_job;
    produce(&h, "k", "long", NULL);
    metrics *mt = metrics_new();
    member m;
    memset(&m, 0, sizeof m);
    consumer_options o = {.props = h.props, .nprops = h.nprops, .handler = {.handle = handle_as_0, .ctx = &h},
                          .metrics = mt, .poll_ms = 50, .lag_refresh_ms = 500, .shutdown_grace_ms = 20000};
    member_run(&m, &o);
    for (int64_t deadline = monotonic_ms() + WAIT_MS; long_job_state(&h) < 1; test_sleep_ms(10))
        cr_assert_lt(monotonic_ms(), deadline, "the long job never started");
    produce_n(&h, "behind", 5);
    int64_t lag = -1;
    while (long_job_state(&h) < 2 && (lag = metrics_consumer_lag(mt)) < 5)
        test_sleep_ms(50);
    int state = long_job_state(&h);
    cr_assert_eq(lag, 5, "the gauge said %lld before the long job ended (state %d)", (long long)lag, state);
    cr_assert_lt(state, 2, "the gauge caught up only after the long job");
    wait_for(&h, JOB_OK, 6);
    member_stop(&m);
    metrics_free(mt);
    harness_stop(&h);
}

/* ---- several jobs in flight ------------------------------------------------ */

/* "held" runs until the test releases it; "flaky" fails transiently once,
 * 300 ms in; everything else is done at once. */
static job_outcome hold_first(harness *h, const kafka_message_view *m, perr *err)
{
    if (m->payload_len == 4 && memcmp(m->payload, "held", 4) == 0) {
        int64_t deadline = monotonic_ms() + WAIT_MS;
        while (!atomic_load(&h->release) && monotonic_ms() < deadline)
            test_sleep_ms(10);
        return JOB_OK;
    }
    if (m->payload_len == 5 && memcmp(m->payload, "flaky", 5) == 0 && calls_for(h, "flaky") == 0) {
        test_sleep_ms(300);   /* "after" is taken and done meanwhile */
        perr_set(err, "database unreachable");
        return JOB_TRANSIENT_FAILURE;
    }
    return JOB_OK;
}

static void start_in_flight(member *mb, harness *h, int jobs_in_flight)
{
    memset(mb, 0, sizeof *mb);
    mb->h = h;
    consumer_options o = {.props = h->props, .nprops = h->nprops, .handler = {.handle = handle_as_0, .ctx = h},
                          .backoff_initial_ms = 100, .backoff_max_ms = 400, .poll_ms = 50,
                          .shutdown_grace_ms = 10000, .jobs_in_flight = jobs_in_flight};
    member_run(mb, &o);
}

/* Three in flight on one partition: the two after "held" finish first, yet
 * nothing at or after "held" is committed until it is done. */
Test(consumer, out_of_order_completion_never_commits_an_unfinished_job)
{
    harness h;
    harness_start(&h, 1);
    h.decide = hold_first;
    produce(&h, "k", "held", NULL);
    produce(&h, "k", "next1", NULL);
    produce(&h, "k", "next2", NULL);
    member m;
    start_in_flight(&m, &h, 3);
    wait_done(&h, "next1");
    wait_done(&h, "next2");
    cr_assert_eq(times_done(&h, "held"), 0, "held still runs while the later two are done");
    test_sleep_ms(300);   /* time for any (wrong) commit to land */
    int64_t committed[1];
    committed_offsets(&h, 1, committed);
    cr_assert_lt(committed[0], 1, "committed %" PRId64 " while offset 0 still runs", committed[0]);
    atomic_store(&h.release, 1);
    wait_done(&h, "held");
    member_stop(&m);
    assert_all_committed(&h, 1);
    harness_stop(&h);
}

/* A transient failure rewinds the partition to "flaky" while "held" (before
 * it) still runs and "after" (after it) is done: the redelivered "after" is
 * not handled again, "flaky" is, and everything is committed in the end. */
Test(consumer, a_retry_while_jobs_run_handles_nothing_twice)
{
    harness h;
    harness_start(&h, 1);
    h.decide = hold_first;
    produce(&h, "k", "held", NULL);
    produce(&h, "k", "flaky", NULL);
    produce(&h, "k", "after", NULL);
    member m;
    start_in_flight(&m, &h, 3);
    wait_done(&h, "after");
    cr_assert_eq(calls_for(&h, "flaky"), 0, "after was done before flaky failed");
    wait_done(&h, "flaky");   /* its second attempt */
    test_sleep_ms(300);
    cr_assert_eq(calls_for(&h, "after"), 1, "after was handled %d times", calls_for(&h, "after"));
    cr_assert_eq(calls_for(&h, "flaky"), 2);
    int64_t committed[1];
    committed_offsets(&h, 1, committed);
    cr_assert_lt(committed[0], 1, "committed %" PRId64 " while offset 0 still runs", committed[0]);
    atomic_store(&h.release, 1);
    wait_done(&h, "held");
    member_stop(&m);
    cr_assert_eq(calls_for(&h, "held"), 1);
    assert_all_committed(&h, 1);
    harness_stop(&h);
}
