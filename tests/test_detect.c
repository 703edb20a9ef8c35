/* test_detect.c — content type detection from bytes. */
#include <criterion/criterion.h>
#include <string.h>

#include "extractors/detect.h"

static doc_type detect_str(const char *s) { return detect_type(s, strlen(s)); }

Test(detect, empty_input)
{
    cr_assert_eq(detect_type("", 0), DOC_TYPE_EMPTY);
}

Test(detect, pdf_magic_anywhere_in_first_kilobyte)
{
    cr_assert_eq(detect_str("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"), DOC_TYPE_PDF);
    char buf[2048];
    memset(buf, ' ', sizeof buf);
    memcpy(buf + 1000, "%PDF-1.4", 8);
    cr_assert_eq(detect_type(buf, sizeof buf), DOC_TYPE_PDF, "junk before the header is allowed");
    memset(buf, 'x', sizeof buf);
    memcpy(buf + 1500, "%PDF-1.4", 8);
    cr_assert_neq(detect_type(buf, sizeof buf), DOC_TYPE_PDF, "magic past 1024 bytes is not PDF");
}

Test(detect, xml_forms)
{
    cr_assert_eq(detect_str("<?xml version=\"1.0\"?><a/>"), DOC_TYPE_XML);
    cr_assert_eq(detect_str("\xEF\xBB\xBF<?xml version=\"1.0\"?><a/>"), DOC_TYPE_XML);
    cr_assert_eq(detect_str("\n\t  <akomaNtoso/>"), DOC_TYPE_XML);
    static const char utf16le[] = "\xFF\xFE<\0?\0x\0m\0l\0";
    cr_assert_eq(detect_type(utf16le, sizeof utf16le - 1), DOC_TYPE_XML);
    static const char utf16be[] = "\xFE\xFF\0<\0a\0/\0>";
    cr_assert_eq(detect_type(utf16be, sizeof utf16be - 1), DOC_TYPE_XML);
}

Test(detect, docx_needs_zip_magic_and_word_document)
{
    static const char docx[] = "PK\x03\x04\x14\0\0\0\0\0[Content_Types].xml....PK\x03\x04word/document.xml";
    cr_assert_eq(detect_type(docx, sizeof docx - 1), DOC_TYPE_DOCX);
    static const char xlsx[] = "PK\x03\x04\x14\0\0\0\0\0[Content_Types].xml....xl/workbook.xml";
    cr_assert_eq(detect_type(xlsx, sizeof xlsx - 1), DOC_TYPE_ZIP_OTHER);
    static const char fake[] = "word/document.xml but not a zip";
    cr_assert_eq(detect_type(fake, sizeof fake - 1), DOC_TYPE_TEXT_UTF8, "name alone does not make a DOCX");
}

Test(detect, text_encodings)
{
    cr_assert_eq(detect_str("Hello, world.\n\nSecond paragraph."), DOC_TYPE_TEXT_UTF8);
    cr_assert_eq(detect_str("Caf\xc3\xa9 cr\xc3\xa8me \xe2\x82\xac"), DOC_TYPE_TEXT_UTF8);
    cr_assert_eq(detect_str("\xEF\xBB\xBFwith BOM"), DOC_TYPE_TEXT_UTF8);
    cr_assert_eq(detect_str("Caf\xe9 cr\xe8me br\xfbl\xe9" "e"), DOC_TYPE_TEXT_LATIN1);
}

Test(detect, binary_is_unsupported)
{
    static const char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0";
    cr_assert_eq(detect_type(elf, sizeof elf - 1), DOC_TYPE_UNSUPPORTED);
    static const unsigned char png[] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d };
    cr_assert_eq(detect_type(png, sizeof png), DOC_TYPE_UNSUPPORTED);
    char controls[400];
    memset(controls, 'a', sizeof controls);
    for (int i = 0; i < 10; i++)
        controls[i * 40] = 0x01;
    cr_assert_eq(detect_type(controls, sizeof controls), DOC_TYPE_UNSUPPORTED);
    cr_assert_str_eq(doc_type_name(DOC_TYPE_UNSUPPORTED), "unsupported");
    cr_assert_str_eq(doc_type_name(DOC_TYPE_PDF), "pdf");
}
