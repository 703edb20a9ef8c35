/* docx_zip.c — libzip over an in-memory buffer with bomb limits (see
 * docx_zip.h). */
#include "extractors/docx/docx_zip.h"

#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "common/utf8.h"

#define READ_CHUNK 65536

struct docx_zip {
    zip_t *archive;
    docx_zip_limits limits;
    size_t total_read;
};

int docx_zip_open(docx_zip **out, const void *data, size_t len, const docx_zip_limits *limits, perr *err)
{
    *out = NULL;
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *src = zip_source_buffer_create(data, len, 0, &zerr);
    if (!src) {
        perr_set(err, "zip: %s", zip_error_strerror(&zerr));
        zip_error_fini(&zerr);
        return -1;
    }
    zip_t *archive = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!archive) {
        zip_source_free(src);
        perr_set(err, "not a readable zip archive: %s", zip_error_strerror(&zerr));
        zip_error_fini(&zerr);
        return -1;
    }
    zip_error_fini(&zerr);
    zip_int64_t n = zip_get_num_entries(archive, 0);
    if (n < 0 || n > limits->max_entries) {
        zip_discard(archive);
        return perr_set(err, "zip archive has too many entries (%lld, limit %ld)", (long long)n,
                        limits->max_entries);
    }
    docx_zip *z = xmalloc(sizeof *z);
    z->archive = archive;
    z->limits = *limits;
    z->total_read = 0;
    *out = z;
    return 0;
}

void docx_zip_close(docx_zip *z)
{
    if (!z)
        return;
    zip_discard(z->archive);
    free(z);
}

/* Refuse what the central directory already shows to be unacceptable. */
static int check_declared(docx_zip *z, const char *name, const zip_stat_t *st, perr *err)
{
    if ((st->valid & ZIP_STAT_ENCRYPTION_METHOD) && st->encryption_method != ZIP_EM_NONE)
        return perr_set(err, "zip entry %s is encrypted", name);
    if ((st->valid & ZIP_STAT_COMP_METHOD) && !zip_compression_method_supported(st->comp_method, 0))
        return perr_set(err, "zip entry %s uses unsupported compression method %d", name, (int)st->comp_method);
    if ((st->valid & ZIP_STAT_SIZE) && st->size > z->limits.max_entry_bytes)
        return perr_set(err, "zip entry too large: %s declares %llu bytes (limit %zu)", name,
                        (unsigned long long)st->size, z->limits.max_entry_bytes);
    return 0;
}

/* Enforce the limits on the bytes actually produced so far. */
static int check_actual(docx_zip *z, const char *name, size_t got, const zip_stat_t *st, perr *err)
{
    if (got > z->limits.max_entry_bytes)
        return perr_set(err, "zip entry too large: %s inflates past %zu bytes", name, z->limits.max_entry_bytes);
    if (z->total_read + got > z->limits.max_total_bytes)
        return perr_set(err, "zip archive too large: parts read inflate past %zu bytes in total",
                        z->limits.max_total_bytes);
    if (got > z->limits.ratio_floor && (st->valid & ZIP_STAT_COMP_SIZE)) {
        double comp = st->comp_size > 0 ? (double)st->comp_size : 1.0;
        if ((double)got / comp > z->limits.max_ratio)
            return perr_set(err, "zip entry %s has a suspicious compression ratio (over %.0f:1)", name,
                            z->limits.max_ratio);
    }
    return 0;
}

static int read_entry(docx_zip *z, zip_int64_t index, const char *name, const zip_stat_t *st, char **data,
                      size_t *len, perr *err)
{
    zip_file_t *f = zip_fopen_index(z->archive, (zip_uint64_t)index, 0);
    if (!f)
        return perr_set(err, "zip entry %s: %s", name, zip_strerror(z->archive));
    size_t cap = READ_CHUNK, got = 0;
    char *buf = xmalloc(cap + 1);
    for (;;) {
        if (cap - got < READ_CHUNK) {
            cap *= 2;
            buf = xrealloc(buf, cap + 1);
        }
        zip_int64_t n = zip_fread(f, buf + got, READ_CHUNK);
        if (n < 0) {
            perr_set(err, "zip entry %s: %s", name, zip_file_strerror(f));
            goto fail;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (check_actual(z, name, got, st, err) < 0)
            goto fail;
    }
    zip_fclose(f);
    z->total_read += got;
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
fail:
    zip_fclose(f);
    free(buf);
    return -1;
}

int docx_zip_read(docx_zip *z, const char *name, char **data, size_t *len, perr *err)
{
    *data = NULL;
    *len = 0;
    zip_int64_t index = zip_name_locate(z->archive, name, ZIP_FL_NOCASE | ZIP_FL_ENC_GUESS);
    if (index < 0)
        return 0;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z->archive, (zip_uint64_t)index, 0, &st) < 0)
        return perr_set(err, "zip entry %s: %s", name, zip_strerror(z->archive));
    if (check_declared(z, name, &st, err) < 0)
        return -1;
    return read_entry(z, index, name, &st, data, len, err);
}
