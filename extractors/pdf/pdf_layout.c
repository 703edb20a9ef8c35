/* pdf_layout.c — running header/footer removal, paragraph splitting and
 * de-hyphenation over PDF text lines (rules in pdf_layout.h). */
#include "extractors/pdf/pdf_layout.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/utf8.h"

#define SOFT_HYPHEN 0x00ADu
#define HYPHEN      0x2010u
#define EN_DASH     0x2013u

/* ---- lines ----------------------------------------------------------------- */

void pdf_page_add_line(pdf_page_text *page, const char *text, size_t len, const double *box)
{
    page->lines = xgrow_to(page->lines, &page->cap_lines, page->n_lines + 1, sizeof *page->lines, 64);
    pdf_line *line = &page->lines[page->n_lines++];
    memset(line, 0, sizeof *line);
    line->text = utf8_sanitize(text, len, NULL);
    if (box && isfinite(box[0]) && isfinite(box[1]) && isfinite(box[2]) && isfinite(box[3])) {
        line->x1 = box[0];
        line->y1 = box[1];
        line->x2 = box[2];
        line->y2 = box[3];
        line->has_box = 1;
    }
}

void pdf_page_text_free(pdf_page_text *page)
{
    for (size_t i = 0; i < page->n_lines; i++)
        free(page->lines[i].text);
    free(page->lines);
    page->lines = NULL;
    page->n_lines = page->cap_lines = 0;
    pdf_para_list_free(&page->ocr_paras);
    page->ocr = 0;
}

static int line_is_blank(const pdf_line *line)
{
    for (const char *p = line->text; *p; p = g_utf8_next_char(p))
        if (!g_unichar_isspace(g_utf8_get_char(p)))
            return 0;
    return 1;
}

/* ---- running headers and footers --------------------------------------------- */

/* Lower-cased text without spaces, every run of digits masked as '#'. */
static char *running_key(const char *text)
{
    GString *key = g_string_new(NULL);
    int in_digits = 0;
    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_isdigit(c)) {
            if (!in_digits)
                g_string_append_c(key, '#');
            in_digits = 1;
            continue;
        }
        in_digits = 0;
        if (!g_unichar_isspace(c))
            g_string_append_unichar(key, g_unichar_tolower(c));
    }
    return g_string_free(key, FALSE);
}

typedef struct line_top {
    double y1;
    size_t index;
} line_top;

static int compare_tops(const void *a, const void *b)
{
    const line_top *x = a, *y = b;
    if (x->y1 != y->y1)
        return x->y1 < y->y1 ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Sort line indices by the top of their box (stable on ties). */
static void sort_by_top(const pdf_page_text *page, size_t *order, size_t count)
{
    line_top *tops = xmalloc((count ? count : 1) * sizeof *tops);
    for (size_t i = 0; i < count; i++) {
        tops[i].y1 = page->lines[order[i]].y1;
        tops[i].index = order[i];
    }
    qsort(tops, count, sizeof *tops, compare_tops);
    for (size_t i = 0; i < count; i++)
        order[i] = tops[i].index;
    free(tops);
}

/* Printed sideways in a margin: a box much taller than wide. */
static int is_rotated(const pdf_line *l)
{
    return l->has_box && l->y2 - l->y1 > 3 * (l->x2 - l->x1) && g_utf8_strlen(l->text, -1) >= 4;
}

/* Lines that may be running headers/footers: the lines of the two top-most
 * and two bottom-most rows of text, and every sideways line (printer's marks in
 * margins). Returns the count; *out is malloc'd. */
static size_t running_candidates(const pdf_page_text *page, size_t **out)
{
    size_t count = 0;
    int boxed = 1;
    size_t *order = xmalloc((page->n_lines ? page->n_lines : 1) * sizeof *order);
    for (size_t i = 0; i < page->n_lines; i++) {
        if (line_is_blank(&page->lines[i]))
            continue;
        order[count++] = i;
        boxed &= page->lines[i].has_box;
    }
    if (boxed)
        sort_by_top(page, order, count);
    /* Rows: lines whose tops are within half a line height of the row's first. */
    size_t *row = xmalloc((count ? count : 1) * sizeof *row), rows = 0;
    for (size_t i = 0; i < count; i++) {
        const pdf_line *l = &page->lines[order[i]], *first = i ? &page->lines[order[i - 1]] : NULL;
        if (boxed && i > 0 && l->y1 - first->y1 <= 0.5 * (first->y2 - first->y1))
            row[i] = row[i - 1];
        else
            row[i] = rows++;
    }
    size_t *idx = xmalloc((count ? count : 1) * sizeof *idx), n = 0;
    for (size_t i = 0; i < count; i++) {
        int at_edge = row[i] < 2 || row[i] + 2 >= rows;
        if (at_edge || is_rotated(&page->lines[order[i]]))
            idx[n++] = order[i];
    }
    free(row);
    free(order);
    *out = idx;
    return n;
}

/* Count, per key, the pages on which it appears at an edge. */
static void count_edge_keys(const pdf_page_text *pages, size_t n_pages, GHashTable *counts)
{
    for (size_t p = 0; p < n_pages; p++) {
        size_t *idx;
        size_t n = running_candidates(&pages[p], &idx);
        GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        for (size_t i = 0; i < n; i++) {
            char *key = running_key(pages[p].lines[idx[i]].text);
            if (!*key || g_hash_table_contains(seen, key)) {
                g_free(key);
                continue;
            }
            g_hash_table_add(seen, key);
            gpointer old = g_hash_table_lookup(counts, key);
            g_hash_table_insert(counts, g_strdup(key), GSIZE_TO_POINTER(GPOINTER_TO_SIZE(old) + 1));
        }
        g_hash_table_destroy(seen);
        free(idx);
    }
}

size_t pdf_mark_running_lines(pdf_page_text *pages, size_t n_pages)
{
    if (n_pages < 3)
        return 0;
    GHashTable *counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    count_edge_keys(pages, n_pages, counts);
    size_t marked = 0;
    for (size_t p = 0; p < n_pages; p++) {
        size_t *idx;
        size_t n = running_candidates(&pages[p], &idx);
        for (size_t i = 0; i < n; i++) {
            pdf_line *line = &pages[p].lines[idx[i]];
            char *key = running_key(line->text);
            size_t c = GPOINTER_TO_SIZE(g_hash_table_lookup(counts, key));
            if (c >= 3 && 2 * c >= n_pages && !line->removed) {
                line->removed = 1;
                marked++;
            }
            g_free(key);
        }
        free(idx);
    }
    g_hash_table_destroy(counts);
    return marked;
}

/* ---- joining lines ------------------------------------------------------------- */

static int is_hyphen(gunichar c) { return c == '-' || c == HYPHEN || c == SOFT_HYPHEN; }
static int is_dash(gunichar c) { return c == '-' || c == HYPHEN || c == EN_DASH; }

/* Last code point of buf and the one before it (0 when absent). */
static const char *tail_chars(const GString *buf, gunichar *last, gunichar *before)
{
    const char *p = g_utf8_find_prev_char(buf->str, buf->str + buf->len);
    *last = p ? g_utf8_get_char(p) : 0;
    const char *q = p ? g_utf8_find_prev_char(buf->str, p) : NULL;
    *before = q ? g_utf8_get_char(q) : 0;
    return p;
}

/* How the paragraph text in buf and the next line meet: "" (glued), NULL
 * (drop buf's final hyphen and glue) or " ". */
static const char *joint(const GString *buf, gunichar first)
{
    gunichar h, before;
    tail_chars(buf, &h, &before);
    if (is_hyphen(h) && g_unichar_isalpha(before) &&
        (h == SOFT_HYPHEN ? g_unichar_isalpha(first) : g_unichar_islower(first)))
        return NULL;                        /* regu- + lation */
    if (is_dash(h) && g_unichar_isalnum(before) && (g_unichar_isdigit(first) || g_unichar_isupper(first)))
        return "";                          /* 737– + 9, Soekarno- + Hatta */
    if (h == '/' && before && !g_unichar_isspace(before) && g_unichar_isalnum(first))
        return "";                          /* https:// + www */
    return " ";
}

void pdf_join_line(GString *buf, const char *next)
{
    while (*next && g_unichar_isspace(g_utf8_get_char(next)))
        next = g_utf8_next_char(next);
    if (!*next)
        return;
    if (buf->len == 0) {
        g_string_append(buf, next);
        return;
    }
    const char *sep = joint(buf, g_utf8_get_char(next));
    if (!sep)
        g_string_truncate(buf, (gsize)(g_utf8_find_prev_char(buf->str, buf->str + buf->len) - buf->str));
    else
        g_string_append(buf, sep);
    g_string_append(buf, next);
}

/* ---- paragraphs ------------------------------------------------------------------- */

typedef enum { JOIN, BREAK_SOFT, BREAK_HARD } line_break;

static double height(const pdf_line *l) { return l->y2 - l->y1; }

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median distance between consecutive line tops that look like line pitch. */
static double median_pitch(const pdf_page_text *page)
{
    double *dys = xmalloc((page->n_lines ? page->n_lines : 1) * sizeof *dys);
    size_t n = 0;
    const pdf_line *prev = NULL;
    for (size_t i = 0; i < page->n_lines; i++) {
        const pdf_line *cur = &page->lines[i];
        if (cur->removed || !cur->has_box || line_is_blank(cur))
            continue;
        if (prev) {
            double dy = cur->y1 - prev->y1, h = fmax(height(prev), height(cur));
            if (dy > 0.5 * h && dy < 3 * h)
                dys[n++] = dy;
        }
        prev = cur;
    }
    qsort(dys, n, sizeof *dys, compare_doubles);
    double median = n ? dys[n / 2] : 0;
    free(dys);
    return median;
}

/* Last code point of s (0 if empty), skipping trailing spaces. */
static gunichar last_char(const char *s, size_t len, const char **pos)
{
    const char *end = s + len;
    while (end > s) {
        const char *p = g_utf8_find_prev_char(s, end);
        gunichar c = g_utf8_get_char(p);
        if (!g_unichar_isspace(c)) {
            if (pos)
                *pos = p;
            return c;
        }
        end = p;
    }
    return 0;
}

static int ends_sentence(const char *s, size_t len)
{
    const char *pos = NULL;
    gunichar c = last_char(s, len, &pos);
    if (c == ')' || c == '"' || c == 0x201D || c == 0x2019 || c == '\'')
        c = pos > s ? last_char(s, (size_t)(pos - s), NULL) : 0;
    return c == '.' || c == '!' || c == '?' || c == ':';
}

/* True when `next` reads as the continuation of the paragraph so far: the
 * paragraph has no final punctuation and next starts in lower case, or the
 * paragraph ends in a word broken by a hyphen or dash. */
static int continues(const GString *buf, const char *next)
{
    while (*next && g_unichar_isspace(g_utf8_get_char(next)))
        next = g_utf8_next_char(next);
    if (buf->len == 0 || !*next)
        return 0;
    gunichar first = g_utf8_get_char(next), h, before;
    tail_chars(buf, &h, &before);
    if ((is_hyphen(h) || is_dash(h)) && g_unichar_isalnum(before) && g_unichar_isalnum(first))
        return 1;
    gunichar c = last_char(buf->str, buf->len, NULL);
    return g_unichar_islower(first) && !(c == '.' || c == '!' || c == '?' || c == ':' || c == ';');
}

static line_break classify(const pdf_line *prev, const pdf_line *cur, double pitch, double right_edge)
{
    if (!prev->has_box || !cur->has_box)
        return JOIN;
    double hp = height(prev), hc = height(cur);
    double hmin = fmin(hp, hc), hmax = fmax(hp, hc);
    double dy = cur->y1 - prev->y1;
    if (fabs(dy) < 0.5 * hmin) /* same line band: a separate block unless close */
        return cur->x1 > prev->x2 + 1.5 * hmax || cur->x2 < prev->x1 ? BREAK_HARD : JOIN;
    if (dy < 0)
        return BREAK_SOFT; /* back up the page: next column or block */
    if (fabs(hc - hp) > 0.2 * hmax)
        return BREAK_HARD;
    if (dy > 1.3 * fmax(pitch, hmax)) /* own height too: large type has a larger pitch */
        return BREAK_HARD;
    int sentence_end = ends_sentence(prev->text, strlen(prev->text));
    double indent = cur->x1 - prev->x1;
    if (sentence_end && indent > 0.5 * hc && indent < 4 * hc)
        return BREAK_HARD;
    if (sentence_end && prev->x2 < right_edge - 2 * hp)
        return BREAK_HARD;
    return JOIN;
}

static int starts_list_item(const pdf_line *l)
{
    return strncmp(l->text, PDF_LIST_MARKER, strlen(PDF_LIST_MARKER)) == 0;
}

/* A list marker with no text after it (bullets set apart from their
 * items, in their own column). */
static int is_lone_marker(const char *s)
{
    size_t n = strlen(PDF_LIST_MARKER) - 1; /* without its space */
    while (*s == ' ')
        s++;
    if (strncmp(s, PDF_LIST_MARKER, n) != 0)
        return 0;
    for (s += n; *s == ' '; s++)
        ;
    return *s == 0;
}

/* Move the paragraph in buf to out (soft hyphens and lone list markers
 * removed) and clear buf. */
static void flush_paragraph(GString *buf, int page, pdf_para_list *out)
{
    GString *clean = g_string_sized_new(buf->len);
    for (const char *p = buf->str; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c != SOFT_HYPHEN)
            g_string_append_unichar(clean, c);
    }
    g_string_truncate(buf, 0);
    if (clean->len == 0 || is_lone_marker(clean->str)) {
        g_string_free(clean, TRUE);
        return;
    }
    pdf_para_list_add(out, clean->str, page, 0, 0);
    g_string_free(clean, TRUE);
}

void pdf_para_list_add(pdf_para_list *list, const char *text, int page, int ocr, double confidence)
{
    list->items = xgrow_to(list->items, &list->cap, list->n + 1, sizeof *list->items, 64);
    pdf_para *p = &list->items[list->n++];
    p->text = utf8_sanitize(text, strlen(text), NULL);
    p->page = page;
    p->ocr = ocr;
    p->ocr_confidence = confidence;
}

/* An OCR page: the paragraph so far ends; the page's own paragraphs follow. */
static void add_ocr_page(const pdf_page_text *page, GString *buf, int buf_page, pdf_para_list *out)
{
    flush_paragraph(buf, buf_page, out);
    for (size_t i = 0; i < page->ocr_paras.n; i++) {
        const pdf_para *p = &page->ocr_paras.items[i];
        pdf_para_list_add(out, p->text, page->number, 1, p->ocr_confidence);
    }
}

void pdf_build_paragraphs(const pdf_page_text *pages, size_t n_pages, pdf_para_list *out)
{
    GString *buf = g_string_new(NULL);
    int buf_page = 0;
    for (size_t p = 0; p < n_pages; p++) {
        const pdf_page_text *page = &pages[p];
        if (page->ocr) {
            add_ocr_page(page, buf, buf_page, out);
            continue;
        }
        double pitch = median_pitch(page), right = 0;
        const pdf_line *prev = NULL;
        for (size_t i = 0; i < page->n_lines; i++) {
            const pdf_line *cur = &page->lines[i];
            if (cur->removed || line_is_blank(cur))
                continue;
            double edge = cur->has_box ? fmax(right, cur->x2) : right;
            line_break kind = prev ? classify(prev, cur, pitch, edge) : BREAK_SOFT;
            if (kind == BREAK_SOFT && continues(buf, cur->text))
                kind = JOIN;
            if (starts_list_item(cur))
                kind = BREAK_HARD;
            if (kind != JOIN) {
                flush_paragraph(buf, buf_page, out);
                edge = cur->has_box ? cur->x2 : 0;
            }
            if (buf->len == 0)
                buf_page = page->number;
            pdf_join_line(buf, cur->text);
            right = edge;
            prev = cur;
        }
    }
    flush_paragraph(buf, buf_page, out);
    g_string_free(buf, TRUE);
}

void pdf_para_list_free(pdf_para_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i].text);
    free(list->items);
    list->items = NULL;
    list->n = list->cap = 0;
}
