/* extract.h — the extraction entry point: bytes in, document out.
 *
 * extract_document() detects the content type from the bytes (never from a
 * file name) and dispatches: PDF -> pdf_extract, XML -> xml_extract, DOCX ->
 * docx_extract, plain text (UTF-8, or Latin-1 converted to UTF-8) ->
 * paragraphs split on blank lines. Anything else fails with
 * "unsupported content type".
 *
 * It runs in-process: for untrusted input call it through sandbox_extract()
 * (sandbox.h) or, in a multi-threaded process, extract_server_run()
 * (extract_server.h), which add memory, CPU and wall-clock limits.
 */
#ifndef PRECIS_EXTRACT_H
#define PRECIS_EXTRACT_H

#include <stddef.h>

#include "common/error.h"
#include "extractors/document.h"

/* PDF pages recognised by OCR (Tesseract, extractors/pdf/pdf_ocr.h). */
typedef enum extract_ocr_mode {
    EXTRACT_OCR_AUTO = 0,    /* the pages without a text layer (the default) */
    EXTRACT_OCR_OFF,         /* none: such pages are reported, "OCR not performed" */
    EXTRACT_OCR_FORCE,       /* every page, its text layer ignored */
} extract_ocr_mode;

/* Every limit: 0 means "use the default" (see extract_options_resolve). */
typedef struct extract_options {
    const char *password;    /* PDF user or owner password; NULL = none */
    size_t max_input_bytes;  /* refuse larger inputs (default 512 MiB) */
    size_t max_text_bytes;   /* stop collecting text past this, with a warning (default 64 MiB) */
    int max_pages;           /* PDF: read at most this many pages, with a warning (default 10000) */
    size_t max_entry_bytes;  /* DOCX: largest uncompressed zip entry (default 256 MiB) */
    int max_depth;           /* XML: deepest element nesting (default 256) */
    int keep_running_lines;  /* PDF: keep repeated page headers/footers (default 0: removed) */
    int ocr;                 /* PDF: an extract_ocr_mode (default auto) */
    const char *ocr_languages; /* PDF OCR: Tesseract languages, "eng+fra" (default "eng") */
    int ocr_dpi;             /* PDF OCR: resolution pages are rendered at (default 300) */
    /* Set by the sandbox's workers inside the child, not by callers: */
    int progress_fd;         /* > 2: 'P' is written here as each page's OCR starts */
    int ocr_page_cpu_seconds; /* > 0: and the soft RLIMIT_CPU raised by this much */
} extract_options;

#define EXTRACT_DEFAULT_MAX_INPUT ((size_t)512 << 20)
#define EXTRACT_DEFAULT_MAX_TEXT  ((size_t)64 << 20)
#define EXTRACT_DEFAULT_MAX_PAGES 10000
#define EXTRACT_DEFAULT_MAX_ENTRY ((size_t)256 << 20)
#define EXTRACT_DEFAULT_MAX_DEPTH 256
#define EXTRACT_DEFAULT_OCR_LANGUAGES "eng"
#define EXTRACT_DEFAULT_OCR_DPI   300
#define EXTRACT_MIN_OCR_DPI       70
#define EXTRACT_MAX_OCR_DPI       600
#define EXTRACT_OCR_LANGUAGES_MAX 127   /* bytes of ocr_languages */

/* A copy of *opts (or of all-defaults when opts is NULL) with every zero
 * limit replaced by its default. */
extract_options extract_options_resolve(const extract_options *opts);

/* A page's OCR starts: with progress_fd, tell the parent (one 'P') and raise
 * the soft CPU limit by ocr_page_cpu_seconds, up to the hard limit the
 * sandbox set (sandbox.h). No-op otherwise. */
void extract_ocr_page_started(const extract_options *opts);

/* Detect, dispatch, extract. On success *out is a new document (free with
 * document_free) and 0 is returned; on failure -1, *out NULL, err says why. */
int extract_document(const void *data, size_t len, const extract_options *opts,
                     document **out, perr *err);

/* Plain text: paragraphs are separated by blank lines. data must be UTF-8. */
int text_extract(const char *data, size_t len, const extract_options *opts,
                 document **out, perr *err);

#endif
