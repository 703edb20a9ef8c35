/* cron.h — 5-field cron expressions for [schedule.NAME] cron: parsing and
 * the next / previous fire time in a time zone.
 *
 *   minute hour day-of-month month day-of-week
 *   0-59   0-23 1-31         1-12  0-7 (0 and 7 are Sunday)
 *
 * Each field is a comma-separated list of items: "*", "N", "N-M", each
 * optionally followed by "/STEP" ("*\/15", "8-18/2"; "N/STEP" means N to
 * the field's maximum). Months and weekdays may be written as names
 * (jan..dec, sun..sat, any case), also in ranges ("mon-fri"). The macros
 * @yearly (@annually), @monthly, @weekly, @daily (@midnight) and @hourly
 * stand for their usual expressions.
 *
 * Day rule (as Vixie cron and POSIX): when both day-of-month and
 * day-of-week are restricted (neither field starts with '*'), a day
 * matches if EITHER matches ("0 0 13 * fri": every 13th and every Friday);
 * otherwise both must match (a '*' field matches every day).
 *
 * Times are evaluated in a GLib time zone (UTC unless the schedule says
 * otherwise). A local time skipped by a daylight-saving change does not
 * fire that day; a repeated local time fires once (GLib takes the standard-
 * time instance). An expression that can never fire ("0 0 30 2 *") is
 * rejected when parsed.
 */
#ifndef PRECIS_CRON_H
#define PRECIS_CRON_H

#include <glib.h>
#include <stdint.h>

#include "common/error.h"

typedef struct cron_expr {
    uint64_t minutes;     /* bit m: minute m (0..59) */
    uint32_t hours;       /* bit h: hour h (0..23) */
    uint32_t days;        /* bit d: day of month d (1..31) */
    uint16_t months;      /* bit m: month m (1..12) */
    uint8_t weekdays;     /* bit w: weekday w, Sunday = 0 (7 is folded into 0) */
    int days_star;        /* the day-of-month field starts with '*' */
    int weekdays_star;    /* the day-of-week field starts with '*' */
} cron_expr;

/* Parse text; err names the field and what is wrong. */
int cron_parse(cron_expr *out, const char *text, perr *err);

/* Does the day (year, month 1..12, day 1..31, weekday 0..6 Sunday = 0)
 * match the day fields, month included? */
int cron_day_matches(const cron_expr *c, int month, int day, int weekday);

/* The first fire time strictly after `after` (Unix seconds), evaluated in
 * tz; -1 with err only when none exists within ten years (cannot happen
 * for a parsed expression) or the time is out of range. */
int cron_next(const cron_expr *c, GTimeZone *tz, int64_t after, int64_t *next, perr *err);

/* The last fire time strictly before `before`. */
int cron_prev(const cron_expr *c, GTimeZone *tz, int64_t before, int64_t *prev, perr *err);

#endif
