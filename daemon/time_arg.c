/* time_arg.c — parsing durations and instants (see time_arg.h). */
#include "daemon/time_arg.h"

#include <ctype.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

int time_arg_duration(const char *text, int64_t *seconds, perr *err)
{
    const char *p = text;
    long long n = 0;
    if (!isdigit((unsigned char)*p))
        return perr_set(err, "\"%.40s\" is not a duration (e.g. 90m, 24h, 7d, 2w)", text);
    while (isdigit((unsigned char)*p) && n <= TIME_ARG_MAX_SECONDS)
        n = n * 10 + (*p++ - '0');
    long long unit = 0;
    switch (p[0] && !p[1] ? p[0] : 0) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return perr_set(err, "\"%.40s\" is not a duration (e.g. 90m, 24h, 7d, 2w)", text);
    }
    if (n < 1 || n > TIME_ARG_MAX_SECONDS / unit)
        return perr_set(err, "duration \"%.40s\" must be positive and at most 10 years", text);
    *seconds = n * unit;
    return 0;
}

/* "2026-01-02" -> "2026-01-02T00:00:00"; a space between date and time
 * becomes 'T'. Returns a g_malloc'd string. */
static char *normalized_iso(const char *text)
{
    size_t n = strlen(text);
    if (n == 10)
        return g_strdup_printf("%sT00:00:00", text);
    char *copy = g_strdup(text);
    if (n > 10 && copy[10] == ' ')
        copy[10] = 'T';
    /* "2026-01-02T03:04" (no seconds) -> add ":00" before any zone. */
    if (n >= 16 && (n == 16 || copy[16] == 'Z' || copy[16] == '+' || copy[16] == '-')) {
        char *with = g_strdup_printf("%.16s:00%s", copy, copy + 16);
        g_free(copy);
        copy = with;
    }
    return copy;
}

int time_arg_instant(const char *text, int64_t now, int64_t *t, perr *err)
{
    if (isdigit((unsigned char)text[0]) && strlen(text) < 10) {
        int64_t d;
        if (time_arg_duration(text, &d, err) != 0)
            return -1;
        *t = now - d;
        return 0;
    }
    char *iso = normalized_iso(text);
    GTimeZone *utc = g_time_zone_new_utc();
    GDateTime *dt = g_date_time_new_from_iso8601(iso, utc);
    g_time_zone_unref(utc);
    g_free(iso);
    if (!dt)
        return perr_set(err, "\"%.40s\" is neither an ISO 8601 time (2026-01-02T03:04:05Z) nor a duration (24h, 7d)",
                        text);
    *t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return 0;
}
