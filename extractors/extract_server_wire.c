/* extract_server_wire.c — requests in memfds, descriptors over sockets (see extract_server_wire.h). */
#include "extractors/extract_server_wire.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t parts_len(const struct iovec *parts, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += parts[i].iov_len;
    return total;
}

int es_request_create(sandbox_worker worker, const struct iovec *parts, int n, const sandbox_limits *lim,
                      int *fd_out, perr *err)
{
    es_request_header h = { .magic = ES_MAGIC, .memory_mb = lim->memory_mb, .cpu_seconds = lim->cpu_seconds,
                            .wall_seconds = lim->wall_seconds, .ocr_page_seconds = lim->ocr_page_seconds,
                            .ocr_max_seconds = lim->ocr_max_seconds, .arg_len = parts_len(parts, n) };
    memcpy(h.worker, &worker, sizeof worker);
    size_t total = sizeof h + (size_t)h.arg_len;
    int fd = memfd_create("precis-extract-request", MFD_CLOEXEC);
    if (fd < 0)
        return perr_errno(err, "extraction request: memfd_create");
    if (ftruncate(fd, (off_t)total) != 0) {
        perr_errno(err, "extraction request: %zu bytes", total);
        close(fd);
        return -1;
    }
    unsigned char *map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        perr_errno(err, "extraction request: mmap %zu bytes", total);
        close(fd);
        return -1;
    }
    memcpy(map, &h, sizeof h);
    size_t at = sizeof h;
    for (int i = 0; i < n; i++) {
        if (parts[i].iov_len)
            memcpy(map + at, parts[i].iov_base, parts[i].iov_len);
        at += parts[i].iov_len;
    }
    munmap(map, total);
    *fd_out = fd;
    return 0;
}

int es_request_map(int fd, sandbox_worker *worker, void **arg, sandbox_limits *lim)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(es_request_header))
        return -1;
    unsigned char *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return -1;
    es_request_header h;
    memcpy(&h, map, sizeof h);
    if (h.magic != ES_MAGIC || h.arg_len != (uint64_t)st.st_size - sizeof h)
        return -1;
    memcpy(worker, h.worker, sizeof *worker);
    *arg = map + sizeof h;
    *lim = (sandbox_limits){ .memory_mb = h.memory_mb, .cpu_seconds = h.cpu_seconds,
                             .wall_seconds = h.wall_seconds, .ocr_page_seconds = h.ocr_page_seconds,
                             .ocr_max_seconds = h.ocr_max_seconds };
    return 0;
}

int es_send_fds(int sock, char tag, const int *fds, int n)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * ES_N_FDS)];
    } ctl;
    if (n > ES_N_FDS)
        return errno = EINVAL, -1;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = { &tag, 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                          .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
    for (;;) {
        ssize_t r = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (r == 1)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

/* Take the descriptors of every SCM_RIGHTS header: the first n into fds,
 * the rest closed. */
static void take_fds(struct msghdr *msg, int *fds, int n)
{
    int got = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (got < n)
                fds[got++] = fd;
            else
                close(fd);
        }
    }
}

int es_recv_fds(int sock, char *tag, int *fds, int n)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * ES_N_FDS * 2)];
    } ctl;
    for (int i = 0; i < n; i++)
        fds[i] = -1;
    struct iovec iov = { tag, 1 };
    for (;;) {
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                              .msg_controllen = sizeof ctl.buf };
        ssize_t r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? 0 : -1;
        take_fds(&msg, fds, n);
        return 1;
    }
}

int es_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
