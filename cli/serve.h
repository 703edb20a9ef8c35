/* serve.h — `precis serve` as a function, so a test binary can run the real
 * daemon (Kafka, PostgreSQL, lifecycle, metrics) around a job step of its
 * own. The product always passes NULL: test doubles live in tests/ and are
 * linked only into test binaries (tests/stub_precis.c). */
#ifndef PRECIS_SERVE_H
#define PRECIS_SERVE_H

#include "daemon/job_handler.h"

/* A job step that replaces the model pipeline (no model is loaded and no
 * schedule runs). */
typedef struct serve_step_override {
    job_step_fn step;
    void *ctx;
} serve_step_override;

/* Runs `precis serve` with argv[0] = "serve"; custom NULL = the model
 * pipeline. Returns the exit status. */
int serve_main(int argc, char **argv, const serve_step_override *custom);

#endif
