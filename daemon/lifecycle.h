/* lifecycle.h — process signals and systemd notification for `precis serve`.
 *
 * No work happens in a signal handler: there are none. SIGTERM, SIGINT and
 * SIGHUP are blocked in every thread (lifecycle_block_signals, called first
 * thing in main's thread so every later thread — librdkafka's, libpq's,
 * libmicrohttpd's — inherits the mask) and one lifecycle thread takes them
 * with sigtimedwait and calls the hooks from ordinary thread context:
 *   first SIGTERM/SIGINT   on_stop   (stop consuming, finish the job, commit)
 *   SIGHUP                 on_reload
 *   second SIGTERM/SIGINT, or force_after_ms after the first: on_force
 *                          (the caller decides; `serve` exits at once — the
 *                          unfinished job is not committed and is redelivered)
 * Under systemd (NOTIFY_SOCKET set) it sends READY=1 / STOPPING=1 when told
 * and WATCHDOG=1 every WATCHDOG_USEC/2 from the lifecycle thread; without
 * systemd these are no-ops.
 */
#ifndef PRECIS_LIFECYCLE_H
#define PRECIS_LIFECYCLE_H

#include "common/error.h"

typedef struct lifecycle lifecycle;

typedef struct lifecycle_hooks {
    void (*on_stop)(void *ctx);
    void (*on_reload)(void *ctx);
    void (*on_force)(void *ctx);
    void *ctx;
    long force_after_ms;   /* <= 0: only a second signal forces */
} lifecycle_hooks;

/* Block SIGTERM, SIGINT and SIGHUP in the calling thread (and so in every
 * thread it creates afterwards). */
int lifecycle_block_signals(perr *err);

/* Start the lifecycle thread (signals must already be blocked). */
int lifecycle_start(lifecycle **out, const lifecycle_hooks *hooks, perr *err);

void lifecycle_notify_ready(lifecycle *l);
void lifecycle_notify_stopping(lifecycle *l);

/* Milliseconds between watchdog pings (0: no watchdog requested). */
long lifecycle_watchdog_interval_ms(const lifecycle *l);

/* Stop and join the thread. NULL is ignored. */
void lifecycle_free(lifecycle *l);

#endif
