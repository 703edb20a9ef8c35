-- 0003_legal_findings.sql — the findings of legal_review results, one row
-- each, so a legal team can query them across documents (by category,
-- severity, verified or not) without unpacking results.output.
--
-- Rows are derived from results.output->'findings' (pipeline/legal_findings.h)
-- and rewritten in the same transaction as their result row: deleted and
-- inserted again whenever the result is upserted, removed with it.
-- finding_index is the finding's position in output->'findings' (0-based).
-- verified is true only when the quote was found in the document's
-- extracted text; match_method says how ('exact', 'whitespace',
-- 'typographic'); char_start/char_end are code-point offsets into
-- documents.text (end exclusive); page and paragraph_id locate its start.
-- category, severity and confidence are not constrained here: their values
-- come from the prompt's schema (prompts/legal_review.json), which may change.
CREATE TABLE legal_findings (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    result_id     bigint NOT NULL REFERENCES results (id) ON DELETE CASCADE,
    document_id   bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    finding_index integer NOT NULL CHECK (finding_index >= 0),
    category      text NOT NULL,
    subtype       text NOT NULL,
    quote         text NOT NULL,
    explanation   text NOT NULL,
    severity      text NOT NULL,
    confidence    text NOT NULL,
    verified      boolean NOT NULL,
    match_method  text CHECK (match_method IN ('exact', 'whitespace', 'typographic')),
    char_start    bigint CHECK (char_start >= 0),
    char_end      bigint,
    page          integer CHECK (page >= 1),
    paragraph_id  text,
    UNIQUE (result_id, finding_index),
    CHECK (verified = (match_method IS NOT NULL)),
    CHECK (NOT verified OR (char_start IS NOT NULL AND char_end >= char_start)),
    CHECK (verified OR (char_start IS NULL AND char_end IS NULL AND page IS NULL AND paragraph_id IS NULL))
);

CREATE INDEX legal_findings_document ON legal_findings (document_id, char_start);
CREATE INDEX legal_findings_category ON legal_findings (category, severity) WHERE verified;
