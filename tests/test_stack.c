/* test_stack.c — the engine runs within small thread stacks: `precis bench`
 * (prefill, decode, batched decode of 8 sequences: every tile-kernel pass)
 * on 2 threads with RLIMIT_STACK at 512 KiB, from which glibc also sizes
 * the pool threads' stacks, for every kernel set this CPU runs and the
 * weight types that have tile kernels. Before the kernels' work areas
 * moved to per-thread scratch (issue #18), their ~730 KiB frames made this
 * segfault. The build keeps every frame under 64 KiB (-Wstack-usage in
 * the Makefile); this checks the whole call chains on real threads. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/kernels/kernels.h"
#include "tests/support.h"

#define STACK_LIMIT (512 * 1024)

extern char **environ;

/* This process's environment with PRECIS_KERNELS=set (malloc'd array,
 * the new entry `entry`, the others shared). */
static char **env_with_kernels(const char *set, char **entry)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    cr_assert(env && asprintf(entry, "PRECIS_KERNELS=%s", set) > 0);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PRECIS_KERNELS=", 15) != 0)
            env[k++] = environ[i];
    env[k] = *entry;
    return env;
}

/* Runs argv (argv[0] a path) with RLIMIT_STACK at `limit` bytes and
 * PRECIS_KERNELS=set, output to log; returns its exit status (128 +
 * signal when killed), -1 if it ran over 60 s. */
static int run_with_stack_limit(char *const argv[], rlim_t limit, const char *set, const char *log)
{
    char *entry = NULL;
    char **env = env_with_kernels(set, &entry);
    const struct rlimit rl = { limit, limit };
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        const int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || setrlimit(RLIMIT_STACK, &rl) != 0)
            _exit(126);
        execve(argv[0], argv, env);
        _exit(127);
    }
    const int rc = test_try_wait_exit(pid, 60000);
    free(env);
    free(entry);
    return rc;
}

static void bench_small_stack(const char *model_name, const char *set)
{
    char *model = test_model_path(model_name);
    char *log = NULL;
    cr_assert(asprintf(&log, "%s/bench-%s-%s.log", test_tmpdir(), set, model_name) > 0);
    char *const argv[] = { (char *)test_precis_bin(), "bench", "-m", model, "-p", "64", "-n", "8",
                           "-B", "8", "-t", "2", NULL };
    const int rc = run_with_stack_limit(argv, STACK_LIMIT, set, log);
    char *out = test_read_file(log, NULL);
    /* an expectation, not an assertion: the other sets still run and
     * nothing leaks when it fails */
    cr_expect_eq(rc, 0, "precis bench on %s with kernels %s and a %d KiB stack: exit %d%s\n%s",
                 model_name, set, STACK_LIMIT / 1024, rc,
                 rc == 128 + SIGSEGV ? " (SIGSEGV: a stack overflow?)" : "", out);
    free(out);
    free(log);
    free(model);
}

/* Every set the CPU runs: the SIMD ones have tile kernels, the reference
 * none (it still runs the rest of the forward pass). */
static void bench_every_set(const char *model_name)
{
    static const char *const sets[] = { "avx512", "avx2", "ref" };
    int ran = 0;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        if (!kernels_cpu_supports(sets[i]))
            continue;
        bench_small_stack(model_name, sets[i]);
        ran++;
    }
    cr_assert_geq(ran, 1);
}

Test(stack, bench_q8_0_in_512k_stacks, .timeout = 300)
{
    bench_every_set("synth-d256-q8_0.gguf");
}

Test(stack, bench_q4_0_in_512k_stacks, .timeout = 300)
{
    bench_every_set("synth-d256-q4_0.gguf");
}

/* Q4_K and Q6_K weights (Q4_K_M mixes both). */
Test(stack, bench_q4_k_m_in_512k_stacks, .timeout = 300)
{
    bench_every_set("synth-d256-q4_k_m.gguf");
}
