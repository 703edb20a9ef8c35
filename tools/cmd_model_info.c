/* cmd_model_info.c — `precis model-info`: what a GGUF model is (architecture,
 * shape, vocabulary, chat template, tensor types). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "tools/engine_cli.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/model.h"
#include "engine/kernels/tensor_types.h"

static int model_info_main(int argc, char **argv);

const cli_command cmd_model_info = {
    .name = "model-info",
    .summary = "describe a GGUF model: shape, vocabulary, chat template, tensor types",
    .usage =
        "usage: precis model-info -m MODEL\n"
        "\n"
        "Loads and validates MODEL (a llama-architecture GGUF) and prints its\n"
        "architecture, shape, vocabulary, chat template and tensor-type counts.\n"
        "\n"
        "  -m, --model FILE   the model\n",
    .run = model_info_main,
};

static void print_shape(const model_hparams *hp)
{
    printf("shape:         dim %lld, layers %lld, heads %lld, kv heads %lld, head dim %lld, "
           "ffn %lld\n", (long long)hp->n_embd, (long long)hp->n_layer, (long long)hp->n_head,
           (long long)hp->n_head_kv, (long long)hp->head_dim, (long long)hp->n_ff);
    printf("context:       %lld (trained)\n", (long long)hp->n_ctx_train);
    printf("rope:          %lld dims, base %g, linear scale factor %g\n", (long long)hp->n_rot,
           (double)hp->rope_freq_base, 1.0 / (double)hp->rope_freq_scale);
    printf("rms norm eps:  %g\n", (double)hp->norm_eps);
}

static void print_token(const tokenizer *tok, const char *label, int32_t id)
{
    size_t len;
    const char *text = id >= 0 ? tokenizer_token_text(tok, id, &len) : NULL;
    if (text)
        printf(", %s %d '%.*s'", label, (int)id, (int)(len > 32 ? 32 : len), text);
    else
        printf(", %s none", label);
}

static void print_vocab(const model *m, const tokenizer *tok)
{
    gguf_str kind = { "?", 1 };
    gguf_get_str(m->gguf, "tokenizer.ggml.model", &kind, NULL);
    printf("vocabulary:    %.*s (%s), %zu tokens", (int)(kind.len > 32 ? 32 : kind.len),
           kind.ptr, tokenizer_kind_of(tok) == TOKENIZER_SPM ? "SentencePiece" : "byte-level BPE",
           tokenizer_n_vocab(tok));
    print_token(tok, "bos", tokenizer_bos(tok));
    print_token(tok, "eos", tokenizer_eos(tok));
    print_token(tok, "eot", tokenizer_eot(tok));
    printf(", adds bos %s\n", tokenizer_adds_bos(tok) ? "yes" : "no");
}

static void print_chat_template(const tokenizer *tok)
{
    const char *tmpl = tokenizer_chat_template(tok);
    chat_template_kind used;
    const char *used_name = chat_template_select(tok, NULL, &used, NULL) == 0 ?
                            chat_template_name(used) : "none";
    if (!tmpl)
        printf("chat template: none in the file (--chat uses %s)\n", used_name);
    else
        printf("chat template: %s (%zu bytes of Jinja; --chat uses %s)\n",
               chat_template_name(chat_template_detect(tmpl)), strlen(tmpl), used_name);
}

static void print_tensor_types(const model *m)
{
    int64_t counts[TT_COUNT];
    model_type_counts(m, counts);
    printf("tensors:       %lld (", (long long)gguf_n_tensors(m->gguf));
    const char *sep = "";
    for (int t = 0; t < TT_COUNT; t++) {
        if (counts[t]) {
            printf("%s%s %lld", sep, tensor_type_name((uint32_t)t), (long long)counts[t]);
            sep = ", ";
        }
    }
    printf(")%s\n", m->output_tied ? ", output tied to token_embd" : "");
}

static int model_info_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_model_info, stdout);
        return EXIT_OK;
    }
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc)
            path = argv[++i];
        else if (!strncmp(argv[i], "--model=", 8))
            path = argv[i] + 8;
        else
            return cli_usage_error(&cmd_model_info, "unexpected argument '%s'", argv[i]);
    }
    if (!path)
        return cli_usage_error(&cmd_model_info, "a model is required (-m MODEL)");
    perr err;
    model *m;
    tokenizer *tok;
    if (cli_load_model(path, &m, &tok, &err) != 0) {
        fprintf(stderr, "precis model-info: %s\n", err.msg);
        return EXIT_FAIL;
    }
    printf("file:          %s\n", path);
    printf("architecture:  llama\n");
    print_shape(&m->hp);
    print_vocab(m, tok);
    print_chat_template(tok);
    print_tensor_types(m);
    tokenizer_free(tok);
    model_free(m);
    return EXIT_OK;
}
