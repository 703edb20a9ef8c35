/* xml_emit.h — how the XML/DOCX extractors add structure to a document,
 * with the output limits of extract_options applied in one place.
 *
 * Paragraphs stop being added once full_text passes max_text_bytes (one
 * warning says so); walkers ask xe_enter() before descending and stop at
 * max_depth (one warning). A pending prefix (an item number such as "1." or
 * "(a)") is glued to the front of the next paragraph, so "(1)" + "text"
 * becomes "(1) text"; a prefix still pending when a section starts or the
 * walk ends becomes a paragraph of its own.
 */
#ifndef PRECIS_XML_EMIT_H
#define PRECIS_XML_EMIT_H

#include <stddef.h>

#include "extractors/document.h"
#include "extractors/xml/xml_node.h"

struct extract_options;

typedef struct xml_emit {
    document *doc;
    size_t max_text;
    int max_depth;
    int stopped;       /* text limit reached */
    int depth_warned;
    strbuf prefix;
    int reopen_level;  /* > 0: the next paragraph starts an untitled section */
} xml_emit;

void xe_init(xml_emit *e, document *doc, const struct extract_options *opts);
/* Flush any pending prefix and release the emitter (not the document). */
void xe_finish(xml_emit *e);

void xe_section(xml_emit *e, const char *heading, int level);
void xe_para(xml_emit *e, const char *text);
/* A section of this level just ended: paragraphs that follow (before any
 * new section) belong to the enclosing level, so they go into an untitled
 * section of this level instead of the one that ended. */
void xe_end_section(xml_emit *e, int level);
/* A prefix nobody consumed becomes its own paragraph now. */
void xe_flush_prefix(xml_emit *e);
/* Append text to the pending prefix (separated by a space). */
void xe_prefix(xml_emit *e, const char *text);
/* 1 when a walk may go to this depth, else 0 (and one warning). */
int xe_enter(xml_emit *e, int depth);
/* 1 once the text limit has been reached: walkers may stop early. */
int xe_full(const xml_emit *e);

/* An HTML-style table (tr/td/th, as in XHTML, JATS and Akoma Ntoso): one
 * paragraph per row, the non-empty cells' text joined by " | ". Cells are
 * read with filter (may be NULL); nested tables are flattened into their
 * cell. */
void xe_html_table(xml_emit *e, const xmlNode *table, xt_filter filter, void *user);

/* Turn an ISO 639-2/3 code ("eng", "swa") or a BCP 47 tag ("en-GB", "en_GB")
 * into a BCP 47 tag (malloc'd); NULL for blank input. */
char *xml_language_tag(const char *code);
/* Set doc's language to code's tag (nothing for blank code); frees code. */
void xml_set_language(document *doc, char *code);

#endif
