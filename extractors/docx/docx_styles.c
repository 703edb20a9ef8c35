/* docx_styles.c — which paragraph styles are headings.
 *
 * Style ids are localized ("Heading1"; German Word writes "berschrift1",
 * French "Titre1"...) but built-in style names are not ("heading 1"), so
 * names decide, then an explicit outline level (w:outlineLvl 0..8 = heading
 * 1..9, 9 = body text), then the basedOn parent, up to DOCX_STYLE_CHAIN_MAX
 * steps (cycles in hostile files just end the walk).
 */
#include "extractors/docx/docx_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/grow.h"
#include "common/utf8.h"
#include "extractors/xml/xml_node.h"

#define DOCX_STYLE_CHAIN_MAX 16
#define DOCX_MAX_STYLES 10000

typedef struct style_entry {
    char *id, *name, *based_on;
    int outline; /* -1 when unset */
} style_entry;

struct docx_styles {
    style_entry *items;
    size_t n;
};

int docx_is(const xmlNode *n, const char *local)
{
    return xn_is_ns(n, NS_W_TRANSITIONAL, local) || xn_is_ns(n, NS_W_STRICT, local);
}

char *docx_attr(const xmlNode *n, const char *local)
{
    char *v = xn_attr(n, local, NS_W_TRANSITIONAL);
    return v ? v : xn_attr(n, local, NS_W_STRICT);
}

static xmlNode *w_child(const xmlNode *n, const char *local)
{
    for (xmlNode *c = xn_first(n); c; c = xn_next(c))
        if (docx_is(c, local))
            return c;
    return NULL;
}

docx_styles *docx_styles_load(const xmlDoc *tree)
{
    docx_styles *s = xmalloc(sizeof *s);
    s->items = NULL;
    s->n = 0;
    const xmlNode *root = tree ? xmlDocGetRootElement(tree) : NULL;
    if (!docx_is(root, "styles"))
        return s;
    size_t cap = 0;
    for (xmlNode *st = xn_first(root); st && s->n < DOCX_MAX_STYLES; st = xn_next(st)) {
        if (!docx_is(st, "style"))
            continue;
        char *id = docx_attr(st, "styleId");
        if (!id)
            continue;
        s->items = xgrow_to(s->items, &cap, s->n + 1, sizeof *s->items, 64);
        style_entry *e = &s->items[s->n++];
        e->id = id;
        e->name = docx_attr(w_child(st, "name"), "val");
        e->based_on = docx_attr(w_child(st, "basedOn"), "val");
        char *ol = docx_attr(w_child(w_child(st, "pPr"), "outlineLvl"), "val");
        e->outline = ol && ol[0] >= '0' && ol[0] <= '9' && ol[1] == '\0' ? ol[0] - '0' : -1;
        free(ol);
    }
    return s;
}

void docx_styles_free(docx_styles *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].id);
        free(s->items[i].name);
        free(s->items[i].based_on);
    }
    free(s->items);
    free(s);
}

static const style_entry *find_style(const docx_styles *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i].id, id) == 0)
            return &s->items[i];
    return NULL;
}

/* "heading 3" -> 3, "Title" -> DOCX_STYLE_TITLE, else DOCX_STYLE_BODY;
 * prefix is "heading " for names and "Heading" for built-in ids. */
static int level_from_label(const char *label, const char *heading_prefix)
{
    size_t n = strlen(heading_prefix);
    if (strncasecmp(label, heading_prefix, n) == 0 && label[n] >= '1' && label[n] <= '9' && label[n + 1] == '\0')
        return label[n] - '0';
    if (strcasecmp(label, "title") == 0)
        return DOCX_STYLE_TITLE;
    return DOCX_STYLE_BODY;
}

int docx_style_level(const docx_styles *s, const char *style_id)
{
    const char *id = style_id;
    for (int step = 0; id && step < DOCX_STYLE_CHAIN_MAX; step++) {
        const style_entry *e = find_style(s, id);
        if (!e)
            return level_from_label(id, "Heading");
        int by_name = e->name ? level_from_label(e->name, "heading ") : DOCX_STYLE_BODY;
        if (by_name != DOCX_STYLE_BODY)
            return by_name;
        if (e->outline >= 0)
            return e->outline <= 8 ? e->outline + 1 : DOCX_STYLE_BODY;
        id = e->based_on;
    }
    return DOCX_STYLE_BODY;
}

char *docx_styles_language(const xmlDoc *tree)
{
    const xmlNode *root = tree ? xmlDocGetRootElement(tree) : NULL;
    const xmlNode *rpr = w_child(w_child(w_child(root, "docDefaults"), "rPrDefault"), "rPr");
    return docx_attr(w_child(rpr, "lang"), "val");
}
