/* pdf_warm.h — starting a process's PDF extraction ahead of time.
 *
 * The extraction server (extract_server.h) forks one child per document.
 * Whatever poppler and its libraries set up on their first use (poppler's
 * GlobalParams, GLib's types, the dynamic linker's lazy symbol bindings of
 * every library on the extraction path) a child does for itself and then
 * throws away at its exit, once per document. pdf_warm_up does that work
 * once in the calling process, by extracting a built-in one-page PDF (our
 * own bytes, not input) and discarding the result, so every child forked
 * afterwards inherits it. It then keeps that PDF open: poppler-glib sets up
 * poppler's GlobalParams when its first document opens and tears them down
 * when its last one closes (about 0.6 ms each time, measured on AMD EPYC),
 * so while the handle lives every child starts with them already set up.
 * Starts no thread; a failure only means the children are not warmed.
 */
#ifndef PRECIS_PDF_WARM_H
#define PRECIS_PDF_WARM_H

typedef struct pdf_warm pdf_warm;

/* NULL when poppler could not open even the built-in PDF. */
pdf_warm *pdf_warm_up(void);
void pdf_warm_free(pdf_warm *w);

#endif
