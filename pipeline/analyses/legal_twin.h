/* legal_twin.h — legal_review's `twin` option: the document is reviewed
 * again as its counterfactual twin (twin_document.h: the parties' names
 * replaced, gendered words, titles, nationality and ethnicity terms
 * swapped), and the two reviews' findings are aligned (twin_align.h) so a
 * legal team sees which findings depend on who the parties are.
 *
 * Parties: the names given, each with its replacement; or, when none are
 * given, the parties the review itself named, as "Party A", "Party B"...
 * (a name's last word of 3 or more letters also stands for it: "Mr Smith"
 * for "John Smith"). Attribute pairs come from prompts/twin_attributes.json.
 *
 * The twin's findings are verified against the twin's text and reported in
 * the ORIGINAL's coordinates ("start"/"end" mapped back, "twin_start"/
 * "twin_end" kept, "original_quote" the original's words at that span).
 * The result gains
 *   "twin": {"parties": [{"name", "replacement"}], "substitutions": n,
 *            "by_class": [{"class": "party", "substitutions": n}, ...], "summary": the
 *            twin review's summary, "identity_sensitive": n, "same": n,
 *            "pairs": [twin_align's pairs]}
 * and each finding of the original "identity_sensitive": true|false.
 */
#ifndef PRECIS_LEGAL_TWIN_H
#define PRECIS_LEGAL_TWIN_H

#include <stddef.h>

#include "common/error.h"
#include "extractors/document.h"

typedef struct analysis_input analysis_input;
typedef struct analysis_output analysis_output;

typedef struct legal_twin_party {
    const char *name, *replacement;
} legal_twin_party;

typedef struct legal_twin_options {
    const char *attributes_json;          /* the text of prompts/twin_attributes.json */
    const legal_twin_party *parties;      /* NULL: the review's parties, as Party A, B... */
    size_t n_parties;
} legal_twin_options;

/* Review in's document's twin (in->twin set) and add the comparison to
 * out->output_json, the original's review; the twin's calls and tokens are
 * added to out's. 0, -1 (err) or LLM_CANCELLED. */
int legal_twin_add(const analysis_input *in, analysis_output *out, perr *err);

/* The comparison legal_twin_add makes (exposed for tests): twin_answer's
 * verified findings mapped to orig's coordinates through td, aligned with
 * answer's, answer's findings marked and answer["twin"] added; listed (the
 * parties as [{"name", "replacement"}]) becomes the answer's. */
typedef struct cJSON cJSON;
typedef struct twin_doc twin_doc;
int legal_twin_compare(cJSON *answer, cJSON *twin_answer, const twin_doc *td, const document *orig, cJSON *listed,
                       perr *err);

/* The document legal_review makes of a text-only input: its blank-line
 * separated blocks as paragraphs (legal_review.c); findings' offsets refer
 * to its full text. */
document *legal_document_of_text(const char *text);

#endif
