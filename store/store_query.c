/* store_query.c — read jobs back for `precis status`: one job with its
 * document's results, or the newest jobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

#define ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const char job_columns[] =
    "SELECT j.job_id, j.collection, j.status, array_to_string(j.analyses, ','), j.source, j.attempts,"
    "       j.error, j.error_class, " ISO_UTC("j.created_at") ", " ISO_UTC("j.started_at") ","
    "       " ISO_UTC("j.finished_at") ", " ISO_UTC("j.updated_at") ","
    "       j.kafka_topic, j.kafka_partition, j.kafka_offset, j.document_id, d.sha256, d.title,"
    "       (SELECT string_agg(concat_ws(' ', 'attempt', e->>'attempt', e->>'status',"
    "                                    '(' || (e->>'error_class') || ')', e->>'error',"
    "                                    'finished ' || (e->>'finished_at')), E'\\n' ORDER BY n)"
    "          FROM jsonb_array_elements(j.history) WITH ORDINALITY AS h(e, n))"
    "  FROM jobs j LEFT JOIN documents d ON d.id = j.document_id";

static const char results_sql[] =
    "SELECT analysis, prompt_name, prompt_version, model_name, job_id, prompt_tokens, completion_tokens,"
    "       prompt_ms, completion_ms, " ISO_UTC("updated_at")
    "  FROM results WHERE document_id = $1::bigint ORDER BY analysis, prompt_version, model_name, id";

static void free_job_fields(store_job_info *j)
{
    char *strings[] = {j->job_id, j->collection, j->status, j->analyses, j->source, j->error,
                       j->error_class, j->history, j->created_at, j->started_at, j->finished_at, j->updated_at,
                       j->kafka_topic, j->document_sha256, j->document_title};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        free(strings[i]);
    for (size_t i = 0; i < j->n_results; i++) {
        store_result_summary *r = &j->results[i];
        free(r->analysis);
        free(r->prompt_name);
        free(r->prompt_version);
        free(r->model_name);
        free(r->job_id);
        free(r->updated_at);
    }
    free(j->results);
}

void store_job_info_free(store_job_info *info)
{
    if (!info)
        return;
    free_job_fields(info);
    free(info);
}

void store_job_list_free(store_job_info *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free_job_fields(&list[i]);
    free(list);
}

/* Fill j from row `row` of a job_columns result; -1 on out of memory. */
static int read_job_row(const PGresult *r, int row, store_job_info *j, perr *err)
{
    int oom = 0;
    *j = (store_job_info){
        .job_id = store_field(r, row, 0, &oom),
        .collection = store_field(r, row, 1, &oom),
        .status = store_field(r, row, 2, &oom),
        .analyses = store_field(r, row, 3, &oom),
        .source = store_field(r, row, 4, &oom),
        .attempts = (int)store_field_ll(r, row, 5, 0),
        .error = store_field(r, row, 6, &oom),
        .error_class = store_field(r, row, 7, &oom),
        .created_at = store_field(r, row, 8, &oom),
        .started_at = store_field(r, row, 9, &oom),
        .finished_at = store_field(r, row, 10, &oom),
        .updated_at = store_field(r, row, 11, &oom),
        .kafka_topic = store_field(r, row, 12, &oom),
        .kafka_partition = (int)store_field_ll(r, row, 13, -1),
        .kafka_offset = store_field_ll(r, row, 14, -1),
        .document_id = store_field_ll(r, row, 15, 0),
        .document_sha256 = store_field(r, row, 16, &oom),
        .document_title = store_field(r, row, 17, &oom),
        .history = store_field(r, row, 18, &oom),
    };
    return oom ? perr_set(err, "out of memory") : 0;
}

static int read_results(store *s, store_job_info *j, perr *err)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", j->document_id);
    const char *params[] = {id};
    PGresult *r;
    int rc = store_exec(s, results_sql, 1, params, PGRES_TUPLES_OK, &r, err);
    if (rc != 0)
        return rc;
    int n = PQntuples(r), oom = 0;
    j->results = n ? calloc((size_t)n, sizeof *j->results) : NULL;
    if (n && !j->results)
        oom = 1;
    for (int i = 0; !oom && i < n; i++) {
        j->results[i] = (store_result_summary){
            .analysis = store_field(r, i, 0, &oom),
            .prompt_name = store_field(r, i, 1, &oom),
            .prompt_version = store_field(r, i, 2, &oom),
            .model_name = store_field(r, i, 3, &oom),
            .job_id = store_field(r, i, 4, &oom),
            .prompt_tokens = (long)store_field_ll(r, i, 5, -1),
            .completion_tokens = (long)store_field_ll(r, i, 6, -1),
            .prompt_ms = store_field_ll(r, i, 7, -1),
            .completion_ms = store_field_ll(r, i, 8, -1),
            .updated_at = store_field(r, i, 9, &oom),
        };
        j->n_results++;
    }
    PQclear(r);
    return oom ? perr_set(err, "out of memory") : 0;
}

int store_job_get(store *s, const char *job_id, store_job_info **out, perr *err)
{
    *out = NULL;
    const char *params[] = {job_id};
    PGresult *r = NULL;
    char sql[sizeof job_columns + 32];
    snprintf(sql, sizeof sql, "%s WHERE j.job_id = $1", job_columns);
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, sql, 1, params, PGRES_TUPLES_OK, &r, err);
    if (rc != 0 || PQntuples(r) == 0) {
        PQclear(r);
        return rc;
    }
    store_job_info *j = calloc(1, sizeof *j);
    if (!j)
        rc = perr_set(err, "out of memory");
    if (rc == 0)
        rc = read_job_row(r, 0, j, err);
    PQclear(r);
    if (rc == 0 && j->document_id > 0)
        rc = read_results(s, j, err);
    if (rc != 0) {
        store_job_info_free(j);
        return rc;
    }
    *out = j;
    return 0;
}

int store_list_jobs(store *s, size_t limit, store_job_info **out, size_t *n, perr *err)
{
    *out = NULL;
    *n = 0;
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *params[] = {lim};
    char sql[sizeof job_columns + 64];
    snprintf(sql, sizeof sql, "%s ORDER BY j.created_at DESC, j.id DESC LIMIT $1::bigint", job_columns);
    PGresult *r = NULL;
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, sql, 1, params, PGRES_TUPLES_OK, &r, err);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    store_job_info *list = rows ? calloc((size_t)rows, sizeof *list) : NULL;
    if (rows && !list)
        rc = perr_set(err, "out of memory");
    for (int i = 0; rc == 0 && i < rows; i++)
        rc = read_job_row(r, i, &list[i], err);
    PQclear(r);
    if (rc != 0) {
        store_job_list_free(list, (size_t)rows); /* unread rows are zeroed */
        return rc;
    }
    *out = list;
    *n = (size_t)rows;
    return 0;
}
