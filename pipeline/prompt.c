/* prompt.c — loading, validating and rendering prompt files (see prompt.h). */
#include "pipeline/prompt.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/digest.h"

static const char *const placeholders[] = {"{{document}}", "{{title}}", NULL};

/* Index into placeholders of the one starting at s, or -1. */
static int placeholder_at(const char *s)
{
    for (int i = 0; placeholders[i]; i++)
        if (strncmp(s, placeholders[i], strlen(placeholders[i])) == 0)
            return i;
    return -1;
}

static int check_template(const char *field, const char *tmpl, perr *err)
{
    for (const char *p = strstr(tmpl, "{{"); p; p = strstr(p + 2, "{{")) {
        if (placeholder_at(p) < 0)
            return perr_set(err, "\"%s\": unknown placeholder at \"%.20s\" (use {{document}} or {{title}})",
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
                                        "repeat_last_n", "seed", NULL};
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

static int parse_fields(const cJSON *root, prompt_spec *p, const char *expected_name, perr *err)
{
    if (!cJSON_IsObject(root))
        return perr_set(err, "a prompt file must hold a JSON object");
    char *description = NULL;
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
        rc = take_string(root, "user", 1, &p->user, err);
    if (rc == 0)
        rc = take_string(root, "combine", 0, &p->combine, err);
    if (rc == 0 && !strstr(p->user, "{{document}}"))
        rc = perr_set(err, "\"user\" must contain {{document}}");
    if (rc == 0 && p->combine && !strstr(p->combine, "{{document}}"))
        rc = perr_set(err, "\"combine\" must contain {{document}}");
    if (rc == 0)
        rc = check_template("system", p->system, err);
    if (rc == 0)
        rc = check_template("user", p->user, err);
    if (rc == 0 && p->combine)
        rc = check_template("combine", p->combine, err);
    if (rc == 0)
        rc = take_schema(root, p, err);
    if (rc == 0)
        rc = take_sampling(root, p, err);
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
    digest_sha256_hex(text, len, p->version);
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
    free(p);
}

char *prompt_render(const char *tmpl, const char *title, const char *document)
{
    const char *values[] = {document ? document : "", title ? title : ""};
    size_t cap = strlen(tmpl) + strlen(values[0]) + strlen(values[1]) * 4 + 1;
    /* Titles may appear several times; grow when needed. */
    char *out = malloc(cap);
    size_t n = 0;
    for (const char *s = tmpl; out && *s;) {
        int k = s[0] == '{' && s[1] == '{' ? placeholder_at(s) : -1;
        const char *piece = k >= 0 ? values[k] : s;
        size_t len = k >= 0 ? strlen(values[k]) : 1;
        if (n + len + 1 > cap) {
            cap = (n + len + 1) * 2;
            char *grown = realloc(out, cap);
            if (!grown)
                free(out);
            out = grown;
            if (!out)
                break;
        }
        memcpy(out + n, piece, len);
        n += len;
        s += k >= 0 ? strlen(placeholders[k]) : 1;
    }
    if (out)
        out[n] = '\0';
    return out;
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
