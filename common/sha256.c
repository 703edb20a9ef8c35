/* sha256.c — SHA-256 hex digests through GLib's GChecksum. */
#include "common/sha256.h"

#include <glib.h>
#include <string.h>

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    const unsigned char *p = data;
    /* g_checksum_update takes a gssize: feed huge buffers in pieces. */
    while (len > 0) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : len;
        g_checksum_update(sum, p, (gssize)chunk);
        p += chunk;
        len -= chunk;
    }
    const char *hex = g_checksum_get_string(sum);
    memcpy(out, hex, SHA256_HEX_LEN);
    out[SHA256_HEX_LEN] = '\0';
    g_checksum_free(sum);
}
