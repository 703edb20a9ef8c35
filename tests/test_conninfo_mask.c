/* test_conninfo_mask.c — secrets masked in libpq connection strings (URI and
 * key=value, parseable or not) and in messages that quote them. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "store/conninfo_mask.h"

static void expect_mask(const char *conninfo, const char *want)
{
    char *got = conninfo_mask(conninfo);
    cr_assert(got);
    cr_assert_str_eq(got, want, "masking [%s]", conninfo);
    free(got);
}

Test(conninfo_mask, libpq_secret_keys)
{
    cr_assert(conninfo_key_is_secret("password"));
    cr_assert(conninfo_key_is_secret("sslpassword"));
    cr_assert(conninfo_key_is_secret("Passwd"), "misspelt keys holding a password are masked too");
    cr_assert_not(conninfo_key_is_secret("host"));
    cr_assert_not(conninfo_key_is_secret("user"));
    cr_assert_not(conninfo_key_is_secret("sslkey"), "a path, not a secret");
    cr_assert_not(conninfo_key_is_secret("dbname"));
}

Test(conninfo_mask, uri_userinfo_and_query)
{
    expect_mask("postgres://precis:SECRET@[::1/precis", "postgres://precis:********@[::1/precis");
    expect_mask("postgresql://bob:topsecret@db:5433/precis", "postgresql://bob:********@db:5433/precis");
    expect_mask("POSTGRES://bob:x@db", "POSTGRES://bob:********@db");
    expect_mask("postgres://bob@db:5432/x", "postgres://bob@db:5432/x");
    expect_mask("postgres://db/x", "postgres://db/x");
    expect_mask("postgres://u:p@ss/w?rd@h1:5432,h2/db", "postgres://u:********@h1:5432,h2/db");
    expect_mask("postgres://u@h/db?sslpassword=S3&sslmode=require", "postgres://u@h/db?sslpassword=********&sslmode=require");
    expect_mask("postgres://h/db?password=a&b&sslmode=require", "postgres://h/db?password=********&sslmode=require");
    expect_mask("postgres://h/db?ssl%70assword=S4", "postgres://h/db?ssl%70assword=********");
    expect_mask("postgres://h/db?password=q&application_name=a@b",
                "postgres://h/db?password=********&application_name=a@b");
    expect_mask("postgres://u:pw@h/db?application_name=x&password=q",
                "postgres://u:********@h/db?application_name=x&password=********");
}

Test(conninfo_mask, keyword_value_pairs)
{
    expect_mask("host=db user=precis password=hunter2 dbname=p", "host=db user=precis password=******** dbname=p");
    expect_mask("host=db sslpassword='a b\\' c' dbname=p", "host=db sslpassword='********' dbname=p");
    expect_mask("password = hunter2  port=5", "password = ********  port=5");
    expect_mask("password=hunter2 'unterminated", "password=******** 'unterminated");
    expect_mask("password='a b", "password='********");
    expect_mask("nonsense password=x=y junk", "nonsense password=******** junk");
    expect_mask("dbname='postgres://u:pw@h/db' host=x", "dbname='postgres://u:********@h/db' host=x");
    expect_mask("dbname='host=h password=pw'", "dbname='host=h password=********'");
    expect_mask("", "");
    char *empty = conninfo_mask(NULL);
    cr_assert_str_eq(empty, "");
    free(empty);
}

static void expect_text(const char *text, const char *conninfo, const char *want)
{
    char *got = conninfo_mask_text(text, conninfo);
    cr_assert(got);
    cr_assert_str_eq(got, want, "masking [%s] of [%s]", text, conninfo);
    free(got);
}

Test(conninfo_mask, messages_quoting_a_conninfo)
{
    const char *uri = "postgres://precis:SECRET@[::1/precis";
    expect_text("end of string reached when looking for matching \"]\" in IPv6 host address in URI: "
                "\"postgres://precis:SECRET@[::1/precis\"",
                uri,
                "end of string reached when looking for matching \"]\" in IPv6 host address in URI: "
                "\"postgres://precis:********@[::1/precis\"");
    expect_text("partial: SECRET@[::1", uri, "partial: ********@[::1");
    expect_text("decoded S=CRET, raw S%3DCRET", "postgres://u:S%3DCRET@h", "decoded ********, raw ********");
    expect_text("it's here", "password='it\\'s'", "******** here");
    expect_text("abcdef then abc", "password=abc sslpassword=abcdef", "******** then ********");
    expect_text("nothing to hide", "host=db", "nothing to hide");
    expect_text("no conninfo", NULL, "no conninfo");
}
