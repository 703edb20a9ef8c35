/* html.c — HTML escaping (see html.h). */
#include "common/html.h"

#include <stdlib.h>

void html_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

void html_page_start(FILE *f, const char *title, const char *css)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    html_text(f, title);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
}

char *html_capture(void (*write)(FILE *f, const void *ctx), const void *ctx, const char *what, perr *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        perr_errno(err, "rendering %s", what);
        return NULL;
    }
    write(f, ctx);
    if (fclose(f) != 0) {
        free(text);
        perr_set(err, "rendering %s: out of memory", what);
        return NULL;
    }
    return text;
}
