/* config.h — process configuration: one INI file (GKeyFile) plus environment.
 *
 * Sources, later wins: built-in defaults < file (-c FILE or
 * /etc/precis/precis.conf when present) < environment PRECIS_<SECTION>_<KEY>
 * (upper case, '.' and '-' become '_'; e.g. PRECIS_ENGINE_MODEL,
 * PRECIS_KAFKA_BOOTSTRAP_SERVERS for [kafka] bootstrap.servers,
 * PRECIS_SCHEDULE_NIGHTLY_CRON for [schedule.nightly] cron).
 *
 * Sections: [kafka] [postgres] [engine] [pipeline] [metrics] [schedule.NAME].
 * In [kafka], keys with dots are librdkafka properties passed verbatim (and
 * validated by librdkafka at load); keys with underscores are precis's own
 * (topics). Unknown sections or keys are an error naming file and line.
 * Secrets (passwords, keys, every libpq secret inside [postgres] conninfo:
 * password, sslpassword, ... see store/conninfo_mask.h) are masked
 * whenever the config is printed.
 */
#ifndef PRECIS_CONFIG_H
#define PRECIS_CONFIG_H

#include <stdio.h>

#include "common/error.h"

#define CONFIG_DEFAULT_PATH "/etc/precis/precis.conf"

typedef struct config config;

/* One known key: its section ("schedule.*" for every schedule section),
 * default (NULL = unset) and what it is for. */
typedef enum config_type { CFG_STRING, CFG_INT, CFG_BOOL } config_type;

typedef struct config_key_spec {
    const char *section;
    const char *key;
    config_type type;
    const char *default_value;
    const char *help;
} config_key_spec;

/* NULL-terminated table of every precis key (not librdkafka's). */
extern const config_key_spec config_keys[];

/* Load path (NULL: CONFIG_DEFAULT_PATH if it exists, else defaults only).
 * env: NULL-terminated "NAME=value" list (usually environ). */
int config_load(config **out, const char *path, char *const *env, perr *err);
void config_free(config *cfg);

/* Effective value (NULL when unset and without default). */
const char *config_get(const config *cfg, const char *section, const char *key);
int config_get_int(const config *cfg, const char *section, const char *key, long *out, perr *err);
int config_get_bool(const config *cfg, const char *section, const char *key, int *out, perr *err);

/* librdkafka properties of [kafka] (dotted keys), in file order. */
size_t config_kafka_count(const config *cfg);
void config_kafka_at(const config *cfg, size_t i, const char **key, const char **value);

/* Names of [schedule.NAME] sections. */
size_t config_schedule_count(const config *cfg);
const char *config_schedule_name(const config *cfg, size_t i);

/* Where the config came from ("defaults only" when no file). */

/* Print the effective config, secrets masked, as INI. */
void config_print(const config *cfg, FILE *f);

/* True for key names that hold secrets. */
int config_key_is_secret(const char *section, const char *key);

#endif
