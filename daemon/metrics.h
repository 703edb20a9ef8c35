/* metrics.h — the daemon's Prometheus metrics, owned by the daemon (no globals).
 *
 * Counters and histogram buckets are atomics, so the consumer thread, the
 * pipeline and the HTTP server thread may touch them concurrently. Exposed:
 *   precis_jobs_consumed_total        messages taken from the jobs topic (first delivery)
 *   precis_jobs_succeeded_total       jobs whose outcome was OK
 *   precis_jobs_failed_total          jobs that failed permanently
 *   precis_jobs_dead_lettered_total   failed jobs acknowledged by the DLQ topic
 *   precis_jobs_retried_total         transient failures (the job is retried)
 *   precis_job_duration_seconds       histogram, one observation per handled attempt
 *   precis_stage_duration_seconds{stage="..."}  histogram per pipeline stage
 *   precis_tokens_in_total / precis_tokens_out_total
 *   precis_tokens_cached_total      prompt tokens reused, not evaluated
 *   precis_consumer_lag               gauge: messages behind the high watermark
 *   precis_jobs_in_flight             gauge: jobs being handled right now
 * and, read from the engine at each scrape (metrics_set_engine_probe):
 *   precis_engine_forward_passes_total / precis_engine_sequences_total
 *   precis_batch_occupancy            gauge: sequences per forward pass since start
 *                                     (rate(sequences) / rate(passes) for a window)
 *   precis_engine_prompt_tokens_total / precis_engine_generated_tokens_total
 *                                     per model call as it ends (rate() = tokens per second)
 *   precis_engine_draft_tokens_proposed_total / _accepted_total
 *                                     prompt-lookup drafts verified / kept, per model call as it ends
 * metrics_render produces the text exposition format (version 0.0.4).
 */
#ifndef PRECIS_METRICS_H
#define PRECIS_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics;

/* Most distinct stage names kept; observations of further names are dropped. */
#define METRICS_MAX_STAGES 16
#define METRICS_STAGE_NAME_MAX 32

metrics *metrics_new(void);
void metrics_free(metrics *m);

void metrics_job_consumed(metrics *m);
void metrics_job_succeeded(metrics *m);
void metrics_job_failed(metrics *m);
void metrics_job_dead_lettered(metrics *m);
void metrics_job_retried(metrics *m);
void metrics_observe_job(metrics *m, double seconds);
/* stage: [a-z0-9_] name such as "extract", "generate", "store"; others are ignored. */
void metrics_observe_stage(metrics *m, const char *stage, double seconds);
void metrics_add_tokens(metrics *m, uint64_t in, uint64_t out);
void metrics_add_cached_tokens(metrics *m, uint64_t cached);
void metrics_set_consumer_lag(metrics *m, int64_t lag);
/* A job's handling starts (+1) or ends (-1). */
void metrics_jobs_in_flight_add(metrics *m, int delta);

/* The engine's running totals, read when metrics are rendered. */
typedef struct metrics_engine_totals {
    uint64_t passes, sequences, prompt_tokens, generated_tokens;
    uint64_t draft_proposed, draft_accepted;
} metrics_engine_totals;
typedef void (*metrics_engine_probe)(void *ctx, metrics_engine_totals *out);
/* Set before metrics are served (not thread-safe against metrics_render);
 * without a probe the engine series read 0. The probe must be thread-safe. */
void metrics_set_engine_probe(metrics *m, metrics_engine_probe probe, void *ctx);

/* Read back (tests, logs). */
uint64_t metrics_jobs_consumed(const metrics *m);
uint64_t metrics_jobs_succeeded(const metrics *m);
uint64_t metrics_jobs_failed(const metrics *m);
int64_t metrics_consumer_lag(const metrics *m);
int64_t metrics_jobs_in_flight(const metrics *m);

/* Text exposition (malloc'd, NUL-terminated); NULL when out of memory. */
char *metrics_render(metrics *m, size_t *len);

#endif
