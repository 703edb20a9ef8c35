/* perplexity_kld.c — llama.cpp's KL-divergence base files in `precis
 * perplexity` (see perplexity_kld.h). */
#include "tools/perplexity_kld.h"

#include <stdlib.h>

#include "engine/kld.h"
#include "engine/logits_file.h"
#include "tools/kld_report.h"

typedef struct base_writer {
    FILE *f, *out;
    uint16_t *rec;
} base_writer;

static int write_token(void *user, const float *logits, const logit_row_norm *norm, int n_vocab, int32_t next,
                       perr *err)
{
    base_writer *w = user;
    logits_record_encode(logits, norm, n_vocab, next, w->rec);
    return logits_file_write_record(w->f, w->rec, n_vocab, err);
}

static void print_ppl(void *user, int chunk, int n_chunks, double ppl)
{
    base_writer *w = user;
    (void)n_chunks;
    fprintf(w->out, "[%d]%.4f,", chunk, ppl);
    fflush(w->out);
}

int ppl_write_base(engine_ctx *ctx, const int32_t *ids, int n_chunks, int n_ctx, int32_t bos,
                   const char *path, FILE *out, perplexity_result *r, perr *err)
{
    const int n_vocab = engine_n_vocab(ctx);
    base_writer w = { .out = out };
    w.rec = malloc(LOGITS_RECORD_LEN(n_vocab) * sizeof *w.rec);
    if (!w.rec)
        return perr_set(err, "out of memory");
    w.f = fopen(path, "wb");
    if (!w.f) {
        free(w.rec);
        return perr_errno(err, "%s", path);
    }
    perplexity_hooks h = { .progress = print_ppl, .token = write_token, .user = &w };
    int rc = logits_file_write_header(w.f, n_ctx, n_vocab, n_chunks, ids, err);
    if (rc == 0)
        rc = perplexity_run_chunks(ctx, ids, n_chunks, n_ctx, bos, &h, r, err);
    if (fclose(w.f) != 0 && rc == 0)
        rc = perr_errno(err, "closing");
    free(w.rec);
    return rc == 0 ? 0 : perr_prefix(err, "%s", path);
}

typedef struct comparer {
    logits_base base;
    kld_acc acc;
    FILE *out;
} comparer;

static int compare_token(void *user, const float *logits, const logit_row_norm *norm, int n_vocab, int32_t next,
                         perr *err)
{
    comparer *c = user;
    if (logits_base_next(&c->base, err) != 0)
        return -1;
    if (kld_acc_add(&c->acc, logits, norm, n_vocab, c->base.rec, next) != 0)
        return perr_set(err, "more tokens scored than the base file holds");
    return 0;
}

static void print_row(void *user, int chunk, int n_chunks, double ppl)
{
    comparer *c = user;
    (void)n_chunks;
    (void)ppl;
    if (chunk == 1)
        kld_report_chunk_header(c->out);
    kld_running r;
    kld_running_of(&c->acc, &r);
    kld_report_chunk(c->out, chunk, &r);
    fflush(c->out);
}

static int check_base(const logits_base *b, const model *m, int n_ctx, perr *err)
{
    if (b->n_vocab != m->hp.n_vocab)
        return perr_set(err, "its vocabulary has %d tokens, the model's %lld: not the same "
                        "vocabulary", b->n_vocab, (long long)m->hp.n_vocab);
    if (n_ctx > 0 && n_ctx != b->n_ctx)
        return perr_set(err, "it was computed with a context of %d, not -c %d", b->n_ctx,
                        n_ctx);
    return 0;
}

static int run_compare(comparer *c, const model *m, int32_t bos, int n_chunks, int n_threads,
                       perr *err)
{
    engine_ctx *ctx = NULL;
    engine_params ep = { .n_ctx = c->base.n_ctx, .n_seq = 1, .n_threads = n_threads };
    if (engine_ctx_new(&ctx, m, &ep, err) != 0)
        return -1;
    perplexity_hooks h = { .progress = print_row, .token = compare_token, .user = c };
    perplexity_result r;
    int rc = perplexity_run_chunks(ctx, c->base.tokens, n_chunks, c->base.n_ctx, bos, &h, &r,
                                   err);
    engine_ctx_free(ctx);
    return rc;
}

int ppl_compare_base(const model *m, int32_t bos, const char *path, int n_ctx, int max_chunks,
                     int n_threads, FILE *out, perr *err)
{
    comparer c = { .out = out };
    if (logits_base_open(&c.base, path, err) != 0)
        return -1;
    int n_chunks = c.base.n_chunk;
    if (max_chunks > 0 && max_chunks < n_chunks)
        n_chunks = max_chunks;
    int rc = check_base(&c.base, m, n_ctx, err);
    if (rc != 0)
        rc = perr_prefix(err, "%s", path);
    else
        rc = kld_acc_init(&c.acc, (size_t)n_chunks * (size_t)LOGITS_SCORED(c.base.n_ctx), err);
    if (rc == 0 && (rc = run_compare(&c, m, bos, n_chunks, n_threads, err)) != 0)
        perr_prefix(err, "%s", path);
    if (rc == 0) {
        fprintf(out, "\n");
        kld_summary s;
        kld_summarize(&c.acc, &s);
        kld_report_summary(out, &s);
    }
    kld_acc_free(&c.acc);
    logits_base_close(&c.base);
    return rc;
}
