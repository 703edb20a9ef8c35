/* consultation_flags.c — counts by position, minority and near-duplicate
 * flags and evidence of a run's themes (see consultation_flags.h). */
#include "pipeline/consultation/consultation_flags.h"

#include <string.h>

/* Words of a label: at most this many, each at most WORD_MAX - 1 bytes. */
#define WORDS_MAX 48
#define WORD_MAX 32

typedef struct word_set {
    char words[WORDS_MAX][WORD_MAX];
    size_t n;
} word_set;

consultation_flag_options consultation_flag_defaults(void)
{
    return (consultation_flag_options){.minority_min_responses = CONSULTATION_MINORITY_MIN_RESPONSES,
                                       .minority_min_share = CONSULTATION_MINORITY_MIN_SHARE,
                                       .duplicate_label_overlap = CONSULTATION_DUPLICATE_LABEL_OVERLAP,
                                       .duplicate_response_overlap = CONSULTATION_DUPLICATE_RESPONSE_OVERLAP};
}

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int is_function_word(const char *w)
{
    static const char *const words[] = {"a", "an", "and", "for", "in", "of", "on", "or", "the", "to", "with", NULL};
    for (size_t i = 0; words[i]; i++)
        if (strcmp(w, words[i]) == 0)
            return 1;
    return 0;
}

static int has_word(const word_set *s, const char *w)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->words[i], w) == 0)
            return 1;
    return 0;
}

static void add_word(word_set *s, char *w, size_t len)
{
    w[len] = '\0';
    if (len >= 4 && w[len - 1] == 's' && w[len - 2] != 's')
        w[len - 1] = '\0';
    if (!is_function_word(w) && !has_word(s, w) && s->n < WORDS_MAX)
        memcpy(s->words[s->n++], w, WORD_MAX);
}

static void label_words(const char *label, word_set *s)
{
    s->n = 0;
    char w[WORD_MAX];
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)label;; p++) {
        if (*p && is_word_byte(*p)) {
            if (len < WORD_MAX - 1)
                w[len++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
            continue;
        }
        if (len)
            add_word(s, w, len);
        len = 0;
        if (!*p)
            break;
    }
}

double consultation_label_overlap(const char *a, const char *b)
{
    word_set x, y;
    label_words(a ? a : "", &x);
    label_words(b ? b : "", &y);
    size_t both = 0;
    for (size_t i = 0; i < x.n; i++)
        both += (size_t)has_word(&y, x.words[i]);
    size_t either = x.n + y.n - both;
    return either ? (double)both / (double)either : 0.0;
}

/* The index of each theme id letter in res->themes (-1: no such theme):
 * ids need not run A, B, C (an approved set may be A, C, D or A..K, X). */
static void theme_indexes(const consultation_result *res, int index[26])
{
    for (int c = 0; c < 26; c++)
        index[c] = -1;
    for (size_t k = 0; k < res->n_themes && k < CONSULTATION_MAX_THEMES; k++) {
        char id = res->themes[k].id[0];
        if (id >= 'A' && id <= 'Z')
            index[id - 'A'] = (int)k;
    }
}

static int index_of(const int index[26], char id)
{
    return id >= 'A' && id <= 'Z' ? index[id - 'A'] : -1;
}

/* Per theme its responses by position; per pair how many responses have both. */
static void count(consultation_result *res, size_t both[CONSULTATION_MAX_THEMES][CONSULTATION_MAX_THEMES])
{
    int index[26];
    theme_indexes(res, index);
    for (size_t k = 0; k < res->n_themes; k++) {
        consultation_theme *t = &res->themes[k];
        t->response_count = t->agree = t->disagree = t->unclear = t->no_position = 0;
    }
    for (size_t i = 0; i < res->n; i++) {
        const consultation_annotation *a = &res->annotations[i];
        for (const char *p = a->themes; *p; p++) {
            int k = index_of(index, *p);
            if (k < 0)
                continue;
            consultation_theme *t = &res->themes[k];
            t->response_count++;
            if (strcmp(a->position, "AGREE") == 0)
                t->agree++;
            else if (strcmp(a->position, "DISAGREE") == 0)
                t->disagree++;
            else if (strcmp(a->position, "UNCLEAR") == 0)
                t->unclear++;
            else
                t->no_position++;
            for (const char *q = p + 1; *q; q++) {
                int m = index_of(index, *q);
                if (m >= 0)
                    both[k][m]++, both[m][k]++;
            }
        }
    }
}

static void link_pair(consultation_theme *a, const consultation_theme *b, double label, double responses)
{
    consultation_duplicate *d = &a->duplicates[a->n_duplicates++];
    memcpy(d->id, b->id, sizeof d->id);
    d->label_overlap = label;
    d->response_overlap = responses;
}

void consultation_flag_themes(consultation_result *res, const consultation_flag_options *opt)
{
    res->flags = opt ? *opt : consultation_flag_defaults();
    const consultation_flag_options *o = &res->flags;
    size_t both[CONSULTATION_MAX_THEMES][CONSULTATION_MAX_THEMES] = {{0}};
    size_t n_themes = res->n_themes < CONSULTATION_MAX_THEMES ? res->n_themes : CONSULTATION_MAX_THEMES;
    count(res, both);
    for (size_t k = 0; k < n_themes; k++) {
        consultation_theme *t = &res->themes[k];
        t->minority = t->response_count < o->minority_min_responses ||
                      (double)t->response_count < o->minority_min_share * (double)res->n;
        t->n_duplicates = 0;
    }
    for (size_t a = 0; a < n_themes; a++)
        for (size_t b = a + 1; b < n_themes; b++) {
            consultation_theme *x = &res->themes[a], *y = &res->themes[b];
            size_t either = x->response_count + y->response_count - both[a][b];
            double label = consultation_label_overlap(x->label, y->label);
            double responses = either ? (double)both[a][b] / (double)either : 0.0;
            if (label >= o->duplicate_label_overlap || (either && responses >= o->duplicate_response_overlap)) {
                link_pair(x, y, label, responses);
                link_pair(y, x, label, responses);
            }
        }
}

void consultation_theme_flags_json(const consultation_result *res, size_t k, cJSON *to)
{
    const consultation_theme *t = &res->themes[k];
    cJSON *p = cJSON_AddObjectToObject(to, "positions");
    if (p) {
        cJSON_AddNumberToObject(p, "AGREE", (double)t->agree);
        cJSON_AddNumberToObject(p, "DISAGREE", (double)t->disagree);
        cJSON_AddNumberToObject(p, "UNCLEAR", (double)t->unclear);
        cJSON_AddNumberToObject(p, "NONE", (double)t->no_position);
    }
    cJSON_AddBoolToObject(to, "minority", t->minority);
    cJSON *dups = cJSON_AddArrayToObject(to, "near_duplicates");
    for (size_t i = 0; dups && i < t->n_duplicates; i++) {
        cJSON *d = cJSON_CreateObject();
        if (!d)
            break;
        cJSON_AddStringToObject(d, "id", t->duplicates[i].id);
        cJSON_AddNumberToObject(d, "label_overlap", t->duplicates[i].label_overlap);
        cJSON_AddNumberToObject(d, "response_overlap", t->duplicates[i].response_overlap);
        cJSON_AddItemToArray(dups, d);
    }
    cJSON *evidence = cJSON_AddArrayToObject(to, "evidence");
    for (size_t i = 0; evidence && i < res->n; i++)
        if (strchr(res->annotations[i].themes, t->id[0]))
            cJSON_AddItemToArray(evidence, cJSON_CreateString(res->annotations[i].response_id));
}
