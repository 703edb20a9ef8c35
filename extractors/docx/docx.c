/* docx.c — docx_extract(): Word (WordprocessingML) documents.
 *
 * Package: the main part is found through _rels/.rels (the officeDocument
 * relationship), styles/footnotes/endnotes through the main part's .rels,
 * core properties through the package .rels; nothing is hard-coded. Every
 * part is read through docx_zip (bomb limits) and parsed by xml_safe.
 *
 * Text: w:t runs in reading order; w:tab and w:br become spaces; tracked
 * insertions (w:ins, w:moveTo) are kept and deletions (w:del, w:moveFrom,
 * w:delText) dropped; field instructions (w:instrText) are dropped and
 * field results kept; drawings, pictures, embedded objects and text boxes
 * are skipped; headers and footers are not read; automatic list numbers
 * are not rendered.
 * Headings: paragraph style (see docx_styles.c) or a direct w:outlineLvl;
 * a "Title" paragraph becomes the title when core properties have none and
 * is a level-1 heading; a "heading" longer than DOCX_MAX_HEADING bytes
 * stays a paragraph.
 * Tables: one paragraph per row, the non-empty cells joined by " | "
 * (paragraphs inside a cell joined by spaces; nested tables flattened).
 * Notes: a footnote reference becomes "[n]" in the text (n counts
 * references in order) and the note's paragraphs follow in a "Footnotes"
 * section, the first prefixed "[n]"; endnotes likewise as "[en]" in
 * "Endnotes". Styles, notes and core properties that are missing, broken or
 * over a limit are skipped with a warning; only the main part is required.
 * Core properties: dc:title -> title, dc:creator -> authors
 * (split on ';'), dcterms:created/modified, dc:subject, cp:keywords ->
 * metadata; language from dc:language or the styles' default w:lang.
 */
#include "extractors/xml/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "extractors/docx/docx_internal.h"
#include "extractors/docx/docx_zip.h"
#include "extractors/extract.h"
#include "extractors/xml/xml_emit.h"
#include "extractors/xml/xml_safe.h"

#define DOCX_MEDIA_TYPE "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
#define DOCX_MAX_HEADING 300
#define DOCX_MAX_NOTES 10000
#define DOCX_XML_PART_LIMIT XML_SAFE_DEFAULT_MAX_BYTES

/* Footnotes or endnotes: the parsed part and the ids in reference order. */
typedef struct note_set {
    xmlDoc *tree;
    char **ids;
    size_t n;
    const char *marker_prefix; /* "" for footnotes, "e" for endnotes */
} note_set;

typedef struct docx_ctx {
    xml_emit *e;
    docx_styles *styles;
    note_set foot, end;
    int in_note; /* reading a note: references inside are ignored */
} docx_ctx;

/* ---- notes ------------------------------------------------------------------ */

/* Ordinal (1-based) of note id in the set, registering it on first use;
 * 0 when the set is full. */
static size_t note_ordinal(note_set *set, const char *id)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->ids[i], id) == 0)
            return i + 1;
    if (set->n >= DOCX_MAX_NOTES)
        return 0;
    set->ids = xrealloc(set->ids, (set->n + 1) * sizeof *set->ids);
    set->ids[set->n++] = xstrdup(id);
    return set->n;
}

static void note_reference(docx_ctx *c, note_set *set, const xmlNode *ref, strbuf *text)
{
    if (c->in_note)
        return;
    char *id = docx_attr(ref, "id");
    size_t k = id ? note_ordinal(set, id) : 0;
    if (k > 0) {
        char mark[32];
        snprintf(mark, sizeof mark, "[%s%zu]", set->marker_prefix, k);
        sb_add(text, mark);
    }
    free(id);
}

static void note_set_free(note_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->ids[i]);
    free(set->ids);
    if (set->tree)
        xmlFreeDoc(set->tree);
}

/* ---- runs and paragraphs ------------------------------------------------------ */

static void inline_content(docx_ctx *c, const xmlNode *n, strbuf *text, int depth);

static void run_child(docx_ctx *c, const xmlNode *k, strbuf *text)
{
    if (docx_is(k, "t")) {
        xn_append_text(text, k, NULL, NULL);
    } else if (docx_is(k, "tab") || docx_is(k, "br") || docx_is(k, "cr") || docx_is(k, "ptab")) {
        sb_space(text);
    } else if (docx_is(k, "noBreakHyphen")) {
        sb_add(text, "-");
    } else if (docx_is(k, "footnoteReference")) {
        note_reference(c, &c->foot, k, text);
    } else if (docx_is(k, "endnoteReference")) {
        note_reference(c, &c->end, k, text);
    }
    /* w:delText, w:instrText, w:drawing, w:pict, w:object, w:sym, w:rPr... : nothing */
}

static void inline_content(docx_ctx *c, const xmlNode *n, strbuf *text, int depth)
{
    if (!xe_enter(c->e, depth))
        return;
    for (xmlNode *k = xn_first(n); k; k = xn_next(k)) {
        if (docx_is(k, "r")) {
            for (xmlNode *rc = xn_first(k); rc; rc = xn_next(rc))
                run_child(c, rc, text);
        } else if (docx_is(k, "ins") || docx_is(k, "moveTo") || docx_is(k, "hyperlink") ||
                   docx_is(k, "smartTag") || docx_is(k, "customXml") || docx_is(k, "sdt") ||
                   docx_is(k, "sdtContent") || docx_is(k, "fldSimple") || docx_is(k, "dir") ||
                   docx_is(k, "bdo")) {
            inline_content(c, k, text, depth + 1);
        }
        /* w:del, w:moveFrom, w:pPr, w:proofErr, bookmarks, comments,
         * mc:AlternateContent: nothing */
    }
}

static char *paragraph_text(docx_ctx *c, const xmlNode *p)
{
    strbuf text;
    sb_init(&text);
    inline_content(c, p, &text, 1);
    char *out = xn_collapse(sb_str(&text));
    sb_free(&text);
    return out;
}

static int paragraph_level(docx_ctx *c, const xmlNode *p)
{
    const xmlNode *ppr = NULL;
    for (xmlNode *k = xn_first(p); k && !ppr; k = xn_next(k))
        if (docx_is(k, "pPr"))
            ppr = k;
    for (xmlNode *k = xn_first(ppr); k; k = xn_next(k)) {
        if (docx_is(k, "outlineLvl")) {
            char *v = docx_attr(k, "val");
            int lvl = v && v[0] >= '0' && v[0] <= '8' && v[1] == '\0' ? v[0] - '0' + 1 : DOCX_STYLE_BODY;
            free(v);
            return lvl;
        }
    }
    for (xmlNode *k = xn_first(ppr); k; k = xn_next(k)) {
        if (docx_is(k, "pStyle")) {
            char *id = docx_attr(k, "val");
            int lvl = id ? docx_style_level(c->styles, id) : DOCX_STYLE_BODY;
            free(id);
            return lvl;
        }
    }
    return DOCX_STYLE_BODY;
}

static void paragraph(docx_ctx *c, const xmlNode *p)
{
    char *text = paragraph_text(c, p);
    if (!text)
        return;
    int level = c->in_note ? DOCX_STYLE_BODY : paragraph_level(c, p);
    if (level != DOCX_STYLE_BODY && strlen(text) <= DOCX_MAX_HEADING) {
        if (level == DOCX_STYLE_TITLE) {
            if (!c->e->doc->title)
                document_set_title(c->e->doc, text);
            level = 1;
        }
        xe_section(c->e, text, level);
    } else {
        xe_para(c->e, text);
    }
    free(text);
}

/* ---- tables ----------------------------------------------------------------- */

static void cell_text(docx_ctx *c, const xmlNode *n, strbuf *out, int depth)
{
    if (!xe_enter(c->e, depth))
        return;
    for (xmlNode *k = xn_first(n); k; k = xn_next(k)) {
        if (docx_is(k, "p")) {
            char *t = paragraph_text(c, k);
            if (t) {
                sb_space(out);
                sb_add(out, t);
            }
            free(t);
        } else if (docx_is(k, "tbl") || docx_is(k, "tr") || docx_is(k, "tc") || docx_is(k, "sdt") ||
                   docx_is(k, "sdtContent") || docx_is(k, "customXml") || docx_is(k, "ins")) {
            cell_text(c, k, out, depth + 1);
        }
    }
}

static void table_row(docx_ctx *c, const xmlNode *tr, int depth)
{
    strbuf row;
    sb_init(&row);
    for (xmlNode *k = xn_first(tr); k; k = xn_next(k)) {
        /* cells, possibly wrapped in content controls or custom XML */
        if (!docx_is(k, "tc") && !docx_is(k, "sdt") && !docx_is(k, "customXml"))
            continue;
        strbuf cell;
        sb_init(&cell);
        cell_text(c, k, &cell, depth + 1);
        char *t = xn_collapse(sb_str(&cell));
        if (t) {
            if (row.len)
                sb_add(&row, " | ");
            sb_add(&row, t);
        }
        free(t);
        sb_free(&cell);
    }
    xe_para(c->e, sb_str(&row));
    sb_free(&row);
}

static void table(docx_ctx *c, const xmlNode *tbl, int depth)
{
    if (!xe_enter(c->e, depth))
        return;
    for (xmlNode *k = xn_first(tbl); k && !xe_full(c->e); k = xn_next(k)) {
        if (docx_is(k, "tr"))
            table_row(c, k, depth + 1);
        else if (docx_is(k, "sdt") || docx_is(k, "sdtContent") || docx_is(k, "customXml") || docx_is(k, "ins"))
            table(c, k, depth + 1);
    }
}

/* ---- body ------------------------------------------------------------------- */

static void blocks(docx_ctx *c, const xmlNode *n, int depth)
{
    if (!xe_enter(c->e, depth))
        return;
    for (xmlNode *k = xn_first(n); k && !xe_full(c->e); k = xn_next(k)) {
        if (docx_is(k, "p"))
            paragraph(c, k);
        else if (docx_is(k, "tbl"))
            table(c, k, depth + 1);
        else if (docx_is(k, "sdt") || docx_is(k, "sdtContent") || docx_is(k, "customXml") ||
                 docx_is(k, "ins") || docx_is(k, "moveTo"))
            blocks(c, k, depth + 1);
    }
}

static const xmlNode *find_note(const xmlDoc *tree, const char *id)
{
    const xmlNode *root = tree ? xmlDocGetRootElement(tree) : NULL;
    for (xmlNode *n = xn_first(root); n; n = xn_next(n)) {
        if (!docx_is(n, "footnote") && !docx_is(n, "endnote"))
            continue;
        char *nid = docx_attr(n, "id");
        int match = nid && strcmp(nid, id) == 0;
        free(nid);
        if (match)
            return n;
    }
    return NULL;
}

static void emit_notes(docx_ctx *c, note_set *set, const char *heading)
{
    if (set->n == 0 || !set->tree)
        return;
    xe_section(c->e, heading, 1);
    c->in_note = 1;
    for (size_t i = 0; i < set->n && !xe_full(c->e); i++) {
        const xmlNode *note = find_note(set->tree, set->ids[i]);
        if (!note)
            continue;
        char mark[32];
        snprintf(mark, sizeof mark, "[%s%zu]", set->marker_prefix, i + 1);
        xe_prefix(c->e, mark);
        blocks(c, note, 1);
        xe_flush_prefix(c->e);
    }
    c->in_note = 0;
}

/* ---- package ------------------------------------------------------------------ */

typedef struct package {
    docx_zip *zip;
    size_t part_limit;
} package;

/* Read and parse a part; a missing part gives *tree NULL and 0. */
static int load_part(package *pkg, const char *name, xmlDoc **tree, perr *err)
{
    *tree = NULL;
    char *data;
    size_t len;
    if (docx_zip_read(pkg->zip, name, &data, &len, err) < 0)
        return -1;
    if (!data)
        return 0;
    int rc = xml_safe_parse(data, len, pkg->part_limit, name, tree, NULL, err);
    free(data);
    return rc;
}

/* Part name of the relationship of a type from source_part's .rels. */
static int related_part(package *pkg, const char *source_part, const char *type, char **out, perr *err)
{
    *out = NULL;
    char *rels_name = docx_rels_name(source_part);
    xmlDoc *rels;
    int rc = load_part(pkg, rels_name, &rels, err);
    free(rels_name);
    if (rc < 0)
        return -1;
    if (rels) {
        *out = docx_rel_target(rels, source_part, type);
        xmlFreeDoc(rels);
    }
    return 0;
}

/* Load an auxiliary part related to main by type (styles, notes): when it
 * is absent, broken or over a limit, the document is still read without
 * it, with a warning. */
static void load_related(package *pkg, const char *main_part, const char *type, xmlDoc **tree, document *doc)
{
    char *name = NULL;
    perr err = {{0}};
    *tree = NULL;
    if (related_part(pkg, main_part, type, &name, &err) < 0 || (name && load_part(pkg, name, tree, &err) < 0))
        document_warn(doc, "ignored the %s part: %s", type, err.msg);
    free(name);
}

static void set_meta_text(document *doc, const char *key, const xmlNode *n)
{
    char *v = xn_text(n, NULL, NULL);
    if (v)
        document_set_meta(doc, key, v);
    free(v);
}

static void core_properties(document *doc, const xmlDoc *core)
{
    const xmlNode *root = core ? xmlDocGetRootElement(core) : NULL;
    for (xmlNode *n = xn_first(root); n; n = xn_next(n)) {
        if (xn_is(n, "title")) {
            char *t = xn_text(n, NULL, NULL);
            document_set_title(doc, t);
            free(t);
        } else if (xn_is(n, "creator")) {
            char *t = xn_text(n, NULL, NULL), *save = NULL;
            for (char *tok = t ? strtok_r(t, ";", &save) : NULL; tok; tok = strtok_r(NULL, ";", &save))
                document_add_author(doc, tok);
            free(t);
        } else if (xn_is(n, "created") || xn_is(n, "modified") || xn_is(n, "subject") || xn_is(n, "keywords")) {
            set_meta_text(doc, xn_name(n), n);
        } else if (xn_is(n, "language")) {
            xml_set_language(doc, xn_text(n, NULL, NULL));
        }
    }
}

static void set_default_language(document *doc, const xmlDoc *styles)
{
    if (doc->language)
        return;
    xml_set_language(doc, docx_styles_language(styles));
}

static int read_package(package *pkg, const struct extract_options *opts, document *doc, perr *err)
{
    char *main_part = NULL, *core_part = NULL;
    xmlDoc *main_tree = NULL, *styles_tree = NULL, *core_tree = NULL;
    int rc = -1;
    if (related_part(pkg, "", "officeDocument", &main_part, err) < 0)
        goto out;
    if (!main_part) {
        perr_set(err, "not a Word document: _rels/.rels has no officeDocument relationship");
        goto out;
    }
    if (load_part(pkg, main_part, &main_tree, err) < 0)
        goto out;
    if (!main_tree) {
        perr_set(err, "main document part %s is missing from the package", main_part);
        goto out;
    }
    const xmlNode *body = xn_first(xmlDocGetRootElement(main_tree));
    while (body && !docx_is(body, "body"))
        body = xn_next(body);
    if (!docx_is(xmlDocGetRootElement(main_tree), "document") || !body) {
        perr_set(err, "%s is not a WordprocessingML document (no w:document/w:body)", main_part);
        goto out;
    }
    perr core_err = {{0}};
    if (related_part(pkg, "", "core-properties", &core_part, &core_err) < 0 ||
        (core_part && load_part(pkg, core_part, &core_tree, &core_err) < 0))
        document_warn(doc, "ignored the core properties: %s", core_err.msg);
    core_properties(doc, core_tree);

    xml_emit e;
    xe_init(&e, doc, opts);
    docx_ctx c = {.e = &e, .foot.marker_prefix = "", .end.marker_prefix = "e"};
    load_related(pkg, main_part, "styles", &styles_tree, doc);
    load_related(pkg, main_part, "footnotes", &c.foot.tree, doc);
    load_related(pkg, main_part, "endnotes", &c.end.tree, doc);
    set_default_language(doc, styles_tree);
    c.styles = docx_styles_load(styles_tree);
    blocks(&c, body, 1);
    emit_notes(&c, &c.foot, "Footnotes");
    emit_notes(&c, &c.end, "Endnotes");
    xe_finish(&e);
    docx_styles_free(c.styles);
    note_set_free(&c.foot);
    note_set_free(&c.end);
    rc = 0;
out:
    free(main_part);
    free(core_part);
    if (main_tree)
        xmlFreeDoc(main_tree);
    if (styles_tree)
        xmlFreeDoc(styles_tree);
    if (core_tree)
        xmlFreeDoc(core_tree);
    return rc;
}

static docx_zip_limits limits_from(const struct extract_options *opts, size_t *part_limit)
{
    size_t entry = opts && opts->max_entry_bytes ? opts->max_entry_bytes : EXTRACT_DEFAULT_MAX_ENTRY;
    if (entry > DOCX_XML_PART_LIMIT)
        entry = DOCX_XML_PART_LIMIT; /* every part we read is XML that libxml2 must hold */
    *part_limit = entry;
    docx_zip_limits l = {
        .max_entry_bytes = entry,
        .max_total_bytes = entry * 4,
        .max_entries = DOCX_DEFAULT_MAX_ENTRIES,
        .max_ratio = DOCX_DEFAULT_MAX_RATIO,
        .ratio_floor = DOCX_DEFAULT_RATIO_FLOOR,
    };
    return l;
}

int docx_extract(const void *data, size_t len, const struct extract_options *opts, document **out, perr *err)
{
    *out = NULL;
    xml_safe_init();
    package pkg;
    docx_zip_limits limits = limits_from(opts, &pkg.part_limit);
    if (docx_zip_open(&pkg.zip, data, len, &limits, err) < 0)
        return perr_prefix(err, "DOCX");
    document *doc = document_new("docx", DOCX_MEDIA_TYPE);
    int rc = read_package(&pkg, opts, doc, err);
    docx_zip_close(pkg.zip);
    if (rc < 0) {
        document_free(doc);
        return perr_prefix(err, "DOCX");
    }
    *out = doc;
    return 0;
}
