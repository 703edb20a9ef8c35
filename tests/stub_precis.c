/* stub_precis.c — the test binary precis-stub: `precis-stub serve [serve
 * options]` is the real `precis serve` with the stub analyzer (tests/stub_analyzer.h)
 * instead of the model pipeline, for tests that spawn a whole daemon (SIGKILL
 * mid-job, scale-out). PRECIS_STUB_DELAY_MS (0..600000) adds pretend work
 * per job, PRECIS_STUB_JITTER_MS up to that much more, fixed per job id (so
 * jobs in flight together finish out of order); --log-level and PRECIS_LOG_LEVEL work as in precis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/serve.h"
#include "daemon/config.h"
#include "tests/stub_analyzer.h"

/* PRECIS_STUB_DELAY_MS / PRECIS_STUB_JITTER_MS (0..600000) into *ms; 0 when unset. */
static int read_ms(const char *name, long *ms)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 0 || n > 600000)
        return -1;
    *ms = n;
    return 0;
}

/* The stub as serve's analyzer; its input root is the configuration's. */
static int setup_stub(void *ctx, const config *cfg, job_analyzer *out, perr *err)
{
    (void)err;
    stub_analyzer_options *o = ctx;
    o->input_root = config_get(cfg, "pipeline", "input_root");
    *out = (job_analyzer){.analyze = stub_analyze, .ctx = o};
    return 0;
}

int main(int argc, char **argv)
{
    if (cli_take_log_level(&argc, argv) != 0)
        return EXIT_USAGE;
    if (argc < 2 || strcmp(argv[1], "serve") != 0) {
        fputs("usage: precis-stub serve [-c FILE] [--migrate]   (test binary: precis serve with the stub analyzer)\n",
              stderr);
        return EXIT_USAGE;
    }
    stub_analyzer_options opts = {0};
    if (read_ms("PRECIS_STUB_DELAY_MS", &opts.delay_ms) != 0 || read_ms("PRECIS_STUB_JITTER_MS", &opts.jitter_ms) != 0) {
        fputs("precis-stub: PRECIS_STUB_DELAY_MS and PRECIS_STUB_JITTER_MS must be 0..600000\n", stderr);
        return EXIT_USAGE;
    }
    serve_analyzer_override stub = {.setup = setup_stub, .ctx = &opts};
    return serve_main(argc - 1, argv + 1, &stub);
}
