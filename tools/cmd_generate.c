/* cmd_generate.c — `precis generate`: run a prompt through a model and print
 * the generated text (the command-line face of engine/generate.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tools/engine_cli.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/engine.h"
#include "engine/generate.h"
#include "engine/json/json_schema.h"

#define MAX_STOP 16
#define MAX_STOP_ALL (MAX_STOP + 8) /* user stops + the chat template's */

static int generate_main(int argc, char **argv);

const cli_command cmd_generate = {
    .name = "generate",
    .summary = "generate text from a prompt with a GGUF model",
    .usage =
        "usage: precis generate -m MODEL [-p TEXT | -f FILE] [options]\n"
        "\n"
        "Prints the continuation of the prompt (BOS added as the vocabulary says).\n"
        "Statistics go to standard error.\n"
        "\n"
        "  -m, --model FILE        llama-architecture GGUF model (required)\n"
        "  -p, --prompt TEXT       prompt text (default: empty, BOS only)\n"
        "  -f, --file FILE         read the prompt from FILE\n"
        "  -n, --n-predict N       tokens to generate, -1 = until end or context full\n"
        "                          (default -1)\n"
        "      --temp T            temperature, 0 = greedy (default 0.8)\n"
        "      --top-k K           keep the K most likely tokens, 0 = off (default 40)\n"
        "      --top-p P           nucleus sampling, 1 = off (default 0.95)\n"
        "      --min-p P           drop tokens below P x the best, 0 = off (default 0.05)\n"
        "      --repeat-penalty R  penalize the last tokens, 1 = off (default 1.0)\n"
        "      --repeat-last-n N   tokens the penalty looks at (default 64)\n"
        "      --seed S            random seed (default: random, printed)\n"
        "      --stop TEXT         stop when TEXT appears (repeatable; not printed)\n"
        "      --chat              format the prompt as a user message with the model's\n"
        "                          chat template (its end-of-turn markers stop generation)\n"
        "      --system TEXT       system message for --chat\n"
        "      --chat-template K   llama2, llama3, chatml, zephyr or auto (default auto)\n"
        "      --json-schema FILE  output a JSON value valid under the JSON schema in FILE\n"
        "                          (closed in time for -n and the context, then EOS)\n"
        "  -t, --threads N         threads (default: CPUs online)\n"
        "  -c, --ctx N             context size (default: the model's, at most 4096)\n"
        "      --echo              print the prompt before the generated text\n"
        "      --no-draft          no prompt-lookup drafts: one pass per token, apart from\n"
        "                          tokens a JSON schema forces (the text is the same)\n"
        "\n"
        "The last line on standard error ends with generated_tokens=N forward_passes=M\n"
        "draft_proposed=P draft_accepted=A forced_tokens=F: the passes include the\n"
        "prompt's, drafts are tokens guessed from the prompt and verified by the next\n"
        "samples, forced tokens those a JSON schema leaves no choice about (taken in the\n"
        "pass of the token before them).\n",
    .run = generate_main,
};

typedef struct gen_options {
    const char *model_path, *prompt, *prompt_file, *schema_file;
    const char *system, *chat_template;
    const char *stop[MAX_STOP_ALL];
    size_t n_stop;
    generate_params gen;
    int seed_given, n_threads, n_ctx, echo, chat;
} gen_options;

enum { OPT_TEMP = 256, OPT_TOP_K, OPT_TOP_P, OPT_MIN_P, OPT_REPEAT_PENALTY,
       OPT_REPEAT_LAST_N, OPT_SEED, OPT_STOP, OPT_ECHO, OPT_JSON_SCHEMA, OPT_CHAT,
       OPT_SYSTEM, OPT_CHAT_TEMPLATE, OPT_NO_DRAFT };

static const struct option long_options[] = {
    { "model", required_argument, NULL, 'm' },
    { "prompt", required_argument, NULL, 'p' },
    { "file", required_argument, NULL, 'f' },
    { "n-predict", required_argument, NULL, 'n' },
    { "threads", required_argument, NULL, 't' },
    { "ctx", required_argument, NULL, 'c' },
    { "temp", required_argument, NULL, OPT_TEMP },
    { "top-k", required_argument, NULL, OPT_TOP_K },
    { "top-p", required_argument, NULL, OPT_TOP_P },
    { "min-p", required_argument, NULL, OPT_MIN_P },
    { "repeat-penalty", required_argument, NULL, OPT_REPEAT_PENALTY },
    { "repeat-last-n", required_argument, NULL, OPT_REPEAT_LAST_N },
    { "seed", required_argument, NULL, OPT_SEED },
    { "stop", required_argument, NULL, OPT_STOP },
    { "echo", no_argument, NULL, OPT_ECHO },
    { "chat", no_argument, NULL, OPT_CHAT },
    { "system", required_argument, NULL, OPT_SYSTEM },
    { "chat-template", required_argument, NULL, OPT_CHAT_TEMPLATE },
    { "json-schema", required_argument, NULL, OPT_JSON_SCHEMA },
    { "no-draft", no_argument, NULL, OPT_NO_DRAFT },
    { NULL, 0, NULL, 0 },
};

/* One option; returns 0, or the exit status of a usage error. */
static int take_option(gen_options *o, int c, const char *arg)
{
    sampler_params *s = &o->gen.sampling;
    const cli_command *cmd = &cmd_generate;
    switch (c) {
    case 'm': o->model_path = arg; return 0;
    case 'p': o->prompt = arg; return 0;
    case 'f': o->prompt_file = arg; return 0;
    case OPT_ECHO: o->echo = 1; return 0;
    case OPT_CHAT: o->chat = 1; return 0;
    case OPT_SYSTEM: o->system = arg; return 0;
    case OPT_CHAT_TEMPLATE: o->chat_template = arg; return 0;
    case OPT_JSON_SCHEMA: o->schema_file = arg; return 0;
    case OPT_NO_DRAFT: o->gen.no_draft = 1; return 0;
    case 'n':
        return cli_parse_int(arg, -1, 1 << 24, &o->gen.n_predict) ?
               cli_usage_error(cmd, "-n needs an integer >= -1, not '%s'", arg) : 0;
    case 't':
        return cli_parse_int(arg, 1, 1024, &o->n_threads) ?
               cli_usage_error(cmd, "-t needs a thread count 1..1024, not '%s'", arg) : 0;
    case 'c':
        return cli_parse_int(arg, 1, 1 << 20, &o->n_ctx) ?
               cli_usage_error(cmd, "-c needs a context size 1..1048576, not '%s'", arg) : 0;
    case OPT_TEMP:
        return cli_parse_float(arg, 0, 1e6, &s->temp) ?
               cli_usage_error(cmd, "--temp needs a number >= 0, not '%s'", arg) : 0;
    case OPT_TOP_K:
        return cli_parse_int(arg, 0, 1 << 24, &s->top_k) ?
               cli_usage_error(cmd, "--top-k needs an integer >= 0, not '%s'", arg) : 0;
    case OPT_TOP_P:
        return cli_parse_float(arg, 0, 1, &s->top_p) ?
               cli_usage_error(cmd, "--top-p needs a number in [0, 1], not '%s'", arg) : 0;
    case OPT_MIN_P:
        return cli_parse_float(arg, 0, 1, &s->min_p) ?
               cli_usage_error(cmd, "--min-p needs a number in [0, 1], not '%s'", arg) : 0;
    case OPT_REPEAT_PENALTY:
        return cli_parse_float(arg, 1e-3, 1e3, &s->repeat_penalty) ?
               cli_usage_error(cmd, "--repeat-penalty needs a number > 0, not '%s'", arg) : 0;
    case OPT_REPEAT_LAST_N:
        return cli_parse_int(arg, 0, 1 << 20, &s->repeat_last_n) ?
               cli_usage_error(cmd, "--repeat-last-n needs an integer >= 0, not '%s'", arg) : 0;
    case OPT_SEED:
        o->seed_given = 1;
        return cli_parse_u64(arg, &s->seed) ?
               cli_usage_error(cmd, "--seed needs a non-negative integer, not '%s'", arg) : 0;
    case OPT_STOP:
        if (o->n_stop == MAX_STOP)
            return cli_usage_error(cmd, "at most %d --stop strings", MAX_STOP);
        o->stop[o->n_stop++] = arg;
        return 0;
    default:
        return cli_usage_error(cmd, "unknown option");
    }
}

static int parse_options(gen_options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->gen.n_predict = -1;
    o->gen.sampling = sampler_default_params();
    o->n_threads = cli_default_threads();
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "m:p:f:n:t:c:", long_options, NULL)) != -1) {
        if (c == '?' || c == ':')
            return cli_usage_error(&cmd_generate, "bad or incomplete option '%s'",
                                   argv[optind - 1]);
        int rc = take_option(o, c, optarg);
        if (rc)
            return rc;
    }
    if (optind < argc)
        return cli_usage_error(&cmd_generate, "unexpected argument '%s'", argv[optind]);
    if (!o->model_path)
        return cli_usage_error(&cmd_generate, "a model is required (-m MODEL)");
    if (o->prompt && o->prompt_file)
        return cli_usage_error(&cmd_generate, "give the prompt with -p or -f, not both");
    if ((o->system || o->chat_template) && !o->chat)
        return cli_usage_error(&cmd_generate, "--system and --chat-template need --chat");
    if (!o->seed_given)
        o->gen.sampling.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    o->gen.stop = o->stop;
    o->gen.n_stop = o->n_stop;
    return 0;
}

static int print_text(void *user, const char *text, size_t len)
{
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static int echo_prompt(const tokenizer *tok, const int32_t *ids, size_t n, perr *err)
{
    char *text;
    size_t len;
    if (tokenizer_decode(tok, ids, n, TOKENIZER_DECODE_KEEP_SPACE, &text, &len, err) != 0)
        return -1;
    print_text(NULL, text, len);
    free(text);
    return 0;
}

static void print_stats(const gen_options *o, const generate_result *r)
{
    double gen_tokens = r->n_generated > 1 ? r->n_generated - 1 : 0;
    fprintf(stderr, "\nprecis generate: prompt %d tokens in %.3f s (%.1f tok/s); generated %d "
            "tokens in %.3f s (%.1f tok/s); stop: %s; seed %llu; generated_tokens=%d forward_passes=%d "
            "draft_proposed=%d draft_accepted=%d forced_tokens=%d\n", r->n_prompt,
            r->prompt_seconds, r->prompt_seconds > 0 ? r->n_prompt / r->prompt_seconds : 0,
            r->n_generated, r->gen_seconds, r->gen_seconds > 0 ? gen_tokens / r->gen_seconds : 0,
            generate_stop_reason_name(r->reason), (unsigned long long)o->gen.sampling.seed, r->n_generated,
            r->n_passes, r->n_draft_proposed, r->n_draft_accepted, r->n_forced);
}

static int load_schema(const char *path, json_schema **out, perr *err)
{
    char *text;
    size_t len;
    if (cli_read_text_file(path, &text, &len, err) != 0)
        return -1;
    int rc = json_schema_compile(out, text, len, NULL, err);
    free(text);
    return rc == 0 ? 0 : perr_prefix(err, "%s", path);
}

/* The prompt as a chat: [system,] user, then the assistant's turn. The
 * template's end-of-turn strings join the stop strings. */
static int tokenize_chat(gen_options *o, const tokenizer *tok, const char *prompt,
                         int32_t **ids, size_t *n_ids, perr *err)
{
    chat_template_kind kind;
    if (chat_template_select(tok, o->chat_template, &kind, err) != 0)
        return -1;
    chat_message msgs[2];
    size_t n = 0;
    if (o->system)
        msgs[n++] = (chat_message){ "system", o->system };
    msgs[n++] = (chat_message){ "user", prompt };
    chat_prompt cp;
    if (chat_template_apply(kind, msgs, n, 1, &cp, err) != 0)
        return -1;
    int rc = chat_prompt_encode(tok, &cp, ids, n_ids, err);
    chat_prompt_free(&cp);
    for (const char *const *s = chat_template_stop_strings(kind); s && *s; s++)
        if (o->n_stop < MAX_STOP_ALL)
            o->stop[o->n_stop++] = *s;
    return rc;
}

static int run(gen_options *o, const model *m, const tokenizer *tok, const char *prompt,
               size_t prompt_len, perr *err)
{
    int32_t *ids = NULL;
    size_t n_ids = 0;
    engine_ctx *ctx = NULL;
    int n_ctx = o->n_ctx ? o->n_ctx : (int)(m->hp.n_ctx_train < 4096 ? m->hp.n_ctx_train : 4096);
    engine_params ep = { .n_ctx = n_ctx, .n_seq = 1, .n_threads = o->n_threads };
    generate_result res;
    generate_params gen = o->gen;
    json_schema *schema = NULL;
    int rc = -1;
    if (o->schema_file && load_schema(o->schema_file, &schema, err) != 0)
        goto out;
    gen.json_schema = schema;
    int tokenized = o->chat ? tokenize_chat(o, tok, prompt, &ids, &n_ids, err)
                            : generate_tokenize_prompt(tok, prompt, prompt_len, &ids, &n_ids, err);
    gen.n_stop = o->n_stop;
    if (tokenized != 0 || engine_ctx_new(&ctx, m, &ep, err) != 0)
        goto out;
    if (o->echo && echo_prompt(tok, ids, n_ids, err) != 0)
        goto out;
    if (generate_run(ctx, 0, tok, ids, n_ids, &gen, print_text, NULL, &res, err) != 0)
        goto out;
    print_stats(o, &res);
    rc = 0;
out:
    json_schema_free(schema);
    engine_ctx_free(ctx);
    free(ids);
    return rc;
}

static int generate_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_generate, stdout);
        return EXIT_OK;
    }
    gen_options o;
    int rc = parse_options(&o, argc, argv);
    if (rc)
        return rc;
    perr err;
    char *file_text = NULL;
    size_t file_len;
    if (o.prompt_file && cli_read_text_file(o.prompt_file, &file_text, &file_len, &err) != 0) {
        fprintf(stderr, "precis generate: %s\n", err.msg);
        return EXIT_FAIL;
    }
    model *m;
    tokenizer *tok;
    if (cli_load_model(o.model_path, &m, &tok, &err) != 0 ||
        model_pack_weights(m, MODEL_PACK_AUTO, &err) != 0) {
        fprintf(stderr, "precis generate: %s\n", err.msg);
        free(file_text);
        return EXIT_FAIL;
    }
    const char *prompt = file_text ? file_text : o.prompt ? o.prompt : "";
    size_t prompt_len = file_text ? file_len : strlen(prompt);
    rc = run(&o, m, tok, prompt, prompt_len, &err) == 0 ? EXIT_OK : EXIT_FAIL;
    if (rc != EXIT_OK)
        fprintf(stderr, "precis generate: %s\n", err.msg);
    tokenizer_free(tok);
    model_free(m);
    free(file_text);
    return rc;
}
