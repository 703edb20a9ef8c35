/* text2pdf.c — render a plain-text file as a simple A4 PDF with cairo.
 *
 * Build-time helper for the demo: the first line becomes the title (larger
 * font, and the PDF's Title metadata); blank lines separate paragraphs,
 * which are word-wrapped. Usage: text2pdf IN.txt OUT.pdf
 */
#include <cairo-pdf.h>
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_W 595.0 /* A4 in points */
#define PAGE_H 842.0
#define MARGIN 64.0
#define BODY_SIZE 11.0
#define TITLE_SIZE 16.0
#define LEADING 1.4

typedef struct pen {
    cairo_t *cr;
    double y;
} pen;

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static void next_line(pen *p, double size)
{
    p->y += size * LEADING;
    if (p->y > PAGE_H - MARGIN) {
        cairo_show_page(p->cr);
        p->y = MARGIN + size;
    }
}

/* Word-wrap `text` (one paragraph, may contain newlines) at the page width. */
static void draw_paragraph(pen *p, const char *text, double size)
{
    cairo_set_font_size(p->cr, size);
    char line[4096] = "";
    char *copy = strdup(text);
    for (char *word = strtok(copy, " \n\t"); word; word = strtok(NULL, " \n\t")) {
        char trial[4096];
        snprintf(trial, sizeof trial, "%s%s%s", line, line[0] ? " " : "", word);
        cairo_text_extents_t ext;
        cairo_text_extents(p->cr, trial, &ext);
        if (ext.x_advance > PAGE_W - 2 * MARGIN && line[0]) {
            cairo_move_to(p->cr, MARGIN, p->y);
            cairo_show_text(p->cr, line);
            next_line(p, size);
            snprintf(line, sizeof line, "%s", word);
        } else {
            memcpy(line, trial, sizeof line);
        }
    }
    if (line[0]) {
        cairo_move_to(p->cr, MARGIN, p->y);
        cairo_show_text(p->cr, line);
        next_line(p, size);
    }
    next_line(p, size * 0.5);
    free(copy);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: text2pdf IN.txt OUT.pdf\n");
        return 2;
    }
    char *text = read_all(argv[1]);
    if (!text) {
        fprintf(stderr, "text2pdf: cannot read %s\n", argv[1]);
        return 1;
    }
    cairo_surface_t *surface = cairo_pdf_surface_create(argv[2], PAGE_W, PAGE_H);
    char *title_end = strchr(text, '\n');
    char *body = title_end ? title_end + 1 : text + strlen(text);
    if (title_end)
        *title_end = '\0';
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, text);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "precis demo");
    cairo_t *cr = cairo_create(surface);
    cairo_select_font_face(cr, "DejaVu Serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    pen p = {cr, MARGIN + TITLE_SIZE};
    draw_paragraph(&p, text, TITLE_SIZE);
    /* Paragraphs are separated by blank lines. */
    for (char *para = body; *para;) {
        char *gap = strstr(para, "\n\n");
        if (gap)
            *gap = '\0';
        if (strspn(para, " \n\t") < strlen(para))
            draw_paragraph(&p, para, BODY_SIZE);
        para = gap ? gap + 2 : para + strlen(para);
    }
    cairo_show_page(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    int bad = cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS;
    cairo_surface_destroy(surface);
    free(text);
    if (bad) {
        fprintf(stderr, "text2pdf: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}
