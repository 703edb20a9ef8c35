/* bench_batching.c — what continuous batching and prompt-prefix reuse buy
 * the pipeline (not a test).
 *
 * N "documents" are answered through pipeline/llm/llm.h as an analysis would:
 * one chat prompt each, the same system prompt and instructions (the
 * shared prefix) followed by a different document, MAX_TOKENS generated
 * greedily (the synthetic models' text is noise, so no EOS cuts it short).
 * Each configuration runs on a freshly opened model:
 *   serial      parallel 1, one llm_chat per document, cache cleared between
 *               documents (no reuse: what an engine without either does)
 *   prefix      parallel 1, one llm_chat per document, prefix reused
 *   batched P   parallel P, one llm_chat_many for all documents
 * and prints wall time, documents per hour, generated tokens per second and
 * how many prompt tokens were computed vs reused.
 *
 *   bench-batching MODEL [N_DOCS] [MAX_TOKENS] [THREADS] [P,P,...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotonic.h"
#include "pipeline/llm/llm.h"

static const char SYSTEM[] =
    "You are a careful analyst. You summarize documents accurately and neutrally. Use only what the "
    "document says; never invent facts, names, dates or numbers.";

/* About 300 tokens of instructions, the same for every document. */
static char *instructions(void)
{
    char *s = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&s, &cap);
    fputs("Summarize the document below as JSON with a title, a summary and key points. ", f);
    for (int i = 1; i <= 12; i++)
        fprintf(f, "Rule %d: every key point cites the paragraph ids it comes from, in the form [p%d]; quote "
                   "figures exactly and keep names as written. ", i, i);
    fclose(f);
    return s;
}

/* About 200 tokens of document text, different for each i. */
static char *document(int i)
{
    char *s = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&s, &cap);
    for (int p = 1; p <= 6; p++)
        fprintf(f, "[p%d] Response %d, part %d: the council proposes to change bus route %d from %d May; "
                   "residents of ward %d asked for later services on Sundays.\n\n", p, i, p, i * 7 + p, p + 1, i + p);
    fclose(f);
    return s;
}

typedef struct run_result {
    double seconds;
    long generated, computed, reused;
} run_result;

static llm *open_model(const char *path, int threads, int parallel)
{
    llm_options o = {.model_path = path, .n_ctx = 2048, .n_threads = threads, .n_parallel = parallel};
    llm *m;
    perr err;
    if (llm_open(&m, &o, &err) != 0) {
        fprintf(stderr, "bench-batching: %s\n", err.msg);
        exit(1);
    }
    return m;
}

static void prompts(llm *m, int n, int32_t **ids, size_t *n_ids)
{
    char *instr = instructions();
    for (int i = 0; i < n; i++) {
        char *doc = document(i), *user = NULL;
        if (asprintf(&user, "%s\n\n<document>\n%s</document>", instr, doc) < 0)
            exit(1);
        perr err;
        if (llm_chat_tokens(m, SYSTEM, user, &ids[i], &n_ids[i], &err) != 0) {
            fprintf(stderr, "bench-batching: %s\n", err.msg);
            exit(1);
        }
        free(doc);
        free(user);
    }
    free(instr);
}

/* parallel 0 = serial without reuse, 1 = serial with reuse, else batched. */
static run_result run(const char *path, int threads, int parallel, int n, int max_tokens)
{
    llm *m = open_model(path, threads, parallel > 1 ? parallel : 1);
    int32_t **ids = calloc((size_t)n, sizeof *ids);
    size_t *n_ids = calloc((size_t)n, sizeof *n_ids);
    llm_chat_request *reqs = calloc((size_t)n, sizeof *reqs);
    prompts(m, n, ids, n_ids);
    sampler_params sp = sampler_default_params();
    sp.temp = 0;
    for (int i = 0; i < n; i++)
        reqs[i] = (llm_chat_request){.ids = ids[i], .n_ids = n_ids[i], .max_tokens = max_tokens, .sampling = &sp};
    run_result r = {0};
    perr err;
    double t0 = monotonic_seconds();
    if (parallel > 1) {
        if (llm_chat_many(m, reqs, (size_t)n, NULL, NULL, &err) != 0)
            fprintf(stderr, "bench-batching: %s\n", err.msg), exit(1);
    } else {
        for (int i = 0; i < n; i++) {
            if (llm_chat_many(m, &reqs[i], 1, NULL, NULL, &err) != 0)
                fprintf(stderr, "bench-batching: %s\n", err.msg), exit(1);
            if (parallel == 0)
                llm_forget(m);
        }
    }
    r.seconds = monotonic_seconds() - t0;
    for (int i = 0; i < n; i++) {
        if (reqs[i].status != 0)
            fprintf(stderr, "bench-batching: document %d: %s\n", i, reqs[i].error), exit(1);
        r.generated += reqs[i].reply.completion_tokens;
        r.reused += reqs[i].reply.cached_tokens;
        r.computed += reqs[i].reply.prompt_tokens - reqs[i].reply.cached_tokens;
        llm_reply_clear(&reqs[i].reply);
        free(ids[i]);
    }
    free(ids);
    free(n_ids);
    free(reqs);
    llm_free(m);
    return r;
}

static void print_row(const char *label, const run_result *r, int n, double base)
{
    printf("| %-12s | %8.1f | %9.0f | %8.1f | %9ld | %9ld | %5.2fx |\n", label, r->seconds, n * 3600.0 / r->seconds,
           (double)r->generated / r->seconds, r->computed, r->reused, base / r->seconds);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-batching MODEL [N_DOCS] [MAX_TOKENS] [THREADS] [P,P,...]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *path = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 16, max_tokens = argc > 3 ? atoi(argv[3]) : 64;
    int threads = argc > 4 ? atoi(argv[4]) : 2;
    char *list = strdup(argc > 5 ? argv[5] : "4,8");
    printf("model %s, %d documents (shared prefix ~%s), %d tokens generated each, %d threads\n\n", path, n,
           "400 tokens", max_tokens, threads);
    printf("| mode         | wall s   | docs/hour | gen tok/s | prompt computed | reused | speed-up |\n");
    printf("|---|---|---|---|---|---|---|\n");
    run_result serial = run(path, threads, 0, n, max_tokens);
    print_row("serial", &serial, n, serial.seconds);
    run_result prefix = run(path, threads, 1, n, max_tokens);
    print_row("prefix", &prefix, n, serial.seconds);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int p = atoi(tok);
        if (p < 2)
            continue;
        run_result b = run(path, threads, p, n, max_tokens);
        char label[32];
        snprintf(label, sizeof label, "batched %d", p);
        print_row(label, &b, n, serial.seconds);
    }
    free(list);
    return 0;
}
