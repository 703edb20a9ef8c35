/* fuzz_job.c — libFuzzer target: job_parse on arbitrary bytes (not
 * NUL-terminated) must never crash, leak or over-read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pipeline/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy so any read past `size` is caught by ASan. */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    for (size_t i = 0; i < size; i++)
        copy[i] = (char)data[i];
    job j;
    perr err;
    if (job_parse(copy, size, &j, &err) == 0) {
        unsigned char *bytes;
        size_t len;
        if (j.doc_kind != JOB_DOC_PATH && job_load_document(&j, NULL, &bytes, &len, &err) == 0)
            free(bytes);
        job_clear(&j);
    }
    free(copy);
    return 0;
}
