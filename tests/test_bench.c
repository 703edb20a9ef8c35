/* test_bench.c — `precis bench`: options and the JSON report (the numbers
 * are timings and are only checked for plausibility, never for speed). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support.h"

Test(bench, json_report_has_every_measurement)
{
    char *model = test_model_path("synth-d256-q8_0.gguf");
    char *out;
    cr_assert_eq(test_run_precis(&out, "bench -m %s -p 16 -n 4 -B 1,2 -t 2 --json", model), 0, "%s", out);
    cJSON *j = cJSON_Parse(out);
    cr_assert(j, "not JSON: %s", out);
    cr_assert_eq(test_json_number(j, "n_prompt"), 16);
    cr_assert_eq(test_json_number(j, "n_gen"), 4);
    cr_assert_eq(test_json_number(j, "threads"), 2);
    cr_assert_gt(test_json_number(j, "pp_tok_s"), 0);
    cr_assert_gt(test_json_number(j, "tg_tok_s"), 0);
    cr_assert_gt(test_json_number(j, "pp_tok_per_cpu_s"), 0);
    cr_assert_gt(test_json_number(j, "tg_tok_per_cpu_s"), 0);
    cr_assert_eq(test_json_number(j, "n_params"), 19532032); /* 2 x 256 x 32000 + 4 layers + norms */
    cr_assert_gt(test_json_number(j, "peak_rss_mib"), test_json_number(j, "rss_after_load_mib") * 0.5);
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(j, "weight_types");
    cr_assert_eq(test_json_number(types, "q8_0"), 30);
    cr_assert_eq(test_json_number(types, "f32"), 9);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "batched");
    cr_assert(cJSON_IsArray(b) && cJSON_GetArraySize(b) == 2);
    cr_assert_eq(test_json_number(cJSON_GetArrayItem(b, 1), "n_seq"), 2);
    cr_assert_gt(test_json_number(cJSON_GetArrayItem(b, 1), "decode_tok_s"), 0);
    cr_assert_gt(test_json_number(cJSON_GetArrayItem(b, 1), "decode_tok_per_cpu_s"), 0);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "batch_mode")->valuestring, "batched");
    cr_assert_gt(test_json_number(j, "gen_tok_s"), 0);
    cr_assert_eq(test_json_number(j, "gen_tokens"), 4);
    cr_assert_gt(test_json_number(j, "gen_forward_passes"), 0);
    cr_assert_leq(test_json_number(j, "gen_forward_passes"), 4);
    cr_assert_eq(test_json_number(j, "gen_passes_per_token"), test_json_number(j, "gen_forward_passes") / 4);
    cr_assert_geq(test_json_number(j, "gen_draft_proposed"), test_json_number(j, "gen_draft_accepted"));
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "draft")));
    cJSON_Delete(j);
    free(out);
    /* --no-draft: one pass per generated token */
    cr_assert_eq(test_run_precis(&out, "bench -m %s -p 8 -n 6 -B 0 -t 1 --no-draft --json", model), 0, "%s", out);
    j = cJSON_Parse(out);
    cr_assert(j, "not JSON: %s", out);
    cr_assert_eq(test_json_number(j, "gen_tokens"), 6);
    cr_assert_eq(test_json_number(j, "gen_passes_per_token"), 1);
    cr_assert_eq(test_json_number(j, "gen_draft_proposed"), 0);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "draft")));
    cJSON_Delete(j);
    free(out);
    free(model);
}

Test(bench, text_report_and_usage_errors)
{
    char *model = test_model_path("synth-d256-q8_0.gguf");
    char *out;
    cr_assert_eq(test_run_precis(&out, "bench -m %s -p 8 -n 2 -B 0 -t 1", model), 0, "%s", out);
    cr_assert(strstr(out, "pp8 ") && strstr(out, "tg2 ") && !strstr(out, "B="), "%s", out);
    cr_assert(strstr(out, "gen2 ") && strstr(out, "forward passes per token"), "%s", out);
    cr_assert(strstr(out, "q8_0 x30"), "%s", out);
    free(out);
    cr_assert_eq(test_run_precis(&out, "bench"), 2, "%s", out);
    cr_assert(strstr(out, "-m MODEL is required"), "%s", out);
    free(out);
    cr_assert_eq(test_run_precis(&out, "bench -m %s -B 1,x", model), 2, "%s", out);
    free(out);
    cr_assert_eq(test_run_precis(&out, "bench -m /nonexistent.gguf -p 1 -n 1"), 1, "%s", out);
    cr_assert(strstr(out, "/nonexistent.gguf"), "%s", out);
    free(out);
    free(model);
}
