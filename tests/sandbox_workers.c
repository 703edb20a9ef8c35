/* sandbox_workers.c — extraction workers that misbehave on purpose (see sandbox_workers.h). */
#include "tests/sandbox_workers.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/utf8.h"
#include "extractors/sandbox_child.h"

int sandbox_test_good(void *arg, document **out, perr *err)
{
    (void)err;
    document *doc = document_new("text", "text/plain");
    document_set_title(doc, arg);
    document_add_paragraph(doc, "hello from the child", 0);
    *out = doc;
    return 0;
}

int sandbox_test_crashing(void *arg, document **out, perr *err)
{
    (void)arg, (void)out, (void)err;
    signal(SIGSEGV, SIG_DFL); /* bypass the sanitizer's own handler */
    raise(SIGSEGV);
    return -1;
}

int sandbox_test_crashing_after_result(void *arg, document **out, perr *err)
{
    document *doc = NULL;
    if (sandbox_test_good(arg, &doc, err) == 0) {
        char *json = document_to_json(doc, 0);
        if (write(SANDBOX_RESULT_FD, "D", 1) != 1 || write(SANDBOX_RESULT_FD, json, strlen(json)) < 0)
            _exit(3);
        free(json);
    }
    return sandbox_test_crashing(arg, out, err);
}

int sandbox_test_silent_sleeping(void *arg, document **out, perr *err)
{
    close(SANDBOX_RESULT_FD);
    close(1);
    close(2);
    return sandbox_test_sleeping(arg, out, err);
}

int sandbox_test_sleeping(void *arg, document **out, perr *err)
{
    (void)arg, (void)out, (void)err;
    for (;;)
        pause();
    return -1;
}

int sandbox_test_looping(void *arg, document **out, perr *err)
{
    (void)arg, (void)out, (void)err;
    volatile unsigned long spin = 0;
    for (;;)
        spin++;
    return -1;
}

int sandbox_test_hungry(void *arg, document **out, perr *err)
{
    (void)arg, (void)out, (void)err;
    for (int i = 0; i < 256; i++) { /* up to 16 GB in 64 MB steps */
        char *p = xmalloc((size_t)64 << 20);
        memset(p, 1, (size_t)64 << 20);
    }
    return -1;
}

int sandbox_test_exiting(void *arg, document **out, perr *err)
{
    (void)arg, (void)out, (void)err;
    fprintf(stderr, "something went wrong inside\n");
    fflush(stderr);
    _exit(7);
}

int sandbox_test_fd_probe(void *arg, document **out, perr *err)
{
    (void)err;
    int fd;
    memcpy(&fd, arg, sizeof fd);
    document *doc = document_new("text", "text/plain");
    document_add_paragraph(doc, fcntl(fd, F_GETFD) == -1 ? "closed" : "open", 0);
    *out = doc;
    return 0;
}
