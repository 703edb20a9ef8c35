/* bench_extract.c — PDF extraction speed, side by side (not a test).
 *
 * Over every *.pdf of DIR, ROUNDS times, interleaved file by file (so both
 * see the same machine state):
 *   pdftotext      `pdftotext -enc UTF-8 FILE -` to /dev/null, one process
 *                  per file (poppler's own tool);
 *   server         the daemon's path: the file read, then extract_server_run
 *                  (a sandboxed child forked from the extraction server,
 *                  the document back as JSON and parsed), one process;
 *   precis extract with PRECIS given: `PRECIS extract FILE` to /dev/null,
 *                  one process per file (the CLI).
 * Pages are the documents' page counts (from the server's extraction).
 * Prints a table (with --per-file, each file's pages and milliseconds per
 * round too), or with --json one JSON object (tests/bench/bench.sh).
 *
 *   bench-extract DIR [ROUNDS] [PRECIS] [--json | --per-file]
 */
#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/monotonic.h"
#include "extractors/extract_server.h"

/* Wall seconds of argv run with stdout and stderr to /dev/null; -1 if it failed. */
static double time_process(char *const argv[])
{
    double t0 = monotonic_seconds();
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    double t = monotonic_seconds() - t0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? t : -1;
}

/* Wall seconds of reading path and extracting it through the server; its
 * page count in *pages. -1 on failure. */
static double time_server(extract_server *s, const char *path, int *pages)
{
    double t0 = monotonic_seconds();
    gchar *data;
    gsize len;
    if (!g_file_get_contents(path, &data, &len, NULL))
        return -1;
    document *doc = NULL;
    perr err = { { 0 } };
    int rc = extract_server_run(s, data, len, NULL, NULL, &doc, &err);
    double t = monotonic_seconds() - t0;
    g_free(data);
    if (rc != 0) {
        fprintf(stderr, "bench-extract: %s: %s\n", path, err.msg);
        return -1;
    }
    *pages = doc->pages;
    document_free(doc);
    return t;
}

static gint by_name(gconstpointer a, gconstpointer b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static GPtrArray *list_pdfs(const char *dir)
{
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    DIR *d = opendir(dir);
    if (!d)
        return paths;
    for (struct dirent *e; (e = readdir(d));)
        if (g_str_has_suffix(e->d_name, ".pdf"))
            g_ptr_array_add(paths, g_build_filename(dir, e->d_name, NULL));
    closedir(d);
    g_ptr_array_sort(paths, by_name);
    return paths;
}

typedef struct tally {
    double seconds;
    int failed;
} tally;

static void add(tally *t, double s)
{
    if (s < 0)
        t->failed++;
    else
        t->seconds += s;
}

int main(int argc, char **argv)
{
    int json = argc > 1 && strcmp(argv[argc - 1], "--json") == 0;
    int per_file = argc > 1 && strcmp(argv[argc - 1], "--per-file") == 0;
    if (json || per_file)
        argc--;
    if (argc < 2) {
        fprintf(stderr, "usage: bench-extract DIR [ROUNDS] [PRECIS] [--json | --per-file]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    const char *precis = argc > 3 ? argv[3] : NULL;
    extract_server *server;
    perr err = { { 0 } };
    if (extract_server_start(&server, &err) < 0) {
        fprintf(stderr, "bench-extract: %s\n", err.msg);
        return 1;
    }
    GPtrArray *paths = list_pdfs(argv[1]);
    tally pdftotext = { 0 }, served = { 0 }, cli = { 0 };
    tally *file_ref = g_new0(tally, paths->len), *file_srv = g_new0(tally, paths->len);
    int *file_pages = g_new0(int, paths->len);
    long pages = 0;
    for (int r = 0; r < (rounds > 0 ? rounds : 1); r++) {
        for (guint i = 0; i < paths->len; i++) {
            char *path = paths->pdata[i];
            char *ref[] = { "pdftotext", "-enc", "UTF-8", path, "-", NULL };
            double t = time_process(ref);
            add(&pdftotext, t);
            add(&file_ref[i], t);
            int n = 0;
            t = time_server(server, path, &n);
            add(&served, t);
            add(&file_srv[i], t);
            file_pages[i] = n;
            pages += n;
            if (precis) {
                char *ext[] = { (char *)precis, "extract", path, NULL };
                add(&cli, time_process(ext));
            }
        }
    }
    extract_server_stop(server);
    if (json) {
        printf("{\"files\": %u, \"rounds\": %d, \"pages\": %ld, \"pdftotext_s\": %.4f, \"server_s\": %.4f, "
               "\"cli_s\": %.4f, \"failed\": %d}\n",
               paths->len, rounds, pages, pdftotext.seconds, served.seconds, precis ? cli.seconds : 0.0,
               pdftotext.failed + served.failed + cli.failed);
    } else {
        printf("%u PDFs, %ld pages over %d rounds\n", paths->len, pages, rounds);
        printf("| tool | seconds | pages/s | vs pdftotext |\n|---|---|---|---|\n");
        double ref = pages / pdftotext.seconds;
        printf("| pdftotext, one process per file | %.3f | %.1f | 1.00 |\n", pdftotext.seconds, ref);
        printf("| precis, extraction server (daemon path) | %.3f | %.1f | %.2f |\n", served.seconds,
               pages / served.seconds, pages / served.seconds / ref);
        if (precis)
            printf("| precis extract, one process per file | %.3f | %.1f | %.2f |\n", cli.seconds,
                   pages / cli.seconds, pages / cli.seconds / ref);
        if (per_file) {
            printf("\n| file | pages | pdftotext ms | server ms | ratio |\n|---|---|---|---|---|\n");
            for (guint i = 0; i < paths->len; i++)
                printf("| %s | %d | %.1f | %.1f | %.2f |\n", strrchr(paths->pdata[i], '/') + 1, file_pages[i],
                       1000 * file_ref[i].seconds / rounds, 1000 * file_srv[i].seconds / rounds,
                       file_ref[i].seconds / file_srv[i].seconds);
        }
        if (pdftotext.failed + served.failed + cli.failed)
            printf("failures: pdftotext %d, server %d, precis extract %d\n", pdftotext.failed, served.failed,
                   cli.failed);
    }
    g_free(file_ref);
    g_free(file_srv);
    g_free(file_pages);
    g_ptr_array_free(paths, TRUE);
    return 0;
}
