/* cmd_run.c — `precis run FILE...`: the model pipeline on local files,
 * without Kafka: JSON results on stdout, stored in PostgreSQL when one is
 * configured and reachable, progress on stderr. */
#include <getopt.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/log.h"
#include "common/monotonic.h"
#include "cli/cli.h"
#include "daemon/config.h"
#include "cli/job_message.h"
#include "daemon/pipeline_setup.h"
#include "pipeline/analyses/analysis.h"
#include "pipeline/job_run.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

extern char **environ;

static int run_main(int argc, char **argv);

const cli_command cmd_run = {
    .name = "run",
    .summary = "analyse local files now, without Kafka; JSON results on stdout",
    .usage =
        "usage: precis run [options] FILE...\n"
        "\n"
        "Run the pipeline on each FILE, one after the other: SHA-256, sandboxed\n"
        "extraction (PDF, XML, DOCX, text), then each analysis through the model.\n"
        "Prints one JSON object per line and document on stdout:\n"
        "  {\"file\", \"source\", \"sha256\", \"title\", \"format\", \"media_type\", \"pages\",\n"
        "   \"language\", \"model\": {\"name\", \"sha256\"}, \"analyses\": {\"summary\": {...}}}\n"
        "or, when a document fails: {\"file\", \"error\", \"error_class\"}.\n"
        "Results are also stored in PostgreSQL (as jobs with fresh ids) when [postgres]\n"
        "conninfo or a PG* environment variable is set and the database is reachable\n"
        "and migrated; otherwise stderr says they are not stored. Progress with an\n"
        "ETA goes to stderr when it is a terminal, log lines otherwise.\n"
        "\n"
        "The model, first found: -m; [engine] model (PRECIS_ENGINE_MODEL); PRECIS_MODEL;\n"
        "the largest *.gguf in ./models; $PRECIS_TEST_MODELS/" PIPELINE_TEST_MODEL "\n"
        "(a random test model: its text is meaningless, and a warning says so).\n"
        "\n"
        "  -c, --config FILE      configuration file (default /etc/precis/precis.conf)\n"
        "  -m, --model FILE       GGUF model\n"
        "  -a, --analyses A,B     analyses to run (default [pipeline] analyses)\n"
        "  -n, --max-tokens N     tokens generated per model call (default: the prompt's)\n"
        "      --password PW      password of encrypted PDFs\n"
        "      --no-store         do not write to PostgreSQL\n"
        "\n"
        "Exit status: 0 every document done, 1 some failed, 2 usage error.\n",
    .run = run_main,
};

typedef struct run_args {
    const char *config_path, *model, *analyses, *password;
    int max_tokens, no_store;
    char **files;
    int nfiles;
} run_args;

/* ---- arguments --------------------------------------------------------------- */

static int check_analyses(const char *list)
{
    gchar **names = g_strsplit(list, ",", -1);
    int rc = 0;
    for (size_t i = 0; rc == 0 && names[i]; i++)
        if (!analysis_find(g_strstrip(names[i])))
            rc = cli_usage_error(&cmd_run, "unknown analysis '%s'", names[i]);
    g_strfreev(names);
    return rc;
}

static int parse_args(int argc, char **argv, run_args *a)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},     {"model", required_argument, NULL, 'm'},
        {"analyses", required_argument, NULL, 'a'},   {"max-tokens", required_argument, NULL, 'n'},
        {"password", required_argument, NULL, 'P'},   {"no-store", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    *a = (run_args){0};
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:m:a:n:", options, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'c': a->config_path = optarg; break;
        case 'm': a->model = optarg; break;
        case 'a': a->analyses = optarg; break;
        case 'P': a->password = optarg; break;
        case 'S': a->no_store = 1; break;
        case 'n':
            a->max_tokens = (int)strtol(optarg, &end, 10);
            if (!*optarg || *end || a->max_tokens < 1 || a->max_tokens > PROMPT_MAX_TOKENS_LIMIT)
                return cli_usage_error(&cmd_run, "--max-tokens needs 1..%d, not '%s'", PROMPT_MAX_TOKENS_LIMIT, optarg);
            break;
        default:
            return cli_usage_error(&cmd_run, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error(&cmd_run, "no FILE given");
    a->files = argv + optind;
    a->nfiles = argc - optind;
    return a->analyses ? check_analyses(a->analyses) : 0;
}

/* ---- progress on stderr ---------------------------------------------------------- */

typedef struct progress {
    int tty;
    int total, done, failed;
    double start;
    const char *file;
} progress;

static void format_duration(char *buf, size_t cap, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

/* "[#######.............] 3/10  ETA 0:42  summary  report.pdf" on one line. */
static void progress_draw(const progress *p, const char *stage)
{
    if (!p->tty)
        return;
    enum { WIDTH = 24 };
    int finished = p->done + p->failed;
    int filled = p->total ? finished * WIDTH / p->total : 0;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    char eta[32] = "--:--";
    if (finished > 0)
        format_duration(eta, sizeof eta, (monotonic_seconds() - p->start) / finished * (p->total - finished));
    const char *name = p->file ? strrchr(p->file, '/') : NULL;
    name = name ? name + 1 : p->file ? p->file : "";
    fprintf(stderr, "\r\033[K[%s] %d/%d  ETA %s  %-8s %.40s", bar, finished, p->total, eta, stage ? stage : "", name);
    fflush(stderr);
}

static void progress_stage(void *ctx, const char *stage)
{
    progress_draw(ctx, stage);
}

/* A line above the bar (or a log line when stderr is not a terminal). */
static void progress_note(const progress *p, const char *file, const char *what, const char *detail)
{
    if (p->tty) {
        fprintf(stderr, "\r\033[K%s: %s%s%s\n", file, what, detail ? ": " : "", detail ? detail : "");
        progress_draw(p, NULL);
    } else if (detail) {
        log_warn(what, "file=%s error=%s", file, detail);
    } else {
        log_info(what, "file=%s finished=%d/%d", file, p->done + p->failed, p->total);
    }
}

/* ---- the database, when there is one ------------------------------------------ */

static int database_configured(const char *conninfo)
{
    static const char *const vars[] = {"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE", "PGUSER", NULL};
    if (conninfo && *conninfo)
        return 1;
    for (size_t i = 0; vars[i]; i++)
        if (getenv(vars[i]) && *getenv(vars[i]))
            return 1;
    return 0;
}

/* A ready store, or NULL (with the reason on stderr). */
static store *open_store(const config *cfg, int no_store)
{
    const char *conninfo = config_get(cfg, "postgres", "conninfo");
    if (no_store) {
        log_info("not storing results", "reason=%s", "--no-store");
        return NULL;
    }
    if (!database_configured(conninfo)) {
        log_info("not storing results", "reason=%s", "no [postgres] conninfo and no PG* environment");
        return NULL;
    }
    store *s = NULL;
    perr err;
    int rc = store_connect(&s, conninfo, &err);
    if (rc == 0)
        rc = store_migrate_check(s, NULL, &err);
    if (rc != 0) {
        log_warn("not storing results: PostgreSQL is not usable", "error=%s", err.msg);
        store_close(s);
        return NULL;
    }
    log_info("storing results in PostgreSQL", "conninfo_set=%s", conninfo && *conninfo ? "yes" : "no (PG* environment)");
    return s;
}

/* ---- one file --------------------------------------------------------------------- */

typedef struct run_state {
    const run_args *args;
    pipeline *pipeline;
    store *store;
    char **analyses;          /* NULL: the configured defaults */
    size_t n_analyses;
    progress progress;
} run_state;

static void print_failure(const char *file, const char *error_class, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddStringToObject(o, "error", message);
    cJSON_AddStringToObject(o, "error_class", error_class);
    char *text = cJSON_PrintUnformatted(o);
    if (text)
        printf("%s\n", text);
    fflush(stdout);
    free(text);
    cJSON_Delete(o);
}

/* Analyse (and store) a loaded job through the job runner; 0 or the
 * pipeline's failure code. */
static int process_job(run_state *st, job *j, pipeline_report *rep, perr *err)
{
    pipeline_hooks hooks = {.stage = progress_stage, .stage_ctx = &st->progress};
    job_analyzer analyzer = job_analyzer_for_pipeline(st->pipeline);
    perr serr;
    if (st->store && job_run_start(st->store, j, NULL, NULL, &serr) != 0) {
        progress_note(&st->progress, st->progress.file, "PostgreSQL failed; not storing from now on", serr.msg);
        store_close(st->store);
        st->store = NULL;
    }
    int rc = job_run_execute(&analyzer, st->store, j, &hooks, rep, err);
    if (rc != 0 && st->store && job_run_fail(st->store, j->job_id, NULL,
                                             rep->error_class[0] ? rep->error_class : "pipeline", err->msg, 0, &serr) != 0)
        progress_note(&st->progress, st->progress.file, "cannot record the failure", serr.msg);
    return rc;
}

/* Process one file; counts it done or failed. */
static void run_file(run_state *st, const char *file)
{
    job j = {.doc_kind = JOB_DOC_CONTENT, .analyses = st->analyses, .n_analyses = st->n_analyses,
             .password = (char *)st->args->password, .metadata_json = "{}"};
    char id[37];
    perr err;
    gchar *content = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    if (!g_file_get_contents(file, &content, &len, &gerr)) {
        st->progress.failed++;
        print_failure(file, "document", gerr->message);
        progress_note(&st->progress, file, "failed", gerr->message);
        g_error_free(gerr);
        return;
    }
    gchar *base = g_path_get_basename(file);
    j.job_id = id;
    j.content = (unsigned char *)content;
    j.content_len = len;
    j.filename = base;
    pipeline_report rep = {0};
    int rc = job_id_new(id, &err);
    if (rc == 0 && len > JOB_DOCUMENT_MAX_BYTES)
        rc = perr_set(&err, "larger than %u bytes", JOB_DOCUMENT_MAX_BYTES);
    if (rc == 0)
        rc = process_job(st, &j, &rep, &err);
    if (rc == 0) {
        char *json = pipeline_report_json(st->pipeline, &rep, file);
        printf("%s\n", json ? json : "{}");
        fflush(stdout);
        free(json);
        st->progress.done++;
        log_debug("timings", "file=%s load_ms=%.0f extract_ms=%.0f analyze_ms=%.0f store_ms=%.0f tokens_in=%ld "
                  "tokens_out=%ld", file, rep.load_seconds * 1000, rep.extract_seconds * 1000,
                  rep.analyze_seconds * 1000, rep.store_seconds * 1000, rep.tokens_in, rep.tokens_out);
        progress_note(&st->progress, file, "done", NULL);
    } else {
        st->progress.failed++;
        print_failure(file, rep.error_class[0] ? rep.error_class : "document", err.msg);
        progress_note(&st->progress, file, "failed", err.msg);
    }
    pipeline_report_clear(&rep);
    g_free(base);
    g_free(content);
}

static void run_all(run_state *st)
{
    progress *p = &st->progress;
    for (int i = 0; i < st->args->nfiles; i++) {
        p->file = st->args->files[i];
        progress_draw(p, "start");
        run_file(st, st->args->files[i]);
        p->file = NULL;
        progress_draw(p, NULL);
    }
    if (p->tty)
        fputc('\n', stderr);
}

static int run_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_run, stdout);
        return EXIT_OK;
    }
    run_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    config *cfg = NULL;
    perr err;
    run_state st = {.args = &a};
    extract_server *server = NULL; /* first: the model's threads start in pipeline_setup */
    int rc_server = pipeline_start_extract_server(&server, &err);
    pipeline_setup_overrides ov = {.model_path = a.model, .max_tokens = a.max_tokens, .extract_server = server};
    if (rc_server != 0 || config_load(&cfg, a.config_path, environ, &err) != 0 ||
        pipeline_setup(cfg, &ov, &st.pipeline, &err) != 0) {
        fprintf(stderr, "precis run: %s\n", err.msg);
        config_free(cfg);
        extract_server_stop(server);
        return EXIT_FAIL;
    }
    gchar **names = a.analyses ? g_strsplit(a.analyses, ",", -1) : NULL;
    for (size_t i = 0; names && names[i]; i++)
        g_strstrip(names[i]);
    st.analyses = names;
    st.n_analyses = names ? g_strv_length(names) : 0;
    st.store = open_store(cfg, a.no_store);
    st.progress = (progress){.tty = isatty(STDERR_FILENO), .total = a.nfiles, .start = monotonic_seconds()};
    int stored = st.store != NULL;
    run_all(&st);
    stored = stored && st.store != NULL;
    fprintf(stderr, "precis run: %d document%s, %d done, %d failed in %.1f s; results %s\n", a.nfiles,
            a.nfiles == 1 ? "" : "s", st.progress.done, st.progress.failed, monotonic_seconds() - st.progress.start,
            stored ? "stored in PostgreSQL" : "NOT stored in PostgreSQL");
    if (llm_is_toy(pipeline_llm(st.pipeline)))
        fprintf(stderr, "precis run: WARNING: %s is a tiny test model; its text is not meaningful\n",
                llm_model_name(pipeline_llm(st.pipeline)));
    store_close(st.store);
    g_strfreev(names);
    pipeline_free(st.pipeline);
    extract_server_stop(server);
    config_free(cfg);
    return st.progress.failed ? EXIT_FAIL : EXIT_OK;
}
