/* themes_html.h — a consultation run's report (store_consultation_report's
 * JSON object, the one behind `precis themes --json`) as one self-contained
 * HTML page for the people who read the results: `precis themes C --html
 * FILE`.
 *
 * The page has the question and the run's facts (and the approved theme
 * set it mapped onto, if any); a chart (inline SVG) with
 * one bar per theme, split by the positions of its responses; each theme
 * with its description, flags (minority, near-duplicate of another theme),
 * its positions, example responses and the ids of every response behind it;
 * responses no theme fits (unassigned), candidate themes proposed for the
 * analyst, and the responses that could not be processed, with the reason.
 *
 * Inline CSS, no script, no external resource (a Content-Security-Policy
 * forbids any): it opens from a file or an e-mail, offline. Every string
 * from the report is HTML-escaped (common/html.h). Keys the report lacks
 * (older runs) leave their part out. A pure function: text in, text out.
 */
#ifndef PRECIS_THEMES_HTML_H
#define PRECIS_THEMES_HTML_H

#include "common/error.h"

/* malloc'd page; NULL with err when report_json is not a run report (an
 * object with "themes"). */
char *themes_html(const char *report_json, perr *err);

#endif
