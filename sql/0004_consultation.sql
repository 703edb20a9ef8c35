-- 0004_consultation.sql — consultation analyses: themes across the responses
-- to one consultation question (pipeline/consultation.h).
--
-- A run is written in ONE transaction when it ends (pipeline/store_consultation.c):
-- the run row with its counts and trace, its themes, one annotation per
-- response and the response-theme mapping. A run that failed is a row with
-- status 'failed', its error and the trace so far, and nothing else.
-- Response ids are the file's ids, or for stored documents the job's
-- metadata "response_id" or the first 12 hex digits of the document sha256.

CREATE TABLE consultation_runs (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection        text NOT NULL CHECK (length(collection) BETWEEN 1 AND 200),
    job_id            text REFERENCES jobs (job_id) ON DELETE SET NULL,   -- when run from a Kafka job
    source            text NOT NULL,                                    -- file name, or 'collection'
    source_sha256     text CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),     -- of the response file
    question          text NOT NULL DEFAULT '',
    prompt_version    text NOT NULL,
    model_name        text NOT NULL,
    model_sha256      text NOT NULL,
    max_themes        integer NOT NULL CHECK (max_themes BETWEEN 1 AND 26),
    status            text NOT NULL CHECK (status IN ('done', 'failed')),
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz NOT NULL DEFAULT now(),
    responses         integer NOT NULL DEFAULT 0 CHECK (responses >= 0),
    unprocessable     integer NOT NULL DEFAULT 0 CHECK (unprocessable >= 0),
    truncated         integer NOT NULL DEFAULT 0 CHECK (truncated >= 0),
    candidate_themes  integer NOT NULL DEFAULT 0 CHECK (candidate_themes >= 0),
    calls             integer NOT NULL DEFAULT 0 CHECK (calls >= 0),
    prompt_tokens     bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    trace             jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(trace) = 'array'),
    error             text,
    CHECK ((status = 'failed') = (error IS NOT NULL))
);
CREATE INDEX consultation_runs_collection_idx ON consultation_runs (collection, id DESC);
CREATE INDEX consultation_runs_job_idx ON consultation_runs (job_id) WHERE job_id IS NOT NULL;

-- The refined themes of a run, ids A..Z.
CREATE TABLE themes (
    run_id         bigint NOT NULL REFERENCES consultation_runs (id) ON DELETE CASCADE,
    theme_id       text NOT NULL CHECK (theme_id ~ '^[A-Z]$'),
    label          text NOT NULL,
    description    text NOT NULL,
    position       text CHECK (position IN ('AGREE', 'DISAGREE', 'UNCLEAR')),
    response_count integer NOT NULL DEFAULT 0 CHECK (response_count >= 0),
    PRIMARY KEY (run_id, theme_id)
);

-- One row per response of a run: its position and evidence, or why it
-- could not be processed. Every response of the run has a row.
CREATE TABLE response_annotations (
    run_id        bigint NOT NULL REFERENCES consultation_runs (id) ON DELETE CASCADE,
    response_id   text NOT NULL CHECK (length(response_id) BETWEEN 1 AND 200),
    position      text CHECK (position IN ('AGREE', 'DISAGREE', 'UNCLEAR')),
    evidence_rich text CHECK (evidence_rich IN ('YES', 'NO')),
    unprocessable boolean NOT NULL DEFAULT false,
    reason        text,
    truncated     boolean NOT NULL DEFAULT false,   -- cut to fit the context in some step (see trace)
    excerpt       text NOT NULL DEFAULT '',         -- the response's first characters, for reports
    PRIMARY KEY (run_id, response_id),
    CHECK (unprocessable = (reason IS NOT NULL)),
    CHECK (position IS NOT NULL OR unprocessable)
);
CREATE INDEX response_annotations_unprocessable_idx ON response_annotations (run_id) WHERE unprocessable;

-- Which themes each response raises (one to three per response).
CREATE TABLE response_themes (
    run_id      bigint NOT NULL,
    response_id text NOT NULL,
    theme_id    text NOT NULL,
    PRIMARY KEY (run_id, response_id, theme_id),
    FOREIGN KEY (run_id, response_id) REFERENCES response_annotations (run_id, response_id) ON DELETE CASCADE,
    FOREIGN KEY (run_id, theme_id) REFERENCES themes (run_id, theme_id) ON DELETE CASCADE
);
CREATE INDEX response_themes_theme_idx ON response_themes (run_id, theme_id);
