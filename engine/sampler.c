/* sampler.c — repetition penalty, top-k/top-p/min-p, temperature and a
 * seeded draw (see sampler.h).
 *
 * The chain is defined on the vocabulary sorted best first (logit
 * descending, lower id on ties), but only the part a step can reach is
 * ordered: top-k selects its k candidates with a heap, min-p alone keeps
 * the tokens above its threshold before sorting, and otherwise the whole
 * vocabulary is radix-sorted (same order as a comparison sort, far
 * cheaper). The tokens drawn are the same as with a full sort. */
#include "engine/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rng.h"

typedef struct candidate {
    int32_t id;
    float logit;
    float p;
} candidate;

struct sampler {
    sampler_params p;
    int n_vocab;
    candidate *cand;
    float *penalized;    /* logits after the repetition penalty */
    uint32_t *radix;     /* radix sort scratch: keys, ids and their copies */
    uint8_t *mask;       /* sampler_sample_filtered's allowed tokens */
    int32_t *history;    /* ring buffer of the last repeat_last_n tokens */
    int n_history;
    int history_next;
    rng rng;            /* the draws (engine/rng.h) */
};

/* ---- lifecycle --------------------------------------------------------- */

sampler_params sampler_default_params(void)
{
    return (sampler_params){ .temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f,
                             .repeat_penalty = 1.0f, .repeat_last_n = 64, .seed = 0 };
}

int sampler_new(sampler **out, const sampler_params *p, int n_vocab, perr *err)
{
    *out = NULL;
    if (n_vocab < 1)
        return perr_set(err, "sampler needs a vocabulary (got %d tokens)", n_vocab);
    if (!isfinite(p->temp) || !isfinite(p->top_p) || !isfinite(p->min_p) ||
        !isfinite(p->repeat_penalty) || p->repeat_penalty <= 0)
        return perr_set(err, "sampler parameters must be finite and the repeat penalty > 0");
    if (p->repeat_last_n < 0 || p->repeat_last_n > (1 << 20))
        return perr_set(err, "repeat-last-n %d out of range", p->repeat_last_n);
    sampler *s = calloc(1, sizeof *s);
    if (!s)
        return perr_set(err, "out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    s->mask = malloc((size_t)n_vocab);
    s->penalized = malloc((size_t)n_vocab * sizeof *s->penalized);
    s->radix = malloc((size_t)n_vocab * 4 * sizeof *s->radix);
    s->history = malloc((size_t)(p->repeat_last_n ? p->repeat_last_n : 1) * sizeof *s->history);
    if (!s->cand || !s->mask || !s->history || !s->penalized || !s->radix) {
        sampler_free(s);
        return perr_set(err, "out of memory");
    }
    rng_seed(&s->rng, p->seed);
    *out = s;
    return 0;
}

void sampler_free(sampler *s)
{
    if (!s)
        return;
    free(s->cand);
    free(s->mask);
    free(s->penalized);
    free(s->radix);
    free(s->history);
    free(s);
}

void sampler_accept(sampler *s, int32_t token)
{
    int cap = s->p.repeat_last_n;
    if (cap == 0)
        return;
    s->history[s->history_next] = token;
    s->history_next = (s->history_next + 1) % cap;
    if (s->n_history < cap)
        s->n_history++;
}

/* ---- the chain --------------------------------------------------------- */

/* The first index holding the maximum is the index a running "if (l[i] >
 * best) best = i" scan ends on, so the maximum is found first with eight
 * independent lanes (no branch, vectorizable) and then located. A NaN in
 * front wins that scan (nothing compares greater); later NaNs never do. */
int32_t sampler_argmax(const float *logits, int n)
{
    if (n < 1 || isnan(logits[0]))
        return 0;
    float lane[8];
    for (int j = 0; j < 8; j++)
        lane[j] = logits[0];
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            lane[j] = logits[i + j] > lane[j] ? logits[i + j] : lane[j];
    float max = lane[0];
    for (int j = 1; j < 8; j++)
        max = lane[j] > max ? lane[j] : max;
    for (; i < n; i++)
        max = logits[i] > max ? logits[i] : max;
    for (i = 0; i < n; i++)
        if (logits[i] == max)
            return i;
    return 0;
}

/* The logits with the repetition penalty applied: the caller's array when
 * the penalty is off, else a penalized copy. Each distinct token of the
 * history is penalized once (llama.cpp). */
static const float *penalized_logits(sampler *s, const float *logits)
{
    const float penalty = s->p.repeat_penalty;
    if (penalty == 1.0f || s->n_history == 0)
        return logits;
    float *l = s->penalized;
    memcpy(l, logits, (size_t)s->n_vocab * sizeof *l);
    for (int i = 0; i < s->n_history; i++) {
        int32_t id = s->history[i];
        if (id < 0 || id >= s->n_vocab)
            continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = s->history[j] == id;
        if (!seen)
            l[id] = l[id] > 0 ? l[id] / penalty : l[id] * penalty;
    }
    return l;
}

/* The candidates' order: higher logit first, lower id on ties. */
static int better(const candidate *a, const candidate *b)
{
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int by_logit_desc(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Restore the heap below position i (root = worst kept candidate). */
static void sift_down(candidate *h, int n, int i)
{
    for (;;) {
        int worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && better(&h[worst], &h[l]))
            worst = l;
        if (r < n && better(&h[worst], &h[r]))
            worst = r;
        if (worst == i)
            return;
        candidate t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

/* cand[0..k) = the k best of the n logits, sorted best first. */
static void select_top_k(sampler *s, const float *l, int k)
{
    candidate *h = s->cand;
    for (int i = 0; i < k; i++)
        h[i] = (candidate){ .id = i, .logit = l[i] };
    for (int i = k / 2 - 1; i >= 0; i--)
        sift_down(h, k, i);
    for (int i = k; i < s->n_vocab; i++) {
        candidate c = { .id = i, .logit = l[i] };
        if (better(&c, &h[0])) {
            h[0] = c;
            sift_down(h, k, 0);
        }
    }
    qsort(h, (size_t)k, sizeof *h, by_logit_desc);
}

/* A key whose ascending order is the logits' descending order (-0 = +0). */
static uint32_t descending_key(float f)
{
    uint32_t u;
    if (f == 0.0f)
        f = 0.0f;
    memcpy(&u, &f, sizeof u);
    u = (u & 0x80000000u) ? ~u : u | 0x80000000u;
    return ~u;
}

/* cand[0..n) = every logit, sorted best first: a stable LSD radix sort
 * (11-bit digits) of the ids in ascending order, so ties keep the lower id
 * first, exactly as by_logit_desc orders them. */
static void sort_all(sampler *s, const float *l)
{
    const int n = s->n_vocab;
    uint32_t *key = s->radix, *id = key + n, *key2 = id + n, *id2 = key2 + n;
    for (int i = 0; i < n; i++) {
        key[i] = descending_key(l[i]);
        id[i] = (uint32_t)i;
    }
    for (int shift = 0; shift < 32; shift += 11) {
        int count[2048 + 1] = { 0 };
        for (int i = 0; i < n; i++)
            count[((key[i] >> shift) & 2047u) + 1]++;
        if (count[((key[0] >> shift) & 2047u) + 1] == n)
            continue; /* one digit value: the order is unchanged */
        for (int d = 0; d < 2048; d++)
            count[d + 1] += count[d];
        for (int i = 0; i < n; i++) {
            int at = count[(key[i] >> shift) & 2047u]++;
            key2[at] = key[i];
            id2[at] = id[i];
        }
        uint32_t *t = key; key = key2; key2 = t;
        t = id; id = id2; id2 = t;
    }
    for (int i = 0; i < n; i++)
        s->cand[i] = (candidate){ .id = (int32_t)id[i], .logit = l[id[i]] };
}

/* cand[0..m) = the tokens min-p alone keeps (logit >= best + log(min_p),
 * at least the best), sorted best first; returns m. */
static int select_min_p(sampler *s, const float *l)
{
    const int32_t best = sampler_argmax(l, s->n_vocab);
    const float threshold = l[best] + logf(s->p.min_p);
    int m = 0;
    for (int i = 0; i < s->n_vocab; i++)
        if (l[i] >= threshold)
            s->cand[m++] = (candidate){ .id = i, .logit = l[i] };
    if (m == 0)
        s->cand[m++] = (candidate){ .id = best, .logit = l[best] };
    qsort(s->cand, (size_t)m, sizeof *s->cand, by_logit_desc);
    return m;
}

/* p = softmax(logit / temp) over the first n candidates (sorted descending). */
static void softmax_candidates(candidate *c, int n, float temp)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        c[i].p = expf((c[i].logit - c[0].logit) / temp);
        sum += c[i].p;
    }
    for (int i = 0; i < n; i++)
        c[i].p = (float)(c[i].p / sum);
}

/* Smallest prefix whose probability reaches top_p (at least one). */
static int top_p_cut(const candidate *c, int n, float top_p)
{
    double cum = 0.0;
    for (int i = 0; i < n; i++) {
        cum += c[i].p;
        if (cum >= top_p)
            return i + 1;
    }
    return n;
}

/* Keep candidates whose probability is at least min_p times the best. */
static int min_p_cut(const candidate *c, int n, float min_p)
{
    const float threshold = c[0].logit + logf(min_p);
    int keep = 1;
    while (keep < n && c[keep].logit >= threshold)
        keep++;
    return keep;
}

static int32_t draw(sampler *s, const candidate *c, int n)
{
    double u = rng_uniform(&s->rng), cum = 0.0;
    for (int i = 0; i < n; i++) {
        cum += c[i].p;
        if (u < cum)
            return c[i].id;
    }
    return c[n - 1].id; /* rounding: the sum fell short of u */
}

/* Candidates from the logits (in id order), with the repetition penalty. */
static void load_candidates(sampler *s, const float *logits)
{
    const float *l = penalized_logits(s, logits);
    for (int i = 0; i < s->n_vocab; i++)
        s->cand[i] = (candidate){ .id = i, .logit = l[i] };
}

/* top-k, top-p, min-p, temperature and the draw over the first n
 * candidates, sorted best first. */
static int32_t sample_sorted(sampler *s, int n)
{
    candidate *c = s->cand;
    if (s->p.top_k > 0 && s->p.top_k < n)
        n = s->p.top_k;
    if (s->p.top_p < 1.0f) {
        softmax_candidates(c, n, 1.0f);
        n = top_p_cut(c, n, s->p.top_p);
    }
    if (s->p.min_p > 0.0f)
        n = min_p_cut(c, n, s->p.min_p);
    softmax_candidates(c, n, s->p.temp);
    return draw(s, c, n);
}

int32_t sampler_sample(sampler *s, const float *logits)
{
    const float *l = penalized_logits(s, logits);
    if (s->p.temp <= 0)
        return sampler_argmax(l, s->n_vocab);
    if (s->p.top_k > 0 && s->p.top_k < s->n_vocab) {
        select_top_k(s, l, s->p.top_k);
        return sample_sorted(s, s->p.top_k);
    }
    /* Without top-k, top-p needs the whole distribution in order; min-p
     * alone only the tokens above its threshold. */
    if (s->p.top_p >= 1.0f && s->p.min_p > 0.0f)
        return sample_sorted(s, select_min_p(s, l));
    sort_all(s, l);
    return sample_sorted(s, s->n_vocab);
}

/* ---- constrained sampling ------------------------------------------------- */

#define FILTER_PROBE 32 /* best candidates tested one by one before a mask */

/* Ids of the k best candidates, best first (lower id on ties); returns
 * how many (k or fewer). */
static int best_ids(const candidate *c, int n, int32_t *out, int k)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m == k && !(c[i].logit > c[out[m - 1]].logit))
            continue;
        int j = m < k ? m++ : m - 1;
        while (j > 0 && c[i].logit > c[out[j - 1]].logit) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = c[i].id;
    }
    return m;
}

static int32_t greedy_filtered(sampler *s, const sampler_filter *f)
{
    const candidate *c = s->cand;
    int32_t top[FILTER_PROBE];
    int n = best_ids(c, s->n_vocab, top, FILTER_PROBE);
    for (int i = 0; i < n; i++)
        if (f->allow(f->user, top[i]))
            return top[i];
    if (f->mask(f->user, s->mask) == 0)
        return -1;
    int32_t best = -1;
    for (int i = 0; i < s->n_vocab; i++)
        if (s->mask[i] && (best < 0 || c[i].logit > c[best].logit))
            best = i;
    return best;
}

/* Move the allowed candidates (sorted) to the front, keeping their order;
 * returns how many. With top-k, testing stops after k allowed ones. */
static int keep_allowed(sampler *s, const sampler_filter *f)
{
    candidate *c = s->cand;
    const int k = s->p.top_k, limit = 4 * k + 64;
    if (k > 0) {
        int idx[FILTER_PROBE * 4], m = 0;
        for (int i = 0; i < s->n_vocab && i < limit && m < k && m < FILTER_PROBE * 4; i++)
            if (f->allow(f->user, c[i].id))
                idx[m++] = i;
        if (m == k) {
            for (int j = 0; j < m; j++)
                c[j] = c[idx[j]];
            return m;
        }
    }
    if (f->mask(f->user, s->mask) == 0)
        return 0;
    int m = 0;
    for (int i = 0; i < s->n_vocab; i++)
        if (s->mask[c[i].id])
            c[m++] = c[i];
    return m;
}

int32_t sampler_sample_filtered(sampler *s, const float *logits, const sampler_filter *f)
{
    if (s->p.temp <= 0) {
        load_candidates(s, logits);
        return greedy_filtered(s, f);
    }
    sort_all(s, penalized_logits(s, logits));
    int n = keep_allowed(s, f);
    if (n == 1)
        return s->cand[0].id; /* one candidate: no draw (see sampler.h) */
    return n > 0 ? sample_sorted(s, n) : -1;
}
