/* time_arg.h — times and durations as people write them on the command
 * line and in [schedule.NAME] window:
 *   duration  a positive integer with a unit: "90m", "24h", "7d", "2w"
 *             (minutes, hours, days of 24 h, weeks); "3600s" seconds
 *   instant   ISO 8601: "2026-01-02" (midnight UTC), "2026-01-02T03:04",
 *             "2026-01-02T03:04:05Z", "2026-01-02 03:04:05+01:00" (no zone
 *             means UTC); or a duration, meaning that long before now
 */
#ifndef PRECIS_TIME_ARG_H
#define PRECIS_TIME_ARG_H

#include <stdint.h>

#include "common/error.h"

/* Longest duration accepted: 10 years. */
#define TIME_ARG_MAX_SECONDS (10LL * 366 * 86400)

int time_arg_duration(const char *text, int64_t *seconds, perr *err);
int time_arg_instant(const char *text, int64_t now, int64_t *t, perr *err);

#endif
