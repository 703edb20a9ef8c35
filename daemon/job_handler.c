/* job_handler.c — Kafka message -> job -> pipeline step -> PostgreSQL outcome (see job_handler.h). */
#include "daemon/job_handler.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

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

/* The id to record an unparseable message under. */
static void fallback_job_id(const kafka_message_view *m, char *out, size_t cap)
{
    int usable = m->key && m->key_len > 0 && m->key_len <= JOB_ID_MAX;
    for (size_t i = 0; usable && i < m->key_len; i++) {
        unsigned char c = ((const unsigned char *)m->key)[i];
        usable = c > 0x20 && c < 0x7f;
    }
    if (usable)
        snprintf(out, cap, "%.*s", (int)m->key_len, (const char *)m->key);
    else
        snprintf(out, cap, "kafka:%s:%" PRId32 ":%" PRId64, m->topic, m->partition, m->offset);
}

/* Record a permanent failure (dead); TRANSIENT when the database is away. */
static job_outcome record_dead(job_handler_state *h, const char *job_id, const store_kafka_pos *pos,
                               const char *error_class, const char *reason, const char *dlq_class, const job *j,
                               perr *err)
{
    perr serr;
    int rc = ensure_store(h, &serr);
    if (rc == 0)
        rc = store_job_failed(h->store, job_id, pos, error_class, reason, 1, &serr);
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

static job_outcome run_step(job_handler_state *h, const kafka_message_view *m, const job *j,
                            const store_kafka_pos *pos, int attempts, perr *err)
{
    job_run run = {.job = j, .store = h->store, .input_root = h->input_root, .metrics = h->opt.metrics,
                   .consumer = m->consumer, .attempts = attempts};
    perr serr = {{0}};
    int rc = h->opt.step(h->opt.step_ctx, &run, &serr);
    if (rc == 0) {
        publish_result(h, j->job_id, "done", run.document_sha256[0] ? run.document_sha256 : NULL, j, NULL);
        return JOB_OK;
    }
    if (rc == STORE_TRANSIENT) {
        perr_set(err, "%s", serr.msg);
        return JOB_TRANSIENT_FAILURE;
    }
    const char *cls = run.error_class[0] ? run.error_class : "pipeline";
    return record_dead(h, j->job_id, pos, cls, serr.msg, "precis.PipelineFailure", j, err);
}

static job_outcome handle_job(job_handler_state *h, const kafka_message_view *m, const job *j,
                              const store_kafka_pos *pos, perr *err)
{
    perr serr;
    store_job_start_info info = {0};
    int rc = ensure_store(h, &serr);
    if (rc == 0)
        rc = store_job_start(h->store, j, pos, &info, &serr);
    if (rc != 0) {
        if (rc == STORE_TRANSIENT) {
            perr_set(err, "%s", serr.msg);
            return JOB_TRANSIENT_FAILURE;
        }
        return record_dead(h, j->job_id, pos, "store", serr.msg, "precis.StoreFailure", j, err);
    }
    if (info.already_final) {
        log_info("job already finished; skipping redelivery", "job_id=%s status=%s", j->job_id, info.status);
        return JOB_OK;
    }
    if (m->attempt == 1 && h->opt.max_attempts > 0 && info.attempts > h->opt.max_attempts) {
        char reason[160];
        snprintf(reason, sizeof reason, "giving up after %d attempts (max_attempts %ld)", info.attempts - 1,
                 h->opt.max_attempts);
        return record_dead(h, j->job_id, pos, "too_many_attempts", reason, "precis.TooManyAttempts", j, err);
    }
    return run_step(h, m, j, pos, info.attempts, err);
}

static job_outcome handle(void *ctx, const kafka_message_view *m, perr *err)
{
    job_handler_state *h = ctx;
    h->failure_class = NULL;
    store_kafka_pos pos = {.topic = m->topic, .partition = m->partition, .offset = m->offset};
    job j;
    perr perr_parse;
    if (job_parse(m->payload ? m->payload : "", m->payload_len, &j, &perr_parse) != 0) {
        char id[JOB_ID_MAX + 1];
        fallback_job_id(m, id, sizeof id);
        return record_dead(h, id, &pos, "invalid_job", perr_parse.msg, "precis.InvalidJob", NULL, err);
    }
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
