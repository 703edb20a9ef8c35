/* cmd_extract.c — `precis extract FILE`: extract a document in the sandbox
 * and print its plain text or its structured JSON. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#include "cli/cli.h"
#include "daemon/config.h"
#include "daemon/pipeline_setup.h"
#include "extractors/extract.h"
#include "extractors/pdf/pdf_ocr.h"
#include "extractors/sandbox.h"

static int extract_run(int argc, char **argv);

const cli_command cmd_extract = {
    .name = "extract",
    .summary = "extract text from a PDF, XML, DOCX or text file (sandboxed)",
    .usage =
        "usage: precis extract FILE [--json] [--password P] [--timeout S] [--memory-mb M]\n"
        "                      [--cpu S] [--ocr auto|off|force] [--ocr-languages L] [--ocr-dpi N]\n"
        "                      [-c FILE]\n"
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
        "  --cpu S           CPU-time limit in seconds (default 60)\n"
        "  --ocr MODE        PDF pages recognised by OCR (Tesseract): auto = those\n"
        "                    without a text layer, force = every page, off = none\n"
        "                    (default: [pipeline] ocr of the configuration, auto)\n"
        "  --ocr-languages L Tesseract languages joined by +, e.g. eng+fra (default\n"
        "                    [pipeline] ocr_languages, eng)\n"
        "  --ocr-dpi N       resolution pages are rendered at for OCR, 70..600\n"
        "                    (default [pipeline] ocr_dpi, 300)\n"
        "  -c, --config FILE configuration whose [pipeline] ocr* keys apply (default\n"
        "                    /etc/precis/precis.conf if present)\n"
        "\n"
        "OCR'd paragraphs carry \"ocr\": true and \"ocr_confidence\" (0..100) in\n"
        "--json, and a warning names the pages read by OCR.\n",
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

/* What the command line asked for. */
typedef struct extract_args {
    int json;
    const char *config_path;
    const char *ocr_mode, *ocr_languages, *ocr_dpi;
    extract_options opts;
    sandbox_limits limits;
} extract_args;

/* Options into *a; -1 after printing the usage error (its exit code in *rc). */
static int parse_args(int argc, char **argv, extract_args *a, int *rc)
{
    static const struct option long_opts[] = {
        { "json", no_argument, NULL, 'j' },          { "password", required_argument, NULL, 'p' },
        { "timeout", required_argument, NULL, 't' }, { "memory-mb", required_argument, NULL, 'm' },
        { "cpu", required_argument, NULL, 'c' },     { "ocr", required_argument, NULL, 'o' },
        { "ocr-languages", required_argument, NULL, 'l' }, { "ocr-dpi", required_argument, NULL, 'd' },
        { "config", required_argument, NULL, 'C' },  { NULL, 0, NULL, 0 },
    };
    int opt;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "C:", long_opts, NULL)) != -1) {
        if (opt == 'j')
            a->json = 1;
        else if (opt == 'p')
            a->opts.password = optarg;
        else if (opt == 'o')
            a->ocr_mode = optarg;
        else if (opt == 'l')
            a->ocr_languages = optarg;
        else if (opt == 'd')
            a->ocr_dpi = optarg;
        else if (opt == 'C')
            a->config_path = optarg;
        else if (opt == 't' && parse_positive(optarg, &a->limits.wall_seconds) == 0)
            continue;
        else if (opt == 'm' && parse_positive(optarg, &a->limits.memory_mb) == 0)
            continue;
        else if (opt == 'c' && parse_positive(optarg, &a->limits.cpu_seconds) == 0)
            continue;
        else if (opt == 't' || opt == 'm' || opt == 'c')
            return *rc = cli_usage_error(&cmd_extract, "'%s' is not a positive whole number", optarg), -1;
        else
            return *rc = cli_usage_error(&cmd_extract, "unknown option '%s'", argv[optind - 1]), -1;
    }
    if (optind != argc - 1)
        return *rc = cli_usage_error(&cmd_extract, "expected exactly one FILE"), -1;
    return 0;
}

/* The configuration's [pipeline] ocr* keys, then the command line's. */
static int resolve_ocr(const extract_args *a, pipeline_ocr *ocr, perr *err)
{
    config *cfg;
    if (config_load(&cfg, a->config_path, environ, err) != 0)
        return -1;
    int rc = pipeline_read_ocr(cfg, 0, ocr, err);
    config_free(cfg);
    if (rc == 0 && a->ocr_mode && pdf_ocr_mode_parse(a->ocr_mode, &ocr->mode, err) != 0)
        return perr_prefix(err, "--ocr");
    if (rc == 0 && a->ocr_dpi &&
        (parse_positive(a->ocr_dpi, &ocr->dpi) != 0 || ocr->dpi < EXTRACT_MIN_OCR_DPI ||
         ocr->dpi > EXTRACT_MAX_OCR_DPI))
        return perr_set(err, "--ocr-dpi must be %d..%d, not \"%s\"", EXTRACT_MIN_OCR_DPI, EXTRACT_MAX_OCR_DPI,
                        a->ocr_dpi);
    if (rc == 0 && a->ocr_languages)
        snprintf(ocr->languages, sizeof ocr->languages, "%s", a->ocr_languages);
    if (rc == 0 && a->ocr_languages && strlen(a->ocr_languages) >= sizeof ocr->languages)
        return perr_set(err, "--ocr-languages: longer than %d bytes", EXTRACT_OCR_LANGUAGES_MAX);
    return rc;
}

static int extract_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_extract, stdout);
        return EXIT_OK;
    }
    extract_args a = { 0 };
    int rc;
    if (parse_args(argc, argv, &a, &rc) != 0)
        return rc;
    pipeline_ocr ocr;
    perr err = { { 0 } };
    if (resolve_ocr(&a, &ocr, &err) != 0) {
        fprintf(stderr, "precis extract: %s\n", err.msg);
        return EXIT_FAIL;
    }
    a.opts.ocr = ocr.mode;
    a.opts.ocr_languages = ocr.languages;
    a.opts.ocr_dpi = ocr.dpi;
    size_t len = 0;
    char *data = read_input(argv[optind], &len);
    if (!data)
        return EXIT_FAIL;
    document *doc = NULL;
    rc = sandbox_extract(data, len, &a.opts, &a.limits, &doc, &err);
    free(data);
    if (rc < 0) {
        fprintf(stderr, "precis extract: %s: %s\n", argv[optind], err.msg);
        return EXIT_FAIL;
    }
    rc = print_document(doc, a.json);
    document_free(doc);
    return rc;
}
