/* serve.h — `precis serve` as a function, so a test binary can run the real
 * daemon (Kafka, PostgreSQL, lifecycle, metrics, the job runner) around an
 * analyzer of its own. The product always passes NULL: test doubles live in tests/ and are
 * linked only into test binaries (tests/stub_precis.c). */
#ifndef PRECIS_SERVE_H
#define PRECIS_SERVE_H

#include "daemon/config.h"
#include "pipeline/job_run.h"

/* An analyzer that replaces the model pipeline (no model is loaded and no
 * schedule runs): setup builds it from the loaded configuration. */
typedef struct serve_analyzer_override {
    int (*setup)(void *ctx, const config *cfg, job_analyzer *out, perr *err);
    void *ctx;
} serve_analyzer_override;

/* Runs `precis serve` with argv[0] = "serve"; custom NULL = the model
 * pipeline. Returns the exit status. */
int serve_main(int argc, char **argv, const serve_analyzer_override *custom);

#endif
