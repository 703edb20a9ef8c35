/* pdf_ocr.h — recognising the text of a page image with Tesseract (its C API,
 * Debian's libtesseract 5 with the tesseract-ocr-LANG language packs).
 *
 * pdf_ocr_open loads the languages ("eng", "eng+fra": Tesseract's syntax,
 * each name [A-Za-z0-9_]) once per extraction; pdf_ocr_page recognises one
 * grayscale page (pdf_render.h) with automatic page segmentation and the
 * LSTM engine, and returns its paragraphs as Tesseract found them: lines
 * joined as PDF lines are (pdf_join_line: "regu-" + "lation"), each with
 * Tesseract's mean word confidence for it (0..100).
 *
 * Tesseract is loaded by pdf_ocr_open (pdf_tess.h), not linked: without
 * it, OCR fails with "OCR is not available: cannot load libtesseract.so.5".
 *
 * Errors: a language that is not installed is named ("OCR language \"xyz\"
 * is not installed (no xyz.traineddata; on Debian: apt-get install
 * tesseract-ocr-xyz)"), as is a malformed language list. Tesseract's own
 * messages go to /dev/null (its debug_file), never to stdout or stderr.
 *
 * Threads: libtesseract runs parts of its LSTM with OpenMP (4 threads a
 * page). pdf_ocr_open allows no active OpenMP parallel level in the
 * process (omp_set_max_active_levels(0), process-wide: call it only in the
 * extraction child or for a check), so recognition stays on the one
 * thread that called it.
 */
#ifndef PRECIS_PDF_OCR_H
#define PRECIS_PDF_OCR_H

#include "common/error.h"
#include "extractors/extract.h"
#include "extractors/pdf/pdf_layout.h"
#include "extractors/pdf/pdf_render.h"

typedef struct pdf_ocr pdf_ocr;

/* Load Tesseract with languages; -1 with err naming what is wrong. */
int pdf_ocr_open(pdf_ocr **out, const char *languages, perr *err);
/* End and free; NULL is a no-op. */
void pdf_ocr_close(pdf_ocr *o);

/* Recognise img; appends the page's paragraphs to *out (ocr = 1, page =
 * page). A page with no text appends nothing and returns 0. -1 with err
 * when Tesseract fails on it. */
int pdf_ocr_page(pdf_ocr *o, const pdf_gray_image *img, int page, pdf_para_list *out, perr *err);

/* Whether languages is a well-formed list (1..EXTRACT_OCR_LANGUAGES_MAX
 * bytes) whose every language is installed: 0, or -1 with err naming it.
 * Loads Tesseract (about 0.1 s a language): for configuration checks. */
int pdf_ocr_check_languages(const char *languages, perr *err);

/* "auto", "off", "force" <-> extract_ocr_mode. */
int pdf_ocr_mode_parse(const char *s, int *mode, perr *err);
const char *pdf_ocr_mode_name(int mode);

/* The version ("5.3.0") of the Tesseract o runs on; valid while o is open. */
const char *pdf_ocr_version(const pdf_ocr *o);

#endif
