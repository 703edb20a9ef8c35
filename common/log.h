/* log.h — structured key=value logging to stderr.
 *
 * One line per event:  ts=2026-11-22T06:15:00.123Z level=info msg="job done" job_id=42 ms=812
 * plog(level, msg, fields, ...): `fields` is a printf-style format of key=value
 * pairs ("job_id=%s ms=%d"). Every %s value is quoted and escaped when it holds
 * spaces, quotes, '=' or control characters, so lines stay machine-parseable.
 * Never pass secrets: config values are masked before they reach a log.
 * The level threshold is process configuration (set once at start-up).
 */
#ifndef PRECIS_LOG_H
#define PRECIS_LOG_H

#include <stdio.h>

typedef enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 } log_level;

void log_set_level(log_level level);
/* "debug" | "info" | "warn" | "warning" | "error"; -1 if unknown. */
int log_set_level_name(const char *name);
log_level log_get_level(void);
/* Redirect output (tests); NULL restores stderr. */
void log_set_stream(FILE *f);

void plog(log_level level, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(msg, ...) plog(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...)  plog(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...)  plog(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) plog(LOG_ERROR, msg, __VA_ARGS__)

/* Append `value` to buf (size cap), quoted/escaped if it needs it. Returns
 * the number of bytes that would have been written (like snprintf). */
size_t log_quote(char *buf, size_t cap, const char *value);

#endif
