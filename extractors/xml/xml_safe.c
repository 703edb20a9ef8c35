/* xml_safe.c — parse untrusted XML with libxml2 safely (see xml_safe.h).
 *
 * Options: XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING, and
 * deliberately never NOENT (entity substitution), DTDLOAD (external subset),
 * DTDATTR (DTD default attributes), DTDVALID, XINCLUDE or HUGE (lifts the
 * depth and amplification limits). With these options libxml2 2.9 never asks
 * for an external resource; the refusing loader installed by xml_safe_init()
 * is the second fence should that ever change.
 */
#include "extractors/xml/xml_safe.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlIO.h>

#include "extractors/xml/xml.h"

#define SAFE_PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* What one parse learned from libxml2's error callbacks. */
typedef struct parse_capture {
    perr first_error;
    int n_errors;
    xml_parse_report report;
} parse_capture;

static void capture_error(void *data, xmlErrorPtr e);

/* The context is ours only when our structured handler is installed on it;
 * only then is _private a parse_capture. */
static parse_capture *capture_of(xmlParserCtxtPtr ctxt)
{
    if (ctxt && ctxt->sax && ctxt->sax->serror == capture_error)
        return ctxt->_private;
    return NULL;
}

/* Copy libxml2's message without its trailing newline, with the line. */
static void format_message(char *out, size_t cap, const xmlErrorPtr e)
{
    const char *msg = e->message ? e->message : "unknown XML error";
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    if (e->line > 0)
        snprintf(out, cap, "line %d: %.*s", e->line, (int)n, msg);
    else
        snprintf(out, cap, "%.*s", (int)n, msg);
    for (char *p = out; *p; p++) /* one line: libxml2 adds "\nBytes: ..." to some */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static void capture_error(void *data, xmlErrorPtr e)
{
    parse_capture *cap = capture_of(data);
    if (!cap || !e)
        return;
    if (e->domain == XML_FROM_IO && e->code == XML_IO_LOAD_ERROR)
        cap->report.refused_loads++;
    if (e->level == XML_ERR_WARNING) {
        if (cap->report.n_warnings++ == 0)
            format_message(cap->report.first_warning, sizeof cap->report.first_warning, e);
        return;
    }
    if (cap->n_errors++ == 0)
        format_message(cap->first_error.msg, sizeof cap->first_error.msg, e);
}

/* The process-wide external entity loader: refuse everything. */
static xmlParserInputPtr refuse_external_entity(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    parse_capture *cap = capture_of(ctxt);
    if (cap)
        cap->report.refused_loads++;
    return NULL;
}

/* libxml2's generic (unstructured) channel: never print. */
static void discard_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void install_process_config(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(refuse_external_entity);
    xmlThrDefSetGenericErrorFunc(NULL, discard_generic);
    xmlSetGenericErrorFunc(NULL, discard_generic);
}

void xml_safe_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT; /* process configuration */
    pthread_once(&once, install_process_config);
}

int xml_safe_parse(const void *data, size_t len, size_t max_bytes, const char *name,
                   xmlDoc **out, xml_parse_report *report, perr *err)
{
    *out = NULL;
    if (report)
        memset(report, 0, sizeof *report);
    if (!name)
        name = "XML";
    if (max_bytes == 0)
        max_bytes = XML_SAFE_DEFAULT_MAX_BYTES;
    if (len == 0)
        return perr_set(err, "%s: document is empty", name);
    if (len > max_bytes || len > INT_MAX)
        return perr_set(err, "%s: input of %zu bytes exceeds the %zu-byte XML limit", name, len,
                        max_bytes < (size_t)INT_MAX ? max_bytes : (size_t)INT_MAX);
    xml_safe_init();

    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return perr_set(err, "%s: out of memory creating the XML parser", name);
    parse_capture cap;
    memset(&cap, 0, sizeof cap);
    ctxt->_private = &cap;
    ctxt->sax->serror = capture_error;

    /* The thread's global structured channel catches messages raised without
     * our context; restore the caller's afterwards. */
    xmlStructuredErrorFunc saved_fn = xmlStructuredError;
    void *saved_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(ctxt, capture_error);
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL, SAFE_PARSE_OPTIONS);
    xmlSetStructuredErrorFunc(saved_ctx, saved_fn);

    int well_formed = ctxt->wellFormed;
    ctxt->_private = NULL;
    xmlFreeParserCtxt(ctxt);
    if (doc && well_formed && cap.n_errors > 0) {
        /* Recoverable errors (namespace problems...) do not fail the parse. */
        if (cap.report.n_warnings == 0)
            snprintf(cap.report.first_warning, sizeof cap.report.first_warning, "%.*s",
                     (int)sizeof cap.report.first_warning - 1, cap.first_error.msg);
        cap.report.n_warnings += cap.n_errors;
    }
    if (report)
        *report = cap.report;
    if (!doc || !well_formed) {
        if (doc)
            xmlFreeDoc(doc);
        if (cap.n_errors == 0)
            return perr_set(err, "%s: not well-formed XML", name);
        return perr_set(err, "%s: not well-formed XML: %s", name, cap.first_error.msg);
    }
    if (!xmlDocGetRootElement(doc)) {
        xmlFreeDoc(doc);
        return perr_set(err, "%s: document has no root element", name);
    }
    *out = doc;
    return 0;
}
