/* fuzz_json_schema.c — libFuzzer target: the JSON schema compiler, the byte
 * matcher, the forced text and the validator. Input: schema text, a NUL
 * byte, then bytes offered to the matcher. Never a crash, leak or hang;
 * whatever the matcher accepts as a complete value must parse and
 * validate; the forced text at an accepted state is accepted. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/json/json_forced.h"
#include "engine/json/json_matcher.h"
#include "engine/json/json_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t schema_len = nul ? (size_t)(nul - data) : size;
    char *schema_text = malloc(schema_len ? schema_len : 1);
    if (!schema_text)
        return 0;
    memcpy(schema_text, data, schema_len);
    json_schema *s = NULL;
    perr err;
    json_schema_options o = json_schema_default_options();
    o.max_whitespace = size % 3;
    if (json_schema_compile(&s, schema_text, schema_len, &o, &err) == 0) {
        const char *text = nul ? (const char *)nul + 1 : "";
        size_t len = nul ? size - schema_len - 1 : 0;
        json_matcher m;
        json_matcher_init(&m, s);
        size_t accepted = 0;
        while (accepted < len && json_matcher_advance(&m, (unsigned char)text[accepted]) == 0)
            accepted++;
        (void)json_matcher_min_remaining(&m);
        if (accepted == len) {
            char forced[JSON_FORCED_MAX];
            size_t n_forced = json_forced_text(&m, forced, sizeof forced);
            json_matcher t;
            json_matcher_copy(&t, &m);
            if (json_matcher_advance_bytes(&t, forced, n_forced) != 0)
                abort(); /* the forced text does not fit */
            (void)json_forced_must_end(&m);
        }
        if (accepted == len && json_matcher_is_complete(&m) &&
            json_schema_validate_text(s, text, len, &err) != 0)
            abort(); /* the matcher accepted what the validator refuses */
        json_schema_free(s);
    }
    free(schema_text);
    return 0;
}
