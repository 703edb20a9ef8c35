/* pipeline_setup.h — building the model pipeline from the configuration, for
 * `precis serve` and `precis run`: which model, which prompts, which limits.
 *
 * Model, first found wins:
 *   1. -m MODEL (the command's override)
 *   2. [engine] model (or PRECIS_ENGINE_MODEL)
 *   3. PRECIS_MODEL
 *   4. the largest *.gguf file in ./models/
 *   5. $PRECIS_TEST_MODELS/synth-d256-q8_0.gguf — the test suite's random
 *      model with the real Llama 2 vocabulary and a llama2 chat template
 *      (stories260K has neither a chat template nor a 2048-token context).
 * A model below LLM_TOY_PARAMS parameters is logged as a WARNING: its text
 * is not meaningful.
 *
 * Prompts: [pipeline] prompts_dir, else prompts/ next to the binary (a
 * source tree), else ../share/precis/prompts from the binary (make install),
 * else ./prompts.
 */
#ifndef PRECIS_PIPELINE_SETUP_H
#define PRECIS_PIPELINE_SETUP_H

#include <stddef.h>

#include "common/error.h"
#include "daemon/config.h"
#include "pipeline/pipeline.h"

#define PIPELINE_TEST_MODEL "synth-d256-q8_0.gguf"

typedef struct pipeline_setup_overrides {
    const char *model_path;   /* -m; NULL = resolve */
    int max_tokens;           /* > 0: per-call generation limit for every analysis */
    extract_server *extract_server; /* started before any thread (extract_server.h);
                               * NULL = each extraction forks this process */
    int no_draft;             /* --no-draft: 1 turns [engine] draft off */
} pipeline_setup_overrides;

/* Where the model comes from: the path and which rule chose it. */
int pipeline_resolve_model(const config *cfg, const char *override, char *path, size_t cap,
                           const char **source, perr *err);

/* The prompts directory (see above) into dir. */
int pipeline_resolve_prompts(const config *cfg, char *dir, size_t cap, perr *err);

/* Start the extraction server (extractors/extract_server.h) for `serve` and
 * `run`. Refuses while the process has more than one thread: call it
 * before anything that starts one (the model, the consumer, the mock
 * broker, the HTTP server, the lifecycle thread). */
int pipeline_start_extract_server(extract_server **out, perr *err);

/* Resolve, load the model (logged with its identity and load time) and
 * build the pipeline. ov may be NULL. */
int pipeline_setup(const config *cfg, const pipeline_setup_overrides *ov, pipeline **out, perr *err);

#define PIPELINE_MAX_JOBS_IN_FLIGHT 256

/* Jobs `serve` and `run` handle at once: [pipeline] jobs_in_flight, or
 * with 0 (the default) [engine] parallel, enough to fill the slots. */
int pipeline_jobs_in_flight(const config *cfg, int *out, perr *err);

/* [pipeline] ocr, ocr_languages, ocr_dpi into *out: -1 with err naming the
 * key for a bad mode or dpi, or with check_installed (unless ocr = off) a
 * malformed language list or a language that is not installed (loads
 * Tesseract to see). */
int pipeline_read_ocr(const config *cfg, int check_installed, pipeline_ocr *out, perr *err);

/* SIGHUP: apply the settings that are safe to change between jobs — the
 * [pipeline] extract_* limits and ocr* settings — from cfg, and re-read the
 * prompt files. */
int pipeline_reload_settings(pipeline *p, const config *cfg, perr *err);

#endif
