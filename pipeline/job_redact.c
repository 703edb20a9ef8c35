/* job_redact.c — mask secret members of a job message, valid JSON or not (see job_redact.h). */
#include "pipeline/job_redact.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

static const char *const secret_keys[] = {"password", NULL};

typedef struct out_buf {
    char *data;
    size_t len, cap;
    int failed;
} out_buf;

static void out_put(out_buf *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    char *grown = grow_to(o->data, &o->cap, o->len + n + 1, 1, 256);
    if (!grown) {
        o->failed = 1;
        return;
    }
    o->data = grown;
    memcpy(o->data + o->len, s, n);
    o->len += n;
    o->data[o->len] = '\0';
}

/* End of the string literal opening at s[at] == '"': the index just past its
 * closing quote, or len when it is not closed. */
static size_t string_end(const char *s, size_t len, size_t at)
{
    for (size_t i = at + 1; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return len;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The ASCII character an escape at s[i] == '\\' stands for (0 when it is not
 * ASCII or not an escape); *used gets its length. */
static char unescape_ascii(const char *s, size_t end, size_t i, size_t *used)
{
    *used = 2;
    if (i + 1 >= end)
        return 0;
    if (s[i + 1] != 'u')
        return s[i + 1] == '/' || s[i + 1] == '\\' || s[i + 1] == '"' ? s[i + 1] : 0;
    if (i + 6 > end)
        return 0;
    int v = 0;
    for (size_t k = 2; k < 6; k++) {
        int h = hex_value(s[i + k]);
        if (h < 0)
            return 0;
        v = v * 16 + h;
    }
    *used = 6;
    return v > 0 && v < 0x80 ? (char)v : 0;
}

/* Does the literal s[from..to) (quotes excluded) decode to a secret key? */
static int is_secret_key(const char *s, size_t from, size_t to)
{
    char key[32];
    size_t n = 0;
    for (size_t i = from; i < to; n++) {
        if (n + 1 >= sizeof key)
            return 0;
        size_t used = 1;
        char c = s[i] == '\\' ? unescape_ascii(s, to, i, &used) : s[i];
        if (!c)
            return 0;
        key[n] = c;
        i += used;
    }
    key[n] = '\0';
    for (size_t k = 0; secret_keys[k]; k++)
        if (strcmp(key, secret_keys[k]) == 0)
            return 1;
    return 0;
}

static size_t skip_space(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

/* End of the value starting at s[at]: a string, a balanced object or array
 * (strings inside skipped), or a bare token up to , } ] or space. */
static size_t value_end(const char *s, size_t len, size_t at)
{
    if (s[at] == '"')
        return string_end(s, len, at);
    if (s[at] == '{' || s[at] == '[') {
        int depth = 0;
        for (size_t i = at; i < len;) {
            if (s[i] == '"') {
                i = string_end(s, len, i);
                continue;
            }
            depth += (s[i] == '{' || s[i] == '[') - (s[i] == '}' || s[i] == ']');
            i++;
            if (depth == 0)
                return i;
        }
        return len;
    }
    size_t i = at;
    while (i < len && !strchr(",}] \t\r\n", s[i]))
        i++;
    return i;
}

static int remember(job_secrets *secrets, const char *value, size_t n)
{
    if (!secrets || n == 0)
        return 0;
    char **grown = realloc(secrets->values, (secrets->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    secrets->values = grown;
    if (!(grown[secrets->n] = strndup(value, n)))
        return -1;
    secrets->n++;
    return 0;
}

/* After a secret key ending at i: masks ": value". Returns where to go on. */
static size_t mask_value(const char *s, size_t len, size_t i, out_buf *o, job_secrets *secrets)
{
    size_t colon = skip_space(s, len, i);
    if (colon >= len || s[colon] != ':')
        return i;
    size_t start = skip_space(s, len, colon + 1);
    out_put(o, s + i, start - i);
    if (start >= len)
        return start;
    size_t end = value_end(s, len, start);
    size_t inner_from = s[start] == '"' ? start + 1 : start;
    size_t inner_to = s[start] == '"' && end > start + 1 && s[end - 1] == '"' ? end - 1 : end;
    if (remember(secrets, s + inner_from, inner_to - inner_from) != 0)
        o->failed = 1;
    out_put(o, "\"" JOB_REDACTED "\"", strlen(JOB_REDACTED) + 2);
    return end;
}

char *job_redact_message(const char *msg, size_t len, size_t *out_len, job_secrets *secrets)
{
    out_buf o = {0};
    if (secrets)
        *secrets = (job_secrets){0};
    out_put(&o, "", 0);
    size_t i = 0;
    while (i < len && !o.failed) {
        if (msg[i] != '"') {
            size_t next = i;
            while (next < len && msg[next] != '"')
                next++;
            out_put(&o, msg + i, next - i);
            i = next;
            continue;
        }
        size_t end = string_end(msg, len, i);
        out_put(&o, msg + i, end - i);
        int closed = end - i >= 2 && msg[end - 1] == '"';
        i = closed && is_secret_key(msg, i + 1, end - 1) ? mask_value(msg, len, end, &o, secrets) : end;
    }
    if (o.failed) {
        free(o.data);
        job_secrets_clear(secrets);
        return NULL;
    }
    if (out_len)
        *out_len = o.len;
    return o.data;
}

void job_secrets_clear(job_secrets *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        explicit_bzero(s->values[i], strlen(s->values[i]));
        free(s->values[i]);
    }
    free(s->values);
    *s = (job_secrets){0};
}

int job_scrub_secret(char *text, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (!text || n == 0)
        return 0;
    size_t mask = n < strlen(JOB_REDACTED) ? n : strlen(JOB_REDACTED);
    int count = 0;
    for (char *at = strstr(text, secret); at; at = strstr(at + mask, secret)) {
        memset(at, '*', mask);
        memmove(at + mask, at + n, strlen(at + n) + 1);
        count++;
    }
    return count;
}
