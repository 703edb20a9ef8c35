/* digest_job.h — one digest of a collection and window, end to end: the
 * stored summaries of the documents added in the window -> the "digest"
 * analysis (collection_digest.h) -> HTML and Markdown
 * (collection_digest_render.h) -> a digests row (store_digest.h). Used by
 * `precis digest` and by the schedules of `precis serve`.
 */
#ifndef PRECIS_DIGEST_JOB_H
#define PRECIS_DIGEST_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

typedef struct digest_job {
    const char *collection;
    const char *schedule;          /* NULL: made by hand */
    const char *period_key;        /* NULL: "manual:<start>/<end>" (digest_manual_period_key) */
    int64_t window_start, window_end;   /* Unix seconds, [start, end) */
    llm_cancel_fn cancel;          /* may be NULL */
    void *cancel_ctx;
} digest_job;

typedef struct digest_outcome {
    int64_t digest_id;
    char period_key[128];
    char *output_json, *markdown, *html;
    size_t documents, summarized, cited, themes;
    int calls, batches, levels;
    long prompt_tokens, completion_tokens;
} digest_outcome;

/* Make and store the digest; 0, STORE_ERROR (err), STORE_TRANSIENT
 * (database away) or LLM_CANCELLED. out is cleared on failure. */
int digest_job_run(pipeline *p, store *s, const digest_job *job, digest_outcome *out, perr *err);
void digest_outcome_clear(digest_outcome *o);

/* "2026-01-02T03:04:05Z" (UTC) into buf (>= 21 bytes). */
void digest_format_time(int64_t t, char *buf, size_t cap);

/* The window in words for prompts and pages:
 * "2026-01-01 00:00 to 2026-01-02 00:00 UTC". */
void digest_period_text(int64_t start, int64_t end, char *buf, size_t cap);

/* "manual:<start>/<end>" with both times as digest_format_time. */
void digest_manual_period_key(int64_t start, int64_t end, char *buf, size_t cap);

#endif
