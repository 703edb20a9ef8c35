/* job_message.c — job JSON for `precis submit` and UUID v4 job ids (see job_message.h). */
#include "cli/job_message.h"
#include "pipeline/job.h"

#include <cjson/cJSON.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

static int add_string(cJSON *obj, const char *key, const char *value)
{
    return cJSON_AddStringToObject(obj, key, value) ? 0 : -1;
}

static cJSON *document_json(const job_message_spec *spec)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return NULL;
    int rc;
    if (spec->path) {
        rc = add_string(doc, "path", spec->path);
    } else {
        gchar *b64 = g_base64_encode(spec->content, spec->content_len);
        rc = add_string(doc, "content_base64", b64);
        g_free(b64);
        if (rc == 0 && spec->filename)
            rc = add_string(doc, "filename", spec->filename);
    }
    if (rc != 0) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

static int fill(cJSON *root, const job_message_spec *spec)
{
    if (add_string(root, "job_id", spec->job_id) != 0)
        return -1;
    if (spec->collection && add_string(root, "collection", spec->collection) != 0)
        return -1;
    if (spec->analyses) {
        cJSON *list = cJSON_AddArrayToObject(root, "analyses");
        if (!list)
            return -1;
        for (size_t i = 0; spec->analyses[i]; i++) {
            cJSON *name = cJSON_CreateString(spec->analyses[i]);
            if (!name)
                return -1;
            cJSON_AddItemToArray(list, name);
        }
    }
    cJSON *doc = document_json(spec);
    if (!doc)
        return -1;
    cJSON_AddItemToObject(root, "document", doc);
    if (spec->password && add_string(root, "password", spec->password) != 0)
        return -1;
    if (spec->twin_json) {
        cJSON *twin = cJSON_Parse(spec->twin_json);
        if (!twin)
            return -1; /* checked by job_twin_file: out of memory */
        cJSON_AddItemToObject(root, "twin", twin);
    }
    return 0;
}

int job_twin_file(const char *path, char **twin_json, perr *err)
{
    *twin_json = NULL;
    gchar *text = NULL;
    GError *gerr = NULL;
    if (!g_file_get_contents(path, &text, NULL, &gerr)) {
        perr_set(err, "%s", gerr->message);
        g_error_free(gerr);
        return -1;
    }
    cJSON *j = cJSON_Parse(text);
    g_free(text);
    int rc = j ? job_parse_twin(j, twin_json, err) : perr_set(err, "%s: not JSON", path);
    cJSON_Delete(j);
    return rc;
}

char *job_message_build(const job_message_spec *spec, perr *err)
{
    if (!spec->job_id || (!spec->path && !spec->content))
        return perr_set(err, "job message: a job id and a document are required"), NULL;
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;
    if (root && fill(root, spec) == 0)
        text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        perr_set(err, "job message: out of memory");
    return text;
}

int job_id_new(char out[37], perr *err)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return perr_errno(err, "reading random bytes for a job id");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}
