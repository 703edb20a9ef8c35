/* test_prompts.c — the shipped prompt files as data: every analysis's file
 * loads with its own rules, and every template in it (user, combine, each
 * step) renders and goes through every chat template the engine knows
 * (llama2, llama3, chatml, zephyr) with the real Llama 2 vocabulary,
 * leaving room in Llama-2-7B-chat's 4096-token context for the answer
 * (max_tokens) and at least 1000 tokens of document text. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/analyses/analysis.h"
#include "pipeline/llm/llm.h"
#include "tests/support.h"

#define TARGET_CTX 4096
#define MIN_TEXT_TOKENS 1000

static const char *const templates[] = {"llama2", "llama3", "chatml", "zephyr"};

static void check_fits(llm *m, const char *file, const char *what, const char *system, const char *user,
                       int max_tokens, const char *tmpl)
{
    static const prompt_var vars[] = {{"document", ""}, {"title", "T"}, {"question", ""}, {"responses", ""},
                                      {"themes", ""}, {"summaries", ""}, {"collection", "c"}, {"period", "p"}};
    perr err;
    char *text = prompt_render_vars(user, vars, sizeof vars / sizeof vars[0], &err);
    cr_assert(text, "%s %s: %s", file, what, err.msg);
    int32_t *ids;
    size_t n;
    cr_assert_eq(llm_chat_tokens(m, system, text, &ids, &n, &err), 0, "%s %s (%s): %s", file, what, tmpl, err.msg);
    cr_assert_gt(n, 10);
    long room = TARGET_CTX - (long)n - max_tokens;
    cr_assert_geq(room, MIN_TEXT_TOKENS,
                  "%s %s through %s: %zu prompt tokens + %d to generate leave %ld of %d for the text", file, what,
                  tmpl, n, max_tokens, room, TARGET_CTX);
    free(ids);
    free(text);
}

Test(prompts, every_shipped_prompt_renders_through_every_chat_template, .timeout = 300)
{
    char *path = test_model_path("llama-2-tiny-random.gguf");
    size_t checked = 0;
    for (size_t t = 0; t < sizeof templates / sizeof templates[0]; t++) {
        llm_options o = {.model_path = path, .n_ctx = 64, .n_threads = 1, .chat_template = templates[t]};
        llm *m;
        perr err;
        cr_assert_eq(llm_open(&m, &o, &err), 0, "%s", err.msg);
        for (size_t i = 0; analysis_at(i); i++) {
            const analysis_def *def = analysis_at(i);
            prompt_spec *p;
            cr_assert_eq(analysis_load_prompt(def, "prompts", &p, &err), 0, "%s", err.msg);
            if (p->user)
                check_fits(m, def->prompt, "user", p->system, p->user, p->max_tokens, templates[t]);
            if (p->combine)
                check_fits(m, def->prompt, "combine", p->system, p->combine, p->max_tokens, templates[t]);
            for (size_t s = 0; s < p->n_steps; s++)
                check_fits(m, def->prompt, p->steps[s].name, p->steps[s].system, p->steps[s].user,
                           p->steps[s].max_tokens, templates[t]);
            checked += (p->user != NULL) + (p->combine != NULL) + p->n_steps;
            prompt_free(p);
        }
        llm_free(m);
    }
    cr_assert_geq(checked, 8, "the shipped prompts have at least two templates per template kind");
    free(path);
}
