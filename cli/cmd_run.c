/* cmd_run.c — `precis run FILE...`: the model pipeline on local files,
 * without Kafka, several at once through the job runner (the same
 * job_workers as serve): JSON results on stdout in input order, stored in
 * PostgreSQL when one is configured and reachable, progress on stderr. */
#include <getopt.h>
#include <glib.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
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
#include "daemon/job_workers.h"
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
        "Run the pipeline on each FILE: SHA-256, sandboxed extraction (PDF, XML,\n"
        "DOCX, text), then each analysis through the model. Several documents are\n"
        "analysed at once (-j), their model calls sharing the engine's batch, which\n"
        "is how a CPU gets through many documents an hour. Prints one JSON object\n"
        "per line and document on stdout, in the order of the FILEs (--unordered:\n"
        "as each finishes):\n"
        "  {\"file\", \"source\", \"sha256\", \"title\", \"format\", \"media_type\", \"pages\",\n"
        "   \"language\", \"model\": {\"name\", \"sha256\"}, \"analyses\": {\"summary\": {...}}}\n"
        "or, when a document fails: {\"file\", \"error\", \"error_class\"}.\n"
        "Results are also stored in PostgreSQL (as jobs with fresh ids) when [postgres]\n"
        "conninfo or a PG* environment variable is set and the database is reachable\n"
        "and migrated; otherwise stderr says they are not stored. Progress (documents,\n"
        "tokens, tokens per second, ETA) goes to stderr when it is a terminal, log\n"
        "lines otherwise.\n"
        "\n"
        "The model, first found: -m; [engine] model (PRECIS_ENGINE_MODEL); PRECIS_MODEL;\n"
        "the largest *.gguf in ./models; $PRECIS_TEST_MODELS/" PIPELINE_TEST_MODEL "\n"
        "(a random test model: its text is meaningless, and a warning says so).\n"
        "\n"
        "  -c, --config FILE      configuration file (default /etc/precis/precis.conf)\n"
        "  -m, --model FILE       GGUF model\n"
        "  -a, --analyses A,B     analyses to run (default [pipeline] analyses)\n"
        "  -n, --max-tokens N     tokens generated per model call (default: the prompt's)\n"
        "  -j, --jobs N           documents analysed at once (default [pipeline]\n"
        "                         jobs_in_flight; its 0 means [engine] parallel)\n"
        "      --unordered        print each result as it finishes, not in FILE order\n"
        "      --password PW      password of encrypted PDFs\n"
        "      --twin FILE        legal_review also reviews each document's counterfactual\n"
        "                         twin (parties' names and protected attributes swapped,\n"
        "                         prompts/twin_attributes.json) and reports the findings\n"
        "                         that change: FILE is {\"parties\": [{\"name\", \"replacement\"}]}\n"
        "                         or {} (the review's own parties as Party A, B...)\n"
        "      --no-store         do not write to PostgreSQL\n"
        "      --no-draft         no prompt-lookup drafts (as [engine] draft = false;\n"
        "                         the answers are the same, the passes more)\n"
        "\n"
        "Exit status: 0 every document done, 1 some failed, 2 usage error.\n",
    .run = run_main,
};

typedef struct run_args {
    const char *config_path, *model, *analyses, *password, *twin_path;
    char *twin_json;             /* --twin FILE checked (malloc'd) */
    int max_tokens, no_store, jobs, unordered, no_draft;
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

static int take_option(void *args, int opt, const char *arg)
{
    run_args *a = args;
    switch (opt) {
    case 'c': a->config_path = arg; return 0;
    case 'm': a->model = arg; return 0;
    case 'a': a->analyses = arg; return 0;
    case 'P': a->password = arg; return 0;
    case 'S': a->no_store = 1; return 0;
    case 'U': a->unordered = 1; return 0;
    case 'D': a->no_draft = 1; return 0;
    case 'T': a->twin_path = arg; return 0;
    case 'j': return cli_option_int(&cmd_run, "--jobs", arg, 1, PIPELINE_MAX_JOBS_IN_FLIGHT, &a->jobs);
    case 'n': return cli_option_int(&cmd_run, "--max-tokens", arg, 1, PROMPT_MAX_TOKENS_LIMIT, &a->max_tokens);
    default: return CLI_OPTION_UNKNOWN;
    }
}

/* --twin FILE, checked as a job's "twin" field is, into a->twin_json. */
static int read_twin(run_args *a)
{
    perr err;
    if (job_twin_file(a->twin_path, &a->twin_json, &err) != 0)
        return cli_usage_error(&cmd_run, "--twin %s: %s", a->twin_path, err.msg);
    return 0;
}

static int parse_args(int argc, char **argv, run_args *a)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},     {"model", required_argument, NULL, 'm'},
        {"analyses", required_argument, NULL, 'a'},   {"max-tokens", required_argument, NULL, 'n'},
        {"password", required_argument, NULL, 'P'},   {"no-store", no_argument, NULL, 'S'},
        {"jobs", required_argument, NULL, 'j'},       {"unordered", no_argument, NULL, 'U'},
        {"no-draft", no_argument, NULL, 'D'},     {"twin", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "c:m:a:n:j:", .longopts = options, .take = take_option,
                                       .max_operands = INT_MAX};
    *a = (run_args){0};
    int first;
    int usage = cli_parse_options(&cmd_run, &parser, argc, argv, a, &first);
    if (usage != 0)
        return usage;
    if (first >= argc)
        return cli_usage_error(&cmd_run, "no FILE given");
    a->files = argv + first;
    a->nfiles = argc - first;
    if (a->analyses && check_analyses(a->analyses) != 0)
        return EXIT_USAGE;
    return a->twin_path ? read_twin(a) : 0;
}

/* ---- progress on stderr ---------------------------------------------------------- */

/* Shared by the workers (stage hooks) and the main thread (notes). */
typedef struct progress {
    pthread_mutex_t mu;
    int tty;
    int total, done, failed, running;
    double start;
    const llm *model;               /* live token counts */
    llm_totals at_start;
    const char *file, *stage;       /* the stage that started last, and its file */
} progress;

static void format_duration(char *buf, size_t cap, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

/* "12.3k" for a count. */
static void format_count(char *buf, size_t cap, uint64_t n)
{
    if (n >= 1000000)
        snprintf(buf, cap, "%.1fM", (double)n / 1e6);
    else if (n >= 10000)
        snprintf(buf, cap, "%.1fk", (double)n / 1e3);
    else
        snprintf(buf, cap, "%" PRIu64, n);
}

/* "[#######.........] 3/10 (4 running)  prompt 12.3k tok  out 1.2k tok 45 tok/s  ETA 0:42  summary  report.pdf"
 * on one line; call with p->mu held. */
static void progress_draw_locked(const progress *p)
{
    if (!p->tty)
        return;
    enum { WIDTH = 20 };
    int finished = p->done + p->failed;
    int filled = p->total ? finished * WIDTH / p->total : 0;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    double elapsed = monotonic_seconds() - p->start;
    char eta[32] = "--:--";
    if (finished > 0)
        format_duration(eta, sizeof eta, elapsed / finished * (p->total - finished));
    llm_totals now;
    llm_get_totals(p->model, &now);
    uint64_t out = now.generated_tokens - p->at_start.generated_tokens;
    char in_text[16], out_text[16];
    format_count(in_text, sizeof in_text, now.prompt_tokens - p->at_start.prompt_tokens);
    format_count(out_text, sizeof out_text, out);
    const char *name = p->file ? strrchr(p->file, '/') : NULL;
    name = name ? name + 1 : p->file ? p->file : "";
    fprintf(stderr, "\r\033[K[%s] %d/%d (%d running)  prompt %s tok  out %s tok %.0f tok/s  ETA %s  %-8s %.30s", bar,
            finished, p->total, p->running, in_text, out_text, elapsed > 0 ? (double)out / elapsed : 0.0, eta,
            p->stage ? p->stage : "", name);
    fflush(stderr);
}

static void progress_draw(progress *p)
{
    pthread_mutex_lock(&p->mu);
    progress_draw_locked(p);
    pthread_mutex_unlock(&p->mu);
}

/* A worker's document enters a stage (pipeline_hooks.stage). */
typedef struct stage_ctx {
    progress *progress;
    const char *file;
} stage_ctx;

static void progress_stage(void *ctx, const char *stage)
{
    stage_ctx *s = ctx;
    pthread_mutex_lock(&s->progress->mu);
    s->progress->file = s->file;
    s->progress->stage = stage;
    progress_draw_locked(s->progress);
    pthread_mutex_unlock(&s->progress->mu);
}

/* A line above the bar (or a log line when stderr is not a terminal). */
static void progress_note(progress *p, const char *file, const char *what, const char *detail)
{
    pthread_mutex_lock(&p->mu);
    if (p->tty) {
        fprintf(stderr, "\r\033[K%s: %s%s%s\n", file, what, detail ? ": " : "", detail ? detail : "");
        progress_draw_locked(p);
    } else if (detail) {
        log_warn(what, "file=%s error=%s", file, detail);
    } else {
        log_info(what, "file=%s finished=%d/%d", file, p->done + p->failed, p->total);
    }
    pthread_mutex_unlock(&p->mu);
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

/* One ready connection per worker in stores[0..n), or all NULL (with the
 * reason on stderr): libpq connections are not shared between threads. */
static void open_stores(const config *cfg, int no_store, store **stores, int n)
{
    const char *conninfo = config_get(cfg, "postgres", "conninfo");
    if (no_store) {
        log_info("not storing results", "reason=%s", "--no-store");
        return;
    }
    if (!database_configured(conninfo)) {
        log_info("not storing results", "reason=%s", "no [postgres] conninfo and no PG* environment");
        return;
    }
    perr err;
    int rc = store_connect(&stores[0], conninfo, &err);
    if (rc == 0)
        rc = store_migrate_check(stores[0], NULL, &err);
    for (int i = 1; rc == 0 && i < n; i++)
        rc = store_connect(&stores[i], conninfo, &err);
    if (rc != 0) {
        log_warn("not storing results: PostgreSQL is not usable", "error=%s", err.msg);
        for (int i = 0; i < n; i++) {
            store_close(stores[i]);
            stores[i] = NULL;
        }
        return;
    }
    log_info("storing results in PostgreSQL", "conninfo_set=%s connections=%d",
             conninfo && *conninfo ? "yes" : "no (PG* environment)", n);
}

/* ---- one file, on a worker ---------------------------------------------------------- */

typedef struct run_state {
    const run_args *args;
    pipeline *pipeline;
    store **stores;           /* one per worker; NULL: not storing */
    int n_workers;
    atomic_int store_lost;    /* a worker's connection failed: its later results are not stored */
    char **analyses;          /* NULL: the configured defaults */
    size_t n_analyses;
    progress progress;
} run_state;

/* One file's work and what it printed. */
typedef struct run_task {
    const char *file;
    int failed;
    char *line;               /* the JSON line for stdout (malloc'd) */
    char error[PERR_MSG_MAX]; /* when failed */
    int collected;
} run_task;

static char *failure_line(const char *file, const char *error_class, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddStringToObject(o, "error", message);
    cJSON_AddStringToObject(o, "error_class", error_class);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* Analyse (and store) a loaded job through the job runner; 0 or the
 * pipeline's failure code. */
static int process_job(run_state *st, int worker, job *j, const char *file, pipeline_report *rep, perr *err)
{
    stage_ctx sc = {.progress = &st->progress, .file = file};
    pipeline_hooks hooks = {.stage = progress_stage, .stage_ctx = &sc};
    job_analyzer analyzer = job_analyzer_for_pipeline(st->pipeline);
    store **s = &st->stores[worker];
    perr serr;
    if (*s && job_run_start(*s, j, NULL, NULL, &serr) != 0) {
        progress_note(&st->progress, file, "PostgreSQL failed; this worker stops storing", serr.msg);
        store_close(*s);
        *s = NULL;
        atomic_store(&st->store_lost, 1);
    }
    int rc = job_run_execute(&analyzer, *s, j, &hooks, rep, err);
    if (rc != 0 && *s && job_run_fail(*s, j->job_id, NULL, rep->error_class[0] ? rep->error_class : "pipeline",
                                      err->msg, 0, &serr) != 0)
        progress_note(&st->progress, file, "cannot record the failure", serr.msg);
    return rc;
}

static void log_timings(const char *file, const pipeline_report *rep)
{
    log_debug("timings", "file=%s load_ms=%.0f extract_ms=%.0f analyze_ms=%.0f store_ms=%.0f tokens_in=%ld "
              "tokens_out=%ld", file, rep->load_seconds * 1000, rep->extract_seconds * 1000,
              rep->analyze_seconds * 1000, rep->store_seconds * 1000, rep->tokens_in, rep->tokens_out);
}

/* Read, analyse and store one file; fills t->line (and t->error when it failed). */
static void run_file(run_state *st, run_task *t, int worker)
{
    job j = {.doc_kind = JOB_DOC_CONTENT, .analyses = st->analyses, .n_analyses = st->n_analyses,
             .password = (char *)st->args->password, .metadata_json = "{}", .twin_json = st->args->twin_json};
    char id[37];
    perr err;
    gchar *content = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    if (!g_file_get_contents(t->file, &content, &len, &gerr)) {
        t->failed = 1;
        snprintf(t->error, sizeof t->error, "%s", gerr->message);
        t->line = failure_line(t->file, "document", gerr->message);
        g_error_free(gerr);
        return;
    }
    gchar *base = g_path_get_basename(t->file);
    j.job_id = id;
    j.content = (unsigned char *)content;
    j.content_len = len;
    j.filename = base;
    pipeline_report rep = {0};
    int rc = job_id_new(id, &err);
    if (rc == 0 && len > JOB_DOCUMENT_MAX_BYTES)
        rc = perr_set(&err, "larger than %u bytes", JOB_DOCUMENT_MAX_BYTES);
    if (rc == 0)
        rc = process_job(st, worker, &j, t->file, &rep, &err);
    if (rc == 0) {
        t->line = pipeline_report_json(st->pipeline, &rep, t->file);
        log_timings(t->file, &rep);
    } else {
        t->failed = 1;
        snprintf(t->error, sizeof t->error, "%s", err.msg);
        t->line = failure_line(t->file, rep.error_class[0] ? rep.error_class : "document", err.msg);
    }
    pipeline_report_clear(&rep);
    g_free(base);
    g_free(content);
}

static void work(void *ctx, void *task, int worker)
{
    run_state *st = ctx;
    pthread_mutex_lock(&st->progress.mu);
    st->progress.running++;
    pthread_mutex_unlock(&st->progress.mu);
    run_file(st, task, worker);
    pthread_mutex_lock(&st->progress.mu);
    st->progress.running--;
    pthread_mutex_unlock(&st->progress.mu);
}

/* ---- many files at once, printed in order ---------------------------------------- */

static void print_line(const char *line)
{
    printf("%s\n", line ? line : "{}");
    fflush(stdout);
}

/* A worker finished t: count it, note it, print it when order allows. */
static void task_collected(run_state *st, run_task *t)
{
    progress *p = &st->progress;
    pthread_mutex_lock(&p->mu);
    if (t->failed)
        p->failed++;
    else
        p->done++;
    pthread_mutex_unlock(&p->mu);
    t->collected = 1;
    progress_note(p, t->file, t->failed ? "failed" : "done", t->failed ? t->error : NULL);
    if (st->args->unordered) {
        print_line(t->line);
        free(t->line);
        t->line = NULL;
    }
}

/* Print the finished tasks at the head of the input order; returns the new head. */
static int print_in_order(run_task *tasks, int next, int n)
{
    for (; next < n && tasks[next].collected; next++) {
        print_line(tasks[next].line);
        free(tasks[next].line);
        tasks[next].line = NULL;
    }
    return next;
}

static int run_all(run_state *st, perr *err)
{
    int n = st->args->nfiles;
    run_task *tasks = calloc((size_t)n, sizeof *tasks);
    job_workers *w = NULL;
    if (!tasks)
        return perr_set(err, "out of memory");
    if (job_workers_new(&w, st->n_workers, work, st, err) != 0) {
        free(tasks);
        return -1;
    }
    int submitted = 0, collected = 0, printed = 0;
    while (collected < n) {
        while (submitted < n) {
            tasks[submitted].file = st->args->files[submitted];
            if (job_workers_submit(w, &tasks[submitted]) != 0)
                break;
            submitted++;
        }
        run_task *t = job_workers_collect(w, 250);
        if (t) {
            task_collected(st, t);
            collected++;
        }
        if (!st->args->unordered)
            printed = print_in_order(tasks, printed, n);
        progress_draw(&st->progress);
    }
    job_workers_free(w);
    free(tasks);
    if (st->progress.tty)
        fputc('\n', stderr);
    return 0;
}

/* "precis run: 8 documents, 8 done, 0 failed in 61.2 s (470 documents/hour,
 * 1024 tokens generated, 16.7 tokens/s, 3.9 sequences per forward pass); results ..." */
static void print_summary(const run_state *st, const run_args *a, int stored)
{
    llm_totals end;
    llm_get_totals(st->progress.model, &end);
    const llm_totals *at = &st->progress.at_start;
    double seconds = monotonic_seconds() - st->progress.start;
    uint64_t generated = end.generated_tokens - at->generated_tokens, passes = end.passes - at->passes;
    fprintf(stderr, "precis run: %d document%s, %d done, %d failed in %.1f s (%.0f documents/hour, %" PRIu64
            " tokens generated, %.1f tokens/s, %.1f sequences per forward pass); results %s\n", a->nfiles,
            a->nfiles == 1 ? "" : "s", st->progress.done, st->progress.failed, seconds,
            seconds > 0 ? st->progress.done * 3600.0 / seconds : 0.0, generated,
            seconds > 0 ? (double)generated / seconds : 0.0,
            passes ? (double)(end.sequences - at->sequences) / (double)passes : 0.0,
            stored ? "stored in PostgreSQL" : "NOT stored in PostgreSQL");
    log_info("run finished", "documents=%d done=%d failed=%d seconds=%.3f jobs_in_flight=%d model_calls=%" PRIu64
             " prompt_tokens=%" PRIu64 " cached_tokens=%" PRIu64 " generated_tokens=%" PRIu64 " forward_passes=%" PRIu64
             " sequences=%" PRIu64 " draft_proposed=%" PRIu64 " draft_accepted=%" PRIu64, a->nfiles, st->progress.done,
             st->progress.failed, seconds, st->n_workers, end.calls - at->calls, end.prompt_tokens - at->prompt_tokens,
             end.cached_tokens - at->cached_tokens, generated, passes, end.sequences - at->sequences,
             end.draft_proposed - at->draft_proposed, end.draft_accepted - at->draft_accepted);
}

/* Workers: -j, else [pipeline] jobs_in_flight; never more than files. */
static int worker_count(const run_args *a, const config *cfg, int *out, perr *err)
{
    int n = a->jobs;
    if (n == 0 && pipeline_jobs_in_flight(cfg, &n, err) != 0)
        return -1;
    *out = n < a->nfiles ? n : a->nfiles;
    return 0;
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
    pipeline_setup_overrides ov = {.model_path = a.model, .max_tokens = a.max_tokens, .extract_server = server,
                                   .no_draft = a.no_draft};
    if (rc_server != 0 || config_load(&cfg, a.config_path, environ, &err) != 0 ||
        worker_count(&a, cfg, &st.n_workers, &err) != 0 || pipeline_setup(cfg, &ov, &st.pipeline, &err) != 0 ||
        !(st.stores = calloc((size_t)st.n_workers, sizeof *st.stores))) {
        fprintf(stderr, "precis run: %s\n", st.pipeline ? "out of memory" : err.msg);
        pipeline_free(st.pipeline);
        config_free(cfg);
        extract_server_stop(server);
        free(a.twin_json);
        return EXIT_FAIL;
    }
    gchar **names = a.analyses ? g_strsplit(a.analyses, ",", -1) : NULL;
    for (size_t i = 0; names && names[i]; i++)
        g_strstrip(names[i]);
    st.analyses = names;
    st.n_analyses = names ? g_strv_length(names) : 0;
    open_stores(cfg, a.no_store, st.stores, st.n_workers);
    int stored = st.stores[0] != NULL;
    pthread_mutex_init(&st.progress.mu, NULL);
    st.progress.tty = isatty(STDERR_FILENO);
    st.progress.total = a.nfiles;
    st.progress.model = pipeline_llm(st.pipeline);
    llm_get_totals(st.progress.model, &st.progress.at_start);
    st.progress.start = monotonic_seconds();
    log_info("running", "documents=%d jobs_in_flight=%d", a.nfiles, st.n_workers);
    if (run_all(&st, &err) != 0) {
        fprintf(stderr, "precis run: %s\n", err.msg);
        st.progress.failed = a.nfiles - st.progress.done;
    }
    stored = stored && !atomic_load(&st.store_lost);
    print_summary(&st, &a, stored);
    if (llm_is_toy(pipeline_llm(st.pipeline)))
        fprintf(stderr, "precis run: WARNING: %s is a tiny test model; its text is not meaningful\n",
                llm_model_name(pipeline_llm(st.pipeline)));
    for (int i = 0; i < st.n_workers; i++)
        store_close(st.stores[i]);
    free(st.stores);
    pthread_mutex_destroy(&st.progress.mu);
    g_strfreev(names);
    pipeline_free(st.pipeline);
    extract_server_stop(server);
    config_free(cfg);
    free(a.twin_json);
    return st.progress.failed ? EXIT_FAIL : EXIT_OK;
}
