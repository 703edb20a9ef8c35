/* extract_server_wire.h — what passes between a caller of the extraction
 * server, the server and the children it forks (internal to extractors/).
 *
 * A request is ONE message on the control socket (AF_UNIX SOCK_SEQPACKET):
 * the byte 'R' and four descriptors passed with SCM_RIGHTS:
 *   [0] a sealed-by-convention memfd: es_request_header, then arg_len bytes
 *       (the worker's argument, copied into the child's address space)
 *   [1] the write end of the result pipe   (the child's fd 3)
 *   [2] the write end of the stderr pipe   (the child's fds 1 and 2)
 *   [3] the server's end of a private SOCK_STREAM status socket
 * The caller keeps the read ends and the other end of the status socket.
 * On the status socket the caller may send 'K' (kill the child now: the
 * deadline passed); closing it means the same. The server answers with one
 * es_status when it has reaped the child (or could not fork), then closes.
 * The worker travels as its address: the server is a fork of this program,
 * so the address means the same function there.
 */
#ifndef PRECIS_EXTRACT_SERVER_WIRE_H
#define PRECIS_EXTRACT_SERVER_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/error.h"
#include "extractors/sandbox.h"

#define ES_MAGIC     0x50524543u  /* "PREC" */
#define ES_REQUEST   'R'
#define ES_KILL      'K'
#define ES_N_FDS     4

typedef struct es_request_header {
    uint32_t magic;
    int32_t memory_mb, cpu_seconds, wall_seconds;  /* resolved */
    int32_t ocr_page_seconds, ocr_max_seconds;     /* resolved */
    unsigned char worker[sizeof(sandbox_worker)];
    uint64_t arg_len;
} es_request_header;

enum { ES_EXITED = 1, ES_NOT_STARTED = 2 };

typedef struct es_status {
    int32_t kind;          /* ES_EXITED or ES_NOT_STARTED */
    int32_t status;        /* ES_EXITED: the wait status */
    int32_t killed;        /* ES_EXITED: the server killed it on request */
    int32_t err_no;        /* ES_NOT_STARTED: why (errno of fork) */
    int64_t utime_us, stime_us;
} es_status;

/* A new memfd holding the request: header, then the n parts of the
 * argument back to back. */
int es_request_create(sandbox_worker worker, const struct iovec *parts, int n, const sandbox_limits *lim,
                      int *fd_out, perr *err);

/* In the child: map the request; *arg points to its argument bytes. */
int es_request_map(int fd, sandbox_worker *worker, void **arg, sandbox_limits *lim);

/* One SEQPACKET message: tag + n descriptors. MSG_NOSIGNAL. 0 or -1 (errno). */
int es_send_fds(int sock, char tag, const int *fds, int n);

/* Receive one message: 1 with tag and exactly n descriptors (others
 * closed, missing ones -1), 0 at EOF, -1 on error (errno). */
int es_recv_fds(int sock, char *tag, int *fds, int n);

/* Send a whole buffer on a blocking socket (MSG_NOSIGNAL); 0 or -1. */
int es_write_all(int fd, const void *buf, size_t len);

#endif
