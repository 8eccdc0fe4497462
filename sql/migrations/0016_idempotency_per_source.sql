-- An Idempotency-Key names one load of one source: the same key may name a
-- load of each source ("nightly-2026-11-24" for every table of a night's run).
ALTER TABLE control.jobs DROP CONSTRAINT IF EXISTS jobs_idempotency_key_key;
CREATE UNIQUE INDEX jobs_source_idempotency_key ON control.jobs (source_id, idempotency_key);
