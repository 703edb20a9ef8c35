/* cmd_perplexity.c — `precis perplexity`: a model's perplexity on a text
 * file, computed and printed the way llama.cpp's perplexity tool does. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tools/engine_cli.h"
#include "engine/engine.h"
#include "engine/perplexity.h"
#include "tools/perplexity_kld.h"

static int perplexity_main(int argc, char **argv);

const cli_command cmd_perplexity = {
    .name = "perplexity",
    .summary = "measure a model's perplexity on a text file (llama.cpp's method)",
    .usage =
        "usage: precis perplexity -m MODEL -f FILE [-c N_CTX] [--chunks N] [-t THREADS]\n"
        "                         [--kl-divergence-base OUT]\n"
        "       precis perplexity -m MODEL [-f FILE] --kl-divergence-base IN --kl-divergence\n"
        "                         [--chunks N] [-t THREADS]\n"
        "\n"
        "Tokenizes FILE (with BOS), cuts it into chunks of N_CTX tokens, evaluates\n"
        "each chunk from an empty cache with BOS as its first token and scores the\n"
        "second half of every chunk. Prints the running estimate per chunk, then\n"
        "'Final estimate: PPL = <value> +/- <error>'. Needs 2 x N_CTX tokens.\n"
        "\n"
        "With --kl-divergence-base OUT it also writes every scored token's\n"
        "log-probabilities to OUT in llama.cpp's format (the file llama.cpp's and\n"
        "ik_llama.cpp's llama-perplexity --kl-divergence-base writes). With\n"
        "--kl-divergence it reads such a file IN instead (from precis or llama.cpp),\n"
        "runs MODEL over its tokens and chunks (its context; FILE is not needed)\n"
        "and prints llama.cpp's KL-divergence table per chunk and statistics with\n"
        "the same labels: PPL(Q) against PPL(base), 'Mean    KLD:' and its\n"
        "percentiles, 'Mean    \u0394p:' and its percentiles, 'RMS \u0394p', 'Same top p:'.\n"
        "A file of another vocabulary, truncated or corrupt is refused.\n"
        "\n"
        "  -m, --model FILE     llama-architecture GGUF model (required)\n"
        "  -f, --file FILE      text to score (required unless --kl-divergence)\n"
        "  -c, --ctx N          chunk size in tokens (default 512; with\n"
        "                       --kl-divergence the file's, and -c must match it)\n"
        "      --chunks N       score at most N chunks (default: all)\n"
        "      --kl-divergence-base FILE\n"
        "                       the base file to write, or with --kl-divergence to read\n"
        "      --kl-divergence  compare with the base file\n"
        "  -t, --threads N      threads (default: CPUs online)\n",
    .run = perplexity_main,
};

static const struct option long_options[] = {
    { "model", required_argument, NULL, 'm' },
    { "file", required_argument, NULL, 'f' },
    { "ctx", required_argument, NULL, 'c' },
    { "threads", required_argument, NULL, 't' },
    { "chunks", required_argument, NULL, 'C' },
    { "kl-divergence-base", required_argument, NULL, 'B' },
    { "kl-divergence", no_argument, NULL, 'K' },
    { NULL, 0, NULL, 0 },
};

typedef struct ppl_options {
    const char *model_path, *file, *base;
    int n_ctx, n_threads, n_chunks, ctx_given, compare;
} ppl_options;

static int parse_options(ppl_options *o, int argc, char **argv)
{
    const cli_command *cmd = &cmd_perplexity;
    *o = (ppl_options){ .n_ctx = 512, .n_threads = cli_default_threads() };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "m:f:c:t:", long_options, NULL)) != -1) {
        switch (c) {
        case 'm': o->model_path = optarg; break;
        case 'f': o->file = optarg; break;
        case 'c':
            if (cli_parse_int(optarg, 4, 1 << 20, &o->n_ctx))
                return cli_usage_error(cmd, "-c needs a context size >= 4, not '%s'", optarg);
            o->ctx_given = 1;
            break;
        case 'C':
            if (cli_parse_int(optarg, 1, 1 << 30, &o->n_chunks))
                return cli_usage_error(cmd, "--chunks needs a positive count, not '%s'", optarg);
            break;
        case 'B': o->base = optarg; break;
        case 'K': o->compare = 1; break;
        case 't':
            if (cli_parse_int(optarg, 1, 1024, &o->n_threads))
                return cli_usage_error(cmd, "-t needs a thread count 1..1024, not '%s'", optarg);
            break;
        default:
            return cli_usage_error(cmd, "bad or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (o->compare && !o->base)
        return cli_usage_error(cmd, "--kl-divergence needs --kl-divergence-base FILE");
    if (!o->model_path || (!o->file && !o->compare))
        return cli_usage_error(cmd, "a model (-m) and a text file (-f) are required");
    return 0;
}

static void print_progress(void *user, int chunk, int n_chunks, double ppl)
{
    (void)user;
    (void)n_chunks;
    printf("[%d]%.4f,", chunk, ppl);
    fflush(stdout);
}

static int run(const ppl_options *o, const model *m, const tokenizer *tok, const char *text,
               size_t len, perr *err)
{
    int32_t *ids = NULL;
    size_t n_ids = 0;
    engine_ctx *ctx = NULL;
    engine_params ep = { .n_ctx = o->n_ctx, .n_seq = 1, .n_threads = o->n_threads };
    perplexity_result r;
    int rc = -1;
    if (tokenizer_encode(tok, text, len, 1, 0, &ids, &n_ids, err) != 0 ||
        engine_ctx_new(&ctx, m, &ep, err) != 0)
        goto out;
    int n_chunks = perplexity_n_chunks(n_ids, o->n_ctx, o->n_chunks);
    fprintf(stderr, "precis perplexity: %zu tokens, %d chunks of %d\n", n_ids, n_chunks,
            o->n_ctx);
    int32_t bos = tokenizer_adds_bos(tok) ? tokenizer_bos(tok) : -1;
    if (n_ids < 2 * (size_t)o->n_ctx) {
        perr_set(err, "the text has %zu tokens; perplexity with a context of %d needs at "
                 "least %d", n_ids, o->n_ctx, 2 * o->n_ctx);
        goto out;
    }
    if (o->base) {
        if (ppl_write_base(ctx, ids, n_chunks, o->n_ctx, bos, o->base, stdout, &r, err) != 0)
            goto out;
    } else {
        perplexity_hooks h = { .progress = print_progress };
        if (perplexity_run_chunks(ctx, ids, n_chunks, o->n_ctx, bos, &h, &r, err) != 0)
            goto out;
    }
    printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_error);
    rc = 0;
out:
    engine_ctx_free(ctx);
    free(ids);
    return rc;
}

/* --kl-divergence: the base file gives the tokens and the context. */
static int compare_main(const ppl_options *o)
{
    perr err;
    model *m;
    tokenizer *tok;
    if (cli_load_model(o->model_path, &m, &tok, &err) != 0) {
        fprintf(stderr, "precis perplexity: %s\n", err.msg);
        return EXIT_FAIL;
    }
    int32_t bos = tokenizer_adds_bos(tok) ? tokenizer_bos(tok) : -1;
    int rc = ppl_compare_base(m, bos, o->base, o->ctx_given ? o->n_ctx : 0, o->n_chunks,
                              o->n_threads, stdout, &err) == 0 ? EXIT_OK : EXIT_FAIL;
    if (rc != EXIT_OK)
        fprintf(stderr, "precis perplexity: %s\n", err.msg);
    tokenizer_free(tok);
    model_free(m);
    return rc;
}

static int perplexity_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_perplexity, stdout);
        return EXIT_OK;
    }
    ppl_options o;
    int rc = parse_options(&o, argc, argv);
    if (rc)
        return rc;
    perr err;
    char *text = NULL;
    size_t len;
    model *m;
    tokenizer *tok;
    if (o.compare)
        return compare_main(&o);
    if (cli_read_text_file(o.file, &text, &len, &err) != 0) {
        fprintf(stderr, "precis perplexity: %s\n", err.msg);
        return EXIT_FAIL;
    }
    if (cli_load_model(o.model_path, &m, &tok, &err) != 0) {
        fprintf(stderr, "precis perplexity: %s\n", err.msg);
        free(text);
        return EXIT_FAIL;
    }
    rc = run(&o, m, tok, text, len, &err) == 0 ? EXIT_OK : EXIT_FAIL;
    if (rc != EXIT_OK)
        fprintf(stderr, "precis perplexity: %s\n", err.msg);
    tokenizer_free(tok);
    model_free(m);
    free(text);
    return rc;
}
