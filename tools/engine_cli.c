/* engine_cli.c — helpers shared by the model commands (see engine_cli.h). */
#include "tools/engine_cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int cli_parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_float(const char *s, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = (float)v;
    return 0;
}

int cli_read_text_file(const char *path, char **text, size_t *len, perr *err)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return perr_errno(err, "cannot open %s", path);
    int rc = cli_read_text_stream(f, path, text, len, err);
    fclose(f);
    return rc;
}

int cli_read_text_stream(FILE *f, const char *path, char **text, size_t *len, perr *err)
{
    *text = NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        cap *= 2;
        char *bigger = realloc(buf, cap);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    int failed = ferror(f);
    if (!buf)
        return perr_set(err, "out of memory reading %s", path);
    if (failed) {
        free(buf);
        return perr_set(err, "error reading %s", path);
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int cli_load_model(const char *path, model **m, tokenizer **tok, perr *err)
{
    *tok = NULL;
    if (model_load(m, path, err) != 0)
        return -1;
    if (tokenizer_from_gguf(tok, (*m)->gguf, err) != 0) {
        model_free(*m);
        *m = NULL;
        return perr_prefix(err, "loading the vocabulary of %s", path);
    }
    if ((int64_t)tokenizer_n_vocab(*tok) != (*m)->hp.n_vocab) {
        perr_set(err, "%s: vocabulary has %zu tokens but the model %lld", path,
                 tokenizer_n_vocab(*tok), (long long)(*m)->hp.n_vocab);
        tokenizer_free(*tok);
        model_free(*m);
        *tok = NULL;
        *m = NULL;
        return -1;
    }
    return 0;
}

int cli_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 && n <= 256 ? (int)n : 1;
}
