/* cmd_digest.c — `precis digest --collection C`: a themed digest of the
 * documents added to a collection in a window, now; stored in PostgreSQL and
 * optionally written as HTML and Markdown files. */
#include <errno.h>
#include <getopt.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "cli/cli.h"
#include "daemon/config.h"
#include "daemon/pipeline_setup.h"
#include "daemon/time_arg.h"
#include "pipeline/digest/digest_job.h"
#include "store/store.h"

extern char **environ;

static int digest_main(int argc, char **argv);

const cli_command cmd_digest = {
    .name = "digest",
    .summary = "digest what was added to a collection in a period (themes citing documents), now",
    .usage =
        "usage: precis digest --collection C [--since T] [--until T] [--out DIR] [options]\n"
        "\n"
        "Read from PostgreSQL the stored \"summary\" results of the documents added to\n"
        "collection C in [since, until), group them into themes with the \"digest\"\n"
        "prompt (prompts/digest.json; batches and combines them when they do not fit one\n"
        "model call), and store the digest in the digests table (period key\n"
        "\"manual:SINCE/UNTIL\"; running the same window again replaces it). Every\n"
        "document of the window is listed in the digest, cited or not. Prints one line:\n"
        "the digest id, documents, themes and files written.\n"
        "\n"
        "T is ISO 8601 (2026-01-02, 2026-01-02T03:04, 2026-01-02T03:04:05Z; UTC unless\n"
        "it has an offset) or a duration before now (90m, 24h, 7d, 2w).\n"
        "Defaults: --until now, --since 24 h before --until.\n"
        "Needs [postgres] conninfo (or PG* variables) and a migrated database; the\n"
        "model is found as for `precis run`.\n"
        "\n"
        "  -C, --collection C     the collection (required)\n"
        "      --since T          start of the window (inclusive)\n"
        "      --until T          end of the window (exclusive)\n"
        "  -o, --out DIR          also write DIR/digest-C-DATE.html and .md (DATE: the\n"
        "                         window's end, UTC)\n"
        "  -c, --config FILE      configuration file (default /etc/precis/precis.conf)\n"
        "  -m, --model FILE       GGUF model\n"
        "  -n, --max-tokens N     tokens generated per model call (default: the prompt's)\n"
        "\n"
        "Exit status: 0 stored, 1 failure, 2 usage error.\n",
    .run = digest_main,
};

typedef struct digest_args {
    const char *collection, *since, *until, *out_dir, *config_path, *model;
    int max_tokens;
} digest_args;

static int take_option(void *args, int opt, const char *arg)
{
    digest_args *a = args;
    char *end;
    switch (opt) {
    case 'C': a->collection = arg; return 0;
    case 'S': a->since = arg; return 0;
    case 'U': a->until = arg; return 0;
    case 'o': a->out_dir = arg; return 0;
    case 'c': a->config_path = arg; return 0;
    case 'm': a->model = arg; return 0;
    case 'n':
        errno = 0;
        a->max_tokens = (int)strtol(arg, &end, 10);
        if (errno || !*arg || *end || a->max_tokens < 1 || a->max_tokens > PROMPT_MAX_TOKENS_LIMIT)
            return cli_usage_error(&cmd_digest, "--max-tokens needs 1..%d, not '%s'", PROMPT_MAX_TOKENS_LIMIT, arg);
        return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int parse_args(int argc, char **argv, digest_args *a)
{
    static const struct option options[] = {
        {"collection", required_argument, NULL, 'C'}, {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},      {"out", required_argument, NULL, 'o'},
        {"config", required_argument, NULL, 'c'},     {"model", required_argument, NULL, 'm'},
        {"max-tokens", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "C:o:c:m:n:", .longopts = options, .take = take_option};
    *a = (digest_args){0};
    int first;
    int usage = cli_parse_options(&cmd_digest, &parser, argc, argv, a, &first);
    if (usage != 0)
        return usage;
    if (!a->collection || !*a->collection)
        return cli_usage_error(&cmd_digest, "--collection is required");
    return 0;
}

static int parse_window(const digest_args *a, int64_t *start, int64_t *end)
{
    int64_t now = (int64_t)time(NULL);
    perr err;
    *end = now;
    if (a->until && time_arg_instant(a->until, now, end, &err) != 0)
        return cli_usage_error(&cmd_digest, "--until: %s", err.msg);
    *start = *end - 86400;
    if (a->since && time_arg_instant(a->since, now, start, &err) != 0)
        return cli_usage_error(&cmd_digest, "--since: %s", err.msg);
    if (*start >= *end)
        return cli_usage_error(&cmd_digest, "the window is empty: --since must be before --until");
    return 0;
}

/* "contracts/2026 Q1" -> "contracts_2026_Q1": safe in a file name. */
static void file_safe(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap && n < 80; in++, n++) {
        int keep = g_ascii_isalnum(*in) || *in == '-' || (*in == '.' && n > 0);
        out[n] = keep ? *in : '_';
    }
    out[n] = '\0';
}

static int write_outputs(const digest_args *a, int64_t end, const digest_outcome *o, char *html_path,
                         size_t cap, perr *err)
{
    char name[96], date[16];
    file_safe(a->collection, name, sizeof name);
    time_t t = (time_t)end;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    char md_path[4096];
    if ((size_t)snprintf(html_path, cap, "%s/digest-%s-%s.html", a->out_dir, name, date) >= cap ||
        (size_t)snprintf(md_path, sizeof md_path, "%s/digest-%s-%s.md", a->out_dir, name, date) >= sizeof md_path)
        return perr_set(err, "--out path too long");
    return cli_write_file(html_path, o->html, err) == 0 && cli_write_file(md_path, o->markdown, err) == 0 ? 0 : -1;
}

/* --out must be a directory we can create files in: checked by creating
 * (and removing) one before any model runs, so a typo costs nothing. */
static int check_out_dir(const char *dir, perr *err)
{
    char probe[4096];
    if ((size_t)snprintf(probe, sizeof probe, "%s/.precis-digest-XXXXXX", dir) >= sizeof probe)
        return perr_set(err, "--out path too long");
    int fd = mkstemp(probe);
    if (fd < 0)
        return perr_errno(err, "--out %s: cannot write files there", dir);
    close(fd);
    unlink(probe);
    return 0;
}

static int open_store(const config *cfg, store **s, perr *err)
{
    int rc = store_connect(s, config_get(cfg, "postgres", "conninfo"), err);
    if (rc == 0)
        rc = store_migrate_check(*s, NULL, err);
    return rc == 0 ? 0 : perr_prefix(err, "PostgreSQL");
}

static int run_digest(const digest_args *a, int64_t start, int64_t end, perr *err)
{
    config *cfg = NULL;
    pipeline *p = NULL;
    store *s = NULL;
    pipeline_setup_overrides ov = {.model_path = a->model, .max_tokens = a->max_tokens};
    int rc = config_load(&cfg, a->config_path, environ, err);
    if (rc == 0)
        rc = open_store(cfg, &s, err);
    if (rc == 0)
        rc = pipeline_setup(cfg, &ov, &p, err);
    digest_outcome o = {0};
    digest_job job = {.collection = a->collection, .window_start = start, .window_end = end};
    if (rc == 0)
        rc = digest_job_run(p, s, &job, &o, err);
    char html_path[4096] = "";
    if (rc == 0 && a->out_dir)
        rc = write_outputs(a, end, &o, html_path, sizeof html_path, err);
    if (rc == 0)
        printf("digest %lld: collection %s, %s: %zu documents (%zu summarized, %zu cited), %zu themes, %d model "
               "calls%s%s\n", (long long)o.digest_id, a->collection, o.period_key, o.documents, o.summarized, o.cited,
               o.themes, o.calls, html_path[0] ? ", written " : "", html_path);
    if (rc == 0 && llm_is_toy(pipeline_llm(p)))
        fprintf(stderr, "precis digest: WARNING: %s is a tiny test model; its text is not meaningful\n",
                llm_model_name(pipeline_llm(p)));
    digest_outcome_clear(&o);
    pipeline_free(p);
    store_close(s);
    config_free(cfg);
    return rc == 0 ? 0 : -1;
}

static int digest_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_digest, stdout);
        return EXIT_OK;
    }
    digest_args a;
    int64_t start, end;
    int rc = parse_args(argc, argv, &a);
    if (rc == 0)
        rc = parse_window(&a, &start, &end);
    if (rc != 0)
        return rc;
    perr err;
    if (a.out_dir && check_out_dir(a.out_dir, &err) != 0) {
        fprintf(stderr, "precis digest: %s\n", err.msg);
        return EXIT_FAIL;
    }
    if (run_digest(&a, start, end, &err) != 0) {
        fprintf(stderr, "precis digest: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
