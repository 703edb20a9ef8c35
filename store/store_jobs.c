/* store_jobs.c — job rows: start (or redeliver), done with document and
 * results in one transaction, failed/dead. Every value is a parameter. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "store/store_internal.h"
#include "store/store_legal.h"

/* Decimal text of a number, or NULL (SQL NULL) when negative. */
typedef struct num_text {
    char buf[24];
} num_text;

static const char *num_or_null(num_text *t, long long v)
{
    if (v < 0)
        return NULL;
    snprintf(t->buf, sizeof t->buf, "%lld", v);
    return t->buf;
}

static char *analyses_json(const store_job_record *j)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < j->n_analyses; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(j->analyses[i]));
    char *text = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return text;
}

/* ---- start --------------------------------------------------------------- */

/* The attempt a restart or a new failure replaces, as a history entry
 * (sql/0007_job_history.sql). */
#define PREVIOUS_ATTEMPT_SQL                                                                           \
    "jsonb_build_array(jsonb_build_object("                                                            \
    "  'attempt', j.attempts,"                                                                          \
    "  'status', CASE j.status WHEN 'running' THEN 'interrupted' ELSE j.status END,"                    \
    "  'error_class', j.error_class, 'error', j.error,"                                                 \
    "  'started_at', j.started_at, 'finished_at', j.finished_at,"                                       \
    "  'kafka_topic', j.kafka_topic, 'kafka_partition', j.kafka_partition, 'kafka_offset', j.kafka_offset))"

/* The row was last touched by this very Kafka message ($T, $P, $O): a
 * redelivery, not a new submission. */
#define SAME_MESSAGE_SQL(T, P, O)                                                                      \
    "(" O "::bigint IS NOT NULL AND j.kafka_offset = " O "::bigint"                                    \
    " AND j.kafka_partition = " P "::integer AND j.kafka_topic = " T ")"

static const char start_sql[] =
    "INSERT INTO jobs AS j (job_id, collection, analyses, source, metadata, status, attempts, message_attempts,"
    "                       started_at, kafka_topic, kafka_partition, kafka_offset)"
    " VALUES ($1, $2,"
    "         ARRAY(SELECT a FROM jsonb_array_elements_text($3::jsonb) WITH ORDINALITY AS t(a, n) ORDER BY n),"
    "         $4, $5::jsonb, 'running', 1, 1, now(), $6, $7::integer, $8::bigint)"
    " ON CONFLICT (job_id) DO UPDATE SET"
    "   status = 'running', attempts = j.attempts + 1,"
    "   message_attempts = CASE WHEN " SAME_MESSAGE_SQL("$6", "$7", "$8") " THEN j.message_attempts + 1 ELSE 1 END,"
    "   history = CASE WHEN j.attempts > 0 THEN j.history || " PREVIOUS_ATTEMPT_SQL " ELSE j.history END,"
    "   started_at = now(), finished_at = NULL, error = NULL, error_class = NULL,"
    "   collection = EXCLUDED.collection, analyses = EXCLUDED.analyses, source = EXCLUDED.source,"
    "   metadata = EXCLUDED.metadata,"
    "   kafka_topic = coalesce(EXCLUDED.kafka_topic, j.kafka_topic),"
    "   kafka_partition = coalesce(EXCLUDED.kafka_partition, j.kafka_partition),"
    "   kafka_offset = coalesce(EXCLUDED.kafka_offset, j.kafka_offset),"
    "   updated_at = now()"
    " WHERE j.status <> 'done' AND NOT (j.status = 'dead' AND " SAME_MESSAGE_SQL("$6", "$7", "$8") ")"
    " RETURNING attempts, status, message_attempts";

static void fill_start_info(store_job_start_info *out, const PGresult *r, int final)
{
    if (!out)
        return;
    out->attempts = (int)store_field_ll(r, 0, 0, 0);
    snprintf(out->status, sizeof out->status, "%s", PQgetvalue(r, 0, 1));
    out->message_attempts = (int)store_field_ll(r, 0, 2, 0);
    out->already_final = final;
}

int store_job_start(store *s, const store_job_record *j, const store_kafka_pos *pos,
                    store_job_start_info *out, perr *err)
{
    if (out)
        *out = (store_job_start_info){0};
    char *analyses = analyses_json(j);
    if (!analyses)
        return perr_set(err, "out of memory");
    num_text partition, offset;
    const char *params[] = {
        j->job_id, j->collection, analyses, j->source, j->metadata_json ? j->metadata_json : "{}",
        pos ? pos->topic : NULL,
        pos ? num_or_null(&partition, pos->partition) : NULL,
        pos ? num_or_null(&offset, pos->offset) : NULL,
    };
    PGresult *r = NULL;
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, start_sql, 8, params, PGRES_TUPLES_OK, &r, err);
    free(analyses);
    if (rc == 0 && PQntuples(r) == 1) {
        fill_start_info(out, r, 0);
    } else if (rc == 0) { /* done, or dead from this message: report, change nothing */
        PQclear(r);
        rc = store_exec(s, "SELECT attempts, status, message_attempts FROM jobs WHERE job_id = $1", 1, params,
                        PGRES_TUPLES_OK, &r, err);
        if (rc == 0 && PQntuples(r) != 1)
            rc = perr_set(err, "job %s vanished while starting", j->job_id);
        if (rc == 0)
            fill_start_info(out, r, 1);
    }
    PQclear(r);
    if (rc != 0)
        perr_prefix(err, "starting job %s", j->job_id);
    return rc;
}

/* ---- done ---------------------------------------------------------------- */

static const char document_sql[] =
    "INSERT INTO documents (sha256, source, media_type, format, title, language, pages, metadata, text, structure)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7::integer, $8::jsonb, $9, $10::jsonb)"
    " ON CONFLICT (sha256) DO UPDATE SET"
    "   source = EXCLUDED.source, media_type = EXCLUDED.media_type, format = EXCLUDED.format,"
    "   title = EXCLUDED.title, language = EXCLUDED.language, pages = EXCLUDED.pages,"
    "   metadata = EXCLUDED.metadata, text = EXCLUDED.text, structure = EXCLUDED.structure,"
    "   updated_at = now()"
    " RETURNING id";

static const char result_sql[] =
    "INSERT INTO results (document_id, job_id, analysis, prompt_name, prompt_version, model_name, model_sha256,"
    "                     sampling, output, raw_text, prompt_tokens, completion_tokens, prompt_ms, completion_ms,"
    "                     timings, trace)"
    " VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10,"
    "         $11::integer, $12::integer, $13::bigint, $14::bigint, $15::jsonb, $16::jsonb)"
    " ON CONFLICT (document_id, analysis, prompt_version, model_sha256) DO UPDATE SET"
    "   job_id = EXCLUDED.job_id, prompt_name = EXCLUDED.prompt_name, model_name = EXCLUDED.model_name,"
    "   sampling = EXCLUDED.sampling, output = EXCLUDED.output, raw_text = EXCLUDED.raw_text,"
    "   prompt_tokens = EXCLUDED.prompt_tokens, completion_tokens = EXCLUDED.completion_tokens,"
    "   prompt_ms = EXCLUDED.prompt_ms, completion_ms = EXCLUDED.completion_ms,"
    "   timings = EXCLUDED.timings, trace = EXCLUDED.trace, updated_at = now()";

static int check_document(const store_document *d, perr *err)
{
    if (!d || !d->sha256 || !*d->sha256)
        return perr_set(err, "document sha256 is required");
    if (d->pages < 0)
        return perr_set(err, "document pages %d is negative", d->pages);
    return 0;
}

static int check_result(const store_result *r, size_t i, perr *err)
{
    const char *required[] = {r->analysis, r->prompt_name, r->prompt_version, r->model_name, r->model_sha256};
    const char *names[] = {"analysis", "prompt_name", "prompt_version", "model_name", "model_sha256"};
    for (size_t k = 0; k < 5; k++)
        if (!required[k] || !*required[k])
            return perr_set(err, "result %zu: %s is required", i, names[k]);
    return 0;
}

static int upsert_document(store *s, const store_document *d, char id[24], perr *err)
{
    num_text pages;
    const char *params[] = {
        d->sha256, d->source, d->media_type, d->format, d->title, d->language,
        num_or_null(&pages, d->pages), d->metadata_json ? d->metadata_json : "{}",
        d->text ? d->text : "", d->structure_json,
    };
    PGresult *r;
    int rc = store_exec(s, document_sql, 10, params, PGRES_TUPLES_OK, &r, err);
    if (rc != 0) {
        perr_prefix(err, "storing document %s", d->sha256);
        return rc;
    }
    snprintf(id, 24, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static int upsert_result(store *s, const char *document_id, const char *job_id, const store_result *res,
                         perr *err)
{
    num_text pt, ct, pm, cm;
    const char *params[] = {
        document_id, job_id, res->analysis, res->prompt_name, res->prompt_version, res->model_name,
        res->model_sha256, res->sampling_json ? res->sampling_json : "{}", res->output_json,
        res->raw_text ? res->raw_text : "",
        num_or_null(&pt, res->prompt_tokens), num_or_null(&ct, res->completion_tokens),
        num_or_null(&pm, res->prompt_ms), num_or_null(&cm, res->completion_ms),
        res->timings_json ? res->timings_json : "{}", res->trace_json ? res->trace_json : "[]",
    };
    int rc = store_exec(s, result_sql, 16, params, PGRES_COMMAND_OK, NULL, err);
    if (rc != 0)
        perr_prefix(err, "storing result %s", res->analysis);
    return rc;
}

/* The body of store_job_done, inside the transaction. */
static int job_done_tx(store *s, const char *job_id, const store_document *doc, const store_result *results,
                       size_t n_results, char document_id[24], perr *err)
{
    const char *id_param[] = {job_id};
    PGresult *r;
    int rc = store_exec(s, "SELECT collection FROM jobs WHERE job_id = $1 FOR UPDATE", 1, id_param,
                        PGRES_TUPLES_OK, &r, err);
    if (rc != 0)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return perr_set(err, "no such job (store_job_start was not called)");
    }
    char *collection = PQgetisnull(r, 0, 0) ? NULL : strdup(PQgetvalue(r, 0, 0));
    int lost_collection = !PQgetisnull(r, 0, 0) && !collection;
    PQclear(r);
    if (lost_collection)
        return perr_set(err, "out of memory");
    rc = upsert_document(s, doc, document_id, err);
    if (rc == 0 && collection) {
        const char *params[] = {collection, document_id};
        rc = store_exec(s, "INSERT INTO document_collections (collection, document_id) VALUES ($1, $2::bigint)"
                           " ON CONFLICT DO NOTHING", 2, params, PGRES_COMMAND_OK, NULL, err);
    }
    free(collection);
    for (size_t i = 0; rc == 0 && i < n_results; i++) {
        rc = upsert_result(s, document_id, job_id, &results[i], err);
        if (rc == 0 && strcmp(results[i].analysis, STORE_LEGAL_ANALYSIS) == 0)
            rc = store_legal_findings(s, document_id, &results[i], err);
    }
    if (rc == 0) {
        const char *params[] = {job_id, document_id};
        rc = store_exec(s, "UPDATE jobs SET status = 'done', finished_at = now(), document_id = $2::bigint,"
                           " error = NULL, error_class = NULL, updated_at = now() WHERE job_id = $1",
                        2, params, PGRES_COMMAND_OK, NULL, err);
    }
    return rc;
}

int store_job_done(store *s, const char *job_id, const store_document *doc,
                   const store_result *results, size_t n_results,
                   int64_t *document_id, perr *err)
{
    int rc = check_document(doc, err);
    for (size_t i = 0; rc == 0 && i < n_results; i++)
        rc = check_result(&results[i], i, err);
    char id[24] = "";
    if (rc == 0)
        rc = store_tx_open(s, err);
    if (rc == 0)
        rc = store_tx_close(s, job_done_tx(s, job_id, doc, results, n_results, id, err), err);
    if (rc != 0) {
        perr_prefix(err, "finishing job %s", job_id);
        return rc;
    }
    if (document_id)
        *document_id = strtoll(id, NULL, 10);
    return 0;
}

/* The consultation run, then the job done, inside the transaction. */
static int consultation_done_tx(store *s, const char *job_id, const store_consultation_run *run, char run_id[24],
                                perr *err)
{
    const char *params[] = {job_id};
    PGresult *r;
    int rc = store_exec(s, "SELECT 1 FROM jobs WHERE job_id = $1 FOR UPDATE", 1, params, PGRES_TUPLES_OK, &r, err);
    if (rc != 0)
        return rc;
    int found = PQntuples(r) == 1;
    PQclear(r);
    if (!found)
        return perr_set(err, "no such job (store_job_start was not called)");
    rc = store_consultation_save_tx(s, run, run_id, err);
    if (rc == 0)
        rc = store_exec(s, "UPDATE jobs SET status = 'done', finished_at = now(), error = NULL, error_class = NULL,"
                           " updated_at = now() WHERE job_id = $1", 1, params, PGRES_COMMAND_OK, NULL, err);
    return rc;
}

int store_job_done_consultation(store *s, const char *job_id, const store_consultation_run *run, long long *run_id,
                                perr *err)
{
    if (run->error)
        return perr_set(err, "finishing job %s: the consultation run failed", job_id);
    char id[24] = "";
    int rc = store_consultation_check(run, err);
    if (rc == 0)
        rc = store_tx_open(s, err);
    if (rc == 0)
        rc = store_tx_close(s, consultation_done_tx(s, job_id, run, id, err), err);
    if (rc != 0)
        return perr_prefix(err, "finishing job %s", job_id), rc;
    if (run_id)
        *run_id = strtoll(id, NULL, 10);
    return 0;
}

/* ---- failed ---------------------------------------------------------------- */

/* A failure after store_job_start (status 'running') closes that attempt; a
 * failure without one (a message that is no valid job) is an attempt of its
 * own, and what it replaces goes to the history. A redelivery of the
 * message that already made the job dead changes nothing. */
static const char failed_sql[] =
    "INSERT INTO jobs AS j (job_id, status, attempts, message_attempts, error, error_class, finished_at,"
    "                       kafka_topic, kafka_partition, kafka_offset)"
    " VALUES ($1, $2, 1, 1, $3, $4, now(), $5, $6::integer, $7::bigint)"
    " ON CONFLICT (job_id) DO UPDATE SET"
    "   status = EXCLUDED.status, error = EXCLUDED.error, error_class = EXCLUDED.error_class,"
    "   attempts = CASE WHEN j.status = 'running' THEN j.attempts ELSE j.attempts + 1 END,"
    "   message_attempts = CASE WHEN j.status = 'running' THEN j.message_attempts ELSE 1 END,"
    "   history = CASE WHEN j.status = 'running' OR j.attempts = 0 THEN j.history"
    "                  ELSE j.history || " PREVIOUS_ATTEMPT_SQL " END,"
    "   started_at = CASE WHEN j.status = 'running' THEN j.started_at END,"
    "   finished_at = now(), updated_at = now(),"
    "   kafka_topic = coalesce(EXCLUDED.kafka_topic, j.kafka_topic),"
    "   kafka_partition = coalesce(EXCLUDED.kafka_partition, j.kafka_partition),"
    "   kafka_offset = coalesce(EXCLUDED.kafka_offset, j.kafka_offset)"
    " WHERE j.status <> 'done' AND NOT (j.status = 'dead' AND " SAME_MESSAGE_SQL("$5", "$6", "$7") ")";

int store_job_failed(store *s, const char *job_id, const store_kafka_pos *pos,
                     const char *error_class, const char *message, int dead, perr *err)
{
    char *clean_message = message ? utf8_sanitize(message, strlen(message), NULL) : NULL;
    char *clean_class = error_class ? utf8_sanitize(error_class, strlen(error_class), NULL) : NULL;
    num_text partition, offset;
    const char *params[] = {
        job_id, dead ? "dead" : "failed", clean_message, clean_class,
        pos ? pos->topic : NULL,
        pos ? num_or_null(&partition, pos->partition) : NULL,
        pos ? num_or_null(&offset, pos->offset) : NULL,
    };
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, failed_sql, 7, params, PGRES_COMMAND_OK, NULL, err);
    free(clean_message);
    free(clean_class);
    if (rc != 0)
        perr_prefix(err, "recording failure of job %s", job_id);
    return rc;
}
