/* periodic.h — a thread of its own that calls tick(ctx) every interval_ms
 * until stopped: the shape of the daemon's background refreshers (the
 * consumer-lag gauge, the /readyz verdicts). The wait between ticks is on
 * the monotonic clock and ends at once on periodic_stop; a long tick can
 * look at periodic_stopping to end early. */
#ifndef PRECIS_PERIODIC_H
#define PRECIS_PERIODIC_H

#include "common/error.h"

typedef struct periodic periodic;

typedef void (*periodic_fn)(void *ctx);

/* Starts the thread: the first tick at once when first_at_once, else after
 * interval_ms (> 0). *out is set before the first tick runs. */
int periodic_start(periodic **out, int interval_ms, int first_at_once, periodic_fn tick, void *ctx, perr *err);

/* True once periodic_stop was called (thread-safe; for ticks). */
int periodic_stopping(periodic *p);

/* Stops and joins the thread, after a tick in progress. NULL is ignored. */
void periodic_stop(periodic *p);

#endif
