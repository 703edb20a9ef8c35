/* lifecycle.c — signal thread (sigtimedwait) and sd_notify (see lifecycle.h). */
#include "daemon/lifecycle.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/log.h"
#include "common/monotonic.h"

#define TICK_MS 100

struct lifecycle {
    lifecycle_hooks hooks;
    pthread_t thread;
    atomic_int quit;
    long watchdog_ms;       /* 0: none */
    int stop_signals;       /* SIGTERM/SIGINT seen so far (lifecycle thread only) */
    int64_t stop_at;        /* monotonic ms of the first */
    int forced;
};

static void handled_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

int lifecycle_block_signals(perr *err)
{
    sigset_t set;
    handled_signals(&set);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0) {
        errno = rc;
        return perr_errno(err, "blocking signals");
    }
    return 0;
}

static void force(lifecycle *l, const char *why)
{
    if (l->forced)
        return;
    l->forced = 1;
    log_warn("forcing shutdown", "reason=%s", why);
    if (l->hooks.on_force)
        l->hooks.on_force(l->hooks.ctx);
}

static void on_signal(lifecycle *l, int signo)
{
    if (signo == SIGHUP) {
        log_info("reload requested", "signal=%s", "SIGHUP");
        if (l->hooks.on_reload)
            l->hooks.on_reload(l->hooks.ctx);
        return;
    }
    const char *name = signo == SIGTERM ? "SIGTERM" : "SIGINT";
    if (l->stop_signals++ > 0) {
        force(l, "second stop signal");
        return;
    }
    l->stop_at = monotonic_ms();
    log_info("stop requested", "signal=%s", name);
    if (l->hooks.on_stop)
        l->hooks.on_stop(l->hooks.ctx);
}

static void *lifecycle_main(void *arg)
{
    lifecycle *l = arg;
    sigset_t set;
    handled_signals(&set);
    int64_t next_ping = monotonic_ms();
    while (!atomic_load(&l->quit)) {
        struct timespec tick = {0, TICK_MS * 1000000L};
        int signo = sigtimedwait(&set, NULL, &tick);
        if (signo > 0)
            on_signal(l, signo);
        if (l->stop_signals && l->hooks.force_after_ms > 0 && monotonic_ms() >= l->stop_at + l->hooks.force_after_ms)
            force(l, "grace period over");
        if (l->watchdog_ms && monotonic_ms() >= next_ping) {
            sd_notify(0, "WATCHDOG=1");
            next_ping = monotonic_ms() + l->watchdog_ms;
        }
    }
    return NULL;
}

int lifecycle_start(lifecycle **out, const lifecycle_hooks *hooks, perr *err)
{
    lifecycle *l = calloc(1, sizeof *l);
    if (!l)
        return perr_set(err, "out of memory");
    l->hooks = *hooks;
    atomic_init(&l->quit, 0);
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        l->watchdog_ms = (long)(usec / 2000) > 0 ? (long)(usec / 2000) : 1;
    int rc = pthread_create(&l->thread, NULL, lifecycle_main, l);
    if (rc != 0) {
        free(l);
        errno = rc;
        return perr_errno(err, "starting the signal thread");
    }
    *out = l;
    return 0;
}

void lifecycle_notify_ready(lifecycle *l)
{
    (void)l;
    sd_notify(0, "READY=1");
}

void lifecycle_notify_stopping(lifecycle *l)
{
    (void)l;
    sd_notify(0, "STOPPING=1");
}

long lifecycle_watchdog_interval_ms(const lifecycle *l)
{
    return l->watchdog_ms;
}

void lifecycle_free(lifecycle *l)
{
    if (!l)
        return;
    atomic_store(&l->quit, 1);
    pthread_join(l->thread, NULL);
    free(l);
}
