/* pg_harness.c — start, share, stop and remove throwaway PostgreSQL servers
 * for tests (see pg_harness.h for the model and the root handling). */
#include "tests/pg_harness.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_ENV "PRECIS_PG_HARNESS_DIR"
#define HARNESS_PORT "5432"
#define DIR_MAX 200          /* a socket path must fit in 107 bytes anyway */
#define BINDIR_MAX 512

struct pg_harness {
    char dir[DIR_MAX];       /* server directory: data/ sock/ server.log */
    char sock[DIR_MAX + 8];  /* dir/sock */
    char bindir[BINDIR_MAX];
    int owned;               /* private: stop and delete on free */
    unsigned databases;      /* databases created through this handle */
};

/* ---- processes ------------------------------------------------------------ */

/* The unprivileged user the server runs as when we are root, else NULL. */
static const char *server_user(void)
{
    if (geteuid() != 0)
        return NULL;
    return getpwnam("postgres") ? "postgres" : "nobody";
}

/* Run argv (execvp) with stdout and stderr appended to log; exit status. */
static int run_command(const char *const *argv, const char *log)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in < 0 || out < 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        /* The server outlives this process: it must not inherit the test
         * runner's pipes or sockets. */
        close_range(3, ~0u, 0);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run a PostgreSQL tool of bindir with args, as the server user. */
static int run_pg_tool(const char *bindir, const char *dir, const char *tool, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    const char *user = server_user();
    if (user) {
        argv[n++] = "runuser";
        argv[n++] = "-u";
        argv[n++] = user;
        argv[n++] = "--";
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", bindir, tool);
    argv[n++] = path;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/harness.log", dir);
    return run_command(argv, log);
}

static int give_to_server_user(const char *path)
{
    const char *user = server_user();
    if (!user)
        return 0;
    struct passwd *pw = getpwnam(user);
    return pw ? chown(path, pw->pw_uid, pw->pw_gid) : -1;
}

/* ---- finding PostgreSQL ------------------------------------------------- */

/* Newest /usr/lib/postgresql/N/bin (or $PRECIS_PG_BINDIR); 0 when found. */
static int find_bindir(char out[BINDIR_MAX])
{
    const char *env = getenv("PRECIS_PG_BINDIR");
    if (env && *env) {
        snprintf(out, BINDIR_MAX, "%s", env);
        return 0;
    }
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) != 0)
        return -1;
    long best = -1;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        long version = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
        if (version > best) {
            best = version;
            snprintf(out, BINDIR_MAX, "%s", g.gl_pathv[i]);
        }
    }
    globfree(&g);
    char *slash = strrchr(out, '/');
    if (best < 0 || !slash)
        return -1;
    *slash = '\0';
    return 0;
}

static int running_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && (strcmp(ci, "true") == 0 || strcmp(ci, "1") == 0);
}

static void require_postgres(char bindir[BINDIR_MAX])
{
    if (find_bindir(bindir) == 0)
        return;
    if (running_in_ci())
        cr_assert_fail("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (CI=true)");
    cr_skip_test("PostgreSQL server binaries not found; skipping a test that needs a database");
}

/* ---- server lifecycle ------------------------------------------------------ */

static int path_exists(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void fail_with_log(const char *dir, const char *what)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "tail -n 20 %s/harness.log %s/server.log 1>&2", dir, dir);
    if (system(cmd) < 0)
        cr_log_warn("could not show the server logs");
    cr_assert_fail("%s failed (logs in %s)", what, dir);
}

static void server_init(const pg_harness *h)
{
    char data[PATH_MAX], sock[PATH_MAX];
    snprintf(data, sizeof data, "%s/data", h->dir);
    snprintf(sock, sizeof sock, "%s/sock", h->dir);
    cr_assert(mkdir(sock, 0700) == 0 && give_to_server_user(sock) == 0,
              "cannot prepare %s for the server user", sock);
    const char *args[] = {"-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                          "--locale=C.UTF-8", "--no-sync", "--no-instructions", NULL};
    if (run_pg_tool(h->bindir, h->dir, "initdb", args) != 0)
        fail_with_log(h->dir, "initdb");
}

static int server_ctl(const pg_harness *h, const char *action, const char *mode)
{
    char data[PATH_MAX], log[PATH_MAX], opts[PATH_MAX + 256];
    snprintf(data, sizeof data, "%s/data", h->dir);
    snprintf(log, sizeof log, "%s/server.log", h->dir);
    /* pg_ctl hands -o to a shell: the directory has no spaces (mkdtemp). */
    snprintf(opts, sizeof opts,
             "-k %s/sock -p " HARNESS_PORT " -c listen_addresses='' -c fsync=off -c full_page_writes=off"
             " -c synchronous_commit=off -c max_connections=60",
             h->dir);
    if (strcmp(action, "start") == 0) {
        const char *args[] = {"-D", data, "-l", log, "-w", "-t", "60", "-s", "-o", opts, "start", NULL};
        return run_pg_tool(h->bindir, h->dir, "pg_ctl", args);
    }
    const char *args[] = {"-D", data, "-w", "-t", "60", "-s", "-m", mode, action, NULL};
    return run_pg_tool(h->bindir, h->dir, "pg_ctl", args);
}

/* mkdtemp under `parent` (/tmp, or the run directory for private servers so
 * the runner can stop them even when a failed test did not), owned by the
 * server user. Short: the socket path must fit in 107 bytes. */
static int make_server_dir(char dir[DIR_MAX], const char *parent)
{
    int n = snprintf(dir, DIR_MAX, "%s/%s", parent, strcmp(parent, "/tmp") == 0 ? "precis-pg-XXXXXX" : "p-XXXXXX");
    if (n < 0 || n >= DIR_MAX)
        return -1;
    if (!mkdtemp(dir))
        return -1;
    return give_to_server_user(dir);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_server(const char *dir, const char *bindir)
{
    pg_harness h = {0};
    snprintf(h.dir, sizeof h.dir, "%s", dir);
    snprintf(h.bindir, sizeof h.bindir, "%s", bindir);
    if (path_exists(dir, "data/postmaster.pid"))
        server_ctl(&h, "stop", "immediate");
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- public ------------------------------------------------------------- */

pg_harness *pg_harness_private(void)
{
    pg_harness *h = calloc(1, sizeof *h);
    cr_assert(h);
    require_postgres(h->bindir);
    const char *run_dir = getenv(HARNESS_ENV);
    cr_assert(make_server_dir(h->dir, run_dir && *run_dir ? run_dir : "/tmp") == 0,
              "cannot create a server directory");
    snprintf(h->sock, sizeof h->sock, "%s/sock", h->dir);
    h->owned = 1;
    server_init(h);
    pg_harness_start(h);
    return h;
}

pg_harness *pg_harness_shared(void)
{
    const char *dir = getenv(HARNESS_ENV);
    if (!dir || !*dir)
        return pg_harness_private(); /* not under the unit-tests runner */
    cr_assert_lt(strlen(dir), DIR_MAX, "%s is too long", HARNESS_ENV);
    pg_harness *h = calloc(1, sizeof *h);
    cr_assert(h);
    require_postgres(h->bindir);
    snprintf(h->dir, sizeof h->dir, "%s", dir);
    snprintf(h->sock, sizeof h->sock, "%s/sock", dir);
    char lock[PATH_MAX];
    snprintf(lock, sizeof lock, "%s/lock", dir);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX) == 0, "cannot lock %s", lock);
    if (!path_exists(dir, "ready")) {
        if (!path_exists(dir, "data/PG_VERSION"))
            server_init(h);
        if (server_ctl(h, "start", NULL) != 0)
            fail_with_log(dir, "starting the shared PostgreSQL server");
        char ready[PATH_MAX];
        snprintf(ready, sizeof ready, "%s/ready", dir);
        int r = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        cr_assert(r >= 0);
        close(r);
    }
    close(fd); /* releases the lock */
    return h;
}

const char *pg_harness_socket_dir(const pg_harness *h) { return h->sock; }

char *pg_harness_new_db(pg_harness *h)
{
    char name[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof name, "t_%ld_%ld_%u", (long)getpid(), (long)(ts.tv_nsec / 1000), ++h->databases);
    char *admin = NULL, *conninfo = NULL;
    cr_assert(asprintf(&admin, "host=%s port=" HARNESS_PORT " user=postgres dbname=postgres", h->sock) > 0);
    PGconn *conn = PQconnectdb(admin);
    cr_assert(PQstatus(conn) == CONNECTION_OK, "cannot connect to the test server: %s", PQerrorMessage(conn));
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name); /* harness-made name, not input */
    PGresult *r = PQexec(conn, sql);
    cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK, "CREATE DATABASE: %s", PQerrorMessage(conn));
    PQclear(r);
    PQfinish(conn);
    free(admin);
    cr_assert(asprintf(&conninfo, "host=%s port=" HARNESS_PORT " user=postgres dbname=%s", h->sock, name) > 0);
    return conninfo;
}

void pg_harness_stop(pg_harness *h)
{
    cr_assert(h->owned, "the shared PostgreSQL server must not be stopped");
    if (server_ctl(h, "stop", "fast") != 0)
        fail_with_log(h->dir, "pg_ctl stop");
}

void pg_harness_start(pg_harness *h)
{
    cr_assert(h->owned, "the shared PostgreSQL server is started by the harness");
    if (server_ctl(h, "start", NULL) != 0)
        fail_with_log(h->dir, "pg_ctl start");
}

void pg_harness_free(pg_harness *h)
{
    if (!h)
        return;
    if (h->owned)
        remove_server(h->dir, h->bindir);
    free(h);
}

/* ---- the runner's hooks (parent process) -------------------------------- */

ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    (void)tests;
    char dir[DIR_MAX];
    if (make_server_dir(dir, "/tmp") == 0)
        setenv(HARNESS_ENV, dir, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    const char *dir = getenv(HARNESS_ENV);
    char bindir[BINDIR_MAX] = "";
    if (!dir || strncmp(dir, "/tmp/precis-pg-", 15) != 0 || strlen(dir) >= DIR_MAX)
        return;
    if (find_bindir(bindir) != 0)
        bindir[0] = '\0';
    /* private servers left running by failed tests, then the shared one */
    char pattern[DIR_MAX + 8];
    snprintf(pattern, sizeof pattern, "%s/p-*", dir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            remove_server(g.gl_pathv[i], bindir);
        globfree(&g);
    }
    remove_server(dir, bindir);
}
