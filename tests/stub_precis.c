/* stub_precis.c — the test binary precis-stub: `precis-stub serve [serve
 * options]` is the real `precis serve` with the stub step (tests/stub_step.h)
 * instead of the model pipeline, for tests that spawn a whole daemon (SIGKILL
 * mid-job, scale-out). PRECIS_STUB_DELAY_MS (0..600000) adds pretend work
 * per job; --log-level and PRECIS_LOG_LEVEL work as in precis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/serve.h"
#include "tests/stub_step.h"

static int read_delay(stub_step_options *o)
{
    const char *v = getenv("PRECIS_STUB_DELAY_MS");
    if (!v || !*v)
        return 0;
    char *end;
    long ms = strtol(v, &end, 10);
    if (*end || ms < 0 || ms > 600000)
        return -1;
    o->delay_ms = ms;
    return 0;
}

int main(int argc, char **argv)
{
    if (cli_take_log_level(&argc, argv) != 0)
        return EXIT_USAGE;
    if (argc < 2 || strcmp(argv[1], "serve") != 0) {
        fputs("usage: precis-stub serve [-c FILE] [--migrate]   (test binary: precis serve with the stub step)\n",
              stderr);
        return EXIT_USAGE;
    }
    stub_step_options opts = {0};
    if (read_delay(&opts) != 0) {
        fputs("precis-stub: PRECIS_STUB_DELAY_MS must be 0..600000\n", stderr);
        return EXIT_USAGE;
    }
    serve_step_override step = {.step = stub_step, .ctx = &opts};
    return serve_main(argc - 1, argv + 1, &step);
}
