/* test_metrics.c — metrics rendering (exposition format) and the HTTP
 * endpoint (/metrics, /healthz, /readyz) scraped over loopback. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/monotonic.h"
#include "daemon/job_handler.h"
#include "daemon/metrics.h"
#include "daemon/metrics_http.h"
#include "tests/stub_analyzer.h"
#include "tests/support.h"

extern char **environ;

static int contains_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/* One HTTP/1.0 request to 127.0.0.1:port; returns the whole response. */
static char *http(int port, const char *method, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect to port %d", port);
    char req[256];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n", method, path);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while ((got = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)got;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static int status_of(const char *response)
{
    int status = 0;
    return sscanf(response, "HTTP/1.%*d %d", &status) == 1 ? status : -1;
}

static metrics *sample_metrics(void)
{
    metrics *m = metrics_new();
    cr_assert(m);
    for (int i = 0; i < 3; i++)
        metrics_job_consumed(m);
    metrics_job_succeeded(m);
    metrics_job_succeeded(m);
    metrics_job_failed(m);
    metrics_job_dead_lettered(m);
    metrics_observe_job(m, 0.3);
    metrics_observe_job(m, 4.0);
    metrics_observe_job(m, 5000);   /* beyond the last bound: only +Inf */
    metrics_observe_stage(m, "extract", 0.2);
    metrics_observe_stage(m, "generate", 12);
    metrics_observe_stage(m, "Bad Name", 1);   /* ignored */
    metrics_add_tokens(m, 100, 40);
    metrics_add_cached_tokens(m, 60);
    metrics_set_consumer_lag(m, 7);
    return m;
}

Test(metrics, render_exposition_format)
{
    metrics *m = sample_metrics();
    char *text = metrics_render(m, NULL);
    cr_assert(text);
    cr_assert(contains_line(text, "# TYPE precis_jobs_consumed_total counter"), "%s", text);
    cr_assert(contains_line(text, "precis_jobs_consumed_total 3"), "%s", text);
    cr_assert(contains_line(text, "precis_jobs_succeeded_total 2"));
    cr_assert(contains_line(text, "precis_jobs_failed_total 1"));
    cr_assert(contains_line(text, "precis_jobs_dead_lettered_total 1"));
    cr_assert(contains_line(text, "precis_tokens_in_total 100"));
    cr_assert(contains_line(text, "precis_tokens_out_total 40"));
    cr_assert(contains_line(text, "precis_tokens_cached_total 60"), "%s", text);
    cr_assert(contains_line(text, "# TYPE precis_consumer_lag gauge"));
    cr_assert(contains_line(text, "precis_consumer_lag 7"));
    cr_assert(contains_line(text, "# TYPE precis_job_duration_seconds histogram"));
    cr_assert(contains_line(text, "precis_job_duration_seconds_bucket{le=\"0.25\"} 0"), "%s", text);
    cr_assert(contains_line(text, "precis_job_duration_seconds_bucket{le=\"0.5\"} 1"), "%s", text);
    cr_assert(contains_line(text, "precis_job_duration_seconds_bucket{le=\"5\"} 2"), "cumulative: %s", text);
    cr_assert(contains_line(text, "precis_job_duration_seconds_bucket{le=\"3600\"} 2"), "%s", text);
    cr_assert(contains_line(text, "precis_job_duration_seconds_bucket{le=\"+Inf\"} 3"), "%s", text);
    cr_assert(contains_line(text, "precis_job_duration_seconds_count 3"));
    cr_assert(contains_line(text, "precis_job_duration_seconds_sum 5004.300000"), "%s", text);
    cr_assert(contains_line(text, "precis_stage_duration_seconds_bucket{stage=\"extract\",le=\"0.25\"} 1"), "%s",
              text);
    cr_assert(contains_line(text, "precis_stage_duration_seconds_bucket{stage=\"generate\",le=\"10\"} 0"));
    cr_assert(contains_line(text, "precis_stage_duration_seconds_bucket{stage=\"generate\",le=\"30\"} 1"));
    cr_assert(contains_line(text, "precis_stage_duration_seconds_count{stage=\"generate\"} 1"), "%s", text);
    cr_assert(contains_line(text, "precis_stage_duration_seconds_sum{stage=\"extract\"} 0.200000"), "%s", text);
    cr_assert_null(strstr(text, "Bad Name"));
    /* Every non-comment line is "name[{labels}] value". */
    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        cr_assert_eq(strncmp(line, "precis_", 7), 0, "%s", line);
        char *space = strrchr(line, ' ');
        cr_assert(space && space[1], "%s", line);
        char *end;
        strtod(space + 1, &end);
        cr_assert_eq(*end, '\0', "value of '%s'", line);
    }
    free(copy);
    free(text);
    metrics_free(m);
}

static int always_ready(void *ctx, perr *err)
{
    (void)ctx;
    (void)err;
    return 0;
}

static int never_ready(void *ctx, perr *err)
{
    return perr_set(err, "%s", (const char *)ctx);
}

static void fake_engine(void *ctx, metrics_engine_totals *out)
{
    (void)ctx;
    *out = (metrics_engine_totals){.passes = 40, .sequences = 250, .prompt_tokens = 1200, .generated_tokens = 210,
                                   .draft_proposed = 90, .draft_accepted = 55};
}

Test(metrics, engine_totals_and_jobs_in_flight_are_exposed)
{
    metrics *m = metrics_new();
    cr_assert(m);
    char *text = metrics_render(m, NULL);
    cr_assert(contains_line(text, "precis_batch_occupancy 0.000"), "no probe yet: %s", text);
    cr_assert(contains_line(text, "precis_jobs_in_flight 0"), "%s", text);
    free(text);
    metrics_set_engine_probe(m, fake_engine, NULL);
    metrics_jobs_in_flight_add(m, 1);
    metrics_jobs_in_flight_add(m, 1);
    metrics_jobs_in_flight_add(m, 1);
    metrics_jobs_in_flight_add(m, -1);
    text = metrics_render(m, NULL);
    cr_assert(contains_line(text, "# TYPE precis_jobs_in_flight gauge"), "%s", text);
    cr_assert(contains_line(text, "precis_jobs_in_flight 2"), "%s", text);
    cr_assert_eq(metrics_jobs_in_flight(m), 2);
    cr_assert(contains_line(text, "precis_engine_forward_passes_total 40"), "%s", text);
    cr_assert(contains_line(text, "precis_engine_sequences_total 250"), "%s", text);
    cr_assert(contains_line(text, "# TYPE precis_batch_occupancy gauge"), "%s", text);
    cr_assert(contains_line(text, "precis_batch_occupancy 6.250"), "%s", text);
    cr_assert(contains_line(text, "precis_engine_prompt_tokens_total 1200"), "%s", text);
    cr_assert(contains_line(text, "precis_engine_generated_tokens_total 210"), "%s", text);
    cr_assert(contains_line(text, "precis_engine_draft_tokens_proposed_total 90"), "%s", text);
    cr_assert(contains_line(text, "precis_engine_draft_tokens_accepted_total 55"), "%s", text);
    free(text);
    metrics_free(m);
}

Test(metrics, scrape_over_loopback)
{
    metrics *m = sample_metrics();
    readiness_check checks[] = {{"kafka", always_ready, NULL}, {"postgres", never_ready, "connection refused"}};
    metrics_server_options o = {.listen = "127.0.0.1:0", .metrics = m, .checks = checks, .nchecks = 2};
    metrics_server *s;
    perr err;
    cr_assert_eq(metrics_server_start(&s, &o, &err), 0, "%s", err.msg);
    int port = metrics_server_port(s);
    cr_assert_gt(port, 0);

    char *r = http(port, "GET", "/metrics");
    cr_assert_eq(status_of(r), 200, "%s", r);
    cr_assert(strstr(r, "Content-Type: text/plain; version=0.0.4"), "%s", r);
    cr_assert(contains_line(r, "precis_jobs_consumed_total 3"), "%s", r);
    cr_assert(contains_line(r, "precis_job_duration_seconds_bucket{le=\"+Inf\"} 3"), "%s", r);
    free(r);

    r = http(port, "GET", "/healthz");
    cr_assert_eq(status_of(r), 200, "%s", r);
    free(r);

    r = http(port, "GET", "/readyz");
    cr_assert_eq(status_of(r), 503, "%s", r);
    cr_assert(contains_line(r, "kafka: ok"), "%s", r);
    cr_assert(contains_line(r, "postgres: not ready: connection refused"), "%s", r);
    free(r);

    r = http(port, "GET", "/nope");
    cr_assert_eq(status_of(r), 404, "%s", r);
    free(r);
    r = http(port, "POST", "/metrics");
    cr_assert_eq(status_of(r), 405, "%s", r);
    free(r);
    metrics_server_stop(s);
    metrics_free(m);
}

Test(metrics, readyz_ok_when_all_checks_pass)
{
    metrics *m = metrics_new();
    readiness_check checks[] = {{"kafka", always_ready, NULL}};
    metrics_server_options o = {.listen = "127.0.0.1:0", .metrics = m, .checks = checks, .nchecks = 1};
    metrics_server *s;
    perr err;
    cr_assert_eq(metrics_server_start(&s, &o, &err), 0, "%s", err.msg);
    char *r = http(metrics_server_port(s), "GET", "/readyz");
    cr_assert_eq(status_of(r), 200, "%s", r);
    free(r);
    metrics_server_stop(s);
    metrics_free(m);
}

Test(metrics, bad_listen_addresses_are_rejected)
{
    metrics *m = metrics_new();
    const char *bad[] = {"9464", "localhost:9464", "127.0.0.1:", "127.0.0.1:70000", "[::1:9464", "1.2.3.4:x", NULL};
    for (size_t i = 0; bad[i]; i++) {
        metrics_server_options o = {.listen = bad[i], .metrics = m};
        metrics_server *s = NULL;
        perr err;
        cr_assert_eq(metrics_server_start(&s, &o, &err), -1, "%s accepted", bad[i]);
        cr_assert(strstr(err.msg, bad[i]), "message names the address: %s", err.msg);
    }
    metrics_free(m);
}

/* A "database" on loopback that accepts TCP (the kernel completes the
 * handshake into the backlog) and never answers: nobody accepts or reads. */
static int hung_database(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(fd, 64), 0);
    socklen_t len = sizeof sa;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A request sent and not yet read: the connection's fd. */
static int send_request(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = {15, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    return fd;
}

static int read_status(int fd)
{
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = '\0';
    return status_of(buf);
}

/* Issue #18: every /readyz opened a PostgreSQL connection on the HTTP thread
 * (connect_timeout 10 s), so with a database that accepts and never answers,
 * /healthz waited ~10 s behind it: past the container health check's 5 s. */
Test(metrics, healthz_never_waits_for_a_hung_database)
{
    int db_port;
    int db = hung_database(&db_port);
    char conninfo[160];
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d user=precis dbname=precis", db_port);
    job_handler_state *h;
    perr err;
    job_handler_options ho = {.conninfo = conninfo, .analyzer = {stub_analyze, NULL}};
    cr_assert_eq(job_handler_new(&h, &ho, &err), 0, "%s", err.msg);
    metrics *m = metrics_new();
    readiness_check checks[] = {{"kafka", always_ready, NULL}, {"postgres", job_handler_pg_ready, h}};
    metrics_server_options o = {.listen = "127.0.0.1:0", .metrics = m, .checks = checks, .nchecks = 2};
    metrics_server *s;
    cr_assert_eq(metrics_server_start(&s, &o, &err), 0, "%s", err.msg);
    int port = metrics_server_port(s);

    for (int round = 0; round < 3; round++) {
        int64_t t0 = monotonic_ms();
        int readyz = send_request(port, "/readyz");   /* in flight while /healthz is asked */
        char *r = http(port, "GET", "/healthz");
        int64_t healthz_ms = monotonic_ms() - t0;
        cr_assert_eq(status_of(r), 200, "%s", r);
        free(r);
        cr_assert_lt(healthz_ms, 1000, "/healthz took %lld ms", (long long)healthz_ms);
        cr_assert_eq(read_status(readyz), 503);
        int64_t readyz_ms = monotonic_ms() - t0;
        cr_assert_lt(readyz_ms, 1000, "/readyz took %lld ms", (long long)readyz_ms);
    }
    char *r = http(port, "GET", "/readyz");
    cr_assert_eq(status_of(r), 503, "%s", r);
    cr_assert(contains_line(r, "kafka: ok"), "%s", r);
    cr_assert(strstr(r, "postgres: not ready: "), "%s", r);
    free(r);
    metrics_server_stop(s);
    metrics_free(m);
    job_handler_free(h);
    close(db);
}

/* ok at once the first time, then hangs 1.5 s per call */
static int hangs_after_first(void *ctx, perr *err)
{
    (void)err;
    int *calls = ctx;
    if ((*calls)++ > 0)
        test_sleep_ms(1500);
    return 0;
}

/* An "ok" verdict does not outlive a check stuck in a hung dependency. */
Test(metrics, readiness_verdict_goes_stale_when_a_check_hangs)
{
    int calls = 0;
    readiness_check checks[] = {{"postgres", hangs_after_first, &calls}};
    readiness_options o = {.checks = checks, .nchecks = 1, .interval_ms = 100, .stale_ms = 400};
    readiness *r;
    perr err;
    cr_assert_eq(readiness_start(&r, &o, &err), 0, "%s", err.msg);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(readiness_report(r, f), 1, "the first round ran before readiness_start returned");
    fclose(f);
    cr_assert(contains_line(text, "postgres: ok"), "%s", text);
    free(text);
    test_sleep_ms(900);
    f = open_memstream(&text, &len);
    int64_t t0 = monotonic_ms();
    cr_assert_eq(readiness_report(r, f), 0);
    cr_assert_lt(monotonic_ms() - t0, 100, "the report does not wait for the hung check");
    fclose(f);
    cr_assert(strstr(text, "postgres: not ready: check has not answered for "), "%s", text);
    free(text);
    readiness_stop(r);
}

/* ---- slow clients against the real daemon ---------------------------------- */

/* GET path from source address `from` (e.g. "127.0.0.2": all of 127/8 is
 * loopback) to 127.0.0.1:port; the status, or -1 without an answer within
 * timeout_ms. */
static int status_from(const char *from, int port, const char *path, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in src = {.sin_family = AF_INET};
    cr_assert_eq(inet_pton(AF_INET, from, &src.sin_addr), 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)&src, sizeof src), 0, "bind %s", from);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int status = -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        char req[128];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
        char buf[1024];
        ssize_t got;
        if (write(fd, req, (size_t)n) == n && (got = read(fd, buf, sizeof buf - 1)) > 0) {
            buf[got] = '\0';
            status = status_of(buf);
        }
    }
    close(fd);
    return status;
}

static int open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    cr_assert(d, "%s", path);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The port `precis serve` logged ("metrics endpoint listening ... port=N");
 * -1 when it did not within 30 s or exited. */
static int wait_metrics_port(const char *log, pid_t pid)
{
    for (int64_t deadline = monotonic_ms() + 30000; monotonic_ms() < deadline; test_sleep_ms(50)) {
        FILE *f = fopen(log, "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f)) {
            const char *p = strstr(line, "metrics endpoint listening");
            p = p ? strstr(p, " port=") : NULL;
            if (p) {
                fclose(f);
                return atoi(p + 6);
            }
        }
        if (f)
            fclose(f);
        if (waitpid(pid, NULL, WNOHANG) != 0)
            return -1;
    }
    return -1;
}

static pid_t spawn_serve(const char *log)
{
    static char conninfo[600];
    snprintf(conninfo, sizeof conninfo, "PRECIS_POSTGRES_CONNINFO=host=%s/no-database connect_timeout=2",
             test_tmpdir());
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PRECIS_POSTGRES_", 16) != 0 && strncmp(environ[i], "PRECIS_METRICS_", 15) != 0 &&
            strncmp(environ[i], "PRECIS_KAFKA_", 13) != 0)
            env[k++] = environ[i];
    env[k++] = conninfo;
    env[k++] = "PRECIS_METRICS_LISTEN=127.0.0.1:0";
    char *argv[] = {(char *)test_precis_stub_bin(), "serve", NULL};
    /* The daemon gets the common default of 1024 descriptors; the test
     * itself then needs more than that for its slow clients. */
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    struct rlimit daemon_rl = {rl.rlim_cur < 1024 ? rl.rlim_cur : 1024, rl.rlim_max};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &daemon_rl), 0);
    pid_t pid = test_spawn(argv, NULL, log, env);
    rlim_t want = 4096;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        want = rl.rlim_max;
    struct rlimit mine = {want > rl.rlim_cur ? want : rl.rlim_cur, rl.rlim_max};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &mine), 0);
    free(env);
    return pid;
}

enum { SLOW_CLIENTS = 1100, SLOW_ROUNDS = 5, SLOW_PERIOD_MS = 2000 };

typedef struct slow_client {
    int fd;
    int started;    /* request line sent */
} slow_client;

static void slow_open(slow_client *c, int port)
{
    c->started = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    cr_assert_geq(c->fd, 0, "socket: %s (RLIMIT_NOFILE too low?)", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(c->fd, (struct sockaddr *)&sa, sizeof sa);   /* EINPROGRESS is fine */
}

/* One more piece of a request that never ends; errors (reset, not yet
 * connected) are ignored: the server may close us. */
static void slow_tick(slow_client *c)
{
    const char *piece = c->started ? "X-Slow: 1\r\n" : "GET /metrics HTTP/1.1\r\nHost: localhost\r\n";
    if (send(c->fd, piece, strlen(piece), MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
        c->started = 1;
}

/* The slow-client attack: SLOW_ROUNDS rounds of one more header line per
 * client, checking /healthz from 127.0.0.2 and the daemon's descriptors
 * each round. Returns 0, or -1 with why filled. */
static int attack(pid_t pid, int port, int *max_fds, char *why, size_t cap)
{
    slow_client *clients = calloc(SLOW_CLIENTS, sizeof *clients);
    cr_assert(clients);
    for (int i = 0; i < SLOW_CLIENTS; i++)
        slow_open(&clients[i], port);
    int rc = 0;
    for (int round = 0; rc == 0 && round < SLOW_ROUNDS; round++) {
        int64_t next = monotonic_ms() + SLOW_PERIOD_MS;
        for (int i = 0; i < SLOW_CLIENTS; i++)
            slow_tick(&clients[i]);
        int fds = open_fds(pid);
        *max_fds = fds > *max_fds ? fds : *max_fds;
        int64_t t0 = monotonic_ms();
        int status = status_from("127.0.0.2", port, "/healthz", 2000);
        int64_t took = monotonic_ms() - t0;
        if (status != 200 || took >= 1000) {
            snprintf(why, cap, "round %d: /healthz from 127.0.0.2 answered %d after %lld ms; daemon fds %d", round,
                     status, (long long)took, fds);
            rc = -1;
        }
        while (rc == 0 && monotonic_ms() < next)
            test_sleep_ms(50);
    }
    for (int i = 0; i < SLOW_CLIENTS; i++)
        close(clients[i].fd);
    free(clients);
    return rc;
}

/* Issue #18: ~1,100 connections sending one header line every 2 s exhausted
 * the daemon's 1,024 descriptors (and MHD's select() cannot watch past
 * FD_SETSIZE): /healthz went dark and the container was restarted. The
 * daemon is stopped before any assertion, so a failure leaves none behind. */
Test(metrics, slow_clients_cannot_take_the_endpoint_down)
{
    alarm(120);   /* hang guard (see test_serve.c on Criterion's .timeout) */
    char log[512], why[512] = "";
    snprintf(log, sizeof log, "%s/serve.log", test_tmpdir());
    pid_t pid = spawn_serve(log);
    int port = wait_metrics_port(log, pid);
    int max_fds = 0, before = -1, after = -1;
    if (port > 0)
        before = status_from("127.0.0.2", port, "/healthz", 2000);
    if (before == 200 && attack(pid, port, &max_fds, why, sizeof why) == 0) {
        /* The attackers' address is served again once they are gone. */
        for (int64_t deadline = monotonic_ms() + 10000; after != 200 && monotonic_ms() < deadline;
             test_sleep_ms(100))
            after = status_from("127.0.0.1", port, "/healthz", 2000);
    }
    int alive = waitpid(pid, NULL, WNOHANG) == 0;
    kill(pid, SIGTERM);
    int exit_status = test_wait_exit(pid);
    cr_assert_gt(port, 0, "no metrics endpoint (see %s)", log);
    cr_assert_eq(before, 200, "/healthz before the attack (see %s)", log);
    cr_assert_eq(why[0], '\0', "%s (see %s)", why, log);
    cr_assert_lt(max_fds, 400, "the daemon held %d descriptors during the attack", max_fds);
    cr_assert_eq(after, 200, "/healthz from 127.0.0.1 after the attack (see %s)", log);
    cr_assert(alive, "the daemon survived (see %s)", log);
    cr_assert_eq(exit_status, 0, "serve exits 0 on SIGTERM (see %s)", log);
}
