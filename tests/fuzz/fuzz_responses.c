/* fuzz_responses.c — libFuzzer target: the response file parsers (CSV,
 * JSONL, JSON array, and the format sniffing) on arbitrary bytes must never
 * crash, leak, hang or over-read; the first byte picks the format. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pipeline/consultation/responses.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const responses_format formats[] = {RESPONSES_AUTO, RESPONSES_CSV, RESPONSES_JSONL, RESPONSES_JSON};
    responses_options o = {.format = formats[data[0] & 3], .id_column = (data[0] & 4) ? "@row" : NULL};
    /* An exact-size copy so any read past the end is caught by ASan. */
    char *copy = malloc(size - 1 ? size - 1 : 1);
    if (!copy)
        return 0;
    for (size_t i = 1; i < size; i++)
        copy[i - 1] = (char)data[i];
    response_set rs;
    perr err;
    if (responses_parse(copy, size - 1, &o, &rs, &err) == 0)
        responses_clear(&rs);
    free(copy);
    return 0;
}
