/* cmd_status.c — `precis status [JOB_ID]`: one job in detail, or the recent jobs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/config.h"
#include "store/store.h"

extern char **environ;

static int status_run(int argc, char **argv);

const cli_command cmd_status = {
    .name = "status",
    .summary = "show a job (status, attempts, error, results) or the recent jobs",
    .usage =
        "usage: precis status [JOB_ID] [-c FILE] [-n N]\n"
        "\n"
        "With JOB_ID: the job's status, attempts, error, timestamps, Kafka position,\n"
        "document and a summary of the document's results. Exit status 1 when there\n"
        "is no such job.\n"
        "Without: the N most recent jobs, newest first.\n"
        "\n"
        "  -c, --config FILE   configuration file (default /etc/precis/precis.conf)\n"
        "  -n, --limit N       how many recent jobs to list (default 20)\n",
    .run = status_run,
};

#define TABLE_ID_WIDTH 32
#define TABLE_ERROR_WIDTH 48

/* Print a database value for a terminal: control characters become '?', and
 * at most `max` bytes are shown (0 = all), then "...". */
static void put_text(const char *s, size_t max)
{
    if (!s) {
        fputs("-", stdout);
        return;
    }
    size_t n = 0;
    for (; s[n] && (max == 0 || n < max); n++)
        putchar((unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n]);
    if (s[n])
        fputs("...", stdout);
}

static void put_line(const char *label, const char *value)
{
    printf("%-11s ", label);
    put_text(value, 0);
    putchar('\n');
}

static void print_results(const store_job_info *j)
{
    printf("%-11s %zu\n", "results", j->n_results);
    for (size_t i = 0; i < j->n_results; i++) {
        const store_result_summary *r = &j->results[i];
        fputs("  ", stdout);
        put_text(r->analysis, 40);
        fputs("  prompt ", stdout);
        put_text(r->prompt_name, 40);
        fputs(" v", stdout);
        put_text(r->prompt_version, 20);
        fputs("  model ", stdout);
        put_text(r->model_name, 40);
        if (r->prompt_tokens >= 0 && r->completion_tokens >= 0)
            printf("  tokens %ld+%ld", r->prompt_tokens, r->completion_tokens);
        if (r->prompt_ms >= 0 && r->completion_ms >= 0)
            printf("  %lld+%lld ms", r->prompt_ms, r->completion_ms);
        fputs("  updated ", stdout);
        put_text(r->updated_at, 0);
        if (r->job_id && strcmp(r->job_id, j->job_id) != 0) {
            fputs("  (by job ", stdout);
            put_text(r->job_id, TABLE_ID_WIDTH);
            putchar(')');
        }
        putchar('\n');
    }
}

/* Earlier attempts, one per line (newline-separated in j->history). */
static void print_history(const store_job_info *j)
{
    if (!j->history || !*j->history)
        return;
    printf("%-11s\n", "history");
    for (const char *line = j->history; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char *copy = strndup(line, n);
        fputs("  ", stdout);
        put_text(copy ? copy : "?", 0);
        putchar('\n');
        free(copy);
        line = end ? end + 1 : NULL;
    }
}

static void print_job(const store_job_info *j)
{
    put_line("job", j->job_id);
    put_line("status", j->status);
    printf("%-11s %d\n", "attempts", j->attempts);
    put_line("collection", j->collection);
    put_line("analyses", j->analyses && *j->analyses ? j->analyses : "(defaults)");
    put_line("source", j->source);
    put_line("created", j->created_at);
    put_line("started", j->started_at);
    put_line("finished", j->finished_at);
    if (j->kafka_topic) {
        printf("%-11s ", "kafka");
        put_text(j->kafka_topic, 0);
        printf(" [%d] @%lld\n", j->kafka_partition, j->kafka_offset);
    }
    if (j->error || j->error_class) {
        printf("%-11s (", "error");
        put_text(j->error_class, 0);
        fputs(") ", stdout);
        put_text(j->error, 0);
        putchar('\n');
    }
    print_history(j);
    if (j->document_id > 0) {
        printf("%-11s %lld sha256 %.16s... ", "document", j->document_id,
               j->document_sha256 ? j->document_sha256 : "?");
        put_text(j->document_title, 80);
        putchar('\n');
        print_results(j);
    }
}

/* A table cell: the text cut to `width` bytes (ending in "...") and padded. */
static void put_cell(const char *s, int width)
{
    size_t len = s ? strlen(s) : 1, max = (size_t)width;
    size_t shown = len > max ? max - 3 : len;
    put_text(s, shown);
    size_t printed = len > max ? max : len;
    printf("%*s  ", (int)(max - printed), "");
}

static void print_table(const store_job_info *list, size_t n)
{
    printf("%-*s  %-8s  %8s  %-24s  %-24s  %s\n", TABLE_ID_WIDTH, "JOB_ID", "STATUS", "ATTEMPTS",
           "CREATED", "FINISHED", "ERROR");
    for (size_t i = 0; i < n; i++) {
        const store_job_info *j = &list[i];
        put_cell(j->job_id, TABLE_ID_WIDTH);
        put_cell(j->status, 8);
        printf("%8d  ", j->attempts);
        put_cell(j->created_at, 24);
        put_cell(j->finished_at, 24);
        put_text(j->error ? j->error : "", TABLE_ERROR_WIDTH);
        putchar('\n');
    }
    if (n == 0)
        puts("(no jobs)");
}

static int fail(const char *msg, int rc)
{
    fprintf(stderr, "precis status: %s%s\n", msg,
            rc == STORE_TRANSIENT ? " (the database is unreachable or busy; try again)" : "");
    return EXIT_FAIL;
}

static int show(store *s, const char *job_id, size_t limit)
{
    perr err;
    if (job_id) {
        store_job_info *j;
        int rc = store_job_get(s, job_id, &j, &err);
        if (rc != 0)
            return fail(err.msg, rc);
        if (!j) {
            fprintf(stderr, "precis status: no job '%s'\n", job_id);
            return EXIT_FAIL;
        }
        print_job(j);
        store_job_info_free(j);
        return EXIT_OK;
    }
    store_job_info *list;
    size_t n;
    int rc = store_list_jobs(s, limit, &list, &n, &err);
    if (rc != 0)
        return fail(err.msg, rc);
    print_table(list, n);
    store_job_list_free(list, n);
    return EXIT_OK;
}

typedef struct status_args {
    const char *config_path;
    long limit;
} status_args;

static int take_option(void *args, int opt, const char *arg)
{
    status_args *a = args;
    char *end;
    switch (opt) {
    case 'c': a->config_path = arg; return 0;
    case 'n':
        a->limit = strtol(arg, &end, 10);
        if (*end || end == arg || a->limit < 1 || a->limit > 100000)
            return cli_usage_error(&cmd_status, "--limit wants a number from 1 to 100000, not '%s'", arg);
        return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int status_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"limit", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "c:n:", .longopts = options, .take = take_option,
                                       .max_operands = 1};
    status_args a = {.limit = 20};
    int first;
    int usage = cli_parse_options(&cmd_status, &parser, argc, argv, &a, &first);
    if (usage != 0)
        return usage;
    const char *job_id = first < argc ? argv[first] : NULL;

    perr err;
    config *cfg;
    if (config_load(&cfg, a.config_path, environ, &err) != 0)
        return fail(err.msg, STORE_ERROR);
    store *s;
    int rc = store_connect(&s, config_get(cfg, "postgres", "conninfo"), &err);
    config_free(cfg);
    if (rc != 0)
        return fail(err.msg, rc);
    int status = show(s, job_id, (size_t)a.limit);
    store_close(s);
    return status;
}
