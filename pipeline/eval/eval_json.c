/* eval_json.c — shared pieces of eval reports' JSON (see eval_json.h). */
#include "pipeline/eval/eval_json.h"

#include <math.h>

void eval_json_add_number(cJSON *o, const char *key, double v)
{
    if (isnan(v))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, v);
}

void eval_json_add_interval(cJSON *o, const char *key, const double ci[2])
{
    cJSON *a = cJSON_AddArrayToObject(o, key);
    if (!a)
        return;
    cJSON_AddItemToArray(a, cJSON_CreateNumber(ci[0]));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(ci[1]));
}

void eval_json_add_bootstrap(cJSON *o, const eval_bootstrap_options *b)
{
    cJSON *j = cJSON_AddObjectToObject(o, "bootstrap");
    if (!j)
        return;
    cJSON_AddNumberToObject(j, "resamples", (double)b->resamples);
    cJSON_AddNumberToObject(j, "seed", (double)b->seed);
    cJSON_AddNumberToObject(j, "level", b->level);
    cJSON_AddStringToObject(j, "percentile", "linear interpolation (Hyndman-Fan type 7)");
}
