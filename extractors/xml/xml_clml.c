/* xml_clml.c — UK legislation in Crown Legislation Markup Language (CLML,
 * legislation.gov.uk, namespace http://www.legislation.gov.uk/namespaces/legislation).
 *
 * Title: ukm:Metadata/dc:title, else the prelims Title. Language: xml:lang,
 * else dc:language. Metadata: uri (dc:identifier), year, number,
 * document_type (ukm:DocumentMainType), enactment_date / made_date.
 * Structure: prelims (number, long title, dates, enacting text) first; Part,
 * Chapter, Pblock, P1group, Schedule... with a Title open sections "Number
 * Title", nested by level; P1..P7 numbers are glued to their first text
 * ("1 (1) A library authority must..."; P2 and deeper numbers get
 * parentheses unless PuncBefore/PuncAfter say otherwise). Quoted amendments
 * (BlockAmendment) never open sections. Tables: one paragraph per row.
 * Footnotes become a "Footnotes" section; editorial Commentaries are skipped.
 */
#include "extractors/xml/xml_vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct clml_walk {
    xml_emit *e;
    int quoted; /* inside a BlockAmendment: headings become paragraphs */
} clml_walk;

static xt_action clml_inline(const xmlNode *el, void *user)
{
    (void)user;
    if (xn_is(el, "CommentaryRef") || xn_is(el, "FootnoteRef") || xn_is(el, "MarginNoteRef") ||
        xn_is(el, "Image") || xn_is(el, "Metadata"))
        return XT_SKIP;
    if (xn_is(el, "td") || xn_is(el, "th") || xn_is(el, "ListItem"))
        return XT_SPACED;
    return XT_DESCEND;
}

static char *inline_text(const xmlNode *n) { return xn_text(n, clml_inline, NULL); }

static const char *const headed_containers[] = {"Part", "Chapter", "Pblock", "PsubBlock", "P1group", "Schedule",
                                                "Schedules", "Appendix", "Division", "ExplanatoryNotes",
                                                "EarlierOrders", "Group", NULL};
static const char *const numbered_provisions[] = {"P1", "P2", "P3", "P4", "P5", "P6", "P7", NULL};
static const char *const text_blocks[] = {"Text", "LongTitle", "DateText", "Reference", "Number", "Title",
                                          "Subject", "Subtitle", "Comment", "Signee", "LSseal", "Addressee",
                                          NULL};
static const char *const skipped[] = {"Metadata", "Commentaries", "Contents", "CommentaryRef", "FootnoteRef",
                                      "Image", "Resources", NULL};

static int in_set(const xmlNode *n, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (xn_is(n, set[i]))
            return 1;
    return 0;
}

static void node(clml_walk *w, const xmlNode *n, int level, int depth);

static void children(clml_walk *w, const xmlNode *n, int level, int depth)
{
    for (xmlNode *c = xn_first(n); c && !xe_full(w->e); c = xn_next(c))
        node(w, c, level, depth + 1);
}

/* "Number Title" of a Part/Schedule/P1group...; NULL when untitled. */
static char *container_heading(const xmlNode *n)
{
    const xmlNode *title = xn_child(n, "Title");
    if (!title)
        title = xn_path(n, "TitleBlock/Title");
    char *t = inline_text(title);
    char *num = inline_text(xn_child(n, "Number"));
    char *out = NULL;
    if (t && num) {
        if (asprintf(&out, "%s %s", num, t) < 0)
            abort();
    } else {
        out = t ? t : num;
        t = num = NULL;
    }
    free(t);
    free(num);
    return out;
}

static void headed(clml_walk *w, const xmlNode *n, int level, int depth)
{
    char *heading = container_heading(n);
    int child_level = level;
    if (heading && !w->quoted) {
        xe_section(w->e, heading, level);
        child_level = level + 1;
    } else if (heading) {
        xe_para(w->e, heading);
    }
    free(heading);
    for (xmlNode *c = xn_first(n); c && !xe_full(w->e); c = xn_next(c)) {
        if (xn_is(c, "Title") || xn_is(c, "Number") || xn_is(c, "TitleBlock"))
            continue;
        node(w, c, child_level, depth + 1);
    }
}

/* "1", "(1)", "(a)": P1 numbers stand alone, deeper ones are bracketed. */
static void provision_number(clml_walk *w, const xmlNode *p)
{
    const xmlNode *pn = xn_child(p, "Pnumber");
    char *num = inline_text(pn);
    if (!num)
        return;
    char *before = xn_attr(pn, "PuncBefore", NULL), *after = xn_attr(pn, "PuncAfter", NULL);
    int bracket = !xn_is(p, "P1") && num[0] != '(';
    char *label = NULL;
    if (asprintf(&label, "%s%s%s", before ? before : bracket ? "(" : "", num,
                 after ? after : bracket ? ")" : "") < 0)
        abort();
    xe_prefix(w->e, label);
    free(label);
    free(num);
    free(before);
    free(after);
}

static void provision(clml_walk *w, const xmlNode *p, int level, int depth)
{
    provision_number(w, p);
    for (xmlNode *c = xn_first(p); c && !xe_full(w->e); c = xn_next(c))
        if (!xn_is(c, "Pnumber"))
            node(w, c, level, depth + 1);
    xe_flush_prefix(w->e);
}

static void footnotes(clml_walk *w, const xmlNode *n, int depth)
{
    xe_section(w->e, "Footnotes", 1);
    for (xmlNode *f = xn_child(n, "Footnote"); f; f = xn_next_named(f, "Footnote")) {
        char *num = inline_text(xn_child(f, "Number"));
        if (num)
            xe_prefix(w->e, num);
        free(num);
        for (xmlNode *c = xn_first(f); c; c = xn_next(c))
            if (!xn_is(c, "Number"))
                node(w, c, 1, depth + 1);
        xe_flush_prefix(w->e);
    }
}

static void node(clml_walk *w, const xmlNode *n, int level, int depth)
{
    if (!xe_enter(w->e, depth) || xe_full(w->e) || in_set(n, skipped))
        return;
    if (in_set(n, headed_containers)) {
        headed(w, n, level, depth);
    } else if (in_set(n, numbered_provisions)) {
        provision(w, n, level, depth);
    } else if (xn_is(n, "BlockAmendment") || xn_is(n, "BlockExtract")) {
        int saved = w->quoted;
        w->quoted = 1;
        children(w, n, level, depth);
        w->quoted = saved;
    } else if (xn_is(n, "table")) {
        xe_html_table(w->e, n, clml_inline, NULL);
    } else if (xn_is(n, "Footnotes")) {
        footnotes(w, n, depth);
    } else if (in_set(n, text_blocks) || xn_has_direct_text(n)) {
        char *t = inline_text(n);
        xe_para(w->e, t);
        free(t);
    } else {
        children(w, n, level, depth);
    }
}

/* ---- metadata ------------------------------------------------------------------ */

static void set_meta_owned(xml_emit *e, const char *key, char *value)
{
    if (value && *value)
        document_set_meta(e->doc, key, value);
    free(value);
}

static void metadata(xml_emit *e, const xmlNode *root, const xmlNode *meta)
{
    char *title = inline_text(xn_child(meta, "title"));
    if (!title)
        title = inline_text(xn_find(root, "Title", 4));
    document_set_title(e->doc, title);
    free(title);

    char *lang = xn_attr(root, "lang", XN_NS_XML);
    if (!lang)
        lang = inline_text(xn_child(meta, "language"));
    xml_set_language(e->doc, lang);

    set_meta_owned(e, "uri", inline_text(xn_child(meta, "identifier")));
    const xmlNode *pm = xn_child(meta, "PrimaryMetadata");
    if (!pm)
        pm = xn_child(meta, "SecondaryMetadata");
    if (!pm)
        pm = xn_child(meta, "EUMetadata");
    set_meta_owned(e, "document_type", xn_attr(xn_path(pm, "DocumentClassification/DocumentMainType"), "Value", NULL));
    set_meta_owned(e, "year", xn_attr(xn_child(pm, "Year"), "Value", NULL));
    set_meta_owned(e, "number", xn_attr(xn_child(pm, "Number"), "Value", NULL));
    set_meta_owned(e, "enactment_date", xn_attr(xn_child(pm, "EnactmentDate"), "Date", NULL));
    set_meta_owned(e, "made_date", xn_attr(xn_child(pm, "Made"), "Date", NULL));
}

/* Prelims: everything but the Title, which is the document title. */
static void prelims(clml_walk *w, const xmlNode *p)
{
    for (xmlNode *c = xn_first(p); c && !xe_full(w->e); c = xn_next(c))
        if (!xn_is(c, "Title"))
            node(w, c, 1, 2);
}

void clml_extract(const xmlNode *root, xml_emit *e)
{
    metadata(e, root, xn_child(root, "Metadata"));
    clml_walk w = {.e = e, .quoted = 0};
    for (xmlNode *part = xn_first(root); part && !xe_full(e); part = xn_next(part)) {
        if (xn_is(part, "Metadata") || xn_is(part, "Commentaries") || xn_is(part, "Contents"))
            continue;
        for (xmlNode *c = xn_first(part); c && !xe_full(e); c = xn_next(c)) {
            if (xn_is(c, "PrimaryPrelims") || xn_is(c, "SecondaryPrelims") || xn_is(c, "EUPrelims"))
                prelims(&w, c);
            else
                node(&w, c, 1, 2);
        }
    }
}
