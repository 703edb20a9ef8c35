/* xml_akn.c — Akoma Ntoso 3.0 / LegalDocML (UK Find Case Law judgments,
 * Laws.Africa legislation, any AKN document type).
 *
 * Title: FRBRWork/FRBRname/@value, else docTitle, else FRBRalias
 * (name="title"), else shortTitle. Language: FRBRExpression/FRBRlanguage
 * (ISO 639-2 "eng" becomes "en"). Metadata: uri, country, date (work date),
 * doc_type, court, neutral_citation, docket_number, parties, judges.
 * Structure: preface/header/coverPage/preamble paragraphs first; then every
 * hierarchical container (chapter, part, section, level, hcontainer...) that
 * has a heading opens a section "num heading" one level below the enclosing
 * headed container; containers without a heading glue their num to their
 * first paragraph ("(1) text"). Each p, list item and table row is a
 * paragraph; authorialNote footnotes follow their paragraph as "[marker]
 * text". Attachments (schedules) are level-1 sections.
 */
#include "extractors/xml/xml_vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

#define NS_UK_CASELAW "https://caselaw.nationalarchives.gov.uk/akn"
#define MAX_NOTES_PER_PARAGRAPH 64
#define AKN_MAX_HEADING 250

static const char *const hier_elements[] = {
    "hcontainer", "level", "section", "part", "chapter", "article", "book", "title", "subtitle", "division",
    "subdivision", "subpart", "subchapter", "subsection", "paragraph", "subparagraph", "clause", "subclause",
    "point", "alinea", "indent", "rule", "subrule", "proviso", "list", "sublist", "tome", "transitional",
    "attachment", "component", "crossHeading", NULL};

static int in_set(const xmlNode *n, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (xn_is(n, set[i]))
            return 1;
    return 0;
}

static xt_action akn_inline(const xmlNode *el, void *user)
{
    (void)user;
    static const char *const skip[] = {"authorialNote", "noteRef", "img", "foreign", "meta", NULL};
    if (in_set(el, skip))
        return XT_SKIP;
    if (xn_is(el, "marker") || xn_is(el, "eol") || xn_is(el, "eop") || xn_is(el, "td") || xn_is(el, "th") ||
        xn_is(el, "li") || xn_is(el, "item"))
        return XT_SPACED;
    return XT_DESCEND;
}

static char *inline_text(const xmlNode *n) { return xn_text(n, akn_inline, NULL); }

/* ---- paragraphs and footnotes ------------------------------------------------ */

typedef struct note_list {
    const xmlNode *notes[MAX_NOTES_PER_PARAGRAPH];
    int n;
} note_list;

static void find_notes(const xmlNode *n, note_list *out, int depth)
{
    if (depth > XN_MAX_DEPTH)
        return;
    for (xmlNode *c = xn_first(n); c && out->n < MAX_NOTES_PER_PARAGRAPH; c = xn_next(c)) {
        if (xn_is(c, "authorialNote"))
            out->notes[out->n++] = c;
        else
            find_notes(c, out, depth + 1);
    }
}

static void emit_notes(xml_emit *e, const note_list *notes)
{
    for (int i = 0; i < notes->n; i++) {
        char *marker = xn_attr(notes->notes[i], "marker", NULL);
        char *text = inline_text(notes->notes[i]);
        if (text) {
            char *line = NULL;
            if (asprintf(&line, "[%s] %s", marker && *marker ? marker : "*", text) < 0)
                abort();
            xe_flush_prefix(e);
            xe_para(e, line);
            free(line);
        }
        free(marker);
        free(text);
    }
}

static void paragraph(xml_emit *e, const xmlNode *p)
{
    char *text = inline_text(p);
    xe_para(e, text);
    free(text);
    note_list notes = {.n = 0};
    find_notes(p, &notes, 0);
    emit_notes(e, &notes);
}

/* ---- the structural walk -------------------------------------------------------- */

static void node(xml_emit *e, const xmlNode *n, int level, int depth);

static void children(xml_emit *e, const xmlNode *n, int level, int depth)
{
    for (xmlNode *c = xn_first(n); c && !xe_full(e); c = xn_next(c))
        node(e, c, level, depth + 1);
}

/* 1 when a direct child is a container with a heading of its own: then a
 * numbered but untitled container (a Part "Pili") still opens a section. */
static int has_headed_child(const xmlNode *n)
{
    for (xmlNode *c = xn_first(n); c; c = xn_next(c))
        if (in_set(c, hier_elements) && xn_child(c, "heading"))
            return 1;
    return 0;
}

/* "num heading" when the container should open a section, else NULL. A
 * "heading" longer than AKN_MAX_HEADING bytes is a mis-tagged paragraph. */
static char *container_heading(const xmlNode *n, const char *num)
{
    if (xn_is(n, "crossHeading"))
        return inline_text(n);
    char *heading = inline_text(xn_child(n, "heading"));
    if (heading && strlen(heading) > AKN_MAX_HEADING) {
        free(heading);
        return NULL;
    }
    if (!heading)
        return num && has_headed_child(n) ? xstrdup(num) : NULL;
    if (!num)
        return heading;
    char *h = NULL;
    if (asprintf(&h, "%s %s", num, heading) < 0)
        abort();
    free(heading);
    return h;
}

static void container(xml_emit *e, const xmlNode *n, int level, int depth)
{
    char *num = inline_text(xn_child(n, "num"));
    char *heading = container_heading(n, num);
    int opened = heading != NULL;
    if (opened) {
        xe_section(e, heading, level);
    } else {
        if (num)
            xe_prefix(e, num);
        const xmlNode *h = xn_child(n, "heading");
        if (h)
            paragraph(e, h);
    }
    free(num);
    free(heading);
    if (!xn_is(n, "crossHeading")) {
        for (xmlNode *c = xn_first(n); c && !xe_full(e); c = xn_next(c))
            if (!xn_is(c, "num") && !xn_is(c, "heading"))
                node(e, c, opened ? level + 1 : level, depth + 1);
    }
    xe_flush_prefix(e);
    if (opened && !xn_is(n, "crossHeading"))
        xe_end_section(e, level);
}

static void block_list(xml_emit *e, const xmlNode *n, int level, int depth)
{
    for (xmlNode *c = xn_first(n); c && !xe_full(e); c = xn_next(c)) {
        if (xn_is(c, "item") || xn_is(c, "li")) {
            char *num = inline_text(xn_child(c, "num"));
            if (num)
                xe_prefix(e, num);
            free(num);
            if (xn_has_direct_text(c))
                paragraph(e, c);
            else
                for (xmlNode *cc = xn_first(c); cc; cc = xn_next(cc))
                    if (!xn_is(cc, "num"))
                        node(e, cc, level, depth + 2);
            xe_flush_prefix(e);
        } else {
            node(e, c, level, depth + 1);
        }
    }
}

static void node(xml_emit *e, const xmlNode *n, int level, int depth)
{
    if (!xe_enter(e, depth) || xe_full(e))
        return;
    static const char *const skip[] = {"meta", "staticContent", "img", "foreign", "authorialNote", "noteRef",
                                       "presentation", NULL};
    static const char *const paragraphs[] = {"p", "subheading", "longTitle", "formula", "listIntroduction",
                                             "listWrapUp", "docTitle", "shortTitle", NULL};
    if (in_set(n, skip))
        return;
    if (in_set(n, hier_elements))
        container(e, n, level, depth);
    else if (in_set(n, paragraphs))
        paragraph(e, n);
    else if (xn_is(n, "blockList") || xn_is(n, "ul") || xn_is(n, "ol"))
        block_list(e, n, level, depth);
    else if (xn_is(n, "table"))
        xe_html_table(e, n, akn_inline, NULL);
    else if (xn_is(n, "num")) {
        char *t = inline_text(n);
        xe_prefix(e, t);
        free(t);
    } else if (xn_has_direct_text(n))
        paragraph(e, n);
    else
        children(e, n, level, depth);
}

/* ---- metadata ------------------------------------------------------------------ */

static char *attr_of(const xmlNode *parent, const char *path, const char *attr)
{
    return xn_attr(xn_path(parent, path), attr, NULL);
}

static void set_meta_owned(xml_emit *e, const char *key, char *value)
{
    if (value && *value)
        document_set_meta(e->doc, key, value);
    free(value);
}

/* Texts of every element named local under root (bounded), joined by "; ". */
static char *joined_texts(const xmlNode *root, const char *local, int depth)
{
    strbuf b;
    sb_init(&b);
    if (!root || depth > XN_MAX_DEPTH)
        return NULL;
    for (xmlNode *c = xn_first(root); c; c = xn_next(c)) {
        char *t = NULL;
        if (xn_is(c, local))
            t = inline_text(c);
        else {
            t = joined_texts(c, local, depth + 1);
        }
        if (t) {
            if (b.len)
                sb_add(&b, "; ");
            sb_add(&b, t);
        }
        free(t);
    }
    if (b.len == 0) {
        sb_free(&b);
        return NULL;
    }
    return sb_take(&b);
}

static char *court_name(const xmlNode *meta, const xmlNode *work)
{
    char *author = attr_of(work, "FRBRauthor", "href");
    char *court = NULL;
    const xmlNode *refs = xn_child(meta, "references");
    for (xmlNode *o = xn_child(refs, "TLCOrganization"); o && author && author[0] == '#' && !court;
         o = xn_next_named(o, "TLCOrganization"))
        if (xn_attr_eq(o, "eId", NULL, author + 1))
            court = xn_attr(o, "showAs", NULL);
    free(author);
    if (!court)
        court = inline_text(xn_find(xn_child(meta, "proprietary"), "court", 2));
    return court;
}

static void metadata(xml_emit *e, const xmlNode *docel)
{
    const xmlNode *meta = xn_child(docel, "meta");
    const xmlNode *work = xn_path(meta, "identification/FRBRWork");
    const xmlNode *expr = xn_path(meta, "identification/FRBRExpression");

    set_meta_owned(e, "doc_type", xn_attr(docel, "name", NULL));
    set_meta_owned(e, "uri", attr_of(work, "FRBRuri", "value"));
    set_meta_owned(e, "country", attr_of(work, "FRBRcountry", "value"));
    set_meta_owned(e, "date", attr_of(work, "FRBRdate", "date"));
    set_meta_owned(e, "number", attr_of(work, "FRBRnumber", "value"));
    set_meta_owned(e, "court", court_name(meta, work));

    const xmlNode *prop = xn_child(meta, "proprietary");
    char *cite = NULL;
    for (xmlNode *c = xn_first(prop); c && !cite; c = xn_next(c))
        if (xn_is_ns(c, NS_UK_CASELAW, "cite"))
            cite = inline_text(c);
    if (!cite)
        cite = inline_text(xn_find(docel, "neutralCitation", 12));
    set_meta_owned(e, "neutral_citation", cite);

    const xmlNode *front = xn_child(docel, "header");
    if (!front)
        front = xn_child(docel, "preface");
    set_meta_owned(e, "docket_number", inline_text(xn_find(front, "docketNumber", 12)));
    set_meta_owned(e, "parties", joined_texts(front, "party", 0));
    set_meta_owned(e, "judges", joined_texts(front, "judge", 0));

    char *lang = attr_of(expr, "FRBRlanguage", "language");
    xml_set_language(e->doc, lang);
}

static void title(xml_emit *e, const xmlNode *docel)
{
    const xmlNode *work = xn_path(docel, "meta/identification/FRBRWork");
    char *t = attr_of(work, "FRBRname", "value");
    if (!t || !*t) {
        free(t);
        t = inline_text(xn_find(docel, "docTitle", 12));
    }
    for (xmlNode *a = xn_child(work, "FRBRalias"); a && !t; a = xn_next_named(a, "FRBRalias"))
        if (xn_attr_eq(a, "name", NULL, "title") || xn_attr_eq(a, "name", NULL, "short"))
            t = xn_attr(a, "value", NULL);
    if (!t)
        t = inline_text(xn_find(docel, "shortTitle", 12));
    document_set_title(e->doc, t);
    free(t);
}

/* The document element: act, bill, judgment, debate, doc, ... */
static const xmlNode *document_element(const xmlNode *root)
{
    for (xmlNode *c = xn_first(root); c; c = xn_next(c))
        if (!xn_is(c, "components"))
            return c;
    return NULL;
}

void akn_extract(const xmlNode *root, xml_emit *e)
{
    const xmlNode *docel = xn_is(root, "akomaNtoso") ? document_element(root) : root;
    if (!docel)
        return;
    title(e, docel);
    metadata(e, docel);
    for (xmlNode *c = xn_first(docel); c && !xe_full(e); c = xn_next(c))
        node(e, c, 1, 1);
}
