/* cmd_submit.c — `precis submit`: send documents as jobs to the jobs topic. */
#include <getopt.h>
#include <glib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/config.h"
#include "cli/job_message.h"
#include "daemon/kafka_conf.h"
#include "daemon/producer.h"
#include "pipeline/job.h"

extern char **environ;

static int submit_run(int argc, char **argv);

const cli_command cmd_submit = {
    .name = "submit",
    .summary = "send documents to the jobs topic as jobs; prints their job ids",
    .usage =
        "usage: precis submit [options] FILE...\n"
        "\n"
        "Send one job per FILE to the jobs topic, keyed by a fresh job id (UUID v4),\n"
        "wait until the broker acknowledged each, and print the job ids, one per line,\n"
        "in FILE order. By default the document travels inside the job (base64, with\n"
        "its file name); Kafka's default 1 MB message limit then caps its size — use\n"
        "--by-path for large files the daemon can read under [pipeline] input_root.\n"
        "Kafka client settings ([kafka] section: TLS, SASL...) come from the config.\n"
        "\n"
        "  -c, --config FILE      configuration file (default /etc/precis/precis.conf)\n"
        "  -b, --brokers LIST     bootstrap servers (default [kafka] bootstrap.servers)\n"
        "  -t, --topic TOPIC      jobs topic (default [kafka] jobs_topic)\n"
        "  -a, --analyses A,B     analyses to run (default: the daemon's configured ones)\n"
        "      --collection NAME  collection the documents belong to\n"
        "      --password PW      password of encrypted PDFs\n"
        "      --twin FILE        legal_review also reviews the counterfactual twin: FILE\n"
        "                         is the job's \"twin\" field ({\"parties\": [{\"name\",\n"
        "                         \"replacement\"}]}, or true: the review's own parties)\n"
        "      --by-path          send each FILE's absolute path instead of its content\n"
        "      --job-id ID        one FILE only: send it as job ID instead of a fresh id,\n"
        "                         to run a job that failed or is dead again (its earlier\n"
        "                         attempts stay in its history); a done job is not rerun\n",
    .run = submit_run,
};

typedef struct submit_args {
    const char *config_path, *brokers, *topic, *analyses, *collection, *password, *job_id, *twin_path;
    char *twin_json;             /* --twin FILE checked (malloc'd) */
    int by_path;
    char **files;
    int nfiles;
} submit_args;

static int take_option(void *args, int opt, const char *arg)
{
    submit_args *a = args;
    switch (opt) {
    case 'c': a->config_path = arg; return 0;
    case 'b': a->brokers = arg; return 0;
    case 't': a->topic = arg; return 0;
    case 'a': a->analyses = arg; return 0;
    case 'C': a->collection = arg; return 0;
    case 'P': a->password = arg; return 0;
    case 'W': a->twin_path = arg; return 0;
    case 'p': a->by_path = 1; return 0;
    case 'J': a->job_id = arg; return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int parse_args(int argc, char **argv, submit_args *a)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},   {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},    {"analyses", required_argument, NULL, 'a'},
        {"collection", required_argument, NULL, 'C'}, {"password", required_argument, NULL, 'P'}, {"twin", required_argument, NULL, 'W'},
        {"by-path", no_argument, NULL, 'p'},        {"job-id", required_argument, NULL, 'J'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "c:b:t:a:", .longopts = options, .take = take_option,
                                       .max_operands = INT_MAX};
    *a = (submit_args){0};
    int first;
    int usage = cli_parse_options(&cmd_submit, &parser, argc, argv, a, &first);
    if (usage != 0)
        return usage;
    if (first >= argc)
        return cli_usage_error(&cmd_submit, "no FILE given");
    a->files = argv + first;
    a->nfiles = argc - first;
    if (a->job_id && a->nfiles != 1)
        return cli_usage_error(&cmd_submit, "--job-id takes exactly one FILE (got %d)", a->nfiles);
    if (a->job_id && !job_id_usable(a->job_id, strlen(a->job_id)))
        return cli_usage_error(&cmd_submit, "--job-id must be 1-%d bytes of UTF-8 without control characters",
                               JOB_ID_MAX);
    perr err;
    if (a->twin_path && job_twin_file(a->twin_path, &a->twin_json, &err) != 0)
        return cli_usage_error(&cmd_submit, "--twin %s: %s", a->twin_path, err.msg);
    return 0;
}

/* The job JSON for one file (malloc'd) and its id (--job-id, else a fresh one). */
static char *job_for_file(const submit_args *a, const char *const *analyses, const char *file,
                          char id[JOB_ID_MAX + 1], perr *err)
{
    if (a->job_id)
        snprintf(id, JOB_ID_MAX + 1, "%s", a->job_id);
    else if (job_id_new(id, err) != 0)
        return NULL;
    job_message_spec spec = {.job_id = id, .collection = a->collection, .analyses = analyses,
                             .password = a->password, .twin_json = a->twin_json};
    char resolved[PATH_MAX];
    gchar *content = NULL;
    gsize len = 0;
    gchar *base = NULL;
    if (a->by_path) {
        if (!realpath(file, resolved))
            return perr_errno(err, "%s", file), NULL;
        spec.path = resolved;
    } else {
        GError *gerr = NULL;
        if (!g_file_get_contents(file, &content, &len, &gerr)) {
            perr_set(err, "%s", gerr->message);
            g_error_free(gerr);
            return NULL;
        }
        if (len > JOB_DOCUMENT_MAX_BYTES) {
            g_free(content);
            return perr_set(err, "%s: larger than %u bytes", file, JOB_DOCUMENT_MAX_BYTES), NULL;
        }
        base = g_path_get_basename(file);
        spec.content = (const unsigned char *)content;
        spec.content_len = len;
        spec.filename = base;
    }
    char *json = job_message_build(&spec, err);
    g_free(content);
    g_free(base);
    return json;
}

static int send_all(const submit_args *a, producer *p, const char *topic)
{
    gchar **analyses = a->analyses ? g_strsplit(a->analyses, ",", -1) : NULL;
    int rc = EXIT_OK;
    for (int i = 0; i < a->nfiles && rc == EXIT_OK; i++) {
        char id[JOB_ID_MAX + 1];
        perr err;
        char *json = job_for_file(a, (const char *const *)analyses, a->files[i], id, &err);
        producer_message m = {.topic = topic, .partition = RD_KAFKA_PARTITION_UA, .key = id, .key_len = strlen(id),
                              .value = json, .value_len = json ? strlen(json) : 0};
        if (!json || producer_send(p, &m, NULL, &err) != 0) {
            fprintf(stderr, "precis submit: %s: %s\n", a->files[i], err.msg);
            rc = EXIT_FAIL;
        } else {
            printf("%s\n", id);
            fflush(stdout);
        }
        free(json);
    }
    g_strfreev(analyses);
    return rc;
}

/* [kafka] properties plus --brokers (which wins). */
static kafka_property *producer_props(const config *cfg, const char *brokers, size_t *n)
{
    kafka_property *props = kafka_props_from_config(cfg, n);
    if (!props || !brokers)
        return props;
    kafka_property *grown = realloc(props, (*n + 1) * sizeof *props);
    if (!grown) {
        free(props);
        return NULL;
    }
    grown[(*n)++] = (kafka_property){"bootstrap.servers", brokers};
    return grown;
}

static int submit_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_submit, stdout);
        return EXIT_OK;
    }
    submit_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    config *cfg;
    perr err;
    if (config_load(&cfg, a.config_path, environ, &err) != 0) {
        fprintf(stderr, "precis submit: %s\n", err.msg);
        free(a.twin_json);
        return EXIT_FAIL;
    }
    size_t n = 0;
    kafka_property *props = producer_props(cfg, a.brokers, &n);
    producer *p = NULL;
    if (!props) {
        fprintf(stderr, "precis submit: out of memory\n");
        rc = EXIT_FAIL;
    } else if (!kafka_props_get(props, n, "bootstrap.servers") || !*kafka_props_get(props, n, "bootstrap.servers")) {
        rc = cli_usage_error(&cmd_submit, "no Kafka brokers: pass --brokers or set [kafka] bootstrap.servers");
    } else if (producer_new(&p, props, n, &err) != 0) {
        fprintf(stderr, "precis submit: %s\n", err.msg);
        rc = EXIT_FAIL;
    } else {
        rc = send_all(&a, p, a.topic ? a.topic : config_get(cfg, "kafka", "jobs_topic"));
    }
    producer_free(p);
    free(props);
    config_free(cfg);
    free(a.twin_json);
    return rc;
}
