/* test_xml.c — XML and DOCX extraction (suite "xml").
 *
 * Every corpus file under xml/jats, xml/tei, xml/akn and xml/docx is
 * extracted and compared with tests/golden/xml/<name>.json. The golden files
 * were written by reading the source XML (title, authors, language, the
 * level-1 section headings, the abstract's first sentence, the first
 * paragraph, a few metadata fields), not by dumping our output. Also: the
 * CLML fixture, XHTML and generic samples, output limits, and DOCX features
 * (localized heading styles, footnotes, tracked changes, tables, fields,
 * core properties) on packages built in memory.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extractors/extract.h"
#include "extractors/xml/xml.h"
#include "extractors/xml/xml_emit.h"
#include "tests/support.h"
#include "tests/zip_build.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static document *extract_or_fail(const char *data, size_t len, int docx, const extract_options *opts,
                                  const char *label)
{
    document *doc = NULL;
    perr err = {{0}};
    int rc = docx ? docx_extract(data, len, opts, &doc, &err) : xml_extract(data, len, opts, &doc, &err);
    cr_assert_eq(rc, 0, "%s: %s", label, err.msg);
    cr_assert(doc);
    return doc;
}

static document *extract_corpus(const char *rel)
{
    char *path = test_corpus_path(rel);
    size_t len;
    char *data = test_read_file(path, &len);
    document *doc = extract_or_fail(data, len, ends_with(rel, ".docx"), NULL, rel);
    free(data);
    free(path);
    return doc;
}

static document *extract_string(const char *xml)
{
    return extract_or_fail(xml, strlen(xml), 0, NULL, "inline XML");
}

static cJSON *load_golden(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "tests/golden/xml/%s.json", name);
    char *text = test_read_file(path, NULL);
    cJSON *g = cJSON_Parse(text);
    free(text);
    cr_assert(g, "%s is not valid JSON", path);
    return g;
}

static void expect_string(const char *what, const cJSON *expected, const char *actual)
{
    if (!expected || cJSON_IsNull(expected)) {
        cr_expect_null(actual, "%s: expected null, got \"%s\"", what, actual);
        return;
    }
    cr_assert(cJSON_IsString(expected));
    cr_expect(actual && strcmp(actual, expected->valuestring) == 0, "%s: expected \"%s\", got \"%s\"", what,
              expected->valuestring, actual ? actual : "(null)");
}

static void expect_prefix_str(const char *what, const char *expected, const char *actual)
{
    cr_expect(actual && strncmp(actual, expected, strlen(expected)) == 0,
              "%s: expected to start with \"%s\", got \"%.300s\"", what, expected, actual ? actual : "(null)");
}

static void expect_prefix(const char *what, const cJSON *expected, const char *actual)
{
    cr_assert(cJSON_IsString(expected));
    expect_prefix_str(what, expected->valuestring, actual);
}

static const char *first_paragraph_from(const document *doc, size_t first_section)
{
    for (size_t i = first_section; i < doc->n_sections; i++) {
        if (i > first_section && doc->sections[i].level == 1)
            return NULL;
        if (doc->sections[i].n_paragraphs)
            return doc->sections[i].paragraphs[0].text;
    }
    return NULL;
}

static size_t section_index(const document *doc, const char *heading)
{
    for (size_t i = 0; i < doc->n_sections; i++)
        if (doc->sections[i].heading && strcmp(doc->sections[i].heading, heading) == 0)
            return i;
    cr_assert_fail("no section \"%s\"", heading);
    return 0;
}

static void expect_top_headings(const document *doc, const cJSON *expected)
{
    size_t n = 0;
    for (size_t i = 0; i < doc->n_sections; i++) {
        if (doc->sections[i].level != 1)
            continue;
        const cJSON *want = cJSON_GetArrayItem(expected, (int)n);
        char what[64];
        snprintf(what, sizeof what, "level-1 heading #%zu", n + 1);
        cr_assert(want, "%s is extra: \"%s\"", what, doc->sections[i].heading ? doc->sections[i].heading : "(null)");
        expect_string(what, want, doc->sections[i].heading);
        n++;
    }
    cr_expect_eq(n, (size_t)cJSON_GetArraySize(expected), "expected %d level-1 headings, got %zu",
                 cJSON_GetArraySize(expected), n);
}

static const char *meta_value(const document *doc, const char *key)
{
    for (size_t i = 0; i < doc->n_metadata; i++)
        if (strcmp(doc->metadata[i].key, key) == 0)
            return doc->metadata[i].value;
    return NULL;
}

static void check_golden(const char *name)
{
    cJSON *g = load_golden(name);
    const char *rel = cJSON_GetObjectItem(g, "file")->valuestring;
    document *doc = extract_corpus(rel);
    expect_string("format", cJSON_GetObjectItem(g, "format"), doc->format);
    expect_string("title", cJSON_GetObjectItem(g, "title"), doc->title);
    expect_string("language", cJSON_GetObjectItem(g, "language"), doc->language);
    const cJSON *v;
    if ((v = cJSON_GetObjectItem(g, "n_authors")))
        cr_expect_eq(doc->n_authors, (size_t)v->valueint, "authors: expected %d, got %zu", v->valueint, doc->n_authors);
    if ((v = cJSON_GetObjectItem(g, "first_author")))
        expect_string("first author", v, doc->n_authors ? doc->authors[0] : NULL);
    if ((v = cJSON_GetObjectItem(g, "authors"))) {
        cr_expect_eq(doc->n_authors, (size_t)cJSON_GetArraySize(v));
        for (size_t i = 0; i < doc->n_authors && i < (size_t)cJSON_GetArraySize(v); i++)
            expect_string("author", cJSON_GetArrayItem(v, (int)i), doc->authors[i]);
    }
    expect_top_headings(doc, cJSON_GetObjectItem(g, "top_headings"));
    if ((v = cJSON_GetObjectItem(g, "abstract_starts_with")))
        expect_prefix("abstract", v, first_paragraph_from(doc, section_index(doc, "Abstract")));
    if ((v = cJSON_GetObjectItem(g, "first_paragraph_starts_with"))) {
        cr_assert_gt(doc->n_sections, 0);
        size_t i = 0;
        while (i < doc->n_sections && doc->sections[i].n_paragraphs == 0)
            i++;
        cr_assert_lt(i, doc->n_sections, "no paragraphs");
        expect_prefix("first paragraph", v, doc->sections[i].paragraphs[0].text);
    }
    if ((v = cJSON_GetObjectItem(g, "first_body_paragraph_starts_with"))) {
        size_t abs = section_index(doc, "Abstract"), i = abs + 1;
        while (i < doc->n_sections && doc->sections[i].level != 1)
            i++;
        cr_assert_lt(i, doc->n_sections);
        expect_prefix("first body paragraph", v, first_paragraph_from(doc, i));
    }
    const cJSON *meta = cJSON_GetObjectItem(g, "metadata"), *item;
    cJSON_ArrayForEach(item, meta) {
        char what[128];
        snprintf(what, sizeof what, "metadata %s", item->string);
        expect_string(what, item, meta_value(doc, item->string));
    }
    document_free(doc);
    cJSON_Delete(g);
}

#define GOLDEN(test_name, file) \
    Test(xml, test_name) { check_golden(file); }

GOLDEN(jats_elife, "elife-02833-v2.xml")
GOLDEN(jats_bmc_microbiology, "pmc_1471-2180-11-174.nxml")
GOLDEN(jats_br_j_cancer, "pmc_6605965a.nxml")
GOLDEN(jats_ehp, "pmc_ehp-116-1694.nxml")
GOLDEN(jats_plos_one, "pmc_pone.0046493.nxml")
GOLDEN(tei_grobid_041, "grobid_0.4.1_vmi_intrusion.tei.xml")
GOLDEN(tei_specter, "grobid_acl2020_specter.tei.xml")
GOLDEN(tei_semantic_scholar, "grobid_naacl2018_N18-3011.tei.xml")
GOLDEN(akn_tanzania_swahili, "lawsafrica_tz_constitution_1977_swahili.xml")
GOLDEN(akn_ewca, "tna_ewca_civ_2025_673.xml")
GOLDEN(akn_ewca_enriched, "tna_ewca_civ_2025_673_enriched.xml")
GOLDEN(akn_uksc_rwanda, "tna_uksc_2023_42_rwanda.xml")
GOLDEN(docx_oloyowang, "tna_R_v_Oloyowang_2021_EWCA_Crim_1412.docx")
GOLDEN(docx_lloyd_v_google, "tna_lloyd_v_google_2021_UKSC_50.docx")
GOLDEN(docx_explanatory_notes, "ukpga_2021_c32_explanatory_notes.docx")

/* Every file in the XML corpus folders extracts to real text and has a
 * golden file (a new corpus file without one fails here). */
Test(xml, every_corpus_file_extracts)
{
    static const char *const dirs[] = {"xml/jats", "xml/tei", "xml/akn", "xml/docx"};
    size_t files = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char *dir = test_corpus_path(dirs[d]);
        DIR *dh = opendir(dir);
        cr_assert(dh, "cannot open %s", dir);
        struct dirent *ent;
        while ((ent = readdir(dh))) {
            if (ent->d_name[0] == '.')
                continue;
            char rel[512], golden[600];
            snprintf(rel, sizeof rel, "%s/%s", dirs[d], ent->d_name);
            document *doc = extract_corpus(rel);
            cr_expect_gt(doc->n_paragraphs_total, 20, "%s: only %zu paragraphs", rel, doc->n_paragraphs_total);
            cr_expect_gt(doc->full_text_len, 5000, "%s: only %zu bytes of text", rel, doc->full_text_len);
            snprintf(golden, sizeof golden, "tests/golden/xml/%s.json", ent->d_name);
            FILE *f = fopen(golden, "r");
            cr_expect(f, "no golden file %s", golden);
            if (f)
                fclose(f);
            document_free(doc);
            files++;
        }
        closedir(dh);
        free(dir);
    }
    cr_expect_geq(files, 15);
}

Test(xml, extraction_is_deterministic)
{
    document *a = extract_corpus("xml/akn/tna_uksc_2023_42_rwanda.xml");
    document *b = extract_corpus("xml/akn/tna_uksc_2023_42_rwanda.xml");
    char *ja = document_to_json(a, 0), *jb = document_to_json(b, 0);
    cr_expect_str_eq(ja, jb);
    free(ja);
    free(jb);
    document_free(a);
    document_free(b);
}

/* Paragraph content details a reader would check by eye. */
Test(xml, akn_numbers_glued_to_paragraphs)
{
    document *doc = extract_corpus("xml/akn/tna_ewca_civ_2025_673.xml");
    size_t intro = section_index(doc, "Introduction");
    expect_prefix_str("para 1", "1. The main issue in this case is whether",
                  doc->sections[intro].paragraphs[0].text);
    cr_expect_str_eq(meta_value(doc, "docket_number"), "CA-2023-002540");
    cr_expect_str_eq(meta_value(doc, "court"), "The Court of Appeal of England and Wales (Civil Division)");
    document_free(doc);

    doc = extract_corpus("xml/akn/lawsafrica_tz_constitution_1977_swahili.xml");
    size_t s1 = section_index(doc, "1. Kutangaza jamhuri ya muungano");
    cr_expect_eq(doc->sections[s1].level, 3);
    cr_expect_str_eq(doc->sections[s1].paragraphs[0].text, "Tanzania ni nchi moja na ni Jamhuri ya Muungano.");
    size_t s2 = section_index(doc, "2. Eneo la jamhuri ya muungano");
    expect_prefix_str("subsection", "(1) Eneo la Jamhuri ya Muungano ni eneo lote",
                  doc->sections[s2].paragraphs[0].text);
    document_free(doc);
}

Test(xml, jats_references_and_tables)
{
    document *doc = extract_corpus("xml/jats/pmc_pone.0046493.nxml");
    size_t refs = section_index(doc, "References");
    cr_expect_str_eq(doc->sections[refs].paragraphs[1].text,
                     "2 Garton NJ, Christensen H, Minnikin DE, Adegbola RA, Barer MR (2002) Intracellular "
                     "lipophilic inclusions of mycobacteria in vitro and in sputum. Microbiology-Sgm 148: 2951–2958");
    cr_expect_eq(doc->sections[refs].n_paragraphs, 58);
    document_free(doc);
}

/* ---- the CLML fixture ------------------------------------------------------- */

Test(xml, clml_fixture)
{
    size_t len;
    char *data = test_read_file("tests/fixtures/clml_sample.xml", &len);
    document *doc = extract_or_fail(data, len, 0, NULL, "clml_sample.xml");
    free(data);
    cr_expect_str_eq(doc->format, "clml");
    cr_expect_str_eq(doc->title, "Public Libraries (Opening Hours) Act 2024");
    cr_expect_str_eq(doc->language, "en");
    cr_expect_str_eq(meta_value(doc, "year"), "2024");
    cr_expect_str_eq(meta_value(doc, "enactment_date"), "2024-05-20");
    static const struct { const char *heading; int level; } sections[] = {
        {"Part 1 Opening hours", 1}, {"Minimum opening hours", 2}, {"Directions", 2}, {"Part 2 General", 1},
        {"Amendment of the Public Libraries and Museums Act 1964", 2}, {"Short title, commencement and extent", 2},
        {"SCHEDULE 1 Minimum hours by library size", 1}};
    cr_assert_eq(doc->n_sections, 1 + sizeof sections / sizeof sections[0]);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        cr_expect_str_eq(doc->sections[i + 1].heading, sections[i].heading);
        cr_expect_eq(doc->sections[i + 1].level, sections[i].level, "%s", sections[i].heading);
    }
    cr_expect_str_eq(doc->sections[0].paragraphs[0].text, "2024 CHAPTER 99");
    cr_expect_str_eq(doc->sections[2].paragraphs[0].text,
                     "1 (1) A library authority must secure that each public library in its area is open to the "
                     "public for at least 20 hours in each week.");
    cr_expect_str_eq(doc->sections[2].paragraphs[2].text, "(a) the library is closed for repairs, or");
    cr_expect_str_eq(doc->sections[5].paragraphs[1].text,
                     "(2A) A library authority must publish the opening hours of each library.");
    cr_expect_str_eq(doc->sections[7].paragraphs[2].text, "Small | 20");
    cr_expect_null(strstr(doc->full_text, "fictional amending Act"), "commentaries are skipped");
    document_free(doc);
}

/* ---- XHTML and generic ---------------------------------------------------------- */

Test(xml, xhtml_sections_lists_tables)
{
    document *doc = extract_string(
        "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en-GB\"><head>"
        "<title>My page</title><meta name=\"author\" content=\"Ann Author\"/><style>p{color:red}</style>"
        "<script>var leaked = 'SCRIPT-TEXT';</script></head><body><h1>Top</h1><p>Hello <b>world</b>.</p>"
        "<div>loose text<p>inner</p>tail</div><ul><li>one</li><li>two</li></ul><h2>Sub</h2>"
        "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td></td><td>3</td></tr></table>"
        "<script>alert('SCRIPT-TEXT')</script></body></html>");
    cr_expect_str_eq(doc->format, "xhtml");
    cr_expect_str_eq(doc->title, "My page");
    cr_expect_str_eq(doc->language, "en-GB");
    cr_assert_eq(doc->n_authors, 1);
    cr_expect_str_eq(doc->authors[0], "Ann Author");
    cr_expect_str_eq(doc->full_text,
                     "Top\n\nHello world.\n\nloose text\n\ninner\n\ntail\n\none\n\ntwo\n\nSub\n\na | b\n\n1 | 3");
    cr_assert_eq(doc->n_sections, 2);
    cr_expect_eq(doc->sections[0].level, 1);
    cr_expect_eq(doc->sections[1].level, 2);
    document_free(doc);
}

Test(xml, generic_vocabulary_warns)
{
    document *doc = extract_string("<feed><entry><title>T1</title><summary>Some <b>bold</b> text</summary>"
                                   "</entry><entry><id>x</id></entry></feed>");
    cr_expect_str_eq(doc->format, "xml");
    cr_expect_str_eq(doc->title, "T1");
    cr_assert_eq(doc->n_warnings, 1);
    cr_expect_str_eq(doc->warnings[0], "unrecognized XML vocabulary <feed>; generic extraction");
    cr_expect_str_eq(doc->full_text, "T1\n\nSome bold text\n\nx");
    document_free(doc);
}

Test(xml, language_tags)
{
    static const char *const cases[][2] = {{"eng", "en"}, {"swa", "sw"}, {"fre", "fr"}, {"en_GB", "en-GB"},
                                           {" EN ", "en"}, {"cym-GB", "cy-GB"}, {"xyz", "xyz"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *tag = xml_language_tag(cases[i][0]);
        cr_expect_str_eq(tag, cases[i][1], "%s", cases[i][0]);
        free(tag);
    }
    cr_expect_null(xml_language_tag("  "));
    cr_expect_null(xml_language_tag(NULL));
}

/* ---- limits ----------------------------------------------------------------------- */

Test(xml, text_limit_stops_with_warning)
{
    char *path = test_corpus_path("xml/jats/elife-02833-v2.xml");
    size_t len;
    char *data = test_read_file(path, &len);
    extract_options opts = {.max_text_bytes = 2000};
    document *doc = extract_or_fail(data, len, 0, &opts, "elife");
    cr_expect_lt(doc->full_text_len, 2000 + 5000, "text kept growing: %zu", doc->full_text_len);
    int warned = 0;
    for (size_t i = 0; i < doc->n_warnings; i++)
        warned |= strstr(doc->warnings[i], "text limit of 2000 bytes reached") != NULL;
    cr_expect(warned);
    document_free(doc);
    free(data);
    free(path);
}

Test(xml, input_limit_is_an_error)
{
    char *path = test_corpus_path("xml/tei/grobid_acl2020_specter.tei.xml");
    size_t len;
    char *data = test_read_file(path, &len);
    extract_options opts = {.max_input_bytes = 1000};
    document *doc = NULL;
    perr err = {{0}};
    cr_expect_eq(xml_extract(data, len, &opts, &doc, &err), -1);
    cr_expect_null(doc);
    cr_expect(strstr(err.msg, "exceeds the 1000-byte XML limit"), "%s", err.msg);
    free(data);
    free(path);
}

Test(xml, depth_limit_warns)
{
    char xml[4096] = "<root>";
    for (int i = 0; i < 40; i++)
        strcat(xml, "<d>");
    strcat(xml, "deep text");
    for (int i = 0; i < 40; i++)
        strcat(xml, "</d>");
    strcat(xml, "<p>shallow</p></root>");
    extract_options opts = {.max_depth = 10};
    document *doc = extract_or_fail(xml, strlen(xml), 0, &opts, "deep");
    cr_expect_null(strstr(doc->full_text, "deep text"));
    cr_expect(strstr(doc->full_text, "shallow"));
    int warned = 0;
    for (size_t i = 0; i < doc->n_warnings; i++)
        warned |= strstr(doc->warnings[i], "nested deeper than 10") != NULL;
    cr_expect(warned);
    document_free(doc);
}

/* ---- DOCX features on a package built in memory -------------------------------- */

static const char FEATURE_STYLES[] =
    "<w:styles xmlns:w=\"" DOCX_W_NS "\">"
    "<w:docDefaults><w:rPrDefault><w:rPr><w:lang w:val=\"de-DE\"/></w:rPr></w:rPrDefault></w:docDefaults>"
    "<w:style w:type=\"paragraph\" w:styleId=\"Standard\"><w:name w:val=\"Normal\"/></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"berschrift1\"><w:name w:val=\"heading 1\"/>"
    "<w:basedOn w:val=\"Standard\"/></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"MeineUnterueberschrift\"><w:name w:val=\"Custom Sub\"/>"
    "<w:basedOn w:val=\"berschrift2\"/></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"berschrift2\"><w:name w:val=\"heading 2\"/></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"Titel\"><w:name w:val=\"Title\"/></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"Loop1\"><w:name w:val=\"Loop one\"/><w:basedOn w:val=\"Loop2\"/></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"Loop2\"><w:name w:val=\"Loop two\"/><w:basedOn w:val=\"Loop1\"/></w:style>"
    "</w:styles>";

static const char FEATURE_FOOTNOTES[] =
    "<w:footnotes xmlns:w=\"" DOCX_W_NS "\">"
    "<w:footnote w:type=\"separator\" w:id=\"-1\"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>"
    "<w:footnote w:id=\"7\"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space=\"preserve\"> See the annex.</w:t></w:r></w:p></w:footnote>"
    "<w:footnote w:id=\"3\"><w:p><w:r><w:t>Second note.</w:t></w:r></w:p></w:footnote>"
    "</w:footnotes>";

static const char FEATURE_CORE[] =
    "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" "
    "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\">"
    "<dc:creator>Ada Lovelace; Charles Babbage</dc:creator>"
    "<dcterms:created>2024-01-02T03:04:05Z</dcterms:created></cp:coreProperties>";

static const char FEATURE_BODY[] =
    "<w:p><w:pPr><w:pStyle w:val=\"Titel\"/></w:pPr><w:r><w:t>Der Bericht</w:t></w:r></w:p>"
    "<w:p><w:r><w:t>Intro</w:t></w:r><w:r><w:tab/><w:t>text</w:t><w:br/><w:t>line two</w:t></w:r></w:p>"
    "<w:p><w:pPr><w:pStyle w:val=\"berschrift1\"/></w:pPr><w:r><w:t>Erster Teil</w:t></w:r></w:p>"
    "<w:p><w:r><w:t xml:space=\"preserve\">Kept </w:t></w:r><w:del w:id=\"1\" w:author=\"x\"><w:r>"
    "<w:delText>DELETED-WORDS </w:delText></w:r></w:del><w:ins w:id=\"2\" w:author=\"x\"><w:r><w:t>inserted</w:t>"
    "</w:r></w:ins><w:r><w:t xml:space=\"preserve\"> end</w:t></w:r><w:r><w:footnoteReference w:id=\"7\"/></w:r>"
    "<w:r><w:t>.</w:t></w:r></w:p>"
    "<w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText> PAGEREF _Toc1 \\h </w:instrText></w:r>"
    "<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>Seite 4</w:t></w:r>"
    "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>"
    "<w:hyperlink w:anchor=\"x\"><w:r><w:t xml:space=\"preserve\"> link</w:t></w:r></w:hyperlink></w:p>"
    "<w:sdt><w:sdtContent><w:p><w:pPr><w:pStyle w:val=\"MeineUnterueberschrift\"/></w:pPr><w:r><w:t>Unterpunkt</w:t>"
    "</w:r></w:p></w:sdtContent></w:sdt>"
    "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>A1</w:t></w:r></w:p></w:tc><w:tc><w:p/></w:tc>"
    "<w:tc><w:p><w:r><w:t>C1</w:t></w:r></w:p><w:p><w:r><w:t>more</w:t></w:r></w:p></w:tc></w:tr>"
    "<w:tr><w:tc><w:p><w:r><w:t>A2</w:t></w:r><w:r><w:footnoteReference w:id=\"3\"/></w:r></w:p></w:tc></w:tr></w:tbl>"
    "<w:p><w:pPr><w:pStyle w:val=\"Loop1\"/></w:pPr><w:r><w:t>Style loop is body text</w:t></w:r></w:p>"
    "<w:p><w:pPr><w:outlineLvl w:val=\"0\"/></w:pPr><w:r><w:t>Direct outline heading</w:t></w:r></w:p>"
    "<w:p><w:r><w:drawing><w:t>DRAWING-TEXT</w:t></w:drawing></w:r></w:p>"
    "<w:sectPr/>";

Test(xml, docx_features)
{
    size_t len;
    char *zip = docx_build(FEATURE_BODY, FEATURE_STYLES, FEATURE_FOOTNOTES, FEATURE_CORE, &len);
    document *doc = extract_or_fail(zip, len, 1, NULL, "feature docx");
    free(zip);
    cr_expect_str_eq(doc->format, "docx");
    cr_expect_str_eq(doc->title, "Der Bericht");
    cr_expect_str_eq(doc->language, "de-DE");
    cr_assert_eq(doc->n_authors, 2);
    cr_expect_str_eq(doc->authors[1], "Charles Babbage");
    cr_expect_str_eq(meta_value(doc, "created"), "2024-01-02T03:04:05Z");
    cr_expect_str_eq(doc->full_text,
                     "Der Bericht\n\nIntro text line two\n\nErster Teil\n\nKept inserted end[1].\n\nSeite 4 link\n\n"
                     "Unterpunkt\n\nA1 | C1 more\n\nA2[2]\n\nStyle loop is body text\n\nDirect outline heading\n\n"
                     "Footnotes\n\n[1] See the annex.\n\n[2] Second note.");
    static const struct { const char *heading; int level; } want[] = {
        {"Der Bericht", 1}, {"Erster Teil", 1}, {"Unterpunkt", 2}, {"Direct outline heading", 1}, {"Footnotes", 1}};
    cr_assert_eq(doc->n_sections, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < doc->n_sections; i++) {
        cr_expect_str_eq(doc->sections[i].heading, want[i].heading);
        cr_expect_eq(doc->sections[i].level, want[i].level, "%s", want[i].heading);
    }
    document_free(doc);
}

Test(xml, docx_without_styles_uses_builtin_ids)
{
    size_t len;
    char *zip = docx_build("<w:p><w:pPr><w:pStyle w:val=\"Heading2\"/></w:pPr><w:r><w:t>Two</w:t></w:r></w:p>"
                           "<w:p><w:r><w:t>Body</w:t></w:r></w:p>",
                           NULL, NULL, NULL, &len);
    document *doc = extract_or_fail(zip, len, 1, NULL, "no styles");
    free(zip);
    cr_assert_eq(doc->n_sections, 1);
    cr_expect_str_eq(doc->sections[0].heading, "Two");
    cr_expect_eq(doc->sections[0].level, 2);
    cr_expect_null(doc->title);
    document_free(doc);
}

Test(xml, akn_notes_lists_and_continuation)
{
    document *doc = extract_string(
        "<akomaNtoso xmlns=\"http://docs.oasis-open.org/legaldocml/ns/akn/3.0\"><judgment name=\"judgment\">"
        "<meta><identification source=\"#t\"><FRBRWork><FRBRname value=\"A v B\"/></FRBRWork>"
        "<FRBRExpression><FRBRlanguage language=\"fra\"/></FRBRExpression></identification></meta>"
        "<header><p><party>A</party> v <party>B</party><br/>before <judge>J One</judge></p></header>"
        "<judgmentBody><decision><level><num>A.</num><heading>Intro</heading>"
        "<paragraph><num>1.</num><content><p>Text<authorialNote marker=\"7\"><p>the note</p></authorialNote>.</p>"
        "</content></paragraph><paragraph><num>2.</num><intro><p>Lead:</p></intro><subparagraph><num>(a)</num>"
        "<content><p>first</p></content></subparagraph></paragraph></level>"
        "<paragraph><num>3.</num><content><p>after the level</p></content></paragraph>"
        "</decision></judgmentBody></judgment></akomaNtoso>");
    cr_expect_str_eq(doc->title, "A v B");
    cr_expect_str_eq(doc->language, "fr");
    cr_expect_str_eq(meta_value(doc, "parties"), "A; B");
    cr_expect_str_eq(meta_value(doc, "judges"), "J One");
    cr_expect_str_eq(doc->full_text, "A v B before J One\n\nA. Intro\n\n1. Text.\n\n[7] the note\n\n2. Lead:\n\n"
                                     "(a) first\n\n3. after the level");
    cr_assert_eq(doc->n_sections, 3);
    cr_expect_null(doc->sections[2].heading, "paragraph 3 is not inside \"Intro\"");
    cr_expect_eq(doc->sections[2].level, 1);
    document_free(doc);
}

Test(xml, docx_broken_auxiliary_parts_are_skipped)
{
    size_t len;
    char *zip = docx_build("<w:p><w:r><w:t>body text</w:t></w:r></w:p>", "<w:styles", "not xml", NULL, &len);
    document *doc = extract_or_fail(zip, len, 1, NULL, "broken styles");
    free(zip);
    cr_expect_str_eq(doc->full_text, "body text");
    cr_assert_eq(doc->n_warnings, 2);
    cr_expect(strstr(doc->warnings[0], "ignored the styles part: word/styles.xml: not well-formed XML"), "%s",
              doc->warnings[0]);
    cr_expect(strstr(doc->warnings[1], "ignored the footnotes part"), "%s", doc->warnings[1]);
    document_free(doc);
}
