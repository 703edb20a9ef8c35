/* test_consultation_flags.c — nothing dropped: a run's themes counted by
 * position, small themes flagged minority (never removed), near-duplicate
 * themes named to each other, each theme's evidence — on crafted themes and
 * mappings computed by hand (pipeline/consultation/consultation_flags.h);
 * then stored (sql/0009), reported and shown by `precis themes`. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pipeline/consultation/consultation_flags.h"
#include "pipeline/consultation/consultation_job.h"
#include "store/migrations.h"
#include "store/store_consultation.h"
#include "tests/pg_harness.h"
#include "tests/pg_query.h"
#include "tests/support.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

/* Six themes over ten responses:
 *   r1 A AGREE   r2 AC DISAGREE   r3 CD DISAGREE   r4 CD DISAGREE   r5 CD UNCLEAR
 *   r6 CD AGREE  r7 CDE (no position: unprocessable in the sentiment step, still mapped)
 *   r8 B AGREE   r9 AB AGREE      r10 A AGREE
 * A 4 (AGREE 3, DISAGREE 1); B 2 (AGREE 2); C 6 (DISAGREE 3, UNCLEAR 1,
 * AGREE 1, none 1); D 5 (DISAGREE 2, UNCLEAR 1, AGREE 1, none 1); E 1
 * (none 1); F 0.
 * A, B: labels {complete, ban, support} both: label overlap 1; responses
 *   {r1 r2 r9 r10} and {r8 r9}: 1/5.
 * C, D: labels share nothing; responses {r2..r7} and {r3..r7}: 5/6 >= 0.8.
 * Every other pair shares at most 1 of 5 responses and no label word. */
typedef struct fixture {
    consultation_theme themes[6];
    consultation_annotation ann[10];
    consultation_result res;
} fixture;

static void fixture_init(fixture *f)
{
    static const char *const labels[] = {"Complete Ban Support", "Support for a complete ban",
                                         "Economic Impact Concerns", "Jobs and wages", "Rare niche point", "Unused"};
    static const struct {
        const char *id, *position, *themes;
    } rows[] = {
        {"r1", "AGREE", "A"},   {"r2", "DISAGREE", "AC"}, {"r3", "DISAGREE", "CD"}, {"r4", "DISAGREE", "CD"},
        {"r5", "UNCLEAR", "CD"}, {"r6", "AGREE", "CD"},   {"r7", "", "CDE"},        {"r8", "AGREE", "B"},
        {"r9", "AGREE", "AB"},  {"r10", "AGREE", "A"},
    };
    memset(f, 0, sizeof *f);
    for (size_t k = 0; k < 6; k++) {
        f->themes[k].id[0] = (char)('A' + k);
        f->themes[k].label = (char *)labels[k];
        f->themes[k].description = (char *)"d";
    }
    for (size_t i = 0; i < 10; i++) {
        f->ann[i].response_id = rows[i].id;
        snprintf(f->ann[i].position, sizeof f->ann[i].position, "%s", rows[i].position);
        snprintf(f->ann[i].themes, sizeof f->ann[i].themes, "%s", rows[i].themes);
        if (!rows[i].position[0]) {
            f->ann[i].unprocessable = 1;
            f->ann[i].reason = (char *)"sentiment: gave up";
        }
    }
    f->res = (consultation_result){.annotations = f->ann, .n = 10, .themes = f->themes, .n_themes = 6};
}

static void assert_counts(const consultation_theme *t, size_t n, size_t agree, size_t disagree, size_t unclear,
                          size_t none)
{
    cr_assert_eq(t->response_count, n, "%s responses %zu", t->id, t->response_count);
    cr_assert_eq(t->agree, agree, "%s AGREE", t->id);
    cr_assert_eq(t->disagree, disagree, "%s DISAGREE", t->id);
    cr_assert_eq(t->unclear, unclear, "%s UNCLEAR", t->id);
    cr_assert_eq(t->no_position, none, "%s no position", t->id);
}

Test(consultation_flags, counts_by_position)
{
    fixture f;
    fixture_init(&f);
    consultation_flag_themes(&f.res, NULL);
    assert_counts(&f.themes[0], 4, 3, 1, 0, 0);
    assert_counts(&f.themes[1], 2, 2, 0, 0, 0);
    assert_counts(&f.themes[2], 6, 1, 3, 1, 1);
    assert_counts(&f.themes[3], 5, 1, 2, 1, 1);
    assert_counts(&f.themes[4], 1, 0, 0, 0, 1);
    assert_counts(&f.themes[5], 0, 0, 0, 0, 0);
    cr_assert_eq(f.res.n_themes, 6, "no theme removed");
}

Test(consultation_flags, an_approved_sets_ids_with_gaps_count_by_id)
{
    /* themes A, C, X (an analyst's set): responses mapped to C and X count
     * for C and X, not for whatever sits at positions 2 and 23 */
    consultation_theme themes[3] = {{.id = "A", .label = (char *)"Children"}, {.id = "C", .label = (char *)"Funding"},
                                    {.id = "X", .label = (char *)"Other"}};
    consultation_annotation ann[3] = {
        {.response_id = "r1", .position = "AGREE", .themes = "C"},
        {.response_id = "r2", .position = "DISAGREE", .themes = "CX"},
        {.response_id = "r3", .position = "UNCLEAR", .themes = "X"},
    };
    consultation_result res = {.annotations = ann, .n = 3, .themes = themes, .n_themes = 3};
    consultation_flag_themes(&res, NULL);
    assert_counts(&themes[0], 0, 0, 0, 0, 0);
    assert_counts(&themes[1], 2, 1, 1, 0, 0);
    assert_counts(&themes[2], 2, 0, 1, 1, 0);
    cr_assert_eq(themes[1].n_duplicates, 0, "C and X share 1 of 3 responses: not duplicates");
}

Test(consultation_flags, minority_by_count_and_by_share)
{
    fixture f;
    fixture_init(&f);
    /* Defaults: fewer than 5, or under 0.1 % of 10 responses. */
    consultation_flag_themes(&f.res, NULL);
    int want[] = {1, 1, 0, 0, 1, 1};
    for (size_t k = 0; k < 6; k++)
        cr_assert_eq(f.themes[k].minority, want[k], "theme %c (defaults)", (int)('A' + k));
    cr_assert_eq(f.res.flags.minority_min_responses, 5, "the options used are recorded");
    /* By share alone: under 30 % of 10 = fewer than 3. */
    consultation_flag_options o = consultation_flag_defaults();
    o.minority_min_responses = 0;
    o.minority_min_share = 0.3;
    consultation_flag_themes(&f.res, &o);
    int by_share[] = {0, 1, 0, 0, 1, 1};
    for (size_t k = 0; k < 6; k++)
        cr_assert_eq(f.themes[k].minority, by_share[k], "theme %c (share)", (int)('A' + k));
    cr_assert_eq(f.res.n_themes, 6, "flagged, not removed");
}

Test(consultation_flags, near_duplicates_name_each_other)
{
    fixture f;
    fixture_init(&f);
    consultation_flag_themes(&f.res, NULL);
    const consultation_theme *a = &f.themes[0], *b = &f.themes[1], *c = &f.themes[2], *d = &f.themes[3];
    cr_assert_eq(a->n_duplicates, 1);
    cr_assert_str_eq(a->duplicates[0].id, "B");
    cr_assert(NEAR(a->duplicates[0].label_overlap, 1.0), "%g", a->duplicates[0].label_overlap);
    cr_assert(NEAR(a->duplicates[0].response_overlap, 0.2), "%g", a->duplicates[0].response_overlap);
    cr_assert_eq(b->n_duplicates, 1);
    cr_assert_str_eq(b->duplicates[0].id, "A");
    cr_assert_eq(c->n_duplicates, 1);
    cr_assert_str_eq(c->duplicates[0].id, "D");
    cr_assert(NEAR(c->duplicates[0].response_overlap, 5.0 / 6), "%g", c->duplicates[0].response_overlap);
    cr_assert_eq(c->duplicates[0].label_overlap, 0.0);
    cr_assert_eq(d->n_duplicates, 1);
    cr_assert_str_eq(d->duplicates[0].id, "C");
    cr_assert_eq(f.themes[4].n_duplicates + f.themes[5].n_duplicates, 0);
    /* Thresholds are the caller's: 5/6 is under 0.9; a label threshold over 1 never matches. */
    consultation_flag_options o = consultation_flag_defaults();
    o.duplicate_response_overlap = 0.9;
    o.duplicate_label_overlap = 1.01;
    consultation_flag_themes(&f.res, &o);
    for (size_t k = 0; k < 6; k++)
        cr_assert_eq(f.themes[k].n_duplicates, 0, "theme %c", (int)('A' + k));
}

Test(consultation_flags, label_overlap_words)
{
    /* {economic, impact, concern} and {concern, about, economic, impact}: 3/4. */
    cr_assert(NEAR(consultation_label_overlap("Economic Impact Concerns", "Concerns about economic impact"), 0.75));
    cr_assert(NEAR(consultation_label_overlap("Ban Support", "Complete Ban Support"), 2.0 / 3));
    cr_assert(NEAR(consultation_label_overlap("The ban", "ban"), 1.0), "function words do not count");
    cr_assert(NEAR(consultation_label_overlap("Class sizes", "class size"), 1.0), "plural s; class keeps its ss");
    cr_assert_eq(consultation_label_overlap("", "of the"), 0.0, "no words: no match");
    cr_assert_eq(consultation_label_overlap("Jobs", "Wages"), 0.0);
}

Test(consultation_flags, result_json_keeps_every_theme_with_its_evidence)
{
    fixture f;
    fixture_init(&f);
    consultation_flag_themes(&f.res, NULL);
    char *json = consultation_result_json(&f.res);
    cJSON *j = cJSON_Parse(json);
    cr_assert(j, "%s", json);
    cJSON *themes = cJSON_GetObjectItem(j, "themes");
    cr_assert_eq(cJSON_GetArraySize(themes), 6, "%s", json);
    cJSON *c = cJSON_GetArrayItem(themes, 2), *fth = cJSON_GetArrayItem(themes, 5);
    char *evidence = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "evidence"));
    cr_assert_str_eq(evidence, "[\"r2\",\"r3\",\"r4\",\"r5\",\"r6\",\"r7\"]");
    free(evidence);
    cJSON *pos = cJSON_GetObjectItem(c, "positions");
    cr_assert_eq(cJSON_GetObjectItem(pos, "DISAGREE")->valueint, 3);
    cr_assert_eq(cJSON_GetObjectItem(pos, "NONE")->valueint, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "near_duplicates"), 0), "id")->valuestring,
                     "D");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(fth, "minority")), "%s", json);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(fth, "evidence")), 0);
    cJSON_Delete(j);
    free(json);
}

/* ---- stored, reported and shown ---------------------------------------------------- */


/* The fixture as a finished run of collection "flags", stored. */
static void store_fixture(store *s, fixture *f, response_set *rs, long long *run_id)
{
    perr err;
    *rs = (response_set){0};
    for (size_t i = 0; i < f->res.n; i++)
        cr_assert_eq(responses_add(rs, f->ann[i].response_id, "a response", 0, &err), 0, "%s", err.msg);
    consultation_flag_themes(&f->res, NULL);
    consultation_job_outcome o = {.rq = {.collection = "flags", .source = "test", .responses = rs},
                                  .res = f->res, .prompt_version = "v1", .model_name = "m",
                                  .model_sha256 = "0000", .started_at = 1e9};
    store_consultation_run run;
    char *trace = NULL;
    cr_assert_eq(consultation_job_record(&o, &run, &trace, &err), 0, "%s", err.msg);
    cr_assert_eq(store_consultation_save(s, &run, run_id, &err), 0, "%s", err.msg);
    consultation_job_record_free(&run, trace);
}

Test(consultation_flags, stored_reported_and_shown_by_themes, .timeout = 120)
{
    pg_harness *pg = pg_harness_shared();
    char *conninfo = pg_harness_new_db(pg);
    store *s;
    perr err;
    cr_assert_eq(store_connect(&s, conninfo, &err), 0, "%s", err.msg);
    cr_assert_eq(store_migrate(s, NULL, NULL, NULL, NULL, &err), 0, "%s", err.msg);
    fixture f;
    fixture_init(&f);
    response_set rs;
    long long run_id;
    store_fixture(s, &f, &rs, &run_id);

    PGconn *c = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(c), CONNECTION_OK);
    pg_assert_query(c, "SELECT string_agg(theme_id || response_count || ':' || agree_count || disagree_count ||"
                    " unclear_count || no_position_count || ':' || minority, ' ' ORDER BY theme_id) FROM themes",
                    "A4:3100:true B2:2000:true C6:1311:false D5:1211:false E1:0001:true F0:0000:true");
    pg_assert_query(c, "SELECT near_duplicates->0->>'id' FROM themes WHERE theme_id = 'C'", "D");
    pg_assert_query(c, "SELECT minority_min_responses || ' ' || duplicate_response_overlap FROM consultation_runs",
                    "5 0.8");
    PQfinish(c);

    char *json = NULL;
    cr_assert_eq(store_consultation_report(s, "flags", 0, &json, &err), 0, "%s", err.msg);
    cJSON *r = cJSON_Parse(json);
    cr_assert(r, "%s", json);
    cJSON *themes = cJSON_GetObjectItem(r, "themes");
    cr_assert_eq(cJSON_GetArraySize(themes), 6, "nothing dropped: %s", json);
    char *evidence = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetArrayItem(themes, 0), "evidence"));
    cr_assert_str_eq(evidence, "[\"r1\",\"r2\",\"r9\",\"r10\"]", "shorter ids first, then by id");
    free(evidence);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "flags"), "minority_min_responses")->valueint, 5);
    cJSON_Delete(r);
    free(json);

    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "PRECIS_POSTGRES_CONNINFO='%s' %s themes flags 2>&1", conninfo, test_precis_bin());
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "    positions: AGREE 1, DISAGREE 3, UNCLEAR 1, no position 1\n"), "%s", out);
    cr_assert(strstr(out, "F           0  "), "the empty theme is shown: %s", out);
    cr_assert(strstr(out, "    MINORITY: fewer than 5 responses or under 0.1 % of them"), "%s", out);
    cr_assert(strstr(out, "    NEAR DUPLICATE of D: label words 0.00, responses 0.83 (Jaccard)\n"), "%s", out);
    cr_assert(strstr(out, "    NEAR DUPLICATE of B: label words 1.00, responses 0.20"), "%s", out);
    cr_assert(strstr(out, "    evidence (6): r2, r3, r4, r5, r6, r7\n"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "PRECIS_POSTGRES_CONNINFO='%s' %s themes --json flags", conninfo, test_precis_bin());
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    r = cJSON_Parse(out);
    cr_assert(r, "%s", out);
    cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "themes"), 4);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e, "minority")), "%s", out);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(e, "evidence")), 1);
    cJSON_Delete(r);
    free(out);
    responses_clear(&rs);
    store_close(s);
    free(conninfo);
    pg_harness_free(pg);
}

Test(consultation_flags, migration_counts_older_runs_and_leaves_their_flags_unassessed, .timeout = 120)
{
    pg_harness *pg = pg_harness_shared();
    char *conninfo = pg_harness_new_db(pg);
    store *s;
    perr err;
    cr_assert_eq(store_connect(&s, conninfo, &err), 0, "%s", err.msg);
    migration_set all, before = {0};
    cr_assert_eq(migrations_embedded(&all, &err), 0, "%s", err.msg);
    for (size_t i = 0; i < all.n; i++)
        if (all.items[i].version < 9)
            cr_assert_eq(migrations_add(&before, all.items[i].name, all.items[i].sql, all.items[i].len, &err), 0);
    cr_assert_eq(store_migrate(s, &before, NULL, NULL, NULL, &err), 0, "%s", err.msg);
    PGconn *c = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(c), CONNECTION_OK);
    static const char older_run[] =
        "INSERT INTO consultation_runs (collection, source, prompt_version, model_name, model_sha256, max_themes,"
        " status, started_at, responses) VALUES ('old', 'f', 'v', 'm', 's', 2, 'done', now(), 3);"
        "INSERT INTO themes (run_id, theme_id, label, description, response_count) VALUES (1, 'A', 'a', 'd', 3),"
        " (1, 'B', 'b', 'd', 0);"
        "INSERT INTO response_annotations (run_id, response_id, position, unprocessable, reason) VALUES"
        " (1, 'x', 'AGREE', false, NULL), (1, 'y', 'DISAGREE', false, NULL), (1, 'z', NULL, true, 'sentiment: no');"
        "INSERT INTO response_themes VALUES (1, 'x', 'A'), (1, 'y', 'A'), (1, 'z', 'A');";
    PGresult *res = PQexec(c, older_run);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(res);
    cr_assert_eq(store_migrate(s, NULL, NULL, NULL, NULL, &err), 0, "%s", err.msg);
    pg_assert_query(c, "SELECT string_agg(theme_id || agree_count || disagree_count || unclear_count ||"
                    " no_position_count || coalesce(minority::text, '?'), ' ' ORDER BY theme_id) FROM themes",
                    "A1101? B0000?");
    PQfinish(c);
    char *json = NULL;
    cr_assert_eq(store_consultation_report(s, "old", 0, &json, &err), 0, "%s", err.msg);
    cJSON *r = cJSON_Parse(json);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(r, "flags")), "%s", json);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "themes"), 0), "minority")),
              "not assessed: %s", json);
    cJSON_Delete(r);
    free(json);
    migrations_clear(&all);
    migrations_clear(&before);
    store_close(s);
    free(conninfo);
    pg_harness_free(pg);
}

/* ---- the thresholds from `precis consult` ------------------------------------------- */

/* The themes of `precis consult --no-store` over three responses with extra options. */
static cJSON *consult_themes(const char *options)
{
    char *csv = test_write_tmp("three.csv", "id,text\n1,\"Ban the adverts, they target children.\"\n"
                                            "2,\"Sport needs the sponsorship money.\"\n"
                                            "3,\"Adverts normalise betting for kids.\"\n");
    char *model = test_model_path("synth-d256-q8_0.gguf");
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s consult -C t --no-store -f '%s' --max-themes 3 -m '%s' %s 2>/dev/null",
             test_precis_bin(), csv, model, options);
    cr_assert_eq(test_run(cmd, &out), 0, "%s: %s", cmd, out);
    cJSON *r = cJSON_Parse(out);
    cr_assert(r, "%s", out);
    cJSON *themes = cJSON_DetachItemFromObject(r, "themes");
    cr_assert(cJSON_GetArraySize(themes) >= 1, "%s", out);
    cJSON_Delete(r);
    free(out);
    free(model);
    free(csv);
    return themes;
}

Test(consultation_flags, consult_takes_the_thresholds, .timeout = 300)
{
    /* Every theme under 1000 responses; every label overlap >= 0. */
    cJSON *themes = consult_themes("--minority-below 1000 --duplicate-labels 0");
    int n = cJSON_GetArraySize(themes);
    const cJSON *t;
    cJSON_ArrayForEach(t, themes)
    {
        cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(t, "minority")));
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(t, "near_duplicates")), n - 1, "names every other theme");
    }
    cJSON_Delete(themes);
    /* Nothing is small or alike any more. */
    themes = consult_themes("--minority-below 0 --minority-share 0 --duplicate-labels 2 --duplicate-responses 2");
    cJSON_ArrayForEach(t, themes)
    {
        cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(t, "minority")));
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(t, "near_duplicates")), 0);
    }
    cJSON_Delete(themes);
    static const struct {
        const char *args, *needle;
    } bad[] = {
        {"--minority-share 1.5", "--minority-share needs 0..1, not '1.5'"},
        {"--duplicate-labels x", "--duplicate-labels needs 0..2, not 'x'"},
        {"--minority-below -1", "--minority-below needs 0..100000"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmd[512], *out = NULL;
        snprintf(cmd, sizeof cmd, "%s consult -C x --no-store -f r.csv %s 2>&1", test_precis_bin(), bad[i].args);
        cr_assert_eq(test_run(cmd, &out), 2, "%s: %s", bad[i].args, out);
        cr_assert(strstr(out, bad[i].needle), "%s: '%s' lacks '%s'", bad[i].args, out, bad[i].needle);
        free(out);
    }
}
