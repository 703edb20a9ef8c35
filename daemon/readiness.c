/* readiness.c — the prober thread and its cached verdicts (see readiness.h). */
#include "daemon/readiness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotonic.h"
#include "common/periodic.h"

typedef struct verdict {
    int checked;          /* a check has completed at least once */
    int ok;
    int64_t done_ms;      /* monotonic time of the last completion */
    char why[PERR_MSG_MAX];
} verdict;

struct readiness {
    readiness_check checks[READINESS_MAX_CHECKS];
    size_t nchecks;
    int interval_ms, stale_ms;
    pthread_mutex_t lock;       /* guards verdicts */
    verdict verdicts[READINESS_MAX_CHECKS];
    periodic *prober;
};

/* Run every check once; the lock is held only to publish each verdict. */
static void probe_round(void *ctx)
{
    readiness *r = ctx;
    for (size_t i = 0; i < r->nchecks; i++) {
        perr err = {{0}};
        int ok = r->checks[i].check(r->checks[i].ctx, &err) == 0;
        pthread_mutex_lock(&r->lock);
        verdict *v = &r->verdicts[i];
        v->checked = 1;
        v->ok = ok;
        v->done_ms = monotonic_ms();
        snprintf(v->why, sizeof v->why, "%s", ok ? "" : err.msg[0] ? err.msg : "no reason given");
        pthread_mutex_unlock(&r->lock);
    }
}

int readiness_start(readiness **out, const readiness_options *opt, perr *err)
{
    if (opt->nchecks > READINESS_MAX_CHECKS)
        return perr_set(err, "readiness: too many checks");
    readiness *r = calloc(1, sizeof *r);
    if (!r)
        return perr_set(err, "out of memory");
    r->nchecks = opt->nchecks;
    if (opt->nchecks)
        memcpy(r->checks, opt->checks, opt->nchecks * sizeof *opt->checks);
    r->interval_ms = opt->interval_ms > 0 ? opt->interval_ms : READINESS_INTERVAL_MS;
    r->stale_ms = opt->stale_ms > 0 ? opt->stale_ms : r->interval_ms + 10000;
    pthread_mutex_init(&r->lock, NULL);
    probe_round(r);
    if (periodic_start(&r->prober, r->interval_ms, 0, probe_round, r, err) != 0) {
        pthread_mutex_destroy(&r->lock);
        free(r);
        return perr_prefix(err, "readiness");
    }
    *out = r;
    return 0;
}

int readiness_report(readiness *r, FILE *f)
{
    int ready = 1;
    int64_t now = monotonic_ms();
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->nchecks; i++) {
        const verdict *v = &r->verdicts[i];
        const char *name = r->checks[i].name;
        if (v->ok && now - v->done_ms <= r->stale_ms) {
            fprintf(f, "%s: ok\n", name);
            continue;
        }
        ready = 0;
        if (!v->checked)
            fprintf(f, "%s: not ready: not checked yet\n", name);
        else if (now - v->done_ms > r->stale_ms)
            fprintf(f, "%s: not ready: check has not answered for %lld s\n", name,
                    (long long)((now - v->done_ms) / 1000));
        else
            fprintf(f, "%s: not ready: %s\n", name, v->why);
    }
    pthread_mutex_unlock(&r->lock);
    return ready;
}

void readiness_stop(readiness *r)
{
    if (!r)
        return;
    periodic_stop(r->prober);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
