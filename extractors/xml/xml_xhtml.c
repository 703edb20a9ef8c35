/* xml_xhtml.c — XHTML (well-formed HTML in the XHTML namespace, or an
 * un-namespaced <html> root).
 *
 * Title: head/title, else the first h1. Language: html/@lang or @xml:lang.
 * Authors: <meta name="author">; <meta name="description"> and "keywords"
 * go to metadata. h1..h6 open sections of that level; p, li, dt, dd,
 * blockquote text, pre, figcaption... become paragraphs; table rows become
 * one paragraph each (cells joined by " | "); text directly inside div,
 * section, article... is gathered into paragraphs around nested blocks.
 * script, style, template, noscript, svg, math, form controls and the head
 * are never read as text.
 */
#include "extractors/xml/xml_vocab.h"

#include <stdlib.h>
#include <strings.h>

static const char *const skipped[] = {"script", "style", "template", "noscript", "head", "svg", "math",
                                      "object", "iframe", "canvas", "button", "select", NULL};
static const char *const blocks[] = {"p", "div", "section", "article", "aside", "main", "header", "footer",
                                     "nav", "ul", "ol", "li", "dl", "dt", "dd", "table", "blockquote",
                                     "pre", "figure", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6",
                                     "hr", "address", "form", "fieldset", "details", "summary", "body",
                                     "caption", "center", NULL};

static int in_set(const xmlNode *n, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (xn_is(n, set[i]))
            return 1;
    return 0;
}

static xt_action xhtml_inline(const xmlNode *el, void *user)
{
    (void)user;
    if (in_set(el, skipped))
        return XT_SKIP;
    if (in_set(el, blocks))
        return XT_SPACED;
    return XT_DESCEND;
}

static int heading_level(const xmlNode *n)
{
    const char *name = xn_name(n);
    if ((name[0] == 'h' || name[0] == 'H') && name[1] >= '1' && name[1] <= '6' && name[2] == '\0')
        return name[1] - '0';
    return 0;
}

static void flow(xml_emit *e, const xmlNode *n, int depth);

static void block(xml_emit *e, const xmlNode *n, int depth)
{
    if (!xe_enter(e, depth) || xe_full(e) || in_set(n, skipped))
        return;
    int h = heading_level(n);
    if (h) {
        char *t = xn_text(n, xhtml_inline, NULL);
        xe_section(e, t, h);
        free(t);
    } else if (xn_is(n, "table")) {
        char *caption = xn_text(xn_child(n, "caption"), xhtml_inline, NULL);
        xe_para(e, caption);
        free(caption);
        xe_html_table(e, n, xhtml_inline, NULL);
    } else if (xn_is(n, "hr")) {
        return;
    } else {
        flow(e, n, depth);
    }
}

/* Mixed content: inline runs become paragraphs, nested blocks recurse. */
static void flow(xml_emit *e, const xmlNode *n, int depth)
{
    strbuf text;
    sb_init(&text);
    for (const xmlNode *c = n->children; c && !xe_full(e); c = c->next) {
        if (c->type == XML_ELEMENT_NODE && (in_set(c, blocks) || in_set(c, skipped))) {
            xe_para(e, sb_str(&text));
            sb_free(&text);
            block(e, c, depth + 1);
        } else {
            xn_append_text(&text, c, xhtml_inline, NULL);
        }
    }
    xe_para(e, sb_str(&text));
    sb_free(&text);
}

static void head_meta(xml_emit *e, const xmlNode *head)
{
    for (xmlNode *m = xn_child(head, "meta"); m; m = xn_next_named(m, "meta")) {
        char *name = xn_attr(m, "name", NULL), *content = xn_attr(m, "content", NULL);
        if (name && content && *content) {
            if (strcasecmp(name, "author") == 0)
                document_add_author(e->doc, content);
            else if (strcasecmp(name, "description") == 0 || strcasecmp(name, "keywords") == 0)
                document_set_meta(e->doc, name, content);
        }
        free(name);
        free(content);
    }
}

void xhtml_extract(const xmlNode *root, xml_emit *e)
{
    const xmlNode *head = xn_child(root, "head");
    const xmlNode *body = xn_child(root, "body");
    char *title = xn_text(xn_child(head, "title"), xhtml_inline, NULL);
    if (!title)
        title = xn_text(xn_find(body, "h1", 32), xhtml_inline, NULL);
    document_set_title(e->doc, title);
    free(title);
    char *lang = xn_attr(root, "lang", NULL);
    if (!lang)
        lang = xn_attr(root, "lang", XN_NS_XML);
    xml_set_language(e->doc, lang);
    head_meta(e, head);
    if (body)
        flow(e, body, 1);
}
