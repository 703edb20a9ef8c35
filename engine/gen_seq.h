/* gen_seq.h — the state of one generation between forward passes: its
 * sampler, JSON constraint, text, stop strings and token history. A driver
 * evaluates tokens (one sequence: generate.c; many at once:
 * generate_batch.c; several per pass: gen_chain.h) and hands each new row
 * of logits to gen_seq_step, which picks the next token, appends its text
 * and says whether the generation is over. gen_seq_forced takes a token
 * the JSON constraint forces without any logits (jump-forward).
 */
#ifndef PRECIS_GEN_SEQ_H
#define PRECIS_GEN_SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/generate.h"

typedef struct gen_seq {
    const tokenizer *tok;
    const generate_params *p;
    sampler *smp;
    json_constraint *jc;
    json_vocab *own_vocab;      /* built here when p->json_vocab is NULL */
    char *text;                 /* generated text, NUL-terminated */
    size_t len, cap, emitted;   /* bytes before `emitted` went to emit */
    int strip_first;            /* drop the first piece's leading space */
    generate_emit_fn emit;
    void *user;
    int32_t *hist;              /* prompt, then every token taken */
    size_t n_hist, hist_cap;
    int32_t eog;                /* the end-of-generation token a forced end takes; -1 = none */
    generate_result res;
} gen_seq;

/* Set up for a prompt (its tokens feed the repetition penalty). */
int gen_seq_init(gen_seq *g, const tokenizer *tok, int n_vocab, const int32_t *prompt, size_t n_prompt,
                 const generate_params *p, generate_emit_fn emit, void *user, perr *err);

/* Pick the next token from logits with `room` tokens still possible in the
 * context (counting this one). *done = 1 when the generation is over (EOG,
 * n_predict, stop string, caller, or room exhausted after this token);
 * else *next is the token to evaluate before the next step. */
int gen_seq_step(gen_seq *g, const float *logits, long room, int32_t *next, int *done, perr *err);

/* Jump-forward: when the JSON constraint (unless p->no_jump_forward) allows
 * exactly one next token — a forced token within the closing budget, or an
 * end-of-generation token once the value must end — take it as
 * gen_seq_step would have sampled it (with one candidate the sampler draws
 * nothing), with `room` as for gen_seq_step. Returns 1 with *id and *done
 * as gen_seq_step, 0 when the next token is not forced (nothing changed),
 * -1 on error. */
int gen_seq_forced(gen_seq *g, long room, int32_t *id, int *done, perr *err);

/* Tokens the generation may still take (n_predict); < 0 = no limit. */
long gen_seq_left(const gen_seq *g);

/* After the last step: emit what is held back; fails when a JSON
 * constraint's value is incomplete. */
int gen_seq_finish(gen_seq *g, perr *err);

void gen_seq_free(gen_seq *g);

#endif
