/* support.h — helpers shared by the Criterion test files.
 *
 * Test assets (../shared/models, ../shared/corpus) are found through
 * PRECIS_TEST_MODELS and PRECIS_TEST_CORPUS. When an asset is missing the
 * test is skipped on a developer machine but FAILS when CI=true, so CI can
 * never pass by silently skipping.
 */
#ifndef PRECIS_TEST_SUPPORT_H
#define PRECIS_TEST_SUPPORT_H

#include <criterion/criterion.h>
#include <stddef.h>
#include <sys/types.h>

/* Full path of NAME inside the models / corpus directory; the returned
 * string is malloc'd. Skips (or fails under CI) when unavailable. */
char *test_model_path(const char *name);
char *test_corpus_path(const char *name);

/* The vocabulary of model file NAME (in the models directory); skips as
 * test_model_path does. Free with tokenizer_free. */
typedef struct tokenizer tokenizer;
tokenizer *test_load_tokenizer(const char *name);

/* Schema text compiled with max_whitespace max_ws; fails the test on error. */
typedef struct json_schema json_schema;
json_schema *test_compile_schema(const char *text, int max_ws);

/* Read a whole file (NUL-terminated, malloc'd); fails the test on error. */
char *test_read_file(const char *path, size_t *len);

/* Directory for scratch files of this test (created, unique per process;
 * removed when the test process exits, unless PRECIS_TEST_KEEP_TMP is set). */
const char *test_tmpdir(void);

/* Write text to the file NAME of test_tmpdir(); returns its path (malloc'd).
 * Fails the test on error. */
char *test_write_tmp(const char *name, const char *text);

/* Path of the built precis binary (PRECIS_BIN), for CLI tests. */
const char *test_precis_bin(void);
/* The test binary precis-stub (`precis serve` with the stub step):
 * $PRECIS_STUB_BIN, else ./build/precis-stub. */
const char *test_precis_stub_bin(void);

/* Sleep for ms milliseconds. */
void test_sleep_ms(int ms);

/* How many processes have parent as their parent and are in state (a
 * /proc/PID/stat letter such as 'Z'; 0: any), read from /proc; *first (may be
 * NULL) gets one of their pids, or -1. */
int test_children_of(pid_t parent, char state, pid_t *first);

/* Start argv[0] (a path) with stderr appended to log; stdout goes to a pipe
 * returned in *out_fd, or to log when out_fd is NULL. */
pid_t test_spawn(char *const argv[], int *out_fd, const char *log, char *const env[]);

/* Exit status of pid (128 + signal when killed); SIGKILLs it and fails the
 * test if it has not exited within 30 s. */
int test_wait_exit(pid_t pid);

/* Like test_wait_exit, but returns -1 (after the SIGKILL) instead of failing
 * when pid has not exited within timeout_ms. */
int test_try_wait_exit(pid_t pid, int timeout_ms);

/* Run a shell command, capture stdout (malloc'd) and return the exit status. */
int test_run(const char *cmd, char **out);

/* test_run of "<the precis binary> ARGS 2>&1", ARGS formatted from fmt
 * printf-style: stdout and stderr together in *out. */
int test_run_precis(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Words (maximal runs of Unicode letters and digits, lower-cased) that
 * texts a and b share as multisets: each word counted min(times in a, times
 * in b). *n_a and *n_b get the two texts' word counts. */
size_t test_words_in_common(const char *a, const char *b, size_t *n_a, size_t *n_b);

/* The number at key of JSON object o (exact key); fails the test when it is
 * missing or not a number. */
struct cJSON;
double test_json_number(const struct cJSON *o, const char *key);

#endif
