/* cmd_extract.c — `precis extract FILE`: extract a document in the sandbox
 * and print its plain text or its structured JSON. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "extractors/extract.h"
#include "extractors/sandbox.h"

static int extract_run(int argc, char **argv);

const cli_command cmd_extract = {
    .name = "extract",
    .summary = "extract text from a PDF, XML, DOCX or text file (sandboxed)",
    .usage =
        "usage: precis extract FILE [--json] [--password P] [--timeout S] [--memory-mb M]\n"
        "\n"
        "Detects the type from the content (not the file name) and extracts in a\n"
        "child process with memory, CPU and time limits. Prints the plain text\n"
        "(paragraphs separated by blank lines) or, with --json, the structured\n"
        "document: title, authors, metadata, sections, paragraphs with ids, pages\n"
        "and offsets, full text and warnings. Warnings go to stderr.\n"
        "\n"
        "  --json            print the structured document as JSON\n"
        "  --password P      password of an encrypted PDF\n"
        "  --timeout S       wall-clock limit in seconds (default 30)\n"
        "  --memory-mb M     memory limit in MB (default 1024)\n"
        "  --cpu S           CPU-time limit in seconds (default 60)\n",
    .run = extract_run,
};

/* Whole file into memory (malloc'd); NULL with a message on failure. */
static char *read_input(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            if (cap >= EXTRACT_DEFAULT_MAX_INPUT) {
                fprintf(stderr, "precis extract: %s: file larger than %zu bytes\n", path, EXTRACT_DEFAULT_MAX_INPUT);
                free(buf);
                fclose(f);
                return NULL;
            }
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    int failed = ferror(f) || !buf;
    fclose(f);
    if (failed) {
        fprintf(stderr, "precis extract: %s: read failed\n", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int parse_positive(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0 || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

static int print_document(const document *doc, int json)
{
    for (size_t i = 0; i < doc->n_warnings; i++)
        fprintf(stderr, "precis extract: warning: %s\n", doc->warnings[i]);
    if (json) {
        char *s = document_to_json(doc, 1);
        puts(s);
        free(s);
    } else if (doc->full_text_len) {
        puts(doc->full_text);
    }
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static int extract_run(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "json", no_argument, NULL, 'j' },          { "password", required_argument, NULL, 'p' },
        { "timeout", required_argument, NULL, 't' }, { "memory-mb", required_argument, NULL, 'm' },
        { "cpu", required_argument, NULL, 'c' },     { NULL, 0, NULL, 0 },
    };
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_extract, stdout);
        return EXIT_OK;
    }
    int json = 0, opt;
    extract_options opts = { 0 };
    sandbox_limits limits = { 0, 0, 0 };
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (opt == 'j')
            json = 1;
        else if (opt == 'p')
            opts.password = optarg;
        else if (opt == 't' && parse_positive(optarg, &limits.wall_seconds) == 0)
            continue;
        else if (opt == 'm' && parse_positive(optarg, &limits.memory_mb) == 0)
            continue;
        else if (opt == 'c' && parse_positive(optarg, &limits.cpu_seconds) == 0)
            continue;
        else if (opt == 't' || opt == 'm' || opt == 'c')
            return cli_usage_error(&cmd_extract, "'%s' is not a positive whole number", optarg);
        else
            return cli_usage_error(&cmd_extract, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return cli_usage_error(&cmd_extract, "expected exactly one FILE");
    size_t len = 0;
    char *data = read_input(argv[optind], &len);
    if (!data)
        return EXIT_FAIL;
    document *doc = NULL;
    perr err = { { 0 } };
    int rc = sandbox_extract(data, len, &opts, &limits, &doc, &err);
    free(data);
    if (rc < 0) {
        fprintf(stderr, "precis extract: %s: %s\n", argv[optind], err.msg);
        return EXIT_FAIL;
    }
    rc = print_document(doc, json);
    document_free(doc);
    return rc;
}
