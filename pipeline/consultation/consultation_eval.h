/* consultation_eval.h — a consultation run as predictions for
 * `precis eval consultation` (pipeline/eval/eval_consultation.h): each
 * response's theme ids and position as an eval_item.
 */
#ifndef PRECIS_CONSULTATION_EVAL_H
#define PRECIS_CONSULTATION_EVAL_H

#include "pipeline/consultation/consultation.h"
#include "pipeline/eval/eval_items.h"

/* Append one item per response of res to out (emptied first): its id, its
 * themes as labels and its position ("" when none). theme_ids, when not
 * NULL, names the label of each of res's themes by index (theme_ids[k] for
 * res->themes[k], e.g. the ids of an approved theme set that the run
 * numbered A, B, C...); NULL keeps the run's ids. An unprocessable response
 * is an item without labels or position (scored as a missing prediction). */
int consultation_eval_predictions(const consultation_result *res, const char *const *theme_ids, eval_items *out,
                                  perr *err);

#endif
