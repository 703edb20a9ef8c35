/* collection_digest_render.h — a stored digest (collection_digest.h's output
 * object) as a self-contained HTML report and as Markdown. Pure functions:
 * text in, text out.
 *
 * HTML: one page, inline CSS, no scripts, no external resources. Every
 * string from the digest or the database is HTML-escaped (& < > " '); each
 * citation links to the document's entry (#doc-ID) in the list of documents
 * at the end, which gives every document of the window with its title,
 * source and whether it was cited.
 * Markdown: the same content; text is escaped so that neither Markdown
 * syntax nor raw HTML in a title or summary takes effect (& < > as
 * entities, Markdown punctuation backslash-escaped, newlines in one-line
 * fields become spaces).
 */
#ifndef PRECIS_COLLECTION_DIGEST_RENDER_H
#define PRECIS_COLLECTION_DIGEST_RENDER_H

#include "common/error.h"

typedef struct digest_page {
    const char *collection;
    const char *period;          /* the window in words */
    const char *generated_at;    /* e.g. "2026-01-02T03:04:05Z"; NULL: omitted */
    const char *model_name;      /* NULL: omitted */
} digest_page;

/* malloc'd text; NULL with err when output_json is not a digest object. */
char *digest_render_html(const char *output_json, const digest_page *page, perr *err);
char *digest_render_markdown(const char *output_json, const digest_page *page, perr *err);

#endif
