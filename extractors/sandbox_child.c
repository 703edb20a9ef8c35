/* sandbox_child.c — the limited child's side of an extraction (see sandbox_child.h). */
#include "extractors/sandbox_child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

sandbox_limits sandbox_limits_resolve(const sandbox_limits *limits)
{
    sandbox_limits l = { 0 };
    if (limits)
        l = *limits;
    if (l.memory_mb <= 0)
        l.memory_mb = SANDBOX_DEFAULT_MEMORY_MB;
    if (l.cpu_seconds <= 0)
        l.cpu_seconds = SANDBOX_DEFAULT_CPU_S;
    if (l.wall_seconds <= 0)
        l.wall_seconds = SANDBOX_DEFAULT_WALL_S;
    if (l.ocr_page_seconds <= 0)
        l.ocr_page_seconds = SANDBOX_DEFAULT_OCR_PAGE_S;
    if (l.ocr_max_seconds <= 0)
        l.ocr_max_seconds = SANDBOX_DEFAULT_OCR_MAX_S;
    return l;
}

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
    /* Soft: the base limit, raised per OCR'd page by the child itself
     * (extract_ocr_page_started); hard: the most OCR can add. */
    struct rlimit cpu = { (rlim_t)lim->cpu_seconds, (rlim_t)lim->cpu_seconds + (rlim_t)lim->ocr_max_seconds + 1 };
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

/* The worker's outcome on fd 3: 'D' + JSON, or 'E' + message. */
static int write_outcome(int rc, document *doc, perr *err)
{
    if (rc == 0 && doc) {
        char *json = document_to_json_compact(doc);
        int wrc = json && write_all(3, "D", 1) == 0 && write_all(3, json, strlen(json)) == 0 ? 0 : -1;
        free(json);
        return wrc;
    }
    if (!err->msg[0])
        perr_set(err, "extraction failed");
    return write_all(3, "E", 1) == 0 && write_all(3, err->msg, strlen(err->msg)) == 0 ? 0 : -1;
}

_Noreturn void sandbox_child_main(sandbox_worker worker, void *arg, const sandbox_limits *lim, int result_fd,
                                  int err_fd)
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
    int wrc = write_outcome(rc, doc, &err);
    /* The parent reads until every output pipe is closed: close them now
     * rather than when the exiting process releases its memory. */
    close(SANDBOX_RESULT_FD);
    close(1);
    close(2);
    _exit(wrc == 0 ? 0 : 1); /* the document goes with the process: no need to free it */
}
