/* test_schedule.c — [schedule.NAME]: the cron parser and fire-time search
 * (daemon/cron.h), durations and instants (daemon/time_arg.h), schedule
 * validation in the config (FILE:LINE errors), the period of a fire, the
 * exactly-once claim raced by two connections, a dead replica's claim
 * taken over (and a live one's not), two `precis serve` processes with a
 * "* * * * *" schedule running each period once, and `precis serve`
 * running again a period whose replica died. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/monotonic.h"
#include "common/sha256.h"
#include "daemon/config.h"
#include "daemon/cron.h"
#include "daemon/schedule.h"
#include "daemon/time_arg.h"
#include "store/store.h"
#include "store/store_digest.h"
#include "tests/pg_harness.h"
#include "tests/pg_query.h"
#include "tests/support.h"

extern char **environ;

/* ---- cron ------------------------------------------------------------------ */

/* Unix time of a UTC date-time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    GDateTime *dt = g_date_time_new_utc(y, mo, d, h, mi, 0);
    cr_assert(dt);
    int64_t t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return t;
}

static int64_t next_utc(const char *expr, int64_t after)
{
    cron_expr c;
    perr err;
    cr_assert_eq(cron_parse(&c, expr, &err), 0, "%s: %s", expr, err.msg);
    GTimeZone *tz = g_time_zone_new_utc();
    int64_t next;
    cr_assert_eq(cron_next(&c, tz, after, &next, &err), 0, "%s", err.msg);
    g_time_zone_unref(tz);
    return next;
}

static int64_t prev_utc(const char *expr, int64_t before)
{
    cron_expr c;
    perr err;
    cr_assert_eq(cron_parse(&c, expr, &err), 0, "%s: %s", expr, err.msg);
    GTimeZone *tz = g_time_zone_new_utc();
    int64_t prev;
    cr_assert_eq(cron_prev(&c, tz, before, &prev, &err), 0, "%s", err.msg);
    g_time_zone_unref(tz);
    return prev;
}

Test(schedule, cron_fields_lists_ranges_steps_names)
{
    cron_expr c;
    perr err;
    cr_assert_eq(cron_parse(&c, "*/15 8-18/5 1,15 jan-MAR,Dec mon-fri", &err), 0, "%s", err.msg);
    cr_assert_eq(c.minutes, (1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45));
    cr_assert_eq(c.hours, (1u << 8) | (1u << 13) | (1u << 18));
    cr_assert_eq(c.days, (1u << 1) | (1u << 15));
    cr_assert_eq(c.months, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 12));
    cr_assert_eq(c.weekdays, 0x3e, "monday..friday");
    cr_assert(!c.days_star && !c.weekdays_star);
    cr_assert_eq(cron_parse(&c, "5/20 * * * 7", &err), 0, "%s", err.msg);
    cr_assert_eq(c.minutes, (1ull << 5) | (1ull << 25) | (1ull << 45), "N/STEP runs to the field's end");
    cr_assert_eq(c.weekdays, 1, "7 is Sunday");
    cr_assert_eq(cron_parse(&c, "0 0 * * 5-7", &err), 0);
    cr_assert_eq(c.weekdays, (1 << 5) | (1 << 6) | 1, "fri-sun through 7");
    cr_assert_eq(cron_parse(&c, "  @daily ", &err), 0, "%s", err.msg);
    cr_assert_eq(c.minutes, 1);
    cr_assert_eq(c.hours, 1);
}

Test(schedule, cron_rejects_bad_expressions_with_reasons)
{
    static const struct {
        const char *expr, *needle;
    } cases[] = {
        {"* * * *", "5 fields"},
        {"* * * * * *", "5 fields"},
        {"60 * * * *", "minute: 60 is out of range"},
        {"* 24 * * *", "hour"},
        {"* * 0 * *", "day-of-month"},
        {"* * * 13 *", "month"},
        {"* * * * 8", "day-of-week"},
        {"*/0 * * * *", "step"},
        {"5-1 * * * *", "backwards"},
        {"1,,2 * * * *", "empty item"},
        {"* * * foo *", "month: expected a number or a name"},
        {"* * * * monday", "day-of-week: expected a number or a name"},
        {"1-2-3 * * * *", "unexpected"},
        {"0 0 30 2 *", "never fires"},
        {"0 0 31 4,6,9,11 *", "never fires"},
        {"@reboot", "unknown macro"},
        {"", "5 fields"},
        {"99999999999999999999 * * * *", "out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cron_expr c;
        perr err = {{0}};
        cr_assert_eq(cron_parse(&c, cases[i].expr, &err), -1, "'%s' accepted", cases[i].expr);
        cr_assert(strstr(err.msg, cases[i].needle), "'%s': %s", cases[i].expr, err.msg);
    }
    cron_expr c;
    perr err;
    cr_assert_eq(cron_parse(&c, "0 0 30 2 mon", &err), 0, "with a weekday too, Mondays still fire (OR rule)");
}

Test(schedule, cron_next_and_prev_edge_cases)
{
    /* Every minute: strictly after, also from the middle of a minute. */
    cr_assert_eq(next_utc("* * * * *", utc(2026, 1, 1, 0, 0)), utc(2026, 1, 1, 0, 1));
    cr_assert_eq(next_utc("* * * * *", utc(2026, 1, 1, 0, 0) + 30), utc(2026, 1, 1, 0, 1));
    cr_assert_eq(prev_utc("* * * * *", utc(2026, 1, 1, 0, 0)), utc(2025, 12, 31, 23, 59));
    /* Steps over the hour. */
    cr_assert_eq(next_utc("*/15 * * * *", utc(2026, 1, 1, 10, 46)), utc(2026, 1, 1, 11, 0));
    /* Month ends: the 31st skips short months. */
    cr_assert_eq(next_utc("0 0 31 * *", utc(2026, 1, 31, 0, 0)), utc(2026, 3, 31, 0, 0));
    cr_assert_eq(prev_utc("0 0 31 * *", utc(2026, 3, 30, 0, 0)), utc(2026, 1, 31, 0, 0));
    /* 29 February: next leap year, and 2100 is not one. */
    cr_assert_eq(next_utc("0 12 29 2 *", utc(2025, 3, 1, 0, 0)), utc(2028, 2, 29, 12, 0));
    cr_assert_eq(next_utc("0 12 29 2 *", utc(2096, 3, 1, 0, 0)), utc(2104, 2, 29, 12, 0));
    cr_assert_eq(prev_utc("0 12 29 2 *", utc(2028, 2, 29, 12, 0)), utc(2024, 2, 29, 12, 0));
    /* Day of week: 7 and 0 are Sunday (2026-01-04 is a Sunday). */
    cr_assert_eq(next_utc("0 9 * * 7", utc(2026, 1, 1, 0, 0)), utc(2026, 1, 4, 9, 0));
    cr_assert_eq(next_utc("0 9 * * sun", utc(2026, 1, 1, 0, 0)), utc(2026, 1, 4, 9, 0));
    /* Both day fields restricted: either matches (13th or Friday). */
    cr_assert_eq(next_utc("0 0 13 * fri", utc(2026, 1, 1, 0, 0)), utc(2026, 1, 2, 0, 0), "Friday 2 January");
    cr_assert_eq(next_utc("0 0 13 * fri", utc(2026, 1, 10, 0, 0)), utc(2026, 1, 13, 0, 0), "Tuesday the 13th");
    /* One restricted, the other '*': only the restricted one counts. */
    cr_assert_eq(next_utc("0 0 13 * *", utc(2026, 1, 1, 0, 0)), utc(2026, 1, 13, 0, 0));
    cr_assert_eq(next_utc("0 0 */2 * mon", utc(2026, 1, 1, 0, 0)), utc(2026, 1, 5, 0, 0),
                 "'*/2' starts with '*': an odd day AND a Monday");
    /* Year end. */
    cr_assert_eq(next_utc("59 23 31 12 *", utc(2026, 6, 1, 0, 0)), utc(2026, 12, 31, 23, 59));
    cr_assert_eq(next_utc("0 0 1 1 *", utc(2026, 12, 31, 23, 59)), utc(2027, 1, 1, 0, 0));
}

Test(schedule, cron_in_a_time_zone_with_daylight_saving)
{
    GTimeZone *london = g_time_zone_new_identifier("Europe/London");
    cr_assert(london, "tzdata has Europe/London");
    cron_expr c;
    perr err;
    int64_t t;
    cr_assert_eq(cron_parse(&c, "0 2 * * *", &err), 0);
    /* Winter: 02:00 GMT = 02:00Z; summer: 02:00 BST = 01:00Z. */
    cr_assert_eq(cron_next(&c, london, utc(2026, 1, 10, 12, 0), &t, &err), 0, "%s", err.msg);
    cr_assert_eq(t, utc(2026, 1, 11, 2, 0));
    cr_assert_eq(cron_next(&c, london, utc(2026, 7, 10, 12, 0), &t, &err), 0);
    cr_assert_eq(t, utc(2026, 7, 11, 1, 0));
    /* 2026-03-29 01:30 does not exist in London (clocks go 01:00 -> 02:00). */
    cr_assert_eq(cron_parse(&c, "30 1 * * *", &err), 0);
    cr_assert_eq(cron_next(&c, london, utc(2026, 3, 28, 12, 0), &t, &err), 0);
    cr_assert_eq(t, utc(2026, 3, 30, 0, 30), "the skipped local time does not fire that day");
    g_time_zone_unref(london);
}

/* ---- durations, instants ------------------------------------------------------ */

Test(schedule, durations_and_instants)
{
    int64_t v;
    perr err;
    cr_assert_eq(time_arg_duration("90m", &v, &err), 0);
    cr_assert_eq(v, 5400);
    cr_assert_eq(time_arg_duration("7d", &v, &err), 0);
    cr_assert_eq(v, 7 * 86400);
    cr_assert_eq(time_arg_duration("2w", &v, &err), 0);
    cr_assert_eq(v, 14 * 86400);
    cr_assert_eq(time_arg_duration("0h", &v, &err), -1);
    cr_assert_eq(time_arg_duration("24", &v, &err), -1);
    cr_assert_eq(time_arg_duration("h", &v, &err), -1);
    cr_assert_eq(time_arg_duration("99999999999999999999d", &v, &err), -1);
    cr_assert_eq(time_arg_instant("24h", 100000, &v, &err), 0);
    cr_assert_eq(v, 100000 - 86400);
    cr_assert_eq(time_arg_instant("2026-01-02", 0, &v, &err), 0, "%s", err.msg);
    cr_assert_eq(v, utc(2026, 1, 2, 0, 0));
    cr_assert_eq(time_arg_instant("2026-01-02T03:04", 0, &v, &err), 0, "%s", err.msg);
    cr_assert_eq(v, utc(2026, 1, 2, 3, 4));
    cr_assert_eq(time_arg_instant("2026-01-02 03:04:05Z", 0, &v, &err), 0, "%s", err.msg);
    cr_assert_eq(v, utc(2026, 1, 2, 3, 4) + 5);
    cr_assert_eq(time_arg_instant("2026-01-02T03:04:00+01:00", 0, &v, &err), 0, "%s", err.msg);
    cr_assert_eq(v, utc(2026, 1, 2, 2, 4));
    cr_assert_eq(time_arg_instant("yesterday", 0, &v, &err), -1);
    cr_assert_eq(time_arg_instant("2026-13-01", 0, &v, &err), -1);
}

/* ---- configuration ------------------------------------------------------------- */

static void assert_conf_fails(const char *text, const char *needle)
{
    char *path = test_write_tmp("bad.conf", text);
    char *const no_env[] = {NULL};
    config *cfg = NULL;
    perr err;
    cr_assert_eq(config_load(&cfg, path, no_env, &err), -1, "accepted:\n%s", text);
    cr_assert(strstr(err.msg, needle), "want '%s' in: %s", needle, err.msg);
    free(path);
}

Test(schedule, config_validates_schedule_sections_with_file_line)
{
    assert_conf_fails("[engine]\nthreads = 1\n[schedule.n]\ncollection = c\ncron = 0 25 * * *\n",
                      "bad.conf:5: cron '0 25 * * *': hour: 25 is out of range");
    assert_conf_fails("[schedule.n]\ncron = 0 2 * * *\ncollection = c\nanalysis = summary\n",
                      "bad.conf:4: analysis 'summary' cannot be scheduled (only: digest)");
    assert_conf_fails("[schedule.n]\ncron = 0 2 * * *\ncollection = c\nwindow = 3 days\n", "bad.conf:4: window");
    assert_conf_fails("[schedule.n]\ncron = 0 2 * * *\ncollection = c\ntimezone = Mars/Olympus\n",
                      "bad.conf:4: timezone 'Mars/Olympus'");
    assert_conf_fails("\n[schedule.n]\ncron = 0 2 * * *\n", "bad.conf:2: [schedule.n] needs collection");
    assert_conf_fails("[schedule.n]\ncollection = c\n", "bad.conf:1: [schedule.n] needs cron");
    assert_conf_fails("[schedules]\ncron = 1\n", "unknown section [schedules]");

    char *path = test_write_tmp("good.conf", "[schedule.nightly]\ncron = 0 2 * * mon-fri\ncollection = c\nwindow = 7d\n"
                                             "timezone = Europe/London\n[schedule.hourly]\ncron = @hourly\ncollection = d\n");
    char *const no_env[] = {NULL};
    config *cfg;
    perr err;
    cr_assert_eq(config_load(&cfg, path, no_env, &err), 0, "%s", err.msg);
    schedule_set set;
    cr_assert_eq(schedule_set_load(&set, cfg, &err), 0, "%s", err.msg);
    cr_assert_eq(set.n, 2);
    cr_assert_str_eq(set.items[0].name, "nightly");
    cr_assert_eq(set.items[0].window, 7 * 86400);
    cr_assert_str_eq(set.items[1].analysis, "digest");
    /* Periods: a window counts back from the fire; without one, the previous fire. */
    int64_t start;
    char key[64];
    cr_assert_eq(schedule_period(&set.items[0], utc(2026, 1, 6, 2, 0), &start, key, sizeof key, &err), 0);
    cr_assert_eq(start, utc(2025, 12, 30, 2, 0));
    cr_assert_str_eq(key, "2026-01-06T02:00Z");
    cr_assert_eq(schedule_period(&set.items[1], utc(2026, 1, 6, 0, 0), &start, key, sizeof key, &err), 0);
    cr_assert_eq(start, utc(2026, 1, 5, 23, 0));
    schedule_set_clear(&set);
    config_free(cfg);
    free(path);
}

/* ---- exactly once --------------------------------------------------------------- */

static long query_long(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    long v = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
            v = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

enum { RACE_PERIODS = 40 };

/* A replica racing for the claims. Its connection stays open (the replica
 * stays alive, running what it won) until the test closes it. */
typedef struct racer {
    const char *conninfo, *name;
    pthread_barrier_t *start;
    store *s;
    int won[RACE_PERIODS];
    int failed;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    perr err;
    if (store_connect(&r->s, r->conninfo, &err) != 0)
        r->failed = 1;
    pthread_barrier_wait(r->start);
    for (int i = 0; i < RACE_PERIODS && r->s; i++) {
        char key[32];
        snprintf(key, sizeof key, "2026-01-01T00:%02dZ", i);
        if (store_schedule_claim(r->s, "race", key, "c", r->name, &r->won[i], NULL, &err) != 0)
            r->failed = 1;
    }
    return NULL;
}

Test(schedule, two_connections_racing_claim_each_period_once, .timeout = 120)
{
    char *conninfo = test_shared_migrated_db();
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    racer a = {.conninfo = conninfo, .name = "a:1", .start = &start}, b = {.conninfo = conninfo, .name = "b:2", .start = &start};
    pthread_t ta, tb;
    cr_assert_eq(pthread_create(&ta, NULL, race, &a), 0);
    cr_assert_eq(pthread_create(&tb, NULL, race, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&start);
    cr_assert(!a.failed && !b.failed, "claims failed");
    for (int i = 0; i < RACE_PERIODS; i++)
        cr_assert_eq(a.won[i] + b.won[i], 1, "period %d: exactly one winner (a %d, b %d)", i, a.won[i], b.won[i]);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM schedule_runs WHERE status = 'running'"), RACE_PERIODS);
    /* A later claim of a period its (live) winner runs loses; finishing
     * records the outcome. */
    store *s;
    perr err;
    int won = 1;
    cr_assert_eq(store_connect(&s, conninfo, &err), 0, "%s", err.msg);
    cr_assert_eq(store_schedule_claim(s, "race", "2026-01-01T00:00Z", "c", "late:3", &won, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(won, 0);
    store *winner0 = a.won[0] ? a.s : b.s, *winner1 = a.won[1] ? a.s : b.s;
    cr_assert_eq(store_schedule_finish(winner0, "race", "2026-01-01T00:00Z", NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(store_schedule_finish(winner1, "race", "2026-01-01T00:01Z", "model \xff failed", 0, &err), 0,
                 "%s", err.msg);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM schedule_runs WHERE status = 'done' AND finished_at IS NOT NULL"), 1);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM schedule_runs WHERE status = 'failed' AND error LIKE 'model %'"), 1);
    /* neither finished run is claimed again */
    cr_assert_eq(store_schedule_claim(s, "race", "2026-01-01T00:01Z", "c", "late:3", &won, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(won, 0);
    store_close(s);
    store_close(a.s);
    store_close(b.s);
    free(conninfo);
}

/* A claim whose connection ended (its replica died) is taken over once, by
 * one replica; a live claimer's is not; a finished one is never retaken. */
Test(schedule, a_dead_replicas_claim_is_taken_over_and_a_live_ones_is_not, .timeout = 120)
{
    char *conninfo = test_shared_migrated_db();
    const char *period = "2026-03-01T02:00Z";
    store *a, *b, *c;
    perr err;
    int won = 0, retaken = 1;
    cr_assert_eq(store_connect(&a, conninfo, &err), 0, "%s", err.msg);
    cr_assert_eq(store_connect(&b, conninfo, &err), 0, "%s", err.msg);
    cr_assert_eq(store_connect(&c, conninfo, &err), 0, "%s", err.msg);
    cr_assert_eq(store_schedule_claim(a, "nightly", period, "feed", "a:1", &won, &retaken, &err), 0, "%s", err.msg);
    cr_assert(won && !retaken, "a claims the new period");
    /* a is alive: neither a claim nor a take-over wins */
    cr_assert_eq(store_schedule_claim(b, "nightly", period, "feed", "b:2", &won, &retaken, &err), 0, "%s", err.msg);
    cr_assert_eq(won, 0);
    cr_assert_eq(store_schedule_reclaim(b, "nightly", period, "b:2", &won, &err), 0, "%s", err.msg);
    cr_assert_eq(won, 0, "a live replica's run is not taken over");
    cr_assert_eq(store_schedule_reclaim(c, "nightly", "2026-03-02T02:00Z", "c:3", &won, &err), 0, "%s", err.msg);
    cr_assert_eq(won, 0, "a period nobody claimed is not taken over");
    /* a dies: its connection ends and PostgreSQL drops its lock (the
     * backend may take a moment to exit) */
    store_close(a);
    long long deadline = monotonic_ms() + 20000;
    do {
        cr_assert_eq(store_schedule_reclaim(b, "nightly", period, "b:2", &won, &err), 0, "%s", err.msg);
        if (!won)
            test_sleep_ms(50);
    } while (!won && monotonic_ms() < deadline);
    cr_assert_eq(won, 1, "b takes over the run a died on");
    cr_assert_eq(query_long(conninfo, "SELECT attempts FROM schedule_runs WHERE schedule = 'nightly'"
                                      " AND claimed_by = 'b:2' AND status = 'running'"), 2);
    /* b is alive and running it: c gets nothing, by either call */
    cr_assert_eq(store_schedule_reclaim(c, "nightly", period, "c:3", &won, &err), 0, "%s", err.msg);
    cr_assert_eq(won, 0);
    cr_assert_eq(store_schedule_claim(c, "nightly", period, "feed", "c:3", &won, &retaken, &err), 0, "%s", err.msg);
    cr_assert_eq(won, 0);
    /* b finishes and gives up the lock: a done run stays done */
    cr_assert_eq(store_schedule_finish(b, "nightly", period, NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(store_schedule_reclaim(c, "nightly", period, "c:3", &won, &err), 0, "%s", err.msg);
    cr_assert_eq(won, 0, "a done run is not run again");
    cr_assert_eq(store_schedule_claim(c, "nightly", period, "feed", "c:3", &won, &retaken, &err), 0, "%s", err.msg);
    cr_assert_eq(won, 0);
    cr_assert_eq(query_long(conninfo, "SELECT count(*) FROM schedule_runs WHERE status = 'done' AND attempts = 2"
                                      " AND claimed_by = 'b:2'"), 1);
    /* no lock is left behind by the refused attempts or the finished run;
     * a won claim holds one */
    const char *locks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database ="
                        " (SELECT oid FROM pg_database WHERE datname = current_database())";
    cr_assert_eq(query_long(conninfo, locks), 0);
    cr_assert_eq(store_schedule_claim(c, "nightly", "2026-03-03T02:00Z", "feed", "c:3", &won, &retaken, &err), 0,
                 "%s", err.msg);
    cr_assert(won && !retaken);
    cr_assert_eq(query_long(conninfo, locks), 1);
    store_close(b);
    store_close(c);
    free(conninfo);
}

/* ---- two daemons, one schedule ------------------------------------------------- */

static char *start_broker(pid_t *pid, const char *log)
{
    char *argv[] = {(char *)test_precis_bin(), "broker", "--partitions", "2", NULL};
    int fd;
    *pid = test_spawn(argv, &fd, log, environ);
    char buf[256] = {0};
    size_t len = 0;
    while (len < sizeof buf - 1 && (len == 0 || buf[len - 1] != '\n')) {
        cr_assert_eq(read(fd, buf + len, 1), 1, "precis broker printed no address (see %s)", log);
        len++;
    }
    close(fd);
    buf[len - 1] = '\0';
    return strdup(buf);
}

/* Lines of a file that contain every one of two needles. */
static int count_lines(const char *path, const char *a, const char *b)
{
    char *text = test_read_file(path, NULL);
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        n += strstr(line, a) && strstr(line, b);
    free(text);
    return n;
}

/* Copies a daemon's log to stderr, so a failure in CI shows what it did. */
static void dump_log(const char *path)
{
    char *text = test_read_file(path, NULL);
    fprintf(stderr, "---- %s ----\n%s---- end of %s ----\n", path, text ? text : "(unreadable)\n", path);
    free(text);
}

static void dump_logs(const char *a, const char *b)
{
    dump_log(a);
    dump_log(b);
}

static void wait_for_line(const char *path, const char *needle, long long deadline)
{
    while (count_lines(path, needle, needle) == 0) {
        if (monotonic_ms() >= deadline)
            dump_log(path);
        cr_assert_lt(monotonic_ms(), deadline, "no '%s' in %s", needle, path);
        test_sleep_ms(100);
    }
}

/* Whether a replica's log says it ran or skipped the period. */
static int replica_saw_period(const char *log, const char *period)
{
    return count_lines(log, "scheduled digest starts", period) + count_lines(log, "claimed by another replica", period);
}

static void seed_summaries(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(c), CONNECTION_OK);
    for (int i = 0; i < 3; i++) {
        char sha[65], title[64], text[32];
        snprintf(text, sizeof text, "doc %d", i);
        sha256_hex(text, strlen(text), sha);
        snprintf(title, sizeof title, "Feed item %d", i);
        const char *params[] = {sha, title};
        PGresult *r = PQexecParams(c,
            "WITH d AS (INSERT INTO documents (sha256, source, title, text) VALUES ($1, $2, $2, 'x') RETURNING id),"
            " dc AS (INSERT INTO document_collections (collection, document_id) SELECT 'feed', id FROM d)"
            " INSERT INTO results (document_id, analysis, prompt_name, prompt_version, model_name, model_sha256, output)"
            " SELECT id, 'summary', 'summary', 'v', 'm', 's', jsonb_build_object('summary', 'news about ' || $2) FROM d",
            2, NULL, params, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
}

/* What `precis serve` needs around it: a broker (`precis broker`) and a
 * config naming it, the database, the synthetic model, the repository's
 * prompts and one schedule section. */
typedef struct serve_env {
    pid_t broker;
    char *bootstrap, *model;
    char conf[512];
} serve_env;

static void serve_env_start(serve_env *e, const char *conninfo, const char *schedule_section)
{
    char broker_log[512], prompts[4096];
    snprintf(broker_log, sizeof broker_log, "%s/broker.log", test_tmpdir());
    snprintf(e->conf, sizeof e->conf, "%s/precis.conf", test_tmpdir());
    cr_assert(getcwd(prompts, sizeof prompts - 16));
    strcat(prompts, "/prompts");
    e->model = test_model_path("synth-d256-q8_0.gguf");
    e->bootstrap = start_broker(&e->broker, broker_log);
    FILE *f = fopen(e->conf, "w");
    cr_assert(f);
    fprintf(f, "[kafka]\nbootstrap.servers = %s\nsession.timeout.ms = 6000\nheartbeat.interval.ms = 300\n"
               "[postgres]\nconninfo = %s\n[engine]\nmodel = %s\nctx_size = 2048\nthreads = 1\n"
               "[pipeline]\nprompts_dir = %s\n[metrics]\nenabled = false\n%s",
            e->bootstrap, conninfo, e->model, prompts, schedule_section);
    fclose(f);
}

/* Starts `precis serve -c CONF` logging to log. */
static pid_t serve_env_spawn(const serve_env *e, const char *log)
{
    char *argv[] = {(char *)test_precis_bin(), "serve", "-c", (char *)e->conf, NULL};
    return test_spawn(argv, NULL, log, environ);
}

static void serve_env_stop(serve_env *e)
{
    kill(e->broker, SIGTERM);
    test_wait_exit(e->broker);
    free(e->bootstrap);
    free(e->model);
}

Test(schedule, two_daemons_run_each_period_once, .timeout = 300)
{
    alarm(280);
    char *conninfo = test_shared_migrated_db();
    seed_summaries(conninfo);
    char log_a[512], log_b[512];
    snprintf(log_a, sizeof log_a, "%s/serve-a.log", test_tmpdir());
    snprintf(log_b, sizeof log_b, "%s/serve-b.log", test_tmpdir());
    serve_env env;
    serve_env_start(&env, conninfo, "[schedule.each]\ncron = * * * * *\ncollection = feed\nwindow = 1d\n");
    pid_t a = serve_env_spawn(&env, log_a);
    pid_t b = serve_env_spawn(&env, log_b);
    long long deadline = monotonic_ms() + 120000;
    wait_for_line(log_a, "schedule active", deadline);
    wait_for_line(log_b, "schedule active", deadline);
    /* The first fire after both are up: the next minute boundary. */
    int64_t fire = ((int64_t)time(NULL) / 60 + 1) * 60;
    time_t ft = (time_t)fire;
    struct tm tm;
    gmtime_r(&ft, &tm);
    char key[32], sql[256], period[64];
    strftime(key, sizeof key, "%Y-%m-%dT%H:%MZ", &tm);
    snprintf(period, sizeof period, "period=%s", key);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM schedule_runs WHERE period_key = '%s' AND status <> 'running'", key);
    deadline = monotonic_ms() + 200000;
    while (query_long(conninfo, sql) < 1) {
        if (monotonic_ms() >= deadline)
            dump_logs(log_a, log_b);
        cr_assert_lt(monotonic_ms(), deadline, "period %s never finished (see %s, %s)", key, log_a, log_b);
        test_sleep_ms(250);
    }
    /* The replica that lost the claim may tick a moment after the winner
     * finished (each ticks between Kafka polls): wait for both to say. */
    while (!replica_saw_period(log_a, period) || !replica_saw_period(log_b, period)) {
        if (monotonic_ms() >= deadline)
            dump_logs(log_a, log_b);
        cr_assert_lt(monotonic_ms(), deadline, "a replica never ran or skipped %s (see %s, %s)", key, log_a, log_b);
        test_sleep_ms(100);
    }
    kill(a, SIGTERM);
    kill(b, SIGTERM);
    int exit_a = test_try_wait_exit(a, 30000), exit_b = test_try_wait_exit(b, 30000);
    serve_env_stop(&env);
    if (exit_a != 0 || exit_b != 0)
        dump_logs(log_a, log_b);
    cr_assert_eq(exit_a, 0, "replica a exited %d, -1: not within 30 s (see %s)", exit_a, log_a);
    cr_assert_eq(exit_b, 0, "replica b exited %d, -1: not within 30 s (see %s)", exit_b, log_b);

    snprintf(sql, sizeof sql, "SELECT count(*) FROM schedule_runs WHERE period_key = '%s' AND status = 'done'"
                              " AND digest_id IS NOT NULL", key);
    long done = query_long(conninfo, sql);
    if (done != 1)
        dump_logs(log_a, log_b);
    cr_assert_eq(done, 1, "the period's run is done (see %s, %s)", log_a, log_b);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM digests WHERE period_key = '%s' AND schedule = 'each'"
                              " AND collection = 'feed' AND document_count = 3", key);
    cr_assert_eq(query_long(conninfo, sql), 1, "one digest for the period");
    int started = count_lines(log_a, "scheduled digest starts", period) + count_lines(log_b, "scheduled digest starts", period);
    int skipped = count_lines(log_a, "claimed by another replica", period) +
                  count_lines(log_b, "claimed by another replica", period);
    if (started != 1 || skipped != 1)
        dump_logs(log_a, log_b);
    cr_assert_eq(started, 1, "exactly one replica ran %s", key);
    cr_assert_eq(skipped, 1, "the other replica skipped %s", key);
    free(conninfo);
}

static void exec_sql(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* A replica died while running last month's period (its row says 'running'
 * and nobody holds its lock): a daemon that starts takes it over and makes
 * the digest, with the documents of that period's window. */
Test(schedule, serve_runs_again_a_period_whose_replica_died, .timeout = 300)
{
    alarm(280);
    char *conninfo = test_shared_migrated_db();
    seed_summaries(conninfo);
    const int64_t fire = prev_utc("0 0 1 * *", (int64_t)time(NULL) + 1);
    const time_t ft = (time_t)fire;
    struct tm tm;
    gmtime_r(&ft, &tm);
    char key[32], sql[512], period[64];
    strftime(key, sizeof key, "%Y-%m-%dT%H:%MZ", &tm);
    snprintf(period, sizeof period, "period=%s", key);
    snprintf(sql, sizeof sql, "UPDATE document_collections SET added_at = to_timestamp(%lld)", (long long)fire - 3600);
    exec_sql(conninfo, sql);
    snprintf(sql, sizeof sql, "INSERT INTO schedule_runs (schedule, period_key, collection, claimed_by, claimed_at)"
                              " VALUES ('monthly', '%s', 'feed', 'dead:1', to_timestamp(%lld))", key, (long long)fire);
    exec_sql(conninfo, sql);

    char log[512];
    snprintf(log, sizeof log, "%s/serve.log", test_tmpdir());
    serve_env env;
    serve_env_start(&env, conninfo, "[schedule.monthly]\ncron = 0 0 1 * *\ncollection = feed\nwindow = 1d\n");
    pid_t serve = serve_env_spawn(&env, log);

    snprintf(sql, sizeof sql, "SELECT count(*) FROM schedule_runs WHERE period_key = '%s' AND status = 'done'"
                              " AND attempts = 2 AND claimed_by <> 'dead:1' AND digest_id IS NOT NULL", key);
    long long deadline = monotonic_ms() + 200000;
    while (query_long(conninfo, sql) < 1) {
        if (monotonic_ms() >= deadline)
            dump_log(log);
        cr_assert_lt(monotonic_ms(), deadline, "the dead replica's period %s was not run again (see %s)", key, log);
        test_sleep_ms(250);
    }
    kill(serve, SIGTERM);
    int exit_code = test_try_wait_exit(serve, 30000);
    serve_env_stop(&env);
    if (exit_code != 0 || count_lines(log, "taken over", period) != 1)
        dump_log(log);
    cr_assert_eq(exit_code, 0, "serve exited %d (see %s)", exit_code, log);
    cr_assert_eq(count_lines(log, "taken over", period), 1, "the log says the run was taken over");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM digests WHERE period_key = '%s' AND schedule = 'monthly'"
                              " AND collection = 'feed' AND document_count = 3", key);
    cr_assert_eq(query_long(conninfo, sql), 1, "one digest for the period, with its window's documents");
    free(conninfo);
}
