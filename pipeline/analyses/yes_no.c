/* yes_no.c — one Yes/No question asked of many short texts, batched (see yes_no.h). */
#include "pipeline/analyses/yes_no.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/llm/llm.h"
#include "pipeline/llm/structured.h"

#define YES_NO_GROUP_PER_SLOT 8

/* ---- the prompt's rule ------------------------------------------------------------ */

static int is_yes_no_enum(const cJSON *e)
{
    if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2)
        return 0;
    const char *a = cJSON_GetStringValue(cJSON_GetArrayItem(e, 0)), *b = cJSON_GetStringValue(cJSON_GetArrayItem(e, 1));
    return a && b && ((strcmp(a, "Yes") == 0 && strcmp(b, "No") == 0) || (strcmp(a, "No") == 0 && strcmp(b, "Yes") == 0));
}

static int requires_answer(const cJSON *schema)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(schema, "required"))
    if (cJSON_IsString(r) && strcmp(r->valuestring, "answer") == 0)
        return 1;
    return 0;
}

int analysis_yes_no_check(const prompt_spec *p, perr *err)
{
    if (prompt_require(p, "user", p->user, "document", err) != 0)
        return -1;
    char *probe = prompt_render(p->user, "item 1", "text");
    free(probe);
    if (!probe)
        return perr_set(err, "prompt \"%s\": \"user\" may use only {{document}} and {{title}}", p->name);
    cJSON *schema = p->schema_json ? cJSON_Parse(p->schema_json) : NULL;
    const cJSON *answer = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(schema, "properties"),
                                                           "answer");
    int ok = is_yes_no_enum(cJSON_GetObjectItemCaseSensitive(answer, "enum")) && requires_answer(schema);
    cJSON_Delete(schema);
    if (!ok)
        return perr_set(err, "prompt \"%s\" needs a \"schema\" whose required \"answer\" is {\"enum\": [\"Yes\", "
                             "\"No\"]}", p->name);
    return 0;
}

/* ---- asking ----------------------------------------------------------------------- */

/* The calls of texts[from..from+k), their user texts malloc'd. */
static int make_calls(const analysis_input *in, const char *const *texts, size_t from, size_t k,
                      structured_call *calls, perr *err)
{
    for (size_t j = 0; j < k; j++) {
        char title[32];
        snprintf(title, sizeof title, "item %zu", from + j + 1);
        char *user = prompt_render(in->prompt->user, title, texts[from + j]);
        if (!user) {
            while (j-- > 0)
                free((char *)calls[j].user);
            return perr_set(err, "rendering the prompt for item %zu: out of memory", from + j + 1);
        }
        calls[j] = (structured_call){.step = "answer", .system = in->prompt->system, .user = user,
                                     .schema_json = in->prompt->schema_json, .max_tokens = in->max_tokens,
                                     .sampling = &in->prompt->sampling};
    }
    return 0;
}

static void take_answer(int rc, const cJSON *answer, const perr *call_err, yes_no_result *r)
{
    const char *a = rc == 0 ? structured_string(answer, "answer") : "";
    *r = (yes_no_result){.answer = strcmp(a, "Yes") == 0 ? YES_NO_YES : strcmp(a, "No") == 0 ? YES_NO_NO : YES_NO_NONE};
    if (rc != 0)
        snprintf(r->error, sizeof r->error, "%s", call_err->msg);
    else if (r->answer == YES_NO_NONE)
        snprintf(r->error, sizeof r->error, "the answer is neither Yes nor No");
}

/* One group: texts[from..from+k) into results. */
static int ask_group(const analysis_input *in, const char *const *texts, size_t from, size_t k,
                     yes_no_result *results, analysis_output *out, perr *err)
{
    structured_call *calls = calloc(k, sizeof *calls);
    cJSON **answers = calloc(k, sizeof *answers);
    int *rcs = calloc(k, sizeof *rcs);
    perr *errs = calloc(k, sizeof *errs);
    int rc = calls && answers && rcs && errs ? make_calls(in, texts, from, k, calls, err)
                                             : perr_set(err, "out of memory");
    if (rc == 0) {
        rc = structured_run_many(in, out, calls, k, answers, NULL, rcs, errs, err);
        for (size_t j = 0; j < k; j++) {
            if (rc == 0)
                take_answer(rcs[j], answers[j], &errs[j], &results[from + j]);
            cJSON_Delete(answers[j]);
            free((char *)calls[j].user);
        }
    }
    free(calls);
    free(answers);
    free(rcs);
    free(errs);
    return rc;
}

int yes_no_ask(const analysis_input *in, const char *const *texts, size_t n, size_t group,
               yes_no_progress_fn progress, void *progress_ctx, yes_no_result *results, analysis_output *out,
               perr *err)
{
    if (group == 0)
        group = (size_t)llm_n_parallel(in->llm) * YES_NO_GROUP_PER_SLOT;
    for (size_t from = 0; from < n; from += group) {
        size_t k = n - from < group ? n - from : group;
        int rc = ask_group(in, texts, from, k, results, out, err);
        if (rc != 0)
            return rc;
        if (progress)
            progress(progress_ctx, from + k, n);
    }
    return 0;
}
