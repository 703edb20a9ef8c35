/* html.h — HTML escaping for the pages precis writes (digest, themes and
 * review reports): every string that comes from a document, a model or the
 * database goes through it, in element text, attribute values and inline
 * SVG text alike. */
#ifndef PRECIS_HTML_H
#define PRECIS_HTML_H

#include <stdio.h>

/* s with & < > " ' as entities (NULL writes nothing). */
void html_text(FILE *f, const char *s);

#endif
