/* job_document.c — a job's document as bytes; paths are confined to the input root.
 *
 * A path is accepted only when, after resolving every symlink, it names a
 * regular file strictly below the resolved input root (prefix plus a '/'
 * boundary, so /data/in-other is not inside /data/in). ".." components are
 * refused outright. The file is opened with O_NOFOLLOW|O_NONBLOCK (a FIFO
 * cannot block us) and the opened descriptor's own path (/proc/self/fd) is
 * checked again, so a symlink swapped in after the check cannot redirect
 * the read outside the root.
 */
#include "pipeline/job.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int has_dotdot_component(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2) {
        int starts = p == path || p[-1] == '/';
        int ends = p[2] == '\0' || p[2] == '/';
        if (starts && ends)
            return 1;
    }
    return 0;
}

/* True when path is strictly below root (both canonical). */
static int is_inside(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return path[0] == '/' && path[1] != '\0';
    return strncmp(path, root, n) == 0 && path[n] == '/' && path[n + 1] != '\0';
}

static unsigned char *copy_bytes(const void *data, size_t len, perr *err)
{
    unsigned char *buf = malloc(len + 1);
    if (!buf) {
        perr_set(err, "out of memory");
        return NULL;
    }
    memcpy(buf, data, len);
    buf[len] = '\0';
    return buf;
}

/* Read an open regular file of at most JOB_DOCUMENT_MAX_BYTES. */
static int read_fd(int fd, const char *path, unsigned char **bytes, size_t *len, perr *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return perr_errno(err, "document.path %s", path);
    if (!S_ISREG(st.st_mode))
        return perr_set(err, "document.path %s is not a regular file", path);
    if ((unsigned long long)st.st_size > JOB_DOCUMENT_MAX_BYTES)
        return perr_set(err, "document.path %s is %lld bytes, more than the limit of %u",
                        path, (long long)st.st_size, JOB_DOCUMENT_MAX_BYTES);
    size_t cap = (size_t)st.st_size + 1, n = 0;
    unsigned char *buf = malloc(cap + 1);
    if (!buf)
        return perr_set(err, "out of memory");
    for (;;) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free(buf);
            return perr_errno(err, "reading document.path %s", path);
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n == cap) { /* the file grew while we read it */
            free(buf);
            return perr_set(err, "document.path %s changed while being read", path);
        }
    }
    buf[n] = '\0';
    *bytes = buf;
    *len = n;
    return 0;
}

/* The canonical path behind an open descriptor. */
static int fd_path(int fd, char out[PATH_MAX], perr *err)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, PATH_MAX - 1);
    if (n < 0)
        return perr_errno(err, "cannot verify the opened document path (%s)", link);
    out[n] = '\0';
    return 0;
}

static int load_path(const char *path, const char *input_root, unsigned char **bytes, size_t *len, perr *err)
{
    if (!input_root || !*input_root)
        return perr_set(err, "document.path is not allowed: [pipeline] input_root is not configured");
    if (has_dotdot_component(path))
        return perr_set(err, "document.path %s contains a \"..\" component", path);
    char root[PATH_MAX], real[PATH_MAX], opened[PATH_MAX];
    if (!realpath(input_root, root))
        return perr_errno(err, "input root %s", input_root);
    char *joined = NULL;
    if (path[0] != '/' && asprintf(&joined, "%s/%s", root, path) < 0)
        return perr_set(err, "out of memory");
    const char *full = joined ? joined : path;
    char *resolved = realpath(full, real);
    free(joined);
    if (!resolved)
        return perr_errno(err, "document.path %s", path);
    if (!is_inside(root, real))
        return perr_set(err, "document.path %s is outside the input root %s", path, root);
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return perr_errno(err, "document.path %s", path);
    int rc = fd_path(fd, opened, err);
    if (rc == 0 && !is_inside(root, opened))
        rc = perr_set(err, "document.path %s is outside the input root %s", path, root);
    if (rc == 0)
        rc = read_fd(fd, path, bytes, len, err);
    close(fd);
    return rc;
}

int job_load_document(const job *j, const char *input_root, unsigned char **bytes, size_t *len, perr *err)
{
    *bytes = NULL;
    *len = 0;
    switch (j->doc_kind) {
    case JOB_DOC_PATH:
        return load_path(j->path, input_root, bytes, len, err);
    case JOB_DOC_CONTENT:
        if (!(*bytes = copy_bytes(j->content, j->content_len, err)))
            return -1;
        *len = j->content_len;
        return 0;
    case JOB_DOC_TEXT:
        if (!(*bytes = copy_bytes(j->text, j->text_len, err)))
            return -1;
        *len = j->text_len;
        return 0;
    }
    return perr_set(err, "job has no document");
}
