/* store_digest.h — PostgreSQL side of collection digests and scheduled runs
 * (tables digests and schedule_runs, sql/0005_digests.sql). Return values
 * and connection handling as in store.h (0, STORE_ERROR, STORE_TRANSIENT).
 *
 * Exactly once across replicas: store_schedule_claim takes a session
 * advisory lock keyed by (schedule, period) and inserts the
 * (schedule, period_key) row; only the caller whose insert succeeds has
 * *won, and it keeps the lock until store_schedule_finish. The primary key
 * decides between two inserts; the lock makes a losing replica give up at
 * once instead of waiting on the winner's row lock, and tells a live
 * claimer from a dead one: PostgreSQL drops a session's locks when its
 * connection ends, so a 'running' row whose lock is free was left by a
 * replica that died (or lost its connection) before finishing, and
 * store_schedule_reclaim takes it over (attempts + 1). Behind a pooler in
 * transaction mode (PgBouncer) session locks do not hold: connect the
 * daemon to PostgreSQL directly or through a session-mode pool.
 */
#ifndef PRECIS_STORE_DIGEST_H
#define PRECIS_STORE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "store/store.h"

/* One document of a digest's window, as stored. */
typedef struct digest_source {
    int64_t id;            /* documents.id */
    char *title;           /* the summary's "title", else the document's; NULL: none */
    char *source;          /* documents.source; NULL: none */
    char *summary;         /* the summary's "summary" text; NULL: no summary result */
} digest_source;

/* Free what one digest_source holds and zero it. */
void digest_source_clear(digest_source *s);

/* The documents added to collection in [start, end) (Unix seconds), oldest
 * first, each with its newest "summary" result: the summary's "title"
 * (when it has one) else the document's title, and its "summary" text
 * (NULL when the document has no summary result with one). */
int store_digest_sources(store *s, const char *collection, int64_t start, int64_t end, digest_source **out,
                         size_t *n, perr *err);
void digest_sources_free(digest_source *docs, size_t n);

typedef struct store_digest_row {
    const char *collection;
    const char *schedule;          /* NULL: made by hand */
    const char *period_key;
    int64_t window_start, window_end;
    const char *prompt_version, *model_sha256;
    const char *output_json, *markdown, *html;
    const char *trace_json;        /* NULL = [] */
    int document_count;
} store_digest_row;

/* Insert the digest, or replace the row of the same (collection,
 * period_key). *id (may be NULL) receives its id. */
int store_digest_save(store *s, const store_digest_row *row, int64_t *id, perr *err);

/* Claim (schedule, period_key) for this replica (claimed_by: "host:pid").
 * *won = 1: the claim is ours, run it; 0: another replica has it (or is
 * taking it right now), or the period is done or failed. *retaken (may be
 * NULL) = 1 when the won claim was a dead replica's 'running' row. */
int store_schedule_claim(store *s, const char *schedule, const char *period_key, const char *collection,
                         const char *claimed_by, int *won, int *retaken, perr *err);

/* Take over (schedule, period_key) only if it is 'running' and its claimer
 * has died: *won = 1, run it. No row, a live claimer, done or failed: 0. */
int store_schedule_reclaim(store *s, const char *schedule, const char *period_key, const char *claimed_by,
                           int *won, perr *err);

/* Record the end of a claimed run: status done (error NULL) or failed;
 * gives up the claim's lock. */
int store_schedule_finish(store *s, const char *schedule, const char *period_key, const char *error,
                          int64_t digest_id, perr *err);

#endif
