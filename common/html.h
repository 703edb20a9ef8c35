/* html.h — HTML escaping for the pages precis writes (digest, themes and
 * review reports): every string that comes from a document, a model or the
 * database goes through it, in element text, attribute values and inline
 * SVG text alike. */
#ifndef PRECIS_HTML_H
#define PRECIS_HTML_H

#include <stdio.h>

#include "common/error.h"

/* s with & < > " ' as entities (NULL writes nothing). */
void html_text(FILE *f, const char *s);

/* The start of a self-contained page, up to and including <body>: the
 * doctype, UTF-8, a Content-Security-Policy that forbids every external
 * resource and any script (inline CSS only), the viewport, the title
 * (escaped) and css as the page's one inline style sheet. */
void html_page_start(FILE *f, const char *title, const char *css);

/* What write(f, ctx) writes, as a string (malloc'd); NULL with err
 * ("rendering <what>: ...") when the memory stream fails. */
char *html_capture(void (*write)(FILE *f, const void *ctx), const void *ctx, const char *what, perr *err);

#endif
