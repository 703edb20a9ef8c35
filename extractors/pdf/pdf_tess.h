/* pdf_tess.h — Tesseract's C API, loaded when OCR first needs it.
 *
 * libtesseract (with leptonica, libarchive, libcurl and what they link) is
 * about forty shared libraries: linked into precis, every process start
 * (every CLI command, every `precis extract`) paid for loading and
 * relocating them, OCR or not. pdf_tess_load opens libtesseract.so.5 with
 * dlopen and looks up the functions pdf_ocr.c calls; a host without the
 * library then runs everything but OCR, and a document that needs OCR gets
 * a clear error. The library stays loaded for the process's life (a C++
 * library using OpenMP is not safe to unload); loading it again only finds
 * it already there.
 */
#ifndef PRECIS_PDF_TESS_H
#define PRECIS_PDF_TESS_H

#include <tesseract/capi.h>

#include "common/error.h"

#define PDF_TESS_LIBRARY "libtesseract.so.5"

/* The functions of Tesseract's C API that precis calls. */
typedef struct pdf_tess {
    __typeof__(TessVersion) *Version;
    __typeof__(TessBaseAPICreate) *BaseAPICreate;
    __typeof__(TessBaseAPIDelete) *BaseAPIDelete;
    __typeof__(TessBaseAPIEnd) *BaseAPIEnd;
    __typeof__(TessBaseAPIClear) *BaseAPIClear;
    __typeof__(TessBaseAPISetVariable) *BaseAPISetVariable;
    __typeof__(TessBaseAPIInit2) *BaseAPIInit2;
    __typeof__(TessBaseAPIGetLoadedLanguagesAsVector) *BaseAPIGetLoadedLanguagesAsVector;
    __typeof__(TessBaseAPISetPageSegMode) *BaseAPISetPageSegMode;
    __typeof__(TessBaseAPISetImage) *BaseAPISetImage;
    __typeof__(TessBaseAPISetSourceResolution) *BaseAPISetSourceResolution;
    __typeof__(TessBaseAPIRecognize) *BaseAPIRecognize;
    __typeof__(TessBaseAPIGetIterator) *BaseAPIGetIterator;
    __typeof__(TessResultIteratorNext) *ResultIteratorNext;
    __typeof__(TessResultIteratorGetUTF8Text) *ResultIteratorGetUTF8Text;
    __typeof__(TessResultIteratorConfidence) *ResultIteratorConfidence;
    __typeof__(TessResultIteratorDelete) *ResultIteratorDelete;
    __typeof__(TessDeleteText) *DeleteText;
    __typeof__(TessDeleteTextArray) *DeleteTextArray;
} pdf_tess;

/* Fill t from library (PDF_TESS_LIBRARY in precis; tests may name another):
 * 0, or -1 with err saying OCR is unavailable and why ("cannot load
 * libtesseract.so.5: ...; on Debian: apt-get install libtesseract5", or the
 * missing function). */
int pdf_tess_load(pdf_tess *t, const char *library, perr *err);

#endif
