/* job_twin.c — a job's "twin" field as legal_review's options (see
 * job_twin.h). */
#include "pipeline/job_twin.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int job_twin_options(const char *twin_json, const char *attributes_json, job_twin *out, perr *err)
{
    memset(out, 0, sizeof *out);
    if (!attributes_json)
        return perr_set(err, "the twin option needs the prompts directory's twin_attributes.json");
    out->json = cJSON_Parse(twin_json);
    if (!cJSON_IsObject(out->json))
        return job_twin_clear(out), perr_set(err, "twin: not an object");
    const cJSON *parties = cJSON_GetObjectItemCaseSensitive(out->json, "parties");
    size_t n = (size_t)cJSON_GetArraySize(parties);
    out->options.attributes_json = attributes_json;
    if (n == 0)
        return 0; /* the review's own parties, as placeholders */
    out->parties = calloc(n, sizeof *out->parties);
    if (!out->parties)
        return job_twin_clear(out), perr_set(err, "out of memory");
    const cJSON *p;
    cJSON_ArrayForEach(p, parties)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
        const cJSON *repl = cJSON_GetObjectItemCaseSensitive(p, "replacement");
        if (!cJSON_IsString(name) || !cJSON_IsString(repl))
            return job_twin_clear(out), perr_set(err, "twin: a party needs a name and a replacement");
        out->parties[out->options.n_parties++] = (legal_twin_party){name->valuestring, repl->valuestring};
    }
    out->options.parties = out->parties;
    return 0;
}

void job_twin_clear(job_twin *t)
{
    free(t->parties);
    cJSON_Delete(t->json);
    memset(t, 0, sizeof *t);
}
