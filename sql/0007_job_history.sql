-- 0007_job_history.sql — a failed or dead job can be run again, and keeps
-- what happened to it before.
--
-- A new message for a job id that is 'dead' or 'failed' runs the job again
-- (only 'done' jobs are skipped); the attempt it replaces is appended to
-- history as {"attempt", "status", "error_class", "error", "started_at",
-- "finished_at", "kafka_topic", "kafka_partition", "kafka_offset"}, where a
-- status of 'interrupted' means the process stopped mid-attempt (crash,
-- SIGKILL). message_attempts counts the attempts of the job's current Kafka
-- message only: the daemon's max_attempts limit applies to it, so a
-- resubmitted job starts again from 1 while attempts keeps the total.
ALTER TABLE jobs ADD COLUMN history jsonb NOT NULL DEFAULT '[]'::jsonb
    CHECK (jsonb_typeof(history) = 'array');
ALTER TABLE jobs ADD COLUMN message_attempts integer NOT NULL DEFAULT 0 CHECK (message_attempts >= 0);
UPDATE jobs SET message_attempts = attempts;
