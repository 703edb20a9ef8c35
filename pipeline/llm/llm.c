/* llm.c — the pipeline's model: load once, identify, format chat prompts
 * and generate answers (see llm.h). */
#include "pipeline/llm/llm.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sha256.h"
#include "common/utf8.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/engine.h"
#include "engine/generate_shared.h"
#include "engine/json/json_constraint.h"
#include "engine/model.h"
#include "engine/tokenizer/tokenizer.h"

struct llm {
    model *model;
    tokenizer *tok;
    engine_ctx *ctx;
    generate_shared *batcher;    /* owns ctx's sequence slots; shared by every calling thread */
    pthread_mutex_t vocab_mu;    /* guards the first build of json_vocab */
    json_vocab *json_vocab;      /* for constrained decoding; built on first use */
    chat_template_kind template_kind;
    char *name;
    char sha256[SHA256_HEX_LEN + 1];
    long long n_params;
    int n_threads;
    int no_draft;                /* llm_options.no_draft */
};

/* SHA-256 of a whole file, read through a private read-only mapping. */
static int file_sha256(const char *path, char out[SHA256_HEX_LEN + 1], perr *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return perr_errno(err, "cannot open %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return perr_errno(err, "cannot stat %s", path);
    }
    if (st.st_size == 0) {
        close(fd);
        sha256_hex("", 0, out);
        return 0;
    }
    void *data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (data == MAP_FAILED)
        return perr_errno(err, "cannot map %s", path);
    madvise(data, (size_t)st.st_size, MADV_SEQUENTIAL);
    sha256_hex(data, (size_t)st.st_size, out);
    munmap(data, (size_t)st.st_size);
    return 0;
}

/* GGUF general.name, else the file's base name without ".gguf". */
static char *model_display_name(const model *m)
{
    gguf_str s;
    if (gguf_get_str(m->gguf, "general.name", &s, NULL) == 0 && s.len > 0 && s.len < 256)
        return strndup(s.ptr, (size_t)s.len);
    const char *base = strrchr(m->path, '/');
    base = base ? base + 1 : m->path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".gguf") == 0)
        n -= 5;
    return strndup(base, n);
}

static long long count_params(const model *m)
{
    long long total = 0;
    for (int64_t i = 0; i < gguf_n_tensors(m->gguf); i++) {
        const gguf_tensor *t = gguf_tensor_at(m->gguf, i);
        long long n = 1;
        for (uint32_t d = 0; d < t->n_dims; d++)
            n *= t->ne[d];
        total += n;
    }
    return total;
}

static int load_parts(llm *m, const llm_options *opt, perr *err)
{
    model_pack_mode pack = MODEL_PACK_AUTO;
    if (opt->pack_weights && model_pack_mode_parse(opt->pack_weights, &pack) != 0)
        return perr_set(err, "[engine] pack_weights: '%s' is not auto, on or off", opt->pack_weights);
    if (model_load(&m->model, opt->model_path, err) != 0 || model_pack_weights(m->model, pack, err) != 0)
        return -1;
    if (tokenizer_from_gguf(&m->tok, m->model->gguf, err) != 0)
        return perr_prefix(err, "vocabulary of %s", opt->model_path);
    if ((int64_t)tokenizer_n_vocab(m->tok) != m->model->hp.n_vocab)
        return perr_set(err, "%s: the vocabulary has %zu tokens but the model %lld", opt->model_path,
                        tokenizer_n_vocab(m->tok), (long long)m->model->hp.n_vocab);
    if (chat_template_select(m->tok, opt->chat_template, &m->template_kind, err) != 0)
        return perr_prefix(err, "[engine] chat_template");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    m->n_threads = opt->n_threads > 0 ? opt->n_threads : cpus > 0 && cpus <= 256 ? (int)cpus : 1;
    m->no_draft = opt->no_draft;
    int64_t train = m->model->hp.n_ctx_train > 0 ? m->model->hp.n_ctx_train : 2048;
    int n_ctx = opt->n_ctx > 0 && opt->n_ctx < train ? opt->n_ctx : (int)(train < (1 << 20) ? train : (1 << 20));
    int n_seq = opt->n_parallel > 0 ? opt->n_parallel : 1;
    engine_params ep = {.n_ctx = n_ctx, .n_seq = n_seq, .n_threads = m->n_threads};
    if (engine_ctx_new(&m->ctx, m->model, &ep, err) != 0)
        return perr_prefix(err, "engine context of %d sequences of %d tokens", n_seq, n_ctx);
    if (generate_shared_new(&m->batcher, m->ctx, m->tok, err) != 0)
        return -1;
    if (!(m->name = model_display_name(m->model)))
        return perr_set(err, "out of memory");
    m->n_params = count_params(m->model);
    return file_sha256(opt->model_path, m->sha256, err);
}

int llm_open(llm **out, const llm_options *opt, perr *err)
{
    *out = NULL;
    if (!opt->model_path || !*opt->model_path)
        return perr_set(err, "no model given");
    llm *m = calloc(1, sizeof *m);
    if (!m)
        return perr_set(err, "out of memory");
    pthread_mutex_init(&m->vocab_mu, NULL);
    if (load_parts(m, opt, err) != 0) {
        llm_free(m);
        return perr_prefix(err, "loading model");
    }
    *out = m;
    return 0;
}

void llm_free(llm *m)
{
    if (!m)
        return;
    generate_shared_free(m->batcher);
    engine_ctx_free(m->ctx);
    json_vocab_free(m->json_vocab);
    tokenizer_free(m->tok);
    model_free(m->model);
    free(m->name);
    pthread_mutex_destroy(&m->vocab_mu);
    free(m);
}

const char *llm_model_name(const llm *m) { return m->name; }
const char *llm_model_sha256(const llm *m) { return m->sha256; }
const char *llm_model_path(const llm *m) { return m->model->path; }
const char *llm_chat_template_name(const llm *m) { return chat_template_name(m->template_kind); }
int llm_n_ctx(const llm *m) { return engine_n_ctx(m->ctx); }
int llm_n_threads(const llm *m) { return m->n_threads; }
int llm_n_parallel(const llm *m) { return engine_n_seq(m->ctx); }
size_t llm_packed_bytes(const llm *m) { return m->model->packed_bytes; }
long long llm_n_params(const llm *m) { return m->n_params; }
int llm_is_toy(const llm *m) { return m->n_params < LLM_TOY_PARAMS; }

int llm_count_tokens(const llm *m, const char *text, size_t len, size_t *n, perr *err)
{
    int32_t *ids = NULL;
    int rc = tokenizer_encode(m->tok, text, len, 0, 0, &ids, n, err);
    free(ids);
    return rc;
}

int llm_token_pieces(const llm *m, const char *text, size_t len, size_t per_piece, char ***pieces, size_t *n,
                     perr *err)
{
    *pieces = NULL;
    *n = 0;
    if (per_piece == 0)
        return perr_set(err, "pieces of zero tokens");
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (tokenizer_encode(m->tok, text, len, 0, 0, &ids, &n_ids, err) != 0)
        return -1;
    size_t count = (n_ids + per_piece - 1) / per_piece;
    char **out = calloc(count ? count : 1, sizeof *out);
    int rc = out ? 0 : perr_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        size_t from = i * per_piece, k = n_ids - from < per_piece ? n_ids - from : per_piece, out_len;
        rc = tokenizer_decode(m->tok, ids + from, k, 0, &out[i], &out_len, err);
    }
    free(ids);
    if (rc != 0) {
        for (size_t i = 0; out && i < count; i++)
            free(out[i]);
        free(out);
        return -1;
    }
    *pieces = out;
    *n = count;
    return 0;
}

int llm_chat_tokens(const llm *m, const char *system, const char *user, int32_t **ids, size_t *n,
                    perr *err)
{
    chat_message msgs[2];
    size_t k = 0;
    if (system && *system)
        msgs[k++] = (chat_message){"system", system};
    msgs[k++] = (chat_message){"user", user};
    chat_prompt p;
    if (chat_template_apply(m->template_kind, msgs, k, 1, &p, err) != 0)
        return -1;
    int rc = chat_prompt_encode(m->tok, &p, ids, n, err);
    chat_prompt_free(&p);
    return rc;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* text without surrounding whitespace, as a new string of valid UTF-8 (a
 * generation cut mid-character, or byte tokens that form no character,
 * would otherwise be refused by PostgreSQL). */
static char *trimmed_copy(const char *text)
{
    const char *p = text ? text : "";
    size_t n = strlen(p);
    while (n > 0 && is_space(*p)) {
        p++;
        n--;
    }
    while (n > 0 && is_space(p[n - 1]))
        n--;
    return utf8_sanitize(p, n, NULL);
}

static size_t count_strings(const char *const *list)
{
    size_t n = 0;
    while (list && list[n])
        n++;
    return n;
}

/* The engine's parameters for one request. A constrained answer ends with
 * EOS once its value is complete; stop strings could only cut it short (a
 * string value may hold "[INST]"). */
static generate_params request_params(const llm *m, const llm_chat_request *r)
{
    const char *const *stops = r->schema ? NULL : chat_template_stop_strings(m->template_kind);
    return (generate_params){.n_predict = r->max_tokens, .sampling = *r->sampling, .stop = stops,
                             .n_stop = count_strings(stops), .json_schema = r->schema, .json_vocab = m->json_vocab,
                             .no_draft = m->no_draft};
}

/* The vocabulary's JSON index, built by the first constrained call of any thread. */
static int ensure_json_vocab(llm *m, perr *err)
{
    pthread_mutex_lock(&m->vocab_mu);
    int rc = m->json_vocab ? 0 : json_vocab_new(&m->json_vocab, m->tok, err);
    pthread_mutex_unlock(&m->vocab_mu);
    return rc;
}

static void take_answer(llm_chat_request *r, generate_request *g)
{
    r->status = g->status;
    snprintf(r->error, sizeof r->error, "%s", g->error);
    if (g->status != 0)
        return;
    if (!(r->reply.text = trimmed_copy(g->text))) {
        r->status = -1;
        snprintf(r->error, sizeof r->error, "out of memory");
        return;
    }
    r->reply.prompt_tokens = g->result.n_prompt;
    r->reply.completion_tokens = g->result.n_generated;
    r->reply.cached_tokens = g->n_reused;
    r->reply.prompt_seconds = g->result.prompt_seconds;
    r->reply.gen_seconds = g->result.gen_seconds;
    r->reply.reason = g->result.reason;
}

int llm_chat_many(llm *m, llm_chat_request *reqs, size_t n, llm_cancel_fn cancel, void *cancel_ctx, perr *err)
{
    int constrained = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&reqs[i].reply, 0, sizeof reqs[i].reply);
        reqs[i].status = -1;
        reqs[i].error[0] = '\0';
        constrained |= reqs[i].schema != NULL;
    }
    if (constrained && ensure_json_vocab(m, err) != 0)
        return perr_prefix(err, "indexing the vocabulary for JSON output");
    generate_params *params = calloc(n ? n : 1, sizeof *params);
    generate_request *gen = calloc(n ? n : 1, sizeof *gen);
    if (!params || !gen) {
        free(params);
        free(gen);
        return perr_set(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        params[i] = request_params(m, &reqs[i]);
        gen[i] = (generate_request){.prompt = reqs[i].ids, .n_prompt = reqs[i].n_ids, .params = &params[i]};
    }
    int rc = generate_shared_run(m->batcher, gen, n, cancel, cancel_ctx, err);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            take_answer(&reqs[i], &gen[i]);
        generate_request_clear(&gen[i]);
    }
    free(params);
    free(gen);
    if (rc == 1)
        return perr_set(err, "generation cancelled"), LLM_CANCELLED;
    return rc;
}

int llm_chat(llm *m, const int32_t *ids, size_t n_ids, int max_tokens, const sampler_params *sp,
             const json_schema *schema, llm_cancel_fn cancel, void *cancel_ctx, llm_reply *out,
             perr *err)
{
    llm_chat_request r = {.ids = ids, .n_ids = n_ids, .max_tokens = max_tokens, .sampling = sp, .schema = schema};
    int rc = llm_chat_many(m, &r, 1, cancel, cancel_ctx, err);
    *out = r.reply;
    if (rc != 0)
        return rc;
    if (r.status != 0)
        return perr_set(err, "%s", r.error);
    return 0;
}

void llm_forget(llm *m)
{
    generate_shared_forget(m->batcher);
}

void llm_get_totals(const llm *m, llm_totals *out)
{
    generate_shared_totals t;
    generate_shared_get_totals(m->batcher, &t);
    *out = (llm_totals){.passes = t.passes, .sequences = t.sequences, .prompt_tokens = t.prompt_tokens,
                        .generated_tokens = t.generated_tokens, .cached_tokens = t.reused_tokens,
                        .calls = t.requests, .draft_proposed = t.draft_proposed,
                        .draft_accepted = t.draft_accepted};
}

void llm_reply_clear(llm_reply *r)
{
    free(r->text);
    memset(r, 0, sizeof *r);
}
