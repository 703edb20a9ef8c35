/* store_consultation.h — consultation runs in PostgreSQL (sql/0004_consultation.sql,
 * sql/0008_approved_themes.sql): writing a finished or failed run (with the
 * approved theme set it used, its unassigned responses and candidate new
 * themes), reading a collection's stored documents as responses, its
 * approved set and pending unassigned responses, and the report behind
 * `precis themes`.
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
    int unassigned;              /* approved set: no theme fits (kept with its text for candidates) */
    const char *reason;          /* why unprocessable; NULL = none */
} store_consultation_response;

/* The approved theme set a run used: an existing one, or a new one to write
 * with the run (`precis consult --themes FILE`). */
typedef struct store_approved_set {
    long long id;                /* > 0: an existing set; 0: write the fields below */
    const char *source, *source_sha256;   /* the theme file's name and SHA-256 */
    const char *question;        /* NULL = "" */
    const char *themes_json;     /* compact JSON array [{"id", "label", "description", "position"}] */
} store_approved_set;

/* A candidate new theme a run proposed, for review. */
typedef struct store_theme_candidate {
    const char *label, *description;
    const char *position;        /* "" = none */
} store_theme_candidate;

/* A pending unassigned response of an earlier run. */
typedef struct store_unassigned_key {
    long long run_id;
    const char *response_id;
} store_unassigned_key;

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
    const store_approved_set *approved;   /* NULL: the run found its own themes */
    size_t n_unassigned;
    /* Candidate new themes proposed from unassigned responses: from
     * `used` (pending ones of earlier runs of the set) and every unassigned
     * response of this run, which are all marked used by this run. */
    const store_theme_candidate *candidates;
    size_t n_theme_candidates;
    const store_unassigned_key *used;
    size_t n_used;
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

/* The newest approved theme set of a collection (id 0 when it has none;
 * question and themes_json malloc'd: free with store_approved_info_clear). */
typedef struct store_approved_info {
    long long id;
    char *question;
    char *themes_json;           /* [{"id", "label", "description", "position"}] */
} store_approved_info;
int store_consultation_approved(store *s, const char *collection, store_approved_info *out, perr *err);
void store_approved_info_clear(store_approved_info *info);

/* The pending unassigned responses of approved set set_id (not yet used by
 * a candidate step), oldest first, each handed to add; a non-zero add stops
 * with its error. */
typedef int (*store_unassigned_fn)(void *ctx, long long run_id, const char *response_id, const char *text, perr *err);
int store_consultation_unassigned(store *s, long long set_id, store_unassigned_fn add, void *ctx, perr *err);

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
 *    "unprocessable_responses": [{"response_id", "reason"}],
 *    "approved_set": null | {"id", "source", "sha256", "approved_at"},
 *    "unassigned", "unassigned_responses": [{"response_id", "excerpt"}],
 *    "pending_unassigned": n (of the run's set, not yet used for candidates),
 *    "theme_candidates": [{"id", "label", "description", "position",
 *                          "responses", "run_id", "created_at"}] (the set's, for review)}
 * Examples: up to three per theme, evidence-rich first, then the longest
 * excerpt, then by response id (deterministic). Evidence: every response
 * mapped to the theme, shorter ids first, then by id (numeric ids in
 * numeric order). */
int store_consultation_report(store *s, const char *collection, long long run_id, char **json, perr *err);

/* The rows behind the view of collection's newest approved theme set
 * across every done run mapped onto it (the first `consult --themes` and
 * each job after it), as one JSON object (malloc'd; *json = NULL when the
 * collection has no approved set):
 *   {"set": {"id", "source", "sha256", "question", "themes": [{"id",
 *    "label", "description", "position"}], "approved_at"},
 *    "runs", "first_run", "last_run", "calls", "started_at", "finished_at",
 *    "model", "prompt_version", "flags" (the newest run's thresholds) | null,
 *    "responses": [{"response_id", "position", "evidence_rich",
 *       "unprocessable", "reason", "truncated", "excerpt", "unassigned",
 *       "themes": "AD"}]  (each response's NEWEST annotation: a response
 *       sent again counts once, as last mapped),
 *    "pending_unassigned", "theme_candidates": [...] (as the report's)}
 * (store_consultation_set.c; the report itself is assembled, flags
 * included, by pipeline/consultation/consultation_set_report.h). */
int store_consultation_set_rows(store *s, const char *collection, char **json, perr *err);

#endif
