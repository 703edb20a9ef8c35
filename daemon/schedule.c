/* schedule.c — [schedule.NAME] sections as schedules (see schedule.h). */
#include "daemon/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/time_arg.h"

/* Analyses a schedule may run. */
static const char *const scheduled_analyses[] = {"digest", NULL};

static int check_analysis(const char *value, perr *err)
{
    for (size_t i = 0; scheduled_analyses[i]; i++)
        if (strcmp(value, scheduled_analyses[i]) == 0)
            return 0;
    return perr_set(err, "analysis '%s' cannot be scheduled (only: digest)", value);
}

/* A GLib zone for name; NULL when GLib does not know it. */
static GTimeZone *zone_named(const char *name)
{
    if (g_ascii_strcasecmp(name, "UTC") == 0)
        return g_time_zone_new_utc();
    return g_time_zone_new_identifier(name);
}

int schedule_check_setting(const char *key, const char *value, perr *err)
{
    if (strcmp(key, "cron") == 0) {
        cron_expr c;
        if (cron_parse(&c, value, err) != 0)
            return perr_prefix(err, "cron '%s'", value);
    } else if (strcmp(key, "analysis") == 0) {
        return check_analysis(value, err);
    } else if (strcmp(key, "window") == 0) {
        int64_t seconds;
        if (*value && time_arg_duration(value, &seconds, err) != 0)
            return perr_prefix(err, "window");
    } else if (strcmp(key, "timezone") == 0) {
        GTimeZone *tz = zone_named(value);
        if (!tz)
            return perr_set(err, "timezone '%s' is not a known time zone (e.g. UTC, Europe/London)", value);
        g_time_zone_unref(tz);
    } else if (strcmp(key, "collection") == 0 && !*value) {
        return perr_set(err, "collection must not be empty");
    }
    return 0;
}

static int load_one(schedule *s, const config *cfg, const char *name, perr *err)
{
    char section[256];
    snprintf(section, sizeof section, "schedule.%s", name);
    const char *cron = config_get(cfg, section, "cron"), *collection = config_get(cfg, section, "collection");
    const char *analysis = config_get(cfg, section, "analysis"), *window = config_get(cfg, section, "window");
    const char *timezone = config_get(cfg, section, "timezone");
    s->name = g_strdup(name);
    if (!cron || !*cron || !collection || !*collection)
        return perr_set(err, "[%s] needs cron and collection", section);
    s->cron_text = g_strdup(cron);
    s->collection = g_strdup(collection);
    s->analysis = g_strdup(analysis ? analysis : "digest");
    if (cron_parse(&s->cron, cron, err) != 0 || check_analysis(s->analysis, err) != 0 ||
        (window && *window && time_arg_duration(window, &s->window, err) != 0))
        return perr_prefix(err, "[%s]", section);
    if (!(s->tz = zone_named(timezone && *timezone ? timezone : "UTC")))
        return perr_set(err, "[%s] timezone '%s' is not a known time zone", section, timezone);
    return 0;
}

int schedule_set_load(schedule_set *out, const config *cfg, perr *err)
{
    size_t n = config_schedule_count(cfg);
    out->items = g_new0(schedule, n ? n : 1);
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        if (load_one(&out->items[i], cfg, config_schedule_name(cfg, i), err) != 0) {
            schedule_set_clear(out);
            return -1;
        }
    }
    return 0;
}

void schedule_set_clear(schedule_set *set)
{
    for (size_t i = 0; set->items && i < set->n; i++) {
        schedule *s = &set->items[i];
        g_free(s->name);
        g_free(s->collection);
        g_free(s->analysis);
        g_free(s->cron_text);
        if (s->tz)
            g_time_zone_unref(s->tz);
    }
    g_free(set->items);
    memset(set, 0, sizeof *set);
}

int schedule_period(const schedule *s, int64_t fire, int64_t *start, char *key, size_t cap, perr *err)
{
    if (s->window > 0)
        *start = fire - s->window;
    else if (cron_prev(&s->cron, s->tz, fire, start, err) != 0)
        return perr_prefix(err, "schedule %s: previous fire time", s->name);
    time_t t = (time_t)fire;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(key, cap, "%Y-%m-%dT%H:%MZ", &tm) == 0)
        return perr_set(err, "schedule %s: fire time %lld cannot be formatted", s->name, (long long)fire);
    return 0;
}
