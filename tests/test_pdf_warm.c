/* test_pdf_warm.c — pdf_warm_up leaves poppler set up for the children the
 * extraction server forks (pdf_warm.h). */
#include <criterion/criterion.h>
#include <dlfcn.h>

#include "extractors/pdf/pdf_warm.h"

/* poppler's GlobalParams, read through its exported std::unique_ptr (one
 * pointer); criterion runs each test in its own process. */
static void *poppler_global_params(void)
{
    void **unique_ptr = dlsym(RTLD_DEFAULT, "globalParams");
    cr_assert_not_null(unique_ptr, "libpoppler exports no globalParams: %s", dlerror());
    return *unique_ptr;
}

Test(pdf_warm, keeps_poppler_set_up_while_the_handle_lives)
{
    cr_assert_null(poppler_global_params(), "poppler was set up before the test");
    pdf_warm *w = pdf_warm_up();
    cr_assert_not_null(w);
    cr_assert_not_null(poppler_global_params(), "pdf_warm_up left poppler's GlobalParams torn down");
    pdf_warm_free(w);
    cr_assert_null(poppler_global_params(), "pdf_warm_free did not let poppler tear down");
}
