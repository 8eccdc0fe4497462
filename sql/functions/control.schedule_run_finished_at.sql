CREATE OR REPLACE FUNCTION control.schedule_run_finished_at(r control.schedule_runs) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN r.pipeline_run_id IS NOT NULL THEN
            (SELECT (control.pipeline_run_json(p, false)->>'finished_at')::timestamptz
             FROM control.pipeline_runs p WHERE p.id = r.pipeline_run_id)
        WHEN r.job_id IS NOT NULL THEN (SELECT j.finished_at FROM control.jobs j WHERE j.id = r.job_id)
        ELSE r.task_finished_at END
$$;
