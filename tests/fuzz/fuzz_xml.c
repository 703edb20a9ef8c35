/* fuzz_xml.c — libFuzzer target for xml_extract() on arbitrary bytes
 * (checks in fuzz_extract.h). */
#include "extractors/xml/xml.h"
#include "tests/fuzz/fuzz_extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_extract_one(xml_extract, data, size);
}
