/* config.c — load, validate, override and print the process configuration
 * (see config.h). GKeyFile parses the file; a small line scanner finds the
 * line of a section or key so every error can say FILE:LINE. */
#include "daemon/config.h"

#include <ctype.h>
#include <errno.h>
#include <glib.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/schedule.h"
#include "store/conninfo_mask.h"

typedef struct config_entry {
    char *section;
    char *key;
    char *value;
    char *origin; /* "default", "FILE:LINE" or "env NAME" */
} config_entry;

struct config {
    config_entry *entries;
    size_t n, cap;
    char *source;
    char **schedules;
    size_t n_schedules;
};

static const char *const fixed_sections[] = {"kafka", "postgres", "engine", "pipeline", "consultation", "metrics", NULL};

/* ---- entries ---------------------------------------------------------- */

static config_entry *find_entry(const config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->entries[i].section, section) == 0 && strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

static void set_entry(config *cfg, const char *section, const char *key, const char *value, const char *origin)
{
    config_entry *e = find_entry(cfg, section, key);
    if (!e) {
        if (cfg->n == cfg->cap) {
            cfg->cap = cfg->cap ? cfg->cap * 2 : 32;
            cfg->entries = g_renew(config_entry, cfg->entries, cfg->cap);
        }
        e = &cfg->entries[cfg->n++];
        e->section = g_strdup(section);
        e->key = g_strdup(key);
    } else {
        g_free(e->value);
        g_free(e->origin);
    }
    e->value = g_strdup(value);
    e->origin = g_strdup(origin);
}

/* ---- schema ------------------------------------------------------------ */

static int is_schedule_section(const char *section)
{
    if (strncmp(section, "schedule.", 9) != 0 || !section[9])
        return 0;
    for (const char *p = section + 9; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return 0;
    return 1;
}

static int is_known_section(const char *section)
{
    for (size_t i = 0; fixed_sections[i]; i++)
        if (strcmp(section, fixed_sections[i]) == 0)
            return 1;
    return is_schedule_section(section);
}

static const config_key_spec *find_spec(const char *section, const char *key)
{
    const char *schema_section = is_schedule_section(section) ? "schedule.*" : section;
    for (size_t i = 0; config_keys[i].section; i++)
        if (strcmp(config_keys[i].section, schema_section) == 0 && strcmp(config_keys[i].key, key) == 0)
            return &config_keys[i];
    return NULL;
}

/* A librdkafka property: dotted name in [kafka], validated by librdkafka. */
static int is_kafka_property(const char *section, const char *key)
{
    return strcmp(section, "kafka") == 0 && strchr(key, '.') != NULL;
}

static int check_kafka_property(const char *key, const char *value, perr *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr);
    rd_kafka_conf_destroy(conf);
    if (res == RD_KAFKA_CONF_OK)
        return 0;
    if (res == RD_KAFKA_CONF_UNKNOWN)
        return perr_set(err, "unknown Kafka property '%s'", key);
    return perr_set(err, "invalid value for Kafka property '%s': %s", key, errstr);
}

static int check_typed_value(const config_key_spec *spec, const char *value, perr *err)
{
    if (spec->type == CFG_INT) {
        char *end;
        errno = 0;
        strtol(value, &end, 10);
        if (errno || end == value || *end)
            return perr_set(err, "%s must be an integer, got '%s'", spec->key, value);
    } else if (spec->type == CFG_BOOL) {
        if (strcmp(value, "true") && strcmp(value, "false") && strcmp(value, "1") && strcmp(value, "0") &&
            strcmp(value, "yes") && strcmp(value, "no"))
            return perr_set(err, "%s must be true or false, got '%s'", spec->key, value);
    }
    return 0;
}

/* Validate one (section, key, value); err says what is wrong, without location. */
static int check_setting(const char *section, const char *key, const char *value, perr *err)
{
    if (is_kafka_property(section, key))
        return check_kafka_property(key, value, err);
    const config_key_spec *spec = find_spec(section, key);
    if (!spec)
        return perr_set(err, "unknown key '%s' in section [%s]", key, section);
    if (is_schedule_section(section) && schedule_check_setting(key, value, err) != 0)
        return -1;
    return check_typed_value(spec, value, err);
}

/* ---- line scanner -------------------------------------------------------- */

static char *trimmed(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return g_strndup(s, n);
}

/* Line (1-based) of `[section]` (key NULL) or of the last `key =` in it; 0 if not found. */
static int line_of(const char *text, const char *section, const char *key)
{
    int line = 0, found = 0;
    char *current = NULL;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        line++;
        char *t = trimmed(p, len);
        if (t[0] == '[') {
            char *close = strchr(t, ']');
            g_free(current);
            current = close ? g_strndup(t + 1, (size_t)(close - t - 1)) : g_strdup("");
            if (!key && strcmp(current, section) == 0 && !found)
                found = line;
        } else if (key && current && strcmp(current, section) == 0 && t[0] != '#' && t[0] != ';') {
            char *eq = strchr(t, '=');
            if (eq) {
                char *k = trimmed(t, (size_t)(eq - t));
                if (strcmp(k, key) == 0)
                    found = line;
                g_free(k);
            }
        }
        g_free(t);
        p = eol ? eol + 1 : p + len;
    }
    g_free(current);
    return found;
}

/* First line GKeyFile would reject (not blank, comment, group or key=value). */
static int first_malformed_line(const char *text)
{
    int line = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        line++;
        char *t = trimmed(p, len);
        int ok = !t[0] || t[0] == '#' || t[0] == ';' || (t[0] == '[' && strchr(t, ']')) ||
                 (strchr(t, '=') && t[0] != '=');
        g_free(t);
        if (!ok)
            return line;
        p = eol ? eol + 1 : p + len;
    }
    return 0;
}

/* ---- loading ------------------------------------------------------------- */

static void load_defaults(config *cfg)
{
    for (size_t i = 0; config_keys[i].section; i++) {
        const config_key_spec *s = &config_keys[i];
        if (s->default_value && strcmp(s->section, "schedule.*") != 0)
            set_entry(cfg, s->section, s->key, s->default_value, "default");
    }
}

static void add_schedule(config *cfg, const char *section)
{
    const char *name = section + strlen("schedule.");
    for (size_t i = 0; i < cfg->n_schedules; i++)
        if (strcmp(cfg->schedules[i], name) == 0)
            return;
    cfg->schedules = g_renew(char *, cfg->schedules, cfg->n_schedules + 1);
    cfg->schedules[cfg->n_schedules++] = g_strdup(name);
    for (size_t i = 0; config_keys[i].section; i++)
        if (strcmp(config_keys[i].section, "schedule.*") == 0 && config_keys[i].default_value)
            set_entry(cfg, section, config_keys[i].key, config_keys[i].default_value, "default");
}

static int load_group(config *cfg, GKeyFile *kf, const char *path, const char *text, const char *group, perr *err)
{
    if (!is_known_section(group))
        return perr_set(err, "%s:%d: unknown section [%s]", path, line_of(text, group, NULL), group);
    if (is_schedule_section(group))
        add_schedule(cfg, group);
    gsize n_keys = 0;
    gchar **keys = g_key_file_get_keys(kf, group, &n_keys, NULL);
    int rc = 0;
    for (gsize k = 0; k < n_keys && rc == 0; k++) {
        int line = line_of(text, group, keys[k]);
        gchar *value = g_key_file_get_string(kf, group, keys[k], NULL);
        perr why;
        if (!value) {
            rc = perr_set(err, "%s:%d: cannot read value of '%s'", path, line, keys[k]);
        } else if (check_setting(group, keys[k], value, &why) != 0) {
            rc = perr_set(err, "%s:%d: %s", path, line, why.msg);
        } else {
            char origin[64 + PERR_MSG_MAX];
            snprintf(origin, sizeof origin, "%s:%d", path, line);
            set_entry(cfg, group, keys[k], value, origin);
        }
        g_free(value);
    }
    g_strfreev(keys);
    return rc;
}

static int load_file(config *cfg, const char *path, perr *err)
{
    gchar *text = NULL;
    GError *gerr = NULL;
    if (!g_file_get_contents(path, &text, NULL, &gerr)) {
        perr_set(err, "cannot read config %s: %s", path, gerr->message);
        g_error_free(gerr);
        return -1;
    }
    int rc = 0;
    int bad = first_malformed_line(text);
    GKeyFile *kf = g_key_file_new();
    if (bad) {
        rc = perr_set(err, "%s:%d: not a section, key = value or comment", path, bad);
    } else if (!g_key_file_load_from_data(kf, text, (gsize)-1, G_KEY_FILE_NONE, &gerr)) {
        rc = perr_set(err, "%s: %s", path, gerr->message);
        g_error_free(gerr);
    } else {
        gchar **groups = g_key_file_get_groups(kf, NULL);
        for (size_t g = 0; groups[g] && rc == 0; g++)
            rc = load_group(cfg, kf, path, text, groups[g], err);
        g_strfreev(groups);
    }
    g_key_file_free(kf);
    g_free(text);
    return rc;
}

/* "PRECIS_" + upper(section) + "_" + upper(key), '.' and '-' as '_'. */
static char *env_name(const char *section, const char *key)
{
    char *name = g_strdup_printf("PRECIS_%s_%s", section, key);
    for (char *p = name; *p; p++)
        *p = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
    return name;
}

static const char *env_lookup(char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return env[i] + n + 1;
    return NULL;
}

static int apply_env_value(config *cfg, const char *section, const char *key, const char *name,
                           const char *value, perr *err)
{
    perr why;
    if (check_setting(section, key, value, &why) != 0)
        return perr_set(err, "environment %s: %s", name, why.msg);
    char *origin = g_strdup_printf("env %s", name);
    set_entry(cfg, section, key, value, origin);
    g_free(origin);
    return 0;
}

/* PRECIS_KAFKA_<PROP> for a librdkafka property: lower case, '_' -> '.'. */
static int apply_kafka_env(config *cfg, char *const *env, perr *err)
{
    static const char prefix[] = "PRECIS_KAFKA_";
    for (size_t i = 0; env && env[i]; i++) {
        if (strncmp(env[i], prefix, sizeof prefix - 1) != 0)
            continue;
        const char *eq = strchr(env[i], '=');
        if (!eq)
            continue;
        char *name = g_strndup(env[i], (size_t)(eq - env[i]));
        char *prop = g_ascii_strdown(name + sizeof prefix - 1, -1);
        int own = find_spec("kafka", prop) != NULL;
        for (char *p = prop; *p; p++)
            if (*p == '_')
                *p = '.';
        int rc = own ? 0 : apply_env_value(cfg, "kafka", prop, name, eq + 1, err);
        g_free(prop);
        g_free(name);
        if (rc)
            return rc;
    }
    return 0;
}

/* True when NAME is PRECIS_<SECTION>_<KEY> for a key that can be set. */
static int env_name_is_known(const config *cfg, const char *name)
{
    int known = 0;
    for (size_t i = 0; config_keys[i].section && !known; i++) {
        const config_key_spec *s = &config_keys[i];
        size_t n_sections = strcmp(s->section, "schedule.*") == 0 ? cfg->n_schedules : 1;
        for (size_t n = 0; n < n_sections && !known; n++) {
            char *section = n_sections == 1 && strcmp(s->section, "schedule.*") != 0
                                ? g_strdup(s->section)
                                : g_strdup_printf("schedule.%s", cfg->schedules[n]);
            char *expected = env_name(section, s->key);
            known = strcmp(expected, name) == 0;
            g_free(expected);
            g_free(section);
        }
    }
    return known;
}

/* A PRECIS_<SECTION>_ variable that names no key is a typo: say so rather
 * than silently running with the default. ([kafka] is checked by librdkafka.) */
static int check_unknown_env(const config *cfg, char *const *env, perr *err)
{
    static const char *const prefixes[] = {"PRECIS_POSTGRES_", "PRECIS_ENGINE_", "PRECIS_PIPELINE_",
                                           "PRECIS_METRICS_", "PRECIS_SCHEDULE_", NULL};
    for (size_t i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        if (!eq)
            continue;
        for (size_t p = 0; prefixes[p]; p++) {
            if (strncmp(env[i], prefixes[p], strlen(prefixes[p])) != 0)
                continue;
            char *name = g_strndup(env[i], (size_t)(eq - env[i]));
            int known = env_name_is_known(cfg, name);
            if (!known)
                perr_set(err, "environment %s: no such configuration key (see 'precis config defaults'%s)",
                         name, p == 4 ? "; schedules need a [schedule.NAME] section in the file" : "");
            g_free(name);
            if (!known)
                return -1;
        }
    }
    return 0;
}

static int apply_env(config *cfg, char *const *env, perr *err)
{
    if (check_unknown_env(cfg, env, err) != 0)
        return -1;
    for (size_t i = 0; config_keys[i].section; i++) {
        const config_key_spec *s = &config_keys[i];
        if (strcmp(s->section, "schedule.*") == 0)
            continue;
        char *name = env_name(s->section, s->key);
        const char *value = env_lookup(env, name);
        int rc = value ? apply_env_value(cfg, s->section, s->key, name, value, err) : 0;
        g_free(name);
        if (rc)
            return rc;
    }
    for (size_t n = 0; n < cfg->n_schedules; n++) {
        char *section = g_strdup_printf("schedule.%s", cfg->schedules[n]);
        for (size_t i = 0; config_keys[i].section; i++) {
            if (strcmp(config_keys[i].section, "schedule.*") != 0)
                continue;
            char *name = env_name(section, config_keys[i].key);
            const char *value = env_lookup(env, name);
            int rc = value ? apply_env_value(cfg, section, config_keys[i].key, name, value, err) : 0;
            g_free(name);
            if (rc) {
                g_free(section);
                return rc;
            }
        }
        g_free(section);
    }
    return apply_kafka_env(cfg, env, err);
}

/* Every [schedule.NAME] needs cron and collection (after the environment,
 * which may supply them); the error names the section's line. */
static int check_schedules_complete(const config *cfg, perr *err)
{
    for (size_t i = 0; i < cfg->n_schedules; i++) {
        char *section = g_strdup_printf("schedule.%s", cfg->schedules[i]);
        const char *cron = config_get(cfg, section, "cron"), *collection = config_get(cfg, section, "collection");
        int rc = 0;
        if (!cron || !*cron || !collection || !*collection) {
            gchar *text = NULL;
            int line = strcmp(cfg->source, "defaults only") != 0 && g_file_get_contents(cfg->source, &text, NULL, NULL)
                           ? line_of(text, section, NULL) : 0;
            rc = perr_set(err, "%s:%d: [%s] needs %s", cfg->source, line, section,
                          !cron || !*cron ? "cron (e.g. cron = 0 2 * * *)" : "collection");
            g_free(text);
        }
        g_free(section);
        if (rc)
            return rc;
    }
    return 0;
}

int config_load(config **out, const char *path, char *const *env, perr *err)
{
    config *cfg = g_new0(config, 1);
    load_defaults(cfg);
    if (!path && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
        path = CONFIG_DEFAULT_PATH;
    cfg->source = g_strdup(path ? path : "defaults only");
    if ((path && load_file(cfg, path, err) != 0) || apply_env(cfg, env, err) != 0 ||
        check_schedules_complete(cfg, err) != 0) {
        config_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

void config_free(config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        g_free(cfg->entries[i].section);
        g_free(cfg->entries[i].key);
        g_free(cfg->entries[i].value);
        g_free(cfg->entries[i].origin);
    }
    g_free(cfg->entries);
    for (size_t i = 0; i < cfg->n_schedules; i++)
        g_free(cfg->schedules[i]);
    g_free(cfg->schedules);
    g_free(cfg->source);
    g_free(cfg);
}

/* ---- accessors ------------------------------------------------------------ */

const char *config_get(const config *cfg, const char *section, const char *key)
{
    const config_entry *e = find_entry(cfg, section, key);
    return e ? e->value : NULL;
}

int config_get_int(const config *cfg, const char *section, const char *key, long *out, perr *err)
{
    const char *v = config_get(cfg, section, key);
    if (!v || !*v)
        return perr_set(err, "[%s] %s is not set", section, key);
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end)
        return perr_set(err, "[%s] %s must be an integer, got '%s'", section, key, v);
    *out = n;
    return 0;
}

int config_get_bool(const config *cfg, const char *section, const char *key, int *out, perr *err)
{
    const char *v = config_get(cfg, section, key);
    if (!v)
        return perr_set(err, "[%s] %s is not set", section, key);
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
        *out = 0;
    else
        return perr_set(err, "[%s] %s must be true or false, got '%s'", section, key, v);
    return 0;
}

size_t config_kafka_count(const config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->n; i++)
        n += is_kafka_property(cfg->entries[i].section, cfg->entries[i].key);
    return n;
}

void config_kafka_at(const config *cfg, size_t index, const char **key, const char **value)
{
    for (size_t i = 0; i < cfg->n; i++) {
        if (!is_kafka_property(cfg->entries[i].section, cfg->entries[i].key))
            continue;
        if (index-- == 0) {
            *key = cfg->entries[i].key;
            *value = cfg->entries[i].value;
            return;
        }
    }
    *key = *value = NULL;
}

size_t config_schedule_count(const config *cfg) { return cfg->n_schedules; }
const char *config_schedule_name(const config *cfg, size_t i) { return cfg->schedules[i]; }

/* ---- printing --------------------------------------------------------------- */

int config_key_is_secret(const char *section, const char *key)
{
    (void)section;
    static const char *const markers[] = {"password", "passwd", "secret", "key.pem", "oauthbearer.config",
                                          "token", NULL};
    for (size_t i = 0; markers[i]; i++)
        if (strstr(key, markers[i]))
            return 1;
    return 0;
}

/* The conninfo as written, every libpq secret masked (store/conninfo_mask.h). */
static char *mask_conninfo(const char *conninfo)
{
    char *masked = conninfo_mask(conninfo);
    char *shown = g_strdup(masked ? masked : "********");
    free(masked);
    return shown;
}

static void print_section(const config *cfg, FILE *f, const char *section)
{
    fprintf(f, "[%s]\n", section);
    for (size_t i = 0; i < cfg->n; i++) {
        const config_entry *e = &cfg->entries[i];
        if (strcmp(e->section, section) != 0)
            continue;
        char *shown;
        if (strcmp(section, "postgres") == 0 && strcmp(e->key, "conninfo") == 0)
            shown = mask_conninfo(e->value);
        else
            shown = g_strdup(config_key_is_secret(section, e->key) ? "********" : e->value);
        fprintf(f, "%s = %s    # %s\n", e->key, shown, e->origin);
        g_free(shown);
    }
    fputc('\n', f);
}

void config_print(const config *cfg, FILE *f)
{
    fprintf(f, "# effective configuration (source: %s); secrets masked\n", cfg->source);
    for (size_t i = 0; fixed_sections[i]; i++)
        print_section(cfg, f, fixed_sections[i]);
    for (size_t i = 0; i < cfg->n_schedules; i++) {
        char *section = g_strdup_printf("schedule.%s", cfg->schedules[i]);
        print_section(cfg, f, section);
        g_free(section);
    }
}
