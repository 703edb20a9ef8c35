/* xml_tei.c — TEI P5, in particular GROBID's full-text output.
 *
 * Title: teiHeader/fileDesc/titleStmt/title (type="main" preferred).
 * Authors: sourceDesc/biblStruct/analytic (else monogr) author/persName as
 * "forenames surname", else titleStmt/author. Language: xml:lang of the
 * header, text or TEI element, else profileDesc/langUsage/language/@ident.
 * Metadata: publisher, date, doi, generator (GROBID version).
 * Sections: profileDesc/abstract as "Abstract"; text/front, body and back
 * divs with head (prefixed by head/@n). Level: nesting depth, refined by
 * GROBID's flat numbering ("3.1" is one deeper than "3"); an unnumbered div
 * keeps the level of the div before it. Figures, tables and notes that
 * GROBID gathers at the end of the body become "Figures and tables" and
 * "Notes"; references are one paragraph each (GROBID's raw_reference note
 * when present).
 */
#include "extractors/xml/xml_vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tei_walk {
    xml_emit *e;
    int last_level; /* level of the previous div at top level */
} tei_walk;

static xt_action tei_inline(const xmlNode *el, void *user)
{
    (void)user;
    if (xn_is(el, "graphic") || xn_is(el, "facsimile") || xn_is(el, "pb") || xn_is(el, "fw"))
        return XT_SKIP;
    if (xn_is(el, "cell") || xn_is(el, "item") || xn_is(el, "l"))
        return XT_SPACED;
    return XT_DESCEND;
}

static char *inline_text(const xmlNode *n) { return xn_text(n, tei_inline, NULL); }

/* Number of dot-separated parts of a section number ("4.2.1" -> 3), 0 if
 * the string is not such a number. */
static int numbering_depth(const char *n)
{
    int parts = 0, digits = 0;
    for (const char *p = n; p && *p; p++) {
        if (*p >= '0' && *p <= '9') {
            digits++;
        } else if (*p == '.' && digits > 0) {
            parts++;
            digits = 0;
        } else {
            return 0;
        }
    }
    if (digits > 0)
        parts++;
    return parts;
}

static void blocks(tei_walk *w, const xmlNode *container, int level, int depth);

static void table_rows(xml_emit *e, const xmlNode *table)
{
    for (xmlNode *row = xn_child(table, "row"); row; row = xn_next_named(row, "row")) {
        strbuf b;
        sb_init(&b);
        for (xmlNode *cell = xn_child(row, "cell"); cell; cell = xn_next_named(cell, "cell")) {
            char *t = inline_text(cell);
            if (t) {
                if (b.len)
                    sb_add(&b, " | ");
                sb_add(&b, t);
            }
            free(t);
        }
        xe_para(e, sb_str(&b));
        sb_free(&b);
    }
}

static void figure(xml_emit *e, const xmlNode *fig)
{
    char *head = inline_text(xn_child(fig, "head"));
    char *desc = inline_text(xn_child(fig, "figDesc"));
    if (head)
        xe_prefix(e, head);
    xe_para(e, desc);
    xe_flush_prefix(e);
    free(head);
    free(desc);
    const xmlNode *table = xn_child(fig, "table");
    if (table)
        table_rows(e, table);
    for (xmlNode *n = xn_child(fig, "note"); n; n = xn_next_named(n, "note")) {
        char *t = inline_text(n);
        xe_para(e, t);
        free(t);
    }
}

static void reference(xml_emit *e, const xmlNode *bibl)
{
    for (xmlNode *n = xn_child(bibl, "note"); n; n = xn_next_named(n, "note")) {
        if (xn_attr_eq(n, "type", NULL, "raw_reference")) {
            char *t = inline_text(n);
            xe_para(e, t);
            free(t);
            return;
        }
    }
    strbuf b;
    sb_init(&b);
    for (xmlNode *c = xn_first(bibl); c; c = xn_next(c)) {
        if (xn_is(c, "note"))
            continue;
        sb_space(&b);
        xn_append_text(&b, c, tei_inline, NULL);
    }
    xe_para(e, sb_str(&b));
    sb_free(&b);
}

static void bibliography(tei_walk *w, const xmlNode *list, int level)
{
    char *head = inline_text(xn_child(list, "head"));
    xe_section(w->e, head ? head : "References", level);
    free(head);
    for (xmlNode *c = xn_first(list); c && !xe_full(w->e); c = xn_next(c)) {
        if (xn_is(c, "biblStruct") || xn_is(c, "bibl"))
            reference(w->e, c);
        else if (xn_is(c, "listBibl"))
            bibliography(w, c, level + 1);
    }
}

/* Heading for an untitled div of a known type, unless the div only wraps
 * titled divs (GROBID: <div type="acknowledgement"><div><head>...). */
static const char *default_heading(const xmlNode *div)
{
    int has_content = 0;
    for (xmlNode *c = xn_first(div); c; c = xn_next(c))
        if (!xn_is(c, "div") && !xn_is(c, "head"))
            has_content = 1;
    if (!has_content)
        return NULL;
    char *type = xn_attr(div, "type", NULL);
    const char *h = NULL;
    if (type && (strcmp(type, "acknowledgement") == 0 || strcmp(type, "acknowledgment") == 0))
        h = "Acknowledgements";
    else if (type && strcmp(type, "availability") == 0)
        h = "Availability";
    free(type);
    return h;
}

static void division(tei_walk *w, const xmlNode *div, int level, int depth)
{
    const xmlNode *head = xn_child(div, "head");
    char *title = inline_text(head);
    char *n = xn_attr(head, "n", NULL);
    if (!n)
        n = xn_attr(div, "n", NULL);
    int numbered = numbering_depth(n);
    int lvl = level;
    if (numbered > 0)
        lvl = level - 1 + numbered;
    else if (depth <= 2 && w->last_level > 0 && level == 1)
        lvl = w->last_level;
    if (level == 1 && (title || numbered))
        w->last_level = lvl;
    const char *fallback = default_heading(div);
    if (title || fallback) {
        char *heading = NULL;
        if (title && n && *n) {
            if (asprintf(&heading, "%s %s", n, title) < 0)
                abort();
        }
        xe_section(w->e, heading ? heading : title ? title : fallback, lvl);
        free(heading);
        blocks(w, div, lvl + 1, depth + 1);
    } else {
        blocks(w, div, level, depth + 1);
    }
    free(title);
    free(n);
}

static void list_items(tei_walk *w, const xmlNode *list, int level, int depth)
{
    for (xmlNode *c = xn_first(list); c; c = xn_next(c)) {
        if (xn_is(c, "item")) {
            char *label = xn_attr(c, "n", NULL);
            if (label)
                xe_prefix(w->e, label);
            free(label);
            if (xn_has_direct_text(c)) {
                char *t = inline_text(c);
                xe_para(w->e, t);
                free(t);
            } else {
                blocks(w, c, level, depth + 1);
            }
            xe_flush_prefix(w->e);
        } else if (xn_is(c, "label")) {
            char *t = inline_text(c);
            xe_prefix(w->e, t);
            free(t);
        } else if (!xn_is(c, "head")) {
            blocks(w, c, level, depth + 1);
        }
    }
}

static void block(tei_walk *w, const xmlNode *n, int level, int depth)
{
    xml_emit *e = w->e;
    if (!xe_enter(e, depth) || xe_full(e))
        return;
    if (xn_is(n, "head") || tei_inline(n, NULL) == XT_SKIP)
        return;
    if (xn_is(n, "div")) {
        division(w, n, level, depth);
    } else if (xn_is(n, "listBibl")) {
        bibliography(w, n, level);
    } else if (xn_is(n, "figure")) {
        figure(e, n);
    } else if (xn_is(n, "table")) {
        table_rows(e, n);
    } else if (xn_is(n, "list")) {
        list_items(w, n, level, depth);
    } else if (xn_is(n, "p") || xn_is(n, "formula") || xn_is(n, "note") || xn_is(n, "ab") ||
               xn_is(n, "quote") || xn_is(n, "lg") || xn_has_direct_text(n)) {
        char *t = inline_text(n);
        xe_para(e, t);
        free(t);
    } else {
        blocks(w, n, level, depth);
    }
}

static void blocks(tei_walk *w, const xmlNode *container, int level, int depth)
{
    for (xmlNode *c = xn_first(container); c && !xe_full(w->e); c = xn_next(c))
        block(w, c, level, depth + 1);
}

/* GROBID body: divs first; the figures and foot notes it appends at the end
 * of the body get sections of their own. */
static void body(tei_walk *w, const xmlNode *b)
{
    int has_figures = 0, has_notes = 0;
    for (xmlNode *c = xn_first(b); c && !xe_full(w->e); c = xn_next(c)) {
        if (xn_is(c, "figure"))
            has_figures = 1;
        else if (xn_is(c, "note"))
            has_notes = 1;
        else
            block(w, c, 1, 1);
    }
    if (has_figures) {
        xe_section(w->e, "Figures and tables", 1);
        for (xmlNode *c = xn_child(b, "figure"); c; c = xn_next_named(c, "figure"))
            figure(w->e, c);
    }
    if (has_notes) {
        xe_section(w->e, "Notes", 1);
        for (xmlNode *c = xn_child(b, "note"); c; c = xn_next_named(c, "note")) {
            char *label = xn_attr(c, "n", NULL);
            if (label)
                xe_prefix(w->e, label);
            free(label);
            char *t = inline_text(c);
            xe_para(w->e, t);
            xe_flush_prefix(w->e);
            free(t);
        }
    }
}

/* ---- header ------------------------------------------------------------------ */

static void add_person(xml_emit *e, const xmlNode *author)
{
    const xmlNode *pers = xn_child(author, "persName");
    if (!pers) {
        if (!xn_child(author, "affiliation")) {
            char *t = inline_text(author);
            if (t)
                document_add_author(e->doc, t);
            free(t);
        }
        return;
    }
    strbuf b;
    sb_init(&b);
    for (xmlNode *f = xn_child(pers, "forename"); f; f = xn_next_named(f, "forename")) {
        char *t = inline_text(f);
        if (t) {
            sb_space(&b);
            sb_add(&b, t);
        }
        free(t);
    }
    for (xmlNode *s = xn_child(pers, "surname"); s; s = xn_next_named(s, "surname")) {
        char *t = inline_text(s);
        if (t) {
            sb_space(&b);
            sb_add(&b, t);
        }
        free(t);
    }
    if (b.len == 0) {
        char *t = inline_text(pers);
        sb_add(&b, t);
        free(t);
    }
    document_add_author(e->doc, sb_str(&b));
    sb_free(&b);
}

static void authors(xml_emit *e, const xmlNode *file_desc)
{
    const xmlNode *bibl = xn_path(file_desc, "sourceDesc/biblStruct");
    const xmlNode *holder = xn_child(bibl, "analytic");
    if (!xn_child(holder, "author"))
        holder = xn_child(bibl, "monogr");
    if (!xn_child(holder, "author"))
        holder = xn_child(file_desc, "titleStmt");
    for (xmlNode *a = xn_child(holder, "author"); a; a = xn_next_named(a, "author"))
        add_person(e, a);
}

static void set_meta_text(xml_emit *e, const char *key, const xmlNode *n)
{
    char *v = inline_text(n);
    if (v)
        document_set_meta(e->doc, key, v);
    free(v);
}

static void header_meta(xml_emit *e, const xmlNode *header)
{
    const xmlNode *file_desc = xn_child(header, "fileDesc");
    const xmlNode *pub = xn_child(file_desc, "publicationStmt");
    set_meta_text(e, "publisher", xn_child(pub, "publisher"));
    const xmlNode *date = xn_child(pub, "date");
    if (!date)
        date = xn_find(xn_child(file_desc, "sourceDesc"), "date", 6);
    char *when = xn_attr(date, "when", NULL);
    if (when && *when)
        document_set_meta(e->doc, "date", when);
    else
        set_meta_text(e, "date", date);
    free(when);
    const xmlNode *bibl = xn_path(file_desc, "sourceDesc/biblStruct");
    for (xmlNode *id = xn_find(bibl, "idno", 3); id; id = xn_next_named(id, "idno"))
        if (xn_attr_eq(id, "type", NULL, "DOI"))
            set_meta_text(e, "doi", id);
    const xmlNode *app = xn_path(header, "encodingDesc/appInfo/application");
    char *ident = xn_attr(app, "ident", NULL), *version = xn_attr(app, "version", NULL);
    if (ident && *ident) {
        char *g = NULL;
        if (asprintf(&g, "%s%s%s", ident, version ? " " : "", version ? version : "") < 0)
            abort();
        document_set_meta(e->doc, "generator", g);
        free(g);
    }
    free(ident);
    free(version);
}

static void title(xml_emit *e, const xmlNode *file_desc)
{
    const xmlNode *stmt = xn_child(file_desc, "titleStmt");
    const xmlNode *best = xn_child(stmt, "title");
    for (const xmlNode *t = best; t; t = xn_next_named(t, "title"))
        if (xn_attr_eq(t, "type", NULL, "main")) {
            best = t;
            break;
        }
    char *text = inline_text(best);
    document_set_title(e->doc, text);
    free(text);
}

static void language(xml_emit *e, const xmlNode *root, const xmlNode *header, const xmlNode *text)
{
    char *lang = xn_attr(header, "lang", XN_NS_XML);
    if (!lang)
        lang = xn_attr(text, "lang", XN_NS_XML);
    if (!lang)
        lang = xn_attr(root, "lang", XN_NS_XML);
    if (!lang)
        lang = xn_attr(xn_path(header, "profileDesc/langUsage/language"), "ident", NULL);
    xml_set_language(e->doc, lang);
}

void tei_extract(const xmlNode *root, xml_emit *e)
{
    const xmlNode *header = xn_child(root, "teiHeader");
    const xmlNode *text = xn_child(root, "text");
    const xmlNode *file_desc = xn_child(header, "fileDesc");
    title(e, file_desc);
    authors(e, file_desc);
    language(e, root, header, text);
    header_meta(e, header);

    tei_walk w = {.e = e, .last_level = 0};
    const xmlNode *abstract = xn_path(header, "profileDesc/abstract");
    if (abstract && xn_first(abstract)) {
        xe_section(e, "Abstract", 1);
        blocks(&w, abstract, 2, 1);
    }
    const xmlNode *front = xn_child(text, "front");
    if (front)
        blocks(&w, front, 1, 1);
    const xmlNode *b = xn_child(text, "body");
    if (b)
        body(&w, b);
    w.last_level = 0;
    const xmlNode *back = xn_child(text, "back");
    if (back)
        blocks(&w, back, 1, 1);
}
