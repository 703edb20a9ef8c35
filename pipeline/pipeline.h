/* pipeline.h — the analysing half of a job: document bytes -> SHA-256 ->
 * sandboxed extraction -> each requested analysis through the model, into a
 * report the job runner (pipeline/job_run.h) stores.
 *
 * A pipeline owns ONE model (pipeline/llm/llm.h), loaded by pipeline_new and
 * shared by every job it processes. pipeline_analyze is thread-safe: many
 * jobs run at once (serve's and run's workers), their model calls sharing
 * the model's batch; pipeline_reload_prompts, pipeline_set_limits and pipeline_set_ocr only
 * while no job runs. The prompts of every known analysis are loaded at start, so
 * a missing or broken prompt file stops the daemon instead of failing jobs.
 *
 * Return values of pipeline_analyze:
 *   0                the job is analysed (the job runner stores it)
 *   PIPELINE_PERMANENT  (= STORE_ERROR) the job can never succeed: invalid
 *                    or unknown analysis, unreadable path, broken or
 *                    unsupported document, no text, engine error; the
 *                    report's error_class says which (see below)
 *   PIPELINE_TRANSIENT  (= STORE_TRANSIENT) retry later: the job was
 *                    cancelled (shutdown, job_timeout), or the extraction
 *                    server is gone (class "extract")
 * Error classes: "unknown_analysis", "document" (cannot load), "extract"
 * (extraction failed: broken, encrypted, unsupported, limits), "empty_document"
 * (no text), "invalid_job" (bad consultation options), "engine" (model error).
 */
#ifndef PRECIS_PIPELINE_H
#define PRECIS_PIPELINE_H

#include <stddef.h>

#include "common/error.h"
#include "extractors/document.h"
#include "extractors/extract_server.h"
#include "extractors/sandbox.h"
#include "pipeline/analyses/analysis.h"
#include "pipeline/consultation/consultation_job.h"
#include "pipeline/job.h"
#include "pipeline/llm/llm.h"
#include "store/store.h"

enum { PIPELINE_PERMANENT = STORE_ERROR, PIPELINE_TRANSIENT = STORE_TRANSIENT };

#define PIPELINE_MAX_ANALYSES JOB_ANALYSES_MAX

/* OCR of PDF pages without a text layer ([pipeline] ocr, ocr_languages,
 * ocr_dpi; extract.h's extract_options): mode an extract_ocr_mode,
 * languages "" = "eng", dpi 0 = 300. */
typedef struct pipeline_ocr {
    int mode;
    char languages[EXTRACT_OCR_LANGUAGES_MAX + 1];
    int dpi;
} pipeline_ocr;

typedef struct pipeline_options {
    llm_options model;           /* model path, context size, threads, chat template */
    const char *prompts_dir;     /* directory holding NAME.json prompt files (required) */
    const char *default_analyses;/* comma-separated, for jobs that name none; NULL = "summary" */
    const char *input_root;      /* for document paths; NULL refuses every path */
    sandbox_limits limits;       /* extraction limits (0 = defaults) */
    pipeline_ocr ocr;            /* OCR settings of every extraction (0 = defaults) */
    extract_server *extract_server; /* extract through it (not owned; it must outlive the
                                 * pipeline); NULL = sandbox_extract, a fork of this process */
    int max_tokens;              /* > 0: overrides every prompt's max_tokens (tests, demos) */
    int candidate_threshold;     /* consultation jobs with an approved set: unassigned responses
                                  * that trigger the candidate step; 0 = the default, < 0 = never */
} pipeline_options;

typedef struct pipeline pipeline;

/* Per-job hooks (all optional). */
typedef struct pipeline_hooks {
    llm_cancel_fn cancel;        /* non-zero: give up (the job becomes TRANSIENT) */
    void *cancel_ctx;
    /* A stage starts: "load", "extract", or an analysis name with its part
     * ("summary"); for progress displays. */
    void (*stage)(void *ctx, const char *stage);
    void *stage_ctx;
    /* A consultation job's collection as the job runner read it: its
     * approved theme set and pending unassigned responses (NULL or set_id
     * 0: none, a full run). */
    const consultation_approved *approved;
} pipeline_hooks;

/* One analysis's outcome, ready for store_job_done. */
typedef struct pipeline_result {
    const char *analysis;        /* points into the pipeline's tables */
    const char *prompt_name;
    const char *prompt_version;
    const char *model_name, *model_sha256;   /* the model's, valid while it is loaded */
    char *sampling_json, *output_json, *raw_text, *timings_json;
    char *trace_json;            /* steps taken (structured.h records); NULL = none */
    long prompt_tokens, completion_tokens;
    long long prompt_ms, completion_ms;
} pipeline_result;

/* Everything one job produced (or why it failed). */
typedef struct pipeline_report {
    char sha256[65];             /* of the document's bytes ("" before loading) */
    const char *source;          /* job_source() */
    document *doc;               /* extracted (NULL before extraction) */
    consultation_job_outcome *consultation;  /* a consultation job's run (instead of doc and results) */
    char *metadata_json, *structure_json;
    pipeline_result results[PIPELINE_MAX_ANALYSES];
    size_t n_results;
    double load_seconds, extract_seconds, analyze_seconds, store_seconds;
    long tokens_in, tokens_out;
    long tokens_cached;          /* of tokens_in, reused from the prompt-prefix cache */
    char error_class[32];        /* on failure */
} pipeline_report;

int pipeline_new(pipeline **out, const pipeline_options *opt, perr *err);
void pipeline_free(pipeline *p);

/* Re-read every prompt file (SIGHUP). All or nothing: on any error the
 * prompts in use stay as they were. Call between jobs, never during one. */
int pipeline_reload_prompts(pipeline *p, perr *err);
/* Replace the extraction limits used by the next job (SIGHUP). */
void pipeline_set_limits(pipeline *p, const sandbox_limits *limits);
const sandbox_limits *pipeline_limits(const pipeline *p);
/* Replace the OCR settings used by the next job (SIGHUP). */
void pipeline_set_ocr(pipeline *p, const pipeline_ocr *ocr);
const pipeline_ocr *pipeline_ocr_settings(const pipeline *p);
/* Version (SHA-256 of the prompt file) the analysis currently uses; NULL if unknown. */
const char *pipeline_prompt_version(const pipeline *p, const char *analysis);

const llm *pipeline_llm(const pipeline *p);

/* An analysis whose answers the model's context makes shorter than its
 * prompt asks (a prompt written for 4096 tokens on a 2048-token model):
 * what a long document's calls use instead, for a note at start-up. */
typedef struct pipeline_budget_note {
    const char *analysis;
    int max_tokens;              /* the prompt's (or the override) */
    int used;                    /* per call when the document needs map-reduce */
} pipeline_budget_note;

/* The i-th such analysis (from the prompts in use), 0; -1 past the end. */
int pipeline_budget_note_at(pipeline *p, size_t i, pipeline_budget_note *note, perr *err);

/* What a collection analysis (run outside jobs: "digest") needs from the
 * pipeline: the model, the analysis's current prompt and compiled schema,
 * max_tokens (the prompt's or the override); no cancel hook. Valid until
 * the next pipeline_reload_prompts. -1 when the analysis is unknown. */
int pipeline_analysis_input(pipeline *p, const char *analysis, analysis_input *in, perr *err);

/* Load, hash, extract and analyse a job, without storing anything: 0,
 * PIPELINE_PERMANENT or PIPELINE_TRANSIENT (cancelled). rep is filled either
 * way; clear it with pipeline_report_clear. A consultation job's response
 * file is analysed as one consultation run (rep->consultation; also a run
 * that failed in the model, to be stored as failed). The job runner
 * (pipeline/job_run.h) stores what this produced. */
int pipeline_analyze(pipeline *p, const job *j, const pipeline_hooks *hooks, pipeline_report *rep,
                     perr *err);

void pipeline_report_clear(pipeline_report *rep);

/* A successful report as one compact JSON object (malloc'd):
 * {"file": file (omitted when NULL), "source", "sha256", "title", "format",
 *  "media_type", "pages", "language", "model": {"name", "sha256"},
 *  "analyses": {NAME: output object, ...}}. */
char *pipeline_report_json(const pipeline *p, const pipeline_report *rep, const char *file);

#endif
