/* tokenizer_gguf.c — builds a tokenizer from a GGUF file's tokenizer.* keys.
 *
 * A thin adapter: reads the standard keys into a tokenizer_spec (texts point
 * into the file mapping; tokenizer_new copies them) and applies llama.cpp's
 * defaults for keys that are absent.
 */
#include "engine/tokenizer/tokenizer_internal.h"

#include <stdlib.h>
#include <string.h>

#include "engine/gguf/gguf.h"

typedef struct gguf_vocab {
    tokenizer_spec spec;
    tokenizer_text *tokens;
    float *scores;
    int32_t *types;
    tokenizer_text *merges;
    char *pre;
} gguf_vocab;

static void gguf_vocab_free(gguf_vocab *v)
{
    free(v->tokens);
    free(v->scores);
    free(v->types);
    free(v->merges);
    free(v->pre);
}

static int has_key(const gguf_file *f, const char *key)
{
    return gguf_find_key(f, key) >= 0;
}

static int read_model_kind(const gguf_file *f, tokenizer_kind *kind, perr *err)
{
    gguf_str model;
    if (gguf_get_str(f, "tokenizer.ggml.model", &model, err) < 0)
        return -1;
    if (gguf_str_eq(model, "llama"))
        *kind = TOKENIZER_SPM;
    else if (gguf_str_eq(model, "gpt2"))
        *kind = TOKENIZER_BPE;
    else
        return perr_set(err, "unsupported tokenizer model \"%.*s\" (tokenizer.ggml.model)",
                        model.len > 64 ? 64 : (int)model.len, model.ptr);
    return 0;
}

/* A string array as tokenizer_texts; *out is malloc'd. */
static int read_str_array(const gguf_file *f, const char *key, tokenizer_text **out, size_t *n,
                          perr *err)
{
    gguf_value_type elem;
    uint64_t count;
    if (gguf_get_arr(f, key, &elem, &count, err) < 0)
        return -1;
    if (elem != GGUF_STRING)
        return perr_set(err, "%s is not an array of strings", key);
    if (count >= INT32_MAX)
        return perr_set(err, "%s has too many entries (%llu)", key, (unsigned long long)count);
    *out = malloc((count ? count : 1) * sizeof **out);
    if (!*out)
        return perr_set(err, "out of memory reading %s", key);
    for (uint64_t i = 0; i < count; i++) {
        gguf_str s = gguf_arr_str(f, key, i);
        (*out)[i] = (tokenizer_text){ s.ptr, s.len };
    }
    *n = count;
    return 0;
}

/* Optional per-token array of exactly n_vocab numbers. */
static int read_optional_numbers(const gguf_file *f, const char *key, size_t n_vocab,
                                 int want_float, void **out, perr *err)
{
    *out = NULL;
    if (!has_key(f, key))
        return 0;
    gguf_value_type elem;
    uint64_t count;
    if (gguf_get_arr(f, key, &elem, &count, err) < 0)
        return -1;
    if (count != n_vocab)
        return perr_set(err, "%s has %llu entries for %zu tokens", key,
                        (unsigned long long)count, n_vocab);
    int is_float = elem == GGUF_FLOAT32 || elem == GGUF_FLOAT64;
    int is_int = elem <= GGUF_INT32 || elem == GGUF_UINT64 || elem == GGUF_INT64;
    if (elem == GGUF_BOOL || (want_float ? !is_float : !is_int))
        return perr_set(err, "%s has elements of the wrong type", key);
    if (want_float) {
        float *v = malloc(n_vocab * sizeof *v);
        if (!v)
            return perr_set(err, "out of memory reading %s", key);
        for (size_t i = 0; i < n_vocab; i++)
            v[i] = gguf_arr_f32(f, key, i);
        *out = v;
    } else {
        int32_t *v = malloc(n_vocab * sizeof *v);
        if (!v)
            return perr_set(err, "out of memory reading %s", key);
        for (size_t i = 0; i < n_vocab; i++) {
            int64_t x = gguf_arr_int(f, key, i);
            v[i] = x < INT32_MIN || x > INT32_MAX ? -1 : (int32_t)x;
        }
        *out = v;
    }
    return 0;
}

static int read_id(const gguf_file *f, const char *key, int32_t *id, perr *err)
{
    if (!has_key(f, key))
        return 0;
    int64_t v;
    if (gguf_get_i64(f, key, &v, err) < 0)
        return -1;
    /* Some converters write -1 or UINT32_MAX for "none". */
    *id = v < 0 || v >= INT32_MAX ? -1 : (int32_t)v;
    return 0;
}

static int read_flag(const gguf_file *f, const char *key, int *flag, perr *err)
{
    if (!has_key(f, key))
        return 0;
    return gguf_get_bool(f, key, flag, err);
}

static int read_ids_and_flags(const gguf_file *f, tokenizer_spec *s, perr *err)
{
    if (s->kind == TOKENIZER_SPM) {  /* llama.cpp's defaults for SPM */
        s->bos_id = 1;
        s->eos_id = 2;
        s->unk_id = 0;
    }
    if (read_id(f, "tokenizer.ggml.bos_token_id", &s->bos_id, err) < 0 ||
        read_id(f, "tokenizer.ggml.eos_token_id", &s->eos_id, err) < 0 ||
        read_id(f, "tokenizer.ggml.eot_token_id", &s->eot_id, err) < 0 ||
        read_id(f, "tokenizer.ggml.unknown_token_id", &s->unk_id, err) < 0 ||
        read_id(f, "tokenizer.ggml.padding_token_id", &s->pad_id, err) < 0 ||
        read_flag(f, "tokenizer.ggml.add_bos_token", &s->add_bos, err) < 0 ||
        read_flag(f, "tokenizer.ggml.add_eos_token", &s->add_eos, err) < 0 ||
        read_flag(f, "tokenizer.ggml.add_space_prefix", &s->add_space_prefix, err) < 0)
        return -1;
    /* Ids outside the vocabulary mean "none" in the wild. */
    int32_t *ids[] = { &s->bos_id, &s->eos_id, &s->eot_id, &s->unk_id, &s->pad_id };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (*ids[i] >= 0 && (size_t)*ids[i] >= s->n_vocab)
            *ids[i] = -1;
    return 0;
}

static int read_bpe_keys(const gguf_file *f, gguf_vocab *v, perr *err)
{
    if (has_key(f, "tokenizer.ggml.pre")) {
        gguf_str pre;
        if (gguf_get_str(f, "tokenizer.ggml.pre", &pre, err) < 0)
            return -1;
        v->pre = strndup(pre.ptr, pre.len > 128 ? 128 : pre.len);
        if (!v->pre)
            return perr_set(err, "out of memory");
        v->spec.pre = v->pre;
    }
    if (!has_key(f, "tokenizer.ggml.merges"))
        return perr_set(err, "tokenizer.ggml.merges is missing (needed by a gpt2 vocabulary)");
    return read_str_array(f, "tokenizer.ggml.merges", &v->merges, &v->spec.n_merges, err);
}

static int read_gguf_vocab(const gguf_file *f, gguf_vocab *v, perr *err)
{
    tokenizer_kind kind = TOKENIZER_SPM;
    if (read_model_kind(f, &kind, err) < 0)
        return -1;
    tokenizer_spec_init(&v->spec, kind);
    tokenizer_spec *s = &v->spec;
    if (read_str_array(f, "tokenizer.ggml.tokens", &v->tokens, &s->n_vocab, err) < 0 ||
        read_optional_numbers(f, "tokenizer.ggml.scores", s->n_vocab, 1, (void **)&v->scores,
                              err) < 0 ||
        read_optional_numbers(f, "tokenizer.ggml.token_type", s->n_vocab, 0,
                              (void **)&v->types, err) < 0)
        return -1;
    s->tokens = v->tokens;
    s->scores = v->scores;
    s->token_types = v->types;
    if (read_ids_and_flags(f, s, err) < 0)
        return -1;
    if (kind == TOKENIZER_BPE && read_bpe_keys(f, v, err) < 0)
        return -1;
    s->merges = v->merges;
    if (has_key(f, "tokenizer.chat_template")) {
        gguf_str tmpl;
        if (gguf_get_str(f, "tokenizer.chat_template", &tmpl, err) < 0)
            return -1;
        s->chat_template = (tokenizer_text){ tmpl.ptr ? tmpl.ptr : "", tmpl.len };
    }
    return 0;
}

int tokenizer_from_gguf(tokenizer **out, const gguf_file *f, perr *err)
{
    gguf_vocab v;
    memset(&v, 0, sizeof v);
    *out = NULL;
    int rc = read_gguf_vocab(f, &v, err);
    if (rc == 0)
        rc = tokenizer_new(out, &v.spec, err);
    gguf_vocab_free(&v);
    if (rc < 0)
        perr_prefix(err, "tokenizer");
    return rc;
}
