/* sandbox_result.c — reading and classifying a sandboxed child's end (see sandbox_result.h). */
#include "extractors/sandbox_result.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/grow.h"
#include "common/monotonic.h"
#include "common/utf8.h"

#define READ_CHUNK 16384 /* bytes per read (drain loops to EAGAIN) */

static void keep_tail(sandbox_output *o, const char *buf, size_t n)
{
    if (n >= SANDBOX_STDERR_TAIL) {
        memcpy(o->tail, buf + n - SANDBOX_STDERR_TAIL, SANDBOX_STDERR_TAIL);
        o->tail_len = SANDBOX_STDERR_TAIL;
    } else {
        if (o->tail_len + n > SANDBOX_STDERR_TAIL) {
            size_t drop = o->tail_len + n - SANDBOX_STDERR_TAIL;
            memmove(o->tail, o->tail + drop, o->tail_len - drop);
            o->tail_len -= drop;
        }
        memcpy(o->tail + o->tail_len, buf, n);
        o->tail_len += n;
    }
    o->tail[o->tail_len] = '\0';
}

static void keep_result(sandbox_output *o, const char *buf, size_t n)
{
    while (o->result_len == 0 && n > 0 && buf[0] == 'P') { /* a page's OCR started */
        o->ocr_pages++;
        buf++;
        n--;
    }
    if (n == 0)
        return;
    if (o->result_len + n > SANDBOX_MAX_RESULT_BYTES) {
        o->too_large = 1;
        return;
    }
    o->result = xgrow_to(o->result, &o->result_cap, o->result_len + n + 1, 1, 65536);
    memcpy(o->result + o->result_len, buf, n);
    o->result_len += n;
    o->result[o->result_len] = '\0';
}

/* Read what is available on fd; returns 0 at EOF, 1 otherwise. */
static int drain(int fd, sandbox_output *o, int is_result)
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

int sandbox_ocr_extension(const sandbox_output *o, const sandbox_limits *lim)
{
    long long s = (long long)o->ocr_pages * lim->ocr_page_seconds;
    return s < lim->ocr_max_seconds ? (int)s : lim->ocr_max_seconds;
}

int sandbox_output_read(int result_fd, int err_fd, const sandbox_limits *lim, double *deadline, sandbox_output *o)
{
    double base = *deadline;
    fcntl(result_fd, F_SETFL, O_NONBLOCK);
    fcntl(err_fd, F_SETFL, O_NONBLOCK);
    struct pollfd fds[2] = { { result_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
    int open_fds = 2;
    while (open_fds > 0 && !o->too_large) {
        *deadline = base + sandbox_ocr_extension(o, lim);
        double left = *deadline - monotonic_seconds();
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

void sandbox_output_parse(sandbox_output *o)
{
    if (o->parsed || o->too_large || o->result_len < 1 || o->result[0] != 'D')
        return;
    o->parsed = 1;
    if (document_from_json(&o->doc, o->result + 1, &o->parse_err) < 0)
        perr_prefix(&o->parse_err, "extractor result");
}

void sandbox_output_free(sandbox_output *o)
{
    free(o->result);
    o->result = NULL;
    o->result_len = o->result_cap = 0;
    document_free(o->doc);
    o->doc = NULL;
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

/* Last non-empty line of the child's stderr (a copy in line), for context. */
static const char *last_line(const char *tail, char *line, size_t cap)
{
    size_t n = strlen(tail);
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
        n--;
    size_t start = n;
    while (start > 0 && tail[start - 1] != '\n')
        start--;
    size_t len = n - start < cap - 1 ? n - start : cap - 1;
    memcpy(line, tail + start, len);
    line[len] = '\0';
    return line;
}

static double cpu_seconds(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_stime.tv_sec +
           ((double)ru->ru_utime.tv_usec + (double)ru->ru_stime.tv_usec) / 1e6;
}

/* Turn a child that ended without a usable result into one error. */
static int child_failure(int status, const struct rusage *ru, const sandbox_output *o, const sandbox_limits *lim,
                         perr *err)
{
    if (mentions_memory(o->tail))
        return perr_set(err, "extractor exceeded memory limit (%d MB)", lim->memory_mb);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        int cpu_limit = lim->cpu_seconds + sandbox_ocr_extension(o, lim);
        if (sig == SIGXCPU || (sig == SIGKILL && cpu_seconds(ru) >= cpu_limit - 0.5))
            return perr_set(err, "extractor exceeded CPU limit (%d s)", cpu_limit);
        return perr_set(err, "extractor crashed (signal %d)", sig);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        char line[SANDBOX_STDERR_TAIL + 1];
        if (*last_line(o->tail, line, sizeof line))
            return perr_set(err, "extractor exited with status %d: %s", WEXITSTATUS(status), line);
        return perr_set(err, "extractor exited with status %d", WEXITSTATUS(status));
    }
    return perr_set(err, "extractor ended without a result");
}

/* Interpret the child's message: 'D' + JSON or 'E' + error text. A
 * document parsed ahead (sandbox_output_parse) is taken from o. */
static int parse_result(sandbox_output *o, document **out, perr *err)
{
    if (o->parsed) {
        *out = o->doc;
        o->doc = NULL;
        if (!*out)
            *err = o->parse_err;
        return *out ? 0 : -1;
    }
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

int sandbox_outcome(sandbox_output *o, int status, const struct rusage *ru, int killed,
                    const sandbox_limits *lim, document **out, perr *err)
{
    *out = NULL;
    if (o->too_large)
        return perr_set(err, "extractor output too large (over %zu bytes)", SANDBOX_MAX_RESULT_BYTES);
    if (killed && !(WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL))
        return perr_set(err, "extractor timed out after %d s", lim->wall_seconds + sandbox_ocr_extension(o, lim));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && o->result_len > 0)
        return parse_result(o, out, err);
    return child_failure(status, ru, o, lim, err);
}
