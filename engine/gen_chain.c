/* gen_chain.c — multi-token steps: forced tokens and verified drafts in
 * one forward pass (see gen_chain.h). */
#include "engine/gen_chain.h"

/* Drafts a generation's first chain may carry (then see gen_chain.h). */
#define DRAFT_FIRST_CAP 4
/* Chains without drafts after a draft rejected outright, at most. */
#define DRAFT_PAUSE_MAX 16

void gen_chain_init(gen_chain *ch)
{
    *ch = (gen_chain){.draft_limit = DRAFT_MAX, .draft_cap = DRAFT_FIRST_CAP};
}

int gen_chain_logits_from(const gen_chain *ch)
{
    return ch->n - ch->n_draft - 1;
}

static void count_drafts(gen_chain *ch, gen_seq *g, int accepted)
{
    if (ch->n_draft == 0)
        return;
    g->res.n_draft_proposed += ch->n_draft;
    g->res.n_draft_accepted += accepted;
    if (accepted == ch->n_draft)
        ch->draft_cap = 2 * ch->draft_cap < DRAFT_MAX ? 2 * ch->draft_cap : DRAFT_MAX;
    else
        ch->draft_cap = accepted + 1;
    if (accepted > 0) {
        ch->draft_backoff = 0;
        return;
    }
    ch->draft_backoff = ch->draft_backoff ? 2 * ch->draft_backoff : 1;
    if (ch->draft_backoff > DRAFT_PAUSE_MAX)
        ch->draft_backoff = DRAFT_PAUSE_MAX;
    ch->draft_pause = ch->draft_backoff;
}

int gen_chain_verify(gen_chain *ch, gen_seq *g, engine_ctx *c, int seq, int first_row, int32_t *next, int *done,
                     perr *err)
{
    const int len = engine_seq_len(c, seq);
    const int base = len - ch->n_draft;    /* tokens up to the first row's */
    const int32_t *draft = ch->tok + ch->n - ch->n_draft;
    int r = 0;
    for (;; r++) {
        long room = (long)engine_n_ctx(c) - (base + r) + 1;
        if (gen_seq_step(g, engine_logits(c, first_row + r), room, next, done, err) != 0)
            return -1;
        if (*done || r == ch->n_draft || *next != draft[r])
            break;
    }
    count_drafts(ch, g, r);
    ch->n = 0;
    ch->n_draft = 0;
    return base + r < len ? engine_seq_truncate(c, seq, base + r, err) : 0;
}

/* Draft tokens worth appending to a chain of ch->n tokens: within the cap,
 * the context, and n_predict (a draft is worth its logits only if another
 * token is sampled after it). */
static int draft_room(const gen_chain *ch, const gen_seq *g, int held, int n_ctx)
{
    int max = ch->draft_cap < ch->draft_limit ? ch->draft_cap : ch->draft_limit;
    int in_ctx = n_ctx - held - ch->n;     /* the last draft's position stays below n_ctx */
    long left = gen_seq_left(g);
    if (max > in_ctx)
        max = in_ctx;
    if (left >= 0 && max > left - 1)
        max = (int)(left - 1);
    return max;
}

int gen_chain_build(gen_chain *ch, gen_seq *g, int32_t next, int held, int n_ctx, int *done, perr *err)
{
    ch->tok[0] = next;
    ch->n = 1;
    ch->n_draft = 0;
    *done = 0;
    while (ch->n <= GEN_CHAIN_FORCED_MAX) {
        long room = (long)n_ctx - (held + ch->n) + 1;
        int32_t f;
        int got = gen_seq_forced(g, room, &f, done, err);
        if (got < 0)
            return -1;
        if (got == 0 || *done)
            break;
        ch->tok[ch->n++] = f;
    }
    if (*done || g->p->no_draft)
        return 0;
    if (ch->draft_pause > 0) {
        ch->draft_pause--;
        return 0;
    }
    ch->n_draft = draft_lookup(g->hist, (int)g->n_hist, ch->tok + ch->n, draft_room(ch, g, held, n_ctx));
    ch->n += ch->n_draft;
    return 0;
}
