/* xml_vocab.h — one extractor per XML vocabulary, chosen by xml.c from the
 * root element and its namespace. Each reads a parsed, trusted-shape tree
 * (but untrusted content) and adds title, authors, language, metadata and
 * sections to the emitter's document. None can fail once the parse worked:
 * missing parts simply yield less text (and, for generic XML, a warning).
 */
#ifndef PRECIS_XML_VOCAB_H
#define PRECIS_XML_VOCAB_H

#include <libxml/tree.h>

#include "extractors/xml/xml_emit.h"

#define NS_TEI   "http://www.tei-c.org/ns/1.0"
#define NS_AKN3  "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
#define NS_CLML  "http://www.legislation.gov.uk/namespaces/legislation"
#define NS_UKM   "http://www.legislation.gov.uk/namespaces/metadata"
#define NS_XHTML "http://www.w3.org/1999/xhtml"
#define NS_DC    "http://purl.org/dc/elements/1.1/"

void jats_extract(const xmlNode *root, xml_emit *e);
void tei_extract(const xmlNode *root, xml_emit *e);
void akn_extract(const xmlNode *root, xml_emit *e);
void clml_extract(const xmlNode *root, xml_emit *e);
void xhtml_extract(const xmlNode *root, xml_emit *e);
void generic_xml_extract(const xmlNode *root, xml_emit *e);

#endif
