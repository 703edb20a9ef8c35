/* gguf.c — GGUF v2/v3 reader (mmap, validated, zero-copy) and writer.
 *
 * File layout (all integers little-endian; a "string" is a uint64 byte length
 * followed by that many bytes, not NUL-terminated):
 *
 *   header        "GGUF" · uint32 version (2 or 3) · uint64 n_tensors · uint64 n_kv
 *   n_kv times    string key · uint32 value_type · value
 *                   value = fixed-size scalar (u8..f64, bool = 1 byte) | string
 *                         | array: uint32 elem_type · uint64 count · count values
 *                           (arrays of arrays are legal; we bound the nesting)
 *   n_tensors x   string name · uint32 n_dims · uint64 ne[n_dims] · uint32 type
 *                 · uint64 offset (relative to the data section, multiple of
 *                   the alignment)
 *   padding       zeros up to a multiple of `general.alignment` (default 32)
 *   data section  tensor data, each tensor starting at an aligned offset
 *
 * v1 (uint32 counts and lengths) is rejected. The reader validates the whole
 * file at open through a bounds-checked cursor, then serves accessors from
 * small index arrays; kv and tensor names are found by binary search over a
 * sorted index (which also detects duplicates in O(n log n), whatever the
 * input). The writer keeps keys in insertion order and lays tensors out
 * back to back, each padded to the alignment; a tensor's data is either
 * copied at add time or produced by a callback at write time (streaming).
 */
#include "engine/gguf/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c reads little-endian GGUF directly; a big-endian host needs byte swapping"
#endif

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_ARRAY_DEPTH 8         /* arrays of arrays nested at most this deep */
#define GGUF_MIN_KV_BYTES 13           /* key length 8 + type 4 + 1-byte value */
#define GGUF_MIN_TENSOR_BYTES 32       /* name length 8 + n_dims 4 + ne 8 + type 4 + offset 8 */
#define GGUF_MAX_COUNT 0x7fffffffu     /* kv and tensor counts index with uint32 */
#define GGUF_MIN_DATA_ALIGN 4           /* tensor data must be at least this aligned */
#define SHOW_MAX 80                    /* bytes of a key or name quoted in a message */

/* ------------------------------------------------------------------------ */
/* Value types                                                              */

static const char *const value_type_names[] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

static int value_type_known(uint32_t t) { return t <= GGUF_FLOAT64; }

static const char *value_type_name(uint32_t t)
{
    return value_type_known(t) ? value_type_names[t] : "unknown";
}

/* Size of a fixed-size value; 0 for strings, arrays and unknown types. */
static size_t value_fixed_size(uint32_t t)
{
    switch (t) {
    case GGUF_UINT8: case GGUF_INT8: case GGUF_BOOL: return 1;
    case GGUF_UINT16: case GGUF_INT16: return 2;
    case GGUF_UINT32: case GGUF_INT32: case GGUF_FLOAT32: return 4;
    case GGUF_UINT64: case GGUF_INT64: case GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* Fewest bytes one value of type t can occupy (t known). */
static size_t value_min_size(uint32_t t)
{
    if (t == GGUF_STRING)
        return 8;
    if (t == GGUF_ARRAY)
        return 12;
    return value_fixed_size(t);
}

static int value_type_is_int(uint32_t t)
{
    return t <= GGUF_INT32 || t == GGUF_UINT64 || t == GGUF_INT64;
}

/* An integer value read from its bytes, with its signedness. */
typedef struct int_value {
    int negative;   /* then `s` holds it */
    int64_t s;
    uint64_t u;     /* when !negative */
} int_value;

static int_value read_int(uint32_t t, const uint8_t *p)
{
    int_value v = {0, 0, 0};
    switch (t) {
    case GGUF_UINT8:  { uint8_t x;  memcpy(&x, p, 1); v.u = x; break; }
    case GGUF_UINT16: { uint16_t x; memcpy(&x, p, 2); v.u = x; break; }
    case GGUF_UINT32: { uint32_t x; memcpy(&x, p, 4); v.u = x; break; }
    case GGUF_UINT64: { uint64_t x; memcpy(&x, p, 8); v.u = x; break; }
    case GGUF_INT8:   { int8_t x;   memcpy(&x, p, 1); v.s = x; break; }
    case GGUF_INT16:  { int16_t x;  memcpy(&x, p, 2); v.s = x; break; }
    case GGUF_INT32:  { int32_t x;  memcpy(&x, p, 4); v.s = x; break; }
    case GGUF_INT64:  { int64_t x;  memcpy(&x, p, 8); v.s = x; break; }
    default: break;
    }
    if (t == GGUF_INT8 || t == GGUF_INT16 || t == GGUF_INT32 || t == GGUF_INT64) {
        if (v.s < 0)
            v.negative = 1;
        else
            v.u = (uint64_t)v.s;
    }
    return v;
}

static int int_fits_u64(int_value v, uint64_t max) { return !v.negative && v.u <= max; }

static int64_t int_as_i64(int_value v)
{
    return v.negative ? v.s : (int64_t)v.u; /* caller checked u <= INT64_MAX */
}

/* ------------------------------------------------------------------------ */
/* Tensor types precis does not support                                     */

/* ggml names of type ids precis does not support, for clearer messages. */
static const char *unsupported_type_name(uint32_t type)
{
    static const char *const names[] = {
        [4] = "q4_2 (removed)", [5] = "q4_3 (removed)",
        [16] = "iq2_xxs", [17] = "iq2_xs", [18] = "iq3_xxs", [19] = "iq1_s",
        [20] = "iq4_nl", [21] = "iq3_s", [22] = "iq2_s", [23] = "iq4_xs",
        [24] = "i8", [25] = "i16", [26] = "i32", [27] = "i64", [28] = "f64",
        [29] = "iq1_m",
    };
    if (type < sizeof names / sizeof names[0] && names[type])
        return names[type];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Quoting keys and names (hostile bytes) for messages                      */

typedef struct shown { char s[SHOW_MAX * 4 + 8]; } shown;

static shown show(gguf_str str)
{
    static const char hex[] = "0123456789abcdef";
    shown out;
    size_t o = 0;
    uint64_t n = str.len < SHOW_MAX ? str.len : SHOW_MAX;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)str.ptr[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\') {
            out.s[o++] = (char)ch;
        } else {
            out.s[o++] = '\\'; out.s[o++] = 'x';
            out.s[o++] = hex[ch >> 4]; out.s[o++] = hex[ch & 15];
        }
    }
    if (str.len > SHOW_MAX) {
        memcpy(out.s + o, "...", 3);
        o += 3;
    }
    out.s[o] = '\0';
    return out;
}

/* ------------------------------------------------------------------------ */
/* Bounds-checked cursor                                                    */

typedef struct cursor {
    const uint8_t *base;
    size_t size;
    size_t pos;
} cursor;

static size_t cur_left(const cursor *c) { return c->size - c->pos; }

static int cur_need(const cursor *c, uint64_t n, const char *what, perr *err)
{
    if (n > cur_left(c))
        return perr_set(err, "%s: need %llu bytes at offset %zu but the file ends at %zu",
                        what, (unsigned long long)n, c->pos, c->size);
    return 0;
}

static int cur_bytes(cursor *c, void *out, size_t n, const char *what, perr *err)
{
    if (cur_need(c, n, what, err))
        return -1;
    memcpy(out, c->base + c->pos, n);
    c->pos += n;
    return 0;
}

static int cur_u32(cursor *c, uint32_t *v, const char *what, perr *err)
{
    return cur_bytes(c, v, sizeof *v, what, err);
}

static int cur_u64(cursor *c, uint64_t *v, const char *what, perr *err)
{
    return cur_bytes(c, v, sizeof *v, what, err);
}

static int cur_skip(cursor *c, uint64_t n, const char *what, perr *err)
{
    if (cur_need(c, n, what, err))
        return -1;
    c->pos += (size_t)n;
    return 0;
}

static int cur_str(cursor *c, gguf_str *s, const char *what, perr *err)
{
    uint64_t len;
    if (cur_u64(c, &len, what, err))
        return -1;
    if (len > cur_left(c))
        return perr_set(err, "%s: string length %llu exceeds the %zu bytes left in the file",
                        what, (unsigned long long)len, cur_left(c));
    s->ptr = (const char *)c->base + c->pos;
    s->len = len;
    c->pos += (size_t)len;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sorted name index (binary search; duplicates become neighbours)          */

static int str_cmp(gguf_str a, const char *b, size_t blen)
{
    size_t n = a.len < blen ? (size_t)a.len : blen;
    int c = n ? memcmp(a.ptr, b, n) : 0;
    if (c)
        return c;
    return (a.len > blen) - (a.len < blen);
}

typedef gguf_str (*name_of_fn)(const void *items, uint32_t i);

typedef struct name_sort_ctx {
    const void *items;
    name_of_fn name_of;
} name_sort_ctx;

static int name_sort_cmp(const void *a, const void *b, void *ctx_)
{
    const name_sort_ctx *ctx = ctx_;
    gguf_str sa = ctx->name_of(ctx->items, *(const uint32_t *)a);
    gguf_str sb = ctx->name_of(ctx->items, *(const uint32_t *)b);
    int c = str_cmp(sa, sb.ptr, (size_t)sb.len);
    if (c)
        return c;
    return (*(const uint32_t *)a > *(const uint32_t *)b) - (*(const uint32_t *)a < *(const uint32_t *)b);
}

/* Build idx = [0, n) sorted by name; on a duplicate name fill *dup (the later
 * of the two) and return -1. */
static int name_index_build(uint32_t *idx, uint32_t n, const void *items, name_of_fn name_of,
                            uint32_t *dup)
{
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    name_sort_ctx ctx = {items, name_of};
    qsort_r(idx, n, sizeof *idx, name_sort_cmp, &ctx);
    for (uint32_t i = 1; i < n; i++) {
        gguf_str a = name_of(items, idx[i - 1]), b = name_of(items, idx[i]);
        if (str_cmp(a, b.ptr, (size_t)b.len) == 0) {
            *dup = idx[i];
            return -1;
        }
    }
    return 0;
}

static int64_t name_index_find(const uint32_t *idx, uint32_t n, const void *items,
                               name_of_fn name_of, const char *name)
{
    if (!name)
        return -1;
    size_t len = strlen(name);
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = str_cmp(name_of(items, idx[mid]), name, len);
        if (c == 0)
            return idx[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Reader state                                                             */

typedef struct gguf_kv {
    gguf_str key;
    gguf_value_type type;
    const uint8_t *val;      /* the value's bytes in the mapping */
    size_t val_size;
    /* arrays */
    gguf_value_type elem_type;
    uint64_t count;
    const uint8_t *elems;    /* first element */
    size_t *str_pos;         /* string arrays: file offset of each element */
} gguf_kv;

struct gguf_file {
    const uint8_t *base;
    size_t size;
    void *map;               /* non-NULL when we own an mmap of `size` bytes */
    uint32_t version;
    size_t alignment;
    size_t data_start;
    uint32_t n_kv;
    gguf_kv *kv;
    uint32_t *kv_sorted;
    uint32_t n_tensors;
    gguf_tensor *tensors;
    uint32_t *tensor_sorted;
};

static gguf_str kv_name_of(const void *items, uint32_t i) { return ((const gguf_kv *)items)[i].key; }
static gguf_str tensor_name_of(const void *items, uint32_t i) { return ((const gguf_tensor *)items)[i].name; }

/* ------------------------------------------------------------------------ */
/* Parsing: header                                                          */

static int parse_header(gguf_file *f, cursor *c, uint64_t *n_tensors, uint64_t *n_kv, perr *err)
{
    if (c->size < 4 || memcmp(c->base, GGUF_MAGIC, 4) != 0)
        return perr_set(err, "not a GGUF file (bad magic; expected \"GGUF\")");
    c->pos = 4;
    if (cur_u32(c, &f->version, "header: version", err))
        return -1;
    if (f->version == 1)
        return perr_set(err, "GGUF version 1 is not supported (only versions 2 and 3)");
    if (f->version == 0x02000000u || f->version == 0x03000000u)
        return perr_set(err, "big-endian GGUF files are not supported");
    if (f->version != 2 && f->version != 3)
        return perr_set(err, "unsupported GGUF version %u (only versions 2 and 3)", f->version);
    if (cur_u64(c, n_tensors, "header: tensor count", err) ||
        cur_u64(c, n_kv, "header: key/value count", err))
        return -1;
    size_t left = cur_left(c);
    if (*n_kv > GGUF_MAX_COUNT || *n_kv > left / GGUF_MIN_KV_BYTES)
        return perr_set(err, "key/value count %llu is impossible in a file of %zu bytes",
                        (unsigned long long)*n_kv, c->size);
    if (*n_tensors > GGUF_MAX_COUNT || *n_tensors > left / GGUF_MIN_TENSOR_BYTES ||
        *n_kv * GGUF_MIN_KV_BYTES + *n_tensors * GGUF_MIN_TENSOR_BYTES > left)
        return perr_set(err, "tensor count %llu is impossible in a file of %zu bytes",
                        (unsigned long long)*n_tensors, c->size);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing: metadata values                                                 */

static int skip_value(cursor *c, uint32_t type, int depth, perr *err);

/* Array header; checks the element type and that count elements can fit. */
static int parse_array_header(cursor *c, int depth, uint32_t *elem_type, uint64_t *count, perr *err)
{
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return perr_set(err, "arrays nested deeper than %d levels", GGUF_MAX_ARRAY_DEPTH);
    if (cur_u32(c, elem_type, "array element type", err) || cur_u64(c, count, "array length", err))
        return -1;
    if (!value_type_known(*elem_type))
        return perr_set(err, "unknown array element type %u", *elem_type);
    if (*count > cur_left(c) / value_min_size(*elem_type))
        return perr_set(err, "array of %llu %s elements cannot fit in the %zu bytes left in the file",
                        (unsigned long long)*count, value_type_name(*elem_type), cur_left(c));
    return 0;
}

static int skip_array_elements(cursor *c, uint32_t elem_type, uint64_t count, int depth, perr *err)
{
    size_t fixed = value_fixed_size(elem_type);
    if (fixed)
        return cur_skip(c, count * fixed, "array elements", err); /* count*fixed <= left */
    for (uint64_t i = 0; i < count; i++)
        if (skip_value(c, elem_type, depth + 1, err))
            return perr_prefix(err, "array element %llu", (unsigned long long)i);
    return 0;
}

static int skip_value(cursor *c, uint32_t type, int depth, perr *err)
{
    if (!value_type_known(type))
        return perr_set(err, "unknown value type %u", type);
    size_t fixed = value_fixed_size(type);
    if (fixed)
        return cur_skip(c, fixed, value_type_name(type), err);
    if (type == GGUF_STRING) {
        gguf_str s;
        return cur_str(c, &s, "string value", err);
    }
    uint32_t elem_type;
    uint64_t count;
    if (parse_array_header(c, depth, &elem_type, &count, err))
        return -1;
    return skip_array_elements(c, elem_type, count, depth, err);
}

/* A top-level array: remember its elements; index string elements. */
static int parse_kv_array(gguf_kv *kv, cursor *c, perr *err)
{
    uint32_t elem_type;
    if (parse_array_header(c, 0, &elem_type, &kv->count, err))
        return -1;
    kv->elem_type = (gguf_value_type)elem_type;
    kv->elems = c->base + c->pos;
    if (elem_type != GGUF_STRING)
        return skip_array_elements(c, elem_type, kv->count, 0, err);
    if (kv->count) {
        kv->str_pos = malloc((size_t)kv->count * sizeof *kv->str_pos);
        if (!kv->str_pos)
            return perr_set(err, "out of memory indexing an array of %llu strings",
                            (unsigned long long)kv->count);
    }
    for (uint64_t i = 0; i < kv->count; i++) {
        gguf_str s;
        kv->str_pos[i] = c->pos;
        if (cur_str(c, &s, "string value", err))
            return perr_prefix(err, "array element %llu", (unsigned long long)i);
    }
    return 0;
}

static int parse_kv(gguf_kv *kv, cursor *c, uint32_t index, perr *err)
{
    if (cur_str(c, &kv->key, "key name", err))
        return perr_prefix(err, "key #%u", index);
    if (memchr(kv->key.ptr, '\0', (size_t)kv->key.len))
        return perr_set(err, "key '%s': name contains a NUL byte", show(kv->key).s);
    uint32_t type;
    if (cur_u32(c, &type, "value type", err))
        return perr_prefix(err, "key '%s'", show(kv->key).s);
    if (!value_type_known(type))
        return perr_set(err, "key '%s': unknown value type %u", show(kv->key).s, type);
    kv->type = (gguf_value_type)type;
    kv->val = c->base + c->pos;
    int rc = type == GGUF_ARRAY ? parse_kv_array(kv, c, err) : skip_value(c, type, 0, err);
    if (rc)
        return perr_prefix(err, "key '%s'", show(kv->key).s);
    kv->val_size = (size_t)(c->base + c->pos - kv->val);
    return 0;
}

static int parse_kvs(gguf_file *f, cursor *c, uint64_t n_kv, perr *err)
{
    f->kv = calloc(n_kv ? (size_t)n_kv : 1, sizeof *f->kv);
    f->kv_sorted = malloc((n_kv ? (size_t)n_kv : 1) * sizeof *f->kv_sorted);
    if (!f->kv || !f->kv_sorted)
        return perr_set(err, "out of memory for %llu keys", (unsigned long long)n_kv);
    for (uint32_t i = 0; i < n_kv; i++) {
        f->n_kv = i + 1; /* so gguf_close frees a partially indexed kv */
        if (parse_kv(&f->kv[i], c, i, err))
            return -1;
    }
    uint32_t dup;
    if (name_index_build(f->kv_sorted, f->n_kv, f->kv, kv_name_of, &dup))
        return perr_set(err, "duplicate key '%s'", show(f->kv[dup].key).s);
    return 0;
}

static int parse_alignment(gguf_file *f, perr *err)
{
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    if (gguf_find_key(f, "general.alignment") < 0)
        return 0;
    uint32_t a;
    if (gguf_get_u32(f, "general.alignment", &a, err))
        return -1;
    if (a == 0 || (a & (a - 1)) != 0)
        return perr_set(err, "key 'general.alignment': alignment %u is not a nonzero power of two", a);
    f->alignment = a;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing: tensor infos                                                    */

static int tensor_error_type(const gguf_tensor *t, uint32_t type, perr *err)
{
    const char *name = unsupported_type_name(type);
    if (name)
        return perr_set(err, "tensor '%s': tensor type %u (%s) is not supported",
                        show(t->name).s, type, name);
    return perr_set(err, "tensor '%s': unknown tensor type %u", show(t->name).s, type);
}

/* Shape, type and size of one tensor (offset checked later). */
static int check_tensor_shape(gguf_tensor *t, uint32_t type, perr *err)
{
    shown name = show(t->name);
    int64_t n_elems = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (t->ne[d] <= 0)
            return perr_set(err, "tensor '%s': dimension %u is %lld (must be positive)",
                            name.s, d, (long long)t->ne[d]);
        if (__builtin_mul_overflow(n_elems, t->ne[d], &n_elems))
            return perr_set(err, "tensor '%s': shape overflows (too many elements)", name.s);
    }
    const type_traits *g = tensor_types_ref(type);
    if (!g)
        return tensor_error_type(t, type, err);
    t->type = (tensor_type)type;
    if (t->ne[0] % g->blck)
        return perr_set(err, "tensor '%s': row length %lld is not a multiple of the %s block size %lld",
                        name.s, (long long)t->ne[0], g->name, (long long)g->blck);
    size_t row, total;
    uint64_t rows = (uint64_t)(n_elems / t->ne[0]);
    if (__builtin_mul_overflow((uint64_t)(t->ne[0] / g->blck), (uint64_t)g->type_size, &row) ||
        __builtin_mul_overflow(row, rows, &total))
        return perr_set(err, "tensor '%s': data size overflows", name.s);
    t->nbytes = total;
    return 0;
}

static int parse_tensor_info(gguf_tensor *t, cursor *c, uint32_t index, perr *err)
{
    if (cur_str(c, &t->name, "name", err))
        return perr_prefix(err, "tensor #%u", index);
    shown name = show(t->name);
    if (memchr(t->name.ptr, '\0', (size_t)t->name.len))
        return perr_set(err, "tensor '%s': name contains a NUL byte", name.s);
    if (cur_u32(c, &t->n_dims, "n_dims", err))
        return perr_prefix(err, "tensor '%s'", name.s);
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return perr_set(err, "tensor '%s': n_dims %u out of range 1..%d", name.s, t->n_dims,
                        GGUF_MAX_DIMS);
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        uint64_t ne = 1;
        if (d < t->n_dims && cur_u64(c, &ne, "dimension", err))
            return perr_prefix(err, "tensor '%s'", name.s);
        if (ne > INT64_MAX)
            return perr_set(err, "tensor '%s': dimension %u is %llu (too large)", name.s, d,
                            (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
    }
    uint32_t type;
    if (cur_u32(c, &type, "type", err) || cur_u64(c, &t->offset, "offset", err))
        return perr_prefix(err, "tensor '%s'", name.s);
    return check_tensor_shape(t, type, err);
}

static int check_tensor_placement(const gguf_file *f, gguf_tensor *t, perr *err)
{
    shown name = show(t->name);
    if (t->offset % f->alignment)
        return perr_set(err, "tensor '%s': offset %llu is not a multiple of the alignment %zu",
                        name.s, (unsigned long long)t->offset, f->alignment);
    uint64_t start, end;
    if (__builtin_add_overflow((uint64_t)f->data_start, t->offset, &start) ||
        __builtin_add_overflow(start, (uint64_t)t->nbytes, &end))
        return perr_set(err, "tensor '%s': offset %llu overflows", name.s,
                        (unsigned long long)t->offset);
    if (end > f->size)
        return perr_set(err, "tensor '%s': data [%llu, %llu) extends past end of file (%zu bytes)",
                        name.s, (unsigned long long)start, (unsigned long long)end, f->size);
    t->data = f->base + start;
    /* Kernels read block scales as 16/32-bit values: refuse data they would
     * access misaligned (only possible with a general.alignment below 4). */
    if ((uintptr_t)t->data % GGUF_MIN_DATA_ALIGN)
        return perr_set(err, "tensor '%s': data at file offset %llu is not %d-byte aligned",
                        name.s, (unsigned long long)start, GGUF_MIN_DATA_ALIGN);
    return 0;
}

static int offset_sort_cmp(const void *a, const void *b, void *ctx)
{
    const gguf_tensor *ts = ctx;
    uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
    uint64_t oa = ts[ia].offset, ob = ts[ib].offset;
    if (oa != ob)
        return (oa > ob) - (oa < ob);
    return (ia > ib) - (ia < ib); /* deterministic messages */
}

/* No two tensors' data may share a byte. Uses `scratch` (n entries). */
static int check_no_overlap(const gguf_file *f, uint32_t *scratch, perr *err)
{
    for (uint32_t i = 0; i < f->n_tensors; i++)
        scratch[i] = i;
    qsort_r(scratch, f->n_tensors, sizeof *scratch, offset_sort_cmp, f->tensors);
    for (uint32_t i = 1; i < f->n_tensors; i++) {
        const gguf_tensor *a = &f->tensors[scratch[i - 1]], *b = &f->tensors[scratch[i]];
        if (a->offset + a->nbytes > b->offset)
            return perr_set(err, "tensor '%s': data at offset %llu overlaps tensor '%s' [%llu, %llu)",
                            show(b->name).s, (unsigned long long)b->offset, show(a->name).s,
                            (unsigned long long)a->offset,
                            (unsigned long long)(a->offset + a->nbytes));
    }
    return 0;
}

static int parse_tensors(gguf_file *f, cursor *c, uint64_t n_tensors, perr *err)
{
    size_t n = n_tensors ? (size_t)n_tensors : 1;
    f->tensors = calloc(n, sizeof *f->tensors);
    f->tensor_sorted = malloc(n * sizeof *f->tensor_sorted);
    if (!f->tensors || !f->tensor_sorted)
        return perr_set(err, "out of memory for %llu tensors", (unsigned long long)n_tensors);
    f->n_tensors = (uint32_t)n_tensors;
    for (uint32_t i = 0; i < f->n_tensors; i++)
        if (parse_tensor_info(&f->tensors[i], c, i, err))
            return -1;
    uint32_t dup;
    if (name_index_build(f->tensor_sorted, f->n_tensors, f->tensors, tensor_name_of, &dup))
        return perr_set(err, "duplicate tensor name '%s'", show(f->tensors[dup].name).s);
    /* Data section: after the infos, padded to the alignment. */
    size_t pad = (f->alignment - c->pos % f->alignment) % f->alignment;
    f->data_start = c->pos + pad; /* pos <= size and alignment <= 2^31: no overflow */
    for (uint32_t i = 0; i < f->n_tensors; i++)
        if (check_tensor_placement(f, &f->tensors[i], err))
            return -1;
    uint32_t *scratch = malloc(n * sizeof *scratch);
    if (!scratch)
        return perr_set(err, "out of memory");
    int rc = check_no_overlap(f, scratch, err);
    free(scratch);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Open / close                                                             */

static int parse_file(gguf_file *f, perr *err)
{
    cursor c = {f->base, f->size, 0};
    uint64_t n_tensors, n_kv;
    if (parse_header(f, &c, &n_tensors, &n_kv, err) || parse_kvs(f, &c, n_kv, err) ||
        parse_alignment(f, err) || parse_tensors(f, &c, n_tensors, err))
        return -1;
    return 0;
}

int gguf_open_memory(gguf_file **out, const void *data, size_t size, perr *err)
{
    *out = NULL;
    gguf_file *f = calloc(1, sizeof *f);
    if (!f)
        return perr_set(err, "out of memory");
    f->base = data;
    f->size = size;
    if (parse_file(f, err)) {
        gguf_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

int gguf_open(gguf_file **out, const char *path, perr *err)
{
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (rejected below). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return perr_errno(err, "%s: cannot open", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return perr_errno(err, "%s: cannot stat", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return perr_set(err, "%s: not a regular file", path);
    }
    if (st.st_size == 0) { /* mmap cannot map an empty file */
        close(fd);
        return perr_set(err, "%s: empty file, not GGUF", path);
    }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return perr_errno(err, "%s: cannot mmap", path);
    gguf_file *f = calloc(1, sizeof *f);
    if (!f) {
        munmap(map, size);
        return perr_set(err, "%s: out of memory", path);
    }
    f->base = map;
    f->size = size;
    f->map = map;
    if (parse_file(f, err)) {
        gguf_close(f);
        return perr_prefix(err, "%s", path);
    }
    *out = f;
    return 0;
}

void gguf_close(gguf_file *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->n_kv; i++)
        free(f->kv[i].str_pos);
    free(f->kv);
    free(f->kv_sorted);
    free(f->tensors);
    free(f->tensor_sorted);
    if (f->map)
        munmap(f->map, f->size);
    free(f);
}

uint32_t gguf_version(const gguf_file *f) { return f->version; }
size_t gguf_alignment(const gguf_file *f) { return f->alignment; }
size_t gguf_file_size(const gguf_file *f) { return f->size; }

/* ------------------------------------------------------------------------ */
/* Metadata accessors                                                       */

static const gguf_str empty_str = {"", 0};

int64_t gguf_n_kv(const gguf_file *f) { return f->n_kv; }

int64_t gguf_find_key(const gguf_file *f, const char *key)
{
    return name_index_find(f->kv_sorted, f->n_kv, f->kv, kv_name_of, key);
}

gguf_str gguf_key_name(const gguf_file *f, int64_t i)
{
    return i >= 0 && i < f->n_kv ? f->kv[i].key : empty_str;
}

/* (gguf_value_type)-1 when i is out of range. */
gguf_value_type gguf_kv_type(const gguf_file *f, int64_t i)
{
    return i >= 0 && i < f->n_kv ? f->kv[i].type : (gguf_value_type)-1;
}

/* The kv called key, or NULL with "missing" in err. */
static const gguf_kv *kv_lookup(const gguf_file *f, const char *key, perr *err)
{
    int64_t i = gguf_find_key(f, key);
    if (i < 0) {
        perr_set(err, "key '%s' is missing", key ? key : "(null)");
        return NULL;
    }
    return &f->kv[i];
}

static int kv_wrong_type(const gguf_kv *kv, const char *expected, perr *err)
{
    return perr_set(err, "key '%s' has type %s, expected %s", show(kv->key).s,
                    value_type_name(kv->type), expected);
}

/* Any integer value of key, checked to lie in [min, max] (min <= 0). */
static int get_int(const gguf_file *f, const char *key, int64_t min, uint64_t max,
                   int_value *out, perr *err)
{
    const gguf_kv *kv = kv_lookup(f, key, err);
    if (!kv)
        return -1;
    if (!value_type_is_int(kv->type))
        return kv_wrong_type(kv, "an integer", err);
    int_value v = read_int(kv->type, kv->val);
    if (v.negative ? v.s < min : v.u > max)
        return perr_set(err, "key '%s': value %s%llu out of range", key, v.negative ? "-" : "",
                        v.negative ? (unsigned long long)0 - (unsigned long long)v.s
                                   : (unsigned long long)v.u);
    *out = v;
    return 0;
}

int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, perr *err)
{
    int_value v;
    if (get_int(f, key, 0, UINT32_MAX, &v, err))
        return -1;
    *out = (uint32_t)v.u;
    return 0;
}

int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, perr *err)
{
    int_value v;
    if (get_int(f, key, INT64_MIN, INT64_MAX, &v, err))
        return -1;
    *out = int_as_i64(v);
    return 0;
}

int gguf_get_f32(const gguf_file *f, const char *key, float *out, perr *err)
{
    const gguf_kv *kv = kv_lookup(f, key, err);
    if (!kv)
        return -1;
    if (kv->type == GGUF_FLOAT32) {
        memcpy(out, kv->val, sizeof *out);
    } else if (kv->type == GGUF_FLOAT64) {
        double d;
        memcpy(&d, kv->val, sizeof d);
        *out = (float)d;
    } else {
        return kv_wrong_type(kv, "float32", err);
    }
    return 0;
}

int gguf_get_bool(const gguf_file *f, const char *key, int *out, perr *err)
{
    const gguf_kv *kv = kv_lookup(f, key, err);
    if (!kv)
        return -1;
    if (kv->type != GGUF_BOOL)
        return kv_wrong_type(kv, "bool", err);
    *out = kv->val[0] != 0;
    return 0;
}

int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, perr *err)
{
    const gguf_kv *kv = kv_lookup(f, key, err);
    if (!kv)
        return -1;
    if (kv->type != GGUF_STRING)
        return kv_wrong_type(kv, "string", err);
    uint64_t len;
    memcpy(&len, kv->val, sizeof len);
    out->ptr = (const char *)kv->val + 8;
    out->len = len;
    return 0;
}

int gguf_get_arr(const gguf_file *f, const char *key, gguf_value_type *elem_type,
                 uint64_t *count, perr *err)
{
    const gguf_kv *kv = kv_lookup(f, key, err);
    if (!kv)
        return -1;
    if (kv->type != GGUF_ARRAY)
        return kv_wrong_type(kv, "array", err);
    *elem_type = kv->elem_type;
    *count = kv->count;
    return 0;
}

/* Element i of array key when its element type is accepted; NULL otherwise. */
static const gguf_kv *array_elem_kv(const gguf_file *f, const char *key, uint64_t i)
{
    int64_t k = gguf_find_key(f, key);
    if (k < 0 || f->kv[k].type != GGUF_ARRAY || i >= f->kv[k].count)
        return NULL;
    return &f->kv[k];
}

/* Empty string when absent, not a string array, or i out of range. */
gguf_str gguf_arr_str(const gguf_file *f, const char *key, uint64_t i)
{
    const gguf_kv *kv = array_elem_kv(f, key, i);
    if (!kv || kv->elem_type != GGUF_STRING)
        return empty_str;
    const uint8_t *p = f->base + kv->str_pos[i];
    gguf_str s;
    memcpy(&s.len, p, sizeof s.len);
    s.ptr = (const char *)p + 8;
    return s;
}

/* 0 when absent, not a float32/float64 array, or i out of range. */
float gguf_arr_f32(const gguf_file *f, const char *key, uint64_t i)
{
    const gguf_kv *kv = array_elem_kv(f, key, i);
    if (!kv)
        return 0.0f;
    if (kv->elem_type == GGUF_FLOAT32) {
        float v;
        memcpy(&v, kv->elems + i * 4, sizeof v);
        return v;
    }
    if (kv->elem_type == GGUF_FLOAT64) {
        double v;
        memcpy(&v, kv->elems + i * 8, sizeof v);
        return (float)v;
    }
    return 0.0f;
}

/* 0 when absent, not an integer/bool array, or i out of range; uint64
 * values above INT64_MAX wrap. */
int64_t gguf_arr_int(const gguf_file *f, const char *key, uint64_t i)
{
    const gguf_kv *kv = array_elem_kv(f, key, i);
    if (!kv)
        return 0;
    if (kv->elem_type == GGUF_BOOL)
        return kv->elems[i] != 0;
    if (!value_type_is_int(kv->elem_type))
        return 0;
    int_value v = read_int(kv->elem_type, kv->elems + i * value_fixed_size(kv->elem_type));
    return v.negative ? v.s : (int64_t)v.u;
}

/* ------------------------------------------------------------------------ */
/* Tensor accessors                                                         */

int64_t gguf_n_tensors(const gguf_file *f) { return f->n_tensors; }

const gguf_tensor *gguf_tensor_at(const gguf_file *f, int64_t i)
{
    return i >= 0 && i < f->n_tensors ? &f->tensors[i] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    int64_t i = name_index_find(f->tensor_sorted, f->n_tensors, f->tensors, tensor_name_of, name);
    return i < 0 ? NULL : &f->tensors[i];
}

int gguf_str_eq(gguf_str s, const char *c)
{
    return c && str_cmp(s, c, strlen(c)) == 0;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */

/* A growable byte buffer; `failed` is sticky after an allocation failure. */
typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int failed;
} wbuf;

static void wb_put(wbuf *b, const void *src, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void wb_u32(wbuf *b, uint32_t v) { wb_put(b, &v, sizeof v); }
static void wb_u64(wbuf *b, uint64_t v) { wb_put(b, &v, sizeof v); }

static void wb_str(wbuf *b, const char *s, size_t len)
{
    wb_u64(b, len);
    wb_put(b, s, len);
}

typedef struct writer_kv {
    char *key;
    uint32_t type;
    wbuf val;          /* serialized value, as it appears after the type */
} writer_kv;

typedef struct writer_tensor {
    char *name;
    tensor_type type;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    void *data;        /* NULL for a streamed tensor (produced at write time) */
    size_t nbytes;
} writer_tensor;

struct gguf_writer {
    writer_kv *kv;
    size_t n_kv, cap_kv;
    writer_tensor *tensors;
    size_t n_tensors, cap_tensors;
    int oom;           /* a setter ran out of memory: writing will fail */
};

gguf_writer *gguf_writer_new(void)
{
    return calloc(1, sizeof(gguf_writer));
}

void gguf_writer_free(gguf_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val.p);
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->kv);
    free(w->tensors);
    free(w);
}

/* Grow an array of `size`-byte items to hold one more; -1 on failure. */
static int grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = reallocarray(*items, ncap, size);
    if (!p)
        return -1;
    *items = p;
    *cap = ncap;
    return 0;
}

/* Set key (key_len bytes) to a value of `type` serialized in val (taken over). */
static void writer_set(gguf_writer *w, const char *key, size_t key_len, uint32_t type, wbuf val)
{
    if (!w)
        goto drop;
    if (val.failed || !key)
        goto fail;
    for (size_t i = 0; i < w->n_kv; i++) {
        writer_kv *kv = &w->kv[i];
        if (strlen(kv->key) == key_len && memcmp(kv->key, key, key_len) == 0) {
            free(kv->val.p);
            kv->type = type;
            kv->val = val;
            return;
        }
    }
    if (grow((void **)&w->kv, &w->cap_kv, w->n_kv, sizeof *w->kv))
        goto fail;
    char *copy = strndup(key, key_len);
    if (!copy)
        goto fail;
    w->kv[w->n_kv++] = (writer_kv){copy, type, val};
    return;
fail:
    w->oom = 1;
drop:
    free(val.p);
}

static void writer_set_scalar(gguf_writer *w, const char *key, uint32_t type, const void *v, size_t n)
{
    wbuf val = {0};
    wb_put(&val, v, n);
    writer_set(w, key, key ? strlen(key) : 0, type, val);
}

void gguf_writer_set_u8(gguf_writer *w, const char *key, uint8_t v) { writer_set_scalar(w, key, GGUF_UINT8, &v, sizeof v); }
void gguf_writer_set_i8(gguf_writer *w, const char *key, int8_t v) { writer_set_scalar(w, key, GGUF_INT8, &v, sizeof v); }
void gguf_writer_set_u16(gguf_writer *w, const char *key, uint16_t v) { writer_set_scalar(w, key, GGUF_UINT16, &v, sizeof v); }
void gguf_writer_set_i16(gguf_writer *w, const char *key, int16_t v) { writer_set_scalar(w, key, GGUF_INT16, &v, sizeof v); }
void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v) { writer_set_scalar(w, key, GGUF_UINT32, &v, sizeof v); }
void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v) { writer_set_scalar(w, key, GGUF_INT32, &v, sizeof v); }
void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v) { writer_set_scalar(w, key, GGUF_UINT64, &v, sizeof v); }
void gguf_writer_set_i64(gguf_writer *w, const char *key, int64_t v) { writer_set_scalar(w, key, GGUF_INT64, &v, sizeof v); }
void gguf_writer_set_f32(gguf_writer *w, const char *key, float v) { writer_set_scalar(w, key, GGUF_FLOAT32, &v, sizeof v); }
void gguf_writer_set_f64(gguf_writer *w, const char *key, double v) { writer_set_scalar(w, key, GGUF_FLOAT64, &v, sizeof v); }

void gguf_writer_set_bool(gguf_writer *w, const char *key, int v)
{
    uint8_t b = v != 0;
    writer_set_scalar(w, key, GGUF_BOOL, &b, sizeof b);
}

void gguf_writer_set_str(gguf_writer *w, const char *key, const char *v)
{
    wbuf val = {0};
    if (v)
        wb_str(&val, v, strlen(v));
    else
        val.failed = 1;
    writer_set(w, key, key ? strlen(key) : 0, GGUF_STRING, val);
}

void gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_value_type elem_type,
                         const void *v, size_t n)
{
    wbuf val = {0};
    size_t size = value_fixed_size(elem_type);
    if (!size || (n && !v))
        val.failed = 1;
    wb_u32(&val, elem_type);
    wb_u64(&val, n);
    if (n && size && n > SIZE_MAX / size)
        val.failed = 1;
    else if (n && v)
        wb_put(&val, v, n * size);
    writer_set(w, key, key ? strlen(key) : 0, GGUF_ARRAY, val);
}

void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *v, size_t n)
{
    wbuf val = {0};
    wb_u32(&val, GGUF_STRING);
    wb_u64(&val, n);
    for (size_t i = 0; i < n; i++) {
        if (!v[i])
            val.failed = 1;
        else
            wb_str(&val, v[i], strlen(v[i]));
    }
    writer_set(w, key, key ? strlen(key) : 0, GGUF_ARRAY, val);
}

void gguf_writer_set_arr_f32(gguf_writer *w, const char *key, const float *v, size_t n)
{
    gguf_writer_set_arr(w, key, GGUF_FLOAT32, v, n);
}

void gguf_writer_set_arr_i32(gguf_writer *w, const char *key, const int32_t *v, size_t n)
{
    gguf_writer_set_arr(w, key, GGUF_INT32, v, n);
}

void gguf_writer_copy_kv(gguf_writer *w, const gguf_file *src)
{
    gguf_writer_copy_kv_prefix(w, src, "");
}

void gguf_writer_copy_kv_prefix(gguf_writer *w, const gguf_file *src, const char *prefix)
{
    size_t plen = strlen(prefix);
    for (uint32_t i = 0; i < src->n_kv; i++) {
        const gguf_kv *kv = &src->kv[i];
        if (kv->key.len < plen || memcmp(kv->key.ptr, prefix, plen) != 0)
            continue;
        wbuf val = {0};
        wb_put(&val, kv->val, kv->val_size);
        writer_set(w, kv->key.ptr, (size_t)kv->key.len, kv->type, val);
    }
}

/* Validate a new tensor's name and shape; *nbytes = its data size. */
static int writer_check_tensor(const gguf_writer *w, const char *name, tensor_type type,
                               uint32_t n_dims, const int64_t *ne, size_t *nbytes, perr *err)
{
    if (!w)
        return perr_set(err, "out of memory");
    if (!name)
        return perr_set(err, "tensor name is NULL");
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return perr_set(err, "duplicate tensor name '%s'", name);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return perr_set(err, "tensor '%s': n_dims %u out of range 1..%d", name, n_dims, GGUF_MAX_DIMS);
    gguf_tensor t = {.name = {name, strlen(name)}, .n_dims = n_dims};
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
        t.ne[d] = d < n_dims ? ne[d] : 1;
    if (check_tensor_shape(&t, type, err))
        return -1;
    *nbytes = t.nbytes;
    return 0;
}

/* Append a tensor; its data is copied, or left NULL (streamed) when data is NULL. */
static int writer_append_tensor(gguf_writer *w, const char *name, tensor_type type,
                                uint32_t n_dims, const int64_t *ne, const void *data,
                                size_t nbytes, perr *err)
{
    if (grow((void **)&w->tensors, &w->cap_tensors, w->n_tensors, sizeof *w->tensors))
        return perr_set(err, "tensor '%s': out of memory", name);
    writer_tensor t = {.type = type, .n_dims = n_dims, .nbytes = nbytes};
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
        t.ne[d] = d < n_dims ? ne[d] : 1;
    t.name = strdup(name);
    if (data)
        t.data = malloc(nbytes ? nbytes : 1);
    if (!t.name || (data && !t.data)) {
        free(t.name);
        free(t.data);
        return perr_set(err, "tensor '%s': out of memory for %zu bytes", name, nbytes);
    }
    if (data)
        memcpy(t.data, data, nbytes);
    w->tensors[w->n_tensors++] = t;
    return 0;
}

int gguf_writer_add_tensor(gguf_writer *w, const char *name, tensor_type type,
                           uint32_t n_dims, const int64_t *ne, const void *data,
                           size_t nbytes, perr *err)
{
    size_t need;
    if (writer_check_tensor(w, name, type, n_dims, ne, &need, err))
        return -1;
    if (need != nbytes)
        return perr_set(err, "tensor '%s': %zu bytes given, its type and shape need %zu",
                        name, nbytes, need);
    if (!data)
        return perr_set(err, "tensor '%s': data is NULL", name);
    return writer_append_tensor(w, name, type, n_dims, ne, data, nbytes, err);
}

int gguf_writer_add_tensor_info(gguf_writer *w, const char *name, tensor_type type,
                                uint32_t n_dims, const int64_t *ne, perr *err)
{
    size_t nbytes;
    if (writer_check_tensor(w, name, type, n_dims, ne, &nbytes, err))
        return -1;
    return writer_append_tensor(w, name, type, n_dims, ne, NULL, nbytes, err);
}

/* The alignment the file will declare: general.alignment if set, else 32. */
static int writer_alignment(const gguf_writer *w, size_t *align, perr *err)
{
    *align = GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++) {
        const writer_kv *kv = &w->kv[i];
        if (strcmp(kv->key, "general.alignment") != 0)
            continue;
        if (!value_type_is_int(kv->type))
            return perr_set(err, "key 'general.alignment' has type %s, expected an integer",
                            value_type_name(kv->type));
        int_value v = read_int(kv->type, kv->val.p);
        if (!int_fits_u64(v, UINT32_MAX) || v.u == 0 || (v.u & (v.u - 1)) != 0)
            return perr_set(err, "key 'general.alignment' is not a nonzero power of two");
        *align = (size_t)v.u;
    }
    return 0;
}

/* Where serialized bytes go: a memory buffer or a stdio stream. */
typedef struct sink {
    wbuf *buf;
    FILE *fp;
    int failed;
} sink;

static void sink_put(sink *s, const void *p, size_t n)
{
    if (s->buf) {
        wb_put(s->buf, p, n);
        s->failed |= s->buf->failed;
    } else if (n && !s->failed && fwrite(p, 1, n, s->fp) != n) {
        s->failed = 1;
    }
}

static void sink_pad(sink *s, uint64_t pos, size_t align)
{
    static const uint8_t zeros[256];
    size_t pad = (size_t)((align - pos % align) % align);
    while (pad) {
        size_t n = pad < sizeof zeros ? pad : sizeof zeros;
        sink_put(s, zeros, n);
        pad -= n;
    }
}

/* Header, metadata and tensor infos (tensor offsets padded to align). */
static void serialize_head(const gguf_writer *w, size_t align, wbuf *b)
{
    wb_put(b, GGUF_MAGIC, 4);
    wb_u32(b, 3);
    wb_u64(b, w->n_tensors);
    wb_u64(b, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        wb_str(b, w->kv[i].key, strlen(w->kv[i].key));
        wb_u32(b, w->kv[i].type);
        wb_put(b, w->kv[i].val.p, w->kv[i].val.len);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        const writer_tensor *t = &w->tensors[i];
        wb_str(b, t->name, strlen(t->name));
        wb_u32(b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            wb_u64(b, (uint64_t)t->ne[d]);
        wb_u32(b, t->type);
        wb_u64(b, offset);
        offset += t->nbytes + (align - t->nbytes % align) % align;
    }
}

/* Size of the largest streamed tensor (0 when none). */
static size_t max_streamed_size(const gguf_writer *w)
{
    size_t best = 0;
    for (size_t i = 0; i < w->n_tensors; i++)
        if (!w->tensors[i].data && w->tensors[i].nbytes > best)
            best = w->tensors[i].nbytes;
    return best;
}

/* Tensor data, in order; streamed tensors come from fill into one buffer. */
static int emit_tensor_data(const gguf_writer *w, sink *s, size_t align,
                            gguf_tensor_data_fn fill, void *user, perr *err)
{
    size_t buf_size = max_streamed_size(w);
    void *buf = NULL;
    if (buf_size && !fill)
        return perr_set(err, "tensors were declared for streaming but no data source was given");
    if (buf_size && !(buf = malloc(buf_size)))
        return perr_set(err, "out of memory for a %zu-byte tensor buffer", buf_size);
    for (size_t i = 0; i < w->n_tensors && !s->failed; i++) {
        const writer_tensor *t = &w->tensors[i];
        const void *data = t->data;
        if (!data) {
            if (fill(user, i, buf, t->nbytes, err) != 0) {
                free(buf);
                return perr_prefix(err, "tensor '%s'", t->name);
            }
            data = buf;
        }
        sink_put(s, data, t->nbytes);
        sink_pad(s, t->nbytes, align);
    }
    free(buf);
    return 0;
}

static int writer_emit(const gguf_writer *w, sink *s, gguf_tensor_data_fn fill, void *user,
                       perr *err)
{
    if (!w || w->oom)
        return perr_set(err, "out of memory (or NULL argument) while building the GGUF metadata");
    size_t align;
    if (writer_alignment(w, &align, err))
        return -1;
    wbuf head = {0};
    serialize_head(w, align, &head);
    if (head.failed) {
        free(head.p);
        return perr_set(err, "out of memory serializing the GGUF metadata");
    }
    sink_put(s, head.p, head.len);
    sink_pad(s, head.len, align);
    free(head.p);
    return emit_tensor_data(w, s, align, fill, user, err); /* the caller checks s->failed */
}

int gguf_writer_write_memory(const gguf_writer *w, void **data, size_t *size, perr *err)
{
    wbuf buf = {0};
    sink s = {&buf, NULL, 0};
    *data = NULL;
    *size = 0;
    if (writer_emit(w, &s, NULL, NULL, err) || s.failed) {
        free(buf.p);
        return s.failed ? perr_set(err, "out of memory serializing GGUF") : -1;
    }
    *data = buf.p;
    *size = buf.len;
    return 0;
}

/* Written to "<path>.tmp" then renamed, so readers never see half a file. */
int gguf_writer_write_file_stream(const gguf_writer *w, const char *path,
                                  gguf_tensor_data_fn fill, void *user, perr *err)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return perr_set(err, "%s: out of memory", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        perr_errno(err, "%s: cannot create", tmp);
        free(tmp);
        return -1;
    }
    sink s = {NULL, fp, 0};
    int rc = writer_emit(w, &s, fill, user, err);
    if (rc == 0 && s.failed)
        rc = perr_errno(err, "%s: write failed", tmp);
    if (fclose(fp) != 0 && rc == 0)
        rc = perr_errno(err, "%s: write failed", tmp);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = perr_errno(err, "%s: cannot rename to %s", tmp, path);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int gguf_writer_write_file(const gguf_writer *w, const char *path, perr *err)
{
    return gguf_writer_write_file_stream(w, path, NULL, NULL, err);
}
