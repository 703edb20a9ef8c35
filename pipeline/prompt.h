/* prompt.h — analysis prompts: data files in prompts/, not C strings.
 *
 * A prompt file NAME.json is a JSON object:
 *   "name"        string, must equal NAME
 *   "description" string (optional, for people)
 *   "system"      string: the system message
 *   "user"        string: the user message template
 *   "combine"     string (optional): template that merges partial outputs
 *                 of a long document (map-reduce); the parts are joined
 *                 and take the place of {{document}}
 *   "schema"      object (optional): a JSON Schema (the subset of
 *                 engine/json_schema.h); the model's answer is then
 *                 constrained to a JSON value of that schema
 *   "max_tokens"  integer 1..32768: most tokens generated per call
 *   "temperature", "top_k", "top_p", "min_p", "repeat_penalty",
 *   "repeat_last_n", "seed"   sampling (optional; sampler defaults otherwise)
 * Unknown keys are errors. Templates may use {{document}} and {{title}};
 * any other {{...}} is an error at load time. Substitution is one pass over
 * the template, so document text that contains "{{title}}" stays as is.
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

typedef struct prompt_spec {
    char *name;
    char *system;
    char *user;
    char *combine;          /* NULL when the file has none */
    char *schema_json;      /* compact JSON Schema text; NULL when none */
    int max_tokens;
    sampler_params sampling;
    char version[65];       /* hex SHA-256 of the file */
} prompt_spec;

/* Parse a prompt from text (expected_name: NULL = any); version is the
 * SHA-256 of text. */
int prompt_parse(prompt_spec **out, const char *text, size_t len, const char *expected_name,
                 perr *err);

/* Load DIR/NAME.json. */
int prompt_load(prompt_spec **out, const char *dir, const char *name, perr *err);

void prompt_free(prompt_spec *p);

/* tmpl with {{title}} and {{document}} replaced (malloc'd). */
char *prompt_render(const char *tmpl, const char *title, const char *document);

/* The sampling settings and max_tokens as a compact JSON object (malloc'd). */
char *prompt_sampling_json(const prompt_spec *p);

#endif
