/* consultation.h — the "consultation" analysis: themes across many responses
 * to one consultation question, in the manner of i.AI's themefinder.
 *
 * Steps (each a named step of prompts/consultation.json, every call
 * schema-constrained through pipeline/llm/structured.h and, for batches of
 * responses, the split-and-retry ladder of pipeline/consultation/ladder.h):
 *   1. sentiment  batches of responses -> per response a position (AGREE,
 *                 DISAGREE, UNCLEAR) and evidence_rich (YES, NO);
 *   2. themes     batches of responses -> candidate themes {label,
 *                 description, position};
 *   3. condense   candidate themes merged, in groups that fit the context,
 *                 round after round until at most max_themes remain;
 *   4. refine     short labels and one-sentence descriptions; ids A, B, C...
 *   5. mapping    batches of responses -> one to three theme ids each;
 * then, without the model, every theme counted by position and flagged
 * (minority, near duplicates: consultation_flags.h) — flagged, never removed.
 * With an approved theme set (consultation_options.approved: an analyst's
 * themes, pipeline/consultation/theme_set.h) steps 2-4 do not run: the
 * responses get their sentiment and are mapped to the set's themes, and the
 * mapping may answer "none" for a response no theme fits, which is then
 * UNASSIGNED (no theme, not unprocessable). consultation_propose turns
 * unassigned responses into candidate new themes for the analyst's review;
 * nothing here ever changes the approved set.
 *
 * Batch answers are JSON objects keyed by response id, built per batch with
 * every id of the batch required in order: the grammar itself guarantees
 * every id once and no other (a model cannot drop, repeat or invent one);
 * the semantic check verifies it again and the ladder splits a batch that
 * still fails, down to single responses marked unprocessable with the reason.
 * Batches are token-budgeted: the prompt, the responses and the longest
 * possible answer fit the context with room for a retry.
 *
 * A response too long for a batch of its own in some step is TRUNCATED for
 * that step (its first tokens, as many as fit), never dropped: it is
 * flagged `truncated` and the trace says where and by how much. An empty
 * response is unprocessable ("empty response"). At the end the integrity
 * check requires every response to have a position and at least one theme
 * (or, with an approved set, to be unassigned), or to be unprocessable with
 * a reason.
 */
#ifndef PRECIS_CONSULTATION_H
#define PRECIS_CONSULTATION_H

#include <stddef.h>

#include "common/error.h"
#include "pipeline/analyses/analysis.h"
#include "pipeline/consultation/responses.h"
#include "pipeline/consultation/theme_set.h"

#define CONSULTATION_MAX_THEMES 26     /* ids A..Z */
#define CONSULTATION_DEFAULT_MAX_THEMES 12
#define CONSULTATION_THEMES_PER_RESPONSE 3
#define CONSULTATION_LABEL_MAX 60      /* characters, candidate and condensed themes */
#define CONSULTATION_REFINED_LABEL_MAX 40
#define CONSULTATION_DESCRIPTION_MAX 200

/* Which themes are flagged for the analyst (pipeline/consultation/consultation_flags.h).
 * Flags never remove a theme. */
typedef struct consultation_flag_options {
    size_t minority_min_responses;      /* minority: fewer responses than this (default 5), */
    double minority_min_share;          /* or a smaller share of all responses (default 0.001) */
    double duplicate_label_overlap;     /* near duplicate: label word Jaccard >= this (default 0.6), */
    double duplicate_response_overlap;  /* or response-set Jaccard >= this (default 0.8); > 1: never */
} consultation_flag_options;

typedef struct consultation_options {
    int max_themes;              /* 1..CONSULTATION_MAX_THEMES; 0 = default */
    int batch_size;              /* most responses per call; 0 = 20 */
    const consultation_flag_options *flags;   /* NULL = consultation_flag_defaults() */
    const theme_set *approved;   /* NULL: find themes (steps 2-4); else map to these (max_themes unused) */
} consultation_options;

typedef struct consultation_annotation {
    const char *response_id;     /* points into the response set */
    char position[10];           /* "AGREE", "DISAGREE", "UNCLEAR"; "" = none */
    char evidence_rich[4];       /* "YES", "NO"; "" = none */
    char themes[CONSULTATION_MAX_THEMES + 1];  /* theme ids, e.g. "AD"; "" = none */
    int truncated;               /* cut to fit the context in some step */
    int unprocessable;
    int unassigned;              /* approved set: no theme of it fits (themes "") */
    char *reason;                /* why unprocessable ("step: reason; ..."), malloc'd */
} consultation_annotation;

/* Another theme that looks like the same theme (see consultation_flags.h). */
typedef struct consultation_duplicate {
    char id[2];                  /* the other theme */
    double label_overlap;        /* Jaccard of the labels' words */
    double response_overlap;     /* Jaccard of the two themes' response sets (0 when both are empty) */
} consultation_duplicate;

typedef struct consultation_theme {
    char id[2];                  /* "A".. */
    char *label, *description;
    char position[10];           /* the theme's stance; "" = none */
    size_t response_count;       /* responses mapped to it */
    /* Set by consultation_flag_themes: */
    size_t agree, disagree, unclear, no_position;   /* its responses by position */
    int minority;                /* few responses: flagged, never removed */
    consultation_duplicate duplicates[CONSULTATION_MAX_THEMES - 1];  /* near-duplicate themes */
    size_t n_duplicates;
} consultation_theme;

/* A candidate new theme proposed from unassigned responses, for review. */
typedef struct consultation_proposal {
    char *label, *description;
    char position[10];           /* "" = none */
} consultation_proposal;

typedef struct consultation_result {
    consultation_annotation *annotations;  /* one per response, input order */
    size_t n;
    consultation_theme *themes;
    size_t n_themes;
    size_t n_unprocessable, n_truncated, n_candidates;
    consultation_flag_options flags;   /* the thresholds the themes were flagged with */
    int approved;                /* the themes are an approved set's */
    size_t n_unassigned;         /* approved set: responses no theme fits */
    consultation_proposal *proposals;   /* consultation_propose's, for review */
    size_t n_proposals;
    analysis_output out;         /* tokens, times, calls and the trace */
} consultation_result;

/* Run the five steps over rs. in supplies the model, the consultation
 * prompt and the cancel hook (its schema, text and doc are not used).
 * Returns 0 (res filled, integrity checked), -1 (err) or LLM_CANCELLED;
 * on failure res->out.trace may still hold the steps taken (clear res). */
int consultation_run(const analysis_input *in, const char *question, const response_set *rs,
                     const consultation_options *opt, consultation_result *res, perr *err);

/* Candidate new themes from rs (responses that fit no theme of approved):
 * the themes and condense steps over them, at most
 * CONSULTATION_DEFAULT_MAX_THEMES, appended to res->proposals; the calls and
 * trace ("propose:themes", "propose:condense") go to res->out.
 * approved is only read. 0, -1 (err) or LLM_CANCELLED. */
int consultation_propose(const analysis_input *in, const char *question, const response_set *rs,
                         const theme_set *approved, consultation_result *res, perr *err);

/* Index of theme id in res->themes; -1 when absent. */
int consultation_theme_index(const consultation_result *res, char id);

/* Every response has a position and a theme (or is unassigned, with an
 * approved set), or is unprocessable with a reason. */
int consultation_integrity(const consultation_result *res, perr *err);

/* {"themes": [{"id", "label", "description", "position", "responses",
 *              "positions": {"AGREE", "DISAGREE", "UNCLEAR", "NONE"}, "minority",
 *              "near_duplicates": [{"id", "label_overlap", "response_overlap"}],
 *              "evidence": [response ids]}],
 *  "responses": [{"response_id", "position", "evidence_rich", "themes": [..],
 *  "truncated", "unprocessable", "reason"?, "unassigned"?}], "counts": {...}}
 * (malloc'd). With an approved set also "approved_themes": true,
 * counts.unassigned and, when proposed, "candidate_new_themes": [{"label",
 * "description", "position"}]; a full run's object has none of these. */
char *consultation_result_json(const consultation_result *res);

void consultation_result_clear(consultation_result *res);

/* Load-time rule for prompts/consultation.json: the five steps with their
 * placeholders. */
int analysis_consultation_check(const prompt_spec *p, perr *err);

#endif
