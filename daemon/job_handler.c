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
    char *input_root;
    char *results_topic;
    store *store;                 /* connected lazily; reconnects itself */
    const char *failure_class;    /* of the last PERMANENT outcome */
};

int job_handler_new(job_handler_state **out, const job_handler_options *opt, perr *err)
{
    if (!opt->step)
        return perr_set(err, "job handler: no pipeline step");
    job_handler_state *h = calloc(1, sizeof *h);
    if (!h)
        return perr_set(err, "out of memory");
    h->opt = *opt;
    h->conninfo = strdup(opt->conninfo ? opt->conninfo : "");
    h->input_root = opt->input_root ? strdup(opt->input_root) : NULL;
    h->results_topic = opt->results_topic ? strdup(opt->results_topic) : NULL;
    *out = h;
    return 0;
}

void job_handler_free(job_handler_state *h)
{
    if (!h)
        return;
    store_close(h->store);
    free(h->conninfo);
    free(h->input_root);
    free(h->results_topic);
    free(h);
}

int job_handler_pg_ready(void *ctx, perr *err)
{
    job_handler_state *h = ctx;
    return store_probe(h->conninfo, PG_READY_TIMEOUT_S, err) == 0 ? 0 : -1;
}

static int ensure_store(job_handler_state *h, perr *err)
{
    if (h->store)
        return 0;
    return store_connect(&h->store, h->conninfo, err);
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

/* store_job_failed through the handler's (lazily connected) store. */
static int record_failure(job_handler_state *h, const char *job_id, const store_kafka_pos *pos,
                          const char *error_class, const char *reason, int dead, perr *serr)
{
    int rc = ensure_store(h, serr);
    return rc == 0 ? store_job_failed(h->store, job_id, pos, error_class, reason, dead, serr) : rc;
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
    int rc = record_failure(h, job_id, pos, error_class, reason, 1, &serr);
    if (rc == STORE_TRANSIENT) {
        perr_set(err, "recording failure of job %s: %s", job_id, serr.msg);
        return JOB_TRANSIENT_FAILURE;
    }
    if (rc != 0)
        log_error("cannot record failed job; dead-lettering anyway", "job_id=%s error=%s", job_id, serr.msg);
    perr_set(err, "%s", reason);
    h->failure_class = dlq_class;
    publish_result(h, job_id, "dead", NULL, j, reason);
    return JOB_PERMANENT_FAILURE;
}

int job_run_should_stop(void *ctx)
{
    job_run *run = ctx;
    if (run->deadline_ms > 0 && monotonic_ms() >= run->deadline_ms) {
        run->timed_out = 1;
        return 1;
    }
    return run->consumer && consumer_job_cancelled(run->consumer);
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
    if (record_failure(h, j->job_id, pos, "timeout", reason, 0, &serr) != 0)
        log_warn("cannot record the timed-out attempt", "job_id=%s error=%s", j->job_id, serr.msg);
    log_warn("job timed out; will retry", "job_id=%s attempt=%d", j->job_id, message_attempts);
    perr_set(err, "%s", reason);
    return JOB_TRANSIENT_FAILURE;
}

static job_outcome run_step(job_handler_state *h, const kafka_message_view *m, const job *j,
                            const store_kafka_pos *pos, const store_job_start_info *info, perr *err)
{
    job_run run = {.job = j, .store = h->store, .input_root = h->input_root, .metrics = h->opt.metrics,
                   .consumer = m->consumer, .attempts = info->attempts};
    if (h->opt.job_timeout_ms > 0)
        run.deadline_ms = monotonic_ms() + h->opt.job_timeout_ms;
    perr serr = {{0}};
    int rc = h->opt.step(h->opt.step_ctx, &run, &serr);
    if (rc == 0) {
        publish_result(h, j->job_id, "done", run.document_sha256[0] ? run.document_sha256 : NULL, j, NULL);
        return JOB_OK;
    }
    if (run.timed_out)
        return record_timeout(h, m, j, pos, info->message_attempts, err);
    if (rc == STORE_TRANSIENT) {
        perr_set(err, "%s", serr.msg);
        return JOB_TRANSIENT_FAILURE;
    }
    const char *cls = run.error_class[0] ? run.error_class : "pipeline";
    return record_dead(h, m, j->job_id, pos, cls, serr.msg, "precis.PipelineFailure", j, err);
}

static job_outcome handle_job(job_handler_state *h, const kafka_message_view *m, const job *j,
                              const store_kafka_pos *pos, perr *err)
{
    perr serr;
    store_job_start_info info = {0};
    int rc = ensure_store(h, &serr);
    if (rc == 0)
        rc = job_store_start(h->store, j, pos, &info, &serr);
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
    return run_step(h, m, j, pos, &info, err);
}

static job_outcome handle(void *ctx, const kafka_message_view *m, perr *err)
{
    job_handler_state *h = ctx;
    h->failure_class = NULL;
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

static const char *failure_class(void *ctx)
{
    return ((job_handler_state *)ctx)->failure_class;
}

job_handler job_handler_for(job_handler_state *h)
{
    return (job_handler){.handle = handle, .ctx = h, .failure_class = failure_class};
}
