/* generate.c — prompt evaluation, the sampling loop and stop strings
 * (see generate.h). */
#include "engine/generate.h"

#include "engine/gen_seq.h"

#include <stdlib.h>
#include <string.h>

#include "common/monotonic.h"

/* Sample, evaluate the sampled token, repeat until the generation ends. */
static int sample_loop(engine_ctx *c, int seq, gen_seq *g, perr *err)
{
    for (;;) {
        long room = (long)engine_n_ctx(c) - engine_seq_len(c, seq) + 1;
        int32_t next;
        int done;
        if (gen_seq_step(g, engine_logits(c, 0), room, &next, &done, err) != 0)
            return -1;
        if (done)
            return 0;
        if (engine_eval(c, seq, &next, 1, ENGINE_LOGITS_LAST, err) != 0)
            return -1;
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
