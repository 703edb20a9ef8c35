/* test_extract_server.c — the pre-forked extraction server: the same
 * documents and errors as sandbox_extract, many threads at once, a lock held
 * by another thread (which stalls a plain fork), no zombies, a clean stop,
 * a server that is gone. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-object.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/utf8.h"
#include "common/monotonic.h"
#include "extractors/extract_server.h"
#include "tests/sandbox_workers.h"
#include "tests/support.h"

/* ---- workers (run in the server's children) ------------------------------------ */

/* ---- helpers -------------------------------------------------------------------- */

static extract_server *start_server(void)
{
    extract_server *s = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_server_start(&s, &err), 0, "%s", err.msg);
    return s;
}

/* One call that must fail with exactly msg. */
static void expect_call_error(extract_server *s, sandbox_worker w, const sandbox_limits *lim, const char *msg)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_server_call(s, w, NULL, 0, lim, &doc, &err), -1, "%s", err.msg);
    cr_assert_null(doc);
    cr_assert_str_eq(err.msg, msg);
}

static void assert_no_zombies(extract_server *s)
{
    test_sleep_ms(100); /* the server reaps on SIGCHLD, asynchronously */
    cr_assert_eq(test_children_of(getpid(), 'Z', NULL), 0, "a zombie child of the test process");
    if (extract_server_pid(s) > 0)
        cr_assert_eq(test_children_of(extract_server_pid(s), 'Z', NULL), 0, "a zombie child of the server");
}

/* The server has exited and been reaped: no child of ours is left. */
static void assert_stopped(pid_t server)
{
    errno = 0;
    cr_assert_eq(kill(server, 0), -1, "the server is still there");
    cr_assert_eq(errno, ESRCH);
    errno = 0;
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a child is left unreaped");
    cr_assert_eq(errno, ECHILD);
}

static char *read_corpus(const char *name, size_t *len)
{
    char *path = test_corpus_path(name);
    char *data = test_read_file(path, len);
    free(path);
    return data;
}

/* The server's document equals sandbox_extract's (as JSON). */
static void same_as_sandbox(extract_server *s, const char *name, const char *must_contain)
{
    size_t len;
    char *data = read_corpus(name, &len);
    document *a = NULL, *b = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_server_run(s, data, len, NULL, NULL, &a, &err), 0, "%s: %s", name, err.msg);
    cr_assert_eq(sandbox_extract(data, len, NULL, NULL, &b, &err), 0, "%s: %s", name, err.msg);
    char *ja = document_to_json(a, 0), *jb = document_to_json(b, 0);
    cr_assert_str_eq(ja, jb, "%s: the server's document differs", name);
    cr_assert_not_null(strstr(a->full_text, must_contain), "%s", name);
    free(ja);
    free(jb);
    document_free(a);
    document_free(b);
    free(data);
}

/* ---- same outcomes as sandbox_extract -------------------------------------------- */

Test(extract_server, text_document)
{
    extract_server *s = start_server();
    const char text[] = "First paragraph\nstill first.\n\nSecond.";
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_server_run(s, text, sizeof text - 1, NULL, NULL, &doc, &err), 0, "%s", err.msg);
    cr_assert_str_eq(doc->full_text, "First paragraph still first.\n\nSecond.");
    document_free(doc);
    pid_t pid = extract_server_pid(s);
    assert_no_zombies(s);
    extract_server_stop(s);
    assert_stopped(pid);
}

Test(extract_server, pdf_and_xml_documents_as_sandbox_extract)
{
    extract_server *s = start_server();
    same_as_sandbox(s, "pdf/normal/pdfjs_issue14415_agreement.pdf", "This agreement");
    same_as_sandbox(s, "pdf/normal/pdfjs_issue13201_bitcoin.pdf", "Bitcoin");
    same_as_sandbox(s, "xml/jats/elife-02833-v2.xml", " ");
    same_as_sandbox(s, "xml/tei/grobid_acl2020_specter.tei.xml", " ");
    assert_no_zombies(s);
    extract_server_stop(s);
}

Test(extract_server, extractor_errors_and_passwords_as_sandbox_extract)
{
    extract_server *s = start_server();
    size_t len;
    char *data = read_corpus("pdf/hostile/pypdf_r4-aes-user-password.pdf", &len);
    document *doc = NULL;
    perr a = { { 0 } }, b = { { 0 } };
    cr_assert_eq(extract_server_run(s, data, len, NULL, NULL, &doc, &a), -1);
    cr_assert_eq(sandbox_extract(data, len, NULL, NULL, &doc, &b), -1);
    cr_assert_str_eq(a.msg, b.msg);
    cr_assert_not_null(strstr(a.msg, "password"), "%s", a.msg);
    extract_options wrong = { .password = "not-it" }, empty = { .password = "" };
    cr_assert_eq(extract_server_run(s, data, len, &wrong, NULL, &doc, &a), -1);
    cr_assert_eq(sandbox_extract(data, len, &wrong, NULL, &doc, &b), -1);
    cr_assert_str_eq(a.msg, b.msg);
    int rs = extract_server_run(s, data, len, &empty, NULL, &doc, &a);
    document_free(doc);
    int rb = sandbox_extract(data, len, &empty, NULL, &doc, &b);
    document_free(doc);
    cr_assert_eq(rs, rb, "%s / %s", a.msg, b.msg);
    const char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0\0";
    cr_assert_eq(extract_server_run(s, elf, sizeof elf - 1, NULL, NULL, &doc, &a), -1);
    cr_assert_str_eq(a.msg, "unsupported content type (binary data that is not PDF, XML, DOCX or text)");
    free(data);
    extract_server_stop(s);
}

Test(extract_server, result_and_title_come_back)
{
    extract_server *s = start_server();
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_server_call(s, sandbox_test_good, "Child title", 12, NULL, &doc, &err), 0, "%s", err.msg);
    cr_assert_str_eq(doc->title, "Child title");
    cr_assert_str_eq(doc->full_text, "hello from the child");
    document_free(doc);
    extract_server_stop(s);
}

Test(extract_server, crash)
{
    extract_server *s = start_server();
    expect_call_error(s, sandbox_test_crashing, NULL, "extractor crashed (signal 11)");
    assert_no_zombies(s);
    extract_server_stop(s);
}

Test(extract_server, a_crash_after_a_complete_result_is_still_a_crash)
{
    extract_server *s = start_server();
    expect_call_error(s, sandbox_test_crashing_after_result, NULL, "extractor crashed (signal 11)");
    assert_no_zombies(s);
    extract_server_stop(s);
}

Test(extract_server, wall_clock_limit)
{
    extract_server *s = start_server();
    sandbox_limits lim = { .wall_seconds = 1 };
    double t0 = monotonic_seconds();
    expect_call_error(s, sandbox_test_sleeping, &lim, "extractor timed out after 1 s");
    expect_call_error(s, sandbox_test_looping, &lim, "extractor timed out after 1 s");
    expect_call_error(s, sandbox_test_silent_sleeping, &lim, "extractor timed out after 1 s");
    cr_assert_lt(monotonic_seconds() - t0, 6.0);
    assert_no_zombies(s);
    extract_server_stop(s);
}

Test(extract_server, cpu_and_memory_limits)
{
    extract_server *s = start_server();
    sandbox_limits cpu = { .cpu_seconds = 1, .wall_seconds = 20 };
    expect_call_error(s, sandbox_test_looping, &cpu, "extractor exceeded CPU limit (1 s)");
    sandbox_limits mem = { .memory_mb = 256, .wall_seconds = 20 };
    expect_call_error(s, sandbox_test_hungry, &mem, "extractor exceeded memory limit (256 MB)");
    assert_no_zombies(s);
    extract_server_stop(s);
}

Test(extract_server, nonzero_exit_reports_stderr)
{
    extract_server *s = start_server();
    expect_call_error(s, sandbox_test_exiting, NULL, "extractor exited with status 7: something went wrong inside");
    extract_server_stop(s);
}

Test(extract_server, inherited_descriptors_are_closed)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0); /* deliberately without O_CLOEXEC, before the server */
    extract_server *s = start_server();
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_server_call(s, sandbox_test_fd_probe, &fds[1], sizeof fds[1], NULL, &doc, &err), 0, "%s",
                 err.msg);
    cr_assert_str_eq(doc->full_text, "closed");
    document_free(doc);
    /* and the server holds no copy: with ours closed, the reader sees EOF */
    close(fds[1]);
    char b;
    cr_assert_eq(read(fds[0], &b, 1), 0, "the server kept the pipe's write end");
    close(fds[0]);
    extract_server_stop(s);
}

/* ---- many threads at once ---------------------------------------------------------- */

typedef struct call_job {
    extract_server *s;
    int slow;             /* a child that sleeps past its 3 s deadline */
    const char *text;
    int rc;
    char msg[PERR_MSG_MAX];
    char full_text[256];
    double seconds;
} call_job;

static void *call_thread(void *arg)
{
    call_job *j = arg;
    document *doc = NULL;
    perr err = { { 0 } };
    sandbox_limits slow = { .wall_seconds = 3 };
    double t0 = monotonic_seconds();
    j->rc = j->slow ? extract_server_call(j->s, sandbox_test_sleeping, NULL, 0, &slow, &doc, &err)
                    : extract_server_run(j->s, j->text, strlen(j->text), NULL, NULL, &doc, &err);
    j->seconds = monotonic_seconds() - t0;
    snprintf(j->msg, sizeof j->msg, "%s", err.msg);
    if (doc)
        snprintf(j->full_text, sizeof j->full_text, "%s", doc->full_text);
    document_free(doc);
    return NULL;
}

Test(extract_server, eight_threads_at_once_one_slow, .timeout = 60)
{
    extract_server *s = start_server();
    enum { N = 8 };
    call_job jobs[N];
    pthread_t th[N];
    char texts[N][64];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            snprintf(texts[i], sizeof texts[i], "Document number %d of round %d.", i, round);
            jobs[i] = (call_job){ .s = s, .slow = i == 3, .text = texts[i] };
            cr_assert_eq(pthread_create(&th[i], NULL, call_thread, &jobs[i]), 0);
        }
        for (int i = 0; i < N; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < N; i++) {
            if (jobs[i].slow) {
                cr_assert_eq(jobs[i].rc, -1);
                cr_assert_str_eq(jobs[i].msg, "extractor timed out after 3 s");
                cr_assert_lt(jobs[i].seconds, 5.0, "the slow one took %.2f s", jobs[i].seconds);
                continue;
            }
            cr_assert_eq(jobs[i].rc, 0, "thread %d: %s", i, jobs[i].msg);
            cr_assert_str_eq(jobs[i].full_text, texts[i]);
            cr_assert_lt(jobs[i].seconds, 2.0, "thread %d waited %.2f s (behind the slow one?)", i,
                         jobs[i].seconds);
        }
    }
    assert_no_zombies(s);
    pid_t pid = extract_server_pid(s);
    extract_server_stop(s);
    assert_stopped(pid);
}

/* ---- a lock held by another thread ---------------------------------------------------- */

/* A GObject type whose class_init waits until told to finish: while a
 * thread is in it, GLib holds its global class-init lock, which the first
 * g_object_new of any other class (poppler's PopplerDocument in a PDF
 * extraction) needs. glibc resets stdio's and malloc's locks in a forked
 * child, but not GLib's: the realistic case of a lock left locked. */
typedef struct gate {
    GMutex m;
    GCond c;
    int inside, release;
} gate;

static void gate_class_init(gpointer klass, gpointer data)
{
    (void)klass;
    gate *g = data;
    g_mutex_lock(&g->m);
    g->inside = 1;
    g_cond_broadcast(&g->c);
    while (!g->release)
        g_cond_wait(&g->c, &g->m);
    g_mutex_unlock(&g->m);
}

static GType gate_type(gate *g)
{
    GTypeInfo info = { .class_size = sizeof(GObjectClass), .class_init = gate_class_init, .class_data = g,
                       .instance_size = sizeof(GObject) };
    return g_type_register_static(G_TYPE_OBJECT, "PrecisTestGate", &info, 0);
}

static void *init_gate_class(void *arg)
{
    GType *type = arg;
    g_type_class_unref(g_type_class_ref(*type));
    return NULL;
}

Test(extract_server, a_lock_held_by_another_thread_does_not_stall_the_child, .timeout = 60)
{
    extract_server *s = start_server(); /* first, while no other thread exists */
    size_t len;
    char *pdf = read_corpus("pdf/normal/pdfjs_issue14415_agreement.pdf", &len);
    static gate g; /* outlives the test body, which an assertion may leave early */
    g_mutex_init(&g.m);
    g_cond_init(&g.c);
    GType type = gate_type(&g);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, init_gate_class, &type), 0);
    g_mutex_lock(&g.m);
    while (!g.inside)
        g_cond_wait(&g.c, &g.m);
    g_mutex_unlock(&g.m);

    /* A plain fork from this threaded process: the PDF child waits forever
     * for GLib's lock and the deadline calls a good document a timeout. */
    sandbox_limits lim = { .wall_seconds = 3 };
    document *doc = NULL;
    perr err = { { 0 } };
    int plain = sandbox_extract(pdf, len, NULL, &lim, &doc, &err);
    document_free(doc);
    doc = NULL;
    char plain_msg[PERR_MSG_MAX];
    snprintf(plain_msg, sizeof plain_msg, "%s", err.msg);

    /* Through the server (forked before the thread existed): it works. */
    int served = extract_server_run(s, pdf, len, NULL, &lim, &doc, &err);

    g_mutex_lock(&g.m);
    g.release = 1;
    g_cond_broadcast(&g.c);
    g_mutex_unlock(&g.m);
    pthread_join(t, NULL);
    cr_assert_eq(plain, -1, "a plain fork did not stall: the scenario shows nothing");
    cr_assert_str_eq(plain_msg, "extractor timed out after 3 s");
    cr_assert_eq(served, 0, "%s", err.msg);
    cr_assert_not_null(strstr(doc->full_text, "This agreement"));
    document_free(doc);
    free(pdf);
    assert_no_zombies(s);
    extract_server_stop(s);
}

/* ---- the server's own life ------------------------------------------------------------ */

Test(extract_server, a_killed_server_is_a_clear_transient_error, .timeout = 60)
{
    extract_server *s = start_server();
    pid_t pid = extract_server_pid(s);
    call_job slow = { .s = s, .slow = 1 };
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, call_thread, &slow), 0);
    test_sleep_ms(300);
    cr_assert_eq(kill(pid, SIGKILL), 0);
    pthread_join(t, NULL);
    cr_assert_eq(slow.rc, EXTRACT_SERVER_GONE, "%s", slow.msg);
    cr_assert_str_eq(slow.msg, "extraction server is gone");
    cr_assert_lt(slow.seconds, 2.5, "noticed only after %.2f s", slow.seconds);
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_server_run(s, "text", 4, NULL, NULL, &doc, &err), EXTRACT_SERVER_GONE);
    cr_assert_str_eq(err.msg, "extraction server is gone");
    cr_assert_null(doc);
    cr_assert_eq(extract_server_pid(s), -1);
    extract_server_stop(s);
    assert_stopped(pid);
}

Test(extract_server, stop_ends_running_children_and_the_server, .timeout = 60)
{
    extract_server *s = start_server();
    pid_t pid = extract_server_pid(s);
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_server_call(s, sandbox_test_good, "x", 2, NULL, &doc, &err), 0, "%s", err.msg);
    document_free(doc);
    extract_server_stop(s);
    assert_stopped(pid);
}

Test(extract_server, the_server_exits_when_its_parent_dies, .timeout = 60)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t parent = fork();
    cr_assert_geq(parent, 0);
    if (parent == 0) { /* a parent that starts a server, says its pid, and dies */
        extract_server *s = NULL;
        perr err;
        if (extract_server_start(&s, &err) != 0)
            _exit(1);
        pid_t server = extract_server_pid(s);
        (void)!write(p[1], &server, sizeof server);
        _exit(0);
    }
    close(p[1]);
    pid_t server = -1;
    cr_assert_eq(read(p[0], &server, sizeof server), (ssize_t)sizeof server);
    close(p[0]);
    cr_assert_eq(test_wait_exit(parent), 0);
    double until = monotonic_seconds() + 5;
    int alive = 1;
    while (alive && monotonic_seconds() < until) {
        char path[64], buf[512] = "";
        snprintf(path, sizeof path, "/proc/%d/stat", (int)server);
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            buf[n] = '\0';
            fclose(f);
        }
        char *rp = strrchr(buf, ')');
        alive = f && rp && rp[2] != 'Z' && rp[2] != 'X';
        if (alive)
            test_sleep_ms(20);
    }
    cr_assert_not(alive, "the server outlived its parent");
}

/* The server warms itself by extracting a built-in PDF (pdf_warm.h) before
 * it serves: it must still have one thread, or its forks could inherit a
 * lock held by another. */
Test(extract_server, stays_single_threaded_after_its_warm_up)
{
    extract_server *s = start_server();
    char *path = test_corpus_path("pdf/normal/pdfjs_issue14415_agreement.pdf");
    size_t len;
    char *data = test_read_file(path, &len);
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract_server_run(s, data, len, NULL, NULL, &doc, &err), 0, "%s", err.msg);
    char *task_dir = g_strdup_printf("/proc/%d/task", (int)extract_server_pid(s));
    GDir *dir = g_dir_open(task_dir, 0, NULL);
    cr_assert_not_null(dir, "cannot list %s", task_dir);
    int threads = 0;
    while (g_dir_read_name(dir))
        threads++;
    g_dir_close(dir);
    cr_expect_eq(threads, 1, "the extraction server has %d threads", threads);
    g_free(task_dir);
    document_free(doc);
    free(data);
    free(path);
    extract_server_stop(s);
}
