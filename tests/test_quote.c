/* test_quote.c — locating model quotes in extracted text (suite "quote").
 *
 * Crafted documents and crafted "model outputs": exact, whitespace- and
 * typography-different quotes mapped back to the original span (checked by
 * slicing full_text), multibyte offsets, spans across paragraphs and
 * headings, repeats, empty/absent/over-long/invalid quotes, one index reused
 * for many quotes on a ~1 MB document, and a real Akoma Ntoso judgment.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "extractors/document.h"
#include "extractors/extract.h"
#include "pipeline/analyses/quote.h"
#include "tests/support.h"

static quote_match locate_ok(const document *doc, const char *quote)
{
    quote_match m;
    perr err = {{0}};
    cr_assert_eq(quote_locate(doc, quote, &m, &err), 0, "%s", err.msg);
    return m;
}

/* full_text[byte_start, byte_end) must equal expected, and the code-point
 * offsets must agree with the byte offsets. */
static void assert_span(const document *doc, const quote_match *m, const char *expected)
{
    cr_assert(m->verified, "not verified: %s", m->reason ? m->reason : "");
    size_t n = m->byte_end - m->byte_start;
    cr_assert_eq(n, strlen(expected), "span length %zu, expected %zu", n, strlen(expected));
    cr_assert_eq(memcmp(doc->full_text + m->byte_start, expected, n), 0, "span is \"%.*s\"",
                 (int)n, doc->full_text + m->byte_start);
    cr_assert_eq(m->char_start, utf8_count(doc->full_text, m->byte_start));
    cr_assert_eq(m->char_end, utf8_count(doc->full_text, m->byte_end));
}

static document *three_paragraphs(void)
{
    document *doc = document_new("text", "text/plain");
    document_add_paragraph(doc, "The supplier shall deliver the goods within thirty days.", 1);
    document_add_paragraph(doc, "Payment is due on delivery. Late payment accrues interest.", 1);
    document_add_paragraph(doc, "This agreement is governed by the laws of England.", 2);
    return doc;
}

Test(quote, exact_match_offsets_and_paragraph)
{
    document *doc = three_paragraphs();
    quote_match m = locate_ok(doc, "Late payment accrues interest.");
    assert_span(doc, &m, "Late payment accrues interest.");
    cr_assert_eq(m.method, QUOTE_EXACT);
    cr_assert_str_eq(quote_method_name(m.method), "exact");
    cr_assert_null(m.reason);
    cr_assert_eq(m.occurrences, 1);
    cr_assert_str_eq(m.paragraph_first, "p2");
    cr_assert_str_eq(m.paragraph_last, "p2");
    cr_assert_eq(m.page, 1);
    const char *full = doc->full_text;
    cr_assert_eq(m.byte_start, (size_t)(strstr(full, "Late payment") - full));

    m = locate_ok(doc, "  governed by the laws\n");   /* surrounding whitespace trimmed */
    assert_span(doc, &m, "governed by the laws");
    cr_assert_eq(m.method, QUOTE_EXACT);
    cr_assert_str_eq(m.paragraph_first, "p3");
    cr_assert_eq(m.page, 2);
    document_free(doc);
}

Test(quote, whitespace_in_quote_maps_to_original_span)
{
    document *doc = three_paragraphs();
    /* newline, double space, tab and NBSP inside the model's quote */
    quote_match m = locate_ok(doc, "deliver the\ngoods  within\tthirty\xc2\xa0"
                                   "days.");
    assert_span(doc, &m, "deliver the goods within thirty days.");
    cr_assert_eq(m.method, QUOTE_WHITESPACE);
    cr_assert_str_eq(quote_method_name(m.method), "whitespace");
    cr_assert_eq(m.occurrences, 1);
    cr_assert_str_eq(m.paragraph_first, "p1");
    cr_assert_str_eq(m.paragraph_last, "p1");
    document_free(doc);
}

/* A document whose full_text was NOT collapsed by the builders (as a future
 * extractor might produce): NBSP, tabs and double spaces in the text itself. */
static document *raw_text_document(const char *raw)
{
    document *doc = document_new("text", "text/plain");
    document_add_paragraph(doc, "x", 3);
    free(doc->full_text);
    doc->full_text = strdup(raw);
    doc->full_text_len = strlen(raw);
    doc->full_text_chars = utf8_count(raw, doc->full_text_len);
    doc_paragraph *p = &doc->sections[0].paragraphs[0];
    p->byte_start = p->char_start = 0;
    p->byte_end = doc->full_text_len;
    p->char_end = doc->full_text_chars;
    return doc;
}

Test(quote, whitespace_in_text_maps_to_original_span)
{
    /* "Le contrat  est\tsigné par\u00a0les parties" */
    document *doc = raw_text_document("Pr\xc3\xa9" "ambule. Le contrat  est\tsign\xc3\xa9 par\xc2\xa0les parties.");
    quote_match m = locate_ok(doc, "contrat est sign\xc3\xa9 par les");
    assert_span(doc, &m, "contrat  est\tsign\xc3\xa9 par\xc2\xa0les");
    cr_assert_eq(m.method, QUOTE_WHITESPACE);
    cr_assert_eq(m.char_start, 14);               /* "Préambule. Le " */
    cr_assert_eq(m.byte_start, 15);
    cr_assert_eq(m.char_end, 14 + 26);
    cr_assert_eq(m.byte_end, 15 + 26 + 1 + 1);   /* é and NBSP are 2 bytes each */
    cr_assert_str_eq(m.paragraph_first, "p1");
    cr_assert_eq(m.page, 3);
    document_free(doc);
}

Test(quote, absent_quote_is_unverified_not_error)
{
    document *doc = three_paragraphs();
    quote_match m;
    perr err = {{0}};
    cr_assert_eq(quote_locate(doc, "The buyer may terminate at any time.", &m, &err), 0);
    cr_assert_not(m.verified);
    cr_assert_eq(m.method, QUOTE_NONE);
    cr_assert_str_eq(quote_method_name(m.method), "none");
    cr_assert_str_eq(m.reason, "quote not found in the document text");
    cr_assert_eq(m.occurrences, 0);
    cr_assert_str_eq(m.paragraph_first, "");
    /* one word changed is not a match either */
    m = locate_ok(doc, "Payment is due on receipt.");
    cr_assert_not(m.verified);
    document_free(doc);
}

Test(quote, multibyte_offsets_in_code_points_and_bytes)
{
    document *doc = document_new("text", "text/plain");
    /* "L'élève a réussi l'été dernier." */
    document_add_paragraph(doc, "L'\xc3\xa9l\xc3\xa8ve a r\xc3\xa9ussi l'\xc3\xa9t\xc3\xa9 dernier.", 1);
    /* "契約は2025年に終了する。本契約の当事者は甲と乙である。" */
    document_add_paragraph(doc, "\xe5\xa5\x91\xe7\xb4\x84\xe3\x81\xaf" "2025"
                                "\xe5\xb9\xb4\xe3\x81\xab\xe7\xb5\x82\xe4\xba\x86\xe3\x81\x99\xe3\x82\x8b\xe3\x80\x82"
                                "\xe6\x9c\xac\xe5\xa5\x91\xe7\xb4\x84\xe3\x81\xae\xe5\xbd\x93\xe4\xba\x8b\xe8\x80\x85"
                                "\xe3\x81\xaf\xe7\x94\xb2\xe3\x81\xa8\xe4\xb9\x99\xe3\x81\xa7\xe3\x81\x82\xe3\x82\x8b"
                                "\xe3\x80\x82", 1);
    quote_match m = locate_ok(doc, "r\xc3\xa9ussi l'\xc3\xa9t\xc3\xa9");   /* réussi l'été */
    assert_span(doc, &m, "r\xc3\xa9ussi l'\xc3\xa9t\xc3\xa9");
    cr_assert_eq(m.char_start, 10);
    cr_assert_eq(m.byte_start, 12);
    cr_assert_eq(m.char_end, 22);
    cr_assert_eq(m.byte_end, 27);

    /* "本契約の当事者" in the CJK paragraph: 7 code points, 21 bytes */
    const char *cjk = "\xe6\x9c\xac\xe5\xa5\x91\xe7\xb4\x84\xe3\x81\xae\xe5\xbd\x93\xe4\xba\x8b\xe8\x80\x85";
    m = locate_ok(doc, cjk);
    assert_span(doc, &m, cjk);
    const doc_paragraph *p2 = &doc->sections[0].paragraphs[1];
    cr_assert_eq(m.char_start, p2->char_start + 14);   /* 契約は2025年に終了する。 */
    cr_assert_eq(m.byte_start, p2->byte_start + 9 + 4 + 21);
    cr_assert_eq(m.char_end - m.char_start, 7);
    cr_assert_eq(m.byte_end - m.byte_start, 21);
    cr_assert_str_eq(m.paragraph_first, "p2");

    /* whitespace tier across multibyte text: "dernier.\n契約" spans p1..p2 */
    m = locate_ok(doc, "dernier. \xe5\xa5\x91\xe7\xb4\x84");
    assert_span(doc, &m, "dernier.\n\n\xe5\xa5\x91\xe7\xb4\x84");
    cr_assert_eq(m.method, QUOTE_WHITESPACE);
    cr_assert_str_eq(m.paragraph_first, "p1");
    cr_assert_str_eq(m.paragraph_last, "p2");
    document_free(doc);
}

Test(quote, span_across_two_paragraphs)
{
    document *doc = three_paragraphs();
    quote_match m = locate_ok(doc, "within thirty days. Payment is due");
    assert_span(doc, &m, "within thirty days.\n\nPayment is due");
    cr_assert_eq(m.method, QUOTE_WHITESPACE);
    cr_assert_str_eq(m.paragraph_first, "p1");
    cr_assert_str_eq(m.paragraph_last, "p2");
    cr_assert_eq(m.page, 1);

    m = locate_ok(doc, "accrues interest.\n\nThis agreement");   /* exact, with the separator */
    cr_assert_eq(m.method, QUOTE_EXACT);
    cr_assert_str_eq(m.paragraph_first, "p2");
    cr_assert_str_eq(m.paragraph_last, "p3");
    document_free(doc);
}

Test(quote, headings_are_searchable)
{
    document *doc = document_new("text", "text/plain");
    document_add_paragraph(doc, "Preamble text.", 1);
    document_add_section(doc, "Article 2 Termination", 1);
    document_add_paragraph(doc, "Either party may terminate.", 4);
    quote_match m = locate_ok(doc, "Article 2 Termination");
    assert_span(doc, &m, "Article 2 Termination");
    cr_assert_str_eq(m.paragraph_first, "", "a heading is no paragraph");
    cr_assert_str_eq(m.paragraph_last, "");
    cr_assert_eq(m.page, 0);

    m = locate_ok(doc, "Termination Either party");   /* heading into its first paragraph */
    assert_span(doc, &m, "Termination\n\nEither party");
    cr_assert_str_eq(m.paragraph_first, "p2");
    cr_assert_str_eq(m.paragraph_last, "p2");
    cr_assert_eq(m.page, 4);

    m = locate_ok(doc, "text. Article 2");   /* paragraph into a heading */
    cr_assert_str_eq(m.paragraph_first, "p1");
    cr_assert_str_eq(m.paragraph_last, "p1");
    document_free(doc);
}

Test(quote, repeated_quote_reports_first_and_count)
{
    document *doc = document_new("text", "text/plain");
    document_add_paragraph(doc, "The Tenant shall pay the rent.", 1);
    document_add_paragraph(doc, "If the Tenant fails, the Tenant shall pay the rent with interest.", 2);
    quote_match m = locate_ok(doc, "the Tenant shall pay the rent");
    cr_assert_eq(m.method, QUOTE_EXACT);
    cr_assert_eq(m.occurrences, 1, "case-sensitive: only the second paragraph matches");
    cr_assert_str_eq(m.paragraph_first, "p2");

    m = locate_ok(doc, "Tenant shall pay the rent");
    cr_assert_eq(m.occurrences, 2);
    cr_assert_eq(m.byte_start, 4, "first occurrence reported");
    cr_assert_str_eq(m.paragraph_first, "p1");
    cr_assert_eq(m.page, 1);

    m = locate_ok(doc, "Tenant  shall\npay the rent");   /* same, whitespace tier */
    cr_assert_eq(m.method, QUOTE_WHITESPACE);
    cr_assert_eq(m.occurrences, 2);
    cr_assert_eq(m.byte_start, 4);

    document *aa = document_new("text", "text/plain");
    document_add_paragraph(aa, "aaaaa", 0);
    m = locate_ok(aa, "aa");
    cr_assert_eq(m.occurrences, 2, "occurrences do not overlap");
    document_free(aa);
    document_free(doc);
}

Test(quote, empty_and_whitespace_only_quotes)
{
    document *doc = three_paragraphs();
    const char *empties[] = {"", "   ", "\n\t \r\n", "\xc2\xa0\xe3\x80\x80", "\xe2\x80\x8b"};
    for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
        quote_match m = locate_ok(doc, empties[i]);
        cr_assert_not(m.verified, "empty quote %zu verified", i);
        cr_assert_eq(m.method, QUOTE_NONE);
        cr_assert_str_eq(m.reason, "empty quote");
    }
    document *none = document_new("text", "text/plain");
    quote_match m = locate_ok(none, "");
    cr_assert_str_eq(m.reason, "empty quote");
    m = locate_ok(none, "anything");
    cr_assert_not(m.verified);
    cr_assert_str_eq(m.reason, "quote is longer than the document text");
    document_free(none);
    document_free(doc);
}

Test(quote, whole_text_and_longer_than_text)
{
    document *doc = three_paragraphs();
    quote_match m = locate_ok(doc, doc->full_text);
    cr_assert_eq(m.method, QUOTE_EXACT);
    cr_assert_eq(m.byte_start, 0);
    cr_assert_eq(m.byte_end, doc->full_text_len);
    cr_assert_eq(m.char_end, doc->full_text_chars);
    cr_assert_str_eq(m.paragraph_first, "p1");
    cr_assert_str_eq(m.paragraph_last, "p3");

    char *longer = NULL;
    cr_assert(asprintf(&longer, "%s And more.", doc->full_text) > 0);
    m = locate_ok(doc, longer);
    cr_assert_not(m.verified);
    cr_assert_str_eq(m.reason, "quote is longer than the document text");
    free(longer);
    document_free(doc);
}

Test(quote, invalid_utf8_in_quote)
{
    document *doc = document_new("text", "text/plain");
    document_add_paragraph(doc, "Caf\xc3\xa9 cr\xc3\xa8me at the caf\xc3\xa9, served with a "
                                "croissant and a glass of water.", 0);
    /* a lone continuation byte must not match the middle of "é" */
    quote_match m = locate_ok(doc, "\xa9");
    cr_assert_not(m.verified);
    m = locate_ok(doc, "Caf\xc3");   /* truncated sequence -> U+FFFD, absent */
    cr_assert_not(m.verified);
    m = locate_ok(doc, "\xff\xfe\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80");
    cr_assert_not(m.verified);
    cr_assert_str_eq(m.reason, "quote not found in the document text");
    m = locate_ok(doc, "cr\xc3\xa8me");
    assert_span(doc, &m, "cr\xc3\xa8me");
    document_free(doc);
}

Test(quote, typographic_tier)
{
    document *doc = document_new("text", "text/plain");
    /* “Seller’s ﬁnal offer” – valid until 1 May… */
    document_add_paragraph(doc, "\xe2\x80\x9cSeller\xe2\x80\x99s \xef\xac\x81nal offer\xe2\x80\x9d "
                                "\xe2\x80\x93 valid until 1 May\xe2\x80\xa6", 5);
    quote_match m = locate_ok(doc, "\"Seller's final offer\" - valid until 1 May...");
    assert_span(doc, &m, doc->full_text);
    cr_assert_eq(m.method, QUOTE_TYPOGRAPHIC);
    cr_assert_str_eq(quote_method_name(m.method), "typographic");
    cr_assert_eq(m.page, 5);

    m = locate_ok(doc, "Seller's\n final");   /* whitespace and typography together */
    assert_span(doc, &m, "Seller\xe2\x80\x99s \xef\xac\x81nal");
    cr_assert_eq(m.method, QUOTE_TYPOGRAPHIC);

    m = locate_ok(doc, "inal offer");   /* starts inside the ligature: the whole ligature is taken */
    cr_assert_eq(m.method, QUOTE_TYPOGRAPHIC);
    assert_span(doc, &m, "\xef\xac\x81nal offer");

    m = locate_ok(doc, "Seller\xe2\x80\x99s");   /* same typography: exact */
    cr_assert_eq(m.method, QUOTE_EXACT);

    m = locate_ok(doc, "Seller's final offer, valid");   /* a comma is not a dash */
    cr_assert_not(m.verified);
    document_free(doc);
}

Test(quote, null_arguments_are_errors)
{
    document *doc = three_paragraphs();
    quote_match m;
    perr err = {{0}};
    cr_assert_eq(quote_locate(doc, NULL, &m, &err), -1);
    cr_assert_not(m.verified);
    cr_assert(strstr(err.msg, "no quote"), "%s", err.msg);
    cr_assert_eq(quote_locate(NULL, "x", &m, &err), -1);
    cr_assert(strstr(err.msg, "no document"), "%s", err.msg);
    cr_assert_eq(quote_locate_indexed(NULL, "x", &m, &err), -1);
    cr_assert_eq(quote_locate(doc, "x", NULL, &err), -1);
    document_free(doc);
}

/* ~1 MB of multibyte text, several hundred whitespace-mangled quotes looked
 * up through one index: every one lands on its own paragraph, and the
 * code-point offsets agree with a direct count. */
Test(quote, one_index_many_quotes_large_document)
{
    document *doc = document_new("text", "text/plain");
    char buf[512];
    const size_t n_paras = 6000;
    for (size_t i = 0; i < n_paras; i++) {
        snprintf(buf, sizeof buf,
                 "Clause %zu: the r\xc3\xa9sili\xc3\xa9 party (\xe7\x94\xb2 %zu) shall give notice "
                 "within %zu days of the \xc3\xa9v\xc3\xa9nement, failing which item %zu lapses "
                 "and the remaining obligations stay in force.", i, i * 7, i % 90 + 1, i);
        document_add_paragraph(doc, buf, (int)(i / 40) + 1);
    }
    cr_assert_gt(doc->full_text_len, 1000000);
    quote_index *idx;
    perr err = {{0}};
    cr_assert_eq(quote_index_new(doc, &idx, &err), 0, "%s", err.msg);
    for (size_t i = 0; i < n_paras; i += 17) {
        snprintf(buf, sizeof buf, "(\xe7\x94\xb2 %zu) shall\ngive  notice within %zu days of the "
                                  "\xc3\xa9v\xc3\xa9nement,\xc2\xa0" "failing which item %zu",
                 i * 7, i % 90 + 1, i);
        quote_match m;
        cr_assert_eq(quote_locate_indexed(idx, buf, &m, &err), 0);
        cr_assert(m.verified, "quote %zu", i);
        cr_assert_eq(m.method, QUOTE_WHITESPACE);
        char span[512];
        snprintf(span, sizeof span, "(\xe7\x94\xb2 %zu) shall give notice within %zu days of the "
                                    "\xc3\xa9v\xc3\xa9nement, failing which item %zu",
                 i * 7, i % 90 + 1, i);
        assert_span(doc, &m, span);
        char want[16];
        snprintf(want, sizeof want, "p%zu", i + 1);
        cr_assert_str_eq(m.paragraph_first, want);
        cr_assert_eq(m.page, (int)(i / 40) + 1);
        cr_assert_eq(m.char_start, utf8_count(doc->full_text, m.byte_start));
        cr_assert_eq(m.char_end, utf8_count(doc->full_text, m.byte_end));
        cr_assert_eq(m.occurrences, 1);
    }
    quote_match m;
    cr_assert_eq(quote_locate_indexed(idx, "shall give notice", &m, &err), 0);
    cr_assert_eq(m.occurrences, n_paras);
    cr_assert_str_eq(m.paragraph_first, "p1");
    quote_index_free(idx);
    document_free(doc);
}

/* A real judgment (Akoma Ntoso). The sentence is copied from paragraph 6 of
 * the source XML, re-wrapped and with spacing changed as a model might. */
Test(quote, real_akn_judgment)
{
    char *path = test_corpus_path("xml/akn/tna_ewca_civ_2025_673.xml");
    size_t len;
    char *xml = test_read_file(path, &len);
    document *doc = NULL;
    perr err = {{0}};
    cr_assert_eq(extract_document(xml, len, NULL, &doc, &err), 0, "%s", err.msg);

    quote_match m = locate_ok(doc, "This prompted Tortoise to start thinking\n"
                                   "about who was voting in the  election and how the contest\n"
                                   "was being run.");
    assert_span(doc, &m, "This prompted Tortoise to start thinking about who was voting in the "
                         "election and how the contest was being run.");
    cr_assert_eq(m.method, QUOTE_WHITESPACE);
    cr_assert_eq(m.occurrences, 1);
    cr_assert_str_eq(m.paragraph_first, m.paragraph_last);
    /* the paragraph reported is the one that holds paragraph 6 of the judgment */
    const doc_paragraph *para = NULL;
    for (size_t s = 0; s < doc->n_sections && !para; s++)
        for (size_t p = 0; p < doc->sections[s].n_paragraphs; p++)
            if (strcmp(doc->sections[s].paragraphs[p].id, m.paragraph_first) == 0)
                para = &doc->sections[s].paragraphs[p];
    cr_assert(para);
    cr_assert(strstr(para->text, "In the summer of 2022, Tortoise became interested"), "%s", para->text);
    cr_assert_leq(para->byte_start, m.byte_start);
    cr_assert_geq(para->byte_end, m.byte_end);
    cr_assert_str_eq(m.paragraph_first, "p38");

    m = locate_ok(doc, "Tortoise has a website at which it publishes news in the form of a daily newsletter");
    cr_assert_not(m.verified, "invented sentence must not verify");
    document_free(doc);
    free(xml);
    free(path);
}
