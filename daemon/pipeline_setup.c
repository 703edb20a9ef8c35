/* pipeline_setup.c — the configured model pipeline (see pipeline_setup.h). */
#include "daemon/pipeline_setup.h"

#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/monotonic.h"
#include "common/thread_count.h"
#include "extractors/pdf/pdf_ocr.h"

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int copy_path(char *out, size_t cap, const char *path, perr *err)
{
    if ((size_t)snprintf(out, cap, "%s", path) >= cap)
        return perr_set(err, "path too long: %.80s...", path);
    return 0;
}

/* The largest regular *.gguf file directly in dir; 0 when one was found. */
static int largest_gguf(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    off_t best = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".gguf") != 0)
            continue;
        char path[4096];
        struct stat st;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= best)
            continue;
        if ((size_t)snprintf(out, cap, "%s", path) < cap)
            best = st.st_size;
    }
    closedir(d);
    return best >= 0 ? 0 : -1;
}

int pipeline_resolve_model(const config *cfg, const char *override, char *path, size_t cap,
                           const char **source, perr *err)
{
    const char *configured = config_get(cfg, "engine", "model");
    const char *env = getenv("PRECIS_MODEL");
    const char *tests = getenv("PRECIS_TEST_MODELS");
    if (override && *override)
        return *source = "-m", copy_path(path, cap, override, err);
    if (configured && *configured)
        return *source = "[engine] model", copy_path(path, cap, configured, err);
    if (env && *env)
        return *source = "PRECIS_MODEL", copy_path(path, cap, env, err);
    if (largest_gguf("models", path, cap) == 0)
        return *source = "largest GGUF in ./models", 0;
    if (tests && *tests) {
        char candidate[4096];
        snprintf(candidate, sizeof candidate, "%s/%s", tests, PIPELINE_TEST_MODEL);
        if (is_regular_file(candidate))
            return *source = "test model from PRECIS_TEST_MODELS", copy_path(path, cap, candidate, err);
    }
    return perr_set(err, "no model: give -m MODEL, set [engine] model or PRECIS_MODEL, or put a GGUF file in "
                         "./models");
}

/* dir when it holds summary.json. */
static int prompts_in(const char *dir, char *out, size_t cap)
{
    char probe[4096];
    if ((size_t)snprintf(probe, sizeof probe, "%s/summary.json", dir) >= sizeof probe || !is_regular_file(probe))
        return -1;
    return (size_t)snprintf(out, cap, "%s", dir) < cap ? 0 : -1;
}

int pipeline_resolve_prompts(const config *cfg, char *dir, size_t cap, perr *err)
{
    const char *configured = config_get(cfg, "pipeline", "prompts_dir");
    if (configured && *configured)
        return copy_path(dir, cap, configured, err);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *bindir = dirname(exe);
        char candidate[4096 + 32];
        snprintf(candidate, sizeof candidate, "%s/prompts", bindir);
        if (prompts_in(candidate, dir, cap) == 0)
            return 0;
        snprintf(candidate, sizeof candidate, "%s/../share/precis/prompts", bindir);
        if (prompts_in(candidate, dir, cap) == 0)
            return 0;
    }
    if (prompts_in("prompts", dir, cap) == 0)
        return 0;
    return perr_set(err, "no prompt files found: set [pipeline] prompts_dir (the directory holding summary.json)");
}

static int config_int(const config *cfg, const char *section, const char *key, int lo, int hi, int *out,
                      perr *err)
{
    long v;
    if (config_get_int(cfg, section, key, &v, err) != 0)
        return -1;
    if (v < lo || v > hi)
        return perr_set(err, "[%s] %s must be %d..%d, not %ld", section, key, lo, hi, v);
    *out = (int)v;
    return 0;
}

int pipeline_jobs_in_flight(const config *cfg, int *out, perr *err)
{
    int jobs, parallel;
    if (config_int(cfg, "pipeline", "jobs_in_flight", 0, PIPELINE_MAX_JOBS_IN_FLIGHT, &jobs, err) != 0 ||
        config_int(cfg, "engine", "parallel", 1, 64, &parallel, err) != 0)
        return -1;
    *out = jobs > 0 ? jobs : parallel;
    return 0;
}

int pipeline_read_ocr(const config *cfg, int check_installed, pipeline_ocr *out, perr *err)
{
    memset(out, 0, sizeof *out);
    const char *langs = config_get(cfg, "pipeline", "ocr_languages");
    if (pdf_ocr_mode_parse(config_get(cfg, "pipeline", "ocr"), &out->mode, err) != 0 ||
        config_int(cfg, "pipeline", "ocr_dpi", EXTRACT_MIN_OCR_DPI, EXTRACT_MAX_OCR_DPI, &out->dpi, err) != 0)
        return perr_prefix(err, "[pipeline] ocr");
    if (!langs || !*langs)
        langs = EXTRACT_DEFAULT_OCR_LANGUAGES;
    /* A language that is not installed would fail every scanned document. */
    if (check_installed && out->mode != EXTRACT_OCR_OFF && pdf_ocr_check_languages(langs, err) != 0)
        return perr_prefix(err, "[pipeline] ocr_languages");
    snprintf(out->languages, sizeof out->languages, "%s", langs);
    return 0;
}

static int read_limits(const config *cfg, pipeline_options *o, perr *err)
{
    if (config_int(cfg, "engine", "threads", 0, 1024, &o->model.n_threads, err) != 0 ||
        config_int(cfg, "engine", "ctx_size", 0, 1 << 20, &o->model.n_ctx, err) != 0 ||
        config_int(cfg, "engine", "parallel", 1, 64, &o->model.n_parallel, err) != 0 ||
        config_int(cfg, "pipeline", "extract_timeout", 0, 86400, &o->limits.wall_seconds, err) != 0 ||
        config_int(cfg, "pipeline", "extract_cpu", 0, 86400, &o->limits.cpu_seconds, err) != 0 ||
        config_int(cfg, "pipeline", "extract_memory_mb", 0, 1 << 20, &o->limits.memory_mb, err) != 0 ||
        config_int(cfg, "pipeline", "ocr_page_timeout", 0, 86400, &o->limits.ocr_page_seconds, err) != 0 ||
        config_int(cfg, "pipeline", "ocr_max_timeout", 0, 86400, &o->limits.ocr_max_seconds, err) != 0 ||
        config_int(cfg, "consultation", "candidate_threshold", 0, 1000000, &o->candidate_threshold, err) != 0)
        return -1;
    if (o->candidate_threshold == 0)
        o->candidate_threshold = -1;   /* the key's 0 is never; the option's 0 is the default */
    return pipeline_read_ocr(cfg, 1, &o->ocr, err);
}

int pipeline_reload_settings(pipeline *p, const config *cfg, perr *err)
{
    pipeline_options o = {0};
    if (read_limits(cfg, &o, err) != 0)
        return perr_prefix(err, "reloading settings (nothing changed)");
    if (pipeline_reload_prompts(p, err) != 0)
        return -1;
    pipeline_set_limits(p, &o.limits);
    pipeline_set_ocr(p, &o.ocr);
    return 0;
}

static void log_model(const llm *m, const char *source, double seconds)
{
    log_info("model loaded", "name=%s path=%s chosen_by=%s sha256=%s params=%lld ctx=%d threads=%d "
             "chat_template=%s packed_mib=%.1f load_s=%.2f", llm_model_name(m), llm_model_path(m), source,
             llm_model_sha256(m), llm_n_params(m), llm_n_ctx(m), llm_n_threads(m), llm_chat_template_name(m),
             (double)llm_packed_bytes(m) / 1048576.0, seconds);
    if (llm_is_toy(m))
        log_warn("TINY TEST MODEL: its output text is not meaningful; use a real instruction-tuned GGUF "
                 "([engine] model) for real summaries", "name=%s params=%lld", llm_model_name(m), llm_n_params(m));
}

/* Once at start: analyses whose long-document answers this model's context
 * makes shorter than their prompts ask. */
static void log_budget_notes(pipeline *p)
{
    pipeline_budget_note note;
    perr err = {{0}};
    for (size_t i = 0; pipeline_budget_note_at(p, i, &note, &err) == 0; i++)
        log_warn("the model's context makes this analysis's answers shorter", "analysis=%s max_tokens=%d used=%d "
                 "ctx=%d applies_to=\"documents that need more than one call\"", note.analysis, note.max_tokens,
                 note.used, llm_n_ctx(pipeline_llm(p)));
    if (err.msg[0])
        log_warn("cannot work out the answer budgets", "error=%s", err.msg);
}

int pipeline_start_extract_server(extract_server **out, perr *err)
{
    *out = NULL;
    int threads = thread_count();
    if (threads > 1)
        return perr_set(err, "the extraction server must start before any thread (this process has %d)", threads);
    if (extract_server_start(out, err) != 0)
        return -1;
    log_debug("extraction server started", "pid=%d", (int)extract_server_pid(*out));
    return 0;
}

int pipeline_setup(const config *cfg, const pipeline_setup_overrides *ov, pipeline **out, perr *err)
{
    *out = NULL;
    char model_path[4096], prompts_dir[4096];
    const char *source = NULL;
    pipeline_options o = {
        .model = {.model_path = model_path, .chat_template = config_get(cfg, "engine", "chat_template"),
                  .pack_weights = config_get(cfg, "engine", "pack_weights")},
        .prompts_dir = prompts_dir,
        .default_analyses = config_get(cfg, "pipeline", "analyses"),
        .input_root = config_get(cfg, "pipeline", "input_root"),
        .max_tokens = ov ? ov->max_tokens : 0,
        .extract_server = ov ? ov->extract_server : NULL,
    };
    int draft;
    if (pipeline_resolve_model(cfg, ov ? ov->model_path : NULL, model_path, sizeof model_path, &source, err) != 0 ||
        pipeline_resolve_prompts(cfg, prompts_dir, sizeof prompts_dir, err) != 0 || read_limits(cfg, &o, err) != 0 ||
        config_get_bool(cfg, "engine", "draft", &draft, err) != 0)
        return -1;
    o.model.no_draft = !draft || (ov && ov->no_draft);
    log_info("loading model", "path=%s chosen_by=%s prompts=%s drafts=%s", model_path, source, prompts_dir,
             o.model.no_draft ? "off" : "on");
    double t0 = monotonic_seconds();
    if (pipeline_new(out, &o, err) != 0)
        return -1;
    log_model(pipeline_llm(*out), source, monotonic_seconds() - t0);
    log_budget_notes(*out);
    return 0;
}
