/* cmd_migrate.c — `precis migrate`: bring the PostgreSQL schema up to date. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/config.h"
#include "store/store.h"

extern char **environ;

static int migrate_run(int argc, char **argv);

const cli_command cmd_migrate = {
    .name = "migrate",
    .summary = "apply the SQL migrations to the PostgreSQL database",
    .usage =
        "usage: precis migrate [-c FILE] [--dir DIR] [--check]\n"
        "\n"
        "Connect to the database of [postgres] conninfo (empty: the PG* environment\n"
        "variables) and apply every pending migration, in version order, each in its\n"
        "own transaction, recorded in schema_migrations with its sha256. An advisory\n"
        "lock keeps concurrent migrators apart. Refuses to run when an applied\n"
        "migration's file has changed or the database knows a newer migration.\n"
        "\n"
        "  -c, --config FILE   configuration file (default /etc/precis/precis.conf)\n"
        "      --dir DIR       use the *.sql files of DIR instead of the migrations\n"
        "                      built into precis\n"
        "      --check         change nothing; exit 1 if a migration is pending or changed\n",
    .run = migrate_run,
};

typedef struct migrate_args {
    const char *config_path;
    const char *dir;
    int check;
} migrate_args;

static int take_option(void *args, int opt, const char *arg)
{
    migrate_args *a = args;
    switch (opt) {
    case 'c': a->config_path = arg; return 0;
    case 'd': a->dir = arg; return 0;
    case 'k': a->check = 1; return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int parse_args(int argc, char **argv, migrate_args *a)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"dir", required_argument, NULL, 'd'},
        {"check", no_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "+c:", .longopts = options, .take = take_option};
    *a = (migrate_args){0};
    int first;
    return cli_parse_options(&cmd_migrate, &parser, argc, argv, a, &first);
}

static void print_applied(const migration *m, void *ctx)
{
    (void)ctx;
    printf("applied %s (sha256 %.16s...)\n", m->name, m->sha256);
    fflush(stdout);
}

static int fail(const char *msg, int rc)
{
    fprintf(stderr, "precis migrate: %s%s\n", msg,
            rc == STORE_TRANSIENT ? " (the database is unreachable or busy; try again)" : "");
    return EXIT_FAIL;
}

static int run_with_store(store *s, const migrate_args *a, const migration_set *set)
{
    perr err;
    if (a->check) {
        int rc = store_migrate_check(s, set, &err);
        if (rc != 0)
            return fail(err.msg, rc);
        printf("database schema is up to date (%zu known migration%s)\n", set->n, set->n == 1 ? "" : "s");
        return EXIT_OK;
    }
    store_migrate_report rep;
    int rc = store_migrate(s, set, &rep, print_applied, NULL, &err);
    if (rc != 0)
        return fail(err.msg, rc);
    const char *plural = rep.known == 1 ? "" : "s";
    if (rep.applied == 0)
        printf("database schema is up to date at version %ld (%zu known migration%s)\n", rep.version,
               rep.known, plural);
    else
        printf("database schema now at version %ld (applied %zu of %zu known migration%s)\n", rep.version,
               rep.applied, rep.known, plural);
    return EXIT_OK;
}

static int migrate_run(int argc, char **argv)
{
    migrate_args a;
    if (parse_args(argc, argv, &a) != 0)
        return EXIT_USAGE;
    perr err;
    config *cfg;
    if (config_load(&cfg, a.config_path, environ, &err) != 0)
        return fail(err.msg, STORE_ERROR);
    migration_set from_dir = {0}, embedded = {0};
    if (a.dir ? migrations_load_dir(&from_dir, a.dir, &err) : migrations_embedded(&embedded, &err)) {
        config_free(cfg);
        return fail(err.msg, STORE_ERROR);
    }
    store *s;
    int rc = store_connect(&s, config_get(cfg, "postgres", "conninfo"), &err);
    config_free(cfg);
    int status = rc != 0 ? fail(err.msg, rc) : run_with_store(s, &a, a.dir ? &from_dir : &embedded);
    store_close(s);
    migrations_clear(&from_dir);
    migrations_clear(&embedded);
    return status;
}
