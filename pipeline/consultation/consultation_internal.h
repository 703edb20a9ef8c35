/* consultation_internal.h — what the consultation_*.c files share: the run's
 * state, the token-budgeted batch step over responses, and small helpers. */
#ifndef PRECIS_CONSULTATION_INTERNAL_H
#define PRECIS_CONSULTATION_INTERNAL_H

#include <stddef.h>

#include "pipeline/consultation/consultation.h"
#include "pipeline/consultation/ladder.h"
#include "pipeline/llm/structured.h"

/* Tokens kept free in every call for the retry's quoted error. */
#define CONSULT_RETRY_RESERVE 200

typedef struct cand_theme {
    char *label, *description;
    char position[10];
} cand_theme;

typedef struct theme_list {
    cand_theme *items;
    size_t n, cap;
} theme_list;

typedef struct consult_ctx {
    const analysis_input *in;
    const char *question;
    const response_set *rs;
    consultation_result *res;
    int max_themes, batch_size;
    int proposing;               /* consultation_propose: steps traced as "propose:themes", "propose:condense" */
    theme_list candidates;       /* themes step, then condensed in place */
} consult_ctx;

typedef struct batch_step batch_step;

/* A batch's answer schema (malloc'd JSON text). */
typedef char *(*batch_schema_fn)(batch_step *bs, const ladder_item *items, size_t n, perr *err);
/* The schema of one response's answer, for answers keyed by response id. */
typedef cJSON *(*batch_item_schema_fn)(batch_step *bs);
/* Keep what a batch's accepted answer says; 0 or -1 (err). */
typedef int (*batch_accept_fn)(batch_step *bs, const ladder_item *items, size_t n, const cJSON *answer, perr *err);

/* One step over the responses: budgets the batches, truncates a response
 * too long for a batch of its own, and runs the batches through the ladder
 * in rounds, every batch of a round in one structured_run_many (the model
 * answers [engine] parallel batches at once). */
struct batch_step {
    consult_ctx *cx;
    const char *name;            /* prompt step and trace name */
    const prompt_step *ps;
    const char *themes_text;     /* {{themes}}; NULL when the step has none */
    size_t answer_bytes_per_item;/* per response, plus its id's length (keyed answers) */
    size_t answer_base;          /* tokens of answer beyond the per-response part */
    batch_schema_fn schema_for;  /* the whole answer's schema, or: */
    batch_item_schema_fn item_schema;  /* answers keyed by response id (checked: every id once) */
    batch_accept_fn accept;
    ladder_give_up_fn give_up;
    /* filled by batch_step_run */
    ladder_item *items;          /* the non-empty responses, input order */
    size_t *index;               /* items[i] is response index[i] */
    size_t n;
};

int batch_step_run(batch_step *bs, perr *err);

/* The response index of an item of bs->items. */
size_t batch_index(const batch_step *bs, const ladder_item *item);

/* The most answer tokens for a batch of items. */
int batch_max_tokens(const batch_step *bs, const ladder_item *items, size_t n);

/* The step's user text for items (malloc'd). */
char *batch_render_user(const batch_step *bs, const ladder_item *items, size_t n, perr *err);

/* A schema {"type": "object", "properties": {id: item, ...}, "required":
 * [ids], "additionalProperties": false} for a batch (malloc'd text). */
char *batch_keyed_schema(const ladder_item *items, size_t n, const cJSON *item_schema, perr *err);

/* structured_check_fn for keyed answers; ctx is a batch_check. */
typedef struct batch_check {
    const ladder_item *items;
    size_t n;
} batch_check;
int batch_check_keys(const cJSON *answer, void *ctx, perr *err);

/* ladder_give_up_fn for batch steps: the response is marked unprocessable. */
int batch_give_up(void *ctx, const ladder_item *item, const char *reason, perr *err);

/* Mark response i unprocessable, adding "step: reason" to its reasons. */
int consult_unprocessable(consult_ctx *cx, size_t i, const char *step, const char *reason, perr *err);

/* Steps. */
int consult_sentiment(consult_ctx *cx, perr *err);
int consult_generate_themes(consult_ctx *cx, perr *err);
int consult_condense(consult_ctx *cx, perr *err);
int consult_refine(consult_ctx *cx, perr *err);
int consult_mapping(consult_ctx *cx, perr *err);
/* The schema of one response's mapping answer: one to three of res's theme
 * ids; with an approved set (res->approved) also "none" (malloc'd). */
cJSON *consult_mapping_item_schema(const consultation_result *res);

/* Theme lists. */
int theme_list_add(theme_list *l, const char *label, const char *description, const char *position);
void theme_list_clear(theme_list *l);
/* "- label: description (position)" lines of l->items[from..to) (malloc'd). */
char *theme_list_render(const theme_list *l, size_t from, size_t to);

#endif
