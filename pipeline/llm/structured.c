/* structured.c — a schema-constrained model call with a semantic check and
 * one corrective retry (see structured.h). */
#include "pipeline/llm/structured.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/json/json_schema.h"

/* The most of an error message quoted back to the model. */
#define STRUCTURED_ERROR_QUOTE 400

void structured_trace(analysis_output *out, const char *step, const char *outcome, const char *error,
                      cJSON *extra)
{
    if (!out->trace && !(out->trace = cJSON_CreateArray())) {
        cJSON_Delete(extra);
        return;
    }
    cJSON *rec = cJSON_CreateObject();
    if (!rec) {
        cJSON_Delete(extra);
        return;
    }
    cJSON_AddStringToObject(rec, "step", step ? step : "");
    cJSON_AddStringToObject(rec, "outcome", outcome);
    if (error)
        cJSON_AddStringToObject(rec, "error", error);
    while (extra && extra->child) {
        cJSON *item = cJSON_DetachItemViaPointer(extra, extra->child);
        cJSON_AddItemToObject(rec, item->string, item);
    }
    cJSON_Delete(extra);
    cJSON_AddItemToArray(out->trace, rec);
}

int structured_first_failure(const int *rcs, const perr *errs, size_t n, const char *what, perr *err)
{
    for (size_t i = 0; i < n; i++) {
        if (rcs[i] == 0)
            continue;
        perr_set(err, "%s", errs[i].msg);
        if (rcs[i] == STRUCTURED_TOO_LONG)
            perr_prefix(err, "the prompt came out longer than counted");
        return perr_prefix(err, "%s %zu of %zu", what, i + 1, n);
    }
    return 0;
}

int structured_prompt_tokens(const analysis_input *in, const char *system, const char *user, size_t *n,
                             perr *err)
{
    int32_t *ids = NULL;
    int rc = llm_chat_tokens(in->llm, system, user, &ids, n, err);
    free(ids);
    return rc;
}

static void record_attempt(analysis_output *out, const structured_call *c, int attempt, const char *outcome,
                           const char *error, const llm_reply *r)
{
    cJSON *extra = cJSON_CreateObject();
    if (extra) {
        cJSON_AddNumberToObject(extra, "attempt", attempt);
        if (c->items > 0)
            cJSON_AddNumberToObject(extra, "items", (double)c->items);
        cJSON_AddNumberToObject(extra, "prompt_tokens", r ? (double)r->prompt_tokens : 0);
        cJSON_AddNumberToObject(extra, "completion_tokens", r ? (double)r->completion_tokens : 0);
    }
    structured_trace(out, c->step, outcome, error, extra);
}

static void add_counts(analysis_output *out, const llm_reply *r)
{
    out->prompt_tokens += r->prompt_tokens;
    out->completion_tokens += r->completion_tokens;
    out->cached_tokens += r->cached_tokens;
    out->prompt_seconds += r->prompt_seconds;
    out->gen_seconds += r->gen_seconds;
    out->calls++;
    out->stop_reason = generate_stop_reason_name(r->reason);
}

/* The user text for a retry: the original, then the error quoted. */
static char *retry_user(const char *user, const char *error)
{
    static const char fmt[] = "%s\n\nYour previous answer was rejected: %.*s\nAnswer again, correcting this.";
    size_t len = strlen(user) + strlen(fmt) + STRUCTURED_ERROR_QUOTE + 1;
    char *text = malloc(len);
    if (text)
        snprintf(text, len, fmt, user, STRUCTURED_ERROR_QUOTE, error);
    return text;
}

/* Parse and check one answer: 0, or -1 with err (a rejection). */
static int judge(const structured_call *c, const json_schema *schema, const char *text, cJSON **answer, perr *err)
{
    if (!schema) {
        *answer = cJSON_CreateObject();
        if (!*answer || !cJSON_AddStringToObject(*answer, "text", text))
            return perr_set(err, "out of memory");
        return 0;
    }
    if (!(*answer = cJSON_Parse(text)))
        return perr_set(err, "the answer is not valid JSON");
    if (json_schema_validate(schema, *answer, err) != 0 || (c->check && c->check(*answer, c->check_ctx, err) != 0)) {
        cJSON_Delete(*answer);
        *answer = NULL;
        return -1;
    }
    return 0;
}

/* One round of attempts for the calls still open (state[i] == 1): tokens,
 * fit, generate together, judge. Afterwards state[i] is 0 (answered), 2
 * (rejected: errs[i] says why) or 3 (too long / failed for good). */
typedef struct round_ctx {
    const analysis_input *in;
    analysis_output *out;
    const structured_call *calls;
    json_schema **schemas;
    char **users;               /* the user text of this round, per call */
    int *state;
    int *rcs;
    perr *errs;
    cJSON **answers;
    char **raws;
    size_t n;
} round_ctx;

static int prepare(round_ctx *r, size_t i, int n_attempt, llm_chat_request *req, perr *err)
{
    const structured_call *c = &r->calls[i];
    int32_t *ids = NULL;
    size_t n = 0;
    if (llm_chat_tokens(r->in->llm, c->system, r->users[i], &ids, &n, err) != 0)
        return -1;
    if (n + (size_t)c->max_tokens > (size_t)llm_n_ctx(r->in->llm)) {
        free(ids);
        perr_set(&r->errs[i], "prompt of %zu tokens plus %d to generate does not fit the context of %d", n,
                 c->max_tokens, llm_n_ctx(r->in->llm));
        record_attempt(r->out, c, n_attempt, "too_long", r->errs[i].msg, NULL);
        r->state[i] = 3;
        r->rcs[i] = STRUCTURED_TOO_LONG;
        return 0;
    }
    *req = (llm_chat_request){.ids = ids, .n_ids = n, .max_tokens = c->max_tokens, .sampling = c->sampling,
                              .schema = r->schemas[i]};
    return 0;
}

static void conclude(round_ctx *r, size_t i, int n_attempt, llm_chat_request *req)
{
    const structured_call *c = &r->calls[i];
    if (req->status != 0) {
        perr_set(&r->errs[i], "%s", req->error);
        r->state[i] = 3;
        r->rcs[i] = -1;
        return;
    }
    add_counts(r->out, &req->reply);
    if (judge(c, r->schemas[i], req->reply.text, &r->answers[i], &r->errs[i]) != 0) {
        record_attempt(r->out, c, n_attempt, "rejected", r->errs[i].msg, &req->reply);
        r->state[i] = 2;
        r->rcs[i] = STRUCTURED_INVALID;
        return;
    }
    record_attempt(r->out, c, n_attempt, "ok", NULL, &req->reply);
    r->state[i] = 0;
    r->rcs[i] = 0;
    if (r->raws) {
        r->raws[i] = req->reply.text;
        req->reply.text = NULL;
    }
}

static int run_round(round_ctx *r, int n_attempt, perr *err)
{
    llm_chat_request *reqs = calloc(r->n ? r->n : 1, sizeof *reqs);
    size_t *which = calloc(r->n ? r->n : 1, sizeof *which);
    size_t k = 0;
    int rc = reqs && which ? 0 : perr_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        if (r->state[i] != 1)
            continue;
        reqs[k].ids = NULL;
        rc = prepare(r, i, n_attempt, &reqs[k], err);
        if (rc == 0 && reqs[k].ids)
            which[k++] = i;
    }
    if (rc == 0 && k > 0)
        rc = llm_chat_many(r->in->llm, reqs, k, r->in->cancel, r->in->cancel_ctx, err);
    for (size_t j = 0; j < k; j++) {
        if (rc == 0)
            conclude(r, which[j], n_attempt, &reqs[j]);
        free((int32_t *)reqs[j].ids);
        llm_reply_clear(&reqs[j].reply);
    }
    free(reqs);
    free(which);
    return rc;
}

/* Calls rejected in round 1 get round 2 with the error quoted. */
static int prepare_retries(round_ctx *r, perr *err)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->state[i] != 2)
            continue;
        if (!(r->users[i] = retry_user(r->calls[i].user, r->errs[i].msg)))
            return perr_set(err, "out of memory");
        r->state[i] = 1;
    }
    return 0;
}

static int compile_schemas(round_ctx *r, perr *err)
{
    for (size_t i = 0; i < r->n; i++) {
        const char *text = r->calls[i].schema_json;
        if (analysis_schema_compile(&r->schemas[i], text, err) != 0)
            return perr_prefix(err, "step %s: schema", r->calls[i].step);
    }
    return 0;
}

int structured_run_many(const analysis_input *in, analysis_output *out, const structured_call *calls, size_t n,
                        cJSON **answers, char **raws, int *rcs, perr *errs, perr *err)
{
    size_t m = n ? n : 1;
    round_ctx r = {.in = in, .out = out, .calls = calls, .n = n, .answers = answers, .raws = raws, .rcs = rcs,
                   .errs = errs, .schemas = calloc(m, sizeof(json_schema *)), .users = calloc(m, sizeof(char *)),
                   .state = calloc(m, sizeof(int))};
    int rc = r.schemas && r.users && r.state ? 0 : perr_set(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        answers[i] = NULL;
        if (raws)
            raws[i] = NULL;
        rcs[i] = -1;
        errs[i].msg[0] = '\0';
        if (r.state)
            r.state[i] = 1;
    }
    if (rc == 0)
        rc = compile_schemas(&r, err);
    /* Round 1: each call's own text; round 2: the rejected ones, error quoted. */
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!(r.users[i] = strdup(calls[i].user)))
            rc = perr_set(err, "out of memory");
    if (rc == 0)
        rc = run_round(&r, 1, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        free(r.users[i]);
        r.users[i] = NULL;
    }
    if (rc == 0)
        rc = prepare_retries(&r, err);
    if (rc == 0)
        rc = run_round(&r, 2, err);
    for (size_t i = 0; i < n; i++) {
        if (r.schemas)
            json_schema_free(r.schemas[i]);
        if (r.users)
            free(r.users[i]);
    }
    free(r.schemas);
    free(r.users);
    free(r.state);
    return rc;
}

int structured_run(const analysis_input *in, analysis_output *out, const structured_call *c, cJSON **answer,
                   char **raw, perr *err)
{
    int rc_call;
    perr call_err = {{0}};
    int rc = structured_run_many(in, out, c, 1, answer, raw ? raw : NULL, &rc_call, &call_err, err);
    if (rc != 0)
        return rc;
    if (rc_call != 0)
        perr_set(err, "%s", call_err.msg);
    return rc_call;
}
