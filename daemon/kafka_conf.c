/* kafka_conf.c — librdkafka configuration from [kafka] properties (see kafka_conf.h). */
#include "daemon/kafka_conf.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"

kafka_property *kafka_props_from_config(const config *cfg, size_t *n)
{
    size_t count = config_kafka_count(cfg);
    kafka_property *props = calloc(count ? count : 1, sizeof *props);
    if (!props)
        return NULL;
    for (size_t i = 0; i < count; i++)
        config_kafka_at(cfg, i, &props[i].key, &props[i].value);
    *n = count;
    return props;
}

const char *kafka_props_get(const kafka_property *props, size_t n, const char *key)
{
    const char *value = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(props[i].key, key) == 0)
            value = props[i].value;
    return value;
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, perr *err)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return perr_set(err, "kafka property %s: %s", key, errstr);
    return 0;
}

/* librdkafka logs with syslog levels (3 err, 4 warning, 5 notice, 6 info,
 * 7 debug); <syslog.h> is not included because its LOG_* names clash with ours. */
void kafka_log_route(const rd_kafka_t *rk, int level, const char *facility, const char *buf)
{
    log_level ours = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    /* One [kafka] section configures consumer and producers alike, so
     * "X is a consumer property and will be ignored by this producer" is
     * expected, not worth a warning. */
    if (strstr(buf, "is a consumer property") || strstr(buf, "is a producer property"))
        ours = LOG_DEBUG;
    plog(ours, "librdkafka", "client=%s facility=%s detail=%s", rd_kafka_name(rk), facility, buf);
}

int kafka_conf_new(rd_kafka_conf_t **out, const kafka_property *props, size_t n, perr *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (size_t i = 0; i < n; i++) {
        if (kafka_conf_set(conf, props[i].key, props[i].value, err) != 0) {
            rd_kafka_conf_destroy(conf);
            return -1;
        }
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log_route);
    *out = conf;
    return 0;
}
