/* test_twin.c — the counterfactual twin (pipeline/analyses/twin.h): every
 * attribute class and party names swapped with their case, word
 * boundaries, the exact round trip, spans of the twin mapped back to the
 * original, determinism, and bad rules refused. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/analyses/twin.h"
#include "tests/support.h"

/* The shipped attribute list plus the given parties (name, replacement). */
static void load_rules(twin_rules *r, const char *const parties[][2], size_t n_parties)
{
    perr err = {{0}};
    memset(r, 0, sizeof *r);
    char *json = test_read_file("prompts/twin_attributes.json", NULL);
    cr_assert_eq(twin_rules_add_attributes(r, json, &err), 0, "%s", err.msg);
    free(json);
    for (size_t i = 0; i < n_parties; i++)
        cr_assert_eq(twin_rules_add_party(r, parties[i][0], parties[i][1], &err), 0, "%s", err.msg);
}

static char *twin_of(const char *text, const char *const parties[][2], size_t n_parties)
{
    twin_rules r;
    load_rules(&r, parties, n_parties);
    twin t;
    perr err = {{0}};
    cr_assert_eq(twin_build(text, &r, &t, &err), 0, "%s", err.msg);
    char *out = strdup(t.text);
    twin_clear(&t);
    twin_rules_clear(&r);
    return out;
}

static const char *const smith_jones[][2] = {{"John Smith", "Party A"}, {"Smith", "Party A"}};

Test(twin, every_attribute_class_and_party_names_are_swapped_with_their_case)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"He said his wife saw him.", "She said her husband saw her."},
        {"SHE told HER brother", "HE told HIS sister"},
        {"Mrs Patel, a British woman", "Mr Patel, a Nigerian man"},
        {"Mr. Smith is a white man", "Ms. Party A is a black woman"},
        {"John Smith, a Christian", "Party A, a Muslim"},
        {"the Scottish father of two sons", "the Pakistani mother of two daughters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = twin_of(cases[i].in, smith_jones, 2);
        cr_assert_str_eq(got, cases[i].want, "case %zu: %s", i, cases[i].in);
        free(got);
    }
}

Test(twin, only_whole_words_change)
{
    char *got = twin_of("The manager from Sheffield thereby hemmed the mens rea; Smithson herself", smith_jones, 2);
    cr_assert_str_eq(got, "The manager from Sheffield thereby hemmed the mens rea; Smithson himself");
    free(got);
    /* a word character is any letter or mark: "Müllerin" is not "Müller" */
    static const char *const zoe[][2] = {{"Zoë Müller", "Party B"}, {"Müller", "Party B"}};
    got = twin_of("Zoë Müller met Frau Müllerin; MÜLLER agreed.", zoe, 2);
    cr_assert_str_eq(got, "Party B met Frau Müllerin; PARTY B agreed.");
    free(got);
}

Test(twin, round_trip_counts_and_determinism_on_a_judgment_paragraph)
{
    const char *text =
        "17. The claimant, Mrs Amina Okafor, a Nigerian national, gave evidence that her husband\n"
        "had told her the defendant, Mr John Smith, said he would \"see to it\" that she lost her job.\n"
        "Mr Smith, a white British man, denied this; his brother and the claimant's daughter did not\n"
        "give evidence. I found HER account consistent — Smith's was not.\n";
    static const char *const parties[][2] = {{"Amina Okafor", "Party A"}, {"Okafor", "Party A"},
                                             {"John Smith", "Party B"}, {"Smith", "Party B"}};
    twin_rules r;
    load_rules(&r, parties, 4);
    twin a, b;
    perr err = {{0}};
    cr_assert_eq(twin_build(text, &r, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(twin_build(text, &r, &b, &err), 0, "%s", err.msg);
    cr_assert_str_eq(a.text, b.text, "deterministic");
    cr_assert_str_neq(a.text, text);
    char *back = twin_restore(&a);
    cr_assert_str_eq(back, text, "the round trip rebuilds the original byte for byte");
    free(back);
    cr_assert_eq(twin_count(&a, "party"), 4, "Amina Okafor, John Smith, Smith, Smith('s)");
    cr_assert(twin_count(&a, "gender") >= 8, "%zu", twin_count(&a, "gender"));
    cr_assert_eq(twin_count(&a, "title"), 3);
    cr_assert_eq(twin_count(&a, "nationality"), 2, "Nigerian, British");
    cr_assert_eq(twin_count(&a, "ethnicity"), 1);
    /* every edit: the original term and the twin's replacement at their spans */
    for (size_t i = 0; i < a.n_edits; i++) {
        const twin_edit *e = &a.edits[i];
        cr_assert(e->orig_end > e->orig_start && e->twin_end > e->twin_start);
        cr_assert(i == 0 || e->orig_start >= a.edits[i - 1].orig_end, "edits in order, disjoint");
        size_t os, oe;
        twin_span_to_original(&a, e->twin_start, e->twin_end, &os, &oe);
        cr_assert(os == e->orig_start && oe == e->orig_end, "edit %zu maps to itself", i);
    }
    twin_clear(&a);
    twin_clear(&b);
    twin_rules_clear(&r);
}

Test(twin, a_quote_in_the_twin_maps_back_to_the_original_text)
{
    const char *text = "At 9 am Mr Smith said his wife had left; the officer believed him.";
    twin_rules r;
    load_rules(&r, smith_jones, 2);
    twin t;
    perr err = {{0}};
    cr_assert_eq(twin_build(text, &r, &t, &err), 0, "%s", err.msg);
    cr_assert_str_eq(t.text, "At 9 am Ms Party A said her husband had left; the officer believed her.");
    static const struct {
        const char *twin_quote, *original;
    } quotes[] = {
        {"Ms Party A said her husband had left", "Mr Smith said his wife had left"},
        {"said her", "said his"},
        {"the officer believed her.", "the officer believed him."},
        {"At 9 am", "At 9 am"},
        {"arty A sa", "Smith sa"}, /* a boundary inside an edit widens to the edit */
    };
    for (size_t i = 0; i < sizeof quotes / sizeof quotes[0]; i++) {
        const char *at = strstr(t.text, quotes[i].twin_quote);
        cr_assert(at, "%s", quotes[i].twin_quote);
        size_t start = (size_t)(at - t.text), end = start + strlen(quotes[i].twin_quote), os, oe;
        twin_span_to_original(&t, start, end, &os, &oe);
        cr_assert(oe <= strlen(text) && os <= oe);
        cr_assert(strncmp(text + os, quotes[i].original, oe - os) == 0 && strlen(quotes[i].original) == oe - os,
                  "quote %zu maps to '%.*s', want '%s'", i, (int)(oe - os), text + os, quotes[i].original);
    }
    twin_clear(&t);
    twin_rules_clear(&r);
}

Test(twin, the_first_pair_listed_decides_an_ambiguous_word)
{
    /* "her" is in (his, her) and (him, her): the first wins */
    char *got = twin_of("I gave her the letter", NULL, 0);
    cr_assert_str_eq(got, "I gave his the letter");
    free(got);
}

Test(twin, bad_rules_and_text_are_refused_with_the_reason)
{
    twin_rules r = {0};
    perr err = {{0}};
    cr_assert_neq(twin_rules_add_attributes(&r, "[]", &err), 0);
    cr_assert(strstr(err.msg, "classes"), "%s", err.msg);
    cr_assert_neq(twin_rules_add_attributes(&r, "{\"classes\": {\"gender\": [[\"he\"]]}}", &err), 0);
    cr_assert(strstr(err.msg, "gender, pair 0"), "%s", err.msg);
    cr_assert_neq(twin_rules_add_attributes(&r, "{\"classes\": {\"gender\": [[\"he\", \" \"]]}}", &err), 0);
    cr_assert_neq(twin_rules_add_attributes(&r, "{\"classes\": {\"party\": []}}", &err), 0);
    cr_assert(strstr(err.msg, "party"), "%s", err.msg);
    cr_assert_neq(twin_rules_add_party(&r, "", "Party A", &err), 0);
    cr_assert_eq(twin_rules_add_party(&r, "Smith", "Party A", &err), 0, "%s", err.msg);
    cr_assert_neq(twin_rules_add_party(&r, "Smith", "Party B", &err), 0);
    cr_assert(strstr(err.msg, "Smith is listed twice"), "%s", err.msg);
    twin t;
    cr_assert_neq(twin_build("bad \xff byte", &r, &t, &err), 0);
    cr_assert(strstr(err.msg, "UTF-8"), "%s", err.msg);
    twin_rules_clear(&r);
}

/* ---- alignment of the two reviews' findings (twin_align.h) ---------------------------- */

#include <cjson/cJSON.h>

#include "pipeline/analyses/twin_align.h"

static cJSON *parse(const char *json)
{
    cJSON *v = cJSON_Parse(json);
    cr_assert(v, "bad test JSON: %s", json);
    return v;
}

static const char *pair_status(const cJSON *r, int i)
{
    const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "pairs"), i);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "status");
    return cJSON_IsString(s) ? s->valuestring : "(none)";
}

Test(twin, findings_align_by_category_and_span_or_quote)
{
    /* original: four findings; twin: spans already mapped to the original.
     *  0 stereotype 100..140 high  <-> twin 0 stereotype 105..150 high: overlap -> same
     *  1 framing    200..230 low   <-> twin 1 framing 200..230 high: severity_changed
     *  2 evidentiary unverified "he said so"  <-> twin 3 unverified "He  said  SO": same quote
     *  3 extra_legal_factor 400..420: no partner -> only_original
     *  twin 2 epistemic 300..320: no partner -> only_twin
     *  a same-span twin finding of another category never pairs */
    cJSON *o = parse("[{\"category\": \"stereotype\", \"quote\": \"a\", \"severity\": \"high\", \"verified\": true, \"start\": 100, \"end\": 140},"
                     " {\"category\": \"framing\", \"quote\": \"b\", \"severity\": \"low\", \"verified\": true, \"start\": 200, \"end\": 230},"
                     " {\"category\": \"evidentiary\", \"quote\": \"he said so\", \"severity\": \"medium\", \"verified\": false, \"start\": null, \"end\": null},"
                     " {\"category\": \"extra_legal_factor\", \"quote\": \"d\", \"severity\": \"low\", \"verified\": true, \"start\": 400, \"end\": 420}]");
    cJSON *t = parse("[{\"category\": \"stereotype\", \"quote\": \"a'\", \"severity\": \"high\", \"verified\": true, \"start\": 105, \"end\": 150},"
                     " {\"category\": \"framing\", \"quote\": \"b'\", \"severity\": \"high\", \"verified\": true, \"start\": 200, \"end\": 230},"
                     " {\"category\": \"epistemic\", \"quote\": \"c'\", \"severity\": \"low\", \"verified\": true, \"start\": 400, \"end\": 420},"
                     " {\"category\": \"evidentiary\", \"quote\": \" He  said\\nSO \", \"severity\": \"medium\", \"verified\": false}]");
    perr err = {{0}};
    cJSON *r = twin_align(o, t, &err);
    cr_assert(r, "%s", err.msg);
    cr_assert_str_eq(pair_status(r, 0), "same");
    cr_assert_str_eq(pair_status(r, 1), "severity_changed");
    cr_assert_str_eq(pair_status(r, 2), "same");
    cr_assert_str_eq(pair_status(r, 3), "only_original");
    cr_assert_str_eq(pair_status(r, 4), "only_twin");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "pairs")), 5);
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(r, "identity_sensitive")->valueint, 3);
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(r, "same")->valueint, 2);
    const cJSON *p0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "pairs"), 0);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p0, "twin"), "quote")->valuestring, "a'");
    cJSON_Delete(r);
    cJSON_Delete(o);
    cJSON_Delete(t);
}

Test(twin, the_largest_overlap_wins_and_each_finding_pairs_once)
{
    /* original 0 overlaps twin 0 by 5 and twin 1 by 30: takes twin 1;
     * original 1 (same category, 0..40) then takes twin 0 */
    cJSON *o = parse("[{\"category\": \"framing\", \"quote\": \"x\", \"severity\": \"low\", \"verified\": true, \"start\": 10, \"end\": 50},"
                     " {\"category\": \"framing\", \"quote\": \"y\", \"severity\": \"low\", \"verified\": true, \"start\": 0, \"end\": 40}]");
    cJSON *t = parse("[{\"category\": \"framing\", \"quote\": \"p\", \"severity\": \"low\", \"verified\": true, \"start\": 0, \"end\": 15},"
                     " {\"category\": \"framing\", \"quote\": \"q\", \"severity\": \"low\", \"verified\": true, \"start\": 20, \"end\": 50}]");
    perr err = {{0}};
    cJSON *r = twin_align(o, t, &err);
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(r, "pairs");
    cr_assert_eq(cJSON_GetArraySize(pairs), 2);
    const cJSON *t0 = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pairs, 0), "twin");
    const cJSON *t1 = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pairs, 1), "twin");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t0, "quote")->valuestring, "q");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t1, "quote")->valuestring, "p");
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(r, "identity_sensitive")->valueint, 0);
    cJSON_Delete(r);
    cr_assert_null(twin_align(o, NULL, &err));
    cr_assert(strstr(err.msg, "arrays"), "%s", err.msg);
    cJSON_Delete(o);
    cJSON_Delete(t);
}

/* ---- the twin of an extracted document (twin_document.h) ------------------------------- */

#include "pipeline/analyses/quote.h"
#include "pipeline/analyses/twin_document.h"

Test(twin, a_documents_twin_keeps_its_blocks_and_maps_quotes_back_in_code_points)
{
    document *doc = document_new("pdf", "application/pdf");
    document_add_section(doc, "Judgment of Mr Justice Owen — Smith v Okafor", 1);
    document_add_paragraph(doc, "1. Zoë Okafor, a Nigerian woman, brought this claim against John Smith.", 1);
    document_add_paragraph(doc, "2. Mr Smith said she was “emotional” and that her evidence was unreliable.", 1);
    document_add_section(doc, "Findings", 2);
    document_add_paragraph(doc, "3. I prefer his account; he is a British businessman of good standing.", 2);
    static const char *const parties[][2] = {{"John Smith", "Party A"}, {"Smith", "Party A"},
                                             {"Zoë Okafor", "Party B"}, {"Okafor", "Party B"}};
    twin_rules r;
    load_rules(&r, parties, 4);
    twin_doc t;
    perr err = {{0}};
    cr_assert_eq(twin_document(doc, &r, &t, &err), 0, "%s", err.msg);
    cr_assert_eq(t.doc->n_sections, doc->n_sections);
    cr_assert_eq(t.doc->n_paragraphs_total, 3);
    for (size_t s = 0; s < doc->n_sections; s++)
        for (size_t p = 0; p < doc->sections[s].n_paragraphs; p++) {
            cr_assert_str_eq(t.doc->sections[s].paragraphs[p].id, doc->sections[s].paragraphs[p].id);
            cr_assert_eq(t.doc->sections[s].paragraphs[p].page, doc->sections[s].paragraphs[p].page);
        }
    cr_assert(strstr(t.doc->full_text, "Ms Party A said he was “emotional” and that his evidence"), "%s",
              t.doc->full_text);
    cr_assert(strstr(t.doc->full_text, "Party B, a British man"), "%s", t.doc->full_text);
    cr_assert(strstr(t.doc->full_text, "I prefer her account; she is a Nigerian businessman"), "%s", t.doc->full_text);
    /* a quote found in the twin maps to the original's words, in code points */
    static const struct {
        const char *twin_quote, *original_quote;
    } q[] = {
        {"Ms Party A said he was “emotional”", "Mr Smith said she was “emotional”"},
        {"I prefer her account; she is a Nigerian businessman", "I prefer his account; he is a British businessman"},
        {"brought this claim against Party A.", "brought this claim against John Smith."},
    };
    quote_index *ti = NULL, *oi = NULL;
    cr_assert_eq(quote_index_new(t.doc, &ti, &err), 0, "%s", err.msg);
    cr_assert_eq(quote_index_new(doc, &oi, &err), 0, "%s", err.msg);
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        quote_match tm, om;
        cr_assert_eq(quote_locate_indexed(ti, q[i].twin_quote, &tm, &err), 0, "%s", err.msg);
        cr_assert_eq(quote_locate_indexed(oi, q[i].original_quote, &om, &err), 0, "%s", err.msg);
        cr_assert(tm.verified && om.verified, "quote %zu found in both", i);
        size_t os, oe;
        twin_doc_span_to_original(&t, tm.char_start, tm.char_end, &os, &oe);
        cr_assert(os == om.char_start && oe == om.char_end, "quote %zu: [%zu, %zu) want [%zu, %zu)", i, os, oe,
                  om.char_start, om.char_end);
    }
    quote_index_free(ti);
    quote_index_free(oi);
    twin_doc_clear(&t);
    twin_rules_clear(&r);
    document_free(doc);
}
