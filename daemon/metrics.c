/* metrics.c — atomic counters and histograms, Prometheus text rendering (see metrics.h). */
#include "daemon/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds (seconds) shared by every histogram: jobs run from a fraction
 * of a second (tiny documents) to many minutes (long LLM analyses). */
static const double bucket_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
#define NBUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0])

typedef struct histogram {
    atomic_uint_least64_t buckets[NBUCKETS]; /* non-cumulative; +Inf is `count` */
    atomic_uint_least64_t count;
    atomic_uint_least64_t sum_us;
} histogram;

typedef struct stage_slot {
    char name[METRICS_STAGE_NAME_MAX];
    histogram hist;
} stage_slot;

struct metrics {
    atomic_uint_least64_t consumed, succeeded, failed, dead_lettered, retried;
    atomic_uint_least64_t tokens_in, tokens_out, tokens_cached;
    atomic_int_least64_t consumer_lag;
    atomic_int_least64_t jobs_in_flight;
    metrics_engine_probe engine_probe;
    void *engine_ctx;
    histogram job;
    pthread_mutex_t stage_lock;    /* serializes adding a stage name */
    atomic_size_t nstages;         /* slots [0, nstages) are published */
    stage_slot stages[METRICS_MAX_STAGES];
};

metrics *metrics_new(void)
{
    metrics *m = calloc(1, sizeof *m);   /* zeroed atomics are valid initial values */
    if (!m)
        return NULL;
    pthread_mutex_init(&m->stage_lock, NULL);
    atomic_store(&m->consumer_lag, 0);
    return m;
}

void metrics_free(metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->stage_lock);
    free(m);
}

void metrics_job_consumed(metrics *m) { atomic_fetch_add(&m->consumed, 1); }
void metrics_job_succeeded(metrics *m) { atomic_fetch_add(&m->succeeded, 1); }
void metrics_job_failed(metrics *m) { atomic_fetch_add(&m->failed, 1); }
void metrics_job_dead_lettered(metrics *m) { atomic_fetch_add(&m->dead_lettered, 1); }
void metrics_job_retried(metrics *m) { atomic_fetch_add(&m->retried, 1); }
uint64_t metrics_jobs_consumed(const metrics *m) { return atomic_load(&m->consumed); }
uint64_t metrics_jobs_succeeded(const metrics *m) { return atomic_load(&m->succeeded); }
uint64_t metrics_jobs_failed(const metrics *m) { return atomic_load(&m->failed); }
int64_t metrics_consumer_lag(const metrics *m) { return atomic_load(&m->consumer_lag); }
int64_t metrics_jobs_in_flight(const metrics *m) { return atomic_load(&m->jobs_in_flight); }
void metrics_jobs_in_flight_add(metrics *m, int delta) { atomic_fetch_add(&m->jobs_in_flight, delta); }

void metrics_set_engine_probe(metrics *m, metrics_engine_probe probe, void *ctx)
{
    m->engine_probe = probe;
    m->engine_ctx = ctx;
}

void metrics_add_tokens(metrics *m, uint64_t in, uint64_t out)
{
    atomic_fetch_add(&m->tokens_in, in);
    atomic_fetch_add(&m->tokens_out, out);
}

void metrics_add_cached_tokens(metrics *m, uint64_t cached)
{
    atomic_fetch_add(&m->tokens_cached, cached);
}

void metrics_set_consumer_lag(metrics *m, int64_t lag)
{
    atomic_store(&m->consumer_lag, lag < 0 ? 0 : lag);
}

static void histogram_observe(histogram *h, double seconds)
{
    if (!(seconds >= 0))   /* also rejects NaN */
        seconds = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        if (seconds <= bucket_bounds[i]) {
            atomic_fetch_add(&h->buckets[i], 1);
            break;
        }
    }
    atomic_fetch_add(&h->count, 1);
    double us = seconds * 1e6;
    atomic_fetch_add(&h->sum_us, us > 1.8e19 ? (uint64_t)1.8e19 : (uint64_t)us);
}

void metrics_observe_job(metrics *m, double seconds)
{
    histogram_observe(&m->job, seconds);
}

static int valid_stage_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= METRICS_STAGE_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static stage_slot *find_stage(metrics *m, const char *stage, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m->stages[i].name, stage) == 0)
            return &m->stages[i];
    return NULL;
}

/* Lock-free lookup of published slots; adding a name takes the lock. */
static stage_slot *stage_slot_for(metrics *m, const char *stage)
{
    stage_slot *slot = find_stage(m, stage, atomic_load(&m->nstages));
    if (slot)
        return slot;
    pthread_mutex_lock(&m->stage_lock);
    size_t n = atomic_load(&m->nstages);
    slot = find_stage(m, stage, n);
    if (!slot && n < METRICS_MAX_STAGES) {
        slot = &m->stages[n];
        snprintf(slot->name, sizeof slot->name, "%s", stage);
        atomic_store(&m->nstages, n + 1);
    }
    pthread_mutex_unlock(&m->stage_lock);
    return slot;
}

void metrics_observe_stage(metrics *m, const char *stage, double seconds)
{
    if (!stage || !valid_stage_name(stage))
        return;
    stage_slot *slot = stage_slot_for(m, stage);
    if (slot)
        histogram_observe(&slot->hist, seconds);
}

static void render_counter(FILE *f, const char *name, const char *help, uint64_t v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

/* Buckets of one series; labels is "" or `stage="x",`. */
static void render_histogram_series(FILE *f, const char *name, const char *labels, histogram *h)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cumulative += atomic_load(&h->buckets[i]);
        fprintf(f, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, bucket_bounds[i], (unsigned long long)cumulative);
    }
    uint64_t count = atomic_load(&h->count);
    if (count < cumulative)   /* a concurrent observation between the loads */
        count = cumulative;
    fprintf(f, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, (unsigned long long)count);
    char bare[64] = "";
    size_t len = strlen(labels);
    if (len > 1) /* drop the trailing comma for _sum/_count */
        snprintf(bare, sizeof bare, "{%.*s}", (int)(len - 1), labels);
    fprintf(f, "%s_sum%s %.6f\n", name, bare, (double)atomic_load(&h->sum_us) / 1e6);
    fprintf(f, "%s_count%s %llu\n", name, bare, (unsigned long long)count);
}

static void render_engine(FILE *f, const metrics *m)
{
    metrics_engine_totals t = {0};
    if (m->engine_probe)
        m->engine_probe(m->engine_ctx, &t);
    render_counter(f, "precis_engine_forward_passes_total", "Forward passes of the model.", t.passes);
    render_counter(f, "precis_engine_sequences_total", "Sequences evaluated, summed over forward passes.",
                   t.sequences);
    fprintf(f, "# HELP precis_batch_occupancy Mean sequences per forward pass since start.\n"
               "# TYPE precis_batch_occupancy gauge\nprecis_batch_occupancy %.3f\n",
            t.passes ? (double)t.sequences / (double)t.passes : 0.0);
    render_counter(f, "precis_engine_prompt_tokens_total", "Prompt tokens of the model calls that ended.",
                   t.prompt_tokens);
    render_counter(f, "precis_engine_generated_tokens_total", "Tokens generated by the model calls that ended.",
                   t.generated_tokens);
    render_counter(f, "precis_engine_draft_tokens_proposed_total",
                   "Draft tokens guessed from the prompt and verified, of the model calls that ended.",
                   t.draft_proposed);
    render_counter(f, "precis_engine_draft_tokens_accepted_total",
                   "Draft tokens the sampler then chose (kept), of the model calls that ended.", t.draft_accepted);
}

char *metrics_render(metrics *m, size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    render_counter(f, "precis_jobs_consumed_total", "Jobs taken from the jobs topic.", atomic_load(&m->consumed));
    render_counter(f, "precis_jobs_succeeded_total", "Jobs completed successfully.", atomic_load(&m->succeeded));
    render_counter(f, "precis_jobs_failed_total", "Jobs that failed permanently.", atomic_load(&m->failed));
    render_counter(f, "precis_jobs_dead_lettered_total", "Failed jobs sent to the dead-letter topic.",
                   atomic_load(&m->dead_lettered));
    render_counter(f, "precis_jobs_retried_total", "Transient job failures that were retried.",
                   atomic_load(&m->retried));
    render_counter(f, "precis_tokens_in_total", "Prompt tokens evaluated.", atomic_load(&m->tokens_in));
    render_counter(f, "precis_tokens_out_total", "Tokens generated.", atomic_load(&m->tokens_out));
    render_counter(f, "precis_tokens_cached_total", "Prompt tokens reused from the prompt-prefix cache, not evaluated.",
                   atomic_load(&m->tokens_cached));
    fprintf(f, "# HELP precis_consumer_lag Messages on the jobs topic not yet consumed.\n"
               "# TYPE precis_consumer_lag gauge\nprecis_consumer_lag %lld\n",
            (long long)atomic_load(&m->consumer_lag));
    fprintf(f, "# HELP precis_jobs_in_flight Jobs being handled right now.\n"
               "# TYPE precis_jobs_in_flight gauge\nprecis_jobs_in_flight %lld\n",
            (long long)atomic_load(&m->jobs_in_flight));
    render_engine(f, m);
    fprintf(f, "# HELP precis_job_duration_seconds Time to handle one job attempt.\n"
               "# TYPE precis_job_duration_seconds histogram\n");
    render_histogram_series(f, "precis_job_duration_seconds", "", &m->job);
    fprintf(f, "# HELP precis_stage_duration_seconds Time spent in one pipeline stage.\n"
               "# TYPE precis_stage_duration_seconds histogram\n");
    size_t n = atomic_load(&m->nstages);
    for (size_t i = 0; i < n; i++) {
        char labels[METRICS_STAGE_NAME_MAX + 16];
        snprintf(labels, sizeof labels, "stage=\"%s\",", m->stages[i].name);
        render_histogram_series(f, "precis_stage_duration_seconds", labels, &m->stages[i].hist);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = size;
    return buf;
}
