/* job.h — the job contract: the JSON value of a Kafka job message.
 *
 *   {"job_id": "...",                     required, 1..200 bytes, no control chars
 *    "collection": "...",                 optional, 1..200 bytes
 *    "analyses": ["summary", ...],        optional; names [a-z0-9_-], start with a
 *                                         letter, <= 64 bytes, <= 32 names, no repeats;
 *                                         absent or [] = the configured defaults
 *    "document": {"path": "..."}                                   (under input_root)
 *              | {"content_base64": "...", "filename": "..."}      (filename optional)
 *              | {"text": "..."},                                  exactly one form
 *    "password": "...",                   optional (encrypted PDFs); never stored
 *    "metadata": {...},                   optional JSON object, kept verbatim; a key
 *                                         repeated at any depth is an error naming its path
 *    "twin": true | {"parties": [{"name": "...", "replacement": "..."}]}}
 *                                         optional: legal_review also reviews the
 *                                         counterfactual twin (legal_twin.h); true or no
 *                                         parties = the review's parties as Party A, B...
 *
 * Parsing is strict: the message must be valid UTF-8 without NUL characters
 * (also not as \u0000); unknown or repeated keys, wrong types, empty
 * strings where a value is required, invalid base64 (standard alphabet,
 * padded; line breaks allowed) and oversized content are errors with a
 * reason naming the field. An optional field given as null counts as absent. job_load_document() turns any form into bytes; for a
 * path it only reads regular files inside the configured input root.
 */
#ifndef PRECIS_JOB_H
#define PRECIS_JOB_H

#include <stddef.h>

#include "common/error.h"

#define JOB_ID_MAX 200
#define JOB_COLLECTION_MAX 200
#define JOB_ANALYSIS_NAME_MAX 64
#define JOB_ANALYSES_MAX 32
#define JOB_FILENAME_MAX 255
#define JOB_PATH_MAX 4096
#define JOB_TWIN_PARTIES_MAX 16
#define JOB_TWIN_NAME_MAX 120
/* Largest document a job may carry or point to (decoded bytes). */
#define JOB_DOCUMENT_MAX_BYTES (128u << 20)

typedef enum job_doc_kind { JOB_DOC_PATH, JOB_DOC_CONTENT, JOB_DOC_TEXT } job_doc_kind;

typedef struct job {
    char *job_id;
    char *collection;            /* NULL when absent */
    char **analyses;             /* NULL when absent or [] */
    size_t n_analyses;
    job_doc_kind doc_kind;
    char *path;                  /* JOB_DOC_PATH: as given */
    unsigned char *content;      /* JOB_DOC_CONTENT: decoded bytes */
    size_t content_len;
    char *filename;              /* JOB_DOC_CONTENT: NULL when absent */
    char *text;                  /* JOB_DOC_TEXT: UTF-8, NUL-terminated */
    size_t text_len;
    char *password;              /* NULL when absent */
    char *metadata_json;         /* compact JSON object; "{}" when absent */
    char *twin_json;             /* NULL: no twin; else {"parties"?: [...]} compact */
} job;

/* Parse and validate json[0..len) into *out (which the caller later passes
 * to job_clear). On error *out is left empty and err says why. */
int job_parse(const char *json, size_t len, job *out, perr *err);

/* A usable job id: 1..JOB_ID_MAX bytes of valid UTF-8 without control
 * characters (what job_parse accepts for "job_id"). */
int job_id_usable(const char *id, size_t len);

/* The "twin" field item (NULL, false: none) checked and, when set, as a
 * compact object into *out (malloc'd; true gives "{}"). */
typedef struct cJSON cJSON;
int job_parse_twin(const cJSON *item, char **out, perr *err);

/* Free everything a parsed job holds (the password is wiped first) and zero it. */
void job_clear(job *j);

/* What the document is called for the record: the path, the filename (or
 * "content" when none) or "text". */
const char *job_source(const job *j);

/* The document's bytes (malloc'd, plus a NUL after the last byte) for any
 * form: a file's content (path), the decoded content, or the text. A path
 * may be absolute or relative to input_root; it must not contain "..",
 * must resolve (symlinks included) to a regular file strictly inside
 * input_root, and be at most JOB_DOCUMENT_MAX_BYTES. input_root NULL or ""
 * refuses every path. */
int job_load_document(const job *j, const char *input_root, unsigned char **bytes,
                      size_t *len, perr *err);

#endif
