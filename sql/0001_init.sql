-- 0001_init.sql — the first schema: documents, jobs, results.
--
-- Applied by `precis migrate` (or `precis serve --migrate`) inside one
-- transaction and recorded in schema_migrations with this file's sha256.
-- Never edit an applied migration: add sql/0002_....sql instead (the daemon
-- refuses to start when an applied file's checksum changed). Migrations must
-- not contain transaction control (BEGIN/COMMIT) or CREATE INDEX CONCURRENTLY.

-- Full-text vector of a document. 'simple' keeps every word as written
-- (lower-cased, no stemming, no stop words), which suits multilingual input.
-- PostgreSQL caps a tsvector at 1 MiB; text with an extreme number of
-- distinct words (hash lists, tables of identifiers) can exceed it, so the
-- vector then falls back to the first 100,000 characters instead of failing
-- the whole job. IMMUTABLE is true: the configuration is fixed to 'simple'.
CREATE FUNCTION precis_document_tsv(title text, body text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(body, ''));
EXCEPTION WHEN program_limit_exceeded THEN
    RETURN to_tsvector('simple'::regconfig, left(coalesce(title, '') || ' ' || coalesce(body, ''), 100000));
END
$$;

-- One row per distinct document content (sha256 of the original bytes).
CREATE TABLE documents (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256      text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    source      text,                        -- path, filename or 'text' of the job that last stored it
    media_type  text,                        -- 'application/pdf', 'text/plain', ...
    format      text,                        -- extractor format: 'pdf', 'jats', 'docx', 'text', ...
    title       text,
    language    text,                        -- BCP 47 when known
    pages       integer NOT NULL DEFAULT 0 CHECK (pages >= 0),
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    text        text NOT NULL DEFAULT '',     -- extracted full text
    structure   jsonb,                        -- sections/paragraphs with ids (optional)
    tsv         tsvector GENERATED ALWAYS AS (precis_document_tsv(title, text)) STORED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_tsv_idx ON documents USING gin (tsv);

-- Which collections a document was submitted to (a document may be in many).
CREATE TABLE document_collections (
    collection  text NOT NULL,
    document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection, document_id)
);
CREATE INDEX document_collections_document_idx ON document_collections (document_id);

-- One row per job id; a redelivered job updates its row (attempts + 1).
--   queued  known but not started      running  an attempt is in progress
--   done    results stored             failed   last attempt failed, may be retried
--   dead    failed for good (dead-lettered)
CREATE TABLE jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id          text NOT NULL UNIQUE CHECK (length(job_id) BETWEEN 1 AND 200),
    collection      text,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'done', 'failed', 'dead')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    analyses        text[] NOT NULL DEFAULT '{}',   -- as requested; empty = the configured defaults
    source          text,                           -- document path, filename or 'text'
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    error           text,
    error_class     text,
    kafka_topic     text,
    kafka_partition integer,
    kafka_offset    bigint,
    document_id     bigint REFERENCES documents (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_created_idx ON jobs (created_at DESC);
CREATE INDEX jobs_status_idx ON jobs (status);
CREATE INDEX jobs_collection_idx ON jobs (collection) WHERE collection IS NOT NULL;
CREATE INDEX jobs_document_idx ON jobs (document_id);

-- One row per (document, analysis, prompt version, model): re-running the
-- same analysis with the same prompt version and model updates the row.
CREATE TABLE results (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id       bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    job_id            text REFERENCES jobs (job_id) ON DELETE SET NULL,  -- last job that wrote it
    analysis          text NOT NULL,
    prompt_name       text NOT NULL,
    prompt_version    text NOT NULL,
    model_name        text NOT NULL,
    model_sha256      text NOT NULL,
    sampling          jsonb NOT NULL DEFAULT '{}'::jsonb,   -- temperature, top_p, seed, ...
    output            jsonb,                                -- parsed structured output, NULL if none
    raw_text          text NOT NULL DEFAULT '',
    prompt_tokens     integer CHECK (prompt_tokens >= 0),
    completion_tokens integer CHECK (completion_tokens >= 0),
    prompt_ms         bigint CHECK (prompt_ms >= 0),        -- prompt processing time
    completion_ms     bigint CHECK (completion_ms >= 0),    -- generation time
    timings           jsonb NOT NULL DEFAULT '{}'::jsonb,   -- any further timings
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, analysis, prompt_version, model_sha256)
);
CREATE INDEX results_job_idx ON results (job_id);
CREATE INDEX results_analysis_idx ON results (analysis);
