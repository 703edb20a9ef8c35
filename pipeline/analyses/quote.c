/* quote.c — verifying a model's verbatim quote against a document's text
 * (see quote.h for the three matching tiers).
 *
 * The index keeps, for each normalized copy of full_text, a map from every
 * normalized byte back to the start of the original character (or whitespace
 * run) that produced it, so a match in the normalized copy becomes a span of
 * the original text. The map is stored as pieces (verbatim runs, collapsed
 * runs, folded characters), a few per paragraph, not one entry per byte. Code-point offsets come from a table of code-point
 * counts at fixed byte steps; paragraphs are found by binary search (they lie
 * in full_text in reading order).
 */
#include "pipeline/analyses/quote.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/utf8.h"

/* One entry of the code-point table every CHAR_STEP bytes. */
#define CHAR_STEP 4096

/* The map from normalized bytes back to the source, as pieces: from
 * text[norm] on (up to the next piece), a verbatim piece copies the source
 * from byte src on, one for one; any other piece (a collapsed whitespace run,
 * a folded character) maps every byte to its source start src. */
typedef struct norm_piece {
    size_t norm, src;
    int verbatim;
} norm_piece;

typedef struct norm_text {
    char *text;        /* normalized, NUL-terminated */
    size_t len, cap;
    int with_map;
    norm_piece *pieces;
    size_t n_pieces, cap_pieces;
} norm_text;

struct quote_index {
    const document *doc;
    norm_text ws;                  /* whitespace tier */
    norm_text typo;                /* typographic tier */
    const doc_paragraph **paras;   /* every paragraph, in full_text order */
    size_t n_paras;
    size_t *char_marks;            /* code points in full_text[0, k*CHAR_STEP) */
};

const char *quote_method_name(quote_method m)
{
    switch (m) {
    case QUOTE_EXACT: return "exact";
    case QUOTE_WHITESPACE: return "whitespace";
    case QUOTE_TYPOGRAPHIC: return "typographic";
    case QUOTE_NONE: break;
    }
    return "none";
}

/* ---- character classes ------------------------------------------------- */

/* Typographic fold of cp: its plain replacement ("" = drop it), or NULL when
 * cp stays as it is. No replacement is longer than cp's UTF-8 encoding. */
static const char *typographic_fold(uint32_t cp)
{
    switch (cp) {
    case 0x00AD: return "";                       /* soft hyphen */
    case 0x02BC: case 0x2018: case 0x2019:        /* modifier apostrophe, ‘ ’ */
    case 0x201A: case 0x201B: case 0x2032:        /* ‚ ‛ prime */
        return "'";
    case 0x201C: case 0x201D: case 0x201E:        /* “ ” „ */
    case 0x201F: case 0x2033:                     /* ‟ double prime */
        return "\"";
    case 0x2010: case 0x2011: case 0x2012:        /* hyphen, nb hyphen, figure dash */
    case 0x2013: case 0x2014: case 0x2015:        /* en, em dash, horizontal bar */
    case 0x2212: case 0xFE58: case 0xFE63: case 0xFF0D:  /* minus, small/fullwidth */
        return "-";
    case 0x2026: return "...";
    case 0xFB00: return "ff";
    case 0xFB01: return "fi";
    case 0xFB02: return "fl";
    case 0xFB03: return "ffi";
    case 0xFB04: return "ffl";
    case 0xFB05: case 0xFB06: return "st";
    default: return NULL;
    }
}

/* ---- normalization ----------------------------------------------------- */

static void norm_add_piece(norm_text *nt, size_t src, int verbatim)
{
    if (nt->n_pieces > 0) {
        const norm_piece *last = &nt->pieces[nt->n_pieces - 1];
        if (verbatim && last->verbatim && last->src + (nt->len - last->norm) == src)
            return;   /* continues the previous verbatim piece */
    }
    nt->pieces = xgrow_to(nt->pieces, &nt->cap_pieces, nt->n_pieces + 1, sizeof *nt->pieces, 64);
    nt->pieces[nt->n_pieces++] = (norm_piece){nt->len, src, verbatim};
}

/* Append n bytes produced by the source character (or run) at src. */
static void norm_emit(norm_text *nt, const char *bytes, size_t n, size_t src, int verbatim)
{
    if (nt->len + n + 1 > nt->cap) {
        nt->cap = (nt->len + n + 1) * 2;
        nt->text = xrealloc(nt->text, nt->cap);
    }
    if (nt->with_map)
        norm_add_piece(nt, src, verbatim);
    memcpy(nt->text + nt->len, bytes, n);
    nt->len += n;
    nt->text[nt->len] = '\0';
}

/* Source byte offset behind normalized byte p (p < nt->len). */
static size_t norm_source(const norm_text *nt, size_t p)
{
    size_t lo = 0, hi = nt->n_pieces;
    while (lo < hi) {   /* first piece starting after p */
        size_t mid = lo + (hi - lo) / 2;
        if (nt->pieces[mid].norm <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    const norm_piece *piece = &nt->pieces[lo - 1];
    return piece->verbatim ? piece->src + (p - piece->norm) : piece->src;
}

/* Normalize valid UTF-8 s[0..len) into *nt (whitespace collapsed and trimmed,
 * invisibles dropped, typographic folds when asked), with the map back to s
 * when with_map. */
static void normalize(const char *s, size_t len, int typographic, int with_map, norm_text *nt)
{
    memset(nt, 0, sizeof *nt);
    nt->cap = len + 1;
    nt->text = xmalloc(nt->cap);
    nt->text[0] = '\0';
    nt->with_map = with_map;
    size_t i = 0, space_src = 0;
    int pending_space = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        const char *fold = typographic ? typographic_fold(cp) : NULL;
        if (utf8_is_space(cp)) {
            if (!pending_space && nt->len > 0) {
                pending_space = 1;
                space_src = i;
            }
        } else if (!utf8_is_invisible(cp) && !(fold && !*fold)) {
            if (pending_space)
                norm_emit(nt, " ", 1, space_src, 0);
            pending_space = 0;
            if (fold)
                norm_emit(nt, fold, strlen(fold), i, 0);
            else
                norm_emit(nt, s + i, n, i, 1);
        }
        i += n;
    }
}

static void norm_clear(norm_text *nt)
{
    free(nt->text);
    free(nt->pieces);
    memset(nt, 0, sizeof *nt);
}

/* ---- index ------------------------------------------------------------- */

static void index_paragraphs(quote_index *idx)
{
    const document *doc = idx->doc;
    size_t n = 0;
    for (size_t s = 0; s < doc->n_sections; s++)
        n += doc->sections[s].n_paragraphs;
    idx->paras = xmalloc((n ? n : 1) * sizeof *idx->paras);
    for (size_t s = 0; s < doc->n_sections; s++)
        for (size_t p = 0; p < doc->sections[s].n_paragraphs; p++)
            idx->paras[idx->n_paras++] = &doc->sections[s].paragraphs[p];
}

static void index_char_marks(quote_index *idx)
{
    const document *doc = idx->doc;
    size_t n_marks = doc->full_text_len / CHAR_STEP + 1;
    idx->char_marks = xmalloc(n_marks * sizeof *idx->char_marks);
    size_t count = 0;
    for (size_t k = 0; k < n_marks; k++) {
        idx->char_marks[k] = count;
        size_t from = k * CHAR_STEP, to = from + CHAR_STEP;
        if (to > doc->full_text_len)
            to = doc->full_text_len;
        count += utf8_count(doc->full_text + from, to - from);
    }
}

int quote_index_new(const document *doc, quote_index **out, perr *err)
{
    *out = NULL;
    if (!doc)
        return perr_set(err, "quote index: no document");
    quote_index *idx = xmalloc(sizeof *idx);
    memset(idx, 0, sizeof *idx);
    idx->doc = doc;
    normalize(doc->full_text, doc->full_text_len, 0, 1, &idx->ws);
    normalize(doc->full_text, doc->full_text_len, 1, 1, &idx->typo);
    index_paragraphs(idx);
    index_char_marks(idx);
    *out = idx;
    return 0;
}

void quote_index_free(quote_index *idx)
{
    if (!idx)
        return;
    norm_clear(&idx->ws);
    norm_clear(&idx->typo);
    free(idx->paras);
    free(idx->char_marks);
    free(idx);
}

/* ---- lookups ----------------------------------------------------------- */

/* Code-point offset of byte offset b (a character boundary) in full_text. */
static size_t char_offset(const quote_index *idx, size_t b)
{
    size_t k = b / CHAR_STEP;
    return idx->char_marks[k] + utf8_count(idx->doc->full_text + k * CHAR_STEP, b - k * CHAR_STEP);
}

/* Index of the first paragraph with byte_end > b (n_paras if none). */
static size_t first_ending_after(const quote_index *idx, size_t b)
{
    size_t lo = 0, hi = idx->n_paras;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->paras[mid]->byte_end > b)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Number of paragraphs with byte_start < b (the last such is at result-1). */
static size_t count_starting_before(const quote_index *idx, size_t b)
{
    size_t lo = 0, hi = idx->n_paras;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->paras[mid]->byte_start < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void copy_id(char dst[QUOTE_ID_MAX], const char *id)
{
    size_t n = strlen(id);
    if (n >= QUOTE_ID_MAX)
        n = QUOTE_ID_MAX - 1;
    memcpy(dst, id, n);
    dst[n] = '\0';
}

static void fill_paragraphs(const quote_index *idx, quote_match *m)
{
    size_t first = first_ending_after(idx, m->byte_start);
    size_t last_plus = count_starting_before(idx, m->byte_end);
    if (first >= idx->n_paras || last_plus == 0 || last_plus - 1 < first)
        return;   /* the span lies only in headings / separators */
    const doc_paragraph *a = idx->paras[first], *z = idx->paras[last_plus - 1];
    copy_id(m->paragraph_first, a->id);
    copy_id(m->paragraph_last, z->id);
    m->page = a->page;
}

/* Non-overlapping occurrences of needle in hay; *first gets the first. */
static size_t find_all(const char *hay, size_t hay_len, const char *needle, size_t n_len,
                       size_t *first)
{
    size_t count = 0, from = 0;
    if (n_len == 0 || n_len > hay_len)
        return 0;
    while (from + n_len <= hay_len) {
        const char *hit = memmem(hay + from, hay_len - from, needle, n_len);
        if (!hit)
            break;
        size_t at = (size_t)(hit - hay);
        if (count++ == 0)
            *first = at;
        from = at + n_len;
    }
    return count;
}

/* Record a found span [bs, be) of full_text. */
static void set_found(const quote_index *idx, quote_match *m, quote_method method,
                      size_t bs, size_t be, size_t occurrences)
{
    m->verified = 1;
    m->method = method;
    m->reason = NULL;
    m->byte_start = bs;
    m->byte_end = be;
    m->char_start = char_offset(idx, bs);
    m->char_end = char_offset(idx, be);
    m->occurrences = occurrences;
    fill_paragraphs(idx, m);
}

/* Search a normalized quote in one normalized copy of the text; on success
 * maps the first match back to full_text. */
static int locate_normalized(const quote_index *idx, const norm_text *nt, const norm_text *q,
                             quote_method method, quote_match *m)
{
    size_t at = 0;
    size_t count = find_all(nt->text, nt->len, q->text, q->len, &at);
    if (count == 0)
        return 0;
    const char *full = idx->doc->full_text;
    size_t bs = norm_source(nt, at);
    size_t last_src = norm_source(nt, at + q->len - 1);
    uint32_t cp;
    size_t be = last_src + utf8_decode((const unsigned char *)full + last_src,
                                       idx->doc->full_text_len - last_src, &cp);
    set_found(idx, m, method, bs, be, count);
    return 1;
}

/* [*a, *b) of s[0..len) without surrounding whitespace. */
static void trim_span(const char *s, size_t len, size_t *a, size_t *b)
{
    size_t i = 0, end = 0;
    int seen = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (!utf8_is_space(cp)) {
            if (!seen)
                *a = i;
            seen = 1;
            end = i + n;
        }
        i += n;
    }
    if (!seen)
        *a = 0;
    *b = end;
}

static void set_not_found(quote_match *m, const char *reason)
{
    memset(m, 0, sizeof *m);
    m->method = QUOTE_NONE;
    m->reason = reason;
}

/* The tiers, on a sanitized quote. */
static void locate_tiers(const quote_index *idx, const char *q, size_t q_len, quote_match *m)
{
    const document *doc = idx->doc;
    size_t a, b, at = 0;
    trim_span(q, q_len, &a, &b);
    size_t count = find_all(doc->full_text, doc->full_text_len, q + a, b - a, &at);
    if (count > 0) {
        set_found(idx, m, QUOTE_EXACT, at, at + (b - a), count);
        return;
    }
    norm_text nq, tq;
    normalize(q, q_len, 0, 0, &nq);
    if (nq.len == 0) {
        norm_clear(&nq);
        set_not_found(m, "empty quote");
        return;
    }
    if (!locate_normalized(idx, &idx->ws, &nq, QUOTE_WHITESPACE, m)) {
        normalize(q, q_len, 1, 0, &tq);
        if (!locate_normalized(idx, &idx->typo, &tq, QUOTE_TYPOGRAPHIC, m))
            set_not_found(m, tq.len > idx->typo.len ? "quote is longer than the document text"
                                                    : "quote not found in the document text");
        norm_clear(&tq);
    }
    norm_clear(&nq);
}

int quote_locate_indexed(const quote_index *idx, const char *quote, quote_match *out, perr *err)
{
    if (!out)
        return perr_set(err, "quote lookup: no result structure");
    set_not_found(out, "no quote");
    if (!idx || !quote)
        return perr_set(err, "quote lookup: %s", idx ? "no quote" : "no index");
    size_t q_len;
    char *q = utf8_sanitize(quote, strlen(quote), &q_len);
    locate_tiers(idx, q, q_len, out);
    free(q);
    return 0;
}

int quote_locate(const document *doc, const char *quote, quote_match *out, perr *err)
{
    quote_index *idx;
    if (quote_index_new(doc, &idx, err) < 0) {
        if (out)
            set_not_found(out, "no index");
        return -1;
    }
    int rc = quote_locate_indexed(idx, quote, out, err);
    quote_index_free(idx);
    return rc;
}
