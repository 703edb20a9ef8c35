/* test_signoff.c — issue #22's sign-off: approved theme sets read from and
 * written to the files an analyst edits (themefinder's expected_themes.json
 * too), the approved-mode mapping schema and integrity, `precis themes
 * --export` -> edit -> `precis consult --themes` end to end, consultation
 * jobs of a collection mapped onto its approved set as they arrive, and the
 * candidate step at [consultation] candidate_threshold, which never changes
 * the set. Model runs use the random-weight synthetic model: its text is
 * meaningless, so the tests check structure (ids from the set, steps in
 * the trace, rows), never what the model said. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/sha256.h"
#include "pipeline/consultation/consultation.h"
#include "pipeline/consultation/consultation_internal.h"
#include "pipeline/consultation/consultation_job.h"
#include "pipeline/consultation/consultation_set_report.h"
#include "pipeline/consultation/theme_set.h"
#include "pipeline/job_run.h"
#include "pipeline/pipeline.h"
#include "store/store.h"
#include "store/store_consultation.h"
#include "tests/pg_harness.h"
#include "tests/pg_query.h"
#include "tests/support.h"

#define MODEL "synth-d256-q8_0.gguf"

static theme_set parse_ok(const char *text, theme_set_format format)
{
    theme_set ts;
    perr err;
    cr_assert_eq(theme_set_parse(text, strlen(text), format, &ts, &err), 0, "%s: %s", text, err.msg);
    return ts;
}

static void assert_same_set(const theme_set *a, const theme_set *b)
{
    cr_assert_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        cr_assert_str_eq(a->items[i].id, b->items[i].id);
        cr_assert_str_eq(a->items[i].label, b->items[i].label);
        cr_assert_str_eq(a->items[i].description, b->items[i].description);
        cr_assert_str_eq(a->items[i].position, b->items[i].position);
    }
}

/* ---- theme files ------------------------------------------------------------------ */

Test(consultation, theme_set_reads_themefinder_expected_themes)
{
    char *path = test_corpus_path("consultation/themefinder_gambling_XS/q1_expected_themes.json");
    theme_set ts;
    perr err;
    char sha[65];
    cr_assert_eq(theme_set_load_file(path, THEME_SET_AUTO, &ts, sha, &err), 0, "%s", err.msg);
    cr_assert_eq(ts.n, 13);
    cr_assert_str_eq(ts.items[0].id, "A");
    cr_assert_str_eq(ts.items[0].label, "Complete Ban Support");
    cr_assert(strncmp(ts.items[0].description, "Strong support for completely banning", 37) == 0, "%s",
              ts.items[0].description);
    cr_assert_str_eq(ts.items[0].position, "");
    size_t len;
    char *bytes = test_read_file(path, &len);
    char want[65];
    sha256_hex(bytes, len, want);
    cr_assert_str_eq(sha, want);
    free(bytes);
    theme_set_clear(&ts);
    free(path);
}

Test(consultation, theme_set_export_shape_and_csv_round_trip)
{
    static const char exported[] =
        "{\"collection\": \"gambling\", \"run_id\": 7, \"question\": \"Ban the adverts?\", \"themes\": ["
        "{\"id\": \"c\", \"label\": \"  Sponsorship, \\\"money\\\"  \", \"description\": \"Clubs need it,\\nsay fans\","
        " \"position\": \"disagree\"},"
        "{\"label\": \"No id given\", \"description\": \"\"},"
        "{\"id\": \"A\", \"label\": \"Children\", \"description\": \"Protect them\", \"position\": null}]}";
    theme_set ts = parse_ok(exported, THEME_SET_AUTO);
    cr_assert_eq(ts.n, 3);
    cr_assert_str_eq(ts.items[0].id, "A", "sorted by id");
    cr_assert_str_eq(ts.items[1].id, "B", "the first free letter for the theme without id");
    cr_assert_str_eq(ts.items[1].label, "No id given");
    cr_assert_str_eq(ts.items[2].id, "C", "a lower-case id is its capital");
    cr_assert_str_eq(ts.items[2].label, "Sponsorship, \"money\"", "trimmed");
    cr_assert_str_eq(ts.items[2].description, "Clubs need it, say fans", "a line break becomes a space");
    cr_assert_str_eq(ts.items[2].position, "DISAGREE");
    perr err;
    for (int f = 0; f < 2; f++) {
        theme_set_format format = f ? THEME_SET_CSV : THEME_SET_JSON;
        theme_set_origin origin = {.collection = "gambling", .run_id = 7, .question = "Ban the adverts?"};
        char *text = theme_set_write(&ts, format, &origin, &err);
        cr_assert(text, "%s", err.msg);
        if (format == THEME_SET_CSV)
            cr_assert(strncmp(text, "id,label,description,position\n", 30) == 0, "%s", text);
        theme_set back = parse_ok(text, THEME_SET_AUTO);
        assert_same_set(&ts, &back);
        theme_set_clear(&back);
        free(text);
    }
    char *compact = theme_set_json(&ts);
    theme_set back = parse_ok(compact, THEME_SET_JSON);
    assert_same_set(&ts, &back);
    theme_set_clear(&back);
    free(compact);
    theme_set_clear(&ts);
    /* CSV in themefinder's column names, in another order, with a BOM. */
    ts = parse_ok("\xEF\xBB\xBFtopic_label,topic_id,topic_description,topic\nFreedom,b,Choice,\"Freedom: Choice\"\n",
                  THEME_SET_CSV);
    cr_assert_eq(ts.n, 1);
    cr_assert_str_eq(ts.items[0].id, "B");
    cr_assert_str_eq(ts.items[0].label, "Freedom");
    theme_set_clear(&ts);
}

Test(consultation, theme_set_bad_files_name_the_problem)
{
    char many[4096] = "[";
    for (int i = 0; i < 27; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s{\"label\": \"t%d\"}", i ? "," : "", i);
    strcat(many, "]");
    static const struct {
        const char *text;
        theme_set_format format;
        const char *needle;
    } cases[] = {
        {"[{\"id\": \"A\", \"label\": \"x\"}, {\"id\": \"a\", \"label\": \"y\"}]", THEME_SET_JSON,
         "id \"A\" is used twice (theme 1 and theme 2)"},
        {"[{\"id\": \"AA\", \"label\": \"x\"}]", THEME_SET_JSON, "theme 1: id \"AA\" is not a single letter A..Z"},
        {"[{\"id\": \"B\", \"label\": \"x\"}, {\"id\": \"1\", \"label\": \"y\"}]", THEME_SET_JSON,
         "theme 2: id \"1\" is not a single letter A..Z"},
        {"[{\"id\": \"A\", \"label\": \"   \"}]", THEME_SET_JSON, "theme 1: the label is empty"},
        {"[{\"id\": \"A\", \"description\": \"no label\"}]", THEME_SET_JSON, "theme 1: the label is empty"},
        {"[{\"id\": \"A\", \"label\": \"x\", \"descripton\": \"typo\"}]", THEME_SET_JSON,
         "theme 1: unknown key \"descripton\""},
        {"[{\"id\": \"A\", \"topic_id\": \"B\", \"label\": \"x\"}]", THEME_SET_JSON, "gives a field already given"},
        {"[{\"id\": 1, \"label\": \"x\"}]", THEME_SET_JSON, "theme 1: \"id\" must be a string"},
        {"[{\"label\": \"x\", \"position\": \"maybe\"}]", THEME_SET_JSON,
         "theme 1: position \"maybe\" is not AGREE, DISAGREE or UNCLEAR"},
        {"{\"themes\": [], \"owner\": \"me\"}", THEME_SET_JSON, "unknown key \"owner\""},
        {"[]", THEME_SET_JSON, "no themes"},
        {"[{\"label\": \"x\"", THEME_SET_JSON, "not valid JSON"},
        {"id,label,note\nA,x,y\n", THEME_SET_CSV, "line 1: unknown column \"note\""},
        {"id,description\nA,y\n", THEME_SET_CSV, "no \"label\" column"},
        {"id,label\nA,x\nB\n", THEME_SET_CSV, "line 3: 1 fields where the header has 2"},
        {"id,label\nA,x\na,y\n", THEME_SET_CSV, "id \"A\" is used twice (line 2 and line 3)"},
        {"id,label\nZZ,x\n", THEME_SET_CSV, "line 2: id \"ZZ\" is not a single letter"},
        {"id,label\nA,\"\"\n", THEME_SET_CSV, "line 2: the label is empty"},
        {"label\n\xff\n", THEME_SET_CSV, "not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        theme_set ts;
        perr err;
        cr_assert_eq(theme_set_parse(cases[i].text, strlen(cases[i].text), cases[i].format, &ts, &err), -1,
                     "%s: accepted", cases[i].text);
        cr_assert(strstr(err.msg, cases[i].needle), "%s: '%s' lacks '%s'", cases[i].text, err.msg, cases[i].needle);
        cr_assert_eq(ts.n, 0);
    }
    theme_set ts;
    perr err;
    cr_assert_eq(theme_set_parse(many, strlen(many), THEME_SET_JSON, &ts, &err), -1);
    cr_assert(strstr(err.msg, "more than 26 themes"), "%s", err.msg);
    cr_assert_eq(theme_set_load_file("/nonexistent/themes.json", THEME_SET_AUTO, &ts, NULL, &err), -1);
    cr_assert(strstr(err.msg, "cannot open /nonexistent/themes.json"), "%s", err.msg);
    char *bad = test_write_tmp("bad-themes.csv", "id,label\nA,\n");
    cr_assert_eq(theme_set_load_file(bad, THEME_SET_AUTO, &ts, NULL, &err), -1);
    cr_assert(strstr(err.msg, "bad-themes.csv: line 2: the label is empty"), "%s", err.msg);
    free(bad);
}

/* ---- approved mode without a model ------------------------------------------------------ */

Test(consultation, mapping_may_answer_none_only_with_an_approved_set)
{
    consultation_theme themes[2] = {{.id = "A", .label = "a", .description = ""},
                                    {.id = "C", .label = "c", .description = ""}};
    consultation_result res = {.themes = themes, .n_themes = 2, .approved = 1};
    for (int approved = 1; approved >= 0; approved--) {
        res.approved = approved;
        cJSON *s = consult_mapping_item_schema(&res);
        char *text = cJSON_PrintUnformatted(s);
        json_schema *js = test_compile_schema(text, 0);
        perr err;
        cr_assert_eq(json_schema_validate_text(js, "[\"A\",\"C\"]", 9, &err), 0, "%s: %s", text, err.msg);
        cr_assert_neq(json_schema_validate_text(js, "[\"B\"]", 5, &err), 0, "B is not in the set: %s", text);
        cr_assert_neq(json_schema_validate_text(js, "[]", 2, &err), 0, "%s", text);
        int none = json_schema_validate_text(js, "\"none\"", 6, &err);
        if (approved)
            cr_assert_eq(none, 0, "approved mode must allow \"none\": %s", text);
        else
            cr_assert_neq(none, 0, "a full run always maps: %s", text);
        json_schema_free(js);
        free(text);
        cJSON_Delete(s);
    }
}

Test(consultation, integrity_takes_unassigned_only_with_an_approved_set)
{
    consultation_theme themes[1] = {{.id = "D", .label = "d", .description = ""}};
    consultation_annotation a[2] = {{.response_id = "r1", .position = "AGREE", .themes = "D"},
                                    {.response_id = "r2", .position = "UNCLEAR", .unassigned = 1}};
    consultation_result res = {.annotations = a, .n = 2, .themes = themes, .n_themes = 1, .approved = 1};
    perr err;
    cr_assert_eq(consultation_integrity(&res, &err), 0, "%s", err.msg);
    res.approved = 0;
    cr_assert_eq(consultation_integrity(&res, &err), -1);
    cr_assert(strstr(err.msg, "unassigned but there is no approved theme set"), "%s", err.msg);
    res.approved = 1;
    a[1].unassigned = 0;
    cr_assert_eq(consultation_integrity(&res, &err), -1);
    cr_assert(strstr(err.msg, "r2 has no theme"), "%s", err.msg);
    a[1].unassigned = 1;
    a[0].themes[0] = 'A';
    cr_assert_eq(consultation_integrity(&res, &err), -1, "A is not a theme of the set (ids need not start at A)");
    cr_assert(strstr(err.msg, "unknown theme A"), "%s", err.msg);
}

/* ---- with the model and PostgreSQL ------------------------------------------------------ */

static pipeline *new_pipeline(int candidate_threshold)
{
    char *model = test_model_path(MODEL);
    pipeline_options po = {.model = {.model_path = model, .n_threads = 1}, .prompts_dir = "prompts",
                           .candidate_threshold = candidate_threshold};
    pipeline *p;
    perr err;
    cr_assert_eq(pipeline_new(&p, &po, &err), 0, "%s", err.msg);
    free(model);
    return p;
}

/* The job runner around the pipeline (what serve and run do): done, or 0 asserted. */
static int run_job(pipeline *p, store *s, const job *j, pipeline_report *rep, perr *err)
{
    job_analyzer a = job_analyzer_for_pipeline(p);
    return job_run_execute(&a, s, j, NULL, rep, err);
}

static void run_job_done(pipeline *p, store *s, job *j)
{
    perr err;
    cr_assert_eq(job_run_start(s, j, NULL, NULL, &err), 0, "%s", err.msg);
    pipeline_report rep;
    int rc = run_job(p, s, j, &rep, &err);
    cr_assert_eq(rc, 0, "job %s: %s (%s)", j->job_id, err.msg, rep.error_class);
    pipeline_report_clear(&rep);
}

static long q(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long q(PGconn *c, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return pg_query_long(c, sql);
}

/* A run's trace records of the theme-finding steps (none in approved mode). */
#define FINDING_STEPS "SELECT count(*) FROM consultation_runs r, jsonb_array_elements(r.trace) e" \
                      " WHERE r.id = %ld AND e->>'step' IN ('themes', 'condense', 'refine')"

/* Every response of run is unprocessable, mapped to the run's themes, or unassigned. */
static void assert_mapped_or_unassigned(PGconn *c, long run)
{
    cr_assert_eq(q(c, "SELECT count(*) FROM response_annotations a WHERE a.run_id = %ld AND NOT a.unprocessable"
                      " AND NOT EXISTS (SELECT 1 FROM response_themes t WHERE t.run_id = a.run_id"
                      "   AND t.response_id = a.response_id)"
                      " AND NOT EXISTS (SELECT 1 FROM unassigned_responses u WHERE u.run_id = a.run_id"
                      "   AND u.response_id = a.response_id)", run), 0);
    cr_assert_eq(q(c, "SELECT count(*) FROM unassigned_responses u JOIN response_themes t USING (run_id, response_id)"
                      " WHERE u.run_id = %ld", run), 0, "an unassigned response has no theme");
    cr_assert_eq(q(c, "SELECT unassigned - (SELECT count(*) FROM unassigned_responses WHERE run_id = %ld)"
                      " FROM consultation_runs WHERE id = %ld", run, run), 0);
}

static char *write_conf(const char *conninfo)
{
    char *model = test_model_path(MODEL), *text = NULL;
    cr_assert(asprintf(&text, "[postgres]\nconninfo = %s\n[engine]\nmodel = %s\nctx_size = 2048\nthreads = 1\n"
                              "[pipeline]\nprompts_dir = prompts\n[consultation]\ncandidate_threshold = 0\n",
                       conninfo, model) > 0);
    char *path = test_write_tmp("signoff.conf", text);
    free(text);
    free(model);
    return path;
}

static int precis(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int precis(char **out, const char *fmt, ...)
{
    char args[2048], *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    cr_assert(asprintf(&cmd, "%s %s", test_precis_bin(), args) > 0);
    int status = test_run(cmd, out);
    free(cmd);
    return status;
}

static const char responses_jsonl[] =
    "{\"id\": \"r1\", \"response\": \"Ban the adverts, they target children watching football.\"}\n"
    "{\"id\": \"r2\", \"response\": \"Clubs need the sponsorship money; a ban would hurt grassroots sport.\"}\n"
    "{\"id\": \"r3\", \"response\": \"Adults can decide for themselves what to watch and bet on.\"}\n"
    "{\"id\": \"r4\", \"response\": \"My brother lost his savings to betting apps he saw advertised.\"}\n";

Test(consultation, export_edit_then_consult_with_the_approved_themes, .timeout = 900)
{
    test_db d = test_db_open();
    char *conf = write_conf(d.conninfo), *responses = test_write_tmp("responses.jsonl", responses_jsonl);
    char *out = NULL, json_path[512], csv_path[512], edited_path[512];
    snprintf(json_path, sizeof json_path, "%s/themes.json", test_tmpdir());
    snprintf(csv_path, sizeof csv_path, "%s/themes.csv", test_tmpdir());
    snprintf(edited_path, sizeof edited_path, "%s/approved.json", test_tmpdir());
    /* A full run finds themes; the analyst exports them. */
    cr_assert_eq(precis(&out, "consult -c %s -C gam --file %s --max-themes 3 -q 'Ban the adverts?' 2>&1 >/dev/null",
                        conf, responses), 0, "%s", out);
    free(out);
    long full = q(d.raw, "SELECT max(id) FROM consultation_runs");
    cr_assert_eq(precis(&out, "themes -c %s gam --export %s 2>&1", conf, json_path), 0, "%s", out);
    cr_assert(strstr(out, "themes of run"), "%s", out);
    free(out);
    cr_assert_eq(precis(&out, "themes -c %s gam --export %s 2>&1", conf, csv_path), 0, "%s", out);
    free(out);
    theme_set exported, as_csv;
    perr err;
    cr_assert_eq(theme_set_load_file(json_path, THEME_SET_AUTO, &exported, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(theme_set_load_file(csv_path, THEME_SET_AUTO, &as_csv, NULL, &err), 0, "%s", err.msg);
    assert_same_set(&exported, &as_csv);
    cr_assert_eq((long)exported.n, q(d.raw, "SELECT count(*) FROM themes WHERE run_id = %ld", full));
    char *text = test_read_file(json_path, NULL);
    cr_assert(strstr(text, "\"collection\":\t\"gam\"") && strstr(text, "\"question\":\t\"Ban the adverts?\""), "%s",
              text);
    free(text);
    /* The analyst renames A, drops the last theme (merged), adds one without an id. */
    cJSON *edit = cJSON_CreateArray();
    for (size_t i = 0; i + (exported.n > 1) < exported.n; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "id", exported.items[i].id);
        cJSON_AddStringToObject(t, "label", i == 0 ? "Protect children (analyst)" : exported.items[i].label);
        cJSON_AddStringToObject(t, "description", exported.items[i].description);
        cJSON_AddItemToArray(edit, t);
    }
    cJSON *added = cJSON_CreateObject();
    cJSON_AddStringToObject(added, "label", "Added by the analyst");
    cJSON_AddStringToObject(added, "description", "Betting apps and their advertising");
    cJSON_AddStringToObject(added, "position", "agree");
    cJSON_AddItemToArray(edit, added);
    char *edited_text = cJSON_Print(edit);
    FILE *f = fopen(edited_path, "w");
    cr_assert(f);
    fputs(edited_text, f);
    fclose(f);
    theme_set edited = parse_ok(edited_text, THEME_SET_JSON);
    char sha[65], *edited_json = theme_set_json(&edited);
    sha256_hex(edited_text, strlen(edited_text), sha);
    /* consult --themes: mapped onto the approved set, stored with it. */
    cr_assert_eq(precis(&out, "consult -c %s -C gam %s --themes %s 2>/dev/null", conf, responses, edited_path), 0, "%s",
                 out);
    cJSON *report = cJSON_Parse(out);
    cr_assert(report, "%s", out);
    cr_assert(cJSON_IsObject(cJSON_GetObjectItem(report, "approved_set")), "%s", out);
    cJSON_Delete(report);
    free(out);
    long run = q(d.raw, "SELECT max(id) FROM consultation_runs");
    cr_assert_gt(run, full);
    long set = q(d.raw, "SELECT approved_set_id FROM consultation_runs WHERE id = %ld", run);
    cr_assert_gt(set, 0);
    char *path_lit = PQescapeLiteral(d.raw, edited_path, strlen(edited_path));
    char *json_lit = PQescapeLiteral(d.raw, edited_json, strlen(edited_json)), *sql = NULL;
    cr_assert(asprintf(&sql, "SELECT (source = %s AND source_sha256 = '%s' AND themes = %s::jsonb"
                             " AND collection = 'gam')::text FROM approved_theme_sets WHERE id = %ld",
                       path_lit, sha, json_lit, set) > 0);
    pg_assert_query(d.raw, sql, "true");
    free(sql);
    cr_assert(asprintf(&sql, "SELECT (jsonb_agg(jsonb_build_object('id', theme_id, 'label', label, 'description',"
                             " description, 'position', coalesce(position, '')) ORDER BY theme_id) = %s::jsonb)::text"
                             " FROM themes WHERE run_id = %ld", json_lit, run) > 0);
    pg_assert_query(d.raw, sql, "true");
    free(sql);
    PQfreemem(path_lit);
    PQfreemem(json_lit);
    cr_assert_eq(q(d.raw, FINDING_STEPS, run), 0, "no generate, condense or refine call");
    cr_assert_gt(q(d.raw, FINDING_STEPS, full), 0, "the full run had them");
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM consultation_runs r, jsonb_array_elements(r.trace) e"
                          " WHERE r.id = %ld AND e->>'step' = 'approved'", run), 1);
    cr_assert_gt(q(d.raw, "SELECT count(*) FROM consultation_runs r, jsonb_array_elements(r.trace) e"
                          " WHERE r.id = %ld AND e->>'step' = 'mapping'", run), 0);
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM response_annotations WHERE run_id = %ld", run), 4);
    assert_mapped_or_unassigned(d.raw, run);
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM theme_candidates"), 0, "candidate_threshold = 0: never");
    cr_assert_eq(precis(&out, "themes -c %s gam", conf), 0, "%s", out);
    cr_assert(strstr(out, "Approved theme set") && strstr(out, "Protect children (analyst)"), "%s", out);
    free(out);
    /* themefinder's expected_themes.json is an approved set too. */
    char *tf = test_corpus_path("consultation/themefinder_gambling_XS/q1_expected_themes.json");
    cr_assert_eq(precis(&out, "consult -c %s -C tf --no-store %s --themes %s 2>/dev/null", conf, responses, tf), 0,
                 "%s", out);
    report = cJSON_Parse(out);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(report, "approved_themes")), "%s", out);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(report, "themes")), 13, "%s", out);
    cJSON_Delete(report);
    free(out);
    /* A bad file is refused before any model call; --max-themes does not go with --themes. */
    char *bad = test_write_tmp("bad.csv", "id,label\nA,x\nA,y\n");
    cr_assert_eq(precis(&out, "consult -c %s -C gam %s --themes %s 2>&1", conf, responses, bad), 1, "%s", out);
    cr_assert(strstr(out, "bad.csv: id \"A\" is used twice (line 2 and line 3)"), "%s", out);
    free(out);
    cr_assert_eq(precis(&out, "consult -C gam %s --themes %s --max-themes 3 2>&1", responses, bad), 2, "%s", out);
    free(out);
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM consultation_runs"), 2);
    free(bad);
    free(tf);
    free(edited_json);
    free(edited_text);
    cJSON_Delete(edit);
    theme_set_clear(&edited);
    theme_set_clear(&exported);
    theme_set_clear(&as_csv);
    free(conf);
    free(responses);
    test_db_close(&d);
}

/* ---- incremental: jobs of a collection with an approved set ------------------------------ */

static const char approved_json[] =
    "[{\"id\": \"A\", \"label\": \"Protect children\", \"description\": \"Adverts reach children\"},"
    " {\"id\": \"C\", \"label\": \"Sport funding\", \"description\": \"Clubs need sponsorship\", \"position\": \"DISAGREE\"},"
    " {\"id\": \"D\", \"label\": \"Gambling harm\", \"description\": \"Addiction and debts\", \"position\": \"AGREE\"}]";

/* A run that approved the set above for collection, with n_unassigned
 * responses no theme fitted (stored without a model); the set's id. */
static long seed_approved_run(test_db *d, const char *collection, size_t n_unassigned)
{
    theme_set ts = parse_ok(approved_json, THEME_SET_JSON);
    char *json = theme_set_json(&ts), sha[65];
    sha256_hex(approved_json, strlen(approved_json), sha);
    store_consultation_theme themes[3];
    for (size_t i = 0; i < ts.n; i++)
        themes[i] = (store_consultation_theme){.id = ts.items[i].id, .label = ts.items[i].label,
                                               .description = ts.items[i].description,
                                               .position = ts.items[i].position};
    static const char *const texts[] = {"The lottery funds good causes.", "Ban loot boxes in video games too.",
                                        "Horse racing is a tradition.", "Tax the betting firms instead."};
    store_consultation_response rows[4];
    char ids[4][24];
    for (size_t i = 0; i < n_unassigned; i++) {
        snprintf(ids[i], sizeof ids[i], "s%zu", i + 1);
        rows[i] = (store_consultation_response){.response_id = ids[i], .text = texts[i], .position = "UNCLEAR",
                                                .evidence_rich = "NO", .themes = "", .unassigned = 1};
    }
    store_approved_set set = {.source = "approved.json", .source_sha256 = sha, .question = "Ban the adverts?",
                              .themes_json = json};
    store_consultation_run run = {.collection = collection, .source = "seed.csv", .question = "Ban the adverts?",
                                  .prompt_version = "v", .model_name = "m", .model_sha256 = "s", .max_themes = 3,
                                  .started_at = 1.7e9, .responses = rows, .n_responses = n_unassigned,
                                  .themes = themes, .n_themes = ts.n, .approved = &set, .n_unassigned = n_unassigned};
    perr err;
    long long run_id = 0;
    cr_assert_eq(store_consultation_save(d->st, &run, &run_id, &err), 0, "%s", err.msg);
    free(json);
    theme_set_clear(&ts);
    return q(d->raw, "SELECT approved_set_id FROM consultation_runs WHERE id = %lld", run_id);
}

static long job_run_of(PGconn *c, const char *job_id)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT id FROM consultation_runs WHERE job_id = '%s'", job_id);
    return pg_query_long(c, sql);
}

/* The job's run used set and has exactly the set's themes. */
static void assert_run_on_set(PGconn *c, long run, long set)
{
    cr_assert_eq(q(c, "SELECT approved_set_id FROM consultation_runs WHERE id = %ld", run), set);
    cr_assert_eq(q(c, "SELECT count(*) FROM themes t JOIN approved_theme_sets s ON s.id = %ld"
                      " JOIN jsonb_array_elements(s.themes) e ON e->>'id' = t.theme_id AND e->>'label' = t.label"
                      " WHERE t.run_id = %ld", set, run), 3);
    cr_assert_eq(q(c, "SELECT count(*) FROM themes WHERE run_id = %ld", run), 3);
    cr_assert_eq(q(c, FINDING_STEPS, run), 0, "no generate, condense or refine call");
    assert_mapped_or_unassigned(c, run);
}

/* The collection's view across the set's runs (consultation_set_report):
 * n responses, each once; every theme counted from each response's newest
 * annotation, by theme id (the set's ids are A, C, D). */
static void assert_set_view(test_db *d, const char *collection, long set, long n)
{
    char *json = NULL;
    perr err;
    cr_assert_eq(consultation_set_report(d->st, collection, &json, &err), 0, "%s", err.msg);
    cr_assert(json, "a collection with an approved set has a set view");
    cJSON *v = cJSON_Parse(json);
    cr_assert(v, "%s", json);
    cr_assert_str_eq(cJSON_GetObjectItem(v, "view")->valuestring, "approved_set");
    cr_assert_eq(cJSON_GetObjectItem(v, "responses")->valueint, n, "%s", json);
    cr_assert_eq(cJSON_GetObjectItem(v, "runs")->valueint,
                 q(d->raw, "SELECT count(*) FROM consultation_runs WHERE approved_set_id = %ld AND status = 'done'", set));
    static const char latest[] =
        "SELECT count(*) FROM (SELECT DISTINCT ON (a.response_id) a.run_id, a.response_id FROM response_annotations a"
        " JOIN consultation_runs r ON r.id = a.run_id WHERE r.collection = '%s' AND r.approved_set_id = %ld"
        " ORDER BY a.response_id, a.run_id DESC) l JOIN response_themes rt ON rt.run_id = l.run_id"
        " AND rt.response_id = l.response_id WHERE rt.theme_id = '%s'";
    const cJSON *t;
    int themes = 0;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(v, "themes"))
    {
        const char *id = cJSON_GetObjectItem(t, "id")->valuestring;
        long want = q(d->raw, latest, collection, set, id);
        cr_assert_eq(cJSON_GetObjectItem(t, "responses")->valueint, want, "theme %s: %s", id, json);
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(t, "evidence")), want, "theme %s evidence", id);
        const cJSON *pos = cJSON_GetObjectItem(t, "positions");
        long sum = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, pos)
        {
            sum += c->valueint;
        }
        cr_assert_eq(sum, want, "theme %s: its positions add up", id);
        themes++;
    }
    cr_assert_eq(themes, 3, "the set's themes: A, C, D");
    cJSON_Delete(v);
    free(json);
}

Test(consultation, jobs_map_new_responses_onto_the_approved_set, .timeout = 900)
{
    test_db d = test_db_open();
    long set = seed_approved_run(&d, "gam", 0);
    pipeline *p = new_pipeline(0);
    char *names[] = {"consultation"};
    /* One response as a {"text"} job: its id from the metadata, the question the set's. */
    job j1 = {.job_id = "resp-1", .collection = "gam", .doc_kind = JOB_DOC_TEXT,
              .text = "I want the adverts gone before my kids copy the betting.", .analyses = names,
              .n_analyses = 1, .metadata_json = "{\"response_id\": \"R-100\"}"};
    run_job_done(p, d.st, &j1);
    pg_assert_query(d.raw, "SELECT status FROM jobs WHERE job_id = 'resp-1'", "done");
    long run = job_run_of(d.raw, "resp-1");
    assert_run_on_set(d.raw, run, set);
    pg_assert_query(d.raw, "SELECT string_agg(response_id, ',') FROM response_annotations a JOIN consultation_runs r"
                           " ON r.id = a.run_id WHERE r.job_id = 'resp-1'", "R-100");
    pg_assert_query(d.raw, "SELECT question || ' ' || responses || ' ' || max_themes FROM consultation_runs"
                           " WHERE job_id = 'resp-1'", "Ban the adverts? 1 3");
    /* A response file job of the same collection is mapped the same way. */
    static const char csv[] = "id,text\nf1,Sponsorship keeps my local club alive.\nf2,Stop the ads.\n";
    job j2 = {.job_id = "resp-file", .collection = "gam", .doc_kind = JOB_DOC_CONTENT, .content = (unsigned char *)csv,
              .content_len = strlen(csv), .filename = "more.csv", .analyses = names, .n_analyses = 1,
              .metadata_json = "{}"};
    run_job_done(p, d.st, &j2);
    assert_run_on_set(d.raw, job_run_of(d.raw, "resp-file"), set);
    /* A job that fails is a failed job row with the reason, and runs when resubmitted. */
    job bad = j1;
    bad.job_id = "resp-2";
    bad.metadata_json = "{\"response_id\": 7}";
    perr err;
    cr_assert_eq(job_run_start(d.st, &bad, NULL, NULL, &err), 0, "%s", err.msg);
    pipeline_report rep;
    cr_assert_eq(run_job(p, d.st, &bad, &rep, &err), PIPELINE_PERMANENT);
    cr_assert_str_eq(rep.error_class, "invalid_job");
    cr_assert_eq(job_run_fail(d.st, bad.job_id, NULL, rep.error_class, err.msg, 0, &err), 0, "%s", err.msg);
    pipeline_report_clear(&rep);
    pg_assert_query(d.raw, "SELECT status || ' ' || error_class || ' ' || (error LIKE '%response_id%')::text"
                           " FROM jobs WHERE job_id = 'resp-2'", "failed invalid_job true");
    bad.metadata_json = "{\"response_id\": \"R-7\"}";
    run_job_done(p, d.st, &bad);
    pg_assert_query(d.raw, "SELECT status || ' ' || attempts FROM jobs WHERE job_id = 'resp-2'", "done 2");
    assert_run_on_set(d.raw, job_run_of(d.raw, "resp-2"), set);
    /* The same response sent again: counted once, as last mapped. */
    job again = j1;
    again.job_id = "resp-1-again";
    again.text = "On reflection the sponsorship money matters more to my club.";
    run_job_done(p, d.st, &again);
    assert_set_view(&d, "gam", set, 4);
    /* A collection without an approved set still finds its own themes. */
    job other = j1;
    other.job_id = "other-1";
    other.collection = "other";
    run_job_done(p, d.st, &other);
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM consultation_runs WHERE job_id = 'other-1'"
                          " AND approved_set_id IS NULL"), 1);
    cr_assert_gt(q(d.raw, FINDING_STEPS, job_run_of(d.raw, "other-1")), 0);
    pipeline_free(p);
    test_db_close(&d);
}

Test(consultation, candidates_at_the_threshold_never_change_the_approved_set, .timeout = 900)
{
    test_db d = test_db_open();
    long set = seed_approved_run(&d, "gam", 3);
    char *set_before = pg_query_text(d.raw, "SELECT themes::text FROM approved_theme_sets");
    char *names[] = {"consultation"};
    job j = {.job_id = "below", .collection = "gam", .doc_kind = JOB_DOC_TEXT,
             .text = "Betting sponsors on shirts send the wrong message.", .analyses = names, .n_analyses = 1,
             .metadata_json = "{}"};
    /* Below the threshold: 3 pending (+ this job's, if unassigned) < 10. */
    pipeline *p = new_pipeline(10);
    run_job_done(p, d.st, &j);
    pipeline_free(p);
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM theme_candidates"), 0);
    cr_assert_geq(q(d.raw, "SELECT count(*) FROM unassigned_responses WHERE proposal_run_id IS NULL"), 3);
    /* At the threshold (3): candidates from every pending response, for review. */
    p = new_pipeline(3);
    j.job_id = "at";
    run_job_done(p, d.st, &j);
    long run = job_run_of(d.raw, "at");
    assert_run_on_set(d.raw, run, set);
    long n = q(d.raw, "SELECT count(*) FROM theme_candidates WHERE run_id = %ld AND approved_set_id = %ld"
                      " AND for_review", run, set);
    cr_assert_gt(n, 0, "the candidate step proposed themes");
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM theme_candidates"), n);
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM unassigned_responses WHERE proposal_run_id IS NULL"), 0,
                 "every pending response was used");
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM unassigned_responses WHERE proposal_run_id = %ld"
                          " AND response_id IN ('s1', 's2', 's3')", run), 3);
    cr_assert_eq(q(d.raw, "SELECT min(responses) FROM theme_candidates"),
                 q(d.raw, "SELECT count(*) FROM unassigned_responses WHERE proposal_run_id = %ld", run));
    cr_assert_gt(q(d.raw, "SELECT count(*) FROM consultation_runs r, jsonb_array_elements(r.trace) e"
                          " WHERE r.id = %ld AND e->>'step' = 'propose' AND e->>'outcome' = 'candidates'", run), 0);
    /* The set is what the analyst approved, and the next job maps onto it alone. */
    char *set_after = pg_query_text(d.raw, "SELECT themes::text FROM approved_theme_sets");
    cr_assert_str_eq(set_after, set_before);
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM approved_theme_sets"), 1);
    j.job_id = "after";
    run_job_done(p, d.st, &j);
    assert_run_on_set(d.raw, job_run_of(d.raw, "after"), set);
    cr_assert_eq(q(d.raw, "SELECT count(*) FROM theme_candidates"), n, "nothing pending: no new candidates");
    pipeline_free(p);
    /* precis themes shows them for review. */
    char *conf = write_conf(d.conninfo), *out = NULL;
    cr_assert_eq(precis(&out, "themes -c %s --run %ld", conf, run), 0, "%s", out);
    cr_assert(strstr(out, "Candidate new themes for review"), "%s", out);
    cr_assert(strstr(out, "Approved theme set"), "%s", out);
    free(out);
    free(conf);
    free(set_before);
    free(set_after);
    test_db_close(&d);
}
