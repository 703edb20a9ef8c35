/* xml_jats.c — JATS / NLM article XML (PubMed Central, eLife, PLOS...).
 *
 * Title: front/article-meta/title-group/article-title. Authors:
 * contrib[@contrib-type="author"] as "given-names surname" (or collab).
 * Metadata: journal, publisher, doi, pmid, pmcid, pub_date (YYYY[-MM[-DD]],
 * epub preferred), volume, issue, article_type. Language: article/@xml:lang.
 * Sections: the main abstract as "Abstract" (its own sections one level
 * down), other abstracts under their title; body sec/title nesting gives
 * the level (label + title, e.g. "2.1 Methods"); back matter (ack, sec,
 * app, fn-group, ref-list as "References", one paragraph per ref), floats
 * and sub-articles follow as level-1 sections. Figures and tables yield
 * their label+caption and, for tables, one paragraph per row.
 */
#include "extractors/xml/xml_vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inline content to leave out of running text. */
static xt_action jats_inline(const xmlNode *el, void *user)
{
    (void)user;
    static const char *const skip[] = {"object-id", "graphic", "inline-graphic", "media", "tex-math",
                                       "annotation", "fn", "alt-text", "long-desc", NULL};
    for (int i = 0; skip[i]; i++)
        if (xn_is(el, skip[i]))
            return XT_SKIP;
    if (xn_is(el, "list-item") || xn_is(el, "td") || xn_is(el, "th"))
        return XT_SPACED;
    const xmlNode *parent = el->parent;
    if (xn_is(parent, "mixed-citation") || xn_is(parent, "element-citation") || xn_is(parent, "citation") ||
        xn_is(parent, "nlm-citation") || xn_is(parent, "person-group"))
        return XT_SEPARATE;
    return XT_DESCEND;
}

static char *inline_text(const xmlNode *n) { return xn_text(n, jats_inline, NULL); }

/* "label title", either part optional; NULL when both are absent. */
static char *label_and_title(const xmlNode *n)
{
    char *label = inline_text(xn_child(n, "label"));
    char *title = inline_text(xn_child(n, "title"));
    char *out = NULL;
    if (label && title) {
        if (asprintf(&out, "%s %s", label, title) < 0)
            abort();
    } else {
        out = label ? label : title;
        label = title = NULL;
    }
    free(label);
    free(title);
    return out;
}

static void walk_blocks(xml_emit *e, const xmlNode *container, int level, int depth);

/* Elements that interrupt a paragraph's running text. */
static int is_block(const xmlNode *n)
{
    static const char *const blocks[] = {"p", "list", "fig", "fig-group", "table-wrap", "table-wrap-group",
                                         "disp-quote", "boxed-text", "def-list", "statement", "speech",
                                         "verse-group", "preformat", "code", "array", "table",
                                         "supplementary-material", "disp-formula-group", NULL};
    for (int i = 0; blocks[i]; i++)
        if (xn_is(n, blocks[i]))
            return 1;
    return 0;
}

static void block(xml_emit *e, const xmlNode *n, int level, int depth);

/* A <p> (or any mixed-content block): running text, split around nested
 * block elements. */
static void paragraph(xml_emit *e, const xmlNode *p, int level, int depth)
{
    strbuf text;
    sb_init(&text);
    int element_only = !xn_has_direct_text(p);
    for (const xmlNode *c = p->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && is_block(c)) {
            xe_para(e, sb_str(&text));
            sb_free(&text);
            block(e, c, level, depth + 1);
        } else if (c->type == XML_ELEMENT_NODE && jats_inline(c, NULL) == XT_SKIP) {
            continue;
        } else {
            if (element_only)
                sb_space(&text);
            xn_append_text(&text, c, jats_inline, NULL);
        }
    }
    xe_para(e, sb_str(&text));
    sb_free(&text);
}

/* fig, table-wrap, supplementary-material, boxed-text without title...:
 * "label caption-title", caption paragraphs, then the content. */
static void captioned(xml_emit *e, const xmlNode *n, int level, int depth)
{
    const xmlNode *caption = xn_child(n, "caption");
    char *label = inline_text(xn_child(n, "label"));
    if (label)
        xe_prefix(e, label);
    free(label);
    if (caption) {
        char *title = inline_text(xn_child(caption, "title"));
        if (title)
            xe_para(e, title);
        free(title);
        for (xmlNode *c = xn_first(caption); c; c = xn_next(c))
            if (!xn_is(c, "title"))
                block(e, c, level, depth + 1);
    }
    for (xmlNode *c = xn_first(n); c; c = xn_next(c)) {
        if (xn_is(c, "label") || xn_is(c, "caption"))
            continue;
        if (xn_is(c, "alternatives")) {
            const xmlNode *t = xn_child(c, "table");
            if (t)
                xe_html_table(e, t, jats_inline, NULL);
            continue;
        }
        block(e, c, level, depth + 1);
    }
    xe_flush_prefix(e);
}

static void list(xml_emit *e, const xmlNode *n, int level, int depth)
{
    for (xmlNode *item = xn_first(n); item; item = xn_next(item)) {
        if (!xn_is(item, "list-item")) {
            block(e, item, level, depth + 1);
            continue;
        }
        char *label = inline_text(xn_child(item, "label"));
        if (label)
            xe_prefix(e, label);
        free(label);
        walk_blocks(e, item, level, depth + 1);
        xe_flush_prefix(e);
    }
}

static void references(xml_emit *e, const xmlNode *n, int level, int depth)
{
    char *heading = label_and_title(n);
    xe_section(e, heading ? heading : "References", level);
    free(heading);
    for (xmlNode *c = xn_first(n); c; c = xn_next(c)) {
        if (xn_is(c, "ref")) {
            char *label = inline_text(xn_child(c, "label"));
            if (label)
                xe_prefix(e, label);
            free(label);
            strbuf b;
            sb_init(&b);
            for (xmlNode *cit = xn_first(c); cit; cit = xn_next(cit)) {
                if (xn_is(cit, "label"))
                    continue;
                sb_space(&b);
                xn_append_text(&b, cit, jats_inline, NULL);
            }
            xe_para(e, sb_str(&b));
            sb_free(&b);
        } else if (xn_is(c, "ref-list")) {
            references(e, c, level + 1, depth + 1);
        } else if (!xn_is(c, "title") && !xn_is(c, "label")) {
            block(e, c, level + 1, depth + 1);
        }
    }
}

/* A titled container (sec, app, ack, glossary, notes, fn-group...): a new
 * section when it has a title (or a default heading), then its blocks. */
static void titled(xml_emit *e, const xmlNode *n, const char *default_heading, int level, int depth)
{
    char *heading = label_and_title(n);
    if (heading || default_heading) {
        xe_section(e, heading ? heading : default_heading, level);
        walk_blocks(e, n, level + 1, depth + 1);
    } else {
        walk_blocks(e, n, level, depth + 1);
    }
    free(heading);
}

static void block(xml_emit *e, const xmlNode *n, int level, int depth)
{
    if (!xe_enter(e, depth) || xe_full(e))
        return;
    if (xn_is(n, "p") || xn_is(n, "preformat") || xn_is(n, "code") || xn_is(n, "disp-formula") ||
        xn_is(n, "license-p"))
        paragraph(e, n, level, depth);
    else if (xn_is(n, "sec") || xn_is(n, "app") || xn_is(n, "glossary") || xn_is(n, "notes"))
        titled(e, n, NULL, level, depth);
    else if (xn_is(n, "ack"))
        titled(e, n, "Acknowledgements", level, depth);
    else if (xn_is(n, "fn-group"))
        titled(e, n, "Notes", level, depth);
    else if (xn_is(n, "app-group"))
        titled(e, n, NULL, level, depth);
    else if (xn_is(n, "ref-list"))
        references(e, n, level, depth);
    else if (xn_is(n, "list"))
        list(e, n, level, depth);
    else if (xn_is(n, "table"))
        xe_html_table(e, n, jats_inline, NULL);
    else if (xn_is(n, "fig") || xn_is(n, "table-wrap") || xn_is(n, "supplementary-material") ||
             xn_is(n, "boxed-text") || xn_is(n, "statement") || xn_is(n, "disp-quote") ||
             xn_is(n, "fig-group") || xn_is(n, "table-wrap-group") || xn_is(n, "fn") ||
             xn_is(n, "table-wrap-foot") || xn_is(n, "def-list") || xn_is(n, "speech") ||
             xn_is(n, "verse-group") || xn_is(n, "disp-formula-group"))
        captioned(e, n, level, depth);
    else if (xn_is(n, "def-item") || xn_is(n, "verse-line") || xn_is(n, "attrib"))
        paragraph(e, n, level, depth);
    else if (jats_inline(n, NULL) == XT_SKIP || xn_is(n, "title") || xn_is(n, "label") ||
             xn_is(n, "sec-meta") || xn_is(n, "permissions"))
        return;
    else if (xn_has_direct_text(n))
        paragraph(e, n, level, depth);
    else
        walk_blocks(e, n, level, depth);
}

static void walk_blocks(xml_emit *e, const xmlNode *container, int level, int depth)
{
    if (!xe_enter(e, depth))
        return;
    for (xmlNode *c = xn_first(container); c && !xe_full(e); c = xn_next(c))
        block(e, c, level, depth + 1);
}

/* ---- front matter ---------------------------------------------------------- */

static void add_authors(xml_emit *e, const xmlNode *meta)
{
    for (xmlNode *g = xn_child(meta, "contrib-group"); g; g = xn_next_named(g, "contrib-group")) {
        for (xmlNode *c = xn_child(g, "contrib"); c; c = xn_next_named(c, "contrib")) {
            char *type = xn_attr(c, "contrib-type", NULL);
            int author = !type || strcmp(type, "author") == 0;
            free(type);
            if (!author)
                continue;
            const xmlNode *name = xn_child(c, "name");
            char *text = NULL;
            if (name) {
                char *given = inline_text(xn_child(name, "given-names"));
                char *surname = inline_text(xn_child(name, "surname"));
                int eastern = xn_attr_eq(name, "name-style", NULL, "eastern");
                if (given && surname) {
                    if (asprintf(&text, "%s %s", eastern ? surname : given, eastern ? given : surname) < 0)
                        abort();
                } else {
                    text = inline_text(name);
                }
                free(given);
                free(surname);
            } else if (xn_child(c, "string-name")) {
                text = inline_text(xn_child(c, "string-name"));
            } else if (xn_child(c, "collab")) {
                text = inline_text(xn_child(c, "collab"));
            }
            if (text)
                document_add_author(e->doc, text);
            free(text);
        }
    }
}

static void set_meta_text(xml_emit *e, const char *key, const xmlNode *n)
{
    char *v = inline_text(n);
    if (v)
        document_set_meta(e->doc, key, v);
    free(v);
}

static void add_article_ids(xml_emit *e, const xmlNode *meta)
{
    static const struct { const char *type, *key; } ids[] = {
        {"doi", "doi"}, {"pmid", "pmid"}, {"pmc", "pmcid"}, {"pmcid", "pmcid"}, {"publisher-id", "publisher_id"}};
    for (xmlNode *id = xn_child(meta, "article-id"); id; id = xn_next_named(id, "article-id")) {
        char *type = xn_attr(id, "pub-id-type", NULL);
        for (size_t i = 0; type && i < sizeof ids / sizeof ids[0]; i++)
            if (strcmp(type, ids[i].type) == 0)
                set_meta_text(e, ids[i].key, id);
        free(type);
    }
}

/* YYYY[-MM[-DD]] from a pub-date element, or NULL. */
static char *format_date(const xmlNode *d)
{
    char *y = inline_text(xn_child(d, "year")), *m = inline_text(xn_child(d, "month")),
         *day = inline_text(xn_child(d, "day")), *out = NULL;
    if (y) {
        int mi = m ? atoi(m) : 0, di = day ? atoi(day) : 0;
        int ok;
        if (mi >= 1 && mi <= 12 && di >= 1 && di <= 31)
            ok = asprintf(&out, "%s-%02d-%02d", y, mi, di);
        else if (mi >= 1 && mi <= 12)
            ok = asprintf(&out, "%s-%02d", y, mi);
        else
            ok = asprintf(&out, "%s", y);
        if (ok < 0)
            abort();
    }
    free(y);
    free(m);
    free(day);
    return out;
}

static void add_pub_date(xml_emit *e, const xmlNode *meta)
{
    static const char *const preference[] = {"epub", "ppub", "pub", "epub-ppub", "collection", NULL};
    const xmlNode *best = NULL;
    int best_rank = 99;
    for (xmlNode *d = xn_child(meta, "pub-date"); d; d = xn_next_named(d, "pub-date")) {
        char *type = xn_attr(d, "pub-type", NULL);
        if (!type)
            type = xn_attr(d, "date-type", NULL);
        int rank = 50;
        for (int i = 0; type && preference[i]; i++)
            if (strcmp(type, preference[i]) == 0)
                rank = i;
        free(type);
        if (rank < best_rank) {
            best = d;
            best_rank = rank;
        }
    }
    char *date = best ? format_date(best) : NULL;
    if (date)
        document_set_meta(e->doc, "pub_date", date);
    free(date);
}

static void front_matter(xml_emit *e, const xmlNode *article)
{
    const xmlNode *front = xn_child(article, "front");
    const xmlNode *jmeta = xn_child(front, "journal-meta");
    const xmlNode *meta = xn_child(front, "article-meta");
    char *title = inline_text(xn_path(meta, "title-group/article-title"));
    document_set_title(e->doc, title);
    free(title);
    add_authors(e, meta);
    const xmlNode *jt = xn_path(jmeta, "journal-title-group/journal-title");
    set_meta_text(e, "journal", jt ? jt : xn_child(jmeta, "journal-title"));
    set_meta_text(e, "publisher", xn_path(jmeta, "publisher/publisher-name"));
    add_article_ids(e, meta);
    add_pub_date(e, meta);
    set_meta_text(e, "volume", xn_child(meta, "volume"));
    set_meta_text(e, "issue", xn_child(meta, "issue"));
    char *type = xn_attr(article, "article-type", NULL);
    if (type && *type)
        document_set_meta(e->doc, "article_type", type);
    free(type);
    char *lang = xn_attr(article, "lang", XN_NS_XML);
    xml_set_language(e->doc, lang);
}

/* The main abstract (no abstract-type, or "abstract") first as "Abstract",
 * then the others (eLife digest, author summary...) under their titles. */
static void abstracts(xml_emit *e, const xmlNode *meta)
{
    const xmlNode *main_abstract = NULL;
    for (xmlNode *a = xn_child(meta, "abstract"); a; a = xn_next_named(a, "abstract")) {
        char *type = xn_attr(a, "abstract-type", NULL);
        int is_main = !type || strcmp(type, "abstract") == 0;
        free(type);
        if (is_main) {
            main_abstract = a;
            break;
        }
    }
    if (main_abstract) {
        xe_section(e, "Abstract", 1);
        walk_blocks(e, main_abstract, 2, 1);
    }
    for (xmlNode *a = xn_child(meta, "abstract"); a; a = xn_next_named(a, "abstract")) {
        if (a == main_abstract)
            continue;
        char *heading = label_and_title(a);
        xe_section(e, heading ? heading : "Abstract", 1);
        free(heading);
        walk_blocks(e, a, 2, 1);
    }
}

/* Body: a heading-less run of paragraphs before the first sec gets an
 * untitled section so it does not land inside the abstract. */
static void body(xml_emit *e, const xmlNode *b, int level)
{
    if (!b)
        return;
    const xmlNode *first = xn_first(b);
    if (first && !xn_is(first, "sec") && e->doc->n_sections > 0)
        xe_section(e, NULL, level);
    walk_blocks(e, b, level, 1);
}

static void sub_article(xml_emit *e, const xmlNode *sub)
{
    const xmlNode *stub = xn_child(sub, "front-stub");
    if (!stub)
        stub = xn_path(sub, "front/article-meta");
    char *title = inline_text(xn_path(stub, "title-group/article-title"));
    xe_section(e, title ? title : "Sub-article", 1);
    free(title);
    walk_blocks(e, xn_child(sub, "body"), 2, 1);
    walk_blocks(e, xn_child(sub, "back"), 2, 1);
}

void jats_extract(const xmlNode *root, xml_emit *e)
{
    const xmlNode *article = root;
    if (!xn_is(root, "article"))
        article = xn_child(root, "article"); /* pmc-articleset wrapper */
    if (!article)
        article = root;
    front_matter(e, article);
    abstracts(e, xn_path(article, "front/article-meta"));
    body(e, xn_child(article, "body"), 1);
    walk_blocks(e, xn_child(article, "back"), 1, 1);
    const xmlNode *floats = xn_child(article, "floats-group");
    if (floats && xn_first(floats)) {
        xe_section(e, "Figures and tables", 1);
        walk_blocks(e, floats, 2, 1);
    }
    for (xmlNode *c = xn_first(article); c; c = xn_next(c))
        if (xn_is(c, "sub-article") || xn_is(c, "response"))
            sub_article(e, c);
}
