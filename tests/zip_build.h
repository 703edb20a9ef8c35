/* zip_build.h — build zip archives and small DOCX packages in memory for
 * the XML/DOCX tests (test_xml.c, test_xml_hostile.c). Header-only: the
 * test binary links only tests/test_*.c and support files. */
#ifndef PRECIS_TEST_ZIP_BUILD_H
#define PRECIS_TEST_ZIP_BUILD_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

typedef struct zip_part {
    const char *name;
    const void *data;
    size_t len; /* 0: strlen(data) */
} zip_part;

/* A zip holding the parts (deflated), as a malloc'd buffer. */
static inline char *zip_build(const zip_part *parts, size_t n, size_t *out_len)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    cr_assert(src, "zip_source_buffer_create");
    zip_t *za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
    cr_assert(za, "zip_open_from_source: %s", zip_error_strerror(&ze));
    zip_source_keep(src);
    for (size_t i = 0; i < n; i++) {
        size_t len = parts[i].len ? parts[i].len : strlen(parts[i].data);
        zip_source_t *zs = zip_source_buffer(za, parts[i].data, len, 0);
        cr_assert(zs);
        cr_assert_geq(zip_file_add(za, parts[i].name, zs, ZIP_FL_OVERWRITE), 0, "zip_file_add %s: %s",
                      parts[i].name, zip_strerror(za));
    }
    cr_assert_eq(zip_close(za), 0, "zip_close");
    cr_assert_eq(zip_source_open(src), 0);
    cr_assert_eq(zip_source_seek(src, 0, SEEK_END), 0);
    zip_int64_t size = zip_source_tell(src);
    cr_assert_gt(size, 0);
    cr_assert_eq(zip_source_seek(src, 0, SEEK_SET), 0);
    char *buf = malloc((size_t)size);
    cr_assert(buf);
    cr_assert_eq(zip_source_read(src, buf, (zip_uint64_t)size), size);
    zip_source_close(src);
    zip_source_free(src);
    zip_error_fini(&ze);
    *out_len = (size_t)size;
    return buf;
}

#define DOCX_W_NS "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

static const char DOCX_PACKAGE_RELS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>"
    "</Relationships>";

static const char DOCX_DOCUMENT_RELS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes\" Target=\"footnotes.xml\"/>"
    "<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink\" Target=\"http://example.invalid/\" TargetMode=\"External\"/>"
    "</Relationships>";

/* A DOCX with the given body XML (inside w:body) and optional styles,
 * footnotes and core properties parts (NULL = absent). */
static inline char *docx_build(const char *body, const char *styles, const char *footnotes, const char *core,
                               size_t *out_len)
{
    char *document = NULL;
    cr_assert_geq(asprintf(&document,
                           "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"" DOCX_W_NS
                           "\"><w:body>%s</w:body></w:document>",
                           body), 0);
    zip_part parts[6];
    size_t n = 0;
    parts[n++] = (zip_part){"_rels/.rels", DOCX_PACKAGE_RELS, 0};
    parts[n++] = (zip_part){"word/document.xml", document, 0};
    parts[n++] = (zip_part){"word/_rels/document.xml.rels", DOCX_DOCUMENT_RELS, 0};
    if (styles)
        parts[n++] = (zip_part){"word/styles.xml", styles, 0};
    if (footnotes)
        parts[n++] = (zip_part){"word/footnotes.xml", footnotes, 0};
    if (core)
        parts[n++] = (zip_part){"docProps/core.xml", core, 0};
    char *zip = zip_build(parts, n, out_len);
    free(document);
    return zip;
}

#endif
