/* job_message.h — build the JSON of a job message (the contract in
 * pipeline/job.h) for `precis submit`, and fresh job ids (UUID v4). */
#ifndef PRECIS_JOB_MESSAGE_H
#define PRECIS_JOB_MESSAGE_H

#include <stddef.h>

#include "common/error.h"

typedef struct job_message_spec {
    const char *job_id;              /* required */
    const char *collection;          /* NULL: absent */
    const char *const *analyses;     /* NULL-terminated; NULL: absent (defaults) */
    const char *path;                /* document by path ... */
    const unsigned char *content;    /* ... or by content (base64 in the JSON) */
    size_t content_len;
    const char *filename;            /* with content; NULL: absent */
    const char *password;            /* NULL: absent */
    const char *twin_json;           /* the "twin" field (job_twin_file); NULL: absent */
} job_message_spec;

/* The job's JSON (malloc'd, NUL-terminated). */
char *job_message_build(const job_message_spec *spec, perr *err);

/* A --twin FILE (a job's "twin" field as JSON: true, or {"parties": [...]}),
 * checked as job_parse does, into *twin_json (malloc'd; NULL for false). */
int job_twin_file(const char *path, char **twin_json, perr *err);

/* A random UUID v4 ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx") into out. */
int job_id_new(char out[37], perr *err);

#endif
