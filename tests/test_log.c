/* test_log.c — structured key=value log lines: format, quoting, levels. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static char *capture(void (*emit)(void))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    log_set_stream(f);
    emit();
    log_set_stream(NULL);
    fclose(f);
    return buf;
}

static void emit_info(void) { log_info("job done", "job_id=%s ms=%d ratio=%.2f", "j-42", 812, 0.5); }

Test(log, line_format)
{
    log_set_level(LOG_INFO);
    char *out = capture(emit_info);
    regex_t re;
    cr_assert_eq(regcomp(&re,
                         "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                         "level=info msg=\"job done\" job_id=j-42 ms=812 ratio=0\\.50\n$",
                         REG_EXTENDED), 0);
    cr_assert_eq(regexec(&re, out, 0, NULL, 0), 0, "unexpected line: %s", out);
    regfree(&re);
    free(out);
}

static void emit_tricky(void) { log_warn("x", "path=%s reason=%s empty=%s", "/a b/c", "say \"hi\"\nbye", ""); }

Test(log, values_with_spaces_quotes_and_newlines_are_quoted)
{
    log_set_level(LOG_DEBUG);
    char *out = capture(emit_tricky);
    cr_assert(strstr(out, "level=warn msg=x "), "%s", out);
    cr_assert(strstr(out, "path=\"/a b/c\""), "%s", out);
    cr_assert(strstr(out, "reason=\"say \\\"hi\\\"\\nbye\""), "%s", out);
    cr_assert(strstr(out, "empty=\"\""), "%s", out);
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "exactly one line");
    free(out);
}

static void emit_debug(void) { log_debug("hidden", "k=%d", 1); }

Test(log, level_threshold)
{
    cr_assert_eq(log_set_level_name("warn"), 0);
    char *out = capture(emit_debug);
    cr_assert_str_eq(out, "");
    free(out);
    cr_assert_eq(log_set_level_name("DEBUG"), 0);
    out = capture(emit_debug);
    cr_assert(strstr(out, "level=debug msg=hidden k=1"), "%s", out);
    free(out);
    cr_assert_eq(log_set_level_name("loud"), -1);
}

Test(log, quote_helper)
{
    char buf[64];
    log_quote(buf, sizeof buf, "plain");
    cr_assert_str_eq(buf, "plain");
    log_quote(buf, sizeof buf, "a=b");
    cr_assert_str_eq(buf, "\"a=b\"");
}
