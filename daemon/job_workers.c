/* job_workers.c — a fixed set of worker threads with a task slot each (see job_workers.h). */
#include "daemon/job_workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotonic.h"

typedef enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_FINISHED } slot_state;

typedef struct worker_slot {
    job_workers *pool;
    int index;
    pthread_t thread;
    void *task;
    slot_state state;
} worker_slot;

struct job_workers {
    job_work_fn work;
    void *ctx;
    worker_slot *slots;
    int n, started;
    pthread_mutex_t mu;
    pthread_cond_t queued;        /* workers: a task (or stop) */
    pthread_cond_t finished;      /* the collector: a task ended */
    int stop;
};

static void *worker_main(void *arg)
{
    worker_slot *s = arg;
    job_workers *w = s->pool;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (s->state != SLOT_QUEUED && !w->stop)
            pthread_cond_wait(&w->queued, &w->mu);
        if (s->state != SLOT_QUEUED)
            break;
        pthread_mutex_unlock(&w->mu);
        w->work(w->ctx, s->task, s->index);
        pthread_mutex_lock(&w->mu);
        s->state = SLOT_FINISHED;
        pthread_cond_broadcast(&w->finished);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int job_workers_new(job_workers **out, int n, job_work_fn work, void *ctx, perr *err)
{
    if (n < 1)
        return perr_set(err, "job workers: at least one is needed");
    job_workers *w = calloc(1, sizeof *w);
    if (!w || !(w->slots = calloc((size_t)n, sizeof *w->slots))) {
        free(w);
        return perr_set(err, "out of memory");
    }
    w->work = work;
    w->ctx = ctx;
    w->n = n;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->queued, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->finished, &ca);
    pthread_condattr_destroy(&ca);
    for (int i = 0; i < n; i++) {
        w->slots[i] = (worker_slot){.pool = w, .index = i};
        if (pthread_create(&w->slots[i].thread, NULL, worker_main, &w->slots[i]) != 0) {
            job_workers_free(w);
            return perr_set(err, "cannot start job worker %d", i);
        }
        w->started++;
    }
    *out = w;
    return 0;
}

void job_workers_free(job_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->queued);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->started; i++)
        pthread_join(w->slots[i].thread, NULL);
    pthread_cond_destroy(&w->queued);
    pthread_cond_destroy(&w->finished);
    pthread_mutex_destroy(&w->mu);
    free(w->slots);
    free(w);
}

int job_workers_busy(job_workers *w)
{
    pthread_mutex_lock(&w->mu);
    int busy = 0;
    for (int i = 0; i < w->n; i++)
        busy += w->slots[i].state != SLOT_FREE;
    pthread_mutex_unlock(&w->mu);
    return busy;
}

int job_workers_submit(job_workers *w, void *task)
{
    pthread_mutex_lock(&w->mu);
    int rc = -1;
    for (int i = 0; i < w->n && rc < 0; i++)
        if (w->slots[i].state == SLOT_FREE) {
            w->slots[i].task = task;
            w->slots[i].state = SLOT_QUEUED;
            rc = 0;
        }
    if (rc == 0)
        pthread_cond_broadcast(&w->queued);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Take a finished task off its slot (mu held); NULL when none. */
static void *take_finished(job_workers *w)
{
    for (int i = 0; i < w->n; i++)
        if (w->slots[i].state == SLOT_FINISHED) {
            w->slots[i].state = SLOT_FREE;
            return w->slots[i].task;
        }
    return NULL;
}

void *job_workers_collect(job_workers *w, int timeout_ms)
{
    pthread_mutex_lock(&w->mu);
    void *task = take_finished(w);
    if (!task && timeout_ms > 0) {
        struct timespec until = monotonic_timespec_after_ms(timeout_ms);
        while (!(task = take_finished(w)) && pthread_cond_timedwait(&w->finished, &w->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&w->mu);
    return task;
}
