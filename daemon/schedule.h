/* schedule.h — the [schedule.NAME] sections of the configuration as
 * schedules: when each fires and which period a fire covers.
 *
 *   [schedule.nightly]
 *   cron = 0 2 * * *          5-field cron (daemon/cron.h), required
 *   collection = contracts    required
 *   analysis = digest         the only scheduled analysis so far
 *   window = 24h              optional duration (daemon/time_arg.h); unset:
 *                             since the previous fire time
 *   timezone = UTC            IANA zone name the cron fields are read in
 *                             ("Europe/London"); default UTC
 *
 * A fire at time F covers the window [F - window, F) — or [previous fire
 * time, F) without window — and has the period key F as
 * "YYYY-MM-DDTHH:MMZ" (UTC). Both depend only on the configuration and F,
 * so every replica computes the same key for the same fire.
 */
#ifndef PRECIS_SCHEDULE_H
#define PRECIS_SCHEDULE_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "daemon/config.h"
#include "daemon/cron.h"

typedef struct schedule {
    char *name;               /* NAME of [schedule.NAME] */
    char *collection;
    char *analysis;
    char *cron_text;
    cron_expr cron;
    GTimeZone *tz;
    int64_t window;           /* seconds; 0: since the previous fire time */
} schedule;

typedef struct schedule_set {
    schedule *items;
    size_t n;
} schedule_set;

/* Validate one key of a [schedule.NAME] section (for the config loader, so
 * a bad value is a FILE:LINE error): cron parses, analysis is "digest",
 * window is a duration, timezone is a known zone. Other keys: 0. */
int schedule_check_setting(const char *key, const char *value, perr *err);

/* Every schedule of cfg; err names the section of a missing cron or
 * collection. */
int schedule_set_load(schedule_set *out, const config *cfg, perr *err);
void schedule_set_clear(schedule_set *set);

/* The period of the fire at time fire: window [*start, fire) and key. */
int schedule_period(const schedule *s, int64_t fire, int64_t *start, char *key, size_t cap, perr *err);

#endif
