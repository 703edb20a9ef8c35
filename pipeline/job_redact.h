/* job_redact.h — a job message with its secrets masked, for every copy of a
 * job that leaves the process (dead-letter topic, logs, error texts).
 *
 * job_redact_message works on the raw bytes, valid JSON or not: every member
 * whose key is a secret ("password", at any depth, also when the key is
 * written with \u escapes) gets the value "***"; everything else is kept byte
 * for byte. A broken message ("{\"password\": \"x\", ...") is masked too, up
 * to the end of the value or of the message. The secret values found are
 * reported so error texts that might quote them can be scrubbed as well.
 */
#ifndef PRECIS_JOB_REDACT_H
#define PRECIS_JOB_REDACT_H

#include <stddef.h>

#define JOB_REDACTED "***"

/* Secret values found in a message (decoded only as far as needed: the raw
 * bytes between the quotes, which is what an error text would quote). */
typedef struct job_secrets {
    char **values;
    size_t n;
} job_secrets;

/* Masked copy of msg[0..len) (malloc'd, NUL-terminated; *out_len gets its
 * length). secrets (optional) receives the raw values that were masked;
 * free them with job_secrets_clear. NULL only when out of memory. */
char *job_redact_message(const char *msg, size_t len, size_t *out_len, job_secrets *secrets);

/* Wipe and free what job_redact_message reported. */
void job_secrets_clear(job_secrets *s);

/* Replace every occurrence of secret (non-empty) in text, in place, with
 * JOB_REDACTED (text never grows: a secret shorter than the mask is replaced
 * by as many '*'). Returns how many were replaced. */
int job_scrub_secret(char *text, const char *secret);

#endif
