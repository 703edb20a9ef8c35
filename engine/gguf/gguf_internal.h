/* gguf_internal.h — what the GGUF reader (gguf.c) and writer (gguf_writer.c)
 * share and nobody else sees: the format's constants, the reader's state
 * (the writer copies key/values out of an open file) and the value and
 * tensor-shape rules both apply. */
#ifndef PRECIS_GGUF_INTERNAL_H
#define PRECIS_GGUF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/gguf/gguf.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32

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

/* An integer value read from its bytes, with its signedness. */
typedef struct gguf_int_value {
    int negative;   /* then `s` holds it */
    int64_t s;
    uint64_t u;     /* when !negative */
} gguf_int_value;

/* "uint8", ... for a known value type, else "unknown". */
const char *gguf_value_type_name(uint32_t t);

/* Size of a fixed-size value; 0 for strings, arrays and unknown types. */
size_t gguf_value_fixed_size(uint32_t t);

int gguf_value_type_is_int(uint32_t t);

/* The integer of type t (an integer type) stored at p. */
gguf_int_value gguf_read_int(uint32_t t, const uint8_t *p);

/* A tensor's type is supported and its shape and size are sane (sets the
 * derived fields of t); -1 with err naming the tensor otherwise. */
int gguf_check_tensor_shape(gguf_tensor *t, uint32_t type, perr *err);

/* Quoting keys and names (hostile bytes) for messages: printable ASCII kept,
 * other bytes as \xNN, at most SHOW_MAX bytes then "...". */
#define SHOW_MAX 80                    /* bytes of a key or name quoted in a message */
typedef struct gguf_shown { char s[SHOW_MAX * 4 + 8]; } gguf_shown;

gguf_shown gguf_show(gguf_str str);

/* memcmp order of a and b[0..blen), shorter first on a tie. */
int gguf_str_cmp(gguf_str a, const char *b, size_t blen);

int gguf_int_fits_u64(gguf_int_value v, uint64_t max);
int64_t gguf_int_as_i64(gguf_int_value v);

/* The names the sorted indexes order (kv keys, tensor names). */
typedef gguf_str (*gguf_name_of_fn)(const void *items, uint32_t i);

gguf_str gguf_kv_name_of(const void *items, uint32_t i);
gguf_str gguf_tensor_name_of(const void *items, uint32_t i);

/* Index of the item called name through idx (sorted by name_of), or -1. */
int64_t gguf_name_index_find(const uint32_t *idx, uint32_t n, const void *items, gguf_name_of_fn name_of,
                             const char *name);

#endif
