/* test_metrics.c — metrics rendering (exposition format) and the HTTP
 * endpoint (/metrics, /healthz, /readyz) scraped over loopback. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/monotonic.h"
#include "daemon/job_handler.h"
#include "daemon/metrics.h"
#include "daemon/metrics_http.h"
#include "daemon/stub_step.h"
#include "tests/support.h"

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
    job_handler_options ho = {.conninfo = conninfo, .step = stub_step};
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
