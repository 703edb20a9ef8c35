/* browser.c — headless Chromium for HTML page tests (see browser.h). */
#include "tests/browser.h"

#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support.h"

/* Each pixel of an image surface (ARGB32, premultiplied; our pages are
 * opaque) as 0xRRGGBB to fn. */
static void each_pixel(const char *png_path, void (*fn)(uint32_t rgb, void *ctx), void *ctx, int *w, int *h)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(png_path);
    cr_assert(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "cannot read %s as PNG", png_path);
    cairo_surface_flush(s);
    const int width = cairo_image_surface_get_width(s), height = cairo_image_surface_get_height(s);
    const int stride = cairo_image_surface_get_stride(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    for (int y = 0; y < height; y++) {
        const uint32_t *row = (const uint32_t *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < width; x++)
            fn(row[x] & 0xffffffu, ctx);
    }
    if (w)
        *w = width;
    if (h)
        *h = height;
    cairo_surface_destroy(s);
}

static void count_ink(uint32_t rgb, void *ctx)
{
    *(size_t *)ctx += rgb != 0xffffffu;
}

typedef struct colour_count {
    uint32_t rgb;
    size_t n;
} colour_count;

static void count_colour(uint32_t rgb, void *ctx)
{
    colour_count *c = ctx;
    c->n += rgb == c->rgb;
}

size_t browser_png_count(const char *png_path, uint32_t rgb)
{
    colour_count c = {rgb, 0};
    each_pixel(png_path, count_colour, &c, NULL, NULL);
    return c.n;
}

/* The lines of log that carry a console message. */
static char *console_lines(const char *log)
{
    size_t cap = strlen(log) + 1, n = 0;
    char *out = malloc(cap);
    cr_assert(out);
    for (const char *line = log; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        if (memmem(line, len, ":CONSOLE", 8)) {
            memcpy(out + n, line, len);
            n += len;
        }
        line += len;
    }
    out[n] = '\0';
    return out;
}

void browser_render(const char *html_path, const char *png_path, browser_shot *shot)
{
    memset(shot, 0, sizeof *shot);
    cr_assert(system("command -v chromium >/dev/null 2>&1") == 0,
              "headless Chromium is needed for this test: install the Debian package chromium "
              "(deploy/install-deps.sh does)");
    char log_path[4096], profile[4096], cmd[16384];
    snprintf(log_path, sizeof log_path, "%s/chromium.log", test_tmpdir());
    snprintf(profile, sizeof profile, "%s/chromium-profile", test_tmpdir());
    remove(png_path);
    snprintf(cmd, sizeof cmd,
             "timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
             "--no-first-run --disable-extensions --user-data-dir='%s' --window-size=1100,1600 "
             "--screenshot='%s' --enable-logging=stderr --v=0 'file://%s' >/dev/null 2>'%s'",
             profile, png_path, html_path, log_path);
    int rc = system(cmd);
    char *log = test_read_file(log_path, NULL);
    cr_assert(rc == 0, "chromium failed (status %d):\n%s", rc, log);
    shot->console = console_lines(log);
    free(log);
    each_pixel(png_path, count_ink, &shot->ink, &shot->width, &shot->height);
}
