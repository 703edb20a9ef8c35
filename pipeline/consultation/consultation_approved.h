/* consultation_approved.h — a collection's approved theme set at work: what
 * a consultation job reads before it runs (the collection's newest approved
 * set and the unassigned responses still pending from earlier runs), and
 * the candidate step that proposes new themes from unassigned responses
 * once [consultation] candidate_threshold of them have accumulated.
 * Candidates are for an analyst's review: nothing here changes a set.
 */
#ifndef PRECIS_CONSULTATION_APPROVED_H
#define PRECIS_CONSULTATION_APPROVED_H

#include "pipeline/consultation/consultation.h"
#include "store/store_consultation.h"

/* Unassigned responses that trigger the candidate step by default. */
#define CONSULTATION_DEFAULT_CANDIDATE_THRESHOLD 20

typedef struct consultation_approved {
    long long set_id;            /* 0: the collection has no approved set */
    theme_set themes;
    char *question;              /* the question the set was approved with ("" = none) */
    response_set pending;        /* pending unassigned responses of earlier runs, ids "u1", "u2"... */
    store_unassigned_key *keys;  /* keys[i]: where pending.items[i] is stored (response_id malloc'd) */
} consultation_approved;

/* Read collection's newest approved set and its pending unassigned
 * responses into *out (set_id 0 when it has none). Return codes as
 * store.h; *out is empty on error. */
int consultation_approved_load(store *s, const char *collection, consultation_approved *out, perr *err);

void consultation_approved_clear(consultation_approved *a);

/* The candidate step when due: when threshold > 0 and the pending
 * responses (may be NULL) and res's unassigned ones (responses of rs)
 * together reach it, consultation_propose over all of them. *n_used receives how many of
 * pending were used (all of them when candidates were proposed, else 0).
 * A model failure of the step is recorded in res's trace and leaves the
 * responses pending (the run itself stands). 0, -1 (err) or LLM_CANCELLED. */
int consultation_propose_if_due(const analysis_input *in, const char *question, const theme_set *approved,
                                const consultation_approved *pending, const response_set *rs,
                                consultation_result *res, int threshold, size_t *n_used, perr *err);

#endif
