/* json_schema_validate.c — checking a parsed JSON value against a compiled
 * schema (json_schema_validate in json_schema.h). Used to double-check
 * generated output and by callers that receive JSON from elsewhere.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"
#include "engine/json/json_matcher.h"
#include "engine/json/json_schema.h"
#include "engine/json/json_schema_internal.h"

#define VPATH_MAX 256

typedef struct validator {
    char path[VPATH_MAX];
    size_t len;
    perr *err;
} validator;

static int validate(validator *v, const js_node *n, const cJSON *value);

static int bad(validator *v, const char *what)
{
    return perr_set(v->err, "%s: %s", v->path, what);
}

static size_t push_key(validator *v, const char *key)
{
    size_t old = v->len;
    int w = snprintf(v->path + v->len, VPATH_MAX - v->len, ".%s", key);
    v->len = w > 0 && (size_t)w < VPATH_MAX - v->len ? v->len + (size_t)w : VPATH_MAX - 1;
    return old;
}

static size_t push_index(validator *v, int i)
{
    size_t old = v->len;
    int w = snprintf(v->path + v->len, VPATH_MAX - v->len, "[%d]", i);
    v->len = w > 0 && (size_t)w < VPATH_MAX - v->len ? v->len + (size_t)w : VPATH_MAX - 1;
    return old;
}

static void pop_path(validator *v, size_t old)
{
    v->len = old;
    v->path[old] = '\0';
}

/* Code points of valid UTF-8 text, or -1. */
static long code_points(const char *s)
{
    size_t len = strlen(s);
    return utf8_valid(s, len) ? (long)utf8_count(s, len) : -1;
}

static int validate_object(validator *v, const js_node *n, const cJSON *value)
{
    if (!cJSON_IsObject(value))
        return bad(v, "not an object");
    for (const cJSON *c = value->child; c; c = c->next) {
        for (const cJSON *d = value->child; d != c; d = d->next)
            if (strcmp(d->string, c->string) == 0)
                return bad(v, "a property appears twice");
        const js_prop *p = NULL;
        for (int i = 0; i < n->u.obj.n_props && !p; i++)
            if (strcmp(n->u.obj.props[i].name, c->string) == 0)
                p = &n->u.obj.props[i];
        size_t old = push_key(v, c->string);
        if (!p)
            return bad(v, "property not allowed by the schema");
        if (validate(v, p->value, c) != 0)
            return -1;
        pop_path(v, old);
    }
    for (int i = 0; i < n->u.obj.n_props; i++) {
        const js_prop *p = &n->u.obj.props[i];
        if (p->required && !cJSON_GetObjectItemCaseSensitive(value, p->name)) {
            push_key(v, p->name);
            return bad(v, "required property missing");
        }
    }
    return 0;
}

static int validate_array(validator *v, const js_node *n, const cJSON *value)
{
    if (!cJSON_IsArray(value))
        return bad(v, "not an array");
    int size = cJSON_GetArraySize(value), i = 0;
    if (size < n->u.arr.min_items)
        return bad(v, "fewer items than minItems");
    if (n->u.arr.max_items >= 0 && size > n->u.arr.max_items)
        return bad(v, "more items than maxItems");
    for (const cJSON *c = value->child; c; c = c->next, i++) {
        size_t old = push_index(v, i);
        if (validate(v, n->u.arr.items, c) != 0)
            return -1;
        pop_path(v, old);
    }
    return 0;
}

static int validate_string(validator *v, const js_node *n, const cJSON *value)
{
    if (!cJSON_IsString(value))
        return bad(v, "not a string");
    long len = code_points(value->valuestring);
    if (len < 0)
        return bad(v, "not valid UTF-8");
    if (len < n->u.str.min_len)
        return bad(v, "shorter than minLength");
    if (n->u.str.max_len >= 0 && len > n->u.str.max_len)
        return bad(v, "longer than maxLength");
    return 0;
}

static int validate_number(validator *v, const js_node *n, const cJSON *value)
{
    if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble))
        return bad(v, "not a number");
    double x = value->valuedouble;
    if (n->u.num.integer && x != floor(x))
        return bad(v, "not an integer");
    if (n->u.num.has_min && (n->u.num.min_excl ? !(x > n->u.num.min) : !(x >= n->u.num.min)))
        return bad(v, "below the minimum");
    if (n->u.num.has_max && (n->u.num.max_excl ? !(x < n->u.num.max) : !(x <= n->u.num.max)))
        return bad(v, "above the maximum");
    return 0;
}

static int validate(validator *v, const js_node *n, const cJSON *value)
{
    switch (n->kind) {
    case JS_OBJECT: return validate_object(v, n, value);
    case JS_ARRAY: return validate_array(v, n, value);
    case JS_STRING: return validate_string(v, n, value);
    case JS_NUMBER: return validate_number(v, n, value);
    case JS_LITERALS:
        for (int i = 0; i < n->u.lit.n; i++)
            if (cJSON_Compare(value, n->u.lit.lits[i].value, 1))
                return 0;
        return bad(v, "not one of the allowed values");
    case JS_ANY_OF:
        for (int i = 0; i < n->u.any.n; i++) {
            validator scratch = { .len = v->len, .err = NULL };
            memcpy(scratch.path, v->path, v->len + 1);
            if (validate(&scratch, n->u.any.alts[i], value) == 0)
                return 0;
        }
        return bad(v, "matches none of the alternatives");
    }
    return bad(v, "unknown schema node");
}

int json_schema_validate(const json_schema *s, const cJSON *value, perr *err)
{
    validator v = { .path = "$", .len = 1, .err = err };
    return validate(&v, s->root, value);
}

int json_schema_validate_text(const json_schema *s, const char *text, size_t len, perr *err)
{
    const char *end = NULL;
    cJSON *value = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!value)
        return perr_set(err, "not valid JSON (near byte %zu)",
                        end && end >= text ? (size_t)(end - text) : 0);
    /* Only whitespace may follow the value. */
    for (const char *p = end; p && p < text + len; p++)
        if (!strchr(" \t\r\n", *p) || *p == 0) {
            cJSON_Delete(value);
            return perr_set(err, "text after the JSON value (byte %zu)", (size_t)(p - text));
        }
    int rc = json_schema_validate(s, value, err);
    cJSON_Delete(value);
    return rc;
}
