/* readiness.h — cached readiness verdicts for /readyz, refreshed off the
 * HTTP thread so that no request ever waits on a dependency.
 *
 * A prober thread owned by the `readiness` runs every check once at start
 * (before readiness_start returns, so the first /readyz has an answer), then
 * every interval_ms. readiness_report only reads the cached verdicts: it
 * never runs a check and never waits for one. A check that has not
 * completed for stale_ms (stuck in a hung dependency) is reported not ready,
 * so an old "ok" cannot stand for it. Checks run one after another on the
 * prober thread: they must be thread-safe and bounded in time (they delay
 * the next round and readiness_stop, never a request).
 */
#ifndef PRECIS_READINESS_H
#define PRECIS_READINESS_H

#include <stddef.h>
#include <stdio.h>

#include "common/error.h"

typedef struct readiness_check {
    const char *name;                         /* e.g. "kafka", "postgres" */
    int (*check)(void *ctx, perr *err);       /* 0 ready, -1 not (err says why) */
    void *ctx;
} readiness_check;

#define READINESS_MAX_CHECKS 8
#define READINESS_INTERVAL_MS 5000

typedef struct readiness_options {
    const readiness_check *checks;            /* copied; names must outlive the readiness */
    size_t nchecks;                           /* at most READINESS_MAX_CHECKS */
    int interval_ms;                          /* 0: READINESS_INTERVAL_MS */
    int stale_ms;                             /* 0: interval_ms + 10000 */
} readiness_options;

typedef struct readiness readiness;

int readiness_start(readiness **out, const readiness_options *opt, perr *err);

/* One line per check ("NAME: ok" or "NAME: not ready: WHY") to f; returns
 * 1 when every check is ready (also when there are none), else 0. */
int readiness_report(readiness *r, FILE *f);

/* Stops and joins the prober (waits for a check in progress). NULL is ignored. */
void readiness_stop(readiness *r);

#endif
