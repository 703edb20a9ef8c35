/* prompt.h — analysis prompts: data files in prompts/, not C strings.
 *
 * A prompt file NAME.json is a JSON object:
 *   "name"        string, must equal NAME
 *   "description" string (optional, for people)
 *   "system"      string: the system message
 *   "user"        string: the user message template (required unless the
 *                 file has "steps")
 *   "combine"     string (optional): template that merges partial outputs
 *                 of a long document (map-reduce); the parts are joined
 *                 and take the place of {{document}}
 *   "schema"      object (optional): a JSON Schema (the subset of
 *                 engine/json/json_schema.h); the model's answer is then
 *                 constrained to a JSON value of that schema
 *   "max_tokens"  integer 1..32768: most tokens generated per call
 *   "temperature", "top_k", "top_p", "min_p", "repeat_penalty",
 *   "repeat_last_n", "seed"   sampling (optional; sampler defaults otherwise)
 *   "steps"       object (optional): named sub-prompts of a multi-step
 *                 analysis (consultation: sentiment, themes, condense, ...),
 *                 each {"user", "system"?, "schema"?, "max_tokens"?}; a step
 *                 without "system" or "max_tokens" takes the file's
 * Unknown keys are errors. Templates may use the placeholders {{document}}
 * {{title}} {{question}} {{responses}} {{themes}} {{summaries}}
 * {{collection}} {{period}}; any other {{...}} is an error at load time.
 * Which ones a template must contain is the analysis's rule (its
 * check_prompt, see analysis.h), and rendering fails on one the caller does
 * not provide. Substitution is one pass over the template, so document text
 * that contains "{{title}}" stays as is.
 * The prompt version is the SHA-256 of the file's bytes: editing a prompt
 * makes new result rows instead of overwriting the old ones.
 */
#ifndef PRECIS_PROMPT_H
#define PRECIS_PROMPT_H

#include <stddef.h>

#include "common/error.h"
#include "engine/sampler.h"

#define PROMPT_MAX_TOKENS_LIMIT 32768
#define PROMPT_FILE_MAX_BYTES (1u << 20)

typedef struct prompt_step {
    char *name;
    char *system;           /* the step's own, else a copy of the file's */
    char *user;
    char *schema_json;      /* compact JSON Schema text; NULL when none */
    int max_tokens;         /* the step's own, else the file's */
} prompt_step;

typedef struct prompt_spec {
    char *name;
    char *system;
    char *user;
    char *combine;          /* NULL when the file has none */
    char *schema_json;      /* compact JSON Schema text; NULL when none */
    int max_tokens;
    sampler_params sampling;
    prompt_step *steps;     /* in file order; NULL when the file has none */
    size_t n_steps;
    char version[65];       /* hex SHA-256 of the file */
} prompt_spec;

/* A placeholder's value for prompt_render_vars (name without braces). */
typedef struct prompt_var {
    const char *name;
    const char *value;      /* NULL renders as "" */
} prompt_var;

/* Parse a prompt from text (expected_name: NULL = any); version is the
 * SHA-256 of text. */
int prompt_parse(prompt_spec **out, const char *text, size_t len, const char *expected_name,
                 perr *err);

/* Load DIR/NAME.json. */
int prompt_load(prompt_spec **out, const char *dir, const char *name, perr *err);

void prompt_free(prompt_spec *p);

/* The named step, NULL when the file has none of that name. */
const prompt_step *prompt_find_step(const prompt_spec *p, const char *name);

/* 0 when tmpl (called tmpl_name in the message) exists and contains
 * {{placeholder}}; else -1 naming what is missing. For check_prompt. */
int prompt_require(const prompt_spec *p, const char *tmpl_name, const char *tmpl, const char *placeholder,
                   perr *err);

/* tmpl with every {{name}} replaced by its value in vars (malloc'd); NULL
 * with err when the template uses a placeholder vars lacks. */
char *prompt_render_vars(const char *tmpl, const prompt_var *vars, size_t n_vars, perr *err);

/* tmpl with {{title}} and {{document}} replaced (malloc'd; NULL when out of
 * memory or the template uses another placeholder). */
char *prompt_render(const char *tmpl, const char *title, const char *document);

/* The sampling settings and max_tokens as a compact JSON object (malloc'd). */
char *prompt_sampling_json(const prompt_spec *p);

/* Text a caller builds to fill a placeholder (a list of themes, a combine
 * call's parts): start zeroed, append with prompt_text_add, end with
 * prompt_text_finish. */
typedef struct prompt_text {
    char *s;
    size_t len, cap;
    int failed;        /* an append ran out of memory: the rest are ignored */
} prompt_text;

void prompt_text_add(prompt_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text (malloc'd; "" when nothing was added), or NULL (all freed) when an
 * append failed. */
char *prompt_text_finish(prompt_text *t);

#endif
