/* kafka_conf.h — librdkafka configuration built from precis's [kafka] section.
 *
 * Every dotted [kafka] key is a librdkafka property and is passed verbatim, so
 * TLS, SASL and tuning need no code. precis then applies what it owns: a
 * consumer always runs with enable.auto.commit=false and
 * enable.auto.offset.store=false (offsets are committed by the consumer loop
 * only after a job's outcome is durably recorded); a user value for those two
 * is overridden with a warning. librdkafka's own log lines are routed to plog.
 */
#ifndef PRECIS_KAFKA_CONF_H
#define PRECIS_KAFKA_CONF_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "common/error.h"
#include "daemon/config.h"

typedef struct kafka_property {
    const char *key;
    const char *value;
} kafka_property;

/* The [kafka] librdkafka properties of cfg, in file order (malloc'd array of
 * pointers into cfg; free() it). *n receives the count; NULL only when the
 * allocation fails. */
kafka_property *kafka_props_from_config(const config *cfg, size_t *n);

/* Value of key in props (last one wins), or NULL. */
const char *kafka_props_get(const kafka_property *props, size_t n, const char *key);

/* A fresh conf holding props verbatim, with librdkafka logs routed to plog. */
int kafka_conf_new(rd_kafka_conf_t **out, const kafka_property *props, size_t n, perr *err);

/* Set one property on conf; a failure names the key. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, perr *err);

/* The log callback kafka_conf_new installs: librdkafka's lines to plog
 * (syslog levels mapped to ours). */
void kafka_log_route(const rd_kafka_t *rk, int level, const char *facility, const char *buf);

/* A hook on a handle's librdkafka log lines (consumer_options.log_hook), on
 * the librdkafka thread that logs, before kafka_log_route. Tests: a hook that
 * blocks holds that thread at that point of librdkafka's code, which is how a
 * test forces a thread interleaving. */
typedef void (*kafka_log_hook)(const rd_kafka_t *rk, int level, const char *facility, const char *line);

#endif
