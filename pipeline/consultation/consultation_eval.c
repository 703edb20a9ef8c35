/* consultation_eval.c — a consultation run as evaluation predictions (see consultation_eval.h). */
#include "pipeline/consultation/consultation_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int item_of(const consultation_result *res, const consultation_annotation *a, const char *const *theme_ids,
                   eval_item *it, perr *err)
{
    *it = (eval_item){.id = strdup(a->response_id), .has_labels = !a->unprocessable};
    if (!it->id)
        return perr_set(err, "out of memory");
    if (!a->unprocessable)
        snprintf(it->position, sizeof it->position, "%s", a->position);
    for (const char *t = a->unprocessable ? "" : a->themes; *t; t++) {
        size_t k = 0; /* by id: an approved set's ids need not run A, B, C */
        while (k < res->n_themes && res->themes[k].id[0] != *t)
            k++;
        if (k >= res->n_themes)
            return perr_set(err, "response %.60s is mapped to unknown theme %c", a->response_id, *t);
        if (eval_item_add_label(it, theme_ids ? theme_ids[k] : res->themes[k].id) != 0)
            return perr_set(err, "out of memory");
    }
    return 0;
}

int consultation_eval_predictions(const consultation_result *res, const char *const *theme_ids, eval_items *out,
                                  perr *err)
{
    eval_items_clear(out);
    if (!(out->items = calloc(res->n ? res->n : 1, sizeof *out->items)))
        return perr_set(err, "out of memory");
    out->cap = res->n ? res->n : 1;
    for (size_t i = 0; i < res->n; i++) {
        int rc = item_of(res, &res->annotations[i], theme_ids, &out->items[i], err);
        out->n++;
        if (rc != 0) {
            eval_items_clear(out);
            return -1;
        }
    }
    return 0;
}
