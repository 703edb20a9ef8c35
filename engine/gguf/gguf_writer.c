/* gguf_writer.c — writing GGUF v3: keys in insertion order, tensors laid out
 * back to back, each padded to the alignment; a tensor's data is either
 * copied at add time or produced by a callback at write time (streaming).
 * See gguf.c for the file layout. */
#include "engine/gguf/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/grow.h"
#include "engine/gguf/gguf_internal.h"

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
    uint8_t *p = n <= SIZE_MAX - b->len ? grow_to(b->p, &b->cap, b->len + n, 1, 64) : NULL;
    if (!p) {
        b->failed = 1;
        return;
    }
    b->p = p;
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
    writer_kv *kvs = grow_to(w->kv, &w->cap_kv, w->n_kv + 1, sizeof *kvs, 16);
    if (!kvs)
        goto fail;
    w->kv = kvs;
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
    size_t size = gguf_value_fixed_size(elem_type);
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
    if (gguf_check_tensor_shape(&t, type, err))
        return -1;
    *nbytes = t.nbytes;
    return 0;
}

/* Append a tensor; its data is copied, or left NULL (streamed) when data is NULL. */
static int writer_append_tensor(gguf_writer *w, const char *name, tensor_type type,
                                uint32_t n_dims, const int64_t *ne, const void *data,
                                size_t nbytes, perr *err)
{
    writer_tensor *tensors = grow_to(w->tensors, &w->cap_tensors, w->n_tensors + 1, sizeof *tensors, 16);
    if (!tensors)
        return perr_set(err, "tensor '%s': out of memory", name);
    w->tensors = tensors;
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
        if (!gguf_value_type_is_int(kv->type))
            return perr_set(err, "key 'general.alignment' has type %s, expected an integer",
                            gguf_value_type_name(kv->type));
        gguf_int_value v = gguf_read_int(kv->type, kv->val.p);
        if (!gguf_int_fits_u64(v, UINT32_MAX) || v.u == 0 || (v.u & (v.u - 1)) != 0)
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
