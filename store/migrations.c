/* migrations.c — build the ordered migration set from the embedded table or a directory. */
#include "store/migrations.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIGRATION_MAX_BYTES (16u << 20)

long migrations_version_of(const char *name)
{
    size_t digits = strspn(name, "0123456789");
    if (digits == 0 || digits > 9 || name[digits] != '_')
        return -1;
    const char *rest = name + digits + 1;
    size_t stem = strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    if (stem == 0 || strcmp(rest + stem, ".sql") != 0)
        return -1;
    long version = strtol(name, NULL, 10);
    return version > 0 ? version : -1;
}

int migrations_add(migration_set *set, const char *name, const char *sql, size_t len, perr *err)
{
    long version = migrations_version_of(name);
    if (version < 0)
        return perr_set(err, "migration file name '%s' is not NNNN_name.sql (version > 0)", name);
    if (memchr(sql, '\0', len))
        return perr_set(err, "migration %s contains a NUL byte", name);
    size_t at = set->n;
    for (size_t i = 0; i < set->n; i++) {
        if (set->items[i].version == version)
            return perr_set(err, "migrations %s and %s have the same version %ld",
                            set->items[i].name, name, version);
        if (set->items[i].version > version && at == set->n)
            at = i;
    }
    migration *grown = realloc(set->items, (set->n + 1) * sizeof *grown);
    if (!grown)
        return perr_set(err, "out of memory");
    set->items = grown;
    migration m = {.version = version, .name = strdup(name), .sql = malloc(len + 1), .len = len};
    if (!m.name || !m.sql) {
        free(m.name);
        free(m.sql);
        return perr_set(err, "out of memory");
    }
    memcpy(m.sql, sql, len);
    m.sql[len] = '\0';
    sha256_hex(sql, len, m.sha256);
    memmove(&set->items[at + 1], &set->items[at], (set->n - at) * sizeof *set->items);
    set->items[at] = m;
    set->n++;
    return 0;
}

void migrations_clear(migration_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->items[i].name);
        free(set->items[i].sql);
    }
    free(set->items);
    set->items = NULL;
    set->n = 0;
}

int migrations_embedded(migration_set *out, perr *err)
{
    *out = (migration_set){0};
    for (const embedded_sql_file *f = embedded_sql_files; f->name; f++) {
        if (migrations_add(out, f->name, f->data, f->len, err) != 0) {
            migrations_clear(out);
            return perr_prefix(err, "embedded migrations");
        }
    }
    return 0;
}

static int read_small_file(const char *path, char **data, size_t *len, perr *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return perr_errno(err, "%s", path);
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MIGRATION_MAX_BYTES) {
        fclose(f);
        return perr_set(err, "%s: not a regular file of at most %u bytes", path, MIGRATION_MAX_BYTES);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        fclose(f);
        return perr_set(err, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || n != (size_t)st.st_size) {
        free(buf);
        return perr_set(err, "%s: short read", path);
    }
    *data = buf;
    *len = n;
    return 0;
}

static int has_sql_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".sql") == 0;
}

int migrations_load_dir(migration_set *out, const char *dir, perr *err)
{
    *out = (migration_set){0};
    DIR *d = opendir(dir);
    if (!d)
        return perr_errno(err, "migrations directory %s", dir);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_sql_suffix(e->d_name))
            continue;
        char *path = NULL, *data = NULL;
        size_t len = 0;
        if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
            rc = perr_set(err, "out of memory");
            break;
        }
        rc = read_small_file(path, &data, &len, err);
        if (rc == 0)
            rc = migrations_add(out, e->d_name, data, len, err);
        free(path);
        free(data);
    }
    closedir(d);
    if (rc != 0) {
        migrations_clear(out);
        return perr_prefix(err, "migrations directory %s", dir);
    }
    return 0;
}
