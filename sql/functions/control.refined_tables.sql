-- Under a per-run lock: marks the job and returns the tables whose reports
-- it must rebuild now ('[]' when a job of the run still has to get there).
CREATE OR REPLACE FUNCTION control.refined_tables(p_job bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    run bigint;
    pending bigint;
BEGIN
    SELECT pipeline_run_id INTO run FROM control.jobs WHERE id = p_job;
    UPDATE control.jobs SET refined_checked_at = now() WHERE id = p_job;
    IF run IS NULL THEN
        RETURN (SELECT jsonb_build_array(s.system || '_' || s.object)
                FROM control.jobs j JOIN control.sources s ON s.id = j.source_id WHERE j.id = p_job);
    END IF;
    PERFORM pg_advisory_xact_lock(735211, run::integer);  -- (class, run)
    SELECT count(*) INTO pending FROM control.jobs
     WHERE pipeline_run_id = run AND id <> p_job AND refined_checked_at IS NULL
       AND state IN ('JOB_STATE_QUEUED', 'JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING');
    IF pending > 0 THEN
        RETURN '[]';
    END IF;
    RETURN (SELECT coalesce(jsonb_agg(DISTINCT s.system || '_' || s.object), '[]')
            FROM control.jobs j JOIN control.sources s ON s.id = j.source_id
            WHERE j.pipeline_run_id = run AND j.refined_checked_at IS NOT NULL);
END $$;
