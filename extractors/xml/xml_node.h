/* xml_node.h — small helpers over libxml2 trees for the XML and DOCX
 * extractors: a growable string, element navigation by local name and
 * namespace, attribute reading and text collection.
 *
 * Safety: attribute and text helpers read only text and CDATA nodes; they
 * never expand entity references (libxml2's xmlGetProp / xmlNodeGetContent
 * would, which re-opens billion-laughs), and recursion is depth-bounded.
 */
#ifndef PRECIS_XML_NODE_H
#define PRECIS_XML_NODE_H

#include <stddef.h>

#include <libxml/tree.h>

#define XN_NS_XML "http://www.w3.org/XML/1998/namespace"

/* Deepest recursion of any helper here (libxml2 itself stops at 256). */
#define XN_MAX_DEPTH 1024

typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf;

void sb_init(strbuf *b);
void sb_addn(strbuf *b, const char *s, size_t n);
void sb_add(strbuf *b, const char *s);
/* Append one space unless the buffer is empty or already ends in whitespace. */
void sb_space(strbuf *b);
/* Current contents ("" when empty); valid until the next change. */
const char *sb_str(const strbuf *b);
/* Hand over the contents (never NULL) and reset the buffer. */
char *sb_take(strbuf *b);
void sb_free(strbuf *b);

/* Copy of s with ASCII whitespace runs collapsed to one space and trimmed;
 * NULL when s is NULL or blank. */
char *xn_collapse(const char *s);

/* Element tests by local name, and by namespace URI too (ns NULL = none). */
int xn_is(const xmlNode *n, const char *local);
int xn_is_ns(const xmlNode *n, const char *ns, const char *local);
const char *xn_name(const xmlNode *n);   /* local name or "" */
const char *xn_ns(const xmlNode *n);     /* namespace URI or NULL */

xmlNode *xn_first(const xmlNode *parent);            /* first element child */
xmlNode *xn_next(const xmlNode *n);                  /* next element sibling */
xmlNode *xn_child(const xmlNode *parent, const char *local);
xmlNode *xn_next_named(const xmlNode *n, const char *local);
/* First descendant element (document order) named local, at most max_depth
 * levels below root. */
xmlNode *xn_find(const xmlNode *root, const char *local, int max_depth);
/* Follow a path of local names ("front/article-meta/title-group"). */
xmlNode *xn_path(const xmlNode *root, const char *path);

/* Attribute value (malloc'd) or NULL. ns NULL matches an attribute without a
 * namespace; XN_NS_XML reads xml:lang and friends. */
char *xn_attr(const xmlNode *n, const char *local, const char *ns);
/* 1 when the attribute exists and equals value. */
int xn_attr_eq(const xmlNode *n, const char *local, const char *ns, const char *value);

/* Text collection. A filter decides per element: descend, skip it,
 * descend with a space on each side (block-like), or descend with a space
 * before it only when it directly follows another element (citation parts
 * such as <source>Nature</source><year>2001</year>). "br" and "break" always
 * count as a space. Children of element-only content (no text of their own,
 * e.g. <name><surname/><given-names/></name>) are separated by spaces. */
typedef enum xt_action { XT_DESCEND = 0, XT_SKIP, XT_SPACED, XT_SEPARATE } xt_action;
typedef xt_action (*xt_filter)(const xmlNode *el, void *user);

void xn_append_text(strbuf *b, const xmlNode *n, xt_filter filter, void *user);
/* Collapsed text of n (filter may be NULL); NULL when blank. */
char *xn_text(const xmlNode *n, xt_filter filter, void *user);
/* 1 when n has a non-whitespace text or CDATA child of its own. */
int xn_has_direct_text(const xmlNode *n);

#endif
