/* cmd_quantize.c — `precis quantize IN OUT TYPE`: convert an F32/F16/BF16
 * GGUF model to a quantized type or a llama.cpp-style mix. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "tools/engine_cli.h"
#include "engine/quantize.h"

static int quantize_main(int argc, char **argv);

const cli_command cmd_quantize = {
    .name = "quantize",
    .summary = "convert an F32/F16/BF16 GGUF model to a quantized type",
    .usage =
        "usage: precis quantize [-t N] [-q] IN.gguf OUT.gguf TYPE\n"
        "\n"
        "Writes OUT.gguf with the 2-D weights of IN.gguf in TYPE and every\n"
        "metadata key copied (general.file_type updated). Norms stay F32.\n"
        "TYPE is one of:\n"
        "  q8_0 q4_0 q4_1 q5_0 q5_1   block-of-32 types\n"
        "  q2_k q3_k q4_k q5_k q6_k   K-quants (q3_k, q4_k, q5_k are llama.cpp's _S)\n"
        "  q4_k_m q5_k_m              mixes: attn_v and ffn_down of some layers in Q6_K\n"
        "  f16 bf16\n"
        "Like llama.cpp, output.weight gets Q6_K in every quantized type but q8_0,\n"
        "and rows that do not fit a type's block size fall back to a compatible\n"
        "type (with a warning). Progress goes to stderr.\n"
        "\n"
        "  -t, --threads N   threads (default: all CPUs)\n"
        "  -q, --quiet       no per-tensor progress\n",
    .run = quantize_main,
};

static const struct option long_options[] = {
    { "threads", required_argument, NULL, 't' },
    { "quiet", no_argument, NULL, 'q' },
    { NULL, 0, NULL, 0 },
};

typedef struct log_state {
    int quiet;
} log_state;

static void print_log(void *user, int is_warning, const char *msg)
{
    const log_state *ls = user;
    if (is_warning)
        fprintf(stderr, "precis quantize: warning: %s\n", msg);
    else if (!ls->quiet)
        fprintf(stderr, "%s\n", msg);
}

static void print_summary(const char *out, const quantize_stats *st)
{
    fprintf(stderr, "%s: %lld tensors, %.1f MiB -> %.1f MiB (", out, (long long)st->n_tensors,
            st->bytes_in / 1048576.0, st->bytes_out / 1048576.0);
    const char *sep = "";
    for (int t = 0; t < TT_COUNT; t++) {
        if (st->type_counts[t]) {
            fprintf(stderr, "%s%s: %lld", sep, tensor_type_name((uint32_t)t),
                    (long long)st->type_counts[t]);
            sep = ", ";
        }
    }
    fprintf(stderr, ")%s\n", st->n_fallback ? ", with fallbacks" : "");
}

static int quantize_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_quantize, stdout);
        return EXIT_OK;
    }
    int n_threads = cli_default_threads(), c;
    log_state ls = {0};
    optind = 0;
    while ((c = getopt_long(argc, argv, "+t:q", long_options, NULL)) != -1) {
        switch (c) {
        case 't':
            if (cli_parse_int(optarg, 1, 1024, &n_threads))
                return cli_usage_error(&cmd_quantize, "bad thread count '%s'", optarg);
            break;
        case 'q': ls.quiet = 1; break;
        default: return cli_usage_error(&cmd_quantize, "unknown option");
        }
    }
    if (argc - optind != 3)
        return cli_usage_error(&cmd_quantize, "expected IN.gguf OUT.gguf TYPE");
    const char *in = argv[optind], *out = argv[optind + 1];
    const quant_scheme *scheme = quant_scheme_find(argv[optind + 2]);
    if (!scheme)
        return cli_usage_error(&cmd_quantize, "unknown type '%s'", argv[optind + 2]);
    if (strcmp(in, out) == 0)
        return cli_usage_error(&cmd_quantize, "IN and OUT are the same file");

    quantize_params p = {.scheme = scheme, .n_threads = n_threads, .log = print_log, .log_user = &ls};
    quantize_stats st;
    perr err = { { 0 } };
    if (quantize_file(in, out, &p, &st, &err) != 0) {
        fprintf(stderr, "precis quantize: %s\n", err.msg);
        return EXIT_FAIL;
    }
    print_summary(out, &st);
    return EXIT_OK;
}
