/* xml_node.c — tree navigation, attribute and text helpers (see xml_node.h). */
#include "extractors/xml/xml_node.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/utf8.h"

/* ---- strbuf -------------------------------------------------------------- */

void sb_init(strbuf *b) { memset(b, 0, sizeof *b); }

void sb_addn(strbuf *b, const char *s, size_t n)
{
    if (n == 0)
        return;
    b->s = xgrow_to(b->s, &b->cap, b->len + n + 1, 1, 64);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sb_add(strbuf *b, const char *s)
{
    if (s)
        sb_addn(b, s, strlen(s));
}

static int is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

void sb_space(strbuf *b)
{
    if (b->len > 0 && !is_ascii_space(b->s[b->len - 1]))
        sb_addn(b, " ", 1);
}

const char *sb_str(const strbuf *b) { return b->len ? b->s : ""; }

char *sb_take(strbuf *b)
{
    char *s = b->s ? b->s : xstrdup("");
    sb_init(b);
    return s;
}

void sb_free(strbuf *b)
{
    free(b->s);
    sb_init(b);
}

char *xn_collapse(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s), o = 0;
    char *out = xmalloc(n + 1);
    int pending = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_ascii_space(s[i])) {
            pending = o > 0;
            continue;
        }
        if (pending)
            out[o++] = ' ';
        pending = 0;
        out[o++] = s[i];
    }
    out[o] = '\0';
    if (o == 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- elements ------------------------------------------------------------ */

const char *xn_name(const xmlNode *n)
{
    return n && n->type == XML_ELEMENT_NODE && n->name ? (const char *)n->name : "";
}

const char *xn_ns(const xmlNode *n)
{
    return n && n->ns && n->ns->href ? (const char *)n->ns->href : NULL;
}

int xn_is(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, local) == 0;
}

int xn_is_ns(const xmlNode *n, const char *ns, const char *local)
{
    if (!xn_is(n, local))
        return 0;
    const char *href = xn_ns(n);
    if (!ns)
        return href == NULL;
    return href && strcmp(href, ns) == 0;
}

static xmlNode *element_from(xmlNode *n)
{
    while (n && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

xmlNode *xn_first(const xmlNode *parent)
{
    return parent ? element_from(parent->children) : NULL;
}

xmlNode *xn_next(const xmlNode *n) { return n ? element_from(n->next) : NULL; }

xmlNode *xn_next_named(const xmlNode *n, const char *local)
{
    for (xmlNode *c = xn_next(n); c; c = xn_next(c))
        if (xn_is(c, local))
            return c;
    return NULL;
}

xmlNode *xn_child(const xmlNode *parent, const char *local)
{
    for (xmlNode *c = xn_first(parent); c; c = xn_next(c))
        if (xn_is(c, local))
            return c;
    return NULL;
}

xmlNode *xn_find(const xmlNode *root, const char *local, int max_depth)
{
    if (!root || max_depth <= 0)
        return NULL;
    if (max_depth > XN_MAX_DEPTH)
        max_depth = XN_MAX_DEPTH;
    for (xmlNode *c = xn_first(root); c; c = xn_next(c)) {
        if (xn_is(c, local))
            return c;
        xmlNode *hit = xn_find(c, local, max_depth - 1);
        if (hit)
            return hit;
    }
    return NULL;
}

xmlNode *xn_path(const xmlNode *root, const char *path)
{
    char step[128];
    const xmlNode *cur = root;
    while (cur && *path) {
        size_t n = strcspn(path, "/");
        if (n == 0 || n >= sizeof step)
            return NULL;
        memcpy(step, path, n);
        step[n] = '\0';
        cur = xn_child(cur, step);
        path += n;
        if (*path == '/')
            path++;
    }
    return (xmlNode *)cur;
}

/* ---- attributes ---------------------------------------------------------- */

static xmlAttr *find_attr(const xmlNode *n, const char *local, const char *ns)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return NULL;
    for (xmlAttr *a = n->properties; a; a = a->next) {
        if (!a->name || strcmp((const char *)a->name, local) != 0)
            continue;
        const char *href = a->ns && a->ns->href ? (const char *)a->ns->href : NULL;
        if ((!ns && !href) || (ns && href && strcmp(ns, href) == 0))
            return a;
    }
    return NULL;
}

char *xn_attr(const xmlNode *n, const char *local, const char *ns)
{
    xmlAttr *a = find_attr(n, local, ns);
    if (!a)
        return NULL;
    strbuf b;
    sb_init(&b);
    for (xmlNode *c = a->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            sb_add(&b, (const char *)c->content);
    return sb_take(&b);
}

int xn_attr_eq(const xmlNode *n, const char *local, const char *ns, const char *value)
{
    char *v = xn_attr(n, local, ns);
    int eq = v && strcmp(v, value) == 0;
    free(v);
    return eq;
}

/* ---- text ---------------------------------------------------------------- */

static int is_blank(const char *s)
{
    for (; s && *s; s++)
        if (!is_ascii_space(*s))
            return 0;
    return 1;
}

int xn_has_direct_text(const xmlNode *n)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && !is_blank((const char *)c->content))
            return 1;
    return 0;
}

static void append_text_rec(strbuf *b, const xmlNode *n, xt_filter filter, void *user, int depth)
{
    if (depth > XN_MAX_DEPTH)
        return;
    int element_only = !xn_has_direct_text(n);
    int after_element = 0;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            sb_add(b, (const char *)c->content);
            after_element = 0;
            continue;
        }
        if (c->type != XML_ELEMENT_NODE)
            continue; /* comments, PIs, and entity references (never expanded) */
        if (xn_is(c, "br") || xn_is(c, "break")) {
            sb_space(b);
            continue;
        }
        xt_action act = filter ? filter(c, user) : XT_DESCEND;
        if (act == XT_SKIP)
            continue;
        if (act == XT_SPACED || ((element_only || act == XT_SEPARATE) && after_element))
            sb_space(b);
        after_element = 1;
        append_text_rec(b, c, filter, user, depth + 1);
        if (act == XT_SPACED)
            sb_space(b);
    }
}

void xn_append_text(strbuf *b, const xmlNode *n, xt_filter filter, void *user)
{
    if (!n)
        return;
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        sb_add(b, (const char *)n->content);
        return;
    }
    if (n->type == XML_ELEMENT_NODE)
        append_text_rec(b, n, filter, user, 0);
}

char *xn_text(const xmlNode *n, xt_filter filter, void *user)
{
    strbuf b;
    sb_init(&b);
    xn_append_text(&b, n, filter, user);
    char *out = xn_collapse(sb_str(&b));
    sb_free(&b);
    return out;
}
