/* detect.h — content type detection from the bytes themselves.
 *
 * Order: empty; PDF ("%PDF-" within the first 1024 bytes); DOCX (zip local
 * header magic "PK\3\4" and a "word/document.xml" entry name); XML (optional
 * BOM, then "<?xml" or any '<' as the first non-space character, UTF-8 or
 * UTF-16); UTF-8 text; Latin-1 text; otherwise unsupported. Text means no NUL
 * bytes and almost no control characters.
 */
#ifndef PRECIS_DETECT_H
#define PRECIS_DETECT_H

#include <stddef.h>

typedef enum doc_type {
    DOC_TYPE_UNSUPPORTED = 0,
    DOC_TYPE_EMPTY,
    DOC_TYPE_PDF,
    DOC_TYPE_DOCX,
    DOC_TYPE_XML,
    DOC_TYPE_TEXT_UTF8,
    DOC_TYPE_TEXT_LATIN1,
    DOC_TYPE_ZIP_OTHER,      /* a zip archive that is not a Word document */
} doc_type;

doc_type detect_type(const void *data, size_t len);

/* Short stable name: "pdf", "docx", "xml", "text/utf-8", ... */
const char *doc_type_name(doc_type type);

#endif
