/* logits_file.h — llama.cpp's KL-divergence base file ("_logits_" file),
 * read and written so files move between precis and llama.cpp /
 * ik_llama.cpp's `llama-perplexity --kl-divergence-base` both ways.
 *
 * Layout (little-endian, no padding):
 *   char[8]  "_logits_"
 *   int32    n_ctx      chunk size in tokens
 *   int32    n_vocab
 *   int32    n_chunk
 *   int32    tokens[n_chunk * n_ctx]   the text's tokens (BOS first when the
 *                                      vocabulary adds it; each chunk's first
 *                                      token is replaced by BOS only when run)
 *   then, chunk after chunk, one record per scored token (positions
 *   n_ctx/2 .. n_ctx-2 of the chunk: LOGITS_SCORED(n_ctx) records), each
 *   LOGITS_RECORD_LEN(n_vocab) uint16 values:
 *     float  scale, float min_log_prob   (the first 4 uint16)
 *     uint16 q[n_vocab]                  log p(i) ~ scale*q[i] + min_log_prob
 *     uint16 0                           when n_vocab is odd
 *
 * A record keeps log-probabilities down to 24 below the best logit: q is
 * (logit - floor) / scale rounded to nearest (ties to even), floor =
 * max(min logit, max logit - 24), scale = (max - floor) / 65535, and logits at
 * or below the floor are 0.
 */
#ifndef PRECIS_LOGITS_FILE_H
#define PRECIS_LOGITS_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "engine/logit_norm.h"

#define LOGITS_FILE_MAGIC "_logits_"
/* uint16 values per record */
#define LOGITS_RECORD_LEN(n_vocab) ((size_t)(2 * (((n_vocab) + 1) / 2) + 4))
/* records per chunk */
#define LOGITS_SCORED(n_ctx) ((n_ctx) - 1 - (n_ctx) / 2)

/* Encode one token's logits, with their normaliser (logit_norm), into rec
 * (LOGITS_RECORD_LEN(n_vocab) values). Returns -log p(tok), as llama.cpp
 * computes it while writing. */
double logits_record_encode(const float *logits, const logit_row_norm *norm, int n_vocab, int32_t tok,
                            uint16_t *rec);

/* The two floats at the start of a record. */
void logits_record_scale(const uint16_t *rec, float *scale, float *min_log_prob);

/* Writes the header and the tokens (n_chunk * n_ctx of them). */
int logits_file_write_header(FILE *f, int n_ctx, int n_vocab, int n_chunk,
                             const int32_t *tokens, perr *err);

int logits_file_write_record(FILE *f, const uint16_t *rec, int n_vocab, perr *err);

/* A base file opened for reading: header and tokens read and checked
 * (n_ctx, n_vocab, n_chunk in range, every token < n_vocab, the file exactly
 * as long as its header says), records read one by one. */
typedef struct logits_base {
    int n_ctx, n_vocab, n_chunk;
    int32_t *tokens;     /* n_chunk * n_ctx */
    uint16_t *rec;       /* the record logits_base_next read */
    int64_t n_read;      /* records read so far */
    FILE *f;
} logits_base;

int logits_base_open(logits_base *b, const char *path, perr *err);

/* Reads the next record into b->rec; checks its scale and floor are finite
 * (scale >= 0). */
int logits_base_next(logits_base *b, perr *err);

void logits_base_close(logits_base *b);

#endif
