/* docx_zip.h — bounded reading of parts from an untrusted zip package
 * (internal to the DOCX extractor).
 *
 * Defences against zip bombs and malformed archives: a cap on the number
 * of entries; per-entry and total caps on uncompressed bytes, checked on
 * the declared sizes first and then on the bytes actually inflated (a
 * lying header cannot get past them); a cap on the compression ratio of
 * large entries; encrypted entries and unsupported compression methods are
 * refused; libzip's consistency checks (ZIP_CHECKCONS) are on.
 */
#ifndef PRECIS_DOCX_ZIP_H
#define PRECIS_DOCX_ZIP_H

#include <stddef.h>

#include "common/error.h"

typedef struct docx_zip_limits {
    size_t max_entry_bytes;  /* uncompressed bytes of one part */
    size_t max_total_bytes;  /* uncompressed bytes of all parts read */
    long max_entries;        /* entries in the archive */
    double max_ratio;        /* uncompressed/compressed, for entries past ratio_floor */
    size_t ratio_floor;
} docx_zip_limits;

#define DOCX_DEFAULT_MAX_ENTRIES 10000
#define DOCX_DEFAULT_MAX_RATIO 200.0
#define DOCX_DEFAULT_RATIO_FLOOR ((size_t)8 << 20)

typedef struct docx_zip docx_zip;

/* Open data[0..len) (not copied: it must outlive the handle). */
int docx_zip_open(docx_zip **out, const void *data, size_t len, const docx_zip_limits *limits, perr *err);

/* Read part name (case-insensitive, no leading '/'). A missing part is not
 * an error: *data is NULL and 0 is returned. On success *data is malloc'd,
 * NUL-terminated, *len bytes. */
int docx_zip_read(docx_zip *z, const char *name, char **data, size_t *len, perr *err);

void docx_zip_close(docx_zip *z);

#endif
