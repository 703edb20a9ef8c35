/* prompt.c — loading, validating and rendering prompt files (see prompt.h). */
#include "pipeline/llm/prompt.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/sha256.h"

/* Every placeholder a template may use; which ones an analysis fills in is
 * its own business (prompt_render_vars fails on one it was not given). */
static const char *const placeholder_names[] = {"document", "title",     "question", "responses", "themes",
                                                "summaries", "collection", "period",  NULL};

/* Length of the name in a "{{name}}" at s (0 if s is not a known placeholder). */
static size_t placeholder_at(const char *s, const char **name)
{
    if (s[0] != '{' || s[1] != '{')
        return 0;
    for (int i = 0; placeholder_names[i]; i++) {
        size_t k = strlen(placeholder_names[i]);
        if (strncmp(s + 2, placeholder_names[i], k) == 0 && s[2 + k] == '}' && s[3 + k] == '}') {
            *name = placeholder_names[i];
            return k;
        }
    }
    return 0;
}

static int check_template(const char *field, const char *tmpl, perr *err)
{
    for (const char *p = strstr(tmpl, "{{"); p; p = strstr(p + 2, "{{")) {
        const char *name;
        if (!placeholder_at(p, &name))
            return perr_set(err,
                            "\"%s\": unknown placeholder at \"%.20s\" (known: {{document}} {{title}} {{question}} "
                            "{{responses}} {{themes}} {{summaries}} {{collection}} {{period}})",
                            field, p);
    }
    return 0;
}

static int take_string(const cJSON *root, const char *key, int required, char **out, perr *err)
{
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return perr_set(err, "\"%s\" is required", key);
        return 0;
    }
    if (!cJSON_IsString(v))
        return perr_set(err, "\"%s\" must be a string", key);
    if (!(*out = strdup(v->valuestring)))
        return perr_set(err, "out of memory");
    return 0;
}

/* A number field within [lo, hi]; absent leaves *out unchanged. */
static int take_number(const cJSON *root, const char *key, double lo, double hi, int integral,
                       double *out, perr *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi ||
        (integral && v->valuedouble != floor(v->valuedouble)))
        return perr_set(err, "\"%s\" must be %s in [%g, %g]", key, integral ? "an integer" : "a number", lo, hi);
    *out = v->valuedouble;
    return 0;
}

static int check_keys(const cJSON *root, perr *err)
{
    static const char *const known[] = {"name", "description", "system", "user", "combine", "schema", "max_tokens",
                                        "temperature", "top_k", "top_p", "min_p", "repeat_penalty",
                                        "repeat_last_n", "seed", "steps", NULL};
    for (const cJSON *it = root->child; it; it = it->next) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], it->string) != 0)
            i++;
        if (!known[i])
            return perr_set(err, "unknown key \"%s\"", it->string);
    }
    return 0;
}

static int take_sampling(const cJSON *root, prompt_spec *p, perr *err)
{
    sampler_params *s = &p->sampling;
    double temp = s->temp, top_k = s->top_k, top_p = s->top_p, min_p = s->min_p;
    double penalty = s->repeat_penalty, last_n = s->repeat_last_n, seed = (double)s->seed;
    double max_tokens = 0;
    if (take_number(root, "max_tokens", 1, PROMPT_MAX_TOKENS_LIMIT, 1, &max_tokens, err) != 0 ||
        take_number(root, "temperature", 0, 100, 0, &temp, err) != 0 ||
        take_number(root, "top_k", 0, 1 << 20, 1, &top_k, err) != 0 ||
        take_number(root, "top_p", 0, 1, 0, &top_p, err) != 0 ||
        take_number(root, "min_p", 0, 1, 0, &min_p, err) != 0 ||
        take_number(root, "repeat_penalty", 0.001, 1000, 0, &penalty, err) != 0 ||
        take_number(root, "repeat_last_n", 0, 1 << 20, 1, &last_n, err) != 0 ||
        take_number(root, "seed", 0, 9007199254740991.0, 1, &seed, err) != 0)
        return -1;
    if (max_tokens < 1)
        return perr_set(err, "\"max_tokens\" is required");
    p->max_tokens = (int)max_tokens;
    *s = (sampler_params){.temp = (float)temp, .top_k = (int)top_k, .top_p = (float)top_p,
                          .min_p = (float)min_p, .repeat_penalty = (float)penalty,
                          .repeat_last_n = (int)last_n, .seed = (uint64_t)seed};
    return 0;
}

static int take_schema(const cJSON *root, prompt_spec *p, perr *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "schema");
    if (!v)
        return 0;
    if (!cJSON_IsObject(v))
        return perr_set(err, "\"schema\" must be a JSON Schema object");
    if (!(p->schema_json = cJSON_PrintUnformatted(v)))
        return perr_set(err, "out of memory");
    return 0;
}

static int check_step_keys(const cJSON *step, const char *name, perr *err)
{
    static const char *const known[] = {"system", "user", "schema", "max_tokens", NULL};
    for (const cJSON *it = step->child; it; it = it->next) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], it->string) != 0)
            i++;
        if (!known[i])
            return perr_set(err, "step \"%s\": unknown key \"%s\" (known: system, user, schema, max_tokens)", name,
                            it->string);
    }
    return 0;
}

static int parse_step(const cJSON *v, const prompt_spec *p, prompt_step *st, perr *err)
{
    if (!(st->name = strdup(v->string)))
        return perr_set(err, "out of memory");
    if (!cJSON_IsObject(v))
        return perr_set(err, "step \"%s\" must be an object", st->name);
    double max_tokens = p->max_tokens;
    int rc = check_step_keys(v, st->name, err);
    if (rc == 0)
        rc = take_string(v, "system", 0, &st->system, err);
    if (rc == 0 && !st->system && !(st->system = strdup(p->system)))
        rc = perr_set(err, "out of memory");
    if (rc == 0)
        rc = take_string(v, "user", 1, &st->user, err);
    if (rc == 0)
        rc = check_template("system", st->system, err);
    if (rc == 0)
        rc = check_template("user", st->user, err);
    if (rc == 0)
        rc = take_number(v, "max_tokens", 1, PROMPT_MAX_TOKENS_LIMIT, 1, &max_tokens, err);
    st->max_tokens = (int)max_tokens;
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(v, "schema");
    if (rc == 0 && schema && !cJSON_IsObject(schema))
        rc = perr_set(err, "\"schema\" must be a JSON Schema object");
    if (rc == 0 && schema && !(st->schema_json = cJSON_PrintUnformatted(schema)))
        rc = perr_set(err, "out of memory");
    return rc == 0 ? 0 : perr_prefix(err, "step \"%s\"", st->name);
}

static int take_steps(const cJSON *root, prompt_spec *p, perr *err)
{
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(root, "steps");
    if (!steps)
        return 0;
    if (!cJSON_IsObject(steps) || !steps->child)
        return perr_set(err, "\"steps\" must be a non-empty object of named steps");
    size_t n = (size_t)cJSON_GetArraySize(steps);
    if (!(p->steps = calloc(n, sizeof *p->steps)))
        return perr_set(err, "out of memory");
    for (const cJSON *v = steps->child; v; v = v->next) {
        if (prompt_find_step(p, v->string))
            return perr_set(err, "step \"%s\" appears twice", v->string);
        if (parse_step(v, p, &p->steps[p->n_steps++], err) != 0)
            return -1;
    }
    return 0;
}

static int parse_fields(const cJSON *root, prompt_spec *p, const char *expected_name, perr *err)
{
    if (!cJSON_IsObject(root))
        return perr_set(err, "a prompt file must hold a JSON object");
    char *description = NULL;
    int has_steps = cJSON_GetObjectItemCaseSensitive(root, "steps") != NULL;
    int rc = check_keys(root, err);
    if (rc == 0)
        rc = take_string(root, "name", 1, &p->name, err);
    if (rc == 0 && expected_name && strcmp(p->name, expected_name) != 0)
        rc = perr_set(err, "\"name\" is \"%s\" but the file is for \"%s\"", p->name, expected_name);
    if (rc == 0)
        rc = take_string(root, "description", 0, &description, err);
    free(description);
    if (rc == 0)
        rc = take_string(root, "system", 1, &p->system, err);
    if (rc == 0)
        rc = take_string(root, "user", !has_steps, &p->user, err);
    if (rc == 0)
        rc = take_string(root, "combine", 0, &p->combine, err);
    if (rc == 0)
        rc = check_template("system", p->system, err);
    if (rc == 0 && p->user)
        rc = check_template("user", p->user, err);
    if (rc == 0 && p->combine)
        rc = check_template("combine", p->combine, err);
    if (rc == 0)
        rc = take_schema(root, p, err);
    if (rc == 0)
        rc = take_sampling(root, p, err);
    if (rc == 0)
        rc = take_steps(root, p, err);
    return rc;
}

int prompt_parse(prompt_spec **out, const char *text, size_t len, const char *expected_name, perr *err)
{
    *out = NULL;
    prompt_spec *p = calloc(1, sizeof *p);
    if (!p)
        return perr_set(err, "out of memory");
    p->sampling = sampler_default_params();
    cJSON *root = cJSON_ParseWithLength(text, len);
    int rc = root ? parse_fields(root, p, expected_name, err) : perr_set(err, "not valid JSON");
    cJSON_Delete(root);
    if (rc != 0) {
        prompt_free(p);
        return -1;
    }
    sha256_hex(text, len, p->version);
    *out = p;
    return 0;
}

static int read_prompt_file(const char *path, char **text, size_t *len, perr *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return perr_errno(err, "cannot open %s", path);
    char *buf = malloc(PROMPT_FILE_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, PROMPT_FILE_MAX_BYTES + 1, f) : 0;
    int failed = ferror(f);
    fclose(f);
    if (!buf)
        return perr_set(err, "out of memory");
    if (failed || n > PROMPT_FILE_MAX_BYTES) {
        free(buf);
        return perr_set(err, "%s: %s", path, failed ? "read error" : "larger than 1 MiB");
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int prompt_load(prompt_spec **out, const char *dir, const char *name, perr *err)
{
    *out = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.json", dir, name) >= sizeof path)
        return perr_set(err, "prompt path too long");
    char *text = NULL;
    size_t len = 0;
    if (read_prompt_file(path, &text, &len, err) != 0)
        return -1;
    int rc = prompt_parse(out, text, len, name, err);
    free(text);
    return rc == 0 ? 0 : perr_prefix(err, "prompt %s", path);
}

void prompt_free(prompt_spec *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->system);
    free(p->user);
    free(p->combine);
    free(p->schema_json);
    for (size_t i = 0; i < p->n_steps; i++) {
        free(p->steps[i].name);
        free(p->steps[i].system);
        free(p->steps[i].user);
        free(p->steps[i].schema_json);
    }
    free(p->steps);
    free(p);
}

const prompt_step *prompt_find_step(const prompt_spec *p, const char *name)
{
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps[i].name && strcmp(p->steps[i].name, name) == 0)
            return &p->steps[i];
    return NULL;
}

int prompt_require(const prompt_spec *p, const char *tmpl_name, const char *tmpl, const char *placeholder,
                   perr *err)
{
    char needle[64];
    snprintf(needle, sizeof needle, "{{%s}}", placeholder);
    if (!tmpl)
        return perr_set(err, "prompt \"%s\" needs a \"%s\" template", p->name, tmpl_name);
    if (!strstr(tmpl, needle))
        return perr_set(err, "prompt \"%s\": \"%s\" must contain %s", p->name, tmpl_name, needle);
    return 0;
}

/* Append len bytes to a growing buffer; -1 when out of memory (then freed). */
static int buf_append(char **buf, size_t *n, size_t *cap, const char *piece, size_t len)
{
    if (*n + len + 1 > *cap) {
        size_t want = (*n + len + 1) * 2;
        char *grown = realloc(*buf, want);
        if (!grown) {
            free(*buf);
            *buf = NULL;
            return -1;
        }
        *buf = grown;
        *cap = want;
    }
    memcpy(*buf + *n, piece, len);
    *n += len;
    (*buf)[*n] = '\0';
    return 0;
}

static const char *var_value(const prompt_var *vars, size_t n_vars, const char *name)
{
    for (size_t i = 0; i < n_vars; i++)
        if (strcmp(vars[i].name, name) == 0)
            return vars[i].value ? vars[i].value : "";
    return NULL;
}

char *prompt_render_vars(const char *tmpl, const prompt_var *vars, size_t n_vars, perr *err)
{
    size_t cap = strlen(tmpl) + 1, n = 0;
    for (size_t i = 0; i < n_vars; i++)
        cap += vars[i].value ? strlen(vars[i].value) : 0;
    char *out = malloc(cap);
    if (!out) {
        perr_set(err, "out of memory");
        return NULL;
    }
    out[0] = '\0';
    for (const char *s = tmpl; *s;) {
        const char *name;
        size_t k = placeholder_at(s, &name);
        const char *value = k ? var_value(vars, n_vars, name) : NULL;
        if (k && !value) {
            free(out);
            perr_set(err, "the template uses {{%s}}, which this step does not provide", name);
            return NULL;
        }
        const char *piece = k ? value : s;
        size_t len = k ? strlen(value) : 1;
        if (buf_append(&out, &n, &cap, piece, len) != 0) {
            perr_set(err, "out of memory");
            return NULL;
        }
        s += k ? k + 4 : 1;
    }
    return out;
}

char *prompt_render(const char *tmpl, const char *title, const char *document)
{
    prompt_var vars[] = {{"document", document}, {"title", title}};
    perr err;
    return prompt_render_vars(tmpl, vars, 2, &err);
}

/* A float as the short decimal a person wrote (0.95, not 0.949999988). */
static double short_decimal(float f)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%g", f);
    return strtod(buf, NULL);
}

char *prompt_sampling_json(const prompt_spec *p)
{
    const sampler_params *s = &p->sampling;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "max_tokens", p->max_tokens);
    cJSON_AddNumberToObject(o, "temperature", short_decimal(s->temp));
    cJSON_AddNumberToObject(o, "top_k", s->top_k);
    cJSON_AddNumberToObject(o, "top_p", short_decimal(s->top_p));
    cJSON_AddNumberToObject(o, "min_p", short_decimal(s->min_p));
    cJSON_AddNumberToObject(o, "repeat_penalty", short_decimal(s->repeat_penalty));
    cJSON_AddNumberToObject(o, "repeat_last_n", s->repeat_last_n);
    cJSON_AddNumberToObject(o, "seed", (double)s->seed);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* ---- text for placeholders --------------------------------------------------------- */

void prompt_text_add(prompt_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = t->failed ? -1 : vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *grown = k >= 0 ? grow_to(t->s, &t->cap, t->len + (size_t)k + 1, 1, 256) : NULL;
    if (!grown) {
        t->failed = 1;
        return;
    }
    t->s = grown;
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)k + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)k;
}

char *prompt_text_finish(prompt_text *t)
{
    if (!t->failed && !t->s)
        t->s = strdup("");
    if (t->failed || !t->s) {
        free(t->s);
        return NULL;
    }
    return t->s;
}
