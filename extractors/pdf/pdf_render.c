/* pdf_render.c — render a PDF page to grayscale pixels with poppler and cairo
 * (see pdf_render.h). */
#include "extractors/pdf/pdf_render.h"

#include <cairo.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAIRO_MAX_SIDE 32767

/* The resolution to render a w x h point page at: dpi, lowered until the
 * image fits the pixel and side limits. 0 when the page has no usable size. */
static double fit_dpi(double w, double h, int dpi)
{
    if (!(w > 0.5 && h > 0.5) || !isfinite(w) || !isfinite(h))
        return 0;
    double scale = dpi / 72.0;
    double pixels = w * scale * h * scale;
    if (pixels > (double)PDF_RENDER_MAX_PIXELS)
        scale *= sqrt((double)PDF_RENDER_MAX_PIXELS / pixels);
    double side = fmax(w, h) * scale;
    if (side > CAIRO_MAX_SIDE)
        scale *= CAIRO_MAX_SIDE / side;
    double fitted = scale * 72.0;
    return fitted >= 1 ? floor(fitted) : 0;
}

/* RGB24 surface to one luma byte per pixel. */
static void to_gray(cairo_surface_t *s, pdf_gray_image *out)
{
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < out->height; y++) {
        const uint32_t *row = (const uint32_t *)(const void *)(data + (size_t)y * (size_t)stride);
        unsigned char *dst = out->pixels + (size_t)y * (size_t)out->stride;
        for (int x = 0; x < out->width; x++) {
            uint32_t px = row[x];
            unsigned r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
            dst[x] = (unsigned char)((299 * r + 587 * g + 114 * b + 500) / 1000);
        }
    }
}

int pdf_render_gray(PopplerPage *page, int dpi, pdf_gray_image *out, perr *err)
{
    memset(out, 0, sizeof *out);
    double w = 0, h = 0;
    poppler_page_get_size(page, &w, &h);
    double used = fit_dpi(w, h, dpi);
    if (used <= 0)
        return perr_set(err, "page has no usable size (%.0f x %.0f points)", w, h);
    double scale = used / 72.0;
    int pw = (int)ceil(w * scale), ph = (int)ceil(h * scale);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, pw, ph);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return perr_set(err, "cannot allocate a %d x %d page image", pw, ph);
    }
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    poppler_page_render(page, cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    out->pixels = malloc((size_t)pw * (size_t)ph);
    if (!out->pixels) {
        cairo_surface_destroy(s);
        return perr_set(err, "cannot allocate a %d x %d page image", pw, ph);
    }
    out->width = pw;
    out->height = ph;
    out->stride = pw;
    out->dpi = (int)used;
    to_gray(s, out);
    cairo_surface_destroy(s);
    return 0;
}

void pdf_gray_image_free(pdf_gray_image *img)
{
    free(img->pixels);
    memset(img, 0, sizeof *img);
}
