/* test_document.c — document builders, offsets, sanitizing and JSON round trip. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "extractors/document.h"

Test(document, builders_ids_and_full_text)
{
    document *doc = document_new("text", "text/plain");
    document_set_title(doc, "  A   title\n");
    document_add_author(doc, "Ada  Lovelace");
    document_add_author(doc, "   ");
    document_set_meta(doc, "producer", "x");
    document_set_meta(doc, "producer", "y");
    const doc_paragraph *p1 = document_add_paragraph(doc, "  first\t\tpara \n", 1);
    cr_assert_not_null(p1);
    cr_assert_str_eq(p1->id, "p1");
    cr_assert_str_eq(p1->text, "first para");
    cr_assert_null(document_add_paragraph(doc, " \n\t ", 1), "empty paragraph dropped");
    document_add_section(doc, "Heading  Two", 2);
    const doc_paragraph *p2 = document_add_paragraph(doc, "second", 2);
    cr_assert_str_eq(p2->id, "p2");
    cr_assert_str_eq(doc->title, "A title");
    cr_assert_eq(doc->n_authors, 1);
    cr_assert_eq(doc->n_metadata, 1);
    cr_assert_str_eq(doc->metadata[0].value, "y");
    cr_assert_eq(doc->n_sections, 2);
    cr_assert_null(doc->sections[0].heading);
    cr_assert_eq(doc->sections[0].level, 0);
    cr_assert_str_eq(doc->sections[1].heading, "Heading Two");
    cr_assert_eq(doc->sections[1].level, 2);
    cr_assert_str_eq(doc->full_text, "first para\n\nHeading Two\n\nsecond");
    cr_assert_eq(doc->full_text_len, strlen(doc->full_text));
    cr_assert_eq(doc->n_paragraphs_total, 2);
    document_free(doc);
}

Test(document, offsets_bytes_and_code_points)
{
    document *doc = document_new("text", "text/plain");
    document_add_paragraph(doc, "h\xc3\xa9llo w\xc3\xb6rld", 0);  /* héllo wörld */
    document_add_paragraph(doc, "\xe2\x82\xac 5 \xf0\x9f\x98\x80", 0); /* € 5 😀 */
    const doc_paragraph *a = &doc->sections[0].paragraphs[0];
    const doc_paragraph *b = &doc->sections[0].paragraphs[1];
    cr_assert_eq(a->char_start, 0);
    cr_assert_eq(a->char_end, 11);
    cr_assert_eq(a->byte_start, 0);
    cr_assert_eq(a->byte_end, 13);
    cr_assert_eq(b->char_start, 13);
    cr_assert_eq(b->byte_start, 15);
    cr_assert_eq(b->char_end, 13 + 5);
    cr_assert_eq(b->byte_end, 15 + 3 + 3 + 4);
    cr_assert_eq(doc->full_text_chars, 18);
    cr_assert_eq(memcmp(doc->full_text + b->byte_start, b->text, b->byte_end - b->byte_start), 0);
    document_free(doc);
}

Test(document, invalid_utf8_is_sanitized)
{
    document *doc = document_new("text", "text/plain");
    /* stray continuation, overlong '/', surrogate, truncated 3-byte sequence */
    const doc_paragraph *p = document_add_paragraph(doc, "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82", 0);
    cr_assert(utf8_valid(p->text, strlen(p->text)));
    cr_assert(utf8_valid(doc->full_text, doc->full_text_len));
    cr_assert_str_eq(p->text, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                              "d\xef\xbf\xbd");
    document_set_title(doc, "T\xff");
    cr_assert_str_eq(doc->title, "T\xef\xbf\xbd");
    document_free(doc);
}

Test(document, unicode_whitespace_collapses)
{
    document *doc = document_new("text", "text/plain");
    /* NBSP, em space, zero width space, line separator, BOM */
    const doc_paragraph *p =
        document_add_paragraph(doc, "\xef\xbb\xbf" "a\xc2\xa0\xe2\x80\x83" "b\xe2\x80\x8b" "c\xe2\x80\xa8" "d", 0);
    cr_assert_str_eq(p->text, "a bc d");
    document_free(doc);
}

Test(document, json_round_trip)
{
    document *doc = document_new("pdf", "application/pdf");
    document_set_title(doc, "Title \"quoted\"");
    document_set_language(doc, "fr");
    document_add_author(doc, "A");
    document_add_author(doc, "B\xc3\xa9");
    document_set_meta(doc, "producer", "pdfTeX");
    doc->pages = 3;
    document_add_paragraph(doc, "intro", 1);
    document_add_section(doc, "Sec", 1);
    document_add_paragraph(doc, "body \xe2\x82\xac", 2);
    document_add_section(doc, "Empty", 2);
    document_warn(doc, "no text layer on page %d", 3);
    char *json = document_to_json(doc, 1);
    document *back = NULL;
    perr err = {{0}};
    cr_assert_eq(document_from_json(&back, json, &err), 0, "%s", err.msg);
    cr_assert_str_eq(back->format, "pdf");
    cr_assert_str_eq(back->media_type, "application/pdf");
    cr_assert_str_eq(back->title, doc->title);
    cr_assert_str_eq(back->language, "fr");
    cr_assert_eq(back->n_authors, 2);
    cr_assert_str_eq(back->authors[1], "B\xc3\xa9");
    cr_assert_eq(back->n_metadata, 1);
    cr_assert_eq(back->pages, 3);
    cr_assert_eq(back->n_sections, 3);
    cr_assert_str_eq(back->full_text, doc->full_text);
    cr_assert_eq(back->full_text_chars, doc->full_text_chars);
    cr_assert_eq(back->n_warnings, 1);
    cr_assert_str_eq(back->warnings[0], "no text layer on page 3");
    const doc_paragraph *p = &back->sections[1].paragraphs[0];
    cr_assert_str_eq(p->id, "p2");
    cr_assert_eq(p->page, 2);
    cr_assert_eq(p->char_start, doc->sections[1].paragraphs[0].char_start);
    cr_assert_eq(p->byte_end, doc->sections[1].paragraphs[0].byte_end);
    char *json2 = document_to_json(back, 1);
    cr_assert_str_eq(json2, json, "second serialization is identical");
    free(json);
    free(json2);
    document_free(doc);
    document_free(back);
}

/* The sandboxed child's compact JSON leaves out ids, offsets and full_text;
 * the document read back from it is the same as from the full JSON. */
Test(document, compact_json_round_trip_is_the_same_document)
{
    document *doc = document_new("pdf", "application/pdf");
    document_set_title(doc, "T");
    document_set_meta(doc, "producer", "pdfTeX");
    doc->pages = 2;
    document_add_paragraph(doc, "intro \xe2\x82\xac", 1);
    document_add_section(doc, "Sec", 1);
    document_add_ocr_paragraph(doc, "scanned words", 2, 87.5);
    document_add_paragraph(doc, "last", 2);
    document_warn(doc, "a warning");
    char *full = document_to_json(doc, 0), *compact = document_to_json_compact(doc);
    cr_assert_null(strstr(compact, "full_text"));
    cr_assert_null(strstr(compact, "char_start"));
    cr_assert_lt(strlen(compact), strlen(full));
    document *back = NULL;
    perr err = {{0}};
    cr_assert_eq(document_from_json(&back, compact, &err), 0, "%s", err.msg);
    char *again = document_to_json(back, 0);
    cr_assert_str_eq(again, full);
    free(full);
    free(compact);
    free(again);
    document_free(doc);
    document_free(back);
}

Test(document, json_rejects_bad_input)
{
    document *doc = NULL;
    perr err = {{0}};
    cr_assert_eq(document_from_json(&doc, "{not json", &err), -1);
    cr_assert_null(doc);
    cr_assert(strstr(err.msg, "not valid JSON"), "%s", err.msg);
    cr_assert_eq(document_from_json(&doc, "[1]", &err), -1);
    cr_assert_eq(document_from_json(&doc, "{\"sections\": 5}", &err), -1);
    cr_assert(strstr(err.msg, "sections"), "%s", err.msg);
    cr_assert_eq(document_from_json(&doc, "{\"sections\":[{\"paragraphs\":[{\"text\":7}]}]}", &err), -1);
    cr_assert_eq(document_from_json(&doc, "{\"pages\": -4}", &err), -1);
    cr_assert_eq(document_from_json(&doc, "{\"format\":\"xml\"}", &err), 0, "%s", err.msg);
    cr_assert_str_eq(doc->full_text, "");
    document_free(doc);
}
