/* cmd_bench.c — `precis bench -m MODEL`: inference speed of the engine on
 * one model, in the spirit of llama-bench: prefill (one eval of a P-token
 * prompt), decode (N single-token steps from an empty context), aggregate
 * decode over B sequences, and memory (RSS after load, peak RSS). Token ids
 * are pseudo-random (speed does not depend on them), so any llama GGUF
 * works, random-weight ones included (`precis gen-model`). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "tools/engine_cli.h"
#include "engine/engine.h"
#include "engine/generate.h"
#include "engine/model.h"
#include "engine/tokenizer/tokenizer.h"

static int bench_main(int argc, char **argv);

const cli_command cmd_bench = {
    .name = "bench",
    .summary = "measure prefill, decode and batched decode speed on a model",
    .usage =
        "usage: precis bench -m MODEL [-p N] [-n N] [-B LIST] [-t N] [-r N] [--pack MODE]\n"
        "                    [--no-draft] [--json]\n"
        "\n"
        "  pp   prefill: one eval of an N-token prompt (tokens per second)\n"
        "  tg   decode: N single-token evals from an empty context, greedy\n"
        "  gen  the generation loop (generate_run: sampler, prompt-lookup drafts) for\n"
        "       N greedy tokens after a 16-token prompt, timed whole; also forward\n"
        "       passes per generated token (1.00 with --no-draft; below 1 only where\n"
        "       the output repeats itself or its pseudo-random prompt; for real\n"
        "       documents see make bench-pipeline)\n"
        "  B=k  aggregate decode of k sequences: a 128-token prompt is evaluated\n"
        "       once and copied to the k sequences (untimed), then 64 tokens are\n"
        "       generated per sequence; reports k*64 / decode time. Each step\n"
        "       evaluates the k sequences' next tokens in one batched eval\n"
        "       (engine_eval_batch: every weight row read once per step).\n"
        "Rates are tokens per wall-clock second and per second of process CPU\n"
        "time (all threads): on a busy machine the first drops, the second\n"
        "(work per token) hardly moves.\n"
        "Also reports RSS after loading (weights are mmap'd; the packed copies,\n"
        "--pack, are the process's own) and the peak RSS. Each measurement runs\n"
        "after a short warm-up; with -r it is repeated and the mean is reported.\n"
        "\n"
        "  -m, --model FILE   llama-architecture GGUF (required)\n"
        "  -p, --prompt N     prefill prompt length (default 512)\n"
        "  -n, --gen N        decode steps (default 128)\n"
        "  -B, --batch LIST   comma-separated sequence counts (default 1,4,8; 0 = skip)\n"
        "  -t, --threads N    threads (default: CPUs online)\n"
        "  -r, --reps N       repetitions (default 1)\n"
        "      --pack MODE    auto|on|off: weights repacked for decode (packed kernels)\n"
        "                     (default auto: when they fit in half the free memory)\n"
        "      --no-draft     no prompt-lookup drafts in gen\n"
        "      --json         one JSON object on standard output\n",
    .run = bench_main,
};

#define BATCH_PROMPT 128
#define BATCH_GEN 64
#define GEN_PROMPT 16
#define MAX_BATCHES 16

typedef struct bench_opts {
    const char *model_path;
    int n_prompt, n_gen, n_threads, reps, json, no_draft;
    model_pack_mode pack;
    int batch[MAX_BATCHES];
    int n_batch;
} bench_opts;

/* A throughput two ways: tokens per wall-clock second, and tokens per
 * second of process CPU time (all threads). On a shared machine the wall
 * rate falls with contention; the CPU rate measures the work per token and
 * barely moves. Without contention, wall rate ~= CPU rate x the number of
 * threads kept busy. */
typedef struct rate {
    double tps, cpu_tps;
} rate;

typedef struct bench_result {
    double load_s, rss_load_mib, peak_rss_mib;
    rate pp, tg, gen;
    double gen_passes_per_token;
    long gen_tokens, gen_passes, gen_draft_proposed, gen_draft_accepted;
    rate batch[MAX_BATCHES];
} bench_result;

/* Wall-clock and process CPU seconds. */
typedef struct stamp {
    double wall, cpu;
} stamp;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static stamp stamp_now(void)
{
    return (stamp){ clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_PROCESS_CPUTIME_ID) };
}

/* Add the time since `since` to *acc. */
static void add_since(stamp *acc, stamp since)
{
    stamp n = stamp_now();
    acc->wall += n.wall - since.wall;
    acc->cpu += n.cpu - since.cpu;
}

static rate rate_of(double n_tokens, stamp t)
{
    return (rate){ t.wall > 0 ? n_tokens / t.wall : 0, t.cpu > 0 ? n_tokens / t.cpu : 0 };
}

/* Current resident set (VmRSS) in MiB; 0 if unknown. */
static double rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb / 1024.0;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : 0;
}

/* Deterministic pseudo-random token ids, avoiding the first 3 (special). */
static void fill_tokens(int32_t *t, int n, int n_vocab, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (int i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        t[i] = 3 + (int32_t)(x % (uint32_t)(n_vocab - 3));
    }
}

static int32_t argmax(const float *v, int n)
{
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* One greedy decode step of sequence seq: evaluate *tok, replace it by the argmax. */
static int decode_step(engine_ctx *c, int seq, int32_t *tok, perr *err)
{
    if (engine_eval(c, seq, tok, 1, ENGINE_LOGITS_LAST, err))
        return -1;
    *tok = argmax(engine_logits(c, 0), engine_n_vocab(c));
    return 0;
}

static int warm_up(engine_ctx *c, perr *err)
{
    int32_t t[8];
    fill_tokens(t, 8, engine_n_vocab(c), 99);
    int rc = engine_eval(c, 0, t, 8, ENGINE_LOGITS_LAST, err);
    engine_seq_clear(c, 0);
    return rc;
}

static int bench_single(const model *m, const bench_opts *o, bench_result *r, perr *err)
{
    engine_params ep = {.n_ctx = o->n_prompt + o->n_gen + 8, .n_seq = 1, .n_threads = o->n_threads};
    engine_ctx *c;
    if (engine_ctx_new(&c, m, &ep, err))
        return -1;
    int32_t *prompt = malloc(sizeof *prompt * (size_t)(o->n_prompt + 1));
    int rc = prompt ? warm_up(c, err) : perr_set(err, "out of memory");
    stamp pp_time = {0}, tg_time = {0};
    for (int rep = 0; rc == 0 && rep < o->reps; rep++) {
        fill_tokens(prompt, o->n_prompt, engine_n_vocab(c), (uint32_t)rep + 1);
        engine_seq_clear(c, 0);
        stamp t0 = stamp_now();
        if (o->n_prompt > 0)
            rc = engine_eval(c, 0, prompt, o->n_prompt, ENGINE_LOGITS_LAST, err);
        add_since(&pp_time, t0);
        engine_seq_clear(c, 0);
        int32_t tok = 1;
        t0 = stamp_now();
        for (int i = 0; rc == 0 && i < o->n_gen; i++)
            rc = decode_step(c, 0, &tok, err);
        add_since(&tg_time, t0);
    }
    r->pp = rate_of((double)o->n_prompt * o->reps, pp_time);
    r->tg = rate_of((double)o->n_gen * o->reps, tg_time);
    free(prompt);
    engine_ctx_free(c);
    return rc;
}

/* generate_run, greedy, n_gen tokens after a GEN_PROMPT-token prompt (BOS
 * first): the loop a generation really runs, drafts included. */
static int gen_runs(engine_ctx *c, const tokenizer *tok, const bench_opts *o, bench_result *r, perr *err)
{
    int32_t prompt[GEN_PROMPT];
    generate_params p = {.n_predict = o->n_gen, .sampling = sampler_default_params(), .no_draft = o->no_draft};
    p.sampling.temp = 0;
    stamp t = {0};
    for (int rep = 0; rep < o->reps; rep++) {
        fill_tokens(prompt, GEN_PROMPT, engine_n_vocab(c), (uint32_t)(500 + rep));
        if (tokenizer_bos(tok) >= 0)
            prompt[0] = tokenizer_bos(tok);
        generate_result res;
        stamp t0 = stamp_now();
        if (generate_run(c, 0, tok, prompt, GEN_PROMPT, &p, NULL, NULL, &res, err))
            return -1;
        add_since(&t, t0);
        r->gen_tokens += res.n_generated;
        r->gen_passes += res.n_passes;
        r->gen_draft_proposed += res.n_draft_proposed;
        r->gen_draft_accepted += res.n_draft_accepted;
    }
    r->gen = rate_of((double)r->gen_tokens, t);
    r->gen_passes_per_token = r->gen_tokens ? (double)r->gen_passes / (double)r->gen_tokens : 0;
    return 0;
}

static int bench_gen(const model *m, const bench_opts *o, bench_result *r, perr *err)
{
    if (o->n_gen == 0)
        return 0;
    tokenizer *tok;
    if (tokenizer_from_gguf(&tok, m->gguf, err))
        return -1;
    engine_params ep = {.n_ctx = GEN_PROMPT + o->n_gen + 8, .n_seq = 1, .n_threads = o->n_threads};
    engine_ctx *c;
    int rc = engine_ctx_new(&c, m, &ep, err);
    if (rc == 0) {
        rc = warm_up(c, err) || gen_runs(c, tok, o, r, err) ? -1 : 0;
        engine_ctx_free(c);
    }
    tokenizer_free(tok);
    return rc;
}

/* One greedy decode step of k sequences in one batched eval: next[s] is
 * sequence s's token, replaced by its argmax. */
static int batch_step(engine_ctx *c, engine_batch_item *items, int32_t *next, int k, perr *err)
{
    for (int s = 0; s < k; s++)
        items[s] = (engine_batch_item){ .seq = s, .tokens = &next[s], .n_tokens = 1,
                                        .logits = ENGINE_LOGITS_LAST };
    if (engine_eval_batch(c, items, (size_t)k, err))
        return -1;
    for (int s = 0; s < k; s++)
        next[s] = argmax(engine_logits(c, s), engine_n_vocab(c));
    return 0;
}

/* k sequences sharing a 128-token prompt (evaluated once, then its KV cells
 * copied to the other sequences, as llama-batched-bench's shared-prompt
 * mode), each starting from a different token; then 64 batched decode steps
 * of k tokens. Only the decode steps are timed. */
static int bench_batch(const model *m, const bench_opts *o, int k, rate *out, perr *err)
{
    engine_params ep = {.n_ctx = BATCH_PROMPT + BATCH_GEN + 8, .n_seq = k, .n_threads = o->n_threads};
    engine_ctx *c;
    if (engine_ctx_new(&c, m, &ep, err))
        return -1;
    int32_t prompt[BATCH_PROMPT];
    int32_t *next = calloc((size_t)k, sizeof *next);
    engine_batch_item *items = calloc((size_t)k, sizeof *items);
    int rc = next && items ? warm_up(c, err) : perr_set(err, "out of memory");
    stamp dec_time = {0};
    const int n_vocab = engine_n_vocab(c);
    for (int rep = 0; rc == 0 && rep < o->reps; rep++) {
        engine_seq_clear(c, 0);
        fill_tokens(prompt, BATCH_PROMPT, n_vocab, (uint32_t)(1000 + rep));
        rc = engine_eval(c, 0, prompt, BATCH_PROMPT, ENGINE_LOGITS_NONE, err);
        for (int s = 0; rc == 0 && s < k; s++) {
            if (s > 0)
                rc = engine_seq_copy_prefix(c, 0, s, BATCH_PROMPT, err);
            next[s] = 3 + (int32_t)((7919u * (uint32_t)(s + 1)) % (uint32_t)(n_vocab - 3));
        }
        stamp t0 = stamp_now();
        for (int i = 0; rc == 0 && i < BATCH_GEN; i++)
            rc = batch_step(c, items, next, k, err);
        add_since(&dec_time, t0);
    }
    *out = rate_of((double)k * BATCH_GEN * o->reps, dec_time);
    free(next);
    free(items);
    engine_ctx_free(c);
    return rc;
}

static int run_bench(const bench_opts *o, model **m, bench_result *r, perr *err)
{
    double t0 = now_s();
    if (model_load(m, o->model_path, err) || model_pack_weights(*m, o->pack, err))
        return -1;
    r->load_s = now_s() - t0;
    r->rss_load_mib = rss_mib();
    if (bench_single(*m, o, r, err) || bench_gen(*m, o, r, err))
        return -1;
    for (int i = 0; i < o->n_batch; i++)
        if (bench_batch(*m, o, o->batch[i], &r->batch[i], err))
            return perr_prefix(err, "batch of %d", o->batch[i]);
    r->peak_rss_mib = peak_rss_mib();
    return 0;
}

/* ---- Reporting ---- */

static int64_t n_params(const model *m)
{
    int64_t total = 0;
    for (int64_t i = 0; i < gguf_n_tensors(m->gguf); i++) {
        const gguf_tensor *t = gguf_tensor_at(m->gguf, i);
        total += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    }
    return total;
}

static void add_type_counts(cJSON *obj, const model *m)
{
    int64_t counts[TT_COUNT];
    model_type_counts(m, counts);
    for (int t = 0; t < TT_COUNT; t++)
        if (counts[t])
            cJSON_AddNumberToObject(obj, tensor_type_name((uint32_t)t), (double)counts[t]);
}

static void print_json(const bench_opts *o, const model *m, const bench_result *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", o->model_path);
    add_type_counts(cJSON_AddObjectToObject(root, "weight_types"), m);
    cJSON_AddNumberToObject(root, "file_bytes", (double)gguf_file_size(m->gguf));
    cJSON_AddNumberToObject(root, "n_params", (double)n_params(m));
    cJSON_AddNumberToObject(root, "threads", o->n_threads);
    cJSON_AddNumberToObject(root, "reps", o->reps);
    cJSON_AddNumberToObject(root, "load_s", r->load_s);
    cJSON_AddNumberToObject(root, "packed_mib", (double)m->packed_bytes / 1048576.0);
    cJSON_AddNumberToObject(root, "n_prompt", o->n_prompt);
    cJSON_AddNumberToObject(root, "pp_tok_s", r->pp.tps);
    cJSON_AddNumberToObject(root, "pp_tok_per_cpu_s", r->pp.cpu_tps);
    cJSON_AddNumberToObject(root, "n_gen", o->n_gen);
    cJSON_AddNumberToObject(root, "tg_tok_s", r->tg.tps);
    cJSON_AddNumberToObject(root, "tg_tok_per_cpu_s", r->tg.cpu_tps);
    cJSON_AddNumberToObject(root, "gen_tok_s", r->gen.tps);
    cJSON_AddNumberToObject(root, "gen_tok_per_cpu_s", r->gen.cpu_tps);
    cJSON_AddNumberToObject(root, "gen_tokens", (double)r->gen_tokens);
    cJSON_AddNumberToObject(root, "gen_forward_passes", (double)r->gen_passes);
    cJSON_AddNumberToObject(root, "gen_passes_per_token", r->gen_passes_per_token);
    cJSON_AddNumberToObject(root, "gen_draft_proposed", (double)r->gen_draft_proposed);
    cJSON_AddNumberToObject(root, "gen_draft_accepted", (double)r->gen_draft_accepted);
    cJSON_AddBoolToObject(root, "draft", !o->no_draft);
    cJSON_AddStringToObject(root, "batch_mode", "batched");
    cJSON *arr = cJSON_AddArrayToObject(root, "batched");
    for (int i = 0; i < o->n_batch; i++) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddNumberToObject(b, "n_seq", o->batch[i]);
        cJSON_AddNumberToObject(b, "prompt", BATCH_PROMPT);
        cJSON_AddNumberToObject(b, "gen", BATCH_GEN);
        cJSON_AddNumberToObject(b, "decode_tok_s", r->batch[i].tps);
        cJSON_AddNumberToObject(b, "decode_tok_per_cpu_s", r->batch[i].cpu_tps);
        cJSON_AddItemToArray(arr, b);
    }
    cJSON_AddNumberToObject(root, "rss_after_load_mib", r->rss_load_mib);
    cJSON_AddNumberToObject(root, "peak_rss_mib", r->peak_rss_mib);
    char *s = cJSON_PrintUnformatted(root);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(root);
}

static void print_text(const bench_opts *o, const model *m, const bench_result *r)
{
    int64_t counts[TT_COUNT];
    model_type_counts(m, counts);
    printf("model     %s\n          %.1f MiB, %.2f B parameters, weights:", o->model_path,
           gguf_file_size(m->gguf) / 1048576.0, (double)n_params(m) / 1e9);
    for (int t = 0; t < TT_COUNT; t++)
        if (counts[t])
            printf(" %s x%lld", tensor_type_name((uint32_t)t), (long long)counts[t]);
    printf("\nthreads   %d, repetitions %d, load %.2f s, packed weights %.1f MiB\n", o->n_threads,
           o->reps, r->load_s, (double)m->packed_bytes / 1048576.0);
    printf("            tok/s   tok/CPU-s\n");
    printf("pp%-6d  %10.2f  %10.2f   prefill, one eval\n", o->n_prompt, r->pp.tps, r->pp.cpu_tps);
    printf("tg%-6d  %10.2f  %10.2f   decode, one token per eval\n", o->n_gen, r->tg.tps,
           r->tg.cpu_tps);
    if (o->n_gen > 0)
        printf("gen%-5d  %10.2f  %10.2f   generation loop, drafts %s: %.2f forward passes per token\n", o->n_gen,
               r->gen.tps, r->gen.cpu_tps, o->no_draft ? "off" : "on", r->gen_passes_per_token);
    for (int i = 0; i < o->n_batch; i++)
        printf("B=%-6d  %10.2f  %10.2f   aggregate decode, %d x %d tokens after a shared "
               "%d-token prompt, batched\n", o->batch[i], r->batch[i].tps, r->batch[i].cpu_tps,
               o->batch[i], BATCH_GEN, BATCH_PROMPT);
    printf("rss       %.1f MiB after load (weights mmap'd), peak %.1f MiB\n", r->rss_load_mib,
           r->peak_rss_mib);
}

/* ---- Options ---- */

static const struct option long_options[] = {
    { "model", required_argument, NULL, 'm' },
    { "prompt", required_argument, NULL, 'p' },
    { "gen", required_argument, NULL, 'n' },
    { "batch", required_argument, NULL, 'B' },
    { "threads", required_argument, NULL, 't' },
    { "reps", required_argument, NULL, 'r' },
    { "json", no_argument, NULL, 'j' },
    { "pack", required_argument, NULL, 'P' },
    { "no-draft", no_argument, NULL, 'D' },
    { NULL, 0, NULL, 0 },
};

/* "1,4,8" -> batch sizes (0 alone = none); -1 on a malformed list. */
static int parse_batch_list(const char *s, bench_opts *o)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    o->n_batch = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k;
        if (cli_parse_int(tok, 0, 256, &k) || o->n_batch == MAX_BATCHES)
            return -1;
        if (k > 0)
            o->batch[o->n_batch++] = k;
    }
    return 0;
}

static int parse_opts(int argc, char **argv, bench_opts *o)
{
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+m:p:n:B:t:r:", long_options, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': o->model_path = optarg; break;
        case 'p': bad = cli_parse_int(optarg, 0, 1 << 16, &o->n_prompt); break;
        case 'n': bad = cli_parse_int(optarg, 0, 1 << 16, &o->n_gen); break;
        case 'B': bad = parse_batch_list(optarg, o); break;
        case 't': bad = cli_parse_int(optarg, 1, 1024, &o->n_threads); break;
        case 'r': bad = cli_parse_int(optarg, 1, 1000, &o->reps); break;
        case 'j': o->json = 1; break;
        case 'P': bad = model_pack_mode_parse(optarg, &o->pack); break;
        case 'D': o->no_draft = 1; break;
        default: return cli_usage_error(&cmd_bench, "unknown option");
        }
        if (bad)
            return cli_usage_error(&cmd_bench, "bad value '%s' for -%c", optarg, c);
    }
    if (!o->model_path)
        return cli_usage_error(&cmd_bench, "-m MODEL is required");
    if (optind != argc)
        return cli_usage_error(&cmd_bench, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static int bench_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_bench, stdout);
        return EXIT_OK;
    }
    bench_opts o = {.n_prompt = 512, .n_gen = 128, .n_threads = cli_default_threads(), .reps = 1,
                    .batch = {1, 4, 8}, .n_batch = 3};
    int rc = parse_opts(argc, argv, &o);
    if (rc)
        return rc;
    model *m = NULL;
    bench_result r = {0};
    perr err = { { 0 } };
    if (run_bench(&o, &m, &r, &err) != 0) {
        fprintf(stderr, "precis bench: %s\n", err.msg);
        model_free(m);
        return EXIT_FAIL;
    }
    if (o.json)
        print_json(&o, m, &r);
    else
        print_text(&o, m, &r);
    model_free(m);
    return EXIT_OK;
}
