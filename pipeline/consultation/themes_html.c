/* themes_html.c — a consultation run's report as one HTML page (see
 * themes_html.h). */
#include "pipeline/consultation/themes_html.h"

#include <cjson/cJSON.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/html.h"
#include "common/utf8.h"
#include "pipeline/llm/structured.h"

static const char page_css[] =
    "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222;"
    "line-height:1.45}"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}"
    "h3{font-size:1.05em;margin:1.4em 0 .3em}.meta{color:#555;font-size:.9em}"
    ".question{background:#f4f6fa;border-left:4px solid #5c6bc0;padding:.6em 1em}"
    ".flag{display:inline-block;font-size:.75em;font-weight:600;padding:0 .5em;border-radius:.7em;"
    "margin-left:.4em;vertical-align:middle}"
    ".minority{background:#fff3cd;color:#7a5b00}.dup{background:#fde2e1;color:#8a1c14}"
    ".agree{color:#2e7d32}.disagree{color:#c62828}.unclear{color:#666}"
    "blockquote{margin:.4em 0 .4em 1em;padding-left:.8em;border-left:3px solid #ccc;color:#333}"
    ".ids{font-size:.85em;color:#555;word-wrap:break-word}.reason{color:#8a1c14}"
    "table{border-collapse:collapse}td,th{padding:.2em .8em .2em 0;text-align:left;vertical-align:top}"
    ".legend span{margin-right:1.2em}.sw{display:inline-block;width:.9em;height:.9em;margin-right:.3em;"
    "vertical-align:-.1em}";

/* The positions a response or a theme can take, with their colours. */
static const struct {
    const char *name, *label, *css, *colour;
} positions[] = {
    {"AGREE", "agree", "agree", "#2e7d32"},
    {"DISAGREE", "disagree", "disagree", "#c62828"},
    {"UNCLEAR", "unclear", "unclear", "#9e9e9e"},
    {"NONE", "no position", "unclear", "#d7ccc8"},
};
#define N_POSITIONS (sizeof positions / sizeof positions[0])
static const char no_position_colour[] = "#5c6bc0";

/* ---- fields ------------------------------------------------------------------------ */

static long long num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

static const cJSON *array(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsArray(v) ? v : NULL;
}

static int is_true(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* A response id as text: ids are strings, numbers are tolerated. */
static void id_text(FILE *f, const cJSON *v)
{
    if (cJSON_IsString(v))
        html_text(f, v->valuestring);
    else if (cJSON_IsNumber(v))
        fprintf(f, "%.0f", v->valuedouble);
}

/* Responses of theme t by position, from its "positions" object; returns
 * 0 when the report has no split (then the bar takes the theme's own
 * position). */
static int theme_split(const cJSON *t, long long count[N_POSITIONS])
{
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(t, "positions");
    if (!cJSON_IsObject(by))
        return 0;
    for (size_t i = 0; i < N_POSITIONS; i++)
        count[i] = num(by, positions[i].name);
    return 1;
}

/* ---- the header -------------------------------------------------------------------- */

static void page_head(FILE *f, const cJSON *r)
{
    char *title = g_strdup_printf("Themes: %s", structured_string(r, "collection"));
    html_page_start(f, title, page_css);
    g_free(title);
    fputs("<h1>Themes of ", f);
    html_text(f, structured_string(r, "collection"));
    fputs("</h1>\n<p class=\"meta\">", f);
    fprintf(f, "Consultation run %lld, ", num(r, "run_id"));
    html_text(f, structured_string(r, "status"));
    fputs(", ", f);
    html_text(f, structured_string(r, "started_at"));
    fputs(" to ", f);
    html_text(f, structured_string(r, "finished_at"));
    fputs("; model ", f);
    html_text(f, structured_string(r, "model"));
    fputs(", prompts ", f);
    html_text(f, structured_string(r, "prompt_version"));
    fprintf(f, "; %lld model calls.</p>\n", num(r, "calls"));
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(r, "approved_set");
    if (cJSON_IsObject(set)) {
        fputs("<p class=\"meta\">Mapped onto the approved theme set ", f);
        html_text(f, structured_string(set, "source"));
        fputs(" (SHA-256 ", f);
        html_text(f, structured_string(set, "sha256"));
        fputs(", approved ", f);
        html_text(f, structured_string(set, "approved_at"));
        fputs("): themes were not generated in this run.</p>\n", f);
    }
    if (*structured_string(r, "question")) {
        fputs("<p class=\"question\"><strong>Question:</strong> ", f);
        html_text(f, structured_string(r, "question"));
        fputs("</p>\n", f);
    }
    if (*structured_string(r, "error")) {
        fputs("<p class=\"reason\"><strong>The run failed:</strong> ", f);
        html_text(f, structured_string(r, "error"));
        fputs("</p>\n", f);
    }
}

/* Responses, how many could not be processed, and the positions overall. */
static void page_counts(FILE *f, const cJSON *r)
{
    fprintf(f, "<p>%lld responses: %lld could not be processed, %lld were cut to fit the model's "
               "context in some step.",
            num(r, "responses"), num(r, "unprocessable"), num(r, "truncated"));
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "positions");
    if (cJSON_IsObject(p)) {
        fputs(" Positions:", f);
        for (size_t i = 0; i < N_POSITIONS; i++)
            fprintf(f, " <span class=\"%s\">%s %lld</span>", positions[i].css, positions[i].label,
                    num(p, positions[i].name));
    }
    fputs("</p>\n", f);
}

/* ---- the chart --------------------------------------------------------------------- */

#define CHART_W 760
#define LABEL_W 300
#define BAR_W 380
#define ROW_H 26
#define LABEL_CHARS 44

/* A label cut to LABEL_CHARS bytes (whole characters) with an ellipsis. */
static void svg_label(FILE *f, const char *id, const char *label)
{
    html_text(f, id);
    fputs(" ", f);
    size_t len = strlen(label), n = utf8_floor(label, len, len < LABEL_CHARS ? len : LABEL_CHARS);
    char *cut = strndup(label, n);
    html_text(f, cut ? cut : "");
    free(cut);
    if (n < len)
        fputs("\xe2\x80\xa6", f);
}

/* One segment of a bar: x from the left of the bar area, w wide. */
static void svg_segment(FILE *f, int y, double x, double w, const char *colour, const char *what,
                        long long n)
{
    if (w <= 0)
        return;
    fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%lld %s</title></rect>",
            LABEL_W + x, y + 4, w, ROW_H - 8, colour, n, what);
}

static void svg_theme_row(FILE *f, const cJSON *t, int row, double scale)
{
    const int y = row * ROW_H;
    const long long total = num(t, "responses");
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL_W - 8, y + ROW_H / 2 + 5);
    svg_label(f, structured_string(t, "id"), structured_string(t, "label"));
    fputs("</text>", f);
    long long split[N_POSITIONS];
    double x = 0;
    if (theme_split(t, split)) {
        for (size_t i = 0; i < N_POSITIONS; i++) {
            svg_segment(f, y, x, (double)split[i] * scale, positions[i].colour, positions[i].label, split[i]);
            x += (double)split[i] * scale;
        }
    } else {
        const char *colour = no_position_colour;
        for (size_t i = 0; i < N_POSITIONS; i++)
            if (strcmp(structured_string(t, "position"), positions[i].name) == 0)
                colour = positions[i].colour;
        x = (double)total * scale;
        svg_segment(f, y, 0, x, colour, "responses", total);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%d\">%lld%s</text>\n", LABEL_W + x + 6, y + ROW_H / 2 + 5, total,
            is_true(t, "minority") ? " (minority)" : "");
}

static void page_chart(FILE *f, const cJSON *themes)
{
    const int n = cJSON_GetArraySize(themes);
    if (n == 0) {
        fputs("<p>This run has no themes.</p>\n", f);
        return;
    }
    long long most = 1;
    const cJSON *t;
    cJSON_ArrayForEach(t, themes)
    {
        if (num(t, "responses") > most)
            most = num(t, "responses");
    }
    const double scale = (double)BAR_W / (double)most;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Responses per theme\" "
               "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-size=\"13\" font-family=\"sans-serif\">\n",
            CHART_W, n * ROW_H, CHART_W, n * ROW_H);
    int row = 0;
    cJSON_ArrayForEach(t, themes)
    {
        svg_theme_row(f, t, row++, scale);
    }
    fputs("</svg>\n<p class=\"legend meta\">", f);
    for (size_t i = 0; i < N_POSITIONS; i++)
        fprintf(f, "<span><i class=\"sw\" style=\"background:%s\"></i>%s</span>", positions[i].colour,
                positions[i].label);
    fprintf(f, "<span><i class=\"sw\" style=\"background:%s\"></i>position not split</span></p>\n",
            no_position_colour);
}

/* ---- the themes -------------------------------------------------------------------- */

/* "near-duplicate of B" flags: entries are theme ids or {"id", ...}. */
static void theme_flags(FILE *f, const cJSON *t)
{
    if (is_true(t, "minority"))
        fputs("<span class=\"flag minority\">minority</span>", f);
    const cJSON *d;
    cJSON_ArrayForEach(d, array(t, "near_duplicates"))
    {
        fputs("<span class=\"flag dup\">near-duplicate of ", f);
        id_text(f, cJSON_IsObject(d) ? cJSON_GetObjectItemCaseSensitive(d, "id") : d);
        fputs("</span>", f);
    }
}

static void theme_example(FILE *f, const cJSON *e)
{
    fputs("<blockquote>", f);
    html_text(f, structured_string(e, "excerpt"));
    fputs("<br><span class=\"meta\">response ", f);
    id_text(f, cJSON_GetObjectItemCaseSensitive(e, "response_id"));
    if (*structured_string(e, "position")) {
        fputs(", ", f);
        html_text(f, structured_string(e, "position"));
    }
    if (strcmp(structured_string(e, "evidence_rich"), "YES") == 0)
        fputs(", evidence-rich", f);
    fputs("</span></blockquote>\n", f);
}

static void theme_section(FILE *f, const cJSON *t)
{
    fputs("<h3 id=\"theme-", f);
    html_text(f, structured_string(t, "id"));
    fputs("\">", f);
    html_text(f, structured_string(t, "id"));
    fputs(". ", f);
    html_text(f, structured_string(t, "label"));
    theme_flags(f, t);
    fputs("</h3>\n<p>", f);
    html_text(f, structured_string(t, "description"));
    fprintf(f, "</p>\n<p class=\"meta\">%lld responses", num(t, "responses"));
    if (*structured_string(t, "position")) {
        fputs("; the theme's position: ", f);
        html_text(f, structured_string(t, "position"));
    }
    long long split[N_POSITIONS];
    if (theme_split(t, split))
        for (size_t i = 0; i < N_POSITIONS; i++)
            fprintf(f, "; <span class=\"%s\">%s %lld</span>", positions[i].css, positions[i].label, split[i]);
    fputs("</p>\n", f);
    const cJSON *e;
    cJSON_ArrayForEach(e, array(t, "examples"))
    {
        theme_example(f, e);
    }
    const cJSON *ids = array(t, "evidence");
    if (cJSON_GetArraySize(ids) > 0) {
        fputs("<p class=\"ids\">Responses behind it: ", f);
        const cJSON *id;
        int first = 1;
        cJSON_ArrayForEach(id, ids)
        {
            fputs(first ? "" : ", ", f);
            id_text(f, id);
            first = 0;
        }
        fputs("</p>\n", f);
    }
}

/* ---- responses outside the themes ----------------------------------------------------- */

/* A list of responses: id, then the excerpt or the reason. */
static void response_list(FILE *f, const cJSON *list, const char *title, const char *explain)
{
    const int n = cJSON_GetArraySize(list);
    if (n == 0)
        return;
    fprintf(f, "<h2>%s (%d)</h2>\n<p class=\"meta\">%s</p>\n<table>\n", title, n, explain);
    const cJSON *r;
    cJSON_ArrayForEach(r, list)
    {
        fputs("<tr><td>", f);
        id_text(f, cJSON_GetObjectItemCaseSensitive(r, "response_id"));
        fputs("</td><td>", f);
        if (*structured_string(r, "reason")) {
            fputs("<span class=\"reason\">", f);
            html_text(f, structured_string(r, "reason"));
            fputs("</span>", f);
        } else {
            html_text(f, structured_string(r, "excerpt"));
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* Themes proposed from unassigned responses, for the analyst to accept or
 * not: never part of the run's theme set. */
static void candidate_themes(FILE *f, const cJSON *list)
{
    const int n = cJSON_GetArraySize(list);
    if (n == 0)
        return;
    fprintf(f, "<h2>Candidate themes (%d)</h2>\n<p class=\"meta\">Proposed from responses no approved theme "
               "fits; not part of the theme set until an analyst adds them.</p>\n<ul>\n",
            n);
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        fputs("<li><strong>", f);
        html_text(f, structured_string(c, "label"));
        fputs("</strong>: ", f);
        html_text(f, structured_string(c, "description"));
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
}

/* ---- the page ---------------------------------------------------------------------- */

static void page(FILE *f, const cJSON *r)
{
    page_head(f, r);
    page_counts(f, r);
    const cJSON *themes = array(r, "themes");
    fputs("<h2>Themes</h2>\n", f);
    page_chart(f, themes);
    const cJSON *t;
    cJSON_ArrayForEach(t, themes)
    {
        theme_section(f, t);
    }
    response_list(f, array(r, "unassigned_responses"), "Unassigned responses",
                  "Responses that fit none of the themes.");
    candidate_themes(f, array(r, "theme_candidates"));
    response_list(f, array(r, "unprocessable_responses"), "Responses not processed",
                  "Responses the model could not annotate, with the reason.");
    fputs("</body>\n</html>\n", f);
}

static void write_page(FILE *f, const void *ctx)
{
    page(f, ctx);
}

char *themes_html(const char *report_json, perr *err)
{
    cJSON *r = report_json ? cJSON_Parse(report_json) : NULL;
    if (!cJSON_IsObject(r) || !array(r, "themes")) {
        cJSON_Delete(r);
        perr_set(err, "not a consultation run report (an object with \"themes\")");
        return NULL;
    }
    char *text = html_capture(write_page, r, "the themes page", err);
    cJSON_Delete(r);
    return text;
}
