/* log.c — structured key=value logging to stderr (see log.h). */
#include "common/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

/* Process configuration: set once at start-up, read by every log call. */
static log_level threshold = LOG_INFO;
static FILE *sink;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

log_level log_get_level(void) { return threshold; }

void log_set_level(log_level level) { threshold = level; }
void log_set_stream(FILE *f) { sink = f; }

int log_set_level_name(const char *name)
{
    if (strcasecmp(name, "warning") == 0)
        name = "warn";
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            threshold = (log_level)i;
            return 0;
        }
    }
    return -1;
}

static int needs_quotes(const char *v)
{
    if (!*v)
        return 1;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            return 1;
    return 0;
}

/* A tiny appender that never overflows and keeps counting like snprintf. */
typedef struct line_buf {
    char *buf;
    size_t cap, len;
} line_buf;

static void put_char(line_buf *b, char c)
{
    if (b->len + 1 < b->cap)
        b->buf[b->len] = c;
    b->len++;
}

static void put_str(line_buf *b, const char *s)
{
    while (*s)
        put_char(b, *s++);
}

static void put_quoted(line_buf *b, const char *v)
{
    if (!v)
        v = "(null)";
    if (!needs_quotes(v)) {
        put_str(b, v);
        return;
    }
    put_char(b, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        switch (*p) {
        case '"': put_str(b, "\\\""); break;
        case '\\': put_str(b, "\\\\"); break;
        case '\n': put_str(b, "\\n"); break;
        case '\r': put_str(b, "\\r"); break;
        case '\t': put_str(b, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                char hex[8];
                snprintf(hex, sizeof hex, "\\x%02x", *p);
                put_str(b, hex);
            } else {
                put_char(b, (char)*p);
            }
        }
    }
    put_char(b, '"');
}

size_t log_quote(char *buf, size_t cap, const char *value)
{
    line_buf b = {buf, cap, 0};
    put_quoted(&b, value);
    if (cap)
        buf[b.len < cap ? b.len : cap - 1] = '\0';
    return b.len;
}

/* Format one conversion spec (e.g. "%5.2f", "%zu") with the next argument. */
static void put_conversion(line_buf *b, const char *spec, size_t spec_len, va_list *ap)
{
    char fmt[32];
    if (spec_len >= sizeof fmt)
        spec_len = sizeof fmt - 1;
    memcpy(fmt, spec, spec_len);
    fmt[spec_len] = '\0';
    char conv = fmt[spec_len - 1];
    char tmp[128];
    int has_ll = strstr(fmt, "ll") != NULL, has_l = !has_ll && strchr(fmt, 'l') != NULL;
    int has_z = strchr(fmt, 'z') != NULL;
    switch (conv) {
    case 's': put_quoted(b, va_arg(*ap, const char *)); return;
    case 'c': snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, int)); break;
    case 'd': case 'i':
        if (has_ll) snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, long long));
        else if (has_l) snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, long));
        else if (has_z) snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, ssize_t));
        else snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, int));
        break;
    case 'u': case 'x': case 'X': case 'o':
        if (has_ll) snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, unsigned long long));
        else if (has_l) snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, unsigned long));
        else if (has_z) snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, size_t));
        else snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, unsigned int));
        break;
    case 'f': case 'g': case 'e': case 'F': case 'G': case 'E':
        snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, double));
        break;
    case 'p': snprintf(tmp, sizeof tmp, fmt, va_arg(*ap, void *)); break;
    default: snprintf(tmp, sizeof tmp, "%s", fmt); break;
    }
    put_str(b, tmp);
}

static void put_fields(line_buf *b, const char *fields, va_list *ap)
{
    for (const char *p = fields; *p; p++) {
        if (*p != '%') {
            put_char(b, *p);
            continue;
        }
        if (p[1] == '%') {
            put_char(b, '%');
            p++;
            continue;
        }
        const char *start = p++;
        while (*p && !strchr("diuxXofFgGeEcsp", *p))
            p++;
        if (!*p)
            break;
        put_conversion(b, start, (size_t)(p - start + 1), ap);
    }
}

static void put_timestamp(line_buf *b)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    char full[64];
    snprintf(full, sizeof full, "ts=%s.%03dZ", ts, (int)(tv.tv_usec / 1000));
    put_str(b, full);
}

void plog(log_level level, const char *msg, const char *fields, ...)
{
    if (level < threshold)
        return;
    char buf[8192];
    line_buf b = {buf, sizeof buf, 0};
    put_timestamp(&b);
    put_str(&b, " level=");
    put_str(&b, level_names[level]);
    put_str(&b, " msg=");
    put_quoted(&b, msg);
    if (fields && *fields) {
        put_char(&b, ' ');
        va_list ap;
        va_start(ap, fields);
        put_fields(&b, fields, &ap);
        va_end(ap);
    }
    size_t end = b.len < sizeof buf - 1 ? b.len : sizeof buf - 1;
    buf[end] = '\n';
    fwrite(buf, 1, end + 1, sink ? sink : stderr);
    fflush(sink ? sink : stderr);
}
