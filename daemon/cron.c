/* cron.c — parsing 5-field cron expressions and finding fire times (see cron.h). */
#include "daemon/cron.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Days searched before giving up (covers the 8-year gap between two 29
 * Februaries around 2100 with room to spare). */
#define CRON_SEARCH_DAYS (10 * 366)

typedef struct cron_field {
    const char *name;
    int lo, hi;
    const char *const *names;   /* names[i] is value lo + i; NULL: numbers only */
} cron_field;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const weekday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const cron_field fields[5] = {
    {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, weekday_names},
};

static const struct {
    const char *macro, *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* ---- parsing ------------------------------------------------------------------ */

/* A number or a name at *s (advanced past it); -1 with err when neither. */
static int parse_value(const cron_field *f, const char **s, int *value, perr *err)
{
    const char *p = *s;
    if (isdigit((unsigned char)*p)) {
        long v = 0;
        while (isdigit((unsigned char)*p) && v <= 1000)
            v = v * 10 + (*p++ - '0');
        if (v < f->lo || v > f->hi)
            return perr_set(err, "%s: %ld is out of range %d-%d", f->name, v, f->lo, f->hi);
        *value = (int)v;
        *s = p;
        return 0;
    }
    for (int i = 0; f->names && f->names[i]; i++) {
        if (g_ascii_strncasecmp(p, f->names[i], 3) == 0 && !isalpha((unsigned char)p[3])) {
            *value = f->lo + i;
            *s = p + 3;
            return 0;
        }
    }
    return perr_set(err, "%s: expected a number%s at \"%.12s\"", f->name, f->names ? " or a name" : "", p);
}

/* One item ("*", "N", "N-M", with "/STEP") of field f into *bits. */
static int parse_item(const cron_field *f, const char *item, uint64_t *bits, perr *err)
{
    int lo = f->lo, hi = f->hi, step = 1;
    const char *p = item;
    if (*p == '*') {
        p++;
    } else {
        if (parse_value(f, &p, &lo, err) != 0)
            return -1;
        if (*p == '-') {
            p++;
            if (parse_value(f, &p, &hi, err) != 0)
                return -1;
            if (hi < lo)
                return perr_set(err, "%s: range %s goes backwards", f->name, item);
        } else if (*p != '/') {
            hi = lo;
        }
    }
    if (*p == '/') {
        p++;
        long s = 0;
        if (!isdigit((unsigned char)*p))
            return perr_set(err, "%s: step in \"%s\" must be a number", f->name, item);
        while (isdigit((unsigned char)*p) && s <= 1000)
            s = s * 10 + (*p++ - '0');
        if (s < 1 || s > f->hi)
            return perr_set(err, "%s: step in \"%s\" must be 1-%d", f->name, item, f->hi);
        step = (int)s;
    }
    if (*p)
        return perr_set(err, "%s: unexpected \"%s\" in \"%s\"", f->name, p, item);
    for (int v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << v;
    return 0;
}

static int parse_field(const cron_field *f, const char *text, uint64_t *bits, perr *err)
{
    *bits = 0;
    gchar **items = g_strsplit(text, ",", -1);
    int rc = 0;
    for (size_t i = 0; rc == 0 && items[i]; i++)
        rc = items[i][0] ? parse_item(f, items[i], bits, err)
                         : perr_set(err, "%s: empty item in \"%s\"", f->name, text);
    g_strfreev(items);
    return rc;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* With day-of-month restricted and day-of-week '*', some month must have one
 * of the days (29 February counts: it comes every four to eight years). */
static int check_can_fire(const cron_expr *c, perr *err)
{
    if (c->days_star || !c->weekdays_star)
        return 0;
    for (int m = 1; m <= 12; m++)
        for (int d = 1; d <= days_in_month(2000, m); d++)
            if ((c->months >> m & 1) && (c->days >> d & 1))
                return 0;
    return perr_set(err, "never fires: none of the months given has any of the days given");
}

static const char *expand_macro(const char *text, perr *err)
{
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
        if (g_ascii_strcasecmp(text, macros[i].macro) == 0)
            return macros[i].expr;
    perr_set(err, "unknown macro \"%.20s\" (known: @yearly @annually @monthly @weekly @daily @midnight @hourly)", text);
    return NULL;
}

int cron_parse(cron_expr *out, const char *text, perr *err)
{
    memset(out, 0, sizeof *out);
    while (isspace((unsigned char)*text))
        text++;
    if (*text == '@') {
        gchar *t = g_strstrip(g_strdup(text));
        const char *expr = expand_macro(t, err);
        g_free(t);
        return expr ? cron_parse(out, expr, err) : -1;
    }
    gchar **parts = g_strsplit_set(text, " \t", -1);
    const char *f[6];
    size_t n = 0;
    for (size_t i = 0; parts[i]; i++)
        if (parts[i][0] && n < 6)
            f[n++] = parts[i];
    uint64_t bits[5] = {0};
    int rc = n == 5 ? 0
                    : perr_set(err, "needs 5 fields (minute hour day-of-month month day-of-week), got %zu", n);
    for (size_t i = 0; rc == 0 && i < 5; i++)
        rc = parse_field(&fields[i], f[i], &bits[i], err);
    if (rc == 0) {
        out->minutes = bits[0];
        out->hours = (uint32_t)bits[1];
        out->days = (uint32_t)bits[2];
        out->months = (uint16_t)bits[3];
        out->weekdays = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f);
        out->days_star = f[2][0] == '*';
        out->weekdays_star = f[4][0] == '*';
        rc = check_can_fire(out, err);
    }
    g_strfreev(parts);
    return rc;
}

int cron_day_matches(const cron_expr *c, int month, int day, int weekday)
{
    if (!(c->months >> month & 1))
        return 0;
    int dom = c->days >> day & 1, dow = c->weekdays >> weekday & 1;
    if (c->days_star || c->weekdays_star)
        return dom && dow;
    return dom || dow;
}

/* ---- searching ------------------------------------------------------------------ */

/* Civil date <-> days since 1970-01-01 (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* The instant of a local time in tz; 0 when it exists (not skipped by a
 * daylight-saving change). */
static int local_instant(GTimeZone *tz, int y, int mo, int d, int h, int mi, int64_t *unix_time)
{
    GDateTime *dt = g_date_time_new(tz, y, mo, d, h, mi, 0);
    if (!dt)
        return -1;
    int exists = g_date_time_get_hour(dt) == h && g_date_time_get_minute(dt) == mi &&
                 g_date_time_get_day_of_month(dt) == d;
    *unix_time = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return exists ? 0 : -1;
}

typedef struct search {
    const cron_expr *c;
    GTimeZone *tz;
    int64_t t;          /* the bound (exclusive) */
    int dir;            /* +1: next after t; -1: previous before t */
} search;

static int beyond(const search *s, int64_t instant)
{
    return s->dir > 0 ? instant > s->t : instant < s->t;
}

/* The first matching time of one local day in search order, from
 * (h0, m0) on when first (the day of t). */
static int search_day(const search *s, int y, int mo, int d, int first, int h0, int m0, int64_t *found)
{
    int h_end = s->dir > 0 ? 24 : -1;
    for (int h = first ? h0 : (s->dir > 0 ? 0 : 23); h != h_end; h += s->dir) {
        if (!(s->c->hours >> h & 1))
            continue;
        int m_end = s->dir > 0 ? 60 : -1;
        int m_start = first && h == h0 ? m0 : (s->dir > 0 ? 0 : 59);
        for (int mi = m_start; mi != m_end; mi += s->dir) {
            int64_t instant;
            if ((s->c->minutes >> mi & 1) && local_instant(s->tz, y, mo, d, h, mi, &instant) == 0 &&
                beyond(s, instant)) {
                *found = instant;
                return 0;
            }
        }
    }
    return -1;
}

static int cron_search(const search *s, int64_t *found, perr *err)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(s->t);
    GDateTime *local = utc ? g_date_time_to_timezone(utc, s->tz) : NULL;
    if (utc)
        g_date_time_unref(utc);
    if (!local)
        return perr_set(err, "time %lld is out of range", (long long)s->t);
    int h0 = g_date_time_get_hour(local), m0 = g_date_time_get_minute(local);
    int64_t day = days_from_civil(g_date_time_get_year(local), g_date_time_get_month(local),
                                  g_date_time_get_day_of_month(local));
    g_date_time_unref(local);
    for (int i = 0; i < CRON_SEARCH_DAYS; i++, day += s->dir) {
        int y, mo, d;
        civil_from_days(day, &y, &mo, &d);
        int weekday = (int)(((day % 7) + 11) % 7);   /* 1970-01-01 was a Thursday (4) */
        if (y < 1 || y > 9998)
            break;
        if (cron_day_matches(s->c, mo, d, weekday) && search_day(s, y, mo, d, i == 0, h0, m0, found) == 0)
            return 0;
    }
    return perr_set(err, "no fire time within ten years");
}

int cron_next(const cron_expr *c, GTimeZone *tz, int64_t after, int64_t *next, perr *err)
{
    search s = {c, tz, after, +1};
    return cron_search(&s, next, err);
}

int cron_prev(const cron_expr *c, GTimeZone *tz, int64_t before, int64_t *prev, perr *err)
{
    search s = {c, tz, before, -1};
    return cron_search(&s, prev, err);
}
