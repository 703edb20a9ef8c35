/* test_sandbox.c — the forked extractor: crashes, hangs, CPU and memory
 * hogs, noisy children and large results all become clean errors/results. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/monotonic.h"
#include "common/utf8.h"
#include "extractors/sandbox.h"
#include "tests/sandbox_workers.h"

static int failing_worker(void *arg, document **out, perr *err)
{
    (void)arg;
    *out = NULL;
    return perr_set(err, "encrypted PDF: password required");
}

static int noisy_worker(void *arg, document **out, perr *err)
{
    char line[200];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 10000; i++) { /* 2 MB on stderr and stdout */
        if (write(2, line, sizeof line) < 0 || write(1, line, sizeof line) < 0)
            break;
    }
    return sandbox_test_good(arg, out, err);
}

static int big_worker(void *arg, document **out, perr *err)
{
    (void)arg, (void)err;
    document *doc = document_new("text", "text/plain");
    char para[1001];
    for (int i = 0; i < 10000; i++) { /* 10 MB of text */
        memset(para, 'a' + i % 26, 1000);
        para[1000] = '\0';
        document_add_paragraph(doc, para, 1);
    }
    *out = doc;
    return 0;
}

static void assert_no_children(void)
{
    errno = 0;
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a child is left unreaped");
    cr_assert_eq(errno, ECHILD);
}

static int count_open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

Test(sandbox, result_comes_back)
{
    document *doc = NULL;
    perr err = { { 0 } };
    int before = count_open_fds();
    cr_assert_eq(sandbox_run(sandbox_test_good, "Child title", NULL, &doc, &err), 0, "%s", err.msg);
    cr_assert_str_eq(doc->title, "Child title");
    cr_assert_str_eq(doc->full_text, "hello from the child");
    cr_assert_str_eq(doc->sections[0].paragraphs[0].id, "p1");
    document_free(doc);
    cr_assert_eq(count_open_fds(), before, "descriptors leaked");
    assert_no_children();
}

Test(sandbox, worker_error_is_passed_through)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(failing_worker, NULL, NULL, &doc, &err), -1);
    cr_assert_null(doc);
    cr_assert_str_eq(err.msg, "encrypted PDF: password required");
    assert_no_children();
}

Test(sandbox, crash_is_a_clean_error)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(sandbox_test_crashing, NULL, NULL, &doc, &err), -1);
    cr_assert_null(doc);
    cr_assert_str_eq(err.msg, "extractor crashed (signal 11)");
    assert_no_children();
}

Test(sandbox, a_crash_after_a_complete_result_is_still_a_crash)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(sandbox_test_crashing_after_result, "Child title", NULL, &doc, &err), -1);
    cr_assert_null(doc);
    cr_assert_str_eq(err.msg, "extractor crashed (signal 11)");
    assert_no_children();
}

Test(sandbox, a_child_that_closes_its_outputs_and_hangs_hits_wall_clock_limit)
{
    sandbox_limits lim = { .wall_seconds = 1 };
    document *doc = NULL;
    perr err = { { 0 } };
    double t0 = monotonic_seconds();
    cr_assert_eq(sandbox_run(sandbox_test_silent_sleeping, NULL, &lim, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "extractor timed out after 1 s");
    cr_assert_lt(monotonic_seconds() - t0, 3.0);
    assert_no_children();
}

Test(sandbox, endless_loop_hits_wall_clock_limit)
{
    sandbox_limits lim = { .wall_seconds = 1 };
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(sandbox_test_looping, NULL, &lim, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "extractor timed out after 1 s");
    assert_no_children();
}

Test(sandbox, sleeping_child_hits_wall_clock_limit)
{
    sandbox_limits lim = { .wall_seconds = 1 };
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(sandbox_test_sleeping, NULL, &lim, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "extractor timed out after 1 s");
    assert_no_children();
}

Test(sandbox, cpu_limit)
{
    sandbox_limits lim = { .cpu_seconds = 1, .wall_seconds = 20 };
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(sandbox_test_looping, NULL, &lim, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "extractor exceeded CPU limit (1 s)");
    assert_no_children();
}

Test(sandbox, memory_limit)
{
    sandbox_limits lim = { .memory_mb = 256, .wall_seconds = 20 };
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(sandbox_test_hungry, NULL, &lim, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "extractor exceeded memory limit (256 MB)");
    assert_no_children();
}

Test(sandbox, noisy_child_does_not_block)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(noisy_worker, "noisy", NULL, &doc, &err), 0, "%s", err.msg);
    cr_assert_str_eq(doc->title, "noisy");
    document_free(doc);
    assert_no_children();
}

Test(sandbox, large_result)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(big_worker, NULL, NULL, &doc, &err), 0, "%s", err.msg);
    cr_assert_eq(doc->n_paragraphs_total, 10000);
    cr_assert_eq(doc->full_text_len, 10000 * 1000 + 9999 * 2);
    document_free(doc);
}

Test(sandbox, nonzero_exit_reports_stderr)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(sandbox_test_exiting, NULL, NULL, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "extractor exited with status 7: something went wrong inside");
    assert_no_children();
}

Test(sandbox, child_closes_inherited_descriptors)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0); /* deliberately without O_CLOEXEC */
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_run(sandbox_test_fd_probe, &fds[1], NULL, &doc, &err), 0, "%s", err.msg);
    cr_assert_str_eq(doc->full_text, "closed");
    document_free(doc);
    close(fds[0]);
    close(fds[1]);
}

Test(sandbox, extract_text_through_sandbox)
{
    const char text[] = "First paragraph\nstill first.\n\nSecond.";
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_extract(text, sizeof text - 1, NULL, NULL, &doc, &err), 0, "%s", err.msg);
    cr_assert_str_eq(doc->full_text, "First paragraph still first.\n\nSecond.");
    document_free(doc);
}
