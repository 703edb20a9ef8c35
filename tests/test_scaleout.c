/* test_scaleout.c — several `precis serve` processes in one consumer group:
 * three daemons (the stub test binary, pretend work of 50-200 ms varying by
 * job, four jobs in flight each, so they finish out of order)
 * against one mock Kafka cluster run as its own process (`precis broker
 * --partitions 6`) and real PostgreSQL (tests/pg_harness.h). 300 jobs are
 * submitted; one daemon is SIGKILLed in the middle of its jobs; the others
 * take over its partitions. At the end every job is done exactly once: one
 * row each, one document and one result each, no result ever rewritten, and
 * only the jobs interrupted by the kill were attempted twice. An offset
 * committed past a job still running (out-of-order completion) would leave
 * that job 'running' forever after the kill: the wait for all done fails. Every wait is bounded:
 * the test fails, it never hangs. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/monotonic.h"
#include "store/store.h"
#include "tests/pg_harness.h"
#include "tests/pg_query.h"
#include "tests/support.h"

#define NJOBS 300
#define NDAEMONS 3
#define PARTITIONS "6"
#define STUB_DELAY "PRECIS_STUB_DELAY_MS=50"
#define STUB_JITTER "PRECIS_STUB_JITTER_MS=150"
#define JOBS_IN_FLIGHT 4
#define WAIT_MS 60000

extern char **environ;

static char *scratch(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *name = NULL, *path = NULL;
    cr_assert(vasprintf(&name, fmt, ap) > 0);
    va_end(ap);
    cr_assert(asprintf(&path, "%s/%s", test_tmpdir(), name) > 0);
    free(name);
    return path;
}

/* ---- PostgreSQL ----------------------------------------------------------- */

/* First column of the first row (malloc'd), NULL when there is none. */
static char *query_text(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    char *v = NULL;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1 && !PQgetisnull(r, 0, 0))
            v = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

static long query_long(const char *conninfo, const char *sql)
{
    char *v = query_text(conninfo, sql);
    long n = v ? atol(v) : -1;
    free(v);
    return n;
}

static void wait_count(const char *conninfo, const char *sql, long want)
{
    long long deadline = monotonic_ms() + WAIT_MS;
    long got;
    while ((got = query_long(conninfo, sql)) < want) {
        cr_assert_lt(monotonic_ms(), deadline, "timed out: '%s' = %ld, want %ld", sql, got, want);
        test_sleep_ms(50);
    }
}

/* ---- processes ------------------------------------------------------------ */

/* `precis broker --partitions 6` in its own process; its bootstrap address. */
static char *start_broker(pid_t *pid, const char *log)
{
    char *argv[] = {(char *)test_precis_bin(), "broker", "--partitions", PARTITIONS, NULL};
    int fd;
    *pid = test_spawn(argv, &fd, log, environ);
    char buf[256] = {0};
    size_t len = 0;
    while (len < sizeof buf - 1 && (len == 0 || buf[len - 1] != '\n')) {
        ssize_t n = read(fd, buf + len, 1);   /* EOF if the broker dies: no hang */
        cr_assert_eq(n, 1, "precis broker printed no address (see %s)", log);
        len++;
    }
    close(fd);
    buf[len - 1] = '\0';
    return strdup(buf);
}

static char *write_config(const char *bootstrap, const char *conninfo)
{
    char *path = scratch("precis.conf");
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "[kafka]\nbootstrap.servers = %s\nsession.timeout.ms = 6000\nheartbeat.interval.ms = 300\n"
               "[postgres]\nconninfo = %s\n[metrics]\nenabled = false\n[pipeline]\nshutdown_grace = 5\n"
               "jobs_in_flight = %d\n", bootstrap, conninfo, JOBS_IN_FLIGHT);
    fclose(f);
    return path;
}

/* NJOBS distinct documents sent with `precis submit`; checks every id came back. */
static void submit_jobs(const char *conf, const char *log)
{
    char *files = NULL;
    size_t files_len = 0;
    FILE *list = open_memstream(&files, &files_len);
    cr_assert(list);
    for (int i = 0; i < NJOBS; i++) {
        char *path = scratch("doc-%03d.txt", i);
        FILE *d = fopen(path, "w");
        cr_assert(d);
        fprintf(d, "scale-out document number %d\n", i);
        fclose(d);
        fprintf(list, " %s", path);
        free(path);
    }
    fclose(list);
    char *cmd = NULL, *ids = NULL;
    cr_assert(asprintf(&cmd, "%s submit -c %s%s 2>>%s", test_precis_bin(), conf, files, log) > 0);
    cr_assert_eq(test_run(cmd, &ids), 0, "submit failed (see %s)", log);
    int nids = 0;
    for (char *p = ids; *p; p++)
        nids += *p == '\n';
    cr_assert_eq(nids, NJOBS, "submit printed %d job ids", nids);
    free(ids);
    free(cmd);
    free(files);
}

/* environ plus the stub delay (pretend work, so a kill lands mid-job). */
static char **daemon_env(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env);
    cr_assert(env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PRECIS_STUB_", 12) != 0)
            env[k++] = environ[i];
    env[k++] = STUB_DELAY;
    env[k] = STUB_JITTER;
    return env;
}

/* The jobs the stopped victim is in the middle of: those running that
 * started longer ago than any job of a live daemon takes (at most 200 ms of
 * pretend work), at most its jobs in flight. Returns how many (ids into
 * jobs, malloc'd, as one newline-separated string). */
static int frozen_jobs(const char *conninfo, char **jobs)
{
    static const char where[] = " FROM jobs WHERE status = 'running' AND started_at < now() - interval '1500 milliseconds'";
    char *count = NULL, *ids = NULL;
    cr_assert(asprintf(&count, "SELECT count(*)%s", where) > 0 &&
              asprintf(&ids, "SELECT string_agg(job_id, E'\\n')%s", where) > 0);
    long n = query_long(conninfo, count);
    cr_assert_leq(n, JOBS_IN_FLIGHT, "%ld jobs stuck in 'running': only the stopped daemon's may be", n);
    *jobs = n > 0 ? query_text(conninfo, ids) : NULL;
    free(count);
    free(ids);
    return (int)n;
}

/* SIGSTOP the victim until it is caught inside jobs, then SIGKILL it.
 * Returns the ids of the jobs it was running (newline-separated, malloc'd). */
static char *kill_mid_job(pid_t victim, const char *conninfo, int *n_killed)
{
    for (int tries = 0; tries < 20; tries++) {
        cr_assert_eq(kill(victim, SIGSTOP), 0);
        test_sleep_ms(2000);   /* well below session.timeout.ms: the group keeps it */
        char *jobs = NULL;
        if ((*n_killed = frozen_jobs(conninfo, &jobs)) > 0) {
            cr_assert_eq(kill(victim, SIGKILL), 0);
            cr_assert_eq(test_wait_exit(victim), 128 + SIGKILL);
            return jobs;
        }
        cr_assert_eq(kill(victim, SIGCONT), 0);
        test_sleep_ms(20 + tries * 7);
    }
    cr_assert_fail("the victim was never caught inside a job");
    return NULL;
}

/* ---- the test ------------------------------------------------------------- */

static void check_exactly_once(const char *conninfo, char *killed_jobs, int n_killed)
{
    cr_expect_eq(query_long(conninfo, "SELECT count(*) FROM jobs"), NJOBS);
    cr_expect_eq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE status = 'done'"), NJOBS);
    cr_expect_eq(query_long(conninfo, "SELECT count(*) FROM documents"), NJOBS, "one document per job");
    cr_expect_eq(query_long(conninfo, "SELECT count(*) FROM results"), NJOBS, "one result per job");
    cr_expect_eq(query_long(conninfo, "SELECT count(DISTINCT job_id) FROM results"), NJOBS);
    cr_expect_eq(query_long(conninfo, "SELECT count(*) FROM results WHERE updated_at <> created_at"), 0,
                 "no result was written twice");
    cr_expect_eq(query_long(conninfo, "SELECT count(*) FROM jobs j JOIN documents d ON d.id = j.document_id"), NJOBS,
                 "every job points at its document");
    char *save = NULL;
    for (char *id = strtok_r(killed_jobs, "\n", &save); id; id = strtok_r(NULL, "\n", &save)) {
        char *sql = NULL;
        cr_assert(asprintf(&sql, "SELECT attempts FROM jobs WHERE status = 'done' AND job_id = '%s'", id) > 0);
        cr_expect_eq(query_long(conninfo, sql), 2, "job %s, running at the kill, was redone by another daemon", id);
        free(sql);
    }
    cr_expect_eq(query_long(conninfo, "SELECT count(*) FROM jobs WHERE attempts <> 1"), n_killed,
                 "every other job ran exactly once");
}

Test(scaleout, three_daemons_six_partitions_one_killed_every_job_done_once, .timeout = 180)
{
    char *conninfo = test_shared_migrated_db();
    char *log = scratch("broker.log");
    pid_t broker;
    char *bootstrap = start_broker(&broker, log);
    char *conf = write_config(bootstrap, conninfo);
    submit_jobs(conf, log);

    char **env = daemon_env();
    char *argv[] = {(char *)test_precis_stub_bin(), "serve", "-c", conf, NULL};
    pid_t daemons[NDAEMONS];
    char *logs[NDAEMONS];
    for (int i = 0; i < NDAEMONS; i++) {
        logs[i] = scratch("serve-%d.log", i);
        daemons[i] = test_spawn(argv, NULL, logs[i], env);
    }
    /* Midway: a third of the jobs done, then kill daemon 0 inside its jobs. */
    wait_count(conninfo, "SELECT count(*) FROM jobs WHERE status = 'done'", NJOBS / 3);
    int n_killed = 0;
    char *killed_jobs = kill_mid_job(daemons[0], conninfo, &n_killed);
    cr_expect_lt(query_long(conninfo, "SELECT count(*) FROM jobs WHERE status = 'done'"), NJOBS,
                 "killed before the end");
    wait_count(conninfo, "SELECT count(*) FROM jobs WHERE status = 'done'", NJOBS);

    for (int i = 1; i < NDAEMONS; i++) {
        kill(daemons[i], SIGTERM);
        cr_expect_eq(test_wait_exit(daemons[i]), 0, "serve exits 0 on SIGTERM (see %s)", logs[i]);
    }
    kill(broker, SIGTERM);
    cr_expect_eq(test_wait_exit(broker), 0);
    check_exactly_once(conninfo, killed_jobs, n_killed);

    for (int i = 0; i < NDAEMONS; i++)
        free(logs[i]);
    free(killed_jobs);
    free(env);
    free(conf);
    free(bootstrap);
    free(log);
    free(conninfo);
}

/* ---- replicas stopped together --------------------------------------------- */

static int log_lines_with(const char *path, const char *needle)
{
    char *text = test_read_file(path, NULL);
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(text);
    return n;
}

/* Both replicas own partitions once each has logged an assignment after the
 * group grew to two (the first member's first assignment is all of them). */
static void wait_both_assigned(const char *log_a, const char *log_b)
{
    long long deadline = monotonic_ms() + WAIT_MS;
    while (log_lines_with(log_a, "partitions assigned\" count=3") == 0 ||
           log_lines_with(log_b, "partitions assigned\" count=3") == 0) {
        cr_assert_lt(monotonic_ms(), deadline, "the two replicas never shared the partitions (see %s, %s)", log_a, log_b);
        test_sleep_ms(50);
    }
}

/* A deploy stops every replica at once. Each must still leave the group
 * cleanly: with librdkafka 2.0 a close whose revoke raced the other member's
 * departure could crash (rd_kafka_rebalance_protocol() NULL) or wait forever
 * in assign() — about one round in twelve on this machine before the daemon
 * learned to hand its partitions back before closing. A race, so several
 * rounds, each stopping at a slightly different moment. */
Test(scaleout, replicas_stopped_together_exit_cleanly, .timeout = 280)
{
    alarm(270);
    char *conninfo = test_shared_migrated_db();
    char *log = scratch("broker.log");
    pid_t broker;
    char *bootstrap = start_broker(&broker, log);
    char *conf = write_config(bootstrap, conninfo);
    char *argv[] = {(char *)test_precis_stub_bin(), "serve", "-c", conf, NULL};
    for (int round = 0; round < 6; round++) {
        char *log_a = scratch("serve-%d-a.log", round), *log_b = scratch("serve-%d-b.log", round);
        pid_t a = test_spawn(argv, NULL, log_a, environ), b = test_spawn(argv, NULL, log_b, environ);
        wait_both_assigned(log_a, log_b);
        test_sleep_ms(round * 60);
        kill(a, SIGTERM);
        kill(b, SIGTERM);
        int exit_a = test_try_wait_exit(a, 30000), exit_b = test_try_wait_exit(b, 30000);
        cr_expect_eq(exit_a, 0, "round %d: replica a exited %d, -1: hung (see %s)", round, exit_a, log_a);
        cr_expect_eq(exit_b, 0, "round %d: replica b exited %d, -1: hung (see %s)", round, exit_b, log_b);
        cr_expect_eq(log_lines_with(log_a, "msg=stopped exit=0"), 1, "round %d: a logged its clean stop", round);
        cr_expect_eq(log_lines_with(log_b, "msg=stopped exit=0"), 1, "round %d: b logged its clean stop", round);
        free(log_a);
        free(log_b);
    }
    kill(broker, SIGTERM);
    cr_expect_eq(test_wait_exit(broker), 0);
    free(conf);
    free(bootstrap);
    free(log);
    free(conninfo);
}
