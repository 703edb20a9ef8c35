/* job_twin.h — a job's "twin" field (job.h) as legal_review's twin options
 * (legal_twin.h), with the attribute pairs of the prompts directory's
 * twin_attributes.json. */
#ifndef PRECIS_JOB_TWIN_H
#define PRECIS_JOB_TWIN_H

#include <stddef.h>

#include "common/error.h"
#include "pipeline/analyses/legal_twin.h"

typedef struct job_twin {
    legal_twin_options options;
    legal_twin_party *parties;   /* point into json */
    cJSON *json;
} job_twin;

/* twin_json as job_parse_twin leaves it; attributes_json NULL (the prompts
 * directory has no twin_attributes.json) is an error saying so. */
int job_twin_options(const char *twin_json, const char *attributes_json, job_twin *out, perr *err);

void job_twin_clear(job_twin *t);

#endif
