-- Retention (layers.retention in sql/functions/): old job history may be
-- deleted, so a schedule run keeps its record without its job, and the
-- built-in task runs on the server's own period when no schedule runs it.
ALTER TABLE control.schedule_runs DROP CONSTRAINT schedule_runs_job_id_fkey,
    ADD CONSTRAINT schedule_runs_job_id_fkey FOREIGN KEY (job_id) REFERENCES control.jobs (id) ON DELETE SET NULL;
INSERT INTO control.task_periods (task) VALUES ('retention');
CREATE INDEX jobs_finished ON control.jobs (finished_at) WHERE finished_at IS NOT NULL;
