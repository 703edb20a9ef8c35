/* pipeline_step.h — the job step of `precis serve`: the model pipeline
 * (pipeline/pipeline.h) behind the job handler's job_step_fn contract, with
 * stage durations and token counts into the daemon's metrics and shutdown
 * cancellation from the consumer. */
#ifndef PRECIS_PIPELINE_STEP_H
#define PRECIS_PIPELINE_STEP_H

#include "daemon/job_handler.h"
#include "pipeline/pipeline.h"

/* A job_step_fn; ctx is the pipeline. */
int pipeline_step(void *ctx, job_run *run, perr *err);

#endif
