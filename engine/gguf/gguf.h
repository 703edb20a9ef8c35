/* gguf.h — read-only, zero-copy access to GGUF v2/v3 files, and a small writer.
 *
 * gguf_open() mmaps the file read-only and validates everything before
 * returning: magic, version, counts, string lengths, value types, alignment,
 * tensor shapes, types and [offset, offset+size) against the file size. After
 * a successful open no accessor can read outside the mapping. Strings and
 * tensor data point into the mapping (never copied); they live until
 * gguf_close(). Errors follow common/error.h and name the key or tensor.
 */
#ifndef PRECIS_GGUF_H
#define PRECIS_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/kernels/tensor_types.h"

#define GGUF_MAX_DIMS 4

typedef enum gguf_value_type {
    GGUF_UINT8 = 0, GGUF_INT8 = 1, GGUF_UINT16 = 2, GGUF_INT16 = 3,
    GGUF_UINT32 = 4, GGUF_INT32 = 5, GGUF_FLOAT32 = 6, GGUF_BOOL = 7,
    GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_UINT64 = 10, GGUF_INT64 = 11,
    GGUF_FLOAT64 = 12,
} gguf_value_type;

/* A string inside the mapping: NOT NUL-terminated. */
typedef struct gguf_str {
    const char *ptr;
    uint64_t len;
} gguf_str;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];  /* ne[0] = row length (contiguous); unused dims are 1 */
    tensor_type type;
    uint64_t offset;            /* relative to the data section */
    size_t nbytes;
    const void *data;           /* points into the mapping */
} gguf_tensor;

typedef struct gguf_file gguf_file;

int gguf_open(gguf_file **out, const char *path, perr *err);
/* Same validation, over a caller-owned buffer (used by the fuzzer and tests). */
int gguf_open_memory(gguf_file **out, const void *data, size_t size, perr *err);
void gguf_close(gguf_file *f);

uint32_t gguf_version(const gguf_file *f);
size_t gguf_alignment(const gguf_file *f);
size_t gguf_file_size(const gguf_file *f);

/* Metadata. Keys are looked up by exact name; -1 when absent. */
int64_t gguf_n_kv(const gguf_file *f);
int64_t gguf_find_key(const gguf_file *f, const char *key);
gguf_str gguf_key_name(const gguf_file *f, int64_t i);
gguf_value_type gguf_kv_type(const gguf_file *f, int64_t i);

/* Typed getters: 0 on success; -1 if absent or of an incompatible type (err
 * names the key). Integer getters accept any integer type whose value fits. */
int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, perr *err);
int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, perr *err);
int gguf_get_f32(const gguf_file *f, const char *key, float *out, perr *err);
int gguf_get_bool(const gguf_file *f, const char *key, int *out, perr *err);
int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, perr *err);

/* Arrays: element type and count; elements fetched by index. */
int gguf_get_arr(const gguf_file *f, const char *key, gguf_value_type *elem_type,
                 uint64_t *count, perr *err);
gguf_str gguf_arr_str(const gguf_file *f, const char *key, uint64_t i);
float gguf_arr_f32(const gguf_file *f, const char *key, uint64_t i);
int64_t gguf_arr_int(const gguf_file *f, const char *key, uint64_t i);

/* Tensors. */
int64_t gguf_n_tensors(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, int64_t i);
/* The index i of f's tensor t (gguf_tensor_at(f, i) == t), or -1 if t is
 * not one of f's. */
int64_t gguf_tensor_index(const gguf_file *f, const gguf_tensor *t);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);

/* True when s equals the NUL-terminated c. */
int gguf_str_eq(gguf_str s, const char *c);

/* ---- Writer: builds a GGUF v3 file (for `precis quantize`, generators, tests).
 * Keys keep insertion order; setting an existing key replaces its value in
 * place. Setters cannot report failure: an allocation failure or a NULL
 * argument makes the write functions fail instead. Alignment is 32 unless
 * general.alignment is set. */
typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_new(void);
void gguf_writer_free(gguf_writer *w);
void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
void gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
void gguf_writer_set_bool(gguf_writer *w, const char *key, int v);
void gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *v, size_t n);
void gguf_writer_set_arr_f32(gguf_writer *w, const char *key, const float *v, size_t n);
void gguf_writer_set_arr_i32(gguf_writer *w, const char *key, const int32_t *v, size_t n);
/* The remaining scalar types, and arrays of any fixed-size element type
 * (v holds n little-endian elements of elem_type; not string or array). */
void gguf_writer_set_u8(gguf_writer *w, const char *key, uint8_t v);
void gguf_writer_set_i8(gguf_writer *w, const char *key, int8_t v);
void gguf_writer_set_u16(gguf_writer *w, const char *key, uint16_t v);
void gguf_writer_set_i16(gguf_writer *w, const char *key, int16_t v);
void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
void gguf_writer_set_i64(gguf_writer *w, const char *key, int64_t v);
void gguf_writer_set_f64(gguf_writer *w, const char *key, double v);
void gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_value_type elem_type,
                         const void *v, size_t n);
/* Copy every key of src (e.g. when quantizing a model). */
void gguf_writer_copy_kv(gguf_writer *w, const gguf_file *src);
/* Copy the keys of src whose name starts with prefix (e.g. "tokenizer."). */
void gguf_writer_copy_kv_prefix(gguf_writer *w, const gguf_file *src, const char *prefix);
/* data is copied; nbytes must equal the size implied by type and shape. */
int gguf_writer_add_tensor(gguf_writer *w, const char *name, tensor_type type,
                           uint32_t n_dims, const int64_t *ne, const void *data,
                           size_t nbytes, perr *err);
int gguf_writer_write_file(const gguf_writer *w, const char *path, perr *err);

/* Streaming, for files larger than memory (quantizer, model generator):
 * declare a tensor without its data, then write the file with a callback
 * that produces each declared tensor's bytes when its turn comes. Only one
 * tensor's data is in memory at a time. Tensors added with data are written
 * as usual. */
int gguf_writer_add_tensor_info(gguf_writer *w, const char *name, tensor_type type,
                                uint32_t n_dims, const int64_t *ne, perr *err);
/* Fill dst (nbytes, the size of tensor `index` in add order); 0 or -1 + err. */
typedef int (*gguf_tensor_data_fn)(void *user, size_t index, void *dst, size_t nbytes,
                                   perr *err);
int gguf_writer_write_file_stream(const gguf_writer *w, const char *path,
                                  gguf_tensor_data_fn fill, void *user, perr *err);
/* Serialize into a malloc'd buffer (tests, fuzz seeds). */
int gguf_writer_write_memory(const gguf_writer *w, void **data, size_t *size, perr *err);

#endif
