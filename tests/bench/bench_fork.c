/* bench_fork.c — what a document's sandboxed extraction costs in a process
 * that holds a model (not a test).
 *
 * Starts the extraction server first (as `precis serve` and `precis run`
 * do), then, at each stage — no model; the GGUF loaded (a read-only file
 * mapping); its weights packed (anonymous memory, [engine] pack_weights) —
 * times, interleaved, REPS times each:
 *   fork    fork() + _exit(0) + waitpid() of this process (the floor);
 *   direct  sandbox_extract of PDF: a limited child forked from this process
 *           (what a caller without the server pays);
 *   server  extract_server_run of PDF: the child is forked from the server,
 *           which never maps the model.
 * Prints the median milliseconds of each and the process's VmRSS and VmPTE
 * (page tables) at that stage.
 *
 *   bench-fork MODEL.gguf PDF [REPS]
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/monotonic.h"
#include "engine/model.h"
#include "extractors/extract_server.h"
#include "extractors/sandbox.h"

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return v[n / 2];
}

static double time_fork(void)
{
    double t0 = monotonic_seconds();
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return monotonic_seconds() - t0;
}

typedef struct input {
    const char *data;
    size_t len;
    extract_server *server;
} input;

static double time_extract(const input *in, int via_server)
{
    document *doc = NULL;
    perr err = { { 0 } };
    double t0 = monotonic_seconds();
    int rc = via_server ? extract_server_run(in->server, in->data, in->len, NULL, NULL, &doc, &err)
                        : sandbox_extract(in->data, in->len, NULL, NULL, &doc, &err);
    double t = monotonic_seconds() - t0;
    if (rc != 0)
        fprintf(stderr, "bench-fork: extraction failed: %s\n", err.msg);
    document_free(doc);
    return t;
}

/* "VmRSS 123 MiB, VmPTE 4 KiB"-style figures from /proc/self/status. */
static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            v = atol(line + n + 1);
    if (f)
        fclose(f);
    return v;
}

static void stage(const char *name, const input *in, int reps)
{
    double *f = g_new(double, reps), *d = g_new(double, reps), *s = g_new(double, reps);
    for (int i = 0; i < reps; i++) {
        f[i] = time_fork();
        d[i] = time_extract(in, 0);
        s[i] = time_extract(in, 1);
    }
    printf("| %s | %.0f MiB | %ld KiB | %.2f | %.2f | %.2f |\n", name, status_kib("VmRSS") / 1024.0,
           status_kib("VmPTE"), 1000 * median(f, reps), 1000 * median(d, reps), 1000 * median(s, reps));
    fflush(stdout);
    g_free(f);
    g_free(d);
    g_free(s);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench-fork MODEL.gguf PDF [REPS]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 11;
    input in = { 0 };
    perr err = { { 0 } };
    if (extract_server_start(&in.server, &err) != 0) { /* first, as serve and run */
        fprintf(stderr, "bench-fork: %s\n", err.msg);
        return 1;
    }
    gchar *data;
    gsize len;
    if (!g_file_get_contents(argv[2], &data, &len, NULL)) {
        fprintf(stderr, "bench-fork: cannot read %s\n", argv[2]);
        return 1;
    }
    in.data = data;
    in.len = len;
    printf("| stage | VmRSS | VmPTE | fork+exit ms | sandbox_extract (fork of this process) ms | "
           "extraction server ms |\n|---|---|---|---|---|---|\n");
    stage("no model", &in, reps);
    model *m = NULL;
    if (model_load(&m, argv[1], &err) != 0) {
        fprintf(stderr, "bench-fork: %s\n", err.msg);
        return 1;
    }
    char name[128];
    /* Fault the whole mapping in, as inference does. */
    volatile unsigned char sink = 0;
    for (int64_t i = 0; i < gguf_n_tensors(m->gguf); i++) {
        const gguf_tensor *t = gguf_tensor_at(m->gguf, i);
        for (size_t off = 0; off < t->nbytes; off += 4096)
            sink ^= ((const unsigned char *)t->data)[off];
    }
    snprintf(name, sizeof name, "GGUF mapped and read (%.0f MiB file)", gguf_file_size(m->gguf) / 1048576.0);
    stage(name, &in, reps);
    if (model_pack_weights(m, MODEL_PACK_ON, &err) != 0) {
        fprintf(stderr, "bench-fork: %s\n", err.msg);
        return 1;
    }
    snprintf(name, sizeof name, "GGUF + packed weights (%.0f MiB anonymous)", m->packed_mapped / 1048576.0);
    stage(name, &in, reps);
    model_free(m);
    extract_server_stop(in.server);
    g_free(data);
    return 0;
}
