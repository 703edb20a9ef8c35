/* collection_digest.h — the "digest" analysis: what the documents added to a
 * collection in a time window are about, as themes that cite the documents,
 * built from each document's stored "summary" result.
 *
 * Output (a JSON object):
 *   {"title", "overview",
 *    "themes": [{"heading", "text", "documents": [document ids]}],
 *    "documents": [{"id", "title", "source", "cited", "summarized",
 *                   "unprocessable"?}]}
 * title/overview/themes are the model's answer, constrained to the prompt's
 * schema with the "documents" items replaced by an enum of the ids given to
 * that call (digest_call_schema), so every cited id is a real document of
 * the window. "documents" is added by the code and lists EVERY document of
 * the window — cited or not, with or without a summary — so nothing is
 * silently dropped.
 *
 * Steps (prompts/digest.json):
 *   "batch"    {{summaries}} {{collection}} {{period}}: a digest of some
 *              documents' summaries;
 *   "combine"  {{themes}} {{collection}} {{period}}: one digest from several
 *              partial digests.
 * When every summary fits one call (token-budgeted: context minus
 * max_tokens minus the prompt), "batch" runs once. Otherwise the summaries
 * are cut into batches, each digested, and the partial digests combined
 * group by group, level by level, until one remains (map-reduce). A batch
 * the model cannot answer validly is split in two; a single document that
 * still fails is marked "unprocessable" in "documents" and the trace. A
 * summary too long for a call on its own is cut to fit (trace: "truncated").
 * An empty window makes no model call: themes is [] and the trace says
 * "empty".
 * Every call uses the analysis_input's max_tokens and the file's sampling.
 */
#ifndef PRECIS_COLLECTION_DIGEST_H
#define PRECIS_COLLECTION_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pipeline/analyses/analysis.h"
#include "store/store_digest.h"

typedef struct digest_request {
    const char *collection;
    const char *period;    /* the window in words, e.g. "2026-01-01 00:00 to 2026-01-02 00:00 UTC" */
    const digest_source *docs;
    size_t n_docs;
} digest_request;

/* Levels of combining before giving up. */
#define DIGEST_MAX_LEVELS 8

/* Run the digest. On 0 out->output_json holds the object above. Returns 0,
 * -1 (err) or LLM_CANCELLED. */
int analysis_digest(const analysis_input *in, const digest_request *req, analysis_output *out, perr *err);

/* Load-time rule: steps "batch" ({{summaries}}) and "combine" ({{themes}}),
 * each with a schema that has themes[].documents (digest_call_schema). */
int analysis_digest_check(const prompt_spec *p, perr *err);

/* The step's schema with themes[].documents constrained to the given ids
 * (enum, 1..n items). malloc'd JSON text, NULL with err. */
char *digest_call_schema(const char *step_schema_json, const int64_t *ids, size_t n_ids, perr *err);

#endif
