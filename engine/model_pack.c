/* model_pack.c — the model's weight matrices repacked into the kernel
 * set's layout for decode (type_pack in engine/kernels/tensor_types.h),
 * once, at load, in memory of the model's own (see model.h): one anonymous
 * mapping for all of them, in huge pages where the kernel gives them
 * (decode streams through every byte once per token; with 4 KiB pages
 * that is a TLB miss every few blocks). */
#include "engine/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/kernels/tensor_types.h"

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

#define HUGE_PAGE ((size_t)2 << 20)

/* The mapping for `total` bytes (a multiple of 64), asking for huge pages. */
static void *map_region(size_t total, size_t *mapped, perr *err)
{
    *mapped = (total + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = mmap(NULL, *mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perr_set(err, "packing the weights: cannot map %zu bytes", *mapped);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    (void)madvise(p, *mapped, MADV_HUGEPAGE); /* a hint: 4 KiB pages work too */
#endif
    return p;
}

/* Every packable matrix of ts, each 64-byte aligned in one mapping. */
static int pack_all(model *m, const gguf_tensor **ts, size_t n, size_t total, perr *err)
{
    m->packed = calloc((size_t)gguf_n_tensors(m->gguf), sizeof *m->packed);
    if (!m->packed)
        return perr_set(err, "packing the weights: out of memory");
    uint8_t *region = map_region(total, &m->packed_mapped, err);
    if (!region)
        return -1;
    m->packed_region = region;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t bytes;
        const type_pack *pk = pack_of(ts[i], &bytes);
        if (!pk)
            continue;
        pk->pack(ts[i]->data, tensor_row_size(ts[i]->type, ts[i]->ne[0]), ts[i]->ne[1], ts[i]->ne[0],
                 region + at);
        m->packed[gguf_tensor_index(m->gguf, ts[i])] = region + at;
        m->packed_bytes += bytes;
        at += (bytes + 63) / 64 * 64;
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
            total += (bytes + 63) / 64 * 64;
    int rc = 0;
    if (total > 0 && (mode == MODEL_PACK_ON || total <= mem_available() / 2))
        rc = pack_all(m, ts, n, total, err);
    free(ts);
    if (rc != 0)
        model_unpack_weights(m);
    return rc;
}

void model_unpack_weights(model *m)
{
    if (m->packed_region)
        munmap(m->packed_region, m->packed_mapped);
    m->packed_region = NULL;
    m->packed_mapped = 0;
    free(m->packed);
    m->packed = NULL;
    m->packed_bytes = 0;
}

const void *model_packed(const model *m, const gguf_tensor *t)
{
    const int64_t i = m->packed ? gguf_tensor_index(m->gguf, t) : -1;
    return i >= 0 ? m->packed[i] : NULL;
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
