/* sandbox.c — forked, rlimited extraction with a wall-clock deadline (see sandbox.h). */
#include "extractors/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/grow.h"
#include "common/monotonic.h"
#include "common/utf8.h"

#define MAX_RESULT_BYTES ((size_t)1 << 30)  /* refuse larger child output */
#define STDERR_TAIL      4096               /* bytes of child stderr kept */
#define READ_CHUNK       16384              /* bytes per read (drain loops to EAGAIN) */

/* ---- child side ------------------------------------------------------------ */

/* Address space currently mapped, in bytes (0 when unknown). */
static unsigned long long current_vm_bytes(void)
{
    unsigned long long pages = 0;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
        buf[n] = '\0';
        pages = strtoull(buf, NULL, 10);
    }
    return pages * (unsigned long long)sysconf(_SC_PAGESIZE);
}

static void apply_limits(const sandbox_limits *lim)
{
    struct rlimit core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &core);
    struct rlimit cpu = { (rlim_t)lim->cpu_seconds, (rlim_t)lim->cpu_seconds + 1 };
    setrlimit(RLIMIT_CPU, &cpu);
    rlim_t as = (rlim_t)(current_vm_bytes() + ((unsigned long long)lim->memory_mb << 20));
    struct rlimit mem = { as, as };
    setrlimit(RLIMIT_AS, &mem);
}

/* stdin from /dev/null, stdout and stderr into err_fd, the result pipe on
 * fd 3, every other descriptor closed. The pipes are first moved above 10 so
 * the dup2 calls cannot clobber them whatever their numbers were. */
static void setup_fds(int result_fd, int err_fd)
{
    int r = fcntl(result_fd, F_DUPFD, 10), e = fcntl(err_fd, F_DUPFD, 10);
    if (r < 0 || e < 0)
        _exit(125);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        if (null_fd != 0)
            close(null_fd);
    }
    dup2(e, 1);
    dup2(e, 2);
    dup2(r, 3);
    close_range(4, ~0U, 0);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Runs in the child; never returns. Protocol: 'D' + JSON, or 'E' + message. */
static void child_main(sandbox_worker worker, void *arg, const sandbox_limits *lim, int result_fd, int err_fd)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* a daemon may block signals it reads via signalfd */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXCPU, SIG_DFL);
    setup_fds(result_fd, err_fd);
    apply_limits(lim);
    document *doc = NULL;
    perr err = { { 0 } };
    int rc = worker(arg, &doc, &err);
    int wrc;
    if (rc == 0 && doc) {
        char *json = document_to_json(doc, 0);
        wrc = write_all(3, "D", 1) == 0 && write_all(3, json, strlen(json)) == 0 ? 0 : -1;
        free(json);
    } else {
        if (!err.msg[0])
            perr_set(&err, "extraction failed");
        wrc = write_all(3, "E", 1) == 0 && write_all(3, err.msg, strlen(err.msg)) == 0 ? 0 : -1;
    }
    document_free(doc);
    _exit(wrc == 0 ? 0 : 1);
}

/* ---- parent side ------------------------------------------------------------ */

typedef struct child_output {
    char *result;
    size_t result_len, result_cap;
    char tail[STDERR_TAIL + 1];    /* last bytes of the child's stderr */
    size_t tail_len;
    int too_large;
} child_output;

static void keep_tail(child_output *o, const char *buf, size_t n)
{
    if (n >= STDERR_TAIL) {
        memcpy(o->tail, buf + n - STDERR_TAIL, STDERR_TAIL);
        o->tail_len = STDERR_TAIL;
    } else {
        if (o->tail_len + n > STDERR_TAIL) {
            size_t drop = o->tail_len + n - STDERR_TAIL;
            memmove(o->tail, o->tail + drop, o->tail_len - drop);
            o->tail_len -= drop;
        }
        memcpy(o->tail + o->tail_len, buf, n);
        o->tail_len += n;
    }
    o->tail[o->tail_len] = '\0';
}

static void keep_result(child_output *o, const char *buf, size_t n)
{
    if (o->result_len + n > MAX_RESULT_BYTES) {
        o->too_large = 1;
        return;
    }
    o->result = xgrow_to(o->result, &o->result_cap, o->result_len + n + 1, 1, 65536);
    memcpy(o->result + o->result_len, buf, n);
    o->result_len += n;
    o->result[o->result_len] = '\0';
}

/* Read what is available on fd; returns 0 at EOF, 1 otherwise. */
static int drain(int fd, child_output *o, int is_result)
{
    char buf[READ_CHUNK];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            if (is_result)
                keep_result(o, buf, (size_t)n);
            else
                keep_tail(o, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        return 0; /* EOF or hard error */
    }
}

/* Read both pipes until EOF, the deadline, or too much output.
 * Returns 0 at EOF, -1 when the deadline passed or output is too large. */
static int read_child(int result_fd, int err_fd, double deadline, child_output *o)
{
    struct pollfd fds[2] = { { result_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
    int open_fds = 2;
    while (open_fds > 0 && !o->too_large) {
        double left = deadline - monotonic_seconds();
        if (left <= 0)
            return -1;
        int rc = poll(fds, 2, (int)(left * 1000) + 1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!drain(fds[i].fd, o, i == 0)) {
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    return o->too_large ? -1 : 0;
}

/* Reap the child, killing it when it outlives the deadline. Returns 1 when
 * it had to be killed. */
static int reap(pid_t pid, double deadline, int *status, struct rusage *ru)
{
    int killed = 0;
    for (;;) {
        pid_t r = wait4(pid, status, killed ? 0 : WNOHANG, ru);
        if (r == pid)
            return killed;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) { /* ECHILD: reaped elsewhere (SIGCHLD ignored) */
            *status = 0;
            return killed;
        }
        if (!killed && monotonic_seconds() >= deadline) {
            kill(pid, SIGKILL);
            killed = 1;
            continue;
        }
        struct timespec nap = { 0, 5 * 1000 * 1000 };
        nanosleep(&nap, NULL);
    }
}

static int mentions_memory(const char *tail)
{
    static const char *const marks[] = { "out of memory", "bad_alloc", "failed to allocate",
                                         "Cannot allocate memory", "cannot allocate memory",
                                         "allocation-size-too-big", "allocator is trying to allocate" };
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (strstr(tail, marks[i]))
            return 1;
    return 0;
}

/* Last non-empty line of the child's stderr, for context. */
static const char *last_line(char *tail)
{
    size_t n = strlen(tail);
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
        tail[--n] = '\0';
    char *nl = strrchr(tail, '\n');
    return nl ? nl + 1 : tail;
}

static double cpu_seconds(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_stime.tv_sec +
           ((double)ru->ru_utime.tv_usec + (double)ru->ru_stime.tv_usec) / 1e6;
}

/* Turn a child that ended without a usable result into one error. */
static int child_failure(int status, const struct rusage *ru, child_output *o, const sandbox_limits *lim,
                         perr *err)
{
    if (mentions_memory(o->tail))
        return perr_set(err, "extractor exceeded memory limit (%d MB)", lim->memory_mb);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGXCPU || (sig == SIGKILL && cpu_seconds(ru) >= lim->cpu_seconds - 0.5))
            return perr_set(err, "extractor exceeded CPU limit (%d s)", lim->cpu_seconds);
        return perr_set(err, "extractor crashed (signal %d)", sig);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        const char *line = last_line(o->tail);
        if (*line)
            return perr_set(err, "extractor exited with status %d: %s", WEXITSTATUS(status), line);
        return perr_set(err, "extractor exited with status %d", WEXITSTATUS(status));
    }
    return perr_set(err, "extractor ended without a result");
}

/* Interpret the child's message: 'D' + JSON or 'E' + error text. */
static int parse_result(child_output *o, document **out, perr *err)
{
    if (o->result[0] == 'E') {
        char *msg = utf8_sanitize(o->result + 1, o->result_len - 1, NULL);
        perr_set(err, "%s", msg);
        free(msg);
        return -1;
    }
    if (document_from_json(out, o->result + 1, err) < 0)
        return perr_prefix(err, "extractor result");
    return 0;
}

static sandbox_limits resolve_limits(const sandbox_limits *limits)
{
    sandbox_limits l = { 0, 0, 0 };
    if (limits)
        l = *limits;
    if (l.memory_mb <= 0)
        l.memory_mb = SANDBOX_DEFAULT_MEMORY_MB;
    if (l.cpu_seconds <= 0)
        l.cpu_seconds = SANDBOX_DEFAULT_CPU_S;
    if (l.wall_seconds <= 0)
        l.wall_seconds = SANDBOX_DEFAULT_WALL_S;
    return l;
}

/* Everything after fork, in the parent: collect, reap, interpret. */
static int collect(pid_t pid, int result_fd, int err_fd, const sandbox_limits *lim, document **out, perr *err)
{
    child_output o;
    memset(&o, 0, sizeof o);
    double deadline = monotonic_seconds() + lim->wall_seconds;
    int read_rc = read_child(result_fd, err_fd, deadline, &o);
    if (read_rc < 0)
        kill(pid, SIGKILL);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    int killed = reap(pid, deadline, &status, &ru) || read_rc < 0;
    int rc;
    if (o.too_large)
        rc = perr_set(err, "extractor output too large (over %zu bytes)", MAX_RESULT_BYTES);
    else if (killed && !(WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL))
        rc = perr_set(err, "extractor timed out after %d s", lim->wall_seconds);
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && o.result_len > 0)
        rc = parse_result(&o, out, err);
    else
        rc = child_failure(status, &ru, &o, lim, err);
    free(o.result);
    return rc;
}

int sandbox_run(sandbox_worker worker, void *arg, const sandbox_limits *limits, document **out, perr *err)
{
    *out = NULL;
    sandbox_limits lim = resolve_limits(limits);
    int result_pipe[2], err_pipe[2];
    if (pipe2(result_pipe, O_CLOEXEC) < 0)
        return perr_errno(err, "sandbox: pipe");
    if (pipe2(err_pipe, O_CLOEXEC) < 0) {
        close(result_pipe[0]);
        close(result_pipe[1]);
        return perr_errno(err, "sandbox: pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        perr_errno(err, "sandbox: fork");
        close(result_pipe[0]);
        close(result_pipe[1]);
        close(err_pipe[0]);
        close(err_pipe[1]);
        return -1;
    }
    if (pid == 0)
        child_main(worker, arg, &lim, result_pipe[1], err_pipe[1]);
    close(result_pipe[1]);
    close(err_pipe[1]);
    fcntl(result_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
    int rc = collect(pid, result_pipe[0], err_pipe[0], &lim, out, err);
    close(result_pipe[0]);
    close(err_pipe[0]);
    return rc;
}

typedef struct extract_job {
    const void *data;
    size_t len;
    const extract_options *opts;
} extract_job;

static int extract_worker(void *arg, document **out, perr *err)
{
    const extract_job *job = arg;
    return extract_document(job->data, job->len, job->opts, out, err);
}

int sandbox_extract(const void *data, size_t len, const extract_options *opts, const sandbox_limits *limits,
                    document **out, perr *err)
{
    extract_job job = { data, len, opts };
    return sandbox_run(extract_worker, &job, limits, out, err);
}
