/* json_schema.c — compiling a JSON Schema document into the node tree that
 * the matcher and the validator walk (see json_schema.h for the subset).
 */
#include "engine/json/json_schema.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "engine/json/json_matcher.h"
#include "engine/json/json_schema_internal.h"

#define MAX_COMPILE_DEPTH 64
#define PATH_MAX_LEN 400

typedef struct compiler {
    json_schema *s;
    perr *err;
    char path[PATH_MAX_LEN];
    size_t path_len;
    const cJSON *active_refs[MAX_COMPILE_DEPTH];  /* $ref targets being compiled */
    int n_active_refs;
    int depth;          /* recursion of compile_schema */
    int nesting;        /* objects and arrays around the current node */
} compiler;

static const char *const ANNOTATIONS[] = {
    "title", "description", "$comment", "examples", "default", "$schema", "$id", "id",
    "definitions", "$defs", "readOnly", "writeOnly", "deprecated", NULL,
};

static const char *const KEYWORDS[] = {
    "type", "properties", "required", "additionalProperties", "items", "minItems",
    "maxItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "enum", "const", "anyOf", "oneOf", "$ref", NULL,
};

static int compile_schema(compiler *cc, const cJSON *sch, const js_node **out);

/* ---------------------------------------------------------------- helpers */

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static int fail(compiler *cc, const char *fmt, const char *arg)
{
    char msg[PERR_MSG_MAX];
    snprintf(msg, sizeof msg, fmt, arg ? arg : "");
    return perr_set(cc->err, "json schema %s: %s", cc->path_len ? cc->path : "#", msg);
}

/* Append "/seg" (with JSON-pointer escapes); returns the old length. */
static size_t path_push(compiler *cc, const char *seg)
{
    size_t old = cc->path_len;
    if (cc->path_len == 0)
        cc->path[cc->path_len++] = '#';
    if (cc->path_len + 1 < PATH_MAX_LEN)
        cc->path[cc->path_len++] = '/';
    for (const char *p = seg; *p && cc->path_len + 3 < PATH_MAX_LEN; p++) {
        if (*p == '/' || *p == '~') {
            cc->path[cc->path_len++] = '~';
            cc->path[cc->path_len++] = *p == '/' ? '1' : '0';
        } else {
            cc->path[cc->path_len++] = *p;
        }
    }
    cc->path[cc->path_len] = '\0';
    return old;
}

static void path_pop(compiler *cc, size_t old)
{
    cc->path_len = old;
    cc->path[old] = '\0';
}

static js_node *new_node(compiler *cc, js_kind kind)
{
    json_schema *s = cc->s;
    if (s->n_nodes == s->cap_nodes) {
        size_t cap = s->cap_nodes ? 2 * s->cap_nodes : 32;
        js_node **n = realloc(s->nodes, cap * sizeof *n);
        if (!n)
            return NULL;
        s->nodes = n;
        s->cap_nodes = cap;
    }
    js_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    s->nodes[s->n_nodes++] = n;
    return n;
}

static void first_add(js_node *n, unsigned char b) { n->first[b >> 3] |= (uint8_t)(1u << (b & 7)); }

/* A non-negative integer keyword value, or -1 when absent; -2 = invalid. */
static long count_keyword(const cJSON *sch, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sch, name);
    if (!v)
        return -1;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9 ||
        v->valuedouble != floor(v->valuedouble))
        return -2;
    return (long)v->valuedouble;
}

static int counts(compiler *cc, const cJSON *sch, const char *min_key, const char *max_key,
                  long *min, long *max)
{
    *min = count_keyword(sch, min_key);
    *max = count_keyword(sch, max_key);
    if (*min == -2)
        return fail(cc, "%s must be a non-negative integer", min_key);
    if (*max == -2)
        return fail(cc, "%s must be a non-negative integer", max_key);
    if (*min < 0)
        *min = 0;
    if (*max >= 0 && *max < *min)
        return fail(cc, "%s is larger than the maximum", min_key);
    return 0;
}

/* ---------------------------------------------------------------- literals */

static int lit_cmp(const void *a, const void *b)
{
    const js_literal *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, n);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* A literal node for n values (cJSON items owned elsewhere). */
static int make_literals(compiler *cc, const cJSON *const *values, int n, const js_node **out)
{
    if (n == 0)
        return fail(cc, "enum must list at least one value", NULL);
    js_node *node = new_node(cc, JS_LITERALS);
    if (!node || !(node->u.lit.lits = calloc((size_t)n, sizeof(js_literal))))
        return perr_set(cc->err, "out of memory compiling a json schema");
    js_literal *lits = node->u.lit.lits;
    for (int i = 0; i < n; i++) {
        char *text = cJSON_PrintUnformatted(values[i]);
        if (!text)
            return perr_set(cc->err, "out of memory compiling a json schema");
        lits[node->u.lit.n].text = text;
        lits[node->u.lit.n].len = strlen(text);
        lits[node->u.lit.n].value = values[i];
        node->u.lit.n++;
        if (!utf8_valid(text, strlen(text)))
            return fail(cc, "enum/const value is not valid UTF-8", NULL);
    }
    qsort(lits, (size_t)n, sizeof *lits, lit_cmp);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (kept && lit_cmp(&lits[kept - 1], &lits[i]) == 0) {
            cJSON_free(lits[i].text);
            continue;
        }
        lits[kept++] = lits[i];
    }
    node->u.lit.n = kept;
    node->min_len = SIZE_MAX;
    for (int i = 0; i < kept; i++) {
        first_add(node, (unsigned char)lits[i].text[0]);
        if (lits[i].len < node->min_len)
            node->min_len = lits[i].len;
    }
    *out = node;
    return 0;
}

static int compile_enum(compiler *cc, const cJSON *sch, const js_node **out)
{
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(sch, "enum");
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(sch, "const");
    if (en && cn)
        return fail(cc, "enum and const together are not supported", NULL);
    if (cn)
        return make_literals(cc, &cn, 1, out);
    if (!cJSON_IsArray(en))
        return fail(cc, "enum must be an array", NULL);
    int n = cJSON_GetArraySize(en);
    const cJSON **vals = malloc((size_t)(n ? n : 1) * sizeof *vals);
    if (!vals)
        return perr_set(cc->err, "out of memory compiling a json schema");
    int i = 0;
    for (const cJSON *v = en->child; v; v = v->next)
        vals[i++] = v;
    int rc = make_literals(cc, vals, n, out);
    free(vals);
    return rc;
}

/* true/false/null as literal values owned by the schema. */
static int owned_literals(compiler *cc, const char *type, const js_node **out)
{
    cJSON *v[2] = { NULL, NULL };
    int n = strcmp(type, "boolean") == 0 ? 2 : 1;
    if (n == 2) {
        v[0] = cJSON_CreateTrue();
        v[1] = cJSON_CreateFalse();
    } else {
        v[0] = cJSON_CreateNull();
    }
    for (int i = 0; i < n; i++) {
        if (!v[i] || !cJSON_AddItemToArray(cc->s->owned, v[i])) {
            cJSON_Delete(v[i]);
            if (i == 0)
                cJSON_Delete(v[1]);
            return perr_set(cc->err, "out of memory compiling a json schema");
        }
    }
    const cJSON *cv[2] = { v[0], v[1] };
    return make_literals(cc, cv, n, out);
}

/* ---------------------------------------------------------------- numbers */

static int64_t pow10i(int e)
{
    int64_t p = 1;
    while (e-- > 0)
        p *= 10;
    return p;
}

/* The double that JSON text for u * 10^-frac parses to (as strtod would). */
static double units_value(int64_t u, int frac)
{
    char buf[64];
    int64_t scale = pow10i(frac);
    uint64_t mag = u < 0 ? (uint64_t)0 - (uint64_t)u : (uint64_t)u;
    if (frac == 0)
        snprintf(buf, sizeof buf, "%s%llu", u < 0 ? "-" : "", (unsigned long long)mag);
    else
        snprintf(buf, sizeof buf, "%s%llu.%0*llu", u < 0 ? "-" : "",
                 (unsigned long long)(mag / (uint64_t)scale), frac,
                 (unsigned long long)(mag % (uint64_t)scale));
    return strtod(buf, NULL);
}

/* Smallest u in [lo_lim, hi_lim + 1] whose value is >= m (> m if excl). */
static int64_t lower_units(double m, int excl, int frac, int64_t lo_lim, int64_t hi_lim)
{
    long double x = (long double)m * (long double)pow10i(frac);
    if (x < (long double)lo_lim)
        return lo_lim;
    if (x > (long double)hi_lim)
        return hi_lim + 1;
    int64_t u = (int64_t)ceill(x);
    while (u > lo_lim && (excl ? units_value(u - 1, frac) > m : units_value(u - 1, frac) >= m))
        u--;
    while (u <= hi_lim && (excl ? units_value(u, frac) <= m : units_value(u, frac) < m))
        u++;
    return u;
}

/* Largest u in [lo_lim - 1, hi_lim] whose value is <= m (< m if excl). */
static int64_t upper_units(double m, int excl, int frac, int64_t lo_lim, int64_t hi_lim)
{
    long double x = (long double)m * (long double)pow10i(frac);
    if (x > (long double)hi_lim)
        return hi_lim;
    if (x < (long double)lo_lim)
        return lo_lim - 1;
    int64_t u = (int64_t)floorl(x);
    while (u < hi_lim && (excl ? units_value(u + 1, frac) < m : units_value(u + 1, frac) <= m))
        u++;
    while (u >= lo_lim && (excl ? units_value(u, frac) >= m : units_value(u, frac) > m))
        u--;
    return u;
}

/* One bound: "minimum"/"exclusiveMinimum" (number, or draft-4 boolean). */
static int read_bound(compiler *cc, const cJSON *sch, const char *key, const char *excl_key,
                      double *value, int *has, int *excl)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sch, key);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(sch, excl_key);
    *has = 0;
    *excl = 0;
    if (v && !cJSON_IsNumber(v))
        return fail(cc, "%s must be a number", key);
    if (v) {
        *has = 1;
        *value = v->valuedouble;
    }
    if (e && cJSON_IsBool(e)) {
        if (cJSON_IsTrue(e) && !v)
            return fail(cc, "boolean %s needs the plain bound too", excl_key);
        *excl = cJSON_IsTrue(e);
    } else if (e && cJSON_IsNumber(e)) {
        /* Both given: the tighter one wins (the exclusive one on a tie). */
        int tighter = !*has || (strcmp(key, "minimum") == 0 ? e->valuedouble >= *value
                                                             : e->valuedouble <= *value);
        if (tighter) {
            *has = 1;
            *excl = 1;
            *value = e->valuedouble;
        }
    } else if (e) {
        return fail(cc, "%s must be a number", excl_key);
    }
    return 0;
}

static int compile_number(compiler *cc, const cJSON *sch, int integer, const js_node **out)
{
    js_node *n = new_node(cc, JS_NUMBER);
    if (!n)
        return perr_set(cc->err, "out of memory compiling a json schema");
    n->u.num.integer = integer;
    n->u.num.frac = integer ? 0 : JS_NUM_FRAC;
    n->u.num.int_digits = integer ? JS_INT_DIGITS : JS_NUM_INT_DIGITS;
    int64_t lim = integer ? ((int64_t)1 << 53) - 1 : pow10i(JS_NUM_INT_DIGITS + JS_NUM_FRAC) - 1;
    if (read_bound(cc, sch, "minimum", "exclusiveMinimum", &n->u.num.min, &n->u.num.has_min,
                   &n->u.num.min_excl) != 0 ||
        read_bound(cc, sch, "maximum", "exclusiveMaximum", &n->u.num.max, &n->u.num.has_max,
                   &n->u.num.max_excl) != 0)
        return -1;
    int frac = n->u.num.frac;
    n->u.num.lo = n->u.num.has_min ? lower_units(n->u.num.min, n->u.num.min_excl, frac, -lim, lim)
                                   : -lim;
    n->u.num.hi = n->u.num.has_max ? upper_units(n->u.num.max, n->u.num.max_excl, frac, -lim, lim)
                                   : lim;
    if (n->u.num.lo > n->u.num.hi)
        return fail(cc, "no %s lies within the bounds", integer ? "integer" : "number");
    long best = json_matcher_number_start_cost(n, NULL);
    if (best < 0)
        return fail(cc, "no %s lies within the bounds", integer ? "integer" : "number");
    n->min_len = (size_t)best;
    for (int b = 0; b < 256; b++)
        if (json_matcher_number_start_cost(n, (const unsigned char[]){ (unsigned char)b }) >= 0)
            first_add(n, (unsigned char)b);
    *out = n;
    return 0;
}

/* ---------------------------------------------------------------- strings, arrays */

static int compile_string(compiler *cc, const cJSON *sch, const js_node **out)
{
    js_node *n = new_node(cc, JS_STRING);
    if (!n)
        return perr_set(cc->err, "out of memory compiling a json schema");
    if (counts(cc, sch, "minLength", "maxLength", &n->u.str.min_len, &n->u.str.max_len) != 0)
        return -1;
    n->min_len = 2 + (size_t)n->u.str.min_len;
    first_add(n, '"');
    *out = n;
    return 0;
}

static int compile_array(compiler *cc, const cJSON *sch, const js_node **out)
{
    js_node *n = new_node(cc, JS_ARRAY);
    if (!n)
        return perr_set(cc->err, "out of memory compiling a json schema");
    if (counts(cc, sch, "minItems", "maxItems", &n->u.arr.min_items, &n->u.arr.max_items) != 0)
        return -1;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(sch, "items");
    if (!items)
        return fail(cc, "an array needs \"items\"", NULL);
    if (cc->nesting >= JS_MAX_NESTING)
        return fail(cc, "objects and arrays nest too deeply", NULL);
    size_t old = path_push(cc, "items");
    cc->nesting++;
    int rc = compile_schema(cc, items, &n->u.arr.items);
    cc->nesting--;
    if (rc != 0)
        return -1;
    path_pop(cc, old);
    size_t m = (size_t)n->u.arr.min_items;
    n->min_len = 2 + m * n->u.arr.items->min_len + (m ? m - 1 : 0);
    first_add(n, '[');
    *out = n;
    return 0;
}

/* ---------------------------------------------------------------- objects */

static int find_prop(const js_node *n, const char *name)
{
    for (int i = 0; i < n->u.obj.n_props; i++)
        if (strcmp(n->u.obj.props[i].name, name) == 0)
            return i;
    return -1;
}

static int object_props(compiler *cc, const cJSON *props, js_node *n)
{
    int count = props ? cJSON_GetArraySize(props) : 0;
    if (count > JS_MAX_PROPS)
        return fail(cc, "more than 64 properties in one object", NULL);
    n->u.obj.props = calloc((size_t)count + 1, sizeof(js_prop));
    n->u.obj.req_after = calloc((size_t)count + 1, sizeof(size_t));
    if (!n->u.obj.props || !n->u.obj.req_after)
        return perr_set(cc->err, "out of memory compiling a json schema");
    for (const cJSON *p = props ? props->child : NULL; p; p = p->next) {
        if (find_prop(n, p->string) >= 0)
            return fail(cc, "property \"%s\" is listed twice", p->string);
        js_prop *pr = &n->u.obj.props[n->u.obj.n_props++];
        pr->name = p->string;
        cJSON *key = cJSON_CreateString(p->string);
        pr->key = key ? cJSON_PrintUnformatted(key) : NULL;
        cJSON_Delete(key);
        if (!pr->key)
            return perr_set(cc->err, "out of memory compiling a json schema");
        pr->key_len = strlen(pr->key);
        if (pr->key_len > JS_MAX_KEY)
            return fail(cc, "property name \"%.40s...\" is too long", p->string);
        if (!utf8_valid(pr->key, pr->key_len))
            return fail(cc, "property name is not valid UTF-8", NULL);
        size_t old = path_push(cc, "properties");
        path_push(cc, p->string);
        int rc = compile_schema(cc, p, &pr->value);
        if (rc != 0)
            return -1;
        path_pop(cc, old);
    }
    return 0;
}

static int object_required(compiler *cc, const cJSON *req, js_node *n)
{
    if (!req)
        return 0;
    if (!cJSON_IsArray(req))
        return fail(cc, "required must be an array of names", NULL);
    for (const cJSON *r = req->child; r; r = r->next) {
        if (!cJSON_IsString(r))
            return fail(cc, "required must be an array of names", NULL);
        int i = find_prop(n, r->valuestring);
        if (i < 0)
            return fail(cc, "required property \"%s\" is not in properties", r->valuestring);
        n->u.obj.props[i].required = 1;
    }
    return 0;
}

static int compile_object(compiler *cc, const cJSON *sch, const js_node **out)
{
    js_node *n = new_node(cc, JS_OBJECT);
    if (!n)
        return perr_set(cc->err, "out of memory compiling a json schema");
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(sch, "properties");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(sch, "additionalProperties");
    if (props && !cJSON_IsObject(props))
        return fail(cc, "properties must be an object", NULL);
    if (addl && !cJSON_IsBool(addl))
        return fail(cc, "additionalProperties must be true or false (schemas are not supported)",
                    NULL);
    if (cc->nesting >= JS_MAX_NESTING)
        return fail(cc, "objects and arrays nest too deeply", NULL);
    cc->nesting++;
    int rc = object_props(cc, props, n);
    cc->nesting--;
    if (rc != 0 || object_required(cc, cJSON_GetObjectItemCaseSensitive(sch, "required"), n) != 0)
        return -1;
    int np = n->u.obj.n_props;
    n->u.obj.req_after[np] = 0;
    for (int i = np - 1; i >= 0; i--) {
        const js_prop *p = &n->u.obj.props[i];
        n->u.obj.req_after[i] = n->u.obj.req_after[i + 1] +
                                (p->required ? 1 + p->key_len + 1 + p->value->min_len : 0);
    }
    /* The first required property has no comma before it. */
    n->min_len = 2 + (n->u.obj.req_after[0] ? n->u.obj.req_after[0] - 1 : 0);
    first_add(n, '{');
    *out = n;
    return 0;
}

/* ---------------------------------------------------------------- alternatives */

/* Alternatives: literal sets merge; the rest must begin with different bytes. */
static int combine(compiler *cc, const js_node **alts, int n, const js_node **out)
{
    const cJSON **vals = NULL;
    int n_vals = 0, n_other = 0, cap = 0;
    for (int i = 0; i < n; i++)
        if (alts[i]->kind == JS_LITERALS)
            cap += alts[i]->u.lit.n;
    vals = malloc((size_t)(cap ? cap : 1) * sizeof *vals);
    const js_node **other = malloc((size_t)(n + 1) * sizeof *other);
    js_node *any = new_node(cc, JS_ANY_OF);
    if (!vals || !other || !any) {
        free(vals);
        free(other);
        return perr_set(cc->err, "out of memory compiling a json schema");
    }
    for (int i = 0; i < n; i++) {
        if (alts[i]->kind == JS_LITERALS)
            for (int j = 0; j < alts[i]->u.lit.n; j++)
                vals[n_vals++] = alts[i]->u.lit.lits[j].value;
        else
            other[n_other++] = alts[i];
    }
    int rc = 0;
    if (n_vals)
        rc = make_literals(cc, vals, n_vals, &other[n_other++]);
    free(vals);
    any->u.any.alts = other;
    any->u.any.n = n_other;
    if (rc != 0)
        return -1;
    any->min_len = SIZE_MAX;
    for (int i = 0; i < n_other; i++) {
        for (int b = 0; b < 32; b++) {
            if (any->first[b] & other[i]->first[b])
                return fail(cc, "alternatives that can begin with the same character are "
                                "not supported (e.g. two objects, or integer and number)",
                            NULL);
            any->first[b] |= other[i]->first[b];
        }
        if (other[i]->min_len < any->min_len)
            any->min_len = other[i]->min_len;
    }
    *out = n_other == 1 ? other[0] : any;
    return 0;
}

/* anyOf / oneOf: each alternative compiled, anyOf nodes flattened. */
static int compile_alternatives(compiler *cc, const cJSON *list, const char *key,
                                const js_node **out)
{
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return fail(cc, "%s must be a non-empty array of schemas", key);
    int n = 0, cap = 0;
    const js_node **alts = NULL;
    int idx = 0, rc = 0;
    for (const cJSON *a = list->child; a && rc == 0; a = a->next, idx++) {
        char seg[32];
        snprintf(seg, sizeof seg, "%d", idx);
        size_t old = path_push(cc, key);
        path_push(cc, seg);
        const js_node *node;
        rc = compile_schema(cc, a, &node);
        if (rc != 0)
            break;
        path_pop(cc, old);
        int add = node->kind == JS_ANY_OF ? node->u.any.n : 1;
        if (n + add > cap) {
            cap = 2 * (n + add);
            const js_node **g = realloc(alts, (size_t)cap * sizeof *g);
            if (!g) {
                rc = perr_set(cc->err, "out of memory compiling a json schema");
                break;
            }
            alts = g;
        }
        if (node->kind == JS_ANY_OF)
            for (int i = 0; i < node->u.any.n; i++)
                alts[n++] = node->u.any.alts[i];
        else
            alts[n++] = node;
    }
    if (rc == 0)
        rc = combine(cc, alts, n, out);
    free(alts);
    return rc;
}

/* ---------------------------------------------------------------- types, $ref */

static int compile_type(compiler *cc, const cJSON *sch, const char *type, const js_node **out)
{
    if (strcmp(type, "object") == 0)
        return compile_object(cc, sch, out);
    if (strcmp(type, "array") == 0)
        return compile_array(cc, sch, out);
    if (strcmp(type, "string") == 0)
        return compile_string(cc, sch, out);
    if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0)
        return compile_number(cc, sch, type[0] == 'i', out);
    if (strcmp(type, "boolean") == 0 || strcmp(type, "null") == 0)
        return owned_literals(cc, type, out);
    return fail(cc, "unknown type \"%s\"", type);
}

static int compile_types(compiler *cc, const cJSON *sch, const cJSON *type, const js_node **out)
{
    if (cJSON_IsString(type))
        return compile_type(cc, sch, type->valuestring, out);
    if (!cJSON_IsArray(type) || cJSON_GetArraySize(type) == 0)
        return fail(cc, "type must be a name or a non-empty array of names", NULL);
    int n = cJSON_GetArraySize(type), i = 0;
    const js_node **alts = malloc((size_t)n * sizeof *alts);
    if (!alts)
        return perr_set(cc->err, "out of memory compiling a json schema");
    int rc = 0;
    for (const cJSON *t = type->child; t && rc == 0; t = t->next) {
        if (!cJSON_IsString(t))
            rc = fail(cc, "type must be a name or a non-empty array of names", NULL);
        else
            rc = compile_type(cc, sch, t->valuestring, &alts[i++]);
    }
    if (rc == 0)
        rc = combine(cc, alts, n, out);
    free(alts);
    return rc;
}

/* The target of a local JSON pointer ("#/definitions/a~1b"), or NULL. */
static const cJSON *resolve_pointer(const cJSON *doc, const char *ref)
{
    if (ref[0] != '#')
        return NULL;
    const cJSON *cur = doc;
    const char *p = ref + 1;
    while (*p == '/' && cur) {
        char seg[256];
        size_t n = 0;
        for (p++; *p && *p != '/'; p++) {
            char c = *p;
            if (c == '~' && (p[1] == '0' || p[1] == '1'))
                c = *++p == '0' ? '~' : '/';
            if (n + 1 >= sizeof seg)
                return NULL;
            seg[n++] = c;
        }
        seg[n] = '\0';
        if (cJSON_IsArray(cur)) {
            char *end;
            long i = strtol(seg, &end, 10);
            cur = (*seg && !*end && i >= 0 && i < 1000000) ? cJSON_GetArrayItem(cur, (int)i) : NULL;
        } else {
            cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, seg) : NULL;
        }
    }
    return *p ? NULL : cur;
}

static int compile_ref(compiler *cc, const cJSON *sch, const cJSON *ref, const js_node **out)
{
    for (const cJSON *k = sch->child; k; k = k->next)
        if (strcmp(k->string, "$ref") != 0 && !in_list(ANNOTATIONS, k->string))
            return fail(cc, "$ref next to \"%s\" is not supported", k->string);
    if (!cJSON_IsString(ref) || ref->valuestring[0] != '#')
        return fail(cc, "only local $ref (\"#/...\") is supported", NULL);
    const cJSON *target = resolve_pointer(cc->s->doc, ref->valuestring);
    if (!target)
        return fail(cc, "$ref \"%s\" points nowhere", ref->valuestring);
    for (int i = 0; i < cc->n_active_refs; i++)
        if (cc->active_refs[i] == target)
            return fail(cc, "recursive $ref \"%s\" is not supported", ref->valuestring);
    if (cc->n_active_refs == MAX_COMPILE_DEPTH)
        return fail(cc, "$ref chains too deep", NULL);
    cc->active_refs[cc->n_active_refs++] = target;
    char saved[PATH_MAX_LEN];
    size_t saved_len = cc->path_len;
    memcpy(saved, cc->path, saved_len + 1);
    snprintf(cc->path, sizeof cc->path, "%s", ref->valuestring);
    cc->path_len = strlen(cc->path);
    int rc = compile_schema(cc, target, out);
    if (rc == 0) {
        memcpy(cc->path, saved, saved_len + 1);
        cc->path_len = saved_len;
    }
    cc->n_active_refs--;
    return rc;
}

static int compile_dispatch(compiler *cc, const cJSON *sch, const js_node **out)
{
    for (const cJSON *k = sch->child; k; k = k->next)
        if (!in_list(ANNOTATIONS, k->string) && !in_list(KEYWORDS, k->string))
            return fail(cc, "unsupported keyword \"%s\"", k->string);
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(sch, "$ref");
    if (ref)
        return compile_ref(cc, sch, ref, out);
    if (cJSON_GetObjectItemCaseSensitive(sch, "enum") ||
        cJSON_GetObjectItemCaseSensitive(sch, "const"))
        return compile_enum(cc, sch, out);
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(sch, "anyOf");
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(sch, "oneOf");
    if (any || one) {
        if (any && one)
            return fail(cc, "anyOf and oneOf together are not supported", NULL);
        if (cJSON_GetObjectItemCaseSensitive(sch, "type"))
            return fail(cc, "type next to %s is not supported", any ? "anyOf" : "oneOf");
        return compile_alternatives(cc, any ? any : one, any ? "anyOf" : "oneOf", out);
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(sch, "type");
    if (type)
        return compile_types(cc, sch, type, out);
    if (cJSON_GetObjectItemCaseSensitive(sch, "properties"))
        return compile_object(cc, sch, out);
    if (cJSON_GetObjectItemCaseSensitive(sch, "items"))
        return compile_array(cc, sch, out);
    return fail(cc, "no \"type\" (or enum, const, anyOf, oneOf, $ref) given", NULL);
}

static int compile_schema(compiler *cc, const cJSON *sch, const js_node **out)
{
    if (!cJSON_IsObject(sch))
        return fail(cc, "a schema must be a JSON object", NULL);
    if (cc->depth >= MAX_COMPILE_DEPTH)
        return fail(cc, "the schema nests too deeply", NULL);
    cc->depth++;
    int rc = compile_dispatch(cc, sch, out);
    cc->depth--;
    return rc;
}

/* ---------------------------------------------------------------- public */

json_schema_options json_schema_default_options(void)
{
    return (json_schema_options){ .max_whitespace = 1 };
}

int json_schema_compile(json_schema **out, const char *text, size_t len,
                        const json_schema_options *opts, perr *err)
{
    *out = NULL;
    json_schema_options o = opts ? *opts : json_schema_default_options();
    if (o.max_whitespace < 0 || o.max_whitespace > 8)
        return perr_set(err, "json schema: max_whitespace %d out of range 0..8", o.max_whitespace);
    json_schema *s = calloc(1, sizeof *s);
    if (!s)
        return perr_set(err, "out of memory compiling a json schema");
    s->max_whitespace = o.max_whitespace;
    const char *end = NULL;
    s->doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!s->doc) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        json_schema_free(s);
        return perr_set(err, "json schema: not valid JSON (near byte %zu)", at);
    }
    s->owned = cJSON_CreateArray();
    if (!s->owned) {
        json_schema_free(s);
        return perr_set(err, "out of memory compiling a json schema");
    }
    compiler cc = { .s = s, .err = err };
    if (compile_schema(&cc, s->doc, &s->root) != 0) {
        json_schema_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

static void free_node(js_node *n)
{
    switch (n->kind) {
    case JS_OBJECT:
        for (int i = 0; i < n->u.obj.n_props; i++)
            cJSON_free(n->u.obj.props[i].key);
        free(n->u.obj.props);
        free(n->u.obj.req_after);
        break;
    case JS_LITERALS:
        for (int i = 0; i < n->u.lit.n; i++)
            cJSON_free(n->u.lit.lits[i].text);
        free(n->u.lit.lits);
        break;
    case JS_ANY_OF:
        free((void *)n->u.any.alts);
        break;
    default:
        break;
    }
    free(n);
}

void json_schema_free(json_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_nodes; i++)
        free_node(s->nodes[i]);
    free(s->nodes);
    cJSON_Delete(s->doc);
    cJSON_Delete(s->owned);
    free(s);
}

size_t json_schema_min_length(const json_schema *s)
{
    return s->root->min_len;
}
