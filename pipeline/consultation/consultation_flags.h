/* consultation_flags.h — nothing dropped: what the analyst needs to judge
 * each theme of a run, computed from the run's themes and its mapping
 * alone (pure functions, no model):
 *
 *   counts by position  how many of the theme's responses are AGREE,
 *                       DISAGREE, UNCLEAR, or have no position (a response
 *                       whose sentiment step failed may still be mapped);
 *   minority            fewer than minority_min_responses responses, or a
 *                       share of all the run's responses (unprocessable ones
 *                       included) below minority_min_share — flagged, never
 *                       removed (themefinder's defaults: 5 and 0.1 %);
 *   near duplicates     another theme whose label shares most words (Jaccard
 *                       of the labels' word sets >= duplicate_label_overlap)
 *                       or whose responses are mostly the same (Jaccard of
 *                       the two response sets >= duplicate_response_overlap);
 *                       each of the two names the other;
 *   evidence            the ids of the responses mapped to the theme.
 *
 * Label words: ASCII letters and digits lowercased (other bytes, e.g. UTF-8,
 * kept as they are), split at anything else; a few function words (a, an,
 * and, for, in, of, on, or, the, to, with) dropped; a final "s" dropped from
 * words of four or more letters not ending in "ss" (concerns = concern).
 * Two labels without words, or two themes without responses, never match
 * on that measure.
 */
#ifndef PRECIS_CONSULTATION_FLAGS_H
#define PRECIS_CONSULTATION_FLAGS_H

#include <cjson/cJSON.h>

#include "pipeline/consultation/consultation.h"

#define CONSULTATION_MINORITY_MIN_RESPONSES 5
#define CONSULTATION_MINORITY_MIN_SHARE 0.001
#define CONSULTATION_DUPLICATE_LABEL_OVERLAP 0.6
#define CONSULTATION_DUPLICATE_RESPONSE_OVERLAP 0.8

consultation_flag_options consultation_flag_defaults(void);

/* Jaccard of the word sets of two labels (0 when neither has a word). */
double consultation_label_overlap(const char *a, const char *b);

/* Count, flag and link res's themes from res->annotations (response_count
 * recounted too); opt NULL = defaults. Records the options in res->flags. */
void consultation_flag_themes(consultation_result *res, const consultation_flag_options *opt);

/* Add theme k's "positions", "minority", "near_duplicates" and "evidence"
 * (response ids in input order) to its JSON object to. */
void consultation_theme_flags_json(const consultation_result *res, size_t k, cJSON *to);

#endif
