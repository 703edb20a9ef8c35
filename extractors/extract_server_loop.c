/* extract_server_loop.c — the single-threaded extraction server process (see extract_server_loop.h). */
#include "extractors/extract_server_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/grow.h"
#include "extractors/extract_server_wire.h"
#include "extractors/pdf/pdf_warm.h"
#include "extractors/sandbox_child.h"

/* One running child and the caller waiting for it. */
typedef struct es_child {
    pid_t pid;
    int status_fd;
    int watching;     /* still polling status_fd for 'K' or EOF */
    int killed;       /* SIGKILLed on the caller's request */
} es_child;

typedef struct es_server {
    int control_fd, signal_fd;
    es_child *children;
    size_t n, cap;
} es_server;

/* ---- set-up ------------------------------------------------------------------ */

/* stdin and stdout on /dev/null, stderr kept, every other descriptor but
 * the control socket closed (Kafka sockets, the database, the test
 * runner's pipes: nothing of the parent's stays open here). */
static void close_inherited(int control_fd)
{
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        if (null_fd > 2)
            close(null_fd);
    }
    if (control_fd > 3)
        close_range(3, (unsigned)control_fd - 1, 0);
    close_range((unsigned)control_fd + 1, ~0U, 0);
}

static int open_signalfd(void)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    return signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* ---- children ---------------------------------------------------------------- */

static void send_status(int fd, const es_status *st)
{
    if (fd >= 0)
        (void)es_write_all(fd, st, sizeof *st);
}

/* In the forked child: never returns. */
static _Noreturn void run_child(int fds[ES_N_FDS], pid_t server)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != server) /* the server died before prctl */
        _exit(127);
    sandbox_worker worker;
    void *arg;
    sandbox_limits lim;
    if (es_request_map(fds[0], &worker, &arg, &lim) != 0) {
        static const char msg[] = "extraction server: malformed request\n";
        (void)!write(fds[2], msg, sizeof msg - 1);
        _exit(126);
    }
    sandbox_child_main(worker, arg, &lim, fds[1], fds[2]);
}

static void add_child(es_server *s, pid_t pid, int status_fd)
{
    es_child *grown = grow_to(s->children, &s->cap, s->n + 1, sizeof *grown, 16);
    if (!grown) { /* cannot track it: kill it, its caller sees EOF */
        kill(pid, SIGKILL);
        close(status_fd);
        return;
    }
    s->children = grown;
    s->children[s->n++] = (es_child){ .pid = pid, .status_fd = status_fd, .watching = 1 };
}

/* One request: fork its child, keep its status socket. */
static void start_request(es_server *s, int fds[ES_N_FDS])
{
    pid_t server = getpid();
    pid_t pid = fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0 && fds[3] >= 0 ? fork() : (errno = EBADMSG, -1);
    if (pid == 0)
        run_child(fds, server);
    int fork_errno = errno;
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (pid < 0) {
        es_status st = { .kind = ES_NOT_STARTED, .err_no = fork_errno };
        send_status(fds[3], &st);
        if (fds[3] >= 0)
            close(fds[3]);
        return;
    }
    add_child(s, pid, fds[3]);
}

static int64_t usec(struct timeval tv)
{
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* A child has been reaped: tell its caller, forget it. */
static void child_ended(es_server *s, pid_t pid, int status, const struct rusage *ru)
{
    for (size_t i = 0; i < s->n; i++) {
        es_child *c = &s->children[i];
        if (c->pid != pid)
            continue;
        es_status st = { .kind = ES_EXITED, .status = status, .killed = c->killed,
                         .utime_us = usec(ru->ru_utime), .stime_us = usec(ru->ru_stime) };
        send_status(c->status_fd, &st);
        close(c->status_fd);
        s->children[i] = s->children[--s->n];
        return;
    }
}

/* Reap every child that has ended (blocking: until none is left). */
static void reap(es_server *s, int block)
{
    for (;;) {
        int status;
        struct rusage ru;
        pid_t pid = wait4(-1, &status, block ? 0 : WNOHANG, &ru);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        child_ended(s, pid, status, &ru);
    }
}

/* The caller sent 'K' or closed its end: kill the child (reaped later). */
static void caller_spoke(es_child *c)
{
    char b;
    ssize_t n = recv(c->status_fd, &b, 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    c->watching = 0;
    if (!c->killed && kill(c->pid, SIGKILL) == 0)
        c->killed = 1;
}

/* ---- the loop ---------------------------------------------------------------- */

static void drain_signalfd(int fd)
{
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) > 0) {
    }
}

static _Noreturn void shut_down(es_server *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (kill(s->children[i].pid, SIGKILL) == 0)
            s->children[i].killed = 1;
    reap(s, 1);
    _exit(0);
}

/* The control socket is readable: a request, or EOF (shut down). */
static void control_ready(es_server *s)
{
    char tag = 0;
    int fds[ES_N_FDS];
    int r = es_recv_fds(s->control_fd, &tag, fds, ES_N_FDS);
    if (r == 0 || (r < 0 && errno != EAGAIN))
        shut_down(s);
    if (r < 0)
        return;
    if (tag == ES_REQUEST) {
        start_request(s, fds);
        return;
    }
    for (int i = 0; i < ES_N_FDS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void serve_once(es_server *s, struct pollfd *pfd, size_t *who)
{
    size_t n = 0;
    pfd[n++] = (struct pollfd){ s->control_fd, POLLIN, 0 };
    pfd[n++] = (struct pollfd){ s->signal_fd, POLLIN, 0 };
    for (size_t i = 0; i < s->n; i++)
        if (s->children[i].watching) {
            who[n] = i;
            pfd[n++] = (struct pollfd){ s->children[i].status_fd, POLLIN, 0 };
        }
    if (poll(pfd, n, -1) < 0)
        return;
    for (size_t k = 2; k < n; k++) /* first: the table does not move */
        if (pfd[k].revents)
            caller_spoke(&s->children[who[k]]);
    if (pfd[1].revents) {
        drain_signalfd(s->signal_fd);
        reap(s, 0);
    }
    if (pfd[0].revents)
        control_ready(s);
}

_Noreturn void es_server_main(int control_fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
    signal(SIGPIPE, SIG_IGN);
    close_inherited(control_fd);
    pdf_warm *warm = pdf_warm_up(); /* every child starts with poppler set up (pdf_warm.h) */
    (void)warm;                     /* held for the server's life: this never returns */
    es_server s = { .control_fd = control_fd, .signal_fd = open_signalfd() };
    if (s.signal_fd < 0)
        _exit(1);
    for (;;) {
        struct pollfd *pfd = calloc(s.n + 2, sizeof *pfd);
        size_t *who = calloc(s.n + 2, sizeof *who);
        if (pfd && who)
            serve_once(&s, pfd, who);
        free(pfd);
        free(who);
    }
}
