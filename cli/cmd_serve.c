/* cmd_serve.c — `precis serve`: the daemon. Kafka in, PostgreSQL out, with
 * signals, systemd notification and the metrics endpoint around the consumer. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "cli/cli.h"
#include "daemon/config.h"
#include "daemon/consumer.h"
#include "daemon/job_handler.h"
#include "daemon/kafka_conf.h"
#include "daemon/lifecycle.h"
#include "daemon/metrics.h"
#include "daemon/metrics_http.h"
#include "daemon/mock_broker.h"
#include "daemon/pipeline_setup.h"
#include "daemon/producer.h"
#include "daemon/schedule.h"
#include "daemon/scheduler.h"
#include "cli/serve.h"
#include "store/store.h"

extern char **environ;

static int serve_run(int argc, char **argv);

const cli_command cmd_serve = {
    .name = "serve",
    .summary = "run the daemon: consume jobs from Kafka, record results in PostgreSQL",
    .usage =
        "usage: precis serve [-c FILE] [--migrate] [--no-draft]\n"
        "\n"
        "Join the Kafka consumer group of [kafka] (group.id, default \"precis\"), take\n"
        "jobs from jobs_topic, run each and record its outcome in PostgreSQL; only\n"
        "then is the Kafka offset committed. Up to [pipeline] jobs_in_flight jobs\n"
        "(default [engine] parallel) run at once, their model calls sharing the\n"
        "engine's batch; a partition's offset is committed only up to its first job\n"
        "not yet finished. Each job: document -> SHA-256 ->\n"
        "sandboxed extraction -> each requested analysis through the model (loaded\n"
        "once at start; `precis run --help` says how it is found) -> PostgreSQL.\n"
        "Jobs that fail permanently are marked dead and sent to dlq_topic; when the\n"
        "database or Kafka is unreachable the partition pauses and the job is retried\n"
        "with exponential backoff (max 30 s). A completed job is announced on\n"
        "results_topic. One attempt of a job may take [pipeline] job_timeout seconds\n"
        "(default 1800): past it the job fails with class timeout and is retried while\n"
        "its attempts are below max_attempts; unless [kafka] max.poll.interval.ms is\n"
        "set, it is job_timeout plus a minute.\n"
        "\n"
        "Without [kafka] bootstrap.servers an in-process mock Kafka cluster is\n"
        "started (NOT durable; its address is logged) so `precis submit --brokers`\n"
        "can reach it.\n"
        "\n"
        "SIGTERM/SIGINT: stop taking jobs, let the running ones finish within\n"
        "[pipeline] shutdown_grace seconds, commit, leave the group, exit 0 (a second\n"
        "signal, or the grace period plus 10 s, exits at once: unfinished jobs are\n"
        "redelivered). SIGHUP re-reads, once no job runs, the prompt files and the config's\n"
        "[pipeline] extract_* limits (all or nothing: on any error the settings in use\n"
        "stay); other keys need a restart. Under systemd it sends\n"
        "READY=1, STOPPING=1 and WATCHDOG=1. [metrics] serves /metrics, /healthz and\n"
        "/readyz.\n"
        "\n"
        "Each [schedule.NAME] section (cron, collection, analysis = digest, window,\n"
        "timezone) makes a digest of the collection at its cron times, between jobs,\n"
        "exactly once across replicas sharing the database (claimed in\n"
        "schedule_runs); see docs/operations.md.\n"
        "\n"
        "  -c, --config FILE   configuration file (default /etc/precis/precis.conf)\n"
        "      --migrate       apply pending SQL migrations first (otherwise refuse to\n"
        "                      start when a migration is pending)\n"
        "      --no-draft      no prompt-lookup drafts (as [engine] draft = false; the\n"
        "                      answers are the same, the forward passes more)\n",
    .run = serve_run,
};

typedef struct serve_args {
    const char *config_path;
    int migrate, no_draft;
} serve_args;

/* Everything the daemon owns, torn down in reverse order. */
typedef struct serve_state {
    const char *config_path;
    config *cfg;
    extract_server *extract;      /* forked before any thread; every extraction forks from it */
    int extraction_lost;          /* it died: stop and exit non-zero */
    kafka_property *props;
    size_t nprops;
    char poll_interval[24];       /* max.poll.interval.ms we set, when the user did not */
    mock_broker *mock;
    metrics *metrics;
    producer *results;
    pipeline *pipeline;
    int jobs_in_flight;           /* [pipeline] jobs_in_flight resolved */
    int no_draft;                 /* --no-draft */
    job_handler_state *handler;
    schedule_set schedules;
    scheduler *scheduler;
    consumer *consumer;
    metrics_server *http;
    lifecycle *life;
} serve_state;

static int take_option(void *args, int opt, const char *arg)
{
    serve_args *a = args;
    switch (opt) {
    case 'c': a->config_path = arg; return 0;
    case 'm': a->migrate = 1; return 0;
    case 'D': a->no_draft = 1; return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int parse_args(int argc, char **argv, serve_args *a)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"migrate", no_argument, NULL, 'm'},
        {"no-draft", no_argument, NULL, 'D'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "+c:", .longopts = options, .take = take_option};
    *a = (serve_args){0};
    int first;
    return cli_parse_options(&cmd_serve, &parser, argc, argv, a, &first);
}

/* Without (or with an empty) bootstrap.servers: an in-process mock cluster,
 * whose address is appended to props (the last value of a key wins). */
static int start_embedded_kafka(serve_state *st, perr *err)
{
    const char *configured = kafka_props_get(st->props, st->nprops, "bootstrap.servers");
    if (configured && *configured)
        return 0;
    const char *topics[] = {config_get(st->cfg, "kafka", "jobs_topic"), config_get(st->cfg, "kafka", "dlq_topic"),
                            config_get(st->cfg, "kafka", "results_topic"), NULL};
    mock_broker_options mo = {.partitions = 3, .topics = topics};
    if (mock_broker_start(&st->mock, &mo, err) != 0)
        return -1;
    kafka_property *grown = realloc(st->props, (st->nprops + 1) * sizeof *grown);
    if (!grown)
        return perr_set(err, "out of memory");
    st->props = grown;
    st->props[st->nprops++] = (kafka_property){"bootstrap.servers", mock_broker_bootstraps(st->mock)};
    log_warn("no [kafka] bootstrap.servers: started an in-process mock Kafka cluster, NOT durable",
             "bootstrap_servers=%s", mock_broker_bootstraps(st->mock));
    return 0;
}

/* --migrate applies migrations; otherwise a pending one stops us. An
 * unreachable database is only a warning: jobs wait for it (transient). */
static int check_schema(const serve_state *st, int migrate, perr *err)
{
    store *s = NULL;
    int rc = store_connect(&s, config_get(st->cfg, "postgres", "conninfo"), err);
    if (rc == 0)
        rc = migrate ? store_migrate(s, NULL, NULL, NULL, NULL, err) : store_migrate_check(s, NULL, err);
    store_close(s);
    if (rc == STORE_TRANSIENT && !migrate) {
        log_warn("PostgreSQL unreachable at start; jobs wait for it", "error=%s", err->msg);
        return 0;
    }
    return rc == 0 ? 0 : perr_prefix(err, migrate ? "migrating the database" : "checking the database schema");
}

static int config_long(const config *cfg, const char *section, const char *key, long *out, perr *err)
{
    return config_get_int(cfg, section, key, out, err);
}

/* A job runs between two polls, so Kafka must wait for the longest one:
 * without a max.poll.interval.ms of the user's, job_timeout plus a minute
 * (as text in st->poll_interval); a user's value below job_timeout is
 * logged, since such a job is handed to another member and run twice. */
static int fit_poll_interval(serve_state *st, long job_timeout, perr *err)
{
    if (job_timeout <= 0)
        return 0;
    long long need_ms = (long long)job_timeout * 1000 + 60000;
    const char *set = kafka_props_get(st->props, st->nprops, "max.poll.interval.ms");
    if (set) {
        if (atoll(set) < need_ms)
            log_warn("[kafka] max.poll.interval.ms is shorter than [pipeline] job_timeout plus a minute: a long job "
                     "is handed to another member and run twice", "max_poll_interval_ms=%s job_timeout=%ld", set,
                     job_timeout);
        return 0;
    }
    kafka_property *grown = realloc(st->props, (st->nprops + 1) * sizeof *grown);
    if (!grown)
        return perr_set(err, "out of memory");
    st->props = grown;
    snprintf(st->poll_interval, sizeof st->poll_interval, "%lld", need_ms);
    st->props[st->nprops++] = (kafka_property){"max.poll.interval.ms", st->poll_interval};
    return 0;
}

/* The engine's totals for /metrics (thread-safe: llm_get_totals). */
static void engine_probe(void *ctx, metrics_engine_totals *out)
{
    llm_totals t;
    llm_get_totals(pipeline_llm(ctx), &t);
    *out = (metrics_engine_totals){.passes = t.passes, .sequences = t.sequences, .prompt_tokens = t.prompt_tokens,
                                   .generated_tokens = t.generated_tokens, .draft_proposed = t.draft_proposed,
                                   .draft_accepted = t.draft_accepted};
}

static int start_handler(serve_state *st, const serve_analyzer_override *custom, perr *err)
{
    long max_attempts, job_timeout;
    if (config_long(st->cfg, "pipeline", "max_attempts", &max_attempts, err) != 0 ||
        config_long(st->cfg, "pipeline", "job_timeout", &job_timeout, err) != 0 ||
        pipeline_jobs_in_flight(st->cfg, &st->jobs_in_flight, err) != 0 ||
        fit_poll_interval(st, job_timeout, err) != 0)
        return -1;
    const char *results_topic = config_get(st->cfg, "kafka", "results_topic");
    if (results_topic && *results_topic && producer_new(&st->results, st->props, st->nprops, err) != 0)
        return -1;
    job_analyzer analyzer;
    if (custom ? custom->setup(custom->ctx, st->cfg, &analyzer, err) != 0
               : pipeline_setup(st->cfg, &(pipeline_setup_overrides){.extract_server = st->extract,
                                                                     .no_draft = st->no_draft},
                                &st->pipeline, err) != 0)
        return -1;
    if (!custom) {
        analyzer = job_analyzer_for_pipeline(st->pipeline);
        metrics_set_engine_probe(st->metrics, engine_probe, st->pipeline);
    }
    job_handler_options ho = {
        .conninfo = config_get(st->cfg, "postgres", "conninfo"),
        .max_attempts = max_attempts,
        .job_timeout_ms = job_timeout > 0 ? job_timeout * 1000 : 0,
        .jobs_in_flight = st->jobs_in_flight,
        .analyzer = analyzer,
        .results = st->results,
        .results_topic = results_topic,
        .metrics = st->metrics,
    };
    return job_handler_new(&st->handler, &ho, err);
}

/* Runs on the consumer's thread between jobs, so no job sees a half-swap. */
static void on_reload(void *ctx)
{
    serve_state *st = ctx;
    if (!st->pipeline) {
        log_info("reload requested; this step has no prompts", "%s", "");
        return;
    }
    /* A fresh config supplies the safe settings; st->cfg stays, because the
     * consumer and producers hold strings from it. */
    config *fresh;
    perr err;
    if (config_load(&fresh, st->config_path, environ, &err) != 0) {
        log_error("reload failed; nothing changed", "error=%s", err.msg);
        return;
    }
    if (pipeline_reload_settings(st->pipeline, fresh, &err) != 0)
        log_error("reload failed", "error=%s", err.msg);
    else
        log_info("reloaded prompts and extraction limits", "summary_version=%s extract_timeout=%s",
                 pipeline_prompt_version(st->pipeline, "summary"), config_get(fresh, "pipeline", "extract_timeout"));
    config_free(fresh);
}

static int consumer_cancelled(void *ctx)
{
    return consumer_job_cancelled(ctx);
}

/* On the consumer's thread between polls: a dead extraction server, due
 * scheduled digests. */
static void on_idle(void *ctx)
{
    serve_state *st = ctx;
    if (st->extract && !st->extraction_lost && !extract_server_alive(st->extract)) {
        /* No new server can be forked safely from this threaded process:
         * stop (the running jobs finish or are redelivered) and exit
         * non-zero, so the service manager starts a fresh process. */
        log_error("the extraction server is gone; stopping so that precis serve is restarted", "%s", "");
        st->extraction_lost = 1;
        consumer_request_stop(st->consumer);
    }
    if (st->scheduler)
        scheduler_tick(st->scheduler, (int64_t)time(NULL));
}

/* [schedule.NAME] sections -> a scheduler (none without schedules). */
static int start_scheduler(serve_state *st, perr *err)
{
    if (schedule_set_load(&st->schedules, st->cfg, err) != 0)
        return -1;
    if (st->schedules.n == 0)
        return 0;
    if (!st->pipeline) {
        log_warn("schedules are not run without the model pipeline", "schedules=%zu", st->schedules.n);
        return 0;
    }
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    char replica[300];
    snprintf(replica, sizeof replica, "%s:%ld", host, (long)getpid());
    scheduler_options so = {.schedules = &st->schedules, .pipeline = st->pipeline,
                            .conninfo = config_get(st->cfg, "postgres", "conninfo"), .replica = replica,
                            .cancel = consumer_cancelled, .cancel_ctx = st->consumer};
    return scheduler_new(&st->scheduler, &so, (int64_t)time(NULL), err);
}

static int start_consumer(serve_state *st, perr *err)
{
    long grace;
    if (config_long(st->cfg, "pipeline", "shutdown_grace", &grace, err) != 0)
        return -1;
    consumer_options co = {
        .props = st->props,
        .nprops = st->nprops,
        .jobs_topic = config_get(st->cfg, "kafka", "jobs_topic"),
        .dlq_topic = config_get(st->cfg, "kafka", "dlq_topic"),
        .handler = job_handler_for(st->handler),
        .metrics = st->metrics,
        .jobs_in_flight = st->jobs_in_flight,
        .shutdown_grace_ms = grace * 1000,
        .on_reload = on_reload,
        .on_idle = on_idle,
        .hook_ctx = st,
    };
    return consumer_new(&st->consumer, &co, err);
}

static int kafka_ready(void *ctx, perr *err)
{
    return consumer_kafka_ready(ctx, 1000, err);
}

/* Not ready once the extraction server is gone: every later job would fail
 * transiently until the daemon is restarted. */
static int extraction_ready(void *ctx, perr *err)
{
    if (extract_server_alive(ctx))
        return 0;
    return perr_set(err, "the extraction server is gone; restart precis serve");
}

static int start_http(serve_state *st, perr *err)
{
    int enabled;
    if (config_get_bool(st->cfg, "metrics", "enabled", &enabled, err) != 0)
        return -1;
    if (!enabled)
        return 0;
    readiness_check checks[] = {{"kafka", kafka_ready, st->consumer},
                                {"postgres", job_handler_pg_ready, st->handler},
                                {"extraction", extraction_ready, st->extract}};
    metrics_server_options mo = {.listen = config_get(st->cfg, "metrics", "listen"), .metrics = st->metrics,
                                 .checks = checks, .nchecks = st->extract ? 3 : 2};
    if (metrics_server_start(&st->http, &mo, err) != 0)
        return -1;
    log_info("metrics endpoint listening", "listen=%s port=%d", mo.listen, metrics_server_port(st->http));
    return 0;
}

static void on_stop(void *ctx)
{
    consumer_request_stop(ctx);
}

static void on_reload_signal(void *ctx)
{
    consumer_request_reload(ctx);
}

/* The job did not finish in time: leave without committing it; Kafka
 * redelivers it and the store's upsert makes the rerun harmless. */
static void on_force(void *ctx)
{
    (void)ctx;
    log_error("shutdown forced; the unfinished job will be redelivered", "%s", "");
    _exit(EXIT_FAIL);
}

static int start_lifecycle(serve_state *st, perr *err)
{
    long grace;
    if (config_long(st->cfg, "pipeline", "shutdown_grace", &grace, err) != 0)
        return -1;
    lifecycle_hooks hooks = {.on_stop = on_stop, .on_reload = on_reload_signal, .on_force = on_force,
                             .ctx = st->consumer, .force_after_ms = grace * 1000 + 10000};
    return lifecycle_start(&st->life, &hooks, err);
}

static void serve_teardown(serve_state *st)
{
    lifecycle_free(st->life);
    metrics_server_stop(st->http);
    scheduler_free(st->scheduler);
    schedule_set_clear(&st->schedules);
    consumer_free(st->consumer);
    job_handler_free(st->handler);
    pipeline_free(st->pipeline);
    extract_server_stop(st->extract);
    producer_free(st->results);
    metrics_free(st->metrics);
    mock_broker_stop(st->mock);
    free(st->props);
    config_free(st->cfg);
}

static int serve_start(serve_state *st, serve_args *a, const serve_analyzer_override *custom, perr *err)
{
    st->config_path = a->config_path;
    st->no_draft = a->no_draft;
    if (pipeline_start_extract_server(&st->extract, err) != 0) /* before any thread */
        return -1;
    if (config_load(&st->cfg, a->config_path, environ, err) != 0)
        return -1;
    if (!(st->props = kafka_props_from_config(st->cfg, &st->nprops)) || !(st->metrics = metrics_new()))
        return perr_set(err, "out of memory");
    if (start_embedded_kafka(st, err) != 0 || check_schema(st, a->migrate, err) != 0 ||
        start_handler(st, custom, err) != 0 || start_consumer(st, err) != 0 || start_scheduler(st, err) != 0 ||
        start_http(st, err) != 0 ||
        start_lifecycle(st, err) != 0)
        return -1;
    return 0;
}

static int serve_run(int argc, char **argv)
{
    return serve_main(argc, argv, NULL);
}

int serve_main(int argc, char **argv, const serve_analyzer_override *custom)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_serve, stdout);
        return EXIT_OK;
    }
    serve_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    perr err;
    /* First, before any thread exists, so every thread inherits the mask. */
    if (lifecycle_block_signals(&err) != 0) {
        fprintf(stderr, "precis serve: %s\n", err.msg);
        return EXIT_FAIL;
    }
    serve_state st = {0};
    rc = EXIT_OK;
    if (serve_start(&st, &a, custom, &err) != 0) {
        log_error("cannot start", "error=%s", err.msg);
        rc = EXIT_FAIL;
    } else {
        log_info("serving", "jobs_topic=%s group=%s jobs_in_flight=%d", config_get(st.cfg, "kafka", "jobs_topic"),
                 kafka_props_get(st.props, st.nprops, "group.id") ? kafka_props_get(st.props, st.nprops, "group.id")
                                                                  : "precis", st.jobs_in_flight);
        lifecycle_notify_ready(st.life);
        if (consumer_run(st.consumer, &err) != 0) {
            log_error("consumer stopped", "error=%s", err.msg);
            rc = EXIT_FAIL;
        }
        if (st.extraction_lost)
            rc = EXIT_FAIL;
        lifecycle_notify_stopping(st.life);
        log_info("stopped", "exit=%d", rc);
    }
    serve_teardown(&st);
    return rc;
}
