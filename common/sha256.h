/* sha256.h — SHA-256 of a byte buffer as lower-case hex (document identity,
 * migration checksums). */
#ifndef PRECIS_SHA256_H
#define PRECIS_SHA256_H

#include <stddef.h>

#define SHA256_HEX_LEN 64

/* Write the 64 hex digits of SHA-256(data[0..len)) and a NUL into out. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);

#endif
