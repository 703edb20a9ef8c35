/* xml_emit.c — limited, prefix-aware document building for the XML and DOCX
 * extractors (see xml_emit.h), and language code normalization. */
#include "extractors/xml/xml_emit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "extractors/extract.h"

void xe_init(xml_emit *e, document *doc, const struct extract_options *opts)
{
    memset(e, 0, sizeof *e);
    e->doc = doc;
    e->max_text = opts && opts->max_text_bytes ? opts->max_text_bytes : EXTRACT_DEFAULT_MAX_TEXT;
    e->max_depth = opts && opts->max_depth > 0 ? opts->max_depth : EXTRACT_DEFAULT_MAX_DEPTH;
    sb_init(&e->prefix);
}

static int check_room(xml_emit *e)
{
    if (e->stopped)
        return 0;
    if (e->doc->full_text_len > e->max_text) {
        e->stopped = 1;
        document_warn(e->doc, "text limit of %zu bytes reached; the rest of the document was not extracted",
                      e->max_text);
        return 0;
    }
    return 1;
}

static void add_paragraph(xml_emit *e, const char *text)
{
    if (!check_room(e))
        return;
    if (e->reopen_level > 0) {
        document_add_section(e->doc, NULL, e->reopen_level);
        e->reopen_level = 0;
    }
    document_add_paragraph(e->doc, text, 0);
}

void xe_end_section(xml_emit *e, int level)
{
    xe_flush_prefix(e);
    e->reopen_level = level;
}

void xe_flush_prefix(xml_emit *e)
{
    if (e->prefix.len == 0)
        return;
    char *p = sb_take(&e->prefix);
    add_paragraph(e, p);
    free(p);
}

void xe_finish(xml_emit *e)
{
    xe_flush_prefix(e);
    sb_free(&e->prefix);
}

int xe_full(const xml_emit *e) { return e->stopped; }

void xe_section(xml_emit *e, const char *heading, int level)
{
    xe_flush_prefix(e);
    if (!check_room(e))
        return;
    if (level < 1)
        level = 1;
    e->reopen_level = 0;
    document_add_section(e->doc, heading, level);
}

/* Blank text keeps a pending prefix waiting for real text. */
void xe_para(xml_emit *e, const char *text)
{
    char *t = xn_collapse(text);
    if (!t)
        return;
    if (e->prefix.len == 0) {
        add_paragraph(e, t);
    } else {
        strbuf b;
        sb_init(&b);
        sb_add(&b, sb_str(&e->prefix));
        sb_free(&e->prefix);
        sb_space(&b);
        sb_add(&b, t);
        add_paragraph(e, sb_str(&b));
        sb_free(&b);
    }
    free(t);
}

void xe_prefix(xml_emit *e, const char *text)
{
    char *t = xn_collapse(text);
    if (!t)
        return;
    sb_space(&e->prefix);
    sb_add(&e->prefix, t);
    free(t);
}

int xe_enter(xml_emit *e, int depth)
{
    if (depth <= e->max_depth && depth <= XN_MAX_DEPTH)
        return 1;
    if (!e->depth_warned) {
        e->depth_warned = 1;
        document_warn(e->doc, "content nested deeper than %d elements was skipped", e->max_depth);
    }
    return 0;
}

/* ---- tables -------------------------------------------------------------- */

#define TABLE_CELL_SEPARATOR " | "

static void table_row(xml_emit *e, const xmlNode *tr, xt_filter filter, void *user)
{
    strbuf row;
    sb_init(&row);
    for (xmlNode *c = xn_first(tr); c; c = xn_next(c)) {
        if (!xn_is(c, "td") && !xn_is(c, "th"))
            continue;
        char *cell = xn_text(c, filter, user);
        if (cell) {
            if (row.len)
                sb_add(&row, TABLE_CELL_SEPARATOR);
            sb_add(&row, cell);
            free(cell);
        }
    }
    if (row.len)
        xe_para(e, sb_str(&row));
    sb_free(&row);
}

static void table_walk(xml_emit *e, const xmlNode *n, xt_filter filter, void *user, int depth)
{
    if (!xe_enter(e, depth))
        return;
    for (xmlNode *c = xn_first(n); c && !xe_full(e); c = xn_next(c)) {
        if (xn_is(c, "tr"))
            table_row(e, c, filter, user);
        else if (xn_is(c, "thead") || xn_is(c, "tbody") || xn_is(c, "tfoot"))
            table_walk(e, c, filter, user, depth + 1);
    }
}

void xe_html_table(xml_emit *e, const xmlNode *table, xt_filter filter, void *user)
{
    table_walk(e, table, filter, user, 0);
}

/* ---- languages ----------------------------------------------------------- */

/* ISO 639-2 (bibliographic and terminology) / 639-3 codes that have a
 * two-letter ISO 639-1 equivalent, for the languages most likely here. */
static const struct {
    const char *three, *two;
} lang_map[] = {
    {"ara", "ar"}, {"bul", "bg"}, {"cat", "ca"}, {"ces", "cs"}, {"cze", "cs"}, {"cym", "cy"},
    {"wel", "cy"}, {"dan", "da"}, {"deu", "de"}, {"ger", "de"}, {"ell", "el"}, {"gre", "el"},
    {"eng", "en"}, {"spa", "es"}, {"est", "et"}, {"eus", "eu"}, {"baq", "eu"}, {"fas", "fa"},
    {"per", "fa"}, {"fin", "fi"}, {"fra", "fr"}, {"fre", "fr"}, {"gle", "ga"}, {"gla", "gd"},
    {"heb", "he"}, {"hin", "hi"}, {"hrv", "hr"}, {"hun", "hu"}, {"ita", "it"}, {"jpn", "ja"},
    {"kor", "ko"}, {"lit", "lt"}, {"lav", "lv"}, {"mlt", "mt"}, {"nld", "nl"}, {"dut", "nl"},
    {"nor", "no"}, {"pol", "pl"}, {"por", "pt"}, {"ron", "ro"}, {"rum", "ro"}, {"rus", "ru"},
    {"slk", "sk"}, {"slo", "sk"}, {"slv", "sl"}, {"swa", "sw"}, {"swh", "sw"}, {"swe", "sv"},
    {"tur", "tr"}, {"ukr", "uk"}, {"zho", "zh"}, {"chi", "zh"}, {"afr", "af"}, {"amh", "am"},
    {"hau", "ha"}, {"ibo", "ig"}, {"kin", "rw"}, {"nya", "ny"}, {"sot", "st"}, {"tsn", "tn"},
    {"xho", "xh"}, {"yor", "yo"}, {"zul", "zu"}, {"som", "so"}, {"lug", "lg"}, {"sna", "sn"},
};

char *xml_language_tag(const char *code)
{
    char *c = xn_collapse(code);
    if (!c)
        return NULL;
    for (char *p = c; *p; p++) {
        if (*p == '_')
            *p = '-';
    }
    size_t primary = strcspn(c, "-");
    for (size_t i = 0; i < primary; i++)
        c[i] = (char)tolower((unsigned char)c[i]);
    if (primary == 3) {
        for (size_t i = 0; i < sizeof lang_map / sizeof lang_map[0]; i++) {
            if (strncmp(c, lang_map[i].three, 3) == 0) {
                char *out = xmalloc(strlen(c));
                memcpy(out, lang_map[i].two, 2);
                strcpy(out + 2, c + 3);
                free(c);
                return out;
            }
        }
    }
    return c;
}

void xml_set_language(document *doc, char *code)
{
    char *tag = xml_language_tag(code);
    document_set_language(doc, tag);
    free(tag);
    free(code);
}
