/* structured.c — a schema-constrained model call with a semantic check and
 * one corrective retry (see structured.h). */
#include "pipeline/structured.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/json_schema.h"

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

/* One attempt: tokens, fit, generate, judge. Returns 0, -1 (hard error),
 * LLM_CANCELLED, STRUCTURED_TOO_LONG or STRUCTURED_INVALID (err says why). */
static int attempt(const analysis_input *in, analysis_output *out, const structured_call *c,
                   const json_schema *schema, const char *user, int n_attempt, cJSON **answer, char **raw,
                   perr *err)
{
    int32_t *ids = NULL;
    size_t n = 0;
    if (llm_chat_tokens(in->llm, c->system, user, &ids, &n, err) != 0)
        return -1;
    if (n + (size_t)c->max_tokens > (size_t)llm_n_ctx(in->llm)) {
        free(ids);
        perr_set(err, "prompt of %zu tokens plus %d to generate does not fit the context of %d", n, c->max_tokens,
                 llm_n_ctx(in->llm));
        record_attempt(out, c, n_attempt, "too_long", err->msg, NULL);
        return STRUCTURED_TOO_LONG;
    }
    llm_reply r;
    int rc = llm_chat(in->llm, ids, n, c->max_tokens, c->sampling, schema, in->cancel, in->cancel_ctx, &r, err);
    free(ids);
    if (rc != 0)
        return rc;
    add_counts(out, &r);
    if (judge(c, schema, r.text, answer, err) != 0) {
        record_attempt(out, c, n_attempt, "rejected", err->msg, &r);
        llm_reply_clear(&r);
        return STRUCTURED_INVALID;
    }
    record_attempt(out, c, n_attempt, "ok", NULL, &r);
    if (raw) {
        *raw = r.text;
        r.text = NULL;
    }
    llm_reply_clear(&r);
    return 0;
}

int structured_run(const analysis_input *in, analysis_output *out, const structured_call *c, cJSON **answer,
                   char **raw, perr *err)
{
    *answer = NULL;
    if (raw)
        *raw = NULL;
    json_schema *schema = NULL;
    if (c->schema_json && json_schema_compile(&schema, c->schema_json, strlen(c->schema_json), NULL, err) != 0)
        return perr_prefix(err, "step %s: schema", c->step);
    int rc = attempt(in, out, c, schema, c->user, 1, answer, raw, err);
    if (rc == STRUCTURED_INVALID) {
        char *user = retry_user(c->user, err->msg);
        rc = user ? attempt(in, out, c, schema, user, 2, answer, raw, err) : perr_set(err, "out of memory");
        free(user);
    }
    json_schema_free(schema);
    return rc;
}
