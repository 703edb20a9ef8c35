/* xml_safe.h — the one place untrusted XML is parsed (internal to extractors/).
 *
 * xml_safe_parse() builds a libxml2 tree with every dangerous feature off:
 * no network (XML_PARSE_NONET), no external DTD loading, no DTD default
 * attributes, no entity substitution (XML_PARSE_NOENT is never set), no
 * XInclude, libxml2's built-in depth (256) and entity-amplification limits
 * (XML_PARSE_HUGE is never set), an input size cap, and a process-wide
 * external entity loader that refuses every request (xml_safe_init).
 * Parser messages never reach stderr: the first error becomes the perr text,
 * warnings are counted and the first one kept for the document's warnings.
 *
 * Entity references that survive in the tree (XML_ENTITY_REF_NODE) must not
 * be expanded by callers: xml_node.h's text helpers skip them.
 */
#ifndef PRECIS_XML_SAFE_H
#define PRECIS_XML_SAFE_H

#include <stddef.h>

#include <libxml/tree.h>

#include "common/error.h"

#define XML_SAFE_DEFAULT_MAX_BYTES ((size_t)64 << 20)

typedef struct xml_parse_report {
    int n_warnings;          /* recoverable parser diagnostics */
    char first_warning[256]; /* "" when none */
    int refused_loads;       /* external resources the loader refused */
} xml_parse_report;

/* Parse data[0..len) (at most max_bytes; 0 = XML_SAFE_DEFAULT_MAX_BYTES).
 * name labels the input in messages ("word/document.xml"); may be NULL.
 * On success *out is a tree to free with xmlFreeDoc and report (optional)
 * says what the parser complained about without failing. */
int xml_safe_parse(const void *data, size_t len, size_t max_bytes, const char *name,
                   xmlDoc **out, xml_parse_report *report, perr *err);

#endif
