/* pdf_tess.c — loading Tesseract's C API at run time (see pdf_tess.h). */
#include "extractors/pdf/pdf_tess.h"

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

/* Each function's name and its slot in pdf_tess. */
static const struct {
    const char *name;
    size_t offset;
} tess_symbols[] = {
    { "TessVersion", offsetof(pdf_tess, Version) },
    { "TessBaseAPICreate", offsetof(pdf_tess, BaseAPICreate) },
    { "TessBaseAPIDelete", offsetof(pdf_tess, BaseAPIDelete) },
    { "TessBaseAPIEnd", offsetof(pdf_tess, BaseAPIEnd) },
    { "TessBaseAPIClear", offsetof(pdf_tess, BaseAPIClear) },
    { "TessBaseAPISetVariable", offsetof(pdf_tess, BaseAPISetVariable) },
    { "TessBaseAPIInit2", offsetof(pdf_tess, BaseAPIInit2) },
    { "TessBaseAPIGetLoadedLanguagesAsVector", offsetof(pdf_tess, BaseAPIGetLoadedLanguagesAsVector) },
    { "TessBaseAPISetPageSegMode", offsetof(pdf_tess, BaseAPISetPageSegMode) },
    { "TessBaseAPISetImage", offsetof(pdf_tess, BaseAPISetImage) },
    { "TessBaseAPISetSourceResolution", offsetof(pdf_tess, BaseAPISetSourceResolution) },
    { "TessBaseAPIRecognize", offsetof(pdf_tess, BaseAPIRecognize) },
    { "TessBaseAPIGetIterator", offsetof(pdf_tess, BaseAPIGetIterator) },
    { "TessResultIteratorNext", offsetof(pdf_tess, ResultIteratorNext) },
    { "TessResultIteratorGetUTF8Text", offsetof(pdf_tess, ResultIteratorGetUTF8Text) },
    { "TessResultIteratorConfidence", offsetof(pdf_tess, ResultIteratorConfidence) },
    { "TessResultIteratorDelete", offsetof(pdf_tess, ResultIteratorDelete) },
    { "TessDeleteText", offsetof(pdf_tess, DeleteText) },
    { "TessDeleteTextArray", offsetof(pdf_tess, DeleteTextArray) },
};

int pdf_tess_load(pdf_tess *t, const char *library, perr *err)
{
    memset(t, 0, sizeof *t);
    void *lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return perr_set(err, "OCR is not available: cannot load %s (%s); on Debian: apt-get install libtesseract5",
                        library, dlerror());
    for (size_t i = 0; i < sizeof tess_symbols / sizeof tess_symbols[0]; i++) {
        void *f = dlsym(lib, tess_symbols[i].name);
        if (!f) {
            memset(t, 0, sizeof *t);
            return perr_set(err, "OCR is not available: %s has no %s", library, tess_symbols[i].name);
        }
        /* dlsym's object pointer into the function pointer's slot (POSIX
         * guarantees they convert). */
        memcpy((char *)t + tess_symbols[i].offset, &f, sizeof f);
    }
    return 0; /* lib stays open: see pdf_tess.h */
}
