/* test_job_message.c — `precis submit`'s job JSON parses under the job
 * contract (pipeline/job.h) and job ids are UUID v4. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cli/job_message.h"
#include "pipeline/job.h"
#include "tests/support.h"

Test(job_message, content_form_round_trips_through_job_parse)
{
    static const unsigned char bytes[] = {'%', 'P', 'D', 'F', 0, 1, 2, 0xff, '\n'};
    const char *analyses[] = {"summary", "keywords", NULL};
    job_message_spec spec = {.job_id = "j-1", .collection = "research", .analyses = analyses, .content = bytes,
                             .content_len = sizeof bytes, .filename = "a \"quoted\" name.pdf", .password = "s3cret"};
    perr err;
    char *json = job_message_build(&spec, &err);
    cr_assert(json, "%s", err.msg);
    job j;
    cr_assert_eq(job_parse(json, strlen(json), &j, &err), 0, "%s: %s", err.msg, json);
    cr_assert_str_eq(j.job_id, "j-1");
    cr_assert_str_eq(j.collection, "research");
    cr_assert_eq(j.n_analyses, 2);
    cr_assert_str_eq(j.analyses[1], "keywords");
    cr_assert_eq(j.doc_kind, JOB_DOC_CONTENT);
    cr_assert_eq(j.content_len, sizeof bytes);
    cr_assert_eq(memcmp(j.content, bytes, sizeof bytes), 0);
    cr_assert_str_eq(j.filename, "a \"quoted\" name.pdf");
    cr_assert_str_eq(j.password, "s3cret");
    job_clear(&j);
    free(json);
}

Test(job_message, path_form_without_optionals)
{
    job_message_spec spec = {.job_id = "j-2", .path = "/data/in/x.xml"};
    perr err;
    char *json = job_message_build(&spec, &err);
    cr_assert(json, "%s", err.msg);
    cr_assert_str_eq(json, "{\"job_id\":\"j-2\",\"document\":{\"path\":\"/data/in/x.xml\"}}");
    job j;
    cr_assert_eq(job_parse(json, strlen(json), &j, &err), 0, "%s", err.msg);
    cr_assert_eq(j.doc_kind, JOB_DOC_PATH);
    cr_assert_null(j.collection);
    cr_assert_null(j.password);
    job_clear(&j);
    free(json);
}

Test(job_message, missing_document_is_an_error)
{
    job_message_spec spec = {.job_id = "j-3"};
    perr err;
    cr_assert_null(job_message_build(&spec, &err));
    cr_assert(strstr(err.msg, "document"), "%s", err.msg);
}

Test(job_message, job_ids_are_distinct_uuid_v4)
{
    char a[37], b[37];
    perr err;
    cr_assert_eq(job_id_new(a, &err), 0);
    cr_assert_eq(job_id_new(b, &err), 0);
    cr_assert_str_neq(a, b);
    cr_assert_eq(strlen(a), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            cr_assert_eq(a[i], '-', "%s", a);
        else
            cr_assert(strchr("0123456789abcdef", a[i]), "%s", a);
    }
    cr_assert_eq(a[14], '4', "version nibble: %s", a);
    cr_assert(strchr("89ab", a[19]), "variant nibble: %s", a);
}

Test(job_message, twin_file_reaches_the_job)
{
    char *file = test_write_tmp("twin.json", "{\"parties\": [{\"name\": \"John Smith\", \"replacement\": \"Party A\"}]}");
    char *twin = NULL;
    perr err;
    cr_assert_eq(job_twin_file(file, &twin, &err), 0, "%s", err.msg);
    job_message_spec spec = {.job_id = "j-3", .path = "/data/in/j.pdf", .twin_json = twin};
    char *json = job_message_build(&spec, &err);
    cr_assert(json, "%s", err.msg);
    job j;
    cr_assert_eq(job_parse(json, strlen(json), &j, &err), 0, "%s: %s", err.msg, json);
    cr_assert_str_eq(j.twin_json, "{\"parties\":[{\"name\":\"John Smith\",\"replacement\":\"Party A\"}]}");
    job_clear(&j);
    free(json);
    free(twin);
    free(file);
    /* true: the review's own parties; a bad file is refused with the field named */
    file = test_write_tmp("twin-true.json", "true");
    cr_assert_eq(job_twin_file(file, &twin, &err), 0, "%s", err.msg);
    cr_assert_str_eq(twin, "{}");
    free(twin);
    free(file);
    file = test_write_tmp("twin-bad.json", "{\"parties\": [{\"name\": \"John Smith\"}]}");
    cr_assert_neq(job_twin_file(file, &twin, &err), 0);
    cr_assert(strstr(err.msg, "twin.parties[0].replacement is required"), "%s", err.msg);
    free(file);
}
