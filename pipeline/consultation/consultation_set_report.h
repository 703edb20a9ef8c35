/* consultation_set_report.h — a collection's consultation as the analyst
 * follows it once a theme set is approved: every run mapped onto the set
 * (the first `precis consult --themes`, then each job as responses arrive)
 * taken together, each response as it was last mapped.
 *
 * The report has the shape of store_consultation_report's run report (so
 * `precis themes` prints it, exports it and renders it as HTML the same
 * way) with "view": "approved_set", "runs", "first_run" and "last_run"
 * added; "run_id" is the last run. Counts by position, minority and
 * near-duplicate flags and evidence are computed over the whole set of
 * responses (consultation_flags.h, with the newest run's thresholds), not
 * taken from any one run; examples are chosen as the run report chooses
 * them (evidence-rich first, then the longest excerpt, then by id).
 */
#ifndef PRECIS_CONSULTATION_SET_REPORT_H
#define PRECIS_CONSULTATION_SET_REPORT_H

#include "common/error.h"
#include "store/store.h"

/* The report (malloc'd); *json = NULL when collection has no approved set. */
int consultation_set_report(store *s, const char *collection, char **json, perr *err);

/* The same from store_consultation_set_rows's object (exposed for tests). */
char *consultation_set_report_from_rows(const char *collection, const char *rows_json, perr *err);

#endif
