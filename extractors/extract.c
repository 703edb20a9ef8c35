/* extract.c — detect the content type and dispatch to an extractor. */
#include "extractors/extract.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/utf8.h"
#include "extractors/detect.h"
#include "extractors/pdf/pdf.h"
#include "extractors/xml/xml.h"

extract_options extract_options_resolve(const extract_options *opts)
{
    extract_options o = { 0 };
    if (opts)
        o = *opts;
    if (!o.max_input_bytes)
        o.max_input_bytes = EXTRACT_DEFAULT_MAX_INPUT;
    if (!o.max_text_bytes)
        o.max_text_bytes = EXTRACT_DEFAULT_MAX_TEXT;
    if (o.max_pages <= 0)
        o.max_pages = EXTRACT_DEFAULT_MAX_PAGES;
    if (!o.max_entry_bytes)
        o.max_entry_bytes = EXTRACT_DEFAULT_MAX_ENTRY;
    if (o.max_depth <= 0)
        o.max_depth = EXTRACT_DEFAULT_MAX_DEPTH;
    if (!o.ocr_languages || !*o.ocr_languages)
        o.ocr_languages = EXTRACT_DEFAULT_OCR_LANGUAGES;
    if (o.ocr_dpi <= 0)
        o.ocr_dpi = EXTRACT_DEFAULT_OCR_DPI;
    return o;
}

void extract_ocr_page_started(const extract_options *opts)
{
    if (!opts || opts->progress_fd <= 2)
        return;
    ssize_t n;
    do
        n = write(opts->progress_fd, "P", 1);
    while (n < 0 && errno == EINTR);
    struct rlimit cpu;
    if (opts->ocr_page_cpu_seconds > 0 && getrlimit(RLIMIT_CPU, &cpu) == 0 && cpu.rlim_cur != RLIM_INFINITY) {
        rlim_t raised = cpu.rlim_cur + (rlim_t)opts->ocr_page_cpu_seconds;
        cpu.rlim_cur = cpu.rlim_max != RLIM_INFINITY && raised >= cpu.rlim_max ? cpu.rlim_max - 1 : raised;
        setrlimit(RLIMIT_CPU, &cpu);
    }
}

/* True when line [s, e) holds only spaces and tabs. */
static int blank_line(const char *s, const char *e)
{
    for (; s < e; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\f')
            return 0;
    return 1;
}

static void add_text_paragraph(document *doc, const char *start, const char *end)
{
    char *chunk = xmalloc((size_t)(end - start) + 1);
    memcpy(chunk, start, (size_t)(end - start));
    chunk[end - start] = '\0';
    document_add_paragraph(doc, chunk, 0);
    free(chunk);
}

int text_extract(const char *data, size_t len, const extract_options *opts, document **out, perr *err)
{
    extract_options o = extract_options_resolve(opts);
    *out = NULL;
    if (len > o.max_text_bytes)
        return perr_set(err, "text too large (%zu bytes, limit %zu)", len, o.max_text_bytes);
    char *text = utf8_sanitize(data, len, &len);
    document *doc = document_new("text", "text/plain");
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    const char *para = p;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        if (blank_line(p, nl ? nl : end)) {
            add_text_paragraph(doc, para, p);
            para = next;
        }
        p = next;
    }
    add_text_paragraph(doc, para, end);
    free(text);
    *out = doc;
    return 0;
}

static int unsupported(doc_type type, perr *err)
{
    if (type == DOC_TYPE_EMPTY)
        return perr_set(err, "empty input (0 bytes)");
    if (type == DOC_TYPE_ZIP_OTHER)
        return perr_set(err, "unsupported content type (zip archive that is not a Word document)");
    return perr_set(err, "unsupported content type (binary data that is not PDF, XML, DOCX or text)");
}

/* Offset of the first byte that is not valid UTF-8 (len when none). */
static size_t first_invalid_utf8(const unsigned char *s, size_t len)
{
    size_t at = 0;
    while (at < len) {
        uint32_t cp;
        size_t n = utf8_decode(s + at, len - at, &cp);
        if (cp == UINT32_MAX)
            return at;
        at += n;
    }
    return len;
}

/* Text that is not UTF-8 is read as Latin-1 (bytes 0x80-0x9F as
 * Windows-1252), and the document says so: a text in another 8-bit
 * encoding would come out with wrong characters. */
static int latin1_text_extract(const void *data, size_t len, const extract_options *o, document **out, perr *err)
{
    size_t n;
    char *utf8 = latin1_to_utf8(data, len, &n);
    int rc = text_extract(utf8, n, o, out, err);
    free(utf8);
    if (rc != 0)
        return rc;
    document_set_meta(*out, "encoding", "ISO-8859-1");
    document_warn(*out, "the text is not valid UTF-8 (first invalid byte at offset %zu); it was read as ISO-8859-1 "
                  "(Windows-1252 for bytes 0x80-0x9F), so characters are wrong if it was written in another encoding",
                  first_invalid_utf8(data, len));
    return 0;
}

int extract_document(const void *data, size_t len, const extract_options *opts, document **out, perr *err)
{
    *out = NULL;
    extract_options o = extract_options_resolve(opts);
    if (len > o.max_input_bytes)
        return perr_set(err, "input too large (%zu bytes, limit %zu)", len, o.max_input_bytes);
    doc_type type = detect_type(data, len);
    switch (type) {
    case DOC_TYPE_PDF:
        return pdf_extract(data, len, &o, out, err);
    case DOC_TYPE_XML:
        return xml_extract(data, len, &o, out, err);
    case DOC_TYPE_DOCX:
        return docx_extract(data, len, &o, out, err);
    case DOC_TYPE_TEXT_UTF8:
        return text_extract(data, len, &o, out, err);
    case DOC_TYPE_TEXT_LATIN1:
        return latin1_text_extract(data, len, &o, out, err);
    default:
        return unsupported(type, err);
    }
}
