/* consultation_job.h — running a consultation with the pipeline's model and
 * prompt and storing it: for `precis consult` and for Kafka jobs
 * {"collection": C, "analyses": ["consultation"], "document": <a CSV, JSONL
 * or JSON response file>} (pipeline_process routes those here).
 *
 * A job's options come from its metadata: "question" (string) and
 * "max_themes" (integer 1..26); its collection defaults to the job id. The
 * job is marked done in the same transaction as the run; a failed run is
 * stored as a 'failed' run row and the job fails permanently (error class
 * "document" for an unreadable response file, "engine" otherwise).
 */
#ifndef PRECIS_CONSULTATION_JOB_H
#define PRECIS_CONSULTATION_JOB_H

#include "pipeline/consultation/consultation.h"
#include "pipeline/pipeline.h"

typedef struct consultation_request {
    const char *collection;      /* required */
    const char *job_id;          /* NULL unless from a job */
    const char *source;          /* file name or "collection" */
    const char *source_sha256;   /* of the file; NULL = none */
    const char *question;
    consultation_options options;
    const response_set *responses;
} consultation_request;

/* Run the consultation over rq->responses and, when s is not NULL, store it
 * (done or failed). Returns the analysis's outcome: 0, -1 (err) or
 * LLM_CANCELLED (nothing stored); *store_rc gets the store's (0,
 * STORE_ERROR, STORE_TRANSIENT; 0 when s is NULL) and *run_id the stored
 * run's id. res is filled either way (consultation_result_clear it). */
int consultation_execute(pipeline *p, store *s, const consultation_request *rq, const pipeline_hooks *hooks,
                         consultation_result *res, long long *run_id, int *store_rc, perr *err);

/* True when the job asks for the consultation analysis. */
int consultation_job_wanted(const job *j);

/* The documents of a stored collection as responses (see
 * store_consultation_responses): an empty collection and duplicate ids are
 * errors. *out is empty on error. */
int consultation_collection_responses(store *s, const char *collection, response_set *out, perr *err);

/* A consultation job whose document bytes are loaded: 0, PIPELINE_PERMANENT
 * (rep->error_class says why) or PIPELINE_TRANSIENT. */
int consultation_job_run(pipeline *p, store *s, const job *j, const unsigned char *bytes, size_t len,
                         const pipeline_hooks *hooks, pipeline_report *rep, perr *err);

#endif
