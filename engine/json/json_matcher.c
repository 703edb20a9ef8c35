/* json_matcher.c — the byte-level JSON schema matcher (see json_matcher.h).
 *
 * advance() offers a byte to the top frame. A frame either consumes it,
 * rejects it, finishes with it (the frame is popped and its parent learns
 * that its value is complete), hands it back (a complete number or literal
 * met a byte that is not its own: pop and offer the byte to the parent), or
 * pushes a child frame for a value that starts with it.
 */
#include "engine/json/json_matcher.h"

#include "engine/json/json_schema_internal.h"

enum { R_BEFORE, R_DONE };
enum { O_OPEN, O_FIRST, O_KEY, O_IN_KEY, O_COLON, O_VALUE, O_CHILD, O_AFTER };
enum { A_OPEN, A_FIRST, A_NEXT, A_CHILD, A_AFTER };
enum { S_OPEN, S_BODY, S_ESC, S_HEX };
enum { N_START, N_SIGN, N_INT, N_DOT, N_FRAC };
enum { L_MATCH };

typedef enum step_result {
    ST_OK,      /* consumed */
    ST_WS,      /* consumed whitespace between tokens */
    ST_REJECT,
    ST_DONE,    /* consumed; the frame's value is complete: pop */
    ST_POP,     /* not consumed; the frame's value is complete: pop and retry */
    ST_RETRY,   /* not consumed; a child frame was pushed: retry */
} step_result;

typedef json_matcher_frame frame;

static int is_ws(unsigned char b) { return b == ' ' || b == '\n'; }
static int is_digit(unsigned char b) { return b >= '0' && b <= '9'; }

static int64_t pow10i(int e)
{
    int64_t p = 1;
    while (e-- > 0)
        p *= 10;
    return p;
}

/* ---------------------------------------------------------------- UTF-8 */

/* ---------------------------------------------------------------- numbers */

/* Is some multiple-of-step offset from a within [a, b] also within [lo, hi]? */
static int grid_hits(int64_t a, int64_t b, int64_t step, int64_t lo, int64_t hi)
{
    int64_t x = a;
    if (x < lo)
        x = a + ((lo - a) + step - 1) / step * step;
    return x <= b && x <= hi;
}

/* Fewest bytes that complete the number state s in range; -1 if none. */
static long number_cost(const js_node *n, const frame *s)
{
    const int F = n->u.num.frac;
    const int64_t scale = pow10i(F);
    long best = -1;
    if (s->phase == N_START || s->phase == N_SIGN) {
        for (int d = 0; d <= 9; d++) {
            frame t = *s;
            t.phase = N_INT;
            t.u.num.nd = 1;
            t.u.num.ival = d;
            t.u.num.lead0 = d == 0;
            long c = number_cost(n, &t);
            if (c >= 0 && (best < 0 || c + 1 < best))
                best = c + 1;
        }
        if (s->phase == N_START) {
            frame t = *s;
            t.phase = N_SIGN;
            t.u.num.neg = 1;
            long c = number_cost(n, &t);
            if (c >= 0 && (best < 0 || c + 1 < best))
                best = c + 1;
        }
        return best;
    }
    /* Magnitudes in [lo, hi] give values in the node's range ("-0" is
     * not generated). */
    int64_t lo = s->u.num.neg ? -n->u.num.hi : n->u.num.lo;
    int64_t hi = s->u.num.neg ? -n->u.num.lo : n->u.num.hi;
    int64_t least = s->u.num.neg ? 1 : 0;
    if (hi < least)
        return -1;
    if (lo < least)
        lo = least;
    if (s->phase == N_INT) {
        int max_m = s->u.num.lead0 ? 0 : n->u.num.int_digits - s->u.num.nd;
        for (int m = 0; m <= max_m; m++) {
            int64_t a = s->u.num.ival * pow10i(m), b = a + pow10i(m) - 1;
            for (int fd = 0; fd <= F; fd++) {
                int64_t step = pow10i(F - fd);
                if (!grid_hits(a * scale, b * scale + (scale - step), step, lo, hi))
                    continue;
                long c = m + (fd ? fd + 1 : 0);
                if (best < 0 || c < best)
                    best = c;
                break;
            }
        }
        return best;
    }
    /* N_DOT / N_FRAC: nf fraction digits so far. */
    int nf = s->u.num.nf;
    int64_t base = s->u.num.ival * scale + s->u.num.fval * pow10i(F - nf);
    for (int fd = nf > 0 ? nf : 1; fd <= F; fd++) {
        int64_t step = pow10i(F - fd);
        if (grid_hits(base, base + pow10i(F - nf) - step, step, lo, hi))
            return fd - nf;
    }
    return -1;
}

static int number_complete(const js_node *n, const frame *f)
{
    if (f->phase != N_INT && f->phase != N_FRAC)
        return 0;
    const int F = n->u.num.frac;
    int64_t v = f->u.num.ival * pow10i(F) + f->u.num.fval * pow10i(F - f->u.num.nf);
    if (f->u.num.neg) {
        if (v == 0)
            return 0; /* "-0" */
        v = -v;
    }
    return v >= n->u.num.lo && v <= n->u.num.hi;
}

static step_result number_step(const js_node *n, frame *f, unsigned char b)
{
    frame t = *f;
    int d = b - '0';
    switch (f->phase) {
    case N_START:
        if (b == '-') {
            t.u.num.neg = 1;
            t.phase = N_SIGN;
            break;
        }
        /* fall through */
    case N_SIGN:
        if (!is_digit(b))
            return ST_REJECT;
        t.phase = N_INT;
        t.u.num.nd = 1;
        t.u.num.ival = d;
        t.u.num.lead0 = d == 0;
        break;
    case N_INT:
        if (is_digit(b) && !f->u.num.lead0 && f->u.num.nd < n->u.num.int_digits) {
            t.u.num.ival = f->u.num.ival * 10 + d;
            t.u.num.nd++;
        } else if (b == '.' && n->u.num.frac > 0) {
            t.phase = N_DOT;
        } else {
            return number_complete(n, f) ? ST_POP : ST_REJECT;
        }
        break;
    case N_DOT:
    case N_FRAC:
        if (is_digit(b) && f->u.num.nf < n->u.num.frac) {
            t.phase = N_FRAC;
            t.u.num.fval = f->u.num.fval * 10 + d;
            t.u.num.nf++;
        } else {
            return number_complete(n, f) ? ST_POP : ST_REJECT;
        }
        break;
    default:
        return ST_REJECT;
    }
    if (number_cost(n, &t) < 0)
        return ST_REJECT;
    *f = t;
    return ST_OK;
}

long json_matcher_number_start_cost(const js_node *n, const unsigned char *first)
{
    frame f = { .node = n, .phase = N_START };
    if (first) {
        if (number_step(n, &f, *first) != ST_OK)
            return -1;
        return 1 + number_cost(n, &f);
    }
    return number_cost(n, &f);
}

/* ---------------------------------------------------------------- literals */

static int literal_complete(const js_node *n, const frame *f)
{
    return n->u.lit.lits[f->u.lit.lo].len == f->u.lit.pos;
}

static step_result literal_step(const js_node *n, frame *f, unsigned char b)
{
    const js_literal *lits = n->u.lit.lits;
    uint32_t pos = f->u.lit.pos, lo = f->u.lit.lo, hi = f->u.lit.hi;
    uint32_t i = lo;
    while (i < hi && (lits[i].len <= pos || (unsigned char)lits[i].text[pos] < b))
        i++;
    uint32_t j = i;
    while (j < hi && (unsigned char)lits[j].text[pos] == b)
        j++;
    if (i == j)
        return literal_complete(n, f) ? ST_POP : ST_REJECT;
    f->u.lit.lo = i;
    f->u.lit.hi = j;
    f->u.lit.pos = pos + 1;
    return (j - i == 1 && lits[i].len == pos + 1) ? ST_DONE : ST_OK;
}

/* ---------------------------------------------------------------- strings */

static step_result string_step(const js_node *n, frame *f, unsigned char b)
{
    switch (f->phase) {
    case S_OPEN:
        if (b != '"')
            return ST_REJECT;
        f->phase = S_BODY;
        return ST_OK;
    case S_BODY:
        if (f->u.str.u.need)
            return utf8_stream_step(&f->u.str.u, b) == 0 ? ST_OK : ST_REJECT;
        if (b == '"')
            return f->u.str.count >= n->u.str.min_len ? ST_DONE : ST_REJECT;
        if (n->u.str.max_len >= 0 && f->u.str.count >= n->u.str.max_len)
            return ST_REJECT;
        if (b < 0x20 || utf8_stream_step(&f->u.str.u, b) != 0)
            return ST_REJECT;
        if (f->u.str.count < UINT32_MAX)
            f->u.str.count++;
        if (b == '\\')
            f->phase = S_ESC;
        return ST_OK;
    case S_ESC:
        if (b == 'u') {
            f->phase = S_HEX;
            f->u.str.nhex = 0;
            f->u.str.hex = 0;
            return ST_OK;
        }
        if (!strchr("\"\\/bfnrt", b) || b == 0)
            return ST_REJECT;
        f->phase = S_BODY;
        return ST_OK;
    case S_HEX: {
        int h = is_digit(b) ? b - '0' : (b >= 'a' && b <= 'f') ? b - 'a' + 10
                : (b >= 'A' && b <= 'F') ? b - 'A' + 10 : -1;
        if (h < 0)
            return ST_REJECT;
        unsigned v = (unsigned)f->u.str.hex * 16 + (unsigned)h;
        int k = f->u.str.nhex + 1;
        if ((k == 2 && v >= 0xD8 && v <= 0xDF) || (k == 4 && v == 0))
            return ST_REJECT; /* surrogates, NUL */
        f->u.str.hex = (uint16_t)v;
        f->u.str.nhex = (uint8_t)k;
        if (k == 4)
            f->phase = S_BODY;
        return ST_OK;
    }
    }
    return ST_REJECT;
}

/* ---------------------------------------------------------------- pushing values */

static step_result push_value(json_matcher *m, const js_node *n, unsigned char b)
{
    while (n->kind == JS_ANY_OF) {
        const js_node *pick = NULL;
        for (int i = 0; i < n->u.any.n && !pick; i++)
            if (js_first_has(n->u.any.alts[i], b))
                pick = n->u.any.alts[i];
        if (!pick)
            return ST_REJECT;
        n = pick;
    }
    if (!js_first_has(n, b) || m->depth == JSON_MATCHER_MAX_DEPTH)
        return ST_REJECT;
    frame *f = &m->frames[m->depth++];
    memset(f, 0, sizeof *f);
    f->node = n;
    if (n->kind == JS_LITERALS)
        f->u.lit.hi = (uint32_t)n->u.lit.n;
    return ST_RETRY;
}

/* Whitespace between tokens, up to the limit. */
static step_result take_ws(json_matcher *m, int limit)
{
    if (m->ws >= limit)
        return ST_REJECT;
    m->ws++;
    return ST_WS;
}

/* ---------------------------------------------------------------- objects */

/* Properties that may come next: from `next` up to the first required one. */
static uint64_t key_candidates(const js_node *n, uint32_t next)
{
    uint64_t mask = 0;
    for (int k = (int)next; k < n->u.obj.n_props; k++) {
        mask |= (uint64_t)1 << k;
        if (n->u.obj.props[k].required)
            break;
    }
    return mask;
}

static step_result key_step(const js_node *n, frame *f, unsigned char b)
{
    uint64_t cand = f->u.obj.cand, keep = 0;
    uint16_t pos = f->u.obj.pos;
    int done = -1;
    for (int k = 0; cand; k++, cand >>= 1) {
        if (!(cand & 1))
            continue;
        const js_prop *p = &n->u.obj.props[k];
        if (p->key_len > pos && (unsigned char)p->key[pos] == b) {
            keep |= (uint64_t)1 << k;
            if (p->key_len == (size_t)pos + 1)
                done = k;
        }
    }
    if (!keep)
        return ST_REJECT;
    f->u.obj.cand = keep;
    f->u.obj.pos = (uint16_t)(pos + 1);
    f->phase = O_IN_KEY;
    if (done >= 0) { /* a complete key is never a prefix of another */
        f->u.obj.next = (uint32_t)done + 1;
        f->phase = O_COLON;
    }
    return ST_OK;
}

static step_result object_step(json_matcher *m, frame *f, unsigned char b)
{
    const js_node *n = f->node;
    switch (f->phase) {
    case O_OPEN:
        if (b != '{')
            return ST_REJECT;
        f->phase = O_FIRST;
        return ST_OK;
    case O_FIRST:
    case O_KEY:
        if (is_ws(b))
            return take_ws(m, m->max_ws);
        if (b == '}' && f->phase == O_FIRST)
            return n->u.obj.req_after[0] == 0 ? ST_DONE : ST_REJECT;
        f->u.obj.cand = key_candidates(n, f->u.obj.next);
        f->u.obj.pos = 0;
        return key_step(n, f, b);
    case O_IN_KEY:
        return key_step(n, f, b);
    case O_COLON:
        if (is_ws(b))
            return take_ws(m, m->max_ws);
        if (b != ':')
            return ST_REJECT;
        f->phase = O_VALUE;
        return ST_OK;
    case O_VALUE:
        if (is_ws(b))
            return take_ws(m, m->max_ws);
        f->phase = O_CHILD;
        return push_value(m, n->u.obj.props[f->u.obj.next - 1].value, b);
    case O_AFTER:
        if (is_ws(b))
            return take_ws(m, m->max_ws);
        if (b == ',' && f->u.obj.next < (uint32_t)n->u.obj.n_props) {
            f->phase = O_KEY;
            return ST_OK;
        }
        if (b == '}' && n->u.obj.req_after[f->u.obj.next] == 0)
            return ST_DONE;
        return ST_REJECT;
    }
    return ST_REJECT;
}

/* ---------------------------------------------------------------- arrays */

static step_result array_step(json_matcher *m, frame *f, unsigned char b)
{
    const js_node *n = f->node;
    switch (f->phase) {
    case A_OPEN:
        if (b != '[')
            return ST_REJECT;
        f->phase = A_FIRST;
        return ST_OK;
    case A_FIRST:
    case A_NEXT:
        if (is_ws(b))
            return take_ws(m, m->max_ws);
        if (b == ']' && f->phase == A_FIRST)
            return n->u.arr.min_items == 0 ? ST_DONE : ST_REJECT;
        if (n->u.arr.max_items == 0)
            return ST_REJECT;
        f->u.arr.count++;
        f->phase = A_CHILD;
        return push_value(m, n->u.arr.items, b);
    case A_AFTER:
        if (is_ws(b))
            return take_ws(m, m->max_ws);
        if (b == ',' && (n->u.arr.max_items < 0 || f->u.arr.count < n->u.arr.max_items)) {
            f->phase = A_NEXT;
            return ST_OK;
        }
        if (b == ']' && f->u.arr.count >= n->u.arr.min_items)
            return ST_DONE;
        return ST_REJECT;
    }
    return ST_REJECT;
}

/* ---------------------------------------------------------------- the machine */

static step_result frame_step(json_matcher *m, frame *f, unsigned char b)
{
    if (!f->node) { /* root */
        if (f->phase == R_DONE)
            return ST_REJECT;
        if (is_ws(b))
            return take_ws(m, m->max_ws > 1 ? m->max_ws : 1);
        return push_value(m, m->root, b);
    }
    switch (f->node->kind) {
    case JS_OBJECT: return object_step(m, f, b);
    case JS_ARRAY: return array_step(m, f, b);
    case JS_STRING: return string_step(f->node, f, b);
    case JS_NUMBER: return number_step(f->node, f, b);
    case JS_LITERALS: return literal_step(f->node, f, b);
    case JS_ANY_OF: break;
    }
    return ST_REJECT;
}

/* The top frame's value is complete: pop it and move its parent on. */
static void pop_frame(json_matcher *m)
{
    frame *p = &m->frames[--m->depth - 1];
    if (!p->node)
        p->phase = R_DONE;
    else if (p->node->kind == JS_OBJECT)
        p->phase = O_AFTER;
    else
        p->phase = A_AFTER;
}

void json_matcher_init(json_matcher *m, const json_schema *s)
{
    m->root = s->root;
    m->max_ws = (uint8_t)s->max_whitespace;
    m->ws = 0;
    m->depth = 1;
    memset(&m->frames[0], 0, sizeof m->frames[0]);
    m->frames[0].phase = R_BEFORE;
}

int json_matcher_advance(json_matcher *m, unsigned char b)
{
    for (int guard = 0; guard < 4 * JSON_MATCHER_MAX_DEPTH; guard++) {
        switch (frame_step(m, &m->frames[m->depth - 1], b)) {
        case ST_OK:
            m->ws = 0;
            return 0;
        case ST_WS:
            return 0;
        case ST_DONE:
            m->ws = 0;
            pop_frame(m);
            return 0;
        case ST_POP:
            pop_frame(m);
            continue;
        case ST_RETRY:
            continue;
        case ST_REJECT:
            return -1;
        }
    }
    return -1;
}

int json_matcher_advance_bytes(json_matcher *m, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (json_matcher_advance(m, (unsigned char)p[i]) != 0)
            return -1;
    return 0;
}

int json_matcher_is_complete(const json_matcher *m)
{
    if (m->depth == 1)
        return m->frames[0].phase == R_DONE;
    if (m->depth != 2)
        return 0;
    const frame *f = &m->frames[1];
    if (f->node->kind == JS_NUMBER)
        return number_complete(f->node, f);
    if (f->node->kind == JS_LITERALS)
        return literal_complete(f->node, f);
    return 0;
}

/* ---------------------------------------------------------------- shortest completion */

static size_t object_cost(const frame *f, int has_child)
{
    const js_node *n = f->node;
    const size_t *req = n->u.obj.req_after;
    uint32_t next = f->u.obj.next;
    switch (f->phase) {
    case O_OPEN:
        return n->min_len;
    case O_FIRST:
        return req[0] ? req[0] : 1;
    case O_KEY:
    case O_IN_KEY: {
        uint64_t cand = f->phase == O_KEY ? key_candidates(n, next) : f->u.obj.cand;
        size_t pos = f->phase == O_KEY ? 0 : f->u.obj.pos, best = SIZE_MAX;
        for (int k = 0; cand; k++, cand >>= 1) {
            if (!(cand & 1))
                continue;
            const js_prop *p = &n->u.obj.props[k];
            size_t c = js_add(js_add(p->key_len - pos + 1, p->value->min_len), req[k + 1]);
            if (c < best)
                best = c;
        }
        return js_add(best, 1);
    }
    case O_COLON:
        return js_add(js_add(1 + n->u.obj.props[next - 1].value->min_len, req[next]), 1);
    case O_VALUE:
        return js_add(js_add(n->u.obj.props[next - 1].value->min_len, req[next]), 1);
    case O_CHILD:
        if (!has_child)
            return js_add(js_add(n->u.obj.props[next - 1].value->min_len, req[next]), 1);
        return js_add(req[next], 1);
    default: /* O_AFTER */
        return js_add(req[next], 1);
    }
}

static size_t array_cost(const frame *f, int has_child)
{
    const js_node *n = f->node;
    size_t item = n->u.arr.items->min_len;
    size_t min = (size_t)n->u.arr.min_items, count = f->u.arr.count;
    switch (f->phase) {
    case A_OPEN:
        return n->min_len;
    case A_FIRST:
        return min ? js_add(js_mul(min, js_add(item, 1)), 0) : 1;
    case A_NEXT: {
        size_t more = min > count + 1 ? min - count - 1 : 0;
        return js_add(js_add(item, js_mul(more, js_add(item, 1))), 1);
    }
    default: { /* A_CHILD, A_AFTER */
        size_t more = min > count ? min - count : 0;
        size_t c = js_add(js_mul(more, js_add(item, 1)), 1);
        return (f->phase == A_CHILD && !has_child) ? js_add(c, item) : c;
    }
    }
}

static size_t string_cost(const frame *f)
{
    const js_node *n = f->node;
    size_t short_by = (size_t)n->u.str.min_len > f->u.str.count
                          ? (size_t)n->u.str.min_len - f->u.str.count : 0;
    switch (f->phase) {
    case S_OPEN:
        return n->min_len;
    case S_ESC:
        return short_by + 2;
    case S_HEX:
        return short_by + (size_t)(4 - f->u.str.nhex) + 1;
    default:
        return short_by + f->u.str.u.need + 1;
    }
}

static size_t literal_cost(const frame *f)
{
    const js_literal *lits = f->node->u.lit.lits;
    size_t best = SIZE_MAX;
    for (uint32_t i = f->u.lit.lo; i < f->u.lit.hi; i++)
        if (lits[i].len - f->u.lit.pos < best)
            best = lits[i].len - f->u.lit.pos;
    return best;
}

static size_t frame_cost(const json_matcher *m, const frame *f, int has_child)
{
    if (!f->node)
        return (f->phase == R_DONE || has_child) ? 0 : m->root->min_len;
    switch (f->node->kind) {
    case JS_OBJECT: return object_cost(f, has_child);
    case JS_ARRAY: return array_cost(f, has_child);
    case JS_STRING: return string_cost(f);
    case JS_NUMBER: {
        if (number_complete(f->node, f))
            return 0;
        long c = number_cost(f->node, f);
        return c < 0 ? SIZE_MAX : (size_t)c;
    }
    case JS_LITERALS: return literal_cost(f);
    case JS_ANY_OF: break;
    }
    return SIZE_MAX;
}

int json_matcher_in_string_text(const json_matcher *m, long *room, size_t *short_by,
                                size_t *rest)
{
    const frame *f = &m->frames[m->depth - 1];
    if (!f->node || f->node->kind != JS_STRING || f->phase != S_BODY || f->u.str.u.need)
        return 0;
    const js_node *n = f->node;
    *room = n->u.str.max_len < 0 ? -1 : n->u.str.max_len - (long)f->u.str.count;
    *short_by = (size_t)n->u.str.min_len > f->u.str.count
                    ? (size_t)n->u.str.min_len - f->u.str.count : 0;
    size_t below = 0;
    for (int i = 0; i + 1 < m->depth; i++)
        below = js_add(below, frame_cost(m, &m->frames[i], 1));
    *rest = js_add(below, 1);
    return 1;
}

size_t json_matcher_min_remaining(const json_matcher *m)
{
    size_t total = 0;
    for (int i = 0; i < m->depth; i++)
        total = js_add(total, frame_cost(m, &m->frames[i], i + 1 < m->depth));
    return total;
}
