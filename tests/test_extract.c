/* test_extract.c — type dispatch, plain text extraction and `precis extract`. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extractors/extract.h"
#include "tests/support.h"

static document *extract_ok(const char *data, size_t len)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_document(data, len, NULL, &doc, &err), 0, "%s", err.msg);
    return doc;
}

static void expect_failure(const void *data, size_t len, const char *expected)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_document(data, len, NULL, &doc, &err), -1);
    cr_assert_null(doc);
    cr_assert_str_eq(err.msg, expected);
}

Test(extract, options_resolve_defaults)
{
    extract_options o = extract_options_resolve(NULL);
    cr_assert_eq(o.max_input_bytes, EXTRACT_DEFAULT_MAX_INPUT);
    cr_assert_eq(o.max_pages, EXTRACT_DEFAULT_MAX_PAGES);
    cr_assert_null(o.password);
    extract_options in = { .password = "pw", .max_pages = 3 };
    o = extract_options_resolve(&in);
    cr_assert_str_eq(o.password, "pw");
    cr_assert_eq(o.max_pages, 3);
    cr_assert_eq(o.max_text_bytes, EXTRACT_DEFAULT_MAX_TEXT);
}

Test(extract, text_paragraphs_split_on_blank_lines)
{
    const char text[] = "\xEF\xBB\xBF" "Title line\r\nsame paragraph\r\n \t\r\nSecond\n\n\n\nThird   one\n";
    document *doc = extract_ok(text, sizeof text - 1);
    cr_assert_str_eq(doc->format, "text");
    cr_assert_eq(doc->n_paragraphs_total, 3);
    cr_assert_str_eq(doc->full_text, "Title line same paragraph\n\nSecond\n\nThird one");
    cr_assert_str_eq(doc->sections[0].paragraphs[2].id, "p3");
    document_free(doc);
}

Test(extract, latin1_text_is_converted)
{
    const char text[] = "Caf\xe9 cr\xe8me \x80 5";
    document *doc = extract_ok(text, sizeof text - 1);
    cr_assert_str_eq(doc->full_text, "Caf\xc3\xa9 cr\xc3\xa8me \xe2\x82\xac 5");
    cr_assert_str_eq(doc->metadata[0].key, "encoding");
    cr_assert_eq(doc->n_warnings, 1, "the reading as Latin-1 is a warning of the document");
    cr_assert(strstr(doc->warnings[0], "not valid UTF-8 (first invalid byte at offset 3)"), "%s", doc->warnings[0]);
    cr_assert(strstr(doc->warnings[0], "read as ISO-8859-1"), "%s", doc->warnings[0]);
    document_free(doc);
}

Test(extract, unsupported_and_empty)
{
    expect_failure("", 0, "empty input (0 bytes)");
    static const char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0\0";
    expect_failure(elf, sizeof elf - 1, "unsupported content type (binary data that is not PDF, XML, DOCX or text)");
    static const char zip[] = "PK\x03\x04\x14\0\0\0xl/workbook.xml";
    expect_failure(zip, sizeof zip - 1, "unsupported content type (zip archive that is not a Word document)");
    extract_options small = { .max_input_bytes = 4 };
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_document("hello", 5, &small, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "input too large (5 bytes, limit 4)");
}

Test(extract, dispatches_on_content_not_name)
{
    char *path = test_corpus_path("pdf/normal/pdfjs_issue13201_bitcoin.pdf");
    size_t len;
    char *data = test_read_file(path, &len);
    document *doc = extract_ok(data, len);
    cr_assert_str_eq(doc->format, "pdf");
    cr_assert_not_null(strstr(doc->full_text, "Bitcoin"));
    document_free(doc);
    free(data);
    free(path);
    const char xml[] = "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><body><p>Hi "
                       "there</p></body></html>";
    doc = extract_ok(xml, sizeof xml - 1);
    cr_assert_str_neq(doc->format, "pdf");
    cr_assert_str_neq(doc->format, "text");
    cr_assert_not_null(strstr(doc->full_text, "Hi there"));
    document_free(doc);
}

/* ---- the CLI ----------------------------------------------------------------- */

Test(extract, cli_plain_text_and_json)
{
    char *path = test_corpus_path("pdf/normal/pdfjs_issue14415_agreement.pdf");
    char *out = NULL;
    cr_assert_eq(test_run_precis(&out, "extract '%s'", path), 0, "%s", out);
    cr_assert_not_null(strstr(out, "This agreement"), "%s", out);
    free(out);
    cr_assert_eq(test_run_precis(&out, "extract --json '%s'", path), 0, "%s", out);
    cr_assert_not_null(strstr(out, "\"format\":\t\"pdf\""), "%s", out);
    cr_assert_not_null(strstr(out, "\"id\":\t\"p1\""), "%s", out);
    free(out);
    free(path);
}

Test(extract, cli_errors)
{
    char *path = test_corpus_path("pdf/hostile/pypdf_r4-aes-user-password.pdf");
    char *out = NULL;
    cr_assert_eq(test_run_precis(&out, "extract '%s'", path), 1);
    cr_assert_not_null(strstr(out, "encrypted PDF: password required"), "%s", out);
    free(out);
    cr_assert_eq(test_run_precis(&out, "extract --password asdfzxcv --timeout 10 --memory-mb 512 '%s'", path), 0,
                 "%s", out);
    cr_assert_not_null(strstr(out, "encryption test password"), "%s", out);
    free(out);
    cr_assert_eq(test_run_precis(&out, "extract --timeout zero x.pdf"), 2);
    free(out);
    cr_assert_eq(test_run_precis(&out, "extract"), 2);
    free(out);
    cr_assert_eq(test_run_precis(&out, "extract /nonexistent/file.pdf"), 1);
    cr_assert_not_null(strstr(out, "No such file"), "%s", out);
    free(out);
    cr_assert_eq(test_run_precis(&out, "extract --help"), 0);
    cr_assert_not_null(strstr(out, "usage: precis extract FILE"));
    free(out);
    free(path);
}
