/* consumer_lag.c — the lag thread: watermarks and positions -> the gauge (see consumer_lag.h). */
#include "daemon/consumer_lag.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/monotonic.h"

struct consumer_lag {
    rd_kafka_t *rk;
    metrics *metrics;
    int interval_ms;
    pthread_mutex_t lock;     /* guards stop */
    pthread_cond_t wake;      /* signalled by consumer_lag_stop */
    int stop;
    pthread_t thread;
};

static int stopping(consumer_lag *l)
{
    pthread_mutex_lock(&l->lock);
    int stop = l->stop;
    pthread_mutex_unlock(&l->lock);
    return stop;
}

/* Partitions without a position get their committed offset (one request). */
static void fill_missing_positions(consumer_lag *l, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_position(l->rk, parts);
    int missing = 0;
    for (int i = 0; i < parts->cnt; i++)
        missing += parts->elems[i].offset < 0;
    if (!missing)
        return;
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
    if (rd_kafka_committed(l->rk, committed, LAG_QUERY_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (int i = 0; i < parts->cnt; i++)
            if (parts->elems[i].offset < 0 && committed->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                parts->elems[i].offset = committed->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(committed);
}

/* One refresh; leaves the gauge alone when the assignment cannot be read
 * or a stop interrupts it. */
static void refresh(consumer_lag *l)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(l->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return;
    fill_missing_positions(l, parts);
    int64_t lag = 0;
    int interrupted = 0;
    for (int i = 0; i < parts->cnt && !(interrupted = stopping(l)); i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(l->rk, p->topic, p->partition, &lo, &hi, LAG_QUERY_TIMEOUT_MS) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        int64_t pos = p->offset >= 0 ? p->offset : lo;
        if (pos >= 0 && hi > pos)
            lag += hi - pos;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    if (!interrupted)
        metrics_set_consumer_lag(l->metrics, lag);
}

static void *run(void *arg)
{
    consumer_lag *l = arg;
    pthread_mutex_lock(&l->lock);
    while (!l->stop) {
        pthread_mutex_unlock(&l->lock);
        refresh(l);
        pthread_mutex_lock(&l->lock);
        struct timespec until = monotonic_timespec_after_ms(l->interval_ms);
        while (!l->stop && pthread_cond_timedwait(&l->wake, &l->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int consumer_lag_start(consumer_lag **out, rd_kafka_t *rk, metrics *m, int interval_ms, perr *err)
{
    consumer_lag *l = calloc(1, sizeof *l);
    if (!l)
        return perr_set(err, "out of memory");
    l->rk = rk;
    l->metrics = m;
    l->interval_ms = interval_ms > 0 ? interval_ms : LAG_REFRESH_MS;
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(&l->wake, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (rc != 0) {
        free(l);
        return perr_set(err, "consumer lag: cannot create condition variable");
    }
    pthread_mutex_init(&l->lock, NULL);
    if (pthread_create(&l->thread, NULL, run, l) != 0) {
        pthread_cond_destroy(&l->wake);
        pthread_mutex_destroy(&l->lock);
        free(l);
        return perr_set(err, "consumer lag: cannot start its thread");
    }
    *out = l;
    return 0;
}

void consumer_lag_stop(consumer_lag *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stop = 1;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->wake);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
