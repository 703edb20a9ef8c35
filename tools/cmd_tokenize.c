/* cmd_tokenize.c — `precis tokenize`: print the token ids of a text under a
 * GGUF model's vocabulary (needs only the GGUF reader and the tokenizer). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tools/engine_cli.h"
#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"

static int tokenize_main(int argc, char **argv);

const cli_command cmd_tokenize = {
    .name = "tokenize",
    .summary = "print the token ids of a text under a model's vocabulary",
    .usage =
        "usage: precis tokenize -m MODEL [--no-bos] [--special] [-f FILE | TEXT]\n"
        "\n"
        "Prints the token ids, space-separated, on one line. BOS (and EOS) are\n"
        "added as the vocabulary asks unless --no-bos is given.\n"
        "\n"
        "  -m, --model FILE   GGUF file with a tokenizer (required)\n"
        "  -f, --file FILE    read the text from FILE (- = standard input)\n"
        "      --no-bos       add no BOS/EOS\n"
        "      --special      recognise special tokens such as </s> in the text\n",
    .run = tokenize_main,
};

enum { OPT_NO_BOS = 256, OPT_SPECIAL };

static const struct option long_options[] = {
    { "model", required_argument, NULL, 'm' },
    { "file", required_argument, NULL, 'f' },
    { "no-bos", no_argument, NULL, OPT_NO_BOS },
    { "special", no_argument, NULL, OPT_SPECIAL },
    { NULL, 0, NULL, 0 },
};

/* FILE, or standard input for "-". */
static int read_all(const char *path, char **text, size_t *len, perr *err)
{
    if (strcmp(path, "-") == 0)
        return cli_read_text_stream(stdin, path, text, len, err);
    return cli_read_text_file(path, text, len, err);
}

static int load_tokenizer(const char *path, tokenizer **tok, perr *err)
{
    gguf_file *f;
    if (gguf_open(&f, path, err) != 0)
        return -1;
    int rc = tokenizer_from_gguf(tok, f, err);
    gguf_close(f);
    return rc != 0 ? perr_prefix(err, "%s", path) : 0;
}

static void print_ids(const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf(i ? " %d" : "%d", ids[i]);
    putchar('\n');
}

static int tokenize_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_tokenize, stdout);
        return EXIT_OK;
    }
    const char *model_path = NULL, *file = NULL;
    int add_special = 1, parse_special = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+m:f:", long_options, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'f': file = optarg; break;
        case OPT_NO_BOS: add_special = 0; break;
        case OPT_SPECIAL: parse_special = 1; break;
        default: return cli_usage_error(&cmd_tokenize, "unknown option");
        }
    }
    if (!model_path)
        return cli_usage_error(&cmd_tokenize, "-m MODEL is required");
    if ((file != NULL) + (argc - optind) != 1)
        return cli_usage_error(&cmd_tokenize, "give exactly one of -f FILE or TEXT");

    perr err = { { 0 } };
    char *text = NULL;
    size_t len = 0;
    if (file) {
        if (read_all(file, &text, &len, &err) != 0)
            goto fail;
    } else {
        text = strdup(argv[optind]);
        len = strlen(argv[optind]);
        if (!text) {
            perr_set(&err, "out of memory");
            goto fail;
        }
    }
    tokenizer *tok = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    if (load_tokenizer(model_path, &tok, &err) != 0 ||
        tokenizer_encode(tok, text, len, add_special, parse_special, &ids, &n, &err) != 0) {
        tokenizer_free(tok);
        free(text);
        goto fail;
    }
    print_ids(ids, n);
    free(ids);
    tokenizer_free(tok);
    free(text);
    return EXIT_OK;
fail:
    fprintf(stderr, "precis tokenize: %s\n", err.msg);
    return EXIT_FAIL;
}
