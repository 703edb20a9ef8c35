/* browser.h — headless Chromium (the Debian package) for the tests of the
 * HTML pages precis writes: a page is rendered to a PNG as a reader would
 * see it, its console is collected (our pages have no script, so any
 * console line — an error, a blocked resource, a CSP violation — is a
 * fault), and the picture is measured so a blank page fails.
 * Chromium is required (deploy/install-deps.sh installs it); a machine
 * without it fails these tests rather than skipping them.
 */
#ifndef PRECIS_TEST_BROWSER_H
#define PRECIS_TEST_BROWSER_H

#include <stddef.h>
#include <stdint.h>

typedef struct browser_shot {
    int width, height;
    size_t ink;          /* pixels that are not the white background */
    char *console;       /* the console lines (malloc'd; "" when none) */
} browser_shot;

/* Render the page at html_path (absolute) to png_path, 1100 px wide, and
 * measure it; fails the test when Chromium is missing, fails or writes no
 * picture. Free shot->console. */
void browser_render(const char *html_path, const char *png_path, browser_shot *shot);

/* Pixels of png_path whose colour is rgb (0xRRGGBB) exactly. */
size_t browser_png_count(const char *png_path, uint32_t rgb);

#endif
