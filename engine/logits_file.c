/* logits_file.c — llama.cpp's KL-divergence base file (see logits_file.h). */
#include "engine/logits_file.h"

#include "engine/logit_norm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HEADER_BYTES 20 /* magic + n_ctx + n_vocab + n_chunk */
#define MAX_N_CTX (1 << 20)
#define MAX_N_VOCAB (1 << 24)

double logits_record_encode(const float *logits, const logit_row_norm *norm, int n_vocab, int32_t tok,
                            uint16_t *rec)
{
    const float max = norm->max, log_sum = (float)norm->lse;
    float min = logits[0];
    for (int i = 1; i < n_vocab; i++)
        if (logits[i] < min)
            min = logits[i];
    if (min < max - 24)
        min = max - 24;
    const float min_log_prob = min - max - log_sum;
    const float scale = (max - min) / 65535.f;
    memcpy(rec, &scale, sizeof scale);
    memcpy(rec + 2, &min_log_prob, sizeof min_log_prob);
    uint16_t *q = rec + 4;
    memset(q, 0, (LOGITS_RECORD_LEN(n_vocab) - 4) * sizeof *q);
    if (scale != 0) {
        const float inv = 1 / scale;
        for (int i = 0; i < n_vocab; i++) {
            if (logits[i] > min) {
                long v = lrintf(inv * (logits[i] - min));
                q[i] = (uint16_t)(v > 65535 ? 65535 : v);
            }
        }
    }
    return (double)(max + log_sum - logits[tok]);
}

void logits_record_scale(const uint16_t *rec, float *scale, float *min_log_prob)
{
    memcpy(scale, rec, sizeof *scale);
    memcpy(min_log_prob, rec + 2, sizeof *min_log_prob);
}

static int write_all(FILE *f, const void *p, size_t size, perr *err)
{
    if (size && fwrite(p, 1, size, f) != size)
        return perr_errno(err, "writing the logits file");
    return 0;
}

int logits_file_write_header(FILE *f, int n_ctx, int n_vocab, int n_chunk,
                             const int32_t *tokens, perr *err)
{
    int32_t h[3] = { n_ctx, n_vocab, n_chunk };
    if (write_all(f, LOGITS_FILE_MAGIC, 8, err) != 0 || write_all(f, h, sizeof h, err) != 0)
        return -1;
    return write_all(f, tokens, (size_t)n_chunk * (size_t)n_ctx * sizeof *tokens, err);
}

int logits_file_write_record(FILE *f, const uint16_t *rec, int n_vocab, perr *err)
{
    return write_all(f, rec, LOGITS_RECORD_LEN(n_vocab) * sizeof *rec, err);
}

static int read_all(logits_base *b, void *p, size_t size, const char *what, perr *err)
{
    if (fread(p, 1, size, b->f) != size)
        return perr_set(err, "the file ends inside %s", what);
    return 0;
}

/* The file's length must be exactly what its header announces. */
static int check_length(const logits_base *b, perr *err)
{
    struct stat st;
    if (fstat(fileno(b->f), &st) != 0)
        return perr_errno(err, "stat");
    uint64_t tokens = (uint64_t)b->n_chunk * (uint64_t)b->n_ctx * 4u;
    uint64_t rec = LOGITS_RECORD_LEN(b->n_vocab) * 2u, recs, want;
    if (__builtin_mul_overflow(rec, (uint64_t)LOGITS_SCORED(b->n_ctx), &rec) ||
        __builtin_mul_overflow(rec, (uint64_t)b->n_chunk, &recs) ||
        __builtin_add_overflow(recs, tokens + HEADER_BYTES, &want))
        return perr_set(err, "its header (n_ctx %d, n_vocab %d, n_chunk %d) is impossible",
                        b->n_ctx, b->n_vocab, b->n_chunk);
    if ((uint64_t)st.st_size != want)
        return perr_set(err, "it has %lld bytes but its header (n_ctx %d, n_vocab %d, "
                        "n_chunk %d) says %llu: %s", (long long)st.st_size, b->n_ctx,
                        b->n_vocab, b->n_chunk, (unsigned long long)want,
                        (uint64_t)st.st_size < want ? "truncated" : "trailing bytes");
    return 0;
}

static int read_header(logits_base *b, perr *err)
{
    char magic[8];
    int32_t h[3];
    if (fread(magic, 1, 8, b->f) != 8 || memcmp(magic, LOGITS_FILE_MAGIC, 8) != 0)
        return perr_set(err, "not a llama.cpp logits file (no \"_logits_\" at its start)");
    if (read_all(b, h, sizeof h, "its header", err) != 0)
        return -1;
    b->n_ctx = h[0];
    b->n_vocab = h[1];
    b->n_chunk = h[2];
    if (b->n_ctx < 4 || b->n_ctx > MAX_N_CTX)
        return perr_set(err, "its n_ctx %d is outside [4, %d]", b->n_ctx, MAX_N_CTX);
    if (b->n_vocab < 1 || b->n_vocab > MAX_N_VOCAB)
        return perr_set(err, "its n_vocab %d is outside [1, %d]", b->n_vocab, MAX_N_VOCAB);
    if (b->n_chunk < 1)
        return perr_set(err, "its n_chunk %d is not positive", b->n_chunk);
    return check_length(b, err);
}

static int read_tokens(logits_base *b, perr *err)
{
    size_t n = (size_t)b->n_chunk * (size_t)b->n_ctx;
    b->tokens = malloc(n * sizeof *b->tokens);
    b->rec = malloc(LOGITS_RECORD_LEN(b->n_vocab) * sizeof *b->rec);
    if (!b->tokens || !b->rec)
        return perr_set(err, "out of memory");
    if (read_all(b, b->tokens, n * sizeof *b->tokens, "its tokens", err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (b->tokens[i] < 0 || b->tokens[i] >= b->n_vocab)
            return perr_set(err, "token %zu is %d, outside its vocabulary of %d", i,
                            (int)b->tokens[i], b->n_vocab);
    return 0;
}

int logits_base_open(logits_base *b, const char *path, perr *err)
{
    memset(b, 0, sizeof *b);
    b->f = fopen(path, "rb");
    if (!b->f)
        return perr_errno(err, "%s", path);
    if (read_header(b, err) != 0 || read_tokens(b, err) != 0) {
        logits_base_close(b);
        return perr_prefix(err, "%s", path);
    }
    return 0;
}

int logits_base_next(logits_base *b, perr *err)
{
    long long k = (long long)b->n_read + 1;
    long long n = (long long)b->n_chunk * LOGITS_SCORED(b->n_ctx);
    if (k > n)
        return perr_set(err, "all %lld base records are read", n);
    if (read_all(b, b->rec, LOGITS_RECORD_LEN(b->n_vocab) * sizeof *b->rec, "a record",
                 err) != 0)
        return perr_prefix(err, "base record %lld of %lld", k, n);
    float scale, floor;
    logits_record_scale(b->rec, &scale, &floor);
    if (!isfinite(scale) || scale < 0 || !isfinite(floor))
        return perr_set(err, "base record %lld of %lld: scale %g / floor %g are not finite "
                        "numbers (a corrupt file)", k, n, scale, floor);
    b->n_read++;
    return 0;
}

void logits_base_close(logits_base *b)
{
    if (b->f)
        fclose(b->f);
    free(b->tokens);
    free(b->rec);
    memset(b, 0, sizeof *b);
}
