/* cmd_gen_model.c — `precis gen-model`: write a random-weight GGUF of a
 * named shape. FOR BENCHMARKS ONLY (used by `make bench`): the weights are
 * noise, the speed and memory profile are those of a real model. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "tools/engine_cli.h"
#include "engine/synth_model.h"

static int gen_model_main(int argc, char **argv);

const cli_command cmd_gen_model = {
    .name = "gen-model",
    .summary = "(benchmarks only) write a random-weight model of a named shape",
    .usage =
        "usage: precis gen-model --shape SHAPE --type TYPE --vocab VOCAB.gguf [--seed S] OUT.gguf\n"
        "\n"
        "FOR BENCHMARKS ONLY. Writes a llama GGUF with random weights (normal,\n"
        "std 0.02; norms 1) and the tensor names, shapes and types a real model\n"
        "of that shape has, so inference speed and memory match the real thing.\n"
        "The text it generates is meaningless. The tokenizer (tokenizer.* keys)\n"
        "is copied from VOCAB.gguf, whose vocabulary must have the shape's size.\n"
        "\n"
        "  --shape SHAPE    tinyllama-1.1b (dim 2048, 22 layers, 32/4 heads, FFN 5632)\n"
        "                   llama2-7b      (dim 4096, 32 layers, 32/32 heads, FFN 11008)\n"
        "                   d256           (dim 256, 4 layers, 8/4 heads, FFN 768)\n"
        "                   all with a 32000-token vocabulary\n"
        "  --type TYPE      any `precis quantize` type (q4_0, q8_0, q4_k_m, f16...)\n"
        "  --vocab FILE     GGUF to copy the tokenizer from (e.g. llama-2-tiny-random.gguf)\n"
        "  --seed S         random seed (default 1)\n",
    .run = gen_model_main,
};

enum { OPT_SHAPE = 256, OPT_TYPE, OPT_VOCAB, OPT_SEED };

static const struct option long_options[] = {
    { "shape", required_argument, NULL, OPT_SHAPE },
    { "type", required_argument, NULL, OPT_TYPE },
    { "vocab", required_argument, NULL, OPT_VOCAB },
    { "seed", required_argument, NULL, OPT_SEED },
    { NULL, 0, NULL, 0 },
};

static int gen_model_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_gen_model, stdout);
        return EXIT_OK;
    }
    synth_params p = {.seed = 1};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_SHAPE:
            if (!(p.shape = synth_shape_find(optarg)))
                return cli_usage_error(&cmd_gen_model, "unknown shape '%s'", optarg);
            break;
        case OPT_TYPE:
            if (!(p.scheme = quant_scheme_find(optarg)))
                return cli_usage_error(&cmd_gen_model, "unknown type '%s'", optarg);
            break;
        case OPT_VOCAB: p.vocab_path = optarg; break;
        case OPT_SEED:
            if (cli_parse_u64(optarg, &p.seed))
                return cli_usage_error(&cmd_gen_model, "bad seed '%s'", optarg);
            break;
        default: return cli_usage_error(&cmd_gen_model, "unknown option");
        }
    }
    if (!p.shape || !p.scheme || !p.vocab_path)
        return cli_usage_error(&cmd_gen_model, "--shape, --type and --vocab are required");
    if (argc - optind != 1)
        return cli_usage_error(&cmd_gen_model, "expected one OUT.gguf");
    perr err = { { 0 } };
    if (synth_model_write(argv[optind], &p, &err) != 0) {
        fprintf(stderr, "precis gen-model: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
