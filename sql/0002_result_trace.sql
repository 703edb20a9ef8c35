-- 0002_result_trace.sql — what an analysis did to reach its result.
--
-- results.trace is a JSON array with one record per model call or decision
-- (pipeline/structured.h): the step, attempt, outcome ("ok", "retry",
-- "invalid", "split", "unprocessable", ...) and the reason, so a retried or
-- partly unprocessable result can be audited afterwards.
ALTER TABLE results ADD COLUMN trace jsonb NOT NULL DEFAULT '[]'::jsonb
    CHECK (jsonb_typeof(trace) = 'array');
