/* pdf_warm.h — starting a process's PDF extraction ahead of time.
 *
 * The extraction server (extract_server.h) forks one child per document.
 * Whatever poppler and its libraries set up on their first use (poppler's
 * GlobalParams, GLib's types, the dynamic linker's lazy symbol bindings of
 * every library on the extraction path) a child does for itself and then
 * throws away at its exit, once per document. pdf_warm_up does that work
 * once in the calling process, by extracting a built-in one-page PDF (our
 * own bytes, not input) and discarding the result, so every child forked
 * afterwards inherits it. Starts no thread; its outcome is ignored.
 */
#ifndef PRECIS_PDF_WARM_H
#define PRECIS_PDF_WARM_H

void pdf_warm_up(void);

#endif
