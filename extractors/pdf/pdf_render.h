/* pdf_render.h — a PDF page as an 8-bit grayscale image, for OCR.
 *
 * The page is rendered by poppler into a cairo image surface at the asked
 * resolution on a white background (so transparent areas read as paper),
 * then converted to one byte per pixel (0 black .. 255 white, ITU-R BT.601
 * luma). A page that would exceed PDF_RENDER_MAX_PIXELS (or cairo's 32767
 * pixels a side) is rendered at the highest resolution that fits, and
 * *dpi_used says which; its memory is then bounded whatever the page size
 * claims. Peak memory: 5 bytes per pixel (about 44 MB for A4 at 300 dpi).
 */
#ifndef PRECIS_PDF_RENDER_H
#define PRECIS_PDF_RENDER_H

#include <poppler.h>

#include "common/error.h"

#define PDF_RENDER_MAX_PIXELS (40L * 1000 * 1000)   /* A3 at 400 dpi */

typedef struct pdf_gray_image {
    unsigned char *pixels;   /* height rows of stride bytes; malloc'd */
    int width, height, stride;
    int dpi;                 /* the resolution used */
} pdf_gray_image;

/* Render page at dpi (or lower, see above) into *out. -1 with err when the
 * page has no size or cairo fails (out of memory). */
int pdf_render_gray(PopplerPage *page, int dpi, pdf_gray_image *out, perr *err);
void pdf_gray_image_free(pdf_gray_image *img);

#endif
