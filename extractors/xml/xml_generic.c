/* xml_generic.c — fallback for XML in a vocabulary we do not know.
 *
 * Title: the first element named title/dc:title/name/heading/head (any
 * case, any namespace) with text. Body: depth-first, every element with
 * text of its own becomes one paragraph holding all its text (descendants
 * included, so mixed content stays whole); elements holding only elements
 * are descended into. At most GENERIC_MAX_PARAGRAPHS paragraphs, then a
 * warning. The caller adds the "unrecognized XML vocabulary" warning.
 */
#include "extractors/xml/xml_vocab.h"

#include <stdlib.h>
#include <strings.h>

#define GENERIC_MAX_PARAGRAPHS 200000
#define GENERIC_TITLE_SEARCH_DEPTH 8

typedef struct generic_walk {
    xml_emit *e;
    size_t paragraphs;
    int capped;
} generic_walk;

static int is_title_like(const xmlNode *n)
{
    static const char *const names[] = {"title", "name", "heading", "head", "headline", NULL};
    const char *name = xn_name(n);
    for (int i = 0; names[i]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static const xmlNode *find_title(const xmlNode *n, int depth)
{
    if (depth > GENERIC_TITLE_SEARCH_DEPTH)
        return NULL;
    for (xmlNode *c = xn_first(n); c; c = xn_next(c)) {
        if (is_title_like(c) && xn_has_direct_text(c))
            return c;
        const xmlNode *hit = find_title(c, depth + 1);
        if (hit)
            return hit;
    }
    return NULL;
}

static void walk(generic_walk *w, const xmlNode *n, int depth)
{
    if (!xe_enter(w->e, depth) || xe_full(w->e))
        return;
    if (xn_has_direct_text(n)) {
        if (w->paragraphs >= GENERIC_MAX_PARAGRAPHS) {
            if (!w->capped)
                document_warn(w->e->doc, "generic XML: stopped after %d paragraphs", GENERIC_MAX_PARAGRAPHS);
            w->capped = 1;
            return;
        }
        char *t = xn_text(n, NULL, NULL);
        xe_para(w->e, t);
        free(t);
        w->paragraphs++;
        return;
    }
    for (xmlNode *c = xn_first(n); c && !w->capped; c = xn_next(c))
        walk(w, c, depth + 1);
}

void generic_xml_extract(const xmlNode *root, xml_emit *e)
{
    const xmlNode *title = is_title_like(root) ? root : find_title(root, 0);
    char *t = xn_text(title, NULL, NULL);
    document_set_title(e->doc, t);
    free(t);
    char *lang = xn_attr(root, "lang", XN_NS_XML);
    xml_set_language(e->doc, lang);
    generic_walk w = {.e = e, .paragraphs = 0, .capped = 0};
    walk(&w, root, 0);
}
