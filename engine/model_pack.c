/* model_pack.c — the model's weight matrices repacked into the kernel
 * set's layout for small batches (type_pack in engine/kernels/tensor_types.h),
 * once, at load, in memory of the model's own (see model.h). */
#include "engine/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine/kernels/tensor_types.h"

struct model_packed_weight {
    const gguf_tensor *t;
    void *data;
};

/* Bytes of memory available for new allocations (MemAvailable), or 0 if
 * unknown. */
static size_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[128];
        unsigned long long kib = 0;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
                break;
        fclose(f);
        if (kib > 0)
            return (size_t)kib * 1024;
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

/* The packed layout for t, or NULL (type without one, or unsupported row length). */
static const type_pack *pack_of(const gguf_tensor *t, size_t *bytes)
{
    const type_traits *tr = tensor_types_get(t->type);
    if (!tr || !tr->pack || t->n_dims != 2)
        return NULL;
    *bytes = tr->pack->size(t->ne[1], t->ne[0]);
    return *bytes ? tr->pack : NULL;
}

/* The matrices the forward pass multiplies with: every layer's and the output. */
static size_t list_matrices(const model *m, const gguf_tensor **out)
{
    size_t n = 0;
    for (int64_t il = 0; il < m->hp.n_layer; il++) {
        const model_layer *l = &m->layers[il];
        const gguf_tensor *ts[] = { l->wq, l->wk, l->wv, l->wo, l->ffn_gate, l->ffn_up, l->ffn_down };
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            out[n++] = ts[i];
    }
    out[n++] = m->output;
    return n;
}

static int pack_all(model *m, const gguf_tensor **ts, size_t n, perr *err)
{
    m->packed = calloc(n, sizeof *m->packed);
    if (!m->packed)
        return perr_set(err, "packing the weights: out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t bytes;
        const type_pack *pk = pack_of(ts[i], &bytes);
        if (!pk)
            continue;
        void *data = aligned_alloc(64, (bytes + 63) / 64 * 64);
        if (!data)
            return perr_set(err, "packing %.*s: out of memory for %zu bytes", (int)ts[i]->name.len,
                            ts[i]->name.ptr, bytes);
        pk->pack(ts[i]->data, tensor_row_size(ts[i]->type, ts[i]->ne[0]), ts[i]->ne[1], ts[i]->ne[0],
                 data);
        m->packed[m->n_packed++] = (struct model_packed_weight){ .t = ts[i], .data = data };
        m->packed_bytes += bytes;
    }
    return 0;
}

int model_pack_weights(model *m, model_pack_mode mode, perr *err)
{
    if (mode == MODEL_PACK_OFF || m->packed)
        return 0;
    const size_t max = (size_t)m->hp.n_layer * 7 + 1;
    const gguf_tensor **ts = malloc(max * sizeof *ts);
    if (!ts)
        return perr_set(err, "packing the weights: out of memory");
    const size_t n = list_matrices(m, ts);
    size_t total = 0, bytes;
    for (size_t i = 0; i < n; i++)
        if (pack_of(ts[i], &bytes))
            total += bytes;
    int rc = 0;
    if (total > 0 && (mode == MODEL_PACK_ON || total <= mem_available() / 2))
        rc = pack_all(m, ts, n, err);
    free(ts);
    if (rc != 0)
        model_unpack_weights(m);
    return rc;
}

void model_unpack_weights(model *m)
{
    for (size_t i = 0; i < m->n_packed; i++)
        free(m->packed[i].data);
    free(m->packed);
    m->packed = NULL;
    m->n_packed = 0;
    m->packed_bytes = 0;
}

const void *model_packed(const model *m, const gguf_tensor *t)
{
    for (size_t i = 0; i < m->n_packed; i++)
        if (m->packed[i].t == t)
            return m->packed[i].data;
    return NULL;
}

int model_pack_mode_parse(const char *s, model_pack_mode *out)
{
    static const char *const names[] = { "auto", "on", "off" };
    for (int i = 0; i < 3; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *out = (model_pack_mode)i;
            return 0;
        }
    return -1;
}
