/* job.c — parse and validate a job message (see job.h for the contract). */
#include "pipeline/job.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

#define JOB_PASSWORD_MAX 1024

/* ---- small validators --------------------------------------------------- */

static int has_control_chars(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* A "\u0000" escape (preceded by an odd number of backslashes) would become
 * a NUL inside a C string and silently cut it. */
static int has_escaped_nul(const char *json, size_t len)
{
    for (size_t i = 1; i + 5 <= len; i++) {
        if (memcmp(json + i, "u0000", 5) != 0)
            continue;
        size_t slashes = 0;
        while (slashes < i && json[i - 1 - slashes] == '\\')
            slashes++;
        if (slashes % 2 == 1)
            return 1;
    }
    return 0;
}

static int valid_analysis_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > JOB_ANALYSIS_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static int is_null(const cJSON *item) { return !item || cJSON_IsNull(item); }

/* A string field: present and a string, 1..max bytes, optionally without
 * control characters. Sets *out to a copy. */
static int take_string(const cJSON *item, const char *field, size_t max, int plain, char **out, perr *err)
{
    if (!cJSON_IsString(item))
        return perr_set(err, "%s must be a string", field);
    const char *s = item->valuestring;
    size_t n = strlen(s);
    if (n == 0)
        return perr_set(err, "%s is empty", field);
    if (n > max)
        return perr_set(err, "%s is longer than %zu bytes", field, max);
    if (plain && has_control_chars(s))
        return perr_set(err, "%s contains control characters", field);
    *out = strdup(s);
    return *out ? 0 : perr_set(err, "out of memory");
}

/* Every key of obj must be one of allowed[] and appear once. */
static int check_keys(const cJSON *obj, const char *where, const char *const *allowed, perr *err)
{
    for (const cJSON *a = obj->child; a; a = a->next) {
        int known = 0;
        for (size_t i = 0; allowed[i]; i++)
            known |= strcmp(a->string, allowed[i]) == 0;
        if (!known)
            return perr_set(err, "%s: unknown key \"%s\"", where, a->string);
        for (const cJSON *b = a->next; b; b = b->next)
            if (strcmp(a->string, b->string) == 0)
                return perr_set(err, "%s: key \"%s\" appears twice", where, a->string);
    }
    return 0;
}

/* ---- duplicate keys at any depth -------------------------------------------- */

static int compare_keys(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* A key of obj that appears twice (sorted, so an object of many keys costs
 * n log n), or NULL. */
static const char *repeated_key(const cJSON *obj, perr *err, int *oom)
{
    size_t n = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        n++;
    if (n < 2)
        return NULL;
    const cJSON **keys = malloc(n * sizeof *keys);
    if (!keys) {
        *oom = perr_set(err, "out of memory");
        return NULL;
    }
    n = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        keys[n++] = c;
    qsort(keys, n, sizeof *keys, compare_keys);
    const char *found = NULL;
    for (size_t i = 1; i < n && !found; i++)
        if (strcmp(keys[i - 1]->string, keys[i]->string) == 0)
            found = keys[i]->string;
    free(keys);
    return found;
}

/* Reject a key that appears twice in any object inside item, naming its
 * path ("metadata.a.list[2].b"); path holds item's own path. */
static int check_no_repeated_keys(const cJSON *item, char *path, size_t cap, perr *err)
{
    if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
        return 0;
    int oom = 0;
    const char *dup = cJSON_IsObject(item) ? repeated_key(item, err, &oom) : NULL;
    if (oom)
        return -1;
    if (dup)
        return perr_set(err, "%s: key \"%.64s\" appears twice", path, dup);
    size_t len = strlen(path), index = 0;
    for (const cJSON *c = item->child; c; c = c->next, index++) {
        if (cJSON_IsObject(item))
            snprintf(path + len, cap - len, ".%.64s", c->string);
        else
            snprintf(path + len, cap - len, "[%zu]", index);
        if (check_no_repeated_keys(c, path, cap, err) != 0)
            return -1;
    }
    path[len] = '\0';
    return 0;
}

/* ---- base64 (standard alphabet, padded, CR/LF ignored) ------------------- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Validate first (so the error names the problem), then decode. */
static int base64_decode(const char *in, unsigned char **out, size_t *out_len, perr *err)
{
    size_t n = 0, pad = 0;
    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
        } else if (b64_value(c) < 0) {
            return perr_set(err, "document.content_base64: invalid base64 character at offset %zu", (size_t)(p - in));
        } else if (pad) {
            return perr_set(err, "document.content_base64: data after '=' padding");
        }
        n++;
    }
    if (n == 0)
        return perr_set(err, "document.content_base64 is empty");
    if (n % 4 != 0 || pad > 2)
        return perr_set(err, "document.content_base64: length is not a multiple of 4 (missing or extra padding)");
    size_t decoded = n / 4 * 3 - pad;
    if (decoded > JOB_DOCUMENT_MAX_BYTES)
        return perr_set(err, "document.content_base64: decoded size %zu exceeds the limit of %u bytes", decoded, JOB_DOCUMENT_MAX_BYTES);
    unsigned char *buf = malloc(decoded + 1);
    if (!buf)
        return perr_set(err, "out of memory");
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    for (const char *p = in; *p; p++) {
        int v = b64_value((unsigned char)*p);
        if (v < 0)
            continue;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return 0;
}

/* ---- sections of the job ------------------------------------------------ */

static int parse_analyses(const cJSON *item, job *j, perr *err)
{
    if (is_null(item))
        return 0;
    if (!cJSON_IsArray(item))
        return perr_set(err, "analyses must be an array of names");
    int count = cJSON_GetArraySize(item);
    if (count > JOB_ANALYSES_MAX)
        return perr_set(err, "analyses has %d names (at most %d)", count, JOB_ANALYSES_MAX);
    if (count == 0)
        return 0;
    j->analyses = calloc((size_t)count, sizeof *j->analyses);
    if (!j->analyses)
        return perr_set(err, "out of memory");
    for (const cJSON *a = item->child; a; a = a->next) {
        size_t i = j->n_analyses;
        if (!cJSON_IsString(a))
            return perr_set(err, "analyses[%zu] must be a string", i);
        if (!valid_analysis_name(a->valuestring))
            return perr_set(err, "analyses[%zu] \"%.64s\" is not a valid analysis name "
                            "(a lower-case letter, then a-z 0-9 _ -, at most %d)", i, a->valuestring, JOB_ANALYSIS_NAME_MAX);
        for (size_t k = 0; k < i; k++)
            if (strcmp(j->analyses[k], a->valuestring) == 0)
                return perr_set(err, "analyses[%zu] \"%s\" is listed twice", i, a->valuestring);
        if (!(j->analyses[i] = strdup(a->valuestring)))
            return perr_set(err, "out of memory");
        j->n_analyses++;
    }
    return 0;
}

static int parse_document(const cJSON *doc, job *j, perr *err)
{
    if (!doc)
        return perr_set(err, "document is required");
    if (!cJSON_IsObject(doc))
        return perr_set(err, "document must be an object");
    static const char *const keys[] = {"path", "content_base64", "filename", "text", NULL};
    if (check_keys(doc, "document", keys, err) != 0)
        return -1;
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(doc, "path");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(doc, "content_base64");
    const cJSON *filename = cJSON_GetObjectItemCaseSensitive(doc, "filename");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(doc, "text");
    int forms = (path != NULL) + (content != NULL) + (text != NULL);
    if (forms != 1)
        return perr_set(err, "document must have exactly one of \"path\", \"content_base64\" or \"text\" (found %d)", forms);
    if (filename && !content)
        return perr_set(err, "document.filename is only allowed with content_base64");
    if (path) {
        j->doc_kind = JOB_DOC_PATH;
        return take_string(path, "document.path", JOB_PATH_MAX, 1, &j->path, err);
    }
    if (text) {
        j->doc_kind = JOB_DOC_TEXT;
        if (take_string(text, "document.text", JOB_DOCUMENT_MAX_BYTES, 0, &j->text, err) != 0)
            return -1;
        j->text_len = strlen(j->text);
        return 0;
    }
    j->doc_kind = JOB_DOC_CONTENT;
    if (!is_null(filename)) {
        if (take_string(filename, "document.filename", JOB_FILENAME_MAX, 1, &j->filename, err) != 0)
            return -1;
        if (strchr(j->filename, '/'))
            return perr_set(err, "document.filename must be a file name, not a path");
    }
    if (!cJSON_IsString(content))
        return perr_set(err, "document.content_base64 must be a string");
    return base64_decode(content->valuestring, &j->content, &j->content_len, err);
}

/* One party of "twin": {"name", "replacement"}, both plain strings. */
static int check_twin_party(const cJSON *p, int i, perr *err)
{
    static const char *const keys[] = {"name", "replacement", NULL};
    char where[48], field[64], *copy = NULL;
    snprintf(where, sizeof where, "twin.parties[%d]", i);
    if (!cJSON_IsObject(p))
        return perr_set(err, "%s must be an object {\"name\", \"replacement\"}", where);
    if (check_keys(p, where, keys, err) != 0)
        return -1;
    for (int k = 0; k < 2; k++) {
        snprintf(field, sizeof field, "%s.%s", where, keys[k]);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, keys[k]);
        if (!v)
            return perr_set(err, "%s is required", field);
        if (take_string(v, field, JOB_TWIN_NAME_MAX, 1, &copy, err) != 0)
            return -1;
        free(copy);
    }
    return 0;
}

int job_parse_twin(const cJSON *item, char **out, perr *err)
{
    *out = NULL;
    if (is_null(item) || cJSON_IsFalse(item))
        return 0;
    if (cJSON_IsTrue(item))
        return (*out = strdup("{}")) ? 0 : perr_set(err, "out of memory");
    static const char *const keys[] = {"parties", NULL};
    if (!cJSON_IsObject(item))
        return perr_set(err, "twin must be true, false or an object {\"parties\": [...]}");
    if (check_keys(item, "twin", keys, err) != 0)
        return -1;
    const cJSON *parties = cJSON_GetObjectItemCaseSensitive(item, "parties");
    if (!is_null(parties) && !cJSON_IsArray(parties))
        return perr_set(err, "twin.parties must be an array");
    if (cJSON_GetArraySize(parties) > JOB_TWIN_PARTIES_MAX)
        return perr_set(err, "twin.parties has more than %d parties", JOB_TWIN_PARTIES_MAX);
    int i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, parties)
    {
        if (check_twin_party(p, i++, err) != 0)
            return -1;
    }
    return (*out = cJSON_PrintUnformatted(item)) ? 0 : perr_set(err, "out of memory");
}

static int parse_fields(const cJSON *root, job *j, perr *err)
{
    if (!cJSON_IsObject(root))
        return perr_set(err, "a job must be a JSON object");
    static const char *const keys[] = {"job_id", "collection", "analyses", "document", "password", "metadata",
                                       "twin", NULL};
    if (check_keys(root, "job", keys, err) != 0)
        return -1;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "job_id");
    if (!id)
        return perr_set(err, "job_id is required");
    if (take_string(id, "job_id", JOB_ID_MAX, 1, &j->job_id, err) != 0)
        return -1;
    const cJSON *collection = cJSON_GetObjectItemCaseSensitive(root, "collection");
    if (!is_null(collection) &&
        take_string(collection, "collection", JOB_COLLECTION_MAX, 1, &j->collection, err) != 0)
        return -1;
    if (parse_analyses(cJSON_GetObjectItemCaseSensitive(root, "analyses"), j, err) != 0)
        return -1;
    if (parse_document(cJSON_GetObjectItemCaseSensitive(root, "document"), j, err) != 0)
        return -1;
    const cJSON *password = cJSON_GetObjectItemCaseSensitive(root, "password");
    if (!is_null(password)) {
        if (!cJSON_IsString(password))
            return perr_set(err, "password must be a string");
        if (strlen(password->valuestring) > JOB_PASSWORD_MAX)
            return perr_set(err, "password is longer than %d bytes", JOB_PASSWORD_MAX);
        if (!(j->password = strdup(password->valuestring)))
            return perr_set(err, "out of memory");
    }
    const cJSON *metadata = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    if (!is_null(metadata) && !cJSON_IsObject(metadata))
        return perr_set(err, "metadata must be a JSON object");
    char path[1024] = "metadata";
    if (!is_null(metadata) && check_no_repeated_keys(metadata, path, sizeof path, err) != 0)
        return -1;
    j->metadata_json = is_null(metadata) ? strdup("{}") : cJSON_PrintUnformatted(metadata);
    if (!j->metadata_json)
        return perr_set(err, "out of memory");
    return job_parse_twin(cJSON_GetObjectItemCaseSensitive(root, "twin"), &j->twin_json, err);
}

/* ---- public ------------------------------------------------------------- */

int job_id_usable(const char *id, size_t len)
{
    if (!id || len == 0 || len > JOB_ID_MAX || !utf8_valid(id, len))
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
            return 0;
    return 1;
}

static int parse_message(const char *json, size_t len, job *out, perr *err)
{
    if (len == 0)
        return perr_set(err, "job message is empty");
    if (!utf8_valid(json, len))
        return perr_set(err, "job message is not valid UTF-8 (or contains NUL bytes)");
    if (has_escaped_nul(json, len))
        return perr_set(err, "job message contains \\u0000 (NUL characters are not allowed)");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        return perr_set(err, "job message is not valid JSON (near byte %zu)", at);
    }
    size_t rest = (size_t)(end - json);
    while (rest < len && json[rest] && strchr(" \t\r\n", json[rest]))
        rest++;
    int rc = rest < len ? perr_set(err, "job message has data after the JSON value (byte %zu)", rest)
                        : parse_fields(root, out, err);
    cJSON_Delete(root);
    return rc;
}

int job_parse(const char *json, size_t len, job *out, perr *err)
{
    *out = (job){0};
    if (parse_message(json, len, out, err) != 0) {
        job_clear(out);
        return perr_prefix(err, "invalid job");
    }
    return 0;
}

void job_clear(job *j)
{
    if (j->password) {
        explicit_bzero(j->password, strlen(j->password));
        free(j->password);
    }
    for (size_t i = 0; i < j->n_analyses; i++)
        free(j->analyses[i]);
    free(j->analyses);
    free(j->job_id);
    free(j->collection);
    free(j->path);
    free(j->content);
    free(j->filename);
    free(j->text);
    free(j->metadata_json);
    free(j->twin_json);
    *j = (job){0};
}

const char *job_source(const job *j)
{
    switch (j->doc_kind) {
    case JOB_DOC_PATH:
        return j->path;
    case JOB_DOC_CONTENT:
        return j->filename ? j->filename : "content";
    case JOB_DOC_TEXT:
        break;
    }
    return "text";
}
