-- 0008_approved_themes.sql — analysts sign off a consultation's themes; new
-- responses are mapped onto the approved set (pipeline/consultation/theme_set.h,
-- store/store_consultation.h).
--
-- An approved set is what `precis consult --themes FILE` loaded: the file's
-- name and SHA-256 and the themes themselves. A collection's newest set is
-- the one its consultation jobs map new responses onto. Every run made with
-- a set records it (approved_set_id) and, as any run, has its themes in
-- `themes` — the set's, unchanged.
--
-- A response that fits no theme of the set is unassigned: it has an
-- annotation without themes and a row in unassigned_responses with its
-- text. Once [consultation] candidate_threshold of them are pending (not yet
-- used by a candidate step), a run proposes candidate new themes from them:
-- rows of theme_candidates, flagged for review, which are never part of a
-- set (an analyst adds one by editing the theme file and loading it again);
-- the unassigned responses it used record that run.

CREATE TABLE approved_theme_sets (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection    text NOT NULL CHECK (length(collection) BETWEEN 1 AND 200),
    source        text NOT NULL,                                      -- the theme file's name as given
    source_sha256 text NOT NULL CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
    question      text NOT NULL DEFAULT '',
    themes        jsonb NOT NULL CHECK (jsonb_typeof(themes) = 'array' AND jsonb_array_length(themes) BETWEEN 1 AND 26),
    approved_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX approved_theme_sets_collection_idx ON approved_theme_sets (collection, id DESC);

ALTER TABLE consultation_runs ADD COLUMN approved_set_id bigint REFERENCES approved_theme_sets (id);
ALTER TABLE consultation_runs ADD COLUMN unassigned integer NOT NULL DEFAULT 0 CHECK (unassigned >= 0);
CREATE INDEX consultation_runs_approved_set_idx ON consultation_runs (approved_set_id)
    WHERE approved_set_id IS NOT NULL;

CREATE TABLE unassigned_responses (
    run_id           bigint NOT NULL,
    response_id      text NOT NULL,
    approved_set_id  bigint NOT NULL REFERENCES approved_theme_sets (id),
    text             text NOT NULL,
    proposal_run_id  bigint REFERENCES consultation_runs (id) ON DELETE SET NULL,  -- NULL = pending
    PRIMARY KEY (run_id, response_id),
    FOREIGN KEY (run_id, response_id) REFERENCES response_annotations (run_id, response_id) ON DELETE CASCADE
);
CREATE INDEX unassigned_responses_pending_idx ON unassigned_responses (approved_set_id, run_id)
    WHERE proposal_run_id IS NULL;

CREATE TABLE theme_candidates (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    approved_set_id bigint NOT NULL REFERENCES approved_theme_sets (id),
    run_id          bigint NOT NULL REFERENCES consultation_runs (id) ON DELETE CASCADE,  -- the run that proposed it
    label           text NOT NULL CHECK (length(label) > 0),
    description     text NOT NULL,
    position        text CHECK (position IN ('AGREE', 'DISAGREE', 'UNCLEAR')),
    responses       integer NOT NULL CHECK (responses > 0),   -- unassigned responses it was proposed from
    for_review      boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX theme_candidates_set_idx ON theme_candidates (approved_set_id, id);
