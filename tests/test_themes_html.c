/* test_themes_html.c — the consultation themes page (pipeline/consultation/
 * themes_html.h): what it shows, that every string is escaped, and that a
 * real browser renders it (headless Chromium: not blank, bars drawn, no
 * console message). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "pipeline/consultation/themes_html.h"
#include "tests/browser.h"
#include "tests/support.h"

/* A run report as store_consultation_report gives it, with the keys of
 * flags, evidence and unassigned responses; hostile text in every string
 * a model, an analyst or a respondent wrote. */
static const char report[] =
    "{\"run_id\": 7, \"collection\": \"gambling <b>ads</b>\", \"status\": \"done\","
    " \"question\": \"Should gambling adverts be banned? <script>alert(1)</script>\","
    " \"source\": \"collection\", \"model\": \"test-model\", \"prompt_version\": \"consultation@3\","
    " \"started_at\": \"2026-12-07 10:00:00+00\", \"finished_at\": \"2026-12-07 10:05:00+00\","
    " \"error\": null, \"approved_set\": {\"id\": 3, \"source\": \"themes <v2>.json\", \"sha256\": \"ab12\", \"approved_at\": \"2026-12-06\"}, \"max_themes\": 12, \"responses\": 16, \"unprocessable\": 1, \"truncated\": 0,"
    " \"candidate_themes\": 5, \"calls\": 9, \"positions\": {\"AGREE\": 9, \"DISAGREE\": 5, \"UNCLEAR\": 1},"
    " \"themes\": ["
    "  {\"id\": \"A\", \"label\": \"Ban <all> adverts\", \"description\": \"Support a \\\"full\\\" ban & more\","
    "   \"position\": \"AGREE\", \"responses\": 10, \"positions\": {\"AGREE\": 6, \"DISAGREE\": 3, \"UNCLEAR\": 1},"
    "   \"evidence\": [\"r1\", \"r2\", \"r3\", \"r4\", \"r5\", \"r6\", \"r7\", \"r8\", \"r9\", \"r<10>\"],"
    "   \"examples\": [{\"response_id\": \"r1\", \"excerpt\": \"My son <img src=x onerror=alert(1)> gambled\","
    "                  \"position\": \"AGREE\", \"evidence_rich\": \"YES\"}]},"
    "  {\"id\": \"B\", \"label\": \"Funding for sport\", \"description\": \"Clubs need the money\","
    "   \"position\": \"DISAGREE\", \"responses\": 5, \"positions\": {\"AGREE\": 0, \"DISAGREE\": 5, \"UNCLEAR\": 0},"
    "   \"near_duplicates\": [{\"id\": \"C\", \"why\": \"responses\"}],"
    "   \"evidence\": [\"r11\", \"r12\", \"r13\", \"r14\", \"r15\"], \"examples\": []},"
    "  {\"id\": \"C\", \"label\": \"Sport sponsorship\", \"description\": \"Sponsors keep clubs going\","
    "   \"position\": \"DISAGREE\", \"responses\": 2, \"minority\": true, \"near_duplicates\": [\"B\"],"
    "   \"evidence\": [\"r11\", \"r12\"], \"examples\": []}],"
    " \"unassigned_responses\": [{\"response_id\": \"r16\", \"excerpt\": \"Unrelated: the 'weather'\"}],"
    " \"theme_candidates\": [{\"label\": \"Weather <talk>\", \"description\": \"Off-topic remarks\"}],"
    " \"unprocessable_responses\": [{\"response_id\": \"r17\", \"reason\": \"sentiment: empty response & <nothing>\"}]}";

static char *render(void)
{
    perr err = {{0}};
    char *html = themes_html(report, &err);
    cr_assert(html, "themes_html: %s", err.msg);
    return html;
}

Test(themes_html, escapes_every_string)
{
    char *html = render();
    cr_assert(!strstr(html, "<script"), "a script tag got through");
    cr_assert(!strstr(html, "<img"), "an img tag got through");
    cr_assert(!strstr(html, "<b>ads"), "markup in the collection name got through");
    cr_assert(!strstr(html, "<all>") && !strstr(html, "<talk>") && !strstr(html, "<nothing>") && !strstr(html, "r<10>"));
    cr_assert(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    cr_assert(strstr(html, "Ban &lt;all&gt; adverts"), "the label, escaped, in the chart and the section");
    cr_assert(strstr(html, "a &quot;full&quot; ban &amp; more"));
    cr_assert(strstr(html, "the &#39;weather&#39;"));
    free(html);
}

Test(themes_html, shows_bars_by_position_flags_evidence_and_the_responses_left_out)
{
    char *html = render();
    /* bars scaled to the largest theme (10 responses = 380 px): theme A
     * split 6/3/1 -> 228, 114, 38 px; theme C without a split, 2 -> 76 px */
    cr_assert(strstr(html, "width=\"228.0\" height=\"18\" fill=\"#2e7d32\"><title>6 agree</title>"), "%s", html);
    cr_assert(strstr(html, "width=\"114.0\" height=\"18\" fill=\"#c62828\"><title>3 disagree</title>"));
    cr_assert(strstr(html, "width=\"38.0\" height=\"18\" fill=\"#9e9e9e\"><title>1 unclear</title>"));
    cr_assert(strstr(html, "width=\"76.0\" height=\"18\" fill=\"#c62828\"><title>2 responses</title>"));
    cr_assert(strstr(html, ">2 (minority)</text>"));
    cr_assert(strstr(html, "<span class=\"flag minority\">minority</span>"));
    cr_assert(strstr(html, "<span class=\"flag dup\">near-duplicate of C</span>"), "object form");
    cr_assert(strstr(html, "<span class=\"flag dup\">near-duplicate of B</span>"), "id form");
    cr_assert(strstr(html, "Responses behind it: r1, r2, r3, r4, r5, r6, r7, r8, r9, r&lt;10&gt;</p>"));
    cr_assert(strstr(html, "<h2>Unassigned responses (1)</h2>"));
    cr_assert(strstr(html, "<h2>Candidate themes (1)</h2>"));
    cr_assert(strstr(html, "Mapped onto the approved theme set themes &lt;v2&gt;.json (SHA-256 ab12"));
    cr_assert(strstr(html, "<h2>Responses not processed (1)</h2>"));
    cr_assert(strstr(html, "sentiment: empty response &amp; &lt;nothing&gt;"));
    cr_assert(strstr(html, "response r1, AGREE, evidence-rich"));
    cr_assert(strstr(html, "Content-Security-Policy"), "the page forbids every external resource");
    free(html);
}

Test(themes_html, an_older_report_without_flags_or_splits_still_renders)
{
    perr err = {{0}};
    char *html = themes_html("{\"run_id\": 1, \"collection\": \"c\", \"themes\": ["
                             "{\"id\": \"A\", \"label\": \"L\", \"description\": \"D\", \"responses\": 3}]}",
                             &err);
    cr_assert(html, "%s", err.msg);
    cr_assert(strstr(html, "fill=\"#5c6bc0\"><title>3 responses</title>"), "one bar in the no-position colour");
    cr_assert(!strstr(html, "Unassigned") && !strstr(html, "minority</span>"));
    free(html);
}

Test(themes_html, refuses_what_is_not_a_report)
{
    static const char *bad[] = {NULL, "", "[]", "{}", "{\"themes\": 3}", "{\"themes\": [", "not json"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        perr err = {{0}};
        cr_assert_null(themes_html(bad[i], &err), "case %zu", i);
        cr_assert(strstr(err.msg, "not a consultation run report"), "case %zu: %s", i, err.msg);
    }
}

Test(themes_html, chromium_renders_the_page_with_its_bars_and_no_console_message, .timeout = 180)
{
    char *html = render();
    char *page = test_write_tmp("themes.html", html);
    char png[4096];
    snprintf(png, sizeof png, "%s/themes.png", test_tmpdir());
    browser_shot shot;
    browser_render(page, png, &shot);
    cr_assert(shot.width >= 1000 && shot.height >= 1000, "%dx%d", shot.width, shot.height);
    cr_assert(shot.ink > (size_t)shot.width * (size_t)shot.height / 100, "blank page: %zu pixels of ink",
              shot.ink);
    /* the bars in the chart: theme A's 228 x 18 px agree segment */
    cr_assert(browser_png_count(png, 0x2e7d32) >= 200 * 16, "no agree bar drawn");
    cr_assert(browser_png_count(png, 0xc62828) >= 100 * 16, "no disagree bar drawn");
    cr_assert_str_empty(shot.console, "console messages:\n%s", shot.console);
    free(shot.console);
    free(page);
    free(html);
}
