/* twin_align.h — the findings of a document's review and of its
 * counterfactual twin's (pipeline/analyses/twin.h) put side by side, so a
 * legal team sees which findings depend on who the parties are.
 *
 * Both arrays hold verified findings as legal_findings.h leaves them
 * ({"category", "quote", "severity", "verified", "start", "end", ...}),
 * the twin's with "start"/"end" already mapped back to the ORIGINAL
 * document's code points (twin_span_to_original) and its own wording kept
 * in "quote".
 *
 * Two findings are the same finding when they have the same category and
 *   - both quotes were found and their spans in the original overlap
 *     (the largest overlap wins), or else
 *   - their quotes are equal with whitespace runs collapsed and case
 *     ignored (covers unverified quotes that hold no swapped term).
 * Each finding pairs at most once, in document order of the original's.
 * A pair whose severities differ is "severity_changed"; a finding without
 * a partner is "only_original" or "only_twin". Every pair that is not
 * "same" is identity-sensitive.
 */
#ifndef PRECIS_TWIN_ALIGN_H
#define PRECIS_TWIN_ALIGN_H

#include "common/error.h"

typedef struct cJSON cJSON;

/* {"identity_sensitive": n, "same": n, "pairs": [{"status": "same" |
 *  "severity_changed" | "only_original" | "only_twin", "category",
 *  "original": finding | null, "twin": finding | null}]} — findings copied;
 * pairs of the original's findings in their order, then the twin's
 * unpaired. NULL with err when an argument is not an array. */
cJSON *twin_align(const cJSON *original, const cJSON *twin, perr *err);

#endif
