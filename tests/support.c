/* support.c — asset lookup, scratch dirs and command running for tests. */
#include "tests/support.h"

#include "engine/gguf/gguf.h"
#include "engine/json/json_schema.h"
#include "engine/tokenizer/tokenizer.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int running_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && (strcmp(ci, "true") == 0 || strcmp(ci, "1") == 0);
}

static char *asset_path(const char *env, const char *name)
{
    const char *dir = getenv(env);
    if (!dir || !*dir) {
        if (running_in_ci())
            cr_assert_fail("%s is not set but CI=true: test assets are required in CI", env);
        cr_skip_test("%s not set; skipping test that needs %s", env, name);
    }
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        cr_assert_fail("out of memory");
    struct stat st;
    if (stat(path, &st) != 0) {
        if (running_in_ci())
            cr_assert_fail("test asset %s is missing (CI=true)", path);
        cr_skip_test("test asset %s is missing", path);
    }
    return path;
}

char *test_model_path(const char *name) { return asset_path("PRECIS_TEST_MODELS", name); }
char *test_corpus_path(const char *name) { return asset_path("PRECIS_TEST_CORPUS", name); }

json_schema *test_compile_schema(const char *text, int max_ws)
{
    json_schema *s = NULL;
    perr err = { { 0 } };
    json_schema_options o = json_schema_default_options();
    o.max_whitespace = max_ws;
    cr_assert_eq(json_schema_compile(&s, text, strlen(text), &o, &err), 0, "%s: %s", text,
                 err.msg);
    return s;
}

tokenizer *test_load_tokenizer(const char *name)
{
    char *path = test_model_path(name);
    gguf_file *f = NULL;
    perr err = { { 0 } };
    cr_assert_eq(gguf_open(&f, path, &err), 0, "%s", err.msg);
    tokenizer *t = NULL;
    cr_assert_eq(tokenizer_from_gguf(&t, f, &err), 0, "%s", err.msg);
    gguf_close(f);
    free(path);
    return t;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)size;
    return buf;
}

char *test_write_tmp(const char *name, const char *text)
{
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/%s", test_tmpdir(), name) > 0);
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
    return path;
}

/* The scratch directory of this test process, removed when it exits. */
static char scratch_dir[256];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Removes the scratch directory at exit, unless PRECIS_TEST_KEEP_TMP is set
 * (to look at logs and files afterwards). A test that crashes never gets
 * here, so its directory stays. */
static void remove_scratch_dir(void)
{
    const char *keep = getenv("PRECIS_TEST_KEEP_TMP");
    if (scratch_dir[0] && !(keep && *keep))
        nftw(scratch_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmpdir(void)
{
    /* One directory per test process (Criterion forks one process per test). */
    if (!scratch_dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(scratch_dir, sizeof scratch_dir, "%s/precis-test-XXXXXX",
                 base && *base ? base : "/tmp");
        cr_assert(mkdtemp(scratch_dir), "mkdtemp failed");
        atexit(remove_scratch_dir);
    }
    return scratch_dir;
}

const char *test_precis_bin(void)
{
    const char *bin = getenv("PRECIS_BIN");
    return bin && *bin ? bin : "./precis";
}

const char *test_precis_stub_bin(void)
{
    const char *bin = getenv("PRECIS_STUB_BIN");
    return bin && *bin ? bin : "./build/precis-stub";
}

void test_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int test_children_of(pid_t parent, char state, pid_t *first)
{
    int n = 0;
    if (first)
        *first = -1;
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        const char *rp = strrchr(buf, ')');
        char st;
        int ppid;
        if (!rp || sscanf(rp + 1, " %c %d", &st, &ppid) != 2 || ppid != parent || (state && st != state))
            continue;
        if (first && *first < 0)
            *first = (pid_t)atoi(e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

pid_t test_spawn(char *const argv[], int *out_fd, const char *log, char *const env[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int fds[2] = {-1, -1};
    if (out_fd) {
        cr_assert_eq(pipe(fds), 0);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
    } else {
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    }
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, env), 0, "spawn %s", argv[0]);
    posix_spawn_file_actions_destroy(&fa);
    if (out_fd) {
        close(fds[1]);
        *out_fd = fds[0];
    }
    return pid;
}

int test_try_wait_exit(pid_t pid, int timeout_ms)
{
    int status = 0;
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        test_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int test_wait_exit(pid_t pid)
{
    int rc = test_try_wait_exit(pid, 30000);
    cr_assert_neq(rc, -1, "process %d did not exit within 30 s", (int)pid);
    return rc;
}

int test_run(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    cr_assert(p, "popen failed for %s", cmd);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    int status = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int test_run_precis(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *cmd = g_strdup_printf("%s %s 2>&1", test_precis_bin(), args);
    int rc = test_run(cmd, out);
    g_free(cmd);
    g_free(args);
    return rc;
}

double test_json_number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "%s is a number", key);
    return v->valuedouble;
}

/* Leak checking belongs to the test processes, not to Criterion's runner:
 * the runner itself leaks a few bytes inside libcriterion (reproducible with
 * .timeout and --jobs 2), which would abort `make check` after every test
 * passed. PRE_ALL runs only in the runner; test processes are spawned fresh
 * (they do not inherit this flag), so leaks in our code are still caught. */
/* Lower-cased words of s, counted. */
static GHashTable *word_counts(const char *s, size_t *total)
{
    GHashTable *counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GString *w = g_string_new(NULL);
    *total = 0;
    for (const char *p = s;; p = g_utf8_next_char(p)) {
        gunichar c = *p ? g_utf8_get_char(p) : 0;
        if (c && g_unichar_isalnum(c)) {
            g_string_append_unichar(w, g_unichar_tolower(c));
            continue;
        }
        if (w->len) {
            gpointer old = g_hash_table_lookup(counts, w->str);
            g_hash_table_insert(counts, g_strdup(w->str), GSIZE_TO_POINTER(GPOINTER_TO_SIZE(old) + 1));
            (*total)++;
            g_string_truncate(w, 0);
        }
        if (!c)
            break;
    }
    g_string_free(w, TRUE);
    return counts;
}

size_t test_words_in_common(const char *a, const char *b, size_t *n_a, size_t *n_b)
{
    GHashTable *ca = word_counts(a, n_a), *cb = word_counts(b, n_b);
    size_t common = 0;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, ca);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        size_t x = GPOINTER_TO_SIZE(value), y = GPOINTER_TO_SIZE(g_hash_table_lookup(cb, key));
        common += x < y ? x : y;
    }
    g_hash_table_destroy(ca);
    g_hash_table_destroy(cb);
    return common;
}

#include <criterion/hooks.h>

static int in_criterion_runner;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    in_criterion_runner = 1;
}

int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) { return in_criterion_runner; }
