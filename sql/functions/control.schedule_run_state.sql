-- A fire's state: its pipeline run's, its job's or its task's JOB_STATE_*;
-- NULL when nothing was started (skipped, target missing).
CREATE OR REPLACE FUNCTION control.schedule_run_state(r control.schedule_runs) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN r.outcome <> 'started' THEN NULL
        WHEN r.pipeline_run_id IS NOT NULL THEN
            (SELECT control.pipeline_run_json(p, false)->>'state' FROM control.pipeline_runs p WHERE p.id = r.pipeline_run_id)
        WHEN r.job_id IS NOT NULL THEN (SELECT j.state FROM control.jobs j WHERE j.id = r.job_id)
        ELSE r.task_state END
$$;
