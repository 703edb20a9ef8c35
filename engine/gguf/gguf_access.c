/* gguf_access.c — reading an open GGUF file's keys, values and tensors:
 * lookups by name through the sorted indexes gguf.c built at open, typed
 * getters that check the value's type and range, array elements. */
#include "engine/gguf/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "engine/gguf/gguf_internal.h"

/* ------------------------------------------------------------------------ */
/* Metadata accessors                                                       */

static const gguf_str empty_str = {"", 0};

int64_t gguf_n_kv(const gguf_file *f) { return f->n_kv; }

int64_t gguf_find_key(const gguf_file *f, const char *key)
{
    return gguf_name_index_find(f->kv_sorted, f->n_kv, f->kv, gguf_kv_name_of, key);
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
    return perr_set(err, "key '%s' has type %s, expected %s", gguf_show(kv->key).s,
                    gguf_value_type_name(kv->type), expected);
}

/* Any integer value of key, checked to lie in [min, max] (min <= 0). */
static int get_int(const gguf_file *f, const char *key, int64_t min, uint64_t max,
                   gguf_int_value *out, perr *err)
{
    const gguf_kv *kv = kv_lookup(f, key, err);
    if (!kv)
        return -1;
    if (!gguf_value_type_is_int(kv->type))
        return kv_wrong_type(kv, "an integer", err);
    gguf_int_value v = gguf_read_int(kv->type, kv->val);
    if (v.negative ? v.s < min : v.u > max)
        return perr_set(err, "key '%s': value %s%llu out of range", key, v.negative ? "-" : "",
                        v.negative ? (unsigned long long)0 - (unsigned long long)v.s
                                   : (unsigned long long)v.u);
    *out = v;
    return 0;
}

int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, perr *err)
{
    gguf_int_value v;
    if (get_int(f, key, 0, UINT32_MAX, &v, err))
        return -1;
    *out = (uint32_t)v.u;
    return 0;
}

int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, perr *err)
{
    gguf_int_value v;
    if (get_int(f, key, INT64_MIN, INT64_MAX, &v, err))
        return -1;
    *out = gguf_int_as_i64(v);
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
    if (!gguf_value_type_is_int(kv->elem_type))
        return 0;
    gguf_int_value v = gguf_read_int(kv->elem_type, kv->elems + i * gguf_value_fixed_size(kv->elem_type));
    return v.negative ? v.s : (int64_t)v.u;
}

/* ------------------------------------------------------------------------ */
/* Tensor accessors                                                         */

int64_t gguf_n_tensors(const gguf_file *f) { return f->n_tensors; }

const gguf_tensor *gguf_tensor_at(const gguf_file *f, int64_t i)
{
    return i >= 0 && i < f->n_tensors ? &f->tensors[i] : NULL;
}

int64_t gguf_tensor_index(const gguf_file *f, const gguf_tensor *t)
{
    /* as addresses, so a pointer from elsewhere is no undefined comparison */
    const uintptr_t base = (uintptr_t)f->tensors, at = (uintptr_t)t;
    if (at < base || at >= base + (uintptr_t)f->n_tensors * sizeof *t || (at - base) % sizeof *t != 0)
        return -1;
    return (int64_t)((at - base) / sizeof *t);
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    int64_t i = gguf_name_index_find(f->tensor_sorted, f->n_tensors, f->tensors, gguf_tensor_name_of, name);
    return i < 0 ? NULL : &f->tensors[i];
}

int gguf_str_eq(gguf_str s, const char *c)
{
    return c && gguf_str_cmp(s, c, strlen(c)) == 0;
}
