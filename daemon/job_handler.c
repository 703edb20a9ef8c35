/* job_handler.c — Kafka message -> job -> pipeline step -> PostgreSQL outcome (see job_handler.h). */
#include "daemon/job_handler.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/monotonic.h"
#include "pipeline/job_redact.h"

#define PG_READY_TIMEOUT_S 2   /* per phase (connect, query) of a readiness probe */

struct job_handler_state {
    job_handler_options opt;
    char *conninfo;
    char *results_topic;
    store **stores;               /* one per worker, connected lazily; each reconnects itself */
    int n_stores;
};

int job_handler_new(job_handler_state **out, const job_handler_options *opt, perr *err)
{
    if (!opt->analyzer.analyze)
        return perr_set(err, "job handler: no analyzer");
    job_handler_state *h = calloc(1, sizeof *h);
    if (!h)
        return perr_set(err, "out of memory");
    h->opt = *opt;
    h->n_stores = opt->jobs_in_flight > 0 ? opt->jobs_in_flight : 1;
    if (!(h->stores = calloc((size_t)h->n_stores, sizeof *h->stores))) {
        free(h);
        return perr_set(err, "out of memory");
    }
    h->conninfo = strdup(opt->conninfo ? opt->conninfo : "");
    h->results_topic = opt->results_topic ? strdup(opt->results_topic) : NULL;
    *out = h;
    return 0;
}

void job_handler_free(job_handler_state *h)
{
    if (!h)
        return;
    for (int i = 0; h->stores && i < h->n_stores; i++)
        store_close(h->stores[i]);
    free(h->stores);
    free(h->conninfo);
    free(h->results_topic);
    free(h);
}

int job_handler_pg_ready(void *ctx, perr *err)
{
    job_handler_state *h = ctx;
    return store_probe(h->conninfo, PG_READY_TIMEOUT_S, err) == 0 ? 0 : -1;
}

/* The worker's own connection (workers run jobs at once). */
static store *worker_store(job_handler_state *h, int worker, perr *err)
{
    if (!h->stores || worker < 0 || worker >= h->n_stores) {
        perr_set(err, "job handler: no connection for worker %d", worker);
        return NULL;
    }
    if (!h->stores[worker] && store_connect(&h->stores[worker], h->conninfo, err) != 0)
        return NULL;
    return h->stores[worker];
}

char *results_event_json(const char *job_id, const char *status, const char *document_sha256,
                         char *const *analyses, size_t n_analyses, const char *error)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "job_id", job_id);
    cJSON_AddStringToObject(root, "status", status);
    if (document_sha256)
        cJSON_AddStringToObject(root, "document_sha256", document_sha256);
    cJSON *list = cJSON_AddArrayToObject(root, "analyses");
    for (size_t i = 0; list && i < n_analyses; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(analyses[i]));
    if (error)
        cJSON_AddStringToObject(root, "error", error);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

/* Optional: tell the results topic. The outcome is already durable, so a
 * failure here is only logged. */
static void publish_result(job_handler_state *h, const char *job_id, const char *status, const char *sha256,
                           const job *j, const char *error)
{
    if (!h->opt.results || !h->results_topic || !*h->results_topic)
        return;
    char *json = results_event_json(job_id, status, sha256, j ? j->analyses : NULL, j ? j->n_analyses : 0, error);
    if (!json)
        return;
    producer_message m = {.topic = h->results_topic, .partition = RD_KAFKA_PARTITION_UA, .key = job_id,
                          .key_len = strlen(job_id), .value = json, .value_len = strlen(json)};
    perr err;
    if (producer_send(h->opt.results, &m, NULL, &err) != 0)
        log_warn("results event not sent", "job_id=%s error=%s", job_id, err.msg);
    free(json);
}

/* The id to record a message that is no valid job under: the job_id it
 * carries when that is usable, else its Kafka position. Never the message
 * key: a broken message must not touch another job's row. */
static void invalid_job_id(const kafka_message_view *m, char *out, size_t cap)
{
    cJSON *root = m->payload ? cJSON_ParseWithLength(m->payload, m->payload_len) : NULL;
    const cJSON *id = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "job_id") : NULL;
    if (cJSON_IsString(id) && job_id_usable(id->valuestring, strlen(id->valuestring)))
        snprintf(out, cap, "%s", id->valuestring);
    else
        snprintf(out, cap, "kafka:%s:%" PRId32 ":%" PRId64, m->topic, m->partition, m->offset);
    cJSON_Delete(root);
}

/* A failure's reason with every secret of the message masked: it goes to
 * the job row, the log, the DLQ headers and the results topic. */
static void scrub_reason(const kafka_message_view *m, const job *j, char *reason)
{
    if (j && j->password)
        job_scrub_secret(reason, j->password);
    if (!m->payload)
        return;
    job_secrets secrets;
    char *masked = job_redact_message(m->payload, m->payload_len, NULL, &secrets);
    for (size_t i = 0; i < secrets.n; i++)
        job_scrub_secret(reason, secrets.values[i]);
    job_secrets_clear(&secrets);
    free(masked);
}

/* job_run_fail through the worker's (lazily connected) store. */
static int record_failure(job_handler_state *h, const kafka_message_view *m, const char *job_id,
                          const store_kafka_pos *pos, const char *error_class, const char *reason, int dead,
                          perr *serr)
{
    store *s = worker_store(h, m->worker, serr);
    return s ? job_run_fail(s, job_id, pos, error_class, reason, dead, serr) : STORE_TRANSIENT;
}

/* Record a permanent failure (dead); TRANSIENT when the database is away. */
static job_outcome record_dead(job_handler_state *h, const kafka_message_view *m, const char *job_id,
                               const store_kafka_pos *pos, const char *error_class, const char *why,
                               const char *dlq_class, const job *j, perr *err)
{
    char reason[PERR_MSG_MAX];
    snprintf(reason, sizeof reason, "%s", why);
    scrub_reason(m, j, reason);
    perr serr;
    int rc = record_failure(h, m, job_id, pos, error_class, reason, 1, &serr);
    if (rc == STORE_TRANSIENT) {
        perr_set(err, "recording failure of job %s: %s", job_id, serr.msg);
        return JOB_TRANSIENT_FAILURE;
    }
    if (rc != 0)
        log_error("cannot record failed job; dead-lettering anyway", "job_id=%s error=%s", job_id, serr.msg);
    perr_set(err, "%s", reason);
    if (m->failure_class)
        *m->failure_class = dlq_class;
    publish_result(h, job_id, "dead", NULL, j, reason);
    return JOB_PERMANENT_FAILURE;
}

int job_attempt_should_stop(void *ctx)
{
    job_attempt *a = ctx;
    if (a->deadline_ms > 0 && monotonic_ms() >= a->deadline_ms) {
        a->timed_out = 1;
        return 1;
    }
    return a->consumer && consumer_job_cancelled(a->consumer);
}

/* The attempt ran past job_timeout: failed and retried (after the
 * consumer's backoff) while the message has attempts left, else dead. */
static job_outcome record_timeout(job_handler_state *h, const kafka_message_view *m, const job *j,
                                  const store_kafka_pos *pos, int message_attempts, perr *err)
{
    char reason[160];
    snprintf(reason, sizeof reason, "the job ran longer than [pipeline] job_timeout (%g s), attempt %d of %ld",
             (double)h->opt.job_timeout_ms / 1000.0, message_attempts, h->opt.max_attempts > 0 ? h->opt.max_attempts : 1);
    if (message_attempts >= h->opt.max_attempts)
        return record_dead(h, m, j->job_id, pos, "timeout", reason, "precis.Timeout", j, err);
    perr serr;
    if (record_failure(h, m, j->job_id, pos, "timeout", reason, 0, &serr) != 0)
        log_warn("cannot record the timed-out attempt", "job_id=%s error=%s", j->job_id, serr.msg);
    log_warn("job timed out; will retry", "job_id=%s attempt=%d", j->job_id, message_attempts);
    perr_set(err, "%s", reason);
    return JOB_TRANSIENT_FAILURE;
}

static void observe(metrics *m, const pipeline_report *rep, int done)
{
    if (!m)
        return;
    metrics_observe_stage(m, "load", rep->load_seconds);
    if (rep->doc)
        metrics_observe_stage(m, "extract", rep->extract_seconds);
    if (rep->n_results || rep->consultation) {
        metrics_observe_stage(m, "analyze", rep->analyze_seconds);
        metrics_add_tokens(m, (uint64_t)rep->tokens_in, (uint64_t)rep->tokens_out);
        metrics_add_cached_tokens(m, (uint64_t)rep->tokens_cached);
    }
    if (done)
        metrics_observe_stage(m, "store", rep->store_seconds);
}

static void log_done(const job *j, const pipeline_report *rep)
{
    log_info("job analysed", "job_id=%s source=%s sha256=%.12s title=%s tokens_in=%ld tokens_out=%ld "
             "tokens_cached=%ld extract_ms=%.0f analyze_ms=%.0f", j->job_id, rep->source, rep->sha256,
             rep->doc && rep->doc->title ? rep->doc->title : "", rep->tokens_in, rep->tokens_out, rep->tokens_cached,
             rep->extract_seconds * 1000, rep->analyze_seconds * 1000);
}

/* The job's attempt through the runner, then its outcome. */
static job_outcome run_job(job_handler_state *h, const kafka_message_view *m, const job *j,
                           const store_kafka_pos *pos, const store_job_start_info *info, perr *err)
{
    job_attempt attempt = {.consumer = m->consumer};
    if (h->opt.job_timeout_ms > 0)
        attempt.deadline_ms = monotonic_ms() + h->opt.job_timeout_ms;
    pipeline_hooks hooks = {.cancel = job_attempt_should_stop, .cancel_ctx = &attempt};
    pipeline_report rep;
    perr serr = {{0}};
    int rc = job_run_execute(&h->opt.analyzer, h->stores[m->worker], j, &hooks, &rep, &serr);
    observe(h->opt.metrics, &rep, rc == 0);
    char cls[sizeof rep.error_class], sha256[sizeof rep.sha256];
    snprintf(cls, sizeof cls, "%s", rep.error_class[0] ? rep.error_class : "pipeline");
    snprintf(sha256, sizeof sha256, "%s", rep.sha256);
    if (rc == 0)
        log_done(j, &rep);
    pipeline_report_clear(&rep);
    if (rc == 0) {
        publish_result(h, j->job_id, "done", sha256[0] ? sha256 : NULL, j, NULL);
        return JOB_OK;
    }
    if (attempt.timed_out)
        return record_timeout(h, m, j, pos, info->message_attempts, err);
    if (rc == PIPELINE_TRANSIENT) {
        perr_set(err, "%s", serr.msg);
        return JOB_TRANSIENT_FAILURE;
    }
    return record_dead(h, m, j->job_id, pos, cls, serr.msg, "precis.PipelineFailure", j, err);
}

static job_outcome handle_job(job_handler_state *h, const kafka_message_view *m, const job *j,
                              const store_kafka_pos *pos, perr *err)
{
    perr serr;
    store_job_start_info info = {0};
    store *s = worker_store(h, m->worker, &serr);
    int rc = s ? job_run_start(s, j, pos, &info, &serr) : STORE_TRANSIENT;
    if (rc != 0) {
        if (rc == STORE_TRANSIENT) {
            perr_set(err, "%s", serr.msg);
            return JOB_TRANSIENT_FAILURE;
        }
        return record_dead(h, m, j->job_id, pos, "store", serr.msg, "precis.StoreFailure", j, err);
    }
    if (info.already_final) {
        log_info("job already finished; skipping redelivery", "job_id=%s status=%s", j->job_id, info.status);
        return JOB_OK;
    }
    if (m->attempt == 1 && h->opt.max_attempts > 0 && info.message_attempts > h->opt.max_attempts) {
        char reason[160];
        snprintf(reason, sizeof reason, "giving up after %d attempts (max_attempts %ld)",
                 info.message_attempts - 1, h->opt.max_attempts);
        return record_dead(h, m, j->job_id, pos, "too_many_attempts", reason, "precis.TooManyAttempts", j, err);
    }
    return run_job(h, m, j, pos, &info, err);
}

static job_outcome handle(void *ctx, const kafka_message_view *m, perr *err)
{
    job_handler_state *h = ctx;
    store_kafka_pos pos = {.topic = m->topic, .partition = m->partition, .offset = m->offset};
    job j;
    perr perr_parse;
    if (job_parse(m->payload ? m->payload : "", m->payload_len, &j, &perr_parse) != 0) {
        char id[JOB_ID_MAX + 64];
        invalid_job_id(m, id, sizeof id);
        return record_dead(h, m, id, &pos, "invalid_job", perr_parse.msg, "precis.InvalidJob", NULL, err);
    }
    if (m->key && (m->key_len != strlen(j.job_id) || memcmp(m->key, j.job_id, m->key_len) != 0))
        log_warn("message key is not the job_id; the job runs as its job_id", "job_id=%s partition=%" PRId32
                 " offset=%" PRId64, j.job_id, m->partition, m->offset);
    job_outcome o = handle_job(h, m, &j, &pos, err);
    job_clear(&j);
    return o;
}

job_handler job_handler_for(job_handler_state *h)
{
    return (job_handler){.handle = handle, .ctx = h};
}
