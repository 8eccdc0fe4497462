-- A job's own log lines (GET /v1/jobs/{id}/logs): every line the server
-- logged with the job's id, written by monitor/joblogs.c outside the job's
-- transaction. Removed with the job.
CREATE TABLE control.job_logs (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id  bigint NOT NULL REFERENCES control.jobs (id) ON DELETE CASCADE,
    line    jsonb NOT NULL
);

CREATE INDEX job_logs_job ON control.job_logs (job_id, id);
