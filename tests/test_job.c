/* test_job.c — the job contract: parsing every document form, every
 * rejection reason, and path confinement to the input root. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/job.h"
#include "tests/support.h"

static void parse_ok(job *j, const char *json)
{
    perr err = {{0}};
    cr_assert_eq(job_parse(json, strlen(json), j, &err), 0, "%s: %s", json, err.msg);
}

/* ---- valid jobs --------------------------------------------------------- */

Test(job, path_form_with_every_field)
{
    job j;
    parse_ok(&j, "{\"job_id\":\"r-17\",\"collection\":\"board\",\"analyses\":[\"summary\",\"key_points\"],"
                 "\"document\":{\"path\":\"2024/q1.pdf\"},\"password\":\"pw\","
                 "\"metadata\":{\"dept\": \"finance\", \"n\": [1, 2]}}");
    cr_assert_str_eq(j.job_id, "r-17");
    cr_assert_str_eq(j.collection, "board");
    cr_assert_eq(j.n_analyses, 2);
    cr_assert_str_eq(j.analyses[0], "summary");
    cr_assert_str_eq(j.analyses[1], "key_points");
    cr_assert_eq(j.doc_kind, JOB_DOC_PATH);
    cr_assert_str_eq(j.path, "2024/q1.pdf");
    cr_assert_str_eq(job_source(&j), "2024/q1.pdf");
    cr_assert_str_eq(j.password, "pw");
    cr_assert_str_eq(j.metadata_json, "{\"dept\":\"finance\",\"n\":[1,2]}");
    job_clear(&j);
    cr_assert_null(j.job_id);
}

Test(job, same_key_in_different_metadata_objects_is_fine)
{
    job j;
    parse_ok(&j, "{\"job_id\":\"m\",\"document\":{\"text\":\"x\"},"
                 "\"metadata\":{\"a\":{\"x\":1},\"b\":{\"x\":2},\"l\":[{\"x\":1},{\"x\":2}]}}");
    cr_assert_str_eq(j.metadata_json, "{\"a\":{\"x\":1},\"b\":{\"x\":2},\"l\":[{\"x\":1},{\"x\":2}]}");
    job_clear(&j);
}

Test(job, content_form_decodes_base64)
{
    job j;
    parse_ok(&j, "{\"job_id\":\"c\",\"document\":{\"content_base64\":\"aGVsbG8g\\nd29ybGQ=\",\"filename\":\"a.txt\"}}");
    cr_assert_eq(j.doc_kind, JOB_DOC_CONTENT);
    cr_assert_eq(j.content_len, 11);
    cr_assert_eq(memcmp(j.content, "hello world", 11), 0);
    cr_assert_str_eq(job_source(&j), "a.txt");
    cr_assert_null(j.collection);
    cr_assert_null(j.analyses);
    cr_assert_null(j.password);
    cr_assert_str_eq(j.metadata_json, "{}");
    job_clear(&j);

    parse_ok(&j, "{\"job_id\":\"c\",\"document\":{\"content_base64\":\"/w==\"}}");
    cr_assert_eq(j.content_len, 1);
    cr_assert_eq(j.content[0], 0xff);
    cr_assert_str_eq(job_source(&j), "content");
    job_clear(&j);
}

Test(job, text_form_and_null_optionals)
{
    job j;
    parse_ok(&j, "{\"job_id\":\"t\",\"collection\":null,\"analyses\":[],\"password\":null,\"metadata\":null,"
                 "\"document\":{\"text\":\"line one\\nline two \\u00e9 \\\\u0000 literal\"}}");
    cr_assert_eq(j.doc_kind, JOB_DOC_TEXT);
    cr_assert_str_eq(j.text, "line one\nline two \xc3\xa9 \\u0000 literal");
    cr_assert_eq(j.text_len, strlen(j.text));
    cr_assert_str_eq(job_source(&j), "text");
    cr_assert_eq(j.n_analyses, 0);
    cr_assert_str_eq(j.metadata_json, "{}");
    job_clear(&j);
}

/* ---- invalid jobs: every reason ------------------------------------------ */

typedef struct bad_case {
    const char *json;
    const char *reason;
} bad_case;

static const bad_case bad_cases[] = {
    {"", "empty"},
    {"not json", "not valid JSON"},
    {"{\"job_id\":\"a\",\"document\":{\"text\":\"x\"}} trailing", "data after the JSON value"},
    {"[1]", "must be a JSON object"},
    {"{}", "job_id is required"},
    {"{\"job_id\":5,\"document\":{\"text\":\"x\"}}", "job_id must be a string"},
    {"{\"job_id\":\"\",\"document\":{\"text\":\"x\"}}", "job_id is empty"},
    {"{\"job_id\":\"a\\nb\",\"document\":{\"text\":\"x\"}}", "job_id contains control characters"},
    {"{\"job_id\":\"a\",\"jobid\":\"b\",\"document\":{\"text\":\"x\"}}", "unknown key \"jobid\""},
    {"{\"job_id\":\"a\",\"job_id\":\"b\",\"document\":{\"text\":\"x\"}}", "\"job_id\" appears twice"},
    {"{\"job_id\":\"a\",\"collection\":\"\",\"document\":{\"text\":\"x\"}}", "collection is empty"},
    {"{\"job_id\":\"a\",\"collection\":[],\"document\":{\"text\":\"x\"}}", "collection must be a string"},
    {"{\"job_id\":\"a\"}", "document is required"},
    {"{\"job_id\":\"a\",\"document\":\"x.pdf\"}", "document must be an object"},
    {"{\"job_id\":\"a\",\"document\":{}}", "exactly one of"},
    {"{\"job_id\":\"a\",\"document\":{\"path\":\"p\",\"text\":\"t\"}}", "(found 2)"},
    {"{\"job_id\":\"a\",\"document\":{\"url\":\"http://x\"}}", "document: unknown key \"url\""},
    {"{\"job_id\":\"a\",\"document\":{\"path\":\"\"}}", "document.path is empty"},
    {"{\"job_id\":\"a\",\"document\":{\"path\":7}}", "document.path must be a string"},
    {"{\"job_id\":\"a\",\"document\":{\"text\":\"\"}}", "document.text is empty"},
    {"{\"job_id\":\"a\",\"document\":{\"path\":\"p\",\"filename\":\"f\"}}", "filename is only allowed"},
    {"{\"job_id\":\"a\",\"document\":{\"content_base64\":\"aGk=\",\"filename\":\"../x\"}}", "not a path"},
    {"{\"job_id\":\"a\",\"document\":{\"content_base64\":\"aG!k\"}}", "invalid base64 character at offset 2"},
    {"{\"job_id\":\"a\",\"document\":{\"content_base64\":\"aGk\"}}", "not a multiple of 4"},
    {"{\"job_id\":\"a\",\"document\":{\"content_base64\":\"aG==aGk=\"}}", "data after '=' padding"},
    {"{\"job_id\":\"a\",\"document\":{\"content_base64\":\"a===\"}}", "not a multiple of 4"},
    {"{\"job_id\":\"a\",\"document\":{\"content_base64\":\"\"}}", "content_base64 is empty"},
    {"{\"job_id\":\"a\",\"document\":{\"content_base64\":12}}", "content_base64 must be a string"},
    {"{\"job_id\":\"a\",\"analyses\":\"summary\",\"document\":{\"text\":\"x\"}}", "analyses must be an array"},
    {"{\"job_id\":\"a\",\"analyses\":[1],\"document\":{\"text\":\"x\"}}", "analyses[0] must be a string"},
    {"{\"job_id\":\"a\",\"analyses\":[\"ok\",\"Bad Name\"],\"document\":{\"text\":\"x\"}}", "analyses[1] \"Bad Name\" is not a valid"},
    {"{\"job_id\":\"a\",\"analyses\":[\"9lives\"],\"document\":{\"text\":\"x\"}}", "not a valid analysis name"},
    {"{\"job_id\":\"a\",\"analyses\":[\"s\",\"s\"],\"document\":{\"text\":\"x\"}}", "listed twice"},
    {"{\"job_id\":\"a\",\"password\":1,\"document\":{\"text\":\"x\"}}", "password must be a string"},
    {"{\"job_id\":\"a\",\"metadata\":[],\"document\":{\"text\":\"x\"}}", "metadata must be a JSON object"},
    {"{\"job_id\":\"a\",\"metadata\":\"x\",\"document\":{\"text\":\"x\"}}", "metadata must be a JSON object"},
    {"{\"job_id\":\"a\",\"metadata\":{\"a\":1,\"a\":2},\"document\":{\"text\":\"x\"}}",
     "metadata: key \"a\" appears twice"},
    {"{\"job_id\":\"a\",\"metadata\":{\"a\":{\"b\":1,\"c\":0,\"b\":2}},\"document\":{\"text\":\"x\"}}",
     "metadata.a: key \"b\" appears twice"},
    {"{\"job_id\":\"a\",\"metadata\":{\"l\":[1,{\"k\":[{\"z\":1,\"z\":1}]}]},\"document\":{\"text\":\"x\"}}",
     "metadata.l[1].k[0]: key \"z\" appears twice"},
    {"{\"job_id\":\"a\",\"document\":{\"text\":\"cut\\u0000here\"}}", "\\u0000"},
    {"{\"job_id\":\"a\\u0000b\",\"document\":{\"text\":\"x\"}}", "\\u0000"},
    {"{\"job_id\":\"a\",\"document\":{\"text\":\"\xff\xfe\"}}", "not valid UTF-8"},
    {"{\"job_id\":\"a\",\"twin\":\"yes\",\"document\":{\"text\":\"x\"}}", "twin must be true, false or an object"},
    {"{\"job_id\":\"a\",\"twin\":{\"party\":[]},\"document\":{\"text\":\"x\"}}", "twin: unknown key \"party\""},
    {"{\"job_id\":\"a\",\"twin\":{\"parties\":{}},\"document\":{\"text\":\"x\"}}", "twin.parties must be an array"},
    {"{\"job_id\":\"a\",\"twin\":{\"parties\":[\"Smith\"]},\"document\":{\"text\":\"x\"}}",
     "twin.parties[0] must be an object"},
    {"{\"job_id\":\"a\",\"twin\":{\"parties\":[{\"name\":\"Smith\"}]},\"document\":{\"text\":\"x\"}}",
     "twin.parties[0].replacement is required"},
    {"{\"job_id\":\"a\",\"twin\":{\"parties\":[{\"name\":\"A\",\"replacement\":\"B\"},{\"name\":\"\",\"replacement\":\"C\"}]},"
     "\"document\":{\"text\":\"x\"}}", "twin.parties[1].name is empty"},
    {"{\"job_id\":\"a\",\"twin\":{\"parties\":[{\"name\":\"A\",\"replacement\":\"B\",\"sex\":\"f\"}]},"
     "\"document\":{\"text\":\"x\"}}", "twin.parties[0]: unknown key \"sex\""},
};

Test(job, twin_field_forms)
{
    job j;
    parse_ok(&j, "{\"job_id\":\"a\",\"twin\":true,\"document\":{\"text\":\"x\"}}");
    cr_assert_str_eq(j.twin_json, "{}", "true: the review's own parties");
    job_clear(&j);
    parse_ok(&j, "{\"job_id\":\"a\",\"twin\":false,\"document\":{\"text\":\"x\"}}");
    cr_assert_null(j.twin_json);
    job_clear(&j);
    parse_ok(&j, "{\"job_id\":\"a\",\"document\":{\"text\":\"x\"}}");
    cr_assert_null(j.twin_json, "absent: no twin");
    job_clear(&j);
    parse_ok(&j, "{\"job_id\":\"a\",\"twin\":{\"parties\":[{\"name\":\"John Smith\",\"replacement\":\"Party A\"}]},"
                 "\"document\":{\"text\":\"x\"}}");
    cr_assert_str_eq(j.twin_json, "{\"parties\":[{\"name\":\"John Smith\",\"replacement\":\"Party A\"}]}");
    job_clear(&j);
}

Test(job, every_invalid_job_has_a_reason)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        job j;
        perr err = {{0}};
        const bad_case *c = &bad_cases[i];
        cr_assert_eq(job_parse(c->json, strlen(c->json), &j, &err), -1, "accepted: %s", c->json);
        cr_assert(strstr(err.msg, c->reason), "case %zu: '%s' lacks '%s'", i, err.msg, c->reason);
        cr_assert(strncmp(err.msg, "invalid job: ", 13) == 0, "%s", err.msg);
        cr_assert_null(j.job_id, "a failed parse leaves the job empty");
    }
}

Test(job, length_limits)
{
    char json[1024];
    perr err = {{0}};
    job j;
    char id[JOB_ID_MAX + 2];
    memset(id, 'x', sizeof id - 1);
    id[JOB_ID_MAX] = '\0'; /* exactly the limit: accepted */
    snprintf(json, sizeof json, "{\"job_id\":\"%s\",\"document\":{\"text\":\"x\"}}", id);
    parse_ok(&j, json);
    job_clear(&j);
    id[JOB_ID_MAX] = 'x';
    id[JOB_ID_MAX + 1] = '\0';
    snprintf(json, sizeof json, "{\"job_id\":\"%s\",\"document\":{\"text\":\"x\"}}", id);
    cr_assert_eq(job_parse(json, strlen(json), &j, &err), -1);
    cr_assert(strstr(err.msg, "longer than 200 bytes"), "%s", err.msg);

    size_t o = (size_t)snprintf(json, sizeof json, "{\"job_id\":\"a\",\"document\":{\"text\":\"x\"},\"analyses\":[");
    for (int i = 0; i <= JOB_ANALYSES_MAX; i++)
        o += (size_t)snprintf(json + o, sizeof json - o, "%s\"a%d\"", i ? "," : "", i);
    snprintf(json + o, sizeof json - o, "]}");
    cr_assert_eq(job_parse(json, strlen(json), &j, &err), -1);
    cr_assert(strstr(err.msg, "at most 32"), "%s", err.msg);
}

Test(job, parse_respects_the_given_length)
{
    const char *json = "{\"job_id\":\"a\",\"document\":{\"text\":\"x\"}}GARBAGE";
    job j;
    perr err = {{0}};
    cr_assert_eq(job_parse(json, strlen(json) - 7, &j, &err), 0, "%s", err.msg);
    job_clear(&j);
}

/* ---- loading documents, path confinement ------------------------------- */

typedef struct tree {
    char root[512];      /* <tmp>/in */
    char outside[512];   /* <tmp>/secret.txt */
} tree;

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot create %s", path);
    fputs(content, f);
    fclose(f);
}

/* <tmp>/in/{doc.txt, sub/inner.txt, link_in -> doc.txt, link_out -> ../secret.txt,
 * dir_out -> .., fifo}, <tmp>/in-other/doc.txt, <tmp>/secret.txt */
static tree make_tree(void)
{
    tree t;
    const char *tmp = test_tmpdir();
    char p[700];
    snprintf(t.root, sizeof t.root, "%s/in", tmp);
    snprintf(t.outside, sizeof t.outside, "%s/secret.txt", tmp);
    cr_assert_eq(mkdir(t.root, 0755), 0);
    snprintf(p, sizeof p, "%s/sub", t.root);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/doc.txt", t.root);
    write_file(p, "inside");
    snprintf(p, sizeof p, "%s/sub/inner.txt", t.root);
    write_file(p, "inner");
    write_file(t.outside, "top secret");
    snprintf(p, sizeof p, "%s/link_in", t.root);
    cr_assert_eq(symlink("doc.txt", p), 0);
    snprintf(p, sizeof p, "%s/link_out", t.root);
    cr_assert_eq(symlink(t.outside, p), 0);
    snprintf(p, sizeof p, "%s/dir_out", t.root);
    cr_assert_eq(symlink("..", p), 0);
    snprintf(p, sizeof p, "%s/fifo", t.root);
    cr_assert_eq(mkfifo(p, 0600), 0);
    snprintf(p, sizeof p, "%s-other", t.root);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s-other/doc.txt", t.root);
    write_file(p, "neighbour");
    return t;
}

/* Load a path job; returns the rc and puts the bytes (or NULL) in *out. */
static int load(const char *root, const char *path, char **out, perr *err)
{
    char json[1200];
    snprintf(json, sizeof json, "{\"job_id\":\"p\",\"document\":{\"path\":\"%s\"}}", path);
    job j;
    parse_ok(&j, json);
    unsigned char *bytes = NULL;
    size_t len = 0;
    int rc = job_load_document(&j, root, &bytes, &len, err);
    job_clear(&j);
    if (rc == 0)
        cr_assert_eq(strlen((char *)bytes), len);
    *out = (char *)bytes;
    return rc;
}

static void expect_loaded(const char *root, const char *path, const char *content)
{
    perr err = {{0}};
    char *got;
    cr_assert_eq(load(root, path, &got, &err), 0, "%s: %s", path, err.msg);
    cr_assert_str_eq(got, content);
    free(got);
}

static void expect_refused(const char *root, const char *path, const char *reason)
{
    perr err = {{0}};
    char *got;
    cr_assert_eq(load(root, path, &got, &err), -1, "%s was read", path);
    cr_assert_null(got);
    cr_assert(strstr(err.msg, reason), "%s: '%s' lacks '%s'", path, err.msg, reason);
}

Test(job, paths_inside_the_root_are_read)
{
    tree t = make_tree();
    char abs[700];
    expect_loaded(t.root, "doc.txt", "inside");
    expect_loaded(t.root, "sub/inner.txt", "inner");
    expect_loaded(t.root, "./sub//inner.txt", "inner");
    expect_loaded(t.root, "link_in", "inside");
    snprintf(abs, sizeof abs, "%s/doc.txt", t.root);
    expect_loaded(t.root, abs, "inside");
    /* a root given with a trailing slash or through a symlink still works */
    char root_slash[600];
    snprintf(root_slash, sizeof root_slash, "%s/", t.root);
    expect_loaded(root_slash, "doc.txt", "inside");
}

Test(job, traversal_attempts_are_refused)
{
    tree t = make_tree();
    char p[700];
    expect_refused(t.root, "../secret.txt", "contains a \"..\" component");
    expect_refused(t.root, "sub/../../secret.txt", "\"..\"");
    expect_refused(t.root, "sub/..", "\"..\"");
    expect_refused(t.root, t.outside, "outside the input root");
    expect_refused(t.root, "/etc/passwd", "outside the input root");
    expect_refused(t.root, "link_out", "outside the input root");
    expect_refused(t.root, "dir_out/secret.txt", "outside the input root");
    snprintf(p, sizeof p, "%s-other/doc.txt", t.root);
    expect_refused(t.root, p, "outside the input root"); /* prefix without the '/' boundary */
    expect_refused(t.root, "sub", "not a regular file");
    expect_refused(t.root, t.root, "outside the input root"); /* the root itself */
    expect_refused(t.root, "fifo", "not a regular file");
    expect_refused(t.root, "missing.txt", "No such file");
    expect_refused(NULL, "doc.txt", "input_root is not configured");
    expect_refused("", "doc.txt", "input_root is not configured");
    /* "..." and "a..b" are ordinary names, not traversal */
    snprintf(p, sizeof p, "%s/a..b", t.root);
    write_file(p, "dots");
    expect_loaded(t.root, "a..b", "dots");
}

Test(job, oversized_file_is_refused)
{
    tree t = make_tree();
    char p[700];
    snprintf(p, sizeof p, "%s/huge.bin", t.root);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    cr_assert(fd >= 0);
    cr_assert_eq(ftruncate(fd, (off_t)JOB_DOCUMENT_MAX_BYTES + 1), 0); /* sparse: no disk used */
    close(fd);
    expect_refused(t.root, "huge.bin", "more than the limit");
}

Test(job, content_and_text_forms_load_without_a_root)
{
    const char *json = "{\"job_id\":\"c\",\"document\":{\"content_base64\":\"AAEC\"}}";
    job j;
    parse_ok(&j, json);
    unsigned char *bytes;
    size_t len;
    perr err = {{0}};
    cr_assert_eq(job_load_document(&j, NULL, &bytes, &len, &err), 0, "%s", err.msg);
    cr_assert_eq(len, 3);
    cr_assert(bytes[0] == 0 && bytes[1] == 1 && bytes[2] == 2 && bytes[3] == 0);
    free(bytes);
    job_clear(&j);
    parse_ok(&j, "{\"job_id\":\"t\",\"document\":{\"text\":\"plain words\"}}");
    cr_assert_eq(job_load_document(&j, NULL, &bytes, &len, &err), 0, "%s", err.msg);
    cr_assert_eq(len, 11);
    cr_assert_str_eq((char *)bytes, "plain words");
    free(bytes);
    job_clear(&j);
}
