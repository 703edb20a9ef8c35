/* xml.c — xml_extract(): parse safely, recognise the vocabulary from the
 * root element and its namespace, and hand the tree to its extractor.
 *
 *   article (no namespace), pmc-articleset  -> JATS   ("jats")
 *   TEI / teiCorpus / TEI.2                  -> TEI    ("tei")
 *   akomaNtoso                               -> Akoma Ntoso ("akn")
 *   Legislation in the legislation.gov.uk ns -> CLML   ("clml")
 *   html (XHTML namespace or none)           -> XHTML  ("xhtml")
 *   anything else                            -> generic ("xml"), with a warning
 *
 * The input limit is XML_SAFE_DEFAULT_MAX_BYTES (64 MiB), or
 * opts->max_input_bytes when that is smaller: a libxml2 tree takes several
 * times its input in memory, so the general (PDF-sized) input limit would
 * let an XML file exhaust the extraction sandbox's memory instead of
 * failing with a clear "too large" error.
 */
#include "extractors/xml/xml.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "extractors/extract.h"
#include "extractors/xml/xml_emit.h"
#include "extractors/xml/xml_safe.h"
#include "extractors/xml/xml_vocab.h"

typedef struct vocabulary {
    const char *format, *media_type;
    void (*extract)(const xmlNode *root, xml_emit *e);
} vocabulary;

static const vocabulary JATS = {"jats", "application/xml", jats_extract};
static const vocabulary TEI = {"tei", "application/tei+xml", tei_extract};
static const vocabulary AKN = {"akn", "application/xml", akn_extract};
static const vocabulary CLML = {"clml", "application/xml", clml_extract};
static const vocabulary XHTML = {"xhtml", "application/xhtml+xml", xhtml_extract};
static const vocabulary GENERIC = {"xml", "application/xml", generic_xml_extract};

static int ns_contains(const xmlNode *n, const char *needle)
{
    const char *ns = xn_ns(n);
    return ns && strstr(ns, needle) != NULL;
}

static const vocabulary *recognise(const xmlNode *root)
{
    if ((xn_is_ns(root, NULL, "article") || xn_is_ns(root, NULL, "pmc-articleset")))
        return &JATS;
    if (xn_is_ns(root, NS_TEI, "TEI") || xn_is_ns(root, NS_TEI, "teiCorpus") || xn_is_ns(root, NULL, "TEI") ||
        xn_is_ns(root, NULL, "TEI.2"))
        return &TEI;
    if (xn_is(root, "akomaNtoso") && (ns_contains(root, "akn") || ns_contains(root, "akomantoso")))
        return &AKN;
    if (xn_is_ns(root, NS_CLML, "Legislation"))
        return &CLML;
    if (xn_is_ns(root, NS_XHTML, "html") || xn_is_ns(root, NULL, "html"))
        return &XHTML;
    return &GENERIC;
}

static void report_parser_notes(document *doc, const xml_parse_report *rep)
{
    if (rep->n_warnings > 0)
        document_warn(doc, "XML parser reported %d warning%s; first: %s", rep->n_warnings,
                      rep->n_warnings == 1 ? "" : "s", rep->first_warning);
    if (rep->refused_loads > 0)
        document_warn(doc, "refused to load %d external resource%s (external entities and DTDs are never read)",
                      rep->refused_loads, rep->refused_loads == 1 ? "" : "s");
}

int xml_extract(const void *data, size_t len, const struct extract_options *opts, document **out, perr *err)
{
    *out = NULL;
    size_t max_bytes = XML_SAFE_DEFAULT_MAX_BYTES;
    if (opts && opts->max_input_bytes && opts->max_input_bytes < max_bytes)
        max_bytes = opts->max_input_bytes;
    xmlDoc *tree;
    xml_parse_report rep;
    if (xml_safe_parse(data, len, max_bytes, "XML", &tree, &rep, err) < 0)
        return -1;
    const xmlNode *root = xmlDocGetRootElement(tree);
    const vocabulary *v = recognise(root);

    document *doc = document_new(v->format, v->media_type);
    if (v == &GENERIC)
        document_warn(doc, "unrecognized XML vocabulary <%s>; generic extraction", xn_name(root));
    report_parser_notes(doc, &rep);
    xml_emit e;
    xe_init(&e, doc, opts);
    v->extract(root, &e);
    xe_finish(&e);
    xmlFreeDoc(tree);
    *out = doc;
    return 0;
}
