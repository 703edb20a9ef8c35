/* test_store.c — the PostgreSQL store against a real throwaway server:
 * migrations, job lifecycle, result upserts, failures, error classes. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/monotonic.h"
#include "pipeline/job_run.h"
#include "pipeline/job.h"
#include "store/store.h"
#include "tests/pg_harness.h"
#include "tests/support.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct fixture {
    pg_harness *pg;
    char *conninfo;
    store *st;
    PGconn *raw;     /* a plain connection for checking rows */
} fixture;

static fixture open_db(pg_harness *pg, int migrate)
{
    fixture f = {.pg = pg, .conninfo = pg_harness_new_db(pg)};
    perr err = {{0}};
    cr_assert_eq(store_connect(&f.st, f.conninfo, &err), 0, "%s", err.msg);
    if (migrate)
        cr_assert_eq(store_migrate(f.st, NULL, NULL, NULL, NULL, &err), 0, "%s", err.msg);
    f.raw = PQconnectdb(f.conninfo);
    cr_assert_eq(PQstatus(f.raw), CONNECTION_OK);
    return f;
}

static fixture shared_db(int migrate) { return open_db(pg_harness_shared(), migrate); }

static void close_db(fixture *f)
{
    PQfinish(f->raw);
    store_close(f->st);
    free(f->conninfo);
    pg_harness_free(f->pg);
}

/* First column of the first row of a query with up to one parameter, as text
 * (malloc'd; NULL for SQL NULL). */
static char *query_text(PGconn *c, const char *sql, const char *param)
{
    const char *params[] = {param};
    PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    cr_assert_eq(PQntuples(r), 1, "%s returned %d rows", sql, PQntuples(r));
    char *v = PQgetisnull(r, 0, 0) ? NULL : strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static long long query_ll(PGconn *c, const char *sql, const char *param)
{
    char *v = query_text(c, sql, param);
    cr_assert(v, "%s returned NULL", sql);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

static void parse_job(job *j, const char *json)
{
    perr err = {{0}};
    cr_assert_eq(job_parse(json, strlen(json), j, &err), 0, "%s", err.msg);
}

static const char sha_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char sha_b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
static const char model_sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static store_document doc_with_text(const char *sha, const char *title, const char *text)
{
    return (store_document){.sha256 = sha, .source = "in/report.pdf", .media_type = "application/pdf",
                            .format = "pdf", .title = title, .pages = 3,
                            .metadata_json = "{\"author\":\"Ann\"}", .text = text};
}

static store_result result_of(const char *analysis, const char *version, const char *raw)
{
    return (store_result){.analysis = analysis, .prompt_name = analysis, .prompt_version = version,
                          .model_name = "stories260K", .model_sha256 = model_sha,
                          .sampling_json = "{\"temperature\":0}", .output_json = "{\"ok\":true}",
                          .raw_text = raw, .prompt_tokens = 120, .completion_tokens = 40,
                          .prompt_ms = 15, .completion_ms = 300, .timings_json = NULL};
}

/* Start job `id` and finish it with doc and results; returns the document id. */
static long long run_job(fixture *f, const char *id, const store_document *doc, const store_result *res, size_t n)
{
    char json[512];
    snprintf(json, sizeof json, "{\"job_id\":\"%s\",\"collection\":\"c1\",\"document\":{\"text\":\"x\"}}", id);
    job j;
    parse_job(&j, json);
    perr err = {{0}};
    cr_assert_eq(job_run_start(f->st, &j, NULL, NULL, &err), 0, "%s", err.msg);
    int64_t doc_id = 0;
    cr_assert_eq(store_job_done(f->st, id, doc, res, n, &doc_id, &err), 0, "%s", err.msg);
    job_clear(&j);
    return doc_id;
}

/* ---- migrations --------------------------------------------------------- */

Test(store, migrate_from_empty_creates_schema)
{
    fixture f = shared_db(0);
    perr err = {{0}};
    store_migrate_report rep;
    cr_assert_eq(store_migrate(f.st, NULL, &rep, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_geq(rep.known, 1);
    cr_assert_eq(rep.applied, rep.known);
    cr_assert_geq(rep.version, 1);
    const char *tables[] = {"documents", "jobs", "results", "document_collections", "schema_migrations"};
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM pg_tables WHERE tablename = $1", tables[i]), 1,
                     "table %s missing", tables[i]);
    migration_set set;
    cr_assert_eq(migrations_embedded(&set, &err), 0, "%s", err.msg);
    char *sha = query_text(f.raw, "SELECT sha256 FROM schema_migrations WHERE version = 1", NULL);
    cr_assert_str_eq(sha, set.items[0].sha256);
    cr_assert_str_eq(set.items[0].name, "0001_init.sql");
    free(sha);
    migrations_clear(&set);
    cr_assert_eq(store_migrate_check(f.st, NULL, &err), 0, "%s", err.msg);
    close_db(&f);
}

Test(store, migrate_twice_is_a_noop)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    store_migrate_report rep;
    cr_assert_eq(store_migrate(f.st, NULL, &rep, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(rep.applied, 0);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM schema_migrations", NULL), (long long)rep.known);
    close_db(&f);
}

Test(store, migrate_check_reports_unmigrated_database)
{
    fixture f = shared_db(0);
    perr err = {{0}};
    cr_assert_eq(store_migrate_check(f.st, NULL, &err), STORE_ERROR);
    cr_assert(strstr(err.msg, "not applied"), "%s", err.msg);
    close_db(&f);
}

static void embedded_plus(migration_set *set, const char *name, const char *sql)
{
    perr err = {{0}};
    cr_assert_eq(migrations_embedded(set, &err), 0, "%s", err.msg);
    if (name)
        cr_assert_eq(migrations_add(set, name, sql, strlen(sql), &err), 0, "%s", err.msg);
}

Test(store, changed_checksum_is_refused)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    migration_set set = {0};
    cr_assert_eq(migrations_add(&set, "0001_init.sql", "SELECT 1; -- edited\n", 20, &err), 0, "%s", err.msg);
    cr_assert_eq(store_migrate(f.st, &set, NULL, NULL, NULL, &err), STORE_ERROR);
    cr_assert(strstr(err.msg, "0001_init.sql was changed after it was applied"), "%s", err.msg);
    cr_assert_eq(store_migrate_check(f.st, &set, &err), STORE_ERROR);
    cr_assert(strstr(err.msg, "was changed"), "%s", err.msg);
    migrations_clear(&set);
    close_db(&f);
}

Test(store, database_newer_than_binary_is_refused)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    migration_set more;
    embedded_plus(&more, "9000_future.sql", "CREATE TABLE future_thing (x int);");
    cr_assert_eq(store_migrate(f.st, &more, NULL, NULL, NULL, &err), 0, "%s", err.msg);
    migrations_clear(&more);
    cr_assert_eq(store_migrate(f.st, NULL, NULL, NULL, NULL, &err), STORE_ERROR);
    cr_assert(strstr(err.msg, "9000_future.sql"), "%s", err.msg);
    close_db(&f);
}

Test(store, failed_migration_leaves_no_trace)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    migration_set set;
    embedded_plus(&set, "0900_broken.sql", "CREATE TABLE half_done (x int);\nSELEC oops;\n");
    cr_assert_eq(store_migrate(f.st, &set, NULL, NULL, NULL, &err), STORE_ERROR);
    cr_assert(strstr(err.msg, "0900_broken.sql") && strstr(err.msg, "42601"), "%s", err.msg);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'", NULL), 0);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM schema_migrations WHERE version = 900", NULL), 0);
    /* the store is usable afterwards */
    cr_assert_eq(store_ping(f.st, &err), 0, "%s", err.msg);
    migrations_clear(&set);
    close_db(&f);
}

static void count_applied(const migration *m, void *ctx)
{
    (void)m;
    (*(int *)ctx)++;
}

typedef struct migrator {
    const char *conninfo;
    int rc;
    size_t applied;
    char msg[PERR_MSG_MAX];
} migrator;

static void *migrate_thread(void *arg)
{
    migrator *m = arg;
    perr err = {{0}};
    store *s;
    m->rc = store_connect(&s, m->conninfo, &err);
    store_migrate_report rep = {0};
    if (m->rc == 0)
        m->rc = store_migrate(s, NULL, &rep, NULL, NULL, &err);
    m->applied = rep.applied;
    snprintf(m->msg, sizeof m->msg, "%s", err.msg);
    store_close(s);
    return NULL;
}

Test(store, concurrent_migrations_apply_once)
{
    fixture f = shared_db(0);
    /* Hold the migration lock so both migrators queue up behind it. */
    PGresult *r = PQexec(f.raw, "SELECT pg_advisory_lock(31650977176711937)");
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(f.raw));
    PQclear(r);
    migrator m[2] = {{.conninfo = f.conninfo}, {.conninfo = f.conninfo}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, migrate_thread, &m[i]), 0);
    long long waiting = 0;
    for (int tries = 0; tries < 3000 && waiting < 2; tries++) {
        usleep(10000);
        waiting = query_ll(f.raw, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", NULL);
    }
    cr_assert_eq(waiting, 2, "both migrators should wait for the lock");
    r = PQexec(f.raw, "SELECT pg_advisory_unlock(31650977176711937)");
    PQclear(r);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(m[0].rc, 0, "%s", m[0].msg);
    cr_assert_eq(m[1].rc, 0, "%s", m[1].msg);
    long long known = query_ll(f.raw, "SELECT count(*) FROM schema_migrations", NULL);
    cr_assert_geq(known, 1);
    cr_assert_eq((long long)(m[0].applied + m[1].applied), known, "each migration applied exactly once");
    cr_assert(m[0].applied == 0 || m[1].applied == 0);
    close_db(&f);
}

Test(store, migrate_reports_each_applied_file)
{
    fixture f = shared_db(0);
    perr err = {{0}};
    int calls = 0;
    store_migrate_report rep;
    cr_assert_eq(store_migrate(f.st, NULL, &rep, count_applied, &calls, &err), 0, "%s", err.msg);
    cr_assert_eq((size_t)calls, rep.applied);
    close_db(&f);
}

/* ---- jobs ---------------------------------------------------------------- */

Test(store, job_lifecycle_start_to_done)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    job j;
    parse_job(&j, "{\"job_id\":\"job-1\",\"collection\":\"reports\",\"analyses\":[\"summary\",\"entities\"],"
                  "\"document\":{\"path\":\"in/report.pdf\"},\"password\":\"s3cret\",\"metadata\":{\"dept\":\"x\"}}");
    store_kafka_pos pos = {.topic = "precis.jobs", .partition = 2, .offset = 41};
    store_job_start_info info;
    cr_assert_eq(job_run_start(f.st, &j, &pos, &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.attempts, 1);
    cr_assert_eq(info.already_final, 0);
    cr_assert_str_eq(info.status, "running");

    store_job_info *got;
    cr_assert_eq(store_job_get(f.st, "job-1", &got, &err), 0, "%s", err.msg);
    cr_assert_not_null(got);
    cr_assert_str_eq(got->status, "running");
    cr_assert_str_eq(got->analyses, "summary,entities");
    cr_assert_str_eq(got->collection, "reports");
    cr_assert_str_eq(got->kafka_topic, "precis.jobs");
    cr_assert_eq(got->kafka_partition, 2);
    cr_assert_eq(got->kafka_offset, 41);
    cr_assert_not_null(got->started_at);
    cr_assert_null(got->finished_at);
    store_job_info_free(got);

    store_document doc = doc_with_text(sha_a, "Annual report", "Revenue grew in every region.");
    store_result res[2] = {result_of("summary", "1", "It grew."), result_of("entities", "1", "[]")};
    int64_t doc_id = 0;
    cr_assert_eq(store_job_done(f.st, "job-1", &doc, res, 2, &doc_id, &err), 0, "%s", err.msg);
    cr_assert_gt(doc_id, 0);

    cr_assert_eq(store_job_get(f.st, "job-1", &got, &err), 0, "%s", err.msg);
    cr_assert_str_eq(got->status, "done");
    cr_assert_eq(got->attempts, 1);
    cr_assert_null(got->error);
    cr_assert_not_null(got->finished_at);
    cr_assert_eq(got->document_id, doc_id);
    cr_assert_str_eq(got->document_sha256, sha_a);
    cr_assert_str_eq(got->document_title, "Annual report");
    cr_assert_eq(got->n_results, 2);
    cr_assert_str_eq(got->results[0].analysis, "entities"); /* ordered by analysis */
    cr_assert_str_eq(got->results[1].analysis, "summary");
    cr_assert_str_eq(got->results[1].job_id, "job-1");
    cr_assert_eq(got->results[1].completion_tokens, 40);
    cr_assert_eq(got->results[1].completion_ms, 300);
    store_job_info_free(got);

    /* the password is never stored; the collection link is */
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM jobs WHERE jobs::text LIKE '%s3cret%'", NULL), 0);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM document_collections WHERE collection = 'reports'", NULL), 1);
    char *meta = query_text(f.raw, "SELECT metadata->>'author' FROM documents WHERE sha256 = $1", sha_a);
    cr_assert_str_eq(meta, "Ann");
    free(meta);
    job_clear(&j);
    close_db(&f);
}

Test(store, redelivered_job_counts_attempts_and_done_job_is_final)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    job j;
    parse_job(&j, "{\"job_id\":\"again\",\"document\":{\"text\":\"hello\"}}");
    store_job_start_info info;
    cr_assert_eq(job_run_start(f.st, &j, NULL, &info, &err), 0, "%s", err.msg);
    cr_assert_eq(job_run_start(f.st, &j, NULL, &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.attempts, 2);
    cr_assert_eq(info.already_final, 0);
    store_document doc = doc_with_text(sha_a, NULL, "hello");
    cr_assert_eq(store_job_done(f.st, "again", &doc, NULL, 0, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(job_run_start(f.st, &j, NULL, &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.already_final, 1);
    cr_assert_eq(info.attempts, 2);
    cr_assert_str_eq(info.status, "done");
    char *status = query_text(f.raw, "SELECT status FROM jobs WHERE job_id = 'again'", NULL);
    cr_assert_str_eq(status, "done");
    free(status);
    job_clear(&j);
    close_db(&f);
}

/* A dead job is final only for the message that made it dead: its
 * redelivery is skipped, a new message runs it again with the earlier
 * failure in the history and the per-message attempt count restarted. */
Test(store, dead_job_restarts_on_a_new_message_with_history)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    job j;
    parse_job(&j, "{\"job_id\":\"phoenix\",\"document\":{\"text\":\"hello\"}}");
    store_kafka_pos first = {.topic = "precis.jobs", .partition = 1, .offset = 10};
    store_job_start_info info;
    cr_assert_eq(job_run_start(f.st, &j, &first, &info, &err), 0, "%s", err.msg);
    cr_assert_eq(job_run_start(f.st, &j, &first, &info, &err), 0, "%s", err.msg);   /* crash, redelivered */
    cr_assert_eq(info.attempts, 2);
    cr_assert_eq(info.message_attempts, 2);
    cr_assert_eq(store_job_failed(f.st, "phoenix", &first, "extract", "wrong password", 1, &err), 0, "%s", err.msg);

    cr_assert_eq(job_run_start(f.st, &j, &first, &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.already_final, 1, "the same message again is a redelivery");
    cr_assert_str_eq(info.status, "dead");

    store_kafka_pos second = {.topic = "precis.jobs", .partition = 1, .offset = 57};
    cr_assert_eq(job_run_start(f.st, &j, &second, &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.already_final, 0, "a new message runs the dead job again");
    cr_assert_eq(info.attempts, 3);
    cr_assert_eq(info.message_attempts, 1);
    cr_assert_str_eq(info.status, "running");
    char *hist = query_text(f.raw, "SELECT string_agg(e->>'attempt' || ':' || (e->>'status') || ':' ||"
                                   " coalesce(e->>'error', '-') || ':' || (e->>'kafka_offset'), ',')"
                                   " FROM jobs, jsonb_array_elements(history) e WHERE job_id = 'phoenix'", NULL);
    cr_assert_str_eq(hist, "1:interrupted:-:10,2:dead:wrong password:10");
    free(hist);
    store_job_info *got;
    cr_assert_eq(store_job_get(f.st, "phoenix", &got, &err), 0, "%s", err.msg);
    cr_assert_null(got->error, "the running attempt has no error yet");
    cr_assert(got->history && strstr(got->history, "attempt 2 dead (extract) wrong password finished "),
              "%s", got->history ? got->history : "(null)");
    store_job_info_free(got);

    /* Without a Kafka position (precis run) a dead job always runs again. */
    cr_assert_eq(store_job_failed(f.st, "phoenix", NULL, "engine", "boom", 1, &err), 0, "%s", err.msg);
    cr_assert_eq(job_run_start(f.st, &j, NULL, &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.already_final, 0);
    cr_assert_eq(info.message_attempts, 1);

    /* A failure without a start (an invalid message naming the job) is an
     * attempt of its own and keeps what it replaces. */
    cr_assert_eq(store_job_failed(f.st, "phoenix", NULL, "engine", "boom again", 1, &err), 0, "%s", err.msg);
    store_kafka_pos third = {.topic = "precis.jobs", .partition = 0, .offset = 3};
    cr_assert_eq(store_job_failed(f.st, "phoenix", &third, "invalid_job", "not JSON", 1, &err), 0, "%s", err.msg);
    cr_assert_eq(store_job_failed(f.st, "phoenix", &third, "invalid_job", "not JSON", 1, &err), 0, "%s", err.msg);
    cr_assert_eq(query_ll(f.raw, "SELECT attempts * 100 + jsonb_array_length(history) FROM jobs"
                                 " WHERE job_id = 'phoenix'", NULL), 504,
                 "5 attempts, the 4 before the last in the history; the redelivered invalid message changed nothing");
    job_clear(&j);
    close_db(&f);
}

Test(store, reprocessing_updates_the_one_result_row)
{
    fixture f = shared_db(1);
    store_document doc = doc_with_text(sha_a, "T", "first text");
    store_result r1 = result_of("summary", "1", "first summary");
    long long id1 = run_job(&f, "j1", &doc, &r1, 1);

    doc.text = "second text";
    store_result r2 = result_of("summary", "1", "second summary");
    r2.completion_tokens = 77;
    long long id2 = run_job(&f, "j2", &doc, &r2, 1);
    cr_assert_eq(id1, id2, "same sha256 is the same document");
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM documents", NULL), 1);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM results", NULL), 1, "re-processing must not duplicate");
    char *raw = query_text(f.raw, "SELECT raw_text || '|' || job_id || '|' || completion_tokens FROM results", NULL);
    cr_assert_str_eq(raw, "second summary|j2|77");
    free(raw);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM results WHERE updated_at > created_at", NULL), 1);
    char *text = query_text(f.raw, "SELECT text FROM documents", NULL);
    cr_assert_str_eq(text, "second text");
    free(text);

    store_result r3 = result_of("summary", "2", "new prompt");
    run_job(&f, "j3", &doc, &r3, 1);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM results", NULL), 2, "a new prompt version is a new row");
    store_result r4 = result_of("summary", "2", "other model");
    r4.model_sha256 = sha_b;
    run_job(&f, "j4", &doc, &r4, 1);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM results", NULL), 3, "a new model is a new row");
    close_db(&f);
}

Test(store, failed_and_dead_jobs_keep_their_reason)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    job j;
    parse_job(&j, "{\"job_id\":\"bad-1\",\"document\":{\"text\":\"x\"}}");
    cr_assert_eq(job_run_start(f.st, &j, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(store_job_failed(f.st, "bad-1", NULL, "extract", "PDF is encrypted", 0, &err), 0, "%s", err.msg);
    store_job_info *got;
    cr_assert_eq(store_job_get(f.st, "bad-1", &got, &err), 0, "%s", err.msg);
    cr_assert_str_eq(got->status, "failed");
    cr_assert_str_eq(got->error, "PDF is encrypted");
    cr_assert_str_eq(got->error_class, "extract");
    cr_assert_not_null(got->finished_at);
    cr_assert_eq(got->attempts, 1);
    store_job_info_free(got);

    cr_assert_eq(store_job_failed(f.st, "bad-1", NULL, "extract", "gave up", 1, &err), 0, "%s", err.msg);
    char *status = query_text(f.raw, "SELECT status || ':' || error FROM jobs WHERE job_id = 'bad-1'", NULL);
    cr_assert_str_eq(status, "dead:gave up");
    free(status);

    /* a job that never started (e.g. it failed validation) still gets a row */
    store_kafka_pos pos = {.topic = "t", .partition = 0, .offset = 7};
    cr_assert_eq(store_job_failed(f.st, "never-started", &pos, "invalid_job", "bad \xff bytes", 1, &err), 0,
                 "%s", err.msg);
    char *row = query_text(f.raw, "SELECT status || ':' || attempts || ':' || kafka_offset || ':' || error"
                                  " FROM jobs WHERE job_id = 'never-started'", NULL);
    cr_assert_str_eq(row, "dead:1:7:bad \xef\xbf\xbd bytes");
    free(row);

    /* a done job is not downgraded */
    store_document doc = doc_with_text(sha_b, NULL, "t");
    job_clear(&j);
    parse_job(&j, "{\"job_id\":\"ok-1\",\"document\":{\"text\":\"x\"}}");
    cr_assert_eq(job_run_start(f.st, &j, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(store_job_done(f.st, "ok-1", &doc, NULL, 0, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(store_job_failed(f.st, "ok-1", NULL, "x", "late failure", 0, &err), 0, "%s", err.msg);
    status = query_text(f.raw, "SELECT status FROM jobs WHERE job_id = 'ok-1'", NULL);
    cr_assert_str_eq(status, "done");
    free(status);
    job_clear(&j);
    close_db(&f);
}

Test(store, permanent_errors_commit_nothing)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    store_document doc = doc_with_text(sha_a, "t", "x");
    store_result res = result_of("summary", "1", "r");
    /* unknown job */
    cr_assert_eq(store_job_done(f.st, "nobody", &doc, &res, 1, NULL, &err), STORE_ERROR);
    cr_assert(strstr(err.msg, "no such job"), "%s", err.msg);
    /* bad JSON in the second result: the whole job is rolled back */
    job j;
    parse_job(&j, "{\"job_id\":\"j\",\"document\":{\"text\":\"x\"}}");
    cr_assert_eq(job_run_start(f.st, &j, NULL, NULL, &err), 0, "%s", err.msg);
    store_result two[2] = {result_of("summary", "1", "r"), result_of("entities", "1", "r")};
    two[1].output_json = "{not json";
    cr_assert_eq(store_job_done(f.st, "j", &doc, two, 2, NULL, &err), STORE_ERROR);
    cr_assert(strstr(err.msg, "22P02") && strstr(err.msg, "entities"), "%s", err.msg);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM documents", NULL), 0);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM results", NULL), 0);
    /* bad sha256 (CHECK), missing fields */
    doc.sha256 = "not-a-sha";
    cr_assert_eq(store_job_done(f.st, "j", &doc, NULL, 0, NULL, &err), STORE_ERROR);
    cr_assert(strstr(err.msg, "23514"), "%s", err.msg);
    res.model_sha256 = NULL;
    doc.sha256 = sha_a;
    cr_assert_eq(store_job_done(f.st, "j", &doc, &res, 1, NULL, &err), STORE_ERROR);
    cr_assert(strstr(err.msg, "model_sha256 is required"), "%s", err.msg);
    /* the store still works and the job is still running */
    char *status = query_text(f.raw, "SELECT status FROM jobs WHERE job_id = 'j'", NULL);
    cr_assert_str_eq(status, "running");
    free(status);
    cr_assert_eq(store_job_done(f.st, "j", &doc, two, 1, NULL, &err), 0, "%s", err.msg);
    job_clear(&j);
    close_db(&f);
}

Test(store, hostile_values_are_stored_verbatim)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    const char *evil_id = "x'); DROP TABLE jobs; --";
    char json[512];
    snprintf(json, sizeof json,
             "{\"job_id\":\"%s\",\"collection\":\"a\\\"b'c;d\",\"document\":{\"text\":\"x\"},"
             "\"metadata\":{\"q\":\"'; DELETE FROM documents; --\"}}", evil_id);
    job j;
    parse_job(&j, json);
    cr_assert_eq(job_run_start(f.st, &j, NULL, NULL, &err), 0, "%s", err.msg);
    const char *title = "O'Brien's \"report\"; DROP TABLE results; -- $1 \\ %s";
    store_document doc = doc_with_text(sha_a, title, "text with 'quotes' and $$dollars$$");
    store_result res = result_of("summary", "1'; --", "raw 'text'");
    cr_assert_eq(store_job_done(f.st, evil_id, &doc, &res, 1, NULL, &err), 0, "%s", err.msg);
    store_job_info *got;
    cr_assert_eq(store_job_get(f.st, evil_id, &got, &err), 0, "%s", err.msg);
    cr_assert_not_null(got);
    cr_assert_str_eq(got->job_id, evil_id);
    cr_assert_str_eq(got->collection, "a\"b'c;d");
    cr_assert_str_eq(got->document_title, title);
    cr_assert_str_eq(got->results[0].prompt_version, "1'; --");
    store_job_info_free(got);
    char *meta = query_text(f.raw, "SELECT metadata->>'q' FROM jobs", NULL);
    cr_assert_str_eq(meta, "'; DELETE FROM documents; --");
    free(meta);
    cr_assert_eq(query_ll(f.raw, "SELECT count(*) FROM documents", NULL), 1);
    job_clear(&j);
    close_db(&f);
}

Test(store, full_text_search_finds_words)
{
    fixture f = shared_db(1);
    store_document doc = doc_with_text(sha_a, "Harbour Inspection", "The quick brown fox jumps over the lazy dog.");
    run_job(&f, "fts", &doc, NULL, 0);
    const char *q = "SELECT count(*) FROM documents WHERE tsv @@ to_tsquery('simple', $1)";
    cr_assert_eq(query_ll(f.raw, q, "fox"), 1);
    cr_assert_eq(query_ll(f.raw, q, "harbour"), 1, "title words are indexed");
    cr_assert_eq(query_ll(f.raw, q, "brown & lazy"), 1);
    cr_assert_eq(query_ll(f.raw, q, "zebra"), 0);
    close_db(&f);
}

Test(store, oversized_tsvector_falls_back_instead_of_failing)
{
    fixture f = shared_db(1);
    /* ~45,000 distinct 32-character words: more than a tsvector can hold. */
    size_t n = 45000, len = 0;
    char *text = malloc(n * 34 + 32);
    cr_assert(text);
    len += (size_t)sprintf(text, "needle ");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "w%031zx ", i * 2654435761u);
    store_document doc = doc_with_text(sha_a, "big", text);
    run_job(&f, "big", &doc, NULL, 0);
    const char *q = "SELECT count(*) FROM documents WHERE tsv @@ to_tsquery('simple', $1)";
    cr_assert_eq(query_ll(f.raw, q, "needle"), 1);
    cr_assert_eq(query_ll(f.raw, "SELECT length(text) FROM documents", NULL), (long long)len);
    free(text);
    close_db(&f);
}

/* ---- connection loss ------------------------------------------------------ */

Test(store, lost_server_is_transient_and_reconnects, .timeout = 120)
{
    fixture f = open_db(pg_harness_private(), 1);
    perr err = {{0}};
    job j;
    parse_job(&j, "{\"job_id\":\"survivor\",\"document\":{\"text\":\"x\"}}");
    PQfinish(f.raw);
    f.raw = NULL;

    pg_harness_stop(f.pg);
    cr_assert_eq(job_run_start(f.st, &j, NULL, NULL, &err), STORE_TRANSIENT, "%s", err.msg);
    cr_assert_eq(job_run_start(f.st, &j, NULL, NULL, &err), STORE_TRANSIENT, "%s", err.msg);
    cr_assert_eq(store_ping(f.st, &err), STORE_TRANSIENT);
    store *other;
    cr_assert_eq(store_connect(&other, f.conninfo, &err), STORE_TRANSIENT);
    cr_assert_null(other);

    pg_harness_start(f.pg);
    store_job_start_info info;
    cr_assert_eq(job_run_start(f.st, &j, NULL, &info, &err), 0, "after restart: %s", err.msg);
    cr_assert_eq(info.attempts, 1, "the failed calls committed nothing");
    store_document doc = doc_with_text(sha_a, NULL, "x");
    cr_assert_eq(store_job_done(f.st, "survivor", &doc, NULL, 0, NULL, &err), 0, "%s", err.msg);

    /* a connection lost while idle: the first call reports it, the next reconnects */
    pg_harness_stop(f.pg);
    pg_harness_start(f.pg);
    cr_assert_eq(store_ping(f.st, &err), STORE_TRANSIENT, "%s", err.msg);
    cr_assert_eq(store_ping(f.st, &err), 0, "%s", err.msg);
    job_clear(&j);
    close_db(&f);
}

Test(store, sqlstate_classification)
{
    const char *transient[] = {"08006", "08001", "08P01", "40001", "40P01", "57P01", "57P03", "53300", "55P03"};
    const char *permanent[] = {"23505", "23514", "22P02", "42601", "42P01", "22021", "XX000", "", "4000"};
    for (size_t i = 0; i < 9; i++) {
        cr_assert(store_sqlstate_is_transient(transient[i]), "%s", transient[i]);
        cr_assert_not(store_sqlstate_is_transient(permanent[i]), "%s", permanent[i]);
    }
    cr_assert_not(store_sqlstate_is_transient(NULL));
}

Test(store, malformed_conninfo_is_permanent)
{
    store *s;
    perr err = {{0}};
    cr_assert_eq(store_connect(&s, "host=/tmp nonsense_option=1", &err), STORE_ERROR);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, "nonsense_option"), "%s", err.msg);
    cr_assert_eq(store_connect(&s, "password=hunter2 'unterminated", &err), STORE_ERROR);
    cr_assert_null(strstr(err.msg, "hunter2"), "%s", err.msg);
}

/* libpq quotes a malformed URI whole in its error: the password must not follow. */
Test(store, conninfo_secrets_never_in_errors)
{
    static const struct {
        const char *conninfo, *secret, *shown;
    } cases[] = {
        {"postgres://precis:SECRET1@[::1/precis", "SECRET1", "postgres://precis:********@[::1/precis"},
        {"postgres://precis@[::1/precis?sslpassword=SECRET2", "SECRET2", "sslpassword=********"},
        {"postgres://precis:SECRET3@h/db?bogus", "SECRET3", "\"bogus\""},
        {"host=/nonexistent password=SECRET4 sslpassword='SECRET 5' connect_timeout=2", "SECRET", "/nonexistent"},
        {"password=SECRET6 'unterminated", "SECRET6", "unterminated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store *s;
        perr err = {{0}};
        cr_assert_lt(store_connect(&s, cases[i].conninfo, &err), 0, "%s", cases[i].conninfo);
        cr_assert_null(s);
        cr_assert_null(strstr(err.msg, cases[i].secret), "secret leaked: %s", err.msg);
        cr_assert(strstr(err.msg, cases[i].shown), "the message still helps: %s", err.msg);
    }
}

/* The readiness probe: answers from a live server, and gives up on one that
 * accepts TCP and never answers (a listening socket nobody accepts from)
 * within its timeout, whatever connect_timeout the conninfo sets. */
Test(store, probe_is_bounded_in_time)
{
    fixture f = shared_db(0);
    perr err = {{0}};
    cr_assert_eq(store_probe(f.conninfo, 2, &err), 0, "%s", err.msg);
    close_db(&f);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(fd, 8), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    char conninfo[160];
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d user=precis connect_timeout=30", ntohs(sa.sin_port));
    int64_t t0 = monotonic_ms();
    cr_assert_eq(store_probe(conninfo, 2, &err), STORE_TRANSIENT);
    int64_t took = monotonic_ms() - t0;
    cr_assert_lt(took, 4000, "took %lld ms: %s", (long long)took, err.msg);
    cr_assert(strstr(err.msg, "timeout"), "%s", err.msg);
    close(fd);
}

Test(store, list_jobs_newest_first)
{
    fixture f = shared_db(1);
    perr err = {{0}};
    const char *ids[] = {"first", "second", "third"};
    for (size_t i = 0; i < 3; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"job_id\":\"%s\",\"document\":{\"text\":\"x\"}}", ids[i]);
        job j;
        parse_job(&j, json);
        cr_assert_eq(job_run_start(f.st, &j, NULL, NULL, &err), 0, "%s", err.msg);
        job_clear(&j);
    }
    store_job_info *list;
    size_t n;
    cr_assert_eq(store_list_jobs(f.st, 2, &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(list[0].job_id, "third");
    cr_assert_str_eq(list[1].job_id, "second");
    store_job_list_free(list, n);
    store_job_info *none;
    cr_assert_eq(store_job_get(f.st, "missing", &none, &err), 0, "%s", err.msg);
    cr_assert_null(none);
    close_db(&f);
}

/* ---- the CLI: precis migrate / precis status -------------------------------- */

static int precis(const fixture *f, const char *args, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "PRECIS_POSTGRES_CONNINFO='%s' %s %s 2>&1", f->conninfo, test_precis_bin(), args);
    return test_run(cmd, out);
}

Test(store, cli_migrate_and_status)
{
    fixture f = shared_db(0);
    char *out;
    cr_assert_eq(precis(&f, "migrate --check", &out), 1, "%s", out);
    cr_assert(strstr(out, "not applied"), "%s", out);
    free(out);
    cr_assert_eq(precis(&f, "migrate", &out), 0, "%s", out);
    cr_assert(strstr(out, "applied 0001_init.sql (sha256 "), "%s", out);
    free(out);
    cr_assert_eq(precis(&f, "migrate", &out), 0, "%s", out);
    cr_assert(strstr(out, "up to date"), "%s", out);
    cr_assert_null(strstr(out, "applied 0001"), "%s", out);
    free(out);
    cr_assert_eq(precis(&f, "migrate --check", &out), 0, "%s", out);
    free(out);

    cr_assert_eq(precis(&f, "status", &out), 0, "%s", out);
    cr_assert(strstr(out, "(no jobs)"), "%s", out);
    free(out);
    store_document doc = doc_with_text(sha_a, "Line\none", "body");
    store_result res = result_of("summary", "3", "s");
    run_job(&f, "cli-job", &doc, &res, 1);
    cr_assert_eq(precis(&f, "status", &out), 0, "%s", out);
    cr_assert(strstr(out, "cli-job") && strstr(out, "done"), "%s", out);
    free(out);
    cr_assert_eq(precis(&f, "status cli-job", &out), 0, "%s", out);
    cr_assert(strstr(out, "status      done"), "%s", out);
    cr_assert(strstr(out, "results     1"), "%s", out);
    cr_assert(strstr(out, "summary  prompt summary v3  model stories260K  tokens 120+40"), "%s", out);
    cr_assert(strstr(out, "Line?one"), "control characters are not printed raw: %s", out);
    free(out);
    cr_assert_eq(precis(&f, "status nope", &out), 1, "%s", out);
    cr_assert(strstr(out, "no job 'nope'"), "%s", out);
    free(out);
    cr_assert_eq(precis(&f, "status -n 0", &out), 2, "%s", out);
    free(out);
    close_db(&f);
}

Test(store, cli_reports_unreachable_database)
{
    char *out;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "PRECIS_POSTGRES_CONNINFO='host=%s/no-such-dir connect_timeout=2' %s status 2>&1",
             test_tmpdir(), test_precis_bin());
    cr_assert_eq(test_run(cmd, &out), 1, "%s", out);
    cr_assert(strstr(out, "precis status: connecting to PostgreSQL") && strstr(out, "try again"), "%s", out);
    free(out);
}

/* serve, status and migrate all report a malformed conninfo without its password. */
Test(store, cli_never_prints_conninfo_secrets)
{
    const char *const commands[] = {"status", "migrate", "migrate --check", "serve", NULL};
    for (size_t i = 0; commands[i]; i++) {
        char *out;
        char cmd[512];
        /* serve: the real daemon around the stub step (no model to load) */
        const char *bin = strcmp(commands[i], "serve") == 0 ? test_precis_stub_bin() : test_precis_bin();
        snprintf(cmd, sizeof cmd,
                 "PRECIS_POSTGRES_CONNINFO='postgres://precis:SECRET@[::1/precis' PRECIS_METRICS_ENABLED=false "
                 "%s %s 2>&1", bin, commands[i]);
        cr_assert_neq(test_run(cmd, &out), 0, "%s: %s", commands[i], out);
        cr_assert_null(strstr(out, "SECRET"), "%s leaked the password:\n%s", commands[i], out);
        cr_assert(strstr(out, "postgres://precis:********@[::1/precis"), "%s: %s", commands[i], out);
        free(out);
    }
}
