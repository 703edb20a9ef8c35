/* eval_json.h — the pieces every eval report's JSON shares: a score that may
 * be undefined (null), a confidence interval, and how it was bootstrapped. */
#ifndef PRECIS_EVAL_JSON_H
#define PRECIS_EVAL_JSON_H

#include <cjson/cJSON.h>

#include "pipeline/eval/eval_bootstrap.h"

/* o[key] = v, or null when v is NAN (undefined). */
void eval_json_add_number(cJSON *o, const char *key, double v);

/* o[key] = [ci[0], ci[1]]. */
void eval_json_add_interval(cJSON *o, const char *key, const double ci[2]);

/* o["bootstrap"] = {"resamples", "seed", "level", "percentile"}. */
void eval_json_add_bootstrap(cJSON *o, const eval_bootstrap_options *b);

#endif
