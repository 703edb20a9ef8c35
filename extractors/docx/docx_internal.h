/* docx_internal.h — pieces of the DOCX extractor shared between its files:
 * OPC package relationships (docx_rels.c) and paragraph styles
 * (docx_styles.c). docx.c ties them together.
 */
#ifndef PRECIS_DOCX_INTERNAL_H
#define PRECIS_DOCX_INTERNAL_H

#include <stddef.h>

#include <libxml/tree.h>

#include "common/error.h"

#define NS_W_TRANSITIONAL "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
#define NS_W_STRICT "http://purl.oclc.org/ooxml/wordprocessingml/main"

/* 1 when n is the WordprocessingML element local (either namespace). */
int docx_is(const xmlNode *n, const char *local);
/* A w:-namespaced attribute (either namespace), malloc'd, or NULL. */
char *docx_attr(const xmlNode *n, const char *local);

/* ---- relationships (docx_rels.c) ---- */

/* The .rels part name for a part: "word/document.xml" ->
 * "word/_rels/document.xml.rels"; "" (package) -> "_rels/.rels". */
char *docx_rels_name(const char *part);

/* Target part name of the first internal relationship in the parsed .rels
 * tree whose Type ends in "/" type_suffix, resolved against source_part
 * (normalized, no leading '/', ".." resolved); NULL when there is none or
 * the target escapes the package. */
char *docx_rel_target(const xmlDoc *rels, const char *source_part, const char *type_suffix);

/* ---- styles (docx_styles.c) ---- */

#define DOCX_STYLE_BODY 0
#define DOCX_STYLE_TITLE (-1)

typedef struct docx_styles docx_styles;

/* Index word/styles.xml (tree may be NULL: then only the built-in style ids
 * "Heading1".."Heading9" and "Title" are known). */
docx_styles *docx_styles_load(const xmlDoc *tree);
void docx_styles_free(docx_styles *s);

/* Heading level 1..9 of a paragraph style id, DOCX_STYLE_TITLE, or
 * DOCX_STYLE_BODY. Follows basedOn chains (bounded); a style named
 * "heading N" or "Title" (any case, any id: ids vary by locale) or with an
 * outline level wins. */
int docx_style_level(const docx_styles *s, const char *style_id);

/* Document default language (w:docDefaults ... w:lang/@w:val), or NULL. */
char *docx_styles_language(const xmlDoc *tree);

#endif
