-- 0005_digests.sql — collection digests and the runs of scheduled analyses.
--
-- digests: one themed digest of the documents added to a collection in a
-- window (pipeline/collection_digest.h), made by `precis digest` (schedule
-- NULL, period_key 'manual:<start>/<end>') or by a [schedule.NAME] of
-- `precis serve` (period_key: the fire time, e.g. '2026-01-02T02:00Z').
-- Running the same collection and period again replaces the row.
CREATE TABLE digests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection      text NOT NULL,
    schedule        text,                               -- NULL: run by hand
    period_key      text NOT NULL CHECK (length(period_key) BETWEEN 1 AND 200),
    window_start    timestamptz NOT NULL,
    window_end      timestamptz NOT NULL CHECK (window_end >= window_start),
    prompt_version  text NOT NULL,
    model_sha256    text NOT NULL,
    output          jsonb NOT NULL CHECK (jsonb_typeof(output) = 'object'),
    markdown        text NOT NULL,
    html            text NOT NULL,
    document_count  integer NOT NULL CHECK (document_count >= 0),
    trace           jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(trace) = 'array'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (collection, period_key)
);
CREATE INDEX digests_created_idx ON digests (created_at DESC);

-- One row per schedule and period: the claim that makes a scheduled run
-- happen once across replicas. The replica whose INSERT succeeds runs it;
-- the others skip. A run whose daemon died stays 'running' (visible, never
-- silently retried).
CREATE TABLE schedule_runs (
    schedule     text NOT NULL,
    period_key   text NOT NULL,
    collection   text NOT NULL,
    claimed_by   text NOT NULL,                         -- host:pid of the replica
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    error        text,
    digest_id    bigint REFERENCES digests (id) ON DELETE SET NULL,
    PRIMARY KEY (schedule, period_key)
);
