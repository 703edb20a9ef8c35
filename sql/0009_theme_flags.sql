-- 0009_theme_flags.sql — nothing dropped (#22): each theme of a consultation
-- run keeps its responses' positions, a minority flag for small themes (which
-- stay) and the other themes it nearly duplicates; the run keeps the
-- thresholds it was flagged with (pipeline/consultation/consultation_flags.h).
-- A theme's evidence, the responses behind it, is response_themes (0004).
--
-- Runs stored before this migration get their position counts from their
-- annotations; their flags were never computed: minority and the run's
-- thresholds stay NULL ("not assessed"), near_duplicates [].

ALTER TABLE themes
    ADD COLUMN agree_count       integer NOT NULL DEFAULT 0 CHECK (agree_count >= 0),
    ADD COLUMN disagree_count    integer NOT NULL DEFAULT 0 CHECK (disagree_count >= 0),
    ADD COLUMN unclear_count     integer NOT NULL DEFAULT 0 CHECK (unclear_count >= 0),
    ADD COLUMN no_position_count integer NOT NULL DEFAULT 0 CHECK (no_position_count >= 0),
    ADD COLUMN minority          boolean,
    -- [{"id": "B", "label_overlap": 0.67, "response_overlap": 0.85}]
    ADD COLUMN near_duplicates   jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(near_duplicates) = 'array');

ALTER TABLE consultation_runs
    ADD COLUMN minority_min_responses     integer CHECK (minority_min_responses >= 0),
    ADD COLUMN minority_min_share         double precision CHECK (minority_min_share >= 0),
    ADD COLUMN duplicate_label_overlap    double precision,
    ADD COLUMN duplicate_response_overlap double precision;

UPDATE themes t SET
    agree_count = c.agree, disagree_count = c.disagree, unclear_count = c.unclear, no_position_count = c.none
FROM (SELECT rt.run_id, rt.theme_id,
             count(*) FILTER (WHERE a.position = 'AGREE') AS agree,
             count(*) FILTER (WHERE a.position = 'DISAGREE') AS disagree,
             count(*) FILTER (WHERE a.position = 'UNCLEAR') AS unclear,
             count(*) FILTER (WHERE a.position IS NULL) AS none
      FROM response_themes rt
      JOIN response_annotations a ON a.run_id = rt.run_id AND a.response_id = rt.response_id
      GROUP BY rt.run_id, rt.theme_id) c
WHERE t.run_id = c.run_id AND t.theme_id = c.theme_id;
