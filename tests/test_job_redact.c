/* test_job_redact.c — job messages with their secrets masked (pipeline/job_redact.h):
 * valid and broken JSON, escaped keys, nesting, and scrubbing error texts. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/job_redact.h"

static char *redact(const char *in, job_secrets *secrets)
{
    size_t len = 0;
    char *out = job_redact_message(in, strlen(in), &len, secrets);
    cr_assert_not_null(out);
    cr_assert_eq(len, strlen(out));
    return out;
}

static void check(const char *in, const char *want, const char *secret)
{
    job_secrets secrets;
    char *out = redact(in, &secrets);
    cr_assert_str_eq(out, want, "in: %s", in);
    if (secret) {
        cr_assert_eq(secrets.n, 1, "in: %s", in);
        cr_assert_str_eq(secrets.values[0], secret);
    } else {
        cr_assert_eq(secrets.n, 0, "in: %s", in);
    }
    job_secrets_clear(&secrets);
    free(out);
}

Test(job_redact, valid_job_keeps_every_other_byte)
{
    check("{\"job_id\":\"k\", \"password\" : \"hunter2\",\"document\":{\"text\":\"password\"}}",
          "{\"job_id\":\"k\", \"password\" : \"***\",\"document\":{\"text\":\"password\"}}", "hunter2");
    check("{\"job_id\":\"k\",\"document\":{\"text\":\"x\"}}", "{\"job_id\":\"k\",\"document\":{\"text\":\"x\"}}", NULL);
    check("{\"a\":\"password\",\"b\":[\"password\"]}", "{\"a\":\"password\",\"b\":[\"password\"]}", NULL);
}

Test(job_redact, escaped_key_and_quotes_inside_the_value)
{
    check("{\"pass\\u0077ord\":\"se\\\"cr\\\\et\"}", "{\"pass\\u0077ord\":\"***\"}", "se\\\"cr\\\\et");
    check("{\"PASSWORD\":\"x\"}", "{\"PASSWORD\":\"x\"}", NULL);
}

Test(job_redact, nested_and_non_string_values)
{
    check("{\"metadata\":{\"password\":\"m1\"}}", "{\"metadata\":{\"password\":\"***\"}}", "m1");
    check("{\"password\":123456,\"x\":1}", "{\"password\":\"***\",\"x\":1}", "123456");
    check("{\"password\":{\"a\":\"}\",\"b\":[1]},\"x\":1}", "{\"password\":\"***\",\"x\":1}",
          "{\"a\":\"}\",\"b\":[1]}");
}

Test(job_redact, broken_messages_are_masked_to_the_end)
{
    check("{\"job_id\":\"k\",\"password\":\"unterminated", "{\"job_id\":\"k\",\"password\":\"***\"", "unterminated");
    check("{\"password\": \"s1\", oops", "{\"password\": \"***\", oops", "s1");
    check("not json at all", "not json at all", NULL);
    check("{\"password\"", "{\"password\"", NULL);
    check("{\"password\":", "{\"password\":", NULL);
}

Test(job_redact, every_secret_is_reported)
{
    job_secrets secrets;
    char *out = redact("{\"password\":\"one\",\"metadata\":{\"password\":\"two\"}}", &secrets);
    cr_assert_str_eq(out, "{\"password\":\"***\",\"metadata\":{\"password\":\"***\"}}");
    cr_assert_eq(secrets.n, 2);
    cr_assert_str_eq(secrets.values[0], "one");
    cr_assert_str_eq(secrets.values[1], "two");
    job_secrets_clear(&secrets);
    cr_assert_eq(secrets.n, 0);
    free(out);
}

Test(job_redact, bytes_after_a_nul_are_kept)
{
    const char in[] = "{\"password\":\"p\"}\0tail";
    size_t len = 0;
    char *out = job_redact_message(in, sizeof in - 1, &len, NULL);
    cr_assert_eq(len, strlen("{\"password\":\"***\"}") + 5);
    cr_assert_eq(memcmp(out, "{\"password\":\"***\"}\0tail", len), 0);
    free(out);
}

Test(job_redact, scrub_masks_every_occurrence_in_place)
{
    char text[] = "cannot open /in/hunter2.pdf (hunter2)";
    cr_assert_eq(job_scrub_secret(text, "hunter2"), 2);
    cr_assert_str_eq(text, "cannot open /in/***.pdf (***)");
    char short_secret[] = "pw: ab, ab";
    cr_assert_eq(job_scrub_secret(short_secret, "ab"), 2);
    cr_assert_str_eq(short_secret, "pw: **, **");
    char none[] = "nothing here";
    cr_assert_eq(job_scrub_secret(none, ""), 0);
    cr_assert_eq(job_scrub_secret(none, NULL), 0);
    cr_assert_str_eq(none, "nothing here");
}
