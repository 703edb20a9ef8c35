/* extract_server.c — the callers' side of the extraction server (see extract_server.h):
 * starting and stopping it, one request per call, the extraction's argument. */
#include "extractors/extract_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/monotonic.h"
#include "extractors/extract_server_loop.h"
#include "extractors/extract_server_wire.h"
#include "extractors/sandbox_child.h"
#include "extractors/sandbox_result.h"

#define KILL_GRACE_S 30.0   /* after asking for a kill, how long the server may take to report */

struct extract_server {
    pthread_mutex_t lock;   /* guards control_fd sends, gone and pid */
    int control_fd;
    pid_t pid;              /* -1 once reaped */
    int gone;
};

/* ---- start and stop ------------------------------------------------------------ */

int extract_server_start(extract_server **out, perr *err)
{
    *out = NULL;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return perr_errno(err, "extraction server: socketpair");
    extract_server *s = calloc(1, sizeof *s);
    if (!s) {
        close(sv[0]);
        close(sv[1]);
        return perr_set(err, "out of memory");
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        es_server_main(sv[1], parent);
    }
    close(sv[1]);
    if (pid < 0) {
        perr_errno(err, "extraction server: fork");
        close(sv[0]);
        free(s);
        return -1;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->control_fd = sv[0];
    s->pid = pid;
    *out = s;
    return 0;
}

void extract_server_stop(extract_server *s)
{
    if (!s)
        return;
    close(s->control_fd);
    while (s->pid > 0 && waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

pid_t extract_server_pid(extract_server *s)
{
    pthread_mutex_lock(&s->lock);
    pid_t pid = s->gone ? -1 : s->pid;
    pthread_mutex_unlock(&s->lock);
    return pid;
}

int extract_server_alive(extract_server *s)
{
    pthread_mutex_lock(&s->lock);
    if (!s->gone && s->pid > 0 && waitpid(s->pid, NULL, WNOHANG) == s->pid) {
        s->gone = 1;
        s->pid = -1;
    }
    int alive = !s->gone;
    pthread_mutex_unlock(&s->lock);
    return alive;
}

/* Under the lock: the server cannot be reached; reap it if it has ended. */
static int gone_locked(extract_server *s, perr *err)
{
    s->gone = 1;
    if (s->pid > 0 && waitpid(s->pid, NULL, WNOHANG) == s->pid)
        s->pid = -1;
    perr_set(err, "extraction server is gone");
    return EXTRACT_SERVER_GONE;
}

static int server_gone(extract_server *s, perr *err)
{
    pthread_mutex_lock(&s->lock);
    int rc = gone_locked(s, err);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- one request ---------------------------------------------------------------- */

/* The descriptors of one request: ours (the read ends, our status end) and
 * the server's (the request memfd, the write ends, its status end). */
typedef struct es_call_fds {
    int result, errp, status;
    int theirs[ES_N_FDS];
} es_call_fds;

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void close_call(es_call_fds *c)
{
    close_fd(&c->result);
    close_fd(&c->errp);
    close_fd(&c->status);
    for (int i = 0; i < ES_N_FDS; i++)
        close_fd(&c->theirs[i]);
}

static int open_call(sandbox_worker worker, const struct iovec *parts, int n, const sandbox_limits *lim,
                     es_call_fds *c, perr *err)
{
    int rp[2], ep[2], sp[2];
    if (es_request_create(worker, parts, n, lim, &c->theirs[0], err) != 0)
        return -1;
    if (pipe2(rp, O_CLOEXEC) != 0)
        return perr_errno(err, "extraction request: pipe");
    c->result = rp[0], c->theirs[1] = rp[1];
    if (pipe2(ep, O_CLOEXEC) != 0)
        return perr_errno(err, "extraction request: pipe");
    c->errp = ep[0], c->theirs[2] = ep[1];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
        return perr_errno(err, "extraction request: socketpair");
    c->status = sp[0], c->theirs[3] = sp[1];
    return 0;
}

/* Hand the server its descriptors (then close our copies of them, so the
 * pipes reach EOF when the child ends). */
static int send_call(extract_server *s, es_call_fds *c, perr *err)
{
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    if (s->gone || es_send_fds(s->control_fd, ES_REQUEST, c->theirs, ES_N_FDS) != 0)
        rc = gone_locked(s, err);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < ES_N_FDS; i++)
        close_fd(&c->theirs[i]);
    return rc;
}

/* Wait until deadline for the server's es_status: 1, 0 at the deadline, -1
 * when the server closed the socket without one (it is gone). */
static int read_status(int fd, double deadline, es_status *st)
{
    for (;;) {
        double left = deadline - monotonic_seconds();
        if (left <= 0)
            return 0;
        struct pollfd p = { fd, POLLIN, 0 };
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            continue;
        ssize_t n = recv(fd, st, sizeof *st, MSG_WAITALL);
        if (n < 0 && errno == EINTR)
            continue;
        return n == (ssize_t)sizeof *st ? 1 : -1;
    }
}

static void ask_kill(int fd)
{
    char k = ES_KILL;
    (void)es_write_all(fd, &k, 1);
}

/* How the child ended: 0 with *st, or -1 when the server is gone. The
 * child is killed when the output was refused (kill_now) or when it has
 * not ended by the deadline. */
static int child_status(int fd, int kill_now, double deadline, es_status *st)
{
    int r = 0;
    if (!kill_now)
        r = read_status(fd, deadline, st);
    if (r == 0) {
        ask_kill(fd);
        r = read_status(fd, monotonic_seconds() + KILL_GRACE_S, st);
    }
    return r == 1 ? 0 : -1;
}

static struct rusage rusage_of(const es_status *st)
{
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    ru.ru_utime.tv_sec = (time_t)(st->utime_us / 1000000);
    ru.ru_utime.tv_usec = (suseconds_t)(st->utime_us % 1000000);
    ru.ru_stime.tv_sec = (time_t)(st->stime_us / 1000000);
    ru.ru_stime.tv_usec = (suseconds_t)(st->stime_us % 1000000);
    return ru;
}

/* After the request was sent: read, wait, classify (as sandbox_run does). */
static int collect(extract_server *s, es_call_fds *c, const sandbox_limits *lim, document **out, perr *err)
{
    sandbox_output o;
    memset(&o, 0, sizeof o);
    double deadline = monotonic_seconds() + lim->wall_seconds;
    int read_rc = sandbox_output_read(c->result, c->errp, lim, &deadline, &o);
    if (read_rc == 0)
        sandbox_output_parse(&o); /* while the child exits and the server reports it */
    es_status st;
    int rc;
    if (child_status(c->status, read_rc < 0, deadline, &st) != 0)
        rc = server_gone(s, err);
    else if (st.kind != ES_EXITED)
        rc = (errno = st.err_no, perr_errno(err, "extraction server: fork"));
    else {
        struct rusage ru = rusage_of(&st);
        rc = sandbox_outcome(&o, st.status, &ru, read_rc < 0 || st.killed, lim, out, err);
    }
    sandbox_output_free(&o);
    return rc;
}

static int call_parts(extract_server *s, sandbox_worker worker, const struct iovec *parts, int n,
                      const sandbox_limits *limits, document **out, perr *err)
{
    *out = NULL;
    sandbox_limits lim = sandbox_limits_resolve(limits);
    es_call_fds c = { -1, -1, -1, { -1, -1, -1, -1 } };
    int rc = open_call(worker, parts, n, &lim, &c, err);
    if (rc == 0)
        rc = send_call(s, &c, err);
    if (rc == 0)
        rc = collect(s, &c, &lim, out, err);
    close_call(&c);
    return rc;
}

int extract_server_call(extract_server *s, sandbox_worker worker, const void *arg, size_t arg_len,
                        const sandbox_limits *limits, document **out, perr *err)
{
    struct iovec part = { (void *)arg, arg_len };
    return call_parts(s, worker, &part, 1, limits, out, err);
}

/* ---- the extraction ---------------------------------------------------------------- */

/* extract_document's argument as bytes: this header, the password and a
 * NUL (when there is one), then the document. */
typedef struct es_extract_arg {
    uint64_t len, password_len;
    uint64_t max_input_bytes, max_text_bytes, max_entry_bytes;
    int32_t has_password, max_pages, max_depth, keep_running_lines;
    int32_t ocr, ocr_dpi, ocr_page_seconds;
    char ocr_languages[EXTRACT_OCR_LANGUAGES_MAX + 1];   /* "" = the default */
} es_extract_arg;

static int extract_arg_worker(void *arg, document **out, perr *err)
{
    es_extract_arg h;
    memcpy(&h, arg, sizeof h);
    const char *password = (const char *)arg + sizeof h;
    const char *data = password + (h.has_password ? h.password_len + 1 : 0);
    extract_options o = { .password = h.has_password ? password : NULL,
                          .max_input_bytes = (size_t)h.max_input_bytes,
                          .max_text_bytes = (size_t)h.max_text_bytes,
                          .max_pages = h.max_pages,
                          .max_entry_bytes = (size_t)h.max_entry_bytes,
                          .max_depth = h.max_depth,
                          .keep_running_lines = h.keep_running_lines,
                          .ocr = h.ocr, .ocr_dpi = h.ocr_dpi,
                          .progress_fd = SANDBOX_RESULT_FD, /* OCR'd pages extend the limits (sandbox.h) */
                          .ocr_page_cpu_seconds = h.ocr_page_seconds };
    h.ocr_languages[sizeof h.ocr_languages - 1] = '\0';
    o.ocr_languages = h.ocr_languages;
    return extract_document(data, (size_t)h.len, &o, out, err);
}

int extract_server_run(extract_server *s, const void *data, size_t len, const extract_options *opts,
                       const sandbox_limits *limits, document **out, perr *err)
{
    extract_options o = opts ? *opts : (extract_options){ 0 };
    es_extract_arg h = { .len = len, .password_len = o.password ? strlen(o.password) : 0,
                         .max_input_bytes = o.max_input_bytes, .max_text_bytes = o.max_text_bytes,
                         .max_entry_bytes = o.max_entry_bytes, .has_password = o.password != NULL,
                         .max_pages = o.max_pages, .max_depth = o.max_depth,
                         .keep_running_lines = o.keep_running_lines,
                         .ocr = o.ocr, .ocr_dpi = o.ocr_dpi,
                         .ocr_page_seconds = sandbox_limits_resolve(limits).ocr_page_seconds };
    if (o.ocr_languages && strlen(o.ocr_languages) >= sizeof h.ocr_languages)
        return perr_set(err, "OCR languages longer than %d bytes", EXTRACT_OCR_LANGUAGES_MAX);
    if (o.ocr_languages)
        memcpy(h.ocr_languages, o.ocr_languages, strlen(o.ocr_languages) + 1);
    struct iovec parts[3] = { { &h, sizeof h },
                              { (void *)(o.password ? o.password : ""), o.password ? h.password_len + 1 : 0 },
                              { (void *)data, len } };
    return call_parts(s, extract_arg_worker, parts, 3, limits, out, err);
}
