/* cmd_broker.c — `precis broker`: librdkafka's in-memory mock Kafka cluster as
 * its own process, for demos and tests (NOT durable). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "cli/cli.h"
#include "daemon/config.h"
#include "daemon/lifecycle.h"
#include "daemon/mock_broker.h"

extern char **environ;

static int broker_run(int argc, char **argv);

const cli_command cmd_broker = {
    .name = "broker",
    .summary = "run an in-memory mock Kafka broker (not durable) for demos and tests",
    .usage =
        "usage: precis broker [-c FILE] [--partitions N] [--brokers N]\n"
        "\n"
        "Start librdkafka's built-in mock Kafka cluster in this process, create the\n"
        "jobs, dead-letter and results topics of [kafka] (default precis.jobs,\n"
        "precis.jobs.dlq, precis.results), print its bootstrap servers as the first\n"
        "line of stdout and run until SIGTERM or SIGINT. Everything is kept in memory\n"
        "and lost when it stops. The mock binds 127.0.0.1 on a port the kernel picks:\n"
        "librdkafka 2.0.2 offers no way to choose it, so read the printed address.\n"
        "\n"
        "  -c, --config FILE   configuration file (for the topic names)\n"
        "      --partitions N  partitions per topic (default 3, 1..1000)\n"
        "      --brokers N     mock brokers (default 1, 1..16)\n",
    .run = broker_run,
};

typedef struct broker_args {
    const char *config_path;
    long partitions, brokers;
} broker_args;

static int parse_count(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int take_option(void *args, int opt, const char *arg)
{
    broker_args *a = args;
    switch (opt) {
    case 'c': a->config_path = arg; return 0;
    case 'p':
        if (parse_count(arg, 1, 1000, &a->partitions) != 0)
            return cli_usage_error(&cmd_broker, "--partitions must be 1..1000, not '%s'", arg);
        return 0;
    case 'b':
        if (parse_count(arg, 1, 16, &a->brokers) != 0)
            return cli_usage_error(&cmd_broker, "--brokers must be 1..16, not '%s'", arg);
        return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int parse_args(int argc, char **argv, broker_args *a)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"partitions", required_argument, NULL, 'p'},
        {"brokers", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "+c:", .longopts = options, .take = take_option};
    *a = (broker_args){.partitions = 3, .brokers = 1};
    int first;
    return cli_parse_options(&cmd_broker, &parser, argc, argv, a, &first);
}

/* Waits for SIGTERM or SIGINT (blocked beforehand, so no handler runs). */
static void wait_for_stop(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int signo = 0;
    sigwait(&set, &signo);
    log_info("mock broker stopping", "signal=%s", signo == SIGTERM ? "SIGTERM" : "SIGINT");
}

static int broker_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_broker, stdout);
        return EXIT_OK;
    }
    broker_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    perr err;
    config *cfg;
    if (lifecycle_block_signals(&err) != 0 || config_load(&cfg, a.config_path, environ, &err) != 0) {
        fprintf(stderr, "precis broker: %s\n", err.msg);
        return EXIT_FAIL;
    }
    const char *topics[] = {config_get(cfg, "kafka", "jobs_topic"), config_get(cfg, "kafka", "dlq_topic"),
                            config_get(cfg, "kafka", "results_topic"), NULL};
    mock_broker_options mo = {.brokers = (int)a.brokers, .partitions = (int)a.partitions, .topics = topics};
    mock_broker *b;
    if (mock_broker_start(&b, &mo, &err) != 0) {
        fprintf(stderr, "precis broker: %s\n", err.msg);
        config_free(cfg);
        return EXIT_FAIL;
    }
    printf("%s\n", mock_broker_bootstraps(b));
    fflush(stdout);
    log_warn("mock Kafka broker running: in memory only, NOT durable", "bootstrap_servers=%s partitions=%ld",
             mock_broker_bootstraps(b), a.partitions);
    wait_for_stop();
    mock_broker_stop(b);
    config_free(cfg);
    return EXIT_OK;
}
