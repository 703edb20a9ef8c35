/* store_consultation.h — consultation runs in PostgreSQL (sql/0004_consultation.sql):
 * writing a finished or failed run, reading a collection's stored documents
 * as responses, and the report behind `precis themes`.
 *
 * Writes are staged in memory and made in ONE transaction when the run
 * ends: the run row, its themes, one annotation per response and the
 * response-theme rows (bulk, as JSON through jsonb_to_recordset). A run
 * that finishes a Kafka job is written with the job marked done, in the same
 * transaction, by store_job_done_consultation (store.h). Nothing is written while the
 * model works, so a crash leaves no half run. Return codes as store.h.
 */
#ifndef PRECIS_STORE_CONSULTATION_H
#define PRECIS_STORE_CONSULTATION_H

#include "store/store.h"

/* Characters of each response kept in response_annotations.excerpt. */
#define STORE_CONSULTATION_EXCERPT 300

/* Another theme a theme nearly duplicates. */
typedef struct store_consultation_duplicate {
    const char *id;
    double label_overlap, response_overlap;
} store_consultation_duplicate;

/* One theme of a run, as stored (sql/0009_theme_flags.sql for the flags). */
typedef struct store_consultation_theme {
    const char *id, *label, *description;
    const char *position;        /* "" = none */
    size_t response_count;
    size_t agree, disagree, unclear, no_position;   /* its responses by position */
    int minority;
    const store_consultation_duplicate *duplicates;
    size_t n_duplicates;
} store_consultation_theme;

/* The thresholds a run's themes were flagged with. */
typedef struct store_consultation_flags {
    size_t minority_min_responses;
    double minority_min_share, duplicate_label_overlap, duplicate_response_overlap;
} store_consultation_flags;

/* One response of a run with its annotation, as stored. */
typedef struct store_consultation_response {
    const char *response_id, *text;
    const char *position, *evidence_rich;   /* "" = none */
    const char *themes;          /* theme ids, e.g. "AD"; "" = none */
    int truncated, unprocessable;
    const char *reason;          /* why unprocessable; NULL = none */
} store_consultation_response;

typedef struct store_consultation_run {
    const char *collection;      /* required */
    const char *job_id;          /* NULL unless from a job (recorded on the run; never changes the job) */
    const char *source;          /* file name or "collection" */
    const char *source_sha256;   /* of the response file; NULL = none */
    const char *question;
    const char *prompt_version, *model_name, *model_sha256;   /* required */
    int max_themes;
    double started_at;           /* Unix time */
    const store_consultation_response *responses;   /* done runs: every response, annotated */
    size_t n_responses;          /* of the run's input (also when it failed) */
    const store_consultation_theme *themes;
    size_t n_themes;
    size_t n_unprocessable, n_truncated, n_candidates;
    store_consultation_flags flags;
    long calls, prompt_tokens, completion_tokens;
    const char *trace_json;      /* the steps taken; NULL = [] */
    const char *error;           /* NULL = done; else the run failed and only its row is written */
} store_consultation_run;

/* Write a run (never the job's status); *run_id (may be NULL) receives its id. */
int store_consultation_save(store *s, const store_consultation_run *run, long long *run_id, perr *err);

/* In ONE transaction: write a done run of job job_id (which must have a row,
 * store_job_start) and mark the job done. *run_id (may be NULL) receives
 * the run's id. A failed run is refused (write it with
 * store_consultation_save and fail the job). */
int store_job_done_consultation(store *s, const char *job_id, const store_consultation_run *run, long long *run_id,
                                perr *err);

/* The documents of a collection as responses (text = documents.text), in
 * the order they were added, each handed to add(ctx, id, text); id = the
 * newest job's metadata "response_id" for that document when present, else
 * the first 12 hex digits of its sha256. A non-zero add stops with its
 * error. (Empty collections and duplicate ids are the caller's to judge.) */
typedef int (*store_response_fn)(void *ctx, const char *id, const char *text, perr *err);
int store_consultation_responses(store *s, const char *collection, store_response_fn add, void *ctx, perr *err);

/* The report of run run_id (> 0) or, with run_id 0, of the collection's
 * newest run, as one JSON object (malloc'd; *json = NULL when there is no
 * such run):
 *   {"run_id", "collection", "status", "question", "source", "model",
 *    "prompt_version", "started_at", "finished_at", "error", "max_themes",
 *    "responses", "unprocessable", "truncated", "candidate_themes", "calls",
 *    "positions": {"AGREE": n, ...},
 *    "flags": {"minority_min_responses", "minority_min_share",
 *              "duplicate_label_overlap", "duplicate_response_overlap"} or null,
 *    "themes": [{"id", "label", "description", "position", "responses",
 *                "positions": {"AGREE", "DISAGREE", "UNCLEAR", "NONE"},
 *                "minority" (null: not assessed, a run stored before 0009),
 *                "near_duplicates": [{"id", "label_overlap", "response_overlap"}],
 *                "evidence": [response ids],
 *                "examples": [{"response_id", "excerpt", "position", "evidence_rich"}]}],
 *    "unprocessable_responses": [{"response_id", "reason"}]}
 * Examples: up to three per theme, evidence-rich first, then the longest
 * excerpt, then by response id (deterministic). Evidence: every response
 * mapped to the theme, shorter ids first, then by id (numeric ids in
 * numeric order). */
int store_consultation_report(store *s, const char *collection, long long run_id, char **json, perr *err);

#endif
