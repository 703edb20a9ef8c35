/* periodic.c — the ticking thread and its stop (see periodic.h). */
#include "common/periodic.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/monotonic.h"

struct periodic {
    periodic_fn tick;
    void *ctx;
    int interval_ms, first_at_once;
    pthread_mutex_t lock;     /* guards stop */
    pthread_cond_t wake;      /* signalled by periodic_stop */
    int stop;
    pthread_t thread;
};

int periodic_stopping(periodic *p)
{
    pthread_mutex_lock(&p->lock);
    int stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    return stop;
}

/* Wait interval_ms or until stopped; called and returns with the lock held. */
static void wait_interval(periodic *p)
{
    struct timespec until = monotonic_timespec_after_ms(p->interval_ms);
    while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0)
        ;
}

static void *run(void *arg)
{
    periodic *p = arg;
    pthread_mutex_lock(&p->lock);
    if (!p->first_at_once)
        wait_interval(p);
    while (!p->stop) {
        pthread_mutex_unlock(&p->lock);
        p->tick(p->ctx);
        pthread_mutex_lock(&p->lock);
        wait_interval(p);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int init_sync(periodic *p)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&p->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return -1;
    pthread_mutex_init(&p->lock, NULL);
    return 0;
}

int periodic_start(periodic **out, int interval_ms, int first_at_once, periodic_fn tick, void *ctx, perr *err)
{
    if (interval_ms <= 0)
        return perr_set(err, "periodic: interval must be positive");
    periodic *p = calloc(1, sizeof *p);
    if (!p)
        return perr_set(err, "out of memory");
    *p = (periodic){.tick = tick, .ctx = ctx, .interval_ms = interval_ms, .first_at_once = first_at_once};
    if (init_sync(p) != 0) {
        free(p);
        return perr_set(err, "periodic: cannot create condition variable");
    }
    *out = p;   /* before the first tick, which may ask periodic_stopping(*out) */
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        *out = NULL;
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return perr_set(err, "periodic: cannot start its thread");
    }
    return 0;
}

void periodic_stop(periodic *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
