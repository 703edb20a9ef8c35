/* metrics_http.h — the HTTP endpoint for operators (libmicrohttpd, own thread):
 *   GET /metrics   Prometheus text exposition of a `metrics` struct
 *   GET /healthz   200 "ok" while the process runs; never waits on anything
 *   GET /readyz    200 when every readiness check passed at its last run
 *                  (e.g. Kafka and PostgreSQL reachable), else 503 naming the
 *                  failing ones
 * [metrics] listen is "HOST:PORT" with a numeric host ("127.0.0.1:9464",
 * "[::1]:9464"); loopback by default. Port 0 picks a free port
 * (metrics_server_port tells which). Readiness checks run on a prober thread
 * (daemon/readiness.h), once before metrics_server_start returns and then
 * every few seconds; /readyz answers from their cached verdicts, so no
 * request waits on a dependency.
 */
#ifndef PRECIS_METRICS_HTTP_H
#define PRECIS_METRICS_HTTP_H

#include <stddef.h>

#include "common/error.h"
#include "daemon/metrics.h"
#include "daemon/readiness.h"

typedef struct metrics_server metrics_server;

#define METRICS_MAX_CHECKS READINESS_MAX_CHECKS

/* Limits of the endpoint (it may be published on 0.0.0.0): connections at
 * once, from one client address, seconds a connection may stay silent, and
 * the memory for one request's headers. Past a limit a new connection is
 * closed at once; an address over its share never starves the others (a
 * container's health check from 127.0.0.1, Prometheus from its own). */
#define METRICS_MAX_CONNECTIONS 64
#define METRICS_MAX_CONNECTIONS_PER_IP 8
#define METRICS_IDLE_TIMEOUT_S 5
#define METRICS_CONNECTION_MEMORY (16 * 1024)

typedef struct metrics_server_options {
    const char *listen;                       /* NULL: "127.0.0.1:9464" */
    metrics *metrics;
    const readiness_check *checks;            /* copied */
    size_t nchecks;                           /* at most METRICS_MAX_CHECKS */
    int readiness_interval_ms;                /* 0: READINESS_INTERVAL_MS */
} metrics_server_options;

int metrics_server_start(metrics_server **out, const metrics_server_options *opt, perr *err);
int metrics_server_port(const metrics_server *s);
void metrics_server_stop(metrics_server *s);

#endif
