/* test_lifecycle.c — signals reach the hooks from the lifecycle thread
 * (stop, reload, forced stop) and sd_notify messages reach NOTIFY_SOCKET. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/lifecycle.h"
#include "tests/support.h"

/* Signals aimed at the process may land on any thread that does not block
 * them, and the test runner has threads of its own; so the lifecycle runs in
 * a forked child (whose only thread blocks them first, as `serve` does) that
 * reports each hook call as one byte on a pipe: 's'top, 'r'eload, 'f'orce. */
static void child_hook(void *ctx, char what)
{
    int fd = *(int *)ctx;
    if (write(fd, &what, 1) != 1)
        _exit(3);
}
static void on_stop(void *ctx) { child_hook(ctx, 's'); }
static void on_reload(void *ctx) { child_hook(ctx, 'r'); }
static void on_force(void *ctx) { child_hook(ctx, 'f'); }

static pid_t spawn_lifecycle(long force_after_ms, int *read_fd)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        perr err;
        if (lifecycle_block_signals(&err) != 0)
            _exit(2);
        lifecycle_hooks h = {.on_stop = on_stop, .on_reload = on_reload, .on_force = on_force, .ctx = &fds[1],
                             .force_after_ms = force_after_ms};
        lifecycle *l;
        if (lifecycle_start(&l, &h, &err) != 0)
            _exit(2);
        if (write(fds[1], "R", 1) != 1)   /* ready for signals */
            _exit(3);
        sleep(10);   /* the parent kills us well before */
        _exit(4);
    }
    close(fds[1]);
    *read_fd = fds[0];
    char c = 0;
    cr_assert_eq(read(fds[0], &c, 1), 1);
    cr_assert_eq(c, 'R');
    return pid;
}

static char next_hook(int fd)
{
    char c = 0;
    cr_assert_eq(read(fd, &c, 1), 1, "hook not reported");
    return c;
}

static void end_child(pid_t pid, int fd)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(fd);
}

Test(lifecycle, signals_call_hooks_in_order)
{
    int fd;
    pid_t pid = spawn_lifecycle(0, &fd);
    kill(pid, SIGHUP);
    cr_assert_eq(next_hook(fd), 'r');
    kill(pid, SIGTERM);
    cr_assert_eq(next_hook(fd), 's');
    kill(pid, SIGINT);
    cr_assert_eq(next_hook(fd), 'f', "a second stop signal forces");
    end_child(pid, fd);
}

Test(lifecycle, force_after_grace)
{
    int fd;
    pid_t pid = spawn_lifecycle(200, &fd);
    kill(pid, SIGTERM);
    cr_assert_eq(next_hook(fd), 's');
    cr_assert_eq(next_hook(fd), 'f', "grace over forces");
    end_child(pid, fd);
}

/* Receive one datagram (with a 5 s timeout) as a string. */
static void recv_notify(int fd, char *buf, size_t cap)
{
    ssize_t n = recv(fd, buf, cap - 1, 0);
    cr_assert_gt(n, 0, "no sd_notify message");
    buf[n] = '\0';
}

Test(lifecycle, sd_notify_ready_watchdog_stopping)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char *path = sa.sun_path;
    cr_assert_lt(snprintf(path, sizeof sa.sun_path, "%s/notify.sock", test_tmpdir()), (int)sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "200000", 1);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);

    perr err;
    cr_assert_eq(lifecycle_block_signals(&err), 0, "%s", err.msg);
    lifecycle_hooks h = {0};
    lifecycle *l;
    cr_assert_eq(lifecycle_start(&l, &h, &err), 0, "%s", err.msg);
    cr_assert_eq(lifecycle_watchdog_interval_ms(l), 100, "half of WATCHDOG_USEC");
    char buf[256];
    recv_notify(fd, buf, sizeof buf);
    cr_assert_str_eq(buf, "WATCHDOG=1");
    lifecycle_notify_ready(l);
    int ready = 0;
    for (int i = 0; i < 10 && !ready; i++) {
        recv_notify(fd, buf, sizeof buf);
        ready = strcmp(buf, "READY=1") == 0;
    }
    cr_assert(ready, "READY=1 received");
    lifecycle_notify_stopping(l);
    int stopping = 0;
    for (int i = 0; i < 10 && !stopping; i++) {
        recv_notify(fd, buf, sizeof buf);
        stopping = strcmp(buf, "STOPPING=1") == 0;
    }
    cr_assert(stopping, "STOPPING=1 received");
    lifecycle_free(l);
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}
