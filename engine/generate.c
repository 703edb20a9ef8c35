/* generate.c — prompt evaluation and the decoding loop of one sequence,
 * a chain of tokens per pass (see generate.h, gen_chain.h). */
#include "engine/generate.h"

#include "engine/gen_chain.h"
#include "engine/gen_seq.h"

#include <stdlib.h>
#include <string.h>

#include "common/monotonic.h"

/* Sample (verifying drafts), evaluate the next chain, repeat until the
 * generation ends. */
static int sample_loop(engine_ctx *c, int seq, gen_seq *g, perr *err)
{
    gen_chain ch;
    gen_chain_init(&ch);
    for (;;) {
        int32_t next;
        int done;
        if (gen_chain_verify(&ch, g, c, seq, 0, &next, &done, err) != 0)
            return -1;
        if (!done && gen_chain_build(&ch, g, next, engine_seq_len(c, seq), engine_n_ctx(c), &done, err) != 0)
            return -1;
        if (done)
            return 0;
        if (engine_eval_from(c, seq, ch.tok, ch.n, gen_chain_logits_from(&ch), err) != 0)
            return -1;
        g->res.n_passes++;
    }
}

int generate_run(engine_ctx *c, int seq, const tokenizer *tok, const int32_t *prompt,
                 size_t n_prompt, const generate_params *p, generate_emit_fn emit, void *user,
                 generate_result *res, perr *err)
{
    memset(res, 0, sizeof *res);
    if (n_prompt == 0)
        return perr_set(err, "the prompt is empty (and the model adds no BOS token)");
    if (n_prompt > (size_t)engine_n_ctx(c))
        return perr_set(err, "the prompt has %zu tokens but the context holds only %d; "
                        "use a larger context", n_prompt, engine_n_ctx(c));
    gen_seq g;
    if (gen_seq_init(&g, tok, engine_n_vocab(c), prompt, n_prompt, p, emit, user, err) != 0)
        return -1;
    engine_seq_clear(c, seq);
    double t0 = monotonic_seconds();
    int rc = engine_eval(c, seq, prompt, (int)n_prompt, ENGINE_LOGITS_LAST, err);
    double t1 = monotonic_seconds();
    g.res.n_passes = 1;
    if (rc == 0)
        rc = sample_loop(c, seq, &g, err);
    if (rc == 0)
        rc = gen_seq_finish(&g, err);
    *res = g.res;
    res->prompt_seconds = t1 - t0;
    res->gen_seconds = monotonic_seconds() - t1;
    gen_seq_free(&g);
    return rc;
}

int generate_tokenize_prompt(const tokenizer *tok, const char *text, size_t len, int32_t **ids,
                             size_t *n_ids, perr *err)
{
    return tokenizer_encode(tok, text, len, 1, 0, ids, n_ids, err);
}

const char *generate_stop_reason_name(generate_stop_reason r)
{
    switch (r) {
    case GENERATE_STOP_LENGTH: return "length";
    case GENERATE_STOP_EOG: return "end of generation";
    case GENERATE_STOP_STRING: return "stop string";
    case GENERATE_STOP_CONTEXT: return "context full";
    case GENERATE_STOP_CALLER: return "stopped by caller";
    }
    return "unknown";
}
