/* store_legal.h — the legal_findings rows of a legal_review result
 * (sql/0003_legal_findings.sql), written by store_job_done inside its
 * transaction right after the result row is upserted. */
#ifndef PRECIS_STORE_LEGAL_H
#define PRECIS_STORE_LEGAL_H

#include "store/store_internal.h"

/* The analysis whose results carry findings. */
#define STORE_LEGAL_ANALYSIS "legal_review"

/* Replace the findings rows of the result (document_id, res's analysis,
 * prompt_version, model_sha256) with one row per element of its stored
 * output's "findings" array. Inside a transaction; STORE_ERROR/TRANSIENT. */
int store_legal_findings(store *s, const char *document_id, const store_result *res, perr *err);

#endif
