/* pipeline.c — a job end to end: load, hash, extract, analyse, store (see pipeline.h). */
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotonic.h"
#include "common/sha256.h"
#include "engine/json/json_schema.h"
#include "extractors/extract.h"
#include "pipeline/analyses/analysis.h"
#include "pipeline/analyses/twin.h"
#include "pipeline/consultation/consultation_job.h"
#include "pipeline/job_twin.h"

#define MAX_KNOWN_ANALYSES 32

/* Every analysis's prompt, by analysis_at() index; replaced whole on reload. */
typedef struct prompt_set {
    prompt_spec *prompts[MAX_KNOWN_ANALYSES];
    char *sampling_json[MAX_KNOWN_ANALYSES];
    json_schema *schemas[MAX_KNOWN_ANALYSES];     /* NULL: free-text prompt */
    char *twin_attributes;                        /* twin_attributes.json; NULL = none in the dir */
} prompt_set;

struct pipeline {
    llm *llm;
    prompt_set ps;
    char *prompts_dir;
    char **defaults;                              /* default analyses */
    size_t n_defaults;
    char *input_root;
    sandbox_limits limits;
    pipeline_ocr ocr;
    extract_server *server;                       /* not owned; NULL = sandbox_extract */
    int max_tokens;
    int candidate_threshold;                      /* < 0 = never */
};

static size_t analysis_index(const analysis_def *d)
{
    size_t i = 0;
    while (analysis_at(i) != d)
        i++;
    return i;
}

/* ---- set-up ---------------------------------------------------------------- */

static int add_default(pipeline *p, const char *name, size_t len, perr *err)
{
    char *copy = strndup(name, len);
    if (!copy)
        return perr_set(err, "out of memory");
    if (!analysis_find(copy)) {
        perr_set(err, "[pipeline] analyses: unknown analysis \"%s\"", copy);
        free(copy);
        return -1;
    }
    char **grown = realloc(p->defaults, (p->n_defaults + 1) * sizeof *grown);
    if (!grown) {
        free(copy);
        return perr_set(err, "out of memory");
    }
    p->defaults = grown;
    p->defaults[p->n_defaults++] = copy;
    return 0;
}

/* "summary, other" -> p->defaults. */
static int parse_defaults(pipeline *p, const char *list, perr *err)
{
    for (const char *s = list ? list : "summary"; *s;) {
        while (*s == ' ' || *s == ',')
            s++;
        size_t n = strcspn(s, ", ");
        if (n > 0 && add_default(p, s, n, err) != 0)
            return -1;
        s += n;
    }
    if (p->n_defaults == 0)
        return perr_set(err, "[pipeline] analyses is empty");
    return 0;
}

static void prompt_set_free(prompt_set *ps)
{
    for (size_t i = 0; i < MAX_KNOWN_ANALYSES; i++) {
        prompt_free(ps->prompts[i]);
        free(ps->sampling_json[i]);
        json_schema_free(ps->schemas[i]);
    }
    free(ps->twin_attributes);
    memset(ps, 0, sizeof *ps);
}

/* dir/twin_attributes.json when there is one, checked (legal_review's twin
 * option needs it; a directory without it only lacks that option). */
static int load_twin_attributes(prompt_set *ps, const char *dir, perr *err)
{
    char *path = g_build_filename(dir, "twin_attributes.json", NULL);
    gchar *text = NULL;
    int rc = 0;
    if (g_file_get_contents(path, &text, NULL, NULL)) {
        twin_rules r = {0};
        rc = twin_rules_add_attributes(&r, text, err);
        twin_rules_clear(&r);
        if (rc == 0 && !(ps->twin_attributes = strdup(text)))
            rc = perr_set(err, "out of memory");
        if (rc != 0)
            perr_prefix(err, "%s", path);
    }
    g_free(text);
    g_free(path);
    return rc;
}

/* Load every analysis's prompt from dir into ps (which the caller frees). */
static int load_prompts(prompt_set *ps, const char *dir, int max_tokens, perr *err)
{
    if (!dir || !*dir)
        return perr_set(err, "no prompts directory");
    for (size_t i = 0; analysis_at(i) && i < MAX_KNOWN_ANALYSES; i++) {
        if (analysis_load_prompt(analysis_at(i), dir, &ps->prompts[i], err) != 0)
            return -1;
        if (max_tokens > 0)
            ps->prompts[i]->max_tokens = max_tokens;
        if (!(ps->sampling_json[i] = prompt_sampling_json(ps->prompts[i])))
            return perr_set(err, "out of memory");
        const char *schema = ps->prompts[i]->schema_json;
        if (analysis_schema_compile(&ps->schemas[i], schema, err) != 0)
            return perr_prefix(err, "prompt %s/%s.json: \"schema\"", dir, analysis_at(i)->prompt);
    }
    return load_twin_attributes(ps, dir, err);
}

int pipeline_reload_prompts(pipeline *p, perr *err)
{
    prompt_set fresh = {0};
    if (load_prompts(&fresh, p->prompts_dir, p->max_tokens, err) != 0) {
        prompt_set_free(&fresh);
        return perr_prefix(err, "reloading prompts (the previous ones stay in use)");
    }
    prompt_set_free(&p->ps);
    p->ps = fresh;
    return 0;
}

void pipeline_set_limits(pipeline *p, const sandbox_limits *limits)
{
    p->limits = *limits;
}

const sandbox_limits *pipeline_limits(const pipeline *p)
{
    return &p->limits;
}

void pipeline_set_ocr(pipeline *p, const pipeline_ocr *ocr)
{
    p->ocr = *ocr;
    p->ocr.languages[sizeof p->ocr.languages - 1] = '\0';
}

const pipeline_ocr *pipeline_ocr_settings(const pipeline *p)
{
    return &p->ocr;
}

const char *pipeline_prompt_version(const pipeline *p, const char *analysis)
{
    for (size_t i = 0; analysis_at(i) && i < MAX_KNOWN_ANALYSES; i++)
        if (strcmp(analysis_at(i)->name, analysis) == 0 && p->ps.prompts[i])
            return p->ps.prompts[i]->version;
    return NULL;
}

int pipeline_new(pipeline **out, const pipeline_options *opt, perr *err)
{
    *out = NULL;
    pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return perr_set(err, "out of memory");
    p->limits = opt->limits;
    pipeline_set_ocr(p, &opt->ocr);
    p->server = opt->extract_server;
    p->max_tokens = opt->max_tokens;
    p->candidate_threshold = opt->candidate_threshold ? opt->candidate_threshold
                                                      : CONSULTATION_DEFAULT_CANDIDATE_THRESHOLD;
    int rc = 0;
    if (opt->input_root && *opt->input_root && !(p->input_root = strdup(opt->input_root)))
        rc = perr_set(err, "out of memory");
    if (rc == 0)
        rc = parse_defaults(p, opt->default_analyses, err);
    if (rc == 0 && opt->prompts_dir && !(p->prompts_dir = strdup(opt->prompts_dir)))
        rc = perr_set(err, "out of memory");
    if (rc == 0)
        rc = load_prompts(&p->ps, p->prompts_dir, p->max_tokens, err);
    if (rc == 0)
        rc = llm_open(&p->llm, &opt->model, err);
    if (rc != 0) {
        pipeline_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

void pipeline_free(pipeline *p)
{
    if (!p)
        return;
    llm_free(p->llm);
    prompt_set_free(&p->ps);
    free(p->prompts_dir);
    for (size_t i = 0; i < p->n_defaults; i++)
        free(p->defaults[i]);
    free(p->defaults);
    free(p->input_root);
    free(p);
}

const llm *pipeline_llm(const pipeline *p)
{
    return p->llm;
}

int pipeline_budget_note_at(pipeline *p, size_t i, pipeline_budget_note *note, perr *err)
{
    for (size_t k = 0; analysis_at(k) && k < MAX_KNOWN_ANALYSES; k++) {
        const analysis_def *def = analysis_at(k);
        analysis_input in;
        int used = 0;
        if (!def->budget || pipeline_analysis_input(p, def->name, &in, err) != 0)
            continue;
        if (def->budget(&in, &used, err) != 0)
            return perr_prefix(err, "analysis %s", def->name);
        if (used >= in.max_tokens || i-- > 0)
            continue;
        *note = (pipeline_budget_note){.analysis = def->name, .max_tokens = in.max_tokens, .used = used};
        return 0;
    }
    return -1;
}

int pipeline_analysis_input(pipeline *p, const char *analysis, analysis_input *in, perr *err)
{
    const analysis_def *def = analysis_find(analysis);
    if (!def)
        return perr_set(err, "unknown analysis \"%s\"", analysis);
    size_t idx = analysis_index(def);
    const prompt_spec *prompt = p->ps.prompts[idx];
    if (!prompt)
        return perr_set(err, "analysis \"%s\" has no prompt loaded", analysis);
    *in = (analysis_input){.llm = p->llm, .prompt = prompt, .schema = p->ps.schemas[idx],
                           .max_tokens = prompt->max_tokens};
    return 0;
}

/* ---- one job ----------------------------------------------------------------- */

static int fail(pipeline_report *rep, const char *error_class)
{
    snprintf(rep->error_class, sizeof rep->error_class, "%s", error_class);
    return PIPELINE_PERMANENT;
}

static void enter_stage(const pipeline_hooks *h, const char *stage)
{
    if (h && h->stage)
        h->stage(h->stage_ctx, stage);
}

static int cancelled(const pipeline_hooks *h)
{
    return h && h->cancel && h->cancel(h->cancel_ctx);
}

/* The analyses the job asks for (or the defaults), all known. */
static int resolve_analyses(const pipeline *p, const job *j, const analysis_def **defs, size_t *n,
                            perr *err)
{
    char *const *names = j->n_analyses ? j->analyses : p->defaults;
    *n = j->n_analyses ? j->n_analyses : p->n_defaults;
    for (size_t i = 0; i < *n; i++) {
        if (!(defs[i] = analysis_find(names[i]))) {
            char known[256] = "";
            for (size_t k = 0; analysis_at(k); k++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
                         analysis_at(k)->name);
            return perr_set(err, "unknown analysis \"%s\" (known: %s)", names[i], known);
        }
        if (!defs[i]->run && defs[i]->scope == ANALYSIS_ITEM)
            return perr_set(err, "analysis \"%s\" asks one question of each labelled item of an evaluation "
                                 "(precis eval legal), not of a document", names[i]);
        if (!defs[i]->run)
            return perr_set(err, "analysis \"%s\" works on a whole collection, not on one document", names[i]);
    }
    return 0;
}

/* {"key": "value", ..., "authors": [...], "warnings": [...]} of a document. */
static char *document_metadata_json(const document *d)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < d->n_metadata; i++)
        if (!cJSON_GetObjectItemCaseSensitive(o, d->metadata[i].key))
            cJSON_AddStringToObject(o, d->metadata[i].key, d->metadata[i].value ? d->metadata[i].value : "");
    if (o && d->n_authors) {
        cJSON *a = cJSON_AddArrayToObject(o, "authors");
        for (size_t i = 0; a && i < d->n_authors; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(d->authors[i]));
    }
    if (o && d->n_warnings) {
        cJSON *w = cJSON_AddArrayToObject(o, "warnings");
        for (size_t i = 0; w && i < d->n_warnings; i++)
            cJSON_AddItemToArray(w, cJSON_CreateString(d->warnings[i]));
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

static cJSON *paragraph_json(const doc_paragraph *par)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", par->id);
    cJSON_AddNumberToObject(o, "page", par->page);
    cJSON_AddNumberToObject(o, "char_start", (double)par->char_start);
    cJSON_AddNumberToObject(o, "char_end", (double)par->char_end);
    if (par->ocr) {
        cJSON_AddTrueToObject(o, "ocr");
        cJSON_AddNumberToObject(o, "ocr_confidence", par->ocr_confidence);
    }
    return o;
}

/* {"sections": [{"heading", "level", "paragraphs": [{"id", "page", "char_start", "char_end",
 * "ocr"?, "ocr_confidence"?}]}]}: where each paragraph is in full_text, for analyses that cite
 * paragraphs, and which were read by OCR. */
static char *document_structure_json(const document *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *sections = o ? cJSON_AddArrayToObject(o, "sections") : NULL;
    for (size_t i = 0; sections && i < d->n_sections; i++) {
        const doc_section *s = &d->sections[i];
        cJSON *so = cJSON_CreateObject();
        if (!so)
            break;
        cJSON_AddItemToArray(sections, so);
        if (s->heading)
            cJSON_AddStringToObject(so, "heading", s->heading);
        cJSON_AddNumberToObject(so, "level", s->level);
        cJSON *pars = cJSON_AddArrayToObject(so, "paragraphs");
        for (size_t k = 0; pars && k < s->n_paragraphs; k++)
            cJSON_AddItemToArray(pars, paragraph_json(&s->paragraphs[k]));
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

static int load_and_extract(pipeline *p, const job *j, const pipeline_hooks *hooks, pipeline_report *rep,
                            perr *err)
{
    enter_stage(hooks, "load");
    double t0 = monotonic_seconds();
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (job_load_document(j, p->input_root, &bytes, &len, err) != 0)
        return fail(rep, "document");
    sha256_hex(bytes, len, rep->sha256);
    double t1 = monotonic_seconds();
    rep->load_seconds = t1 - t0;
    enter_stage(hooks, "extract");
    extract_options eo = {.password = j->password, .ocr = p->ocr.mode, .ocr_languages = p->ocr.languages,
                          .ocr_dpi = p->ocr.dpi};
    int rc = p->server ? extract_server_run(p->server, bytes, len, &eo, &p->limits, &rep->doc, err)
                       : sandbox_extract(bytes, len, &eo, &p->limits, &rep->doc, err);
    free(bytes);
    rep->extract_seconds = monotonic_seconds() - t1;
    if (rc == EXTRACT_SERVER_GONE) /* not the document's fault: retry */
        return perr_prefix(err, "extracting %s", rep->source), fail(rep, "extract"), PIPELINE_TRANSIENT;
    if (rc != 0)
        return perr_prefix(err, "extracting %s", rep->source), fail(rep, "extract");
    if (rep->doc->full_text_len == 0)
        return perr_set(err, "no text could be extracted from %s (a scanned PDF without a text layer?)",
                        rep->source), fail(rep, "empty_document");
    rep->metadata_json = document_metadata_json(rep->doc);
    rep->structure_json = document_structure_json(rep->doc);
    if (!rep->metadata_json || !rep->structure_json)
        return perr_set(err, "out of memory"), fail(rep, "engine");
    return 0;
}

static char *timings_json(const analysis_output *o, const pipeline_report *rep, double seconds)
{
    cJSON *t = cJSON_CreateObject();
    if (!t)
        return NULL;
    cJSON_AddNumberToObject(t, "chunks", o->chunks);
    cJSON_AddNumberToObject(t, "calls", o->calls);
    cJSON_AddNumberToObject(t, "levels", o->levels);
    cJSON_AddStringToObject(t, "stop_reason", o->stop_reason ? o->stop_reason : "");
    cJSON_AddNumberToObject(t, "analysis_ms", (double)(long long)(seconds * 1000));
    cJSON_AddNumberToObject(t, "load_ms", (double)(long long)(rep->load_seconds * 1000));
    cJSON_AddNumberToObject(t, "extract_ms", (double)(long long)(rep->extract_seconds * 1000));
    char *text = cJSON_PrintUnformatted(t);
    cJSON_Delete(t);
    return text;
}

static int run_analysis(pipeline *p, const analysis_def *def, const job *j, const pipeline_hooks *hooks,
                        pipeline_report *rep, perr *err)
{
    size_t idx = analysis_index(def);
    const prompt_spec *prompt = p->ps.prompts[idx];
    const char *title = rep->doc->title && *rep->doc->title ? rep->doc->title : rep->source;
    analysis_input in = {.llm = p->llm, .prompt = prompt, .schema = p->ps.schemas[idx], .max_tokens = prompt->max_tokens, .title = title,
                         .text = rep->doc->full_text, .doc = rep->doc, .cancel = hooks ? hooks->cancel : NULL,
                         .cancel_ctx = hooks ? hooks->cancel_ctx : NULL};
    job_twin twin = {0};
    if (j->twin_json && strcmp(def->name, "legal_review") == 0) {
        if (job_twin_options(j->twin_json, p->ps.twin_attributes, &twin, err) != 0)
            return fail(rep, "invalid_job");
        in.twin = &twin.options;
    }
    analysis_output out;
    double t0 = monotonic_seconds();
    int rc = def->run(&in, &out, err);
    job_twin_clear(&twin);
    double seconds = monotonic_seconds() - t0;
    rep->analyze_seconds += seconds;
    if (rc == LLM_CANCELLED)
        return perr_prefix(err, "analysis %s", def->name), PIPELINE_TRANSIENT;
    if (rc != 0)
        return perr_prefix(err, "analysis %s of %s", def->name, rep->source), fail(rep, "engine");
    pipeline_result *r = &rep->results[rep->n_results++];
    *r = (pipeline_result){
        .analysis = def->name, .prompt_name = prompt->name, .prompt_version = prompt->version,
        .model_name = llm_model_name(p->llm), .model_sha256 = llm_model_sha256(p->llm),
        .sampling_json = strdup(p->ps.sampling_json[idx]), .output_json = out.output_json,
        .raw_text = out.raw_text, .timings_json = timings_json(&out, rep, seconds),
        .prompt_tokens = out.prompt_tokens, .completion_tokens = out.completion_tokens,
        .prompt_ms = (long long)(out.prompt_seconds * 1000), .completion_ms = (long long)(out.gen_seconds * 1000),
        .trace_json = out.trace ? cJSON_PrintUnformatted(out.trace) : NULL,
    };
    cJSON_Delete(out.trace);
    rep->tokens_in += out.prompt_tokens;
    rep->tokens_out += out.completion_tokens;
    rep->tokens_cached += out.cached_tokens;
    if (!r->sampling_json || !r->timings_json)
        return perr_set(err, "out of memory"), fail(rep, "engine");
    return 0;
}

/* A consultation job: its document is a response file, not a document to
 * extract; the outcome (rep->consultation) is stored by the job runner. */
static int analyze_consultation(pipeline *p, const job *j, const pipeline_hooks *hooks, pipeline_report *rep,
                                perr *err)
{
    enter_stage(hooks, "load");
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (job_load_document(j, p->input_root, &bytes, &len, err) != 0)
        return fail(rep, "document");
    enter_stage(hooks, "consultation");
    analysis_input in;
    int rc = pipeline_analysis_input(p, "consultation", &in, err);
    if (rc == 0) {
        in.cancel = hooks ? hooks->cancel : NULL;
        in.cancel_ctx = hooks ? hooks->cancel_ctx : NULL;
        rc = consultation_job_analyze(&in, j, bytes, len, hooks ? hooks->approved : NULL,
                                      p->candidate_threshold < 0 ? 0 : p->candidate_threshold, &rep->consultation,
                                      rep->error_class, err);
    }
    free(bytes);
    consultation_job_outcome *o = rep->consultation;
    if (o) {
        snprintf(rep->sha256, sizeof rep->sha256, "%s", o->sha256);
        rep->analyze_seconds = o->seconds;
        rep->tokens_in = o->res.out.prompt_tokens;
        rep->tokens_out = o->res.out.completion_tokens;
    }
    if (rc == LLM_CANCELLED)
        return PIPELINE_TRANSIENT;
    return rc == 0 ? 0 : PIPELINE_PERMANENT;
}

static int wants_analysis(const analysis_def *const *defs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(defs[i]->name, name) == 0)
            return 1;
    return 0;
}

int pipeline_analyze(pipeline *p, const job *j, const pipeline_hooks *hooks, pipeline_report *rep, perr *err)
{
    memset(rep, 0, sizeof *rep);
    rep->source = job_source(j);
    if (consultation_job_wanted(j))
        return analyze_consultation(p, j, hooks, rep, err);
    const analysis_def *defs[PIPELINE_MAX_ANALYSES];
    size_t n_defs;
    if (resolve_analyses(p, j, defs, &n_defs, err) != 0)
        return fail(rep, "unknown_analysis");
    if (j->twin_json && !wants_analysis(defs, n_defs, "legal_review"))
        return perr_set(err, "twin is an option of legal_review, which this job does not run"),
               fail(rep, "invalid_job");
    int rc = load_and_extract(p, j, hooks, rep, err);
    for (size_t i = 0; rc == 0 && i < n_defs; i++) {
        if (cancelled(hooks))
            return perr_set(err, "cancelled by shutdown"), PIPELINE_TRANSIENT;
        enter_stage(hooks, defs[i]->name);
        rc = run_analysis(p, defs[i], j, hooks, rep, err);
    }
    return rc;
}

void pipeline_report_clear(pipeline_report *rep)
{
    document_free(rep->doc);
    consultation_job_outcome_free(rep->consultation);
    free(rep->metadata_json);
    free(rep->structure_json);
    for (size_t i = 0; i < rep->n_results; i++) {
        pipeline_result *r = &rep->results[i];
        free(r->sampling_json);
        free(r->output_json);
        free(r->raw_text);
        free(r->timings_json);
        free(r->trace_json);
    }
    memset(rep, 0, sizeof *rep);
}

static void add_string_or_null(cJSON *o, const char *key, const char *value)
{
    if (value)
        cJSON_AddStringToObject(o, key, value);
    else
        cJSON_AddNullToObject(o, key);
}

char *pipeline_report_json(const pipeline *p, const pipeline_report *rep, const char *file)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (file)
        cJSON_AddStringToObject(o, "file", file);
    cJSON_AddStringToObject(o, "source", rep->source ? rep->source : "");
    cJSON_AddStringToObject(o, "sha256", rep->sha256);
    const document *d = rep->doc;
    add_string_or_null(o, "title", d ? d->title : NULL);
    add_string_or_null(o, "format", d ? d->format : NULL);
    add_string_or_null(o, "media_type", d ? d->media_type : NULL);
    cJSON_AddNumberToObject(o, "pages", d ? d->pages : 0);
    add_string_or_null(o, "language", d ? d->language : NULL);
    cJSON *model = cJSON_AddObjectToObject(o, "model");
    if (model) {
        cJSON_AddStringToObject(model, "name", llm_model_name(p->llm));
        cJSON_AddStringToObject(model, "sha256", llm_model_sha256(p->llm));
    }
    cJSON *analyses = cJSON_AddObjectToObject(o, "analyses");
    for (size_t i = 0; analyses && i < rep->n_results; i++) {
        cJSON *out = cJSON_Parse(rep->results[i].output_json);
        cJSON_AddItemToObject(analyses, rep->results[i].analysis, out ? out : cJSON_CreateNull());
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}
