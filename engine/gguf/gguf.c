/* gguf.c — GGUF v2/v3 reader (mmap, validated, zero-copy); the writer is gguf_writer.c.
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
#include "engine/gguf/gguf_internal.h"

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

#define GGUF_MAX_ARRAY_DEPTH 8         /* arrays of arrays nested at most this deep */
#define GGUF_MIN_KV_BYTES 13           /* key length 8 + type 4 + 1-byte value */
#define GGUF_MIN_TENSOR_BYTES 32       /* name length 8 + n_dims 4 + ne 8 + type 4 + offset 8 */
#define GGUF_MAX_COUNT 0x7fffffffu     /* kv and tensor counts index with uint32 */
#define GGUF_MIN_DATA_ALIGN 4           /* tensor data must be at least this aligned */

/* ------------------------------------------------------------------------ */
/* Value types                                                              */

static const char *const value_type_names[] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

static int value_type_known(uint32_t t) { return t <= GGUF_FLOAT64; }

const char *gguf_value_type_name(uint32_t t)
{
    return value_type_known(t) ? value_type_names[t] : "unknown";
}

/* Size of a fixed-size value; 0 for strings, arrays and unknown types. */
size_t gguf_value_fixed_size(uint32_t t)
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
    return gguf_value_fixed_size(t);
}

int gguf_value_type_is_int(uint32_t t)
{
    return t <= GGUF_INT32 || t == GGUF_UINT64 || t == GGUF_INT64;
}

gguf_int_value gguf_read_int(uint32_t t, const uint8_t *p)
{
    gguf_int_value v = {0, 0, 0};
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

int gguf_int_fits_u64(gguf_int_value v, uint64_t max) { return !v.negative && v.u <= max; }

int64_t gguf_int_as_i64(gguf_int_value v)
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

gguf_shown gguf_show(gguf_str str)
{
    static const char hex[] = "0123456789abcdef";
    gguf_shown out;
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

int gguf_str_cmp(gguf_str a, const char *b, size_t blen)
{
    size_t n = a.len < blen ? (size_t)a.len : blen;
    int c = n ? memcmp(a.ptr, b, n) : 0;
    if (c)
        return c;
    return (a.len > blen) - (a.len < blen);
}

typedef struct name_sort_ctx {
    const void *items;
    gguf_name_of_fn name_of;
} name_sort_ctx;

static int name_sort_cmp(const void *a, const void *b, void *ctx_)
{
    const name_sort_ctx *ctx = ctx_;
    gguf_str sa = ctx->name_of(ctx->items, *(const uint32_t *)a);
    gguf_str sb = ctx->name_of(ctx->items, *(const uint32_t *)b);
    int c = gguf_str_cmp(sa, sb.ptr, (size_t)sb.len);
    if (c)
        return c;
    return (*(const uint32_t *)a > *(const uint32_t *)b) - (*(const uint32_t *)a < *(const uint32_t *)b);
}

/* Build idx = [0, n) sorted by name; on a duplicate name fill *dup (the later
 * of the two) and return -1. */
static int name_index_build(uint32_t *idx, uint32_t n, const void *items, gguf_name_of_fn name_of,
                            uint32_t *dup)
{
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    name_sort_ctx ctx = {items, name_of};
    qsort_r(idx, n, sizeof *idx, name_sort_cmp, &ctx);
    for (uint32_t i = 1; i < n; i++) {
        gguf_str a = name_of(items, idx[i - 1]), b = name_of(items, idx[i]);
        if (gguf_str_cmp(a, b.ptr, (size_t)b.len) == 0) {
            *dup = idx[i];
            return -1;
        }
    }
    return 0;
}

int64_t gguf_name_index_find(const uint32_t *idx, uint32_t n, const void *items,
                               gguf_name_of_fn name_of, const char *name)
{
    if (!name)
        return -1;
    size_t len = strlen(name);
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = gguf_str_cmp(name_of(items, idx[mid]), name, len);
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

gguf_str gguf_kv_name_of(const void *items, uint32_t i) { return ((const gguf_kv *)items)[i].key; }
gguf_str gguf_tensor_name_of(const void *items, uint32_t i) { return ((const gguf_tensor *)items)[i].name; }

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
                        (unsigned long long)*count, gguf_value_type_name(*elem_type), cur_left(c));
    return 0;
}

static int skip_array_elements(cursor *c, uint32_t elem_type, uint64_t count, int depth, perr *err)
{
    size_t fixed = gguf_value_fixed_size(elem_type);
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
    size_t fixed = gguf_value_fixed_size(type);
    if (fixed)
        return cur_skip(c, fixed, gguf_value_type_name(type), err);
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
        return perr_set(err, "key '%s': name contains a NUL byte", gguf_show(kv->key).s);
    uint32_t type;
    if (cur_u32(c, &type, "value type", err))
        return perr_prefix(err, "key '%s'", gguf_show(kv->key).s);
    if (!value_type_known(type))
        return perr_set(err, "key '%s': unknown value type %u", gguf_show(kv->key).s, type);
    kv->type = (gguf_value_type)type;
    kv->val = c->base + c->pos;
    int rc = type == GGUF_ARRAY ? parse_kv_array(kv, c, err) : skip_value(c, type, 0, err);
    if (rc)
        return perr_prefix(err, "key '%s'", gguf_show(kv->key).s);
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
    if (name_index_build(f->kv_sorted, f->n_kv, f->kv, gguf_kv_name_of, &dup))
        return perr_set(err, "duplicate key '%s'", gguf_show(f->kv[dup].key).s);
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
                        gguf_show(t->name).s, type, name);
    return perr_set(err, "tensor '%s': unknown tensor type %u", gguf_show(t->name).s, type);
}

/* Shape, type and size of one tensor (offset checked later). */
int gguf_check_tensor_shape(gguf_tensor *t, uint32_t type, perr *err)
{
    gguf_shown name = gguf_show(t->name);
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
    gguf_shown name = gguf_show(t->name);
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
    return gguf_check_tensor_shape(t, type, err);
}

static int check_tensor_placement(const gguf_file *f, gguf_tensor *t, perr *err)
{
    gguf_shown name = gguf_show(t->name);
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
                            gguf_show(b->name).s, (unsigned long long)b->offset, gguf_show(a->name).s,
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
    if (name_index_build(f->tensor_sorted, f->n_tensors, f->tensors, gguf_tensor_name_of, &dup))
        return perr_set(err, "duplicate tensor name '%s'", gguf_show(f->tensors[dup].name).s);
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
