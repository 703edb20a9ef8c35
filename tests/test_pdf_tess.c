/* test_pdf_tess.c — Tesseract is loaded when OCR needs it, not at start
 * (pdf_tess.h); what a host without it gets. Criterion runs each test in
 * its own process. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <string.h>

#include "extractors/pdf/pdf_tess.h"

static int tesseract_in_process(void)
{
    void *h = dlopen(PDF_TESS_LIBRARY, RTLD_NOW | RTLD_NOLOAD);
    if (h)
        dlclose(h); /* only the reference RTLD_NOLOAD took */
    return h != NULL;
}

Test(pdf_tess, not_in_the_process_until_loaded)
{
    cr_assert_not(tesseract_in_process(), "%s is linked: every process start pays for it", PDF_TESS_LIBRARY);
    pdf_tess t;
    perr err = { { 0 } };
    cr_assert_eq(pdf_tess_load(&t, PDF_TESS_LIBRARY, &err), 0, "%s", err.msg);
    cr_assert(tesseract_in_process());
    const void *const *slot = (const void *const *)&t;
    for (size_t i = 0; i < sizeof t / sizeof(void *); i++)
        cr_assert_not_null(slot[i], "function %zu of pdf_tess not loaded", i);
    cr_assert_eq(strncmp(t.Version(), "5.", 2), 0, "Tesseract %s", t.Version());
}

Test(pdf_tess, a_missing_library_is_a_clear_error)
{
    pdf_tess t;
    perr err = { { 0 } };
    cr_assert_eq(pdf_tess_load(&t, "libtesseract-not-installed.so.9", &err), -1);
    cr_assert(strstr(err.msg, "OCR is not available: cannot load libtesseract-not-installed.so.9"), "%s", err.msg);
    cr_assert(strstr(err.msg, "apt-get install libtesseract5"), "%s", err.msg);
    cr_assert_null(t.BaseAPICreate);
}

Test(pdf_tess, a_library_without_the_api_is_a_clear_error)
{
    pdf_tess t;
    perr err = { { 0 } };
    cr_assert_eq(pdf_tess_load(&t, "libc.so.6", &err), -1);
    cr_assert_str_eq(err.msg, "OCR is not available: libc.so.6 has no TessVersion");
    cr_assert_null(t.Version);
}
