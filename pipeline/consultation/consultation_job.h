/* consultation_job.h — a consultation run with a model and its prompt: for
 * `precis consult` (run and stored here) and for Kafka jobs
 * {"collection": C, "analyses": ["consultation"], "document": <a CSV, JSONL
 * or JSON response file>} (the pipeline analyses them here; the job runner,
 * pipeline/job_run.h, stores them and marks the job done in one transaction).
 *
 * A job's options come from its metadata: "question" (string),
 * "max_themes" (integer 1..26; a full run's) and "response_id" (string);
 * its collection defaults to the job id. A job whose document is
 * {"text": ...} is ONE response, its id the metadata's "response_id", else
 * the job id. When the collection has an approved theme set
 * (consultation_approved.h) the job's responses are mapped onto it (no
 * themes are generated; the question defaults to the set's), responses no
 * theme fits are kept unassigned, and the candidate step runs when due. A
 * run that fails in the model is stored as a 'failed' run row and the job
 * fails permanently (error class "document" for an unreadable response
 * file, "invalid_job" for bad options, "engine" otherwise).
 *
 * Includes the analyses and the store, never pipeline.h: the pipeline calls
 * in, nothing here calls back.
 */
#ifndef PRECIS_CONSULTATION_JOB_H
#define PRECIS_CONSULTATION_JOB_H

#include "pipeline/consultation/consultation.h"
#include "pipeline/consultation/consultation_approved.h"
#include "pipeline/job.h"
#include "store/store_consultation.h"

typedef struct consultation_request {
    const char *collection;      /* required */
    const char *job_id;          /* NULL unless from a job */
    const char *source;          /* file name or "collection" */
    const char *source_sha256;   /* of the file; NULL = none */
    const char *question;
    consultation_options options;   /* .approved: map onto an approved set */
    const response_set *responses;
    store_approved_set approved_row; /* with options.approved: the set as the run records it */
    int candidate_threshold;         /* with options.approved: 0 = no candidate step */
    const consultation_approved *pending;  /* unassigned responses of earlier runs; NULL = none */
} consultation_request;

/* Run the consultation over rq->responses with in (model, the consultation
 * prompt, cancel hook), with an approved set the candidate step when due,
 * and, when s is not NULL, store it as a run (done or failed; never a
 * job's status). Returns the analysis's outcome: 0, -1
 * (err) or LLM_CANCELLED (nothing stored); *store_rc gets the store's (0,
 * STORE_ERROR, STORE_TRANSIENT; 0 when s is NULL) and *run_id the stored
 * run's id. res is filled either way (consultation_result_clear it). */
int consultation_execute(const analysis_input *in, store *s, const consultation_request *rq,
                         consultation_result *res, long long *run_id, int *store_rc, perr *err);

/* True when the job asks for the consultation analysis. */
int consultation_job_wanted(const job *j);

/* The documents of a stored collection as responses (see
 * store_consultation_responses): an empty collection and duplicate ids are
 * errors. *out is empty on error. */
int consultation_collection_responses(store *s, const char *collection, response_set *out, perr *err);

/* A consultation job analysed and not yet stored. */
typedef struct consultation_job_outcome {
    consultation_request rq;     /* points into the fields below and the job */
    response_set responses;
    char *question;
    char sha256[65];             /* of the response file */
    theme_set approved;          /* the collection's approved set (n 0: none) */
    store_unassigned_key *used;  /* pending responses the candidate step used (response_id malloc'd) */
    size_t n_used;
    consultation_result res;
    const char *prompt_version, *model_name, *model_sha256;
    double started_at;           /* Unix time */
    double seconds;              /* the run's wall time */
    char *error;                 /* the run failed in the model: stored as a failed run */
} consultation_job_outcome;

/* Analyse a consultation job whose response file is loaded, with its
 * collection's approved set and pending unassigned responses (approved may
 * be NULL or have set_id 0: a full run) and the candidate step's
 * threshold: 0, -1 (err; error_class says why) or LLM_CANCELLED. *out receives the outcome when
 * there is one to store: a done run, or one that failed in the model (-1,
 * class "engine"); else NULL. Free it with consultation_job_outcome_free. */
int consultation_job_analyze(const analysis_input *in, const job *j, const unsigned char *bytes, size_t len,
                             const consultation_approved *approved, int candidate_threshold,
                             consultation_job_outcome **out, char error_class[32], perr *err);

/* The stored form of an outcome (rows malloc'd into *run, *trace too; free
 * both with consultation_job_record_free): a done run with its responses
 * and themes, or a failed one (run->error) with its counters alone. The job
 * runner writes it. */
int consultation_job_record(const consultation_job_outcome *o, store_consultation_run *run, char **trace, perr *err);
void consultation_job_record_free(store_consultation_run *run, char *trace);

void consultation_job_outcome_free(consultation_job_outcome *o);

#endif
