/* conninfo_mask.c — find the secret values of a libpq connection string by
 * scanning its text (no parse that could fail), then mask them in the string
 * itself or in a message quoting it (see conninfo_mask.h). */
#include "store/conninfo_mask.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SECRETS 64
#define MAX_DEPTH 3     /* dbname=URI inside a conninfo inside ... */

typedef enum { ENC_ESCAPED, ENC_PERCENT } value_encoding;

/* One secret value: s[at, at + len) as written. */
typedef struct secret_span {
    size_t at, len;
    value_encoding enc;
} secret_span;

typedef struct scan {
    const char *s;
    PQconninfoOption *defaults;   /* libpq's options (NULL when out of memory) */
    secret_span spans[MAX_SECRETS];
    size_t n;
    int overflow;                 /* more secrets than spans: mask everything */
} scan;

/* ---- which keys are secret ------------------------------------------------ */

static int key_is_secret(const PQconninfoOption *defaults, const char *key, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (strncasecmp(key + i, "pass", 4) == 0)
            return 1;
    for (const PQconninfoOption *o = defaults; o && o->keyword; o++)
        if (strlen(o->keyword) == len && strncmp(o->keyword, key, len) == 0)
            return o->dispchar && strchr(o->dispchar, '*') != NULL;
    return 0;
}

int conninfo_key_is_secret(const char *key)
{
    PQconninfoOption *defaults = PQconndefaults();
    int secret = key_is_secret(defaults, key, strlen(key));
    PQconninfoFree(defaults);
    return secret;
}

/* ---- scanning ------------------------------------------------------------- */

static void add_span(scan *sc, size_t at, size_t len, value_encoding enc)
{
    if (len == 0)
        return;
    if (sc->n == MAX_SECRETS) {
        sc->overflow = 1;
        return;
    }
    sc->spans[sc->n++] = (secret_span){at, len, enc};
}

static size_t uri_scheme_len(const char *s, size_t from, size_t to)
{
    static const char *const schemes[] = {"postgresql://", "postgres://", NULL};
    for (size_t i = 0; schemes[i]; i++) {
        size_t n = strlen(schemes[i]);
        if (to - from >= n && strncasecmp(s + from, schemes[i], n) == 0)
            return n;
    }
    return 0;
}

static size_t find_char(const char *s, size_t from, size_t to, char c)
{
    for (size_t i = from; i < to; i++)
        if (s[i] == c)
            return i;
    return to;
}

static size_t find_last(const char *s, size_t from, size_t to, char c)
{
    for (size_t i = to; i > from; i--)
        if (s[i - 1] == c)
            return i - 1;
    return to;
}

/* Percent-decoded key into out (truncated); its length. */
static size_t decode_key(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return o;
}

/* A query value ends at an '&' that starts another "key=". */
static size_t query_value_end(const char *s, size_t from, size_t to)
{
    for (size_t i = find_char(s, from, to, '&'); i < to; i = find_char(s, i + 1, to, '&')) {
        size_t k = i + 1;
        while (k < to && (isalnum((unsigned char)s[k]) || s[k] == '_' || s[k] == '%' || s[k] == '.' || s[k] == '-'))
            k++;
        if (k > i + 1 && k < to && s[k] == '=')
            return i;
    }
    return to;
}

static void scan_query(scan *sc, size_t from, size_t to)
{
    const char *s = sc->s;
    size_t p = from;
    while (p < to) {
        size_t amp = find_char(s, p, to, '&');
        size_t eq = find_char(s, p, amp, '=');
        if (eq == amp) {          /* no value */
            p = amp + 1;
            continue;
        }
        char key[64];
        size_t klen = decode_key(s + p, eq - p, key, sizeof key);
        int secret = key_is_secret(sc->defaults, key, klen) || key_is_secret(sc->defaults, s + p, eq - p);
        size_t end = secret ? query_value_end(s, eq + 1, to) : amp;
        if (secret)
            add_span(sc, eq + 1, end - eq - 1, ENC_PERCENT);
        p = end + 1;
    }
}

/* scheme://[user[:password]@]hosts[/dbname][?key=value&...]. The userinfo
 * ends at the last '@' and the query starts at the first '?': a password
 * holding '@', '/' or '?' is masked whole, at worst with some of what follows. */
static void scan_uri(scan *sc, size_t from, size_t to)
{
    const char *s = sc->s;
    size_t at = find_last(s, from, to, '@');
    if (at < to) {
        size_t colon = find_char(s, from, at, ':');
        if (colon < at)
            add_span(sc, colon + 1, at - colon - 1, ENC_PERCENT);
    }
    size_t query = find_char(s, from, to, '?');
    if (query < to)
        scan_query(sc, query + 1, to);
}

static void scan_conninfo(scan *sc, size_t from, size_t to, int depth);

static int looks_like_conninfo(const char *s, size_t from, size_t to)
{
    return uri_scheme_len(s, from, to) > 0 || find_char(s, from, to, '=') < to;
}

/* key = value | key = 'quoted \' value' ...; junk tokens are skipped. */
static void scan_keywords(scan *sc, size_t from, size_t to, int depth)
{
    const char *s = sc->s;
    size_t p = from;
    for (;;) {
        while (p < to && isspace((unsigned char)s[p]))
            p++;
        if (p >= to)
            return;
        size_t ks = p;
        while (p < to && !isspace((unsigned char)s[p]) && s[p] != '=')
            p++;
        size_t ke = p;
        while (p < to && isspace((unsigned char)s[p]))
            p++;
        if (p >= to || s[p] != '=')
            continue;
        p++;
        while (p < to && isspace((unsigned char)s[p]))
            p++;
        int quoted = p < to && s[p] == '\'';
        p += quoted;
        size_t vs = p;
        while (p < to && (quoted ? s[p] != '\'' : !isspace((unsigned char)s[p])))
            p += s[p] == '\\' && p + 1 < to ? 2 : 1;
        size_t ve = p;
        p += quoted && p < to;
        if (key_is_secret(sc->defaults, s + ks, ke - ks))
            add_span(sc, vs, ve - vs, ENC_ESCAPED);
        else if (ke - ks == 6 && strncmp(s + ks, "dbname", 6) == 0 && looks_like_conninfo(s, vs, ve))
            scan_conninfo(sc, vs, ve, depth + 1);
    }
}

static void scan_conninfo(scan *sc, size_t from, size_t to, int depth)
{
    if (depth > MAX_DEPTH)
        return;
    while (from < to && isspace((unsigned char)sc->s[from]))
        from++;
    size_t scheme = uri_scheme_len(sc->s, from, to);
    if (scheme)
        scan_uri(sc, from + scheme, to);
    else
        scan_keywords(sc, from, to, depth);
}

static int by_position(const void *a, const void *b)
{
    const secret_span *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

static void scan_run(scan *sc, const char *conninfo)
{
    memset(sc, 0, sizeof *sc);
    sc->s = conninfo;
    sc->defaults = PQconndefaults();
    scan_conninfo(sc, 0, strlen(conninfo), 0);
    qsort(sc->spans, sc->n, sizeof sc->spans[0], by_position);
    PQconninfoFree(sc->defaults);
    sc->defaults = NULL;
}

/* ---- masking -------------------------------------------------------------- */

char *conninfo_mask(const char *conninfo)
{
    if (!conninfo)
        return strdup("");
    scan sc;
    scan_run(&sc, conninfo);
    if (sc.overflow)
        return strdup(CONNINFO_MASK);
    size_t len = strlen(conninfo);
    char *out = malloc(len + sc.n * strlen(CONNINFO_MASK) + 1);
    if (!out)
        return NULL;
    size_t o = 0, p = 0;
    for (size_t i = 0; i < sc.n; i++) {
        size_t end = sc.spans[i].at + sc.spans[i].len;
        if (end <= p)
            continue;
        if (sc.spans[i].at > p || p == 0) {    /* overlapping spans share one mask */
            size_t start = sc.spans[i].at > p ? sc.spans[i].at : p;
            memcpy(out + o, conninfo + p, start - p);
            o += start - p;
            memcpy(out + o, CONNINFO_MASK, strlen(CONNINFO_MASK));
            o += strlen(CONNINFO_MASK);
        }
        p = end;
    }
    memcpy(out + o, conninfo + p, len - p);
    out[o + len - p] = '\0';
    return out;
}

/* text with every occurrence of needle replaced (malloc'd); frees text. */
static char *replace_all(char *text, const char *needle, const char *with)
{
    size_t nl = strlen(needle), wl = strlen(with), count = 0;
    if (!text || nl == 0)
        return text;
    for (const char *p = text; (p = strstr(p, needle)); p += nl)
        count++;
    if (count == 0)
        return text;
    char *out = malloc(strlen(text) - count * nl + count * wl + 1);
    if (out) {
        char *o = out;
        const char *p = text, *hit;
        while ((hit = strstr(p, needle))) {
            memcpy(o, p, (size_t)(hit - p));
            o += hit - p;
            memcpy(o, with, wl);
            o += wl;
            p = hit + nl;
        }
        strcpy(o, p);
    }
    free(text);
    return out;
}

/* The value as libpq reads it: backslash escapes or %XX removed. */
static char *decode_value(const char *s, const secret_span *sp)
{
    char *out = malloc(sp->len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = sp->at; i < sp->at + sp->len; i++) {
        const char *c = s + i;
        if (sp->enc == ENC_ESCAPED && c[0] == '\\' && i + 1 < sp->at + sp->len) {
            out[o++] = c[1];
            i++;
        } else if (sp->enc == ENC_PERCENT && c[0] == '%' && i + 2 < sp->at + sp->len &&
                   isxdigit((unsigned char)c[1]) && isxdigit((unsigned char)c[2])) {
            char hex[3] = {c[1], c[2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = c[0];
        }
    }
    out[o] = '\0';
    return out;
}

static int longer_first(const void *a, const void *b)
{
    size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);
    return x > y ? -1 : x < y;
}

char *conninfo_mask_text(const char *text, const char *conninfo)
{
    char *out = strdup(text ? text : "");
    if (!out || !conninfo || !*conninfo)
        return out;
    char *masked = conninfo_mask(conninfo);
    out = masked ? replace_all(out, conninfo, masked) : (free(out), NULL);
    free(masked);
    scan sc;
    scan_run(&sc, conninfo);
    char *needles[2 * MAX_SECRETS];
    size_t n = 0;
    for (size_t i = 0; i < sc.n; i++) {
        needles[n++] = strndup(conninfo + sc.spans[i].at, sc.spans[i].len);
        needles[n++] = decode_value(conninfo, &sc.spans[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (!needles[i]) {     /* out of memory: withhold the whole text */
            free(out);
            out = NULL;
        }
    if (out && n)
        qsort(needles, n, sizeof needles[0], longer_first);
    for (size_t i = 0; i < n; i++) {
        if (out)
            out = replace_all(out, needles[i], CONNINFO_MASK);
        free(needles[i]);
    }
    if (out && sc.overflow) {
        free(out);
        out = strdup("(message withheld: it may quote a secret of the connection string)");
    }
    return out;
}
