/* quantize.c — GGUF to GGUF conversion into a quantization scheme (see
 * quantize.h): the per-tensor type rules, and the streamed conversion
 * (each output tensor is produced row-parallel on a thread pool when the
 * writer reaches it). */
#include "engine/quantize.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/gguf/gguf.h"
#include "engine/threadpool.h"

/* general.file_type values are llama.cpp's llama_ftype. */
static const quant_scheme SCHEMES[] = {
    {"q8_0", NULL, TT_Q8_0, 7, QUANT_RULES_PLAIN},
    {"q4_0", NULL, TT_Q4_0, 2, QUANT_RULES_PLAIN},
    {"q4_1", NULL, TT_Q4_1, 3, QUANT_RULES_PLAIN},
    {"q5_0", NULL, TT_Q5_0, 8, QUANT_RULES_PLAIN},
    {"q5_1", NULL, TT_Q5_1, 9, QUANT_RULES_PLAIN},
    {"q2_k", NULL, TT_Q2_K, 10, QUANT_RULES_Q2_K},
    {"q3_k", "q3_k_s", TT_Q3_K, 11, QUANT_RULES_PLAIN},
    {"q4_k", "q4_k_s", TT_Q4_K, 14, QUANT_RULES_Q4_K_S},
    {"q5_k", "q5_k_s", TT_Q5_K, 16, QUANT_RULES_PLAIN},
    {"q6_k", NULL, TT_Q6_K, 18, QUANT_RULES_PLAIN},
    {"q4_k_m", NULL, TT_Q4_K, 15, QUANT_RULES_Q4_K_M},
    {"q5_k_m", NULL, TT_Q5_K, 17, QUANT_RULES_Q5_K_M},
    {"f16", NULL, TT_F16, 1, QUANT_RULES_NONE},
    {"bf16", NULL, TT_BF16, 32, QUANT_RULES_NONE},
};
#define N_SCHEMES ((int)(sizeof SCHEMES / sizeof SCHEMES[0]))

#define GGML_QUANT_VERSION 2

const quant_scheme *quant_scheme_at(int i)
{
    return i >= 0 && i < N_SCHEMES ? &SCHEMES[i] : NULL;
}

const quant_scheme *quant_scheme_find(const char *name)
{
    for (int i = 0; name && i < N_SCHEMES; i++)
        if (strcasecmp(SCHEMES[i].name, name) == 0 ||
            (SCHEMES[i].alias && strcasecmp(SCHEMES[i].alias, name) == 0))
            return &SCHEMES[i];
    return NULL;
}

/* ---- Type rules ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int quant_tensor_is_weight(const char *name, uint32_t n_dims)
{
    return n_dims >= 2 && ends_with(name, "weight") && !strstr(name, "_norm.weight");
}

static int64_t layer_of(const char *name)
{
    int layer;
    return sscanf(name, "blk.%d.", &layer) == 1 ? layer : -1;
}

/* llama.cpp's choice of layers that get more bits in the _M mixes. */
static int use_more_bits(int64_t i, int64_t n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static int fits(tensor_type t, int64_t ne0)
{
    return tensor_row_size(t, ne0) != 0;
}

/* The compatible type for rows too short or ragged for t's block (llama.cpp
 * uses IQ4_NL for Q2_K/Q3_K, which we do not implement: Q4_0 instead). */
static tensor_type fallback_type(tensor_type t, int64_t ne0)
{
    tensor_type fb;
    switch (t) {
    case TT_Q2_K: case TT_Q3_K: fb = TT_Q4_0; break;
    case TT_Q4_K: fb = TT_Q5_0; break;
    case TT_Q5_K: fb = TT_Q5_1; break;
    case TT_Q6_K: fb = TT_Q8_0; break;
    default: fb = TT_F16; break;
    }
    return fits(fb, ne0) ? fb : TT_F16;
}

static tensor_type output_type(const quant_scheme *s, int64_t ne0)
{
    if (!fits(s->base, ne0))
        return TT_Q8_0;
    return s->base == TT_Q8_0 ? TT_Q8_0 : TT_Q6_K;
}

static tensor_type attn_v_type(const quant_scheme *s, const quant_model_info *mi, int64_t layer)
{
    switch (s->rules) {
    case QUANT_RULES_Q2_K:
        return mi->n_gqa >= 4 ? TT_Q4_K : TT_Q3_K;
    case QUANT_RULES_Q4_K_S:
        return layer < 4 ? TT_Q5_K : s->base;
    case QUANT_RULES_Q4_K_M:
    case QUANT_RULES_Q5_K_M:
        return use_more_bits(layer, mi->n_layer) ? TT_Q6_K : s->base;
    default:
        return s->base;
    }
}

static tensor_type ffn_down_type(const quant_scheme *s, const quant_model_info *mi, int64_t layer)
{
    switch (s->rules) {
    case QUANT_RULES_Q2_K:
        return TT_Q3_K;
    case QUANT_RULES_Q4_K_S:
        return layer < mi->n_layer / 8 ? TT_Q5_K : s->base;
    case QUANT_RULES_Q4_K_M:
    case QUANT_RULES_Q5_K_M:
        return use_more_bits(layer, mi->n_layer) ? TT_Q6_K : s->base;
    default:
        return s->base;
    }
}

static tensor_type rule_type(const quant_scheme *s, const quant_model_info *mi, const char *name,
                             int64_t ne0)
{
    if (s->rules == QUANT_RULES_NONE)
        return s->base;
    int is_output = strcmp(name, "output.weight") == 0 ||
                    (!mi->has_output && strcmp(name, "token_embd.weight") == 0);
    if (is_output)
        return output_type(s, ne0);
    if (strstr(name, "attn_v.weight"))
        return attn_v_type(s, mi, layer_of(name));
    if (strstr(name, "ffn_down"))
        return ffn_down_type(s, mi, layer_of(name));
    if (strstr(name, "attn_output.weight") && s->rules == QUANT_RULES_Q2_K)
        return TT_Q3_K;
    return s->base;
}

tensor_type quant_tensor_type(const quant_scheme *s, const quant_model_info *mi,
                              const char *name, int64_t ne0, tensor_type *wanted)
{
    tensor_type t = rule_type(s, mi, name, ne0);
    if (wanted)
        *wanted = t;
    return fits(t, ne0) ? t : fallback_type(t, ne0);
}

/* ---- Conversion ---- */

typedef struct out_tensor {
    const gguf_tensor *src;
    tensor_type type;
} out_tensor;

typedef struct quant_job {
    const quantize_params *p;
    gguf_file *src;
    out_tensor *out;          /* one per source tensor, same order */
    int64_t n_out;
    threadpool *pool;
    float *scratch;           /* n_threads rows of max_row floats */
    int64_t max_row;
    /* the tensor being converted */
    const out_tensor *cur;
    void *dst;
} quant_job;

static void say(const quantize_params *p, int warn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(const quantize_params *p, int warn, const char *fmt, ...)
{
    if (!p->log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->log(p->log_user, warn, msg);
}

static int64_t n_rows(const gguf_tensor *t)
{
    return t->ne[1] * t->ne[2] * t->ne[3];
}

/* Rows [begin, end) of the current tensor: source -> float -> output type. */
static void convert_rows(void *arg, int64_t begin, int64_t end, int thread)
{
    quant_job *j = arg;
    const gguf_tensor *src = j->cur->src;
    const int64_t n = src->ne[0];
    const type_traits *from = tensor_types_ref(src->type);
    const type_traits *to = tensor_types_ref(j->cur->type);
    const size_t in_row = tensor_row_size(src->type, n), out_row = tensor_row_size(j->cur->type, n);
    float *row = j->scratch + (size_t)thread * (size_t)j->max_row;
    for (int64_t r = begin; r < end; r++) {
        from->to_float((const uint8_t *)src->data + (size_t)r * in_row, row, n);
        to->from_float(row, (uint8_t *)j->dst + (size_t)r * out_row, n);
    }
}

static int fill_tensor(void *user, size_t index, void *dst, size_t nbytes, perr *err)
{
    quant_job *j = user;
    const out_tensor *o = &j->out[index];
    (void)err;
    say(j->p, 0, "[%4zu/%4lld] %-32.*s %-5s -> %s", index + 1, (long long)j->n_out,
          (int)o->src->name.len, o->src->name.ptr, tensor_type_name(o->src->type),
          tensor_type_name(o->type));
    if (o->type == o->src->type) {
        memcpy(dst, o->src->data, nbytes);
        return 0;
    }
    j->cur = o;
    j->dst = dst;
    threadpool_run(j->pool, n_rows(o->src), convert_rows, j);
    return 0;
}

static int is_float_type(tensor_type t)
{
    return t == TT_F32 || t == TT_F16 || t == TT_BF16;
}

/* An optional "<arch>.<name>" u32 key (left unchanged when absent). */
static int arch_u32(gguf_file *f, gguf_str arch, const char *name, uint32_t *v, perr *err)
{
    char key[160];
    snprintf(key, sizeof key, "%.*s.%s", (int)(arch.len < 64 ? arch.len : 64), arch.ptr, name);
    return gguf_find_key(f, key) >= 0 ? gguf_get_u32(f, key, v, err) : 0;
}

/* Hyper-parameters the rules need, from "<arch>.*" keys. */
static int read_model_info(gguf_file *f, quant_model_info *mi, perr *err)
{
    gguf_str arch;
    uint32_t n_layer = 0, n_head = 1, n_head_kv = 1;
    if (gguf_get_str(f, "general.architecture", &arch, err) ||
        arch_u32(f, arch, "block_count", &n_layer, err) ||
        arch_u32(f, arch, "attention.head_count", &n_head, err) ||
        arch_u32(f, arch, "attention.head_count_kv", &n_head_kv, err))
        return -1;
    mi->n_layer = n_layer;
    mi->n_gqa = n_head_kv ? n_head / n_head_kv : 1;
    mi->has_output = gguf_find_tensor(f, "output.weight") != NULL;
    return 0;
}

/* The output type of source tensor t; warns when a fallback applies. */
static int choose_type(quant_job *j, const quant_model_info *mi, const gguf_tensor *t,
                       const char *name, tensor_type *type, quantize_stats *st, perr *err)
{
    tensor_type wanted = t->type;
    *type = t->type;
    if (quant_tensor_is_weight(name, t->n_dims)) {
        *type = quant_tensor_type(j->p->scheme, mi, name, t->ne[0], &wanted);
        if (*type != t->type && !is_float_type(t->type))
            return perr_set(err, "tensor '%s' is %s: requantizing is not supported "
                            "(start from F32/F16/BF16)", name, tensor_type_name(t->type));
    } else if (t->type == TT_F16 || t->type == TT_BF16) {
        *type = wanted = TT_F32;
    }
    if (*type != wanted) {
        st->n_fallback++;
        say(j->p, 1, "tensor '%s': row length %lld is not a multiple of the %s block size; "
            "using %s", name, (long long)t->ne[0], tensor_type_name(wanted),
            tensor_type_name(*type));
    }
    return 0;
}

/* Choose tensor i's output type and declare it to the writer. */
static int plan_tensor(quant_job *j, gguf_writer *w, const quant_model_info *mi, int64_t i,
                       quantize_stats *st, perr *err)
{
    const gguf_tensor *t = gguf_tensor_at(j->src, i);
    char name[256];
    tensor_type type;
    if (t->name.len >= sizeof name)
        return perr_set(err, "tensor #%lld: name too long", (long long)i);
    memcpy(name, t->name.ptr, t->name.len);
    name[t->name.len] = '\0';
    if (choose_type(j, mi, t, name, &type, st, err) ||
        gguf_writer_add_tensor_info(w, name, type, t->n_dims, t->ne, err))
        return -1;
    j->out[i] = (out_tensor){t, type};
    if (t->ne[0] > j->max_row)
        j->max_row = t->ne[0];
    st->n_tensors++;
    st->bytes_in += t->nbytes;
    st->bytes_out += tensor_row_size(type, t->ne[0]) * (uint64_t)n_rows(t);
    st->type_counts[type]++;
    return 0;
}

static int run_quantize(quant_job *j, const char *out_path, quantize_stats *st, perr *err)
{
    quant_model_info mi;
    if (read_model_info(j->src, &mi, err))
        return -1;
    gguf_writer *w = gguf_writer_new();
    if (!w)
        return perr_set(err, "out of memory");
    gguf_writer_copy_kv(w, j->src);
    gguf_writer_set_u32(w, "general.file_type", j->p->scheme->file_type);
    gguf_writer_set_u32(w, "general.quantization_version", GGML_QUANT_VERSION);
    int rc = 0;
    j->n_out = gguf_n_tensors(j->src);
    j->out = calloc((size_t)(j->n_out ? j->n_out : 1), sizeof *j->out);
    if (!j->out)
        rc = perr_set(err, "out of memory");
    for (int64_t i = 0; rc == 0 && i < j->n_out; i++)
        rc = plan_tensor(j, w, &mi, i, st, err);
    int n_threads = j->p->n_threads > 0 ? j->p->n_threads : 1;
    if (rc == 0 && threadpool_new(&j->pool, n_threads, err) != 0)
        rc = -1;
    if (rc == 0 && !(j->scratch = calloc((size_t)n_threads * (size_t)j->max_row + 1, sizeof(float))))
        rc = perr_set(err, "out of memory");
    if (rc == 0)
        rc = gguf_writer_write_file_stream(w, out_path, fill_tensor, j, err);
    gguf_writer_free(w);
    return rc;
}

int quantize_file(const char *in_path, const char *out_path, const quantize_params *p,
                  quantize_stats *stats, perr *err)
{
    quantize_stats local;
    quantize_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    if (!p || !p->scheme)
        return perr_set(err, "no quantization scheme given");
    quant_job j = {.p = p};
    if (gguf_open(&j.src, in_path, err))
        return -1;
    int rc = run_quantize(&j, out_path, st, err);
    if (rc)
        perr_prefix(err, "quantizing %s", in_path);
    threadpool_free(j.pool);
    free(j.scratch);
    free(j.out);
    gguf_close(j.src);
    return rc;
}
