/* test_xml_hostile.c — the XML and DOCX extractors on hostile input (suite
 * "xml_hostile"): every file of the corpus's xml/hostile folder, crafted
 * XXE payloads pointing at a secret file we create (its marker must never
 * appear), /etc/passwd and network entities, the refusing entity loader,
 * entity expansion, nesting depth, and DOCX zip bombs and broken packages
 * built in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "extractors/extract.h"
#include "extractors/xml/xml.h"
#include "tests/support.h"
#include "tests/zip_build.h"

#define SECRET_MARKER "PRECIS-SECRET-MARKER-5d41402a"

typedef struct outcome {
    int rc;
    perr err;
    document *doc;
} outcome;

static outcome run(const void *data, size_t len, int docx, const extract_options *opts)
{
    outcome o = {0};
    o.rc = docx ? docx_extract(data, len, opts, &o.doc, &o.err) : xml_extract(data, len, opts, &o.doc, &o.err);
    if (o.rc == 0) {
        cr_assert(o.doc, "success without a document");
    } else {
        cr_assert_eq(o.rc, -1);
        cr_assert_null(o.doc, "failure left a document");
        cr_assert(o.err.msg[0], "failure without a message");
        cr_assert_null(strchr(o.err.msg, '\n'), "multi-line message: %s", o.err.msg);
    }
    return o;
}

static outcome run_string(const char *xml) { return run(xml, strlen(xml), 0, NULL); }

static outcome run_corpus(const char *rel)
{
    char *path = test_corpus_path(rel);
    size_t len;
    char *data = test_read_file(path, &len);
    outcome o = run(data, len, 0, NULL);
    free(data);
    free(path);
    return o;
}

static void expect_error(outcome *o, const char *fragment)
{
    cr_expect_eq(o->rc, -1, "expected an error containing \"%s\"", fragment);
    if (o->rc == -1)
        cr_expect(strstr(o->err.msg, fragment), "message \"%s\" lacks \"%s\"", o->err.msg, fragment);
    document_free(o->doc);
}

static document *expect_ok(outcome *o)
{
    cr_assert_eq(o->rc, 0, "unexpected error: %s", o->err.msg);
    return o->doc;
}

/* Nothing from outside the input may appear anywhere in the result. */
static void expect_no_leak(const document *doc, const char *marker)
{
    char *json = document_to_json(doc, 0);
    cr_expect_null(strstr(json, marker), "result contains \"%s\"", marker);
    free(json);
}

/* ---- the hostile corpus ------------------------------------------------------ */

Test(xml_hostile, cyclic_entities)
{
    outcome o = run_corpus("xml/hostile/defusedxml_cyclic_entity.xml");
    expect_error(&o, "entity reference loop");
}

Test(xml_hostile, billion_laughs)
{
    outcome o = run_corpus("xml/hostile/libxml2_lol_classic.xml");
    expect_error(&o, "entity");
    o = run_corpus("xml/hostile/defusedxml_xmlbomb.xml");
    expect_error(&o, "entity");
}

Test(xml_hostile, empty_and_truncated)
{
    outcome o = run_corpus("xml/hostile/libxml2_empty.xml");
    expect_error(&o, "document is empty");
    o = run_corpus("xml/hostile/libxml2_unclosed_element_truncated.xml");
    expect_error(&o, "Premature end of data");
    o = run_string("<a><b>text</b");
    expect_error(&o, "not well-formed");
}

Test(xml_hostile, bad_encodings)
{
    outcome o = run_corpus("xml/hostile/libxml2_invalid_utf8.xml");
    expect_error(&o, "not well-formed");
    o = run_corpus("xml/hostile/libxml2_unsupported_encoding.xml");
    expect_error(&o, "Unsupported encoding");
    o = run_corpus("xml/hostile/libxml2_wrong_encoding_decl_utf8_latin1.xml");
    expect_error(&o, "not proper UTF-8");
}

Test(xml_hostile, external_dtd_is_not_fetched)
{
    outcome o = run_corpus("xml/hostile/defusedxml_external_dtd.xml");
    document *doc = expect_ok(&o);
    cr_expect_str_eq(doc->format, "xhtml");
    cr_expect_str_eq(doc->full_text, "text");
    document_free(doc);
}

Test(xml_hostile, external_entities_are_not_resolved)
{
    static const char *const files[] = {"xml/hostile/defusedxml_external_file_entity.xml",
                                        "xml/hostile/defusedxml_external_http_entity.xml",
                                        "xml/hostile/libxml2_rec_ext_ent.xml"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        outcome o = run_corpus(files[i]);
        document *doc = expect_ok(&o);
        cr_expect_str_eq(doc->full_text, "", "%s produced \"%s\"", files[i], doc->full_text);
        document_free(doc);
    }
}

Test(xml_hostile, xinclude_is_never_processed)
{
    outcome o = run_corpus("xml/hostile/libxml2_xinclude_max_recurse.xml");
    document *doc = expect_ok(&o);
    cr_expect_str_eq(doc->full_text, "");
    document_free(doc);
}

Test(xml_hostile, sloppy_passwd_payload)
{
    outcome o = run_corpus("xml/hostile/payloadsallthethings_xxe_etc_passwd.xml");
    if (o.rc == 0)
        expect_no_leak(o.doc, "root:");
    expect_error(&o, "not well-formed");
}

/* Every hostile file ends in text or a clear error, and nothing grows. */
Test(xml_hostile, every_hostile_file_is_contained)
{
    static const char *const files[] = {
        "defusedxml_cyclic_entity.xml", "defusedxml_external_dtd.xml", "defusedxml_external_file_entity.xml",
        "defusedxml_external_http_entity.xml", "defusedxml_xmlbomb.xml", "libxml2_empty.xml",
        "libxml2_invalid_utf8.xml", "libxml2_lol_classic.xml", "libxml2_rec_ext_ent.xml",
        "libxml2_unclosed_element_truncated.xml", "libxml2_unsupported_encoding.xml",
        "libxml2_wrong_encoding_decl_utf8_latin1.xml", "libxml2_xinclude_max_recurse.xml",
        "payloadsallthethings_xxe_etc_passwd.xml", "rec_ext.ent"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "xml/hostile/%s", files[i]);
        outcome o = run_corpus(rel);
        if (o.rc == 0) {
            cr_expect_lt(o.doc->full_text_len, 4096, "%s grew to %zu bytes", rel, o.doc->full_text_len);
            expect_no_leak(o.doc, "root:x:0:0");
            document_free(o.doc);
        }
    }
}

/* ---- crafted XXE against a secret file --------------------------------------- */

static void expect_xml_without_secret(const char *xml)
{
    outcome o = run_string(xml);
    if (o.rc == 0) {
        expect_no_leak(o.doc, SECRET_MARKER);
        document_free(o.doc);
    }
}

Test(xml_hostile, xxe_never_reads_local_files)
{
    char *secret = test_write_tmp("secret.txt", SECRET_MARKER "\n");
    char *dtd = test_write_tmp("secret.dtd", "<!ENTITY leak \"" SECRET_MARKER "\">");
    char *xml = NULL;

    /* general external entity in content: parses, entity dropped */
    cr_assert_geq(asprintf(&xml, "<!DOCTYPE r [<!ENTITY x SYSTEM \"file://%s\">]><r>before &x; after</r>", secret), 0);
    outcome o = run_string(xml);
    document *doc = expect_ok(&o);
    cr_expect_str_eq(doc->full_text, "before after");
    expect_no_leak(doc, SECRET_MARKER);
    document_free(doc);
    free(xml);

    /* the same inside a JATS title (vocabulary extractors use the same walk) */
    cr_assert_geq(asprintf(&xml,
                           "<!DOCTYPE article [<!ENTITY x SYSTEM \"%s\">]><article><front><article-meta>"
                           "<title-group><article-title>Title &x;</article-title></title-group>"
                           "</article-meta></front><body><p>&x;</p></body></article>",
                           secret), 0);
    o = run_string(xml);
    doc = expect_ok(&o);
    cr_expect_str_eq(doc->title, "Title");
    expect_no_leak(doc, SECRET_MARKER);
    document_free(doc);
    free(xml);

    /* parameter entity pulling in a DTD that defines the leaking entity */
    cr_assert_geq(asprintf(&xml, "<!DOCTYPE r [<!ENTITY %% p SYSTEM \"file://%s\"> %%p;]><r>&leak;</r>", dtd), 0);
    expect_xml_without_secret(xml);
    free(xml);

    /* external DTD subset */
    cr_assert_geq(asprintf(&xml, "<!DOCTYPE r SYSTEM \"file://%s\"><r>&leak; text</r>", dtd), 0);
    expect_xml_without_secret(xml);
    free(xml);

    /* external entity in an attribute value (forbidden by XML itself) */
    cr_assert_geq(asprintf(&xml, "<!DOCTYPE r [<!ENTITY x SYSTEM \"%s\">]><r a=\"&x;\">t</r>", secret), 0);
    expect_xml_without_secret(xml);
    free(xml);

    /* XInclude of the file as text */
    cr_assert_geq(asprintf(&xml,
                           "<r xmlns:xi=\"http://www.w3.org/2001/XInclude\"><p>x</p>"
                           "<xi:include href=\"file://%s\" parse=\"text\"/></r>",
                           secret), 0);
    expect_xml_without_secret(xml);
    free(xml);

    free(secret);
    free(dtd);
}

Test(xml_hostile, xxe_etc_passwd_and_network)
{
    outcome o = run_string("<!DOCTYPE data [<!ENTITY file SYSTEM \"file:///etc/passwd\">]>"
                           "<data>before &file; after</data>");
    document *doc = expect_ok(&o);
    cr_expect_str_eq(doc->full_text, "before after");
    expect_no_leak(doc, "root:");
    document_free(doc);

    /* a network entity: nothing listens on port 9 (discard), nothing may be fetched */
    o = run_string("<!DOCTYPE data [<!ENTITY net SYSTEM \"http://127.0.0.1:9/x.xml\">]><data>a &net; b</data>");
    doc = expect_ok(&o);
    cr_expect_str_eq(doc->full_text, "a b");
    document_free(doc);
}

/* The process-wide loader refuses what libxml2's default loader would read. */
Test(xml_hostile, entity_loader_refuses)
{
    char *secret = test_write_tmp("loader.txt", SECRET_MARKER);
    xml_safe_init();
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    cr_assert(ctxt);
    xmlParserInputPtr in = xmlLoadExternalEntity(secret, NULL, ctxt);
    cr_expect_null(in, "the external entity loader opened %s", secret);
    if (in)
        xmlFreeInputStream(in);
    in = xmlLoadExternalEntity("file:///etc/passwd", NULL, ctxt);
    cr_expect_null(in);
    if (in)
        xmlFreeInputStream(in);
    xmlFreeParserCtxt(ctxt);
    free(secret);
}

Test(xml_hostile, internal_entities_are_not_substituted)
{
    outcome o = run_string("<!DOCTYPE r [<!ENTITY e \"EXPANDED-TEXT\">]><r a=\"&e;\">a &e; b</r>");
    document *doc = expect_ok(&o);
    cr_expect_str_eq(doc->full_text, "a b");
    document_free(doc);
    o = run_string("<r>undefined &nbsp; entity</r>");
    expect_error(&o, "not defined");
}

Test(xml_hostile, excessive_depth_is_an_error)
{
    size_t n = 300;
    char *xml = malloc(n * 7 + 16);
    cr_assert(xml);
    char *p = xml;
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "<d>");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "</d>");
    outcome o = run(xml, (size_t)(p - xml), 0, NULL);
    expect_error(&o, "depth");
    free(xml);
}

/* ---- DOCX bombs and broken packages -------------------------------------------- */

static const char MINIMAL_BODY[] = "<w:p><w:r><w:t>hello</w:t></w:r></w:p>";

/* A DOCX whose document.xml is `size` bytes: a valid document padded with
 * spaces (compresses about 1000:1). */
static char *padded_docx(size_t size, size_t *len)
{
    char *doc = malloc(size + 1);
    cr_assert(doc);
    const char *head = "<w:document xmlns:w=\"" DOCX_W_NS "\"><w:body><w:p><w:r><w:t>hello</w:t></w:r></w:p>";
    const char *tail = "</w:body></w:document>";
    size_t h = strlen(head), t = strlen(tail);
    cr_assert_gt(size, h + t);
    memcpy(doc, head, h);
    memset(doc + h, ' ', size - h - t);
    memcpy(doc + size - t, tail, t + 1);
    zip_part parts[] = {{"_rels/.rels", DOCX_PACKAGE_RELS, 0}, {"word/document.xml", doc, size}};
    char *zip = zip_build(parts, 2, len);
    free(doc);
    return zip;
}

Test(xml_hostile, docx_sanity_of_padded_package)
{
    size_t len;
    char *zip = padded_docx(4096, &len);
    outcome o = run(zip, len, 1, NULL);
    document *doc = expect_ok(&o);
    cr_expect_str_eq(doc->full_text, "hello");
    document_free(doc);
    free(zip);
}

Test(xml_hostile, docx_entry_over_the_limit)
{
    size_t len;
    char *zip = padded_docx((size_t)8 << 20, &len);
    cr_expect_lt(len, (size_t)1 << 20, "not a compressed bomb: %zu bytes", len);
    extract_options opts = {.max_entry_bytes = (size_t)1 << 20};
    outcome o = run(zip, len, 1, &opts);
    expect_error(&o, "zip entry too large");
    free(zip);
}

Test(xml_hostile, docx_bomb_at_default_limits)
{
    size_t len;
    char *zip = padded_docx((size_t)70 << 20, &len);
    outcome o = run(zip, len, 1, NULL);
    expect_error(&o, "zip entry too large");
    free(zip);
}

Test(xml_hostile, docx_compression_ratio)
{
    size_t len;
    char *zip = padded_docx((size_t)20 << 20, &len);
    outcome o = run(zip, len, 1, NULL);
    expect_error(&o, "suspicious compression ratio");
    free(zip);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static unsigned le16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

/* Rewrite the declared uncompressed size of one entry in both the local
 * and the central headers: the archive now lies about it. */
static int forge_declared_size(unsigned char *zip, size_t len, const char *name, uint32_t size)
{
    size_t name_len = strlen(name);
    int patched = 0;
    for (size_t i = 0; i + 46 < len; i++) {
        if (memcmp(zip + i, "PK\3\4", 4) == 0 && le16(zip + i + 26) == name_len &&
            i + 30 + name_len <= len && memcmp(zip + i + 30, name, name_len) == 0) {
            put_le32(zip + i + 22, size);
            patched++;
        } else if (memcmp(zip + i, "PK\1\2", 4) == 0 && le16(zip + i + 28) == name_len &&
                   i + 46 + name_len <= len && memcmp(zip + i + 46, name, name_len) == 0) {
            put_le32(zip + i + 24, size);
            patched++;
        }
    }
    return patched;
}

Test(xml_hostile, docx_lying_sizes_are_caught)
{
    size_t len;
    char *zip = padded_docx((size_t)4 << 20, &len);
    cr_assert_eq(forge_declared_size((unsigned char *)zip, len, "word/document.xml", 1000), 2);
    extract_options opts = {.max_entry_bytes = (size_t)1 << 20};
    outcome o = run(zip, len, 1, &opts);
    if (o.rc == 0) {
        cr_expect_lt(o.doc->full_text_len, (size_t)1 << 20);
        document_free(o.doc);
    }
    free(zip);
}

Test(xml_hostile, docx_too_many_entries)
{
    size_t n = 10001;
    zip_part *parts = calloc(n, sizeof *parts);
    char (*names)[32] = calloc(n, sizeof *names);
    cr_assert(parts && names);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "f%zu.txt", i);
        parts[i] = (zip_part){names[i], "x", 1};
    }
    size_t len;
    char *zip = zip_build(parts, n, &len);
    outcome o = run(zip, len, 1, NULL);
    expect_error(&o, "too many entries");
    free(zip);
    free(parts);
    free(names);
}

Test(xml_hostile, docx_missing_main_part)
{
    zip_part parts[] = {{"_rels/.rels", DOCX_PACKAGE_RELS, 0}, {"word/other.xml", "<x/>", 0}};
    size_t len;
    char *zip = zip_build(parts, 2, &len);
    outcome o = run(zip, len, 1, NULL);
    expect_error(&o, "main document part word/document.xml is missing");
    free(zip);
}

Test(xml_hostile, docx_broken_or_missing_rels)
{
    char *part = NULL;
    cr_assert_geq(asprintf(&part, "<w:document xmlns:w=\"" DOCX_W_NS "\"><w:body>%s</w:body></w:document>",
                           MINIMAL_BODY), 0);
    zip_part broken[] = {{"_rels/.rels", "<Relationships><Relationship Type=", 0}, {"word/document.xml", part, 0}};
    size_t len;
    char *zip = zip_build(broken, 2, &len);
    outcome o = run(zip, len, 1, NULL);
    expect_error(&o, "_rels/.rels");
    free(zip);

    zip_part none[] = {{"word/document.xml", part, 0}};
    zip = zip_build(none, 1, &len);
    o = run(zip, len, 1, NULL);
    expect_error(&o, "no officeDocument relationship");
    free(zip);

    zip_part escaping[] = {
        {"_rels/.rels",
         "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"r\" "
         "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
         "Target=\"../../etc/passwd\"/></Relationships>",
         0},
        {"word/document.xml", part, 0}};
    zip = zip_build(escaping, 2, &len);
    o = run(zip, len, 1, NULL);
    expect_error(&o, "no officeDocument relationship");
    free(zip);
    free(part);
}

Test(xml_hostile, docx_not_a_zip_or_not_word)
{
    outcome o = run("PK\3\4 this is not really a zip archive at all", 44, 1, NULL);
    expect_error(&o, "zip");
    zip_part parts[] = {{"_rels/.rels", DOCX_PACKAGE_RELS, 0}, {"word/document.xml", "<html><body/></html>", 0}};
    size_t len;
    char *zip = zip_build(parts, 2, &len);
    o = run(zip, len, 1, NULL);
    expect_error(&o, "not a WordprocessingML document");
    free(zip);
}

Test(xml_hostile, docx_xxe_in_document_part)
{
    char *secret = test_write_tmp("docx-secret.txt", SECRET_MARKER);
    char *part = NULL;
    cr_assert_geq(asprintf(&part,
                           "<!DOCTYPE w:document [<!ENTITY x SYSTEM \"file://%s\">]><w:document xmlns:w=\"" DOCX_W_NS
                           "\"><w:body><w:p><w:r><w:t>a &x; b</w:t></w:r></w:p></w:body></w:document>",
                           secret), 0);
    zip_part parts[] = {{"_rels/.rels", DOCX_PACKAGE_RELS, 0}, {"word/document.xml", part, 0}};
    size_t len;
    char *zip = zip_build(parts, 2, &len);
    outcome o = run(zip, len, 1, NULL);
    document *doc = expect_ok(&o);
    cr_expect_str_eq(doc->full_text, "a b");
    expect_no_leak(doc, SECRET_MARKER);
    document_free(doc);
    free(zip);
    free(part);
    free(secret);
}
