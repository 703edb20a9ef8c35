/* store.h — PostgreSQL persistence of jobs, documents and results (libpq).
 *
 * One `store` is one connection; it is not thread-safe (one per thread).
 * Every statement is parameterised (PQexecParams); values never become SQL
 * text. The only SQL run as text is the migration files themselves.
 *
 * Return values: 0 on success; otherwise the function fills `err` and returns
 *   STORE_ERROR     (-1) permanent: bad data, constraint violation, unknown
 *                   job, changed migration... retrying the same call fails
 *                   the same way;
 *   STORE_TRANSIENT (-2) the database is unreachable or asked us to retry
 *                   (connection lost or refused, SQLSTATE class 08, 40001
 *                   serialization failure, 40P01 deadlock, 57P0x shutdown,
 *                   53xxx insufficient resources, 55P03 lock timeout, 57014
 *                   statement cancelled). Nothing was committed by the
 *                   failed call; pause and retry later.
 * So `rc < 0` is "failed" and `rc == STORE_TRANSIENT` is "retry later".
 * After a lost connection the next call reconnects (PQreset) before running;
 * if the server is still away that call returns STORE_TRANSIENT again.
 * A transaction left open by a failure is rolled back on the next call.
 *
 * Tables (sql/0001_init.sql): documents (unique sha256, full-text tsv),
 * document_collections, jobs (unique job_id; status queued, running, done,
 * failed, dead), results (unique document, analysis, prompt_version,
 * model_sha256 — re-processing updates the row), schema_migrations.
 */
#ifndef PRECIS_STORE_H
#define PRECIS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "store/migrations.h"

enum { STORE_OK = 0, STORE_ERROR = -1, STORE_TRANSIENT = -2 };

typedef struct store store;

/* ---- connection ---------------------------------------------------------- */

/* Connect with a libpq connection string or URI; NULL or "" uses the
 * standard PG* environment variables (PGHOST, PGDATABASE, ...). Defaults that
 * the conninfo may override: connect_timeout=10, application_name=precis,
 * client_encoding=UTF8, TCP keepalives (idle 30 s, 3 probes 10 s apart).
 * A malformed conninfo is STORE_ERROR; a server that cannot be reached (or
 * refuses us) is STORE_TRANSIENT. On failure *out is NULL. The message never
 * shows a secret of conninfo (store/conninfo_mask.h), even where libpq
 * quotes the whole string (a malformed URI). */
int store_connect(store **out, const char *conninfo, perr *err);
void store_close(store *s);

/* Round trip to the server (reconnecting if needed), for readiness checks. */
int store_ping(store *s, perr *err);

/* Readiness: a fresh connection to conninfo answers "SELECT 1", all within
 * about timeout_s seconds per phase (connect, query; at least 2 s, libpq's
 * minimum connect_timeout, which overrides the conninfo's). 0, STORE_ERROR
 * (malformed conninfo) or STORE_TRANSIENT. Thread-safe. */
int store_probe(const char *conninfo, int timeout_s, perr *err);

/* True when a SQLSTATE (5 characters) means "retry later" (see above). */
int store_sqlstate_is_transient(const char *sqlstate);

/* ---- schema migrations --------------------------------------------------- */

typedef struct store_migrate_report {
    size_t known;      /* migrations in the set */
    size_t applied;    /* applied by this call */
    long version;      /* highest version in the database afterwards (0: none) */
} store_migrate_report;

/* Called after each migration is committed (may be NULL). */
typedef void (*store_migrate_cb)(const migration *m, void *ctx);

/* Bring the schema up to date: under a PostgreSQL advisory lock (so two
 * daemons starting together do not race), create schema_migrations if
 * needed, verify every applied migration (version known to this set and
 * sha256 unchanged — otherwise STORE_ERROR and nothing is applied), then
 * apply each pending migration in version order, each in its own
 * transaction together with its schema_migrations row (version, name,
 * sha256, applied_at). set NULL means the migrations embedded in the binary.
 * report and on_applied may be NULL. Running it again is a no-op. */
int store_migrate(store *s, const migration_set *set, store_migrate_report *report,
                  store_migrate_cb on_applied, void *ctx, perr *err);

/* Verify without changing anything that every migration of set (NULL:
 * embedded) is applied with an unchanged checksum; STORE_ERROR explains
 * what is pending or changed (for `serve` without --migrate). */
int store_migrate_check(store *s, const migration_set *set, perr *err);

/* ---- jobs ---------------------------------------------------------------- */

/* Where a job came from in Kafka; pass NULL when not from Kafka. */
typedef struct store_kafka_pos {
    const char *topic;
    int32_t partition;
    int64_t offset;
} store_kafka_pos;

/* What a job's row records of the job itself (never its password). */
typedef struct store_job_record {
    const char *job_id;          /* required */
    const char *collection;      /* NULL: none */
    char *const *analyses;       /* as requested; n_analyses 0 = the configured defaults */
    size_t n_analyses;
    const char *source;          /* document path, file name or "text" */
    const char *metadata_json;   /* JSON object; NULL = {} */
} store_job_record;

typedef struct store_job_start_info {
    int attempts;         /* attempts so far, including this one (1 = first) */
    int message_attempts; /* attempts of this Kafka message, including this
                             one (1 for a new message, or without a position) */
    int already_final;    /* 1: the job is done, or dead from this very
                             message; its row was not changed and it must not
                             be processed again */
    char status[16];      /* the row's status now: "running", or "done"/"dead" */
} store_job_start_info;

/* Record that an attempt of job j starts: insert its row (status running,
 * attempts 1) or set a known job running again with one more attempt, the
 * attempt it replaces appended to the row's history (error kept there).
 * Only a done job, or a dead one redelivered by the same message (same
 * pos), is left alone (already_final). A new message for a dead or failed
 * job runs it again. Stores collection, analyses, source, metadata and Kafka
 * position (never the password). out may be NULL. */
int store_job_start(store *s, const store_job_record *j, const store_kafka_pos *pos,
                    store_job_start_info *out, perr *err);

/* The document a job produced. Strings may be NULL unless stated. */
typedef struct store_document {
    const char *sha256;          /* required: hex SHA-256 of the original bytes */
    const char *source;          /* path, file name or "text" */
    const char *media_type;
    const char *format;          /* extractor format ("pdf", "jats", "text", ...) */
    const char *title;
    const char *language;
    int pages;                   /* 0 when not paged */
    const char *metadata_json;   /* JSON object; NULL = {} */
    const char *text;            /* extracted text; NULL = "" */
    const char *structure_json;  /* optional JSON (sections, paragraph ids) */
} store_document;

/* One analysis output. Counts and times < 0 mean unknown (stored NULL). */
typedef struct store_result {
    const char *analysis;        /* required, e.g. "summary" */
    const char *prompt_name;     /* required */
    const char *prompt_version;  /* required */
    const char *model_name;      /* required */
    const char *model_sha256;    /* required */
    const char *sampling_json;   /* JSON object (temperature, seed...); NULL = {} */
    const char *output_json;     /* parsed structured output; NULL = none */
    const char *raw_text;        /* model text as generated; NULL = "" */
    long prompt_tokens, completion_tokens;
    long long prompt_ms, completion_ms;
    const char *timings_json;    /* further timings, JSON object; NULL = {} */
    const char *trace_json;      /* the steps taken (retries, splits...), JSON array; NULL = [] */
} store_result;

/* In ONE transaction: upsert the document by sha256 (a known document is
 * updated), add it to the job's collection, upsert every result on
 * (document, analysis, prompt_version, model_sha256) — an existing row is
 * updated, never duplicated — and mark the job done (error cleared,
 * finished_at, document_id). The job must have a row (store_job_start).
 * *document_id (may be NULL) receives the document's id. */
int store_job_done(store *s, const char *job_id, const store_document *doc,
                   const store_result *results, size_t n_results,
                   int64_t *document_id, perr *err);

/* Mark a job failed (may be retried) or, with dead != 0, dead (given up,
 * dead-lettered), with an error class (e.g. "invalid_job", "extract",
 * "engine") and message (invalid UTF-8 is replaced). A job without a row
 * gets one (attempts 1); pos may be NULL. A running job's attempt ends so;
 * a job that was not running (a message that is no valid job) counts one
 * more attempt and its previous outcome goes to the history. A done job, or
 * one already dead from the same message, is left unchanged. */
int store_job_failed(store *s, const char *job_id, const store_kafka_pos *pos,
                     const char *error_class, const char *message, int dead, perr *err);

/* ---- status -------------------------------------------------------------- */

typedef struct store_result_summary {
    char *analysis, *prompt_name, *prompt_version, *model_name;
    char *job_id;                /* the job that last wrote it */
    long prompt_tokens, completion_tokens;   /* -1: unknown */
    long long prompt_ms, completion_ms;      /* -1: unknown */
    char *updated_at;
} store_result_summary;

/* A jobs row. Timestamps are ISO 8601 UTC ("2026-01-02T03:04:05.678Z") or
 * NULL; other strings are NULL when unset. */
typedef struct store_job_info {
    char *job_id, *collection, *status, *analyses /* comma-separated */, *source;
    int attempts;
    char *error, *error_class;
    char *history;               /* earlier attempts, one line each ("attempt 1
                                    dead (class) error, finished ..."); NULL: none */
    char *created_at, *started_at, *finished_at, *updated_at;
    char *kafka_topic;           /* NULL: not from Kafka */
    int kafka_partition;
    long long kafka_offset;
    long long document_id;       /* 0: none yet */
    char *document_sha256, *document_title;
    store_result_summary *results;   /* every result of the job's document */
    size_t n_results;
} store_job_info;

/* One job with its document's results; *out = NULL (and 0) when no such job. */
int store_job_get(store *s, const char *job_id, store_job_info **out, perr *err);

/* The newest `limit` jobs, newest first (results not filled). */
int store_list_jobs(store *s, size_t limit, store_job_info **out, size_t *n, perr *err);

void store_job_info_free(store_job_info *info);
void store_job_list_free(store_job_info *list, size_t n);

#endif
