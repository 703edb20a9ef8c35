/* fuzz_docx.c — libFuzzer target for docx_extract() on arbitrary bytes
 * (zip container, relationships, styles, notes; checks in fuzz_extract.h). */
#include "extractors/xml/xml.h"
#include "tests/fuzz/fuzz_extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_extract_one(docx_extract, data, size);
}
