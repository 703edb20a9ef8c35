/* test_serve.c — the daemon against real PostgreSQL (tests/pg_harness.h) and
 * librdkafka's mock cluster: invalid jobs recorded dead and dead-lettered,
 * a database outage paused and retried, and `precis serve` killed with
 * SIGKILL mid-job and restarted: every job done exactly once. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/monotonic.h"
#include "daemon/consumer.h"
#include "daemon/dlq.h"
#include "daemon/job_handler.h"
#include "daemon/mock_broker.h"
#include "daemon/producer.h"
#include "store/store.h"
#include "tests/pg_harness.h"
#include "tests/pg_query.h"
#include "tests/stub_analyzer.h"
#include "tests/support.h"

#define JOBS "precis.jobs"
#define DLQ "precis.jobs.dlq"
#define RESULTS "precis.results"
#define WAIT_MS 60000

extern char **environ;

static char *migrated_db(pg_harness *pg)
{
    /* Hang guard: SIGALRM ends this test's process (reported as a crash).
     * (With Criterion's .timeout on these tests, its runner leaked 48 bytes
     * per run under LeakSanitizer with --jobs 2, failing the suite.) */
    alarm(170);
    return test_migrated_db(pg);
}

static char *shared_migrated_db(void)
{
    pg_harness *pg = pg_harness_shared();
    char *conninfo = migrated_db(pg);
    pg_harness_free(pg);   /* the shared server keeps running */
    return conninfo;
}

/* First column of the first row of sql, as a number (-1 when the database is away). */
static long query_long(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    long v = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            v = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

static void wait_query(const char *conninfo, const char *sql, long want)
{
    int64_t deadline = monotonic_ms() + WAIT_MS;
    long got;
    while ((got = query_long(conninfo, sql)) < want) {
        if (monotonic_ms() >= deadline)
            cr_assert_fail("timed out: '%s' = %ld, want %ld", sql, got, want);
        test_sleep_ms(20);
    }
}

static void produce(const char *bootstrap, const char *key, const char *value)
{
    kafka_property props[] = {{"bootstrap.servers", bootstrap}};
    producer *p;
    perr err;
    cr_assert_eq(producer_new(&p, props, 1, &err), 0, "%s", err.msg);
    producer_message m = {.topic = JOBS, .partition = RD_KAFKA_PARTITION_UA, .key = key, .key_len = strlen(key),
                          .value = value, .value_len = strlen(value)};
    cr_assert_eq(producer_send(p, &m, NULL, &err), 0, "%s", err.msg);
    producer_free(p);
}

/* ---- in-process daemon pieces -------------------------------------------- */

typedef struct daemon_under_test {
    mock_broker *broker;
    kafka_property props[8];
    size_t nprops;
    metrics *metrics;
    producer *results;
    job_handler_state *handler;
    consumer *consumer;
    stub_analyzer_options stub;
    pthread_t thread;
    int rc;
    perr err;
} daemon_under_test;

/* The in-process daemon handles several jobs at once, as serve does. */
#define DAEMON_JOBS_IN_FLIGHT 4

/* What a test changes of the in-process daemon (zero: the defaults). */
typedef struct daemon_settings {
    const char *input_root;
    long stub_delay_ms;
    long job_timeout_ms;
    long max_attempts;            /* 0: 3 */
} daemon_settings;

static void *run_consumer(void *arg)
{
    daemon_under_test *d = arg;
    d->rc = consumer_run(d->consumer, &d->err);
    return NULL;
}

static void daemon_start_with(daemon_under_test *d, const char *conninfo, const daemon_settings *set)
{
    memset(d, 0, sizeof *d);
    d->stub.delay_ms = set->stub_delay_ms;
    d->stub.input_root = set->input_root;
    log_set_level(LOG_WARN);
    static const char *const topics[] = {JOBS, DLQ, RESULTS, NULL};
    mock_broker_options mo = {.partitions = 2, .topics = topics};
    perr err;
    cr_assert_eq(mock_broker_start(&d->broker, &mo, &err), 0, "%s", err.msg);
    d->props[d->nprops++] = (kafka_property){"bootstrap.servers", mock_broker_bootstraps(d->broker)};
    d->props[d->nprops++] = (kafka_property){"session.timeout.ms", "6000"};
    d->props[d->nprops++] = (kafka_property){"heartbeat.interval.ms", "300"};
    d->metrics = metrics_new();
    cr_assert_eq(producer_new(&d->results, d->props, 1, &err), 0, "%s", err.msg);
    job_handler_options ho = {.conninfo = conninfo, .max_attempts = set->max_attempts ? set->max_attempts : 3,
                              .job_timeout_ms = set->job_timeout_ms, .analyzer = {stub_analyze, &d->stub},
                              .metrics = d->metrics, .results = d->results, .results_topic = RESULTS,
                              .jobs_in_flight = DAEMON_JOBS_IN_FLIGHT};
    cr_assert_eq(job_handler_new(&d->handler, &ho, &err), 0, "%s", err.msg);
    consumer_options co = {.props = d->props, .nprops = d->nprops, .handler = job_handler_for(d->handler),
                           .metrics = d->metrics, .backoff_initial_ms = 100, .backoff_max_ms = 400,
                           .poll_ms = 50, .shutdown_grace_ms = 5000, .jobs_in_flight = DAEMON_JOBS_IN_FLIGHT};
    cr_assert_eq(consumer_new(&d->consumer, &co, &err), 0, "%s", err.msg);
    cr_assert_eq(pthread_create(&d->thread, NULL, run_consumer, d), 0);
}

static void daemon_start(daemon_under_test *d, const char *conninfo)
{
    daemon_start_with(d, conninfo, &(daemon_settings){0});
}

static void daemon_stop(daemon_under_test *d)
{
    consumer_request_stop(d->consumer);
    pthread_join(d->thread, NULL);
    cr_assert_eq(d->rc, 0, "%s", d->err.msg);
    consumer_free(d->consumer);
    job_handler_free(d->handler);
    producer_free(d->results);
    metrics_free(d->metrics);
}

/* Committed offset of the default group "precis" (0 when none). */
static int64_t committed_offset(daemon_under_test *d, int partition)
{
    rd_kafka_conf_t *conf;
    perr err;
    cr_assert_eq(kafka_conf_new(&conf, d->props, 1, &err), 0, "%s", err.msg);
    char errstr[256];
    cr_assert_eq(rd_kafka_conf_set(conf, "group.id", "precis", errstr, sizeof errstr), RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    cr_assert(rk, "%s", errstr);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, JOBS, partition);
    cr_assert_eq(rd_kafka_committed(rk, l, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t off = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return off < 0 ? 0 : off;   /* nothing committed yet */
}

/* One line per message of the first n of topic: its payload, then with
 * with_headers each header as " name=value" (malloc'd). */
static char *topic_messages(daemon_under_test *d, const char *topic, int n, int with_headers)
{
    rd_kafka_conf_t *conf;
    perr err;
    cr_assert_eq(kafka_conf_new(&conf, d->props, 1, &err), 0, "%s", err.msg);
    char errstr[256];
    cr_assert_eq(rd_kafka_conf_set(conf, "group.id", "results-reader", errstr, sizeof errstr), RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    cr_assert(rk, "%s", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2);
    for (int p = 0; p < 2; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int got = 0;
    for (int64_t deadline = monotonic_ms() + WAIT_MS; got < n && monotonic_ms() < deadline;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m && !m->err) {
            fprintf(f, "%.*s", (int)m->len, (const char *)m->payload);
            rd_kafka_headers_t *h = NULL;
            const char *name;
            const void *v;
            size_t vlen;
            for (size_t i = 0; with_headers && rd_kafka_message_headers(m, &h) == 0 &&
                               rd_kafka_header_get_all(h, i, &name, &v, &vlen) == 0; i++)
                fprintf(f, " %s=%.*s", name, (int)vlen, (const char *)v);
            fputc('\n', f);
            got++;
        }
        if (m)
            rd_kafka_message_destroy(m);
    }
    fclose(f);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    cr_assert_eq(got, n, "read %d of %d messages from %s", got, n, topic);
    return text;
}

/* Concatenated payloads ("\n"-separated) of the first n messages of topic (malloc'd). */
static char *topic_payloads(daemon_under_test *d, const char *topic, int n)
{
    return topic_messages(d, topic, n, 0);
}

/* One DLQ message's exception class header (malloc'd). */
static char *dlq_class(daemon_under_test *d)
{
    rd_kafka_conf_t *conf;
    perr err;
    cr_assert_eq(kafka_conf_new(&conf, d->props, 1, &err), 0, "%s", err.msg);
    char errstr[256];
    cr_assert_eq(rd_kafka_conf_set(conf, "group.id", "dlq-reader", errstr, sizeof errstr), RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    cr_assert(rk, "%s", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2);
    for (int p = 0; p < 2; p++)
        rd_kafka_topic_partition_list_add(l, DLQ, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    char *cls = NULL;
    for (int64_t deadline = monotonic_ms() + WAIT_MS; !cls && monotonic_ms() < deadline;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        rd_kafka_headers_t *h = NULL;
        const void *v;
        size_t len;
        if (m && !m->err && rd_kafka_message_headers(m, &h) == 0 &&
            rd_kafka_header_get_last(h, DLQ_HDR_CLASS, &v, &len) == 0)
            cls = strndup(v, len);
        if (m)
            rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    cr_assert(cls, "no dead-letter message");
    return cls;
}

Test(serve, invalid_job_is_recorded_dead_and_dead_lettered)
{
    char *conninfo = shared_migrated_db();
    daemon_under_test d;
    daemon_start(&d, conninfo);
    produce(mock_broker_bootstraps(d.broker), "broken-1", "{\"job_id\": \"broken-1\", \"document\": 42}");
    produce(mock_broker_bootstraps(d.broker), "fine-1", "{\"job_id\": \"fine-1\", \"document\": {\"text\": \"hi\"}}");
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE status IN ('done', 'dead')", 2);
    daemon_stop(&d);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'broken-1' AND status = 'dead'"
                                      " AND error_class = 'invalid_job'"), 1);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'fine-1' AND status = 'done'"), 1);
    char *cls = dlq_class(&d);
    cr_assert_str_eq(cls, "precis.InvalidJob");
    free(cls);
    char *events = topic_payloads(&d, RESULTS, 2);
    cr_assert(strstr(events, "{\"job_id\":\"fine-1\",\"status\":\"done\",\"document_sha256\":\"8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4\",\"analyses\":[]}"),
              "%s", events);
    cr_assert(strstr(events, "{\"job_id\":\"broken-1\",\"status\":\"dead\""), "%s", events);
    free(events);
    cr_assert_eq(committed_offset(&d, 0) + committed_offset(&d, 1), 2, "both offsets committed");
    mock_broker_stop(d.broker);
    free(conninfo);
}

/* The DLQ line (topic_messages with headers) of the message whose payload
 * starts with prefix: its headers part (after the payload). */
static const char *dlq_headers_of(const char *dlq, const char *prefix)
{
    const char *line = strstr(dlq, prefix);
    cr_assert(line, "no dead-letter message %s in %s", prefix, dlq);
    const char *headers = strstr(line, " " DLQ_HDR_TOPIC "=");
    cr_assert(headers, "%s", line);
    return headers;
}

/* A job's password never leaves in clear: not in the DLQ copy (valid or
 * broken message), its headers, the results events, the job rows or the log,
 * also when an error text quotes it. */
Test(serve, job_password_never_leaves_in_clear)
{
    char *conninfo = shared_migrated_db();
    char *log_text = NULL;
    size_t log_len = 0;
    FILE *log_stream = open_memstream(&log_text, &log_len);
    daemon_under_test d;
    daemon_start(&d, conninfo);
    log_set_level(LOG_DEBUG);
    log_set_stream(log_stream);
    const char *b = mock_broker_bootstraps(d.broker);
    /* An error text that quotes the password (as an invalid analysis name). */
    produce(b, "pw-1", "{\"job_id\": \"pw-1\", \"password\": \"Quoted-Secret\", \"analyses\": [\"Quoted-Secret\"],"
                       " \"document\": {\"text\": \"hi\"}}");
    produce(b, "pw-2", "{\"job_id\": \"pw-2\", \"password\": \"Hunter2-Secret\", \"document\": ");
    produce(b, "pw-3", "{\"job_id\": \"pw-3\", \"pass\\u0077ord\": \"Hunter2-Secret\", \"document\": {\"text\": \"hi\"}}");
    produce(b, "pw-4", "{\"job_id\": \"pw-4\", \"password\": \"Hunter2-Secret\", \"document\": {\"path\": \"x.pdf\"}}");
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE status IN ('done', 'dead')", 4);
    daemon_stop(&d);
    log_set_stream(NULL);
    fclose(log_stream);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'pw-3' AND status = 'done'"), 1);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'pw-1' AND status = 'dead'"
                                      " AND error LIKE '%analyses[0] \"***\" is not a valid%'"), 1,
                 "the reason is scrubbed");
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE jobs::text ~ 'Hunter2|Quoted-Secret'"), 0);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM documents WHERE documents::text LIKE '%Hunter2%'"), 0);
    char *dlq = topic_messages(&d, DLQ, 3, 1);
    cr_assert_null(strstr(dlq, "Hunter2"), "%s", dlq);
    cr_assert(strstr(dlq, "{\"job_id\": \"pw-1\", \"password\": \"***\", \"analyses\": [\"Quoted-Secret\"]"),
              "only the password member is masked in the copy: %s", dlq);
    cr_assert(strstr(dlq, "{\"job_id\": \"pw-2\", \"password\": \"***\", \"document\": "), "%s", dlq);
    cr_assert(strstr(dlq, "{\"job_id\": \"pw-4\", \"password\": \"***\", \"document\": {\"path\": \"x.pdf\"}}"),
              "%s", dlq);
    const char *pw1_headers = dlq_headers_of(dlq, "{\"job_id\": \"pw-1\"");
    cr_assert(strstr(pw1_headers, DLQ_HDR_MESSAGE "=invalid job: analyses[0] \"***\""), "%s", pw1_headers);
    char *pw1_line = strndup(pw1_headers, strcspn(pw1_headers, "\n"));
    cr_assert_null(strstr(pw1_line, "Quoted-Secret"), "%s", pw1_line);
    free(pw1_line);
    char *events = topic_payloads(&d, RESULTS, 4);
    cr_assert_null(strstr(events, "Hunter2"), "%s", events);
    cr_assert_null(strstr(events, "Quoted-Secret"), "%s", events);
    cr_assert(strstr(log_text, "dead-lettering"), "the failures were logged: %s", log_text);
    cr_assert_null(strstr(log_text, "Hunter2"), "%s", log_text);
    cr_assert_null(strstr(log_text, "Quoted-Secret"), "%s", log_text);
    free(dlq);
    free(events);
    free(log_text);
    mock_broker_stop(d.broker);
    free(conninfo);
}

/* Only done jobs are final: a garbage message keyed K does not touch job K,
 * and a new message for a dead job runs it again, its earlier failure kept
 * in the history. */
Test(serve, dead_job_runs_again_on_a_new_message)
{
    char *conninfo = shared_migrated_db();
    daemon_under_test d;
    daemon_start_with(&d, conninfo, &(daemon_settings){.input_root = test_tmpdir()});
    const char *b = mock_broker_bootstraps(d.broker);
    produce(b, "K", "this is not json");
    produce(b, "K", "{\"job_id\": \"K\", \"document\": {\"text\": \"hi\"}}");
    produce(b, "R", "{\"job_id\": \"R\", \"document\": {\"path\": \"../missing.pdf\"}}");
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'R' AND status = 'dead'", 1);
    produce(b, "R", "{\"job_id\": \"R\", \"document\": {\"text\": \"fixed\"}}");
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'R' AND status = 'done'", 1);
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'K' AND status = 'done'", 1);
    daemon_stop(&d);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE job_id LIKE 'kafka:" JOBS ":%'"
                                      " AND status = 'dead' AND error_class = 'invalid_job'"), 1,
                 "the garbage message is recorded under its own Kafka position");
    cr_assert_eq(query_long(conninfo, "SELECT attempts FROM jobs WHERE job_id = 'K'"), 1);
    cr_assert_eq(query_long(conninfo, "SELECT attempts FROM jobs WHERE job_id = 'R' AND error IS NULL"), 2);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'R'"
                                      " AND jsonb_array_length(history) = 1"
                                      " AND history->0->>'status' = 'dead' AND history->0->>'error_class' = 'document'"
                                      " AND history->0->>'error' LIKE '%missing.pdf%'"), 1);
    mock_broker_stop(d.broker);
    free(conninfo);
}

/* A job past [pipeline] job_timeout fails with class timeout, is retried
 * while its message has attempts left, then is dead-lettered; a job within
 * the limit is unaffected. */
Test(serve, job_past_its_timeout_is_retried_then_dead)
{
    char *conninfo = shared_migrated_db();
    daemon_under_test d;
    daemon_start_with(&d, conninfo, &(daemon_settings){.stub_delay_ms = 20000, .job_timeout_ms = 300,
                                                       .max_attempts = 2});
    int64_t t0 = monotonic_ms();
    produce(mock_broker_bootstraps(d.broker), "slow-1", "{\"job_id\": \"slow-1\", \"document\": {\"text\": \"hi\"}}");
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'slow-1' AND status = 'dead'", 1);
    int64_t took = monotonic_ms() - t0;
    daemon_stop(&d);
    cr_assert_lt(took, 15000, "two attempts of 0.3 s, not 20 s of work (took %lld ms)", (long long)took);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'slow-1' AND error_class = 'timeout'"
                                      " AND attempts = 2 AND message_attempts = 2 AND error LIKE '%job_timeout%'"
                                      " AND history->0->>'status' = 'failed'"
                                      " AND history->0->>'error_class' = 'timeout'"), 1);
    char *cls = dlq_class(&d);
    cr_assert_str_eq(cls, "precis.Timeout");
    free(cls);
    mock_broker_stop(d.broker);

    daemon_start_with(&d, conninfo, &(daemon_settings){.stub_delay_ms = 50, .job_timeout_ms = 5000});
    produce(mock_broker_bootstraps(d.broker), "quick-1", "{\"job_id\": \"quick-1\", \"document\": {\"text\": \"hi\"}}");
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'quick-1' AND status = 'done'", 1);
    daemon_stop(&d);
    mock_broker_stop(d.broker);
    free(conninfo);
}

Test(serve, database_outage_pauses_and_retries)
{
    pg_harness *pg = pg_harness_private();
    char *conninfo = migrated_db(pg);
    pg_harness_stop(pg);
    daemon_under_test d;
    daemon_start(&d, conninfo);
    produce(mock_broker_bootstraps(d.broker), "k", "{\"job_id\": \"outage-1\", \"document\": {\"text\": \"hi\"}}");
    /* Two transient failures, then the database comes back. */
    int64_t deadline = monotonic_ms() + WAIT_MS;
    while (metrics_jobs_consumed(d.metrics) < 1) {
        if (monotonic_ms() >= deadline)
            cr_assert_fail("job never attempted");
        test_sleep_ms(20);
    }
    test_sleep_ms(600);   /* a few backoff rounds (100, 200, 400 ms) */
    cr_assert_eq(metrics_jobs_succeeded(d.metrics), 0);
    cr_assert_eq(metrics_jobs_failed(d.metrics), 0, "an unreachable database is not a job failure");
    int64_t before = committed_offset(&d, 0) + committed_offset(&d, 1);
    cr_assert_eq(before, 0, "nothing committed while the database is down (got %lld)", (long long)before);
    pg_harness_start(pg);
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE job_id = 'outage-1' AND status = 'done'", 1);
    deadline = monotonic_ms() + WAIT_MS;
    while (committed_offset(&d, 0) + committed_offset(&d, 1) < 1) {
        if (monotonic_ms() >= deadline)
            cr_assert_fail("offset never committed");
        test_sleep_ms(50);
    }
    daemon_stop(&d);
    cr_assert_eq(query_long(conninfo, "SELECT attempts FROM jobs WHERE job_id = 'outage-1'"), 1,
                 "retries before the row existed are not attempts");
    mock_broker_stop(d.broker);
    free(conninfo);
    pg_harness_free(pg);
}

/* ---- the binary, killed and restarted ------------------------------------- */

static char *start_broker(pid_t *pid, const char *log)
{
    char *bin = (char *)test_precis_bin();
    char *argv[] = {bin, "broker", "--partitions", "3", NULL};
    int fd;
    *pid = test_spawn(argv, &fd, log, environ);
    char buf[256] = {0};
    size_t len = 0;
    while (len < sizeof buf - 1 && (len == 0 || buf[len - 1] != '\n')) {
        ssize_t n = read(fd, buf + len, 1);
        cr_assert_eq(n, 1, "precis broker printed no address (see %s)", log);
        len++;
    }
    close(fd);
    buf[len - 1] = '\0';
    return strdup(buf);
}

static char **serve_env(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PRECIS_STUB_DELAY_MS=", 21) != 0)
            env[k++] = environ[i];
    env[k++] = "PRECIS_STUB_DELAY_MS=150";
    return env;
}

/* What a test of the serve binary needs: the migrated database, a broker
 * process, and a config naming both (plus `extra` lines) in conf. */
typedef struct spawned_world {
    char *conninfo, *bootstrap;
    char log[512], conf[512];
    pid_t broker_pid;
} spawned_world;

static void spawned_world_start(spawned_world *w, const char *extra)
{
    w->conninfo = shared_migrated_db();
    snprintf(w->log, sizeof w->log, "%s/daemon.log", test_tmpdir());
    snprintf(w->conf, sizeof w->conf, "%s/precis.conf", test_tmpdir());
    w->bootstrap = start_broker(&w->broker_pid, w->log);
    FILE *f = fopen(w->conf, "w");
    cr_assert(f);
    fprintf(f, "[kafka]\nbootstrap.servers = %s\nsession.timeout.ms = 6000\nheartbeat.interval.ms = 300\n"
               "[postgres]\nconninfo = %s\n[metrics]\nenabled = false\n%s",
            w->bootstrap, w->conninfo, extra);
    fclose(f);
}

static void spawned_world_stop(spawned_world *w)
{
    kill(w->broker_pid, SIGTERM);
    cr_assert_eq(test_wait_exit(w->broker_pid), 0);
    free(w->bootstrap);
    free(w->conninfo);
}

Test(serve, sigkill_mid_job_then_restart_finishes_every_job_once)
{
    spawned_world w;
    spawned_world_start(&w, "[pipeline]\nshutdown_grace = 5\n");
    const char *conninfo = w.conninfo, *conf = w.conf, *log = w.log;

    enum { NJOBS = 24 };
    char *cmd = NULL;
    char *files = NULL;
    size_t files_len = 0;
    FILE *list = open_memstream(&files, &files_len);
    for (int i = 0; i < NJOBS; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/doc-%02d.txt", test_tmpdir(), i);
        FILE *d = fopen(path, "w");
        cr_assert(d);
        fprintf(d, "document number %d\n", i);
        fclose(d);
        fprintf(list, " %s", path);
    }
    fclose(list);
    cr_assert(asprintf(&cmd, "%s submit -c %s%s 2>>%s", test_precis_bin(), conf, files, log) > 0);
    char *ids = NULL;
    cr_assert_eq(test_run(cmd, &ids), 0, "submit failed (see %s)", log);
    int nids = 0;
    for (char *p = ids; *p; p++)
        nids += *p == '\n';
    cr_assert_eq(nids, NJOBS);

    char **env = serve_env();
    char *serve_argv[] = {(char *)test_precis_stub_bin(), "serve", "-c", w.conf, NULL};
    pid_t serve_pid = test_spawn(serve_argv, NULL, log, env);
    /* Kill it while a job runs: some done, one started and not finished. */
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE status = 'done'", 5);
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE status = 'running'", 1);
    kill(serve_pid, SIGKILL);
    cr_assert_eq(test_wait_exit(serve_pid), 128 + SIGKILL);
    long done_at_kill = query_long(conninfo, "SELECT count(*) FROM jobs WHERE status = 'done'");
    cr_assert_lt(done_at_kill, NJOBS, "killed before the end");

    serve_pid = test_spawn(serve_argv, NULL, log, env);
    wait_query(conninfo, "SELECT count(*) FROM jobs WHERE status = 'done'", NJOBS);
    kill(serve_pid, SIGTERM);
    cr_assert_eq(test_wait_exit(serve_pid), 0, "serve exits 0 on SIGTERM (see %s)", log);

    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM jobs"), NJOBS);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM documents"), NJOBS, "no duplicate documents");
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM results"), NJOBS, "one result per job");
    cr_assert_geq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE attempts >= 2"), 1,
                  "the job interrupted by SIGKILL was redelivered");
    free(env);
    free(ids);
    free(cmd);
    free(files);
    spawned_world_stop(&w);
}

/* A killed extraction server cannot be replaced from the threaded daemon:
 * serve stops and exits non-zero so the service manager restarts it. */
Test(serve, a_killed_extraction_server_stops_serve_with_a_failure)
{
    spawned_world w;
    spawned_world_start(&w, "");
    char *serve_argv[] = {(char *)test_precis_stub_bin(), "serve", "-c", w.conf, NULL};
    pid_t serve_pid = test_spawn(serve_argv, NULL, w.log, environ);
    pid_t server = -1;
    for (int i = 0; i < 200 && server < 0; i++) {
        test_sleep_ms(50);
        test_children_of(serve_pid, 0, &server);
    }
    cr_assert_gt(server, 0, "serve forked its extraction server (see %s)", w.log);
    test_sleep_ms(1000);
    kill(server, SIGKILL);
    cr_assert_eq(test_wait_exit(serve_pid), 1, "serve exits 1 once its extraction server is gone (see %s)", w.log);
    char *text = test_read_file(w.log, NULL);
    cr_assert(strstr(text, "the extraction server is gone"), "the reason is logged: %s", text);
    free(text);
    spawned_world_stop(&w);
}
