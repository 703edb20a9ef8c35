/* fuzz_gguf.c — libFuzzer target for the GGUF reader and writer.
 *
 * Opens the input with gguf_open_memory(); when it is accepted, walks every
 * key, value, array element and tensor through the public accessors (reading
 * every byte they hand out, so ASan sees any over-read), then copies the whole
 * file through the writer and requires the result to open again with the same
 * contents (any disagreement between reader and writer aborts).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf/gguf.h"

/* Read every byte (through a volatile, so the loads cannot be dropped). */
static void touch(const void *p, uint64_t n)
{
    const uint8_t *b = p;
    volatile uint8_t x = 0;
    for (uint64_t i = 0; i < n; i++)
        x ^= b[i];
    (void)x;
}

static char *cstr(gguf_str s)
{
    char *c = malloc((size_t)s.len + 1);
    if (!c)
        abort();
    memcpy(c, s.ptr, (size_t)s.len);
    c[s.len] = '\0';
    return c;
}

static void walk_array(const gguf_file *f, const char *key)
{
    gguf_value_type et;
    uint64_t n;
    if (gguf_get_arr(f, key, &et, &n, NULL) != 0)
        abort(); /* the kv said it is an array */
    for (uint64_t i = 0; i <= n; i++) { /* one past the end on purpose */
        gguf_str s = gguf_arr_str(f, key, i);
        touch(s.ptr, s.len);
        float x = gguf_arr_f32(f, key, i);
        int64_t v = gguf_arr_int(f, key, i);
        touch(&x, sizeof x);
        touch(&v, sizeof v);
    }
}

static void walk_kv(const gguf_file *f, int64_t i)
{
    gguf_str name = gguf_key_name(f, i);
    touch(name.ptr, name.len);
    char *key = cstr(name);
    if (gguf_find_key(f, key) != i)
        abort(); /* keys hold no NUL and are unique */
    uint32_t u32;
    int64_t i64;
    float f32;
    int b;
    gguf_str s;
    perr err;
    if (gguf_get_u32(f, key, &u32, &err) == 0)
        touch(&u32, sizeof u32);
    if (gguf_get_i64(f, key, &i64, &err) == 0)
        touch(&i64, sizeof i64);
    if (gguf_get_f32(f, key, &f32, &err) == 0)
        touch(&f32, sizeof f32);
    if (gguf_get_bool(f, key, &b, &err) == 0)
        touch(&b, sizeof b);
    if (gguf_get_str(f, key, &s, &err) == 0)
        touch(s.ptr, s.len);
    if (gguf_kv_type(f, i) == GGUF_ARRAY)
        walk_array(f, key);
    free(key);
}

static void walk_tensor(const gguf_file *f, int64_t i)
{
    const gguf_tensor *t = gguf_tensor_at(f, i);
    touch(t->name.ptr, t->name.len);
    touch(t->data, t->nbytes);
    char *name = cstr(t->name);
    if (gguf_find_tensor(f, name) != t)
        abort();
    free(name);
}

/* Copy everything through the writer; the copy must open with equal content. */
static void round_trip(const gguf_file *f)
{
    if (gguf_alignment(f) > 4096)
        return; /* legal, but padding every tensor that far is just slow */
    gguf_writer *w = gguf_writer_new();
    gguf_writer_copy_kv(w, f);
    perr err;
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char *name = cstr(t->name);
        if (gguf_writer_add_tensor(w, name, t->type, t->n_dims, t->ne, t->data, t->nbytes, &err))
            abort();
        free(name);
    }
    void *data;
    size_t size;
    if (gguf_writer_write_memory(w, &data, &size, &err))
        abort();
    gguf_writer_free(w);
    gguf_file *g;
    if (gguf_open_memory(&g, data, size, &err)) {
        fprintf(stderr, "round trip rejected: %s\n", err.msg);
        abort();
    }
    if (gguf_n_kv(g) != gguf_n_kv(f) || gguf_n_tensors(g) != gguf_n_tensors(f) ||
        gguf_alignment(g) != gguf_alignment(f))
        abort();
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *a = gguf_tensor_at(f, i), *b = gguf_tensor_at(g, i);
        if (a->nbytes != b->nbytes || a->type != b->type ||
            memcmp(a->data, b->data, a->nbytes) != 0)
            abort();
    }
    gguf_close(g);
    free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f;
    perr err;
    if (gguf_open_memory(&f, data, size, &err) != 0) {
        if (!memchr(err.msg, '\0', sizeof err.msg) || !err.msg[0])
            abort(); /* every failure leaves a message */
        return 0;
    }
    gguf_version(f);
    gguf_file_size(f);
    for (int64_t i = 0; i < gguf_n_kv(f); i++)
        walk_kv(f, i);
    for (int64_t i = 0; i < gguf_n_tensors(f); i++)
        walk_tensor(f, i);
    round_trip(f);
    gguf_close(f);
    return 0;
}
