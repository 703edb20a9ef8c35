/* test_sampler.c — the sampler's partial selection (heap top-k, min-p
 * threshold, radix sort) draws exactly the tokens of the plain definition:
 * sort the whole vocabulary, then top-k, top-p, min-p, temperature and a
 * draw. The oracle below is that definition written straightforwardly. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rng.h"
#include "engine/sampler.h"

/* ---- oracle ------------------------------------------------------------ */

typedef struct ref_cand {
    int32_t id;
    float logit;
    float p;
} ref_cand;

/* The draws are the sampler's generator (engine/rng.h); the penalty looks
 * at the last repeat_last_n (at most 64) of the tokens accepted so far,
 * kept oldest first. */
typedef struct ref_sampler {
    sampler_params p;
    int n_vocab;
    rng rng;
    int32_t accepted[64];
    int n_accepted;
} ref_sampler;

static void ref_init(ref_sampler *r, const sampler_params *p, int n_vocab)
{
    memset(r, 0, sizeof *r);
    r->p = *p;
    r->n_vocab = n_vocab;
    rng_seed(&r->rng, p->seed);
}

static void ref_accept(ref_sampler *r, int32_t t)
{
    if (r->n_accepted == 64)
        memmove(r->accepted, r->accepted + 1, --r->n_accepted * sizeof *r->accepted);
    r->accepted[r->n_accepted++] = t;
}

static int ref_cmp(const void *a, const void *b)
{
    const ref_cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static void ref_softmax(ref_cand *c, int n, float temp)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        c[i].p = expf((c[i].logit - c[0].logit) / temp);
        sum += c[i].p;
    }
    for (int i = 0; i < n; i++)
        c[i].p = (float)(c[i].p / sum);
}

static int32_t ref_sample(ref_sampler *r, const float *logits, ref_cand *c)
{
    const int n_vocab = r->n_vocab;
    for (int i = 0; i < n_vocab; i++)
        c[i] = (ref_cand){ .id = i, .logit = logits[i] };
    if (r->p.repeat_penalty != 1.0f) {
        const int last = r->n_accepted < r->p.repeat_last_n ? r->n_accepted : r->p.repeat_last_n;
        const int32_t *history = r->accepted + r->n_accepted - last;
        for (int i = 0; i < last; i++) {
            int32_t id = history[i];
            int seen = 0;
            for (int j = 0; j < i; j++)
                seen |= history[j] == id;
            if (!seen)
                c[id].logit = c[id].logit > 0 ? c[id].logit / r->p.repeat_penalty
                                              : c[id].logit * r->p.repeat_penalty;
        }
    }
    if (r->p.temp <= 0) {
        int32_t best = 0;
        for (int i = 1; i < n_vocab; i++)
            if (c[i].logit > c[best].logit)
                best = i;
        return best;
    }
    qsort(c, (size_t)n_vocab, sizeof *c, ref_cmp);
    int n = n_vocab;
    if (r->p.top_k > 0 && r->p.top_k < n)
        n = r->p.top_k;
    if (r->p.top_p < 1.0f) {
        ref_softmax(c, n, 1.0f);
        double cum = 0.0;
        for (int i = 0; i < n; i++) {
            cum += c[i].p;
            if (cum >= r->p.top_p) {
                n = i + 1;
                break;
            }
        }
    }
    if (r->p.min_p > 0.0f) {
        const float threshold = c[0].logit + logf(r->p.min_p);
        int keep = 1;
        while (keep < n && c[keep].logit >= threshold)
            keep++;
        n = keep;
    }
    ref_softmax(c, n, r->p.temp);
    double u = rng_uniform(&r->rng), cum = 0.0;
    for (int i = 0; i < n; i++) {
        cum += c[i].p;
        if (u < cum)
            return c[i].id;
    }
    return c[n - 1].id;
}

/* ---- comparison -------------------------------------------------------- */

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

/* Random logits: a spread that varies per case, some coarsely rounded
 * (ties), some zeros of both signs and a few very low values. */
static void random_logits(float *l, int n, uint64_t *x, int coarse)
{
    const float spread = 0.5f + (float)(lcg(x) % 200) / 10.0f;
    for (int i = 0; i < n; i++) {
        float v = ((float)(lcg(x) % 2000001u) / 1000000.0f - 1.0f) * spread;
        if (coarse)
            v = roundf(v * 4.0f) / 4.0f;
        uint64_t r = lcg(x) % 100;
        if (r == 0)
            v = 0.0f;
        else if (r == 1)
            v = -0.0f;
        else if (r == 2)
            v = -1e30f;
        l[i] = v;
    }
}

static sampler_params random_params(uint64_t *x, uint64_t seed, int n_vocab)
{
    static const int ks[] = { 0, 0, 1, 5, 40, 100 };
    static const float ps[] = { 1.0f, 1.0f, 0.95f, 0.5f, 0.99f, 0.999f };
    static const float mins[] = { 0.0f, 0.0f, 0.05f, 0.1f, 0.5f, 1.5f };
    static const float temps[] = { 0.0f, 0.3f, 0.8f, 1.0f, 1.7f, 5.0f };
    static const float pens[] = { 1.0f, 1.0f, 1.1f, 1.5f };
    sampler_params p = {
        .temp = temps[lcg(x) % 6], .top_k = ks[lcg(x) % 6], .top_p = ps[lcg(x) % 6],
        .min_p = mins[lcg(x) % 6], .repeat_penalty = pens[lcg(x) % 4],
        .repeat_last_n = (int)(lcg(x) % 65), .seed = seed,
    };
    if (lcg(x) % 8 == 0)
        p.top_k = n_vocab + (int)(lcg(x) % 3) - 1; /* around the vocabulary size */
    return p;
}

Test(sampler, partial_selection_draws_exactly_the_full_sort_tokens)
{
    static const int vocabs[] = { 1, 2, 7, 100, 1000, 5000 };
    uint64_t x = 12345;
    int cases = 0, sampled = 0;
    for (int v = 0; v < 6; v++) {
        const int n_vocab = vocabs[v];
        float *logits = malloc((size_t)n_vocab * sizeof *logits);
        ref_cand *scratch = malloc((size_t)n_vocab * sizeof *scratch);
        for (int round = 0; round < 60; round++, cases++) {
            sampler_params p = random_params(&x, (uint64_t)round * 7919u + (uint64_t)v, n_vocab);
            sampler *s;
            perr err;
            cr_assert_eq(sampler_new(&s, &p, n_vocab, &err), 0, "%s", err.msg);
            ref_sampler r;
            ref_init(&r, &p, n_vocab);
            for (int step = 0; step < 8; step++) {
                random_logits(logits, n_vocab, &x, round % 3 == 0);
                int32_t want = ref_sample(&r, logits, scratch);
                int32_t got = sampler_sample(s, logits);
                cr_assert_eq(got, want,
                             "vocab %d round %d step %d (temp %g top-k %d top-p %g min-p %g "
                             "penalty %g): got %d, want %d", n_vocab, round, step, p.temp,
                             p.top_k, p.top_p, p.min_p, p.repeat_penalty, got, want);
                sampled += p.temp > 0;
                sampler_accept(s, got);
                ref_accept(&r, got);
            }
            sampler_free(s);
        }
        free(logits);
        free(scratch);
    }
    cr_assert_gt(sampled, cases * 4, "most cases sample with a temperature");
}

Test(sampler, oracle_is_sensitive_to_the_seed)
{
    /* guards the comparison above: the draws do depend on the seed */
    float logits[50];
    uint64_t x = 1;
    random_logits(logits, 50, &x, 0);
    sampler_params p = { .temp = 5.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                         .repeat_penalty = 1.0f, .repeat_last_n = 0, .seed = 1 };
    ref_sampler a, b;
    ref_init(&a, &p, 50);
    p.seed = 2;
    ref_init(&b, &p, 50);
    ref_cand c[50];
    int differ = 0;
    for (int i = 0; i < 20; i++)
        differ += ref_sample(&a, logits, c) != ref_sample(&b, logits, c);
    cr_assert_gt(differ, 0);
}

/* The plain scan sampler_argmax must agree with. */
static int32_t ref_argmax(const float *l, int n)
{
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[best])
            best = i;
    return best;
}

Test(sampler, argmax_is_the_first_maximum_like_a_plain_scan)
{
    static const float specials[] = { 0.0f, -0.0f, 1.0f, -1.0f, INFINITY, -INFINITY, NAN, 2.5f };
    float l[41];
    uint64_t x = 99;
    int nan_first = 0, tail_max = 0;
    for (int round = 0; round < 4000; round++) {
        const int n = 1 + (int)(lcg(&x) % 41);
        for (int i = 0; i < n; i++)
            l[i] = lcg(&x) % 3 ? specials[lcg(&x) % 8] : (float)(lcg(&x) % 7) - 3.0f;
        int32_t want = ref_argmax(l, n), got = sampler_argmax(l, n);
        cr_assert_eq(got, want, "round %d, n %d: got %d, want %d", round, n, got, want);
        nan_first += isnan(l[0]) && n > 1;
        tail_max += want >= n - n % 8 && want > 0;
    }
    cr_assert_gt(nan_first, 0);
    cr_assert_gt(tail_max, 0, "the maximum sometimes sits past the last full lane group");
}

/* ---- a single candidate ------------------------------------------------- */

/* A filter that allows the tokens of a set. */
typedef struct only_set {
    const int32_t *ids;
    int n, n_vocab;
} only_set;

static int set_allow(void *user, int32_t id)
{
    const only_set *o = user;
    for (int i = 0; i < o->n; i++)
        if (o->ids[i] == id)
            return 1;
    return 0;
}

static int set_mask(void *user, uint8_t *mask)
{
    const only_set *o = user;
    memset(mask, 0, (size_t)o->n_vocab);
    for (int i = 0; i < o->n; i++)
        mask[o->ids[i]] = 1;
    return o->n;
}

/* The tokens sampler_sample draws next, after a filtered pick from
 * allowed (n of them) or after nothing (n < 0). */
static void draws_after(const sampler_params *p, const float *logits, int n_vocab,
                        const int32_t *allowed, int n, int32_t *out, int n_out)
{
    sampler *s;
    perr err;
    cr_assert_eq(sampler_new(&s, p, n_vocab, &err), 0, "%s", err.msg);
    if (n >= 0) {
        const only_set o = { allowed, n, n_vocab };
        const sampler_filter f = { .user = (void *)&o, .allow = set_allow, .mask = set_mask };
        int32_t id = sampler_sample_filtered(s, logits, &f);
        cr_assert(set_allow((void *)&o, id), "picked %d, which the filter refuses", id);
    }
    for (int i = 0; i < n_out; i++)
        out[i] = sampler_sample(s, logits);
    sampler_free(s);
}

/* With a temperature, a filter that leaves one token draws no random
 * number: the generator is where a fresh one with the same seed is (so a
 * decoding loop may append forced tokens without the sampler). Two allowed
 * tokens still draw. */
Test(sampler, one_allowed_token_draws_no_random_number)
{
    enum { V = 64, N = 24 };
    float logits[V];
    uint64_t x = 5;
    random_logits(logits, V, &x, 0);
    static const int ks[] = { 0, 1, 40 };
    static const float mins[] = { 0.0f, 0.05f };
    for (int k = 0; k < 3; k++)
        for (int m = 0; m < 2; m++) {
            sampler_params p = { .temp = 3.0f, .top_k = ks[k], .top_p = 0.95f,
                                 .min_p = mins[m], .repeat_penalty = 1.0f,
                                 .repeat_last_n = 0, .seed = 77 };
            int32_t fresh[N], after_one[N], after_two[N];
            const int32_t one[] = { 17 }, two[] = { 17, 3 };
            draws_after(&p, logits, V, NULL, -1, fresh, N);
            draws_after(&p, logits, V, one, 1, after_one, N);
            cr_assert_arr_eq(after_one, fresh, sizeof fresh, "top-k %d, min-p %.2f: the single "
                             "allowed token consumed random numbers", ks[k], mins[m]);
            if (ks[k] == 1)
                continue; /* top-k 1 leaves one candidate of any two */
            draws_after(&p, logits, V, two, 2, after_two, N);
            cr_assert(memcmp(after_two, fresh, sizeof fresh) != 0,
                      "top-k %d: two allowed tokens should draw", ks[k]);
        }
}
