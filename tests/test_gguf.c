/* test_gguf.c — GGUF reader and writer: round trips, real model files,
 * hostile (corrupted) files, and the zero-copy (no weights read) property. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/gguf/gguf.h"
#include "tests/support.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static void *writer_bytes(gguf_writer *w, size_t *size)
{
    void *data;
    perr err = {{0}};
    cr_assert_eq(gguf_writer_write_memory(w, &data, size, &err), 0, "write: %s", err.msg);
    return data;
}

static gguf_file *open_ok(const void *data, size_t size)
{
    gguf_file *f;
    perr err = {{0}};
    cr_assert_eq(gguf_open_memory(&f, data, size, &err), 0, "open: %s", err.msg);
    return f;
}

/* Opening must fail and the message must contain every non-NULL needle. */
static void open_fails(const void *data, size_t size, const char *a, const char *b)
{
    gguf_file *f = (gguf_file *)1;
    perr err = {{0}};
    cr_assert_eq(gguf_open_memory(&f, data, size, &err), -1, "hostile file was accepted");
    cr_assert_null(f);
    cr_assert(!a || strstr(err.msg, a), "message '%s' lacks '%s'", err.msg, a);
    cr_assert(!b || strstr(err.msg, b), "message '%s' lacks '%s'", err.msg, b);
}

/* Position just after the serialized string s (uint64 length + bytes). */
static size_t after_str(const uint8_t *buf, size_t size, const char *s)
{
    uint8_t needle[256];
    uint64_t len = strlen(s);
    memcpy(needle, &len, 8);
    memcpy(needle + 8, s, len);
    const uint8_t *p = memmem(buf, size, needle, 8 + len);
    cr_assert(p, "string '%s' not found in file", s);
    return (size_t)(p - buf) + 8 + len;
}

static void put_u32(uint8_t *buf, size_t pos, uint32_t v) { memcpy(buf + pos, &v, 4); }
static void put_u64(uint8_t *buf, size_t pos, uint64_t v) { memcpy(buf + pos, &v, 8); }

static const float f32_data[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* A small valid file: every scalar type, arrays, and three tensors. */
static uint8_t *sample(size_t *size)
{
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_u32(w, "general.alignment", 32);
    gguf_writer_set_u32(w, "test.u32", 7);
    gguf_writer_set_str(w, "test.str", "hello");
    gguf_writer_set_f32(w, "test.f32", 0.5f);
    const char *words[] = {"alpha", "beta", "gamma"};
    gguf_writer_set_arr_str(w, "test.words", words, 3);
    const int32_t ints[] = {1, -2, 3};
    gguf_writer_set_arr_i32(w, "test.ints", ints, 3);
    perr err = {{0}};
    int64_t ne_a[] = {8, 2}, ne_b[] = {64, 2}, ne_c[] = {4, 3, 2};
    uint8_t q8[2 * 2 * 34] = {0}, f16[24 * 2] = {0};
    cr_assert_eq(gguf_writer_add_tensor(w, "tok.weight", TT_F32, 2, ne_a, f32_data, sizeof f32_data, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor(w, "blk.0.q8", TT_Q8_0, 2, ne_b, q8, sizeof q8, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor(w, "blk.0.half", TT_F16, 3, ne_c, f16, sizeof f16, &err), 0, "%s", err.msg);
    uint8_t *data = writer_bytes(w, size);
    gguf_writer_free(w);
    return data;
}

/* Where a tensor's fields start: n_dims, then ne[], type and offset. */
typedef struct tensor_pos { size_t n_dims, ne, type, offset; } tensor_pos;

static tensor_pos find_tensor_info(const uint8_t *buf, size_t size, const char *name)
{
    tensor_pos p;
    p.n_dims = after_str(buf, size, name);
    uint32_t n_dims;
    memcpy(&n_dims, buf + p.n_dims, 4);
    p.ne = p.n_dims + 4;
    p.type = p.ne + 8 * n_dims;
    p.offset = p.type + 4;
    return p;
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                              */

Test(gguf, round_trip_every_scalar_type)
{
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_u8(w, "k.u8", 200);
    gguf_writer_set_i8(w, "k.i8", -100);
    gguf_writer_set_u16(w, "k.u16", 60000);
    gguf_writer_set_i16(w, "k.i16", -30000);
    gguf_writer_set_u32(w, "k.u32", 4000000000u);
    gguf_writer_set_i32(w, "k.i32", -2000000000);
    gguf_writer_set_f32(w, "k.f32", 1.25f);
    gguf_writer_set_bool(w, "k.bool", 1);
    gguf_writer_set_str(w, "k.str", "héllo");
    gguf_writer_set_u64(w, "k.u64", UINT64_MAX);
    gguf_writer_set_i64(w, "k.i64", INT64_MIN);
    gguf_writer_set_f64(w, "k.f64", 3.5);
    gguf_writer_set_str(w, "k.empty", "");
    size_t size;
    void *data = writer_bytes(w, &size);
    gguf_writer_free(w);
    gguf_file *f = open_ok(data, size);

    cr_assert_eq(gguf_version(f), 3);
    cr_assert_eq(gguf_alignment(f), 32);
    cr_assert_eq(gguf_file_size(f), size);
    cr_assert_eq(gguf_n_kv(f), 13);
    cr_assert_eq(gguf_n_tensors(f), 0);
    const char *order[] = {"k.u8", "k.i8", "k.u16", "k.i16", "k.u32", "k.i32", "k.f32",
                           "k.bool", "k.str", "k.u64", "k.i64", "k.f64", "k.empty"};
    const gguf_value_type types[] = {GGUF_UINT8, GGUF_INT8, GGUF_UINT16, GGUF_INT16, GGUF_UINT32,
                                     GGUF_INT32, GGUF_FLOAT32, GGUF_BOOL, GGUF_STRING, GGUF_UINT64,
                                     GGUF_INT64, GGUF_FLOAT64, GGUF_STRING};
    for (int i = 0; i < 13; i++) {
        cr_assert(gguf_str_eq(gguf_key_name(f, i), order[i]), "key %d out of order", i);
        cr_assert_eq(gguf_kv_type(f, i), types[i]);
        cr_assert_eq(gguf_find_key(f, order[i]), i);
    }
    cr_assert_eq(gguf_find_key(f, "k.nope"), -1);
    cr_assert_eq(gguf_find_key(f, "k"), -1);
    cr_assert_eq(gguf_key_name(f, 13).len, 0);

    perr err = {{0}};
    int64_t i64;
    uint32_t u32;
    float f32;
    int b;
    gguf_str s;
    cr_assert_eq(gguf_get_i64(f, "k.u8", &i64, &err), 0); cr_assert_eq(i64, 200);
    cr_assert_eq(gguf_get_i64(f, "k.i8", &i64, &err), 0); cr_assert_eq(i64, -100);
    cr_assert_eq(gguf_get_i64(f, "k.u16", &i64, &err), 0); cr_assert_eq(i64, 60000);
    cr_assert_eq(gguf_get_i64(f, "k.i16", &i64, &err), 0); cr_assert_eq(i64, -30000);
    cr_assert_eq(gguf_get_u32(f, "k.u32", &u32, &err), 0); cr_assert_eq(u32, 4000000000u);
    cr_assert_eq(gguf_get_i64(f, "k.i32", &i64, &err), 0); cr_assert_eq(i64, -2000000000);
    cr_assert_eq(gguf_get_f32(f, "k.f32", &f32, &err), 0); cr_assert_eq(f32, 1.25f);
    cr_assert_eq(gguf_get_bool(f, "k.bool", &b, &err), 0); cr_assert_eq(b, 1);
    cr_assert_eq(gguf_get_str(f, "k.str", &s, &err), 0);
    cr_assert(gguf_str_eq(s, "héllo"));
    cr_assert_eq(gguf_get_i64(f, "k.i64", &i64, &err), 0); cr_assert_eq(i64, INT64_MIN);
    cr_assert_eq(gguf_get_f32(f, "k.f64", &f32, &err), 0); cr_assert_eq(f32, 3.5f);
    cr_assert_eq(gguf_get_str(f, "k.empty", &s, &err), 0);
    cr_assert_eq(s.len, 0);
    gguf_close(f);
    free(data);
}

Test(gguf, integer_getters_coerce_only_when_the_value_fits)
{
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_u8(w, "small", 42);
    gguf_writer_set_i8(w, "negative", -1);
    gguf_writer_set_u64(w, "big", 1ull << 40);
    gguf_writer_set_u64(w, "huge", UINT64_MAX);
    gguf_writer_set_i64(w, "fits", 123456);
    gguf_writer_set_f32(w, "float", 2.0f);
    size_t size;
    void *data = writer_bytes(w, &size);
    gguf_writer_free(w);
    gguf_file *f = open_ok(data, size);
    perr err = {{0}};
    uint32_t u32;
    int64_t i64;
    cr_assert_eq(gguf_get_u32(f, "small", &u32, &err), 0); cr_assert_eq(u32, 42);
    cr_assert_eq(gguf_get_u32(f, "fits", &u32, &err), 0); cr_assert_eq(u32, 123456);
    cr_assert_eq(gguf_get_i64(f, "big", &i64, &err), 0); cr_assert_eq(i64, 1ll << 40);
    cr_assert_eq(gguf_get_u32(f, "negative", &u32, &err), -1);
    cr_assert(strstr(err.msg, "'negative'") && strstr(err.msg, "-1") && strstr(err.msg, "out of range"), "%s", err.msg);
    cr_assert_eq(gguf_get_u32(f, "big", &u32, &err), -1);
    cr_assert(strstr(err.msg, "'big'") && strstr(err.msg, "1099511627776"), "%s", err.msg);
    cr_assert_eq(gguf_get_i64(f, "huge", &i64, &err), -1);
    cr_assert(strstr(err.msg, "'huge'") && strstr(err.msg, "out of range"), "%s", err.msg);
    cr_assert_eq(gguf_get_u32(f, "float", &u32, &err), -1);
    cr_assert(strstr(err.msg, "key 'float' has type float32, expected an integer"), "%s", err.msg);
    gguf_close(f);
    free(data);
}

Test(gguf, getter_errors_name_the_key_and_say_missing_or_wrong_type)
{
    size_t size;
    uint8_t *data = sample(&size);
    gguf_file *f = open_ok(data, size);
    perr err = {{0}};
    gguf_str s;
    float x;
    int b;
    gguf_value_type et;
    uint64_t n;
    cr_assert_eq(gguf_get_str(f, "llama.nope", &s, &err), -1);
    cr_assert_str_eq(err.msg, "key 'llama.nope' is missing");
    cr_assert_eq(gguf_get_str(f, "test.u32", &s, &err), -1);
    cr_assert_str_eq(err.msg, "key 'test.u32' has type uint32, expected string");
    cr_assert_eq(gguf_get_f32(f, "test.str", &x, &err), -1);
    cr_assert_str_eq(err.msg, "key 'test.str' has type string, expected float32");
    cr_assert_eq(gguf_get_bool(f, "test.words", &b, &err), -1);
    cr_assert_str_eq(err.msg, "key 'test.words' has type array, expected bool");
    cr_assert_eq(gguf_get_arr(f, "test.f32", &et, &n, &err), -1);
    cr_assert_str_eq(err.msg, "key 'test.f32' has type float32, expected array");
    gguf_close(f);
    free(data);
}

Test(gguf, round_trip_arrays_of_every_fixed_type_and_strings)
{
    gguf_writer *w = gguf_writer_new();
    const char *words[] = {"", "one", "two three"};
    const float fl[] = {0.5f, -1.5f, 1e30f};
    const int32_t in[] = {INT32_MIN, 0, INT32_MAX};
    const uint8_t u8[] = {0, 255};
    const int16_t i16[] = {-32768, 32767};
    const uint64_t u64[] = {1ull << 63, 5};
    const double f64[] = {0.25, -8.0};
    const uint8_t bools[] = {1, 0, 1};
    gguf_writer_set_arr_str(w, "a.str", words, 3);
    gguf_writer_set_arr_f32(w, "a.f32", fl, 3);
    gguf_writer_set_arr_i32(w, "a.i32", in, 3);
    gguf_writer_set_arr(w, "a.u8", GGUF_UINT8, u8, 2);
    gguf_writer_set_arr(w, "a.i16", GGUF_INT16, i16, 2);
    gguf_writer_set_arr(w, "a.u64", GGUF_UINT64, u64, 2);
    gguf_writer_set_arr(w, "a.f64", GGUF_FLOAT64, f64, 2);
    gguf_writer_set_arr(w, "a.bool", GGUF_BOOL, bools, 3);
    gguf_writer_set_arr(w, "a.empty", GGUF_INT32, NULL, 0);
    size_t size;
    void *data = writer_bytes(w, &size);
    gguf_writer_free(w);
    gguf_file *f = open_ok(data, size);
    perr err = {{0}};
    gguf_value_type et;
    uint64_t n;

    cr_assert_eq(gguf_get_arr(f, "a.str", &et, &n, &err), 0);
    cr_assert_eq(et, GGUF_STRING); cr_assert_eq(n, 3);
    for (int i = 0; i < 3; i++)
        cr_assert(gguf_str_eq(gguf_arr_str(f, "a.str", i), words[i]));
    cr_assert_eq(gguf_arr_str(f, "a.str", 3).len, 0);
    cr_assert_eq(gguf_arr_str(f, "a.f32", 0).len, 0, "not a string array");

    cr_assert_eq(gguf_get_arr(f, "a.f32", &et, &n, &err), 0);
    cr_assert_eq(et, GGUF_FLOAT32); cr_assert_eq(n, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(gguf_arr_f32(f, "a.f32", i), fl[i]);
    cr_assert_eq(gguf_arr_f32(f, "a.f64", 1), -8.0f);

    cr_assert_eq(gguf_get_arr(f, "a.i32", &et, &n, &err), 0);
    cr_assert_eq(et, GGUF_INT32);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(gguf_arr_int(f, "a.i32", i), in[i]);
    cr_assert_eq(gguf_arr_int(f, "a.u8", 1), 255);
    cr_assert_eq(gguf_arr_int(f, "a.i16", 0), -32768);
    cr_assert_eq(gguf_arr_int(f, "a.u64", 1), 5);
    cr_assert_eq(gguf_arr_int(f, "a.bool", 2), 1);
    cr_assert_eq(gguf_arr_int(f, "a.bool", 1), 0);
    cr_assert_eq(gguf_arr_int(f, "a.i32", 3), 0, "out of range");
    cr_assert_eq(gguf_arr_int(f, "a.str", 0), 0, "not an integer array");
    cr_assert_eq(gguf_get_arr(f, "a.empty", &et, &n, &err), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(gguf_get_arr(f, "a.u64", &et, &n, &err), 0);
    cr_assert_eq(et, GGUF_UINT64);
    gguf_close(f);
    free(data);
}

Test(gguf, setting_an_existing_key_replaces_it_in_place)
{
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_u32(w, "a", 1);
    gguf_writer_set_str(w, "b", "x");
    gguf_writer_set_str(w, "a", "now a string");
    size_t size;
    void *data = writer_bytes(w, &size);
    gguf_writer_free(w);
    gguf_file *f = open_ok(data, size);
    cr_assert_eq(gguf_n_kv(f), 2);
    cr_assert(gguf_str_eq(gguf_key_name(f, 0), "a"));
    cr_assert(gguf_str_eq(gguf_key_name(f, 1), "b"));
    gguf_str s;
    perr err = {{0}};
    cr_assert_eq(gguf_get_str(f, "a", &s, &err), 0);
    cr_assert(gguf_str_eq(s, "now a string"));
    gguf_close(f);
    free(data);
}

/* Hand-built metadata: kv "nested" = array of arrays (of u8, and of strings). */
static size_t nested_file(uint8_t *buf, int depth)
{
    size_t p = 0;
#define U32(v) (put_u32(buf, p, (v)), p += 4)
#define U64(v) (put_u64(buf, p, (v)), p += 8)
    memcpy(buf, "GGUF", 4); p = 4;
    U32(3); U64(0); U64(1);
    U64(6); memcpy(buf + p, "nested", 6); p += 6;
    U32(GGUF_ARRAY);
    for (int d = 1; d < depth; d++) { U32(GGUF_ARRAY); U64(1); }
    U32(GGUF_ARRAY); U64(2);
    U32(GGUF_UINT8); U64(3); buf[p++] = 1; buf[p++] = 2; buf[p++] = 3;
    U32(GGUF_STRING); U64(1); U64(2); memcpy(buf + p, "hi", 2); p += 2;
#undef U32
#undef U64
    return p;
}

Test(gguf, nested_arrays_are_accepted_but_bounded)
{
    uint8_t buf[1024];
    size_t size = nested_file(buf, 1);
    gguf_file *f = open_ok(buf, size);
    gguf_value_type et;
    uint64_t n;
    perr err = {{0}};
    cr_assert_eq(gguf_get_arr(f, "nested", &et, &n, &err), 0);
    cr_assert_eq(et, GGUF_ARRAY);
    cr_assert_eq(n, 2);
    cr_assert_eq(gguf_arr_int(f, "nested", 0), 0);
    gguf_close(f);

    size = nested_file(buf, 7);
    f = open_ok(buf, size);
    gguf_close(f);
    size = nested_file(buf, 20);
    open_fails(buf, size, "key 'nested'", "nested deeper than");
}

Test(gguf, round_trip_tensors_are_aligned_and_found_by_name)
{
    gguf_writer *w = gguf_writer_new();
    perr err = {{0}};
    char name[64];
    float row[3 * 32];
    for (int i = 0; i < 96; i++)
        row[i] = (float)i;
    for (int i = 0; i < 300; i++) {
        int64_t ne[] = {1 + i % 7, 1 + i % 3};
        snprintf(name, sizeof name, "blk.%d.weight", i);
        row[0] = (float)i;
        cr_assert_eq(gguf_writer_add_tensor(w, name, TT_F32, 2, ne, row,
                                            (size_t)(ne[0] * ne[1]) * 4, &err), 0, "%s", err.msg);
    }
    size_t size;
    void *data = writer_bytes(w, &size);
    gguf_writer_free(w);
    gguf_file *f = open_ok(data, size);
    cr_assert_eq(gguf_n_tensors(f), 300);
    for (int i = 299; i >= 0; i--) {
        snprintf(name, sizeof name, "blk.%d.weight", i);
        const gguf_tensor *t = gguf_find_tensor(f, name);
        cr_assert(t, "tensor %s not found", name);
        cr_assert_eq(t, gguf_tensor_at(f, i));
        cr_assert_eq(gguf_tensor_index(f, t), i);
        cr_assert(gguf_str_eq(t->name, name));
        cr_assert_eq(t->n_dims, 2);
        cr_assert_eq(t->ne[0], 1 + i % 7);
        cr_assert_eq(t->ne[1], 1 + i % 3);
        cr_assert_eq(t->ne[2], 1);
        cr_assert_eq(t->ne[3], 1);
        cr_assert_eq(t->type, TT_F32);
        cr_assert_eq(t->offset % 32, 0);
        cr_assert_eq(t->nbytes, (size_t)(t->ne[0] * t->ne[1]) * 4);
        cr_assert_eq(((const uint8_t *)t->data - (const uint8_t *)data) % 32, 0);
        cr_assert_eq(((const float *)t->data)[0], (float)i);
        cr_assert_eq(memcmp((const float *)t->data + 1, row + 1, t->nbytes - 4), 0);
    }
    cr_assert_null(gguf_find_tensor(f, "blk.300.weight"));
    cr_assert_null(gguf_find_tensor(f, "blk.1.weigh"));
    cr_assert_null(gguf_find_tensor(f, ""));
    cr_assert_null(gguf_tensor_at(f, 300));
    cr_assert_null(gguf_tensor_at(f, -1));
    const gguf_tensor outside = *gguf_tensor_at(f, 0);
    cr_assert_eq(gguf_tensor_index(f, &outside), -1);
    cr_assert_eq(gguf_tensor_index(f, (const gguf_tensor *)((const char *)gguf_tensor_at(f, 1) + 1)), -1);
    gguf_close(f);
    free(data);
}

Test(gguf, writer_honours_a_larger_alignment)
{
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_u32(w, "general.alignment", 256);
    perr err = {{0}};
    int64_t ne[] = {3};
    cr_assert_eq(gguf_writer_add_tensor(w, "a", TT_F32, 1, ne, f32_data, 12, &err), 0);
    cr_assert_eq(gguf_writer_add_tensor(w, "b", TT_F32, 1, ne, f32_data, 12, &err), 0);
    size_t size;
    void *data = writer_bytes(w, &size);
    gguf_writer_free(w);
    gguf_file *f = open_ok(data, size);
    cr_assert_eq(gguf_alignment(f), 256);
    cr_assert_eq(gguf_find_tensor(f, "b")->offset, 256);
    cr_assert_eq(((const uint8_t *)gguf_tensor_at(f, 0)->data - (const uint8_t *)data) % 256, 0);
    gguf_close(f);
    free(data);
}

Test(gguf, writer_rejects_bad_tensors)
{
    gguf_writer *w = gguf_writer_new();
    perr err = {{0}};
    int64_t ne[] = {64, 2, 1, 1, 1};
    uint8_t buf[256] = {0};
    cr_assert_eq(gguf_writer_add_tensor(w, "t", TT_F32, 1, ne, buf, 255, &err), -1);
    cr_assert(strstr(err.msg, "'t'") && strstr(err.msg, "256"), "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor(w, "t", TT_F32, 1, ne, buf, 256, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor(w, "t", TT_F32, 1, ne, buf, 256, &err), -1);
    cr_assert(strstr(err.msg, "duplicate tensor name 't'"), "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor(w, "u", TT_F32, 0, ne, buf, 0, &err), -1);
    cr_assert(strstr(err.msg, "n_dims 0"), "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor(w, "u", TT_F32, 5, ne, buf, 0, &err), -1);
    cr_assert(strstr(err.msg, "n_dims 5"), "%s", err.msg);
    int64_t odd[] = {48};
    cr_assert_eq(gguf_writer_add_tensor(w, "u", TT_Q4_0, 1, odd, buf, 27, &err), -1);
    cr_assert(strstr(err.msg, "not a multiple of the q4_0 block size 32"), "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor(w, "u", (tensor_type)16, 1, ne, buf, 64, &err), -1);
    cr_assert(strstr(err.msg, "16") && strstr(err.msg, "not supported"), "%s", err.msg);
    gguf_writer_free(w);
}

Test(gguf, write_file_then_open_and_copy_kv)
{
    size_t size;
    uint8_t *data = sample(&size);
    gguf_file *src = open_ok(data, size);
    gguf_writer *w = gguf_writer_new();
    gguf_writer_copy_kv(w, src);
    gguf_writer_set_str(w, "general.name", "copy");
    char path[512];
    snprintf(path, sizeof path, "%s/copy.gguf", test_tmpdir());
    perr err = {{0}};
    cr_assert_eq(gguf_writer_write_file(w, path, &err), 0, "%s", err.msg);
    gguf_writer_free(w);

    gguf_file *f;
    cr_assert_eq(gguf_open(&f, path, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_n_kv(f), gguf_n_kv(src) + 1);
    cr_assert_eq(gguf_n_tensors(f), 0);
    for (int64_t i = 0; i < gguf_n_kv(src); i++) {
        gguf_str k = gguf_key_name(src, i), k2 = gguf_key_name(f, i);
        cr_assert(k.len == k2.len && memcmp(k.ptr, k2.ptr, k.len) == 0);
        cr_assert_eq(gguf_kv_type(f, i), gguf_kv_type(src, i));
    }
    cr_assert(gguf_str_eq(gguf_arr_str(f, "test.words", 2), "gamma"));
    cr_assert_eq(gguf_arr_int(f, "test.ints", 1), -2);
    gguf_str s;
    cr_assert_eq(gguf_get_str(f, "general.name", &s, &err), 0);
    cr_assert(gguf_str_eq(s, "copy"));
    gguf_close(f);
    gguf_close(src);
    free(data);
}

/* Streaming: fills tensor `index` with bytes index*16 + position; fails at fail_at. */
typedef struct stream_src {
    size_t calls[8];
    size_t n_calls;
    size_t fail_at;
} stream_src;

static int fill_pattern(void *user, size_t index, void *dst, size_t nbytes, perr *err)
{
    stream_src *s = user;
    s->calls[s->n_calls++] = index;
    if (index == s->fail_at)
        return perr_set(err, "source exhausted");
    for (size_t i = 0; i < nbytes; i++)
        ((uint8_t *)dst)[i] = (uint8_t)(index * 16 + i);
    return 0;
}

static gguf_writer *streaming_writer(void)
{
    gguf_writer *w = gguf_writer_new();
    perr err = {{0}};
    int64_t ne_a[] = {8}, ne_b[] = {32, 3}, ne_c[] = {5};
    cr_assert_eq(gguf_writer_add_tensor_info(w, "a", TT_F32, 1, ne_a, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor(w, "copied", TT_F32, 1, ne_a, f32_data, 32, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor_info(w, "b", TT_Q8_0, 2, ne_b, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor_info(w, "c", TT_F16, 1, ne_c, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor_info(w, "b", TT_F32, 1, ne_a, &err), -1);
    cr_assert(strstr(err.msg, "duplicate tensor name 'b'"), "%s", err.msg);
    return w;
}

Test(gguf, streamed_tensors_are_produced_in_order_at_write_time)
{
    gguf_writer *w = streaming_writer();
    char path[512];
    snprintf(path, sizeof path, "%s/stream.gguf", test_tmpdir());
    stream_src src = {.fail_at = 99};
    perr err = {{0}};
    cr_assert_eq(gguf_writer_write_file_stream(w, path, fill_pattern, &src, &err), 0, "%s", err.msg);
    cr_assert_eq(src.n_calls, 3);
    cr_assert(src.calls[0] == 0 && src.calls[1] == 2 && src.calls[2] == 3);

    gguf_file *f;
    cr_assert_eq(gguf_open(&f, path, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_n_tensors(f), 4);
    const gguf_tensor *b = gguf_find_tensor(f, "b");
    cr_assert(b && b->type == TT_Q8_0 && b->nbytes == 3 * 34 && b->ne[1] == 3);
    for (size_t i = 0; i < b->nbytes; i++)
        cr_assert_eq(((const uint8_t *)b->data)[i], (uint8_t)(2 * 16 + i));
    const gguf_tensor *c = gguf_find_tensor(f, "c");
    cr_assert(c && c->nbytes == 10 && ((const uint8_t *)c->data)[9] == 3 * 16 + 9);
    cr_assert_eq(memcmp(gguf_find_tensor(f, "copied")->data, f32_data, 32), 0);
    cr_assert_eq(((const uint8_t *)gguf_find_tensor(f, "a")->data)[31], 31);
    gguf_close(f);
    gguf_writer_free(w);
}

Test(gguf, streaming_failures_leave_no_file)
{
    gguf_writer *w = streaming_writer();
    char path[512], tmp[600];
    snprintf(path, sizeof path, "%s/fail.gguf", test_tmpdir());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    stream_src src = {.fail_at = 2};
    perr err = {{0}};
    cr_assert_eq(gguf_writer_write_file_stream(w, path, fill_pattern, &src, &err), -1);
    cr_assert(strstr(err.msg, "tensor 'b': source exhausted"), "%s", err.msg);
    cr_assert_eq(src.n_calls, 2, "writing went on after the failure");
    struct stat st;
    cr_assert(stat(path, &st) != 0 && stat(tmp, &st) != 0, "a partial file was left");

    /* Without a data source (plain write, memory write) streamed tensors are an error. */
    cr_assert_eq(gguf_writer_write_file(w, path, &err), -1);
    cr_assert(strstr(err.msg, "streaming"), "%s", err.msg);
    void *data = (void *)1;
    size_t size;
    cr_assert_eq(gguf_writer_write_memory(w, &data, &size, &err), -1);
    cr_assert_null(data);
    cr_assert(stat(path, &st) != 0);
    gguf_writer_free(w);
}

Test(gguf, copy_kv_prefix_copies_only_matching_keys)
{
    size_t size;
    uint8_t *data = sample(&size);
    gguf_file *src = open_ok(data, size);
    gguf_writer *w = gguf_writer_new();
    gguf_writer_copy_kv_prefix(w, src, "test.");
    size_t out_size;
    uint8_t *out = writer_bytes(w, &out_size);
    gguf_file *f = open_ok(out, out_size);
    int64_t n_test = 0;
    for (int64_t i = 0; i < gguf_n_kv(src); i++)
        n_test += strncmp(gguf_key_name(src, i).ptr, "test.", 5) == 0;
    cr_assert_gt(n_test, 2);
    cr_assert_eq(gguf_n_kv(f), n_test);
    cr_assert_eq(gguf_find_key(f, "general.architecture"), -1);
    cr_assert(gguf_str_eq(gguf_arr_str(f, "test.words", 2), "gamma"));
    gguf_close(f);
    gguf_close(src);
    gguf_writer_free(w);
    free(out);
    free(data);
}

Test(gguf, open_reports_missing_empty_and_non_regular_files)
{
    gguf_file *f;
    perr err = {{0}};
    char path[512];
    snprintf(path, sizeof path, "%s/none.gguf", test_tmpdir());
    cr_assert_eq(gguf_open(&f, path, &err), -1);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "No such file"), "%s", err.msg);
    cr_assert_eq(gguf_open(&f, test_tmpdir(), &err), -1);
    cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/fifo.gguf", test_tmpdir());
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    cr_assert_eq(gguf_open(&f, fifo, &err), -1); /* must not block waiting for a writer */
    cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp);
    fclose(fp);
    cr_assert_eq(gguf_open(&f, path, &err), -1);
    cr_assert(strstr(err.msg, "empty"), "%s", err.msg);
    fp = fopen(path, "wb");
    fputs("GGML junk that is long enough to be a header", fp);
    fclose(fp);
    cr_assert_eq(gguf_open(&f, path, &err), -1);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "bad magic"), "%s", err.msg);
}

/* ------------------------------------------------------------------------ */
/* Hostile files                                                            */

Test(gguf, every_truncation_fails_cleanly)
{
    size_t size;
    uint8_t *data = sample(&size);
    gguf_file *f = open_ok(data, size);
    size_t needed = 0; /* end of the last tensor's data */
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        size_t end = (size_t)((const uint8_t *)t->data - data) + t->nbytes;
        if (end > needed)
            needed = end;
    }
    gguf_close(f);
    cr_assert(needed > 0 && needed <= size);
    for (size_t len = 0; len < size; len++) {
        /* A private copy so ASan catches any read past len. */
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, data, len);
        perr err = {{0}};
        int rc = gguf_open_memory(&f, cut, len, &err);
        if (len >= needed) {
            cr_assert_eq(rc, 0, "prefix %zu of %zu (needed %zu): %s", len, size, needed, err.msg);
            gguf_close(f);
        } else {
            cr_assert_eq(rc, -1, "prefix %zu of %zu was accepted", len, size);
            cr_assert(err.msg[0], "no message for prefix %zu", len);
        }
        free(cut);
    }
    free(data);
}

Test(gguf, bad_magic_and_versions)
{
    size_t size;
    uint8_t *data = sample(&size);
    data[0] = 'X';
    open_fails(data, size, "bad magic", NULL);
    data[0] = 'G';
    put_u32(data, 4, 1);
    open_fails(data, size, "version 1 is not supported", NULL);
    put_u32(data, 4, 4);
    open_fails(data, size, "unsupported GGUF version 4", NULL);
    put_u32(data, 4, 0x03000000u);
    open_fails(data, size, "big-endian", NULL);
    put_u32(data, 4, 2);
    gguf_file *f = open_ok(data, size);
    cr_assert_eq(gguf_version(f), 2);
    gguf_close(f);
    free(data);
}

Test(gguf, absurd_counts_are_rejected_before_allocating)
{
    size_t size;
    uint8_t *data = sample(&size);
    put_u64(data, 16, 1ull << 60);
    open_fails(data, size, "key/value count 1152921504606846976", "impossible");
    put_u64(data, 16, 7);
    put_u64(data, 8, 1ull << 60);
    open_fails(data, size, "tensor count 1152921504606846976", "impossible");
    put_u64(data, 8, 1000);
    open_fails(data, size, "tensor count 1000", NULL);
    free(data);
}

Test(gguf, absurd_string_lengths)
{
    size_t size;
    uint8_t *data = sample(&size);
    put_u64(data, 24, 1ull << 60); /* length of the first key */
    open_fails(data, size, "key #0", "string length 1152921504606846976");
    free(data);

    data = sample(&size);
    size_t p = after_str(data, size, "test.str");
    put_u64(data, p + 4, size); /* the value "hello" */
    open_fails(data, size, "key 'test.str'", "exceeds the");
    free(data);

    data = sample(&size);
    p = after_str(data, size, "blk.0.q8");
    put_u64(data, p - 8 - 8, 1ull << 62);
    open_fails(data, size, "tensor #1", "string length");
    free(data);
}

Test(gguf, absurd_array_counts)
{
    size_t size;
    uint8_t *data = sample(&size);
    size_t p = after_str(data, size, "test.ints");
    put_u64(data, p + 8, 1ull << 60);
    open_fails(data, size, "key 'test.ints'", "array of 1152921504606846976 int32 elements");
    free(data);

    data = sample(&size);
    p = after_str(data, size, "test.words");
    put_u64(data, p + 8, 1ull << 60);
    open_fails(data, size, "key 'test.words'", "array of 1152921504606846976 string");
    free(data);

    data = sample(&size);
    p = after_str(data, size, "test.words");
    put_u64(data, p + 8, 4); /* one string more: the next key is eaten, parsing derails */
    open_fails(data, size, NULL, NULL);
    free(data);
}

Test(gguf, unknown_value_types_name_the_key)
{
    size_t size;
    uint8_t *data = sample(&size);
    size_t p = after_str(data, size, "test.u32");
    put_u32(data, p, 13);
    open_fails(data, size, "key 'test.u32': unknown value type 13", NULL);
    free(data);

    data = sample(&size);
    p = after_str(data, size, "test.ints");
    put_u32(data, p + 4, 0xdeadbeef);
    open_fails(data, size, "key 'test.ints'", "unknown array element type 3735928559");
    free(data);
}

Test(gguf, duplicate_keys_and_tensor_names)
{
    size_t size;
    uint8_t *data = sample(&size);
    size_t p = after_str(data, size, "test.str");
    memcpy(data + p - 3, "u32", 3); /* "test.str" -> "test.u32" */
    open_fails(data, size, "duplicate key 'test.u32'", NULL);
    free(data);

    data = sample(&size);
    p = after_str(data, size, "blk.0.q8");
    memcpy(data + p - 8, "tok.weig", 8); /* same length as "blk.0.q8" */
    gguf_file *f = open_ok(data, size);  /* "tok.weig" != "tok.weight" */
    gguf_close(f);
    free(data);

    gguf_writer *w = gguf_writer_new();
    perr err = {{0}};
    int64_t ne[] = {4};
    cr_assert_eq(gguf_writer_add_tensor(w, "w.aaa", TT_F32, 1, ne, f32_data, 16, &err), 0);
    cr_assert_eq(gguf_writer_add_tensor(w, "w.bbb", TT_F32, 1, ne, f32_data, 16, &err), 0);
    data = writer_bytes(w, &size);
    gguf_writer_free(w);
    p = after_str(data, size, "w.bbb");
    memcpy(data + p - 3, "aaa", 3);
    open_fails(data, size, "duplicate tensor name 'w.aaa'", NULL);
    free(data);
}

Test(gguf, key_with_nul_byte)
{
    size_t size;
    uint8_t *data = sample(&size);
    size_t p = after_str(data, size, "test.str");
    data[p - 4] = '\0';
    open_fails(data, size, "NUL", "test\\x00str");
    free(data);
}

Test(gguf, alignment_must_be_a_nonzero_power_of_two)
{
    size_t size;
    uint8_t *data = sample(&size);
    size_t p = after_str(data, size, "general.alignment");
    put_u32(data, p + 4, 0);
    open_fails(data, size, "general.alignment", "alignment 0 is not a nonzero power of two");
    put_u32(data, p + 4, 3);
    open_fails(data, size, "general.alignment", "alignment 3 is not");
    put_u32(data, p, GGUF_STRING);
    open_fails(data, size, "general.alignment", NULL);
    put_u32(data, p, GGUF_INT32); /* 3 as int32: still rejected */
    open_fails(data, size, "alignment 3", NULL);
    put_u32(data, p + 4, 16); /* offsets are multiples of 32, so 16 is fine too */
    gguf_file *f = open_ok(data, size);
    cr_assert_eq(gguf_alignment(f), 16);
    gguf_close(f);
    free(data);
}

Test(gguf, unknown_and_unsupported_tensor_types)
{
    size_t size;
    uint8_t *data = sample(&size);
    tensor_pos t = find_tensor_info(data, size, "blk.0.q8");
    put_u32(data, t.type, 99);
    open_fails(data, size, "tensor 'blk.0.q8'", "unknown tensor type 99");
    put_u32(data, t.type, 16);
    open_fails(data, size, "tensor 'blk.0.q8'", "tensor type 16 (iq2_xxs) is not supported");
    put_u32(data, t.type, 0xffffffffu);
    open_fails(data, size, "tensor 'blk.0.q8'", "4294967295");
    free(data);
}

Test(gguf, bad_n_dims)
{
    size_t size;
    uint8_t *data = sample(&size);
    tensor_pos t = find_tensor_info(data, size, "tok.weight");
    put_u32(data, t.n_dims, 0);
    open_fails(data, size, "tensor 'tok.weight'", "n_dims 0 out of range 1..4");
    put_u32(data, t.n_dims, 5);
    open_fails(data, size, "tensor 'tok.weight'", "n_dims 5 out of range");
    free(data);
}

Test(gguf, zero_dimension_and_shape_overflow)
{
    size_t size;
    uint8_t *data = sample(&size);
    tensor_pos t = find_tensor_info(data, size, "tok.weight");
    put_u64(data, t.ne + 8, 0);
    open_fails(data, size, "tensor 'tok.weight'", "dimension 1 is 0");
    put_u64(data, t.ne, 1ull << 32);
    put_u64(data, t.ne + 8, 1ull << 32);
    open_fails(data, size, "tensor 'tok.weight'", "shape overflows");
    put_u64(data, t.ne, 1ull << 62);
    put_u64(data, t.ne + 8, 1);
    open_fails(data, size, "tensor 'tok.weight'", "data size overflows");
    put_u64(data, t.ne, 1ull << 63);
    open_fails(data, size, "tensor 'tok.weight'", "too large");
    free(data);
}

Test(gguf, row_length_must_be_a_multiple_of_the_block)
{
    size_t size;
    uint8_t *data = sample(&size);
    tensor_pos t = find_tensor_info(data, size, "blk.0.q8");
    put_u64(data, t.ne, 48);
    open_fails(data, size, "tensor 'blk.0.q8'", "row length 48 is not a multiple of the q8_0 block size 32");
    free(data);
}

Test(gguf, offsets_misaligned_past_end_or_overlapping)
{
    size_t size;
    uint8_t *data = sample(&size);
    tensor_pos t = find_tensor_info(data, size, "blk.0.half");
    uint64_t off;
    memcpy(&off, data + t.offset, 8);
    put_u64(data, t.offset, off + 1);
    open_fails(data, size, "tensor 'blk.0.half'", "offset");
    open_fails(data, size, "is not a multiple of the alignment 32", NULL);

    put_u64(data, t.offset, off + 4096);
    char want[128];
    open_fails(data, size, "tensor 'blk.0.half': data [", "extends past end of file");
    snprintf(want, sizeof want, "(%zu bytes)", size);
    open_fails(data, size, want, NULL);

    put_u64(data, t.offset, UINT64_MAX - 31);
    open_fails(data, size, "tensor 'blk.0.half'", "overflows");

    put_u64(data, t.offset, 64); /* blk.0.q8 is at [64, 200) */
    open_fails(data, size, "overlaps tensor 'blk.0.q8'", "blk.0.half");
    free(data);
}

/* ------------------------------------------------------------------------ */
/* Real model files                                                         */

static const char *const model_files[] = {
    "stories260K.gguf", "llama-2-tiny-random.gguf", "synth-d256-f16.gguf",
    "synth-d256-q4_0.gguf", "synth-d256-q4_k_m.gguf", "synth-d256-q5_k_m.gguf",
    "synth-d256-q6_k.gguf", "synth-d256-q8_0.gguf",
};

static gguf_file *open_model(const char *name)
{
    char *path = test_model_path(name);
    gguf_file *f;
    perr err = {{0}};
    cr_assert_eq(gguf_open(&f, path, &err), 0, "%s", err.msg);
    free(path);
    return f;
}

Test(gguf, every_shared_model_opens_and_is_consistent)
{
    for (size_t m = 0; m < sizeof model_files / sizeof model_files[0]; m++) {
        gguf_file *f = open_model(model_files[m]);
        gguf_str arch;
        perr err = {{0}};
        cr_assert_eq(gguf_get_str(f, "general.architecture", &arch, &err), 0, "%s", err.msg);
        cr_assert(gguf_str_eq(arch, "llama"), "%s", model_files[m]);
        cr_assert_gt(gguf_n_tensors(f), 0);
        for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
            const gguf_tensor *t = gguf_tensor_at(f, i);
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
            cr_assert_eq(gguf_find_tensor(f, name), t);
            cr_assert_eq((uintptr_t)t->data % gguf_alignment(f), 0);
        }
        gguf_close(f);
    }
    /* Also any other GGUF dropped into the directory. */
    const char *dir = getenv("PRECIS_TEST_MODELS");
    DIR *d = dir ? opendir(dir) : NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".gguf") == 0)
            gguf_close(open_model(e->d_name));
    }
    if (d)
        closedir(d);
}

Test(gguf, stories260k_known_facts)
{
    gguf_file *f = open_model("stories260K.gguf");
    perr err = {{0}};
    uint32_t u;
    cr_assert_eq(gguf_get_u32(f, "llama.embedding_length", &u, &err), 0, "%s", err.msg);
    cr_assert_eq(u, 64);
    cr_assert_eq(gguf_get_u32(f, "llama.block_count", &u, &err), 0, "%s", err.msg);
    cr_assert_eq(u, 5);
    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    cr_assert(t);
    cr_assert_eq(t->type, TT_F32);
    cr_assert_eq(t->n_dims, 2);
    cr_assert_eq(t->ne[0], 64);
    cr_assert_eq(t->ne[1], 512);
    cr_assert_eq(t->nbytes, 64 * 512 * 4);
    float x = ((const float *)t->data)[0];
    cr_assert(isfinite(x));
    gguf_close(f);
}

Test(gguf, llama2_tiny_random_has_the_full_vocabulary)
{
    gguf_file *f = open_model("llama-2-tiny-random.gguf");
    perr err = {{0}};
    gguf_value_type et;
    uint64_t n;
    cr_assert_eq(gguf_get_arr(f, "tokenizer.ggml.tokens", &et, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(et, GGUF_STRING);
    cr_assert_eq(n, 32000);
    cr_assert(gguf_str_eq(gguf_arr_str(f, "tokenizer.ggml.tokens", 1), "<s>"));
    cr_assert(gguf_str_eq(gguf_arr_str(f, "tokenizer.ggml.tokens", 2), "</s>"));
    cr_assert_eq(gguf_arr_str(f, "tokenizer.ggml.tokens", 32000).len, 0);
    cr_assert_eq(gguf_get_arr(f, "tokenizer.ggml.scores", &et, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(et, GGUF_FLOAT32);
    cr_assert_eq(n, 32000);
    gguf_close(f);
}

Test(gguf, q4_k_m_mixes_q4_k_and_q6_k)
{
    gguf_file *f = open_model("synth-d256-q4_k_m.gguf");
    int q4k = 0, q6k = 0;
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        q4k += gguf_tensor_at(f, i)->type == TT_Q4_K;
        q6k += gguf_tensor_at(f, i)->type == TT_Q6_K;
    }
    cr_assert_gt(q4k, 0);
    cr_assert_gt(q6k, 0);
    gguf_close(f);
}

/* VmRSS of this process in kB. */
static long rss_kb(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    cr_assert(fp);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(fp);
    cr_assert_gt(kb, 0);
    return kb;
}

Test(gguf, opening_reads_metadata_only_not_weights)
{
    char *path = test_model_path("synth-d256-f16.gguf");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    long before = rss_kb();
    gguf_file *f;
    perr err = {{0}};
    cr_assert_eq(gguf_open(&f, path, &err), 0, "%s", err.msg);
    long after = rss_kb();
    cr_log_info("gguf: RSS growth opening %s (%lld bytes): %ld kB", path,
                (long long)st.st_size, after - before);
    cr_assert_lt(after - before, 4 * 1024, "RSS grew by %ld kB", after - before);
    gguf_close(f);
    free(path);
}

/* The fuzz seeds come from an independent Python encoder
 * (tests/fuzz/gen_gguf_seeds.py): all of them must open. */
Test(gguf, python_written_seed_files_open)
{
    const char *dir = "tests/fuzz/seeds/gguf";
    DIR *d = opendir(dir);
    if (!d)
        cr_skip_test("%s not found (run the tests from the repository root)", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        gguf_file *f;
        perr err = {{0}};
        cr_assert_eq(gguf_open(&f, path, &err), 0, "%s", err.msg);
        if (strcmp(e->d_name, "v2_small_model.gguf") == 0) {
            cr_assert_eq(gguf_version(f), 2);
            cr_assert(gguf_str_eq(gguf_arr_str(f, "tokenizer.ggml.tokens", 2), "</s>"));
            cr_assert_eq(gguf_find_tensor(f, "blk.0.ffn_up.weight")->type, TT_Q6_K);
        }
        gguf_close(f);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 4);
}

Test(gguf, tensor_data_misaligned_for_kernels_is_rejected)
{
    /* general.alignment 2 lets two 1-element F16 tensors sit 2 bytes apart:
     * one of them necessarily starts off a 4-byte boundary. */
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_u32(w, "general.alignment", 2);
    const uint16_t h = 0x3c00;
    const int64_t ne[1] = {1};
    perr err;
    cr_assert_eq(gguf_writer_add_tensor(w, "a", TT_F16, 1, ne, &h, 2, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_writer_add_tensor(w, "b", TT_F16, 1, ne, &h, 2, &err), 0, "%s", err.msg);
    size_t size;
    uint8_t *data = writer_bytes(w, &size);
    gguf_writer_free(w);
    open_fails(data, size, "is not 4-byte aligned", NULL);
    free(data);
}
