/* detect.c — content type detection from leading bytes (see detect.h). */
#include "extractors/detect.h"

#include <string.h>

#include "common/utf8.h"

static int has_pdf_magic(const unsigned char *s, size_t len)
{
    size_t window = len < 1024 ? len : 1024;
    return window >= 5 && memmem(s, window, "%PDF-", 5) != NULL;
}

static int is_docx(const unsigned char *s, size_t len)
{
    /* Entry names are stored in both the local headers and the central
     * directory, so a plain search is enough for a cheap check. */
    return memmem(s, len, "word/document.xml", 17) != NULL;
}

static int is_zip(const unsigned char *s, size_t len)
{
    return len >= 4 && memcmp(s, "PK\x03\x04", 4) == 0;
}

static int is_xml_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* First non-space code unit of UTF-16 text (little or big endian) is '<'. */
static int is_utf16_xml(const unsigned char *s, size_t len)
{
    int le;
    size_t i = 0;
    if (len >= 2 && s[0] == 0xFF && s[1] == 0xFE) {
        le = 1;
        i = 2;
    } else if (len >= 2 && s[0] == 0xFE && s[1] == 0xFF) {
        le = 0;
        i = 2;
    } else if (len >= 2 && s[0] == '<' && s[1] == 0) {
        le = 1;
    } else if (len >= 2 && s[0] == 0 && s[1] == '<') {
        le = 0;
    } else {
        return 0;
    }
    for (; i + 1 < len; i += 2) {
        unsigned char lo = le ? s[i] : s[i + 1], hi = le ? s[i + 1] : s[i];
        if (hi != 0)
            return 0;
        if (!is_xml_space(lo))
            return lo == '<';
    }
    return 0;
}

static int is_xml(const unsigned char *s, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && is_xml_space(s[i]))
        i++;
    if (i < len && s[i] == '<')
        return 1;
    return is_utf16_xml(s, len);
}

/* Text: no NUL bytes and at most 1 in 200 bytes a control character other
 * than tab, CR, LF and form feed. */
static int looks_like_text(const unsigned char *s, size_t len)
{
    size_t controls = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == 0)
            return 0;
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f') || c == 0x7F)
            controls++;
    }
    return controls * 200 <= len;
}

doc_type detect_type(const void *data, size_t len)
{
    const unsigned char *s = data;
    if (len == 0)
        return DOC_TYPE_EMPTY;
    if (has_pdf_magic(s, len))
        return DOC_TYPE_PDF;
    if (is_zip(s, len))
        return is_docx(s, len) ? DOC_TYPE_DOCX : DOC_TYPE_ZIP_OTHER;
    if (is_xml(s, len))
        return DOC_TYPE_XML;
    if (!looks_like_text(s, len))
        return DOC_TYPE_UNSUPPORTED;
    size_t start = len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    if (utf8_valid((const char *)s + start, len - start))
        return DOC_TYPE_TEXT_UTF8;
    return DOC_TYPE_TEXT_LATIN1;
}

const char *doc_type_name(doc_type type)
{
    switch (type) {
    case DOC_TYPE_EMPTY: return "empty";
    case DOC_TYPE_PDF: return "pdf";
    case DOC_TYPE_DOCX: return "docx";
    case DOC_TYPE_XML: return "xml";
    case DOC_TYPE_TEXT_UTF8: return "text/utf-8";
    case DOC_TYPE_TEXT_LATIN1: return "text/latin-1";
    case DOC_TYPE_ZIP_OTHER: return "zip";
    case DOC_TYPE_UNSUPPORTED: break;
    }
    return "unsupported";
}
