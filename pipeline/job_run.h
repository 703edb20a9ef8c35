/* job_run.h — one job's life: start -> analyse (load, extract, analyses)
 * -> store -> done | failed. The ONLY code that writes a job's status
 * (store_job_start, store_job_done, store_job_done_consultation,
 * store_job_failed; tests/check_layers.sh holds the rest of the tree to
 * that). Its two front doors: `precis serve`'s job handler
 * (daemon/job_handler.c), which adds Kafka's policy (attempts, timeouts,
 * dead letters), and `precis run` (cli/cmd_run.c).
 *
 * What analyses a job is a job_analyzer: the model pipeline
 * (job_analyzer_for_pipeline) in the product, a model-free double in tests.
 * The runner turns its report into rows: a document with its results, or a
 * consultation run, each written with the job marked done in ONE
 * transaction.
 */
#ifndef PRECIS_JOB_RUN_H
#define PRECIS_JOB_RUN_H

#include "common/error.h"
#include "pipeline/job.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

/* Analyse j without storing (the pipeline_analyze contract): 0,
 * PIPELINE_PERMANENT (rep->error_class says why) or PIPELINE_TRANSIENT. */
typedef int (*job_analyze_fn)(void *ctx, const job *j, const pipeline_hooks *hooks, pipeline_report *rep,
                              perr *err);

typedef struct job_analyzer {
    job_analyze_fn analyze;
    void *ctx;
} job_analyzer;

/* The model pipeline as an analyzer (pipeline_analyze). */
job_analyzer job_analyzer_for_pipeline(pipeline *p);

/* An attempt of j starts: its row is created or set running (store_job_start;
 * pos is the Kafka message or NULL). info (may be NULL) says whether the job
 * already finished and must not run again. */
int job_run_start(store *s, const job *j, const store_kafka_pos *pos, store_job_start_info *info, perr *err);

/* Analyse j and, when s is not NULL, record it done: its document and
 * results, or its consultation run, in one transaction. A consultation
 * job's collection is read first (its approved theme set and pending
 * unassigned responses, handed to the analyzer as hooks->approved); a
 * database error there fails the job like one when storing. 0, PIPELINE_PERMANENT
 * (rep->error_class; "store" when the database refused the rows) or
 * PIPELINE_TRANSIENT (cancelled, or the database is unreachable). A failure
 * leaves the job's status to job_run_fail (the caller's policy decides
 * failed or dead); a consultation run that failed in the model is stored as
 * its failed run row. rep is filled either way (pipeline_report_clear). */
int job_run_execute(const job_analyzer *a, store *s, const job *j, const pipeline_hooks *hooks,
                    pipeline_report *rep, perr *err);

/* An attempt failed: 'failed' (may run again) or, with dead, dead (given up,
 * dead-lettered). reason must already be free of secrets. */
int job_run_fail(store *s, const char *job_id, const store_kafka_pos *pos, const char *error_class,
                 const char *reason, int dead, perr *err);

#endif
