/* test_submit.c — `precis submit` and `precis broker` from the command line:
 * usage errors, and jobs sent to a `precis broker` land on the jobs topic
 * keyed by the printed job ids. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support.h"

static int run(const char *args, char **out)
{
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "PRECIS_KAFKA_BOOTSTRAP_SERVERS= %s %s 2>&1", test_precis_bin(), args) > 0);
    int rc = test_run(cmd, out);
    free(cmd);
    return rc;
}

Test(submit, usage_errors)
{
    char *out;
    cr_assert_eq(run("submit", &out), 2, "%s", out);
    cr_assert(strstr(out, "no FILE given"), "%s", out);
    free(out);
    cr_assert_eq(run("submit -c /dev/null /etc/hostname", &out), 2, "%s", out);
    cr_assert(strstr(out, "no Kafka brokers"), "%s", out);
    free(out);
    cr_assert_eq(run("broker --partitions 0", &out), 2, "%s", out);
    cr_assert(strstr(out, "--partitions must be 1..1000"), "%s", out);
    free(out);
    cr_assert_eq(run("submit --help", &out), 0, "%s", out);
    cr_assert(strstr(out, "usage: precis submit"), "%s", out);
    free(out);
    cr_assert_eq(run("submit --job-id x a b", &out), 2, "%s", out);
    cr_assert(strstr(out, "--job-id takes exactly one FILE"), "%s", out);
    free(out);
}

/* `precis broker` with stdout on a pipe; its first line is the address. */
static pid_t start_broker(char *bootstrap, size_t cap, const char *log)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        FILE *err = freopen(log, "w", stderr);
        (void)err;
        execl(test_precis_bin(), test_precis_bin(), "broker", "-c", "/dev/null", "--partitions", "1", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    cr_assert(fgets(bootstrap, (int)cap, out), "broker printed no address (see %s)", log);
    fclose(out);
    bootstrap[strcspn(bootstrap, "\n")] = '\0';
    return pid;
}

Test(submit, jobs_reach_a_precis_broker)
{
    alarm(120);   /* hang guard */
    char log[512], bootstrap[256];
    snprintf(log, sizeof log, "%s/broker.log", test_tmpdir());
    pid_t broker = start_broker(bootstrap, sizeof bootstrap, log);
    cr_assert(strncmp(bootstrap, "127.0.0.1:", 10) == 0, "%s", bootstrap);

    char doc[512];
    snprintf(doc, sizeof doc, "%s/doc.txt", test_tmpdir());
    FILE *f = fopen(doc, "w");
    fputs("hello", f);
    fclose(f);
    char *args = NULL, *ids = NULL;
    cr_assert(asprintf(&args, "submit -c /dev/null --brokers %s --collection c1 -a summary %s", bootstrap, doc) > 0);
    cr_assert_eq(run(args, &ids), 0, "%s", ids);
    cr_assert_eq(strlen(ids), 37, "one UUID line: %s", ids);

    char *kcat = NULL, *seen = NULL;
    cr_assert(asprintf(&kcat, "kcat -b %s -t precis.jobs -C -e -q -f '%%k|%%s\\n' 2>/dev/null", bootstrap) > 0);
    cr_assert_eq(test_run(kcat, &seen), 0);
    char expect[160];
    snprintf(expect, sizeof expect, "%.36s|{\"job_id\":\"%.36s\",\"collection\":\"c1\",\"analyses\":[\"summary\"]", ids,
             ids);
    cr_assert(strstr(seen, expect), "%s", seen);
    cr_assert(strstr(seen, "\"document\":{\"content_base64\":\"aGVsbG8=\",\"filename\":\"doc.txt\"}"), "%s", seen);

    /* Resubmitting a job under its id. */
    free(args);
    free(ids);
    cr_assert(asprintf(&args, "submit -c /dev/null --brokers %s --job-id again-7 %s", bootstrap, doc) > 0);
    cr_assert_eq(run(args, &ids), 0, "%s", ids);
    cr_assert_str_eq(ids, "again-7\n");
    free(seen);
    cr_assert_eq(test_run(kcat, &seen), 0);
    cr_assert(strstr(seen, "again-7|{\"job_id\":\"again-7\","), "%s", seen);

    kill(broker, SIGTERM);
    int status = 0;
    cr_assert_eq(waitpid(broker, &status, 0), broker);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "broker exits 0 on SIGTERM (status %d)", status);
    free(kcat);
    free(seen);
    free(args);
    free(ids);
}
