/* sandbox.c — forked, rlimited extraction with a wall-clock deadline (see sandbox.h).
 * The child's side is sandbox_child.c, reading and classifying its end sandbox_result.c. */
#include "extractors/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/monotonic.h"
#include "extractors/sandbox_child.h"
#include "extractors/sandbox_result.h"

/* Until the child ends or the deadline passes: poll its pidfd, or nap a
 * little where pidfds are not available. */
static void await_exit(int pidfd, double deadline)
{
    double left = deadline - monotonic_seconds();
    if (left <= 0)
        return;
    if (pidfd >= 0) {
        struct pollfd p = { pidfd, POLLIN, 0 };
        (void)poll(&p, 1, (int)(left * 1000) + 1);
        return;
    }
    struct timespec nap = { 0, 1000 * 1000 };
    nanosleep(&nap, NULL);
}

/* Reap the child, killing it when it outlives the deadline. Returns 1 when
 * it had to be killed. */
static int reap(pid_t pid, double deadline, int *status, struct rusage *ru)
{
    int killed = 0, pidfd = pidfd_open(pid, 0);
    for (;;) {
        pid_t r = wait4(pid, status, killed ? 0 : WNOHANG, ru);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == pid || r < 0) {
            if (r < 0) /* ECHILD: reaped elsewhere (SIGCHLD ignored) */
                *status = 0;
            if (pidfd >= 0)
                close(pidfd);
            return killed;
        }
        if (!killed && monotonic_seconds() >= deadline) {
            kill(pid, SIGKILL);
            killed = 1;
            continue;
        }
        await_exit(pidfd, deadline);
    }
}

/* Everything after fork, in the parent: collect, reap, interpret. */
static int collect(pid_t pid, int result_fd, int err_fd, const sandbox_limits *lim, document **out, perr *err)
{
    sandbox_output o;
    memset(&o, 0, sizeof o);
    double deadline = monotonic_seconds() + lim->wall_seconds;
    int read_rc = sandbox_output_read(result_fd, err_fd, lim, &deadline, &o);
    if (read_rc < 0)
        kill(pid, SIGKILL);
    else
        sandbox_output_parse(&o); /* while the child exits */
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    int killed = reap(pid, deadline, &status, &ru) || read_rc < 0;
    int rc = sandbox_outcome(&o, status, &ru, killed, lim, out, err);
    sandbox_output_free(&o);
    return rc;
}

static void close_pair(int p[2])
{
    close(p[0]);
    close(p[1]);
}

int sandbox_run(sandbox_worker worker, void *arg, const sandbox_limits *limits, document **out, perr *err)
{
    *out = NULL;
    sandbox_limits lim = sandbox_limits_resolve(limits);
    int result_pipe[2], err_pipe[2];
    if (pipe2(result_pipe, O_CLOEXEC) < 0)
        return perr_errno(err, "sandbox: pipe");
    if (pipe2(err_pipe, O_CLOEXEC) < 0) {
        close_pair(result_pipe);
        return perr_errno(err, "sandbox: pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        perr_errno(err, "sandbox: fork");
        close_pair(result_pipe);
        close_pair(err_pipe);
        return -1;
    }
    if (pid == 0)
        sandbox_child_main(worker, arg, &lim, result_pipe[1], err_pipe[1]);
    close(result_pipe[1]);
    close(err_pipe[1]);
    int rc = collect(pid, result_pipe[0], err_pipe[0], &lim, out, err);
    close(result_pipe[0]);
    close(err_pipe[0]);
    return rc;
}

typedef struct extract_job {
    const void *data;
    size_t len;
    const extract_options *opts;
    int ocr_page_seconds;
} extract_job;

static int extract_worker(void *arg, document **out, perr *err)
{
    const extract_job *job = arg;
    extract_options o = job->opts ? *job->opts : (extract_options){ 0 };
    o.progress_fd = SANDBOX_RESULT_FD; /* OCR'd pages extend the limits (sandbox.h) */
    o.ocr_page_cpu_seconds = job->ocr_page_seconds;
    return extract_document(job->data, job->len, &o, out, err);
}

int sandbox_extract(const void *data, size_t len, const extract_options *opts, const sandbox_limits *limits,
                    document **out, perr *err)
{
    extract_job job = { data, len, opts, sandbox_limits_resolve(limits).ocr_page_seconds };
    return sandbox_run(extract_worker, &job, limits, out, err);
}
