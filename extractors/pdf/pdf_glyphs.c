/* pdf_glyphs.c — glyphs to lines: block splitting, sub/superscripts kept on
 * their base, bullet glyphs made list markers (rules in pdf_glyphs.h). */
#include "extractors/pdf/pdf_glyphs.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "extractors/textnorm.h"

/* ---- glyph classes --------------------------------------------------------- */

int pdf_is_bullet(unsigned int c)
{
    return c == 0x2022 || c == 0x2023 || c == 0x2043 || c == 0x2219 || (c >= 0x25A0 && c <= 0x25FF) ||
           (c >= 0x2610 && c <= 0x2612) || (c >= 0x2700 && c <= 0x27BF) || (c >= 0xE000 && c <= 0xF8FF);
}

int pdf_font_is_dingbat(const char *name)
{
    if (!name)
        return 0;
    const char *plus = strchr(name, '+');
    if (plus && plus - name == 6)
        name = plus + 1;
    static const char *const families[] = { "wingdings", "webdings", "dingbats", "monotype sorts", "monotypesorts" };
    char *lower = g_ascii_strdown(name, -1);
    int found = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(families) && !found; i++)
        found = strstr(lower, families[i]) != NULL;
    g_free(lower);
    return found;
}

/* ASCII first: these run once per glyph. */
static int is_alnum(gunichar c) { return c < 0x80 ? g_ascii_isalnum((char)c) : g_unichar_isalnum(c); }
static int is_space(gunichar c) { return c < 0x80 ? g_ascii_isspace((char)c) : g_unichar_isspace(c); }

static int is_base_end(gunichar c) { return is_alnum(c) || c == ')' || c == ']'; }

static int is_script_start(gunichar c) { return is_alnum(c) || c == '+' || c == '-' || c == 0x2212 || c == '*'; }

/* ---- geometry -------------------------------------------------------------- */

static double box_height(const pdf_box *r) { return r->y2 - r->y1; }

/* Baseline estimate: poppler's boxes run from ascent to descent, the
 * descent being about a fifth of the height. */
static double baseline(const pdf_box *r) { return r->y2 - 0.2 * box_height(r); }

/* b, right after a, is a sub- or superscript of it (rule 2's geometry). The
 * other way round (a superscript before its text: a footnote's number)
 * poppler's space stays. */
static int is_script_of(const pdf_box *a, const pdf_box *b)
{
    double hl = box_height(a), hs = box_height(b);
    if (hl <= 0 || hs >= 0.85 * hl)
        return 0;
    double overlap = fmin(a->y2, b->y2) - fmax(a->y1, b->y1);
    if (overlap < 0.3 * hs)
        return 0;
    if (fabs(baseline(a) - baseline(b)) < 0.08 * hl)
        return 0;
    double gap = b->x1 - a->x2;
    return gap > -0.1 * hl && gap <= 0.12 * hl;
}

/* How a glyph relates to the previous non-space glyph of the same poppler
 * line. poppler's text sometimes glues separate blocks (columns, table
 * cells, line numbers) into one line, with or without a space. */
typedef enum { GLYPH_NEXT, GLYPH_GAP, GLYPH_SPLIT } glyph_relation;

/* Horizontal text (boxes side by side): a gap over half the line height
 * needs a space; over 1.5 line heights, or a step back to the left, starts a
 * separate line. Vertical (rotated) text (boxes stacked) likewise with the
 * box width. Boxes in neither relation are separate lines. */
static glyph_relation relate(const pdf_box *a, const pdf_box *b)
{
    double h = fmax(box_height(a), box_height(b));
    double w = fmax(a->x2 - a->x1, b->x2 - b->x1);
    double dcy = fabs((a->y1 + a->y2) - (b->y1 + b->y2)) / 2;
    double dcx = fabs((a->x1 + a->x2) - (b->x1 + b->x2)) / 2;
    double gap;
    if (dcy < 0.5 * h && dcx >= dcy) {
        if (b->x1 < a->x1 - 0.5 * h)
            return GLYPH_SPLIT;
        gap = b->x1 - a->x2;
    } else if (dcx < 0.5 * w) {
        gap = fmax(b->y1 - a->y2, a->y1 - b->y2);
        h = w;
    } else {
        return GLYPH_SPLIT;
    }
    return gap > 1.5 * h ? GLYPH_SPLIT : gap > 0.5 * h ? GLYPH_GAP : GLYPH_NEXT;
}

/* ---- a line being assembled ------------------------------------------------------ */

typedef struct line_builder {
    GString *text;
    double box[4];
    const pdf_box *last;    /* previous non-space, non-bullet glyph's box */
    gunichar last_char;     /* and its character */
    size_t last_end;        /* text length just after it */
    int space_since_last;
    int marker;             /* the line starts with the list marker */
} line_builder;

static void builder_reset(line_builder *lb)
{
    g_string_truncate(lb->text, 0);
    lb->box[0] = lb->box[1] = INFINITY;
    lb->box[2] = lb->box[3] = -INFINITY;
    lb->last = NULL;
    lb->last_char = 0;
    lb->last_end = 0;
    lb->space_since_last = 0;
    lb->marker = 0;
}

/* Fold the assembled text and add it as a line of page. */
static void builder_flush(line_builder *lb, pdf_page_text *page)
{
    size_t len;
    char *folded = textnorm_fold(lb->text->str, lb->text->len, &len);
    pdf_page_add_line(page, folded, len, isfinite(lb->box[0]) ? lb->box : NULL);
    free(folded);
    builder_reset(lb);
}

/* The line's box takes in r; a glyph markedly smaller than the line so far
 * (a sub/superscript) only widens it, so the line keeps its text's height
 * for pdf_layout's paragraph rules. */
static void builder_grow_box(line_builder *lb, const pdf_box *r)
{
    if (!r)
        return;
    lb->box[0] = fmin(lb->box[0], r->x1);
    lb->box[2] = fmax(lb->box[2], r->x2);
    if (isfinite(lb->box[1]) && box_height(r) < 0.85 * (lb->box[3] - lb->box[1]))
        return;
    lb->box[1] = fmin(lb->box[1], r->y1);
    lb->box[3] = fmax(lb->box[3], r->y2);
}

static int builder_blank(const line_builder *lb)
{
    for (gsize i = 0; i < lb->text->len; i++)
        if (lb->text->str[i] != ' ')
            return 0;
    return 1;
}

/* Rule 3: a bullet glyph starts the line's marker or becomes a space. */
static void add_bullet(line_builder *lb, const pdf_box *r)
{
    if (!lb->marker && builder_blank(lb)) {
        g_string_assign(lb->text, PDF_LIST_MARKER);
        lb->marker = 1;
    } else if (lb->text->len && lb->text->str[lb->text->len - 1] != ' ') {
        g_string_append_c(lb->text, ' ');
    }
    builder_grow_box(lb, r);
    if (r)
        lb->last = r;
    lb->last_char = 0x2022; /* never a script's base */
    lb->last_end = lb->text->len;
    lb->space_since_last = 1;
}

/* Rules 1 and 2 for a letter (or other non-space, non-bullet glyph). */
static void add_glyph(line_builder *lb, pdf_page_text *page, gunichar c, const pdf_box *r)
{
    glyph_relation rel = GLYPH_NEXT;
    if (r && lb->last) {
        if (is_script_of(lb->last, r) && is_base_end(lb->last_char) && is_script_start(c)) {
            g_string_truncate(lb->text, lb->last_end); /* poppler's space between the words */
            lb->space_since_last = 0;
        } else {
            rel = relate(lb->last, r);
        }
    }
    if (rel == GLYPH_SPLIT)
        builder_flush(lb, page);
    else if (rel == GLYPH_GAP && !lb->space_since_last)
        g_string_append_c(lb->text, ' ');
    if (c < 0x80)
        g_string_append_c(lb->text, (char)c);
    else
        g_string_append_unichar(lb->text, c);
    builder_grow_box(lb, r);
    lb->last = r;
    lb->last_char = c;
    lb->last_end = lb->text->len;
    lb->space_since_last = 0;
}

/* Poppler's line text[start..end), its characters from index ci. */
static void add_line(const pdf_glyphs *g, pdf_page_text *page, const char *start, const char *end, size_t ci)
{
    line_builder lb = { .text = g_string_sized_new((gsize)(end - start) + 8) };
    builder_reset(&lb);
    for (const char *p = start; p < end; p = g_utf8_next_char(p), ci++) {
        gunichar c = (unsigned char)*p < 0x80 ? (gunichar)*p : g_utf8_get_char(p);
        const pdf_box *r = g->boxes && ci < g->n_chars ? &g->boxes[ci] : NULL;
        if (is_space(c)) {
            lb.space_since_last = 1;
            g_string_append_c(lb.text, ' ');
        } else if (pdf_is_bullet(c) || (g->dingbat && ci < g->n_chars && g->dingbat[ci])) {
            if (r && lb.last && relate(lb.last, r) == GLYPH_SPLIT)
                builder_flush(&lb, page);
            add_bullet(&lb, r);
        } else {
            add_glyph(&lb, page, c, r);
        }
    }
    builder_flush(&lb, page);
    g_string_free(lb.text, TRUE);
}

void pdf_glyphs_to_lines(const pdf_glyphs *g, pdf_page_text *page)
{
    const char *s = g->text;
    size_t ci = 0;
    while (*s) {
        const char *nl = strchr(s, '\n');
        const char *end = nl ? nl : s + strlen(s);
        add_line(g, page, s, end, ci);
        ci += (size_t)g_utf8_strlen(s, end - s) + (nl ? 1 : 0);
        s = nl ? nl + 1 : end;
    }
}
