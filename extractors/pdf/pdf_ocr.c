/* pdf_ocr.c — page images to paragraphs with Tesseract's C API (see pdf_ocr.h). */
#include "extractors/pdf/pdf_ocr.h"

#include <glib.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "extractors/pdf/pdf_tess.h"

struct pdf_ocr {
    pdf_tess tess;          /* Tesseract's functions (pdf_tess.h) */
    TessBaseAPI *api;
};

/* ---- languages ---------------------------------------------------------------- */

static int lang_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* "eng+fra": names of [A-Za-z0-9_], separated by single '+'. */
static int languages_well_formed(const char *s, perr *err)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > EXTRACT_OCR_LANGUAGES_MAX)
        return perr_set(err, "OCR languages must be 1..%d bytes, like \"eng\" or \"eng+fra\"",
                        EXTRACT_OCR_LANGUAGES_MAX);
    for (size_t i = 0; i < len; i++) {
        int sep = s[i] == '+';
        if (!sep && !lang_char(s[i]))
            return perr_set(err, "OCR languages \"%s\": '%c' is not allowed (names of letters, digits and _ "
                            "joined by +, like \"eng+fra\")", s, s[i]);
        if (sep && (i == 0 || i + 1 == len || s[i + 1] == '+'))
            return perr_set(err, "OCR languages \"%s\": empty language name", s);
    }
    return 0;
}

static int missing_language(const char *lang, perr *err)
{
    return perr_set(err, "OCR language \"%s\" is not installed (no %s.traineddata in Tesseract's data "
                    "directory; on Debian: apt-get install tesseract-ocr-%s)", lang, lang, lang);
}

/* Every language of the list is among Tesseract's loaded ones. */
static int all_loaded(const pdf_tess *t, TessBaseAPI *api, const char *languages, perr *err)
{
    char **loaded = t->BaseAPIGetLoadedLanguagesAsVector(api);
    gchar **wanted = g_strsplit(languages, "+", 0);
    int rc = 0;
    for (gchar **w = wanted; rc == 0 && *w; w++) {
        int found = 0;
        for (char **l = loaded; l && *l && !found; l++)
            found = strcmp(*l, *w) == 0;
        if (!found)
            rc = missing_language(*w, err);
    }
    g_strfreev(wanted);
    t->DeleteTextArray(loaded);
    return rc;
}

/* The first language of the list (Tesseract fails Init only for it). */
static int first_missing(const char *languages, perr *err)
{
    size_t n = strcspn(languages, "+");
    char *first = g_strndup(languages, n);
    missing_language(first, err);
    g_free(first);
    return -1;
}

int pdf_ocr_open(pdf_ocr **out, const char *languages, perr *err)
{
    *out = NULL;
    if (languages_well_formed(languages, err) < 0)
        return -1;
    pdf_ocr *o = calloc(1, sizeof *o);
    if (!o)
        return perr_set(err, "out of memory");
    if (pdf_tess_load(&o->tess, PDF_TESS_LIBRARY, err) < 0) {
        free(o);
        return -1;
    }
    const pdf_tess *t = &o->tess;
    /* Tesseract's LSTM asks OpenMP for 4 threads a parallel loop (a
     * num_threads clause, which omp_set_num_threads does not override);
     * with no active parallel level allowed every region runs on the
     * calling thread. On 2 cores the extra threads spin against the
     * daemon's: one dense page took 3.8 s of wall time instead of 0.75. */
    omp_set_max_active_levels(0);
    o->api = t->BaseAPICreate();
    if (!o->api) {
        free(o);
        return perr_set(err, "cannot create the OCR engine");
    }
    /* Before Init: its own "Error opening data file" goes there too. */
    t->BaseAPISetVariable(o->api, "debug_file", "/dev/null");
    int rc = t->BaseAPIInit2(o->api, NULL, languages, OEM_LSTM_ONLY) != 0 ? first_missing(languages, err)
                                                                          : all_loaded(t, o->api, languages, err);
    if (rc < 0) {
        pdf_ocr_close(o);
        return -1;
    }
    t->BaseAPISetPageSegMode(o->api, PSM_AUTO);
    *out = o;
    return 0;
}

void pdf_ocr_close(pdf_ocr *o)
{
    if (!o)
        return;
    o->tess.BaseAPIEnd(o->api);
    o->tess.BaseAPIDelete(o->api);
    free(o);
}

int pdf_ocr_check_languages(const char *languages, perr *err)
{
    pdf_ocr *o;
    if (pdf_ocr_open(&o, languages, err) < 0)
        return -1;
    pdf_ocr_close(o);
    return 0;
}

/* ---- recognition ---------------------------------------------------------------- */

/* Tesseract's paragraph text (lines ending in '\n') as one line of text. */
static char *join_lines(const char *text)
{
    GString *buf = g_string_new(NULL);
    gchar **lines = g_strsplit(text, "\n", 0);
    for (gchar **l = lines; *l; l++)
        pdf_join_line(buf, *l);
    g_strfreev(lines);
    return g_string_free(buf, FALSE);
}

static void collect_paragraphs(const pdf_tess *t, TessResultIterator *it, int page, pdf_para_list *out)
{
    do {
        char *text = t->ResultIteratorGetUTF8Text(it, RIL_PARA);
        if (!text)
            continue;
        char *joined = join_lines(text);
        t->DeleteText(text);
        if (*joined)
            pdf_para_list_add(out, joined, page, 1, t->ResultIteratorConfidence(it, RIL_PARA));
        g_free(joined);
    } while (t->ResultIteratorNext(it, RIL_PARA));
}

int pdf_ocr_page(pdf_ocr *o, const pdf_gray_image *img, int page, pdf_para_list *out, perr *err)
{
    const pdf_tess *t = &o->tess;
    t->BaseAPISetImage(o->api, img->pixels, img->width, img->height, 1, img->stride);
    t->BaseAPISetSourceResolution(o->api, img->dpi);
    if (t->BaseAPIRecognize(o->api, NULL) != 0) {
        t->BaseAPIClear(o->api);
        return perr_set(err, "Tesseract could not recognise the page image (%d x %d at %d dpi)", img->width,
                        img->height, img->dpi);
    }
    TessResultIterator *it = t->BaseAPIGetIterator(o->api);
    if (it) {
        collect_paragraphs(t, it, page, out);
        t->ResultIteratorDelete(it);
    }
    t->BaseAPIClear(o->api);
    return 0;
}

/* ---- names ---------------------------------------------------------------------- */

int pdf_ocr_mode_parse(const char *s, int *mode, perr *err)
{
    static const struct { const char *name; int mode; } modes[] = {
        { "auto", EXTRACT_OCR_AUTO }, { "off", EXTRACT_OCR_OFF }, { "force", EXTRACT_OCR_FORCE },
    };
    for (size_t i = 0; s && i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(s, modes[i].name) == 0) {
            *mode = modes[i].mode;
            return 0;
        }
    }
    return perr_set(err, "OCR mode must be auto, off or force, not \"%s\"", s ? s : "");
}

const char *pdf_ocr_mode_name(int mode)
{
    return mode == EXTRACT_OCR_OFF ? "off" : mode == EXTRACT_OCR_FORCE ? "force" : "auto";
}

const char *pdf_ocr_version(const pdf_ocr *o)
{
    return o->tess.Version();
}
