/* metrics_http.c — /metrics, /healthz, /readyz over libmicrohttpd (see metrics_http.h). */
#include "daemon/metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct metrics_server {
    struct MHD_Daemon *daemon;
    metrics *metrics;
    readiness *ready;
    int port;
};

/* "HOST:PORT" or "[V6HOST]:PORT", numeric host only. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, int *ipv6, perr *err)
{
    char host[64];
    const char *port_s;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
            return perr_set(err, "metrics listen address '%s': expected [IPV6]:PORT", listen);
        snprintf(host, sizeof host, "%.*s", (int)(close - listen - 1), listen + 1);
        port_s = close + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof host)
            return perr_set(err, "metrics listen address '%s': expected HOST:PORT", listen);
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        port_s = colon + 1;
    }
    char *end;
    long port = strtol(port_s, &end, 10);
    if (!*port_s || *end || port < 0 || port > 65535)
        return perr_set(err, "metrics listen address '%s': bad port", listen);
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *ipv6 = 0;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *ipv6 = 1;
    } else {
        return perr_set(err, "metrics listen address '%s': host must be a numeric IPv4 or IPv6 address", listen);
    }
    return 0;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, char *body,
                               size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    char *body = strdup(text);
    if (!body)
        return MHD_NO;
    return respond(conn, status, "text/plain; charset=utf-8", body, strlen(body));
}

/* From the prober's cached verdicts: never runs a check, never waits. */
static enum MHD_Result serve_readyz(metrics_server *s, struct MHD_Connection *conn)
{
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (!f)
        return MHD_NO;
    int ready = readiness_report(s->ready, f);
    if (fclose(f) != 0) {
        free(body);
        return MHD_NO;
    }
    return respond(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", body,
                   len);
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                             const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    metrics_server *s = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/metrics") == 0) {
        size_t len = 0;
        char *body = metrics_render(s->metrics, &len);
        if (!body)
            return MHD_NO;
        return respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
    }
    if (strcmp(url, "/healthz") == 0)
        return respond_text(conn, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/readyz") == 0)
        return serve_readyz(s, conn);
    return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

int metrics_server_start(metrics_server **out, const metrics_server_options *opt, perr *err)
{
    if (opt->nchecks > METRICS_MAX_CHECKS)
        return perr_set(err, "metrics server: too many readiness checks");
    struct sockaddr_storage ss;
    int ipv6 = 0;
    const char *listen = opt->listen ? opt->listen : "127.0.0.1:9464";
    if (parse_listen(listen, &ss, &ipv6, err) != 0)
        return -1;
    metrics_server *s = calloc(1, sizeof *s);
    if (!s)
        return perr_set(err, "out of memory");
    s->metrics = opt->metrics;
    readiness_options ro = {.checks = opt->checks, .nchecks = opt->nchecks, .interval_ms = opt->readiness_interval_ms};
    if (readiness_start(&s->ready, &ro, err) != 0) {
        free(s);
        return -1;
    }
    /* poll/epoll (select() cannot watch a descriptor past FD_SETSIZE), and
     * bounded: slow or idle clients are dropped, one address cannot take
     * every slot, and the total stays far below the process's descriptors. */
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | (ipv6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, serve, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS_PER_IP,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_IDLE_TIMEOUT_S,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_CONNECTION_MEMORY,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        readiness_stop(s->ready);
        free(s);
        return perr_set(err, "metrics server: cannot listen on %s", listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : -1;
    *out = s;
    return 0;
}

int metrics_server_port(const metrics_server *s)
{
    return s->port;
}

void metrics_server_stop(metrics_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    readiness_stop(s->ready);
    free(s);
}
